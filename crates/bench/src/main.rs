//! Benchmarks of tenantry against the floor, in one run on the same servers:
//! the engine's stock client (`mysql`, `psql`, `sqlite3`) started once per tenant, and
//! one session holding its connection and sending the same SQL.
//!
//! `cargo run --release -p tenantry-bench -- provision --tenants 20`

mod drift;
mod rollout;

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tenantry_domain::template::TemplateBundle;
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_engine::tenants::{BuildMethod, CreateTenant};
use tenantry_engine::{AddServer, Config, ConfigOverrides, Engine};
use tenantry_testkit::{client, Target};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    what: What,
}

/// A fleet benchmark's size and limits.
#[derive(clap::Args)]
struct Fleet {
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// mysql, postgres (default: both)
    #[arg(long, value_delimiter = ',')]
    dialects: Vec<String>,
}

#[derive(clap::Subcommand)]
enum What {
    /// Tenants per second of one migration rolled out to a fleet
    Rollout(Fleet),
    /// Tenants per second of a drift scan of a fleet
    Drift(Fleet),
    /// Per-tenant provisioning time of the political_party template
    Provision {
        #[arg(long, default_value_t = 20)]
        tenants: usize,
        /// mysql, postgres, sqlite (default: all)
        #[arg(long, value_delimiter = ',')]
        dialects: Vec<String>,
        /// Records this many synthetic tenants (landlord rows, no databases) on each
        /// server first: how provisioning scales with the size of the fleet.
        #[arg(long, default_value_t = 0)]
        landlord_tenants: usize,
    },
}

/// The stock client once per tenant, `concurrency` at a time; `file_for(i)` is the
/// SQL file for `dbs[i]`.
pub(crate) fn parallel_clients(
    target: &Target,
    dbs: &[DatabaseName],
    file_for: &(dyn Fn(usize) -> PathBuf + Sync),
    concurrency: usize,
) -> Result<Duration> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                let next = &next;
                scope.spawn(move || -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(db) = dbs.get(i) else { return Ok(()) };
                        client::run_file(target, db, &file_for(i)).map_err(|e| anyhow::anyhow!("{db}: {e}"))?;
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("client thread panicked"))?)
    })?;
    Ok(t0.elapsed())
}

