//! `tenant create`: all or nothing.
//!
//! 1. Validate the request and resolve modules and placement.
//! 2. Claim the slug in the landlord (status `provisioning`): the only race guard.
//! 3. Create the database, build the version into it, add the metadata, verify the
//!    result equals the template snapshot, create the tenant's login.
//! 4. Activate in one landlord transaction.
//!
//! Any failure after 2 drops what this run created (never a database it found) and
//! marks the tenant `failed` with the reason; a retry with the same slug then works.
//! A run killed in 3 is recovered by the next start (`recover_interrupted`).

use super::meta;
use super::prepared::BuildSource;
use crate::templates::modules_key;
use crate::{Engine, EngineError};
use semver::Version;
use std::sync::Arc;
use std::time::Instant;
use tenantry_domain::template::{resolve_modules, TemplateBundle};
use tenantry_domain::{DatabaseName, LoginName, Password, Slug};
use tenantry_drivers::TenantDriver;
use tenantry_schema::diff::diff_schemas;
use tenantry_store::{Activation, NewTenant, ServerRecord, TemplateRecord, TenantRecord, VersionRecord};

/// How a tenant database is built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMethod {
    /// Clone a prepared database where the engine can, else replay.
    #[default]
    Auto,
    /// Clone (refused where the engine cannot).
    Clone,
    /// Run the template's SQL.
    Replay,
}

impl std::str::FromStr for BuildMethod {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BuildMethod::Auto),
            "clone" => Ok(BuildMethod::Clone),
            "replay" => Ok(BuildMethod::Replay),
            other => Err(EngineError::Invalid(format!("--method `{other}`: use auto, clone or replay"))),
        }
    }
}

/// `tenant create` input.
#[derive(Debug, Clone, Default)]
pub struct CreateTenant {
    pub method: BuildMethod,
    pub slug: String,
    pub template: String,
    pub version: Option<String>,
    pub modules: Vec<String>,
    pub server: Option<String>,
    pub name: Option<String>,
    /// Who asks (an account, or `cli:<user>`), for history.
    pub actor: String,
}

/// Runs a version's build plan (schema, seeds, downs) and then `extra` (the
/// metadata) in `db`, in one session and, where the engine allows, one transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn replay(
    driver: &Arc<dyn TenantDriver>,
    db: &DatabaseName,
    bundle: &TemplateBundle,
    modules: &[String],
    target: &Version,
    slug: &str,
    t: &TemplateRecord,
    v: &VersionRecord,
    extra: &str,
) -> Result<(), EngineError> {
    let plan = bundle.build_plan(driver.dialect(), modules, target, true);
    let mut scripts: Vec<&str> = plan.iter().map(|s| s.sql.as_str()).collect();
    scripts.push(extra);
    driver.build_database(db, &scripts).await.map(|_| ()).map_err(|e| match e {
        tenantry_drivers::DriverError::Batch { index, source } => match plan.get(index) {
            Some(step) => EngineError::TemplateBuild(format!(
                "provisioning tenant `{slug}`: template `{}` {}: {}: {source}",
                t.name,
                v.version,
                step.describe()
            )),
            None => EngineError::Driver(*source),
        },
        other => EngineError::Driver(other),
    })
}

/// Where the time of a build went, step by step, for the debug log.
struct Steps {
    last: Instant,
    done: Vec<(&'static str, f64)>,
}

impl Steps {
    fn new() -> Steps {
        Steps { last: Instant::now(), done: Vec::new() }
    }

    fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.done.push((step, (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, ms)) in self.done.iter().enumerate() {
            write!(f, "{}{step}={ms:.2}ms", if i > 0 { " " } else { "" })?;
        }
        Ok(())
    }
}

/// What a successful build leaves for activation.
struct Built {
    activation: Activation,
}

pub(crate) fn display_name(name: Option<&str>, slug: &Slug) -> Result<String, EngineError> {
    let name = name.unwrap_or(slug.as_str()).trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(EngineError::Invalid("--name must be 1 to 255 characters without control characters".into()));
    }
    Ok(name.to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// `pid 123 on host since 2026-…`: who holds a `provisioning` tenant.
pub(crate) fn owner_tag() -> String {
    format!("provisioning by pid {} on {} since {}", std::process::id(), hostname(), tenantry_store::time::now())
}

/// Whether the owner of a `provisioning` tenant is gone: its process no longer runs
/// on this host, or it has held the tenant for over 30 minutes.
fn owner_is_gone(tag: &str, updated_at: &str) -> bool {
    let mut words = tag.split_whitespace();
    let pid = words.clone().nth(3).and_then(|p| p.parse::<u32>().ok());
    let host = words.nth(5).unwrap_or("");
    let stale = tenantry_store::time::parse(updated_at)
        .map(|t| (time_now() - t).whole_minutes() > 30)
        .unwrap_or(true);
    match pid {
        Some(pid) if host == hostname() => !std::path::Path::new(&format!("/proc/{pid}")).exists() || stale,
        _ => stale,
    }
}

fn time_now() -> ::time::OffsetDateTime {
    ::time::OffsetDateTime::now_utc()
}

/// A password of 32 letters and digits.
pub(crate) fn new_password() -> Result<Password, EngineError> {
    use rand::distributions::{Alphanumeric, DistString};
    Ok(Password::new(&Alphanumeric.sample_string(&mut rand::thread_rng(), 32))?)
}

impl Engine {
    pub async fn create_tenant(&self, req: CreateTenant) -> Result<TenantRecord, EngineError> {
        let clock = Instant::now();
        let slug = Slug::new(&req.slug)?;
        let name = display_name(req.name.as_deref(), &slug)?;
        let t = self.template_record(&req.template).await?;
        let v = self.version_record(&t, req.version.as_deref()).await?;
        let bundle = self.bundle_for(&t, &v).await?;
        let modules = resolve_modules(&bundle.manifest.modules, &req.modules).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let server = self.place(&bundle.manifest.dialects, req.server.as_deref()).await?;
        let driver = self.driver(&server).await?;
        let db = slug.default_database();
        let prepared_at = clock.elapsed();

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

        let claimed_at = clock.elapsed();
        let mut created: Option<DatabaseName> = None;
        let login = LoginName::for_slug(&slug);
        let result = self
            .build_tenant(&tenant, &t, &v, &bundle, &modules, &server, &driver, &db, &login, &mut created, &req.actor, req.method)
            .await;
        let built_at = clock.elapsed();
        let outcome = match result {
            Ok(built) => self.landlord.activate_tenant(&built.activation).await.map_err(EngineError::from),
            Err(e) => Err(e),
        };
        tracing::debug!(
            tenant = %slug,
            lookups_ms = prepared_at.as_secs_f64() * 1e3,
            claim_ms = (claimed_at - prepared_at).as_secs_f64() * 1e3,
            build_ms = (built_at - claimed_at).as_secs_f64() * 1e3,
            activate_ms = (clock.elapsed() - built_at).as_secs_f64() * 1e3,
            "provisioned"
        );
        if let Err(e) = outcome {
            self.undo_provisioning(&tenant, &driver, &db, &login, created.as_ref(), &e.to_string()).await;
            return Err(e);
        }
        self.tenant_record(slug.as_str()).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn build_tenant(
        &self,
        tenant: &TenantRecord,
        t: &TemplateRecord,
        v: &VersionRecord,
        bundle: &TemplateBundle,
        modules: &[String],
        server: &ServerRecord,
        driver: &Arc<dyn TenantDriver>,
        db: &DatabaseName,
        login: &LoginName,
        created: &mut Option<DatabaseName>,
        actor: &str,
        method: BuildMethod,
    ) -> Result<Built, EngineError> {
        let started = Instant::now();
        let mut steps = Steps::new();
        if driver.database_exists(db).await? {
            return Err(EngineError::Conflict {
                what: "database (not tenantry's; adopt it with `tenantry tenant adopt` or drop it)",
                key: format!("{db} on server {}", server.name),
            });
        }
        let target = Version::parse(&v.version).map_err(|e| EngineError::Invalid(format!("version {}: {e}", v.version)))?;
        let dialect = driver.dialect();
        let (expected, _) = self.snapshot_for(t, v, bundle, dialect, modules).await?;
        steps.mark("checks");

        if method == BuildMethod::Clone && !driver.can_clone() {
            return Err(EngineError::Invalid(format!("{dialect} has no safe database copy; use --method replay or auto")));
        }
        // The login first (server level), its grants inside the build session below.
        let (username, password_secret) = if driver.has_logins() {
            let password = new_password()?;
            driver.create_login_role(login, &password).await?;
            (Some(login.to_string()), Some(self.key.encrypt(password.expose())?))
        } else {
            (None, None)
        };
        steps.mark("login");
        let grants = driver.login_grants(db, login);
        let now = tenantry_store::time::now();
        let modules_text = modules.join(",");
        let own = [("tenant_id", tenant.id.as_str()), ("slug", tenant.slug.as_str()), ("last_sync", now.as_str())];
        let shared = [("template", t.name.as_str()), ("template_version", v.version.as_str()), ("modules", modules_text.as_str())];
        let mut how = "replayed";
        let mut mapped: Option<DatabaseName> = None;
        if method == BuildMethod::Auto {
            let fill = |pooled: &DatabaseName| Ok(vec![meta::update_script(&own)?, driver.login_grants(pooled, login)]);
            if let Some(name) = self.take_pooled(server, v, modules, driver, db, &expected, &fill).await? {
                *created = Some(name.clone());
                steps.mark("pooled");
                if name != *db {
                    mapped = Some(name);
                }
                how = "pooled";
            }
        }
        if how == "replayed" && method != BuildMethod::Replay && driver.can_clone() {
            let fill = [meta::update_script(&own)?, grants.clone()];
            let fill: Vec<&str> = fill.iter().map(String::as_str).collect();
            let src = BuildSource { t, v, bundle, modules, server, driver, expected: &expected };
            if self.clone_prepared(&src, &shared, db, &fill).await? {
                *created = Some(db.clone());
                steps.mark("clone");
                how = "cloned";
            }
        }
        if how == "replayed" {
            driver.create_database(db).await?;
            *created = Some(db.clone());
            let values: Vec<(&str, &str)> = own.iter().chain(shared.iter()).copied().collect();
            let tail = format!("{}{grants}", meta::create_script(&values)?);
            replay(driver, db, bundle, modules, &target, &tenant.slug, t, v, &tail).await?;
            steps.mark("replay");
        }

        let sql_done = started.elapsed();
        // Verify that this server builds this plan into the snapshot: once per
        // (server, version content, modules) and process. A clone copies a prepared
        // database that was verified when it was built.
        let proof = format!("{}\0{}\0{}", server.name, v.checksum, modules_key(modules));
        let proven = self.verified.lock().map(|p| p.contains(&proof)).unwrap_or(false);
        if how == "replayed" && !proven {
            let actual = driver.introspect(db).await?.without(meta::OWN_OBJECTS);
            let diffs = diff_schemas(&expected, &actual);
            if !diffs.is_empty() {
                let lines: Vec<String> = diffs.iter().take(20).map(|d| format!("  - {d}")).collect();
                return Err(EngineError::Integrity(format!(
                    "tenant `{}`: the built database differs from template `{}` {} ({}):\n{}",
                    tenant.slug, t.name, v.version, modules_key(modules), lines.join("\n")
                )));
            }
            if let Ok(mut p) = self.verified.lock() {
                p.insert(proof);
            }
        }
        let verified = started.elapsed();
        tracing::debug!(
            tenant = %tenant.slug,
            how,
            steps = %steps,
            sql_ms = sql_done.as_secs_f64() * 1e3,
            verify_ms = (verified - sql_done).as_secs_f64() * 1e3,
            verified = how == "replayed" && !proven,
            rest_ms = (started.elapsed() - verified).as_secs_f64() * 1e3,
            "built"
        );
        // The initial schema is the snapshot the build was proven to produce.
        let initial_schema = expected.to_json();
        Ok(Built {
            activation: Activation {
                tenant_id: tenant.id.clone(),
                database_name: mapped.map(|m| m.to_string()),
                migration_name: "initial_template_application".into(),
                migration_type: "template".into(),
                checksum: tenantry_domain::template::checksum_text(&initial_schema),
                affected_tables: expected.tables.keys().cloned().collect(),
                initial_schema,
                username,
                password_secret,
                execution_time_ms: started.elapsed().as_millis() as i64,
                applied_by: actor.to_string(),
                notes: format!("template {} {} with modules {} on server {} ({how})", t.name, v.version, modules_key(modules), server.name),
            },
        })
    }

    /// Removes what a failed provisioning created and records why it failed.
    async fn undo_provisioning(
        &self,
        tenant: &TenantRecord,
        driver: &Arc<dyn TenantDriver>,
        db: &DatabaseName,
        login: &LoginName,
        created: Option<&DatabaseName>,
        reason: &str,
    ) {
        // The login is created before the database (and is named after the claimed
        // slug, so it is this run's).
        if let Err(e) = driver.drop_login(db, login).await {
            tracing::warn!(tenant = %tenant.slug, error = %e, "could not drop the login of a failed tenant");
        }
        if let Some(db) = created {
            if let Err(e) = driver.drop_database(db).await {
                tracing::warn!(tenant = %tenant.slug, error = %e, "could not drop the database of a failed tenant");
            }
        }
        if let Err(e) = self.landlord.fail_tenant(&tenant.id, reason).await {
            tracing::error!(tenant = %tenant.slug, error = %e, "could not mark a tenant failed");
        }
    }

    /// Finishes what an interrupted tenantry left `provisioning`: drops the database
    /// and login it was building and marks the tenant `failed`, so a retry works.
    /// Runs on every start; returns the slugs it recovered.
    pub async fn recover_interrupted(&self) -> Result<Vec<String>, EngineError> {
        let mut recovered = Vec::new();
        for t in self.landlord.provisioning_tenants().await? {
            if !owner_is_gone(t.status_detail.as_deref().unwrap_or(""), &t.updated_at) {
                continue;
            }
            let slug = Slug::new(&t.slug)?;
            let server = self.tenant_server(&t).await?;
            let driver = self.driver(&server).await?;
            if let Some(db) = t.database.as_deref().map(DatabaseName::new).transpose()? {
                driver.drop_login(&db, &LoginName::for_slug(&slug)).await?;
                driver.drop_database(&db).await?;
            }
            self.landlord
                .fail_tenant(&t.id, "interrupted: tenantry stopped while provisioning; its database was removed. Run `tenantry tenant create` again.")
                .await?;
            tracing::warn!(tenant = %t.slug, "recovered a tenant left provisioning by a stopped tenantry");
            recovered.push(t.slug);
        }
        Ok(recovered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_recognised() {
        let mine = owner_tag();
        assert!(!owner_is_gone(&mine, &tenantry_store::time::now()), "{mine}");
        let dead = format!("provisioning by pid 999999999 on {} since x", hostname());
        assert!(owner_is_gone(&dead, &tenantry_store::time::now()));
        let elsewhere = "provisioning by pid 1 on some-other-host since x";
        assert!(!owner_is_gone(elsewhere, &tenantry_store::time::now()));
        assert!(owner_is_gone(elsewhere, "2020-01-01T00:00:00.000000Z"));
    }
}
