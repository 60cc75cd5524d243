//! MySQL/MariaDB: one pool per server, not per database: a session switches database
//! with `USE`, so a fleet of thousands of databases needs only `max_connections`
//! connections (MariaDB's default limit is 151 for the whole server).
//!
//! MySQL binds a prepared statement's tables to the database that was current when
//! it was prepared, and sqlx caches prepared statements per connection: after `USE`
//! moves the connection on, a cached statement naming a table without its database
//! still reads the first tenant's. So prepared statements here name every table with
//! its database (`information_schema.…` with the schema as a parameter), and queries
//! on the tenant's own tables go through the text protocol (`raw_sql`).

use crate::error::db_message;
use crate::{run_batch, session_err, DriverError, DriverLimits, Location, ScriptRun, ServerUrl, TenantDriver, TenantSession};
use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{ConnectOptions, MySql};
use std::str::FromStr;
use std::time::Duration;
use tenantry_domain::{DatabaseName, Dialect, LoginName, Password};
use tenantry_schema::Schema;

const D: Dialect = Dialect::Mysql;

pub struct MysqlDriver {
    server: String,
    pool: MySqlPool,
    host: Option<String>,
    port: Option<u16>,
}

impl MysqlDriver {
    pub async fn connect(server: &str, url: &ServerUrl, limits: DriverLimits) -> Result<Self, DriverError> {
        let options = MySqlConnectOptions::from_str(url.expose())
            .map_err(|e| DriverError::BadUrl(format!("{url}: {e}")))?
            // Tenant databases are chosen per operation with USE, never by the URL.
            .database("")
            .charset("utf8mb4")
            .disable_statement_logging();
        let options = options.log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(5));
        // One direct connection first: a pool hides "connection refused" behind its
        // acquire timeout, and the user needs the real reason at once.
        let probe = options.connect().await;
        let probe = probe.map_err(|source| DriverError::Unreachable { server: server.into(), url: url.redacted(), source })?;
        let _ = sqlx::Connection::close(probe).await;
        let pool = MySqlPoolOptions::new()
            .max_connections(limits.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(15))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options);
        Ok(MysqlDriver { server: server.into(), pool, host: url.host(), port: url.port() })
    }

    fn err(&self, action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DriverError + '_ {
        let action = action.into();
        move |source| DriverError::Server { server: self.server.clone(), action, source }
    }

    /// A session switched to `db`, with the session settings a previous session on
    /// this pooled connection may have changed put back (one that was cut short
    /// while it had foreign key checks off, for instance), in the same round trip.
    async fn use_db(&self, db: &DatabaseName) -> Result<PoolConnection<MySql>, DriverError> {
        let mut conn = self.pool.acquire().await.map_err(self.err("getting a connection"))?;
        let use_db = format!("USE {}; SET FOREIGN_KEY_CHECKS = 1, UNIQUE_CHECKS = 1", D.quote(db.as_str()));
        if let Err(e) = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(&use_db)).await {
            // 1049: unknown database
            if matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42000") && db_message(&e).contains("Unknown database")) {
                return Err(DriverError::NotFound { server: self.server.clone(), database: db.to_string() });
            }
            return Err(self.err(format!("switching to `{db}`"))(e));
        }
        Ok(conn)
    }
}

#[async_trait]
impl TenantDriver for MysqlDriver {
    fn dialect(&self) -> Dialect {
        D
    }

    fn server(&self) -> &str {
        &self.server
    }

