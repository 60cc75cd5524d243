//! `tenant adopt`: an existing database taken under management at a stated version.
//! Its data and schema are left as they are (drift is measured later); tenantry adds
//! its metadata table and view and a login. A failed adoption removes only what it
//! added; the database itself is never dropped.

use super::meta;
use super::provision::{display_name, new_password, owner_tag};
use crate::{Engine, EngineError};
use tenantry_domain::{DatabaseName, LoginName, Slug};
use tenantry_store::{Activation, NewTenant, TenantRecord};

#[derive(Debug, Clone, Default)]
pub struct AdoptTenant {
    pub slug: String,
    pub database: String,
    pub server: String,
    pub template: String,
    pub version: String,
    pub name: Option<String>,
    pub actor: String,
}

impl Engine {
    pub async fn adopt_tenant(&self, req: AdoptTenant) -> Result<TenantRecord, EngineError> {
        let slug = Slug::new(&req.slug)?;
        let name = display_name(req.name.as_deref(), &slug)?;
        let db = DatabaseName::new(&req.database)?;
        let server = self.server(&req.server).await?;
        let t = self.template_record(&req.template).await?;
        let v = self.version_record(&t, Some(&req.version)).await?;
        let bundle = self.bundle_for(&t, &v).await?;
        if !bundle.manifest.dialects.contains(&server.dialect) {
            return Err(EngineError::Invalid(format!("template `{}` does not support {}", t.name, server.dialect)));
        }
        let driver = self.driver(&server).await?;
        if !driver.database_exists(&db).await? {
            return Err(EngineError::NotFound { what: "database", key: format!("{db} on server {}", server.name), hint: String::new() });
        }
        if let Some(owner) = self.landlord.database_owner(server.id, db.as_str()).await? {
            return Err(EngineError::Conflict { what: "database already managed by tenant", key: owner });
        }
        let live = driver.introspect(&db).await?;
        if live.tables.contains_key(meta::META_TABLE) {
            return Err(EngineError::Invalid(format!("`{db}` already carries tenantry metadata ({}); it belongs to another landlord", meta::META_TABLE)));
        }
        // Modules: the core ones, and each optional module whose tables all exist.
        let all = bundle.all_modules();
        let (_, module_tables) = self.snapshot_for(&t, &v, &bundle, server.dialect, &all).await?;
        let modules: Vec<String> = all
            .iter()
            .filter(|m| {
                bundle.modules.get(*m).is_some_and(|x| x.manifest.module_type == tenantry_domain::template::ModuleType::Core)
                    || module_tables[m.as_str()].as_array().is_some_and(|ts| {
                        !ts.is_empty() && ts.iter().all(|t| t.as_str().is_some_and(|t| live.tables.contains_key(t)))
                    })
            })
            .cloned()
            .collect();

        let tenant = self
            .claim(&NewTenant {
                slug: slug.to_string(),
                name,
                template_id: t.id,
                template_version: v.version.clone(),
                modules: modules.clone(),
                server_id: server.id,
                database_name: db.to_string(),
                owner: owner_tag(),
            })
            .await?;
        let login = LoginName::for_slug(&slug);
        let started = std::time::Instant::now();
        let result = async {
            let now = tenantry_store::time::now();
            let modules_text = modules.join(",");
            let script = meta::create_script(&[
                ("tenant_id", &tenant.id),
                ("slug", &tenant.slug),
                ("template", &t.name),
                ("template_version", &v.version),
                ("modules", &modules_text),
                ("last_sync", &now),
            ])?;
            driver.execute_script(&db, &script).await?;
            let (username, password_secret) = if driver.has_logins() {
                let password = new_password()?;
                driver.create_login(&db, &login, &password).await?;
                (Some(login.to_string()), Some(self.key.encrypt(password.expose())?))
            } else {
                (None, None)
            };
            let initial_schema = live.clone().without(meta::OWN_OBJECTS).to_json();
            self.landlord
                .activate_tenant(&Activation {
                    tenant_id: tenant.id.clone(),
                    database_name: None,
                    migration_name: "adopted".into(),
                    migration_type: "system".into(),
                    checksum: tenantry_domain::template::checksum_text(&initial_schema),
                    affected_tables: live.tables.keys().cloned().collect(),
                    initial_schema,
                    username,
                    password_secret,
                    execution_time_ms: started.elapsed().as_millis() as i64,
                    applied_by: req.actor.clone(),
                    notes: format!("adopted `{db}` on server {} as template {} {}", server.name, t.name, v.version),
                })
                .await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = result {
            // Remove only what adoption added.
            let _ = driver.drop_login(&db, &login).await;
            let _ = driver.execute_script(&db, &format!("DROP VIEW IF EXISTS {};\nDROP TABLE IF EXISTS {};", meta::INFO_VIEW, meta::META_TABLE)).await;
            let _ = self.landlord.fail_tenant(&tenant.id, &e.to_string()).await;
            return Err(e);
        }
        self.tenant_record(slug.as_str()).await
    }
}
