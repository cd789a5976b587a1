//! The load generator's one error type: what went wrong talking to the server under test.

use std::time::Duration;

/// A failed exchange with the server under test.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A websocket error.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server answered something the SockJS protocol does not allow here.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The server closed the session with a close frame.
    #[error("session closed: {0}")]
    SessionClosed(String),
    /// No answer in time.
    #[error("timed out after {1:?} waiting for {0}")]
    Timeout(&'static str, Duration),
}

/// The load generator's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Runs `fut`, failing with [`Error::Timeout`] after `limit`.
pub async fn within<T>(
    limit: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Error::Timeout(what, limit))?
}
