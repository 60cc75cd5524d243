use crate::output;
use std::path::Path;

pub async fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let report = tenantry_engine::init(dir).await?;
    if json {
        return output::json(&report);
    }
    if report.created.is_empty() {
        println!("Already initialised in {}: nothing changed.", dir.display());
    } else {
        for c in &report.created {
            println!("created {c}");
        }
        println!("\nNext: tenantry template import templates/basic, then tenantry tenant create …");
    }
    Ok(())
}
