use tenantry_domain::IdentError;
use tenantry_drivers::DriverError;
use tenantry_store::StoreError;

/// Why an engine operation failed. Every message says what failed and, where there
/// is one, what to do; `code()` is a stable machine-readable name for the API and
/// `--json` output.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Ident(#[from] IdentError),
    #[error("{what} `{key}` already exists")]
    Conflict { what: &'static str, key: String },
    #[error("{what} `{key}` not found{hint}")]
    NotFound { what: &'static str, key: String, hint: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("secrets: {0}")]
    Secret(String),
    #[error(transparent)]
    TemplateInvalid(tenantry_domain::template::TemplateErrors),
    #[error("{0}")]
    TemplateBuild(String),
    #[error("{0}")]
    Integrity(String),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    RateLimited(String),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { what, key } => EngineError::Conflict { what, key },
            StoreError::NotFound { what, key } => EngineError::NotFound { what, key, hint: String::new() },
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// A stable code: `invalid`, `conflict`, `not_found`, `config`, `secret`,
    /// `server_unavailable`, `database`, `landlord`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid(_) | EngineError::Ident(_) | EngineError::TemplateInvalid(_) => "invalid",
            EngineError::TemplateBuild(_) => "template_build",
            EngineError::Integrity(_) => "integrity",
            EngineError::Locked(_) => "locked",
            EngineError::Conflict { .. } => "conflict",
            EngineError::NotFound { .. } => "not_found",
            EngineError::Config(_) => "config",
            EngineError::Secret(_) => "secret",
            EngineError::Unauthorized(_) => "unauthorized",
            EngineError::Forbidden(_) => "forbidden",
            EngineError::RateLimited(_) => "rate_limited",
            EngineError::Driver(d) if d.is_server_unavailable() => "server_unavailable",
            EngineError::Driver(DriverError::BadUrl(_)) => "invalid",
            EngineError::Driver(_) => "database",
            EngineError::Store(_) => "landlord",
        }
    }
}
