//! PostgreSQL: a small pool on the maintenance database for CREATE/DROP DATABASE, and
//! a session opened on the tenant database for each script or introspection (a
//! PostgreSQL session is bound to one database). Sessions run with `jit = off`.

use crate::{run_statements, DriverError, DriverLimits, ScriptRun, ServerUrl, TenantDriver};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_schema::Schema;

const D: Dialect = Dialect::Postgres;

pub struct PostgresDriver {
    server: String,
    options: PgConnectOptions,
    admin: PgPool,
}

impl PostgresDriver {
    pub async fn connect(server: &str, url: &ServerUrl, limits: DriverLimits) -> Result<Self, DriverError> {
        let mut options = PgConnectOptions::from_str(url.expose())
            .map_err(|e| DriverError::BadUrl(format!("{url}: {e}")))?
            .options([("jit", "off")])
            .application_name("tenantry");
        options = options.disable_statement_logging();
        // The URL's database, or `postgres`, is where CREATE DATABASE is issued from.
        let admin_db = options.get_database().unwrap_or("postgres").to_string();
        let admin_options = options.clone().database(&admin_db);
        // One direct connection first, for the real reason when it fails (see mysql.rs).
        let probe = admin_options.connect().await;
        let probe = probe.map_err(|source| DriverError::Unreachable { server: server.into(), url: url.redacted(), source })?;
        let _ = probe.close().await;
        let admin = PgPoolOptions::new()
            .max_connections(limits.max_connections.clamp(1, 4))
            .acquire_timeout(Duration::from_secs(15))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(admin_options);
        Ok(PostgresDriver { server: server.into(), options, admin })
    }

    fn err(&self, action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DriverError + '_ {
        let action = action.into();
        move |source| DriverError::Server { server: self.server.clone(), action, source }
    }

    async fn session(&self, db: &DatabaseName) -> Result<PgConnection, DriverError> {
        match self.options.clone().database(db.as_str()).connect().await {
            Ok(c) => Ok(c),
            // 3D000: invalid_catalog_name
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("3D000") => {
                Err(DriverError::NotFound { server: self.server.clone(), database: db.to_string() })
            }
            Err(e) => Err(self.err(format!("connecting to `{db}`"))(e)),
        }
    }
}

#[async_trait]
impl TenantDriver for PostgresDriver {
    fn dialect(&self) -> Dialect {
        D
    }

    fn server(&self) -> &str {
        &self.server
    }

    async fn ping(&self) -> Result<(), DriverError> {
        sqlx::query("SELECT 1").execute(&self.admin).await.map_err(self.err("ping"))?;
        Ok(())
    }

    async fn database_exists(&self, db: &DatabaseName) -> Result<bool, DriverError> {
        let row: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(db.as_str())
            .fetch_optional(&self.admin)
            .await
            .map_err(self.err("looking up a database"))?;
        Ok(row.is_some())
    }

    async fn create_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        let sql = format!("CREATE DATABASE {}", D.quote(db.as_str()));
        match sqlx::raw_sql(&sql).execute(&self.admin).await {
            Ok(_) => Ok(()),
            // 42P04: duplicate_database; 23505 when two creates race in the catalog.
            Err(sqlx::Error::Database(d)) if matches!(d.code().as_deref(), Some("42P04") | Some("23505")) => {
                Err(DriverError::AlreadyExists { server: self.server.clone(), database: db.to_string() })
            }
            Err(e) => Err(self.err(format!("creating database `{db}`"))(e)),
        }
    }

    async fn drop_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        // FORCE ends other sessions on it (PostgreSQL 13+).
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", D.quote(db.as_str()));
        sqlx::raw_sql(&sql).execute(&self.admin).await.map_err(self.err(format!("dropping database `{db}`")))?;
        Ok(())
    }

    async fn list_databases(&self, prefix: &str) -> Result<Vec<String>, DriverError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT datname::text FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY datname",
        )
        .bind(prefix)
        .fetch_all(&self.admin)
        .await
        .map_err(self.err("listing databases"))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn execute_script(&self, db: &DatabaseName, script: &str) -> Result<ScriptRun, DriverError> {
        let mut conn = self.session(db).await?;
        let mut tx = conn.begin().await.map_err(self.err(format!("starting a transaction in `{db}`")))?;
        let run = run_statements!(tx, D, &self.server, db, script);
        tx.commit().await.map_err(self.err(format!("committing in `{db}`")))?;
        let _ = conn.close().await;
        Ok(run)
    }

    async fn introspect(&self, db: &DatabaseName) -> Result<Schema, DriverError> {
        let mut conn = self.session(db).await?;
        let schema = tenantry_schema::introspect::postgres::introspect(&mut conn).await.map_err(|source| {
            DriverError::Introspect { server: self.server.clone(), database: db.to_string(), source }
        });
        let _ = conn.close().await;
        schema
    }

    async fn close(&self) {
        self.admin.close().await;
    }
}
