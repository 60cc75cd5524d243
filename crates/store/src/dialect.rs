//! Everything about the landlord that differs by engine, in one place.

use crate::StoreError;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use tenantry_domain::Dialect;

#[derive(Debug, Clone, Copy)]
pub(crate) struct LandlordDialect(Dialect);

pub(crate) struct MigrationLock {
    pub take: &'static str,
    pub on_success: &'static str,
    pub on_failure: &'static str,
}

impl LandlordDialect {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let dialect = Dialect::from_url(url).ok_or_else(|| {
            StoreError::BadUrl(format!(
                "`{}`: use sqlite://PATH, mysql://user:pass@host:3306/DB or postgres://user:pass@host:5432/DB",
                redact(url)
            ))
        })?;
        let me = LandlordDialect(dialect);
        if dialect != Dialect::Sqlite {
            let db = me.database_name(url)?;
            tenantry_domain::ident::check_landlord_database(&db).map_err(|e| StoreError::BadUrl(e.to_string()))?;
        }
        Ok(me)
    }

    pub fn dialect(self) -> Dialect {
        self.0
    }

    pub fn redact(self, url: &str) -> String {
        redact(url)
    }

    fn database_name(self, url: &str) -> Result<String, StoreError> {
        let parsed = url::Url::parse(url).map_err(|e| StoreError::BadUrl(format!("`{}`: {e}", redact(url))))?;
        let path = parsed.path().trim_start_matches('/');
        let decoded = percent_decode(path);
        if decoded.is_empty() {
            return Err(StoreError::BadUrl(format!("`{}` names no database, as in {}://…/tenantry", redact(url), self.0)));
        }
        Ok(decoded)
    }

    /// Creates the landlord database (or the SQLite file's directory) when missing.
    pub async fn ensure_database(self, url: &str) -> Result<(), StoreError> {
        let connect_err = |source| StoreError::Connect { url: redact(url), source };
        match self.0 {
            Dialect::Sqlite => {
                let path = sqlite_path(url);
                if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::BadUrl(format!("cannot create the directory {} for the landlord: {e}", dir.display()))
                    })?;
                }
                Ok(())
            }
            Dialect::Mysql => {
                let db = self.database_name(url)?;
                let opts = sqlx::mysql::MySqlConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(format!("`{}`: {e}", redact(url))))?
                    .database("");
                let mut conn = opts.connect().await.map_err(connect_err)?;
                let sql = format!(
                    "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    self.0.quote(&db)
                );
                sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&sql)).await.map_err(connect_err)?;
                let _ = conn.close().await;
                Ok(())
            }
            Dialect::Postgres => {
                let db = self.database_name(url)?;
                let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(format!("`{}`: {e}", redact(url))))?
                    .database("postgres");
                let mut conn = opts.connect().await.map_err(connect_err)?;
                let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&db)
                    .fetch_optional(&mut conn)
                    .await
                    .map_err(connect_err)?;
                if exists.is_none() {
                    let sql = format!("CREATE DATABASE {}", self.0.quote(&db));
                    match sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&sql)).await {
                        Ok(_) => {}
                        // Another tenantry created it in the meantime.
                        Err(sqlx::Error::Database(d)) if matches!(d.code().as_deref(), Some("42P04") | Some("23505")) => {}
                        Err(e) => return Err(connect_err(e)),
                    }
                }
                let _ = conn.close().await;
                Ok(())
            }
        }
    }

    /// The URL the pool connects with (SQLite: create the file if missing).
    pub fn connect_url(self, url: &str) -> String {
        match self.0 {
            Dialect::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        }
    }

    /// Statements every landlord session runs first.
    pub fn session_setup(self) -> &'static [&'static str] {
        match self.0 {
            // WAL with synchronous=NORMAL cannot corrupt the database; a power cut may
            // lose the last commits, not consistency.
            Dialect::Sqlite => &[
                "PRAGMA foreign_keys = ON",
                "PRAGMA busy_timeout = 15000",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
            ],
            Dialect::Postgres => &["SET jit = off"],
            Dialect::Mysql => &[],
        }
    }

    pub fn pool_size(self) -> u32 {
        match self.0 {
            Dialect::Sqlite => 4,
            _ => 6,
        }
    }

    /// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL. Queries are tenantry's
    /// own constants, with no `?` inside literals.
    pub fn placeholders(self, q: &str) -> String {
        if self.0 != Dialect::Postgres {
            return q.to_string();
        }
        let mut out = String::with_capacity(q.len() + 8);
        let mut n = 0;
        for c in q.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Landlord DDL with its tokens replaced for this engine.
    pub fn ddl(self, template: &str) -> String {
        let (id, text, bigint) = match self.0 {
            Dialect::Sqlite => ("id INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "INTEGER"),
            Dialect::Mysql => ("id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "LONGTEXT", "BIGINT"),
            Dialect::Postgres => ("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TEXT", "BIGINT"),
        };
        template
            .replace("{id}", id)
            .replace("{text}", text)
            .replace("{json}", text)
            .replace("{ts}", "VARCHAR(40)")
            .replace("{bigint}", bigint)
    }

    /// SQL that takes the migration lock on one session, and releases it after
    /// success and after failure. On SQLite the lock is a write transaction around
    /// the whole run (`BEGIN IMMEDIATE`), which also makes the run all-or-nothing.
    pub fn lock_sql(self) -> MigrationLock {
        match self.0 {
            Dialect::Mysql => MigrationLock {
                take: "SELECT GET_LOCK('tenantry_landlord_migrate', 60)",
                on_success: "SELECT RELEASE_LOCK('tenantry_landlord_migrate')",
                on_failure: "SELECT RELEASE_LOCK('tenantry_landlord_migrate')",
            },
            Dialect::Postgres => MigrationLock {
                take: "SELECT pg_advisory_lock(72635410)",
                on_success: "SELECT pg_advisory_unlock(72635410)",
                on_failure: "SELECT pg_advisory_unlock(72635410)",
            },
            Dialect::Sqlite => MigrationLock { take: "BEGIN IMMEDIATE", on_success: "COMMIT", on_failure: "ROLLBACK" },
        }
    }

    /// How a write transaction starts. SQLite: IMMEDIATE takes the write lock first, so
    /// a transaction that reads before it writes waits for other writers (busy_timeout)
    /// instead of failing with "database is locked" when it upgrades.
    pub fn begin_write(self) -> &'static str {
        match self.0 {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        }
    }

    /// Whether each migration runs in a transaction of its own: PostgreSQL yes;
    /// SQLite's whole run is one already; MySQL commits DDL implicitly.
    pub fn transaction_per_migration(self) -> bool {
        self.0 == Dialect::Postgres
    }

    /// The dialect whose splitter reads landlord migrations.
    pub fn splitter(self) -> Dialect {
        self.0
    }
}

fn sqlite_path(url: &str) -> String {
    let rest = url.split_once(':').map(|(_, r)| r).unwrap_or("");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    rest.split('?').next().unwrap_or("").to_string()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with its password as `***`.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_for_postgres() {
        let pg = LandlordDialect(Dialect::Postgres);
        assert_eq!(pg.placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(LandlordDialect(Dialect::Mysql).placeholders("a = ?"), "a = ?");
    }

    #[test]
    fn landlord_urls_are_validated() {
        assert!(LandlordDialect::from_url("mysql://root@127.0.0.1:3306/tenantry").is_ok());
        assert!(LandlordDialect::from_url("mysql://root@127.0.0.1:3306/").is_err());
        assert!(LandlordDialect::from_url("mysql://root@127.0.0.1:3306/a%60b").is_err());
        assert!(LandlordDialect::from_url("postgres://p@h/x;drop").is_err());
        assert!(LandlordDialect::from_url("mysql://root@h/mysql").is_err());
        assert!(LandlordDialect::from_url("sqlite://./data/landlord.db").is_ok());
        assert!(LandlordDialect::from_url("redis://x").is_err());
        assert_eq!(redact("mysql://u:secret@h/db"), "mysql://u:***@h/db");
    }
}
