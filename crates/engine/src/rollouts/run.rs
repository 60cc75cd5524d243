//! Running a rollout: waves, limits, the per-tenant step, settling interrupted
//! steps, and rolling a tenant back.

use super::{version, Bundles};
use crate::tenants::meta;
use crate::{Engine, EngineError};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tenantry_domain::rollout::affected_tables;
use tenantry_domain::DatabaseName;
use tenantry_drivers::{TenantDriver, TenantSession};
use tenantry_schema::diff::diff_schemas;
use tenantry_store::{NewHistory, RolloutRecord, StepRecord, TenantRecord};
use tokio::sync::Semaphore;

/// Notes of steps skipped because an earlier step of the same tenant failed: retry
/// runs them again.
pub const AFTER_FAILURE: &str = "an earlier migration of this tenant failed";

/// The tables a migration's `up` SQL touches on `dialect` (history's `affected_tables`).
fn step_tables(bundle: &tenantry_domain::template::TemplateBundle, dialect: tenantry_domain::Dialect, migration: &str) -> Vec<String> {
    bundle
        .migrations
        .iter()
        .find(|m| m.name == migration)
        .and_then(|m| m.up.for_dialect(dialect))
        .map(|up| affected_tables(dialect, up))
        .unwrap_or_default()
}

/// Where a rollout reports progress (a terminal bar, plain lines, nothing).
pub trait Progress: Send + Sync {
    fn begin(&self, tenants: usize);
    fn tenant(&self, slug: &str, ok: bool, detail: &str);
    fn end(&self);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: usize) {}
    fn tenant(&self, _: &str, _: bool, _: &str) {}
    fn end(&self) {}
}

/// One tenant's share of a rollout.
struct TenantWork {
    slug: String,
    steps: Vec<StepRecord>,
}

/// Shared by all tenants of a run.
struct RunState {
    /// The newest bundle of every template in the rollout, loaded once.
    bundles: HashMap<String, Arc<tenantry_domain::template::TemplateBundle>>,
    failures: AtomicUsize,
    halted: AtomicBool,
    max_failures: usize,
    server_slots: HashMap<i64, Arc<Semaphore>>,
}

impl Engine {
    pub(crate) async fn run_rollout(&self, id: i64, actor: &str, progress: &dyn Progress) -> Result<RolloutRecord, EngineError> {
        let rollout = self.rollout_record(id).await?;
        self.landlord.set_rollout_status(id, "running").await?;
        let steps = self.landlord.rollout_steps(id).await?;
        let mut by_tenant: BTreeMap<String, Vec<StepRecord>> = BTreeMap::new();
        for s in steps {
            by_tenant.entry(s.slug.clone()).or_default().push(s);
        }
        let work: Vec<TenantWork> = by_tenant
            .into_iter()
            .filter(|(_, s)| s.iter().any(|x| x.status == "pending" || x.status == "running"))
            .map(|(slug, steps)| TenantWork { slug, steps })
            .collect();
        let server_slots = self
            .servers()
            .await?
            .into_iter()
            .map(|s| (s.id, Arc::new(Semaphore::new(s.max_concurrency.clamp(1, 1000) as usize))))
            .collect();
        let mut loader = Bundles(HashMap::new());
        let mut bundles = HashMap::new();
        for w in &work {
            let t = self.tenant_record(&w.slug).await?;
            let name = t.template.unwrap_or_default();
            if !bundles.contains_key(&name) {
                bundles.insert(name.clone(), loader.get(self, &name).await?.1);
            }
        }
        let state = RunState {
            bundles,
            failures: AtomicUsize::new(0),
            halted: AtomicBool::new(false),
            max_failures: rollout.max_failures.max(0) as usize,
            server_slots,
        };
        progress.begin(work.len());
        let canary = (rollout.canary.max(0) as usize).min(work.len());
        let concurrency = rollout.concurrency.clamp(1, 1000) as usize;
        let (first, rest) = work.split_at(canary);
        self.wave(first, concurrency, &state, actor, progress).await;
        if canary > 0 && state.failures.load(Ordering::SeqCst) > 0 {
            state.halted.store(true, Ordering::SeqCst);
        }
        if !state.halted.load(Ordering::SeqCst) {
            self.wave(rest, concurrency, &state, actor, progress).await;
        }
        progress.end();
        self.finish_versions(id).await?;
        let after = self.rollout_record(id).await?;
        let status = if after.pending > 0 || after.running > 0 {
            "halted"
        } else if after.failed > 0 {
            "completed_with_failures"
        } else {
            "completed"
        };
        self.landlord.set_rollout_status(id, status).await?;
        self.rollout_record(id).await
    }

