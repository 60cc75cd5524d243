//! Configuration: `tenantry.toml`, then `TENANTRY_*` environment variables, then
//! command-line flags, each overriding the one before.

use crate::EngineError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Landlord URL (`sqlite://…`, `mysql://…`, `postgres://…`).
    pub landlord: String,
    /// Where the embedded default keeps its files.
    pub data_dir: PathBuf,
    /// The file holding the master key, when `TENANTRY_MASTER_KEY` is not set.
    pub master_key_file: PathBuf,
    /// The master key itself (base64), from `TENANTRY_MASTER_KEY`.
    pub master_key: Option<String>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Warm pools to keep filled.
    pub pools: Vec<PoolTarget>,
}

/// `[[pool]]` in tenantry.toml: keep `size` ready databases of a template's newest
/// version with these optional modules, on one server or on each that fits.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolTarget {
    pub template: String,
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(default)]
    pub server: Option<String>,
    pub size: usize,
}

/// What the file may say. Unknown keys are an error, so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    landlord: Option<String>,
    data_dir: Option<String>,
    master_key_file: Option<String>,
    #[serde(default)]
    pool: Vec<PoolTarget>,
}

/// Values given on the command line (they win over everything).
#[derive(Debug, Default, Clone)]
pub struct ConfigOverrides {
    pub config_file: Option<PathBuf>,
    pub landlord: Option<String>,
}

pub const DEFAULT_FILE: &str = "tenantry.toml";

impl Config {
    /// Resolves the configuration. A missing default `./tenantry.toml` is fine (the
    /// embedded default applies); a missing file named with `--config` is an error.
    pub fn load(overrides: &ConfigOverrides) -> Result<Config, EngineError> {
        let explicit = overrides.config_file.clone().or_else(|| std::env::var_os("TENANTRY_CONFIG").map(PathBuf::from));
        let path = explicit.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let (file, file_cfg) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let cfg: FileConfig = toml::from_str(&text)
                    .map_err(|e| EngineError::Config(format!("{}: {e}", path.display())))?;
                (Some(path.clone()), cfg)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => (None, FileConfig::default()),
            Err(e) => return Err(EngineError::Config(format!("cannot read {}: {e}", path.display()))),
        };
        // Relative paths in a config file are relative to the file's directory.
        let base = file.as_ref().and_then(|f| f.parent().map(Path::to_path_buf)).unwrap_or_default();
        let base = if base == Path::new(".") { PathBuf::new() } else { base };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());

        let data_dir = env("TENANTRY_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| file_cfg.data_dir.as_deref().map(|d| base.join(d.trim_start_matches("./"))))
            .unwrap_or_else(|| base.join("data"));
        let landlord = overrides
            .landlord
            .clone()
            .or_else(|| env("TENANTRY_LANDLORD_URL"))
            .or_else(|| file_cfg.landlord.map(|l| resolve_sqlite(&l, &base)))
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("landlord.db").display()));
        let master_key_file = env("TENANTRY_MASTER_KEY_FILE")
            .map(PathBuf::from)
            .or_else(|| file_cfg.master_key_file.as_deref().map(|f| base.join(f.trim_start_matches("./"))))
            .unwrap_or_else(|| data_dir.join("master.key"));
        Ok(Config { landlord, data_dir, master_key_file, master_key: env("TENANTRY_MASTER_KEY"), file, pools: file_cfg.pool })
    }

    /// The directory of the default SQLite server.
    pub fn sqlite_tenants_dir(&self) -> PathBuf {
        self.data_dir.join("tenants")
    }
}

/// Makes a relative `sqlite://` path relative to the config file's directory.
fn resolve_sqlite(url: &str, base: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !Path::new(path).is_absolute() && !base.as_os_str().is_empty() => {
            format!("sqlite://{}", base.join(path.trim_start_matches("./")).display())
        }
        _ => url.to_string(),
    }
}

/// The commented file `tenantry init` writes.
pub fn default_file_text() -> String {
    r#"# tenantry configuration.
# Precedence: this file < TENANTRY_* environment variables < command-line flags.
# Relative paths are relative to this file's directory.

# The landlord: tenantry's own database. SQLite by default; MySQL/MariaDB and
# PostgreSQL work the same (the database is created and migrated on first use):
#   landlord = "mysql://user:password@127.0.0.1:3306/tenantry"
#   landlord = "postgres://user:password@127.0.0.1:5432/tenantry"
# Environment: TENANTRY_LANDLORD_URL. Flag: --landlord URL.
landlord = "sqlite://./data/landlord.db"

# Files of the embedded default: the SQLite landlord, the default SQLite database
# server (data/tenants, one file per tenant) and the master key. Env: TENANTRY_DATA_DIR.
data_dir = "./data"

# The key that encrypts stored credentials (server URLs, tenant passwords). Keep it
# safe and back it up: without it stored credentials cannot be read.
# TENANTRY_MASTER_KEY (base64 of 32 bytes) overrides the file.
master_key_file = "./data/master.key"

# Warm pools: databases built ahead of signups, so `tenant create` claims one in
# milliseconds instead of running DDL. Refilled by `tenantry pool fill` and after
# every `tenant create`. One block per template (newest version) and module set:
#   [[pool]]
#   template = "political_party"
#   modules = ["elections"]
#   server = "pg"        # optional: every server of a supported dialect
#   size = 5
"#
    .to_string()
}
