//! Template migrations rolled out to the fleet: `migrate plan`, `apply`, `status`,
//! `resume`, `retry`, `rollback`.
//!
//! A rollout is durable: it is written whole to the landlord (a row per tenant and
//! migration, `pending` or `skipped` with the reason) before any tenant is touched,
//! and every step moves `pending` → `running` → `applied` | `failed`. Each step also
//! writes the tenant's own ledger (`tenantry_meta`, key `migration:<name>`), in the
//! same transaction as the migration on PostgreSQL and SQLite. A step found `running`
//! after a crash is settled by that ledger, and on MySQL (where DDL commits on its own)
//! by comparing the live schema with the versions before and after. Never twice,
//! never marked applied when it was not.

mod run;

use crate::{Engine, EngineError};
use semver::Version;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use tenantry_domain::rollout::{plan_tenant, PlannedStep, StepDecision, TenantState};
use tenantry_domain::template::TemplateBundle;
use tenantry_store::{NewRollout, NewStep, RolloutRecord, TenantRecord};

pub use run::{NoProgress, Progress};

/// `migrate plan` / `migrate apply` selection and limits.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub template: Option<String>,
    pub to: Option<String>,
    pub tenants: Vec<String>,
    pub concurrency: usize,
    pub canary: usize,
    pub max_failures: usize,
    pub actor: String,
}

impl Default for MigrateRequest {
    fn default() -> Self {
        MigrateRequest { template: None, to: None, tenants: Vec::new(), concurrency: 4, canary: 0, max_failures: 0, actor: "unknown".into() }
    }
}

/// What would happen to one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct TenantPlan {
    #[serde(skip)]
    pub tenant_id: String,
    pub slug: String,
    pub template: String,
    pub from_version: String,
    pub to_version: String,
    pub steps: Vec<PlannedStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl TenantPlan {
    pub fn applies(&self) -> usize {
        self.steps.iter().filter(|s| s.decision == StepDecision::Apply).count()
    }
}

/// The newest bundle of each template, loaded once per operation.
pub(crate) struct Bundles(HashMap<String, (i64, Arc<TemplateBundle>)>);

impl Bundles {
    pub(crate) async fn get(&mut self, engine: &Engine, template: &str) -> Result<(i64, Arc<TemplateBundle>), EngineError> {
        if let Some(b) = self.0.get(template) {
            return Ok(b.clone());
        }
        let t = engine.template_record(template).await?;
        let v = engine.version_record(&t, None).await?;
        let b = (t.id, engine.bundle_for(&t, &v).await?);
        self.0.insert(template.to_string(), b.clone());
        Ok(b)
    }
}

fn version(s: &str) -> Result<Version, EngineError> {
    Version::parse(s).map_err(|e| EngineError::Invalid(format!("`{s}` is not a version: {e}")))
}

/// Reasons that hold a tenant back (as opposed to a migration that does not concern
/// it) start with this: such a tenant's version does not move.
pub const BLOCKED: &str = "blocked: ";

fn skip_all(steps: Vec<PlannedStep>, reason: &str) -> Vec<PlannedStep> {
    steps
        .into_iter()
        .map(|mut s| {
            s.decision = StepDecision::Skip { reason: format!("{BLOCKED}{reason}") };
            s
        })
        .collect()
}

impl Engine {
    async fn selected_tenants(&self, req: &MigrateRequest) -> Result<Vec<TenantRecord>, EngineError> {
        self.fleet(req.template.as_deref(), &req.tenants).await
    }

