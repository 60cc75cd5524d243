//! The pages. Each is a handler: authenticate (`UiCaller`), ask the scoped engine,
//! render. Forms post back, are CSRF-checked, and redirect (or show the error).

use super::svg::{bar_chart, schema_diagram};
use super::{csrf_field, engine_error, layout, script, urlencode, UiCaller};
use crate::api::{RolloutBody, TenantQuery};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;
use tenantry_engine::customizations::CustomizationRequest;
use tenantry_engine::drift::DriftScanRequest;
use tenantry_engine::tenants::CreateTenant;
use tenantry_schema::Schema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/drift/scan", post(scan))
        .route("/templates", get(templates))
        .route("/templates/{name}", get(template))
        .route("/tenants", get(tenants).post(create_tenant))
        .route("/tenants/new", get(new_tenant))
        .route("/tenants/{slug}", get(tenant))
        .route("/tenants/{slug}/customizations", post(request_customization))
        .route("/tenants/{slug}/drift/repair", post(repair))
        .route("/rollouts", get(rollouts).post(start_rollout))
        .route("/rollouts/plan", get(plan_page))
        .route("/rollouts/{id}", get(rollout))
        .route("/customizations", get(customizations))
        .route("/customizations/{id}/{action}", post(review))
        .route("/servers", get(servers))
        .route("/users", get(users).post(add_user))
        .route("/audit", get(audit))
}

#[derive(Deserialize, Default)]
struct Flash {
    ok: Option<String>,
}

fn flash(f: &Flash) -> Markup {
    html! { @if let Some(m) = &f.ok { p.notice role="status" { (m) } } }
}

fn badge(kind: &str, value: &str) -> Markup {
    html! { span class={"badge " (kind) "-" (value)} { (value) } }
}

macro_rules! try_page {
    ($c:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return engine_error(&$c, e),
        }
    };
}

macro_rules! csrf {
    ($c:expr, $token:expr) => {
        if let Err(r) = $c.check($token) {
            return r;
        }
    };
}

async fn dashboard(State(s): State<AppState>, c: UiCaller, Query(f): Query<Flash>) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let tenants = try_page!(c, e.tenants(&Default::default()).await);
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_drift: BTreeMap<String, i64> = BTreeMap::new();
    for t in &tenants {
        *by_status.entry(t.status.clone()).or_default() += 1;
        *by_drift.entry(t.drift_level.clone()).or_default() += 1;
    }
    let drift_bars: Vec<(&str, i64, &str)> = [("none", "#27ae60"), ("low", "#f1c40f"), ("medium", "#e67e22"), ("high", "#c0392b")]
        .iter()
        .map(|(l, color)| (*l, by_drift.get(*l).copied().unwrap_or(0), *color))
        .collect();
    let status_bars: Vec<(&str, i64, &str)> = by_status.iter().map(|(k, v)| (k.as_str(), *v, "#2d6cdf")).collect();
    let platform = c.is_platform();
    let rollouts = if platform { e.rollouts(None).await.unwrap_or_default() } else { vec![] };
    let servers = if platform { e.servers().await.unwrap_or_default() } else { vec![] };
    let running: Vec<_> = rollouts.iter().filter(|r| r.pending > 0 || r.running > 0).collect();
    let body = html! {
        (flash(&f))
        div.cards {
            (bar_chart("Tenants by drift level", &drift_bars))
            (bar_chart("Tenants by status", &status_bars))
        }
        @if platform {
            h2 { "Running rollouts" }
            @if running.is_empty() { p.muted { "None." } }
            @for r in &running {
                p { a href={"/rollouts/" (r.rollout_id)} { "Rollout " (r.rollout_id) } " " (rollout_bar(r)) }
            }
            @if let Some(last) = rollouts.first() {
                p.muted { "Latest rollout: " a href={"/rollouts/" (last.rollout_id)} { (last.rollout_id) } " " (badge("status", &last.status)) }
            }
            h2 { "Servers" }
            table {
                tr { th { "server" } th { "engine" } th { "tenants" } th { "capacity" } th { "load" } }
                @for sv in &servers {
                    tr {
                        td { (sv.name) } td { (sv.dialect) } td { (sv.tenants) } td { (sv.capacity) }
                        td { (format!("{:.0}%", sv.tenants as f64 * 100.0 / sv.capacity.max(1) as f64)) }
                    }
                }
            }
            form.inline method="post" action="/drift/scan" {
                (csrf_field(&c))
                button type="submit" { "Scan the fleet for drift" }
            }
        }
    };
    layout(Some(&c), "Dashboard", body).into_response()
}

