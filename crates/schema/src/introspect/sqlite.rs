//! SQLite: `sqlite_master` and the `pragma_*` table-valued functions, plus a parse of
//! each table's `CREATE TABLE` text with `sqlparser`, because no pragma reports
//! constraint names or CHECK constraints.
//!
//! Unnamed constraints get PostgreSQL's default names (`t_col_key`, `t_col_fkey`,
//! `t_col_check`), so a schema written without names reads alike on both engines.

use crate::model::{Check, Column, ForeignKey, IndexPart, PrimaryKey, Schema, Table, Trigger, View};
use crate::normalize::{column_default, column_type, referential_action};
use crate::{Context, IntrospectError};
use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use sqlx::SqliteConnection;
use tenantry_domain::Dialect;

const D: Dialect = Dialect::Sqlite;

/// What the `CREATE TABLE` text says that no pragma does.
#[derive(Default)]
struct Declared {
    uniques: Vec<(Option<String>, Vec<String>)>,
    foreign_keys: Vec<(Option<String>, Vec<String>, String)>,
    checks: Vec<(Option<String>, Option<String>, String)>,
}

fn ident_list<'a>(idents: impl IntoIterator<Item = &'a sqlparser::ast::Ident>) -> Vec<String> {
    idents.into_iter().map(|i| i.value.clone()).collect()
}

fn declared(sql: &str) -> Declared {
    let mut out = Declared::default();
    let Ok(statements) = Parser::parse_sql(&SQLiteDialect {}, sql) else { return out };
    let Some(Statement::CreateTable(ct)) = statements.into_iter().next() else { return out };
    for col in &ct.columns {
        for opt in &col.options {
            let name = opt.name.as_ref().map(|n| n.value.clone());
            match &opt.option {
                ColumnOption::Unique(_) => out.uniques.push((name, vec![col.name.value.clone()])),
                ColumnOption::ForeignKey(fk) => out.foreign_keys.push((
                    name.or_else(|| fk.name.as_ref().map(|n| n.value.clone())),
                    vec![col.name.value.clone()],
                    fk.foreign_table.to_string().trim_matches('"').to_string(),
                )),
                ColumnOption::Check(c) => out.checks.push((
                    name.or_else(|| c.name.as_ref().map(|n| n.value.clone())),
                    Some(col.name.value.clone()),
                    c.expr.to_string(),
                )),
                _ => {}
            }
        }
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::Unique(u) => out.uniques.push((
                u.name.as_ref().map(|n| n.value.clone()),
                u.columns.iter().map(|c| c.column.expr.to_string().trim_matches('"').to_string()).collect(),
            )),
            TableConstraint::ForeignKey(fk) => out.foreign_keys.push((
                fk.name.as_ref().map(|n| n.value.clone()),
                ident_list(&fk.columns),
                fk.foreign_table.to_string().trim_matches('"').to_string(),
            )),
            TableConstraint::Check(ch) => {
                out.checks.push((ch.name.as_ref().map(|n| n.value.clone()), None, ch.expr.to_string()))
            }
            _ => {}
        }
    }
    out
}

/// Finds the words after `TRIGGER name` that say when and on what it fires.
fn trigger_timing_event(sql: &str) -> (String, String) {
    let words: Vec<String> = sql.split_whitespace().map(|w| w.to_ascii_uppercase()).collect();
    let timing = if words.iter().any(|w| w == "BEFORE") {
        "BEFORE"
    } else if words.windows(2).any(|w| w[0] == "INSTEAD" && w[1] == "OF") {
        "INSTEAD OF"
    } else {
        "AFTER"
    };
    let event = words
        .iter()
        .find(|w| matches!(w.as_str(), "INSERT" | "UPDATE" | "DELETE"))
        .cloned()
        .unwrap_or_default();
    (timing.into(), event)
}

pub async fn introspect(conn: &mut SqliteConnection) -> Result<Schema, IntrospectError> {
    read(conn, None).await
}

/// Only the named tables, no views or triggers (see the PostgreSQL reader).
pub async fn introspect_tables(conn: &mut SqliteConnection, tables: &[String]) -> Result<Schema, IntrospectError> {
    read(conn, Some(tables)).await
}

/// Every table's columns, indexes and foreign keys, each in one query joining
/// `sqlite_master` to the pragma functions: a round trip per kind, not per table.
pub const COLUMNS: &str = "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid";
pub const INDEXES: &str = "SELECT m.name, l.name, l.\"unique\", l.origin, x.name, x.\"desc\" \
     FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_xinfo(l.name) x \
     WHERE m.type = 'table' AND x.key = 1 ORDER BY m.name, l.name, x.seqno";
pub const FOREIGN_KEYS: &str = "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
     FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq";
pub const QUERIES: &[&str] = &[COLUMNS, INDEXES, FOREIGN_KEYS];

type ColumnRow = (String, String, String, i64, Option<String>, i64);
type IndexRow = (String, String, i64, String, Option<String>, i64);
type ForeignKeyRow = (String, i64, String, String, Option<String>, String, String);

/// The rows of one table: a contiguous run of `rows` sorted by table name.
fn of<'a, T>(rows: &'a [T], table: &str, key: impl Fn(&T) -> &str) -> &'a [T] {
    let start = rows.partition_point(|r| key(r) < table);
    let end = start + rows[start..].partition_point(|r| key(r) == table);
    &rows[start..end]
}

