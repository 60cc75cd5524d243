//! Server URLs: `mysql://user:pass@host:port`, `postgres://user:pass@host:port[/maintenance_db]`,
//! `sqlite://DIR` (a directory holding one file per database).

use crate::DriverError;
use std::fmt;
use std::path::PathBuf;
use tenantry_domain::Dialect;

/// A parsed server URL. `Display` and `Debug` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    dialect: Dialect,
    raw: String,
}

impl ServerUrl {
    pub fn parse(raw: &str) -> Result<ServerUrl, DriverError> {
        let raw = raw.trim();
        let dialect = Dialect::from_url(raw).ok_or_else(|| {
            DriverError::BadUrl(format!(
                "`{}` has no known scheme; use mysql://user:pass@host:3306, postgres://user:pass@host:5432 or sqlite://DIR",
                redact(raw)
            ))
        })?;
        if dialect == Dialect::Sqlite {
            let url = ServerUrl { dialect, raw: raw.to_string() };
            if url.sqlite_dir().as_os_str().is_empty() {
                return Err(DriverError::BadUrl("sqlite:// needs a directory, as in sqlite://./data/tenants".into()));
            }
            return Ok(url);
        }
        let parsed = url::Url::parse(raw).map_err(|e| DriverError::BadUrl(format!("`{}`: {e}", redact(raw))))?;
        if parsed.host_str().unwrap_or("").is_empty() {
            return Err(DriverError::BadUrl(format!("`{}` names no host", redact(raw))));
        }
        Ok(ServerUrl { dialect, raw: raw.to_string() })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The full URL with its password: for connecting and for encrypted storage only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// For `sqlite://DIR`: the directory.
    pub fn sqlite_dir(&self) -> PathBuf {
        let rest = self.raw.split_once(':').map(|(_, r)| r).unwrap_or("");
        PathBuf::from(rest.strip_prefix("//").unwrap_or(rest))
    }

    pub fn host(&self) -> Option<String> {
        url::Url::parse(&self.raw).ok()?.host_str().map(str::to_string)
    }

    pub fn port(&self) -> Option<u16> {
        let u = url::Url::parse(&self.raw).ok()?;
        u.port().or(match self.dialect {
            Dialect::Mysql => Some(3306),
            Dialect::Postgres => Some(5432),
            Dialect::Sqlite => None,
        })
    }
}

/// Replaces the password in a URL with `***`, and leaves anything unparsable alone
/// except for everything between `:` and `@` in its authority.
pub fn redact(raw: &str) -> String {
    if let Ok(mut u) = url::Url::parse(raw) {
        if u.password().is_some() && u.set_password(Some("***")).is_ok() {
            return u.to_string();
        }
        return raw.to_string();
    }
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &raw[s + 3..at];
            match auth.find(':') {
                Some(c) => format!("{}{}:***{}", &raw[..s + 3], &auth[..c], &raw[at..]),
                None => raw.to_string(),
            }
        }
        _ => raw.to_string(),
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let u = ServerUrl::parse("mysql://root:s3cret@127.0.0.1:3306").unwrap();
        assert_eq!(u.to_string(), "mysql://root:***@127.0.0.1:3306");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(u.port(), Some(3306));
        let p = ServerUrl::parse("postgres://postgres@127.0.0.1").unwrap();
        assert_eq!(p.port(), Some(5432));
        assert_eq!(ServerUrl::parse("sqlite://./data/tenants").unwrap().sqlite_dir(), PathBuf::from("./data/tenants"));
        assert!(ServerUrl::parse("oracle://x").is_err());
        assert!(ServerUrl::parse("sqlite://").is_err());
        let err = ServerUrl::parse("ftp://u:pw@h").unwrap_err().to_string();
        assert!(!err.contains("pw@"), "{err}");
    }
}
