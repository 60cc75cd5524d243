use crate::cli::{TenantAppCommand, TenantCommand, TenantUserCommand};
use crate::output;
use tenantry_engine::tenants::{AdoptTenant, CreateTenant};
use tenantry_engine::{Engine, EngineError};
use tenantry_store::{TenantFilter, TenantRecord};

/// Who runs the CLI, for history rows.
fn actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

fn row(t: &TenantRecord) -> Vec<String> {
    vec![
        t.slug.clone(),
        t.status.clone(),
        t.template.clone().unwrap_or_default(),
        t.template_version.clone().unwrap_or_default(),
        t.server.clone().unwrap_or_default(),
        t.database.clone().unwrap_or_default(),
        t.drift_level.clone(),
    ]
}

const HEADERS: [&str; 7] = ["slug", "status", "template", "version", "server", "database", "drift"];

pub async fn run(engine: &Engine, cmd: TenantCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create { slug, template, version, modules, server, name, method } => {
            let method = method.parse()?;
            let t = engine
                .create_tenant(CreateTenant { slug, template, version, modules, server, name, method, actor: actor() })
                .await?;
            let printed = if json {
                output::json(&t)
            } else {
                println!(
                    "tenant `{}` is active: {} {} on server `{}`, database `{}`",
                    t.slug,
                    t.template.as_deref().unwrap_or("?"),
                    t.template_version.as_deref().unwrap_or("?"),
                    t.server.as_deref().unwrap_or("?"),
                    t.database.as_deref().unwrap_or("?")
                );
                Ok(())
            };
            // The answer is out; now put back what the pool gave, before exiting.
            if !engine.config().pools.is_empty() {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                if let Err(e) = engine.refill_pools().await {
                    eprintln!("warning: refilling the warm pool failed: {e}");
                }
            }
            return printed;
        }
        TenantCommand::List { template, status, drift } => {
            let list = engine.tenants(&TenantFilter { template, status, drift, include_deleted: false }).await?;
            if json {
                return output::json(&list);
            }
            output::table(&HEADERS, list.iter().map(row).collect());
        }
        TenantCommand::Show { slug } => {
            let d = engine.tenant_detail(&slug).await?;
            if json {
                return output::json(&d);
            }
            let t = &d.tenant;
            output::table(&HEADERS, vec![row(t)]);
            println!("\nname: {}\nmodules: {}\ncreated: {}", t.name, t.modules.join(", "), t.created_at);
            if let Some(detail) = &t.status_detail {
                println!("status detail: {detail}");
            }
            println!("\nhistory:");
            for h in &d.history {
                println!("  {}  {} ({}) {} in {} ms", h.applied_at, h.migration_name, h.migration_type, h.status, h.execution_time_ms.unwrap_or(0));
            }
        }
        TenantCommand::Schema { slug } => {
            let s = engine.tenant_schema(&slug).await?;
            if json {
                return output::json(&s);
            }
            print!("{}", s.to_json());
            println!();
        }
        TenantCommand::Credentials { slug } => {
            let c = engine.tenant_credentials(&slug).await?;
            if json {
                return output::json(&c);
            }
            println!("host:     {}", c.host.as_deref().unwrap_or("-"));
            println!("port:     {}", c.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()));
            println!("database: {}", c.database);
            println!("username: {}", c.username.as_deref().unwrap_or("-"));
            println!("password: {}", c.password.as_deref().unwrap_or("-"));
        }
        TenantCommand::Suspend { slug } => {
            let t = engine.set_tenant_suspended(&slug, true).await?;
            if json {
                return output::json(&t);
            }
            println!("tenant `{slug}` is suspended: its database login is locked");
        }
        TenantCommand::Resume { slug } => {
            let t = engine.set_tenant_suspended(&slug, false).await?;
            if json {
                return output::json(&t);
            }
            println!("tenant `{slug}` is active again");
        }
        TenantCommand::Adopt { slug, database, server, template, version, name } => {
            let t = engine.adopt_tenant(AdoptTenant { slug, database, server, template, version, name, actor: actor() }).await?;
            if json {
                return output::json(&t);
            }
            println!("tenant `{}` adopted: database `{}` on `{}`, modules {}", t.slug, t.database.as_deref().unwrap_or(""), t.server.as_deref().unwrap_or(""), t.modules.join(", "));
        }
        TenantCommand::User(TenantUserCommand::Add { slug, email, role, name, password_stdin }) => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            engine.add_tenant_user(&slug, &email, name.as_deref(), &role, password.as_deref()).await?;
            if json {
                return output::json(&serde_json::json!({ "slug": slug, "email": email, "role": role }));
            }
            println!("added {email} to `{slug}` as {role}");
        }
        TenantCommand::User(TenantUserCommand::List { slug }) => {
            let users = engine.tenant_users(&slug).await?;
            if json {
                return output::json(&users);
            }
            output::table(&["email", "name", "role", "password"], users.iter().map(|u| vec![u.email.clone(), u.name.clone().unwrap_or_default(), u.role.clone(), if u.has_password { "set".into() } else { "-".into() }]).collect());
        }
        TenantCommand::App(TenantAppCommand::Add { slug, domain, name }) => {
            engine.add_application(&slug, &domain, name.as_deref()).await?;
            if json {
                return output::json(&serde_json::json!({ "slug": slug, "domain": domain }));
            }
            println!("`{domain}` now resolves to tenant `{slug}`");
        }
        TenantCommand::App(TenantAppCommand::List { slug }) => {
            let apps = engine.applications(&slug).await?;
            if json {
                return output::json(&apps);
            }
            output::table(&["domain", "name", "created"], apps.iter().map(|a| vec![a.domain.clone(), a.name.clone(), a.created_at.clone()]).collect());
        }
        TenantCommand::Resolve { slug, domain } => {
            let r = engine.resolve(slug.as_deref(), domain.as_deref()).await?;
            if json {
                return output::json(&r);
            }
            println!("tenant `{}` ({}): database `{}`", r.slug, r.status, r.credentials.database);
        }
        TenantCommand::Delete { slug, yes, keep_database } => {
            if !yes {
                return Err(EngineError::Invalid(format!("deleting tenant `{slug}` needs --yes")).into());
            }
            engine.delete_tenant(&slug, keep_database).await?;
            if json {
                return output::json(&serde_json::json!({ "slug": slug, "deleted": true, "database_kept": keep_database }));
            }
            println!("tenant `{slug}` deleted{}", if keep_database { " (database kept)" } else { "" });
        }
    }
    Ok(())
}

pub async fn history(engine: &Engine, slug: &str, json: bool) -> anyhow::Result<()> {
    let h = engine.tenant_history(slug).await?;
    if json {
        return output::json(&h);
    }
    output::table(
        &["applied at", "migration", "type", "status", "ms", "by"],
        h.iter()
            .map(|x| {
                vec![
                    x.applied_at.clone(),
                    x.migration_name.clone(),
                    x.migration_type.clone(),
                    x.status.clone(),
                    x.execution_time_ms.unwrap_or(0).to_string(),
                    x.applied_by.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    Ok(())
}
