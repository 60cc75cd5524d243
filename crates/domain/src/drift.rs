//! Drift rules: how much a difference between a tenant's expected and real schema
//! matters. The rules are documented for users in `docs/drift.md`; keep both in step.
//!
//! - `none`: no difference.
//! - `low`: only additions that break nothing: an extra table or view, an extra
//!   nullable column (or one with a default), an extra non-unique index, an extra
//!   routine.
//! - `medium`: changes that can alter behaviour without losing anything: a changed
//!   default, nullability or index, an extra unique index, key, check or trigger, an
//!   extra `NOT NULL` column without a default (inserts that do not name it fail).
//! - `high`: anything missing, a retyped column, a changed primary key.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether an object is missing from the real schema, extra in it, or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Missing,
    Extra,
    Changed,
}

/// The kind of schema object a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Table,
    Column,
    PrimaryKey,
    Index,
    ForeignKey,
    Check,
    View,
    Trigger,
    Routine,
}

impl ObjectKind {
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::Index => "index",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::Check => "check",
            ObjectKind::View => "view",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Routine => "routine",
        }
    }
}

/// A tenant's drift level; ordered, so the level of many differences is their max.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DriftLevel {
    #[default]
    None,
    Low,
    Medium,
    High,
}

impl DriftLevel {
    pub const ALL: [DriftLevel; 4] = [DriftLevel::None, DriftLevel::Low, DriftLevel::Medium, DriftLevel::High];

    pub fn as_str(self) -> &'static str {
        match self {
            DriftLevel::None => "none",
            DriftLevel::Low => "low",
            DriftLevel::Medium => "medium",
            DriftLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<DriftLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for DriftLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules need to know about one difference.
#[derive(Debug, Clone, Copy)]
pub struct DriftFacts<'a> {
    pub change: Change,
    pub object: ObjectKind,
    /// For `Changed`: the fields that differ (`data_type`, `nullable`, `default`, …).
    pub fields: &'a [String],
    /// For an extra column: it accepts inserts that do not name it (nullable, or has
    /// a default, or gets its value from the engine).
    pub column_optional: bool,
    /// For an extra index: it is unique (and so can reject writes).
    pub unique: bool,
}

/// The level of one difference.
pub fn grade(f: DriftFacts<'_>) -> DriftLevel {
    use ObjectKind::*;
    match (f.change, f.object) {
        (Change::Missing, _) => DriftLevel::High,
        (Change::Extra, Table | View | Routine) => DriftLevel::Low,
        (Change::Extra, Column) if f.column_optional => DriftLevel::Low,
        (Change::Extra, Index) if !f.unique => DriftLevel::Low,
        (Change::Extra, _) => DriftLevel::Medium,
        (Change::Changed, Column) if f.fields.iter().any(|x| x == "data_type") => DriftLevel::High,
        (Change::Changed, PrimaryKey) => DriftLevel::High,
        (Change::Changed, _) => DriftLevel::Medium,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(change: Change, object: ObjectKind, fields: &[&str], optional: bool, unique: bool) -> DriftLevel {
        let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        grade(DriftFacts { change, object, fields: &fields, column_optional: optional, unique })
    }

    #[test]
    fn levels_follow_the_documented_rules() {
        use Change::*;
        use ObjectKind::*;
        assert_eq!(g(Extra, Table, &[], false, false), DriftLevel::Low);
        assert_eq!(g(Extra, View, &[], false, false), DriftLevel::Low);
        assert_eq!(g(Extra, Column, &[], true, false), DriftLevel::Low);
        assert_eq!(g(Extra, Column, &[], false, false), DriftLevel::Medium);
        assert_eq!(g(Extra, Index, &[], false, false), DriftLevel::Low);
        assert_eq!(g(Extra, Index, &[], false, true), DriftLevel::Medium);
        assert_eq!(g(Extra, Trigger, &[], false, false), DriftLevel::Medium);
        assert_eq!(g(Changed, Column, &["default"], false, false), DriftLevel::Medium);
        assert_eq!(g(Changed, Column, &["nullable"], false, false), DriftLevel::Medium);
        assert_eq!(g(Changed, Column, &["data_type", "nullable"], false, false), DriftLevel::High);
        assert_eq!(g(Changed, Index, &["parts"], false, false), DriftLevel::Medium);
        assert_eq!(g(Changed, PrimaryKey, &["columns"], false, false), DriftLevel::High);
        assert_eq!(g(Missing, Index, &[], false, false), DriftLevel::High);
        assert_eq!(g(Missing, ForeignKey, &[], false, false), DriftLevel::High);
        assert!(DriftLevel::High > DriftLevel::Medium && DriftLevel::Low > DriftLevel::None);
    }
}
