//! Database servers: registering them (after proving they work) and reaching them.

use crate::{Engine, EngineError};
use std::sync::Arc;
use tenantry_domain::ServerName;
use tenantry_drivers::{DriverLimits, ServerUrl, TenantDriver};
use tenantry_store::{NewServer, ServerRecord};

/// `server add` input.
#[derive(Debug, Clone)]
pub struct AddServer {
    pub name: String,
    pub url: String,
    pub capacity: Option<i64>,
    pub max_concurrency: Option<i64>,
}

impl Engine {
    /// Registers a server after checking it is reachable and that its credentials can
    /// create databases (a throwaway database is created and dropped). Nothing is
    /// stored when a check fails. The URL is stored encrypted.
    pub async fn add_server(&self, req: AddServer) -> Result<ServerRecord, EngineError> {
        let name = ServerName::new(&req.name)?;
        let capacity = req.capacity.unwrap_or(1000);
        let max_concurrency = req.max_concurrency.unwrap_or(8);
        if !(1..=1_000_000).contains(&capacity) {
            return Err(EngineError::Invalid(format!("--capacity must be between 1 and 1000000, not {capacity}")));
        }
        if !(1..=1000).contains(&max_concurrency) {
            return Err(EngineError::Invalid(format!("--max-concurrency must be between 1 and 1000, not {max_concurrency}")));
        }
        let url = ServerUrl::parse(&req.url)?;
        if self.landlord.server(name.as_str()).await?.is_some() {
            return Err(EngineError::Conflict { what: "server", key: name.to_string() });
        }
        let limits = DriverLimits { max_connections: max_concurrency as u32 };
        let driver = tenantry_drivers::connect(name.as_str(), &url, limits).await?;
        let checked = async {
            driver.ping().await?;
            driver.check_can_create().await
        }
        .await;
        if let Err(e) = checked {
            driver.close().await;
            return Err(e.into());
        }
        let record = self
            .landlord
            .insert_server(&NewServer {
                name: name.clone(),
                dialect: url.dialect(),
                url_redacted: url.redacted(),
                url_secret: self.key.encrypt(url.expose())?,
                capacity,
                max_concurrency,
            })
            .await;
        match record {
            Ok(r) => {
                self.drivers.lock().await.insert(r.name.clone(), driver);
                Ok(r)
            }
            Err(e) => {
                driver.close().await;
                Err(e.into())
            }
        }
    }

    pub async fn servers(&self) -> Result<Vec<ServerRecord>, EngineError> {
        Ok(self.landlord.servers().await?)
    }

    pub async fn server(&self, name: &str) -> Result<ServerRecord, EngineError> {
        self.landlord.server(name).await?.ok_or_else(|| EngineError::NotFound {
            what: "server",
            key: name.to_string(),
            hint: "; `tenantry server list` shows the registered ones".into(),
        })
    }

    /// The driver of a registered server, opened on first use and then shared.
    pub async fn driver(&self, server: &ServerRecord) -> Result<Arc<dyn TenantDriver>, EngineError> {
        let mut drivers = self.drivers.lock().await;
        if let Some(d) = drivers.get(&server.name) {
            return Ok(d.clone());
        }
        let url = ServerUrl::parse(&self.key.decrypt(&server.url_secret)?)?;
        let limits = DriverLimits { max_connections: server.max_concurrency.clamp(1, 1000) as u32 };
        let driver = tenantry_drivers::connect(&server.name, &url, limits).await?;
        drivers.insert(server.name.clone(), driver.clone());
        Ok(driver)
    }
}
