//! MySQL/MariaDB: `information_schema`, filtered by schema name, so one session can
//! read any database on its server without `USE`.
//!
//! Quirks handled: MariaDB's `JSON` is `longtext` plus an automatic
//! `CHECK (json_valid(col))` (reported as type `json`, check dropped); view bodies
//! name their own schema (stripped, so tenants compare equal); every text column is
//! `CAST(… AS CHAR)` because some catalog columns come back as binary strings.

use crate::model::{Check, Column, ForeignKey, IndexPart, PrimaryKey, Routine, Schema, Table, Trigger, View};
use crate::normalize::{column_default, column_type, referential_action};
use crate::{Context, IntrospectError};
use sqlx::MySqlConnection;
use tenantry_domain::Dialect;

const D: Dialect = Dialect::Mysql;

/// The catalog queries, in the order they run (a benchmark replays them).
pub const TABLES: &str = "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND (? IS NULL OR FIND_IN_SET(TABLE_NAME, ?) > 0)";
pub const CHECK_CONSTRAINTS: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(CHECK_CLAUSE AS CHAR) \
         FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? \
         AND (? IS NULL OR FIND_IN_SET(TABLE_NAME, ?) > 0) ORDER BY TABLE_NAME, CONSTRAINT_NAME";
pub const COLUMNS: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND (? IS NULL OR FIND_IN_SET(TABLE_NAME, ?) > 0) \
         ORDER BY TABLE_NAME, ORDINAL_POSITION";
pub const INDEXES: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS SIGNED), \
                CAST(COLUMN_NAME AS CHAR), CAST(COLLATION AS CHAR), CAST(SUB_PART AS SIGNED) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND (? IS NULL OR FIND_IN_SET(TABLE_NAME, ?) > 0) \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";
// MariaDB opens only one schema's tables for an information_schema query when the
// query compares that table's lookup column with a constant. A join of two catalog
// tables loses that for the second one (it read every database's constraints: 1 s
// per tenant with 1,000 tenants), so foreign keys are two queries joined here.
pub const FOREIGN_KEYS: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
                CAST(REFERENCED_TABLE_NAME AS CHAR), CAST(REFERENCED_COLUMN_NAME AS CHAR) \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL \
         AND (? IS NULL OR FIND_IN_SET(TABLE_NAME, ?) > 0) \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION";
pub const FOREIGN_KEY_RULES: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), \
                CAST(UPDATE_RULE AS CHAR), CAST(DELETE_RULE AS CHAR) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?";
pub const VIEWS: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS \
         WHERE TABLE_SCHEMA = ?";
pub const TRIGGERS: &str = "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(ACTION_TIMING AS CHAR), \
                CAST(EVENT_MANIPULATION AS CHAR), CAST(ACTION_STATEMENT AS CHAR) \
         FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ?";
pub const ROUTINES: &str = "SELECT CAST(ROUTINE_NAME AS CHAR), CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_DEFINITION AS CHAR) \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?";
pub const QUERIES: &[&str] = &[TABLES, CHECK_CONSTRAINTS, COLUMNS, INDEXES, FOREIGN_KEYS, FOREIGN_KEY_RULES, VIEWS, TRIGGERS, ROUTINES];

pub async fn introspect(conn: &mut MySqlConnection, database: &str) -> Result<Schema, IntrospectError> {
    read(conn, database, None).await
}

/// Only the named tables, no views, triggers or routines (see the PostgreSQL reader).
pub async fn introspect_tables(conn: &mut MySqlConnection, database: &str, tables: &[String]) -> Result<Schema, IntrospectError> {
    read(conn, database, Some(tables.join(","))).await
}