/// `concurrency` sessions holding their connections, sending `statements_for(db)`
/// for each database: one connection per worker on MySQL (the statements switch
/// database), one per tenant database on PostgreSQL (a session is bound to one).
pub(crate) async fn held_sessions(
    d: Dialect,
    url: &str,
    dbs: &[DatabaseName],
    concurrency: usize,
    statements_for: &(dyn Fn(&DatabaseName) -> Vec<String> + Sync),
) -> Result<Duration> {
    use sqlx::{Connection, Executor};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    let tasks = (0..concurrency).map(|_| {
        let next = &next;
        async move {
            let mut mysql = match d {
                Dialect::Mysql => Some(sqlx::MySqlConnection::connect(url).await?),
                _ => None,
            };
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(db) = dbs.get(i) else { break };
                match mysql.as_mut() {
                    Some(c) => {
                        for q in statements_for(db) {
                            c.fetch_all(sqlx::raw_sql(&q)).await?;
                        }
                    }
                    None => {
                        let mut c = sqlx::PgConnection::connect(&format!("{url}/{db}")).await?;
                        for q in statements_for(db) {
                            c.fetch_all(sqlx::raw_sql(&q)).await?;
                        }
                        c.close().await?;
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }
    });
    futures::future::try_join_all(tasks).await?;
    Ok(t0.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Ok(filter) = std::env::var("TENANTRY_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    match args.what {
        What::Provision { tenants, dialects, landlord_tenants } => provision(tenants, dialects, landlord_tenants).await,
        What::Rollout(f) => rollout::run(f.tenants, f.concurrency, f.dialects).await,
        What::Drift(f) => drift::run(f.tenants, f.concurrency, f.dialects).await,
    }
}

async fn provision(n: usize, dialects: Vec<String>, synthetic: usize) -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates/political_party");
    let files = tenantry_engine::templates::load::read_dir(&root)?;
    let bundle = TemplateBundle::from_files(files).map_err(|e| anyhow::anyhow!("{e}"))?;
    let modules = bundle.all_modules();
    let work = tempfile::tempdir()?;
    let dialects: Vec<Dialect> = if dialects.is_empty() {
        Dialect::ALL.to_vec()
    } else {
        dialects.iter().map(|d| d.parse()).collect::<Result<_, _>>()?
    };

    // tenantry with a SQLite landlord, the same servers as the floor.
    let config = Config::load(&ConfigOverrides { config_file: None, landlord: Some(format!("sqlite://{}/landlord.db", work.path().display())) })?;
    let mut config = config;
    config.data_dir = work.path().join("data");
    config.master_key_file = work.path().join("master.key");
    let engine = Engine::open(config).await?;
    let mut results = Vec::new();
    for d in dialects {
        let target = Target::new(d).await;
        let url = match d {
            Dialect::Sqlite => format!("sqlite://{}", work.path().join("tenants").display()),
            _ => target.url.clone(),
        };
        let server = format!("bench-{d}");
        engine.add_server(AddServer { name: server.clone(), url, capacity: Some(100_000), max_concurrency: Some(8) }).await?;
        if d == Dialect::Mysql || results.is_empty() {
            let _ = engine.import_template(&root).await;
        }
        if synthetic > 0 {
            add_synthetic_tenants(&work.path().join("landlord.db"), &server, synthetic).await?;
        }
        // The same SQL for everyone: the newest version with all modules, seeds included.
        let plan = bundle.build_plan(d, &modules, &bundle.manifest.version, true);
        let script: String = plan.iter().map(|s| format!("{}\n;\n", s.sql.trim_end().trim_end_matches(';'))).collect();
        let script_file = work.path().join(format!("script.{d}.sql"));
        std::fs::write(&script_file, &script)?;
        let tag = format!("{:06x}", rand_u32() & 0xffffff);
        let sqlite_target = Target { dialect: d, url: format!("sqlite://{}", work.path().join("tenants").display()), driver: target.driver.clone(), _dir: None };
        let client_target = if d == Dialect::Sqlite { &sqlite_target } else { &target };

        let mut client_times = Vec::new();
        let mut session_times = Vec::new();
        let mut replay_times = Vec::new();
        let mut clone_times = Vec::new();
        let mut cleanup: Vec<DatabaseName> = Vec::new();
        for i in 0..n {
            // 1. Stock client, one process per tenant (CREATE DATABASE included).
            let db = DatabaseName::new(&format!("bench_c{tag}_{i}"))?;
            let t0 = Instant::now();
            create_with_client(client_target, &db, work.path())?;
            client::run_file(client_target, &db, &script_file).map_err(|e| anyhow::anyhow!("client: {e}"))?;
            client_times.push(t0.elapsed());
            cleanup.push(db);

            // 2. One session holding its connection, the same statements.
            let db = DatabaseName::new(&format!("bench_s{tag}_{i}"))?;
            let t0 = Instant::now();
            held_session(d, &client_target.url, &db, &plan).await?;
            session_times.push(t0.elapsed());
            cleanup.push(db);

            // 3. tenantry, replaying.
            let slug = format!("br{tag}-{i}");
            let t0 = Instant::now();
            engine.create_tenant(create(&slug, &server, BuildMethod::Replay)).await?;
            replay_times.push(t0.elapsed());

            // 4. tenantry, cloning where the engine can.
            if d != Dialect::Mysql {
                let slug = format!("bc{tag}-{i}");
                let t0 = Instant::now();
                engine.create_tenant(create(&slug, &server, BuildMethod::Clone)).await?;
                // The first clone builds the prepared database: leave it out.
                if i > 0 {
                    clone_times.push(t0.elapsed());
                }
            }
        }
        // 5. The database work alone, through tenantry's driver, without the landlord
        //    bookkeeping both paths share: an empty CREATE DATABASE (the least any
        //    clone can cost on this server), the replay's CREATE DATABASE + build
        //    plan, and the clone's copy of the prepared database + one metadata row.
        let driver = engine.driver(&engine.server(&server).await?).await?;
        let detail = engine.template_detail("political_party", None).await?;
        let version = detail.versions.iter().find(|v| Some(&v.record.version) == detail.template.version.as_ref()).context("the newest version")?;
        let prepared = tenantry_engine::tenants::prepared_database_name("political_party", &version.record.version, &version.record.checksum, &modules)?;
        let prepared = (d != Dialect::Mysql).then_some(prepared);
        let plan_scripts: Vec<&str> = plan.iter().map(|s| s.sql.as_str()).collect();
        let (mut create_times, mut db_replay_times, mut db_clone_times) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let db = DatabaseName::new(&format!("bench_e{tag}_{i}"))?;
            let t0 = Instant::now();
            driver.create_database(&db).await?;
            create_times.push(t0.elapsed());
            cleanup.push(db);

            let db = DatabaseName::new(&format!("bench_r{tag}_{i}"))?;
            let t0 = Instant::now();
            driver.create_database(&db).await?;
            driver.execute_batch(&db, &plan_scripts).await?;
            db_replay_times.push(t0.elapsed());
            cleanup.push(db);

            if let Some(prepared) = &prepared {
                let db = DatabaseName::new(&format!("bench_k{tag}_{i}"))?;
                let t0 = Instant::now();
                driver.clone_database(prepared, &db, &["UPDATE tenantry_meta SET meta_value = 'bench' WHERE meta_key = 'slug';"]).await?;
                db_clone_times.push(t0.elapsed());
                cleanup.push(db);
            }
        }
        // 6. tenantry with a warm pool of one, refilled (untimed) before each create.
        let mut pooled_config = engine.config().clone();
        pooled_config.pools = vec![tenantry_engine::PoolTarget {
            template: "political_party".into(),
            modules: vec!["elections".into(), "fundraising".into(), "events".into()],
            server: Some(server.clone()),
            size: 1,
        }];
        let pooled_engine = Engine::open(pooled_config).await?;
        let mut pool_times = Vec::new();
        for i in 0..n {
            pooled_engine.refill_pools().await?;
            let slug = format!("bp{tag}-{i}");
            let t0 = Instant::now();
            pooled_engine.create_tenant(create(&slug, &server, BuildMethod::Auto)).await?;
            pool_times.push(t0.elapsed());
        }
        let mut drained = pooled_engine.config().clone();
        drained.pools[0].size = 0;
        let cleaner = Engine::open(drained).await?;
        cleaner.refill_pools().await?;
        cleaner.close().await;
        pooled_engine.close().await;
        let row = serde_json::json!({
            "dialect": d.as_str(),
            "tenantry_pooled_ms": ms(median(pool_times.clone())),
            "tenants": n,
            "synthetic_landlord_tenants": synthetic,
            "tables": 20,
            "client_per_tenant_ms": ms(median(client_times.clone())),
            "held_session_ms": ms(median(session_times.clone())),
            "tenantry_replay_ms": ms(median(replay_times.clone())),
            "tenantry_clone_ms": if clone_times.is_empty() { serde_json::Value::Null } else { serde_json::json!(ms(median(clone_times.clone()))) },
            "replay_vs_client": ms(median(replay_times.clone())) / ms(median(client_times.clone())),
            "replay_vs_session": ms(median(replay_times.clone())) / ms(median(session_times.clone())),
            "clone_speedup_vs_replay": if clone_times.is_empty() { serde_json::Value::Null } else { serde_json::json!(ms(median(replay_times.clone())) / ms(median(clone_times.clone()))) },
            "db_create_ms": ms(median(create_times.clone())),
            "db_replay_ms": ms(median(db_replay_times.clone())),
            "db_clone_ms": if db_clone_times.is_empty() { serde_json::Value::Null } else { serde_json::json!(ms(median(db_clone_times.clone()))) },
            "db_clone_speedup": if db_clone_times.is_empty() { serde_json::Value::Null } else { serde_json::json!(ms(median(db_replay_times.clone())) / ms(median(db_clone_times.clone()))) },
            // No clone can beat an empty CREATE DATABASE on the same server.
            "clone_speedup_ceiling": ms(median(replay_times.clone())) / ms(median(create_times.clone())),
        });
        println!("{}", serde_json::to_string(&row)?);
        results.push(row);
        // Clean up: synthetic rows first, tenants through tenantry, the rest directly.
        if synthetic > 0 {
            use sqlx::{Connection, Executor};
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", work.path().join("landlord.db").display())).await?;
            c.execute("DELETE FROM tenants WHERE id LIKE 'synthetic-%'").await?;
            c.close().await?;
        }
        for t in engine.tenants(&Default::default()).await? {
            if t.server.as_deref() == Some(server.as_str()) {
                engine.delete_tenant(&t.slug, false).await?;
            }
        }
        for db in cleanup {
            if d == Dialect::Sqlite {
                let _ = std::fs::remove_file(work.path().join("tenants").join(format!("{db}.db")));
            } else {
                target.driver.drop_database(&db).await?;
            }
        }
    }
    println!("\n{:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14} {:>15} {:>14}", "engine", "client ms", "session ms", "replay ms", "clone ms", "pooled ms", "replay/client", "replay/session", "clone speedup");
    for r in &results {
        let (f, x) = (|k: &str| cell_ms(r, k), |k: &str| cell_ratio(r, k));
        println!(
            "{:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14} {:>15} {:>14}",
            r["dialect"].as_str().unwrap_or(""),
            f("client_per_tenant_ms"),
            f("held_session_ms"),
            f("tenantry_replay_ms"),
            f("tenantry_clone_ms"),
            f("tenantry_pooled_ms"),
            x("replay_vs_client"),
            x("replay_vs_session"),
            x("clone_speedup_vs_replay")
        );
    }
    println!("\ndatabase work alone (no landlord bookkeeping):");
    println!("{:<9} {:>14} {:>13} {:>12} {:>15} {:>22}", "engine", "empty create", "replay ms", "clone ms", "clone speedup", "end-to-end ceiling");
    for r in &results {
        let (f, x) = (|k: &str| cell_ms(r, k), |k: &str| cell_ratio(r, k));
        println!(
            "{:<9} {:>14} {:>13} {:>12} {:>15} {:>22}",
            r["dialect"].as_str().unwrap_or(""),
            f("db_create_ms"),
            f("db_replay_ms"),
            f("db_clone_ms"),
            x("db_clone_speedup"),
            x("clone_speedup_ceiling")
        );
    }
    engine.close().await;
    Ok(())
}

/// A table cell: milliseconds, or `-` where the row has no such figure.
fn cell_ms(row: &serde_json::Value, key: &str) -> String {
    row[key].as_f64().map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

fn cell_ratio(row: &serde_json::Value, key: &str) -> String {
    row[key].as_f64().map(|v| format!("{v:.2}x")).unwrap_or_else(|| "-".into())
}

/// `count` active tenants of political_party on `server`, as landlord rows only.
async fn add_synthetic_tenants(landlord: &Path, server: &str, count: usize) -> Result<()> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", landlord.display())).await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO tenants (id, slug, name, status, template_id, template_version, modules, server_id, database_name, \
           customization_count, schema_drift_level, created_at, updated_at) \
         SELECT 'synthetic-' || ?2 || '-' || i, 'syn-' || ?2 || '-' || i, 'synthetic', 'active', t.id, t.version, '[]', s.id, \
           'synthetic_' || i, 0, 'none', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' \
         FROM n, tenant_templates t, database_servers s WHERE t.name = 'political_party' AND s.name = ?2",
    )
    .bind(count as i64)
    .bind(server)
    .execute(&mut c)
    .await?;
    c.close().await?;
    Ok(())
}

