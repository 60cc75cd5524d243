//! tenantry's drivers: everything tenantry does *to* a tenant database server, behind
//! one trait with one module per engine (like sqlx's drivers, or Atlas's
//! `sql/mysql`, `sql/postgres`, `sql/sqlite`).
//!
//! A driver creates, drops and checks databases, runs SQL scripts (split by the
//! domain's `sqlparser`-based splitter; an error names statement and line) and
//! introspects a database into the canonical schema model. It accepts only
//! validated [`DatabaseName`]s, so it never pastes user input into SQL. The engine
//! holds `Arc<dyn TenantDriver>` and never matches on the dialect.

mod error;
mod mysql;
mod postgres;
mod sqlite;
mod url;

pub use error::DriverError;
pub use postgres::scram_verifier;
pub use url::ServerUrl;

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tenantry_domain::{DatabaseName, Dialect, LoginName, Password};
use tenantry_schema::Schema;

/// What running a script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    pub statements: usize,
    pub elapsed: Duration,
}

/// Where an application connects to a tenant database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The database name, or for SQLite the file's path.
    pub database: String,
}

/// Limits a driver keeps towards its server.
#[derive(Debug, Clone, Copy)]
pub struct DriverLimits {
    /// Connections this driver may hold open to the server at once.
    pub max_connections: u32,
}

impl Default for DriverLimits {
    fn default() -> Self {
        DriverLimits { max_connections: 8 }
    }
}

/// Operations on the tenant databases of one server.
#[async_trait]
pub trait TenantDriver: Send + Sync {
    fn dialect(&self) -> Dialect;
    /// The server's name, as errors show it.
    fn server(&self) -> &str;
    /// Checks the server answers.
    async fn ping(&self) -> Result<(), DriverError>;
    async fn database_exists(&self, db: &DatabaseName) -> Result<bool, DriverError>;
    /// Creates an empty database; fails with [`DriverError::AlreadyExists`] if it exists.
    async fn create_database(&self, db: &DatabaseName) -> Result<(), DriverError>;
    /// Drops a database if it exists (closing other sessions on it where the engine allows).
    async fn drop_database(&self, db: &DatabaseName) -> Result<(), DriverError>;
    /// Databases on the server whose names start with `prefix`, sorted.
    async fn list_databases(&self, prefix: &str) -> Result<Vec<String>, DriverError>;
    /// A session on `db`, for several operations on one connection (a rollout step:
    /// read the ledger, introspect, apply). It counts against the server's limit.
    async fn session(&self, db: &DatabaseName) -> Result<Box<dyn TenantSession>, DriverError>;

    /// Runs a script in `db`. On PostgreSQL and SQLite it runs in one transaction and
    /// a failure leaves nothing behind; MySQL commits DDL as it goes.
    async fn execute_script(&self, db: &DatabaseName, script: &str) -> Result<ScriptRun, DriverError> {
        self.execute_batch(db, &[script]).await.map_err(|e| match e {
            DriverError::Batch { source, .. } => *source,
            other => other,
        })
    }
    /// Runs several scripts in one session (and on PostgreSQL and SQLite one
    /// transaction): the whole build of a tenant in one round of connection setup and
    /// one commit. A failure names the script by its index in [`DriverError::Batch`].
    async fn execute_batch(&self, db: &DatabaseName, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        let mut s = self.session(db).await?;
        let r = s.execute_batch(scripts).await;
        s.close().await;
        r
    }
    /// Like [`execute_batch`](Self::execute_batch), for a database this run has just
    /// created and nothing records yet (a tenant being provisioned, a prepared or
    /// pooled database being built): no one else can read it, and a failure drops
    /// it whole. SQLite uses that to skip its rollback journal and sync once at the
    /// end. Durable when this returns.
    async fn build_database(&self, db: &DatabaseName, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        self.execute_batch(db, scripts).await
    }
    /// Runs one of tenantry's own constant queries returning (text, nullable text)
    /// rows in `db`: how the tenant-side metadata and ledger are read.
    async fn read_pairs(&self, db: &DatabaseName, sql: &'static str) -> Result<Vec<(String, Option<String>)>, DriverError> {
        let mut s = self.session(db).await?;
        let r = s.read_pairs(sql).await;
        s.close().await;
        r
    }
    /// Reads `db`'s schema into the canonical model.
    async fn introspect(&self, db: &DatabaseName) -> Result<Schema, DriverError> {
        let mut s = self.session(db).await?;
        let r = s.introspect().await;
        s.close().await;
        r
    }
    /// Closes pooled connections.
    async fn close(&self);