async fn read(conn: &mut SqliteConnection, only: Option<&[String]>) -> Result<Schema, IntrospectError> {
    let mut schema = Schema::new(D);
    let objects: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )
    .fetch_all(&mut *conn)
    .await
    .reading("objects")?;
    let columns: Vec<ColumnRow> = sqlx::query_as(COLUMNS).fetch_all(&mut *conn).await.reading("columns")?;
    let indexes: Vec<IndexRow> = sqlx::query_as(INDEXES).fetch_all(&mut *conn).await.reading("indexes")?;
    let fks: Vec<ForeignKeyRow> = sqlx::query_as(FOREIGN_KEYS).fetch_all(&mut *conn).await.reading("foreign keys")?;

    for (kind, name, table_name, sql) in &objects {
        if only.is_some_and(|o| kind != "table" || !o.contains(name)) {
            continue;
        }
        let sql = sql.clone().unwrap_or_default();
        match kind.as_str() {
            "table" => {
                let table = read_table(
                    name,
                    &sql,
                    of(&columns, name, |r| &r.0),
                    of(&indexes, name, |r| &r.0),
                    of(&fks, name, |r| &r.0),
                );
                schema.tables.insert(name.clone(), table);
            }
            "view" => {
                schema.views.insert(name.clone(), View { name: name.clone(), definition: sql.trim().to_string() });
            }
            "trigger" => {
                let (timing, event) = trigger_timing_event(&sql);
                schema.triggers.insert(
                    name.clone(),
                    Trigger { name: name.clone(), table: table_name.clone(), timing, event, definition: sql.trim().to_string() },
                );
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn read_table(name: &str, sql: &str, columns: &[ColumnRow], indexes: &[IndexRow], fks: &[ForeignKeyRow]) -> Table {
    let mut table = Table::new(name);
    let declared = declared(sql);

    let mut pk: Vec<(i64, String)> = columns.iter().filter(|c| c.5 > 0).map(|c| (c.5, c.1.clone())).collect();
    pk.sort();
    for (_, col, ty, notnull, default, pk_pos) in columns {
        let data_type = column_type(D, ty);
        // `INTEGER PRIMARY KEY` is the rowid: it numbers itself.
        let rowid_alias = *pk_pos == 1 && pk.len() == 1 && ty.eq_ignore_ascii_case("integer");
        table.columns.push(Column {
            name: col.clone(),
            // A primary key column is NOT NULL in effect on the other engines.
            nullable: *notnull == 0 && *pk_pos == 0,
            default: column_default(D, &data_type, default.as_deref()),
            auto_increment: rowid_alias,
            on_update: None,
            data_type,
        });
    }
    if !pk.is_empty() {
        table.primary_key = Some(PrimaryKey { columns: pk.into_iter().map(|(_, c)| c).collect() });
    }

    // Rows are sorted by index name, its columns in order.
    let mut i = 0;
    while let Some((_, index, unique, origin, _, _)) = indexes.get(i) {
        let rows = &indexes[i..i + indexes[i..].partition_point(|r| &r.1 == index)];
        i += rows.len();
        if origin == "pk" {
            continue;
        }
        let parts: Vec<IndexPart> = rows
            .iter()
            .map(|r| IndexPart { column: r.4.clone().unwrap_or_else(|| "(expression)".into()), descending: r.5 != 0, prefix: None })
            .collect();
        let index_name = if origin == "u" {
            let cols: Vec<&str> = parts.iter().map(|p| p.column.as_str()).collect();
            declared
                .uniques
                .iter()
                .find(|(_, c)| c.iter().map(String::as_str).eq(cols.iter().copied()))
                .and_then(|(n, _)| n.clone())
                .unwrap_or_else(|| format!("{name}_{}_key", cols.join("_")))
        } else {
            index.clone()
        };
        table.indexes.insert(index_name.clone(), crate::model::Index { name: index_name, parts, unique: *unique != 0 });
    }

    let mut grouped: Vec<(i64, ForeignKey)> = Vec::new();
    for (_, id, ref_table, from, to, on_update, on_delete) in fks {
        if grouped.last().map(|g| g.0) != Some(*id) {
            grouped.push((
                *id,
                ForeignKey {
                    name: String::new(),
                    columns: Vec::new(),
                    referenced_table: ref_table.clone(),
                    referenced_columns: Vec::new(),
                    on_update: referential_action(D, on_update),
                    on_delete: referential_action(D, on_delete),
                },
            ));
        }
        if let Some((_, fk)) = grouped.last_mut() {
            fk.columns.push(from.clone());
            // `REFERENCES t` without columns means t's primary key; SQLite leaves `to` NULL.
            fk.referenced_columns.push(to.clone().unwrap_or_default());
        }
    }
    for (_, mut fk) in grouped {
        fk.name = declared
            .foreign_keys
            .iter()
            .find(|(_, cols, t)| *cols == fk.columns && t.eq_ignore_ascii_case(&fk.referenced_table))
            .and_then(|(n, _, _)| n.clone())
            .unwrap_or_else(|| format!("{name}_{}_fkey", fk.columns.join("_")));
        table.foreign_keys.insert(fk.name.clone(), fk);
    }

    for (i, (check_name, column, expression)) in declared.checks.iter().enumerate() {
        let check_name = check_name.clone().unwrap_or_else(|| match column {
            Some(c) => format!("{name}_{c}_check"),
            None if i == 0 => format!("{name}_check"),
            None => format!("{name}_check{i}"),
        });
        table.checks.insert(check_name.clone(), Check { name: check_name, expression: expression.clone() });
    }
    table
}
