//! Per-dialect catalog readers. Each reads one database into a [`Schema`](crate::Schema)
//! over a connection it is handed; connection management is the drivers' business.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

use crate::model::{Index, IndexPart, Table};
use std::collections::BTreeMap;

/// Groups `(table, index, unique, part)` rows, already ordered by part, into indexes.
pub(crate) fn add_index_part(
    tables: &mut BTreeMap<String, Table>,
    table: &str,
    index: &str,
    unique: bool,
    part: IndexPart,
) {
    if let Some(t) = tables.get_mut(table) {
        t.indexes
            .entry(index.to_string())
            .or_insert_with(|| Index { name: index.to_string(), parts: Vec::new(), unique })
            .parts
            .push(part);
    }
}
