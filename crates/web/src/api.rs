//! `/api/v1`: every engine operation as JSON, registered through one table that also
//! produces the OpenAPI document, so the document cannot miss a route.

use crate::auth::ApiCaller;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, MethodRouter};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tenantry_engine::customizations::CustomizationRequest;
use tenantry_engine::drift::DriftScanRequest;
use tenantry_engine::rollouts::MigrateRequest;
use tenantry_engine::tenants::CreateTenant;
use tenantry_engine::AddServer;
use tenantry_store::TenantFilter;

/// One documented route.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Who may call it: `public`, `viewer`, `tenant` (a tenant's own users too),
    /// `operator`, `admin`.
    pub access: &'static str,
    /// Fields of the JSON body, if any.
    pub body: &'static [&'static str],
}

struct Api {
    router: Router<AppState>,
    docs: Vec<RouteDoc>,
}

impl Api {
    fn route(mut self, method: &'static str, path: &'static str, summary: &'static str, access: &'static str, body: &'static [&'static str], m: MethodRouter<AppState>) -> Api {
        self.router = self.router.route(path, m);
        self.docs.push(RouteDoc { method, path, summary, access, body });
        self
    }
}

/// A JSON body whose rejection is our JSON error (400, `invalid_json`).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", json_problem(&e))),
        }
    }
}

fn json_problem(e: &JsonRejection) -> String {
    format!("the request body is not the JSON this route takes: {}", e.body_text())
}

fn ok<T: Serialize>(v: T) -> ApiResult<Json<Value>> {
    serde_json::to_value(v).map(Json).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// `?page=&per_page=` on lists; the answer is `{items, page, per_page, total}`.
#[derive(Deserialize, Default)]
struct Paging {
    page: Option<usize>,
    per_page: Option<usize>,
}

fn page<T: Serialize>(items: Vec<T>, p: &Paging) -> ApiResult<Json<Value>> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    let page = p.page.unwrap_or(1).max(1);
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    ok(json!({"items": items, "page": page, "per_page": per_page, "total": total}))
}

