//! Templates as code: the directory format of PRODUCT.md, parsed and validated
//! without I/O. The engine reads a directory into a map of relative paths to file
//! texts; [`TemplateBundle::from_files`] turns that into a checked template, or the
//! full list of what is wrong, each problem naming its file and modules.
//!
//! ```text
//! template.toml
//! modules/<module>/schema.sql | schema.<dialect>.sql   (seed.sql likewise, optional)
//! migrations/<NNNN>_<name>/up.sql, down.sql (per-dialect overrides too), migration.toml
//! ```

use crate::Dialect;
use semver::Version;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// `basic | ngo | political_party | corporate | custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateType {
    Basic,
    Ngo,
    PoliticalParty,
    Corporate,
    Custom,
}

impl TemplateType {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateType::Basic => "basic",
            TemplateType::Ngo => "ngo",
            TemplateType::PoliticalParty => "political_party",
            TemplateType::Corporate => "corporate",
            TemplateType::Custom => "custom",
        }
    }
}

/// `core` modules are always installed; `optional` and `extension` ones on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleType {
    Core,
    Optional,
    Extension,
}

impl ModuleType {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleType::Core => "core",
            ModuleType::Optional => "optional",
            ModuleType::Extension => "extension",
        }
    }
}

/// `template.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    #[serde(rename = "type")]
    pub template_type: TemplateType,
    pub version: Version,
    #[serde(default)]
    pub description: String,
    pub dialects: Vec<Dialect>,
    #[serde(default)]
    pub metadata: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleManifest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleManifest {
    #[serde(rename = "type")]
    pub module_type: ModuleType,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `applies_to` of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    #[default]
    All,
    Specific,
    Optional,
}

impl AppliesTo {
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::All => "all",
            AppliesTo::Specific => "specific",
            AppliesTo::Optional => "optional",
        }
    }
}

/// `migrations/<NNNN>_<name>/migration.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationManifest {
    pub version: Version,
    #[serde(default)]
    pub applies_to: AppliesTo,
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub min_template_version: Option<Version>,
    #[serde(default)]
    pub max_template_version: Option<Version>,
}

/// One SQL file kind (`schema`, `seed`, `up`, `down`) with its per-dialect variants:
/// `<kind>.sql` serves every dialect, `<kind>.<dialect>.sql` overrides it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialectSql {
    pub default: Option<String>,
    pub overrides: BTreeMap<Dialect, String>,
}

impl DialectSql {
    pub fn for_dialect(&self, d: Dialect) -> Option<&str> {
        self.overrides.get(&d).or(self.default.as_ref()).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub name: String,
    pub manifest: ModuleManifest,
    pub schema: DialectSql,
    pub seed: DialectSql,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The directory name, `0002_add_notes`.
    pub name: String,
    pub manifest: MigrationManifest,
    pub up: DialectSql,
    pub down: DialectSql,
    /// SHA-256 over this migration's files.
    pub checksum: String,
}

/// A whole template directory, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateBundle {
    pub manifest: Manifest,
    /// In dependency order (see [`resolve_modules`] for a tenant's subset).
    pub modules: BTreeMap<String, Module>,
    /// In directory order (`NNNN`).
    pub migrations: Vec<Migration>,
    /// Every file as read, by relative path with `/` separators: export writes these back.
    pub files: BTreeMap<String, String>,
    /// SHA-256 over all files: identical content, identical checksum.
    pub checksum: String,
}

/// One thing wrong with a template directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    pub file: String,
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Every problem found, not just the first, so an author fixes them in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the template is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct TemplateErrors(pub Vec<TemplateProblem>);

