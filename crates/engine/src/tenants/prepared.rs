//! Prepared databases: one per (template version, module set, server), built by
//! replaying the version once, verified against its snapshot, and then cloned into
//! each new tenant where the engine can copy a database (PostgreSQL, SQLite).
//!
//! They are a cache. `sweep_prepared` drops those no default create will clone
//! from; a create of an older version builds its own again on demand.

use super::meta;
use super::provision::replay;
use crate::templates::modules_key;
use crate::{Engine, EngineError};
use semver::Version;
use std::collections::HashSet;
use std::sync::Arc;
use tenantry_domain::template::{resolve_modules, TemplateBundle};
use tenantry_domain::DatabaseName;
use tenantry_drivers::TenantDriver;
use tenantry_schema::diff::diff_schemas;
use tenantry_store::{ServerRecord, TemplateRecord, VersionRecord};

/// Prepared databases that tenants are cloned from, and ones being built.
pub const PREPARED_PREFIX: &str = "tenantry_tpl_";
pub const BUILDING_PREFIX: &str = "tenantry_tpb_";

/// The name of the prepared database of a version (by content) and module set.
pub fn prepared_database_name(template: &str, version: &str, checksum: &str, modules: &[String]) -> Result<DatabaseName, EngineError> {
    let key = tenantry_domain::template::checksum_text(&format!("{template}\0{version}\0{checksum}\0{}", modules_key(modules)));
    Ok(DatabaseName::new(&format!("{PREPARED_PREFIX}{}", &key[..16]))?)
}

/// What a database is built from: a template version with a module set, on one
/// server, and the schema it must come out as.
#[derive(Clone, Copy)]
pub(crate) struct BuildSource<'a> {
    pub t: &'a TemplateRecord,
    pub v: &'a VersionRecord,
    pub bundle: &'a TemplateBundle,
    pub modules: &'a [String],
    pub server: &'a ServerRecord,
    pub driver: &'a Arc<dyn TenantDriver>,
    pub expected: &'a tenantry_schema::Schema,
}

impl Engine {
    /// The prepared database that tenants of this version, module set and server are
    /// cloned from: built on first need under a temporary name, verified against the
    /// snapshot, then renamed into place, so no one ever clones a half-built one.
    async fn prepared_database(&self, src: &BuildSource<'_>, shared: &[(&str, &str)]) -> Result<DatabaseName, EngineError> {
        let BuildSource { t, v, bundle, modules, server, driver, expected } = *src;
        let name = prepared_database_name(&t.name, &v.version, &v.checksum, modules)?;
        let key = &name.as_str()[PREPARED_PREFIX.len()..];
        if driver.database_exists(&name).await? {
            return Ok(name);
        }
        // Builds interrupted by a killed tenantry are swept after an hour: the name
        // carries its start time.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if let Ok(stale) = driver.list_databases(BUILDING_PREFIX).await {
            for n in stale {
                let born = n.rsplit('_').nth(1).and_then(|t| u64::from_str_radix(t, 16).ok()).unwrap_or(now);
                if born + 3600 < now {
                    if let Ok(db) = DatabaseName::new(&n) {
                        let _ = driver.drop_database(&db).await;
                    }
                }
            }
        }
        let building = DatabaseName::new(&format!("{BUILDING_PREFIX}{key}_{now:x}_{:08x}", rand::random::<u32>()))?;
        driver.create_database(&building).await?;
        let result = async {
            let target = Version::parse(&v.version).map_err(|e| EngineError::Invalid(e.to_string()))?;
            let mut values: Vec<(&str, &str)> = vec![("tenant_id", ""), ("slug", ""), ("last_sync", "")];
            values.extend_from_slice(shared);
            replay(driver, &building, bundle, modules, &target, "(prepared)", t, v, &meta::create_script(&values)?).await?;
            let actual = driver.introspect(&building).await?.without(meta::OWN_OBJECTS);
            if !diff_schemas(expected, &actual).is_empty() {
                return Err(EngineError::Integrity(format!("the prepared database of template `{}` {} differs from its snapshot", t.name, v.version)));
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = driver.drop_database(&building).await;
            return Err(e);
        }
        let record = tenantry_store::PreparedRecord {
            server_id: server.id,
            database_name: name.to_string(),
            template_id: t.id,
            template_version: v.version.clone(),
            modules: modules_key(modules),
            created_at: String::new(),
        };
        match driver.rename_database(&building, &name).await {
            Ok(true) => {
                self.landlord.record_prepared(&record).await?;
                Ok(name)
            }
            // Another creator finished first: use theirs.
            Err(tenantry_drivers::DriverError::AlreadyExists { .. }) => {
                let _ = driver.drop_database(&building).await;
                self.landlord.record_prepared(&record).await?;
                Ok(name)
            }
            Ok(false) => {
                let _ = driver.drop_database(&building).await;
                Err(EngineError::Invalid(format!("server `{}` cannot rename databases", driver.server())))
            }
            Err(e) => {
                let _ = driver.drop_database(&building).await;
                Err(e.into())
            }
        }
    }

