//! SQL generation: the statements that turn one schema into another, per dialect.
//!
//! `repair_script(expected, actual)` is what `drift repair` prints and runs;
//! `object_sql(schema, kind, name)` recreates one object (what `drift accept` records
//! as a customization). One [`DdlWriter`] per dialect knows the spelling; the order of
//! work is shared: drop what depends on tables, fix tables, then recreate dependants.
//! What a dialect cannot express (a MySQL routine, whose parameters the catalog model
//! does not keep) is returned as a manual step, never guessed.

mod mysql;
mod postgres;
mod sqlite;

use crate::diff::{diff_schemas, Change, Difference, ObjectKind};
use crate::model::{Check, Column, ForeignKey, Index, Routine, Schema, Table, Trigger, View};
use serde::Serialize;
use std::collections::BTreeSet;
use tenantry_domain::Dialect;

/// How one dialect spells DDL. Methods return `None` where the engine cannot make
/// the change in place; the caller then rebuilds the table (SQLite) or reports a
/// manual step.
pub trait DdlWriter: Sync {
    fn dialect(&self) -> Dialect;
    fn q(&self, ident: &str) -> String {
        self.dialect().quote(ident)
    }
    /// `name type [NOT NULL] [DEFAULT …]` as inside CREATE TABLE.
    fn column_def(&self, column: &Column) -> String;
    /// CREATE TABLE with columns, primary key and checks (and, on SQLite, foreign
    /// keys: it has no other way), then its indexes.
    fn create_table(&self, table: &Table) -> Vec<String>;
    fn drop_table(&self, table: &str) -> String {
        format!("DROP TABLE {}", self.q(table))
    }
    fn add_column(&self, table: &str, column: &Column) -> String {
        format!("ALTER TABLE {} ADD COLUMN {}", self.q(table), self.column_def(column))
    }
    fn drop_column(&self, table: &str, column: &str) -> Option<String> {
        Some(format!("ALTER TABLE {} DROP COLUMN {}", self.q(table), self.q(column)))
    }
    fn alter_column(&self, table: &str, expected: &Column, actual: &Column) -> Option<Vec<String>>;
    fn set_primary_key(&self, table: &str, expected: Option<&[String]>, actual: Option<&[String]>) -> Option<Vec<String>>;
    fn create_index(&self, table: &str, index: &Index) -> String {
        let parts: Vec<String> = index
            .parts
            .iter()
            .map(|p| {
                let col = if is_plain(&p.column) { self.q(&p.column) } else { format!("({})", p.column) };
                let prefix = p.prefix.map(|n| format!("({n})")).unwrap_or_default();
                format!("{col}{prefix}{}", if p.descending { " DESC" } else { "" })
            })
            .collect();
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.q(&index.name),
            self.q(table),
            parts.join(", ")
        )
    }
    fn drop_index(&self, table: &str, index: &str) -> String;
    fn add_foreign_key(&self, table: &str, fk: &ForeignKey) -> Option<String> {
        Some(format!("ALTER TABLE {} ADD {}", self.q(table), self.foreign_key_clause(fk)))
    }
    fn foreign_key_clause(&self, fk: &ForeignKey) -> String {
        let cols = |c: &[String]| c.iter().map(|c| self.q(c)).collect::<Vec<_>>().join(", ");
        // SQLite reports `REFERENCES t` (the primary key) with no columns.
        let referenced = if fk.referenced_columns.iter().all(String::is_empty) {
            String::new()
        } else {
            format!(" ({})", cols(&fk.referenced_columns))
        };
        format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}{referenced} ON UPDATE {} ON DELETE {}",
            self.q(&fk.name),
            cols(&fk.columns),
            self.q(&fk.referenced_table),
            fk.on_update,
            fk.on_delete
        )
    }
    fn drop_foreign_key(&self, table: &str, name: &str) -> Option<String>;
    fn add_check(&self, table: &str, check: &Check) -> Option<String> {
        Some(format!("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({})", self.q(table), self.q(&check.name), check.expression))
    }
    fn drop_check(&self, table: &str, name: &str) -> Option<String> {
        Some(format!("ALTER TABLE {} DROP CONSTRAINT {}", self.q(table), self.q(name)))
    }
    fn create_view(&self, view: &View) -> String {
        format!("CREATE VIEW {} AS {}", self.q(&view.name), view.definition)
    }
    fn drop_view(&self, name: &str) -> String {
        format!("DROP VIEW {}", self.q(name))
    }
    fn create_trigger(&self, trigger: &Trigger) -> Option<String>;
    fn drop_trigger(&self, trigger: &Trigger) -> String {
        format!("DROP TRIGGER {}", self.q(&trigger.name))
    }
    fn create_routine(&self, routine: &Routine) -> Option<String>;
    fn drop_routine(&self, routine: &Routine) -> Option<String>;
    /// Recreates `actual` as `expected`, keeping the data of the columns both have
    /// (SQLite's way to change a column or constraint). `None`: not needed here.
    fn rebuild_table(&self, _expected: &Table, _actual: &Table) -> Option<Vec<String>> {
        None
    }
}

