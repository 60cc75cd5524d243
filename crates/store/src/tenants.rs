//! `tenants`, `tenant_databases`, `tenant_migrations_history`: the landlord's record
//! of every tenant, its database and what was done to it.

use crate::{opt_text, text, Landlord, StoreError, Value};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A tenant as the landlord knows it. Serialises to the CLI contract's keys.
#[derive(Debug, Clone, Serialize)]
pub struct TenantRecord {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: String,
    /// Why the tenant failed, or who is provisioning it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    pub template: Option<String>,
    pub template_version: Option<String>,
    pub modules: Vec<String>,
    pub server: Option<String>,
    #[serde(skip)]
    pub server_id: Option<i64>,
    #[serde(skip)]
    pub template_id: Option<i64>,
    pub database: Option<String>,
    pub drift_level: String,
    pub customization_count: i64,
    pub last_schema_sync: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

/// A slug being claimed for provisioning.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub template_id: i64,
    pub template_version: String,
    pub modules: Vec<String>,
    pub server_id: i64,
    pub database_name: String,
    /// Who provisions it (host and process), so an interrupted run can be recognised.
    pub owner: String,
}

/// The records written when provisioning succeeds.
#[derive(Debug, Clone)]
pub struct Activation {
    pub tenant_id: String,
    /// Set when the database is not the one claimed (a pooled database mapped to the tenant).
    pub database_name: Option<String>,
    /// The history entry: `initial_template_application`/`template`, or `adopted`/`system`.
    pub migration_name: String,
    pub migration_type: String,
    pub initial_schema: String,
    pub username: Option<String>,
    pub password_secret: Option<String>,
    pub affected_tables: Vec<String>,
    pub checksum: String,
    pub execution_time_ms: i64,
    pub applied_by: String,
    pub notes: String,
}

/// Filters of `tenant list`.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    pub template: Option<String>,
    pub status: Option<String>,
    pub drift: Option<String>,
    pub include_deleted: bool,
}

/// A `tenant_migrations_history` row.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRecord {
    pub migration_name: String,
    pub migration_type: String,
    pub status: String,
    pub checksum: Option<String>,
    pub execution_time_ms: Option<i64>,
    pub applied_at: String,
    pub applied_by: Option<String>,
    pub affected_tables: serde_json::Value,
    pub notes: Option<String>,
}

/// A tenant's database and login, as stored (the password encrypted).
#[derive(Debug, Clone)]
pub struct TenantDatabaseRecord {
    pub server_id: i64,
    pub database_name: String,
    pub username: Option<String>,
    pub password_secret: Option<String>,
    pub status: String,
}

const SELECT: &str = "SELECT t.id, t.slug, t.name, t.status, t.status_detail, t.template_version, t.modules, \
    t.server_id, t.template_id, t.database_name, t.schema_drift_level, t.customization_count, t.last_schema_sync, \
    t.created_at, t.updated_at, t.deleted_at, tt.name AS template_name, s.name AS server_name \
    FROM tenants t LEFT JOIN tenant_templates tt ON tt.id = t.template_id \
    LEFT JOIN database_servers s ON s.id = t.server_id";

fn get<T>(row: &AnyRow, col: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| StoreError::Query { context: format!("reading {col}"), source: e })
}

fn record(row: &AnyRow) -> Result<TenantRecord, StoreError> {
    let modules: Vec<String> = match opt_text(row, "modules")? {
        Some(m) => serde_json::from_str(&m).map_err(|e| StoreError::Corrupt(format!("tenant modules: {e}")))?,
        None => Vec::new(),
    };
    Ok(TenantRecord {
        id: text(row, "id")?,
        slug: text(row, "slug")?,
        name: text(row, "name")?,
        status: text(row, "status")?,
        status_detail: opt_text(row, "status_detail")?,
        template: opt_text(row, "template_name")?,
        template_version: opt_text(row, "template_version")?,
        modules,
        server: opt_text(row, "server_name")?,
        server_id: get(row, "server_id")?,
        template_id: get(row, "template_id")?,
        database: opt_text(row, "database_name")?,
        drift_level: text(row, "schema_drift_level")?,
        customization_count: get(row, "customization_count")?,
        last_schema_sync: opt_text(row, "last_schema_sync")?,
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
        deleted_at: opt_text(row, "deleted_at")?,
    })
}