    async fn ping(&self) -> Result<(), DriverError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(self.err("ping"))?;
        Ok(())
    }

    async fn database_exists(&self, db: &DatabaseName) -> Result<bool, DriverError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
                .bind(db.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(self.err("looking up a database"))?;
        Ok(row.is_some())
    }

    async fn create_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        let sql = format!("CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", D.quote(db.as_str()));
        match sqlx::raw_sql(&sql).execute(&self.pool).await {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(d)) if d.message().contains("database exists") => {
                Err(DriverError::AlreadyExists { server: self.server.clone(), database: db.to_string() })
            }
            Err(e) => Err(self.err(format!("creating database `{db}`"))(e)),
        }
    }

    async fn drop_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        let sql = format!("DROP DATABASE IF EXISTS {}", D.quote(db.as_str()));
        sqlx::raw_sql(&sql).execute(&self.pool).await.map_err(self.err(format!("dropping database `{db}`")))?;
        Ok(())
    }

    async fn list_databases(&self, prefix: &str) -> Result<Vec<String>, DriverError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA \
             WHERE LEFT(SCHEMA_NAME, CHAR_LENGTH(?)) = ? ORDER BY SCHEMA_NAME",
        )
        .bind(prefix)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("listing databases"))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn session(&self, db: &DatabaseName) -> Result<Box<dyn TenantSession>, DriverError> {
        let conn = self.use_db(db).await?;
        Ok(Box::new(MysqlSession { conn, server: self.server.clone(), db: db.clone() }))
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn location(&self, db: &DatabaseName) -> Location {
        Location { host: self.host.clone(), port: self.port, database: db.to_string() }
    }

    fn has_logins(&self) -> bool {
        true
    }

    async fn create_login_role(&self, login: &LoginName, password: &Password) -> Result<(), DriverError> {
        // Validated login and password: letters, digits and `_` only, safe to inline.
        let user = format!("'{}'@'%'", login.as_str());
        for sql in [format!("DROP USER IF EXISTS {user}"), format!("CREATE USER {user} IDENTIFIED BY '{}'", password.expose())] {
            sqlx::raw_sql(&sql).execute(&self.pool).await.map_err(self.err(format!("creating login `{login}`")))?;
        }
        Ok(())
    }

    fn login_grants(&self, db: &DatabaseName, login: &LoginName) -> String {
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES, SHOW VIEW ON {}.* TO '{}'@'%';\n",
            D.quote(db.as_str()),
            login.as_str()
        )
    }

    async fn drop_login(&self, _db: &DatabaseName, login: &LoginName) -> Result<(), DriverError> {
        let sql = format!("DROP USER IF EXISTS '{}'@'%'", login.as_str());
        sqlx::raw_sql(&sql).execute(&self.pool).await.map_err(self.err(format!("dropping login `{login}`")))?;
        Ok(())
    }

    async fn set_login_enabled(&self, login: &LoginName, enabled: bool) -> Result<(), DriverError> {
        let action = if enabled { "UNLOCK" } else { "LOCK" };
        let sql = format!("ALTER USER '{}'@'%' ACCOUNT {action}", login.as_str());
        sqlx::raw_sql(&sql).execute(&self.pool).await.map_err(self.err(format!("{} login `{login}`", action.to_lowercase())))?;
        if !enabled {
            let sessions: Vec<(i64,)> = sqlx::query_as("SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE USER = ?")
                .bind(login.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(self.err("listing sessions"))?;
            for (id,) in sessions {
                // The session may end by itself meanwhile.
                let _ = sqlx::raw_sql(&format!("KILL {id}")).execute(&self.pool).await;
            }
        }
        Ok(())
    }

    fn can_clone(&self) -> bool {
        false
    }

    async fn clone_database(&self, _source: &DatabaseName, _target: &DatabaseName, _fill: &[&str]) -> Result<bool, DriverError> {
        // MySQL has no database copy; CREATE TABLE … LIKE loses foreign keys. Replay.
        Ok(false)
    }

    async fn rename_database(&self, _from: &DatabaseName, _to: &DatabaseName) -> Result<bool, DriverError> {
        // No RENAME DATABASE, and RENAME TABLE cannot move views or triggers.
        Ok(false)
    }
}

/// A pooled connection switched to one tenant database.
struct MysqlSession {
    conn: PoolConnection<MySql>,
    server: String,
    db: DatabaseName,
}

#[async_trait]
impl TenantSession for MysqlSession {
    async fn execute_batch(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        Ok(run_batch!(self.conn, D, &self.server, &self.db, scripts))
    }

    async fn execute_schema_change(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        // MySQL refuses to retype a column a foreign key uses while checks are on.
        let toggle = |on: bool| format!("SET FOREIGN_KEY_CHECKS = {}", on as u8);
        sqlx::Executor::execute(&mut *self.conn, sqlx::raw_sql(&toggle(false)))
            .await
            .map_err(session_err(&self.server, format!("suspending foreign key checks in `{}`", self.db)))?;
        let run: Result<ScriptRun, DriverError> = async { Ok(run_batch!(self.conn, D, &self.server, &self.db, scripts)) }.await;
        let restored = sqlx::Executor::execute(&mut *self.conn, sqlx::raw_sql(&toggle(true)))
            .await
            .map_err(session_err(&self.server, format!("restoring foreign key checks in `{}`", self.db)));
        let run = run?;
        restored?;
        Ok(run)
    }

    async fn read_pairs(&mut self, sql: &'static str) -> Result<Vec<(String, Option<String>)>, DriverError> {
        // The text protocol: the query names its table without a database, and a
        // prepared statement stays bound to the database it was prepared in (see the
        // module comment).
        use sqlx::FromRow;
        let action = || format!("reading tenantry's metadata in `{}`", self.db);
        let rows = sqlx::Executor::fetch_all(&mut *self.conn, sqlx::raw_sql(sql)).await.map_err(session_err(&self.server, action()))?;
        rows.iter().map(<(String, Option<String>)>::from_row).collect::<Result<_, _>>().map_err(session_err(&self.server, action()))
    }

    async fn introspect_tables(&mut self, tables: &[String]) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::mysql::introspect_tables(&mut self.conn, self.db.as_str(), tables)
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn introspect(&mut self) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::mysql::introspect(&mut self.conn, self.db.as_str())
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn close(self: Box<Self>) {}
}
