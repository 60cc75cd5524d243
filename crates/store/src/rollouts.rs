//! `rollouts` and `tenant_applied_migrations`: durable fleet migrations. A rollout is
//! written whole (a row per tenant and migration) before any tenant is touched, so a
//! crash leaves a record to resume from.

use crate::{opt_text, text, Landlord, StoreError, Value};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct RolloutRecord {
    pub rollout_id: i64,
    pub status: String,
    pub template: Option<String>,
    pub target_version: Option<String>,
    pub concurrency: i64,
    pub canary: i64,
    pub max_failures: i64,
    pub created_by: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub pending: i64,
    pub running: i64,
    pub applied: i64,
    pub skipped: i64,
    pub failed: i64,
    pub customized: i64,
    pub rolled_back: i64,
}

/// One row of a rollout: a tenant and a migration.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    #[serde(skip)]
    pub tenant_id: String,
    pub slug: String,
    #[serde(skip)]
    pub migration_id: i64,
    pub migration: String,
    pub version: String,
    pub status: String,
    pub notes: Option<String>,
}

/// A planned row: `pending`, or `skipped` with the reason.
#[derive(Debug, Clone)]
pub struct NewStep {
    pub tenant_id: String,
    pub migration_id: i64,
    pub status: String,
    pub notes: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRollout {
    pub template_id: Option<i64>,
    pub target_version: Option<String>,
    pub concurrency: i64,
    pub canary: i64,
    pub max_failures: i64,
    pub created_by: String,
    pub plan: serde_json::Value,
    pub steps: Vec<NewStep>,
}

/// A `tenant_migrations_history` row to write.
#[derive(Debug, Clone)]
pub struct NewHistory {
    pub tenant_id: String,
    pub migration_name: String,
    pub migration_type: String,
    pub status: String,
    pub checksum: Option<String>,
    pub execution_time_ms: i64,
    pub rollback_snapshot: serde_json::Value,
    pub affected_tables: Vec<String>,
    pub applied_by: String,
    pub notes: Option<String>,
}

fn get<T>(row: &AnyRow, col: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| StoreError::Query { context: format!("reading {col}"), source: e })
}

const ROLLOUT_SELECT: &str = "SELECT r.id, r.status, r.target_version, r.concurrency, r.canary, r.max_failures, \
    r.created_by, r.created_at, r.started_at, r.finished_at, tt.name AS template_name, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'pending') AS n_pending, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'running') AS n_running, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'applied') AS n_applied, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'skipped') AS n_skipped, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'failed') AS n_failed, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'customized') AS n_customized, \
    (SELECT COUNT(*) FROM tenant_applied_migrations a WHERE a.rollout_id = r.id AND a.status = 'rolled_back') AS n_rolled_back \
    FROM rollouts r LEFT JOIN tenant_templates tt ON tt.id = r.template_id";

fn rollout(r: &AnyRow) -> Result<RolloutRecord, StoreError> {
    Ok(RolloutRecord {
        rollout_id: get(r, "id")?,
        status: text(r, "status")?,
        template: opt_text(r, "template_name")?,
        target_version: opt_text(r, "target_version")?,
        concurrency: get(r, "concurrency")?,
        canary: get(r, "canary")?,
        max_failures: get(r, "max_failures")?,
        created_by: opt_text(r, "created_by")?,
        created_at: text(r, "created_at")?,
        started_at: opt_text(r, "started_at")?,
        finished_at: opt_text(r, "finished_at")?,
        pending: get(r, "n_pending")?,
        running: get(r, "n_running")?,
        applied: get(r, "n_applied")?,
        skipped: get(r, "n_skipped")?,
        failed: get(r, "n_failed")?,
        customized: get(r, "n_customized")?,
        rolled_back: get(r, "n_rolled_back")?,
    })
}

