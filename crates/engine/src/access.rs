//! Who may do what: the engine as seen by one principal of the HTTP API or web UI.
//!
//! Interfaces get a [`Scoped`] engine and nothing else, so every operation they offer
//! checks the principal's role and tenant here, in the engine, before it runs: a
//! tenant user reaching another tenant's data gets `forbidden` whatever the route.
//! Every change is written to the audit log with who, what and from where.
//!
//! Roles: `admin` (everything, including accounts and servers), `operator` (fleet
//! operations), `viewer` (read only). A tenant user holds one of these roles on its
//! own tenant only: viewers read, operators and admins also request customizations,
//! manage the tenant's users and domains and read its credentials. Read-only API
//! tokens can only read.

use crate::accounts::{NewAccount, NewToken, Principal, Role};
use crate::customizations::CustomizationRequest;
use crate::drift::{AcceptReport, DriftDetail, DriftScanReport, DriftScanRequest, RepairReport};
use crate::rollouts::{MigrateRequest, NoProgress, TenantPlan};
use crate::tenants::{Credentials, CreateTenant, Resolved, TenantDetail};
use crate::templates::{ImportReport, SnapshotView, TemplateDetail, TemplateSummary};
use crate::{AddServer, Engine, EngineError};
use std::collections::BTreeMap;
use std::sync::Arc;
use tenantry_domain::Dialect;
use tenantry_schema::Schema;
use tenantry_store::{
    AccountRecord, ApplicationRecord, AuditRecord, CustomizationRecord, HistoryRecord, RolloutRecord, ServerRecord, StepRecord, TenantFilter,
    TenantRecord, TenantUserRecord,
};

/// The engine as one principal may use it.
pub struct Scoped<'a> {
    pub engine: &'a Engine,
    pub who: &'a Principal,
    /// Where the request came from (address), for the audit log.
    pub source: &'a str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Operate,
    Admin,
}

impl Engine {
    pub fn scoped<'a>(&'a self, who: &'a Principal, source: &'a str) -> Scoped<'a> {
        Scoped { engine: self, who, source }
    }
}

fn forbidden(why: impl Into<String>) -> EngineError {
    EngineError::Forbidden(why.into())
}

impl<'a> Scoped<'a> {
    fn need(&self, need: Need) -> Result<(), EngineError> {
        if need != Need::Read && self.who.read_only {
            return Err(forbidden("this API token is read-only"));
        }
        let role = self.who.role;
        match need {
            Need::Read => Ok(()),
            Need::Operate if role >= Role::Operator => Ok(()),
            Need::Admin if role == Role::Admin => Ok(()),
            Need::Operate => Err(forbidden("this needs the operator or admin role")),
            Need::Admin => Err(forbidden("this needs the admin role")),
        }
    }

    /// Fleet-wide operations: platform accounts only.
    fn platform(&self, need: Need) -> Result<(), EngineError> {
        if let Some(slug) = self.who.tenant_slug() {
            return Err(forbidden(format!("tenant users see only their own tenant (`{slug}`)")));
        }
        self.need(need)
    }

    /// A tenant this principal may see (and, with `need`, act on).
    async fn tenant(&self, slug: &str, need: Need) -> Result<TenantRecord, EngineError> {
        if let Some(own) = self.who.tenant_slug() {
            if own != slug {
                return Err(forbidden(format!("you may only act on tenant `{own}`")));
            }
        }
        self.need(need)?;
        self.engine.tenant_record(slug).await
    }

    async fn audit(&self, action: &str, target: &str, detail: serde_json::Value) {
        self.engine.audit(&self.who.email, action, Some(target), Some(&detail), Some(self.source)).await;
    }

    pub fn principal(&self) -> &Principal {
        self.who
    }

