//! Running the real `tenantry` binary in a scratch directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Checks `ready` every `every` until it holds or `within` has passed; whether it
/// held. The one place the tests wait on something outside them.
pub fn wait_until(within: Duration, every: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn fails_with(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

/// A scratch working directory for one CLI session.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("temp dir"), env: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Workdir {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantry"));
        cmd.current_dir(self.path()).args(args);
        for k in ["TENANTRY_LANDLORD_URL", "TENANTRY_CONFIG", "TENANTRY_DATA_DIR", "TENANTRY_MASTER_KEY", "TENANTRY_MASTER_KEY_FILE"] {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().expect("run tenantry");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }
}

/// A template shipped in `templates/`.
pub fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates").join(name)
}

/// A test tenant's slug (carries its creation time, so a killed run's are swept).
pub fn slug(tag: &str) -> String {
    tenantry_testkit::test_slug(tag)
}

/// Deletes every tenant of the workdir's landlord.
pub fn cleanup(w: &Workdir) {
    let list = w.run(&["--json", "tenant", "list"]).json();
    for t in list.as_array().cloned().unwrap_or_default() {
        let _ = w.run(&["tenant", "delete", t["slug"].as_str().unwrap_or(""), "--yes"]);
    }
}

/// A workdir with the embedded default (`local`, SQLite) plus MariaDB (`maria`) and
/// PostgreSQL (`pg`) registered.
pub fn fleet() -> Workdir {
    let w = Workdir::new();
    w.run(&["init"]).ok();
    w.run(&["server", "add", "maria", &tenantry_testkit::mysql_url(), "--max-concurrency", "4"]).ok();
    w.run(&["server", "add", "pg", &tenantry_testkit::postgres_url(), "--max-concurrency", "4"]).ok();
    w
}
