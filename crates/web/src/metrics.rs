//! Operational endpoints: `/healthz` (the process answers), `/readyz` (the landlord
//! answers), and Prometheus `/metrics`: requests by route and status, durations of
//! provisioning and drift scans, and rollout progress read from the landlord at
//! scrape time. The text format is small enough to write directly; a metrics crate
//! would add a registry and little else here.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// name → (count, sum of seconds).
    durations: Mutex<BTreeMap<&'static str, (u64, f64)>>,
}

impl Metrics {
    pub fn observe(&self, name: &'static str, d: Duration) {
        if let Ok(mut m) = self.durations.lock() {
            let e = m.entry(name).or_default();
            e.0 += 1;
            e.1 += d.as_secs_f64();
        }
    }

    fn count(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
    }
}

/// Counts every request by its route pattern (never the raw path: slugs would make
/// unbounded label values).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.count(&method, &route, res.status().as_u16());
    res
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.engine.landlord().schema_version().await {
        Ok(v) => (StatusCode::OK, format!("ready: landlord schema v{v}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("landlord unreachable: {e}\n")).into_response(),
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP tenantry_http_requests_total HTTP requests by route and status.\n# TYPE tenantry_http_requests_total counter");
    if let Ok(m) = s.metrics.requests.lock() {
        for ((method, route, status), n) in m.iter() {
            let _ = writeln!(out, "tenantry_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}", label(method), label(route));
        }
    }
    if let Ok(m) = s.metrics.durations.lock() {
        for (name, (count, sum)) in m.iter() {
            let _ = writeln!(out, "# TYPE {name} summary\n{name}_count {count}\n{name}_sum {sum:.6}");
        }
    }
    let _ = writeln!(out, "# HELP tenantry_rollout_steps Steps of unfinished rollouts by status.\n# TYPE tenantry_rollout_steps gauge");
    if let Ok(rollouts) = s.engine.migrate_status(None).await {
        for r in rollouts.iter().filter(|r| r.status == "running" || r.status == "halted" || r.pending > 0 || r.running > 0) {
            for (status, n) in [("pending", r.pending), ("running", r.running), ("applied", r.applied), ("failed", r.failed), ("skipped", r.skipped), ("customized", r.customized)] {
                let _ = writeln!(out, "tenantry_rollout_steps{{rollout=\"{}\",status=\"{status}\"}} {n}", r.rollout_id);
            }
        }
    }
    let _ = writeln!(out, "# HELP tenantry_tenants Tenants by status and drift level.\n# TYPE tenantry_tenants gauge");
    if let Ok(tenants) = s.engine.tenants(&Default::default()).await {
        let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
        for t in tenants {
            *by.entry((t.status, t.drift_level)).or_default() += 1;
        }
        for ((status, drift), n) in by {
            let _ = writeln!(out, "tenantry_tenants{{status=\"{}\",drift=\"{}\"}} {n}", label(&status), label(&drift));
        }
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
