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
    /// Set when the process is shutting down: rollouts start no new tenant.
    stopping: std::sync::atomic::AtomicBool,
    /// Rollouts and pool refills running in background tasks (started over HTTP).
    background: tokio::sync::watch::Sender<usize>,
    /// A background pool refill is running / was asked for again meanwhile.
    refilling: std::sync::atomic::AtomicBool,
    refill_again: std::sync::atomic::AtomicBool,
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
            stopping: Default::default(),
            background: tokio::sync::watch::Sender::new(0),
            refilling: Default::default(),
            refill_again: Default::default(),
            dummy_hash: Default::default(),
        };
        // A tenantry killed while provisioning leaves a tenant `provisioning`: finish it.
        // A server being down must not keep every command from starting.
        if let Err(e) = engine.recover_interrupted().await {
            tracing::warn!(error = %e, "could not recover interrupted provisioning now; the next start retries");
        }
        Ok(engine)
    }

    /// Asks running rollouts to finish the tenants they are on and start no more;
    /// what they leave is `pending`, and `migrate resume` continues it.
    pub fn request_stop(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs (resumes, or with `retry` retries) a recorded rollout in a background task.
    pub fn spawn_rollout(self: &Arc<Self>, id: i64, actor: String, retry: bool) {
        let engine = self.clone();
        engine.background.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            let progress = rollouts::NoProgress;
            let run = if retry { engine.migrate_retry(id, &actor, &progress).await } else { engine.migrate_resume(id, &actor, &progress).await };
            if let Err(e) = run {
                tracing::error!(rollout = id, error = %e, "rollout stopped; `tenantry migrate resume {id}` continues it");
            }
            engine.background.send_modify(|n| *n -= 1);
        });
    }

    /// Refills the warm pools (and sweeps what `refill_pools` sweeps) in a background
    /// task, so a signup over HTTP does not wait for the database that replaces the
    /// one it took. One refill runs at a time; asking while one runs makes it go
    /// round once more.
    pub fn spawn_pool_refill(self: &Arc<Self>) {
        use std::sync::atomic::Ordering::SeqCst;
        self.refill_again.store(true, SeqCst);
        if self.refilling.swap(true, SeqCst) {
            return;
        }
        let engine = self.clone();
        engine.background.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            loop {
                while engine.refill_again.swap(false, SeqCst) && !engine.stopping() {
                    if let Err(e) = engine.refill_pools().await {
                        tracing::warn!(error = %e, "refilling the warm pools failed; the next create or `tenantry pool fill` retries");
                    }
                }
                engine.refilling.store(false, SeqCst);
                // Asked again between the last look and letting go: go round, unless
                // that caller already started its own task.
                if !engine.refill_again.load(SeqCst) || engine.stopping() || engine.refilling.swap(true, SeqCst) {
                    break;
                }
            }
            engine.background.send_modify(|n| *n -= 1);
        });
    }

    /// Waits (up to `limit`) for background rollouts to reach a safe point after
    /// `request_stop`; returns how many are still running.
    pub async fn wait_for_background(&self, limit: std::time::Duration) -> usize {
        let mut running = self.background.subscribe();
        let _ = tokio::time::timeout(limit, running.wait_for(|n| *n == 0)).await;
        *self.background.borrow()
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