/// The writer for a dialect.
pub fn writer(dialect: Dialect) -> &'static dyn DdlWriter {
    match dialect {
        Dialect::Mysql => &mysql::MysqlDdl,
        Dialect::Postgres => &postgres::PostgresDdl,
        Dialect::Sqlite => &sqlite::SqliteDdl,
    }
}

/// A column name rather than an expression (`lower(email)`).
fn is_plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// What converges a database to its expected schema.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepairScript {
    /// Statements in order.
    pub statements: Vec<String>,
    /// Differences no statement can fix, in words, with what to do.
    pub manual: Vec<String>,
    /// Warnings a person should read first (what is dropped).
    pub warnings: Vec<String>,
    /// Whether tables are rebuilt or columns retyped (referential checks are
    /// suspended while the script runs).
    pub rebuilds: bool,
}

/// The statements that turn `actual` into `expected` (both of one dialect).
pub fn repair_script(expected: &Schema, actual: &Schema) -> RepairScript {
    let w = writer(expected.dialect);
    let diffs = diff_schemas(expected, actual);
    let mut out = RepairScript::default();
    if diffs.is_empty() {
        return out;
    }
    // Tables SQLite must rebuild (any change but an added column, an index or a
    // droppable column); elsewhere, none.
    let mut rebuild: BTreeSet<String> = BTreeSet::new();
    for d in &diffs {
        let Some(t) = d.table.as_deref() else { continue };
        let (Some(e), Some(a)) = (expected.tables.get(t), actual.tables.get(t)) else { continue };
        if needs_rebuild(w, d, e, a) {
            rebuild.insert(t.to_string());
        }
    }
    out.rebuilds = !rebuild.is_empty() || diffs.iter().any(|d| d.object == ObjectKind::Column && d.change == Change::Changed);

    // 1. Dependants first: views and triggers that are extra or changed, all views
    //    when a table is rebuilt (SQLite checks views on rename).
    let views_rebuilt = !rebuild.is_empty();
    for (name, v) in &actual.views {
        if views_rebuilt || expected.views.get(name) != Some(v) {
            out.statements.push(w.drop_view(name));
        }
    }
    for (name, tr) in &actual.triggers {
        if expected.triggers.get(name) != Some(tr) || rebuild.contains(&tr.table) {
            out.statements.push(w.drop_trigger(tr));
        }
    }
    for (name, r) in &actual.routines {
        if expected.routines.get(name) != Some(r) {
            match w.drop_routine(r) {
                Some(s) => out.statements.push(s),
                None => out.manual.push(format!("drop routine {name} by hand")),
            }
        }
    }
    // 2. Constraints and indexes that go or change (not on tables being rebuilt).
    for d in &diffs {
        let Some(t) = d.table.as_deref() else { continue };
        if rebuild.contains(t) || d.change == Change::Missing {
            continue;
        }
        match d.object {
            ObjectKind::ForeignKey => match w.drop_foreign_key(t, &d.name) {
                Some(s) => out.statements.push(s),
                None => out.manual.push(format!("drop foreign key {t}.{} by hand", d.name)),
            },
            ObjectKind::Index => out.statements.push(w.drop_index(t, &d.name)),
            ObjectKind::Check => match w.drop_check(t, &d.name) {
                Some(s) => out.statements.push(s),
                None => out.manual.push(format!("drop check {t}.{} by hand", d.name)),
            },
            _ => {}
        }
    }
    // 3. Tables.
    for d in diffs.iter().filter(|d| d.object == ObjectKind::Table) {
        match d.change {
            Change::Missing => {
                if let Some(t) = expected.tables.get(&d.name) {
                    out.statements.extend(w.create_table(t));
                }
            }
            Change::Extra => {
                out.warnings.push(format!("drops table {} and its data", d.name));
                out.statements.push(w.drop_table(&d.name));
            }
            Change::Changed => {}
        }
    }
    for t in &rebuild {
        if let (Some(e), Some(a)) = (expected.tables.get(t), actual.tables.get(t)) {
            if let Some(stmts) = w.rebuild_table(e, a) {
                out.warnings.push(format!("rebuilds table {t} (data in the columns it keeps is copied)"));
                out.statements.extend(stmts);
            }
        }
    }
    for d in &diffs {
        let Some(t) = d.table.as_deref() else { continue };
        if rebuild.contains(t) {
            continue;
        }
        let (Some(e), Some(a)) = (expected.tables.get(t), actual.tables.get(t)) else { continue };
        match (d.object, d.change) {
            (ObjectKind::Column, Change::Missing) => {
                if let Some(c) = e.column(&d.name) {
                    out.statements.push(w.add_column(t, c));
                }
            }
            (ObjectKind::Column, Change::Extra) => {
                out.warnings.push(format!("drops column {t}.{} and its data", d.name));
                match w.drop_column(t, &d.name) {
                    Some(s) => out.statements.push(s),
                    None => out.manual.push(format!("drop column {t}.{} by hand", d.name)),
                }
            }
            (ObjectKind::Column, Change::Changed) => {
                if let (Some(ec), Some(ac)) = (e.column(&d.name), a.column(&d.name)) {
                    match w.alter_column(t, ec, ac) {
                        Some(s) => out.statements.extend(s),
                        None => out.manual.push(format!("change column {t}.{} by hand: {d}", d.name)),
                    }
                }
            }
            (ObjectKind::PrimaryKey, _) => {
                let ek = e.primary_key.as_ref().map(|k| k.columns.as_slice());
                let ak = a.primary_key.as_ref().map(|k| k.columns.as_slice());
                match w.set_primary_key(t, ek, ak) {
                    Some(s) => out.statements.extend(s),
                    None => out.manual.push(format!("set the primary key of {t} by hand")),
                }
            }
            _ => {}
        }
    }
    // 4. Indexes, checks and keys that are missing or changed, then foreign keys of
    //    new tables (their referenced tables exist now).
    for d in &diffs {
        let Some(t) = d.table.as_deref() else { continue };
        if rebuild.contains(t) || d.change == Change::Extra {
            continue;
        }
        let Some(e) = expected.tables.get(t) else { continue };
        let new_table = !actual.tables.contains_key(t);
        match d.object {
            ObjectKind::Index if !new_table => {
                if let Some(i) = e.indexes.get(&d.name) {
                    out.statements.push(w.create_index(t, i));
                }
            }
            ObjectKind::Check if !new_table => {
                if let Some(c) = e.checks.get(&d.name) {
                    match w.add_check(t, c) {
                        Some(s) => out.statements.push(s),
                        None => out.manual.push(format!("add check {t}.{} by hand", d.name)),
                    }
                }
            }
            ObjectKind::ForeignKey if !new_table => {
                if let Some(fk) = e.foreign_keys.get(&d.name) {
                    push_fk(w, &mut out, t, fk);
                }
            }
            ObjectKind::Table if d.change == Change::Missing && w.dialect() != Dialect::Sqlite => {
                for fk in e.foreign_keys.values() {
                    push_fk(w, &mut out, t, fk);
                }
            }
            _ => {}
        }
    }
    // 5. Dependants back.
    for (name, r) in &expected.routines {
        if actual.routines.get(name) != Some(r) {
            match w.create_routine(r) {
                Some(s) => out.statements.push(s),
                None => out.manual.push(format!(
                    "create routine {name} by hand (the catalog does not keep its parameters on {}); its body is:\n{}",
                    w.dialect(),
                    r.definition
                )),
            }
        }
    }
    for (name, v) in &expected.views {
        if views_rebuilt || actual.views.get(name) != Some(v) {
            out.statements.push(w.create_view(v));
        }
    }
    for (name, tr) in &expected.triggers {
        if actual.triggers.get(name) != Some(tr) || rebuild.contains(&tr.table) {
            match w.create_trigger(tr) {
                Some(s) => out.statements.push(s),
                None => out.manual.push(format!("create trigger {name} by hand")),
            }
        }
    }
    out
}

