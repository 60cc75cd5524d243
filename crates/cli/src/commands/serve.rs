use std::net::SocketAddr;
use std::sync::Arc;
use tenantry_engine::{Config, ConfigOverrides, Engine};
use tenantry_web::{AppState, Metrics};

/// With no configuration, the demo initialises the embedded default in the current
/// directory first (`./tenantry.toml`, `./data`).
async fn init_for_demo(overrides: &ConfigOverrides) -> anyhow::Result<()> {
    let configured = overrides.config_file.is_some() || overrides.landlord.is_some() || std::path::Path::new(tenantry_engine::config::DEFAULT_FILE).exists();
    if !configured {
        tenantry_engine::init(std::path::Path::new(".")).await?;
    }
    Ok(())
}

/// `tenantry demo`: the demo data, without serving it.
pub async fn demo(overrides: &ConfigOverrides, json: bool) -> anyhow::Result<()> {
    init_for_demo(overrides).await?;
    let engine = Engine::open(Config::load(overrides)?).await?;
    let seeded = tenantry_web::demo::seed(&engine).await;
    engine.close().await;
    let d = seeded?;
    if json {
        return crate::output::json(&serde_json::json!({"tenants": d.tenants, "admin_email": d.admin_email, "password": d.password}));
    }
    println!("demo tenants: {}", d.tenants.join(", "));
    println!("admin {} with the one-time password {}; `tenantry serve` to sign in", d.admin_email, d.password);
    Ok(())
}

/// `tenantry serve [--demo]`.
pub async fn run(overrides: &ConfigOverrides, bind: SocketAddr, demo: bool, secure_cookies: bool) -> anyhow::Result<()> {
    if demo {
        init_for_demo(overrides).await?;
    }
    let engine = Arc::new(Engine::open(Config::load(overrides)?).await?);
    let demo_report = if demo { Some(tenantry_web::demo::seed(&engine).await?) } else { None };
    let state = AppState { engine: engine.clone(), metrics: Arc::new(Metrics::default()), secure_cookies };
    let result = tenantry_web::serve(state, bind, |addr| {
        eprintln!("tenantry is serving on http://{addr}/ (API: http://{addr}/api/v1/openapi.json)");
        if let Some(d) = &demo_report {
            eprintln!("demo tenants: {}", d.tenants.join(", "));
            eprintln!("sign in at http://{addr}/login as {} with the one-time password {}", d.admin_email, d.password);
        }
    })
    .await;
    engine.close().await;
    result
}
