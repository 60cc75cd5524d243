//! The command line, as the CLI contract in PRODUCT.md names it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "tenantry", version, about = "Control plane for database-per-tenant SaaS: templates, provisioning, rollouts, drift.")]
pub struct Cli {
    /// Configuration file [default: ./tenantry.toml]
    #[arg(long, global = true, env = "TENANTRY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Landlord database URL (sqlite://PATH, mysql://…/DB, postgres://…/DB)
    #[arg(long, global = true, env = "TENANTRY_LANDLORD_URL", value_name = "URL", hide_env_values = true)]
    pub landlord: Option<String>,
    /// Machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format on stderr: text or json
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented tenantry.toml and create the embedded SQLite default
    Init {
        /// Directory to initialise
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Database servers where tenant databases live
    #[command(subcommand)]
    Server(ServerCommand),
    /// Tenant templates: import, export, inspect
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Tenants: create, inspect, suspend, delete
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Template migrations across the fleet: plan, apply, status, resume, retry, rollback
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Warm pools of ready databases ([[pool]] in tenantry.toml)
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Serve the HTTP API, the web admin interface, /healthz, /readyz and /metrics
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Seed a demo (bundled templates, demo tenants, an admin account) first
        #[arg(long)]
        demo: bool,
        /// Send session cookies without `Secure` (plain HTTP beyond localhost)
        #[arg(long)]
        insecure_cookies: bool,
    },
    /// Seed the demo (bundled templates, demo tenants, an admin account) without serving
    Demo,
    /// Accounts that sign in to the web UI and API, and their API tokens
    #[command(subcommand)]
    User(UserCommand),
    /// Tenant customizations: request, review, apply
    #[command(subcommand)]
    Custom(CustomCommand),
    /// Schema drift: scan the fleet, explain, accept, repair
    #[command(subcommand)]
    Drift(DriftCommand),
    /// A tenant's migration history
    History {
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Provision a tenant database from a template (all or nothing)
    Create {
        slug: String,
        #[arg(long)]
        template: String,
        /// Template version [default: the newest]
        #[arg(long)]
        version: Option<String>,
        /// Optional modules, comma-separated (their dependencies come along)
        #[arg(long, value_delimiter = ',')]
        modules: Vec<String>,
        /// Database server [default: the least loaded one of the template's dialects]
        #[arg(long)]
        server: Option<String>,
        /// Display name [default: the slug]
        #[arg(long)]
        name: Option<String>,
        /// auto (clone a prepared database where the engine can), clone or replay
        #[arg(long, default_value = "auto")]
        method: String,
    },
    /// List tenants
    List {
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        drift: Option<String>,
    },
    /// A tenant's record and history
    Show { slug: String },
    /// The tenant database's live schema
    Schema { slug: String },
    /// Where and how the application connects (reveals the password)
    Credentials { slug: String },
    /// Revoke the tenant's database access
    Suspend { slug: String },
    /// Restore the tenant's database access
    Resume { slug: String },
    /// Take an existing database under management at a stated template version
    Adopt {
        slug: String,
        #[arg(long)]
        database: String,
        #[arg(long)]
        server: String,
        #[arg(long)]
        template: String,
        #[arg(long)]
        version: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// A tenant's users
    #[command(subcommand)]
    User(TenantUserCommand),
    /// A tenant's applications, by domain
    #[command(subcommand)]
    App(TenantAppCommand),
    /// Which tenant serves a slug or domain, and its credentials (what an application asks)
    Resolve {
        #[arg(long, conflicts_with = "domain", required_unless_present = "domain")]
        slug: Option<String>,
        #[arg(long)]
        domain: Option<String>,
    },
    /// Delete a tenant (its history stays in the landlord)
    Delete {
        slug: String,
        /// Confirm
        #[arg(long)]
        yes: bool,
        /// Leave the database in place
        #[arg(long)]
        keep_database: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Import a template directory (a new version when it changed; identical content is a no-op)
    Import {
        /// The template directory (template.toml, modules/, migrations/)
        dir: PathBuf,
    },
    /// Write a stored version back as a directory
    Export {
        name: String,
        dir: PathBuf,
        #[arg(long)]
        version: Option<String>,
    },
    /// List templates
    List,
    /// Versions, modules and migrations of a template, and which versions tenants use
    Show {
        name: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// The schema a version builds (all modules), as introspected from a real database
    Snapshot {
        name: String,
        #[arg(long)]
        version: Option<String>,
        /// mysql, postgres or sqlite [default: the template's first dialect]
        #[arg(long)]
        dialect: Option<String>,
    },
    /// Soft-delete a template that no tenant uses
    Delete {
        name: String,
        /// Confirm
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Register a server after checking it is reachable and can create databases
    Add(ServerAdd),
    /// List registered servers (credentials are never shown)
    List,
}

#[derive(Debug, Args)]
pub struct ServerAdd {
    /// Server name: lowercase letters, digits, - and _
    pub name: String,
    /// mysql://user:pass@host:3306, postgres://user:pass@host:5432 or sqlite://DIR
    pub url: String,
    /// How many tenant databases it may hold
    #[arg(long)]
    pub capacity: Option<i64>,
    /// How many operations may run on it at once
    #[arg(long)]
    pub max_concurrency: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum TenantUserCommand {
    /// Add a user to a tenant
    Add {
        slug: String,
        email: String,
        /// owner, admin, editor or viewer
        #[arg(long, default_value = "viewer")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Read a password (at least 12 characters) from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's users
    List { slug: String },
}

#[derive(Debug, Subcommand)]
pub enum TenantAppCommand {
    /// Map a domain to a tenant
    Add {
        slug: String,
        domain: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List a tenant's applications
    List { slug: String },
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Build what the pools lack and drop what is stale
    Fill,
    /// Ready databases per pool
    Status,
}

#[derive(Debug, Args, Clone)]
pub struct Selection {
    /// Only tenants of this template
    #[arg(long)]
    pub template: Option<String>,
    /// Target version [default: each template's newest]
    #[arg(long)]
    pub to: Option<String>,
    /// Only these tenants (comma-separated slugs)
    #[arg(long, value_delimiter = ',')]
    pub tenants: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// What each tenant would get, and why anything is skipped (changes nothing)
    Plan {
        #[command(flatten)]
        selection: Selection,
    },
    /// Run a durable rollout
    Apply {
        #[command(flatten)]
        selection: Selection,
        /// Tenants migrated at once (each server's --max-concurrency also applies)
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Tenants in a first wave; the rest run only if all of them succeed
        #[arg(long, default_value_t = 0)]
        canary: usize,
        /// Halt once more tenants than this have failed
        #[arg(long, default_value_t = 0)]
        max_failures: usize,
    },
    /// Rollouts and their counts (one, or all)
    Status { rollout: Option<i64> },
    /// Continue a halted or interrupted rollout
    Resume { rollout: i64 },
    /// Run a rollout's failed steps again
    Retry { rollout: i64 },
    /// Undo a tenant's migrations down to a version [default: the previous one]
    Rollback {
        slug: String,
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomCommand {
    /// Ask for a tenant-specific object; its SQL is checked before it is stored
    Request {
        slug: String,
        /// table, column, index, view, function or trigger
        #[arg(long = "type")]
        kind: String,
        /// The object's name (`table.column` for a column)
        #[arg(long)]
        name: String,
        /// File holding the SQL that creates it
        #[arg(long)]
        sql: PathBuf,
    },
    /// Customizations, oldest first
    List {
        /// requested, approved, applied or rejected
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Approve a requested customization
    Approve { id: i64 },
    /// Reject a requested or approved customization
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Run an approved customization in its tenant's database
    Apply { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Compare every tenant's database with its expected schema
    Scan {
        #[arg(long)]
        template: Option<String>,
        /// Only these tenants (comma-separated slugs)
        #[arg(long, value_delimiter = ',')]
        tenants: Vec<String>,
        /// Tenants read at once (each server's --max-concurrency also applies)
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// One tenant's differences, in words and as data
    Show { slug: String },
    /// Record a tenant's extra objects as applied customizations
    Accept { slug: String },
    /// Generate (and unless --dry-run, run) the SQL that converges a tenant's database
    Repair {
        slug: String,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints its one-time password
    Add {
        email: String,
        /// admin, operator or viewer
        #[arg(long)]
        role: String,
        /// Make it a tenant user of this tenant only
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Accounts
    List,
    /// Create an API token for an account; prints it once
    Token {
        email: String,
        #[arg(long)]
        name: String,
        /// `read` or `read,write`
        #[arg(long, default_value = "read")]
        scopes: String,
        /// Days until it expires [default: never]
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// Give an account a new generated password
    ResetPassword { email: String },
}
