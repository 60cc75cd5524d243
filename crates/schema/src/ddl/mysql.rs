//! MySQL/MariaDB DDL.

use super::{default_clause, table_body, DdlWriter};
use crate::model::{Column, Routine, Table, Trigger};
use tenantry_domain::Dialect;

pub struct MysqlDdl;

impl DdlWriter for MysqlDdl {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn column_def(&self, c: &Column) -> String {
        let mut s = format!("{} {}", self.q(&c.name), c.data_type);
        s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
        s.push_str(&default_clause(c));
        if let Some(u) = &c.on_update {
            s.push_str(&format!(" ON UPDATE {u}"));
        }
        if c.auto_increment {
            s.push_str(" AUTO_INCREMENT");
        }
        s
    }

    fn create_table(&self, t: &Table) -> Vec<String> {
        // AUTO_INCREMENT needs its key in the same statement: the primary key is there.
        let mut v = vec![table_body(self, t, vec![])];
        v.extend(t.indexes.values().map(|i| self.create_index(&t.name, i)));
        v
    }

    fn alter_column(&self, table: &str, expected: &Column, _actual: &Column) -> Option<Vec<String>> {
        Some(vec![format!("ALTER TABLE {} MODIFY COLUMN {}", self.q(table), self.column_def(expected))])
    }

    fn set_primary_key(&self, table: &str, expected: Option<&[String]>, actual: Option<&[String]>) -> Option<Vec<String>> {
        let mut v = Vec::new();
        if actual.is_some() {
            v.push(format!("ALTER TABLE {} DROP PRIMARY KEY", self.q(table)));
        }
        if let Some(cols) = expected {
            let cols: Vec<String> = cols.iter().map(|c| self.q(c)).collect();
            v.push(format!("ALTER TABLE {} ADD PRIMARY KEY ({})", self.q(table), cols.join(", ")));
        }
        Some(v)
    }

    fn drop_index(&self, table: &str, index: &str) -> String {
        format!("DROP INDEX {} ON {}", self.q(index), self.q(table))
    }

    // MariaDB refuses a drop and add of one key name in one ALTER (errno 121): these
    // are always separate statements.
    fn drop_foreign_key(&self, table: &str, name: &str) -> Option<String> {
        Some(format!("ALTER TABLE {} DROP FOREIGN KEY {}", self.q(table), self.q(name)))
    }

    fn create_trigger(&self, t: &Trigger) -> Option<String> {
        Some(format!(
            "CREATE TRIGGER {} {} {} ON {} FOR EACH ROW {}",
            self.q(&t.name),
            t.timing,
            t.event,
            self.q(&t.table),
            t.definition
        ))
    }

    fn create_routine(&self, _r: &Routine) -> Option<String> {
        None
    }

    fn drop_routine(&self, r: &Routine) -> Option<String> {
        Some(format!("DROP {} {}", r.kind, self.q(&r.name)))
    }
}
