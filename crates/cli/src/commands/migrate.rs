use crate::cli::{MigrateCommand, Selection};
use crate::output;
use super::progress::{actor, reporter};
use tenantry_domain::rollout::StepDecision;
use tenantry_engine::rollouts::MigrateRequest;
use tenantry_engine::Engine;
use tenantry_store::RolloutRecord;

fn request(s: Selection) -> MigrateRequest {
    MigrateRequest { template: s.template, to: s.to, tenants: s.tenants, actor: actor(), ..Default::default() }
}

fn summary(r: &RolloutRecord, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(r);
    }
    println!(
        "rollout {} {}: {} applied, {} skipped, {} failed, {} customized, {} pending",
        r.rollout_id, r.status, r.applied, r.skipped, r.failed, r.customized, r.pending
    );
    if r.status == "halted" {
        println!("  halted: `tenantry migrate resume {}` continues it; `migrate retry {}` re-runs failures", r.rollout_id, r.rollout_id);
    } else if r.failed > 0 {
        println!("  `tenantry migrate status {}` lists the failures; `migrate retry {}` re-runs them", r.rollout_id, r.rollout_id);
    }
    Ok(())
}

pub async fn run(engine: &Engine, cmd: MigrateCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        MigrateCommand::Plan { selection } => {
            let plans = engine.migrate_plan(&request(selection)).await?;
            if json {
                return output::json(&plans);
            }
            for p in &plans {
                println!("{} ({} {} → {}): {} to apply", p.slug, p.template, p.from_version, p.to_version, p.applies());
                if let Some(w) = &p.warning {
                    println!("  warning: {w}");
                }
                for s in &p.steps {
                    match &s.decision {
                        StepDecision::Apply => println!("  apply {} → {}", s.migration, s.version),
                        StepDecision::Skip { reason } => println!("  skip  {} → {}: {reason}", s.migration, s.version),
                        StepDecision::Customized { reason } => println!("  customized {} → {}: {reason}", s.migration, s.version),
                        StepDecision::WouldFail { reason } => println!("  WOULD FAIL {} → {}: {reason}", s.migration, s.version),
                    }
                }
            }
        }
        MigrateCommand::Apply { selection, concurrency, canary, max_failures } => {
            let req = MigrateRequest { concurrency, canary, max_failures, ..request(selection) };
            let r = engine.migrate_apply(&req, &reporter(json, "migrating")).await?;
            summary(&r, json)?;
        }
        MigrateCommand::Status { rollout } => {
            let list = engine.migrate_status(rollout).await?;
            if json {
                return output::json(&list);
            }
            output::table(
                &["rollout", "status", "template", "applied", "skipped", "failed", "customized", "pending", "created"],
                list.iter()
                    .map(|r| {
                        vec![
                            r.rollout_id.to_string(),
                            r.status.clone(),
                            r.template.clone().unwrap_or_else(|| "(all)".into()),
                            r.applied.to_string(),
                            r.skipped.to_string(),
                            r.failed.to_string(),
                            r.customized.to_string(),
                            r.pending.to_string(),
                            r.created_at.clone(),
                        ]
                    })
                    .collect(),
            );
            if let Some(id) = rollout {
                for s in engine.rollout_steps(id).await?.iter().filter(|s| s.status != "applied") {
                    println!("  {} {} {}: {}", s.slug, s.migration, s.status, s.notes.as_deref().unwrap_or(""));
                }
            }
        }
        MigrateCommand::Resume { rollout } => {
            let r = engine.migrate_resume(rollout, &actor(), &reporter(json, "migrating")).await?;
            summary(&r, json)?;
        }
        MigrateCommand::Retry { rollout } => {
            let r = engine.migrate_retry(rollout, &actor(), &reporter(json, "migrating")).await?;
            summary(&r, json)?;
        }
        MigrateCommand::Rollback { slug, to } => {
            let v = engine.migrate_rollback(&slug, to.as_deref(), &actor()).await?;
            if json {
                return output::json(&serde_json::json!({ "slug": slug, "template_version": v }));
            }
            println!("tenant `{slug}` rolled back to {v}");
        }
    }
    Ok(())
}