fn sha256(parts: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>) -> String {
    let mut h = Sha256::new();
    for (path, content) in parts {
        h.update(path.as_ref().as_bytes());
        h.update([0u8]);
        h.update(content.as_ref().as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// SHA-256 of one text, as stored for scripts and migrations.
pub fn checksum_text(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Reads `<kind>.sql` / `<kind>.<dialect>.sql` from a folder's files; any other
/// `.sql` file there is reported as unknown.
fn collect_sql(
    dir: &str,
    kinds: &[&str],
    files: &BTreeMap<String, String>,
    problems: &mut Vec<TemplateProblem>,
    allowed_other: &[&str],
) -> BTreeMap<String, DialectSql> {
    let mut out: BTreeMap<String, DialectSql> = kinds.iter().map(|k| (k.to_string(), DialectSql::default())).collect();
    let prefix = format!("{dir}/");
    for (path, text) in files.range(prefix.clone()..) {
        let Some(rest) = path.strip_prefix(&prefix) else { break };
        if rest.contains('/') || allowed_other.contains(&rest) {
            continue;
        }
        let parts: Vec<&str> = rest.split('.').collect();
        let known = match parts.as_slice() {
            [kind, "sql"] if kinds.contains(kind) => {
                out.get_mut(*kind).map(|s| s.default = Some(text.clone()));
                true
            }
            [kind, dialect, "sql"] if kinds.contains(kind) => match dialect.parse::<Dialect>() {
                Ok(d) if d.as_str() == *dialect => {
                    out.get_mut(*kind).map(|s| s.overrides.insert(d, text.clone()));
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !known {
            let names: Vec<String> = kinds.iter().map(|k| format!("{k}.sql, {k}.<mysql|postgres|sqlite>.sql")).collect();
            problems.push(TemplateProblem {
                file: path.clone(),
                message: format!("unknown file; this folder takes {}", names.join(", ")),
            });
        }
    }
    out
}

impl TemplateBundle {
    /// Parses and checks a template from its files (relative paths, `/`-separated).
    pub fn from_files(files: BTreeMap<String, String>) -> Result<TemplateBundle, TemplateErrors> {
        let mut problems = Vec::new();
        let problem = |file: &str, message: String| TemplateProblem { file: file.to_string(), message };

        let Some(manifest_text) = files.get("template.toml") else {
            return Err(TemplateErrors(vec![problem("template.toml", "missing: every template directory needs one".into())]));
        };
        let manifest: Manifest = match toml::from_str(manifest_text) {
            Ok(m) => m,
            Err(e) => return Err(TemplateErrors(vec![problem("template.toml", e.to_string().trim().to_string())])),
        };
        if !valid_name(&manifest.name) {
            problems.push(problem("template.toml", format!("name `{}` must match [a-z][a-z0-9_]*", manifest.name)));
        }
        if manifest.dialects.is_empty() {
            problems.push(problem("template.toml", "dialects is empty: name at least one of mysql, postgres, sqlite".into()));
        }
        if manifest.modules.is_empty() {
            problems.push(problem("template.toml", "declares no modules".into()));
        }
        if !manifest.modules.values().any(|m| m.module_type == ModuleType::Core) && !manifest.modules.is_empty() {
            problems.push(problem("template.toml", "declares no core module: every tenant needs at least one".into()));
        }

        // Modules: declared ⇔ present, files per dialect, dependencies.
        let mut modules = BTreeMap::new();
        for (name, m) in &manifest.modules {
            let dir = format!("modules/{name}");
            if !valid_name(name) {
                problems.push(problem("template.toml", format!("module name `{name}` must match [a-z][a-z0-9_]*")));
            }
            let mut sql = collect_sql(&dir, &["schema", "seed"], &files, &mut problems, &[]);
            let schema = sql.remove("schema").unwrap_or_default();
            let seed = sql.remove("seed").unwrap_or_default();
            for d in &manifest.dialects {
                if schema.for_dialect(*d).is_none() {
                    problems.push(problem(
                        &format!("{dir}/schema.sql"),
                        format!("module `{name}` has no schema for {d}: add {dir}/schema.sql or {dir}/schema.{d}.sql"),
                    ));
                }
            }
            for dep in &m.depends_on {
                match manifest.modules.get(dep) {
                    None => problems.push(problem(
                        "template.toml",
                        format!("module `{name}` depends on `{dep}`, which is not declared"),
                    )),
                    Some(d) if m.module_type == ModuleType::Core && d.module_type != ModuleType::Core => {
                        problems.push(problem(
                            "template.toml",
                            format!("core module `{name}` depends on {} module `{dep}`: make `{dep}` core or drop the dependency", d.module_type.as_str()),
                        ))
                    }
                    _ => {}
                }
            }
            modules.insert(name.clone(), Module { name: name.clone(), manifest: m.clone(), schema, seed });
        }
        for path in files.keys() {
            if let Some(rest) = path.strip_prefix("modules/") {
                let module = rest.split('/').next().unwrap_or("");
                if !manifest.modules.contains_key(module) {
                    problems.push(problem(path, format!("module folder `{module}` is not declared in template.toml [modules.{module}]")));
                }
            } else if !path.starts_with("migrations/") && path != "template.toml" && !is_ignorable(path) {
                problems.push(problem(path, "unknown file; a template holds template.toml, modules/ and migrations/".into()));
            }
        }
        if let Err(cycle) = topological_order(&manifest.modules, manifest.modules.keys().cloned().collect()) {
            problems.push(problem("template.toml", cycle.to_string()));
        }

        // Migrations.
        let mut names: BTreeSet<String> = BTreeSet::new();
        for path in files.keys() {
            if let Some(rest) = path.strip_prefix("migrations/") {
                match rest.split_once('/') {
                    Some((dir, _)) => {
                        names.insert(dir.to_string());
                    }
                    None => problems.push(problem(path, "unknown file; migrations live in migrations/<NNNN>_<name>/".into())),
                }
            }
        }
        let mut migrations = Vec::new();
        let mut previous: Option<Version> = None;
        for name in names {
            let dir = format!("migrations/{name}");
            let well_named = name.len() > 5
                && name[..4].chars().all(|c| c.is_ascii_digit())
                && name.as_bytes()[4] == b'_'
                && valid_name(&name[5..]);
            if !well_named {
                problems.push(problem(&dir, "migration folders are named <NNNN>_<name>, as in 0002_add_notes".into()));
            }
            let toml_path = format!("{dir}/migration.toml");
            let Some(toml_text) = files.get(&toml_path) else {
                problems.push(problem(&toml_path, "missing".into()));
                continue;
            };
            let mm: MigrationManifest = match toml::from_str(toml_text) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(problem(&toml_path, e.to_string().trim().to_string()));
                    continue;
                }
            };
            let mut sql = collect_sql(&dir, &["up", "down"], &files, &mut problems, &["migration.toml"]);
            let up = sql.remove("up").unwrap_or_default();
            let down = sql.remove("down").unwrap_or_default();
            for d in &manifest.dialects {
                for (kind, s) in [("up", &up), ("down", &down)] {
                    if s.for_dialect(*d).is_none() {
                        problems.push(problem(
                            &format!("{dir}/{kind}.sql"),
                            format!("no {kind} SQL for {d}: add {dir}/{kind}.sql or {dir}/{kind}.{d}.sql"),
                        ));
                    }
                }
            }
            match mm.applies_to {
                AppliesTo::Optional => match &mm.module {
                    None => problems.push(problem(&toml_path, "applies_to = \"optional\" needs module = \"<module>\"".into())),
                    Some(m) if !manifest.modules.contains_key(m) => {
                        problems.push(problem(&toml_path, format!("module `{m}` is not declared in template.toml")))
                    }
                    _ => {}
                },
                AppliesTo::Specific if mm.tenants.is_empty() => {
                    problems.push(problem(&toml_path, "applies_to = \"specific\" needs tenants = [\"slug\", …]".into()))
                }
                _ => {}
            }
            if mm.version > manifest.version {
                problems.push(problem(
                    &toml_path,
                    format!("produces {} but template.toml is at {}: the modules must describe the newest version", mm.version, manifest.version),
                ));
            }
            if let Some(prev) = &previous {
                if mm.version < *prev {
                    problems.push(problem(&toml_path, format!("produces {} after a migration producing {prev}: versions must not go down", mm.version)));
                }
            }
            if let (Some(min), Some(max)) = (&mm.min_template_version, &mm.max_template_version) {
                if min > max {
                    problems.push(problem(&toml_path, format!("min_template_version {min} is above max_template_version {max}")));
                }
            }
            previous = Some(mm.version.clone());
            let checksum = sha256(files.range(format!("{dir}/")..).take_while(|(p, _)| p.starts_with(&format!("{dir}/"))));
            migrations.push(Migration { name, manifest: mm, up, down, checksum });
        }
        if !problems.is_empty() {
            return Err(TemplateErrors(problems));
        }
        let checksum = sha256(files.iter().filter(|(p, _)| !is_ignorable(p)));
        Ok(TemplateBundle { manifest, modules, migrations, files, checksum })
    }

    /// Modules that every tenant gets.
    pub fn core_modules(&self) -> Vec<String> {
        self.modules.values().filter(|m| m.manifest.module_type == ModuleType::Core).map(|m| m.name.clone()).collect()
    }

    /// All modules, in dependency order.
    pub fn all_modules(&self) -> Vec<String> {
        topological_order(&self.manifest.modules, self.manifest.modules.keys().cloned().collect()).unwrap_or_default()
    }

    /// Migrations that lead from `from` (exclusive) to `to` (inclusive).
    pub fn migrations_between(&self, from: &Version, to: &Version) -> Vec<&Migration> {
        self.migrations.iter().filter(|m| m.manifest.version > *from && m.manifest.version <= *to).collect()
    }

    /// The version before the first migration, when the chain names it
    /// (`min_template_version` of the first migration).
    pub fn base_version(&self) -> Option<Version> {
        self.migrations.first().and_then(|m| m.manifest.min_template_version.clone())
    }

    /// Every version the directory can build: the base, each migration's, the newest.
    pub fn versions(&self) -> Vec<Version> {
        let mut v: BTreeSet<Version> = self.migrations.iter().map(|m| m.manifest.version.clone()).collect();
        if let Some(b) = self.base_version() {
            v.insert(b);
        }
        v.insert(self.manifest.version.clone());
        v.into_iter().collect()
    }
}

/// Files a template directory may carry that are not part of it (README, VCS files).
fn is_ignorable(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.starts_with('.') || file.eq_ignore_ascii_case("README.md")
}

/// Module resolution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown module `{0}`; the template has: {1}")]
    Unknown(String, String),
    #[error("modules depend on each other in a cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
}

/// The modules a tenant gets: every core module, the chosen ones, and everything they
/// depend on, in a deterministic dependency order (dependencies first, ties by name).
pub fn resolve_modules(
    modules: &BTreeMap<String, ModuleManifest>,
    chosen: &[String],
) -> Result<Vec<String>, ResolveError> {
    let mut wanted: BTreeSet<String> =
        modules.iter().filter(|(_, m)| m.module_type == ModuleType::Core).map(|(n, _)| n.clone()).collect();
    let mut stack: Vec<String> = Vec::new();
    for c in chosen {
        if !modules.contains_key(c) {
            return Err(ResolveError::Unknown(c.clone(), modules.keys().cloned().collect::<Vec<_>>().join(", ")));
        }
        stack.push(c.clone());
    }
    stack.extend(wanted.iter().cloned());
    while let Some(m) = stack.pop() {
        wanted.insert(m.clone());
        for dep in modules.get(&m).map(|x| x.depends_on.as_slice()).unwrap_or(&[]) {
            if !modules.contains_key(dep) {
                return Err(ResolveError::Unknown(dep.clone(), modules.keys().cloned().collect::<Vec<_>>().join(", ")));
            }
            if !wanted.contains(dep) {
                stack.push(dep.clone());
            }
        }
    }
    topological_order(modules, wanted)
}

/// Kahn's algorithm over `subset`, taking ready modules in name order.
fn topological_order(
    modules: &BTreeMap<String, ModuleManifest>,
    subset: BTreeSet<String>,
) -> Result<Vec<String>, ResolveError> {
    let deps = |m: &str| -> Vec<String> {
        modules.get(m).map(|x| x.depends_on.iter().filter(|d| subset.contains(*d)).cloned().collect()).unwrap_or_default()
    };
    let mut done: Vec<String> = Vec::new();
    let mut left: BTreeSet<String> = subset.clone();
    while !left.is_empty() {
        let ready = left.iter().find(|m| deps(m).iter().all(|d| done.contains(d))).cloned();
        match ready {
            Some(m) => {
                left.remove(&m);
                done.push(m);
            }
            None => return Err(ResolveError::Cycle(find_cycle(&left, &deps))),
        }
    }
    Ok(done)
}

/// A cycle among `left` (every one of which waits on another), for the error message.
fn find_cycle(left: &BTreeSet<String>, deps: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    let Some(start) = left.iter().next() else { return Vec::new() };
    let mut path = vec![start.clone()];
    loop {
        let last = path.last().cloned().unwrap_or_default();
        let Some(next) = deps(&last).into_iter().find(|d| left.contains(d)) else { return path };
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: ModuleType, deps: &[&str]) -> ModuleManifest {
        ModuleManifest { module_type: t, description: String::new(), depends_on: deps.iter().map(|s| s.to_string()).collect() }
    }

    fn set(items: &[(&str, ModuleManifest)]) -> BTreeMap<String, ModuleManifest> {
        items.iter().map(|(n, m)| (n.to_string(), m.clone())).collect()
    }

    #[test]
    fn resolution_includes_core_and_dependencies_in_order() {
        use ModuleType::*;
        // Diamond: reports -> (elections, donations) -> core
        let mods = set(&[
            ("core", m(Core, &[])),
            ("elections", m(Optional, &["core"])),
            ("donations", m(Optional, &["core"])),
            ("reports", m(Extension, &["elections", "donations"])),
            ("unused", m(Optional, &["core"])),
        ]);
        assert_eq!(resolve_modules(&mods, &[]).unwrap(), ["core"]);
        assert_eq!(
            resolve_modules(&mods, &["reports".into()]).unwrap(),
            ["core", "donations", "elections", "reports"]
        );
        // Same answer whatever the order of the request.
        assert_eq!(
            resolve_modules(&mods, &["elections".into(), "reports".into()]).unwrap(),
            resolve_modules(&mods, &["reports".into(), "elections".into()]).unwrap()
        );
        let err = resolve_modules(&mods, &["nope".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown module `nope`"), "{err}");
    }

    #[test]
    fn cycles_are_named() {
        use ModuleType::*;
        let mods = set(&[("core", m(Core, &[])), ("a", m(Optional, &["b"])), ("b", m(Optional, &["c"])), ("c", m(Optional, &["a"]))]);
        let err = resolve_modules(&mods, &["a".into()]).unwrap_err();
        match &err {
            ResolveError::Cycle(c) => {
                assert_eq!(c.first(), c.last());
                assert!(c.contains(&"a".to_string()) && c.contains(&"b".to_string()) && c.contains(&"c".to_string()));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(" → "));
        let selfdep = set(&[("core", m(Core, &["core"]))]);
        assert!(matches!(resolve_modules(&selfdep, &[]), Err(ResolveError::Cycle(_))));
    }

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect()
    }

    const MANIFEST: &str = r#"
name = "club"
type = "ngo"
version = "1.1.0"
description = "A club"
dialects = ["mysql", "postgres", "sqlite"]
[metadata]
locale = "en"
[modules.core]
type = "core"
[modules.events]
type = "optional"
depends_on = ["core"]
"#;

    fn good() -> BTreeMap<String, String> {
        files(&[
            ("template.toml", MANIFEST),
            ("modules/core/schema.sql", "CREATE TABLE members (id INTEGER PRIMARY KEY);"),
            ("modules/core/seed.sql", "INSERT INTO members (id) VALUES (1);"),
            ("modules/events/schema.sql", "CREATE TABLE events (id INTEGER PRIMARY KEY);"),
            ("modules/events/schema.mysql.sql", "CREATE TABLE events (id INT PRIMARY KEY);"),
            ("migrations/0002_add_notes/up.sql", "ALTER TABLE members ADD COLUMN notes TEXT;"),
            ("migrations/0002_add_notes/down.sql", "ALTER TABLE members DROP COLUMN notes;"),
            ("migrations/0002_add_notes/migration.toml", "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n"),
            ("README.md", "ignored"),
        ])
    }

    #[test]
    fn a_good_directory_parses() {
        let b = TemplateBundle::from_files(good()).unwrap();
        assert_eq!(b.manifest.name, "club");
        assert_eq!(b.manifest.template_type, TemplateType::Ngo);
        assert_eq!(b.modules["events"].schema.for_dialect(Dialect::Mysql).unwrap(), "CREATE TABLE events (id INT PRIMARY KEY);");
        assert!(b.modules["events"].schema.for_dialect(Dialect::Sqlite).unwrap().contains("INTEGER"));
        assert_eq!(b.versions(), vec![Version::new(1, 0, 0), Version::new(1, 1, 0)]);
        assert_eq!(b.all_modules(), ["core", "events"]);
        assert_eq!(b.core_modules(), ["core"]);
        // The checksum ignores README and follows content.
        let mut other = good();
        other.insert("README.md".into(), "changed".into());
        assert_eq!(TemplateBundle::from_files(other).unwrap().checksum, b.checksum);
        let mut changed = good();
        changed.insert("modules/core/seed.sql".into(), "INSERT INTO members (id) VALUES (2);".into());
        assert_ne!(TemplateBundle::from_files(changed).unwrap().checksum, b.checksum);
    }

    fn problems(f: BTreeMap<String, String>) -> Vec<String> {
        TemplateBundle::from_files(f).unwrap_err().0.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_file() {
        let mut f = good();
        f.remove("modules/events/schema.sql"); // postgres and sqlite now lack a schema
        f.insert("modules/core/schema.mysq.sql".into(), "typo".into());
        f.insert("modules/ghost/schema.sql".into(), "x".into());
        f.insert("migrations/0003_x/up.sql".into(), "x".into());
        let p = problems(f);
        let joined = p.join("\n");
        assert!(joined.contains("modules/events/schema.sql: module `events` has no schema for postgres"), "{joined}");
        assert!(joined.contains("module `events` has no schema for sqlite"), "{joined}");
        assert!(joined.contains("modules/core/schema.mysq.sql: unknown file"), "{joined}");
        assert!(joined.contains("modules/ghost/schema.sql: module folder `ghost` is not declared"), "{joined}");
        assert!(joined.contains("migrations/0003_x/migration.toml: missing"), "{joined}");
    }

    #[test]
    fn manifest_errors() {
        let cases = [
            (MANIFEST.replace("description = \"A club\"", "descripton = \"typo\""), "unknown field `descripton`"),
            (MANIFEST.replace("1.1.0", "one.two"), "template.toml"),
            (MANIFEST.replace("type = \"ngo\"", "type = \"church\""), "unknown variant `church`"),
            (MANIFEST.replace("depends_on = [\"core\"]", "depends_on = [\"billing\"]"), "module `events` depends on `billing`, which is not declared"),
            (MANIFEST.replace("[modules.core]\ntype = \"core\"", "[modules.core]\ntype = \"core\"\ndepends_on = [\"events\"]"), "core module `core` depends on optional module `events`"),
        ];
        for (manifest, expected) in cases {
            let mut f = good();
            f.insert("template.toml".into(), manifest);
            let joined = problems(f).join("\n");
            assert!(joined.contains(expected), "expected `{expected}` in:\n{joined}");
        }
        let mut f = good();
        f.remove("template.toml");
        assert!(problems(f)[0].contains("template.toml: missing"));
    }

    #[test]
    fn migration_errors() {
        let cases = [
            ("version = \"2.0.0\"", "produces 2.0.0 but template.toml is at 1.1.0"),
            ("version = \"1.1.0\"\napplies_to = \"optional\"", "needs module"),
            ("version = \"1.1.0\"\napplies_to = \"specific\"", "needs tenants"),
            ("version = \"1.1.0\"\napplies_to = \"optional\"\nmodule = \"nope\"", "module `nope` is not declared"),
            ("version = \"1.1.0\"\nmin_template_version = \"1.0.5\"\nmax_template_version = \"1.0.1\"", "is above"),
            ("version = \"1.1\"", "migration.toml"),
            ("verison = \"1.1.0\"", "unknown field"),
        ];
        for (toml_text, expected) in cases {
            let mut f = good();
            f.insert("migrations/0002_add_notes/migration.toml".into(), toml_text.into());
            let joined = problems(f).join("\n");
            assert!(joined.contains(expected), "expected `{expected}` in:\n{joined}");
        }
    }
}