    /// The ordered migrations each tenant would get, and why others are skipped.
    /// Changes nothing. `plan` also reads each tenant's live schema and predicts the
    /// steps that would fail on an object the migration creates but the tenant
    /// already has (outside any recorded customization).
    pub async fn migrate_plan(&self, req: &MigrateRequest) -> Result<Vec<TenantPlan>, EngineError> {
        let mut plans = self.plan_tenants(req).await?;
        for p in plans.iter_mut() {
            if !p.steps.iter().any(|s| s.decision == StepDecision::Apply) {
                continue;
            }
            let live = match self.tenant_schema(&p.slug).await {
                Ok(s) => s,
                Err(e) => {
                    p.warning = Some(format!("could not read the live schema: {e}"));
                    continue;
                }
            };
            let t = self.template_record(&p.template).await?;
            let v = self.version_record(&t, None).await?;
            let bundle = self.bundle_for(&t, &v).await?;
            for s in p.steps.iter_mut().filter(|s| s.decision == StepDecision::Apply) {
                let Some(m) = bundle.migrations.iter().find(|m| m.name == s.migration) else { continue };
                let up = m.up.for_dialect(live.dialect).unwrap_or_default();
                let clash = tenantry_domain::rollout::touched_objects(live.dialect, up).into_iter().find(|x| x.creates && live.has(x.kind, &x.name));
                if let Some(x) = clash {
                    s.decision = StepDecision::WouldFail {
                        reason: format!("the tenant already has {} `{}` (not a recorded customization), which this migration creates", x.kind, x.name),
                    };
                }
            }
        }
        Ok(plans)
    }

    async fn plan_tenants(&self, req: &MigrateRequest) -> Result<Vec<TenantPlan>, EngineError> {
        let mut bundles = Bundles(HashMap::new());
        let mut out = Vec::new();
        for t in self.selected_tenants(req).await? {
            let template = t.template.clone().unwrap_or_default();
            let (_, bundle) = bundles.get(self, &template).await?;
            let target = match &req.to {
                Some(v) => {
                    let v = version(v)?;
                    if !bundle.versions().contains(&v) {
                        return Err(EngineError::NotFound { what: "template version", key: format!("{template} {v}"), hint: String::new() });
                    }
                    v
                }
                None => bundle.manifest.version.clone(),
            };
            let from = version(t.template_version.as_deref().unwrap_or("0.0.0"))?;
            let mut steps = plan_tenant(&bundle, &TenantState { slug: &t.slug, version: &from, modules: &t.modules }, &target);
            // Tampering: a migration this tenant has applied must still be what it was.
            let applied = self.landlord.tenant_migrations(&t.id).await?;
            let tampered = applied.iter().find(|(name, checksum, status, _)| {
                status == "applied" && bundle.migrations.iter().any(|m| m.name == *name && Some(&m.checksum) != checksum.as_ref())
            });
            if let Some((name, ..)) = tampered {
                steps = skip_all(steps, &format!("applied migration `{name}` has a different checksum in the template now (changed after release)"));
            } else if t.status == "suspended" {
                steps = skip_all(steps, "tenant suspended");
            } else if target < from {
                steps = skip_all(steps, &format!("tenant is at {from}, newer than {target}: use `migrate rollback`"));
            }
            let customizations = self.landlord.applied_customizations(&t.id).await?;
            let dialect = match t.server_id {
                Some(id) => self.landlord.server_by_id(id).await?.map(|s| s.dialect),
                None => None,
            };
            for s in steps.iter_mut() {
                if s.decision != StepDecision::Apply {
                    continue;
                }
                if applied.iter().any(|(name, _, status, _)| *name == s.migration && status == "applied") {
                    s.decision = StepDecision::Skip { reason: "already applied".into() };
                    continue;
                }
                let (Some(d), Some(m)) = (dialect, bundle.migrations.iter().find(|m| m.name == s.migration)) else { continue };
                let touched = tenantry_domain::rollout::touched_objects(d, m.up.for_dialect(d).unwrap_or_default());
                if let Some(c) = customizations.iter().find(|c| tenantry_domain::rollout::collides(&c.kind, &c.object, &touched)) {
                    s.decision = StepDecision::Customized {
                        reason: format!("collides with customization #{} ({} `{}`): resolve it, then apply again", c.id, c.kind, c.object),
                    };
                }
            }
            out.push(TenantPlan { tenant_id: t.id, slug: t.slug, template, from_version: from.to_string(), to_version: target.to_string(), steps, warning: None });
        }
        Ok(out)
    }

