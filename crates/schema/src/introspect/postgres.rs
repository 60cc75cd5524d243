//! PostgreSQL: `pg_catalog` for schema `public` of the connected database
//! (`information_schema` does not show indexes). Run with `jit = off` on the
//! session: JIT makes these catalog joins many times slower once catalogs grow.

use crate::model::{Check, Column, ForeignKey, IndexPart, PrimaryKey, Routine, Schema, Table, Trigger, View};
use crate::normalize::{column_default, column_type, referential_action};
use crate::{Context, IntrospectError};
use sqlx::PgConnection;
use tenantry_domain::Dialect;

const D: Dialect = Dialect::Postgres;

/// The catalog queries, in the order they run (a benchmark replays them).
pub const TABLES: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND ($1::text[] IS NULL OR c.relname = ANY($1::text[]))";
pub const COLUMNS: &str = "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND ($1::text[] IS NULL OR c.relname = ANY($1::text[])) \
         ORDER BY c.relname, a.attnum";
pub const CONSTRAINTS: &str = "SELECT c.relname::text, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid, true), \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) \
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i), \
                fc.relname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) \
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i), \
                con.confupdtype::text, con.confdeltype::text \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class fc ON fc.oid = con.confrelid \
         WHERE n.nspname = 'public' AND con.contype IN ('p', 'f', 'c') AND ($1::text[] IS NULL OR c.relname = ANY($1::text[]))";
pub const INDEXES: &str = "SELECT t.relname::text, i.relname::text, ix.indisunique, \
                ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) \
                      FROM generate_series(1, ix.indnkeyatts::int) k ORDER BY k), \
                ARRAY(SELECT (ix.indoption[k - 1] & 1) = 1 \
                      FROM generate_series(1, ix.indnkeyatts::int) k ORDER BY k) \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT ix.indisprimary AND ($1::text[] IS NULL OR t.relname = ANY($1::text[]))";
pub const VIEWS: &str = "SELECT c.relname::text, pg_get_viewdef(c.oid, true) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')";
pub const TRIGGERS: &str = "SELECT t.tgname::text, c.relname::text, t.tgtype::int, pg_get_triggerdef(t.oid, true) \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.tgisinternal";
pub const ROUTINES: &str = "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
                CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, pg_get_functiondef(p.oid) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p') \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')";
pub const QUERIES: &[&str] = &[TABLES, COLUMNS, CONSTRAINTS, INDEXES, VIEWS, TRIGGERS, ROUTINES];

pub async fn introspect(conn: &mut PgConnection) -> Result<Schema, IntrospectError> {
    read(conn, None).await
}

/// Only the named tables (their columns, keys, indexes, checks), no views, triggers
/// or routines: what a rollback snapshot needs, at a fraction of the catalog work.
pub async fn introspect_tables(conn: &mut PgConnection, tables: &[String]) -> Result<Schema, IntrospectError> {
    read(conn, Some(tables.to_vec())).await
}

async fn read(conn: &mut PgConnection, only: Option<Vec<String>>) -> Result<Schema, IntrospectError> {
    let mut schema = Schema::new(D);

    let tables: Vec<(String,)> = sqlx::query_as(TABLES)
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("tables")?;
    for (name,) in tables {
        schema.tables.insert(name.clone(), Table::new(name));
    }

    let columns: Vec<(String, String, String, bool, Option<String>, String)> = sqlx::query_as(COLUMNS)
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("columns")?;
    for (table, name, ty, nullable, default, identity) in columns {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        let data_type = column_type(D, &ty);
        let serial = default.as_deref().is_some_and(|d| d.starts_with("nextval("));
        t.columns.push(Column {
            name,
            nullable,
            default: if serial { None } else { column_default(D, &data_type, default.as_deref()) },
            auto_increment: serial || !identity.is_empty(),
            on_update: None,
            data_type,
        });
    }

    type ConstraintRow = (String, String, String, String, Vec<String>, Option<String>, Vec<String>, String, String);
    let constraints: Vec<ConstraintRow> = sqlx::query_as(CONSTRAINTS)
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("constraints")?;
    for (table, name, kind, definition, columns, ref_table, ref_columns, on_update, on_delete) in constraints {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        match kind.as_str() {
            "p" => t.primary_key = Some(PrimaryKey { columns }),
            "f" => {
                t.foreign_keys.insert(
                    name.clone(),
                    ForeignKey {
                        name,
                        columns,
                        referenced_table: ref_table.unwrap_or_default(),
                        referenced_columns: ref_columns,
                        on_update: referential_action(D, &on_update),
                        on_delete: referential_action(D, &on_delete),
                    },
                );
            }
            _ => {
                let expression = definition.strip_prefix("CHECK ").unwrap_or(&definition).to_string();
                t.checks.insert(name.clone(), Check { name, expression });
            }
        }
    }

    let indexes: Vec<(String, String, bool, Vec<String>, Vec<bool>)> = sqlx::query_as(INDEXES)
    .bind(only.clone())
    .fetch_all(&mut *conn)
    .await
    .reading("indexes")?;
    for (table, index, unique, columns, descending) in indexes {
        for (i, column) in columns.into_iter().enumerate() {
            let column = column.trim_matches('"').to_string();
            let part = IndexPart { column, descending: descending.get(i).copied().unwrap_or(false), prefix: None };
            super::add_index_part(&mut schema.tables, &table, &index, unique, part);
        }
    }

    if only.is_some() {
        return Ok(schema);
    }
    let views: Vec<(String, String)> = sqlx::query_as(VIEWS)
    .fetch_all(&mut *conn)
    .await
    .reading("views")?;
    for (name, definition) in views {
        schema.views.insert(name.clone(), View { name, definition: definition.trim().to_string() });
    }

    let triggers: Vec<(String, String, i32, String)> = sqlx::query_as(TRIGGERS)
    .fetch_all(&mut *conn)
    .await
    .reading("triggers")?;
    for (name, table, tgtype, definition) in triggers {
        // pg_trigger.tgtype bits: 2 BEFORE, 64 INSTEAD OF; 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE.
        let timing = if tgtype & 2 != 0 { "BEFORE" } else if tgtype & 64 != 0 { "INSTEAD OF" } else { "AFTER" };
        let event = [(4, "INSERT"), (16, "UPDATE"), (8, "DELETE"), (32, "TRUNCATE")]
            .iter()
            .filter(|(bit, _)| tgtype & bit != 0)
            .map(|(_, e)| *e)
            .collect::<Vec<_>>()
            .join(" OR ");
        schema.triggers.insert(name.clone(), Trigger { name, table, timing: timing.into(), event, definition });
    }

    let routines: Vec<(String, String, String)> = sqlx::query_as(ROUTINES)
    .fetch_all(&mut *conn)
    .await
    .reading("routines")?;
    for (name, kind, definition) in routines {
        schema.routines.insert(name.clone(), Routine { name, kind, definition: definition.trim().to_string() });
    }
    Ok(schema)
}