    /// A tenant whose rows are all done moves to the newest version its rows reach,
    /// including migrations that do not concern it (another module's, another
    /// tenant's); a blocked or failed tenant does not move.
    async fn finish_versions(&self, id: i64) -> Result<(), EngineError> {
        let mut by_tenant: BTreeMap<String, Vec<StepRecord>> = BTreeMap::new();
        for s in self.landlord.rollout_steps(id).await? {
            by_tenant.entry(s.slug.clone()).or_default().push(s);
        }
        for (slug, rows) in by_tenant {
            let unfinished = rows.iter().any(|r| {
                matches!(r.status.as_str(), "pending" | "running" | "failed" | "customized")
                    || (r.status == "skipped" && r.notes.as_deref().is_some_and(|n| n.starts_with(super::BLOCKED) || n.starts_with(AFTER_FAILURE)))
            });
            if unfinished {
                continue;
            }
            let Some(reached) = rows.iter().filter_map(|r| semver::Version::parse(&r.version).ok()).max() else { continue };
            let tenant = self.tenant_record(&slug).await?;
            let current = version(tenant.template_version.as_deref().unwrap_or("0.0.0"))?;
            if reached > current {
                let driver = self.driver(&self.tenant_server(&tenant).await?).await?;
                let db = DatabaseName::new(tenant.database.as_deref().unwrap_or(""))?;
                driver.execute_script(&db, &meta::update_script(&[("template_version", &reached.to_string())])?).await?;
                self.landlord.set_tenant_version(&tenant.id, &reached.to_string()).await?;
            }
        }
        Ok(())
    }

    async fn wave(&self, work: &[TenantWork], concurrency: usize, state: &RunState, actor: &str, progress: &dyn Progress) {
        futures::stream::iter(work)
            .for_each_concurrent(concurrency, |w| async move {
                if state.halted.load(Ordering::SeqCst) || self.stopping() {
                    return;
                }
                let (ok, detail) = match self.run_tenant(w, state, actor).await.map_err(|e| (e, w)) {
                    Ok(n) => (true, format!("{n} applied")),
                    Err((e, w)) => {
                        self.fail_unstarted(w, &e).await;
                        let n = state.failures.fetch_add(1, Ordering::SeqCst) + 1;
                        if n > state.max_failures {
                            state.halted.store(true, Ordering::SeqCst);
                        }
                        (false, e.to_string())
                    }
                };
                progress.tenant(&w.slug, ok, &detail);
            })
            .await;
    }

    /// Marks `failed` the steps of a tenant that never started (its server could not
    /// be reached, say), with the error. Steps already settled keep their status.
    async fn fail_unstarted(&self, w: &TenantWork, e: &EngineError) {
        let Some(first) = w.steps.first() else { return };
        let Ok(rows) = self.landlord.tenant_migrations(&first.tenant_id).await else { return };
        let mut pending: Vec<&StepRecord> = w
            .steps
            .iter()
            .filter(|s| rows.iter().any(|(name, _, status, _)| *name == s.migration && status == "pending"))
            .collect();
        pending.sort_by(|a, b| a.migration.cmp(&b.migration));
        let Some((head, rest)) = pending.split_first() else { return };
        let _ = self.landlord.set_step(&head.tenant_id, head.migration_id, "failed", Some(&format!("tenant `{}`: {e}", w.slug)), None).await;
        for s in rest {
            let note = format!("{AFTER_FAILURE}: {}", head.migration);
            let _ = self.landlord.set_step(&s.tenant_id, s.migration_id, "skipped", Some(&note), None).await;
        }
    }

