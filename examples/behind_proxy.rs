//! Serving behind a reverse proxy (nginx, Apache, a load balancer): the settings that matter
//! there, each explained. The proxy itself is configured as in `deploy/nginx.conf`.
//!
//! ```sh
//! cargo run --example behind_proxy
//! # then point the proxy's upstream at 127.0.0.1:8080
//! ```

use std::net::TcpListener;

use sockjs_server::config::SessionBinding;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs, server};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    let mut config = Config::at("/echo");
    // The proxy's address: only its X-Forwarded-For / Forwarded headers are believed, so
    // session binding and the per-address limit see the real client.
    config.trusted_proxies = vec!["127.0.0.1".parse().map_err(std::io::Error::other)?];
    // The pages allowed to connect (anything else gets 403): list yours when the app
    // authenticates with cookies.
    config.allowed_origins = vec!["https://chat.example.com".to_owned()];
    // Several nodes behind a cookie-sticky balancer: JSESSIONID keeps a session on one node,
    // and binding to the cookie and the address keeps another client out of it.
    config.jsessionid = true;
    config.session_binding = SessionBinding::ClientAddressAndCookie;
    // The iframe transports load the client from here: serve it yourself in production.
    config.sockjs_url = "https://chat.example.com/js/sockjs.min.js".to_owned();
    let echo = SockJs::new(config, || Echo).map_err(std::io::Error::other)?;

    // Listen on loopback only: the proxy is the one public entry.
    let listener = TcpListener::bind("127.0.0.1:8080")?;
    server::run(
        listener,
        vec![echo],
        server::Options::default(),
        server::signal(),
    )
    .await
}
