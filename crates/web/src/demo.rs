//! `tenantry serve --demo`: bundled templates, a handful of tenants (one customized,
//! one drifted, one customization waiting for approval) and an admin account, on
//! whatever landlord the engine has (the embedded SQLite default when there is no
//! configuration). Idempotent: a second run reuses what is there.

use anyhow::Context;
use include_dir::{include_dir, Dir};
use std::collections::BTreeMap;
use tenantry_domain::DatabaseName;
use tenantry_engine::customizations::CustomizationRequest;
use tenantry_engine::drift::DriftScanRequest;
use tenantry_engine::rollouts::NoProgress;
use tenantry_engine::tenants::CreateTenant;
use tenantry_engine::Engine;

/// The templates shipped with tenantry, inside the binary.
static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../templates");

pub const ADMIN_EMAIL: &str = "admin@demo.tenantry.dev";

pub struct DemoReport {
    pub admin_email: String,
    pub password: String,
    pub tenants: Vec<String>,
}

fn files_of(dir: &Dir<'_>, root: &std::path::Path, out: &mut BTreeMap<String, String>) {
    for f in dir.files() {
        if let (Ok(rel), Some(text)) = (f.path().strip_prefix(root), f.contents_utf8()) {
            out.insert(rel.to_string_lossy().replace('\\', "/"), text.to_string());
        }
    }
    for d in dir.dirs() {
        files_of(d, root, out);
    }
}

/// The bundled templates as (name, files).
pub fn bundled_templates() -> Vec<(String, BTreeMap<String, String>)> {
    BUNDLED
        .dirs()
        .map(|d| {
            let mut files = BTreeMap::new();
            files_of(d, d.path(), &mut files);
            (d.path().to_string_lossy().to_string(), files)
        })
        .filter(|(_, f)| f.contains_key("template.toml"))
        .collect()
}

const TENANTS: &[(&str, &str, &str)] = &[
    ("green-party", "political_party", "Green Party (demo)"),
    ("river-trust", "ngo", "River Trust (demo)"),
    ("acme-corp", "corporate", "Acme Corporation (demo)"),
    ("corner-shop", "basic", "Corner Shop (demo)"),
];

pub async fn seed(engine: &Engine) -> anyhow::Result<DemoReport> {
    for (name, files) in bundled_templates() {
        engine.import_template_files(files).await.with_context(|| format!("importing the bundled template `{name}`"))?;
    }
    let mut made = Vec::new();
    for (slug, template, display) in TENANTS {
        if engine.landlord().tenant(slug).await?.is_none_or(|t| t.deleted_at.is_some() || t.status == "failed") {
            engine
                .create_tenant(CreateTenant { slug: slug.to_string(), template: template.to_string(), name: Some(display.to_string()), actor: "demo".into(), ..Default::default() })
                .await
                .with_context(|| format!("creating demo tenant `{slug}`"))?;
        }
        made.push(slug.to_string());
    }
    // One customization applied, one waiting for approval.
    if engine.customizations(None, Some("river-trust")).await?.is_empty() {
        let table = engine.tenant_schema("river-trust").await?.tables.keys().next().cloned().context("the ngo template has no table")?;
        let c = engine
            .request_customization(CustomizationRequest {
                slug: "river-trust".into(),
                kind: "column".into(),
                object: format!("{table}.referral_code"),
                sql: format!("ALTER TABLE {table} ADD COLUMN referral_code VARCHAR(20) NULL"),
                actor: "demo".into(),
            })
            .await?;
        engine.approve_customization(c.id, "demo").await?;
        engine.apply_customization(c.id, "demo").await?;
        let _ = engine
            .request_customization(CustomizationRequest {
                slug: "green-party".into(),
                kind: "index".into(),
                object: "idx_members_city".into(),
                sql: "CREATE INDEX idx_members_city ON members (phone)".into(),
                actor: "demo".into(),
            })
            .await;
        // Drift: a column added behind tenantry's back.
        let t = engine.tenant_detail("acme-corp").await?.tenant;
        if let (Some(server), Some(db)) = (t.server.as_deref(), t.database.as_deref()) {
            let server = engine.server(server).await?;
            let driver = engine.driver(&server).await?;
            let table = engine.tenant_schema("acme-corp").await?.tables.keys().next().cloned();
            if let Some(table) = table {
                let q = server.dialect.quote(&table);
                driver.execute_script(&DatabaseName::new(db)?, &format!("ALTER TABLE {q} ADD COLUMN legacy_code VARCHAR(10) NULL")).await?;
            }
        }
    }
    engine.drift_scan(&DriftScanRequest { concurrency: 4, ..Default::default() }, &NoProgress).await?;
    let password = match engine.landlord().account_by_email(ADMIN_EMAIL).await? {
        Some(_) => engine.reset_password(ADMIN_EMAIL).await?,
        None => engine.add_account(ADMIN_EMAIL, "admin", None, None).await?.password,
    };
    Ok(DemoReport { admin_email: ADMIN_EMAIL.into(), password, tenants: made })
}