impl Landlord {
    /// Claims `slug` for provisioning: inserts it as `provisioning`, or takes over a
    /// `failed` tenant of that slug. Exactly one of many concurrent claims wins; the
    /// others get `Conflict`.
    pub async fn claim_tenant(&self, t: &NewTenant) -> Result<TenantRecord, StoreError> {
        let now = crate::time::now();
        let modules = serde_json::json!(t.modules).to_string();
        let inserted = sqlx::query(&self.sql(
            "INSERT INTO tenants (id, slug, name, status, status_detail, template_id, template_version, modules, \
             server_id, database_name, customization_count, schema_drift_level, created_at, updated_at) \
             VALUES (?, ?, ?, 'provisioning', ?, ?, ?, ?, ?, ?, 0, 'none', ?, ?)",
        ))
        .bind(crate::templates::new_uuid())
        .bind(&t.slug)
        .bind(&t.name)
        .bind(&t.owner)
        .bind(t.template_id)
        .bind(&t.template_version)
        .bind(&modules)
        .bind(t.server_id)
        .bind(&t.database_name)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if StoreError::is_unique_violation(&e) => {
                // A failed tenant of this slug may be retried: take it over atomically.
                let taken = self
                    .execute(
                        "UPDATE tenants SET status = 'provisioning', status_detail = ?, name = ?, template_id = ?, \
                         template_version = ?, modules = ?, server_id = ?, database_name = ?, updated_at = ? \
                         WHERE slug = ? AND status = 'failed' AND deleted_at IS NULL",
                        vec![
                            t.owner.clone().into(),
                            t.name.clone().into(),
                            t.template_id.into(),
                            t.template_version.clone().into(),
                            modules.into(),
                            t.server_id.into(),
                            t.database_name.clone().into(),
                            now.into(),
                            t.slug.clone().into(),
                        ],
                    )
                    .await?;
                if taken != 1 {
                    return Err(StoreError::Conflict { what: "tenant", key: t.slug.clone() });
                }
            }
            Err(e) => return Err(StoreError::query("INSERT INTO tenants")(e)),
        }
        self.tenant(&t.slug).await?.ok_or_else(|| StoreError::NotFound { what: "tenant", key: t.slug.clone() })
    }

    /// Marks a provisioned tenant active and writes its database row, its first
    /// history entry and the version lock, in one transaction.
    pub async fn activate_tenant(&self, a: &Activation) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let err = StoreError::query;
        let row: Option<(String, i64, String, i64, String)> = sqlx::query_as(&self.sql(
            "SELECT slug, server_id, database_name, template_id, template_version FROM tenants WHERE id = ? AND status = 'provisioning'",
        ))
        .bind(&a.tenant_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err("activate: tenant"))?;
        let Some((slug, server_id, database, template_id, version)) = row else {
            return Err(StoreError::NotFound { what: "tenant being provisioned", key: a.tenant_id.clone() });
        };
        let database = a.database_name.clone().unwrap_or(database);
        sqlx::query(&self.sql("UPDATE tenants SET database_name = ? WHERE id = ?"))
            .bind(&database)
            .bind(&a.tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(err("activate: database name"))?;
        sqlx::query(&self.sql(
            "UPDATE tenants SET status = 'active', status_detail = NULL, initial_schema = ?, last_schema_sync = ?, \
             schema_drift_level = 'none', updated_at = ? WHERE id = ?",
        ))
        .bind(&a.initial_schema)
        .bind(&now)
        .bind(&now)
        .bind(&a.tenant_id)
        .execute(&mut *tx)
        .await
        .map_err(err("activate: tenants"))?;
        sqlx::query(&self.sql("DELETE FROM tenant_databases WHERE tenant_id = ?"))
            .bind(&a.tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(err("activate: old database row"))?;
        sqlx::query(&self.sql(
            "INSERT INTO tenant_databases (tenant_id, tenant_slug, server_id, database_name, username, password_secret, \
             status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
        ))
        .bind(&a.tenant_id)
        .bind(&slug)
        .bind(server_id)
        .bind(&database)
        .bind(a.username.clone())
        .bind(a.password_secret.clone())
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(err("activate: tenant_databases"))?;
        sqlx::query(&self.sql(
            "INSERT INTO tenant_migrations_history (tenant_id, migration_name, migration_type, applied_at, applied_by, \
             status, checksum, execution_time_ms, rollback_snapshot, affected_tables, notes) \
             VALUES (?, ?, ?, ?, ?, 'applied', ?, ?, '[]', ?, ?)",
        ))
        .bind(&a.tenant_id)
        .bind(&a.migration_name)
        .bind(&a.migration_type)
        .bind(&now)
        .bind(&a.applied_by)
        .bind(&a.checksum)
        .bind(a.execution_time_ms)
        .bind(serde_json::json!(a.affected_tables).to_string())
        .bind(&a.notes)
        .execute(&mut *tx)
        .await
        .map_err(err("activate: history"))?;
        sqlx::query(&self.sql("UPDATE template_versions SET is_locked = 1 WHERE template_id = ? AND version = ?"))
            .bind(template_id)
            .bind(&version)
            .execute(&mut *tx)
            .await
            .map_err(err("activate: lock version"))?;
        sqlx::query(&self.sql("UPDATE tenant_templates SET is_locked = 1 WHERE id = ?"))
            .bind(template_id)
            .execute(&mut *tx)
            .await
            .map_err(err("activate: lock template"))?;
        tx.commit().await.map_err(err("activate: commit"))?;
        Ok(())
    }

    /// Marks a tenant `failed` with the reason.
    pub async fn fail_tenant(&self, tenant_id: &str, reason: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE tenants SET status = 'failed', status_detail = ?, updated_at = ? WHERE id = ?",
            vec![reason.into(), crate::time::now().into(), tenant_id.into()],
        )
        .await?;
        Ok(())
    }

    /// A tenant by slug (deleted ones too; callers check `deleted_at`).
    pub async fn tenant(&self, slug: &str) -> Result<Option<TenantRecord>, StoreError> {
        self.fetch_all(&format!("{SELECT} WHERE t.slug = ?"), vec![slug.into()]).await?.first().map(record).transpose()
    }

    pub async fn tenants(&self, f: &TenantFilter) -> Result<Vec<TenantRecord>, StoreError> {
        let mut q = format!("{SELECT} WHERE 1 = 1");
        let mut binds: Vec<Value> = Vec::new();
        if !f.include_deleted {
            q.push_str(" AND t.deleted_at IS NULL");
        }
        if let Some(t) = &f.template {
            q.push_str(" AND tt.name = ?");
            binds.push(t.clone().into());
        }
        if let Some(s) = &f.status {
            q.push_str(" AND t.status = ?");
            binds.push(s.clone().into());
        }
        if let Some(d) = &f.drift {
            q.push_str(" AND t.schema_drift_level = ?");
            binds.push(d.clone().into());
        }
        q.push_str(" ORDER BY t.slug");
        self.fetch_all(&q, binds).await?.iter().map(record).collect()
    }

    /// Tenants left `provisioning` by a process that is gone.
    pub async fn provisioning_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.tenants(&TenantFilter { status: Some("provisioning".into()), ..Default::default() }).await
    }

    /// Sets a tenant's status (`suspended`, `active`, …).
    pub async fn set_tenant_status(&self, tenant_id: &str, status: &str) -> Result<(), StoreError> {
        let now = crate::time::now();
        self.execute(
            "UPDATE tenants SET status = ?, updated_at = ? WHERE id = ?",
            vec![status.into(), now.clone().into(), tenant_id.into()],
        )
        .await?;
        self.execute(
            "UPDATE tenant_databases SET status = ?, updated_at = ? WHERE tenant_id = ?",
            vec![status.into(), now.into(), tenant_id.into()],
        )
        .await?;
        Ok(())
    }

    /// Soft-deletes a tenant: rows and history stay, with `deleted_at` and status `archived`.
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<(), StoreError> {
        let now = crate::time::now();
        self.execute(
            "UPDATE tenants SET status = 'archived', deleted_at = ?, updated_at = ? WHERE id = ?",
            vec![now.clone().into(), now.clone().into(), tenant_id.into()],
        )
        .await?;
        self.execute(
            "UPDATE tenant_databases SET status = 'archived', updated_at = ? WHERE tenant_id = ?",
            vec![now.into(), tenant_id.into()],
        )
        .await?;
        Ok(())
    }

    pub async fn tenant_database(&self, tenant_id: &str) -> Result<Option<TenantDatabaseRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT server_id, database_name, username, password_secret, status FROM tenant_databases WHERE tenant_id = ?",
                vec![tenant_id.into()],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(TenantDatabaseRecord {
                    server_id: get(r, "server_id")?,
                    database_name: text(r, "database_name")?,
                    username: opt_text(r, "username")?,
                    password_secret: opt_text(r, "password_secret")?,
                    status: text(r, "status")?,
                })
            })
            .transpose()
    }

    pub async fn history(&self, tenant_id: &str) -> Result<Vec<HistoryRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT migration_name, migration_type, status, checksum, execution_time_ms, applied_at, applied_by, \
                 affected_tables, notes FROM tenant_migrations_history WHERE tenant_id = ? ORDER BY applied_at, id",
                vec![tenant_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRecord {
                    migration_name: text(r, "migration_name")?,
                    migration_type: text(r, "migration_type")?,
                    status: text(r, "status")?,
                    checksum: opt_text(r, "checksum")?,
                    execution_time_ms: get(r, "execution_time_ms")?,
                    applied_at: text(r, "applied_at")?,
                    applied_by: opt_text(r, "applied_by")?,
                    affected_tables: opt_text(r, "affected_tables")?
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or(serde_json::Value::Null),
                    notes: opt_text(r, "notes")?,
                })
            })
            .collect()
    }
}

