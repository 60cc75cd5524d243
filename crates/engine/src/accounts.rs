//! Platform accounts (admins, operators, viewers, and tenant users bound to one
//! tenant), API tokens, web sessions and the audit log.
//!
//! Passwords are argon2id hashes; tokens and session cookies are 32 random bytes
//! whose SHA-256 is all the landlord keeps. Sign-in failures are rate-limited per
//! source and per account.

use crate::{Engine, EngineError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use crate::tenants::check_email;
use tenantry_store::{AccountRecord, AuditRecord};

/// What an account may do. Tenant users carry the same roles, limited to their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, EngineError> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            _ => Err(EngineError::Invalid(format!("unknown role `{s}`; use admin, operator or viewer"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

/// Someone acting through the API or the web UI.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub account_id: i64,
    pub email: String,
    pub role: Role,
    /// A tenant user's tenant: (id, slug).
    #[serde(skip)]
    pub tenant: Option<(String, String)>,
    /// A token limited to reading.
    pub read_only: bool,
}

impl Principal {
    pub fn tenant_slug(&self) -> Option<&str> {
        self.tenant.as_ref().map(|t| t.1.as_str())
    }
}

/// A new account and its one-time password (shown once).
#[derive(Debug, Serialize)]
pub struct NewAccount {
    #[serde(flatten)]
    pub account: AccountRecord,
    pub password: String,
}

/// A new API token (shown once).
#[derive(Debug, Serialize)]
pub struct NewToken {
    pub token: String,
    pub name: String,
    pub scopes: String,
    pub expires_at: Option<String>,
}

/// How long a web session lives.
pub const SESSION_HOURS: i64 = 12;
const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Recent sign-in failures by source and by account.
#[derive(Default)]
pub(crate) struct LoginThrottle(std::sync::Mutex<HashMap<String, Vec<Instant>>>);

impl LoginThrottle {
    fn check(&self, keys: &[String]) -> Result<(), EngineError> {
        let Ok(mut m) = self.0.lock() else { return Ok(()) };
        for k in keys {
            let v = m.entry(k.clone()).or_default();
            v.retain(|t| t.elapsed() < FAILURE_WINDOW);
            if v.len() >= MAX_FAILURES {
                return Err(EngineError::RateLimited("too many failed sign-ins; wait 15 minutes and try again".into()));
            }
        }
        Ok(())
    }

    fn fail(&self, keys: &[String]) {
        if let Ok(mut m) = self.0.lock() {
            for k in keys {
                m.entry(k.clone()).or_default().push(Instant::now());
            }
            // Bounded memory under a flood of made-up emails: forget what expired.
            if m.len() > 10_000 {
                m.retain(|_, v| {
                    v.retain(|t| t.elapsed() < FAILURE_WINDOW);
                    !v.is_empty()
                });
            }
        }
    }