fn rollout_bar(r: &tenantry_store::RolloutRecord) -> Markup {
    let total = (r.pending + r.running + r.applied + r.failed + r.skipped + r.customized).max(1) as f64;
    let pct = |n: i64| n as f64 * 100.0 / total;
    html! {
        div.progress title={(r.applied) " applied, " (r.failed) " failed, " (r.pending + r.running) " to go"} {
            span style={"width:" (pct(r.applied + r.skipped)) "%;background:#27ae60"} {}
            span style={"width:" (pct(r.customized)) "%;background:#f1c40f"} {}
            span style={"width:" (pct(r.failed)) "%;background:#c0392b"} {}
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn scan(State(s): State<AppState>, c: UiCaller, Form(f): Form<CsrfOnly>) -> Response {
    csrf!(c, &f.csrf);
    let r = try_page!(c, s.engine.scoped(&c.principal, &c.source).drift_scan(&DriftScanRequest { concurrency: 8, ..Default::default() }).await);
    let levels: Vec<String> = r.levels.iter().map(|(l, n)| format!("{n} {l}")).collect();
    Redirect::to(&format!("/?ok={}", urlencode(&format!("Scanned {} tenants: {}; {} failed", r.scanned, levels.join(", "), r.failed)))).into_response()
}

async fn templates(State(s): State<AppState>, c: UiCaller) -> Response {
    let list = try_page!(c, s.engine.scoped(&c.principal, &c.source).templates().await);
    let body = html! {
        table {
            tr { th { "template" } th { "type" } th { "latest" } th { "versions" } th { "tenants" } th { "description" } }
            @for t in &list {
                tr {
                    td { a href={"/templates/" (urlencode(&t.name))} { (t.name) } }
                    td { (t.template_type) } td { (t.version.as_deref().unwrap_or("-")) } td { (t.versions.join(", ")) }
                    td { (t.tenants) } td { (t.description) }
                }
            }
        }
        p.muted { "Import templates with " code { "tenantry template import DIR" } " or " code { "POST /api/v1/templates" } "." }
    };
    layout(Some(&c), "Templates", body).into_response()
}

#[derive(Deserialize, Default)]
struct TemplateQuery {
    version: Option<String>,
    dialect: Option<String>,
}

async fn template(State(s): State<AppState>, c: UiCaller, Path(name): Path<String>, Query(q): Query<TemplateQuery>) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let detail = try_page!(c, e.template_detail(&name, q.version.as_deref()).await);
    // The asked dialect, else the first one a registered server can build.
    let mut snapshot = Err(tenantry_engine::EngineError::Invalid("no server of this template's dialects is registered".into()));
    let mut dialects: Vec<tenantry_domain::Dialect> = e.servers().await.unwrap_or_default().into_iter().map(|s| s.dialect).collect();
    dialects.dedup();
    if let Some(d) = q.dialect.as_deref().and_then(|d| d.parse().ok()) {
        dialects.insert(0, d);
    }
    for d in dialects {
        snapshot = e.template_snapshot(&name, q.version.as_deref(), Some(d)).await;
        if snapshot.is_ok() {
            break;
        }
    }
    let detail_json = serde_json::to_value(&detail).unwrap_or_default();
    let body = html! {
        p { (detail_json["description"].as_str().unwrap_or("")) }
        h2 { "Versions" }
        table {
            tr { th { "version" } th { "modules (dependencies)" } th { "tenants" } }
            @for v in detail_json["versions"].as_array().cloned().unwrap_or_default() {
                tr {
                    td { a href={"?version=" (urlencode(v["version"].as_str().unwrap_or("")))} { (v["version"].as_str().unwrap_or("")) } }
                    td {
                        @for m in v["modules"].as_array().cloned().unwrap_or_default() {
                            span.badge { (m["name"].as_str().unwrap_or("")) " · " (m["type"].as_str().unwrap_or(""))
                                @if let Some(deps) = m["depends_on"].as_array().filter(|d| !d.is_empty()) {
                                    " ← " (deps.iter().filter_map(|d| d.as_str()).collect::<Vec<_>>().join(", "))
                                }
                            } " "
                        }
                    }
                    td { (v["tenants"].as_i64().unwrap_or(0)) }
                }
            }
        }
        h2 { "Migrations" }
        table {
            tr { th { "migration" } th { "version" } th { "applies to" } }
            @for m in detail_json["migrations"].as_array().cloned().unwrap_or_default() {
                tr { td { (m["name"].as_str().or(m["migration_name"].as_str()).unwrap_or("")) } td { (m["version"].as_str().unwrap_or("")) } td { (m["applies_to"].as_str().unwrap_or("")) } }
            }
        }
        @match &snapshot {
            Ok(sn) => {
                h2 { "Schema (" (sn.version) ", " (sn.dialect) ", all modules)" }
                p.muted { "Dialect: " @for d in ["mysql", "postgres", "sqlite"] { a href={"?dialect=" (d) @if let Some(v) = &q.version { "&version=" (urlencode(v)) }} { (d) } " " } }
                (schema_diagram(&sn.schema))
                (schema_tables(&sn.schema))
            }
            Err(err) => { p.muted { "No snapshot to show: " (err) } }
        }
    };
    layout(Some(&c), &format!("Template {name}"), body).into_response()
}

/// Tables, columns, keys and indexes of a schema, one table each.
fn schema_tables(schema: &Schema) -> Markup {
    html! {
        @for (name, t) in &schema.tables {
            details {
                summary { strong { (name) } " " span.muted { (t.columns.len()) " columns" } }
                table {
                    tr { th { "column" } th { "type" } th { "null" } th { "default" } }
                    @for col in &t.columns {
                        tr {
                            td { (col.name) @if t.primary_key.as_ref().is_some_and(|k| k.columns.contains(&col.name)) { " (PK)" } }
                            td { code { (col.data_type) } } td { @if col.nullable { "yes" } } td { code { (col.default.as_deref().unwrap_or("")) } }
                        }
                    }
                }
                @for i in t.indexes.values() {
                    p.muted { @if i.unique { "unique " } "index " (i.name) " (" (i.parts.iter().map(|p| p.column.clone()).collect::<Vec<_>>().join(", ")) ")" }
                }
                @for fk in t.foreign_keys.values() {
                    p.muted { "foreign key " (fk.name) ": " (fk.columns.join(", ")) " → " (fk.referenced_table) "(" (fk.referenced_columns.join(", ")) ")" }
                }
            }
        }
        @for v in schema.views.values() { p { "view " strong { (v.name) } } pre { (v.definition) } }
    }
}

async fn tenants(State(s): State<AppState>, c: UiCaller, Query(q): Query<TenantQuery>) -> Response {
    let list: Vec<_> = try_page!(c, s.engine.scoped(&c.principal, &c.source).tenants(&q.filter()).await).into_iter().filter(|t| q.matches(t)).collect();
    let sel = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let body = html! {
        form.inline method="get" action="/tenants" {
            input type="search" name="q" placeholder="slug or name" value=(q.q.clone().unwrap_or_default());
            select name="status" {
                option value="" { "any status" }
                @for st in ["active", "suspended", "provisioning", "failed"] { option value=(st) selected[sel(&q.status, st)] { (st) } }
            }
            select name="drift" {
                option value="" { "any drift" }
                @for l in ["none", "low", "medium", "high"] { option value=(l) selected[sel(&q.drift, l)] { (l) } }
            }
            button type="submit" { "Filter" }
            @if c.is_platform() { " " a href="/tenants/new" { "Create a tenant" } }
        }
        table {
            tr { th { "tenant" } th { "name" } th { "status" } th { "template" } th { "server" } th { "drift" } th { "customizations" } }
            @for t in &list {
                tr {
                    td { a href={"/tenants/" (t.slug)} { (t.slug) } } td { (t.name) } td { (badge("status", &t.status)) }
                    td { (t.template.as_deref().unwrap_or("-")) " " (t.template_version.as_deref().unwrap_or("")) }
                    td { (t.server.as_deref().unwrap_or("-")) } td { (badge("level", &t.drift_level)) } td { (t.customization_count) }
                }
            }
        }
        p.muted { (list.len()) " tenant(s)" }
    };
    layout(Some(&c), "Tenants", body).into_response()
}

async fn new_tenant(State(s): State<AppState>, c: UiCaller) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let templates = try_page!(c, e.templates().await);
    let servers = try_page!(c, e.servers().await);
    let body = html! {
        form.card method="post" action="/tenants" {
            (csrf_field(&c))
            label { "Slug (lowercase letters, digits, - and _)" input name="slug" required pattern="[a-z][a-z0-9_-]{0,47}"; }
            label { "Display name" input name="name"; }
            label { "Template" select name="template" { @for t in &templates { option value=(t.name) { (t.name) " " (t.version.as_deref().unwrap_or("")) } } } }
            label { "Version (empty: latest)" input name="version"; }
            label { "Optional modules (comma-separated)" input name="modules"; }
            label { "Server (empty: least loaded)" select name="server" { option value="" { "automatic" } @for sv in &servers { option value=(sv.name) { (sv.name) " (" (sv.dialect) ")" } } } }
            button type="submit" { "Create tenant" }
        }
    };
    layout(Some(&c), "Create a tenant", body).into_response()
}

#[derive(Deserialize)]
struct NewTenantForm {
    csrf: String,
    slug: String,
    name: Option<String>,
    template: String,
    version: Option<String>,
    modules: Option<String>,
    server: Option<String>,
}

async fn create_tenant(State(s): State<AppState>, c: UiCaller, Form(f): Form<NewTenantForm>) -> Response {
    csrf!(c, &f.csrf);
    let nonempty = |v: Option<String>| v.map(|x| x.trim().to_string()).filter(|x| !x.is_empty());
    let req = CreateTenant {
        slug: f.slug.trim().to_string(),
        template: f.template,
        version: nonempty(f.version),
        modules: f.modules.unwrap_or_default().split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect(),
        server: nonempty(f.server),
        name: nonempty(f.name),
        ..Default::default()
    };
    let t = try_page!(c, s.engine.scoped(&c.principal, &c.source).create_tenant(&s.engine, req).await);
    Redirect::to(&format!("/tenants/{}?ok={}", t.slug, urlencode("Tenant created"))).into_response()
}

async fn tenant(State(s): State<AppState>, c: UiCaller, Path(slug): Path<String>, Query(f): Query<Flash>) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let detail = try_page!(c, e.tenant_detail(&slug).await);
    let t = &detail.tenant;
    let schema = e.tenant_schema(&slug).await;
    let drift = e.drift_show(&slug).await;
    let customs = e.customizations(None, Some(&slug)).await.unwrap_or_default();
    let users = e.tenant_users(&slug).await.unwrap_or_default();
    let apps = e.applications(&slug).await.unwrap_or_default();
    let body = html! {
        (flash(&f))
        table {
            tr { th { "status" } td { (badge("status", &t.status)) } th { "template" } td { (t.template.as_deref().unwrap_or("-")) " " (t.template_version.as_deref().unwrap_or("")) } }
            tr { th { "server" } td { (t.server.as_deref().unwrap_or("-")) } th { "database" } td { code { (t.database.as_deref().unwrap_or("-")) } } }
            tr { th { "modules" } td { (t.modules.join(", ")) } th { "drift" } td { (badge("level", &t.drift_level)) " " span.muted { (t.last_schema_sync.as_deref().unwrap_or("never scanned")) } } }
        }
        h2 id="drift" { "Drift" }
        @match &drift {
            Ok(d) if d.differences.is_empty() => { p { (badge("level", "none")) " The database matches its template and customizations." } }
            Ok(d) => {
                p { (badge("level", d.drift_level.as_str())) " " (d.differences.len()) " difference(s):" }
                ul.diff {
                    @for x in &d.differences {
                        li class={"diff-" (serde_json::to_value(x.change).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())} {
                            "[" (x.level()) "] " (x.to_string())
                        }
                    }
                }
                details open {
                    summary { "As a diff" }
                    pre.diff-view {
                        @for x in &d.differences {
                            "@@ " (x.path()) " @@\n"
                            @if let Some(ex) = &x.expected { "- " (ex.to_string()) "\n" }
                            @if let Some(ac) = &x.actual { "+ " (ac.to_string()) "\n" }
                        }
                    }
                }
                @if c.is_platform() {
                    form.inline method="post" action={"/tenants/" (slug) "/drift/repair"} {
                        (csrf_field(&c))
                        label { input type="checkbox" name="dry_run" value="true" checked; " dry run" }
                        button.danger type="submit" { "Repair" }
                    }
                }
            }
            Err(err) => { p.error { (err) } }
        }
        h2 { "Customizations" }
        table {
            tr { th { "id" } th { "type" } th { "object" } th { "status" } th { "requested by" } th { "reason" } }
            @for cu in &customs {
                tr { td { (cu.id) } td { (cu.kind) } td { (cu.object) } td { (badge("status", &cu.status)) } td { (cu.created_by.as_deref().unwrap_or("")) } td { (cu.reason.as_deref().unwrap_or("")) } }
            }
        }
        details {
            summary { "Request a customization" }
            form.card method="post" action={"/tenants/" (slug) "/customizations"} {
                (csrf_field(&c))
                label { "Type" select name="kind" { @for k in ["column", "table", "index", "view", "function", "trigger"] { option value=(k) { (k) } } } }
                label { "Object name (table.column for a column)" input name="name" required; }
                label { "SQL" textarea name="sql" rows="5" required {} }
                button type="submit" { "Request" }
            }
        }
        h2 { "Schema" }
        @match &schema {
            Ok(sc) => { (schema_diagram(sc)) (schema_tables(sc)) }
            Err(err) => { p.error { (err) } }
        }
        h2 { "History" }
        table {
            tr { th { "when" } th { "migration" } th { "type" } th { "status" } th { "ms" } th { "by" } }
            @for h in &detail.history {
                tr { td { (h.applied_at) } td { (h.migration_name) } td { (h.migration_type) } td { (badge("status", &h.status)) } td { (h.execution_time_ms.unwrap_or(0)) } td { (h.applied_by.as_deref().unwrap_or("")) } }
            }
        }
        h2 { "Users" }
        table { tr { th { "email" } th { "role" } } @for u in &users { tr { td { (u.email) } td { (u.role) } } } }
        h2 { "Domains" }
        table { tr { th { "domain" } th { "application" } } @for a in &apps { tr { td { (a.domain) } td { (a.name) } } } }
    };
    layout(Some(&c), &format!("Tenant {slug}"), body).into_response()
}

