//! Validated identifiers. Every name a user chooses that ends up inside SQL or a
//! file path passes through exactly one constructor here; the drivers only accept
//! these types, so no SQL is ever built from an unvalidated string.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a name was refused. The message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} `{shown}` is {len} characters long; the limit is {max}")]
    TooLong { kind: &'static str, shown: String, len: usize, max: usize },
    #[error("{kind} `{shown}` contains {what}; use only {allowed}")]
    BadChar { kind: &'static str, shown: String, what: String, allowed: &'static str },
    #[error("{kind} `{shown}` must start with a lowercase letter")]
    BadStart { kind: &'static str, shown: String },
    #[error("{kind} `{shown}` is reserved; choose another name")]
    Reserved { kind: &'static str, shown: String },
}

/// Shows a refused name safely in an error: control characters escaped, long
/// names cut, so a hostile name cannot garble a terminal or a log line.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(64).flat_map(char::escape_debug).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() => format!("the control character {:?}", c),
        c => format!("`{c}`"),
    }
}

/// Checks `s` against `[a-z][a-z0-9_-]*` (hyphens only when `hyphen`), a length limit
/// and a reserved list.
fn check(
    kind: &'static str,
    s: &str,
    max: usize,
    hyphen: bool,
    reserved: &[&str],
) -> Result<(), IdentError> {
    let allowed = if hyphen {
        "lowercase letters a-z, digits, `-` and `_`"
    } else {
        "lowercase letters a-z, digits and `_`"
    };
    if s.is_empty() {
        return Err(IdentError::Empty { kind });
    }
    let len = s.chars().count();
    if len > max {
        return Err(IdentError::TooLong { kind, shown: shown(s), len, max });
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (hyphen && c == '-')))
    {
        return Err(IdentError::BadChar { kind, shown: shown(s), what: describe(c), allowed });
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(IdentError::BadStart { kind, shown: shown(s) });
    }
    if reserved.contains(&s) {
        return Err(IdentError::Reserved { kind, shown: shown(s) });
    }
    Ok(())
}

/// Names no tenant database may take: the engines' own databases and ours.
const RESERVED_DATABASES: &[&str] = &[
    "mysql", "information_schema", "performance_schema", "sys", "postgres", "template0",
    "template1", "landlord", "tenantry", "main", "temp",
];

/// Slugs that would collide with routes, roles or common words of the product.
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "www", "root", "system", "landlord", "tenantry", "default", "public",
    "static", "assets", "login", "logout", "new", "null", "all", "mysql", "postgres", "sqlite",
];

