//! Which template migrations a tenant needs, and why others are skipped: pure rules
//! the rollout engine and `migrate plan` share.

use crate::template::{AppliesTo, Migration, TemplateBundle};
use semver::Version;
use serde::Serialize;

/// What to do with one migration for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StepDecision {
    Apply,
    Skip { reason: String },
    /// The migration touches an object the tenant customized: not run blindly.
    Customized { reason: String },
    /// `plan` only: the live database already has an object the migration creates.
    WouldFail { reason: String },
}

/// One migration in a tenant's chain.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub migration: String,
    pub version: String,
    #[serde(flatten)]
    pub decision: StepDecision,
}

/// A tenant as the rules see it.
pub struct TenantState<'a> {
    pub slug: &'a str,
    pub version: &'a Version,
    pub modules: &'a [String],
}

fn applies_to_tenant(m: &Migration, t: &TenantState) -> Result<(), String> {
    match m.manifest.applies_to {
        AppliesTo::All => {}
        AppliesTo::Optional => {
            let module = m.manifest.module.as_deref().unwrap_or("");
            if !t.modules.iter().any(|x| x == module) {
                return Err(format!("module `{module}` is not installed"));
            }
        }
        AppliesTo::Specific => {
            if !m.manifest.tenants.iter().any(|x| x == t.slug) {
                return Err("not one of the tenants it is for".into());
            }
        }
    }
    Ok(())
}

/// The ordered migrations between the tenant's version and `target`, each with a
/// decision. `at` is the version the tenant will be at when the step comes (the
/// range check uses it).
pub fn plan_tenant(bundle: &TemplateBundle, tenant: &TenantState, target: &Version) -> Vec<PlannedStep> {
    let mut at = tenant.version.clone();
    let mut out = Vec::new();
    for m in bundle.migrations.iter().filter(|m| m.manifest.version > *tenant.version && m.manifest.version <= *target) {
        let mut decision = match applies_to_tenant(m, tenant) {
            Ok(()) => StepDecision::Apply,
            Err(reason) => StepDecision::Skip { reason },
        };
        if decision == StepDecision::Apply {
            if let Some(min) = &m.manifest.min_template_version {
                if at < *min {
                    decision = StepDecision::Skip { reason: format!("tenant is at {at}, below min_template_version {min}") };
                }
            }
            if let Some(max) = &m.manifest.max_template_version {
                if at > *max {
                    decision = StepDecision::Skip { reason: format!("tenant is at {at}, above max_template_version {max}") };
                }
            }
        }
        at = m.manifest.version.clone();
        out.push(PlannedStep { migration: m.name.clone(), version: m.manifest.version.to_string(), decision });
    }
    out
}

/// An object a migration creates, changes or drops: `table`, `column` (as
/// `table.column`), `index`, `view` or `function`, with its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Touched {
    pub kind: &'static str,
    pub name: String,
    /// The statement creates it (so it must not exist yet).
    pub creates: bool,
}

fn last_name(n: &sqlparser::ast::ObjectName) -> String {
    n.0.last().map(|p| p.to_string().trim_matches(|c| c == '"' || c == '`').to_string()).unwrap_or_default()
}

/// What a script's statements touch, for collisions with tenant customizations.
pub fn touched_objects(dialect: crate::Dialect, script: &str) -> Vec<Touched> {
    use sqlparser::ast::{AlterTableOperation as Op, ObjectType, Statement};
    let mut out = std::collections::BTreeSet::new();
    let parser_dialect = crate::sql::parser_dialect(dialect);
    let t = |kind: &'static str, name: String| Touched { kind, name, creates: false };
    let new = |kind: &'static str, name: String| Touched { kind, name, creates: true };
    for st in crate::sql::split_script(dialect, script).unwrap_or_default() {
        let Ok(statements) = sqlparser::parser::Parser::parse_sql(parser_dialect.as_ref(), &st.sql) else { continue };
        for s in statements {
            match s {
                Statement::CreateTable(ct) => {
                    out.insert(new("table", last_name(&ct.name)));
                }
                Statement::AlterTable(at) => {
                    let table = last_name(&at.name);
                    out.insert(t("table", table.clone()));
                    for op in &at.operations {
                        if let Op::AddColumn { column_def, .. } = op {
                            out.insert(new("column", format!("{table}.{}", column_def.name.value)));
                            continue;
                        }
                        let cols: Vec<String> = match op {
                            Op::DropColumn { column_names, .. } => column_names.iter().map(|c| c.value.clone()).collect(),
                            Op::RenameColumn { old_column_name, new_column_name } => vec![old_column_name.value.clone(), new_column_name.value.clone()],
                            Op::ChangeColumn { old_name, new_name, .. } => vec![old_name.value.clone(), new_name.value.clone()],
                            Op::ModifyColumn { col_name, .. } => vec![col_name.value.clone()],
                            Op::AlterColumn { column_name, .. } => vec![column_name.value.clone()],
                            _ => vec![],
                        };
                        for c in cols {
                            out.insert(t("column", format!("{table}.{c}")));
                        }
                    }
                }
                Statement::CreateIndex(ci) => {
                    if let Some(n) = &ci.name {
                        out.insert(new("index", last_name(n)));
                    }
                    out.insert(t("table", last_name(&ci.table_name)));
                }
                Statement::CreateView(cv) => {
                    out.insert(new("view", last_name(&cv.name)));
                }
                Statement::Drop { object_type, names, .. } => {
                    let kind = match object_type {
                        ObjectType::Table => "table",
                        ObjectType::View => "view",
                        ObjectType::Index => "index",
                        _ => continue,
                    };
                    for n in &names {
                        out.insert(t(kind, last_name(n)));
                    }
                }
                _ => {}
            }
        }
    }
    out.into_iter().collect()
}

