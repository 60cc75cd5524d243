//! `tenantry-bench drift`: a drift scan of a fleet against the floor, in one run on
//! the same databases: the stock client reading the same catalog queries once per
//! tenant at the same concurrency, the same number of held sessions sending them, and
//! (MySQL) one query per catalog table over a batch of schemas at once.

use anyhow::{anyhow, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_engine::drift::DriftScanRequest;
use tenantry_engine::rollouts::NoProgress;
use tenantry_engine::tenants::CreateTenant;
use tenantry_engine::{AddServer, Config, ConfigOverrides, Engine};
use tenantry_schema::introspect;
use crate::{held_sessions, parallel_clients};
use tenantry_testkit::Target;

/// The introspection queries with their parameters written in: what a person with
/// the stock client would send to read the same catalog data.
fn literal_queries(d: Dialect, db: &str) -> Vec<String> {
    match d {
        Dialect::Mysql => introspect::mysql::QUERIES.iter().map(|q| q.replace("= ?", &format!("= '{db}'")).replace('?', "NULL")).collect(),
        _ => introspect::postgres::QUERIES.iter().map(|q| q.replace("$1::text[]", "NULL::text[]")).collect(),
    }
}

/// MySQL: each catalog query over many schemas at once (`TABLE_SCHEMA IN (…)`).
fn batched_queries(dbs: &[DatabaseName]) -> Vec<String> {
    let list = dbs.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ");
    literal_queries(Dialect::Mysql, "\u{1}")
        .into_iter()
        .map(|q| q.replace("= '\u{1}'", &format!("IN ({list})")))
        .collect()
}

pub async fn run(n: usize, concurrency: usize, dialects: Vec<String>) -> Result<()> {
    let work = tempfile::tempdir()?;
    let dialects: Vec<Dialect> = if dialects.is_empty() { vec![Dialect::Mysql, Dialect::Postgres] } else { dialects.iter().map(|d| d.parse()).collect::<Result<_, _>>()? };
    let mut config = Config::load(&ConfigOverrides { config_file: None, landlord: Some(format!("sqlite://{}/landlord.db", work.path().display())) })?;
    config.data_dir = work.path().join("data");
    config.master_key_file = work.path().join("master.key");
    let engine = Engine::open(config).await?;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates/political_party");
    let mut rows = Vec::new();
    for d in dialects {
        let target = Target::new(d).await;
        target.driver.close().await;
        let server = format!("drift-{d}");
        engine.add_server(AddServer { name: server.clone(), url: target.url.clone(), capacity: Some(1_000_000), max_concurrency: Some(concurrency as i64) }).await?;
        if rows.is_empty() {
            engine.import_template(&root).await?;
        }
        let tag = format!("{:05x}", std::process::id() & 0xfffff);
        eprintln!("{d}: creating {n} political_party tenants (all modules) …");
        let t0 = Instant::now();
        let mut slugs = Vec::new();
        let modules = vec!["elections".to_string(), "fundraising".to_string(), "events".to_string()];
        for i in 0..n {
            let slug = format!("dr{tag}-{d}-{i}");
            engine
                .create_tenant(CreateTenant { slug: slug.clone(), template: "political_party".into(), modules: modules.clone(), server: Some(server.clone()), actor: "bench".into(), ..Default::default() })
                .await?;
            slugs.push(slug);
        }
        eprintln!("{d}: {n} tenants in {:.1} s", t0.elapsed().as_secs_f64());
        let dbs: Vec<DatabaseName> = slugs.iter().map(|s| DatabaseName::new(&format!("tenant_{}", s.replace('-', "_")))).collect::<Result<_, _>>()?;

        // 1. Stock client, one process per tenant.
        let files: Vec<std::path::PathBuf> = dbs
            .iter()
            .map(|db| {
                let f = work.path().join(format!("{db}.sql"));
                std::fs::write(&f, literal_queries(d, db.as_str()).iter().map(|q| format!("{q};\n")).collect::<String>()).map(|_| f)
            })
            .collect::<Result<_, _>>()?;
        let clients = parallel_clients(&target, &dbs, &|i| files[i].clone(), concurrency)?;
        // 2. Held sessions, the same queries.
        let statements = |db: &DatabaseName| -> Vec<String> {
            let jit = (d == Dialect::Postgres).then(|| "SET jit = off".to_string());
            jit.into_iter().chain(literal_queries(d, db.as_str())).collect()
        };
        let sessions = held_sessions(d, &target.url, &dbs, concurrency, &statements).await?;
        // 3. MySQL: batches of 50 schemas per query.
        let batched = if d == Dialect::Mysql { Some(batched_sessions(&target.url, &dbs, concurrency, 50).await?) } else { None };
        // 4. tenantry.
        let t0 = Instant::now();
        let r = engine.drift_scan(&DriftScanRequest { tenants: slugs.clone(), concurrency, ..Default::default() }, &NoProgress).await?;
        let tenantry = t0.elapsed();
        let none = r.levels.get(&tenantry_domain::drift::DriftLevel::None).copied().unwrap_or(0);
        if r.scanned != n || none != n {
            return Err(anyhow!("{d}: scanned {} of {n}, {none} without drift, {} failed", r.scanned, r.failed));
        }
        let tps = |dur: Duration| n as f64 / dur.as_secs_f64();
        let row = serde_json::json!({
            "dialect": d.as_str(), "tenants": n, "concurrency": concurrency,
            "client_tps": tps(clients), "sessions_tps": tps(sessions), "batched_tps": batched.map(tps),
            "tenantry_tps": tps(tenantry),
            "tenantry_vs_client": tps(tenantry) / tps(clients), "tenantry_vs_sessions": tps(tenantry) / tps(sessions),
        });
        println!("{row}");
        rows.push(row);
        eprintln!("{d}: cleaning up …");
        for s in &slugs {
            engine.delete_tenant(s, false).await?;
        }
    }
    println!(
        "\n{:<9} {:>8} {:>5} {:>12} {:>13} {:>12} {:>13} {:>10} {:>12}",
        "engine", "tenants", "conc", "client t/s", "sessions t/s", "batched t/s", "tenantry t/s", "vs client", "vs sessions"
    );
    for r in &rows {
        println!(
            "{:<9} {:>8} {:>5} {:>12.1} {:>13.1} {:>12} {:>13.1} {:>9.2}x {:>11.2}x",
            r["dialect"].as_str().unwrap_or(""),
            r["tenants"],
            r["concurrency"],
            r["client_tps"].as_f64().unwrap_or(0.0),
            r["sessions_tps"].as_f64().unwrap_or(0.0),
            r["batched_tps"].as_f64().map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into()),
            r["tenantry_tps"].as_f64().unwrap_or(0.0),
            r["tenantry_vs_client"].as_f64().unwrap_or(0.0),
            r["tenantry_vs_sessions"].as_f64().unwrap_or(0.0)
        );
    }
    engine.close().await;
    Ok(())
}


async fn batched_sessions(url: &str, dbs: &[DatabaseName], concurrency: usize, batch: usize) -> Result<Duration> {
    use sqlx::{Connection, Executor};
    let chunks: Vec<&[DatabaseName]> = dbs.chunks(batch).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks = (0..concurrency).map(|_| {
        let next = next.clone();
        let chunks = &chunks;
        async move {
            let mut c = sqlx::MySqlConnection::connect(url).await?;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(chunk) = chunks.get(i) else { break };
                for q in batched_queries(chunk) {
                    c.fetch_all(sqlx::raw_sql(&q)).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }
    });
    futures::future::try_join_all(tasks).await?;
    Ok(t0.elapsed())
}
