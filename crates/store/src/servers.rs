//! `database_servers`: where tenant databases live.

use crate::{Landlord, StoreError, Value};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use tenantry_domain::{Dialect, ServerName};

/// A server to register. `url_secret` is the full URL, already encrypted by the engine.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub name: ServerName,
    pub dialect: Dialect,
    pub url_redacted: String,
    pub url_secret: String,
    pub capacity: i64,
    pub max_concurrency: i64,
}

/// A registered server. Serialises without its secret.
#[derive(Debug, Clone, Serialize)]
pub struct ServerRecord {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub dialect: Dialect,
    pub url: String,
    #[serde(skip)]
    pub url_secret: String,
    pub capacity: i64,
    pub max_concurrency: i64,
    pub status: String,
    pub tenants: i64,
    pub created_at: String,
}

const SELECT: &str = "SELECT s.id, s.name, s.dialect, s.url_redacted, s.url_secret, s.capacity, s.max_concurrency, \
    s.status, s.created_at, \
    (SELECT COUNT(*) FROM tenants t WHERE t.server_id = s.id AND t.deleted_at IS NULL AND t.status <> 'failed') AS tenants \
    FROM database_servers s";

fn record(row: &AnyRow) -> Result<ServerRecord, StoreError> {
    let get = |e| StoreError::Query { context: "reading a server".into(), source: e };
    let dialect: String = row.try_get("dialect").map_err(get)?;
    Ok(ServerRecord {
        id: row.try_get("id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        dialect: dialect.parse().map_err(|e| StoreError::Corrupt(format!("server dialect: {e}")))?,
        url: row.try_get("url_redacted").map_err(get)?,
        url_secret: crate::text(row, "url_secret")?,
        capacity: row.try_get("capacity").map_err(get)?,
        max_concurrency: row.try_get("max_concurrency").map_err(get)?,
        status: row.try_get("status").map_err(get)?,
        tenants: row.try_get("tenants").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
    })
}

impl Landlord {
    pub async fn insert_server(&self, s: &NewServer) -> Result<ServerRecord, StoreError> {
        let now = crate::time::now();
        let sql = self.sql(
            "INSERT INTO database_servers (name, dialect, url_redacted, url_secret, capacity, max_concurrency, \
             status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
        );
        let result = sqlx::query(&sql)
            .bind(s.name.as_str())
            .bind(s.dialect.as_str())
            .bind(&s.url_redacted)
            .bind(&s.url_secret)
            .bind(s.capacity)
            .bind(s.max_concurrency)
            .bind(&now)
            .bind(&now)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => {}
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict { what: "server", key: s.name.to_string() })
            }
            Err(e) => return Err(StoreError::query("INSERT INTO database_servers")(e)),
        }
        self.server(s.name.as_str()).await?.ok_or_else(|| StoreError::NotFound { what: "server", key: s.name.to_string() })
    }

    pub async fn server(&self, name: &str) -> Result<Option<ServerRecord>, StoreError> {
        let rows = self.fetch_all(&format!("{SELECT} WHERE s.name = ?"), vec![Value::from(name)]).await?;
        rows.first().map(record).transpose()
    }

    pub async fn server_by_id(&self, id: i64) -> Result<Option<ServerRecord>, StoreError> {
        let rows = self.fetch_all(&format!("{SELECT} WHERE s.id = ?"), vec![Value::from(id)]).await?;
        rows.first().map(record).transpose()
    }

    pub async fn servers(&self) -> Result<Vec<ServerRecord>, StoreError> {
        let rows = self.fetch_all(&format!("{SELECT} ORDER BY s.name"), vec![]).await?;
        rows.iter().map(record).collect()
    }
}
