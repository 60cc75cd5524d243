//! One module per command group; each turns parsed arguments into engine calls.

mod init;
mod server;
mod template;
mod tenant;

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