/// `only`: a comma-separated table list (FIND_IN_SET), or every table.
async fn read(conn: &mut MySqlConnection, database: &str, only: Option<String>) -> Result<Schema, IntrospectError> {
    let mut schema = Schema::new(D);

    let tables: Vec<(String,)> = sqlx::query_as(TABLES)
    .bind(database)
    .bind(only.clone())
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("tables")?;
    for (name,) in tables {
        schema.tables.insert(name.clone(), Table::new(name));
    }

    // JSON columns first: MariaDB stores them as longtext guarded by a json_valid check.
    let checks: Vec<(String, String, String)> = sqlx::query_as(CHECK_CONSTRAINTS)
    .bind(database)
    .bind(only.clone())
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("check constraints")?;
    let is_json_check = |name: &str, clause: &str| clause == format!("json_valid(`{name}`)");

    let columns: Vec<(String, String, String, String, Option<String>, String)> = sqlx::query_as(COLUMNS)
    .bind(database)
    .bind(only.clone())
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("columns")?;
    for (table, name, ty, nullable, default, extra) in columns {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        let json = checks.iter().any(|(ct, cn, cc)| *ct == table && *cn == name && is_json_check(&name, cc));
        let data_type = if json { "json".to_string() } else { column_type(D, &ty) };
        let extra = extra.to_ascii_lowercase();
        // Nullable columns without a default report the string 'NULL'.
        let default = column_default(D, &data_type, default.as_deref());
        t.columns.push(Column {
            name,
            nullable: nullable == "YES",
            default,
            auto_increment: extra.contains("auto_increment"),
            on_update: extra.contains("on update").then(|| "CURRENT_TIMESTAMP".to_string()),
            data_type,
        });
    }
    for (table, name, clause) in &checks {
        if is_json_check(name, clause) && schema.tables.get(table).and_then(|t| t.column(name)).is_some() {
            continue;
        }
        if let Some(t) = schema.tables.get_mut(table) {
            t.checks.insert(name.clone(), Check { name: name.clone(), expression: clause.clone() });
        }
    }

    let parts: Vec<(String, String, i64, Option<String>, Option<String>, Option<i64>)> = sqlx::query_as(INDEXES)
    .bind(database)
    .bind(only.clone())
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("indexes")?;
    for (table, index, non_unique, column, collation, sub_part) in parts {
        let column = column.unwrap_or_else(|| "(expression)".into());
        if index == "PRIMARY" {
            if let Some(t) = schema.tables.get_mut(&table) {
                t.primary_key.get_or_insert_with(|| PrimaryKey { columns: Vec::new() }).columns.push(column);
            }
            continue;
        }
        let part = IndexPart {
            column,
            descending: collation.as_deref() == Some("D"),
            prefix: sub_part.and_then(|p| u32::try_from(p).ok()),
        };
        super::add_index_part(&mut schema.tables, &table, &index, non_unique == 0, part);
    }

    let rules: Vec<(String, String, String, String)> = sqlx::query_as(FOREIGN_KEY_RULES)
        .bind(database)
        .fetch_all(&mut *conn)
        .await
        .reading("foreign key rules")?;
    let rules: std::collections::HashMap<(String, String), (String, String)> =
        rules.into_iter().map(|(t, n, u, d)| ((t, n), (u, d))).collect();
    let fks: Vec<(String, String, String, String, String)> = sqlx::query_as(FOREIGN_KEYS)
        .bind(database)
        .bind(only.clone())
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await
        .reading("foreign keys")?;
    for (table, name, column, ref_table, ref_column) in fks {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        let (on_update, on_delete) = rules.get(&(table.clone(), name.clone())).cloned().unwrap_or_default();
        let fk = t.foreign_keys.entry(name.clone()).or_insert_with(|| ForeignKey {
            name,
            columns: Vec::new(),
            referenced_table: ref_table,
            referenced_columns: Vec::new(),
            on_update: referential_action(D, &on_update),
            on_delete: referential_action(D, &on_delete),
        });
        fk.columns.push(column);
        fk.referenced_columns.push(ref_column);
    }

    if only.is_some() {
        return Ok(schema);
    }
    let views: Vec<(String, String)> = sqlx::query_as(VIEWS)
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .reading("views")?;
    let own_prefix = format!("`{}`.", database.replace('`', "``"));
    for (name, definition) in views {
        let definition = definition.replace(&own_prefix, "");
        schema.views.insert(name.clone(), View { name, definition });
    }

    let triggers: Vec<(String, String, String, String, String)> = sqlx::query_as(TRIGGERS)
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .reading("triggers")?;
    for (name, table, timing, event, definition) in triggers {
        let definition = definition.replace(&own_prefix, "");
        schema.triggers.insert(name.clone(), Trigger { name, table, timing, event, definition });
    }

    let routines: Vec<(String, String, Option<String>)> = sqlx::query_as(ROUTINES)
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .reading("routines")?;
    for (name, kind, definition) in routines {
        let definition = definition.unwrap_or_default().replace(&own_prefix, "");
        schema.routines.insert(name.clone(), Routine { name, kind, definition });
    }
    Ok(schema)
}