fn rand_u32() -> u32 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(7)) ^ std::process::id()
}

fn create(slug: &str, server: &str, method: BuildMethod) -> CreateTenant {
    CreateTenant {
        slug: slug.into(),
        template: "political_party".into(),
        modules: vec!["elections".into(), "fundraising".into(), "events".into()],
        server: Some(server.into()),
        method,
        actor: "bench".into(),
        ..Default::default()
    }
}

/// CREATE DATABASE the way a script would: with the client.
fn create_with_client(target: &Target, db: &DatabaseName, work: &Path) -> Result<()> {
    let file = work.join("create.sql");
    match target.dialect {
        Dialect::Sqlite => return Ok(()), // sqlite3 creates the file itself
        Dialect::Mysql => std::fs::write(&file, format!("CREATE DATABASE `{db}`;\n"))?,
        Dialect::Postgres => std::fs::write(&file, format!("CREATE DATABASE \"{db}\";\n"))?,
    }
    let status = match target.dialect {
        Dialect::Mysql => std::process::Command::new("mysql").args(["-h", "127.0.0.1", "-u", "root"]).stdin(std::fs::File::open(&file)?).status()?,
        _ => std::process::Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", "-X"]).stdin(std::fs::File::open(&file)?).status()?,
    };
    if !status.success() {
        bail!("creating {db} with the client failed");
    }
    Ok(())
}

