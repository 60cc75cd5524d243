use tenantry_domain::sql::SplitError;
use tenantry_schema::IntrospectError;

/// A driver operation that failed, naming the server and database, and for scripts
/// the statement number and line, with what the user can do where that is clear.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("bad server URL: {0}")]
    BadUrl(String),
    #[error("server `{server}` ({url}) cannot be reached: {source}; check that it runs and that the URL's host, port, user and password are right")]
    Unreachable { server: String, url: String, source: sqlx::Error },
    #[error("database `{database}` already exists on server `{server}`")]
    AlreadyExists { server: String, database: String },
    #[error("database `{database}` does not exist on server `{server}`")]
    NotFound { server: String, database: String },
    #[error("`{database}` on server `{server}`: the script cannot be split into statements: {source}")]
    Split { server: String, database: String, source: SplitError },
    #[error("`{database}` on server `{server}`: statement {number} (line {line}) failed: {message}\n    at: {excerpt}")]
    Statement { server: String, database: String, number: usize, line: usize, message: String, excerpt: String },
    #[error("{source}")]
    Batch { index: usize, source: Box<DriverError> },
    #[error("{action} on server `{server}` failed: {source}")]
    Server { server: String, action: String, source: sqlx::Error },
    #[error("introspecting `{database}` on server `{server}`: {source}")]
    Introspect { server: String, database: String, source: IntrospectError },
    #[error("{action} at {path}: {source}")]
    Io { action: String, path: String, source: std::io::Error },
}

impl DriverError {
    /// True when the server itself failed (down, refused, timed out), as opposed to the
    /// SQL or the input: such a step may succeed when retried later.
    pub fn is_server_unavailable(&self) -> bool {
        let source = match self {
            DriverError::Batch { source, .. } => return source.is_server_unavailable(),
            DriverError::Unreachable { source, .. } | DriverError::Server { source, .. } => source,
            _ => return false,
        };
        matches!(source, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_))
    }
}

/// The server's own message for a failed statement, without sqlx's wrapping.
pub(crate) fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} ({code})", d.message()),
            None => d.message().to_string(),
        },
        other => other.to_string(),
    }
}
