use super::progress::actor;
use crate::cli::CustomCommand;
use crate::output;
use anyhow::Context;
use tenantry_engine::customizations::CustomizationRequest;
use tenantry_engine::Engine;
use tenantry_store::CustomizationRecord;

pub async fn run(engine: &Engine, cmd: CustomCommand, json: bool) -> anyhow::Result<()> {
    let one = match cmd {
        CustomCommand::Request { slug, kind, name, sql } => {
            let text = std::fs::read_to_string(&sql).with_context(|| format!("reading {}", sql.display()))?;
            engine.request_customization(CustomizationRequest { slug, kind, object: name, sql: text, actor: actor() }).await?
        }
        CustomCommand::List { status, tenant } => {
            let rows = engine.customizations(status.as_deref(), tenant.as_deref()).await?;
            if json {
                return output::json(&rows);
            }
            output::table(
                &["id", "tenant", "type", "object", "status", "base version", "by", "reason"],
                rows.iter()
                    .map(|c| {
                        vec![
                            c.id.to_string(),
                            c.tenant.clone(),
                            c.kind.clone(),
                            c.object.clone(),
                            c.status.clone(),
                            c.template_base_version.clone().unwrap_or_default(),
                            c.applied_by.clone().or(c.reviewed_by.clone()).or(c.created_by.clone()).unwrap_or_default(),
                            c.reason.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            return Ok(());
        }
        CustomCommand::Approve { id } => engine.approve_customization(id, &actor()).await?,
        CustomCommand::Reject { id, reason } => engine.reject_customization(id, &reason, &actor()).await?,
        CustomCommand::Apply { id } => engine.apply_customization(id, &actor()).await?,
    };
    show(&one, json)
}

fn show(c: &CustomizationRecord, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(c);
    }
    println!("customization {}: {} `{}` of tenant `{}` is {}", c.id, c.kind, c.object, c.tenant, c.status);
    if let Some(r) = &c.reason {
        println!("reason: {r}");
    }
    Ok(())
}
