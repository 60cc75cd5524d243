//! Normalisation of what catalogs report, so that one type or default spelled two
//! ways by the same engine compares equal (`int4` = `integer`, `'a'::text` = `'a'`,
//! `current_timestamp()` = `CURRENT_TIMESTAMP`). Cross-engine differences that remain
//! are listed in ARCHITECTURE.md.

use tenantry_domain::Dialect;

/// Lowercases SQL text outside single-quoted literals (`enum('A','b')` keeps its values).
fn lower_outside_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_quote = false;
    for c in s.chars() {
        if c == '\'' {
            in_quote = !in_quote;
        }
        if in_quote || c == '\'' {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Splits `name(args) suffix` into its parts, with whitespace collapsed.
fn split_type(s: &str) -> (String, Option<String>, String) {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match (s.find('('), s.rfind(')')) {
        (Some(open), Some(close)) if close > open => (
            s[..open].trim().to_string(),
            Some(s[open + 1..close].split(',').map(str::trim).collect::<Vec<_>>().join(",")),
            s[close + 1..].trim().to_string(),
        ),
        _ => (s, None, String::new()),
    }
}

/// The canonical spelling of a column type for `dialect`.
pub fn column_type(dialect: Dialect, raw: &str) -> String {
    let lowered = lower_outside_quotes(raw.trim());
    let (base, args, suffix) = split_type(&lowered);
    // MySQL enum/set values are data, not syntax: keep them verbatim.
    if dialect == Dialect::Mysql && (base == "enum" || base == "set") {
        return lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let mut args = args;
    let base = match (dialect, base.as_str()) {
        (Dialect::Mysql, "tinyint") if args.as_deref() == Some("1") && suffix.is_empty() => {
            return "boolean".into()
        }
        (Dialect::Mysql, "bool" | "boolean") => return "boolean".into(),
        // Display widths (`int(11)`) mean nothing and MariaDB prints them.
        (Dialect::Mysql, "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint") => {
            args = None;
            if base == "int" { "integer".to_string() } else { base.clone() }
        }
        (Dialect::Mysql, "real") => "double".into(),
        (Dialect::Mysql, "numeric" | "dec") => "decimal".into(),
        (_, "int2") => "smallint".into(),
        (_, "int" | "int4") => "integer".into(),
        (_, "int8") => "bigint".into(),
        (_, "bool") => "boolean".into(),
        (Dialect::Postgres, "serial") => "integer".into(),
        (Dialect::Postgres, "bigserial") => "bigint".into(),
        (Dialect::Postgres, "character varying") => "varchar".into(),
        (Dialect::Postgres, "character" | "bpchar") => "char".into(),
        (Dialect::Postgres, "numeric") => "decimal".into(),
        (Dialect::Postgres, "real" | "float4") => "float".into(),
        (Dialect::Postgres, "double precision" | "float8") => "double".into(),
        (Dialect::Postgres, "timestamp without time zone") => "timestamp".into(),
        (Dialect::Postgres, "timestamp with time zone" | "timestamptz") => "timestamptz".into(),
        (Dialect::Postgres, "time without time zone") => "time".into(),
        (Dialect::Postgres, "time with time zone" | "timetz") => "timetz".into(),
        (Dialect::Sqlite, "numeric") => "decimal".into(),
        (Dialect::Sqlite, "double precision") => "double".into(),
        _ => base.clone(),
    };
    // `timestamp(6) without time zone` puts the precision before the suffix.
    let (base, suffix) = match (dialect, base.as_str(), suffix.as_str()) {
        (Dialect::Postgres, "timestamp", "without time zone") => ("timestamp".to_string(), String::new()),
        (Dialect::Postgres, "timestamp", "with time zone") => ("timestamptz".to_string(), String::new()),
        (Dialect::Postgres, "time", "without time zone") => ("time".to_string(), String::new()),
        _ => (base, suffix),
    };
    let mut out = base;
    if let Some(a) = args {
        out.push('(');
        out.push_str(&a);
        out.push(')');
    }
    if !suffix.is_empty() {
        out.push(' ');
        out.push_str(&suffix);
    }
    out
}

/// Strips a trailing PostgreSQL cast from a quoted literal: `'a'::character varying`.
fn strip_pg_literal_cast(s: &str) -> &str {
    if !s.starts_with('\'') {
        return s;
    }
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            let rest = &s[i + 1..];
            return if rest.starts_with("::") || rest.is_empty() { &s[..=i] } else { s };
        }
        i += 1;
    }
    s
}

/// The canonical form of a column default, or `None` when there is none (a default of
/// `NULL` is the same as none). `boolean` columns get `true`/`false` on every engine.
pub fn column_default(dialect: Dialect, data_type: &str, raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("null") {
        return None;
    }
    let mut s = raw.to_string();
    if dialect == Dialect::Postgres {
        s = strip_pg_literal_cast(&s).to_string();
        if s.starts_with("NULL::") {
            return None;
        }
        // `(-1)` and `('-1'::integer)`-style numeric wrappers.
        if let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            if inner.parse::<f64>().is_ok() {
                s = inner.to_string();
            }
        }
    }
    let lowered = s.to_ascii_lowercase();
    let is_now = matches!(
        lowered.as_str(),
        "current_timestamp" | "current_timestamp()" | "now()" | "localtimestamp" | "localtimestamp()"
    );
    if is_now {
        return Some("CURRENT_TIMESTAMP".into());
    }
    if data_type == "boolean" {
        let unquoted = lowered.trim_matches('\'');
        match unquoted {
            "1" | "true" | "t" => return Some("true".into()),
            "0" | "false" | "f" => return Some("false".into()),
            _ => {}
        }
    }
    // Numbers are sometimes reported quoted (`'0'` on MySQL for numeric columns).
    let unquoted = s.trim_matches('\'');
    if s.starts_with('\'') && unquoted.parse::<f64>().is_ok() && !is_textual(data_type) {
        return Some(unquoted.to_string());
    }
    Some(s)
}

