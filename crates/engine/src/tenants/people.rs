//! A tenant's users (`tenant_users`) and applications (`tenant_applications`, by
//! domain), and resolving a slug or domain to where the application connects.

use super::lifecycle::Credentials;
use crate::{Engine, EngineError};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use serde::Serialize;
use tenantry_store::{ApplicationRecord, TenantUserRecord};

pub const TENANT_ROLES: &[&str] = &["owner", "admin", "editor", "viewer"];

/// What an application gets for a slug or domain: the tenant and its credentials.
#[derive(Debug, Serialize)]
pub struct Resolved {
    pub slug: String,
    pub status: String,
    pub credentials: Credentials,
}

/// An email address as tenantry accepts one (tenant users and accounts): no spaces,
/// controls, quotes or markup characters, a dotted host.
pub(crate) fn check_email(email: &str) -> Result<(), EngineError> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'`;,()[]\\".contains(c));
    if ok { Ok(()) } else { Err(EngineError::Invalid(format!("`{}` is not an email address", email.escape_debug()))) }
}

/// A domain name: labels of letters, digits and `-`, dots between, lowercase.
pub fn check_domain(domain: &str) -> Result<(), EngineError> {
    let ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok { Ok(()) } else { Err(EngineError::Invalid(format!("`{}` is not a lowercase domain name like app.example.org", domain.escape_debug()))) }
}

impl Engine {
    pub async fn add_tenant_user(&self, slug: &str, email: &str, name: Option<&str>, role: &str, password: Option<&str>) -> Result<(), EngineError> {
        let t = self.tenant_record(slug).await?;
        check_email(email)?;
        if !TENANT_ROLES.contains(&role) {
            return Err(EngineError::Invalid(format!("--role `{role}`: use one of {}", TENANT_ROLES.join(", "))));
        }
        if name.is_some_and(|n| n.chars().count() > 255 || n.chars().any(char::is_control)) {
            return Err(EngineError::Invalid("--name must be at most 255 characters without control characters".into()));
        }
        let hash = match password {
            Some(p) if p.len() < 12 => return Err(EngineError::Invalid("a password needs at least 12 characters".into())),
            Some(p) => Some(
                argon2::Argon2::default()
                    .hash_password(p.as_bytes(), &SaltString::generate(&mut OsRng))
                    .map_err(|e| EngineError::Secret(format!("hashing the password: {e}")))?
                    .to_string(),
            ),
            None => None,
        };
        Ok(self.landlord.add_tenant_user(&t.id, &email.to_lowercase(), name, role, hash.as_deref()).await?)
    }

    pub async fn tenant_users(&self, slug: &str) -> Result<Vec<TenantUserRecord>, EngineError> {
        let t = self.tenant_record(slug).await?;
        Ok(self.landlord.tenant_users(&t.id).await?)
    }

    pub async fn add_application(&self, slug: &str, domain: &str, name: Option<&str>) -> Result<(), EngineError> {
        let t = self.tenant_record(slug).await?;
        check_domain(domain)?;
        let name = name.unwrap_or(domain);
        if name.chars().count() > 255 || name.chars().any(char::is_control) {
            return Err(EngineError::Invalid("--name must be at most 255 characters without control characters".into()));
        }
        Ok(self.landlord.add_application(&t.id, name, domain).await?)
    }

    pub async fn applications(&self, slug: &str) -> Result<Vec<ApplicationRecord>, EngineError> {
        let t = self.tenant_record(slug).await?;
        Ok(self.landlord.applications(&t.id).await?)
    }

    /// The tenant serving a slug or a domain, with its least-privilege credentials.
    pub async fn resolve(&self, slug: Option<&str>, domain: Option<&str>) -> Result<Resolved, EngineError> {
        let slug = match (slug, domain) {
            (Some(s), None) => s.to_string(),
            (None, Some(d)) => self.landlord.slug_for_domain(&d.to_lowercase()).await?.ok_or_else(|| EngineError::NotFound {
                what: "domain",
                key: d.to_string(),
                hint: "; `tenantry tenant app add SLUG DOMAIN` maps one".into(),
            })?,
            _ => return Err(EngineError::Invalid("give exactly one of a slug or a domain".into())),
        };
        let t = self.tenant_record(&slug).await?;
        let credentials = self.tenant_credentials(&slug).await?;
        Ok(Resolved { slug: t.slug, status: t.status, credentials })
    }
}
