//! `tenantry init`: the embedded default, ready to use.

use crate::config::{default_file_text, ConfigOverrides, DEFAULT_FILE};
use crate::{AddServer, Config, Engine, EngineError};
use serde::Serialize;
use std::path::Path;

/// What `init` did; `created` is empty when everything was already there.
#[derive(Debug, Serialize)]
pub struct InitReport {
    pub config_file: String,
    pub landlord: String,
    pub default_server: String,
    pub created: Vec<String>,
}

pub const DEFAULT_SERVER: &str = "local";

/// Writes `DIR/tenantry.toml` (commented), creates `DIR/data/` with the SQLite landlord,
/// the master key and the default SQLite server `local` at `DIR/data/tenants/`.
/// Idempotent: a second run changes nothing and reports nothing created.
pub async fn init(dir: &Path) -> Result<InitReport, EngineError> {
    let mut created = Vec::new();
    std::fs::create_dir_all(dir).map_err(|e| EngineError::Config(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join(DEFAULT_FILE);
    if !file.exists() {
        std::fs::write(&file, default_file_text())
            .map_err(|e| EngineError::Config(format!("cannot write {}: {e}", file.display())))?;
        created.push(format!("config file {}", file.display()));
    }
    let config = Config::load(&ConfigOverrides { config_file: Some(file.clone()), landlord: None })?;
    let fresh_key = config.master_key.is_none() && !config.master_key_file.exists();
    let fresh_landlord = !config.landlord.starts_with("sqlite://")
        || !Path::new(config.landlord.trim_start_matches("sqlite://")).exists();
    let tenants_dir = config.sqlite_tenants_dir();
    let engine = Engine::open(config.clone()).await?;
    if fresh_key {
        created.push(format!("master key {}", config.master_key_file.display()));
    }
    if fresh_landlord {
        created.push(format!("landlord {}", engine.landlord().url()));
    }
    let result = async {
        if engine.landlord().server(DEFAULT_SERVER).await?.is_none() {
            let abs = std::path::absolute(&tenants_dir).unwrap_or(tenants_dir.clone());
            engine
                .add_server(AddServer {
                    name: DEFAULT_SERVER.into(),
                    url: format!("sqlite://{}", abs.display()),
                    capacity: None,
                    max_concurrency: None,
                })
                .await?;
            created.push(format!("database server `{DEFAULT_SERVER}` (SQLite, {})", abs.display()));
        }
        Ok::<_, EngineError>(())
    }
    .await;
    let landlord = engine.landlord().url().to_string();
    engine.close().await;
    result?;
    Ok(InitReport {
        config_file: file.display().to_string(),
        landlord,
        default_server: DEFAULT_SERVER.into(),
        created,
    })
}
