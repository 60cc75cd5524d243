//! One module per command group; each turns parsed arguments into engine calls.

mod init;
mod migrate;
mod server;
mod template;
mod tenant;

use crate::cli::PoolCommand;
use crate::output;

use crate::cli::{Cli, Command};
use tenantry_engine::{Config, ConfigOverrides, Engine};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = ConfigOverrides { config_file: cli.config.clone(), landlord: cli.landlord.clone() };
    match cli.command {
        Command::Init { dir } => init::run(&dir, cli.json).await,
        Command::Server(cmd) => {
            let engine = open(&overrides).await?;
            let result = server::run(&engine, cmd, cli.json).await;
            engine.close().await;
            result
        }
        Command::Template(cmd) => {
            let engine = open(&overrides).await?;
            let result = template::run(&engine, cmd, cli.json).await;
            engine.close().await;
            result
        }
        Command::Tenant(cmd) => {
            let engine = open(&overrides).await?;
            let result = tenant::run(&engine, cmd, cli.json).await;
            engine.close().await;
            result
        }
        Command::Migrate(cmd) => {
            let engine = open(&overrides).await?;
            let result = migrate::run(&engine, cmd, cli.json).await;
            engine.close().await;
            result
        }
        Command::Pool(cmd) => {
            let engine = open(&overrides).await?;
            let result = pool(&engine, cmd, cli.json).await;
            engine.close().await;
            result
        }
        Command::History { slug } => {
            let engine = open(&overrides).await?;
            let result = tenant::history(&engine, &slug, cli.json).await;
            engine.close().await;
            result
        }
    }
}

async fn open(overrides: &ConfigOverrides) -> anyhow::Result<Engine> {
    let config = Config::load(overrides)?;
    Ok(Engine::open(config).await?)
}

async fn pool(engine: &Engine, cmd: PoolCommand, json: bool) -> anyhow::Result<()> {
    let rows = match cmd {
        PoolCommand::Fill => {
            let r = engine.refill_pools().await?;
            if json {
                return output::json(&r);
            }
            println!("built {}, dropped {}", r.built, r.dropped);
            r.entries
        }
        PoolCommand::Status => {
            let s = engine.pool_status().await?;
            if json {
                return output::json(&s);
            }
            s
        }
    };
    output::table(
        &["template", "version", "modules", "server", "ready", "size"],
        rows.iter().map(|p| vec![p.template.clone(), p.version.clone(), p.modules.clone(), p.server.clone(), p.ready.to_string(), p.size.to_string()]).collect(),
    );
    Ok(())
}