/// Whether a tenant customization (`kind`, `object`) collides with what a migration
/// touches: a customized table with anything on that table, a customized column
/// (`table.column`) with that column, an index, view or function with the same name.
pub fn collides(kind: &str, object: &str, touched: &[Touched]) -> bool {
    touched.iter().any(|x| match kind {
        "table" => (x.kind == "table" && x.name == object) || (x.kind == "column" && x.name.split('.').next() == Some(object)),
        "column" => x.kind == "column" && x.name == object,
        other => x.kind == other && x.name == object,
    })
}

/// Tables a script reads or changes, from its parsed statements (names as written,
/// unquoted, sorted). A script that does not parse yields what its parsable
/// statements name.
pub fn affected_tables(dialect: crate::Dialect, script: &str) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let parser_dialect = crate::sql::parser_dialect(dialect);
    for st in crate::sql::split_script(dialect, script).unwrap_or_default() {
        let Ok(statements) = sqlparser::parser::Parser::parse_sql(parser_dialect.as_ref(), &st.sql) else { continue };
        let _ = sqlparser::ast::visit_relations(&statements, |rel| {
            if let Some(last) = rel.0.last() {
                out.insert(last.to_string().trim_matches(|c| c == '"' || c == '`').to_string());
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        // Index statements name their table outside the relation visitor's reach.
        for s in &statements {
            let table = match s {
                sqlparser::ast::Statement::CreateIndex(ci) => Some(&ci.table_name),
                sqlparser::ast::Statement::Drop { table: Some(t), .. } => Some(t),
                _ => None,
            };
            if let Some(last) = table.and_then(|t| t.0.last()) {
                out.insert(last.to_string().trim_matches(|c| c == '"' || c == '`').to_string());
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use std::collections::BTreeMap;

    fn bundle() -> TemplateBundle {
        let f: BTreeMap<String, String> = [
            ("template.toml", "name = \"t\"\ntype = \"basic\"\nversion = \"1.3.0\"\ndialects = [\"sqlite\"]\n[modules.core]\ntype = \"core\"\n[modules.extra]\ntype = \"optional\"\n"),
            ("modules/core/schema.sql", "C"),
            ("modules/extra/schema.sql", "E"),
            ("migrations/0002_a/up.sql", "A"),
            ("migrations/0002_a/down.sql", "A"),
            ("migrations/0002_a/migration.toml", "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n"),
            ("migrations/0003_b/up.sql", "B"),
            ("migrations/0003_b/down.sql", "B"),
            ("migrations/0003_b/migration.toml", "version = \"1.2.0\"\napplies_to = \"optional\"\nmodule = \"extra\"\n"),
            ("migrations/0004_c/up.sql", "C"),
            ("migrations/0004_c/down.sql", "C"),
            ("migrations/0004_c/migration.toml", "version = \"1.3.0\"\napplies_to = \"specific\"\ntenants = [\"acme\"]\nmax_template_version = \"1.2.0\"\n"),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
        TemplateBundle::from_files(f).unwrap()
    }

    #[test]
    fn plans_say_why() {
        let b = bundle();
        let v = |s: &str| Version::parse(s).unwrap();
        let core = vec!["core".to_string()];
        let plan = plan_tenant(&b, &TenantState { slug: "other", version: &v("1.0.0"), modules: &core }, &v("1.3.0"));
        let d: Vec<(&str, String)> = plan
            .iter()
            .map(|p| (p.migration.as_str(), match &p.decision { StepDecision::Apply => "apply".to_string(), StepDecision::Skip { reason } | StepDecision::Customized { reason } | StepDecision::WouldFail { reason } => reason.clone() }))
            .collect();
        assert_eq!(d[0], ("0002_a", "apply".to_string()));
        assert_eq!(d[1], ("0003_b", "module `extra` is not installed".to_string()));
        assert_eq!(d[2], ("0004_c", "not one of the tenants it is for".to_string()));
        let acme = plan_tenant(&b, &TenantState { slug: "acme", version: &v("1.2.0"), modules: &core }, &v("1.3.0"));
        assert_eq!(acme.len(), 1);
        assert_eq!(acme[0].decision, StepDecision::Apply);
        let none = plan_tenant(&b, &TenantState { slug: "acme", version: &v("1.3.0"), modules: &core }, &v("1.3.0"));
        assert!(none.is_empty());
    }

    #[test]
    fn customizations_collide_with_what_a_migration_touches() {
        let up = "ALTER TABLE members ADD COLUMN notes TEXT NULL;\nCREATE INDEX ix_notes ON members (notes);";
        let touched = touched_objects(Dialect::Postgres, up);
        assert!(collides("column", "members.notes", &touched));
        assert!(!collides("column", "members.nickname", &touched));
        assert!(collides("index", "ix_notes", &touched));
        assert!(!collides("table", "extras", &touched));
        assert!(collides("table", "members", &touched));
    }

    #[test]
    fn affected_tables_come_from_the_parse() {
        let sql = "ALTER TABLE members ADD COLUMN notes TEXT NULL;\nCREATE UNIQUE INDEX uq ON donations (receipt);\nUPDATE roles SET name = 'x' WHERE id IN (SELECT role_id FROM member_roles);";
        assert_eq!(affected_tables(Dialect::Postgres, sql), ["donations", "member_roles", "members", "roles"]);
        assert_eq!(affected_tables(Dialect::Mysql, "DROP INDEX ix ON `people`;"), ["people"]);
    }
}