impl Landlord {
    /// Writes a rollout and all its rows in one transaction. A tenant's row for a
    /// migration (from an earlier, unfinished rollout) is taken over.
    pub async fn create_rollout(&self, r: &NewRollout) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let err = StoreError::query;
        let result = sqlx::query(&self.sql(
            "INSERT INTO rollouts (template_id, target_version, status, concurrency, canary, max_failures, plan, created_by, created_at) \
             VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
        ))
        .bind(r.template_id)
        .bind(r.target_version.clone())
        .bind(r.concurrency)
        .bind(r.canary)
        .bind(r.max_failures)
        .bind(r.plan.to_string())
        .bind(&r.created_by)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(err("create rollout"))?;
        let id = match result.last_insert_id() {
            Some(id) => id,
            None => {
                let (id,): (i64,) = sqlx::query_as(&self.sql("SELECT MAX(id) FROM rollouts WHERE created_at = ? AND created_by = ?"))
                    .bind(&now)
                    .bind(&r.created_by)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err("rollout id"))?;
                id
            }
        };
        for s in &r.steps {
            sqlx::query(&self.sql("DELETE FROM tenant_applied_migrations WHERE tenant_id = ? AND migration_id = ? AND status <> 'applied'"))
                .bind(&s.tenant_id)
                .bind(s.migration_id)
                .execute(&mut *tx)
                .await
                .map_err(err("rollout: previous row"))?;
            sqlx::query(&self.sql(
                "INSERT INTO tenant_applied_migrations (tenant_id, migration_id, rollout_id, status, notes) VALUES (?, ?, ?, ?, ?)",
            ))
            .bind(&s.tenant_id)
            .bind(s.migration_id)
            .bind(id)
            .bind(&s.status)
            .bind(s.notes.clone())
            .execute(&mut *tx)
            .await
            .map_err(err("rollout: row"))?;
        }
        tx.commit().await.map_err(err("rollout: commit"))?;
        Ok(id)
    }

    pub async fn rollout(&self, id: i64) -> Result<Option<RolloutRecord>, StoreError> {
        self.fetch_all(&format!("{ROLLOUT_SELECT} WHERE r.id = ?"), vec![id.into()]).await?.first().map(rollout).transpose()
    }

    pub async fn rollouts(&self) -> Result<Vec<RolloutRecord>, StoreError> {
        self.fetch_all(&format!("{ROLLOUT_SELECT} ORDER BY r.id DESC"), vec![]).await?.iter().map(rollout).collect()
    }

    pub async fn set_rollout_status(&self, id: i64, status: &str) -> Result<(), StoreError> {
        let now = crate::time::now();
        let q = match status {
            "running" => "UPDATE rollouts SET status = ?, started_at = COALESCE(started_at, ?) WHERE id = ?",
            _ => "UPDATE rollouts SET status = ?, finished_at = ? WHERE id = ?",
        };
        self.execute(q, vec![status.into(), now.into(), id.into()]).await?;
        Ok(())
    }

    /// A rollout's rows, by tenant then migration.
    pub async fn rollout_steps(&self, id: i64) -> Result<Vec<StepRecord>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT a.tenant_id, t.slug, a.migration_id, m.migration_name, m.produces_version, a.status, a.notes \
                 FROM tenant_applied_migrations a JOIN tenants t ON t.id = a.tenant_id \
                 JOIN template_migrations m ON m.id = a.migration_id WHERE a.rollout_id = ? ORDER BY t.slug, m.migration_name",
                vec![id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StepRecord {
                    tenant_id: text(r, "tenant_id")?,
                    slug: text(r, "slug")?,
                    migration_id: get(r, "migration_id")?,
                    migration: text(r, "migration_name")?,
                    version: text(r, "produces_version")?,
                    status: text(r, "status")?,
                    notes: opt_text(r, "notes")?,
                })
            })
            .collect()
    }

    pub async fn set_step(&self, tenant_id: &str, migration_id: i64, status: &str, notes: Option<&str>, checksum: Option<&str>) -> Result<(), StoreError> {
        let applied_at = (status == "applied").then(crate::time::now);
        self.execute(
            "UPDATE tenant_applied_migrations SET status = ?, notes = ?, checksum = COALESCE(?, checksum), \
             applied_at = COALESCE(?, applied_at) WHERE tenant_id = ? AND migration_id = ?",
            vec![
                status.into(),
                Value::OptText(notes.map(str::to_string)),
                Value::OptText(checksum.map(str::to_string)),
                Value::OptText(applied_at),
                tenant_id.into(),
                migration_id.into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Ends a step in one transaction: its status, its history row and (when applied)
    /// the tenant's new version, so a crash cannot record one without the others.
    pub async fn finish_step(
        &self,
        migration_id: i64,
        status: &str,
        notes: Option<&str>,
        history: &NewHistory,
        version: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let err = StoreError::query;
        sqlx::query(&self.sql(
            "UPDATE tenant_applied_migrations SET status = ?, notes = ?, checksum = COALESCE(?, checksum), \
             applied_at = COALESCE(?, applied_at) WHERE tenant_id = ? AND migration_id = ?",
        ))
        .bind(status)
        .bind(notes.map(str::to_string))
        .bind(history.checksum.clone())
        .bind((status == "applied").then(|| now.clone()))
        .bind(&history.tenant_id)
        .bind(migration_id)
        .execute(&mut *tx)
        .await
        .map_err(err("finish step: row"))?;
        self.insert_history(&mut tx, history, &now).await?;
        if let Some(v) = version {
            sqlx::query(&self.sql("UPDATE tenants SET template_version = ?, last_schema_sync = ?, updated_at = ? WHERE id = ?"))
                .bind(v)
                .bind(&now)
                .bind(&now)
                .bind(&history.tenant_id)
                .execute(&mut *tx)
                .await
                .map_err(err("finish step: version"))?;
        }
        tx.commit().await.map_err(err("finish step: commit"))?;
        Ok(())
    }

    /// A tenant's rows in `tenant_applied_migrations`: (migration name, checksum, status).
    /// Writes one history row inside a transaction.
    pub(crate) async fn insert_history(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        history: &NewHistory,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "INSERT INTO tenant_migrations_history (tenant_id, migration_name, migration_type, applied_at, applied_by, status, \
             checksum, execution_time_ms, rollback_snapshot, affected_tables, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&history.tenant_id)
        .bind(&history.migration_name)
        .bind(&history.migration_type)
        .bind(now)
        .bind(&history.applied_by)
        .bind(&history.status)
        .bind(history.checksum.clone())
        .bind(history.execution_time_ms)
        .bind(history.rollback_snapshot.to_string())
        .bind(serde_json::json!(history.affected_tables).to_string())
        .bind(history.notes.clone())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query("history row"))?;
        Ok(())
    }

    pub async fn tenant_migrations(&self, tenant_id: &str) -> Result<Vec<(String, Option<String>, String, i64)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT m.migration_name, a.checksum, a.status, a.migration_id FROM tenant_applied_migrations a \
                 JOIN template_migrations m ON m.id = a.migration_id WHERE a.tenant_id = ? ORDER BY m.migration_name",
                vec![tenant_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((text(r, "migration_name")?, opt_text(r, "checksum")?, text(r, "status")?, get(r, "migration_id")?)))
            .collect()
    }

    pub async fn set_tenant_version(&self, tenant_id: &str, version: &str) -> Result<(), StoreError> {
        let now = crate::time::now();
        self.execute(
            "UPDATE tenants SET template_version = ?, last_schema_sync = ?, updated_at = ? WHERE id = ?",
            vec![version.into(), now.clone().into(), now.into(), tenant_id.into()],
        )
        .await?;
        Ok(())
    }

    pub async fn add_history(&self, h: &NewHistory) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tenant_migrations_history (tenant_id, migration_name, migration_type, applied_at, applied_by, status, \
             checksum, execution_time_ms, rollback_snapshot, affected_tables, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                h.tenant_id.clone().into(),
                h.migration_name.clone().into(),
                h.migration_type.clone().into(),
                crate::time::now().into(),
                h.applied_by.clone().into(),
                h.status.clone().into(),
                Value::OptText(h.checksum.clone()),
                h.execution_time_ms.into(),
                h.rollback_snapshot.to_string().into(),
                serde_json::json!(h.affected_tables).to_string().into(),
                Value::OptText(h.notes.clone()),
            ],
        )
        .await?;
        Ok(())
    }

    /// The migration ids of a template, by name.
    pub async fn migration_ids(&self, template_id: i64) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let rows = self.fetch_all("SELECT id, migration_name FROM template_migrations WHERE template_id = ?", vec![template_id.into()]).await?;
        rows.iter().map(|r| Ok((text(r, "migration_name")?, get(r, "id")?))).collect()
    }
}

/// An applied customization, as rollouts see it.
#[derive(Debug, Clone)]
pub struct AppliedCustomization {
    pub id: i64,
    pub kind: String,
    pub object: String,
}

impl Landlord {
    pub async fn applied_customizations(&self, tenant_id: &str) -> Result<Vec<AppliedCustomization>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT id, customization_type, object_name FROM tenant_customizations \
                 WHERE tenant_id = ? AND status = 'applied' AND is_active = 1 AND deleted_at IS NULL ORDER BY id",
                vec![tenant_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(AppliedCustomization { id: get(r, "id")?, kind: text(r, "customization_type")?, object: text(r, "object_name")? }))
            .collect()
    }
}
