//! tenantry's HTTP interfaces: the JSON API under `/api/v1` (with its OpenAPI
//! document), the server-rendered web admin interface, and the operational endpoints
//! (`/healthz`, `/readyz`, `/metrics`).
//!
//! Both interfaces are thin: they authenticate the caller, hand the engine's
//! [`Scoped`](tenantry_engine::access::Scoped) view of itself to the handler, and
//! render what comes back. Who may do what is decided in the engine.

mod api;
mod auth;
pub mod demo;
mod error;
mod metrics;
mod ui;

use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tenantry_engine::Engine;

pub use metrics::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    /// Set cookies `Secure` (on by default; browsers accept them on localhost).
    pub secure_cookies: bool,
}

/// The whole application: API, web UI and operational endpoints.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::routes();
    Router::new()
        .merge(ui::routes())
        .nest("/api/v1", api)
        .merge(metrics::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The OpenAPI document of the API, generated from the route table.
pub fn openapi() -> serde_json::Value {
    api::openapi()
}

/// Serves until Ctrl-C or SIGTERM, then stops taking requests and lets the ones in
/// flight finish. Rollouts running in the background stop between steps' landlord
/// writes at worst; every one of them is resumable (`tenantry migrate resume`).
pub async fn serve(state: AppState, bind: SocketAddr, on_ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    on_ready(addr);
    let engine = state.engine.clone();
    // Fill the warm pools (and sweep stale prepared databases) without holding up
    // the first request.
    engine.spawn_pool_refill();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    // Rollouts finish the tenants they are on and start no more.
    engine.request_stop();
    let left = engine.wait_for_background(std::time::Duration::from_secs(60)).await;
    if left > 0 {
        tracing::warn!(rollouts = left, "stopping with rollouts mid-step; `tenantry migrate resume` settles and continues them");
    } else {
        tracing::info!("stopped; unfinished rollouts continue with `tenantry migrate resume`");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