    /// Clones the prepared database into `target` and runs `fill` there; `false`
    /// where the engine cannot copy. When the copy fails because the prepared
    /// database is missing (first use, or a sweep dropped it), it is built and the
    /// copy retried once.
    pub(crate) async fn clone_prepared(
        &self,
        src: &BuildSource<'_>,
        shared: &[(&str, &str)],
        target: &DatabaseName,
        fill: &[&str],
    ) -> Result<bool, EngineError> {
        let driver = src.driver;
        // Copy first: the prepared database exists on every create but the first, so
        // looking for it only after a failed copy saves a round trip per tenant.
        let prepared = prepared_database_name(&src.t.name, &src.v.version, &src.v.checksum, src.modules)?;
        match driver.clone_database(&prepared, target, fill).await {
            Err(e) if !driver.database_exists(&prepared).await.unwrap_or(true) => {
                tracing::debug!(database = %prepared, error = %e, "no prepared database (first use, or swept meanwhile); building it");
                let prepared = self.prepared_database(src, shared).await?;
                Ok(driver.clone_database(&prepared, target, fill).await?)
            }
            other => Ok(other?),
        }
    }

    /// Drops prepared databases this landlord built that no default create clones
    /// from: those of versions that are not their template's newest, of deleted
    /// templates, and of module sets that no tenant of the template has and no pool
    /// asks for. Another installation's on a shared server are not touched. Servers
    /// that cannot be reached are left for the next sweep. Returns how many went.
    pub(crate) async fn sweep_prepared(&self) -> Result<usize, EngineError> {
        let mut wanted: HashSet<String> = HashSet::new();
        for t in self.landlord.templates().await? {
            if t.version.is_none() {
                continue;
            }
            let v = self.version_record(&t, None).await?;
            let mut sets: HashSet<Vec<String>> = self.landlord.tenant_module_sets(t.id).await?.into_iter().collect();
            for pool in self.config.pools.iter().filter(|p| p.template == t.name) {
                let bundle = self.bundle_for(&t, &v).await?;
                if let Ok(m) = resolve_modules(&bundle.manifest.modules, &pool.modules) {
                    sets.insert(m);
                }
            }
            for modules in sets {
                wanted.insert(prepared_database_name(&t.name, &v.version, &v.checksum, &modules)?.to_string());
            }
        }
        let mut dropped = 0;
        for p in self.landlord.prepared_databases().await?.into_iter().filter(|p| !wanted.contains(&p.database_name)) {
            let Some(server) = self.landlord.server_by_id(p.server_id).await? else { continue };
            let Ok(driver) = self.driver(&server).await else { continue };
            driver.drop_database(&DatabaseName::new(&p.database_name)?).await?;
            self.landlord.forget_prepared(p.server_id, &p.database_name).await?;
            tracing::info!(server = %server.name, database = %p.database_name, "dropped a prepared database no create needs");
            dropped += 1;
        }
        Ok(dropped)
    }
}