#[derive(Deserialize)]
struct CustomForm {
    csrf: String,
    kind: String,
    name: String,
    sql: String,
}

async fn request_customization(State(s): State<AppState>, c: UiCaller, Path(slug): Path<String>, Form(f): Form<CustomForm>) -> Response {
    csrf!(c, &f.csrf);
    let req = CustomizationRequest { slug: slug.clone(), kind: f.kind, object: f.name.trim().to_string(), sql: f.sql, actor: String::new() };
    let r = try_page!(c, s.engine.scoped(&c.principal, &c.source).request_customization(req).await);
    Redirect::to(&format!("/tenants/{slug}?ok={}", urlencode(&format!("Customization {} requested", r.id)))).into_response()
}

#[derive(Deserialize)]
struct RepairForm {
    csrf: String,
    dry_run: Option<String>,
}

async fn repair(State(s): State<AppState>, c: UiCaller, Path(slug): Path<String>, Form(f): Form<RepairForm>) -> Response {
    csrf!(c, &f.csrf);
    let dry = f.dry_run.is_some();
    let r = try_page!(c, s.engine.scoped(&c.principal, &c.source).drift_repair(&slug, dry).await);
    let body = html! {
        @for w in &r.script.warnings { p.error { "Warning: " (w) } }
        pre { @for st in &r.script.statements { (st) ";\n" } }
        @for m in &r.script.manual { p.muted { "Manual: " (m) } }
        @match r.after {
            Some(a) => { p.notice { "Repaired: drift " (r.before) " → " (a) } }
            None => { p { "Dry run: nothing was changed." } }
        }
        p { a href={"/tenants/" (slug)} { "Back to " (slug) } }
    };
    layout(Some(&c), &format!("Repair {slug}"), body).into_response()
}

