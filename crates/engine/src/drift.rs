//! Drift: each tenant's expected schema (its template version's snapshot plus its
//! applied customizations), the fleet scan that compares it with the real one, and
//! the two ways out: accept (record extra objects as customizations) and repair
//! (generate and run the SQL that converges the database).
//!
//! Expected schemas are shared: tenants with the same template version, modules,
//! dialect and customizations (by checksum) share one, built once in a scratch
//! database when customizations are involved and cached in the landlord.

use crate::rollouts::Progress;
use crate::templates::build::{run_plan, BuildContext, Scratch};
use crate::templates::modules_key;
use crate::tenants::OWN_OBJECTS;
use crate::{Engine, EngineError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tenantry_domain::customization::CustomizationKind;
use tenantry_domain::drift::{Change, DriftLevel, ObjectKind};
use tenantry_domain::template::checksum_text;
use tenantry_schema::ddl::{object_sql, repair_script, RepairScript};
use tenantry_schema::diff::{diff_schemas, drift_level, Difference};
use tenantry_schema::Schema;
use tenantry_store::{CustomizationRecord, NewCustomization, NewHistory, ServerRecord, TenantRecord};
use tokio::sync::Semaphore;

/// `drift scan` selection.
#[derive(Debug, Clone, Default)]
pub struct DriftScanRequest {
    pub template: Option<String>,
    pub tenants: Vec<String>,
    pub concurrency: usize,
}

/// One tenant's drift.
#[derive(Debug, Clone, Serialize)]
pub struct TenantDrift {
    pub slug: String,
    pub drift_level: DriftLevel,
    pub differences: Vec<Difference>,
    /// The scan could not read this tenant (its server is down, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftScanReport {
    pub scanned: usize,
    pub failed: usize,
    /// Tenants per level.
    pub levels: BTreeMap<DriftLevel, usize>,
    pub tenants: Vec<TenantDrift>,
    pub elapsed_ms: u128,
}

/// `drift show`: the differences, and each one in words with its level.
#[derive(Debug, Clone, Serialize)]
pub struct DriftDetail {
    pub slug: String,
    pub drift_level: DriftLevel,
    pub template: Option<String>,
    pub template_version: Option<String>,
    pub customizations: usize,
    pub explanations: Vec<String>,
    pub differences: Vec<Difference>,
}

/// `drift repair`: what was (or would be) run.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    pub slug: String,
    pub dry_run: bool,
    pub before: DriftLevel,
    #[serde(flatten)]
    pub script: RepairScript,
    /// After a real repair: the level a rescan found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<DriftLevel>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remaining: Vec<Difference>,
}

/// `drift accept`: what was recorded, and what could not be.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptReport {
    pub slug: String,
    pub accepted: Vec<AcceptedObject>,
    /// Differences that are not extra objects (missing or changed ones): repair them.
    pub not_accepted: Vec<String>,
    pub after: DriftLevel,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcceptedObject {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub object: String,
    pub sql: String,
}

/// A tenant's expected schema and the key it is cached under.
#[derive(Clone)]
pub(crate) struct Expected {
    pub schema: Arc<Schema>,
    pub key: String,
}