pub fn routes() -> (Router<AppState>, Vec<RouteDoc>) {
    let api = Api { router: Router::new(), docs: Vec::new() }
        .route("GET", "/openapi.json", "This document", "public", &[], get(openapi_json))
        .route("GET", "/me", "The caller's account", "viewer", &[], get(me))
        .route("GET", "/servers", "Database servers and their load", "viewer", &[], get(servers))
        .route("POST", "/servers", "Register a database server (checked first)", "admin", &["name", "url", "capacity", "max_concurrency"], post(add_server))
        .route("GET", "/pools", "Warm pools: configured size and ready databases", "viewer", &[], get(pools))
        .route("POST", "/pools/fill", "Fill the warm pools now; drop stale pooled and prepared databases", "operator", &[], post(pool_fill))
        .route("GET", "/templates", "Templates", "viewer", &[], get(templates))
        .route("POST", "/templates", "Import a template given as its files", "operator", &["files"], post(import_template))
        .route("GET", "/templates/{name}", "A template's versions, modules and migrations", "viewer", &[], get(template))
        .route("DELETE", "/templates/{name}", "Delete a template no tenant uses", "admin", &[], delete(delete_template))
        .route("GET", "/templates/{name}/snapshot", "A version's schema snapshot (?version=&dialect=)", "viewer", &[], get(snapshot))
        .route("GET", "/tenants", "Tenants (?template=&status=&drift=&q=&page=&per_page=)", "tenant", &[], get(tenants))
        .route("POST", "/tenants", "Provision a tenant (all or nothing)", "operator", &["slug", "template", "version", "modules", "server", "name"], post(create_tenant))
        .route("GET", "/tenants/{slug}", "A tenant and its history", "tenant", &[], get(tenant))
        .route("DELETE", "/tenants/{slug}", "Delete a tenant (?keep_database=true)", "operator", &[], delete(delete_tenant))
        .route("GET", "/tenants/{slug}/schema", "The tenant database's live schema", "tenant", &[], get(tenant_schema))
        .route("GET", "/tenants/{slug}/history", "Migration history", "tenant", &[], get(tenant_history))
        .route("GET", "/tenants/{slug}/credentials", "The tenant login's credentials", "tenant", &[], get(credentials))
        .route("POST", "/tenants/{slug}/suspend", "Revoke the tenant's access", "operator", &[], post(suspend))
        .route("POST", "/tenants/{slug}/resume", "Restore the tenant's access", "operator", &[], post(resume))
        .route("GET", "/tenants/{slug}/users", "Tenant users", "tenant", &[], get(tenant_users))
        .route("POST", "/tenants/{slug}/users", "Add a tenant user", "tenant", &["email", "name", "role", "password"], post(add_tenant_user))
        .route("GET", "/tenants/{slug}/applications", "Applications and domains", "tenant", &[], get(applications))
        .route("POST", "/tenants/{slug}/applications", "Add an application domain", "tenant", &["domain", "name"], post(add_application))
        .route("GET", "/tenants/{slug}/customizations", "The tenant's customizations", "tenant", &[], get(tenant_customizations))
        .route("POST", "/tenants/{slug}/customizations", "Request a customization (SQL checked first)", "tenant", &["type", "name", "sql"], post(request_customization))
        .route("GET", "/tenants/{slug}/drift", "Compare the tenant with its expected schema now", "tenant", &[], get(drift_show))
        .route("POST", "/tenants/{slug}/drift/accept", "Record extra objects as customizations", "operator", &[], post(drift_accept))
        .route("POST", "/tenants/{slug}/drift/repair", "Converge the database (dry_run: only show the SQL)", "operator", &["dry_run"], post(drift_repair))
        .route("POST", "/tenants/{slug}/rollback", "Roll the tenant's migrations back", "operator", &["to"], post(rollback))
        .route("GET", "/resolve", "An application's tenant database and credentials (?slug= or ?domain=)", "operator", &[], get(resolve))
        .route("GET", "/rollouts", "Rollouts, newest first", "viewer", &[], get(rollouts))
        .route("POST", "/rollouts", "Start a durable rollout (runs in the background)", "operator", &["template", "to", "tenants", "concurrency", "canary", "max_failures"], post(start_rollout))
        .route("POST", "/rollouts/plan", "What each tenant would get (changes nothing)", "viewer", &["template", "to", "tenants"], post(plan))
        .route("GET", "/rollouts/{id}", "One rollout and its counts", "viewer", &[], get(rollout))
        .route("GET", "/rollouts/{id}/steps", "A rollout's steps", "viewer", &[], get(rollout_steps))
        .route("GET", "/rollouts/{id}/events", "Live progress (server-sent events)", "viewer", &[], get(rollout_events))
        .route("POST", "/rollouts/{id}/resume", "Continue a halted or interrupted rollout", "operator", &[], post(resume_rollout))
        .route("POST", "/rollouts/{id}/retry", "Run a rollout's failed steps again", "operator", &[], post(retry_rollout))
        .route("GET", "/customizations", "Customizations (?status=&tenant=&page=&per_page=)", "tenant", &[], get(customizations))
        .route("GET", "/customizations/{id}", "One customization", "tenant", &[], get(customization))
        .route("POST", "/customizations/{id}/approve", "Approve a requested customization", "operator", &[], post(approve))
        .route("POST", "/customizations/{id}/reject", "Reject with a reason", "operator", &["reason"], post(reject))
        .route("POST", "/customizations/{id}/apply", "Run an approved customization", "operator", &[], post(apply))
        .route("POST", "/drift/scan", "Scan the fleet for drift", "operator", &["template", "tenants", "concurrency"], post(drift_scan))
        .route("GET", "/accounts", "Platform accounts and tenant users who sign in", "admin", &[], get(accounts))
        .route("POST", "/accounts", "Create an account (its one-time password is in the answer)", "admin", &["email", "role", "tenant"], post(add_account))
        .route("POST", "/tokens", "An API token for the caller (shown once)", "viewer", &["name", "scopes", "expires_days"], post(create_token))
        .route("GET", "/audit", "The audit log, newest first", "admin", &[], get(audit));
    let docs = api.docs;
    (api.router.fallback(not_found), docs)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route; GET /api/v1/openapi.json lists them")
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi() -> Value {
    let (_, docs) = routes();
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for d in &docs {
        let params: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": d.summary,
            "operationId": format!("{}{}", d.method.to_lowercase(), d.path.replace(['/', '{', '}', '.'], "_")),
            "parameters": params,
            "x-access": d.access,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"}
            }
        });
        if d.access == "public" {
            op["security"] = json!([]);
        }
        if !d.body.is_empty() {
            let props: serde_json::Map<String, Value> = d.body.iter().map(|f| (f.to_string(), json!({}))).collect();
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": props}}}});
        }
        paths.entry(format!("/api/v1{}", d.path)).or_default().insert(d.method.to_lowercase(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "tenantry", "version": env!("CARGO_PKG_VERSION"), "description": "Control plane for database-per-tenant SaaS"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "`tenantry user token EMAIL --name N`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "tenantry_session", "description": "web sign-in; writes need X-CSRF-Token"}
            },
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
            }}}}}
        },
        "security": [{"token": []}, {"session": []}]
    })
}

