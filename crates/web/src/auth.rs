//! Who is calling: a bearer API token (`Authorization: Bearer tnt_…`) or a web
//! session cookie. Session-authenticated API writes must also carry the session's
//! CSRF token in `X-CSRF-Token`; web forms carry it as a hidden field.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use std::net::SocketAddr;
use tenantry_engine::accounts::{Principal, SESSION_HOURS};

pub const SESSION_COOKIE: &str = "tenantry_session";

/// An authenticated caller.
pub struct Caller {
    pub principal: Principal,
    pub source: String,
    /// The session's CSRF token (`None` for token callers, who need none).
    pub csrf: Option<String>,
}

pub fn source_of(parts: &Parts) -> String {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for a new session, or one that ends it (`token` empty).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let age = if token.is_empty() { 0 } else { SESSION_HOURS * 3600 };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    )
}

impl Caller {
    pub async fn from_parts(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
        let source = source_of(parts);
        let engine = &state.engine;
        if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "use `Authorization: Bearer <token>`"))?;
            let principal = engine.authenticate_token(token.trim()).await?;
            return Ok(Caller { principal, source, csrf: None });
        }
        if let Some(token) = cookie(parts, SESSION_COOKIE) {
            if let Some((principal, csrf)) = engine.session(&token).await? {
                return Ok(Caller { principal, source, csrf: Some(csrf) });
            }
        }
        Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in, or send an API token (`tenantry user token`)"))
    }
}

/// An API caller; session callers' writes must prove the CSRF token.
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_parts(parts, state).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let (Some(expected), false) = (&caller.csrf, safe) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "missing or wrong X-CSRF-Token for a session request"));
            }
        }
        Ok(ApiCaller(caller))
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