    /// Runs one tenant's pending steps in order; returns how many were applied.
    async fn run_tenant(&self, w: &TenantWork, state: &RunState, actor: &str) -> Result<usize, EngineError> {
        let clock = Instant::now();
        let tenant = self.tenant_record(&w.slug).await?;
        let server = self.tenant_server(&tenant).await?;
        let slot = state.server_slots.get(&server.id).cloned().unwrap_or_else(|| Arc::new(Semaphore::new(1)));
        let _permit = slot.acquire().await.map_err(|_| EngineError::Invalid("rollout stopped".into()))?;
        let driver = self.driver(&server).await?;
        let db = DatabaseName::new(tenant.database.as_deref().unwrap_or(""))?;
        let bundle = state.bundles.get(tenant.template.as_deref().unwrap_or("")).cloned().ok_or_else(|| {
            EngineError::Invalid(format!("tenant `{}` has no template", tenant.slug))
        })?;
        let mut steps = w.steps.clone();
        steps.sort_by(|a, b| a.migration.cmp(&b.migration));
        // One session for the whole tenant: a second one while holding it could wait
        // forever once every slot of the server is taken.
        let looked_up = clock.elapsed();
        let mut session = driver.session(&db).await?;
        let connected = clock.elapsed();
        let result = self.run_tenant_steps(&tenant, &steps, session.as_mut(), &driver, &bundle, actor).await;
        let ran = clock.elapsed();
        session.close().await;
        tracing::debug!(
            tenant = %w.slug,
            lookup_ms = looked_up.as_secs_f64() * 1e3,
            connect_ms = (connected - looked_up).as_secs_f64() * 1e3,
            steps_ms = (ran - connected).as_secs_f64() * 1e3,
            close_ms = (clock.elapsed() - ran).as_secs_f64() * 1e3,
            "tenant"
        );
        result
    }

    async fn run_tenant_steps(
        &self,
        tenant: &TenantRecord,
        steps: &[StepRecord],
        session: &mut dyn TenantSession,
        driver: &Arc<dyn TenantDriver>,
        bundle: &tenantry_domain::template::TemplateBundle,
        actor: &str,
    ) -> Result<usize, EngineError> {
        let mut applied = 0;
        // The tenant's own ledger: a step it records was committed, whatever the
        // landlord says (a crash or a lost connection between the two).
        let ledger: HashMap<String, Option<String>> = session.read_pairs(meta::READ_META).await?.into_iter().collect();
        for (i, step) in steps.iter().enumerate() {
            let recorded = ledger.get(&meta::ledger_key(&step.migration)).cloned().flatten();
            let checksum = bundle.migrations.iter().find(|m| m.name == step.migration).map(|m| m.checksum.clone());
            let todo = match step.status.as_str() {
                "pending" | "running" if recorded.is_some() && recorded == checksum => {
                    let affected = step_tables(bundle, driver.dialect(), &step.migration);
                    self.confirm_applied(tenant, step, checksum.as_deref().unwrap_or(""), affected, actor, "confirmed by the tenant's ledger").await?;
                    false
                }
                "pending" => true,
                "running" => self.settle_running(tenant, step, session, driver, bundle, actor).await?,
                _ => false,
            };
            if !todo {
                continue;
            }
            if let Err(e) = self.apply_step(tenant, step, session, driver.as_ref(), bundle, actor).await {
                for later in &steps[i + 1..] {
                    if later.status == "pending" {
                        self.landlord.set_step(&later.tenant_id, later.migration_id, "skipped", Some(&format!("{AFTER_FAILURE}: {}", step.migration)), None).await?;
                    }
                }
                return Err(e);
            }
            applied += 1;
        }
        Ok(applied)
    }

