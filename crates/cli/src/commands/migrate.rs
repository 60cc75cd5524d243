use crate::cli::{MigrateCommand, Selection};
use crate::output;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use tenantry_domain::rollout::StepDecision;
use tenantry_engine::rollouts::{MigrateRequest, Progress};
use tenantry_engine::Engine;
use tenantry_store::RolloutRecord;

fn actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

fn request(s: Selection) -> MigrateRequest {
    MigrateRequest { template: s.template, to: s.to, tenants: s.tenants, actor: actor(), ..Default::default() }
}

/// A bar with done/total, failures, rate and ETA on a terminal; one line per tenant
/// elsewhere (logs, CI); nothing with --json (stdout carries the JSON).
enum Reporter {
    Bar(ProgressBar, std::sync::atomic::AtomicUsize),
    Lines,
    Quiet,
}

impl Progress for Reporter {
    fn begin(&self, tenants: usize) {
        match self {
            Reporter::Bar(bar, _) => bar.set_length(tenants as u64),
            Reporter::Lines => eprintln!("migrating {tenants} tenant(s)"),
            Reporter::Quiet => {}
        }
    }

    fn tenant(&self, slug: &str, ok: bool, detail: &str) {
        match self {
            Reporter::Bar(bar, failures) => {
                if !ok {
                    let n = failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    bar.set_message(format!("{n} failed"));
                    bar.println(format!("failed: {slug}: {detail}"));
                }
                bar.inc(1);
            }
            Reporter::Lines => eprintln!("{} {slug}: {detail}", if ok { "ok" } else { "FAILED" }),
            Reporter::Quiet => {}
        }
    }

    fn end(&self) {
        if let Reporter::Bar(bar, _) = self {
            bar.finish();
        }
    }
}

fn reporter(json: bool) -> Reporter {
    if json {
        Reporter::Quiet
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} tenants  {msg}  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Reporter::Bar(bar, Default::default())
    } else {
        Reporter::Lines
    }
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
            let r = engine.migrate_apply(&req, &reporter(json)).await?;
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
            let r = engine.migrate_resume(rollout, &actor(), &reporter(json)).await?;
            summary(&r, json)?;
        }
        MigrateCommand::Retry { rollout } => {
            let r = engine.migrate_retry(rollout, &actor(), &reporter(json)).await?;
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
