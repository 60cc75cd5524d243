use super::progress::{actor, reporter};
use crate::cli::DriftCommand;
use crate::output;
use tenantry_engine::drift::DriftScanRequest;
use tenantry_engine::Engine;

pub async fn run(engine: &Engine, cmd: DriftCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        DriftCommand::Scan { template, tenants, concurrency } => {
            let req = DriftScanRequest { template, tenants, concurrency };
            let r = engine.drift_scan(&req, &reporter(json, "scanning")).await?;
            if json {
                output::json(&r)?;
            } else {
                output::table(
                    &["tenant", "drift", "differences"],
                    r.tenants
                        .iter()
                        .map(|t| {
                            let what = match &t.error {
                                Some(e) => format!("FAILED: {e}"),
                                None => t.differences.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "),
                            };
                            vec![t.slug.clone(), t.drift_level.to_string(), what]
                        })
                        .collect(),
                );
                let levels: Vec<String> = r.levels.iter().map(|(l, n)| format!("{n} {l}")).collect();
                println!("scanned {} tenant(s) in {} ms: {}; {} failed", r.scanned, r.elapsed_ms, levels.join(", "), r.failed);
            }
            if r.failed > 0 {
                anyhow::bail!("{} tenant(s) could not be scanned", r.failed);
            }
            Ok(())
        }
        DriftCommand::Show { slug } => {
            let d = engine.drift_show(&slug).await?;
            if json {
                return output::json(&d);
            }
            println!(
                "tenant {}: drift {} ({} {}, {} customization(s))",
                d.slug,
                d.drift_level,
                d.template.as_deref().unwrap_or("-"),
                d.template_version.as_deref().unwrap_or("-"),
                d.customizations
            );
            for e in &d.explanations {
                println!("  {e}");
            }
            for diff in &d.differences {
                let (e, a) = (diff.expected.as_ref(), diff.actual.as_ref());
                if e.is_some() || a.is_some() {
                    println!("\n  {}", diff.path());
                    if let Some(e) = e {
                        println!("  - expected {}", serde_json::to_string(e).unwrap_or_default());
                    }
                    if let Some(a) = a {
                        println!("  + found    {}", serde_json::to_string(a).unwrap_or_default());
                    }
                }
            }
            Ok(())
        }
        DriftCommand::Accept { slug } => {
            let r = engine.drift_accept(&slug, &actor()).await?;
            if json {
                return output::json(&r);
            }
            for a in &r.accepted {
                println!("accepted {} `{}` as customization {}", a.kind, a.object, a.id);
            }
            for n in &r.not_accepted {
                println!("not accepted: {n}");
            }
            println!("tenant {} now drifts: {}", r.slug, r.after);
            Ok(())
        }
        DriftCommand::Repair { slug, dry_run } => {
            let r = engine.drift_repair(&slug, dry_run, &actor()).await?;
            if json {
                output::json(&r)?;
            } else {
                for w in &r.script.warnings {
                    println!("-- warning: {w}");
                }
                for s in &r.script.statements {
                    println!("{s};");
                }
                for m in &r.script.manual {
                    println!("-- manual: {m}");
                }
                match r.after {
                    Some(after) => println!("-- tenant {}: drift {} → {after}", r.slug, r.before),
                    None if r.script.statements.is_empty() => println!("-- tenant {}: nothing to repair (drift {})", r.slug, r.before),
                    None => println!("-- dry run: nothing was changed (drift {})", r.before),
                }
            }
            if r.after.is_some_and(|a| a != tenantry_domain::drift::DriftLevel::None) {
                anyhow::bail!("tenant `{}` still drifts after the repair: {} difference(s) remain", r.slug, r.remaining.len());
            }
            Ok(())
        }
    }
}