    async fn apply_step(
        &self,
        tenant: &TenantRecord,
        step: &StepRecord,
        session: &mut dyn TenantSession,
        driver: &dyn TenantDriver,
        bundle: &tenantry_domain::template::TemplateBundle,
        actor: &str,
    ) -> Result<(), EngineError> {
        let m = bundle.migrations.iter().find(|m| m.name == step.migration).ok_or_else(|| {
            EngineError::Invalid(format!("migration `{}` is no longer in template `{}`", step.migration, bundle.manifest.name))
        })?;
        let dialect = driver.dialect();
        let up = m.up.for_dialect(dialect).unwrap_or_default();
        let affected = affected_tables(dialect, up);
        let clock = Instant::now();
        self.landlord.set_step(&step.tenant_id, step.migration_id, "running", None, None).await?;
        let marked = clock.elapsed();
        let before = match session.introspect_tables(&affected).await {
            Ok(b) => b,
            Err(e) => {
                // Nothing ran yet: a plain failure, retried as a whole.
                let message = format!("tenant `{}`: migration `{}` not started: {e}", tenant.slug, m.name);
                self.landlord.set_step(&step.tenant_id, step.migration_id, "failed", Some(&message), None).await?;
                return Err(EngineError::Invalid(message));
            }
        };
        let rollback_snapshot = &before.tables;
        let ledger = meta::ledger_apply(&m.name, &m.checksum, &step.version)?;
        let introspected = clock.elapsed();
        let started = Instant::now();
        let result = session.execute_batch(&[up, &ledger]).await;
        let ms = started.elapsed().as_millis() as i64;
        tracing::debug!(
            tenant = %tenant.slug,
            mark_ms = marked.as_secs_f64() * 1e3,
            introspect_ms = (introspected - marked).as_secs_f64() * 1e3,
            execute_ms = started.elapsed().as_secs_f64() * 1e3,
            "step"
        );
        let history = |status: &str, notes: Option<String>| NewHistory {
            tenant_id: tenant.id.clone(),
            migration_name: m.name.clone(),
            migration_type: "template".into(),
            status: status.into(),
            checksum: Some(m.checksum.clone()),
            execution_time_ms: ms,
            rollback_snapshot: serde_json::to_value(&rollback_snapshot).unwrap_or_default(),
            affected_tables: affected.clone(),
            applied_by: actor.to_string(),
            notes,
        };
        match result {
            Ok(_) => {
                self.landlord.finish_step(step.migration_id, "applied", None, &history("applied", None), Some(&step.version)).await?;
                Ok(())
            }
            Err(e) => {
                let e = match e {
                    tenantry_drivers::DriverError::Batch { source, .. } => *source,
                    other => other,
                };
                let message = format!("tenant `{}`: migration `{}` ({}): {e}", tenant.slug, m.name, migration_file(m, dialect));
                if e.is_server_unavailable() {
                    // The connection went while the step ran: it may or may not have
                    // committed. It stays `running`; resume or retry settles it from
                    // the tenant's ledger (or, on MySQL, its schema).
                    let note = format!("{message}; outcome unknown until the server is back");
                    self.landlord.set_step(&step.tenant_id, step.migration_id, "running", Some(&note), None).await?;
                    return Err(EngineError::Invalid(note));
                }
                // On MySQL a failed step may have committed part of its DDL: say so.
                let message = if driver.transactional_ddl() {
                    message
                } else {
                    format!("{message} (MySQL commits DDL statement by statement: earlier statements of this step may have taken effect; compare with `tenantry tenant schema {}`)", tenant.slug)
                };
                self.landlord.finish_step(step.migration_id, "failed", Some(&message), &history("failed", Some(message.clone())), None).await?;
                Err(EngineError::Invalid(message))
            }
        }
    }