/// A tenant slug: `[a-z][a-z0-9_-]{0,47}`, not reserved. It names the tenant in
/// URLs and, with `-` mapped to `_`, its default database `tenant_<slug>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 48;

    pub fn new(s: &str) -> Result<Self, IdentError> {
        check("tenant slug", s, Self::MAX_LEN, true, RESERVED_SLUGS)?;
        Ok(Slug(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The default database of this tenant: `tenant_<slug>` with `-` as `_`, so it
    /// needs no quoting on any engine.
    pub fn default_database(&self) -> DatabaseName {
        DatabaseName(format!("tenant_{}", self.0.replace('-', "_")))
    }
}

/// A database name tenantry may create, drop or connect to: `[a-z][a-z0-9_]{0,62}`
/// (63 bytes is PostgreSQL's limit, MySQL's is 64), not an engine's own database.
/// Lowercase only, because MySQL folds names on some file systems and PostgreSQL
/// folds unquoted ones: one spelling per database everywhere. As a file name for
/// SQLite it can hold no path separator and no `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatabaseName(String);

impl DatabaseName {
    pub const MAX_LEN: usize = 63;

    pub fn new(s: &str) -> Result<Self, IdentError> {
        check("database name", s, Self::MAX_LEN, false, RESERVED_DATABASES)?;
        Ok(DatabaseName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Engines' own databases: never a landlord either.
const ENGINE_DATABASES: &[&str] =
    &["mysql", "information_schema", "performance_schema", "sys", "postgres", "template0", "template1"];

/// Validates the landlord's database name (from `--landlord URL`): the same spelling
/// rule as tenant databases, without tenantry's own reserved names.
pub fn check_landlord_database(s: &str) -> Result<(), IdentError> {
    check("landlord database name", s, DatabaseName::MAX_LEN, false, ENGINE_DATABASES)
}

/// A tenant's database login: `t_<slug, up to 20>_<8 hex of the slug's hash>`, at most
/// 31 characters (MySQL 8 allows 32), lowercase, so it needs no quoting anywhere and
/// two slugs with the same prefix still get different logins.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoginName(String);

impl LoginName {
    pub fn for_slug(slug: &Slug) -> LoginName {
        use sha2::{Digest, Sha256};
        let head: String = slug.as_str().replace('-', "_").chars().take(20).collect();
        let hash = hex::encode(&Sha256::digest(slug.as_str().as_bytes())[..4]);
        LoginName(format!("t_{head}_{hash}"))
    }

    /// Accepts a stored login back, with the same rules.
    pub fn new(s: &str) -> Result<LoginName, IdentError> {
        check("login name", s, 31, false, &[])?;
        Ok(LoginName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A generated password: letters and digits only, 20 to 64 of them, so it can be
/// written into `CREATE USER … IDENTIFIED BY '…'` without escaping.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: &str) -> Result<Password, IdentError> {
        if !(20..=64).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(IdentError::BadChar {
                kind: "password",
                shown: "(hidden)".into(),
                what: "other characters or length".into(),
                allowed: "20 to 64 letters and digits",
            });
        }
        Ok(Password(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A database server's name in the landlord: `[a-z][a-z0-9_-]{0,62}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerName(String);

impl ServerName {
    pub fn new(s: &str) -> Result<Self, IdentError> {
        check("server name", s, 63, true, &[])?;
        Ok(ServerName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = IdentError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::new(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = IdentError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::new(s)
            }
        }
    };
}
string_newtype!(Slug);
string_newtype!(DatabaseName);
string_newtype!(ServerName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        assert_eq!(DatabaseName::new("tenant_acme2").unwrap().as_str(), "tenant_acme2");
        assert_eq!(Slug::new("acme-co").unwrap().default_database().as_str(), "tenant_acme_co");
        assert!(ServerName::new("pg-eu-1").is_ok());
    }

    #[test]
    fn refuses_hostile_database_names() {
        let long = "a".repeat(200);
        let hostile = [
            "", "a'b", "a`b", "a\"b", "a;drop database x", "..", "../etc", "a/b", "a\\b",
            "tenant_é", "テナント", "A", "1abc", "_x", "a b", "a\0b", "a\nb", long.as_str(),
            "mysql", "postgres", "a-b", "a%", "a$1",
        ];
        for name in hostile {
            let err = DatabaseName::new(name).expect_err(name);
            let msg = err.to_string();
            assert!(msg.contains("database name"), "{msg}");
            assert!(!msg.contains('\n') && !msg.contains('\0'), "message must be one safe line: {msg:?}");
        }
        assert!(matches!(DatabaseName::new(&long), Err(IdentError::TooLong { len: 200, max: 63, .. })));
    }

    #[test]
    fn logins_are_short_distinct_and_valid() {
        let a = LoginName::for_slug(&Slug::new("a-very-long-organisation-name-number-one").unwrap());
        let b = LoginName::for_slug(&Slug::new("a-very-long-organisation-name-number-two").unwrap());
        assert_ne!(a, b);
        assert!(a.as_str().len() <= 31, "{}", a.as_str());
        assert!(LoginName::new(a.as_str()).is_ok());
        assert!(Password::new("short").is_err());
        assert!(Password::new("abcdefghijklmnopqrst'; DROP").is_err());
        assert!(format!("{:?}", Password::new("abcdefghijklmnopqrstuvwxyz").unwrap()).contains("***"));
    }

    #[test]
    fn refuses_reserved_slugs() {
        assert!(matches!(Slug::new("admin"), Err(IdentError::Reserved { .. })));
        assert!(Slug::new(&"x".repeat(49)).is_err());
        assert!(Slug::new(&"x".repeat(48)).is_ok());
    }

    #[test]
    fn deserialises_through_validation() {
        let ok: Result<DatabaseName, _> = serde_json::from_str("\"tenant_a\"");
        assert!(ok.is_ok());
        let bad: Result<DatabaseName, _> = serde_json::from_str("\"x;y\"");
        assert!(bad.is_err());
    }
}
