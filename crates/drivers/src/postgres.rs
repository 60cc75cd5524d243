//! PostgreSQL: a small pool on the maintenance database for CREATE/DROP DATABASE, and
//! a session opened on the tenant database for each script or introspection (a
//! PostgreSQL session is bound to one database). Sessions run with `jit = off`.

use crate::{run_batch, session_err, DriverError, DriverLimits, Location, ScriptRun, ServerUrl, TenantDriver, TenantSession};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use std::time::Duration;
use tenantry_domain::{DatabaseName, Dialect, LoginName, Password};
use tenantry_schema::Schema;

const D: Dialect = Dialect::Postgres;

/// A session on one tenant database, holding its connection slot until dropped.
struct Session {
    conn: PgConnection,
    _open: OpenGuard,
    _permit: OwnedSemaphorePermit,
}

/// Counts a tenant connection as open from connect until its close has completed.
struct OpenGuard(Arc<Gauge>);

/// Tenant connections open now, and the most ever open at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl OpenGuard {
    fn new(g: &Arc<Gauge>) -> OpenGuard {
        let n = g.now.fetch_add(1, Ordering::SeqCst) + 1;
        g.peak.fetch_max(n, Ordering::SeqCst);
        OpenGuard(g.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::ops::Deref for Session {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl Session {
    async fn close(self) -> Result<(), sqlx::Error> {
        self.conn.close().await
    }
}

pub struct PostgresDriver {
    server: String,
    options: PgConnectOptions,
    admin: PgPool,
    /// Tenant sessions open at once: with the one admin connection, never more than
    /// the server's limit.
    sessions: Arc<Semaphore>,
    open: Arc<Gauge>,
    host: Option<String>,
    port: Option<u16>,
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
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(15))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(admin_options);
        let sessions = Arc::new(Semaphore::new(limits.max_connections.saturating_sub(1).max(1) as usize));
        Ok(PostgresDriver { server: server.into(), options, admin, sessions, open: Default::default(), host: url.host(), port: url.port() })
    }

    fn err(&self, action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DriverError + '_ {
        let action = action.into();
        move |source| DriverError::Server { server: self.server.clone(), action, source }
    }

    /// Runs DDL on the maintenance connection that needs a database no one is
    /// connected to (RENAME, TEMPLATE). A session tenantry has just closed may still
    /// be ending on the server for a few milliseconds, so `55006 object_in_use` is
    /// retried for up to two seconds before it is an error.
    async fn admin_ddl_when_free(&self, sql: &str) -> Result<(), sqlx::Error> {
        let mut wait = Duration::from_millis(2);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            match sqlx::raw_sql(sql).execute(&self.admin).await {
                Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("55006") && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(100));
                }
                other => return other.map(|_| ()),
            }
        }
    }

    async fn connect_db(&self, db: &DatabaseName) -> Result<Session, DriverError> {
        let permit = self.sessions.clone().acquire_owned().await.map_err(|_| DriverError::Server {
            server: self.server.clone(),
            action: "waiting for a connection slot".into(),
            source: sqlx::Error::PoolClosed,
        })?;
        match self.options.clone().database(db.as_str()).connect().await {
            Ok(conn) => Ok(Session { conn, _open: OpenGuard::new(&self.open), _permit: permit }),
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

    async fn session(&self, db: &DatabaseName) -> Result<Box<dyn TenantSession>, DriverError> {
        let conn = self.connect_db(db).await?;
        Ok(Box::new(PgSession { conn, server: self.server.clone(), db: db.clone() }))
    }

    async fn close(&self) {
        self.admin.close().await;
    }

    fn peak_connections(&self) -> Option<usize> {
        // Tenant sessions plus the one admin connection.
        Some(self.open.peak.load(Ordering::SeqCst) + 1)
    }

    fn location(&self, db: &DatabaseName) -> Location {
        Location { host: self.host.clone(), port: self.port, database: db.to_string() }
    }

    fn has_logins(&self) -> bool {
        true
    }

    async fn create_login_role(&self, login: &LoginName, password: &Password) -> Result<(), DriverError> {
        let role = D.quote(login.as_str());
        let verifier = scram_verifier(password.expose(), &rand::random())
            .ok_or_else(|| DriverError::BadUrl(format!("could not derive the password verifier of `{login}`")))?;
        // One statement: create the role, or reset the password of a leftover one.
        let sql = format!(
            "DO $tenantry$ BEGIN \
               IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN ALTER ROLE {role} LOGIN PASSWORD '{verifier}'; \
               ELSE CREATE ROLE {role} LOGIN PASSWORD '{verifier}'; END IF; END $tenantry$",
            name = login.as_str(),
        );
        match sqlx::raw_sql(&sql).execute(&self.admin).await {
            Ok(_) => Ok(()),
            // Two creates racing on one role name.
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => Ok(()),
            Err(e) => Err(self.err(format!("creating login `{login}`"))(e)),
        }
    }

    fn login_grants(&self, db: &DatabaseName, login: &LoginName) -> String {
        let (role, database) = (D.quote(login.as_str()), D.quote(db.as_str()));
        // PUBLIC may connect to every database by default: not to a tenant's.
        format!(
            "REVOKE ALL ON DATABASE {database} FROM PUBLIC;\n\
             GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role};\n\
             GRANT USAGE ON SCHEMA public TO {role};\n\
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};\n\
             GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};\n\
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role};\n\
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};\n\
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};\n\
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {role};\n"
        )
    }

    async fn drop_login(&self, db: &DatabaseName, login: &LoginName) -> Result<(), DriverError> {
        let role = D.quote(login.as_str());
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_roles WHERE rolname = $1")
            .bind(login.as_str())
            .fetch_optional(&self.admin)
            .await
            .map_err(self.err("looking up a login"))?;
        if exists.is_none() {
            return Ok(());
        }
        // Its grants live inside the database (when that still exists) and on it.
        if self.database_exists(db).await? {
            self.execute_script(db, &format!("DROP OWNED BY {role}")).await?;
            let _ = sqlx::raw_sql(&format!("REVOKE ALL ON DATABASE {} FROM {role}", D.quote(db.as_str()))).execute(&self.admin).await;
        }
        let _ = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
            .bind(login.as_str())
            .execute(&self.admin)
            .await;
        sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {role}")).execute(&self.admin).await.map_err(self.err(format!("dropping login `{login}`")))?;
        Ok(())
    }

    async fn set_login_enabled(&self, login: &LoginName, enabled: bool) -> Result<(), DriverError> {
        let what = if enabled { "LOGIN" } else { "NOLOGIN" };
        let sql = format!("ALTER ROLE {} {what}", D.quote(login.as_str()));
        sqlx::raw_sql(&sql).execute(&self.admin).await.map_err(self.err(format!("setting {what} on `{login}`")))?;
        if !enabled {
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
                .bind(login.as_str())
                .execute(&self.admin)
                .await
                .map_err(self.err("ending sessions"))?;
        }
        Ok(())
    }

    fn can_clone(&self) -> bool {
        true
    }

    async fn clone_database(&self, source: &DatabaseName, target: &DatabaseName, fill: &[&str]) -> Result<bool, DriverError> {
        // WAL_LOG (the default since 15) copies block by block through the WAL: no
        // checkpoint, so its cost does not grow with what else the server is writing.
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", D.quote(target.as_str()), D.quote(source.as_str()));
        match self.admin_ddl_when_free(&sql).await {
            Ok(()) => {}
            Err(sqlx::Error::Database(d)) if matches!(d.code().as_deref(), Some("42P04") | Some("23505")) => {
                return Err(DriverError::AlreadyExists { server: self.server.clone(), database: target.to_string() })
            }
            Err(e) => return Err(self.err(format!("cloning `{source}` into `{target}`"))(e)),
        }
        if !fill.is_empty() {
            if let Err(e) = self.execute_batch(target, fill).await {
                let _ = self.drop_database(target).await;
                return Err(e);
            }
        }
        Ok(true)
    }

    async fn rename_database(&self, from: &DatabaseName, to: &DatabaseName) -> Result<bool, DriverError> {
        let sql = format!("ALTER DATABASE {} RENAME TO {}", D.quote(from.as_str()), D.quote(to.as_str()));
        match self.admin_ddl_when_free(&sql).await {
            Ok(()) => Ok(true),
            // 42P04: duplicate_database; 23505 when two renames race in the catalog.
            Err(sqlx::Error::Database(d)) if matches!(d.code().as_deref(), Some("42P04") | Some("23505")) => {
                Err(DriverError::AlreadyExists { server: self.server.clone(), database: to.to_string() })
            }
            Err(e) => Err(self.err(format!("renaming `{from}` to `{to}`"))(e)),
        }
    }
}

/// The SCRAM-SHA-256 verifier PostgreSQL keeps for `password` (RFC 5802 and 7677, in
/// the format of `pg_authid.rolpassword`). tenantry sends this instead of the
/// password: the plaintext never reaches the server (nor a statement log there), and
/// the server does not spend its 4096 rounds of hashing inside tenant creation.
/// Passwords are ASCII letters and digits, which SASLprep leaves as they are.
pub fn scram_verifier(password: &str, salt: &[u8; 16]) -> Option<String> {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    const ROUNDS: u32 = 4096;
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, ROUNDS, &mut salted);
    let hmac = |message: &[u8]| -> Option<Vec<u8>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&salted).ok()?;
        mac.update(message);
        Some(mac.finalize().into_bytes().to_vec())
    };
    let stored_key = Sha256::digest(hmac(b"Client Key")?);
    let server_key = hmac(b"Server Key")?;
    Some(format!("SCRAM-SHA-256${ROUNDS}:{}${}:{}", B64.encode(salt), B64.encode(stored_key), B64.encode(server_key)))
}

/// A connection to one tenant database, holding its slot.
struct PgSession {
    conn: Session,
    server: String,
    db: DatabaseName,
}

#[async_trait]
impl TenantSession for PgSession {
    async fn execute_batch(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        let (server, db) = (self.server.clone(), self.db.clone());
        let mut tx = self.conn.conn.begin().await.map_err(session_err(&server, format!("starting a transaction in `{db}`")))?;
        let run = run_batch!(tx, D, &server, &db, scripts);
        tx.commit().await.map_err(session_err(&server, format!("committing in `{db}`")))?;
        Ok(run)
    }

    async fn read_pairs(&mut self, sql: &'static str) -> Result<Vec<(String, Option<String>)>, DriverError> {
        sqlx::query_as(sql).fetch_all(&mut self.conn.conn).await.map_err(session_err(&self.server, format!("reading tenantry's metadata in `{}`", self.db)))
    }

    async fn introspect_tables(&mut self, tables: &[String]) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::postgres::introspect_tables(&mut self.conn.conn, tables)
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn introspect(&mut self) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::postgres::introspect(&mut self.conn.conn)
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}
