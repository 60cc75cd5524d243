//! After provisioning: list, show, live schema, credentials, suspend and resume,
//! delete, adopt.

use super::meta;
use crate::{Engine, EngineError};
use serde::Serialize;
use tenantry_domain::{DatabaseName, LoginName, Slug};
use tenantry_schema::Schema;
use tenantry_store::{HistoryRecord, TenantFilter, TenantRecord};

/// `tenant credentials --json`: the contract's `{host, port, database, username, password}`.
#[derive(Debug, Serialize)]
pub struct Credentials {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TenantDetail {
    #[serde(flatten)]
    pub tenant: TenantRecord,
    pub history: Vec<HistoryRecord>,
}

impl Engine {
    pub async fn tenants(&self, filter: &TenantFilter) -> Result<Vec<TenantRecord>, EngineError> {
        for (what, value, allowed) in [
            ("--status", &filter.status, &["provisioning", "active", "suspended", "archived", "failed"][..]),
            ("--drift", &filter.drift, &["none", "low", "medium", "high"][..]),
        ] {
            if let Some(v) = value {
                if !allowed.contains(&v.as_str()) {
                    return Err(EngineError::Invalid(format!("{what} `{v}`: use one of {}", allowed.join(", "))));
                }
            }
        }
        Ok(self.landlord.tenants(filter).await?)
    }

    pub async fn tenant_detail(&self, slug: &str) -> Result<TenantDetail, EngineError> {
        let tenant = self.tenant_record(slug).await?;
        let history = self.landlord.history(&tenant.id).await?;
        Ok(TenantDetail { tenant, history })
    }

    pub async fn tenant_history(&self, slug: &str) -> Result<Vec<HistoryRecord>, EngineError> {
        let tenant = self.tenant_record(slug).await?;
        Ok(self.landlord.history(&tenant.id).await?)
    }

    pub(crate) fn tenant_db(t: &TenantRecord) -> Result<DatabaseName, EngineError> {
        let name = t.database.as_deref().ok_or_else(|| EngineError::Invalid(format!("tenant `{}` has no database", t.slug)))?;
        Ok(DatabaseName::new(name)?)
    }

    /// The tenant database's live schema (tenantry's own metadata left out).
    pub async fn tenant_schema(&self, slug: &str) -> Result<Schema, EngineError> {
        let t = self.tenant_record(slug).await?;
        let driver = self.driver(&self.tenant_server(&t).await?).await?;
        Ok(driver.introspect(&Self::tenant_db(&t)?).await?.without(meta::OWN_OBJECTS))
    }

    pub async fn tenant_credentials(&self, slug: &str) -> Result<Credentials, EngineError> {
        let t = self.tenant_record(slug).await?;
        if t.status != "active" {
            return Err(EngineError::Invalid(format!("tenant `{slug}` is {}; credentials are given for active tenants", t.status)));
        }
        let driver = self.driver(&self.tenant_server(&t).await?).await?;
        let location = driver.location(&Self::tenant_db(&t)?);
        let row = self.landlord.tenant_database(&t.id).await?;
        let password = match row.as_ref().and_then(|r| r.password_secret.as_deref()) {
            Some(secret) => Some(self.key.decrypt(secret)?),
            None => None,
        };
        Ok(Credentials {
            host: location.host,
            port: location.port,
            database: location.database,
            username: row.and_then(|r| r.username),
            password,
        })
    }

    /// Suspends (revokes database access) or resumes a tenant.
    pub async fn set_tenant_suspended(&self, slug: &str, suspended: bool) -> Result<TenantRecord, EngineError> {
        let t = self.tenant_record(slug).await?;
        let (from, to) = if suspended { ("active", "suspended") } else { ("suspended", "active") };
        if t.status != from {
            return Err(EngineError::Invalid(format!("tenant `{slug}` is {}, not {from}", t.status)));
        }
        let driver = self.driver(&self.tenant_server(&t).await?).await?;
        if driver.has_logins() {
            driver.set_login_enabled(&LoginName::for_slug(&Slug::new(slug)?), !suspended).await?;
        }
        self.landlord.set_tenant_status(&t.id, to).await?;
        self.tenant_record(slug).await
    }

    /// Deletes a tenant: its login and (unless kept) database go; its landlord rows and
    /// history stay, marked deleted.
    pub async fn delete_tenant(&self, slug: &str, keep_database: bool) -> Result<(), EngineError> {
        let t = self.tenant_record(slug).await?;
        if t.status == "provisioning" {
            return Err(EngineError::Invalid(format!("tenant `{slug}` is being provisioned; wait for it to finish")));
        }
        // The landlord first: a database left behind by a failed drop is visible and
        // harmless; a landlord pointing at a dropped database is not.
        self.landlord.delete_tenant(&t.id).await?;
        let server = self.tenant_server(&t).await?;
        let driver = self.driver(&server).await?;
        let db = Self::tenant_db(&t)?;
        if t.status != "failed" {
            driver.drop_login(&db, &LoginName::for_slug(&Slug::new(slug)?)).await?;
        }
        if !keep_database {
            driver.drop_database(&db).await.map_err(|e| {
                EngineError::Invalid(format!("tenant `{slug}` is deleted, but its database `{db}` on `{}` could not be dropped: {e}", server.name))
            })?;
        }
        Ok(())
    }
}