fn is_textual(data_type: &str) -> bool {
    ["char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set", "json", "uuid"]
        .iter()
        .any(|t| data_type == *t || data_type.starts_with(&format!("{t}(")))
}

/// Canonical referential action. MySQL/InnoDB treats `RESTRICT` and `NO ACTION` the
/// same and reports the default as `RESTRICT`: both become `NO ACTION` there.
pub fn referential_action(dialect: Dialect, raw: &str) -> String {
    let up = raw.trim().to_ascii_uppercase().replace('_', " ");
    let up = match up.as_str() {
        "" | "A" => "NO ACTION".to_string(),
        "R" => "RESTRICT".to_string(),
        "C" => "CASCADE".to_string(),
        "N" => "SET NULL".to_string(),
        "D" => "SET DEFAULT".to_string(),
        _ => up,
    };
    if dialect == Dialect::Mysql && up == "RESTRICT" {
        "NO ACTION".into()
    } else {
        up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_normalise_within_a_dialect() {
        use Dialect::*;
        assert_eq!(column_type(Mysql, "int(11)"), "integer");
        assert_eq!(column_type(Mysql, "INT"), "integer");
        assert_eq!(column_type(Mysql, "bigint(20) unsigned"), "bigint unsigned");
        assert_eq!(column_type(Mysql, "tinyint(1)"), "boolean");
        assert_eq!(column_type(Mysql, "varchar(255)"), "varchar(255)");
        assert_eq!(column_type(Mysql, "decimal(10, 2)"), "decimal(10,2)");
        assert_eq!(column_type(Mysql, "enum('Draft','Open')"), "enum('Draft','Open')");
        assert_eq!(column_type(Postgres, "character varying(255)"), "varchar(255)");
        assert_eq!(column_type(Postgres, "int4"), "integer");
        assert_eq!(column_type(Postgres, "numeric(10,2)"), "decimal(10,2)");
        assert_eq!(column_type(Postgres, "timestamp without time zone"), "timestamp");
        assert_eq!(column_type(Postgres, "timestamp(3) without time zone"), "timestamp(3)");
        assert_eq!(column_type(Postgres, "double precision"), "double");
        assert_eq!(column_type(Sqlite, "VARCHAR( 255 )"), "varchar(255)");
        assert_eq!(column_type(Sqlite, "INT"), "integer");
        assert_eq!(column_type(Sqlite, "BOOLEAN"), "boolean");
    }

    #[test]
    fn defaults_normalise() {
        use Dialect::*;
        assert_eq!(column_default(Postgres, "varchar(20)", Some("'draft'::character varying")).as_deref(), Some("'draft'"));
        assert_eq!(column_default(Postgres, "text", Some("'it''s'::text")).as_deref(), Some("'it''s'"));
        assert_eq!(column_default(Postgres, "integer", Some("(-1)")).as_deref(), Some("-1"));
        assert_eq!(column_default(Postgres, "timestamp", Some("now()")).as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(column_default(Mysql, "timestamp", Some("current_timestamp()")).as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(column_default(Mysql, "integer", Some("NULL")), None);
        assert_eq!(column_default(Mysql, "integer", Some("'0'")).as_deref(), Some("0"));
        assert_eq!(column_default(Mysql, "varchar(3)", Some("'007'")).as_deref(), Some("'007'"));
        assert_eq!(column_default(Mysql, "boolean", Some("1")).as_deref(), Some("true"));
        assert_eq!(column_default(Sqlite, "boolean", Some("FALSE")).as_deref(), Some("false"));
        assert_eq!(column_default(Sqlite, "text", None), None);
    }

    #[test]
    fn actions_normalise() {
        assert_eq!(referential_action(Dialect::Mysql, "RESTRICT"), "NO ACTION");
        assert_eq!(referential_action(Dialect::Postgres, "r"), "RESTRICT");
        assert_eq!(referential_action(Dialect::Postgres, "c"), "CASCADE");
        assert_eq!(referential_action(Dialect::Sqlite, "SET NULL"), "SET NULL");
    }
}