    /// The most connections this driver has held open to its server at once
    /// (connect to completed close), when it counts them; a pool bounded by
    /// construction (MySQL) does not need to.
    fn peak_connections(&self) -> Option<usize> {
        None
    }

    /// Where applications reach `db`.
    fn location(&self, db: &DatabaseName) -> Location;

    /// Whether DDL commits with its transaction (PostgreSQL, SQLite); MySQL commits
    /// each DDL statement on its own.
    fn transactional_ddl(&self) -> bool {
        self.dialect() != Dialect::Mysql
    }

    /// Whether the engine has logins (SQLite has none: access is the file).
    fn has_logins(&self) -> bool;
    /// Creates (or recreates) the server-level login, with no privileges yet.
    async fn create_login_role(&self, login: &LoginName, password: &Password) -> Result<(), DriverError>;
    /// The SQL, run inside `db` (in its build session), that lets `login` read and
    /// write data in `db` and reach no other database. No DDL: schema changes go
    /// through tenantry. Empty where the engine has no logins.
    fn login_grants(&self, db: &DatabaseName, login: &LoginName) -> String;
    /// Both of the above.
    async fn create_login(&self, db: &DatabaseName, login: &LoginName, password: &Password) -> Result<(), DriverError> {
        self.create_login_role(login, password).await?;
        let grants = self.login_grants(db, login);
        if !grants.is_empty() {
            self.execute_script(db, &grants).await?;
        }
        Ok(())
    }
    /// Drops `login` (its grants in `db` first, when `db` still exists).
    async fn drop_login(&self, db: &DatabaseName, login: &LoginName) -> Result<(), DriverError>;
    /// Locks or unlocks `login`; locking also ends its open sessions.
    async fn set_login_enabled(&self, login: &LoginName, enabled: bool) -> Result<(), DriverError>;

    /// Whether [`clone_database`](Self::clone_database) copies (PostgreSQL, SQLite).
    fn can_clone(&self) -> bool;
    /// Copies `source` into a new database `target` by the engine's own means and runs
    /// `fill` in the copy (one transaction where the engine allows); `false` when the
    /// engine has none (the caller builds `target` by replaying DDL). When `fill`
    /// fails, the copy is dropped before the error returns; when this returns `true`,
    /// the copy is durable.
    async fn clone_database(&self, source: &DatabaseName, target: &DatabaseName, fill: &[&str]) -> Result<bool, DriverError>;
    /// Renames a database; `false` when the engine cannot.
    async fn rename_database(&self, from: &DatabaseName, to: &DatabaseName) -> Result<bool, DriverError>;

    /// Proves the credentials can create and drop databases, with a throwaway one.
    async fn check_can_create(&self) -> Result<(), DriverError> {
        let probe = DatabaseName::new(&format!("tenantry_probe_{:08x}", rand::random::<u32>()))
            .map_err(|e| DriverError::BadUrl(e.to_string()))?;
        self.create_database(&probe).await?;
        self.drop_database(&probe).await
    }
}