    fn clear(&self, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

fn hash_password(password: &str) -> Result<String, EngineError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Secret(format!("hashing a password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn expiry(hours: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
    tenantry_store::time::format(t)
}

impl Engine {
    /// Creates an account with a generated one-time password (or the given one).
    pub async fn add_account(&self, email: &str, role: &str, tenant: Option<&str>, password: Option<&str>) -> Result<NewAccount, EngineError> {
        check_email(email)?;
        let role = Role::parse(role)?;
        let tenant_id = match tenant {
            Some(slug) => Some(self.tenant_record(slug).await?.id),
            None => None,
        };
        let password = match password {
            Some(p) if p.len() >= 12 && p.len() <= 200 => p.to_string(),
            Some(_) => return Err(EngineError::Invalid("a password needs 12 to 200 characters".into())),
            None => random_hex(12),
        };
        let account = self.landlord.insert_account(email, role.as_str(), tenant_id.as_deref(), &hash_password(&password)?).await?;
        Ok(NewAccount { account, password })
    }

    /// Gives an account a new generated password (shown once) and returns it.
    pub async fn reset_password(&self, email: &str) -> Result<String, EngineError> {
        let a = self.landlord.account_by_email(email).await?.ok_or_else(|| EngineError::NotFound { what: "account", key: email.into(), hint: String::new() })?;
        let password = random_hex(12);
        self.landlord.set_account_password(a.id, &hash_password(&password)?).await?;
        Ok(password)
    }

    pub async fn accounts(&self) -> Result<Vec<AccountRecord>, EngineError> {
        Ok(self.landlord.accounts().await?)
    }

    async fn principal(&self, a: AccountRecord, read_only: bool) -> Result<Principal, EngineError> {
        if a.disabled {
            return Err(EngineError::Unauthorized("this account is disabled".into()));
        }
        let tenant = match (&a.tenant_id, &a.tenant) {
            (Some(id), Some(slug)) => Some((id.clone(), slug.clone())),
            (Some(_), None) => return Err(EngineError::Unauthorized("this account's tenant is gone".into())),
            _ => None,
        };
        Ok(Principal { account_id: a.id, email: a.email, role: Role::parse(&a.role)?, tenant, read_only })
    }

    /// Email and password → the account, rate-limited per `source` and per email.
    pub async fn sign_in(&self, email: &str, password: &str, source: &str) -> Result<Principal, EngineError> {
        let keys = [format!("ip:{source}"), format!("email:{}", email.to_ascii_lowercase())];
        self.throttle.check(&keys)?;
        let account = self.landlord.account_by_email(email).await?;
        // Verify against a fixed hash when there is no account, so timing does not
        // tell which emails exist.
        let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| self.dummy_hash.get_or_init(dummy_hash).clone());
        let ok = verify_password(password, &hash);
        match account {
            Some(a) if ok => {
                self.throttle.clear(&keys[1]);
                self.principal(a, false).await
            }
            _ => {
                self.throttle.fail(&keys);
                Err(EngineError::Unauthorized("wrong email or password".into()))
            }
        }
    }

    /// Creates a web session: (cookie token, CSRF token).
    pub async fn create_session(&self, p: &Principal, source: &str) -> Result<(String, String), EngineError> {
        let token = random_hex(32);
        let csrf = random_hex(32);
        self.landlord.insert_session(&sha256_hex(&token), p.account_id, &csrf, source, &expiry(SESSION_HOURS)).await?;
        Ok((token, csrf))
    }

    /// The principal and CSRF token of a live session cookie.
    pub async fn session(&self, token: &str) -> Result<Option<(Principal, String)>, EngineError> {
        let Some((account_id, csrf)) = self.landlord.session(&sha256_hex(token)).await? else { return Ok(None) };
        let Some(a) = self.landlord.account_by_id(account_id).await? else { return Ok(None) };
        Ok(Some((self.principal(a, false).await?, csrf)))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), EngineError> {
        Ok(self.landlord.delete_session(&sha256_hex(token)).await?)
    }

    /// An API token for an account: `read` or `read,write`, expiring after `days`.
    pub async fn create_token(&self, email: &str, name: &str, scopes: &str, days: Option<i64>) -> Result<NewToken, EngineError> {
        let a = self.landlord.account_by_email(email).await?.ok_or_else(|| EngineError::NotFound { what: "account", key: email.into(), hint: String::new() })?;
        if !matches!(scopes, "read" | "read,write") {
            return Err(EngineError::Invalid("scopes are `read` or `read,write`".into()));
        }
        if name.trim().is_empty() || name.len() > 100 {
            return Err(EngineError::Invalid("a token needs a name of 1 to 100 characters".into()));
        }
        let token = format!("tnt_{}", random_hex(32));
        let expires_at = days.map(|d| expiry(d.clamp(1, 3650) * 24));
        self.landlord.insert_token(a.id, name, &sha256_hex(&token), scopes, expires_at.as_deref()).await?;
        Ok(NewToken { token, name: name.into(), scopes: scopes.into(), expires_at })
    }

    /// A bearer token → its account (read-only unless its scopes include `write`).
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal, EngineError> {
        let t = self.landlord.token(&sha256_hex(token)).await?.ok_or_else(|| EngineError::Unauthorized("unknown or expired token".into()))?;
        let a = self.landlord.account_by_id(t.account_id).await?.ok_or_else(|| EngineError::Unauthorized("the token's account is gone".into()))?;
        self.principal(a, !t.scopes.split(',').any(|s| s == "write")).await
    }

    /// Writes one audit entry; a failure to write is logged, never hidden silently.
    pub async fn audit(&self, actor: &str, action: &str, target: Option<&str>, detail: Option<&serde_json::Value>, source: Option<&str>) {
        if let Err(e) = self.landlord.insert_audit(actor, action, target, detail, source).await {
            tracing::error!(actor, action, error = %e, "could not write the audit log");
        }
    }

    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<(Vec<AuditRecord>, i64), EngineError> {
        Ok(self.landlord.audit_log(limit.clamp(1, 500), offset.max(0)).await?)
    }
}

/// A fixed hash to verify against when an email is unknown.
pub(crate) fn dummy_hash() -> String {
    hash_password("tenantry-no-such-account").unwrap_or_default()
}
