//! `tenantry-bench rollout`: one migration to a fleet, against the floor on the same
//! databases in the same run: the stock client started once per tenant at the same
//! concurrency, and the same number of held sessions sending the same SQL.

use anyhow::{anyhow, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_engine::rollouts::{MigrateRequest, NoProgress};
use tenantry_engine::tenants::CreateTenant;
use tenantry_engine::{AddServer, Config, ConfigOverrides, Engine};
use crate::{held_sessions, parallel_clients};
use tenantry_testkit::Target;

const UP: &str = "ALTER TABLE accounts ADD COLUMN note VARCHAR(100) NULL;\nCREATE INDEX ix_accounts_note ON accounts (note);\n";
const DOWN_MYSQL: &str = "DROP INDEX ix_accounts_note ON accounts;\nALTER TABLE accounts DROP COLUMN note;\n";
const DOWN: &str = "DROP INDEX ix_accounts_note;\nALTER TABLE accounts DROP COLUMN note;\n";

fn template(dir: &std::path::Path) -> Result<()> {
    let m = dir.join("migrations/0002_note");
    std::fs::create_dir_all(dir.join("modules/core"))?;
    std::fs::create_dir_all(&m)?;
    std::fs::write(dir.join("template.toml"), "name = \"benchroll\"\ntype = \"custom\"\nversion = \"1.1.0\"\ndialects = [\"mysql\", \"postgres\"]\n[modules.core]\ntype = \"core\"\n")?;
    std::fs::write(
        dir.join("modules/core/schema.sql"),
        "CREATE TABLE accounts (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(100) NOT NULL, note VARCHAR(100) NULL);\nCREATE INDEX ix_accounts_email ON accounts (email);\nCREATE INDEX ix_accounts_note ON accounts (note);\n",
    )?;
    std::fs::write(m.join("migration.toml"), "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n")?;
    std::fs::write(m.join("up.sql"), UP)?;
    std::fs::write(m.join("down.sql"), DOWN)?;
    std::fs::write(m.join("down.mysql.sql"), DOWN_MYSQL)?;
    Ok(())
}

/// Samples the server's connections from tenantry (PostgreSQL: application_name;
/// MySQL: sessions inside the benchmark's tenant databases) until stopped; returns
/// the peak.
async fn sample_connections(d: Dialect, url: String, stop: Arc<AtomicUsize>) -> usize {
    use sqlx::Connection;
    let mut peak = 0;
    match d {
        Dialect::Postgres => {
            let Ok(mut c) = sqlx::PgConnection::connect(&format!("{url}/postgres")).await else { return 0 };
            while stop.load(Ordering::SeqCst) == 0 {
                if let Ok((n,)) = sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'tenantry' AND backend_type = 'client backend'").fetch_one(&mut c).await {
                    peak = peak.max(n as usize);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        _ => {
            let Ok(mut c) = sqlx::MySqlConnection::connect(&url).await else { return 0 };
            while stop.load(Ordering::SeqCst) == 0 {
                if let Ok((n,)) = sqlx::query_as::<_, (i64,)>("SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB LIKE 'tenant\\_rb%'").fetch_one(&mut c).await {
                    peak = peak.max(n.max(0) as usize);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    peak
}

pub async fn run(n: usize, concurrency: usize, dialects: Vec<String>) -> Result<()> {
    let work = tempfile::tempdir()?;
    let tpl = work.path().join("benchroll");
    template(&tpl)?;
    let dialects: Vec<Dialect> = if dialects.is_empty() { vec![Dialect::Mysql, Dialect::Postgres] } else { dialects.iter().map(|d| d.parse()).collect::<Result<_, _>>()? };
    let mut config = Config::load(&ConfigOverrides { config_file: None, landlord: Some(format!("sqlite://{}/landlord.db", work.path().display())) })?;
    config.data_dir = work.path().join("data");
    config.master_key_file = work.path().join("master.key");
    let engine = Engine::open(config).await?;
    let mut rows = Vec::new();
    for d in dialects {
        let target = Target::new(d).await;
        // Only the engine's own connections should count.
        target.driver.close().await;
        let server = format!("roll-{d}");
        engine.add_server(AddServer { name: server.clone(), url: target.url.clone(), capacity: Some(1_000_000), max_concurrency: Some(concurrency as i64) }).await?;
        if rows.is_empty() {
            engine.import_template(&tpl).await?;
        }
        let tag = format!("{:05x}", std::process::id() & 0xfffff);
        eprintln!("{d}: creating {n} tenants at 1.0.0 …");
        let t0 = Instant::now();
        let mut slugs = Vec::new();
        for i in 0..n {
            let slug = format!("rb{tag}-{d}-{i}");
            engine
                .create_tenant(CreateTenant { slug: slug.clone(), template: "benchroll".into(), version: Some("1.0.0".into()), server: Some(server.clone()), actor: "bench".into(), ..Default::default() })
                .await?;
            slugs.push(slug);
        }
        eprintln!("{d}: {n} tenants in {:.1} s", t0.elapsed().as_secs_f64());
        let dbs: Vec<DatabaseName> = slugs.iter().map(|s| DatabaseName::new(&format!("tenant_{}", s.replace('-', "_")))).collect::<Result<_, _>>()?;
        let up_file = work.path().join("up.sql");
        let down_file = work.path().join("down.sql");
        std::fs::write(&up_file, UP)?;
        std::fs::write(&down_file, if d == Dialect::Mysql { DOWN_MYSQL } else { DOWN })?;

        // 1. Stock client, one process per tenant, `concurrency` at a time.
        let clients = parallel_clients(&target, &dbs, &|_| up_file.clone(), concurrency)?;
        parallel_clients(&target, &dbs, &|_| down_file.clone(), concurrency)?;
        // 2. `concurrency` held sessions.
        // MySQL switches database in its held connection; PostgreSQL runs the
        // migration in one transaction per tenant database, as tenantry does.
        let up: Vec<String> = tenantry_domain::sql::split_script(d, UP)?.into_iter().map(|s| s.sql).collect();
        let statements = |db: &DatabaseName| -> Vec<String> {
            match d {
                Dialect::Mysql => std::iter::once(format!("USE `{db}`")).chain(up.iter().cloned()).collect(),
                _ => std::iter::once("BEGIN".to_string()).chain(up.iter().cloned()).chain(std::iter::once("COMMIT".to_string())).collect(),
            }
        };
        let sessions = held_sessions(d, &target.url, &dbs, concurrency, &statements).await?;
        parallel_clients(&target, &dbs, &|_| down_file.clone(), concurrency)?;
        // 3. tenantry.
        let stop = Arc::new(AtomicUsize::new(0));
        let sampler = tokio::spawn(sample_connections(d, target.url.clone(), stop.clone()));
        let t0 = Instant::now();
        let r = engine
            .migrate_apply(&MigrateRequest { template: Some("benchroll".into()), tenants: slugs.clone(), concurrency, actor: "bench".into(), ..Default::default() }, &NoProgress)
            .await?;
        let tenantry = t0.elapsed();
        stop.store(1, Ordering::SeqCst);
        let peak = sampler.await.unwrap_or(0);
        // What tenantry itself held open (connect to completed close): the server's
        // view above also counts backends still exiting after their close.
        let held = engine.driver(&engine.server(&server).await?).await?.peak_connections();
        if r.applied as usize != n || r.failed != 0 {
            return Err(anyhow!("{d}: rollout applied {} of {n}, {} failed", r.applied, r.failed));
        }
        let tps = |dur: Duration| n as f64 / dur.as_secs_f64();
        let row = serde_json::json!({
            "dialect": d.as_str(), "tenants": n, "concurrency": concurrency,
            "client_tps": tps(clients), "sessions_tps": tps(sessions), "tenantry_tps": tps(tenantry),
            "tenantry_vs_client": tps(tenantry) / tps(clients), "tenantry_vs_sessions": tps(tenantry) / tps(sessions),
            "peak_connections": peak, "peak_held_by_tenantry": held, "server_limit": concurrency,
        });
        println!("{row}");
        rows.push(row);
        eprintln!("{d}: cleaning up …");
        for s in &slugs {
            engine.delete_tenant(s, false).await?;
        }
    }
    println!("\n{:<9} {:>8} {:>5} {:>12} {:>13} {:>13} {:>10} {:>12} {:>10} {:>8}", "engine", "tenants", "conc", "client t/s", "sessions t/s", "tenantry t/s", "vs client", "vs sessions", "peak conn", "held");
    for r in &rows {
        println!(
            "{:<9} {:>8} {:>5} {:>12.1} {:>13.1} {:>13.1} {:>9.2}x {:>11.2}x {:>10} {:>8}",
            r["dialect"].as_str().unwrap_or(""),
            r["tenants"], r["concurrency"],
            r["client_tps"].as_f64().unwrap_or(0.0), r["sessions_tps"].as_f64().unwrap_or(0.0), r["tenantry_tps"].as_f64().unwrap_or(0.0),
            r["tenantry_vs_client"].as_f64().unwrap_or(0.0), r["tenantry_vs_sessions"].as_f64().unwrap_or(0.0), r["peak_connections"], r["peak_held_by_tenantry"]
        );
    }
    engine.close().await;
    Ok(())
}