async fn openapi_json() -> Json<Value> {
    Json(openapi())
}

macro_rules! scoped {
    ($state:expr, $caller:expr) => {
        $state.engine.scoped(&$caller.0.principal, &$caller.0.source)
    };
}

async fn me(ApiCaller(c): ApiCaller) -> ApiResult<Json<Value>> {
    ok(json!({"email": c.principal.email, "role": c.principal.role, "tenant": c.principal.tenant_slug(), "read_only": c.principal.read_only, "csrf": c.csrf}))
}

async fn servers(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).servers().await?)
}

async fn pools(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).pool_status().await?)
}

async fn pool_fill(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).pool_fill().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerBody {
    name: String,
    url: String,
    capacity: Option<i64>,
    max_concurrency: Option<i64>,
}

async fn add_server(State(s): State<AppState>, c: ApiCaller, Body(b): Body<ServerBody>) -> ApiResult<impl IntoResponse> {
    let r = scoped!(s, c).add_server(AddServer { name: b.name, url: b.url, capacity: b.capacity, max_concurrency: b.max_concurrency }).await?;
    Ok((StatusCode::CREATED, ok(r)?))
}

async fn templates(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).templates().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    files: BTreeMap<String, String>,
}

async fn import_template(State(s): State<AppState>, c: ApiCaller, Body(b): Body<ImportBody>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).import_template(b.files).await?)
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<String>,
    dialect: Option<String>,
}

async fn template(State(s): State<AppState>, c: ApiCaller, Path(name): Path<String>, Query(q): Query<VersionQuery>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).template_detail(&name, q.version.as_deref()).await?)
}

async fn delete_template(State(s): State<AppState>, c: ApiCaller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    scoped!(s, c).delete_template(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn snapshot(State(s): State<AppState>, c: ApiCaller, Path(name): Path<String>, Query(q): Query<VersionQuery>) -> ApiResult<Json<Value>> {
    let dialect = match q.dialect.as_deref() {
        Some(d) => Some(d.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid", format!("unknown dialect `{d}`")))?),
        None => None,
    };
    ok(scoped!(s, c).template_snapshot(&name, q.version.as_deref(), dialect).await?)
}

#[derive(Deserialize, Default)]
pub(crate) struct TenantQuery {
    pub template: Option<String>,
    pub status: Option<String>,
    pub drift: Option<String>,
    /// Part of the slug or name.
    pub q: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

impl TenantQuery {
    pub(crate) fn filter(&self) -> TenantFilter {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        TenantFilter { template: some(&self.template), status: some(&self.status), drift: some(&self.drift), include_deleted: false }
    }

    pub(crate) fn matches(&self, t: &tenantry_store::TenantRecord) -> bool {
        match self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => {
                let q = q.to_lowercase();
                t.slug.contains(&q) || t.name.to_lowercase().contains(&q)
            }
            None => true,
        }
    }
}

async fn tenants(State(s): State<AppState>, c: ApiCaller, Query(q): Query<TenantQuery>) -> ApiResult<Json<Value>> {
    let all: Vec<_> = scoped!(s, c).tenants(&q.filter()).await?.into_iter().filter(|t| q.matches(t)).collect();
    page(all, &Paging { page: q.page, per_page: q.per_page })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenantBody {
    slug: String,
    template: String,
    version: Option<String>,
    #[serde(default)]
    modules: Vec<String>,
    server: Option<String>,
    name: Option<String>,
}

async fn create_tenant(State(s): State<AppState>, c: ApiCaller, Body(b): Body<CreateTenantBody>) -> ApiResult<impl IntoResponse> {
    let started = std::time::Instant::now();
    let req = CreateTenant { slug: b.slug, template: b.template, version: b.version, modules: b.modules, server: b.server, name: b.name, ..Default::default() };
    let t = scoped!(s, c).create_tenant(&s.engine, req).await?;
    s.metrics.observe("tenantry_provisioning_seconds", started.elapsed());
    Ok((StatusCode::CREATED, ok(t)?))
}

async fn tenant(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).tenant_detail(&slug).await?)
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    keep_database: bool,
}

async fn delete_tenant(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Query(q): Query<DeleteQuery>) -> ApiResult<StatusCode> {
    scoped!(s, c).delete_tenant(&slug, q.keep_database).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tenant_schema(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).tenant_schema(&slug).await?)
}

async fn tenant_history(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).tenant_history(&slug).await?)
}

