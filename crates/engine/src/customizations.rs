//! The customization workflow: request → approve → apply (or reject), each step a
//! conditional landlord update, the SQL checked (`tenantry_domain::customization`)
//! before it is stored and again before it runs.

use crate::{Engine, EngineError};
use std::time::Instant;
use tenantry_domain::customization::{check_customization, CheckedCustomization, CustomizationKind};
use tenantry_domain::rollout::affected_tables;
use tenantry_domain::template::checksum_text;
use tenantry_store::{CustomizationFilter, CustomizationRecord, NewCustomization, NewHistory, TenantRecord};

/// SQL larger than this is refused: customizations are single objects.
const MAX_SQL_BYTES: usize = 64 * 1024;

/// `custom request`.
#[derive(Debug, Clone)]
pub struct CustomizationRequest {
    pub slug: String,
    pub kind: String,
    pub object: String,
    pub sql: String,
    pub actor: String,
}

impl Engine {
    /// Checks a tenant's customization SQL for its server's dialect.
    pub(crate) async fn check_for_tenant(&self, t: &TenantRecord, kind: &str, object: &str, sql: &str) -> Result<CheckedCustomization, EngineError> {
        let kind = CustomizationKind::parse(kind).map_err(|e| EngineError::Invalid(e.to_string()))?;
        if sql.len() > MAX_SQL_BYTES {
            return Err(EngineError::Invalid(format!("customization SQL is {} bytes; the limit is {MAX_SQL_BYTES}", sql.len())));
        }
        let dialect = self.tenant_server(t).await?.dialect;
        check_customization(dialect, kind, object, sql)
            .map_err(|e| EngineError::Invalid(format!("customization refused for tenant `{}` ({dialect}): {e}", t.slug)))
    }

    pub async fn request_customization(&self, req: CustomizationRequest) -> Result<CustomizationRecord, EngineError> {
        let t = self.tenant_record(&req.slug).await?;
        if t.status != "active" && t.status != "suspended" {
            return Err(EngineError::Invalid(format!("tenant `{}` is {}; only active or suspended tenants take customizations", t.slug, t.status)));
        }
        let checked = self.check_for_tenant(&t, &req.kind, &req.object, &req.sql).await?;
        let id = self
            .landlord
            .insert_customization(&NewCustomization {
                tenant_id: t.id.clone(),
                kind: checked.kind.as_str().into(),
                object: checked.object.clone(),
                sql: req.sql.clone(),
                base_version: t.template_version.clone(),
                checksum: checksum_text(&req.sql),
                actor: req.actor,
            })
            .await?;
        self.customization(id).await
    }

    pub async fn customization(&self, id: i64) -> Result<CustomizationRecord, EngineError> {
        self.landlord.customization(id).await?.ok_or_else(|| EngineError::NotFound {
            what: "customization",
            key: id.to_string(),
            hint: "; `tenantry custom list` shows them".into(),
        })
    }

    pub async fn customizations(&self, status: Option<&str>, slug: Option<&str>) -> Result<Vec<CustomizationRecord>, EngineError> {
        if let Some(s) = status {
            if !["requested", "approved", "applied", "rejected"].contains(&s) {
                return Err(EngineError::Invalid(format!("unknown status `{s}`; use requested, approved, applied or rejected")));
            }
        }
        let tenant_id = match slug {
            Some(s) => Some(self.tenant_record(s).await?.id),
            None => None,
        };
        Ok(self.landlord.customizations(&CustomizationFilter { status: status.map(str::to_string), tenant_id }).await?)
    }

    async fn review(&self, id: i64, from: &[&str], to: &str, actor: &str, reason: Option<&str>) -> Result<CustomizationRecord, EngineError> {
        let c = self.customization(id).await?;
        if !self.landlord.review_customization(id, from, to, actor, reason).await? {
            let now = self.customization(id).await?;
            return Err(EngineError::Invalid(format!(
                "customization {id} ({} `{}` of tenant `{}`) is {}; only a {} one can be {to}",
                c.kind,
                c.object,
                c.tenant,
                now.status,
                from.join(" or ")
            )));
        }
        self.customization(id).await
    }

