//! Tenants: provisioning (all or nothing), lifecycle, credentials, placement.

mod adopt;
mod lifecycle;
pub(crate) mod meta;
mod people;
mod pool;
mod prepared;
mod provision;

pub use adopt::AdoptTenant;
pub use lifecycle::{Credentials, TenantDetail};
pub use people::{Resolved, TENANT_ROLES};
pub(crate) use people::check_email;
pub use pool::{PoolReport, PoolStatus, POOL_PREFIX};
pub use meta::{META_TABLE, INFO_VIEW, OWN_OBJECTS};
pub use prepared::{prepared_database_name, BUILDING_PREFIX, PREPARED_PREFIX};
pub use provision::{BuildMethod, CreateTenant};

use crate::{Engine, EngineError};
use tenantry_store::{ServerRecord, TenantRecord};

impl Engine {
    /// A tenant that is not deleted.
    pub(crate) async fn tenant_record(&self, slug: &str) -> Result<TenantRecord, EngineError> {
        match self.landlord.tenant(slug).await? {
            Some(t) if t.deleted_at.is_none() => Ok(t),
            _ => Err(EngineError::NotFound {
                what: "tenant",
                key: slug.to_string(),
                hint: "; `tenantry tenant list` shows the tenants".into(),
            }),
        }
    }

    /// The live tenants (active or suspended) of a template, or of all, narrowed to
    /// `slugs` when given; an unknown slug is an error, not silently dropped.
    pub(crate) async fn fleet(&self, template: Option<&str>, slugs: &[String]) -> Result<Vec<TenantRecord>, EngineError> {
        if let Some(t) = template {
            self.template_record(t).await?;
        }
        let all = self.landlord.tenants(&tenantry_store::TenantFilter { template: template.map(str::to_string), ..Default::default() }).await?;
        for slug in slugs {
            if !all.iter().any(|t| t.slug == *slug) {
                return Err(EngineError::NotFound { what: "tenant", key: slug.clone(), hint: String::new() });
            }
        }
        Ok(all
            .into_iter()
            .filter(|t| slugs.is_empty() || slugs.contains(&t.slug))
            .filter(|t| t.status == "active" || t.status == "suspended")
            .collect())
    }

    /// Claims a slug (see `Landlord::claim_tenant`), a lost race as a conflict.
    pub(crate) async fn claim(&self, new: &tenantry_store::NewTenant) -> Result<TenantRecord, EngineError> {
        self.landlord.claim_tenant(new).await.map_err(|e| match e {
            tenantry_store::StoreError::Conflict { .. } => EngineError::Conflict { what: "tenant", key: new.slug.clone() },
            other => other.into(),
        })
    }

    pub(crate) async fn tenant_server(&self, t: &TenantRecord) -> Result<ServerRecord, EngineError> {
        let id = t.server_id.ok_or_else(|| EngineError::Invalid(format!("tenant `{}` has no database server", t.slug)))?;
        self.landlord.server_by_id(id).await?.ok_or_else(|| EngineError::NotFound {
            what: "server of tenant",
            key: t.slug.clone(),
            hint: String::new(),
        })
    }

    /// Picks a server: the named one, or the least loaded active server of one of the
    /// template's dialects that has room.
    pub(crate) async fn place(&self, dialects: &[tenantry_domain::Dialect], named: Option<&str>) -> Result<ServerRecord, EngineError> {
        if let Some(name) = named {
            let s = self.server(name).await?;
            if !dialects.contains(&s.dialect) {
                return Err(EngineError::Invalid(format!(
                    "server `{name}` is {}, but the template supports {}",
                    s.dialect,
                    dialects.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
            if s.tenants >= s.capacity {
                return Err(EngineError::Invalid(format!("server `{name}` is full ({} of {} tenants)", s.tenants, s.capacity)));
            }
            return Ok(s);
        }
        let mut candidates: Vec<ServerRecord> = self
            .landlord
            .servers()
            .await?
            .into_iter()
            .filter(|s| dialects.contains(&s.dialect) && s.status == "active" && s.tenants < s.capacity)
            .collect();
        // Least loaded by share of capacity, then by name for a stable choice.
        candidates.sort_by(|a, b| {
            let (la, lb) = (a.tenants as f64 / a.capacity as f64, b.tenants as f64 / b.capacity as f64);
            la.partial_cmp(&lb).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.name.cmp(&b.name))
        });
        candidates.into_iter().next().ok_or_else(|| {
            EngineError::Invalid(format!(
                "no {} server has room for another tenant; add one with `tenantry server add` or raise a server's --capacity",
                dialects.iter().map(|d| d.as_str()).collect::<Vec<_>>().join("/")
            ))
        })
    }
}
