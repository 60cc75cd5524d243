//! Templates: import from a directory (validated, built on real servers, checked
//! against its migrations), export back, list, show, snapshot, delete.

pub(crate) mod build;
pub mod load;

use crate::{Engine, EngineError};
pub(crate) use build::BuildContext;
use build::{run_plan, Scratch};
use semver::Version;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tenantry_domain::template::{checksum_text, TemplateBundle};
use tenantry_domain::Dialect;
use tenantry_drivers::TenantDriver;
use tenantry_schema::diff::diff_schemas;
use tenantry_schema::Schema;
use tenantry_store::{
    MigrationRecord, ModuleRecord, NewMigration, NewModule, NewSnapshot, NewVersion, TemplateImport, TemplateRecord,
    VersionRecord,
};

/// What an import did.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub name: String,
    pub version: String,
    /// `created`, `new_version`, `replaced` or `unchanged`.
    pub status: &'static str,
    /// Versions stored by this import (the imported one and derived older ones).
    pub versions: Vec<String>,
    /// Dialects whose snapshots were built and checked now.
    pub built: Vec<Dialect>,
    /// Declared dialects with no registered server yet: built on first use.
    pub pending: Vec<Dialect>,
}

#[derive(Debug, Serialize)]
pub struct TemplateSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub template_type: String,
    pub description: String,
    pub version: Option<String>,
    pub versions: Vec<String>,
    pub tenants: i64,
    pub is_locked: bool,
}

#[derive(Debug, Serialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub record: VersionRecord,
    pub modules: Vec<ModuleRecord>,
    /// Slugs of the tenants at this version.
    pub used_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub template: TemplateRecord,
    pub versions: Vec<VersionDetail>,
    pub migrations: Vec<MigrationRecord>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotView {
    pub template: String,
    pub version: String,
    pub dialect: Dialect,
    pub modules: Vec<String>,
    pub module_tables: serde_json::Value,
    pub schema: Schema,
}

/// The key snapshots are stored under: the resolved module list.
pub fn modules_key(modules: &[String]) -> String {
    modules.join(",")
}

fn parse_version(s: &str, what: &str) -> Result<Version, EngineError> {
    Version::parse(s).map_err(|e| EngineError::Invalid(format!("{what} `{s}` is not a semantic version (like 1.2.0): {e}")))
}

/// The schemas one dialect's build produced, per version.
struct ChainBuild {
    snapshots: BTreeMap<Version, Schema>,
    module_tables: BTreeMap<String, Vec<String>>,
}

