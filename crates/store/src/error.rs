/// A landlord operation that failed, saying what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bad landlord URL: {0}")]
    BadUrl(String),
    #[error("cannot open the landlord at {url}: {source}; check that the server runs and the URL is right")]
    Connect { url: String, source: sqlx::Error },
    #[error("landlord migration {version} ({name}) failed at statement {statement}: {source}")]
    Migration { version: i64, name: String, statement: usize, source: sqlx::Error },
    #[error("the landlord is at schema version {found}, newer than this tenantry knows ({known}); upgrade tenantry")]
    TooNew { found: i64, known: i64 },
    #[error("landlord migration {version} was applied with different content (checksum {found}, expected {expected}); the landlord was changed by hand or by another build")]
    ChecksumMismatch { version: i64, found: String, expected: String },
    #[error("{what} `{key}` already exists")]
    Conflict { what: &'static str, key: String },
    #[error("{what} `{key}` not found")]
    NotFound { what: &'static str, key: String },
    #[error("landlord query failed ({context}): {source}")]
    Query { context: String, source: sqlx::Error },
    #[error("landlord data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Maps a sqlx error, naming the query by its first words.
    pub(crate) fn query(q: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
        move |source| StoreError::Query { context: q.split_whitespace().take(4).collect::<Vec<_>>().join(" "), source }
    }

    /// True when a unique constraint refused the write.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => {
                matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
                    || d.code().as_deref() == Some("23505")
                    || d.code().as_deref() == Some("23000")
                    || d.message().contains("UNIQUE constraint failed")
                    || d.message().contains("Duplicate entry")
            }
            _ => false,
        }
    }
}
