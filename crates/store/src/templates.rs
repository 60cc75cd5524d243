//! Templates in the landlord: `tenant_templates`, `template_versions`,
//! `template_modules`, `template_migrations`, `template_snapshots`.
//!
//! A version either carries its own files (it was imported from a directory) or is
//! derived: built from a newer version's modules with `down` migrations back to it
//! (`source_version` names that newer version).

use crate::{opt_text, text, Landlord, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct TemplateRecord {
    #[serde(skip)]
    pub id: i64,
    pub uuid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub template_type: String,
    pub description: String,
    /// The newest version.
    pub version: Option<String>,
    pub is_locked: bool,
    pub metadata: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    #[serde(skip)]
    pub id: i64,
    pub version: String,
    pub checksum: String,
    pub dialects: Vec<String>,
    /// For a derived version: the version whose directory builds it.
    pub source_version: Option<String>,
    pub is_locked: bool,
    /// Live tenants at this version: counted by [`Landlord::versions`] only (0 from
    /// [`Landlord::version`], which provisioning calls and which must not grow with
    /// the fleet).
    pub tenants: i64,
    pub created_at: String,
    #[serde(skip)]
    pub manifest: String,
    #[serde(skip)]
    pub files: Option<String>,
}

const VERSION_COLS: &str =
    "v.id, v.version, v.checksum, v.dialects, v.source_version, v.is_locked, v.created_at, v.manifest, v.files";

fn version_record(r: &AnyRow) -> Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        id: get(r, "id")?,
        version: text(r, "version")?,
        checksum: text(r, "checksum")?,
        dialects: text(r, "dialects")?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        source_version: opt_text(r, "source_version")?,
        is_locked: get::<i64>(r, "is_locked")? != 0,
        tenants: get(r, "tenants")?,
        created_at: text(r, "created_at")?,
        manifest: text(r, "manifest")?,
        files: opt_text(r, "files")?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub module_type: String,
    pub description: String,
    pub depends_on: Vec<String>,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationRecord {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub version: String,
    pub applies_to: String,
    pub module: Option<String>,
    pub tenants: Vec<String>,
    pub min_template_version: Option<String>,
    pub max_template_version: Option<String>,
    pub checksum: String,
    /// Up and down SQL per dialect: `{"up": {"default": …, "mysql": …}, "down": …}`.
    #[serde(skip)]
    pub sql: serde_json::Value,
}

/// A snapshot as stored.
#[derive(Debug, Clone)]
pub struct SnapshotRecord {
    pub dialect: String,
    pub modules_key: String,
    pub schema_json: String,
    pub module_tables: serde_json::Value,
}

/// Everything one import writes, in one transaction.
#[derive(Debug, Clone)]
pub struct TemplateImport {
    pub name: String,
    pub template_type: String,
    pub description: String,
    pub metadata: serde_json::Value,
    pub latest_version: String,
    /// The newest version's snapshot (first built dialect), mirrored into the seed's
    /// `tenant_templates.schema_snapshot`.
    pub latest_snapshot: Option<String>,
    pub versions: Vec<NewVersion>,
    pub migrations: Vec<NewMigration>,
    pub snapshots: Vec<NewSnapshot>,
}

#[derive(Debug, Clone)]
pub struct NewVersion {
    pub version: String,
    pub checksum: String,
    pub manifest: String,
    pub files: Option<serde_json::Value>,
    pub dialects: Vec<String>,
    pub source_version: Option<String>,
    pub modules: Vec<NewModule>,
    /// Replace an existing (unlocked) row of this version.
    pub replace: bool,
}

#[derive(Debug, Clone)]
pub struct NewModule {
    pub name: String,
    pub module_type: String,
    pub description: String,
    pub schema_sql: String,
    pub seed_sql: Option<String>,
    pub dialect_sql: serde_json::Value,
    pub dependencies: Vec<String>,
    pub checksum: String,
}

#[derive(Debug, Clone)]
pub struct NewMigration {
    pub name: String,
    pub sql_up: String,
    pub sql_down: String,
    pub dialect_sql: serde_json::Value,
    pub checksum: String,
    pub version: String,
    pub applies_to: String,
    pub module: Option<String>,
    pub tenants: Vec<String>,
    pub min_template_version: Option<String>,
    pub max_template_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub version: String,
    pub dialect: String,
    pub modules_key: String,
    pub schema_json: String,
    pub module_tables: serde_json::Value,
    pub checksum: String,
}

fn json_col(row: &AnyRow, col: &str) -> Result<serde_json::Value, StoreError> {
    match opt_text(row, col)? {
        None => Ok(serde_json::Value::Null),
        Some(s) => serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn get<T>(row: &AnyRow, col: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| StoreError::Query { context: format!("reading {col}"), source: e })
}

fn template(row: &AnyRow) -> Result<TemplateRecord, StoreError> {
    Ok(TemplateRecord {
        id: get(row, "id")?,
        uuid: text(row, "uuid")?,
        name: text(row, "name")?,
        template_type: text(row, "template_type")?,
        description: opt_text(row, "description")?.unwrap_or_default(),
        version: opt_text(row, "version")?,
        is_locked: get::<i64>(row, "is_locked")? != 0,
        metadata: json_col(row, "metadata")?,
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
    })
}

const TEMPLATE_COLS: &str =
    "id, uuid, name, template_type, description, version, is_locked, metadata, created_at, updated_at";

impl Landlord {
    /// A template that is not deleted.
    pub async fn template(&self, name: &str) -> Result<Option<TemplateRecord>, StoreError> {
        let q = format!("SELECT {TEMPLATE_COLS} FROM tenant_templates WHERE name = ? AND deleted_at IS NULL");
        self.fetch_all(&q, vec![name.into()]).await?.first().map(template).transpose()
    }

    /// Whether a template of that name exists, deleted or not (names stay unique).
    pub async fn template_name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(!self.fetch_all("SELECT id FROM tenant_templates WHERE name = ?", vec![name.into()]).await?.is_empty())
    }

    pub async fn templates(&self) -> Result<Vec<TemplateRecord>, StoreError> {
        let q = format!("SELECT {TEMPLATE_COLS} FROM tenant_templates WHERE deleted_at IS NULL ORDER BY name");
        self.fetch_all(&q, vec![]).await?.iter().map(template).collect()
    }

    pub async fn versions(&self, template_id: i64) -> Result<Vec<VersionRecord>, StoreError> {
        let rows = self
            .fetch_all(
                &format!(
                    "SELECT {VERSION_COLS}, \
                     (SELECT COUNT(*) FROM tenants t WHERE t.template_id = v.template_id \
                        AND t.template_version = v.version AND t.deleted_at IS NULL AND t.status <> 'failed') AS tenants \
                     FROM template_versions v WHERE v.template_id = ?"
                ),
                vec![template_id.into()],
            )
            .await?;
        let mut out = rows.iter().map(version_record).collect::<Result<Vec<_>, StoreError>>()?;
        // Semver order, not text order (1.10.0 after 1.9.0).
        out.sort_by(|a, b| match (semver::Version::parse(&a.version), semver::Version::parse(&b.version)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(&b.version),
        });
        Ok(out)
    }

    /// One version, its tenants not counted.
    pub async fn version(&self, template_id: i64, version: &str) -> Result<Option<VersionRecord>, StoreError> {
        let q = format!("SELECT {VERSION_COLS}, 0 AS tenants FROM template_versions v WHERE v.template_id = ? AND v.version = ?");
        self.fetch_all(&q, vec![template_id.into(), version.into()]).await?.first().map(version_record).transpose()
    }

    pub async fn modules(&self, version_id: i64) -> Result<Vec<ModuleRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT module_name, module_type, description, dependencies, checksum FROM template_modules \
                 WHERE template_version_id = ? ORDER BY id",
                vec![version_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ModuleRecord {
                    name: text(r, "module_name")?,
                    module_type: text(r, "module_type")?,
                    description: opt_text(r, "description")?.unwrap_or_default(),
                    depends_on: strings(&json_col(r, "dependencies")?),
                    checksum: text(r, "checksum")?,
                })
            })
            .collect()
    }

    pub async fn migrations(&self, template_id: i64) -> Result<Vec<MigrationRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT id, migration_name, produces_version, applies_to, module, tenants, min_template_version, \
                 max_template_version, checksum, dialect_sql FROM template_migrations WHERE template_id = ? \
                 ORDER BY migration_name",
                vec![template_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MigrationRecord {
                    id: get(r, "id")?,
                    name: text(r, "migration_name")?,
                    version: text(r, "produces_version")?,
                    applies_to: text(r, "applies_to")?,
                    module: opt_text(r, "module")?,
                    tenants: strings(&json_col(r, "tenants")?),
                    min_template_version: opt_text(r, "min_template_version")?,
                    max_template_version: opt_text(r, "max_template_version")?,
                    checksum: text(r, "checksum")?,
                    sql: json_col(r, "dialect_sql")?,
                })
            })
            .collect()
    }

    pub async fn snapshot(&self, version_id: i64, dialect: &str, modules_key: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT dialect, modules_key, schema_json, module_tables FROM template_snapshots \
                 WHERE template_version_id = ? AND dialect = ? AND modules_key = ?",
                vec![version_id.into(), dialect.into(), modules_key.into()],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(SnapshotRecord {
                    dialect: text(r, "dialect")?,
                    modules_key: text(r, "modules_key")?,
                    schema_json: text(r, "schema_json")?,
                    module_tables: json_col(r, "module_tables")?,
                })
            })
            .transpose()
    }

    /// Stores a snapshot computed on demand; a concurrent identical insert is fine.
    pub async fn insert_snapshot(&self, version_id: i64, s: &NewSnapshot) -> Result<(), StoreError> {
        let result = sqlx::query(&self.sql(
            "INSERT INTO template_snapshots (template_version_id, dialect, modules_key, schema_json, module_tables, \
             checksum, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(version_id)
        .bind(&s.dialect)
        .bind(&s.modules_key)
        .bind(&s.schema_json)
        .bind(s.module_tables.to_string())
        .bind(&s.checksum)
        .bind(crate::time::now())
        .execute(&self.pool)
        .await;
        match result {
            Err(e) if !StoreError::is_unique_violation(&e) => Err(StoreError::query("INSERT INTO template_snapshots")(e)),
            _ => Ok(()),
        }
    }

    /// Marks a version as used by a tenant: from now on its content cannot change.
    pub async fn lock_version(&self, template_id: i64, version: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE template_versions SET is_locked = 1 WHERE template_id = ? AND version = ?",
            vec![template_id.into(), version.into()],
        )
        .await?;
        self.execute("UPDATE tenant_templates SET is_locked = 1 WHERE id = ?", vec![template_id.into()]).await?;
        Ok(())
    }

    /// Soft-deletes a template (`deleted_at`). The caller checks no tenant uses it.
    pub async fn soft_delete_template(&self, template_id: i64) -> Result<(), StoreError> {
        let now = crate::time::now();
        self.execute(
            "UPDATE tenant_templates SET deleted_at = ?, is_active = 0, updated_at = ? WHERE id = ?",
            vec![now.clone().into(), now.into(), template_id.into()],
        )
        .await?;
        Ok(())
    }

    /// Writes a whole import in one transaction: nothing is stored if any part fails.
    pub async fn write_import(&self, imp: &TemplateImport) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let q = |s: &str| self.sql(s);
        let err = |ctx: &'static str| StoreError::query(ctx);

        let existing: Option<(i64,)> = sqlx::query_as(&q("SELECT id FROM tenant_templates WHERE name = ? AND deleted_at IS NULL"))
            .bind(&imp.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err("import: template"))?;
        let template_id = match existing {
            Some((id,)) => {
                sqlx::query(&q("UPDATE tenant_templates SET template_type = ?, description = ?, version = ?, metadata = ?, \
                     schema_snapshot = ?, updated_at = ? WHERE id = ?"))
                    .bind(&imp.template_type)
                    .bind(&imp.description)
                    .bind(&imp.latest_version)
                    .bind(imp.metadata.to_string())
                    .bind(imp.latest_snapshot.clone())
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err("import: update template"))?;
                id
            }
            None => {
                let inserted = sqlx::query(&q("INSERT INTO tenant_templates (uuid, name, description, template_type, version, \
                     is_active, is_locked, metadata, schema_snapshot, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?)"))
                    .bind(new_uuid())
                    .bind(&imp.name)
                    .bind(&imp.description)
                    .bind(&imp.template_type)
                    .bind(&imp.latest_version)
                    .bind(imp.metadata.to_string())
                    .bind(imp.latest_snapshot.clone())
                    .bind(&now)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::Conflict { what: "template", key: imp.name.clone() })
                    }
                    other => other.map_err(err("import: insert template"))?,
                };
                let (id,): (i64,) = sqlx::query_as(&q("SELECT id FROM tenant_templates WHERE name = ?"))
                    .bind(&imp.name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err("import: template id"))?;
                id
            }
        };

        for v in &imp.versions {
            if v.replace {
                // Unlocked content being replaced: its dependents go with it.
                let old: Option<(i64,)> = sqlx::query_as(&q("SELECT id FROM template_versions WHERE template_id = ? AND version = ? AND is_locked = 0"))
                    .bind(template_id)
                    .bind(&v.version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err("import: old version"))?;
                if let Some((old_id,)) = old {
                    for table in ["template_snapshots", "template_modules"] {
                        sqlx::query(&q(&format!("DELETE FROM {table} WHERE template_version_id = ?")))
                            .bind(old_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(err("import: replace version"))?;
                    }
                    sqlx::query(&q("DELETE FROM template_migrations WHERE template_version_id = ? AND id NOT IN \
                         (SELECT migration_id FROM tenant_applied_migrations)"))
                        .bind(old_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(err("import: replace migrations"))?;
                    sqlx::query(&q("UPDATE template_versions SET checksum = ?, manifest = ?, files = ?, dialects = ?, \
                         source_version = ? WHERE id = ?"))
                        .bind(&v.checksum)
                        .bind(&v.manifest)
                        .bind(v.files.as_ref().map(|f| f.to_string()))
                        .bind(v.dialects.join(","))
                        .bind(v.source_version.clone())
                        .bind(old_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(err("import: update version"))?;
                    insert_modules(&mut tx, self, template_id, old_id, &v.modules, &now).await?;
                    continue;
                }
            }
            sqlx::query(&q("INSERT INTO template_versions (template_id, version, checksum, manifest, files, dialects, \
                 source_version, is_locked, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)"))
                .bind(template_id)
                .bind(&v.version)
                .bind(&v.checksum)
                .bind(&v.manifest)
                .bind(v.files.as_ref().map(|f| f.to_string()))
                .bind(v.dialects.join(","))
                .bind(v.source_version.clone())
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(err("import: insert version"))?;
            let (vid,): (i64,) = sqlx::query_as(&q("SELECT id FROM template_versions WHERE template_id = ? AND version = ?"))
                .bind(template_id)
                .bind(&v.version)
                .fetch_one(&mut *tx)
                .await
                .map_err(err("import: version id"))?;
            insert_modules(&mut tx, self, template_id, vid, &v.modules, &now).await?;
        }

        for m in &imp.migrations {
            let exists: Option<(String,)> = sqlx::query_as(&q("SELECT checksum FROM template_migrations WHERE template_id = ? AND migration_name = ?"))
                .bind(template_id)
                .bind(&m.name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err("import: migration"))?;
            if let Some((checksum,)) = exists {
                if checksum != m.checksum {
                    return Err(StoreError::Conflict { what: "changed migration", key: m.name.clone() });
                }
                continue;
            }
            let (vid,): (i64,) = sqlx::query_as(&q("SELECT id FROM template_versions WHERE template_id = ? AND version = ?"))
                .bind(template_id)
                .bind(&m.version)
                .fetch_one(&mut *tx)
                .await
                .map_err(err("import: migration version"))?;
            sqlx::query(&q("INSERT INTO template_migrations (template_id, template_version_id, migration_name, sql_up, \
                 sql_down, dialect_sql, checksum, produces_version, applies_to, module, tenants, min_template_version, \
                 max_template_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(template_id)
                .bind(vid)
                .bind(&m.name)
                .bind(&m.sql_up)
                .bind(&m.sql_down)
                .bind(m.dialect_sql.to_string())
                .bind(&m.checksum)
                .bind(&m.version)
                .bind(&m.applies_to)
                .bind(m.module.clone())
                .bind(serde_json::json!(m.tenants).to_string())
                .bind(m.min_template_version.clone())
                .bind(m.max_template_version.clone())
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(err("import: insert migration"))?;
        }

        for s in &imp.snapshots {
            let (vid,): (i64,) = sqlx::query_as(&q("SELECT id FROM template_versions WHERE template_id = ? AND version = ?"))
                .bind(template_id)
                .bind(&s.version)
                .fetch_one(&mut *tx)
                .await
                .map_err(err("import: snapshot version"))?;
            sqlx::query(&q("DELETE FROM template_snapshots WHERE template_version_id = ? AND dialect = ? AND modules_key = ?"))
                .bind(vid)
                .bind(&s.dialect)
                .bind(&s.modules_key)
                .execute(&mut *tx)
                .await
                .map_err(err("import: old snapshot"))?;
            sqlx::query(&q("INSERT INTO template_snapshots (template_version_id, dialect, modules_key, schema_json, \
                 module_tables, checksum, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                .bind(vid)
                .bind(&s.dialect)
                .bind(&s.modules_key)
                .bind(&s.schema_json)
                .bind(s.module_tables.to_string())
                .bind(&s.checksum)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(err("import: insert snapshot"))?;
        }
        tx.commit().await.map_err(err("import: commit"))?;
        Ok(())
    }
}

async fn insert_modules(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    l: &Landlord,
    template_id: i64,
    version_id: i64,
    modules: &[NewModule],
    now: &str,
) -> Result<(), StoreError> {
    for m in modules {
        sqlx::query(&l.sql(
            "INSERT INTO template_modules (template_id, template_version_id, module_name, module_type, description, \
             schema_sql, seed_sql, dialect_sql, dependencies, checksum, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(template_id)
        .bind(version_id)
        .bind(&m.name)
        .bind(&m.module_type)
        .bind(&m.description)
        .bind(&m.schema_sql)
        .bind(m.seed_sql.clone())
        .bind(m.dialect_sql.to_string())
        .bind(serde_json::json!(m.dependencies).to_string())
        .bind(&m.checksum)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query("import: insert module"))?;
    }
    Ok(())
}

/// A random (v4) UUID in its text form.
pub(crate) fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
