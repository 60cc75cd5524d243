//! SQLite: a server is a directory, a database is the file `<name>.db` in it.

use crate::{run_batch, session_err, DriverError, Location, ScriptRun, ServerUrl, TenantDriver, TenantSession};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::path::PathBuf;
use std::time::Duration;
use tenantry_domain::{DatabaseName, Dialect, LoginName, Password};
use tenantry_schema::Schema;

const D: Dialect = Dialect::Sqlite;

pub struct SqliteDriver {
    server: String,
    dir: PathBuf,
}

impl SqliteDriver {
    pub fn open(server: &str, url: &ServerUrl) -> Result<Self, DriverError> {
        let dir = url.sqlite_dir();
        std::fs::create_dir_all(&dir).map_err(|source| DriverError::Io {
            action: format!("creating the directory of server `{server}`"),
            path: dir.display().to_string(),
            source,
        })?;
        Ok(SqliteDriver { server: server.into(), dir })
    }

    /// The file of `db`. A `DatabaseName` holds no separator and no `..`.
    pub fn path(&self, db: &DatabaseName) -> PathBuf {
        self.dir.join(format!("{}.db", db.as_str()))
    }

    fn io(&self, action: &str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DriverError {
        let (action, path, _) = (action.to_string(), path.display().to_string(), &self.server);
        move |source| DriverError::Io { action, path, source }
    }

    /// Runs `scripts` in a database no one else can know of yet, without a rollback
    /// journal and without syncing (the caller syncs once, and drops the file on any
    /// error): a journaled commit costs three syncs.
    async fn fill_unjournaled(&self, db: &DatabaseName, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        let mut conn = SqliteConnectOptions::new()
            .filename(self.path(db))
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(true)
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|source| DriverError::Server { server: self.server.clone(), action: format!("opening `{db}`"), source })?;
        let run = async {
            let mut tx = conn.begin().await.map_err(session_err(&self.server, format!("starting a transaction in `{db}`")))?;
            let run = run_batch!(tx, D, &self.server, db, scripts);
            tx.commit().await.map_err(session_err(&self.server, format!("committing in `{db}`")))?;
            Ok(run)
        }
        .await;
        let _ = conn.close().await;
        run
    }

    async fn connect_db(&self, db: &DatabaseName) -> Result<SqliteConnection, DriverError> {
        let path = self.path(db);
        if !path.exists() {
            return Err(DriverError::NotFound { server: self.server.clone(), database: db.to_string() });
        }
        SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|source| DriverError::Server { server: self.server.clone(), action: format!("opening `{db}`"), source })
    }
}

#[async_trait]
impl TenantDriver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        D
    }

    fn server(&self) -> &str {
        &self.server
    }

    async fn ping(&self) -> Result<(), DriverError> {
        let meta = std::fs::metadata(&self.dir).map_err(self.io("reading the directory", &self.dir))?;
        if meta.permissions().readonly() {
            return Err(DriverError::Io {
                action: format!("server `{}` needs a writable directory", self.server),
                path: self.dir.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            });
        }
        Ok(())
    }

    async fn database_exists(&self, db: &DatabaseName) -> Result<bool, DriverError> {
        Ok(self.path(db).exists())
    }

    async fn create_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        let path = self.path(db);
        // create_new claims the name atomically: two racing creates cannot both win.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(DriverError::AlreadyExists { server: self.server.clone(), database: db.to_string() })
            }
            Err(e) => return Err(self.io("creating the database file", &path)(e)),
        }
        // A 0-byte file is a valid empty database: nothing more to write (and sync).
        Ok(())
    }

    async fn drop_database(&self, db: &DatabaseName) -> Result<(), DriverError> {
        let path = self.path(db);
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io("removing the database file", &p)(e)),
            }
        }
        Ok(())
    }

    async fn list_databases(&self, prefix: &str) -> Result<Vec<String>, DriverError> {
        let entries = std::fs::read_dir(&self.dir).map_err(self.io("listing databases", &self.dir))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".db")).map(str::to_string))
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn session(&self, db: &DatabaseName) -> Result<Box<dyn TenantSession>, DriverError> {
        let conn = self.connect_db(db).await?;
        Ok(Box::new(SqliteSession { conn, server: self.server.clone(), db: db.clone() }))
    }

    async fn build_database(&self, db: &DatabaseName, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        let path = self.path(db);
        if !path.exists() {
            return Err(DriverError::NotFound { server: self.server.clone(), database: db.to_string() });
        }
        let run = if scripts.is_empty() { ScriptRun { statements: 0, elapsed: Duration::ZERO } } else { self.fill_unjournaled(db, scripts).await? };
        // Durable before anyone records it: the file, then its directory entry.
        std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(self.io("syncing the database file", &path))?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(self.io("syncing the directory", &self.dir))?;
        Ok(run)
    }

    async fn close(&self) {}

    fn location(&self, db: &DatabaseName) -> Location {
        let path = self.path(db);
        let abs = std::path::absolute(&path).unwrap_or(path);
        Location { host: None, port: None, database: abs.display().to_string() }
    }

    fn has_logins(&self) -> bool {
        false
    }

    async fn create_login_role(&self, _login: &LoginName, _password: &Password) -> Result<(), DriverError> {
        Ok(())
    }

    fn login_grants(&self, _db: &DatabaseName, _login: &LoginName) -> String {
        String::new()
    }

    async fn drop_login(&self, _db: &DatabaseName, _login: &LoginName) -> Result<(), DriverError> {
        Ok(())
    }

    async fn set_login_enabled(&self, _login: &LoginName, _enabled: bool) -> Result<(), DriverError> {
        Ok(())
    }

    fn can_clone(&self) -> bool {
        true
    }

    async fn clone_database(&self, source: &DatabaseName, target: &DatabaseName, fill: &[&str]) -> Result<bool, DriverError> {
        let (from, to) = (self.path(source), self.path(target));
        if !from.exists() {
            return Err(DriverError::NotFound { server: self.server.clone(), database: source.to_string() });
        }
        // Claim the target name first (atomically), then fill it.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&to) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(DriverError::AlreadyExists { server: self.server.clone(), database: target.to_string() })
            }
            Err(e) => return Err(self.io("creating the database file", &to)(e)),
        }
        let filled = async {
            std::fs::copy(&from, &to).map_err(self.io("copying the database file", &to))?;
            self.build_database(target, fill).await.map(|_| ())
        }
        .await;
        if let Err(e) = filled {
            let _ = self.drop_database(target).await;
            return Err(e);
        }
        Ok(true)
    }

    async fn rename_database(&self, from: &DatabaseName, to: &DatabaseName) -> Result<bool, DriverError> {
        let (a, b) = (self.path(from), self.path(to));
        // hard_link fails when the target exists: the rename cannot clobber a database.
        match std::fs::hard_link(&a, &b) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(DriverError::AlreadyExists { server: self.server.clone(), database: to.to_string() })
            }
            Err(e) => return Err(self.io("renaming the database file", &b)(e)),
        }
        std::fs::remove_file(&a).map_err(self.io("renaming the database file", &a))?;
        Ok(true)
    }
}