    /// A step found `running`: the previous run stopped inside it. Returns whether it
    /// must run (again). The tenant's ledger says whether it committed; on MySQL,
    /// without a ledger entry, the live schema is compared with the versions before
    /// and after it.
    async fn settle_running(
        &self,
        tenant: &TenantRecord,
        step: &StepRecord,
        session: &mut dyn TenantSession,
        driver: &Arc<dyn TenantDriver>,
        bundle: &tenantry_domain::template::TemplateBundle,
        actor: &str,
    ) -> Result<bool, EngineError> {
        let m = bundle.migrations.iter().find(|m| m.name == step.migration);
        let checksum = m.map(|m| m.checksum.clone()).unwrap_or_default();
        // (The ledger was checked by the caller.)
        if driver.transactional_ddl() {
            return Ok(true); // the transaction never committed: nothing happened
        }
        let t = self.template_record(tenant.template.as_deref().unwrap_or("")).await?;
        let live = session.introspect().await?.without(crate::tenants::OWN_OBJECTS);
        let after_v = self.version_record(&t, Some(&step.version)).await?;
        let after_b = self.bundle_for(&t, &after_v).await?;
        let (after, _) = self.snapshot_for(&t, &after_v, &after_b, driver.dialect(), &tenant.modules).await?;
        if diff_schemas(&after, &live).is_empty() {
            let ledger = meta::ledger_apply(&step.migration, &checksum, &step.version)?;
            session.execute_batch(&[&ledger]).await?;
            let affected = step_tables(bundle, driver.dialect(), &step.migration);
            self.confirm_applied(tenant, step, &checksum, affected, actor, "confirmed by introspection").await?;
            return Ok(false);
        }
        let before_v = self.version_record(&t, tenant.template_version.as_deref()).await?;
        let before_b = self.bundle_for(&t, &before_v).await?;
        let (before, _) = self.snapshot_for(&t, &before_v, &before_b, driver.dialect(), &tenant.modules).await?;
        if diff_schemas(&before, &live).is_empty() {
            return Ok(true);
        }
        let message = format!(
            "tenant `{}`: migration `{}` was interrupted part-way on MySQL; the schema matches neither {} nor {}. Bring it to one of them by hand (`tenantry tenant schema {}` shows it), then retry",
            tenant.slug, step.migration, before_v.version, step.version, tenant.slug
        );
        self.landlord.set_step(&step.tenant_id, step.migration_id, "failed", Some(&message), None).await?;
        Err(EngineError::Invalid(message))
    }

    /// Records a step that the tenant shows was applied before an interruption.
    async fn confirm_applied(
        &self,
        tenant: &TenantRecord,
        step: &StepRecord,
        checksum: &str,
        affected: Vec<String>,
        actor: &str,
        how: &str,
    ) -> Result<(), EngineError> {
        self.landlord
            .finish_step(step.migration_id, "applied", None, &NewHistory {
                tenant_id: tenant.id.clone(),
                migration_name: step.migration.clone(),
                migration_type: "template".into(),
                status: "applied".into(),
                checksum: Some(checksum.to_string()),
                execution_time_ms: 0,
                rollback_snapshot: serde_json::Value::Null,
                affected_tables: affected,
                applied_by: actor.to_string(),
                notes: Some(format!("applied before an interruption; {how}")),
            }, Some(&step.version))
            .await?;
        Ok(())
    }

