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

async fn read(conn: &mut SqliteConnection, only: Option<&[String]>) -> Result<Schema, IntrospectError> {
    let mut schema = Schema::new(D);
    let objects: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )
    .fetch_all(&mut *conn)
    .await
    .reading("objects")?;

    for (kind, name, table_name, sql) in &objects {
        if only.is_some_and(|o| kind != "table" || !o.contains(name)) {
            continue;
        }
        let sql = sql.clone().unwrap_or_default();
        match kind.as_str() {
            "table" => {
                let table = read_table(conn, name, &sql).await?;
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

async fn read_table(conn: &mut SqliteConnection, name: &str, sql: &str) -> Result<Table, IntrospectError> {
    let mut table = Table::new(name);
    let declared = declared(sql);

    let columns: Vec<(String, String, i64, Option<String>, i64)> =
        sqlx::query_as("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid")
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .reading("columns")?;
    let mut pk: Vec<(i64, String)> = columns.iter().filter(|c| c.4 > 0).map(|c| (c.4, c.0.clone())).collect();
    pk.sort();
    for (col, ty, notnull, default, pk_pos) in &columns {
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

    let indexes: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .reading("indexes")?;
    for (index, unique, origin) in indexes {
        if origin == "pk" {
            continue;
        }
        let parts: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
        )
        .bind(&index)
        .fetch_all(&mut *conn)
        .await
        .reading("index columns")?;
        let parts: Vec<IndexPart> = parts
            .into_iter()
            .map(|(c, desc)| IndexPart { column: c.unwrap_or_else(|| "(expression)".into()), descending: desc != 0, prefix: None })
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
            index
        };
        table.indexes.insert(index_name.clone(), crate::model::Index { name: index_name, parts, unique: unique != 0 });
    }

    let fks: Vec<(i64, String, String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .reading("foreign keys")?;
    let mut grouped: Vec<(i64, ForeignKey)> = Vec::new();
    for (id, ref_table, from, to, on_update, on_delete) in fks {
        if grouped.last().map(|g| g.0) != Some(id) {
            grouped.push((
                id,
                ForeignKey {
                    name: String::new(),
                    columns: Vec::new(),
                    referenced_table: ref_table,
                    referenced_columns: Vec::new(),
                    on_update: referential_action(D, &on_update),
                    on_delete: referential_action(D, &on_delete),
                },
            ));
        }
        if let Some((_, fk)) = grouped.last_mut() {
            fk.columns.push(from);
            // `REFERENCES t` without columns means t's primary key; SQLite leaves `to` NULL.
            fk.referenced_columns.push(to.unwrap_or_default());
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
    Ok(table)
}
