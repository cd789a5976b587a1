//! The demo's web login, the way a Spring app's form login works: `POST /login` checks the
//! user's password and sets a login cookie (`HttpOnly`, `SameSite=Lax`), `POST /logout`
//! ends it, `GET /me` says who the cookie is. The STOMP mount then takes its principal from
//! that cookie (or from `Authorization: Basic`/`Bearer` for clients that are not browsers),
//! and the page reads the login's CSRF token from `/stomp/csrf` for its CONNECT.
//!
//! With no users configured (`--stomp-user`), the demo is open: any well-formed name logs in
//! without a password, so that the two-command start has a working login. Say so to anyone
//! who may reach it.
//!
//! Owns: the demo's login routes. Must not: be the only way to identify users (any
//! [`Identify`] works; this is one application of it).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::identity::{Accounts, AnyOf, Identify, Logins, constant_time_eq};
use crate::server::Routes;

/// The login cookie's name.
pub const LOGIN_COOKIE: &str = "SOCKJS_LOGIN";

/// The longest user name the demo accepts.
const MAX_NAME: usize = 32;

/// The demo site's users and logins.
#[derive(Clone, Debug)]
pub struct Site {
    logins: Arc<Logins>,
    passwords: Arc<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    #[serde(default)]
    password: String,
}

impl Site {
    /// A site whose users are `users` (name, password); none makes it open (any name).
    pub fn new(users: &[(String, String)]) -> Self {
        Site {
            logins: Arc::new(Logins::new(LOGIN_COOKIE)),
            passwords: Arc::new(users.iter().cloned().collect()),
        }
    }

    /// Whether any name logs in without a password (no users configured).
    pub fn is_open(&self) -> bool {
        self.passwords.is_empty()
    }

    /// The login sessions (what `/login` writes).
    pub fn logins(&self) -> &Arc<Logins> {
        &self.logins
    }

    /// How the STOMP mount identifies a request: the login cookie first, then
    /// `Authorization: Basic` with the same users (for stomp.py, Node and curl).
    pub fn identify(&self) -> Arc<dyn Identify> {
        let accounts = self
            .passwords
            .iter()
            .fold(Accounts::new(), |a, (name, password)| {
                a.user(name, password)
            });
        let logins: Arc<Logins> = Arc::clone(&self.logins);
        Arc::new(AnyOf::new().or(logins).or(accounts))
    }

    /// `POST /login`, `POST /logout` and `GET /me`.
    pub fn routes(&self) -> Routes {
        let site = self.clone();
        Routes::new(move |config| {
            config
                .app_data(web::Data::new(site.clone()))
                .route("/login", web::post().to(log_in))
                .route("/logout", web::post().to(log_out))
                .route("/me", web::get().to(me));
        })
    }

    /// Whether `name` may log in with `password`.
    fn admits(&self, name: &str, password: &str) -> bool {
        let well_formed = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return false;
        }
        if self.is_open() {
            return true;
        }
        let known = self.passwords.get(name).map(String::as_bytes);
        constant_time_eq(known.unwrap_or_default(), password.as_bytes()) && known.is_some()
    }
}

fn see_other(to: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, to.to_owned()));
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

async fn log_in(site: web::Data<Site>, form: web::Form<LoginForm>) -> HttpResponse {
    if !site.admits(&form.username, &form.password) {
        log::info!("demo login refused for {:?}", form.username);
        return see_other("/?login=failed").finish();
    }
    let login = site.logins.log_in(form.username.clone());
    see_other("/")
        .insert_header((header::SET_COOKIE, site.logins.set_cookie(&login)))
        .finish()
}

async fn log_out(site: web::Data<Site>, req: HttpRequest) -> HttpResponse {
    site.logins.log_out(&req);
    see_other("/")
        .insert_header((header::SET_COOKIE, site.logins.clear_cookie()))
        .finish()
}

async fn me(site: web::Data<Site>, req: HttpRequest) -> HttpResponse {
    let body = match site.logins.find(&req) {
        Some(login) => serde_json::json!({ "name": login.name, "open": site.is_open() }),
        None => serde_json::json!({ "name": null, "open": site.is_open() }),
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_users_need_their_password_and_an_open_site_any_name() {
        let site = Site::new(&[("alice".into(), "pw".into())]);
        assert!(site.admits("alice", "pw"));
        assert!(!site.admits("alice", "px") && !site.admits("bob", ""));
        let open = Site::new(&[]);
        assert!(open.admits("carol", "") && open.is_open());
        for bad in ["", "a/b", "a b", &"x".repeat(MAX_NAME + 1)] {
            assert!(!open.admits(bad, ""), "{bad:?}");
        }
    }
}
