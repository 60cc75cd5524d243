use std::net::SocketAddr;
use std::sync::Arc;
use tenantry_engine::{Config, ConfigOverrides, Engine};
use tenantry_web::{AppState, Metrics};

/// `tenantry serve [--demo]`. With `--demo` and no configuration, the embedded
/// default is initialised in the current directory first (`./tenantry.toml`, `./data`).
pub async fn run(overrides: &ConfigOverrides, bind: SocketAddr, demo: bool, secure_cookies: bool) -> anyhow::Result<()> {
    let configured = overrides.config_file.is_some() || overrides.landlord.is_some() || std::path::Path::new(tenantry_engine::config::DEFAULT_FILE).exists();
    if demo && !configured {
        tenantry_engine::init(std::path::Path::new(".")).await?;
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
