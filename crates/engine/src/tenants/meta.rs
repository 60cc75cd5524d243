//! The metadata every tenant database carries about itself: a small table and the
//! `tenant_info` view (tenant id, template, version, last sync).

use crate::EngineError;

pub const META_TABLE: &str = "tenantry_meta";
pub const INFO_VIEW: &str = "tenant_info";
/// Objects tenantry adds to a tenant database: never part of its schema or drift.
pub const OWN_OBJECTS: &[&str] = &[META_TABLE, INFO_VIEW];

/// A value written into the metadata table. tenantry's own values only (ids, names,
/// versions, timestamps); anything else is refused rather than escaped.
fn literal(s: &str) -> Result<String, EngineError> {
    if s.len() <= 500 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._:+,- ".contains(c)) {
        Ok(format!("'{s}'"))
    } else {
        Err(EngineError::Invalid(format!("metadata value `{}` has characters tenantry does not write", s.escape_debug())))
    }
}

/// The script that creates the table and view and fills them.
pub fn create_script(values: &[(&str, &str)]) -> Result<String, EngineError> {
    let rows = values
        .iter()
        .map(|(k, v)| Ok(format!("({}, {})", literal(k)?, literal(v)?)))
        .collect::<Result<Vec<_>, EngineError>>()?;
    let column = |k: &str| format!("(SELECT meta_value FROM {META_TABLE} WHERE meta_key = '{k}') AS {k}");
    Ok(format!(
        "CREATE TABLE {META_TABLE} (meta_key VARCHAR(64) NOT NULL PRIMARY KEY, meta_value VARCHAR(500) NULL);\n\
         INSERT INTO {META_TABLE} (meta_key, meta_value) VALUES {};\n\
         CREATE VIEW {INFO_VIEW} AS SELECT {}, {}, {}, {}, {};\n",
        rows.join(", "),
        column("tenant_id"),
        column("slug"),
        column("template"),
        column("template_version"),
        column("last_sync"),
    ))
}

/// Updates metadata values in place (after cloning a prepared database).
pub fn update_script(values: &[(&str, &str)]) -> Result<String, EngineError> {
    let mut out = String::new();
    for (k, v) in values {
        out.push_str(&format!("UPDATE {META_TABLE} SET meta_value = {} WHERE meta_key = {};\n", literal(v)?, literal(k)?));
    }
    Ok(out)
}

/// The ledger key of a template migration applied to the tenant.
pub fn ledger_key(migration: &str) -> String {
    format!("migration:{migration}")
}

/// Records a migration in the tenant's own ledger and its new version, in the same
/// transaction as the migration where the engine allows.
pub fn ledger_apply(migration: &str, checksum: &str, version: &str) -> Result<String, EngineError> {
    let key = ledger_key(migration);
    Ok(format!(
        "DELETE FROM {META_TABLE} WHERE meta_key = {k};\nINSERT INTO {META_TABLE} (meta_key, meta_value) VALUES ({k}, {c});\n{}",
        update_script(&[("template_version", version)])?,
        k = literal(&key)?,
        c = literal(checksum)?,
    ))
}

/// Removes a migration from the ledger (rollback) and sets the version it leaves.
pub fn ledger_remove(migration: &str, version: &str) -> Result<String, EngineError> {
    Ok(format!(
        "DELETE FROM {META_TABLE} WHERE meta_key = {};\n{}",
        literal(&ledger_key(migration))?,
        update_script(&[("template_version", version)])?
    ))
}

/// Reads the metadata table.
pub const READ_META: &str = "SELECT meta_key, meta_value FROM tenantry_meta";
