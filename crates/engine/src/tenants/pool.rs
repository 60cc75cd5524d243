//! The warm pool: ready databases of a template's newest version, built before
//! anyone signs up, so `tenant create` claims one instead of running DDL.
//!
//! A pooled database is built like a tenant's (cloned from the prepared database or
//! replayed), with blank tenant metadata and no login. Claiming renames it to the
//! tenant's name (PostgreSQL, SQLite) or maps the tenant to it (MySQL cannot rename
//! a database), then verifies it against the snapshot and sets metadata and grants
//! in one session. A version change invalidates entries: refill drops those of
//! other content.

use super::meta;
use super::prepared::BuildSource;
use super::provision::replay;
use crate::templates::modules_key;
use crate::{Engine, EngineError};
use serde::Serialize;
use std::sync::Arc;
use tenantry_domain::template::resolve_modules;
use tenantry_domain::DatabaseName;
use tenantry_drivers::TenantDriver;
use tenantry_schema::diff::diff_schemas;
use tenantry_store::{PoolEntry, ServerRecord, VersionRecord};

pub const POOL_PREFIX: &str = "tenantry_pool_";

/// What `pool fill` did.
#[derive(Debug, Default, Serialize)]
pub struct PoolReport {
    pub built: usize,
    /// Pooled databases of other content or of no one, and prepared databases no
    /// create needs any more.
    pub dropped: usize,
    pub entries: Vec<PoolStatus>,
}

#[derive(Debug, Serialize)]
pub struct PoolStatus {
    pub template: String,
    pub version: String,
    pub modules: String,
    pub server: String,
    pub ready: usize,
    pub size: usize,
}

