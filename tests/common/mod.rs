//! A real server on 127.0.0.1:0 for integration tests, stopped (gracefully) on drop.

#![allow(dead_code)]

pub mod client;

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use sockjs_server::{SockJs, server};

/// A server running in its own thread and actix system.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Serves `mounts` on a free loopback port.
    pub fn start(mounts: Vec<SockJs>) -> TestServer {
        Self::start_with(mounts, server::Options::default())
    }

    /// Serves `mounts` with `options` (workers and drain are set for tests).
    pub fn start_with(mounts: Vec<SockJs>, options: server::Options) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = options.workers(2).drain(Duration::from_secs(1));
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(server::run(listener, mounts, options, async {
                let _ = stopped.await;
            }))
        });
        TestServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Triggers graceful shutdown and waits for the server thread to end.
    pub fn shutdown(mut self) -> std::io::Result<()> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}
