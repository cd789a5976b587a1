//! The API key check: every request carries the key as `Authorization: Bearer KEY` (RFC
//! 6750) or `X-API-Key: KEY`, compared in constant time; otherwise 401. An extractor, so
//! that a handler cannot run without it: each handler's first argument is [`Authorized`].
//!
//! Owns: reading and checking the key. Must not: compare the key in variable time or log it.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::{Api, ApiError};
use crate::identity::constant_time_eq;

/// The header that may carry the key instead of `Authorization`.
pub(crate) const API_KEY_HEADER: &str = "X-API-Key";
/// The `Authorization` scheme of the key (RFC 6750 section 2.1).
const BEARER: &str = "Bearer ";

/// Proof that the request carried the API key.
pub(crate) struct Authorized;

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future = Ready<Result<Authorized, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let known = request
            .app_data::<web::Data<Api>>()
            .map(|api| api.config().key.as_bytes());
        let ok = match (known, given(request)) {
            (Some(known), Some(given)) => constant_time_eq(given, known),
            _ => false,
        };
        if !ok {
            log::debug!("api: {} {}: no valid key", request.method(), request.path());
        }
        ready(if ok {
            Ok(Authorized)
        } else {
            Err(ApiError::Unauthorized)
        })
    }
}

/// The key the request gives: its bearer token, else its `X-API-Key`.
fn given(request: &HttpRequest) -> Option<&[u8]> {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let scheme = v.get(..BEARER.len())?;
            scheme
                .eq_ignore_ascii_case(BEARER)
                .then(|| v.get(BEARER.len()..))
                .flatten()
        })
        .map(|token| token.trim().as_bytes());
    bearer.or_else(|| headers.get(API_KEY_HEADER).map(|v| v.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_key_is_read_from_a_bearer_token_or_the_api_key_header() {
        let bearer = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "bearer k1"))
            .to_http_request();
        assert_eq!(given(&bearer), Some(&b"k1"[..]));
        let header = TestRequest::default()
            .insert_header((API_KEY_HEADER, "k2"))
            .to_http_request();
        assert_eq!(given(&header), Some(&b"k2"[..]));
        let basic = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic azE="))
            .to_http_request();
        assert_eq!(given(&basic), None);
        assert_eq!(given(&TestRequest::default().to_http_request()), None);
    }
}
