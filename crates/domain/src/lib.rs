//! tenantry's domain: the vocabulary every other crate speaks, as pure code with no I/O.
//!
//! It owns the SQL dialect names, the validation of every identifier a user can
//! choose (tenant slugs, database names, server names), and the splitting and
//! analysis of SQL scripts with `sqlparser`. Templates, modules, versions,
//! migrations and drift rules live here as they are added. Nothing in this crate
//! touches a database, a file or the network, so all of it is unit-testable.

pub mod dialect;
pub mod ident;
pub mod sql;
pub mod customization;
pub mod drift;
pub mod template;
pub mod rollout;
pub mod template_plan;

pub use dialect::Dialect;
pub use ident::{DatabaseName, IdentError, LoginName, Password, ServerName, Slug};
