//! The demo services: what the binary serves by default, with the settings the SockJS
//! conformance suites expect.

use crate::config::{Config, ConfigError};
use crate::handler::text::{Broadcast, CloseAtOnce, Echo};
use crate::transport::SockJs;

/// The suite's streaming limit for `/echo` (`XhrStreaming.test_response_limit`: 4096 bytes).
pub const SUITE_RESPONSE_LIMIT: usize = 4096;

/// `/echo`, `/close`, `/broadcast`, `/disabled_websocket_echo` and `/cookie_needed_echo`,
/// each starting from `base` (its prefix is replaced). `/echo` gets the suite's response
/// limit unless `base` changed the default.
pub fn mounts(base: &Config) -> Result<Vec<SockJs>, ConfigError> {
    let at = |prefix: &str| Config {
        prefix: prefix.to_owned(),
        ..base.clone()
    };
    let mut echo = at("/echo");
    if echo.response_limit == Config::default().response_limit {
        echo.response_limit = SUITE_RESPONSE_LIMIT;
    }
    let broadcast = Broadcast::new();
    Ok(vec![
        SockJs::new(echo, || Echo)?,
        SockJs::new(at("/close"), || CloseAtOnce)?,
        SockJs::new(at("/broadcast"), move || broadcast.clone())?,
        SockJs::new(
            Config {
                websocket: false,
                ..at("/disabled_websocket_echo")
            },
            || Echo,
        )?,
        SockJs::new(
            Config {
                jsessionid: true,
                ..at("/cookie_needed_echo")
            },
            || Echo,
        )?,
    ])
}
