//! The canonical schema model. Maps are `BTreeMap`s and lists are sorted where order
//! carries no meaning, so serialisation is deterministic.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tenantry_domain::Dialect;

/// Everything tenantry compares in one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub dialect: Dialect,
    pub tables: BTreeMap<String, Table>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, View>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers: BTreeMap<String, Trigger>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routines: BTreeMap<String, Routine>,
}

impl Schema {
    pub fn new(dialect: Dialect) -> Self {
        Schema {
            dialect,
            tables: BTreeMap::new(),
            views: BTreeMap::new(),
            triggers: BTreeMap::new(),
            routines: BTreeMap::new(),
        }
    }

    /// Stable, pretty JSON: the form snapshots are stored and compared in.
    pub fn to_json(&self) -> String {
        // A Schema holds only strings, bools, numbers and maps with string keys, which
        // serde_json always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Whether an object of this kind (`table`, `column` as `table.column`, `index`,
    /// `view`) exists.
    pub fn has(&self, kind: &str, name: &str) -> bool {
        match kind {
            "table" => self.tables.contains_key(name),
            "column" => name.split_once('.').is_some_and(|(t, c)| self.tables.get(t).is_some_and(|t| t.column(c).is_some())),
            "index" => self.tables.values().any(|t| t.indexes.contains_key(name)),
            "view" => self.views.contains_key(name),
            _ => false,
        }
    }

    /// The same schema without the named objects (tenantry's own bookkeeping in a
    /// tenant database, for instance).
    pub fn without(mut self, names: &[&str]) -> Schema {
        for n in names {
            self.tables.remove(*n);
            self.views.remove(*n);
            self.triggers.remove(*n);
            self.routines.remove(*n);
        }
        self
    }
}

/// A table. Columns keep their declared order (it is visible to `SELECT *`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<PrimaryKey>,
    /// Secondary indexes, unique constraints included (every engine backs a unique
    /// constraint with an index), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Index>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub foreign_keys: BTreeMap<String, ForeignKey>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
}

impl Table {
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: None,
            indexes: BTreeMap::new(),
            foreign_keys: BTreeMap::new(),
            checks: BTreeMap::new(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column. `data_type` is normalised (see `normalize::column_type`), `default` is the
/// default expression as the engine reports it after normalisation (`None`: no default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Values come from the engine: AUTO_INCREMENT, identity/serial, SQLite rowid alias.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_increment: bool,
    /// MySQL's `ON UPDATE CURRENT_TIMESTAMP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    pub columns: Vec<String>,
}

/// One key part of an index: a column or an expression, ascending or descending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPart {
    pub column: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
    /// MySQL prefix length (`name(20)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub parts: Vec<IndexPart>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_update: String,
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    pub table: String,
    /// `BEFORE`, `AFTER` or `INSTEAD OF`.
    pub timing: String,
    /// `INSERT`, `UPDATE`, `DELETE` (several joined by ` OR ` on PostgreSQL).
    pub event: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routine {
    pub name: String,
    /// `FUNCTION` or `PROCEDURE`.
    pub kind: String,
    pub definition: String,
}
