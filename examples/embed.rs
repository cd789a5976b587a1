//! Mounting SockJS services in your own actix-web application, beside your own routes and
//! middleware: the shipped echo handler at `/echo` and a handler of your own at `/shout`.
//!
//! ```sh
//! cargo run --example embed
//! # then, in a browser console on any page:
//! #   const s = new SockJS('http://127.0.0.1:8080/shout'); s.onmessage = e => console.log(e.data);
//! #   s.onopen = () => s.send('hello');
//! curl http://127.0.0.1:8080/health
//! ```

use actix_web::middleware::Logger;
use actix_web::{App, HttpResponse, HttpServer, web};
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, Handler, SessionHandle, SockJs};

/// Sends every message back in capitals, and says goodbye to "bye".
struct Shout;

impl Handler for Shout {
    fn on_open(&mut self, session: &SessionHandle) {
        log::info!(
            "session {} opened over {:?}",
            session.id(),
            session.transport()
        );
    }

    fn on_message(&mut self, session: &SessionHandle, message: String) {
        if message == "bye" {
            session.close(1000, "Goodbye");
        } else {
            session.send(message.to_uppercase());
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    // A mount is cheap to clone: every worker's App gets the same sessions.
    let echo = SockJs::new(Config::at("/echo"), || Echo).map_err(std::io::Error::other)?;
    let shout = SockJs::new(Config::at("/shout"), || Shout).map_err(std::io::Error::other)?;
    HttpServer::new(move || {
        App::new()
            .wrap(Logger::default())
            .route(
                "/health",
                web::get().to(|| async { HttpResponse::Ok().body("ok") }),
            )
            .service(echo.clone())
            .service(shout.clone())
    })
    // See `sockjs_server::server::run` for what these settings give a SockJS server.
    .h1_allow_half_closed(false)
    .on_connect(sockjs_server::server::on_connect)
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