/// One connection to one tenant database.
#[async_trait]
pub trait TenantSession: Send {
    /// See [`TenantDriver::execute_batch`].
    async fn execute_batch(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError>;
    /// Runs a script that rebuilds or retypes tables (a drift repair): like
    /// `execute_batch`, with referential checks suspended while it runs, where the
    /// engine needs that to rebuild a referenced table. SQLite verifies every key
    /// before committing; MySQL re-enables its checks afterwards.
    async fn execute_schema_change(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        self.execute_batch(scripts).await
    }
    /// See [`TenantDriver::read_pairs`].
    async fn read_pairs(&mut self, sql: &'static str) -> Result<Vec<(String, Option<String>)>, DriverError>;
    /// See [`TenantDriver::introspect`].
    async fn introspect(&mut self) -> Result<Schema, DriverError>;
    /// Only the named tables (columns, keys, indexes, checks): a rollback snapshot.
    async fn introspect_tables(&mut self, tables: &[String]) -> Result<Schema, DriverError>;
    /// Ends the session (dropping it also releases its slot).
    async fn close(self: Box<Self>);
}

/// Maps a sqlx error of a session operation.
pub(crate) fn session_err(server: &str, action: String) -> impl FnOnce(sqlx::Error) -> DriverError + '_ {
    move |source| DriverError::Server { server: server.to_string(), action, source }
}

/// Opens a driver for the server at `url`, named `server` in errors and logs.
pub async fn connect(server: &str, url: &ServerUrl, limits: DriverLimits) -> Result<Arc<dyn TenantDriver>, DriverError> {
    let driver: Arc<dyn TenantDriver> = match url.dialect() {
        Dialect::Mysql => Arc::new(mysql::MysqlDriver::connect(server, url, limits).await?),
        Dialect::Postgres => Arc::new(postgres::PostgresDriver::connect(server, url, limits).await?),
        Dialect::Sqlite => Arc::new(sqlite::SqliteDriver::open(server, url)?),
    };
    Ok(driver)
}

/// First line of a statement, cut short: enough to recognise it in an error.
pub(crate) fn excerpt(sql: &str) -> String {
    let first = sql.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut out: String = first.chars().take(100).collect();
    if first.chars().count() > 100 || sql.trim().lines().count() > 1 {
        out.push_str(" …");
    }
    out
}

/// Splits `script` and runs its statements one by one on `conn` (a `&mut` connection)
/// with the simple query protocol (MySQL cannot prepare some DDL, such as
/// `CREATE TRIGGER`). A macro rather than a generic function: sqlx's executor bounds
/// defeat the `Send` analysis of `async_trait` futures when written generically.
/// Runs each script of a batch with [`run_statements!`], wrapping a failure with the
/// script's index.
macro_rules! run_batch {
    ($conn:expr, $dialect:expr, $server:expr, $database:expr, $scripts:expr) => {{
        let started = std::time::Instant::now();
        let mut statements = 0;
        for (index, script) in $scripts.iter().enumerate() {
            let run: Result<$crate::ScriptRun, $crate::DriverError> =
                (async { Ok($crate::run_statements!($conn, $dialect, $server, $database, script)) }).await;
            match run {
                Ok(r) => statements += r.statements,
                Err(e) => return Err($crate::DriverError::Batch { index, source: Box::new(e) }),
            }
        }
        $crate::ScriptRun { statements, elapsed: started.elapsed() }
    }};
}
pub(crate) use run_batch;

macro_rules! run_statements {
    ($conn:expr, $dialect:expr, $server:expr, $database:expr, $script:expr) => {{
        let started = std::time::Instant::now();
        let statements = tenantry_domain::sql::split_script($dialect, $script).map_err(|source| {
            $crate::DriverError::Split { server: $server.to_string(), database: $database.to_string(), source }
        })?;
        for st in &statements {
            sqlx::Executor::execute(&mut *$conn, sqlx::raw_sql(&st.sql)).await.map_err(|e| {
                $crate::DriverError::Statement {
                    server: $server.to_string(),
                    database: $database.to_string(),
                    number: st.number,
                    line: st.line,
                    message: $crate::error::db_message(&e),
                    excerpt: $crate::excerpt(&st.sql),
                }
            })?;
        }
        $crate::ScriptRun { statements: statements.len(), elapsed: started.elapsed() }
    }};
}
pub(crate) use run_statements;
