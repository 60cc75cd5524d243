//! `tenantry`, the command-line interface: parses arguments, calls the engine,
//! prints text for people or JSON (`--json`) for scripts. No logic of its own.

mod cli;
mod commands;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("TENANTRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let default = if matches!(cli.command, cli::Command::Serve { .. }) { "info,sqlx=warn" } else { "warn" };
    let filter = if std::env::var_os("TENANTRY_LOG").is_some() { filter } else { tracing_subscriber::EnvFilter::new(default) };
    if cli.log_format == "json" {
        tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::fail(&e, json),
    }
}
