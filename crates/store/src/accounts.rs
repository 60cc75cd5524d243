//! Platform accounts, API tokens, web sessions and the audit log. Secrets are never
//! stored: passwords as argon2 hashes (made by the engine), tokens and session
//! cookies as SHA-256 of a random value.

use crate::{opt_text, text, Landlord, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct AccountRecord {
    pub id: i64,
    pub email: String,
    pub role: String,
    /// A tenant user's tenant (its slug); `None` for platform accounts.
    pub tenant: Option<String>,
    #[serde(skip)]
    pub tenant_id: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub scopes: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub source: Option<String>,
    pub created_at: String,
}

fn id(r: &AnyRow, col: &str) -> Result<i64, StoreError> {
    r.try_get(col).map_err(|e| StoreError::Query { context: format!("reading {col}"), source: e })
}

const ACCOUNT: &str = "SELECT a.id, a.email, a.role, a.tenant_id, t.slug, a.password_hash, a.disabled, a.created_at \
    FROM accounts a LEFT JOIN tenants t ON t.id = a.tenant_id";

fn account(r: &AnyRow) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        id: id(r, "id")?,
        email: text(r, "email")?,
        role: text(r, "role")?,
        tenant_id: opt_text(r, "tenant_id")?,
        tenant: opt_text(r, "slug")?,
        password_hash: text(r, "password_hash")?,
        disabled: id(r, "disabled")? != 0,
        created_at: text(r, "created_at")?,
    })
}

impl Landlord {
    pub async fn insert_account(&self, email: &str, role: &str, tenant_id: Option<&str>, password_hash: &str) -> Result<AccountRecord, StoreError> {
        let now = crate::time::now();
        self.execute(
            "INSERT INTO accounts (email, role, tenant_id, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            vec![email.into(), role.into(), tenant_id.map(str::to_string).into(), password_hash.into(), now.clone().into(), now.into()],
        )
        .await
        .map_err(|e| match e {
            StoreError::Query { source, .. } if StoreError::is_unique_violation(&source) => StoreError::Conflict { what: "account", key: email.into() },
            other => other,
        })?;
        self.account_by_email(email).await?.ok_or_else(|| StoreError::Corrupt(format!("account {email} vanished")))
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.fetch_all(&format!("{ACCOUNT} WHERE a.email = ?"), vec![email.into()]).await?.first().map(account).transpose()
    }

    pub async fn account_by_id(&self, account_id: i64) -> Result<Option<AccountRecord>, StoreError> {
        self.fetch_all(&format!("{ACCOUNT} WHERE a.id = ?"), vec![account_id.into()]).await?.first().map(account).transpose()
    }

    pub async fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.fetch_all(&format!("{ACCOUNT} ORDER BY a.email"), vec![]).await?.iter().map(account).collect()
    }

    pub async fn set_account_password(&self, account_id: i64, password_hash: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?",
            vec![password_hash.into(), crate::time::now().into(), account_id.into()],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_token(&self, account_id: i64, name: &str, token_hash: &str, scopes: &str, expires_at: Option<&str>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO api_tokens (account_id, name, token_hash, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![account_id.into(), name.into(), token_hash.into(), scopes.into(), expires_at.map(str::to_string).into(), crate::time::now().into()],
        )
        .await?;
        Ok(())
    }

    /// The token with this hash, if it has not expired; its use is recorded.
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let now = crate::time::now();
        let rows = self
            .fetch_all(
                "SELECT id, account_id, name, scopes, expires_at, last_used_at, created_at FROM api_tokens \
                 WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
                vec![token_hash.into(), now.clone().into()],
            )
            .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let t = TokenRecord {
            id: id(r, "id")?,
            account_id: id(r, "account_id")?,
            name: text(r, "name")?,
            scopes: text(r, "scopes")?,
            expires_at: opt_text(r, "expires_at")?,
            last_used_at: opt_text(r, "last_used_at")?,
            created_at: text(r, "created_at")?,
        };
        self.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", vec![now.into(), t.id.into()]).await?;
        Ok(Some(t))
    }

    pub async fn insert_session(&self, token_hash: &str, account_id: i64, csrf: &str, source: &str, expires_at: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO web_sessions (token_hash, account_id, csrf_token, source, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![token_hash.into(), account_id.into(), csrf.into(), source.into(), crate::time::now().into(), expires_at.into()],
        )
        .await?;
        Ok(())
    }

    /// (account id, CSRF token) of a live session.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(i64, String)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT account_id, csrf_token FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
                vec![token_hash.into(), crate::time::now().into()],
            )
            .await?;
        rows.first().map(|r| Ok((id(r, "account_id")?, text(r, "csrf_token")?))).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM web_sessions WHERE token_hash = ? OR expires_at < ?", vec![token_hash.into(), crate::time::now().into()]).await?;
        Ok(())
    }

    pub async fn insert_audit(&self, actor: &str, action: &str, target: Option<&str>, detail: Option<&serde_json::Value>, source: Option<&str>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO audit_log (actor, action, target, detail, source, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                actor.into(),
                action.into(),
                target.map(str::to_string).into(),
                detail.map(|d| d.to_string()).into(),
                source.map(str::to_string).into(),
                crate::time::now().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Newest first; (rows, total).
    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<(Vec<AuditRecord>, i64), StoreError> {
        let total_rows = self.fetch_all("SELECT COUNT(*) AS n FROM audit_log", vec![]).await?;
        let total = total_rows.first().map(|r| id(r, "n")).transpose()?.unwrap_or(0);
        let rows = self
            .fetch_all(
                "SELECT id, actor, action, target, detail, source, created_at FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
                vec![limit.into(), offset.into()],
            )
            .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    id: id(r, "id")?,
                    actor: text(r, "actor")?,
                    action: text(r, "action")?,
                    target: opt_text(r, "target")?,
                    detail: opt_text(r, "detail")?.and_then(|d| serde_json::from_str(&d).ok()),
                    source: opt_text(r, "source")?,
                    created_at: text(r, "created_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((items, total))
    }
}
