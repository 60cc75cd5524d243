//! Progress of fleet operations (rollouts, drift scans) and who is acting.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use tenantry_engine::rollouts::Progress;

/// Who the CLI acts as, in history and audit records.
pub(crate) fn actor() -> String {
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

/// A bar with done/total, failures, rate and ETA on a terminal; one line per tenant
/// elsewhere (logs, CI); nothing with --json (stdout carries the JSON).
pub(crate) enum Reporter {
    Bar(ProgressBar, std::sync::atomic::AtomicUsize),
    Lines(&'static str),
    Quiet,
}

impl Progress for Reporter {
    fn begin(&self, tenants: usize) {
        match self {
            Reporter::Bar(bar, _) => bar.set_length(tenants as u64),
            Reporter::Lines(verb) => eprintln!("{verb} {tenants} tenant(s)"),
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
            Reporter::Lines(_) => eprintln!("{} {slug}: {detail}", if ok { "ok" } else { "FAILED" }),
            Reporter::Quiet => {}
        }
    }

    fn end(&self) {
        if let Reporter::Bar(bar, _) = self {
            bar.finish();
        }
    }
}

pub(crate) fn reporter(json: bool, verb: &'static str) -> Reporter {
    if json {
        Reporter::Quiet
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} tenants  {msg}  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Reporter::Bar(bar, Default::default())
    } else {
        Reporter::Lines(verb)
    }
}

