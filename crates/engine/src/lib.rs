//! tenantry's engine: every operation the CLI, the HTTP API and the web UI offer,
//! written once. Interfaces parse input and print output; the engine decides.
//!
//! It owns the configuration, the master key that encrypts stored credentials, the
//! landlord (through `tenantry-store`) and one driver per database server (through
//! `tenantry-drivers`), opened lazily and shared.

pub mod access;
pub mod accounts;
pub mod config;
pub mod customizations;
pub mod drift;
mod error;
mod init;
pub mod rollouts;
pub mod secrets;
mod servers;
pub mod templates;
pub mod tenants;

pub use config::{Config, ConfigOverrides, PoolTarget};
pub use error::EngineError;
pub use init::{init, InitReport};
pub use servers::AddServer;
pub use tenantry_store::ServerRecord;

use secrets::MasterKey;
use std::collections::HashMap;
use std::sync::Arc;
use tenantry_drivers::TenantDriver;
use tenantry_store::Landlord;
use tokio::sync::Mutex;

/// The engine over one landlord.
pub struct Engine {
    config: Config,
    landlord: Landlord,
    key: MasterKey,
    drivers: Mutex<HashMap<String, Arc<dyn TenantDriver>>>,
    /// Parsed template directories by content checksum, and snapshots by
    /// (version id, checksum, dialect, modules): immutable content, so never stale.
    bundles: std::sync::Mutex<HashMap<String, Arc<tenantry_domain::template::TemplateBundle>>>,
    snapshots: std::sync::Mutex<HashMap<String, Arc<(tenantry_schema::Schema, serde_json::Value)>>>,
    /// (server, version checksum, modules) whose replay was proven to give the snapshot.
    verified: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Expected schemas (snapshot + customizations) by their key (`drift.rs`).
    expected: std::sync::Mutex<HashMap<String, Arc<tenantry_schema::Schema>>>,
    throttle: accounts::LoginThrottle,
    dummy_hash: std::sync::OnceLock<String>,
}

impl Engine {
    /// Opens the landlord named by `config` (creating and migrating it when needed).
    pub async fn open(config: Config) -> Result<Engine, EngineError> {
        let landlord = Landlord::open(&config.landlord).await?;
        let key = MasterKey::load_or_create(&config)?;
        let engine = Engine {
            config,
            landlord,
            key,
            drivers: Mutex::new(HashMap::new()),
            bundles: Default::default(),
            snapshots: Default::default(),
            verified: Default::default(),
            expected: Default::default(),
            throttle: Default::default(),
            dummy_hash: Default::default(),
        };
        // A tenantry killed while provisioning leaves a tenant `provisioning`: finish it.
        // A server being down must not keep every command from starting.
        if let Err(e) = engine.recover_interrupted().await {
            tracing::warn!(error = %e, "could not recover interrupted provisioning now; the next start retries");
        }
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn landlord(&self) -> &Landlord {
        &self.landlord
    }

    /// Closes every connection the engine holds.
    pub async fn close(&self) {
        for (_, d) in self.drivers.lock().await.drain() {
            d.close().await;
        }
        self.landlord.close().await;
    }
}