async fn credentials(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).tenant_credentials(&slug).await?)
}

async fn suspend(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).set_tenant_suspended(&slug, true).await?)
}

async fn resume(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).set_tenant_suspended(&slug, false).await?)
}

async fn tenant_users(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).tenant_users(&slug).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantUserBody {
    email: String,
    name: Option<String>,
    role: String,
    password: Option<String>,
}

async fn add_tenant_user(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Body(b): Body<TenantUserBody>) -> ApiResult<impl IntoResponse> {
    scoped!(s, c).add_tenant_user(&slug, &b.email, b.name.as_deref(), &b.role, b.password.as_deref()).await?;
    Ok((StatusCode::CREATED, ok(json!({"tenant": slug, "email": b.email, "role": b.role}))?))
}

async fn applications(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).applications(&slug).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationBody {
    domain: String,
    name: Option<String>,
}

async fn add_application(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Body(b): Body<ApplicationBody>) -> ApiResult<impl IntoResponse> {
    scoped!(s, c).add_application(&slug, &b.domain, b.name.as_deref()).await?;
    Ok((StatusCode::CREATED, ok(json!({"tenant": slug, "domain": b.domain}))?))
}

async fn tenant_customizations(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Query(p): Query<Paging>) -> ApiResult<Json<Value>> {
    page(scoped!(s, c).customizations(None, Some(&slug)).await?, &p)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomizationBody {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    sql: String,
}

async fn request_customization(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Body(b): Body<CustomizationBody>) -> ApiResult<impl IntoResponse> {
    let r = scoped!(s, c).request_customization(CustomizationRequest { slug, kind: b.kind, object: b.name, sql: b.sql, actor: String::new() }).await?;
    Ok((StatusCode::CREATED, ok(r)?))
}

async fn drift_show(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).drift_show(&slug).await?)
}

async fn drift_accept(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).drift_accept(&slug).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RepairBody {
    #[serde(default)]
    dry_run: bool,
}

async fn drift_repair(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Body(b): Body<RepairBody>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).drift_repair(&slug, b.dry_run).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to: Option<String>,
}

async fn rollback(State(s): State<AppState>, c: ApiCaller, Path(slug): Path<String>, Body(b): Body<RollbackBody>) -> ApiResult<Json<Value>> {
    let v = scoped!(s, c).migrate_rollback(&slug, b.to.as_deref()).await?;
    ok(json!({"slug": slug, "template_version": v}))
}

#[derive(Deserialize)]
struct ResolveQuery {
    slug: Option<String>,
    domain: Option<String>,
}

async fn resolve(State(s): State<AppState>, c: ApiCaller, Query(q): Query<ResolveQuery>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).resolve(q.slug.as_deref(), q.domain.as_deref()).await?)
}

async fn rollouts(State(s): State<AppState>, c: ApiCaller, Query(p): Query<Paging>) -> ApiResult<Json<Value>> {
    page(scoped!(s, c).rollouts(None).await?, &p)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolloutBody {
    pub template: Option<String>,
    pub to: Option<String>,
    #[serde(default)]
    pub tenants: Vec<String>,
    pub concurrency: Option<usize>,
    pub canary: Option<usize>,
    pub max_failures: Option<usize>,
}

impl RolloutBody {
    pub(crate) fn request(self) -> MigrateRequest {
        MigrateRequest {
            template: self.template.filter(|s| !s.is_empty()),
            to: self.to.filter(|s| !s.is_empty()),
            tenants: self.tenants,
            concurrency: self.concurrency.unwrap_or(4),
            canary: self.canary.unwrap_or(0),
            max_failures: self.max_failures.unwrap_or(0),
            actor: String::new(),
        }
    }
}

async fn start_rollout(State(s): State<AppState>, c: ApiCaller, Body(b): Body<RolloutBody>) -> ApiResult<impl IntoResponse> {
    let req = b.request();
    if req.concurrency == 0 || req.concurrency > 1000 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid", "concurrency must be between 1 and 1000"));
    }
    let r = scoped!(s, c).migrate_start(s.engine.clone(), req).await?;
    Ok((StatusCode::ACCEPTED, ok(r)?))
}