    // Servers.
    pub async fn servers(&self) -> Result<Vec<ServerRecord>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.servers().await
    }

    pub async fn add_server(&self, req: AddServer) -> Result<ServerRecord, EngineError> {
        self.platform(Need::Admin)?;
        let name = req.name.clone();
        let s = self.engine.add_server(req).await?;
        self.audit("server.add", &name, serde_json::json!({"dialect": s.dialect, "url": s.url})).await;
        Ok(s)
    }

    // Warm pools.
    pub async fn pool_status(&self) -> Result<Vec<crate::tenants::PoolStatus>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.pool_status().await
    }

    /// Fills the pools now (and sweeps stale pooled and prepared databases).
    pub async fn pool_fill(&self) -> Result<crate::tenants::PoolReport, EngineError> {
        self.platform(Need::Operate)?;
        let r = self.engine.refill_pools().await?;
        self.audit("pool.fill", "pools", serde_json::json!({"built": r.built, "dropped": r.dropped})).await;
        Ok(r)
    }

    // Templates.
    pub async fn templates(&self) -> Result<Vec<TemplateSummary>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.templates().await
    }

    pub async fn template_detail(&self, name: &str, version: Option<&str>) -> Result<TemplateDetail, EngineError> {
        self.platform(Need::Read)?;
        self.engine.template_detail(name, version).await
    }

    pub async fn template_snapshot(&self, name: &str, version: Option<&str>, dialect: Option<Dialect>) -> Result<SnapshotView, EngineError> {
        self.platform(Need::Read)?;
        self.engine.template_snapshot(name, version, dialect).await
    }

    pub async fn import_template(&self, files: BTreeMap<String, String>) -> Result<ImportReport, EngineError> {
        self.platform(Need::Operate)?;
        let r = self.engine.import_template_files(files).await?;
        self.audit("template.import", &r.name, serde_json::json!({"version": r.version, "status": r.status})).await;
        Ok(r)
    }

    pub async fn delete_template(&self, name: &str) -> Result<(), EngineError> {
        self.platform(Need::Admin)?;
        self.engine.delete_template(name).await?;
        self.audit("template.delete", name, serde_json::json!({})).await;
        Ok(())
    }

    // Tenants.
    pub async fn tenants(&self, filter: &TenantFilter) -> Result<Vec<TenantRecord>, EngineError> {
        self.need(Need::Read)?;
        let all = self.engine.tenants(filter).await?;
        Ok(match self.who.tenant_slug() {
            Some(own) => all.into_iter().filter(|t| t.slug == own).collect(),
            None => all,
        })
    }

    /// Provisions a tenant; with warm pools configured, refills them in the
    /// background afterwards.
    pub async fn create_tenant(&self, engine: &Arc<Engine>, mut req: CreateTenant) -> Result<TenantRecord, EngineError> {
        self.platform(Need::Operate)?;
        req.actor = self.who.email.clone();
        let created = self.engine.create_tenant(req).await;
        if !self.engine.config().pools.is_empty() {
            engine.spawn_pool_refill();
        }
        let t = created?;
        self.audit("tenant.create", &t.slug, serde_json::json!({"template": t.template, "version": t.template_version, "server": t.server})).await;
        Ok(t)
    }

    pub async fn tenant_detail(&self, slug: &str) -> Result<TenantDetail, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.tenant_detail(slug).await
    }

    pub async fn tenant_schema(&self, slug: &str) -> Result<Schema, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.tenant_schema(slug).await
    }

    pub async fn tenant_history(&self, slug: &str) -> Result<Vec<HistoryRecord>, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.tenant_history(slug).await
    }

    pub async fn tenant_credentials(&self, slug: &str) -> Result<Credentials, EngineError> {
        self.tenant(slug, Need::Operate).await?;
        let c = self.engine.tenant_credentials(slug).await?;
        self.audit("tenant.credentials", slug, serde_json::json!({})).await;
        Ok(c)
    }

    pub async fn set_tenant_suspended(&self, slug: &str, suspended: bool) -> Result<TenantRecord, EngineError> {
        self.platform(Need::Operate)?;
        let t = self.engine.set_tenant_suspended(slug, suspended).await?;
        self.audit(if suspended { "tenant.suspend" } else { "tenant.resume" }, slug, serde_json::json!({})).await;
        Ok(t)
    }

    pub async fn delete_tenant(&self, slug: &str, keep_database: bool) -> Result<(), EngineError> {
        self.platform(Need::Operate)?;
        self.engine.delete_tenant(slug, keep_database).await?;
        self.audit("tenant.delete", slug, serde_json::json!({"keep_database": keep_database})).await;
        Ok(())
    }

    pub async fn tenant_users(&self, slug: &str) -> Result<Vec<TenantUserRecord>, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.tenant_users(slug).await
    }

    pub async fn add_tenant_user(&self, slug: &str, email: &str, name: Option<&str>, role: &str, password: Option<&str>) -> Result<(), EngineError> {
        self.tenant(slug, Need::Operate).await?;
        self.engine.add_tenant_user(slug, email, name, role, password).await?;
        self.audit("tenant.user.add", slug, serde_json::json!({"email": email, "role": role})).await;
        Ok(())
    }

    pub async fn applications(&self, slug: &str) -> Result<Vec<ApplicationRecord>, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.applications(slug).await
    }

    pub async fn add_application(&self, slug: &str, domain: &str, name: Option<&str>) -> Result<(), EngineError> {
        self.tenant(slug, Need::Operate).await?;
        self.engine.add_application(slug, domain, name).await?;
        self.audit("tenant.application.add", slug, serde_json::json!({"domain": domain})).await;
        Ok(())
    }

    /// Connection details for an application: platform operators, or a tenant's own
    /// operator for its own tenant.
    pub async fn resolve(&self, slug: Option<&str>, domain: Option<&str>) -> Result<Resolved, EngineError> {
        self.need(Need::Operate)?;
        let r = self.engine.resolve(slug, domain).await?;
        if let Some(own) = self.who.tenant_slug() {
            if own != r.slug {
                return Err(forbidden(format!("you may only act on tenant `{own}`")));
            }
        }
        self.audit("tenant.resolve", &r.slug, serde_json::json!({"domain": domain})).await;
        Ok(r)
    }

    // Rollouts.
    pub async fn migrate_plan(&self, req: &MigrateRequest) -> Result<Vec<TenantPlan>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.migrate_plan(req).await
    }

    /// Records a rollout and runs it in the background; returns it at once.
    pub async fn migrate_start(&self, engine: Arc<Engine>, mut req: MigrateRequest) -> Result<RolloutRecord, EngineError> {
        self.platform(Need::Operate)?;
        req.actor = self.who.email.clone();
        let id = self.engine.migrate_create(&req).await?;
        self.audit("rollout.start", &id.to_string(), serde_json::json!({"template": req.template, "to": req.to, "tenants": req.tenants})).await;
        engine.spawn_rollout(id, req.actor.clone(), false);
        self.engine.rollout_record(id).await
    }

    pub async fn rollouts(&self, id: Option<i64>) -> Result<Vec<RolloutRecord>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.migrate_status(id).await
    }

    pub async fn rollout_steps(&self, id: i64) -> Result<Vec<StepRecord>, EngineError> {
        self.platform(Need::Read)?;
        self.engine.rollout_steps(id).await
    }

    /// Resume (`retry: false`) or retry a rollout in the background.
    pub async fn migrate_continue(&self, engine: Arc<Engine>, id: i64, retry: bool) -> Result<RolloutRecord, EngineError> {
        self.platform(Need::Operate)?;
        let r = self.engine.rollout_record(id).await?;
        self.audit(if retry { "rollout.retry" } else { "rollout.resume" }, &id.to_string(), serde_json::json!({})).await;
        engine.spawn_rollout(id, self.who.email.clone(), retry);
        Ok(r)
    }

    pub async fn migrate_rollback(&self, slug: &str, to: Option<&str>) -> Result<String, EngineError> {
        self.platform(Need::Operate)?;
        let v = self.engine.migrate_rollback(slug, to, &self.who.email).await?;
        self.audit("tenant.rollback", slug, serde_json::json!({"to": v})).await;
        Ok(v)
    }

    // Customizations.
    pub async fn customizations(&self, status: Option<&str>, slug: Option<&str>) -> Result<Vec<CustomizationRecord>, EngineError> {
        let slug = match (self.who.tenant_slug(), slug) {
            (Some(own), Some(s)) if own != s => return Err(forbidden(format!("you may only act on tenant `{own}`"))),
            (Some(own), _) => Some(own),
            (None, s) => s,
        };
        self.need(Need::Read)?;
        self.engine.customizations(status, slug).await
    }

    pub async fn customization(&self, id: i64) -> Result<CustomizationRecord, EngineError> {
        let c = self.engine.customization(id).await?;
        self.tenant(&c.tenant, Need::Read).await?;
        Ok(c)
    }

    pub async fn request_customization(&self, mut req: CustomizationRequest) -> Result<CustomizationRecord, EngineError> {
        self.tenant(&req.slug, Need::Operate).await?;
        req.actor = self.who.email.clone();
        let c = self.engine.request_customization(req).await?;
        self.audit("customization.request", &c.tenant, serde_json::json!({"id": c.id, "type": c.kind, "object": c.object})).await;
        Ok(c)
    }

    pub async fn approve_customization(&self, id: i64) -> Result<CustomizationRecord, EngineError> {
        self.platform(Need::Operate)?;
        let c = self.engine.approve_customization(id, &self.who.email).await?;
        self.audit("customization.approve", &c.tenant, serde_json::json!({"id": id})).await;
        Ok(c)
    }

    pub async fn reject_customization(&self, id: i64, reason: &str) -> Result<CustomizationRecord, EngineError> {
        self.platform(Need::Operate)?;
        let c = self.engine.reject_customization(id, reason, &self.who.email).await?;
        self.audit("customization.reject", &c.tenant, serde_json::json!({"id": id, "reason": reason})).await;
        Ok(c)
    }

    pub async fn apply_customization(&self, id: i64) -> Result<CustomizationRecord, EngineError> {
        self.platform(Need::Operate)?;
        let c = self.engine.apply_customization(id, &self.who.email).await?;
        self.audit("customization.apply", &c.tenant, serde_json::json!({"id": id})).await;
        Ok(c)
    }

    // Drift.
    pub async fn drift_scan(&self, req: &DriftScanRequest) -> Result<DriftScanReport, EngineError> {
        self.platform(Need::Operate)?;
        let r = self.engine.drift_scan(req, &NoProgress).await?;
        self.audit("drift.scan", "fleet", serde_json::json!({"scanned": r.scanned, "failed": r.failed})).await;
        Ok(r)
    }

    pub async fn drift_show(&self, slug: &str) -> Result<DriftDetail, EngineError> {
        self.tenant(slug, Need::Read).await?;
        self.engine.drift_show(slug).await
    }

    pub async fn drift_accept(&self, slug: &str) -> Result<AcceptReport, EngineError> {
        self.platform(Need::Operate)?;
        let r = self.engine.drift_accept(slug, &self.who.email).await?;
        self.audit("drift.accept", slug, serde_json::json!({"accepted": r.accepted.len()})).await;
        Ok(r)
    }

    pub async fn drift_repair(&self, slug: &str, dry_run: bool) -> Result<RepairReport, EngineError> {
        if dry_run {
            self.tenant(slug, Need::Read).await?;
        } else {
            self.platform(Need::Operate)?;
        }
        let r = self.engine.drift_repair(slug, dry_run, &self.who.email).await?;
        if !dry_run {
            self.audit("drift.repair", slug, serde_json::json!({"statements": r.script.statements.len(), "after": r.after})).await;
        }
        Ok(r)
    }

    // Accounts, tokens, audit.
    pub async fn accounts(&self) -> Result<Vec<AccountRecord>, EngineError> {
        self.platform(Need::Admin)?;
        self.engine.accounts().await
    }

    pub async fn add_account(&self, email: &str, role: &str, tenant: Option<&str>) -> Result<NewAccount, EngineError> {
        self.platform(Need::Admin)?;
        let a = self.engine.add_account(email, role, tenant, None).await?;
        self.audit("account.add", email, serde_json::json!({"role": role, "tenant": tenant})).await;
        Ok(a)
    }

    /// A token for the principal's own account.
    pub async fn create_token(&self, name: &str, scopes: &str, days: Option<i64>) -> Result<NewToken, EngineError> {
        self.need(Need::Read)?;
        if self.who.read_only {
            return Err(forbidden("a read-only token cannot create tokens"));
        }
        let t = self.engine.create_token(&self.who.email, name, scopes, days).await?;
        self.audit("token.create", &self.who.email, serde_json::json!({"name": name, "scopes": scopes})).await;
        Ok(t)
    }

    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<(Vec<AuditRecord>, i64), EngineError> {
        self.platform(Need::Admin)?;
        self.engine.audit_log(limit, offset).await
    }
}