/// An open database file.
struct SqliteSession {
    conn: SqliteConnection,
    server: String,
    db: DatabaseName,
}

#[async_trait]
impl TenantSession for SqliteSession {
    async fn execute_batch(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        let (server, db) = (self.server.clone(), self.db.clone());
        let mut tx = self.conn.begin().await.map_err(session_err(&server, format!("starting a transaction in `{db}`")))?;
        let run = run_batch!(tx, D, &server, &db, scripts);
        tx.commit().await.map_err(session_err(&server, format!("committing in `{db}`")))?;
        Ok(run)
    }

    async fn execute_schema_change(&mut self, scripts: &[&str]) -> Result<ScriptRun, DriverError> {
        // SQLite's table rebuild: enforcement off outside the transaction (it cannot
        // change inside one), every key checked before commit, enforcement back on.
        let (server, db) = (self.server.clone(), self.db.clone());
        sqlx::Executor::execute(&mut self.conn, "PRAGMA foreign_keys = OFF")
            .await
            .map_err(session_err(&server, format!("suspending foreign keys in `{db}`")))?;
        let result = async {
            let mut tx = self.conn.begin().await.map_err(session_err(&server, format!("starting a transaction in `{db}`")))?;
            let run = run_batch!(tx, D, &server, &db, scripts);
            let broken: Vec<(String, i64, String)> = sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                .fetch_all(&mut *tx)
                .await
                .map_err(session_err(&server, format!("checking foreign keys in `{db}`")))?;
            if let Some((table, rowid, parent)) = broken.first() {
                return Err(DriverError::Server {
                    server: server.clone(),
                    action: format!("rebuilding tables in `{db}`"),
                    source: sqlx::Error::Protocol(format!(
                        "{} row(s) would break a foreign key (first: {table} rowid {rowid} → {parent}); nothing was changed",
                        broken.len()
                    )),
                });
            }
            tx.commit().await.map_err(session_err(&server, format!("committing in `{db}`")))?;
            Ok(run)
        }
        .await;
        let restored = sqlx::Executor::execute(&mut self.conn, "PRAGMA foreign_keys = ON")
            .await
            .map_err(session_err(&server, format!("restoring foreign keys in `{db}`")));
        let run = result?;
        restored?;
        Ok(run)
    }

    async fn read_pairs(&mut self, sql: &'static str) -> Result<Vec<(String, Option<String>)>, DriverError> {
        sqlx::query_as(sql).fetch_all(&mut self.conn).await.map_err(session_err(&self.server, format!("reading tenantry's metadata in `{}`", self.db)))
    }

    async fn introspect_tables(&mut self, tables: &[String]) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::sqlite::introspect_tables(&mut self.conn, tables)
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn introspect(&mut self) -> Result<Schema, DriverError> {
        tenantry_schema::introspect::sqlite::introspect(&mut self.conn)
            .await
            .map_err(|source| DriverError::Introspect { server: self.server.clone(), database: self.db.to_string(), source })
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}
