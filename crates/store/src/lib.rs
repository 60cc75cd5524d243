//! tenantry's store: the landlord database, tenantry's own records of servers,
//! templates, tenants, rollouts, customizations, history and accounts.
//!
//! One SQL text per query runs on SQLite, MySQL/MariaDB and PostgreSQL through sqlx's
//! `Any` driver; what differs between engines (placeholders, auto-increment keys,
//! locks, creating the landlord database) lives in `dialect.rs` alone. The landlord
//! schema is versioned: `Landlord::open` applies pending migrations under a lock, so
//! two tenantry processes starting together do not race.
//!
//! Timestamps are stored as ISO-8601 UTC text (`2026-12-04T20:18:46.123456Z`): it sorts
//! correctly, reads the same on every engine and needs no driver-specific types.

mod accounts;
mod customizations;
mod dialect;
mod error;
mod migrate;
pub use migrate::latest as latest_schema_version;
mod rollouts;
mod servers;
mod templates;
mod tenants;
pub mod time;

pub use accounts::{AccountRecord, AuditRecord, TokenRecord};
pub use customizations::{CustomizationFilter, CustomizationRecord, NewCustomization};
pub use error::StoreError;
pub use rollouts::{AppliedCustomization, NewHistory, NewRollout, NewStep, RolloutRecord, StepRecord};
pub use servers::{NewServer, ServerRecord};
pub use tenants::{
    Activation, ApplicationRecord, HistoryRecord, NewTenant, PoolEntry, PreparedRecord, TenantDatabaseRecord, TenantFilter, TenantRecord, TenantUserRecord,
};
pub use templates::{
    MigrationRecord, ModuleRecord, NewMigration, NewModule, NewSnapshot, NewVersion, SnapshotRecord, TemplateImport,
    TemplateRecord, VersionRecord,
};

use dialect::LandlordDialect;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use std::time::Duration;
use tenantry_domain::Dialect;

/// An open, migrated landlord database.
#[derive(Clone)]
pub struct Landlord {
    pool: AnyPool,
    dialect: LandlordDialect,
    url_redacted: String,
}

impl Landlord {
    /// Opens the landlord at `url`, creating its database (or SQLite file and
    /// directory) when missing, and applies pending landlord migrations.
    pub async fn open(url: &str) -> Result<Landlord, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = LandlordDialect::from_url(url)?;
        let url_redacted = dialect.redact(url);
        dialect.ensure_database(url).await?;
        let connect_url = dialect.connect_url(url);
        let after_connect_sql = dialect.session_setup();
        let pool = AnyPoolOptions::new()
            .max_connections(dialect.pool_size())
            .acquire_timeout(Duration::from_secs(20))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    for sql in after_connect_sql {
                        sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(sql)).await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect { url: url_redacted.clone(), source })?;
        let landlord = Landlord { pool, dialect, url_redacted };
        migrate::run(&landlord).await?;
        Ok(landlord)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect.dialect()
    }

    /// The landlord URL without its password.
    pub fn url(&self) -> &str {
        &self.url_redacted
    }

    /// The current landlord schema version.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::current_version(self).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction (see `LandlordDialect::begin_write`).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.pool.begin_with(self.dialect.begin_write()).await.map_err(StoreError::query("begin"))
    }

    /// A query with `?` placeholders made right for this engine.
    pub(crate) fn sql(&self, q: &str) -> String {
        self.dialect.placeholders(q)
    }

    pub(crate) async fn fetch_all(&self, q: &str, binds: Vec<Value>) -> Result<Vec<AnyRow>, StoreError> {
        let sql = self.sql(q);
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = b.bind(query);
        }
        query.fetch_all(&self.pool).await.map_err(StoreError::query(q))
    }

    pub(crate) async fn execute(&self, q: &str, binds: Vec<Value>) -> Result<u64, StoreError> {
        let sql = self.sql(q);
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = b.bind(query);
        }
        Ok(query.execute(&self.pool).await.map_err(StoreError::query(q))?.rows_affected())
    }
}

/// Reads a text column. MySQL's large text types reach the `Any` driver as BLOB, so
/// bytes are accepted too (landlord text is always UTF-8).
pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    use sqlx::Row;
    match row.try_get::<String, _>(col) {
        Ok(s) => Ok(s),
        Err(_) => {
            let bytes: Vec<u8> = row
                .try_get(col)
                .map_err(|e| StoreError::Query { context: format!("reading column {col}"), source: e })?;
            String::from_utf8(bytes).map_err(|_| StoreError::Corrupt(format!("column {col} is not UTF-8")))
        }
    }
}

/// Like [`text`], for a nullable column.
pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    use sqlx::Row;
    match row.try_get::<Option<String>, _>(col) {
        Ok(s) => Ok(s),
        Err(_) => {
            let bytes: Option<Vec<u8>> = row
                .try_get(col)
                .map_err(|e| StoreError::Query { context: format!("reading column {col}"), source: e })?;
            bytes
                .map(|b| String::from_utf8(b).map_err(|_| StoreError::Corrupt(format!("column {col} is not UTF-8"))))
                .transpose()
        }
    }
}

/// A bind value for portable queries.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

impl Value {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Value::Text(s) => q.bind(s),
            Value::OptText(s) => q.bind(s),
            Value::Int(i) => q.bind(i),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        Value::OptText(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
