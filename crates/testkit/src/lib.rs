//! Test support shared by every crate's integration tests: the three engines as test
//! targets, unique database names, and cleanup that tolerates killed runs.
//!
//! Servers come from `TENANTRY_TEST_MYSQL_URL` and `TENANTRY_TEST_POSTGRES_URL`
//! (default: the local MariaDB and PostgreSQL). A server that cannot be reached fails
//! the test: a suite that silently skips an engine proves nothing. Names are
//! `tt_<unix seconds>_<random>`, so any run can sweep what a killed run left behind
//! (older than an hour) without touching a concurrent run's databases.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_drivers::{DriverLimits, ServerUrl, TenantDriver};

pub const PREFIX: &str = "tt_";

pub fn mysql_url() -> String {
    std::env::var("TENANTRY_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

pub fn postgres_url() -> String {
    std::env::var("TENANTRY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, unique database name for a test.
pub fn unique_name(tag: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let tag: String = tag.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit()).take(12).collect();
    format!("{PREFIX}{now}_{:08x}_{tag}", rand::random::<u32>())
}

pub fn unique_db(tag: &str) -> DatabaseName {
    DatabaseName::new(&unique_name(tag)).expect("unique names are valid")
}

/// A tenant slug for a test: `t<unix seconds>-<random>-<tag>`, so its database
/// (`tenant_t<seconds>_…`) and login (`t_t<seconds>_…`) can be swept after a killed
/// run, like `tt_` databases.
pub fn test_slug(tag: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let tag: String = tag.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit()).take(12).collect();
    format!("t{now}-{:06x}-{tag}", rand::random::<u32>() & 0xff_ffff)
}

/// The creation time in a name made by [`unique_name`] or [`test_slug`], if any.
fn born(name: &str, prefix: &str) -> Option<u64> {
    let digits: String = name.strip_prefix(prefix)?.chars().take_while(|c| c.is_ascii_digit()).collect();
    (digits.len() == 10).then(|| digits.parse().ok()).flatten()
}

/// One engine a test runs against, with a driver and a scratch directory for SQLite.
pub struct Target {
    pub dialect: Dialect,
    pub url: String,
    pub driver: Arc<dyn TenantDriver>,
    /// Keeps a SQLite target's directory alive.
    pub _dir: Option<tempfile::TempDir>,
}

impl Target {
    pub async fn new(dialect: Dialect) -> Target {
        let (url, dir) = match dialect {
            Dialect::Mysql => (mysql_url(), None),
            Dialect::Postgres => (postgres_url(), None),
            Dialect::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (format!("sqlite://{}", dir.path().display()), Some(dir))
            }
        };
        let parsed = ServerUrl::parse(&url).expect("test URL parses");
        sqlx::any::install_default_drivers();
        let driver = match tenantry_drivers::connect(&format!("test-{dialect}"), &parsed, DriverLimits::default()).await {
            Ok(d) => d,
            Err(e) => panic!(
                "{dialect} test server is not reachable ({e}). Start it (see README) or set TENANTRY_TEST_{}_URL.",
                dialect.as_str().to_uppercase()
            ),
        };
        sweep_leftovers(driver.as_ref()).await;
        Target { dialect, url, driver, _dir: dir }
    }

    /// All three engines.
    pub async fn all() -> Vec<Target> {
        let mut out = Vec::new();
        for d in Dialect::ALL {
            out.push(Target::new(d).await);
        }
        out
    }

    /// A URL for a landlord database named `db` on this target's server.
    pub fn landlord_url(&self, db: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("sqlite://{}/{db}.db", self.url.trim_start_matches("sqlite://")),
            _ => format!("{}/{db}", self.url.trim_end_matches('/')),
        }
    }
}

/// Drops what killed runs left, once older than an hour: `tt_` databases, test
/// tenants' databases (`tenant_t<time>_…`) and their logins (`t_t<time>_…`).
pub async fn sweep_leftovers(driver: &dyn TenantDriver) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let old = |t: Option<u64>| t.is_some_and(|t| t + 3600 < now);
    for prefix in [PREFIX, "tenant_t"] {
        let Ok(names) = driver.list_databases(prefix).await else { continue };
        for name in names {
            if old(born(&name, prefix)) {
                if let Ok(db) = DatabaseName::new(&name) {
                    let _ = driver.drop_database(&db).await;
                }
            }
        }
    }
    sweep_logins(driver, &old).await;
}

/// Test tenants' logins left by killed runs (their databases are gone or going).
async fn sweep_logins(driver: &dyn TenantDriver, old: &dyn Fn(Option<u64>) -> bool) {
    use sqlx::Connection;
    let url = match driver.dialect() {
        Dialect::Mysql => mysql_url(),
        Dialect::Postgres => format!("{}/postgres", postgres_url()),
        Dialect::Sqlite => return,
    };
    let query = match driver.dialect() {
        Dialect::Mysql => "SELECT CAST(User AS CHAR) FROM mysql.user WHERE User LIKE 't\\_t%'",
        _ => "SELECT rolname::text FROM pg_roles WHERE rolname LIKE 't\\_t%'",
    };
    let Ok(mut conn) = sqlx::AnyConnection::connect(&url).await else { return };
    let Ok(rows) = sqlx::query_as::<_, (String,)>(query).fetch_all(&mut conn).await else { return };
    for (name,) in rows {
        if !old(born(&name, "t_t")) || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let drop = match driver.dialect() {
            Dialect::Mysql => format!("DROP USER IF EXISTS '{name}'@'%'"),
            _ => format!("DROP ROLE IF EXISTS \"{name}\""),
        };
        let _ = sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&drop)).await;
    }
    let _ = conn.close().await;
}

