use crate::cli::TemplateCommand;
use crate::output;
use tenantry_engine::{Engine, EngineError};

pub async fn run(engine: &Engine, cmd: TemplateCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TemplateCommand::Import { dir } => {
            let r = engine.import_template(&dir).await?;
            if json {
                return output::json(&r);
            }
            match r.status {
                "unchanged" => println!("template `{}` {} is already imported with identical content: nothing changed", r.name, r.version),
                status => {
                    println!("template `{}` {}: {}", r.name, r.version, status.replace('_', " "));
                    println!("  versions stored: {}", r.versions.join(", "));
                    let built: Vec<&str> = r.built.iter().map(|d| d.as_str()).collect();
                    println!("  built and checked on: {}", if built.is_empty() { "-".into() } else { built.join(", ") });
                    if !r.pending.is_empty() {
                        let p: Vec<&str> = r.pending.iter().map(|d| d.as_str()).collect();
                        println!("  no server registered yet for: {} (built on first use)", p.join(", "));
                    }
                }
            }
        }
        TemplateCommand::Export { name, dir, version } => {
            let (v, n) = engine.export_template(&name, version.as_deref(), &dir).await?;
            if json {
                return output::json(&serde_json::json!({ "name": name, "version": v, "files": n, "dir": dir }));
            }
            println!("exported template `{name}` {v} to {} ({n} files)", dir.display());
        }
        TemplateCommand::List => {
            let list = engine.templates().await?;
            if json {
                return output::json(&list);
            }
            output::table(
                &["name", "type", "version", "versions", "tenants", "description"],
                list.iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.template_type.clone(),
                            t.version.clone().unwrap_or_default(),
                            t.versions.join(" "),
                            t.tenants.to_string(),
                            t.description.clone(),
                        ]
                    })
                    .collect(),
            );
        }
        TemplateCommand::Show { name, version } => {
            let d = engine.template_detail(&name, version.as_deref()).await?;
            if json {
                return output::json(&d);
            }
            println!("{} ({}) — {}", d.template.name, d.template.template_type, d.template.description);
            for v in &d.versions {
                let how = match &v.record.source_version {
                    Some(s) => format!("derived from {s}"),
                    None => "imported".into(),
                };
                let lock = if v.record.is_locked { ", locked" } else { "" };
                println!("\nversion {} ({how}{lock}; {} tenant(s); dialects {})", v.record.version, v.record.tenants, v.record.dialects.join(", "));
                if !v.used_by.is_empty() {
                    let shown: Vec<&str> = v.used_by.iter().take(20).map(String::as_str).collect();
                    let more = if v.used_by.len() > 20 { format!(" and {} more", v.used_by.len() - 20) } else { String::new() };
                    println!("  used by: {}{more}", shown.join(", "));
                }
                for m in &v.modules {
                    let deps = if m.depends_on.is_empty() { String::new() } else { format!(" (needs {})", m.depends_on.join(", ")) };
                    println!("  {:<10} {}{deps}  {}", m.module_type, m.name, m.description);
                }
            }
            if !d.migrations.is_empty() {
                println!("\nmigrations:");
                for m in &d.migrations {
                    let scope = match (&m.module, m.applies_to.as_str()) {
                        (Some(module), "optional") => format!("tenants with {module}"),
                        (_, "specific") => format!("tenants {}", m.tenants.join(", ")),
                        _ => "all tenants".into(),
                    };
                    println!("  {} → {} ({scope})", m.name, m.version);
                }
            }
        }
        TemplateCommand::Snapshot { name, version, dialect } => {
            let dialect = dialect.map(|d| d.parse()).transpose().map_err(|e: tenantry_domain::dialect::UnknownDialect| EngineError::Invalid(e.to_string()))?;
            let s = engine.template_snapshot(&name, version.as_deref(), dialect).await?;
            if json {
                return output::json(&s);
            }
            println!("template `{}` {} on {} (modules: {})", s.template, s.version, s.dialect, s.modules.join(", "));
            for t in s.schema.tables.values() {
                println!("\ntable {}", t.name);
                for c in &t.columns {
                    let null = if c.nullable { "NULL" } else { "NOT NULL" };
                    let def = c.default.as_ref().map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
                    let auto = if c.auto_increment { " AUTO" } else { "" };
                    println!("  {:<24} {} {null}{def}{auto}", c.name, c.data_type);
                }
                if let Some(pk) = &t.primary_key {
                    println!("  primary key ({})", pk.columns.join(", "));
                }
                for i in t.indexes.values() {
                    let cols: Vec<String> = i.parts.iter().map(|p| if p.descending { format!("{} DESC", p.column) } else { p.column.clone() }).collect();
                    println!("  {}index {} ({})", if i.unique { "unique " } else { "" }, i.name, cols.join(", "));
                }
                for f in t.foreign_keys.values() {
                    println!("  foreign key {} ({}) → {} ({}) on delete {}", f.name, f.columns.join(", "), f.referenced_table, f.referenced_columns.join(", "), f.on_delete);
                }
            }
            for v in s.schema.views.keys() {
                println!("\nview {v}");
            }
        }
        TemplateCommand::Delete { name, yes } => {
            if !yes {
                return Err(EngineError::Invalid(format!("deleting template `{name}` needs --yes")).into());
            }
            engine.delete_template(&name).await?;
            if json {
                return output::json(&serde_json::json!({ "name": name, "deleted": true }));
            }
            println!("deleted template `{name}`");
        }
    }
    Ok(())
}