async fn rollouts(State(s): State<AppState>, c: UiCaller) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let list = try_page!(c, e.rollouts(None).await);
    let templates = e.templates().await.unwrap_or_default();
    let body = html! {
        form.card method="get" action="/rollouts/plan" {
            label { "Template" select name="template" { @for t in &templates { option value=(t.name) { (t.name) " → " (t.version.as_deref().unwrap_or("")) } } } }
            label { "Target version (empty: latest)" input name="to"; }
            label { "Concurrency" input type="number" name="concurrency" value="4" min="1" max="1000"; }
            label { "Canary tenants" input type="number" name="canary" value="0" min="0"; }
            label { "Halt after this many failures" input type="number" name="max_failures" value="0" min="0"; }
            button type="submit" { "Plan the rollout" }
        }
        table {
            tr { th { "rollout" } th { "template" } th { "target" } th { "status" } th { "applied" } th { "failed" } th { "customized" } th { "progress" } th { "by" } }
            @for r in &list {
                tr {
                    td { a href={"/rollouts/" (r.rollout_id)} { (r.rollout_id) } } td { (r.template.as_deref().unwrap_or("all")) }
                    td { (r.target_version.as_deref().unwrap_or("latest")) } td { (badge("status", &r.status)) }
                    td { (r.applied) } td { (r.failed) } td { (r.customized) } td { (rollout_bar(r)) } td { (r.created_by.as_deref().unwrap_or("")) }
                }
            }
        }
    };
    layout(Some(&c), "Rollouts", body).into_response()
}