/// A `tenant_users` row (the password hash never leaves the store).
#[derive(Debug, Clone, Serialize)]
pub struct TenantUserRecord {
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub has_password: bool,
    pub created_at: String,
}

/// A `tenant_applications` row.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationRecord {
    pub name: String,
    pub domain: String,
    pub created_at: String,
}

impl Landlord {
    /// The server and database of a tenant database row, to refuse adopting one twice.
    pub async fn database_owner(&self, server_id: i64, database: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT tenant_slug FROM tenant_databases d JOIN tenants t ON t.id = d.tenant_id \
                 WHERE d.server_id = ? AND d.database_name = ? AND t.deleted_at IS NULL",
                vec![server_id.into(), database.into()],
            )
            .await?;
        rows.first().map(|r| text(r, "tenant_slug")).transpose()
    }

    pub async fn add_tenant_user(&self, tenant_id: &str, email: &str, name: Option<&str>, role: &str, password_hash: Option<&str>) -> Result<(), StoreError> {
        let now = crate::time::now();
        let r = sqlx::query(&self.sql(
            "INSERT INTO tenant_users (tenant_id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(tenant_id)
        .bind(email)
        .bind(name.map(str::to_string))
        .bind(role)
        .bind(password_hash.map(str::to_string))
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict { what: "tenant user", key: email.to_string() }),
            Err(e) => Err(StoreError::query("INSERT INTO tenant_users")(e)),
            Ok(_) => Ok(()),
        }
    }

    pub async fn tenant_users(&self, tenant_id: &str) -> Result<Vec<TenantUserRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT email, name, role, password_hash, created_at FROM tenant_users WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY email",
                vec![tenant_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantUserRecord {
                    email: text(r, "email")?,
                    name: opt_text(r, "name")?,
                    role: text(r, "role")?,
                    has_password: opt_text(r, "password_hash")?.is_some(),
                    created_at: text(r, "created_at")?,
                })
            })
            .collect()
    }

    pub async fn add_application(&self, tenant_id: &str, name: &str, domain: &str) -> Result<(), StoreError> {
        let r = sqlx::query(&self.sql("INSERT INTO tenant_applications (tenant_id, name, domain, created_at) VALUES (?, ?, ?, ?)"))
            .bind(tenant_id)
            .bind(name)
            .bind(domain)
            .bind(crate::time::now())
            .execute(&self.pool)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict { what: "domain", key: domain.to_string() }),
            Err(e) => Err(StoreError::query("INSERT INTO tenant_applications")(e)),
            Ok(_) => Ok(()),
        }
    }

    pub async fn applications(&self, tenant_id: &str) -> Result<Vec<ApplicationRecord>, StoreError> {
        let rows = self
            .fetch_all("SELECT name, domain, created_at FROM tenant_applications WHERE tenant_id = ? ORDER BY domain", vec![tenant_id.into()])
            .await?;
        rows.iter()
            .map(|r| Ok(ApplicationRecord { name: text(r, "name")?, domain: text(r, "domain")?, created_at: text(r, "created_at")? }))
            .collect()
    }

    /// The slug of the tenant serving `domain`.
    pub async fn slug_for_domain(&self, domain: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT t.slug FROM tenant_applications a JOIN tenants t ON t.id = a.tenant_id WHERE a.domain = ? AND t.deleted_at IS NULL",
                vec![domain.into()],
            )
            .await?;
        rows.first().map(|r| text(r, "slug")).transpose()
    }
}

