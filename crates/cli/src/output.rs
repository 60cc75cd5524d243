//! Printing: aligned text tables for people, JSON for scripts, and errors with a
//! stable code and exit status.

use serde::Serialize;
use std::process::ExitCode;
use tenantry_engine::EngineError;

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints rows under headers with columns aligned.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

/// Exit statuses scripts can rely on.
fn exit_status(code: &str) -> u8 {
    match code {
        "invalid" => 2,
        "conflict" => 3,
        "not_found" => 4,
        "server_unavailable" => 5,
        _ => 1,
    }
}

pub fn fail(err: &anyhow::Error, json: bool) -> ExitCode {
    let engine_err = err.downcast_ref::<EngineError>();
    let code = engine_err.map(EngineError::code).unwrap_or("error");
    // Engine messages already include their causes; other errors show their chain.
    let message = match engine_err {
        Some(e) => e.to_string(),
        None => format!("{err:#}"),
    };
    if json {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        eprintln!("{body}");
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(exit_status(code))
}
