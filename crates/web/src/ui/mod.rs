//! The web admin interface: server-rendered pages (maud escapes every value), a
//! little JavaScript for live rollout progress, forms protected by the session's
//! CSRF token. Pages call the same scoped engine as the API.

mod pages;
pub mod svg;

use crate::auth::{constant_time_eq, session_cookie, source_of, Caller, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use tenantry_engine::accounts::Principal;

/// A signed-in browser; anyone else is sent to the sign-in page.
pub struct UiCaller {
    pub principal: Principal,
    pub source: String,
    pub csrf: String,
}

impl FromRequestParts<AppState> for UiCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_parts(parts, state).await {
            Ok(Caller { principal, source, csrf: Some(csrf) }) => Ok(UiCaller { principal, source, csrf }),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

impl UiCaller {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check(&self, sent: &str) -> Result<(), Response> {
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(error_page(self, StatusCode::FORBIDDEN, "This form is stale or was not sent by tenantry (CSRF check failed). Reload the page and try again."))
        }
    }

    pub fn is_platform(&self) -> bool {
        self.principal.tenant.is_none()
    }
}

pub fn routes() -> Router<AppState> {
    pages::routes()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/static/app.css", get(css))
}

const CSS: &str = include_str!("app.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "max-age=3600")], CSS).into_response()
}

/// The page frame: navigation for the caller's role, the content, the sign-out form.
pub fn layout(c: Option<&UiCaller>, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tenantry" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header {
                    a.brand href="/" { "tenantry" }
                    @if let Some(c) = c {
                        nav {
                            a href="/" { "Dashboard" }
                            a href="/tenants" { "Tenants" }
                            @if c.is_platform() {
                                a href="/templates" { "Templates" }
                                a href="/rollouts" { "Rollouts" }
                            }
                            a href="/customizations" { "Customizations" }
                            @if c.is_platform() {
                                a href="/servers" { "Servers" }
                                a href="/users" { "Users" }
                                a href="/audit" { "Audit log" }
                            }
                        }
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(c.csrf);
                            span.who { (c.principal.email) " (" (c.principal.role.as_str()) @if let Some(t) = c.principal.tenant_slug() { ", " (t) } ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h1 { (title) } (content) }
            }
        }
    }
}

pub fn error_page(c: &UiCaller, status: StatusCode, message: &str) -> Response {
    let body = layout(Some(c), "Something went wrong", html! { p.error role="alert" { (message) } p { a href="javascript:history.back()" { "Back" } } });
    (status, body).into_response()
}

/// An engine error shown as a page.
pub fn engine_error(c: &UiCaller, e: tenantry_engine::EngineError) -> Response {
    let api = ApiError::from(e);
    error_page(c, api.status, &api.message)
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    error: Option<String>,
}

async fn login_page(axum::extract::Query(q): axum::extract::Query<LoginQuery>) -> Markup {
    layout(
        None,
        "Sign in",
        html! {
            @if let Some(e) = q.error { p.error role="alert" { (e) } }
            form.card method="post" action="/login" {
                label { "Email" input type="email" name="email" required autofocus autocomplete="username"; }
                label { "Password" input type="password" name="password" required autocomplete="current-password"; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(State(s): State<AppState>, parts: Parts, Form(f): Form<LoginForm>) -> Response {
    let source = source_of(&parts);
    let fail = |msg: &str| Redirect::to(&format!("/login?error={}", urlencode(msg))).into_response();
    let principal = match s.engine.sign_in(f.email.trim(), &f.password, &source).await {
        Ok(p) => p,
        Err(e) => {
            s.engine.audit(f.email.trim(), "session.failed", None, None, Some(&source)).await;
            return fail(&e.to_string());
        }
    };
    match s.engine.create_session(&principal, &source).await {
        Ok((token, _)) => {
            s.engine.audit(&principal.email, "session.start", None, None, Some(&source)).await;
            ([(header::SET_COOKIE, session_cookie(&token, s.secure_cookies))], Redirect::to("/")).into_response()
        }
        Err(e) => fail(&e.to_string()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(s): State<AppState>, c: UiCaller, parts: Parts, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = c.check(&f.csrf) {
        return r;
    }
    if let Some(token) = crate::auth::cookie(&parts, SESSION_COOKIE) {
        let _ = s.engine.end_session(&token).await;
    }
    s.engine.audit(&c.principal.email, "session.end", None, None, Some(&c.source)).await;
    ([(header::SET_COOKIE, session_cookie("", s.secure_cookies))], Redirect::to("/login")).into_response()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A hidden CSRF field for a form.
pub fn csrf_field(c: &UiCaller) -> Markup {
    html! { input type="hidden" name="csrf" value=(c.csrf); }
}

pub fn script(js: &str) -> Markup {
    html! { script { (PreEscaped(js)) } }
}