/// A database waiting in the warm pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolEntry {
    #[serde(skip)]
    pub id: i64,
    pub server_id: i64,
    pub template_id: i64,
    pub template_version: String,
    pub version_checksum: String,
    pub modules: String,
    pub database_name: String,
    pub created_at: String,
}

fn pool_entry(r: &AnyRow) -> Result<PoolEntry, StoreError> {
    Ok(PoolEntry {
        id: get(r, "id")?,
        server_id: get(r, "server_id")?,
        template_id: get(r, "template_id")?,
        template_version: text(r, "template_version")?,
        version_checksum: text(r, "version_checksum")?,
        modules: text(r, "modules")?,
        database_name: text(r, "database_name")?,
        created_at: text(r, "created_at")?,
    })
}

impl Landlord {
    pub async fn add_pool_entry(&self, e: &PoolEntry) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO warm_pool (server_id, template_id, template_version, version_checksum, modules, database_name, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                e.server_id.into(),
                e.template_id.into(),
                e.template_version.clone().into(),
                e.version_checksum.clone().into(),
                e.modules.clone().into(),
                e.database_name.clone().into(),
                crate::time::now().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Entries of a template on a server (all versions), oldest first.
    pub async fn pool_entries(&self, template_id: Option<i64>) -> Result<Vec<PoolEntry>, StoreError> {
        let rows = match template_id {
            Some(t) => self.fetch_all("SELECT * FROM warm_pool WHERE template_id = ? ORDER BY id", vec![t.into()]).await?,
            None => self.fetch_all("SELECT * FROM warm_pool ORDER BY id", vec![]).await?,
        };
        rows.iter().map(pool_entry).collect()
    }

    /// Takes one ready database for (server, version content, modules): exactly one
    /// of any number of concurrent claimers gets each entry.
    pub async fn claim_pool_entry(&self, server_id: i64, version_checksum: &str, modules: &str) -> Result<Option<PoolEntry>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT * FROM warm_pool WHERE server_id = ? AND version_checksum = ? AND modules = ? ORDER BY id LIMIT 8",
                vec![server_id.into(), version_checksum.into(), modules.into()],
            )
            .await?;
        for r in &rows {
            let e = pool_entry(r)?;
            if self.execute("DELETE FROM warm_pool WHERE id = ?", vec![e.id.into()]).await? == 1 {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Forgets an entry (its database is being dropped).
    pub async fn remove_pool_entry(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM warm_pool WHERE id = ?", vec![id.into()]).await? == 1)
    }
}

/// A prepared database (a clone source) this landlord built.
#[derive(Debug, Clone, Serialize)]
pub struct PreparedRecord {
    pub server_id: i64,
    pub database_name: String,
    pub template_id: i64,
    pub template_version: String,
    pub modules: String,
    pub created_at: String,
}

impl Landlord {
    /// Records a prepared database; recording one twice (two creates that raced to
    /// build it) is not an error.
    pub async fn record_prepared(&self, p: &PreparedRecord) -> Result<(), StoreError> {
        if self.prepared_known(p).await? {
            return Ok(());
        }
        let inserted = self
            .execute(
                "INSERT INTO prepared_databases (server_id, database_name, template_id, template_version, modules, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    p.server_id.into(),
                    p.database_name.clone().into(),
                    p.template_id.into(),
                    p.template_version.clone().into(),
                    p.modules.clone().into(),
                    crate::time::now().into(),
                ],
            )
            .await;
        match inserted {
            Err(_) if self.prepared_known(p).await? => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// The distinct module sets of a template's live tenants: what its next creates
    /// are likely to ask for. One row per set, however large the fleet.
    pub async fn tenant_module_sets(&self, template_id: i64) -> Result<Vec<Vec<String>>, StoreError> {
        let rows = self
            .fetch_all("SELECT DISTINCT modules FROM tenants WHERE template_id = ? AND deleted_at IS NULL", vec![template_id.into()])
            .await?;
        rows.iter()
            .map(|r| match opt_text(r, "modules")? {
                Some(m) => serde_json::from_str(&m).map_err(|e| StoreError::Corrupt(format!("tenant modules: {e}"))),
                None => Ok(Vec::new()),
            })
            .collect()
    }

    async fn prepared_known(&self, p: &PreparedRecord) -> Result<bool, StoreError> {
        let sql = "SELECT database_name FROM prepared_databases WHERE server_id = ? AND database_name = ?";
        Ok(!self.fetch_all(sql, vec![p.server_id.into(), p.database_name.clone().into()]).await?.is_empty())
    }

    pub async fn prepared_databases(&self) -> Result<Vec<PreparedRecord>, StoreError> {
        let rows = self.fetch_all("SELECT * FROM prepared_databases ORDER BY server_id, database_name", vec![]).await?;
        rows.iter()
            .map(|r| {
                Ok(PreparedRecord {
                    server_id: get(r, "server_id")?,
                    database_name: text(r, "database_name")?,
                    template_id: get(r, "template_id")?,
                    template_version: text(r, "template_version")?,
                    modules: text(r, "modules")?,
                    created_at: text(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Forgets a prepared database (it is being dropped).
    pub async fn forget_prepared(&self, server_id: i64, database_name: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM prepared_databases WHERE server_id = ? AND database_name = ?", vec![server_id.into(), database_name.into()]).await?;
        Ok(())
    }
}
