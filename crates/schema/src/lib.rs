//! tenantry's schema layer: one canonical model of a database schema, and the
//! per-dialect code that reads a live database into it.
//!
//! The model (`Schema`, `Table`, `Column`, …) is what snapshots, drift reports and
//! repair plans are made of. It is sorted and normalised so that introspecting the
//! same schema twice gives byte-identical JSON, and so that a dialect's different
//! spellings of one type or default compare equal. Each dialect has its own
//! `introspect` module reading that engine's catalog; nothing else here knows about
//! catalogs.

pub mod ddl;
pub mod diff;
pub mod introspect;
pub mod model;
pub mod normalize;

pub use model::{
    Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Routine, Schema, Table, Trigger, View,
};

/// A catalog read that failed, with the query's purpose.
#[derive(Debug, thiserror::Error)]
#[error("reading the {what} from the catalog failed: {source}")]
pub struct IntrospectError {
    pub what: &'static str,
    #[source]
    pub source: sqlx::Error,
}

pub(crate) trait Context<T> {
    fn reading(self, what: &'static str) -> Result<T, IntrospectError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn reading(self, what: &'static str) -> Result<T, IntrospectError> {
        self.map_err(|source| IntrospectError { what, source })
    }
}