async fn plan(State(s): State<AppState>, c: ApiCaller, Body(b): Body<RolloutBody>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).migrate_plan(&b.request()).await?)
}

async fn rollout(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    let r = scoped!(s, c).rollouts(Some(id)).await?;
    ok(r.into_iter().next())
}

async fn rollout_steps(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).rollout_steps(id).await?)
}

/// Server-sent events: the rollout's counts every half second until it is done.
async fn rollout_events(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<impl IntoResponse> {
    scoped!(s, c).rollouts(Some(id)).await?;
    let principal = c.0.principal.clone();
    let source = c.0.source.clone();
    let engine = s.engine.clone();
    let stream = futures::stream::unfold(false, move |done| {
        let engine = engine.clone();
        let principal = principal.clone();
        let source = source.clone();
        async move {
            if done {
                return None;
            }
            let r = engine.scoped(&principal, &source).rollouts(Some(id)).await.ok()?.into_iter().next()?;
            let finished = r.pending == 0 && r.running == 0 && r.status != "running";
            let event = Event::default().event(if finished { "done" } else { "progress" }).json_data(&r).ok()?;
            if !finished {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Some((Ok::<_, std::convert::Infallible>(event), finished))
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn resume_rollout(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, ok(scoped!(s, c).migrate_continue(s.engine.clone(), id, false).await?)?))
}

async fn retry_rollout(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, ok(scoped!(s, c).migrate_continue(s.engine.clone(), id, true).await?)?))
}

#[derive(Deserialize)]
struct CustomQuery {
    status: Option<String>,
    tenant: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

async fn customizations(State(s): State<AppState>, c: ApiCaller, Query(q): Query<CustomQuery>) -> ApiResult<Json<Value>> {
    let list = scoped!(s, c).customizations(q.status.as_deref().filter(|x| !x.is_empty()), q.tenant.as_deref().filter(|x| !x.is_empty())).await?;
    page(list, &Paging { page: q.page, per_page: q.per_page })
}

async fn customization(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).customization(id).await?)
}

async fn approve(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).approve_customization(id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

async fn reject(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>, Body(b): Body<RejectBody>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).reject_customization(id, &b.reason).await?)
}

async fn apply(State(s): State<AppState>, c: ApiCaller, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    ok(scoped!(s, c).apply_customization(id).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    template: Option<String>,
    #[serde(default)]
    tenants: Vec<String>,
    concurrency: Option<usize>,
}

async fn drift_scan(State(s): State<AppState>, c: ApiCaller, Body(b): Body<ScanBody>) -> ApiResult<Json<Value>> {
    let started = std::time::Instant::now();
    let r = scoped!(s, c).drift_scan(&DriftScanRequest { template: b.template, tenants: b.tenants, concurrency: b.concurrency.unwrap_or(8) }).await?;
    s.metrics.observe("tenantry_drift_scan_seconds", started.elapsed());
    ok(r)
}

async fn accounts(State(s): State<AppState>, c: ApiCaller, Query(p): Query<Paging>) -> ApiResult<Json<Value>> {
    page(scoped!(s, c).accounts().await?, &p)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    email: String,
    role: String,
    tenant: Option<String>,
}

async fn add_account(State(s): State<AppState>, c: ApiCaller, Body(b): Body<AccountBody>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, ok(scoped!(s, c).add_account(&b.email, &b.role, b.tenant.as_deref()).await?)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    #[serde(default = "read_scope")]
    scopes: String,
    expires_days: Option<i64>,
}

fn read_scope() -> String {
    "read".into()
}

async fn create_token(State(s): State<AppState>, c: ApiCaller, Body(b): Body<TokenBody>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, ok(scoped!(s, c).create_token(&b.name, &b.scopes, b.expires_days).await?)?))
}

async fn audit(State(s): State<AppState>, c: ApiCaller, Query(p): Query<Paging>) -> ApiResult<Json<Value>> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500) as i64;
    let page = p.page.unwrap_or(1).max(1) as i64;
    let (items, total) = scoped!(s, c).audit_log(per_page, (page - 1) * per_page).await?;
    ok(json!({"items": items, "page": page, "per_page": per_page, "total": total}))
}
