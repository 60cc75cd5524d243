//! SQLite DDL. SQLite alters little in place: a changed column, key or constraint is
//! made by rebuilding the table (SQLite's documented twelve-step procedure; the
//! caller runs it with foreign key enforcement off and checks the keys before commit).

use super::{default_clause, table_body, DdlWriter};
use crate::model::{Column, Routine, Table, Trigger};
use tenantry_domain::Dialect;

pub struct SqliteDdl;

impl SqliteDdl {
    fn create_table_named(&self, t: &Table, name: &str) -> String {
        let fks: Vec<String> = t.foreign_keys.values().map(|fk| self.foreign_key_clause(fk)).collect();
        let mut renamed = t.clone();
        renamed.name = name.to_string();
        table_body(self, &renamed, fks)
    }
}

impl DdlWriter for SqliteDdl {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn column_def(&self, c: &Column) -> String {
        let mut s = format!("{} {}", self.q(&c.name), c.data_type);
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        s.push_str(&default_clause(c));
        s
    }

    fn create_table(&self, t: &Table) -> Vec<String> {
        let mut v = vec![self.create_table_named(t, &t.name)];
        v.extend(t.indexes.values().map(|i| self.create_index(&t.name, i)));
        v
    }

    fn alter_column(&self, _table: &str, _e: &Column, _a: &Column) -> Option<Vec<String>> {
        None
    }

    fn set_primary_key(&self, _table: &str, _e: Option<&[String]>, _a: Option<&[String]>) -> Option<Vec<String>> {
        None
    }

    fn drop_index(&self, _table: &str, index: &str) -> String {
        format!("DROP INDEX {}", self.q(index))
    }

    fn add_foreign_key(&self, _table: &str, _fk: &crate::model::ForeignKey) -> Option<String> {
        None
    }

    fn drop_foreign_key(&self, _table: &str, _name: &str) -> Option<String> {
        None
    }

    fn add_check(&self, _table: &str, _c: &crate::model::Check) -> Option<String> {
        None
    }

    fn drop_check(&self, _table: &str, _name: &str) -> Option<String> {
        None
    }

    fn create_view(&self, v: &crate::model::View) -> String {
        // SQLite keeps the whole CREATE VIEW statement as the definition.
        v.definition.clone()
    }

    fn create_trigger(&self, t: &Trigger) -> Option<String> {
        Some(t.definition.clone())
    }

    fn create_routine(&self, _r: &Routine) -> Option<String> {
        None
    }

    fn drop_routine(&self, _r: &Routine) -> Option<String> {
        None
    }

    fn rebuild_table(&self, e: &Table, a: &Table) -> Option<Vec<String>> {
        let tmp = format!("tenantry_rebuild_{}", e.name);
        let kept: Vec<String> = e.columns.iter().filter(|c| a.column(&c.name).is_some()).map(|c| self.q(&c.name)).collect();
        let mut v = vec![self.create_table_named(e, &tmp)];
        if !kept.is_empty() {
            let cols = kept.join(", ");
            v.push(format!("INSERT INTO {} ({cols}) SELECT {cols} FROM {}", self.q(&tmp), self.q(&e.name)));
        }
        v.push(self.drop_table(&e.name));
        v.push(format!("ALTER TABLE {} RENAME TO {}", self.q(&tmp), self.q(&e.name)));
        v.extend(e.indexes.values().map(|i| self.create_index(&e.name, i)));
        Some(v)
    }
}