impl Engine {
    /// Claims a pooled database for a tenant: renames it to `db` where the engine can
    /// (else keeps the pooled name, to be mapped), then verifies it against the
    /// snapshot and runs `fill(name)` (metadata, grants) in one session. Renaming
    /// first: PostgreSQL refuses to rename a database while a session that just
    /// closed is still ending on the server. `Ok(None)`: nothing usable in the pool
    /// (a bad entry is dropped on the way). On an error the claimed database is
    /// already dropped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn take_pooled(
        &self,
        server: &ServerRecord,
        v: &VersionRecord,
        modules: &[String],
        driver: &Arc<dyn TenantDriver>,
        db: &DatabaseName,
        expected: &tenantry_schema::Schema,
        fill: &(dyn Fn(&DatabaseName) -> Result<Vec<String>, EngineError> + Sync),
    ) -> Result<Option<DatabaseName>, EngineError> {
        loop {
            let Some(entry) = self.landlord.claim_pool_entry(server.id, &v.checksum, &modules_key(modules)).await? else {
                return Ok(None);
            };
            let pooled = DatabaseName::new(&entry.database_name)?;
            let name = match driver.rename_database(&pooled, db).await {
                Ok(true) => db.clone(),
                Ok(false) => pooled,
                Err(e) => {
                    tracing::warn!(database = %pooled, error = %e, "could not rename a pooled database; dropped");
                    let _ = driver.drop_database(&pooled).await;
                    return Ok(None);
                }
            };
            match self.verify_and_fill(driver, &name, expected, &fill(&name)?).await {
                Ok(true) => return Ok(Some(name)),
                Ok(false) => {
                    tracing::warn!(database = %entry.database_name, "a pooled database failed verification; dropped");
                    let _ = driver.drop_database(&name).await;
                }
                Err(e) => {
                    let _ = driver.drop_database(&name).await;
                    return Err(e);
                }
            }
        }
    }

    /// One session: `false` when the database differs from `expected`, else runs
    /// `scripts` in it.
    async fn verify_and_fill(
        &self,
        driver: &Arc<dyn TenantDriver>,
        pooled: &DatabaseName,
        expected: &tenantry_schema::Schema,
        scripts: &[String],
    ) -> Result<bool, EngineError> {
        let mut session = driver.session(pooled).await?;
        let result = async {
            let actual = session.introspect().await?;
            if !diff_schemas(expected, &actual.without(meta::OWN_OBJECTS)).is_empty() {
                return Ok(false);
            }
            let scripts: Vec<&str> = scripts.iter().map(String::as_str).collect();
            session.execute_batch(&scripts).await?;
            Ok(true)
        }
        .await;
        session.close().await;
        result
    }

    /// Fills every configured pool, drops entries of other content, and sweeps pooled
    /// databases that no entry or tenant knows (left by a killed run) and prepared
    /// databases no default create clones from (`prepared.rs`).
    pub async fn refill_pools(&self) -> Result<PoolReport, EngineError> {
        let mut report = PoolReport::default();
        for target in self.config.pools.clone() {
            let t = self.template_record(&target.template).await?;
            let v = self.version_record(&t, None).await?;
            let bundle = self.bundle_for(&t, &v).await?;
            let modules = resolve_modules(&bundle.manifest.modules, &target.modules).map_err(|e| EngineError::Invalid(e.to_string()))?;
            let key = modules_key(&modules);
            let servers: Vec<ServerRecord> = match &target.server {
                Some(name) => vec![self.server(name).await?],
                None => self.servers().await?.into_iter().filter(|s| s.status == "active" && bundle.manifest.dialects.contains(&s.dialect)).collect(),
            };
            let entries = self.landlord.pool_entries(Some(t.id)).await?;
            for server in servers {
                let driver = self.driver(&server).await?;
                let mine: Vec<&PoolEntry> = entries.iter().filter(|e| e.server_id == server.id && e.modules == key).collect();
                let mut ready = 0;
                for e in &mine {
                    let current = e.version_checksum == v.checksum && e.template_version == v.version;
                    if current && ready < target.size {
                        ready += 1;
                    } else if self.landlord.remove_pool_entry(e.id).await? {
                        // Of another version, or beyond a size that was lowered.
                        driver.drop_database(&DatabaseName::new(&e.database_name)?).await?;
                        report.dropped += 1;
                    }
                }
                while ready < target.size {
                    self.build_pooled(&t, &v, &bundle, &modules, &server, &driver).await?;
                    ready += 1;
                    report.built += 1;
                }
                report.entries.push(PoolStatus {
                    template: t.name.clone(),
                    version: v.version.clone(),
                    modules: key.clone(),
                    server: server.name.clone(),
                    ready,
                    size: target.size,
                });
            }
        }
        report.dropped += self.sweep_pool_orphans().await?;
        report.dropped += self.sweep_prepared().await?;
        Ok(report)
    }

    async fn build_pooled(
        &self,
        t: &tenantry_store::TemplateRecord,
        v: &VersionRecord,
        bundle: &tenantry_domain::template::TemplateBundle,
        modules: &[String],
        server: &ServerRecord,
        driver: &Arc<dyn TenantDriver>,
    ) -> Result<(), EngineError> {
        let (expected, _) = self.snapshot_for(t, v, bundle, server.dialect, modules).await?;
        let born = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let name = DatabaseName::new(&format!("{POOL_PREFIX}{}_{born:x}_{:08x}", self.key.installation_tag(), rand::random::<u32>()))?;
        let modules_text = modules.join(",");
        let values = [
            ("tenant_id", ""),
            ("slug", ""),
            ("last_sync", ""),
            ("template", t.name.as_str()),
            ("template_version", v.version.as_str()),
            ("modules", modules_text.as_str()),
        ];
        let built = async {
            if driver.can_clone() {
                let src = BuildSource { t, v, bundle, modules, server, driver, expected: &expected };
                self.clone_prepared(&src, &values[3..], &name, &[]).await?;
            } else {
                driver.create_database(&name).await?;
                let target = semver::Version::parse(&v.version).map_err(|e| EngineError::Invalid(e.to_string()))?;
                replay(driver, &name, bundle, modules, &target, "(pool)", t, v, &meta::create_script(&values)?).await?;
            }
            self.landlord
                .add_pool_entry(&PoolEntry {
                    id: 0,
                    server_id: server.id,
                    template_id: t.id,
                    template_version: v.version.clone(),
                    version_checksum: v.checksum.clone(),
                    modules: modules_key(modules),
                    database_name: name.to_string(),
                    created_at: String::new(),
                })
                .await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if built.is_err() {
            let _ = driver.drop_database(&name).await;
        }
        built
    }

    /// Drops pooled databases of this installation (`tenantry_pool_<tag>_<born>_…`)
    /// that are neither in the pool nor a tenant's and are over ten minutes old: left
    /// by a killed run. Younger ones may be another process's build in progress, and
    /// other installations' on a shared server are not this one's to drop.
    async fn sweep_pool_orphans(&self) -> Result<usize, EngineError> {
        let own = format!("{POOL_PREFIX}{}_", self.key.installation_tag());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let stale = |name: &str| {
            let born = name.strip_prefix(&own).and_then(|rest| rest.split('_').next()).and_then(|b| u64::from_str_radix(b, 16).ok());
            born.is_some_and(|b| b + 600 < now)
        };
        let known: std::collections::HashSet<(i64, String)> =
            self.landlord.pool_entries(None).await?.into_iter().map(|e| (e.server_id, e.database_name)).collect();
        // A tenant being provisioned may hold a pooled database under its claimed name
        // until activation records it: leave servers with one alone.
        let busy: std::collections::HashSet<i64> =
            self.landlord.provisioning_tenants().await?.iter().filter_map(|t| t.server_id).collect();
        let mut dropped = 0;
        for server in self.servers().await? {
            if busy.contains(&server.id) {
                continue;
            }
            let Ok(driver) = self.driver(&server).await else { continue };
            let Ok(names) = driver.list_databases(&own).await else { continue };
            for n in names.into_iter().filter(|n| stale(n)) {
                if known.contains(&(server.id, n.clone())) || self.landlord.database_owner(server.id, &n).await?.is_some() {
                    continue;
                }
                driver.drop_database(&DatabaseName::new(&n)?).await?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// The pools as configured, with what is ready now.
    pub async fn pool_status(&self) -> Result<Vec<PoolStatus>, EngineError> {
        let entries = self.landlord.pool_entries(None).await?;
        let servers = self.servers().await?;
        let mut out = Vec::new();
        for target in &self.config.pools {
            let t = self.template_record(&target.template).await?;
            let v = self.version_record(&t, None).await?;
            let bundle = self.bundle_for(&t, &v).await?;
            let modules = resolve_modules(&bundle.manifest.modules, &target.modules).map_err(|e| EngineError::Invalid(e.to_string()))?;
            let key = modules_key(&modules);
            for s in servers.iter().filter(|s| target.server.as_ref().is_none_or(|n| *n == s.name) && bundle.manifest.dialects.contains(&s.dialect)) {
                let ready = entries.iter().filter(|e| e.server_id == s.id && e.modules == key && e.version_checksum == v.checksum).count();
                out.push(PoolStatus { template: t.name.clone(), version: v.version.clone(), modules: key.clone(), server: s.name.clone(), ready, size: target.size });
            }
        }
        Ok(out)
    }
}