    /// `migrate rollback SLUG [--to V]`: runs `down` steps of the tenant's applied
    /// migrations newer than V (default: the version before its current one), newest
    /// first, with the same bookkeeping. Returns the version reached.
    pub async fn migrate_rollback(&self, slug: &str, to: Option<&str>, actor: &str) -> Result<String, EngineError> {
        let tenant = self.tenant_record(slug).await?;
        if tenant.status != "active" {
            return Err(EngineError::Invalid(format!("tenant `{slug}` is {}, not active", tenant.status)));
        }
        let mut bundles = Bundles(HashMap::new());
        let (_, bundle) = bundles.get(self, tenant.template.as_deref().unwrap_or("")).await?;
        let current = version(tenant.template_version.as_deref().unwrap_or("0.0.0"))?;
        let target = match to {
            Some(v) => version(v)?,
            None => bundle.versions().into_iter().filter(|v| *v < current).max().ok_or_else(|| {
                EngineError::Invalid(format!("tenant `{slug}` is at {current}, the oldest version of its template"))
            })?,
        };
        if target > current {
            return Err(EngineError::Invalid(format!("tenant `{slug}` is at {current}; rolling back to {target} would go forward: use `migrate apply --to {target}`")));
        }
        if !bundle.versions().contains(&target) {
            return Err(EngineError::NotFound { what: "template version", key: target.to_string(), hint: String::new() });
        }
        let applied = self.landlord.tenant_migrations(&tenant.id).await?;
        let server = self.tenant_server(&tenant).await?;
        let driver = self.driver(&server).await?;
        let db = DatabaseName::new(tenant.database.as_deref().unwrap_or(""))?;
        let dialect = driver.dialect();
        let versions = bundle.versions();
        let undo: Vec<_> = bundle
            .migrations
            .iter()
            .rev()
            .filter(|m| m.manifest.version > target && m.manifest.version <= current)
            .filter(|m| applied.iter().any(|(name, _, status, _)| *name == m.name && status == "applied"))
            .collect();
        for m in undo {
            let below = versions.iter().filter(|v| **v < m.manifest.version).max().cloned().unwrap_or_else(|| target.clone());
            let down = m.down.for_dialect(dialect).unwrap_or_default();
            let before = driver.introspect(&db).await?;
            let affected = affected_tables(dialect, down);
            let started = Instant::now();
            let result = driver.execute_batch(&db, &[down, &meta::ledger_remove(&m.name, &below.to_string())?]).await;
            let migration_id = applied.iter().find(|a| a.0 == m.name).map(|a| a.3).unwrap_or(0);
            let history = |status: &str, notes: Option<String>| NewHistory {
                tenant_id: tenant.id.clone(),
                migration_name: m.name.clone(),
                migration_type: "rollback".into(),
                status: status.into(),
                checksum: Some(m.checksum.clone()),
                execution_time_ms: started.elapsed().as_millis() as i64,
                rollback_snapshot: serde_json::to_value(before.tables.iter().filter(|(n, _)| affected.contains(n)).collect::<BTreeMap<_, _>>()).unwrap_or_default(),
                affected_tables: affected.clone(),
                applied_by: actor.to_string(),
                notes,
            };
            if let Err(e) = result {
                let message = format!("tenant `{slug}`: rolling back `{}` ({}) failed: {e}", m.name, migration_file_down(m, dialect));
                self.landlord.add_history(&history("failed", Some(message.clone()))).await?;
                return Err(EngineError::Invalid(message));
            }
            self.landlord.finish_step(migration_id, "rolled_back", None, &history("rolled_back", None), Some(&below.to_string())).await?;
        }
        self.landlord.set_tenant_version(&tenant.id, &target.to_string()).await?;
        Ok(target.to_string())
    }
}

fn migration_file(m: &tenantry_domain::template::Migration, d: tenantry_domain::Dialect) -> String {
    if m.up.overrides.contains_key(&d) {
        format!("migrations/{}/up.{d}.sql", m.name)
    } else {
        format!("migrations/{}/up.sql", m.name)
    }
}

fn migration_file_down(m: &tenantry_domain::template::Migration, d: tenantry_domain::Dialect) -> String {
    if m.down.overrides.contains_key(&d) {
        format!("migrations/{}/down.{d}.sql", m.name)
    } else {
        format!("migrations/{}/down.sql", m.name)
    }
}