impl Engine {
    /// The schema `t` should have: its version's snapshot for its modules, plus its
    /// applied customizations (`customs`, in applied order).
    pub(crate) async fn expected_schema(&self, t: &TenantRecord, server: &ServerRecord, customs: &[CustomizationRecord]) -> Result<Expected, EngineError> {
        let name = t.template.as_deref().ok_or_else(|| EngineError::Invalid(format!("tenant `{}` has no template", t.slug)))?;
        let template = self.template_record(name).await?;
        let version = self.version_record(&template, t.template_version.as_deref()).await?;
        let bundle = self.bundle_for(&template, &version).await?;
        let dialect = server.dialect;
        let (snapshot, _) = self.snapshot_for(&template, &version, &bundle, dialect, &t.modules).await?;
        let mut material = format!("{}\0{}\0{dialect}\0{}", version.id, version.checksum, modules_key(&t.modules));
        for c in customs {
            material.push_str(&format!("\0{}:{}:{}", c.kind, c.object, c.checksum.as_deref().unwrap_or("")));
        }
        let key = checksum_text(&material);
        if let Some(s) = self.expected.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(Expected { schema: s, key });
        }
        let schema = if customs.is_empty() {
            snapshot
        } else if let Some(json) = self.landlord.expected_schema(&key).await? {
            serde_json::from_str(&json).map_err(|e| EngineError::Store(tenantry_store::StoreError::Corrupt(format!("expected schema {key}: {e}"))))?
        } else {
            let built = self.build_expected(t, server, &template.name, &version.version, &bundle, customs).await?;
            self.landlord.store_expected_schema(&key, dialect.as_str(), &built.to_json()).await?;
            built
        };
        let schema = Arc::new(schema);
        if let Ok(mut c) = self.expected.lock() {
            c.insert(key.clone(), schema.clone());
        }
        Ok(Expected { schema, key })
    }

    /// Builds template + customizations in a scratch database on the tenant's server.
    async fn build_expected(
        &self,
        t: &TenantRecord,
        server: &ServerRecord,
        template: &str,
        version: &str,
        bundle: &tenantry_domain::template::TemplateBundle,
        customs: &[CustomizationRecord],
    ) -> Result<Schema, EngineError> {
        let driver = self.driver(server).await?;
        let target = semver::Version::parse(version).map_err(|e| EngineError::Invalid(format!("`{version}`: {e}")))?;
        let scratch = Scratch::create(driver, BuildContext { template: template.into(), version: version.into() }).await?;
        let result = async {
            run_plan(&scratch, &bundle.build_plan(server.dialect, &t.modules, &target, false)).await?;
            for c in customs {
                scratch.driver.execute_script(&scratch.name, &c.sql).await.map_err(|e| {
                    EngineError::Invalid(format!(
                        "tenant `{}`: applied customization {} ({} `{}`) no longer builds on {template} {version}: {e}",
                        t.slug, c.id, c.kind, c.object
                    ))
                })?;
            }
            scratch.schema().await
        }
        .await;
        scratch.drop().await;
        result
    }

    /// Scans the selected tenants, stores each one's level and differences.
    pub async fn drift_scan(&self, req: &DriftScanRequest, progress: &dyn Progress) -> Result<DriftScanReport, EngineError> {
        let clock = Instant::now();
        let tenants: Vec<TenantRecord> =
            self.fleet(req.template.as_deref(), &req.tenants).await?.into_iter().filter(|t| t.database.is_some()).collect();
        let servers: HashMap<i64, ServerRecord> = self.servers().await?.into_iter().map(|s| (s.id, s)).collect();
        let mut customs: HashMap<String, Vec<CustomizationRecord>> = HashMap::new();
        for c in self.landlord.all_applied_customizations().await? {
            customs.entry(c.tenant_id.clone()).or_default().push(c);
        }
        // Expected schemas first, one per distinct combination (a few at most).
        let mut work = Vec::new();
        let mut results = Vec::new();
        for t in tenants {
            let Some(server) = t.server_id.and_then(|id| servers.get(&id)) else {
                results.push(failed(&t, "the tenant has no database server".into()));
                continue;
            };
            match self.expected_schema(&t, server, customs.get(&t.id).map(Vec::as_slice).unwrap_or(&[])).await {
                Ok(e) => work.push((t, server.clone(), e)),
                Err(e) => results.push(failed(&t, e.to_string())),
            }
        }
        let slots: HashMap<i64, Arc<Semaphore>> =
            servers.values().map(|s| (s.id, Arc::new(Semaphore::new(s.max_concurrency.clamp(1, 1000) as usize)))).collect();
        progress.begin(work.len() + results.len());
        for r in &results {
            progress.tenant(&r.slug, false, r.error.as_deref().unwrap_or(""));
        }
        let concurrency = req.concurrency.clamp(1, 1000);
        use futures::StreamExt;
        let scanned: Vec<TenantDrift> = futures::stream::iter(work)
            .map(|(t, server, expected)| {
                let slot = slots.get(&server.id).cloned();
                async move {
                    let r = self.scan_one(&t, &server, &expected, slot).await;
                    let d = match r {
                        Ok(d) => d,
                        Err(e) => failed(&t, e.to_string()),
                    };
                    progress.tenant(&d.slug, d.error.is_none(), d.drift_level.as_str());
                    d
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        progress.end();
        results.extend(scanned);
        results.sort_by(|a, b| a.slug.cmp(&b.slug));
        let mut levels = BTreeMap::new();
        for r in results.iter().filter(|r| r.error.is_none()) {
            *levels.entry(r.drift_level).or_insert(0) += 1;
        }
        let failed = results.iter().filter(|r| r.error.is_some()).count();
        Ok(DriftScanReport { scanned: results.len() - failed, failed, levels, tenants: results, elapsed_ms: clock.elapsed().as_millis() })
    }

    async fn scan_one(&self, t: &TenantRecord, server: &ServerRecord, expected: &Expected, slot: Option<Arc<Semaphore>>) -> Result<TenantDrift, EngineError> {
        let actual = {
            let _permit = match &slot {
                Some(s) => Some(s.acquire().await.map_err(|_| EngineError::Invalid("scan stopped".into()))?),
                None => None,
            };
            let driver = self.driver(server).await?;
            driver.introspect(&Self::tenant_db(t)?).await?.without(OWN_OBJECTS)
        };
        let differences = diff_schemas(&expected.schema, &actual);
        let level = drift_level(&differences);
        self.landlord.save_drift(&t.id, level.as_str(), &serde_json::to_value(&differences).unwrap_or_default(), &expected.key).await?;
        Ok(TenantDrift { slug: t.slug.clone(), drift_level: level, differences, error: None })
    }

    /// One tenant's expected and live schema, compared now.
    async fn tenant_drift(&self, slug: &str) -> Result<(TenantRecord, ServerRecord, Expected, Schema, Vec<Difference>), EngineError> {
        let t = self.tenant_record(slug).await?;
        let server = self.tenant_server(&t).await?;
        let customs = self.landlord.applied_customization_records(&t.id).await?;
        let expected = self.expected_schema(&t, &server, &customs).await?;
        let actual = self.driver(&server).await?.introspect(&Self::tenant_db(&t)?).await?.without(OWN_OBJECTS);
        let diffs = diff_schemas(&expected.schema, &actual);
        self.landlord.save_drift(&t.id, drift_level(&diffs).as_str(), &serde_json::to_value(&diffs).unwrap_or_default(), &expected.key).await?;
        Ok((t, server, expected, actual, diffs))
    }

    /// `drift show`: a live comparison, explained.
    pub async fn drift_show(&self, slug: &str) -> Result<DriftDetail, EngineError> {
        let (t, _, _, _, differences) = self.tenant_drift(slug).await?;
        let explanations = differences.iter().map(|d| format!("[{}] {d}", d.level())).collect();
        Ok(DriftDetail {
            slug: t.slug.clone(),
            drift_level: drift_level(&differences),
            template: t.template.clone(),
            template_version: t.template_version.clone(),
            customizations: t.customization_count.max(0) as usize,
            explanations,
            differences,
        })
    }

    /// `drift repair`: the SQL that converges the tenant's database, run unless
    /// `dry_run`, then a rescan.
    pub async fn drift_repair(&self, slug: &str, dry_run: bool, actor: &str) -> Result<RepairReport, EngineError> {
        let (t, server, expected, actual, diffs) = self.tenant_drift(slug).await?;
        let before = drift_level(&diffs);
        let script = repair_script(&expected.schema, &actual);
        let mut report = RepairReport { slug: t.slug.clone(), dry_run, before, script, after: None, remaining: vec![] };
        if dry_run || report.script.statements.is_empty() {
            return Ok(report);
        }
        if t.status != "active" {
            return Err(EngineError::Invalid(format!("tenant `{}` is {}; resume it before repairing", t.slug, t.status)));
        }
        let driver = self.driver(&server).await?;
        let db = Self::tenant_db(&t)?;
        let text: String = report.script.statements.iter().map(|s| format!("{s};\n")).collect();
        let started = Instant::now();
        let run = async {
            let mut session = driver.session(&db).await?;
            let r = session.execute_schema_change(&[&text]).await;
            session.close().await;
            r
        }
        .await;
        let affected: Vec<String> = diffs.iter().filter_map(|d| d.table.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let history = |status: &str, notes: String| NewHistory {
            tenant_id: t.id.clone(),
            migration_name: format!("drift_repair_{}", tenantry_store::time::now().replace([':', '-', '.'], "")),
            migration_type: "repair".into(),
            status: status.into(),
            checksum: Some(checksum_text(&text)),
            execution_time_ms: started.elapsed().as_millis() as i64,
            rollback_snapshot: serde_json::to_value(&actual).unwrap_or_default(),
            affected_tables: affected.clone(),
            applied_by: actor.to_string(),
            notes: Some(notes),
        };
        if let Err(e) = run {
            let _ = self.landlord.add_history(&history("failed", e.to_string())).await;
            let undo = if driver.transactional_ddl() { "nothing was changed" } else { "MySQL commits each statement: statements before the failing one stay applied" };
            return Err(EngineError::Invalid(format!("repairing tenant `{}` on server `{}` failed ({undo}): {e}", t.slug, server.name)));
        }
        let (_, _, _, _, remaining) = self.tenant_drift(slug).await?;
        let after = drift_level(&remaining);
        self.landlord
            .add_history(&history("applied", format!("{} statement(s); drift {before} → {after}", report.script.statements.len())))
            .await?;
        report.after = Some(after);
        report.remaining = remaining;
        Ok(report)
    }

    /// `drift accept`: records the tenant's extra objects as applied customizations
    /// (after the customization SQL check), so they are expected from now on.
    pub async fn drift_accept(&self, slug: &str, actor: &str) -> Result<AcceptReport, EngineError> {
        let (t, server, _, actual, diffs) = self.tenant_drift(slug).await?;
        let mut items = Vec::new();
        let mut not_accepted = Vec::new();
        let extra_tables: Vec<&str> = diffs
            .iter()
            .filter(|d| d.change == Change::Extra && d.object == ObjectKind::Table)
            .map(|d| d.name.as_str())
            .collect();
        for d in &diffs {
            let (kind, object) = match (d.change, d.object) {
                (Change::Extra, ObjectKind::Table) => (CustomizationKind::Table, d.name.clone()),
                (Change::Extra, ObjectKind::Column) => (CustomizationKind::Column, d.path()),
                (Change::Extra, ObjectKind::Index) => (CustomizationKind::Index, d.name.clone()),
                (Change::Extra, ObjectKind::View) => (CustomizationKind::View, d.name.clone()),
                (Change::Extra, ObjectKind::Trigger) => (CustomizationKind::Trigger, d.name.clone()),
                (Change::Extra, ObjectKind::Routine) => (CustomizationKind::Function, d.name.clone()),
                _ => {
                    // Parts of an extra table come with it.
                    if d.table.as_deref().is_some_and(|x| extra_tables.contains(&x)) && d.object != ObjectKind::Table {
                        continue;
                    }
                    not_accepted.push(format!("{d} (repair it with `tenantry drift repair {}`)", t.slug));
                    continue;
                }
            };
            if d.table.as_deref().is_some_and(|x| extra_tables.contains(&x)) && d.object != ObjectKind::Table {
                continue;
            }
            let Some(sql) = object_sql(&actual, kind.as_str(), &object) else {
                not_accepted.push(format!("{d}: tenantry cannot write its SQL on {}; request it with `tenantry custom request`", server.dialect));
                continue;
            };
            // A PostgreSQL routine is named with its arguments in the model.
            let object = object.split('(').next().unwrap_or(&object).to_string();
            let checked = self.check_for_tenant(&t, kind.as_str(), &object, &sql).await.map_err(|e| {
                EngineError::Invalid(format!("{d} cannot be accepted: {e}; drop it (`tenantry drift repair {}`) or rewrite it", t.slug))
            })?;
            items.push((checked, sql));
        }
        let now_items: Vec<NewCustomization> = items
            .iter()
            .map(|(c, sql)| NewCustomization {
                tenant_id: t.id.clone(),
                kind: c.kind.as_str().into(),
                object: c.object.clone(),
                sql: sql.clone(),
                base_version: t.template_version.clone(),
                checksum: checksum_text(sql),
                actor: actor.to_string(),
            })
            .collect();
        let histories: Vec<NewHistory> = items
            .iter()
            .map(|(c, sql)| NewHistory {
                tenant_id: t.id.clone(),
                migration_name: format!("custom_accepted_{}", c.object),
                migration_type: "custom".into(),
                status: "applied".into(),
                checksum: Some(checksum_text(sql)),
                execution_time_ms: 0,
                rollback_snapshot: serde_json::Value::Null,
                affected_tables: c.table.iter().cloned().collect(),
                applied_by: actor.to_string(),
                notes: Some(format!("accepted from drift: {} {}", c.kind, c.object)),
            })
            .collect();
        let ids = self.landlord.accept_customizations(&now_items, &histories).await?;
        let accepted = ids
            .into_iter()
            .zip(items)
            .map(|(id, (c, sql))| AcceptedObject { id, kind: c.kind.as_str().into(), object: c.object, sql })
            .collect();
        let (_, _, _, _, remaining) = self.tenant_drift(slug).await?;
        Ok(AcceptReport { slug: t.slug.clone(), accepted, not_accepted, after: drift_level(&remaining) })
    }
}

fn failed(t: &TenantRecord, error: String) -> TenantDrift {
    TenantDrift { slug: t.slug.clone(), drift_level: DriftLevel::None, differences: vec![], error: Some(format!("tenant `{}`: {error}", t.slug)) }
}
