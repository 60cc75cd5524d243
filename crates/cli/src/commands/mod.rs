//! One module per command group; each turns parsed arguments into engine calls.

mod custom;
mod drift;
mod init;
mod migrate;
mod progress;
mod serve;
mod user;
mod server;
mod template;
mod tenant;

use crate::cli::PoolCommand;
use crate::output;

use crate::cli::{Cli, Command};
use tenantry_engine::{Config, ConfigOverrides, Engine};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = ConfigOverrides { config_file: cli.config.clone(), landlord: cli.landlord.clone() };
    if let Command::Init { dir } = &cli.command {
        return init::run(dir, cli.json).await;
    }
    if let Command::Serve { bind, demo, insecure_cookies } = cli.command {
        return serve::run(&overrides, bind, demo, !insecure_cookies).await;
    }
    if let Command::Demo = cli.command {
        return serve::demo(&overrides, cli.json).await;
    }
    let engine = open(&overrides).await?;
    let json = cli.json;
    let audit = audit_entry(&cli.command);
    let result = match cli.command {
        Command::Init { .. } | Command::Serve { .. } | Command::Demo => Ok(()),
        Command::User(cmd) => user::run(&engine, cmd, json).await,
        Command::Server(cmd) => server::run(&engine, cmd, json).await,
        Command::Template(cmd) => template::run(&engine, cmd, json).await,
        Command::Tenant(cmd) => tenant::run(&engine, cmd, json).await,
        Command::Migrate(cmd) => migrate::run(&engine, cmd, json).await,
        Command::Pool(cmd) => pool(&engine, cmd, json).await,
        Command::Custom(cmd) => custom::run(&engine, cmd, json).await,
        Command::Drift(cmd) => drift::run(&engine, cmd, json).await,
        Command::History { slug } => tenant::history(&engine, &slug, json).await,
    };
    if let (Ok(()), Some((action, target))) = (&result, audit) {
        engine.audit(&progress::actor(), &action, target.as_deref(), None, Some("cli")).await;
    }
    engine.close().await;
    result
}

/// What a command changes, for the audit log: `tenant.create` and its first argument
/// (a slug, a name, an id), or `None` for commands that only read. Built from the
/// command's variant names so a new command is audited without being listed here;
/// its other fields (a server URL with a password) are never written.
fn audit_entry(command: &Command) -> Option<(String, Option<String>)> {
    const READS: &[&str] = &["list", "show", "schema", "plan", "status", "snapshot", "export", "resolve", "history"];
    let debug = format!("{command:?}");
    // Variant names come before the first field list.
    let head = debug.split('{').next().unwrap_or("");
    let words: Vec<String> = head
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|w| w.to_ascii_lowercase())
        // `Server(Add(ServerAdd {…}))`: the args struct repeats its group's name.
        .filter(|w| !(w.len() > 6 && w.starts_with("server")))
        .collect();
    let verb = words.last()?;
    // `user` commands write their own, more detailed entries (user.rs).
    if READS.contains(&verb.as_str()) || words.first().is_some_and(|w| w == "history" || w == "user") {
        return None;
    }
    // The first field's value: a slug, a name, an id.
    let target = debug.split_once('{').and_then(|(_, rest)| rest.split([',', '}']).next()).and_then(|f| f.split_once(": ")).map(|(_, v)| {
        v.trim().trim_start_matches("Some(").trim_end_matches(')').trim_matches('"').chars().take(200).collect::<String>()
    });
    Some((words.join("."), target))
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
