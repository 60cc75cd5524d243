//! Scratch databases: where template versions are built and introspected. A scratch
//! database is dropped when the build ends, also when it fails; ones left by a killed
//! process are swept (their names carry their creation time).

use crate::EngineError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tenantry_domain::template_plan::{BuildStep, StepKind};
use tenantry_domain::DatabaseName;
use tenantry_drivers::{DriverError, TenantDriver};
use tenantry_schema::Schema;

pub const SCRATCH_PREFIX: &str = "tenantry_scratch_";

/// What is being built, for error messages.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub template: String,
    pub version: String,
}

pub struct Scratch {
    pub driver: Arc<dyn TenantDriver>,
    pub name: DatabaseName,
    ctx: BuildContext,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Scratch {
    pub async fn create(driver: Arc<dyn TenantDriver>, ctx: BuildContext) -> Result<Scratch, EngineError> {
        sweep(driver.as_ref()).await;
        let name = DatabaseName::new(&format!("{SCRATCH_PREFIX}{}_{:08x}", now_secs(), rand::random::<u32>()))?;
        driver.create_database(&name).await?;
        Ok(Scratch { driver, name, ctx })
    }

    /// Runs one step; a failure names template, version, dialect, server, module or
    /// migration, file, statement and line.
    pub async fn run(&self, step: &BuildStep) -> Result<(), EngineError> {
        self.driver.execute_script(&self.name, &step.sql).await.map(|_| ()).map_err(|e| self.step_error(step, e))
    }

    fn step_error(&self, step: &BuildStep, e: DriverError) -> EngineError {
        let at = format!(
            "template `{}` {} on {} (server `{}`): {}",
            self.ctx.template,
            self.ctx.version,
            self.driver.dialect(),
            self.driver.server(),
            step.describe()
        );
        let detail = match e {
            DriverError::Statement { number, line, message, excerpt, .. } => {
                format!("statement {number} (line {line}) failed: {message}\n    at: {excerpt}")
            }
            DriverError::Split { source, .. } => format!("cannot be split into statements: {source}"),
            other => other.to_string(),
        };
        EngineError::TemplateBuild(format!("{at}: {detail}"))
    }

    pub async fn schema(&self) -> Result<Schema, EngineError> {
        Ok(self.driver.introspect(&self.name).await?)
    }

    pub async fn drop(self) {
        if let Err(e) = self.driver.drop_database(&self.name).await {
            tracing::warn!(database = %self.name, error = %e, "could not drop a scratch database; the next build sweeps it");
        }
    }
}

/// Drops scratch databases older than an hour (left by a killed tenantry).
async fn sweep(driver: &dyn TenantDriver) {
    let Ok(names) = driver.list_databases(SCRATCH_PREFIX).await else { return };
    let now = now_secs();
    for n in names {
        let born = n[SCRATCH_PREFIX.len()..].split('_').next().and_then(|t| t.parse::<u64>().ok()).unwrap_or(now);
        if born + 3600 < now {
            if let Ok(db) = DatabaseName::new(&n) {
                let _ = driver.drop_database(&db).await;
            }
        }
    }
}

/// Runs a build plan, noting which tables each module's schema created.
pub async fn run_plan(scratch: &Scratch, steps: &[BuildStep]) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
    let mut module_tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for step in steps {
        scratch.run(step).await?;
        if step.kind == StepKind::Schema {
            let now: BTreeSet<String> = scratch.schema().await?.tables.into_keys().collect();
            module_tables.insert(step.source.clone(), now.difference(&known).cloned().collect());
            known = now;
        }
    }
    Ok(module_tables)
}