fn push_fk(w: &dyn DdlWriter, out: &mut RepairScript, table: &str, fk: &ForeignKey) {
    match w.add_foreign_key(table, fk) {
        Some(s) => out.statements.push(s),
        None => out.manual.push(format!("add foreign key {table}.{} by hand", fk.name)),
    }
}

/// Whether a difference on an existing table needs the table rebuilt in `w`'s dialect.
fn needs_rebuild(w: &dyn DdlWriter, d: &Difference, e: &Table, a: &Table) -> bool {
    if w.dialect() != Dialect::Sqlite {
        return false;
    }
    match (d.object, d.change) {
        (ObjectKind::Index, _) => false,
        (ObjectKind::Table, _) => false,
        // SQLite adds a column in place unless it is NOT NULL without a default.
        (ObjectKind::Column, Change::Missing) => {
            e.column(&d.name).is_some_and(|c| !c.nullable && c.default.is_none())
        }
        // DROP COLUMN works unless the column is in a key, index or constraint.
        (ObjectKind::Column, Change::Extra) => {
            let used = a.primary_key.as_ref().is_some_and(|k| k.columns.contains(&d.name))
                || a.indexes.values().any(|i| i.parts.iter().any(|p| p.column == d.name))
                || a.foreign_keys.values().any(|f| f.columns.contains(&d.name))
                || !a.checks.is_empty();
            used
        }
        _ => true,
    }
}

