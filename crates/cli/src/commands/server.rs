use crate::cli::ServerCommand;
use crate::output;
use tenantry_engine::{AddServer, Engine};

pub async fn run(engine: &Engine, cmd: ServerCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ServerCommand::Add(a) => {
            let rec = engine
                .add_server(AddServer { name: a.name, url: a.url, capacity: a.capacity, max_concurrency: a.max_concurrency })
                .await?;
            if json {
                return output::json(&rec);
            }
            println!("added server `{}` ({}, {})", rec.name, rec.dialect, rec.url);
        }
        ServerCommand::List => {
            let servers = engine.servers().await?;
            if json {
                return output::json(&servers);
            }
            output::table(
                &["name", "dialect", "url", "tenants", "capacity", "max concurrency", "status"],
                servers
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.dialect.to_string(),
                            s.url.clone(),
                            s.tenants.to_string(),
                            s.capacity.to_string(),
                            s.max_concurrency.to_string(),
                            s.status.clone(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    Ok(())
}