#[derive(Deserialize)]
struct PlanQuery {
    template: Option<String>,
    to: Option<String>,
    concurrency: Option<usize>,
    canary: Option<usize>,
    max_failures: Option<usize>,
}

/// What each tenant would get, and the button that starts exactly this rollout.
async fn plan_page(State(s): State<AppState>, c: UiCaller, Query(q): Query<PlanQuery>) -> Response {
    let req = RolloutBody { template: q.template.clone(), to: q.to.clone(), tenants: vec![], concurrency: q.concurrency, canary: q.canary, max_failures: q.max_failures }.request();
    let plans = try_page!(c, s.engine.scoped(&c.principal, &c.source).migrate_plan(&req).await);
    let plans = serde_json::to_value(&plans).unwrap_or_default();
    let plans = plans.as_array().cloned().unwrap_or_default();
    let applies = plans.iter().flat_map(|p| p["steps"].as_array().cloned().unwrap_or_default()).filter(|st| st["action"] == "apply").count();
    let body = html! {
        p { (plans.len()) " tenant(s), " (applies) " migration step(s) to apply." }
        table {
            tr { th { "tenant" } th { "from" } th { "to" } th { "steps" } }
            @for p in &plans {
                tr {
                    td { (p["slug"].as_str().unwrap_or("")) } td { (p["from_version"].as_str().unwrap_or("")) } td { (p["to_version"].as_str().unwrap_or("")) }
                    td {
                        @for st in p["steps"].as_array().cloned().unwrap_or_default() {
                            div { code { (st["migration"].as_str().unwrap_or("")) } " " (badge("status", st["action"].as_str().unwrap_or(""))) @if let Some(r) = st["reason"].as_str() { " " span.muted { (r) } } }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/rollouts" {
            (csrf_field(&c))
            input type="hidden" name="template" value=(q.template.clone().unwrap_or_default());
            input type="hidden" name="to" value=(q.to.clone().unwrap_or_default());
            input type="hidden" name="concurrency" value=(req.concurrency);
            input type="hidden" name="canary" value=(req.canary);
            input type="hidden" name="max_failures" value=(req.max_failures);
            button type="submit" disabled[applies == 0] { "Start rollout" }
        }
    };
    layout(Some(&c), "Rollout plan", body).into_response()
}

#[derive(Deserialize)]
struct RolloutForm {
    csrf: String,
    template: Option<String>,
    to: Option<String>,
    concurrency: Option<usize>,
    canary: Option<usize>,
    max_failures: Option<usize>,
}

async fn start_rollout(State(s): State<AppState>, c: UiCaller, Form(f): Form<RolloutForm>) -> Response {
    csrf!(c, &f.csrf);
    let req = RolloutBody { template: f.template, to: f.to, tenants: vec![], concurrency: f.concurrency, canary: f.canary, max_failures: f.max_failures }.request();
    let r = try_page!(c, s.engine.scoped(&c.principal, &c.source).migrate_start(s.engine.clone(), req).await);
    Redirect::to(&format!("/rollouts/{}", r.rollout_id)).into_response()
}

const LIVE_JS: &str = r#"
const id = document.getElementById('rollout').dataset.id;
const es = new EventSource('/api/v1/rollouts/' + id + '/events');
function show(ev) {
  const r = JSON.parse(ev.data);
  for (const k of ['status', 'pending', 'running', 'applied', 'skipped', 'failed', 'customized']) {
    const el = document.getElementById('r-' + k); if (el) el.textContent = r[k];
  }
  const total = Math.max(1, r.pending + r.running + r.applied + r.failed + r.skipped + r.customized);
  document.getElementById('bar-done').style.width = ((r.applied + r.skipped) * 100 / total) + '%';
  document.getElementById('bar-failed').style.width = (r.failed * 100 / total) + '%';
}
// The steps table follows too (text only, never HTML from the server).
async function steps() {
  const res = await fetch('/api/v1/rollouts/' + id + '/steps');
  if (!res.ok) return;
  const body = document.getElementById('steps');
  body.replaceChildren();
  for (const st of await res.json()) {
    const tr = document.createElement('tr');
    for (const [k, cls] of [['slug', ''], ['migration', ''], ['status', 'badge status-' + st.status], ['notes', '']]) {
      const td = document.createElement('td');
      const span = document.createElement('span');
      if (cls) span.className = cls;
      span.textContent = st[k] || '';
      td.appendChild(span);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}
es.addEventListener('progress', (ev) => { show(ev); steps(); });
es.addEventListener('done', async (ev) => { show(ev); es.close(); await steps(); document.getElementById('live').textContent = 'finished'; });
"#;

async fn rollout(State(s): State<AppState>, c: UiCaller, Path(id): Path<i64>) -> Response {
    let e = s.engine.scoped(&c.principal, &c.source);
    let r = match try_page!(c, e.rollouts(Some(id)).await).into_iter().next() {
        Some(r) => r,
        None => return super::error_page(&c, axum::http::StatusCode::NOT_FOUND, "no such rollout"),
    };
    let steps = e.rollout_steps(id).await.unwrap_or_default();
    let body = html! {
        div id="rollout" data-id=(id) {
            p { "Status: " strong id="r-status" { (r.status) } " · live updates: " span id="live" { "connected" } }
            div.progress { span id="bar-done" style="width:0%;background:#27ae60" {} span id="bar-failed" style="width:0%;background:#c0392b" {} }
            table {
                tr { th { "pending" } th { "running" } th { "applied" } th { "skipped" } th { "failed" } th { "customized" } }
                tr { td id="r-pending" { (r.pending) } td id="r-running" { (r.running) } td id="r-applied" { (r.applied) } td id="r-skipped" { (r.skipped) } td id="r-failed" { (r.failed) } td id="r-customized" { (r.customized) } }
            }
        }
        h2 { "Steps" }
        table {
            thead { tr { th { "tenant" } th { "migration" } th { "status" } th { "notes" } } }
            tbody id="steps" {
                @for st in &steps { tr { td { (st.slug) } td { (st.migration) } td { (badge("status", &st.status)) } td { (st.notes.as_deref().unwrap_or("")) } } }
            }
        }
        (script(LIVE_JS))
    };
    layout(Some(&c), &format!("Rollout {id}"), body).into_response()
}

#[derive(Deserialize, Default)]
struct CustomQuery {
    status: Option<String>,
    ok: Option<String>,
}

async fn customizations(State(s): State<AppState>, c: UiCaller, Query(q): Query<CustomQuery>) -> Response {
    let status = q.status.clone().filter(|x| !x.is_empty()).unwrap_or_else(|| "requested".into());
    let list = try_page!(c, s.engine.scoped(&c.principal, &c.source).customizations(Some(&status), None).await);
    let body = html! {
        (flash(&Flash { ok: q.ok.clone() }))
        p { @for st in ["requested", "approved", "applied", "rejected"] { a href={"?status=" (st)} { (st) } " · " } }
        table {
            tr { th { "id" } th { "tenant" } th { "type" } th { "object" } th { "SQL" } th { "status" } th { "by" } th { "" } }
            @for cu in &list {
                tr {
                    td { (cu.id) } td { a href={"/tenants/" (cu.tenant)} { (cu.tenant) } } td { (cu.kind) } td { (cu.object) }
                    td { pre { (cu.sql) } } td { (badge("status", &cu.status)) @if let Some(r) = &cu.reason { br; span.muted { (r) } } }
                    td { (cu.created_by.as_deref().unwrap_or("")) }
                    td {
                        @if c.is_platform() && cu.status == "requested" {
                            form.inline method="post" action={"/customizations/" (cu.id) "/approve"} { (csrf_field(&c)) button type="submit" { "Approve" } }
                        }
                        @if c.is_platform() && cu.status == "approved" {
                            form.inline method="post" action={"/customizations/" (cu.id) "/apply"} { (csrf_field(&c)) button type="submit" { "Apply" } }
                        }
                        @if c.is_platform() && (cu.status == "requested" || cu.status == "approved") {
                            form.inline method="post" action={"/customizations/" (cu.id) "/reject"} {
                                (csrf_field(&c)) input name="reason" placeholder="reason" required; button.danger type="submit" { "Reject" }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(Some(&c), "Customizations", body).into_response()
}

#[derive(Deserialize)]
struct ReviewForm {
    csrf: String,
    reason: Option<String>,
}

async fn review(State(s): State<AppState>, c: UiCaller, Path((id, action)): Path<(i64, String)>, Form(f): Form<ReviewForm>) -> Response {
    csrf!(c, &f.csrf);
    let e = s.engine.scoped(&c.principal, &c.source);
    let r = match action.as_str() {
        "approve" => e.approve_customization(id).await,
        "apply" => e.apply_customization(id).await,
        "reject" => e.reject_customization(id, f.reason.as_deref().unwrap_or("")).await,
        _ => return super::error_page(&c, axum::http::StatusCode::NOT_FOUND, "unknown action"),
    };
    let r = try_page!(c, r);
    Redirect::to(&format!("/customizations?status={}&ok={}", r.status, urlencode(&format!("Customization {} is {}", r.id, r.status)))).into_response()
}

async fn servers(State(s): State<AppState>, c: UiCaller) -> Response {
    let list = try_page!(c, s.engine.scoped(&c.principal, &c.source).servers().await);
    let body = html! {
        table {
            tr { th { "server" } th { "engine" } th { "URL" } th { "tenants" } th { "capacity" } th { "max concurrency" } th { "status" } }
            @for sv in &list {
                tr { td { (sv.name) } td { (sv.dialect) } td { code { (sv.url) } } td { (sv.tenants) } td { (sv.capacity) } td { (sv.max_concurrency) } td { (sv.status) } }
            }
        }
        p.muted { "Add servers with " code { "tenantry server add NAME URL" } " or " code { "POST /api/v1/servers" } "." }
    };
    layout(Some(&c), "Database servers", body).into_response()
}

async fn users(State(s): State<AppState>, c: UiCaller, Query(f): Query<Flash>) -> Response {
    let list = try_page!(c, s.engine.scoped(&c.principal, &c.source).accounts().await);
    let body = html! {
        (flash(&f))
        table {
            tr { th { "email" } th { "role" } th { "tenant" } th { "created" } }
            @for a in &list { tr { td { (a.email) } td { (a.role) } td { (a.tenant.as_deref().unwrap_or("platform")) } td { (a.created_at) } } }
        }
        form.card method="post" action="/users" {
            (csrf_field(&c))
            label { "Email" input type="email" name="email" required; }
            label { "Role" select name="role" { option { "viewer" } option { "operator" } option { "admin" } } }
            label { "Tenant (empty: platform account)" input name="tenant"; }
            button type="submit" { "Add user" }
        }
    };
    layout(Some(&c), "Users", body).into_response()
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    email: String,
    role: String,
    tenant: Option<String>,
}

async fn add_user(State(s): State<AppState>, c: UiCaller, Form(f): Form<UserForm>) -> Response {
    csrf!(c, &f.csrf);
    let tenant = f.tenant.filter(|t| !t.trim().is_empty());
    let a = try_page!(c, s.engine.scoped(&c.principal, &c.source).add_account(f.email.trim(), &f.role, tenant.as_deref()).await);
    let body = html! {
        p.notice { "Account " (a.account.email) " created. Its one-time password (shown once): " code { (a.password) } }
        p { a href="/users" { "Back to users" } }
    };
    layout(Some(&c), "User added", body).into_response()
}

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<i64>,
}

async fn audit(State(s): State<AppState>, c: UiCaller, Query(q): Query<PageQuery>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let (items, total) = try_page!(c, s.engine.scoped(&c.principal, &c.source).audit_log(100, (page - 1) * 100).await);
    let body = html! {
        table {
            tr { th { "when" } th { "who" } th { "action" } th { "target" } th { "from" } th { "detail" } }
            @for a in &items {
                tr { td { (a.created_at) } td { (a.actor) } td { (a.action) } td { (a.target.as_deref().unwrap_or("")) } td { (a.source.as_deref().unwrap_or("")) }
                     td { code { (a.detail.as_ref().map(|d| d.to_string()).unwrap_or_default()) } } }
            }
        }
        p.muted { (total) " entries" @if page * 100 < total { " · " a href={"?page=" (page + 1)} { "older" } } }
    };
    layout(Some(&c), "Audit log", body).into_response()
}
