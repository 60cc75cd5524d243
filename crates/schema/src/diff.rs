//! Differences between two schemas of one dialect, as structured data.
//!
//! `diff(expected, actual)` lists every object that is missing from `actual`, extra in
//! it, or changed, with both sides. Template import uses it to prove migrations and
//! modules agree; drift detection grades the same list.

use crate::model::{Column, Schema, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use tenantry_domain::drift::{Change, DriftLevel, ObjectKind};
use tenantry_domain::drift::{grade, DriftFacts};

/// The level of a list of differences: the highest of them, `none` when empty.
pub fn drift_level(diffs: &[Difference]) -> DriftLevel {
    diffs.iter().map(Difference::level).max().unwrap_or(DriftLevel::None)
}

/// One difference. `expected`/`actual` hold the object as in each schema (absent on
/// the side that lacks it); `fields` names what changed for `Changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub change: Change,
    pub object: ObjectKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<serde_json::Value>,
}

impl Difference {
    /// The drift level of this difference (rules: `tenantry_domain::drift`).
    pub fn level(&self) -> DriftLevel {
        let get = |k: &str| self.actual.as_ref().and_then(|a| a.get(k));
        let column_optional = get("nullable").and_then(|v| v.as_bool()).unwrap_or(false)
            || get("default").is_some_and(|v| !v.is_null())
            || get("auto_increment").and_then(|v| v.as_bool()).unwrap_or(false);
        let unique = get("unique").and_then(|v| v.as_bool()).unwrap_or(false);
        grade(DriftFacts { change: self.change, object: self.object, fields: &self.fields, column_optional, unique })
    }

    /// `members.notes` or `members` or `active_members`.
    pub fn path(&self) -> String {
        match &self.table {
            Some(t) if self.object != ObjectKind::Table => format!("{t}.{}", self.name),
            _ => self.name.clone(),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.object.word();
        match self.change {
            Change::Missing => write!(f, "missing {word} {}", self.path()),
            Change::Extra => write!(f, "extra {word} {}", self.path()),
            Change::Changed => {
                write!(f, "changed {word} {}", self.path())?;
                let (e, a) = (self.expected.as_ref(), self.actual.as_ref());
                for field in &self.fields {
                    let ev = e.and_then(|v| v.get(field)).map(short).unwrap_or_else(|| "none".into());
                    let av = a.and_then(|v| v.get(field)).map(short).unwrap_or_else(|| "none".into());
                    write!(f, "; {field}: expected {ev}, found {av}")?;
                }
                Ok(())
            }
        }
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Fields of two JSON objects that differ.
fn changed_fields(e: &serde_json::Value, a: &serde_json::Value) -> Vec<String> {
    let (Some(eo), Some(ao)) = (e.as_object(), a.as_object()) else { return vec![] };
    let mut keys: Vec<&String> = eo.keys().chain(ao.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| eo.get(*k) != ao.get(*k)).cloned().collect()
}

fn compare_maps<T: Serialize + PartialEq>(
    out: &mut Vec<Difference>,
    object: ObjectKind,
    table: Option<&str>,
    expected: &BTreeMap<String, T>,
    actual: &BTreeMap<String, T>,
) {
    for (name, e) in expected {
        match actual.get(name) {
            None => out.push(diff(Change::Missing, object, table, name, Some(json(e)), None)),
            Some(a) if a != e => {
                let (ej, aj) = (json(e), json(a));
                let mut d = diff(Change::Changed, object, table, name, Some(ej.clone()), Some(aj.clone()));
                d.fields = changed_fields(&ej, &aj);
                out.push(d);
            }
            _ => {}
        }
    }
    for (name, a) in actual {
        if !expected.contains_key(name) {
            out.push(diff(Change::Extra, object, table, name, None, Some(json(a))));
        }
    }
}

fn diff(
    change: Change,
    object: ObjectKind,
    table: Option<&str>,
    name: &str,
    expected: Option<serde_json::Value>,
    actual: Option<serde_json::Value>,
) -> Difference {
    Difference { change, object, table: table.map(str::to_string), name: name.to_string(), fields: vec![], expected, actual }
}

fn columns(t: &Table) -> BTreeMap<String, Column> {
    t.columns.iter().map(|c| (c.name.clone(), c.clone())).collect()
}

/// Everything that differs between `expected` and `actual`, in a stable order.
pub fn diff_schemas(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let mut out = Vec::new();
    for (name, e) in &expected.tables {
        let Some(a) = actual.tables.get(name) else {
            out.push(diff(Change::Missing, ObjectKind::Table, Some(name), name, Some(json(e)), None));
            continue;
        };
        let t = Some(name.as_str());
        compare_maps(&mut out, ObjectKind::Column, t, &columns(e), &columns(a));
        if e.primary_key != a.primary_key {
            let change = match (&e.primary_key, &a.primary_key) {
                (Some(_), None) => Change::Missing,
                (None, Some(_)) => Change::Extra,
                _ => Change::Changed,
            };
            let mut d = diff(change, ObjectKind::PrimaryKey, t, "primary key", e.primary_key.as_ref().map(json), a.primary_key.as_ref().map(json));
            if change == Change::Changed {
                d.fields = vec!["columns".into()];
            }
            out.push(d);
        }
        compare_maps(&mut out, ObjectKind::Index, t, &e.indexes, &a.indexes);
        compare_maps(&mut out, ObjectKind::ForeignKey, t, &e.foreign_keys, &a.foreign_keys);
        compare_maps(&mut out, ObjectKind::Check, t, &e.checks, &a.checks);
    }
    for (name, a) in &actual.tables {
        if !expected.tables.contains_key(name) {
            out.push(diff(Change::Extra, ObjectKind::Table, Some(name), name, None, Some(json(a))));
        }
    }
    compare_maps(&mut out, ObjectKind::View, None, &expected.views, &actual.views);
    compare_maps(&mut out, ObjectKind::Trigger, None, &expected.triggers, &actual.triggers);
    compare_maps(&mut out, ObjectKind::Routine, None, &expected.routines, &actual.routines);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Index, IndexPart};
    use tenantry_domain::Dialect;

    fn col(name: &str, ty: &str, nullable: bool) -> Column {
        Column { name: name.into(), data_type: ty.into(), nullable, default: None, auto_increment: false, on_update: None }
    }

    fn base() -> Schema {
        let mut s = Schema::new(Dialect::Sqlite);
        let mut t = Table::new("members");
        t.columns = vec![col("id", "integer", false), col("email", "varchar(100)", false)];
        t.indexes.insert(
            "uq_email".into(),
            Index { name: "uq_email".into(), parts: vec![IndexPart { column: "email".into(), descending: false, prefix: None }], unique: true },
        );
        s.tables.insert("members".into(), t);
        s
    }

    #[test]
    fn equal_schemas_have_no_differences() {
        assert!(diff_schemas(&base(), &base()).is_empty());
    }

    #[test]
    fn lists_missing_extra_and_changed() {
        let expected = base();
        let mut actual = base();
        let t = actual.tables.get_mut("members").unwrap();
        t.columns[1].data_type = "text".into();
        t.columns.push(col("notes", "text", true));
        t.indexes.clear();
        actual.tables.insert("extra".into(), Table::new("extra"));
        let d = diff_schemas(&expected, &actual);
        let text: Vec<String> = d.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            text,
            [
                "changed column members.email; data_type: expected varchar(100), found text",
                "extra column members.notes",
                "missing index members.uq_email",
                "extra table extra",
            ]
        );
        assert_eq!(d[0].fields, ["data_type"]);
    }
}