    /// Plans, records the rollout durably, then runs it.
    pub async fn migrate_apply(&self, req: &MigrateRequest, progress: &dyn Progress) -> Result<RolloutRecord, EngineError> {
        let id = self.migrate_create(req).await?;
        self.run_rollout(id, &req.actor, progress).await
    }

    /// Plans and records a rollout durably without running it (`migrate_resume`
    /// runs it): how the HTTP API starts one in the background.
    pub async fn migrate_create(&self, req: &MigrateRequest) -> Result<i64, EngineError> {
        if req.concurrency == 0 || req.concurrency > 1000 {
            return Err(EngineError::Invalid("--concurrency must be between 1 and 1000".into()));
        }
        // Without the live checks of `plan`: a real conflict fails its step with the
        // server's own error.
        let plans = self.plan_tenants(req).await?;
        let mut ids: HashMap<String, HashMap<String, i64>> = HashMap::new();
        let mut steps = Vec::new();
        for p in &plans {
            if !ids.contains_key(&p.template) {
                let t = self.template_record(&p.template).await?;
                ids.insert(p.template.clone(), self.landlord.migration_ids(t.id).await?);
            }
            for s in &p.steps {
                let Some(mid) = ids[&p.template].get(&s.migration) else { continue };
                let (status, notes) = match &s.decision {
                    StepDecision::Apply => ("pending", None),
                    StepDecision::Skip { reason } => ("skipped", Some(reason.clone())),
                    StepDecision::Customized { reason } => ("customized", Some(reason.clone())),
                    StepDecision::WouldFail { .. } => ("pending", None),
                };
                steps.push(NewStep { tenant_id: p.tenant_id.clone(), migration_id: *mid, status: status.into(), notes });
            }
        }
        let template_id = match &req.template {
            Some(t) => Some(self.template_record(t).await?.id),
            None => None,
        };
        let id = self
            .landlord
            .create_rollout(&NewRollout {
                template_id,
                target_version: req.to.clone(),
                concurrency: req.concurrency as i64,
                canary: req.canary as i64,
                max_failures: req.max_failures as i64,
                created_by: req.actor.clone(),
                plan: serde_json::to_value(&plans).unwrap_or_default(),
                steps,
            })
            .await?;
        Ok(id)
    }

    pub async fn rollout_record(&self, id: i64) -> Result<RolloutRecord, EngineError> {
        self.landlord.rollout(id).await?.ok_or_else(|| EngineError::NotFound {
            what: "rollout",
            key: id.to_string(),
            hint: "; `tenantry migrate status` lists them".into(),
        })
    }

    /// One rollout, or all (newest first).
    pub async fn migrate_status(&self, id: Option<i64>) -> Result<Vec<RolloutRecord>, EngineError> {
        match id {
            Some(id) => Ok(vec![self.rollout_record(id).await?]),
            None => Ok(self.landlord.rollouts().await?),
        }
    }

    pub async fn rollout_steps(&self, id: i64) -> Result<Vec<tenantry_store::StepRecord>, EngineError> {
        self.rollout_record(id).await?;
        Ok(self.landlord.rollout_steps(id).await?)
    }

    /// Continues a rollout that was halted or interrupted.
    pub async fn migrate_resume(&self, id: i64, actor: &str, progress: &dyn Progress) -> Result<RolloutRecord, EngineError> {
        self.rollout_record(id).await?;
        self.run_rollout(id, actor, progress).await
    }

    /// Runs the failed steps of a rollout again (and the steps their failure skipped).
    pub async fn migrate_retry(&self, id: i64, actor: &str, progress: &dyn Progress) -> Result<RolloutRecord, EngineError> {
        self.rollout_record(id).await?;
        for s in self.landlord.rollout_steps(id).await? {
            let after_failure = s.status == "skipped" && s.notes.as_deref().is_some_and(|n| n.starts_with(run::AFTER_FAILURE));
            if s.status == "failed" || after_failure {
                self.landlord.set_step(&s.tenant_id, s.migration_id, "pending", None, None).await?;
            }
        }
        self.run_rollout(id, actor, progress).await
    }
}
