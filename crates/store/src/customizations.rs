//! Tenant customizations (`tenant_customizations`) and drift reports (`tenant_drift`).
//!
//! Every workflow step is a conditional update (`… WHERE status = 'requested'`), so
//! two reviewers racing on one customization cannot both win, and an applied
//! customization's history row and the tenant's `customization_count` are written in
//! the same transaction as its status.

use crate::rollouts::NewHistory;
use crate::{opt_text, text, Landlord, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A customization being requested (or recorded as applied by `drift accept`).
#[derive(Debug, Clone)]
pub struct NewCustomization {
    pub tenant_id: String,
    pub kind: String,
    pub object: String,
    pub sql: String,
    pub base_version: Option<String>,
    pub checksum: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CustomizationRecord {
    pub id: i64,
    #[serde(skip)]
    pub tenant_id: String,
    pub tenant: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub object: String,
    pub sql: String,
    pub template_base_version: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub checksum: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
    /// The review: who approved or rejected it, and when.
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub applied_at: Option<String>,
    pub applied_by: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.tenant_id, t.slug, c.customization_type, c.object_name, c.definition_sql, \
    c.template_base_version, c.status, c.reason, c.checksum, c.created_at, c.created_by, c.approved_at, c.approved_by, \
    c.applied_at, c.applied_by FROM tenant_customizations c JOIN tenants t ON t.id = c.tenant_id";

fn record(r: &AnyRow) -> Result<CustomizationRecord, StoreError> {
    Ok(CustomizationRecord {
        id: r.try_get("id").map_err(|e| StoreError::Query { context: "reading id".into(), source: e })?,
        tenant_id: text(r, "tenant_id")?,
        tenant: text(r, "slug")?,
        kind: text(r, "customization_type")?,
        object: text(r, "object_name")?,
        sql: text(r, "definition_sql")?,
        template_base_version: opt_text(r, "template_base_version")?,
        status: text(r, "status")?,
        reason: opt_text(r, "reason")?,
        checksum: opt_text(r, "checksum")?,
        created_at: text(r, "created_at")?,
        created_by: opt_text(r, "created_by")?,
        reviewed_at: opt_text(r, "approved_at")?,
        reviewed_by: opt_text(r, "approved_by")?,
        applied_at: opt_text(r, "applied_at")?,
        applied_by: opt_text(r, "applied_by")?,
    })
}

/// Which customizations to list.
#[derive(Debug, Clone, Default)]
pub struct CustomizationFilter {
    pub status: Option<String>,
    pub tenant_id: Option<String>,
}

impl Landlord {
    pub async fn insert_customization(&self, c: &NewCustomization) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let id = self.insert_customization_row(&mut tx, c, false, &now).await?;
        tx.commit().await.map_err(StoreError::query("insert customization: commit"))?;
        Ok(id)
    }

    /// One row: `requested`, or (`accepted`) `applied` with its reviewer and applier
    /// being the actor. Returns its id.
    async fn insert_customization_row(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        c: &NewCustomization,
        accepted: bool,
        now: &str,
    ) -> Result<i64, StoreError> {
        let done = accepted.then(|| now.to_string());
        let by = accepted.then(|| c.actor.clone());
        sqlx::query(&self.sql(
            "INSERT INTO tenant_customizations (tenant_id, customization_type, object_name, definition_sql, \
             template_base_version, status, reason, checksum, created_at, created_by, approved_at, approved_by, \
             applied_at, applied_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&c.tenant_id)
        .bind(&c.kind)
        .bind(&c.object)
        .bind(&c.sql)
        .bind(c.base_version.clone())
        .bind(if accepted { "applied" } else { "requested" })
        .bind(accepted.then(|| "accepted from drift".to_string()))
        .bind(&c.checksum)
        .bind(now)
        .bind(&c.actor)
        .bind(done.clone())
        .bind(by.clone())
        .bind(done)
        .bind(by)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query("insert customization"))?;
        // The newest row of this tenant and object: portable where RETURNING is not
        // (the transaction holds the write lock, so it is ours).
        sqlx::query_scalar(&self.sql("SELECT MAX(id) FROM tenant_customizations WHERE tenant_id = ? AND object_name = ? AND created_at = ?"))
            .bind(&c.tenant_id)
            .bind(&c.object)
            .bind(now)
            .fetch_one(&mut **tx)
            .await
            .map_err(StoreError::query("customization id"))
    }

    pub async fn customization(&self, id: i64) -> Result<Option<CustomizationRecord>, StoreError> {
        let rows = self.fetch_all(&format!("{SELECT} WHERE c.id = ? AND c.deleted_at IS NULL"), vec![id.into()]).await?;
        rows.first().map(record).transpose()
    }

    pub async fn customizations(&self, f: &CustomizationFilter) -> Result<Vec<CustomizationRecord>, StoreError> {
        let mut q = format!("{SELECT} WHERE c.deleted_at IS NULL AND t.deleted_at IS NULL");
        let mut binds = Vec::new();
        if let Some(s) = &f.status {
            q.push_str(" AND c.status = ?");
            binds.push(s.clone().into());
        }
        if let Some(t) = &f.tenant_id {
            q.push_str(" AND c.tenant_id = ?");
            binds.push(t.clone().into());
        }
        q.push_str(" ORDER BY c.id");
        self.fetch_all(&q, binds).await?.iter().map(record).collect()
    }

    /// Moves a customization from one of `from` to `to` (`approved` or `rejected`),
    /// recording the reviewer. `false`: it was not in `from` any more (someone else
    /// got there first).
    pub async fn review_customization(&self, id: i64, from: &[&str], to: &str, actor: &str, reason: Option<&str>) -> Result<bool, StoreError> {
        let now = crate::time::now();
        let marks = vec!["?"; from.len()].join(", ");
        let mut binds: Vec<crate::Value> = vec![to.into(), now.clone().into(), actor.into(), reason.map(str::to_string).into(), now.into(), id.into()];
        binds.extend(from.iter().map(|s| (*s).into()));
        let n = self
            .execute(
                &format!(
                    "UPDATE tenant_customizations SET status = ?, approved_at = ?, approved_by = ?, reason = ?, updated_at = ? \
                     WHERE id = ? AND status IN ({marks})"
                ),
                binds,
            )
            .await?;
        Ok(n == 1)
    }

    /// Marks an approved customization applied, with its history row and the
    /// tenant's count, in one transaction. `false`: it was no longer `approved`.
    pub async fn finish_customization(&self, id: i64, actor: &str, history: &NewHistory) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let n = sqlx::query(&self.sql(
            "UPDATE tenant_customizations SET status = 'applied', applied_at = ?, applied_by = ?, updated_at = ? \
             WHERE id = ? AND status = 'approved'",
        ))
        .bind(&now)
        .bind(actor)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("apply customization"))?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        self.insert_history(&mut tx, history, &now).await?;
        self.recount_customizations(&mut tx, &history.tenant_id, &now).await?;
        tx.commit().await.map_err(StoreError::query("apply customization: commit"))?;
        Ok(true)
    }

    /// Records objects found in a tenant database as applied customizations (what
    /// `drift accept` does), with a history row each, in one transaction.
    pub async fn accept_customizations(&self, items: &[NewCustomization], histories: &[NewHistory]) -> Result<Vec<i64>, StoreError> {
        let Some(first) = items.first() else { return Ok(vec![]) };
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let mut ids = Vec::new();
        for c in items {
            ids.push(self.insert_customization_row(&mut tx, c, true, &now).await?);
        }
        for h in histories {
            self.insert_history(&mut tx, h, &now).await?;
        }
        self.recount_customizations(&mut tx, &first.tenant_id, &now).await?;
        tx.commit().await.map_err(StoreError::query("accept customizations: commit"))?;
        Ok(ids)
    }

    async fn recount_customizations(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, tenant_id: &str, now: &str) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "UPDATE tenants SET customization_count = (SELECT COUNT(*) FROM tenant_customizations c \
             WHERE c.tenant_id = tenants.id AND c.status = 'applied' AND c.is_active = 1 AND c.deleted_at IS NULL), \
             updated_at = ? WHERE id = ?",
        ))
        .bind(now)
        .bind(tenant_id)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::query("customization count"))?;
        Ok(())
    }

    /// Applied customizations of a tenant in the order they were applied: what its
    /// expected schema is built from.
    pub async fn applied_customization_records(&self, tenant_id: &str) -> Result<Vec<CustomizationRecord>, StoreError> {
        let q = format!(
            "{SELECT} WHERE c.tenant_id = ? AND c.status = 'applied' AND c.is_active = 1 AND c.deleted_at IS NULL \
             ORDER BY c.applied_at, c.id"
        );
        self.fetch_all(&q, vec![tenant_id.into()]).await?.iter().map(record).collect()
    }

    /// Every tenant's applied customizations at once (for a fleet scan).
    pub async fn all_applied_customizations(&self) -> Result<Vec<CustomizationRecord>, StoreError> {
        let q = format!(
            "{SELECT} WHERE c.status = 'applied' AND c.is_active = 1 AND c.deleted_at IS NULL AND t.deleted_at IS NULL \
             ORDER BY c.tenant_id, c.applied_at, c.id"
        );
        self.fetch_all(&q, vec![]).await?.iter().map(record).collect()
    }

    /// Stores a tenant's drift scan: the level on the tenant, the differences beside it.
    pub async fn save_drift(&self, tenant_id: &str, level: &str, differences: &serde_json::Value, expected_key: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let err = StoreError::query;
        sqlx::query(&self.sql("UPDATE tenants SET schema_drift_level = ?, last_schema_sync = ?, updated_at = ? WHERE id = ?"))
            .bind(level)
            .bind(&now)
            .bind(&now)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(err("drift level"))?;
        sqlx::query(&self.sql("DELETE FROM tenant_drift WHERE tenant_id = ?"))
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(err("drift report: clear"))?;
        sqlx::query(&self.sql(
            "INSERT INTO tenant_drift (tenant_id, drift_level, differences, expected_key, scanned_at) VALUES (?, ?, ?, ?, ?)",
        ))
        .bind(tenant_id)
        .bind(level)
        .bind(differences.to_string())
        .bind(expected_key)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(err("drift report"))?;
        tx.commit().await.map_err(err("drift report: commit"))?;
        Ok(())
    }

    /// The last stored drift report of a tenant: (level, differences, scanned at).
    pub async fn drift_report(&self, tenant_id: &str) -> Result<Option<(String, serde_json::Value, String)>, StoreError> {
        let rows = self
            .fetch_all("SELECT drift_level, differences, scanned_at FROM tenant_drift WHERE tenant_id = ?", vec![tenant_id.into()])
            .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let diffs = serde_json::from_str(&text(r, "differences")?)
            .map_err(|e| StoreError::Corrupt(format!("drift report of tenant {tenant_id}: {e}")))?;
        Ok(Some((text(r, "drift_level")?, diffs, text(r, "scanned_at")?)))
    }

    pub async fn expected_schema(&self, key: &str) -> Result<Option<String>, StoreError> {
        let rows = self.fetch_all("SELECT schema_json FROM expected_schemas WHERE cache_key = ?", vec![key.into()]).await?;
        rows.first().map(|r| text(r, "schema_json")).transpose()
    }

    /// Caches an expected schema; a concurrent writer of the same key wins harmlessly.
    pub async fn store_expected_schema(&self, key: &str, dialect: &str, schema_json: &str) -> Result<(), StoreError> {
        let r = self
            .execute(
                "INSERT INTO expected_schemas (cache_key, dialect, schema_json, created_at) VALUES (?, ?, ?, ?)",
                vec![key.into(), dialect.into(), schema_json.into(), crate::time::now().into()],
            )
            .await;
        match r {
            Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(StoreError::Query { source, .. }) if StoreError::is_unique_violation(&source) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