impl Engine {
    /// A registered server of `dialect` to build on, or `None`.
    pub(crate) async fn builder_driver(&self, dialect: Dialect) -> Result<Option<Arc<dyn TenantDriver>>, EngineError> {
        let servers = self.landlord.servers().await?;
        match servers.iter().find(|s| s.dialect == dialect && s.status == "active") {
            Some(s) => Ok(Some(self.driver(s).await?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn template_record(&self, name: &str) -> Result<TemplateRecord, EngineError> {
        self.landlord.template(name).await?.ok_or_else(|| EngineError::NotFound {
            what: "template",
            key: name.to_string(),
            hint: "; `tenantry template list` shows the imported ones".into(),
        })
    }

    /// A stored version (the newest when `version` is `None`).
    pub(crate) async fn version_record(&self, t: &TemplateRecord, version: Option<&str>) -> Result<VersionRecord, EngineError> {
        let wanted = match version {
            Some(v) => v.to_string(),
            None => t.version.clone().unwrap_or_default(),
        };
        self.landlord.version(t.id, &wanted).await?.ok_or_else(|| EngineError::NotFound {
            what: "template version",
            key: format!("{} {wanted}", t.name),
            hint: "; `tenantry template show NAME` lists its versions".into(),
        })
    }

    /// The directory that builds `v`: its own, or for a derived version its source's.
    pub(crate) async fn bundle_for(&self, t: &TemplateRecord, v: &VersionRecord) -> Result<Arc<TemplateBundle>, EngineError> {
        let source = match &v.source_version {
            Some(s) => self.version_record(t, Some(s)).await?,
            None => v.clone(),
        };
        if let Some(b) = self.bundles.lock().ok().and_then(|c| c.get(&source.checksum).cloned()) {
            return Ok(b);
        }
        let files = source
            .files
            .as_deref()
            .ok_or_else(|| EngineError::Store(tenantry_store::StoreError::Corrupt(format!("{} {} has no files", t.name, source.version))))?;
        let files: BTreeMap<String, String> = serde_json::from_str(files)
            .map_err(|e| EngineError::Store(tenantry_store::StoreError::Corrupt(format!("{} {} files: {e}", t.name, source.version))))?;
        let bundle = Arc::new(TemplateBundle::from_files(files).map_err(EngineError::TemplateInvalid)?);
        if let Ok(mut c) = self.bundles.lock() {
            c.insert(bundle.checksum.clone(), bundle.clone());
        }
        Ok(bundle)
    }

    /// `tenantry template import DIR`.
    pub async fn import_template(&self, dir: &Path) -> Result<ImportReport, EngineError> {
        self.import_template_files(load::read_dir(dir)?).await
    }

    /// Imports a template given as its files (path relative to the template
    /// directory → content): what the HTTP API receives.
    pub async fn import_template_files(&self, files: BTreeMap<String, String>) -> Result<ImportReport, EngineError> {
        let bundle = TemplateBundle::from_files(files).map_err(EngineError::TemplateInvalid)?;
        let name = bundle.manifest.name.clone();
        let new_v = bundle.manifest.version.clone();

        let existing = self.landlord.template(&name).await?;
        if existing.is_none() && self.landlord.template_name_taken(&name).await? {
            return Err(EngineError::Conflict { what: "deleted template", key: name });
        }
        let mut status = "created";
        let mut replace = false;
        let mut prev: Option<(TemplateBundle, Version)> = None;
        let mut stored_versions: Vec<String> = Vec::new();
        if let Some(t) = &existing {
            status = "new_version";
            let versions = self.landlord.versions(t.id).await?;
            stored_versions = versions.iter().map(|v| v.version.clone()).collect();
            if let Some(v) = versions.iter().find(|v| v.version == new_v.to_string()) {
                if v.checksum == bundle.checksum && v.source_version.is_none() {
                    return Ok(ImportReport { name, version: new_v.to_string(), status: "unchanged", versions: vec![], built: vec![], pending: vec![] });
                }
                if v.is_locked || v.tenants > 0 {
                    return Err(EngineError::Locked(format!(
                        "template `{name}` {new_v} is used by tenants and cannot change; give the changed template a new `version` in template.toml and add a migration"
                    )));
                }
                status = "replaced";
                replace = true;
            }
            let own: Vec<&VersionRecord> = versions.iter().filter(|v| v.source_version.is_none() && v.version != new_v.to_string()).collect();
            if let Some(newest) = own.iter().filter_map(|v| Version::parse(&v.version).ok()).max() {
                if newest > new_v {
                    return Err(EngineError::Invalid(format!(
                        "template `{name}` is already at {newest}; import a version newer than that (this directory is {new_v})"
                    )));
                }
                let record = own.iter().find(|v| v.version == newest.to_string()).copied().cloned();
                if let Some(record) = record {
                    prev = Some(((*self.bundle_for(t, &record).await?).clone(), newest));
                }
            }
        }

        // Versions this import stores: the new one, and derivable older ones not yet stored.
        let floor = prev.as_ref().map(|(_, v)| v.clone());
        let chain: Vec<Version> = bundle.versions().into_iter().filter(|v| floor.as_ref().is_none_or(|f| v > f)).collect();
        let ctx = BuildContext { template: name.clone(), version: new_v.to_string() };
        let modules = bundle.all_modules();

        let mut built = Vec::new();
        let mut pending = Vec::new();
        let mut snapshots = Vec::new();
        for d in &bundle.manifest.dialects {
            let Some(driver) = self.builder_driver(*d).await? else {
                pending.push(*d);
                continue;
            };
            let result = build_chain(driver, &ctx, &bundle, *d, &modules, prev.as_ref()).await?;
            for (v, schema) in &result.snapshots {
                if !chain.contains(v) {
                    continue;
                }
                let json = schema.to_json();
                snapshots.push(NewSnapshot {
                    version: v.to_string(),
                    dialect: d.to_string(),
                    modules_key: modules_key(&modules),
                    checksum: checksum_text(&json),
                    schema_json: json,
                    module_tables: serde_json::json!(result.module_tables),
                });
            }
            built.push(*d);
        }

        let versions: Vec<NewVersion> = chain
            .iter()
            .filter(|v| **v == new_v || !stored_versions.contains(&v.to_string()))
            .map(|v| new_version_row(&bundle, v, &new_v, replace && *v == new_v))
            .collect();
        let import = TemplateImport {
            name: name.clone(),
            template_type: bundle.manifest.template_type.as_str().to_string(),
            description: bundle.manifest.description.clone(),
            metadata: serde_json::to_value(&bundle.manifest.metadata).unwrap_or_default(),
            latest_version: new_v.to_string(),
            latest_snapshot: snapshots.iter().find(|s| s.version == new_v.to_string()).map(|s| s.schema_json.clone()),
            migrations: bundle.migrations.iter().map(|m| migration_row(m)).collect(),
            snapshots,
            versions: versions.clone(),
        };
        self.landlord.write_import(&import).await.map_err(|e| match e {
            tenantry_store::StoreError::Conflict { what: "changed migration", key } => EngineError::Locked(format!(
                "migration `{key}` of template `{name}` was imported before with other content; released migrations are immutable, add a new one instead"
            )),
            other => other.into(),
        })?;
        Ok(ImportReport {
            name,
            version: new_v.to_string(),
            status,
            versions: versions.iter().map(|v| v.version.clone()).collect(),
            built,
            pending,
        })
    }

    /// `tenantry template export NAME [--version V] DIR`: the directory as imported.
    pub async fn export_template(&self, name: &str, version: Option<&str>, dir: &Path) -> Result<(String, usize), EngineError> {
        let t = self.template_record(name).await?;
        let v = self.version_record(&t, version).await?;
        if let Some(source) = &v.source_version {
            return Err(EngineError::Invalid(format!(
                "{name} {} was derived from the directory of {source} (its modules with migrations run down); export {source} instead",
                v.version
            )));
        }
        let bundle = self.bundle_for(&t, &v).await?;
        let written = load::write_dir(dir, &bundle.files)?;
        Ok((v.version, written))
    }

    pub async fn templates(&self) -> Result<Vec<TemplateSummary>, EngineError> {
        let mut out = Vec::new();
        for t in self.landlord.templates().await? {
            let versions = self.landlord.versions(t.id).await?;
            out.push(TemplateSummary {
                tenants: versions.iter().map(|v| v.tenants).sum(),
                versions: versions.iter().map(|v| v.version.clone()).collect(),
                name: t.name,
                template_type: t.template_type,
                description: t.description,
                version: t.version,
                is_locked: t.is_locked,
            });
        }
        Ok(out)
    }

    pub async fn template_detail(&self, name: &str, version: Option<&str>) -> Result<TemplateDetail, EngineError> {
        let t = self.template_record(name).await?;
        let tenants = self
            .landlord
            .tenants(&tenantry_store::TenantFilter { template: Some(t.name.clone()), ..Default::default() })
            .await?;
        let mut versions = Vec::new();
        for v in self.landlord.versions(t.id).await? {
            if version.is_some_and(|w| w != v.version) {
                continue;
            }
            let source = match &v.source_version {
                Some(s) => self.version_record(&t, Some(s)).await?,
                None => v.clone(),
            };
            let modules = self.landlord.modules(source.id).await?;
            let used_by = tenants
                .iter()
                .filter(|x| x.status != "failed" && x.template_version.as_deref() == Some(v.version.as_str()))
                .map(|x| x.slug.clone())
                .collect();
            versions.push(VersionDetail { record: v, modules, used_by });
        }
        if let (Some(w), true) = (version, versions.is_empty()) {
            return Err(EngineError::NotFound { what: "template version", key: format!("{name} {w}"), hint: String::new() });
        }
        let migrations = self.landlord.migrations(t.id).await?;
        Ok(TemplateDetail { template: t, versions, migrations })
    }

    /// The snapshot of a version with all its modules on one dialect, built on first
    /// need when the import had no server of that dialect.
    pub async fn template_snapshot(&self, name: &str, version: Option<&str>, dialect: Option<Dialect>) -> Result<SnapshotView, EngineError> {
        let t = self.template_record(name).await?;
        let v = self.version_record(&t, version).await?;
        let bundle = self.bundle_for(&t, &v).await?;
        let dialect = match dialect {
            Some(d) => d,
            None => *bundle.manifest.dialects.first().ok_or_else(|| EngineError::Invalid("template declares no dialect".into()))?,
        };
        if !bundle.manifest.dialects.contains(&dialect) {
            return Err(EngineError::Invalid(format!(
                "template `{name}` does not support {dialect}; it declares {}",
                bundle.manifest.dialects.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let modules = bundle.all_modules();
        let (schema, module_tables) = self.snapshot_for(&t, &v, &bundle, dialect, &modules).await?;
        Ok(SnapshotView { template: t.name, version: v.version, dialect, modules, module_tables, schema })
    }

    /// A stored snapshot, or one built now in a scratch database and stored.
    pub(crate) async fn snapshot_for(
        &self,
        t: &TemplateRecord,
        v: &VersionRecord,
        bundle: &TemplateBundle,
        dialect: Dialect,
        modules: &[String],
    ) -> Result<(Schema, serde_json::Value), EngineError> {
        let key = modules_key(modules);
        let cache_key = format!("{}\0{}\0{dialect}\0{key}", v.id, v.checksum);
        if let Some(s) = self.snapshots.lock().ok().and_then(|c| c.get(&cache_key).cloned()) {
            return Ok((s.0.clone(), s.1.clone()));
        }
        if let Some(s) = self.landlord.snapshot(v.id, dialect.as_str(), &key).await? {
            let schema: Schema = serde_json::from_str(&s.schema_json)
                .map_err(|e| EngineError::Store(tenantry_store::StoreError::Corrupt(format!("snapshot: {e}"))))?;
            if let Ok(mut c) = self.snapshots.lock() {
                c.insert(cache_key, Arc::new((schema.clone(), s.module_tables.clone())));
            }
            return Ok((schema, s.module_tables));
        }
        let driver = self.builder_driver(dialect).await?.ok_or_else(|| {
            EngineError::Invalid(format!("no {dialect} server is registered to build the snapshot on; add one with `tenantry server add`"))
        })?;
        let target = parse_version(&v.version, "version")?;
        let ctx = BuildContext { template: t.name.clone(), version: v.version.clone() };
        let scratch = Scratch::create(driver, ctx).await?;
        let result = async {
            // Schema only: seeds were proven by the import's full build, and the
            // tenant build runs them in the tenant's own database.
            let tables = run_plan(&scratch, &bundle.build_plan(dialect, modules, &target, false)).await?;
            Ok::<_, EngineError>((scratch.schema().await?, tables))
        }
        .await;
        scratch.drop().await;
        let (schema, tables) = result?;
        let json = schema.to_json();
        let module_tables = serde_json::json!(tables);
        self.landlord
            .insert_snapshot(
                v.id,
                &NewSnapshot {
                    version: v.version.clone(),
                    dialect: dialect.to_string(),
                    modules_key: key,
                    checksum: checksum_text(&json),
                    schema_json: json,
                    module_tables: module_tables.clone(),
                },
            )
            .await?;
        Ok((schema, module_tables))
    }

    /// Soft-deletes a template no tenant uses.
    pub async fn delete_template(&self, name: &str) -> Result<(), EngineError> {
        let t = self.template_record(name).await?;
        let used: i64 = self.landlord.versions(t.id).await?.iter().map(|v| v.tenants).sum();
        if used > 0 {
            return Err(EngineError::Locked(format!("template `{name}` is used by {used} tenant(s); move or delete them first")));
        }
        Ok(self.landlord.soft_delete_template(t.id).await?)
    }
}

fn new_version_row(bundle: &TemplateBundle, v: &Version, newest: &Version, replace: bool) -> NewVersion {
    let own = v == newest;
    NewVersion {
        version: v.to_string(),
        checksum: bundle.checksum.clone(),
        manifest: bundle.files.get("template.toml").cloned().unwrap_or_default(),
        files: own.then(|| serde_json::to_value(&bundle.files).unwrap_or_default()),
        dialects: bundle.manifest.dialects.iter().map(|d| d.to_string()).collect(),
        source_version: (!own).then(|| newest.to_string()),
        modules: if own {
            bundle
                .all_modules()
                .iter()
                .filter_map(|n| bundle.modules.get(n))
                .map(|m| NewModule {
                    name: m.name.clone(),
                    module_type: m.manifest.module_type.as_str().to_string(),
                    description: m.manifest.description.clone(),
                    schema_sql: m.schema.default.clone().unwrap_or_default(),
                    seed_sql: m.seed.default.clone(),
                    dialect_sql: serde_json::json!({ "schema": m.schema.overrides, "seed": m.seed.overrides }),
                    dependencies: m.manifest.depends_on.clone(),
                    checksum: checksum_text(&format!("{:?}{:?}", m.schema, m.seed)),
                })
                .collect()
        } else {
            Vec::new()
        },
        replace,
    }
}

fn migration_row(m: &tenantry_domain::template::Migration) -> NewMigration {
    NewMigration {
        name: m.name.clone(),
        sql_up: m.up.default.clone().unwrap_or_default(),
        sql_down: m.down.default.clone().unwrap_or_default(),
        dialect_sql: serde_json::json!({ "up": m.up, "down": m.down }),
        checksum: m.checksum.clone(),
        version: m.manifest.version.to_string(),
        applies_to: m.manifest.applies_to.as_str().to_string(),
        module: m.manifest.module.clone(),
        tenants: m.manifest.tenants.clone(),
        min_template_version: m.manifest.min_template_version.as_ref().map(|v| v.to_string()),
        max_template_version: m.manifest.max_template_version.as_ref().map(|v| v.to_string()),
    }
}

/// Builds every version of the chain on one dialect and proves that migrations and
/// modules agree. Without a previous stored version: modules of the newest version,
/// `down` steps to each older version (snapshotting each), then `up` steps back, each
/// of which must reproduce the snapshot it leads to. With one: the previous version,
/// then the new `up` steps, ending equal to the new modules.
async fn build_chain(
    driver: Arc<dyn TenantDriver>,
    ctx: &BuildContext,
    bundle: &TemplateBundle,
    dialect: Dialect,
    modules: &[String],
    prev: Option<&(TemplateBundle, Version)>,
) -> Result<ChainBuild, EngineError> {
    let newest = bundle.manifest.version.clone();
    let mut snapshots = BTreeMap::new();

    let scratch = Scratch::create(driver.clone(), ctx.clone()).await?;
    let first = async {
        let module_tables = run_plan(&scratch, &bundle.build_plan(dialect, modules, &newest, true)).await?;
        let top = scratch.schema().await?;
        snapshots.insert(newest.clone(), top.clone());
        if prev.is_none() {
            // Down to each older version, newest first.
            let older: Vec<Version> = bundle.versions().into_iter().filter(|v| *v < newest).rev().collect();
            let mut at = newest.clone();
            for v in &older {
                for step in bundle.down_steps(dialect, modules, &at, v) {
                    scratch.run(&step).await?;
                }
                snapshots.insert(v.clone(), scratch.schema().await?);
                at = v.clone();
            }
            // And up again: each version must come back exactly.
            for (produced, step) in bundle.up_steps(dialect, modules, &at, &newest) {
                scratch.run(&step).await?;
                let expected = &snapshots[&produced];
                check_equal(ctx, dialect, &step.source, &produced, expected, &scratch.schema().await?)?;
            }
        }
        Ok::<_, EngineError>(module_tables)
    }
    .await;
    scratch.drop().await;
    let module_tables = first?;

    if let Some((prev_bundle, prev_v)) = prev {
        let scratch = Scratch::create(driver, BuildContext { template: ctx.template.clone(), version: prev_v.to_string() }).await?;
        let second = async {
            let prev_modules = prev_bundle.all_modules();
            run_plan(&scratch, &prev_bundle.build_plan(dialect, &prev_modules, prev_v, false)).await?;
            let steps = bundle.up_steps(dialect, modules, prev_v, &newest);
            if steps.is_empty() {
                let top = &snapshots[&newest];
                return check_equal(ctx, dialect, "(no migration)", &newest, top, &scratch.schema().await?).map(|_| ());
            }
            let mut intermediate = BTreeMap::new();
            let last = steps.len() - 1;
            for (i, (produced, step)) in steps.into_iter().enumerate() {
                scratch.run(&step).await?;
                let now = scratch.schema().await?;
                if i == last {
                    check_equal(ctx, dialect, &step.source, &produced, &snapshots[&newest], &now)?;
                } else {
                    intermediate.insert(produced, now);
                }
            }
            snapshots.extend(intermediate);
            Ok(())
        }
        .await;
        scratch.drop().await;
        second?;
    }
    Ok(ChainBuild { snapshots, module_tables })
}

fn check_equal(
    ctx: &BuildContext,
    dialect: Dialect,
    migration: &str,
    version: &Version,
    expected: &Schema,
    actual: &Schema,
) -> Result<(), EngineError> {
    let diffs = diff_schemas(expected, actual);
    if diffs.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = diffs.iter().map(|d| format!("  - {d}")).collect();
    Err(EngineError::Integrity(format!(
        "template `{}` {}: on {dialect}, the migrations up to {version} (last: `{migration}`) do not produce the schema the modules describe for {version}.\n\
         Expected is the modules' schema, found is what the migrations produce:\n{}\n\
         Fix the migration or the modules so they agree.",
        ctx.template,
        ctx.version,
        lines.join("\n")
    )))
}