/// The SQL that creates one object of `schema` as it is: what `drift accept` records.
/// `kind` is a customization kind (`table`, `column` as `table.column`, `index`,
/// `view`, `function`, `trigger`).
pub fn object_sql(schema: &Schema, kind: &str, name: &str) -> Option<String> {
    let w = writer(schema.dialect);
    let joined = |v: Vec<String>| v.iter().map(|s| format!("{s};")).collect::<Vec<_>>().join("\n");
    match kind {
        "table" => schema.tables.get(name).map(|t| {
            let mut v = w.create_table(t);
            // Outside SQLite, keys go in after creation, as in a repair.
            if w.dialect() != Dialect::Sqlite {
                v.extend(t.foreign_keys.values().filter_map(|fk| w.add_foreign_key(&t.name, fk)));
            }
            joined(v)
        }),
        "column" => {
            let (t, c) = name.split_once('.')?;
            schema.tables.get(t)?.column(c).map(|c| format!("{};", w.add_column(t, c)))
        }
        "index" => schema
            .tables
            .values()
            .find_map(|t| t.indexes.get(name).map(|i| format!("{};", w.create_index(&t.name, i)))),
        "view" => schema.views.get(name).map(|v| format!("{};", w.create_view(v))),
        "trigger" => schema.triggers.get(name).and_then(|t| w.create_trigger(t)).map(|s| format!("{s};")),
        "function" => schema.routines.get(name).and_then(|r| w.create_routine(r)).map(|s| format!("{s};")),
        _ => None,
    }
}

/// Column list of a CREATE TABLE: columns, primary key, checks, and `extra` clauses.
pub(crate) fn table_body(w: &dyn DdlWriter, t: &Table, extra: Vec<String>) -> String {
    let mut parts: Vec<String> = t.columns.iter().map(|c| w.column_def(c)).collect();
    if let Some(pk) = &t.primary_key {
        parts.push(format!("PRIMARY KEY ({})", pk.columns.iter().map(|c| w.q(c)).collect::<Vec<_>>().join(", ")));
    }
    for c in t.checks.values() {
        parts.push(format!("CONSTRAINT {} CHECK ({})", w.q(&c.name), c.expression));
    }
    parts.extend(extra);
    format!("CREATE TABLE {} (\n  {}\n)", w.q(&t.name), parts.join(",\n  "))
}

/// ` DEFAULT x` or nothing. Expression defaults are parenthesised, as every engine
/// accepts.
pub(crate) fn default_clause(c: &Column) -> String {
    match &c.default {
        None => String::new(),
        Some(d) => {
            let bare = d == "CURRENT_TIMESTAMP"
                || d.starts_with('\'')
                || d.parse::<f64>().is_ok()
                || d == "true"
                || d == "false"
                || d.starts_with('(');
            if bare {
                format!(" DEFAULT {d}")
            } else {
                format!(" DEFAULT ({d})")
            }
        }
    }
}