/// A database dropped when the guard goes, also when the test panics.
pub struct ScratchDb {
    pub name: DatabaseName,
    url: String,
}

impl ScratchDb {
    pub async fn create(target: &Target, tag: &str) -> ScratchDb {
        let name = unique_db(tag);
        target.driver.create_database(&name).await.expect("create scratch database");
        ScratchDb { name, url: target.url.clone() }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, whose pools cannot be driven from here:
        // a helper thread with its own runtime and its own connection does the drop.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                let Ok(url) = ServerUrl::parse(&url) else { return };
                if let Ok(driver) = tenantry_drivers::connect("cleanup", &url, DriverLimits { max_connections: 1 }).await {
                    let _ = driver.drop_database(&name).await;
                    driver.close().await;
                }
            });
        })
        .join();
    }
}

/// The engines' own command-line clients, fed a file: the floor tenantry is compared
/// with in tests and benchmarks.
pub mod client {
    use super::*;
    use std::process::{Command, Stdio};

    /// Runs `sql_file` in database `db` of `target` with `mysql`, `psql` or `sqlite3`.
    pub fn run_file(target: &Target, db: &DatabaseName, sql_file: &std::path::Path) -> Result<(), String> {
        let file = std::fs::File::open(sql_file).map_err(|e| format!("{}: {e}", sql_file.display()))?;
        let mut cmd = match target.dialect {
            Dialect::Mysql => {
                let u = url_parts(&target.url);
                let mut c = Command::new("mysql");
                c.args(["-h", &u.host, "-P", &u.port.to_string(), "-u", &u.user, "--batch", db.as_str()]);
                if !u.password.is_empty() {
                    c.env("MYSQL_PWD", &u.password);
                }
                c
            }
            Dialect::Postgres => {
                let u = url_parts(&target.url);
                let mut c = Command::new("psql");
                c.args(["-h", &u.host, "-p", &u.port.to_string(), "-U", &u.user, "-d", db.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-X"]);
                if !u.password.is_empty() {
                    c.env("PGPASSWORD", &u.password);
                }
                c
            }
            Dialect::Sqlite => {
                let dir = target.url.trim_start_matches("sqlite://");
                let mut c = Command::new("sqlite3");
                c.args(["-bail", &format!("{dir}/{db}.db")]);
                c
            }
        };
        let out = cmd
            .stdin(Stdio::from(file))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run the {} client: {e}", target.dialect))?;
        if out.status.success() && out.stderr.is_empty() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    struct UrlParts {
        host: String,
        port: u16,
        user: String,
        password: String,
    }

    fn url_parts(url: &str) -> UrlParts {
        let parsed = ServerUrl::parse(url).expect("test URL");
        let rest = url.split_once("://").map(|x| x.1).unwrap_or("");
        let auth = rest.split_once('@').map(|x| x.0).unwrap_or("");
        let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
        UrlParts {
            host: parsed.host().unwrap_or_else(|| "127.0.0.1".into()),
            port: parsed.port().unwrap_or(0),
            user: user.to_string(),
            password: password.to_string(),
        }
    }
}

/// A TCP proxy in front of a real server, which a test can cut and restore: from
/// tenantry's side, the server went down and came back, on the same address.
pub mod proxy {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    pub struct Proxy {
        pub port: u16,
        up: Arc<AtomicBool>,
        cut: watch::Sender<u64>,
        generation: std::sync::atomic::AtomicU64,
    }

    impl Proxy {
        /// Listens on 127.0.0.1 (a free port) and forwards to `target` ("host:port").
        pub async fn start(target: &str) -> Arc<Proxy> {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
            let port = listener.local_addr().expect("proxy address").port();
            let (cut, _) = watch::channel(0u64);
            let proxy = Arc::new(Proxy { port, up: Arc::new(AtomicBool::new(true)), cut, generation: Default::default() });
            let (p, target) = (proxy.clone(), target.to_string());
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if !p.up.load(Ordering::SeqCst) {
                        drop(inbound); // refused while down
                        continue;
                    }
                    let mut cut = p.cut.subscribe();
                    let target = target.clone();
                    tokio::spawn(async move {
                        let Ok(outbound) = TcpStream::connect(&target).await else { return };
                        let (mut ri, mut wi) = inbound.into_split();
                        let (mut ro, mut wo) = outbound.into_split();
                        tokio::select! {
                            _ = tokio::io::copy(&mut ri, &mut wo) => {}
                            _ = tokio::io::copy(&mut ro, &mut wi) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            });
            proxy
        }

        /// The server "goes down": open connections are cut, new ones refused.
        pub fn down(&self) {
            self.up.store(false, Ordering::SeqCst);
            let g = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = self.cut.send(g);
        }

        /// The server is back.
        pub fn up(&self) {
            self.up.store(true, Ordering::SeqCst);
        }
    }
}
