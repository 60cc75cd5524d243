//! The three SQL engines tenantry manages, by the names the CLI contract uses.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A database engine family. The names (`mysql`, `postgres`, `sqlite`) are part of
/// the CLI contract and the template format; MariaDB is served by `mysql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Mysql,
    Postgres,
    Sqlite,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Mysql, Dialect::Postgres, Dialect::Sqlite];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Mysql => "mysql",
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Quotes any identifier for this engine, doubling the quote character inside it.
    /// Validated names ([`crate::DatabaseName`]) never need the doubling; names read
    /// back from a catalog might.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The dialect of a connection URL, from its scheme.
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown dialect name, with the accepted ones in the message.
#[derive(Debug, thiserror::Error)]
#[error("unknown dialect `{0}`: use one of mysql, postgres, sqlite")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            _ => Err(UnknownDialect(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(d.as_str().parse::<Dialect>().unwrap(), d);
        }
        assert!("oracle".parse::<Dialect>().is_err());
        assert_eq!(Dialect::from_url("mariadb://x"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("postgresql://x"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("sqlite://./data"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("http://x"), None);
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
    }
}