/// One connection, held: CREATE DATABASE, then the statements (PostgreSQL must open a
/// session on the new database: a session cannot switch databases there).
async fn held_session(d: Dialect, url: &str, db: &DatabaseName, plan: &[tenantry_domain::template_plan::BuildStep]) -> Result<()> {
    use sqlx::{Connection, Executor};
    let statements: Vec<String> = plan
        .iter()
        .flat_map(|s| tenantry_domain::sql::split_script(d, &s.sql).unwrap_or_default())
        .map(|s| s.sql)
        .collect();
    match d {
        Dialect::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url).await?;
            c.execute(sqlx::raw_sql(&format!("CREATE DATABASE `{db}`"))).await?;
            c.execute(sqlx::raw_sql(&format!("USE `{db}`"))).await?;
            for s in &statements {
                c.execute(sqlx::raw_sql(s)).await.with_context(|| s.clone())?;
            }
            c.close().await?;
        }
        Dialect::Postgres => {
            let mut admin = sqlx::PgConnection::connect(&format!("{url}/postgres")).await?;
            admin.execute(sqlx::raw_sql(&format!("CREATE DATABASE \"{db}\""))).await?;
            admin.close().await?;
            let mut c = sqlx::PgConnection::connect(&format!("{url}/{db}")).await?;
            let mut tx = c.begin().await?;
            for s in &statements {
                tx.execute(sqlx::raw_sql(s)).await.with_context(|| s.clone())?;
            }
            tx.commit().await?;
            c.close().await?;
        }
        Dialect::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}/{db}.db?mode=rwc")).await?;
            let mut tx = c.begin().await?;
            for s in &statements {
                tx.execute(sqlx::raw_sql(s)).await.with_context(|| s.clone())?;
            }
            tx.commit().await?;
            c.close().await?;
        }
    }
    Ok(())
}