    pub async fn approve_customization(&self, id: i64, actor: &str) -> Result<CustomizationRecord, EngineError> {
        self.review(id, &["requested"], "approved", actor, None).await
    }

    pub async fn reject_customization(&self, id: i64, reason: &str, actor: &str) -> Result<CustomizationRecord, EngineError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(EngineError::Invalid("a rejection needs a reason of 1 to 1000 characters".into()));
        }
        self.review(id, &["requested", "approved"], "rejected", actor, Some(reason)).await
    }

    /// Runs an approved customization in its tenant's database and records it.
    pub async fn apply_customization(&self, id: i64, actor: &str) -> Result<CustomizationRecord, EngineError> {
        let c = self.customization(id).await?;
        if c.status != "approved" {
            return Err(EngineError::Invalid(format!("customization {id} is {}; approve it first (`tenantry custom approve {id}`)", c.status)));
        }
        let t = self.tenant_record(&c.tenant).await?;
        if t.status != "active" {
            return Err(EngineError::Invalid(format!("tenant `{}` is {}; resume it before applying customizations", t.slug, t.status)));
        }
        let checked = self.check_for_tenant(&t, &c.kind, &c.object, &c.sql).await?;
        let server = self.tenant_server(&t).await?;
        let driver = self.driver(&server).await?;
        let db = Self::tenant_db(&t)?;
        let before = driver.introspect(&db).await?;
        if before.has(&c.kind, &c.object) {
            return Err(EngineError::Invalid(format!(
                "tenant `{}` already has a {} `{}`; `tenantry drift accept {}` records an existing object instead",
                t.slug, c.kind, c.object, t.slug
            )));
        }
        let affected = affected_tables(server.dialect, &c.sql);
        let snapshot = before.clone();
        let started = Instant::now();
        if let Err(e) = driver.execute_script(&db, &c.sql).await {
            // MySQL commits each statement: undo a half-made table customization.
            if !driver.transactional_ddl() && checked.kind == CustomizationKind::Table {
                let drop = tenantry_schema::ddl::writer(server.dialect).drop_table(&c.object);
                if driver.introspect(&db).await.is_ok_and(|s| s.has("table", &c.object)) {
                    let _ = driver.execute_script(&db, &drop).await;
                }
            }
            return Err(EngineError::Invalid(format!(
                "customization {id} ({} `{}`) failed in tenant `{}` on server `{}`: {e}; nothing was recorded, fix the SQL with a new request",
                c.kind, c.object, t.slug, server.name
            )));
        }
        let history = NewHistory {
            tenant_id: t.id.clone(),
            migration_name: format!("custom_{id}_{}", c.object),
            migration_type: "custom".into(),
            status: "applied".into(),
            checksum: c.checksum.clone(),
            execution_time_ms: started.elapsed().as_millis() as i64,
            rollback_snapshot: serde_json::to_value(snapshot_of(&snapshot, &affected)).unwrap_or_default(),
            affected_tables: affected,
            applied_by: actor.to_string(),
            notes: Some(format!("{} {}", c.kind, c.object)),
        };
        if !self.landlord.finish_customization(id, actor, &history).await? {
            return Err(EngineError::Invalid(format!("customization {id} changed status while it was being applied; check `tenantry custom list`")));
        }
        self.customization(id).await
    }
}

/// The affected tables of a schema, as a rollback snapshot.
fn snapshot_of(s: &tenantry_schema::Schema, tables: &[String]) -> tenantry_schema::Schema {
    let mut out = tenantry_schema::Schema::new(s.dialect);
    for t in tables {
        if let Some(table) = s.tables.get(t) {
            out.tables.insert(t.clone(), table.clone());
        }
    }
    out
}
