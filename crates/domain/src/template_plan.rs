//! Build plans: the ordered SQL that produces a template version on one dialect.
//!
//! Version V of a template whose directory describes version N ≥ V is: the modules of
//! N (schema, then seed), then the `down` steps of every migration newer than V, newest
//! first. Upgrading from V to W runs the `up` steps of the migrations in (V, W].
//! Migrations for `specific` tenants are never part of a version; `optional` ones only
//! when their module is installed.

use crate::template::{AppliesTo, DialectSql, Migration, TemplateBundle};
use crate::Dialect;
use semver::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Schema,
    Seed,
    Up,
    Down,
}

/// One script of a plan, with where it comes from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    pub kind: StepKind,
    /// The module, or the migration's name.
    pub source: String,
    /// The file in the template directory, as `modules/core/schema.mysql.sql`.
    pub file: String,
    pub sql: String,
}

impl BuildStep {
    /// `module core (modules/core/schema.sql)` or `migration 0002_add_notes (…/up.sql)`.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            StepKind::Schema | StepKind::Seed => "module",
            StepKind::Up | StepKind::Down => "migration",
        };
        format!("{what} `{}` ({})", self.source, self.file)
    }
}

fn file_for(dir: &str, kind: &str, sql: &DialectSql, d: Dialect) -> String {
    if sql.overrides.contains_key(&d) {
        format!("{dir}/{kind}.{d}.sql")
    } else {
        format!("{dir}/{kind}.sql")
    }
}

/// Whether a migration belongs to the version chain of tenants with `modules`.
pub fn migration_applies(m: &Migration, modules: &[String]) -> bool {
    match m.manifest.applies_to {
        AppliesTo::All => true,
        AppliesTo::Optional => m.manifest.module.as_ref().is_some_and(|x| modules.contains(x)),
        AppliesTo::Specific => false,
    }
}

impl TemplateBundle {
    /// The steps that build version `target` with `modules` (already resolved, in
    /// order) on `dialect`. `seeds`: include seed data.
    pub fn build_plan(&self, dialect: Dialect, modules: &[String], target: &Version, seeds: bool) -> Vec<BuildStep> {
        let mut steps = Vec::new();
        for name in modules {
            let Some(m) = self.modules.get(name) else { continue };
            let dir = format!("modules/{name}");
            if let Some(sql) = m.schema.for_dialect(dialect) {
                steps.push(BuildStep { kind: StepKind::Schema, source: name.clone(), file: file_for(&dir, "schema", &m.schema, dialect), sql: sql.to_string() });
            }
        }
        if seeds {
            for name in modules {
                let Some(m) = self.modules.get(name) else { continue };
                let dir = format!("modules/{name}");
                if let Some(sql) = m.seed.for_dialect(dialect) {
                    steps.push(BuildStep { kind: StepKind::Seed, source: name.clone(), file: file_for(&dir, "seed", &m.seed, dialect), sql: sql.to_string() });
                }
            }
        }
        steps.extend(self.down_steps(dialect, modules, &self.manifest.version, target));
        steps
    }

    /// `down` steps from `from` back to `to` (newest first).
    pub fn down_steps(&self, dialect: Dialect, modules: &[String], from: &Version, to: &Version) -> Vec<BuildStep> {
        self.migrations
            .iter()
            .rev()
            .filter(|m| m.manifest.version > *to && m.manifest.version <= *from && migration_applies(m, modules))
            .filter_map(|m| {
                let dir = format!("migrations/{}", m.name);
                m.down.for_dialect(dialect).map(|sql| BuildStep {
                    kind: StepKind::Down,
                    source: m.name.clone(),
                    file: file_for(&dir, "down", &m.down, dialect),
                    sql: sql.to_string(),
                })
            })
            .collect()
    }

    /// `up` steps from `from` (exclusive) to `to` (inclusive), oldest first, each with
    /// the version it produces.
    pub fn up_steps(&self, dialect: Dialect, modules: &[String], from: &Version, to: &Version) -> Vec<(Version, BuildStep)> {
        self.migrations
            .iter()
            .filter(|m| m.manifest.version > *from && m.manifest.version <= *to && migration_applies(m, modules))
            .filter_map(|m| {
                let dir = format!("migrations/{}", m.name);
                m.up.for_dialect(dialect).map(|sql| {
                    (
                        m.manifest.version.clone(),
                        BuildStep { kind: StepKind::Up, source: m.name.clone(), file: file_for(&dir, "up", &m.up, dialect), sql: sql.to_string() },
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn bundle() -> TemplateBundle {
        let f: BTreeMap<String, String> = [
            ("template.toml", "name = \"t\"\ntype = \"basic\"\nversion = \"1.2.0\"\ndialects = [\"sqlite\", \"mysql\"]\n[modules.core]\ntype = \"core\"\n[modules.extra]\ntype = \"optional\"\ndepends_on = [\"core\"]\n"),
            ("modules/core/schema.sql", "C"),
            ("modules/core/seed.sql", "S"),
            ("modules/extra/schema.sql", "E"),
            ("modules/extra/schema.mysql.sql", "EM"),
            ("migrations/0002_a/up.sql", "A+"),
            ("migrations/0002_a/down.sql", "A-"),
            ("migrations/0002_a/migration.toml", "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n"),
            ("migrations/0003_b/up.sql", "B+"),
            ("migrations/0003_b/down.sql", "B-"),
            ("migrations/0003_b/migration.toml", "version = \"1.2.0\"\napplies_to = \"optional\"\nmodule = \"extra\"\n"),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
        TemplateBundle::from_files(f).unwrap()
    }

    fn sqls(steps: &[BuildStep]) -> Vec<&str> {
        steps.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn plans_newest_and_older_versions() {
        let b = bundle();
        let all = vec!["core".to_string(), "extra".to_string()];
        let core = vec!["core".to_string()];
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(sqls(&b.build_plan(Dialect::Sqlite, &all, &v("1.2.0"), true)), ["C", "E", "S"]);
        assert_eq!(sqls(&b.build_plan(Dialect::Mysql, &all, &v("1.2.0"), false)), ["C", "EM"]);
        assert_eq!(b.build_plan(Dialect::Mysql, &all, &v("1.2.0"), false)[1].file, "modules/extra/schema.mysql.sql");
        assert_eq!(sqls(&b.build_plan(Dialect::Sqlite, &all, &v("1.0.0"), false)), ["C", "E", "B-", "A-"]);
        // 0003 is for the `extra` module only.
        assert_eq!(sqls(&b.build_plan(Dialect::Sqlite, &core, &v("1.0.0"), false)), ["C", "A-"]);
        let ups = b.up_steps(Dialect::Sqlite, &all, &v("1.0.0"), &v("1.2.0"));
        assert_eq!(ups.iter().map(|(v, s)| (v.to_string(), s.sql.as_str())).collect::<Vec<_>>(), [("1.1.0".to_string(), "A+"), ("1.2.0".to_string(), "B+")]);
        assert!(ups[0].1.describe().contains("migration `0002_a` (migrations/0002_a/up.sql)"));
    }
}
