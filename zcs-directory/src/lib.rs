//! zcs directory: the `Directory` and `AuthMechanism` seams, the SQL backend, and the
//! `Provisioning` facade that `zmprov`, the servers and the MTA use.
//!
//! - [`Directory`] stores entries (global config, servers, domains, COS, accounts, ...)
//!   and keeps names and addresses unique; [`SqlDirectory`] is its SQL backend (SQLite,
//!   MariaDB, PostgreSQL).
//! - [`CachedDirectory`] keeps entries in memory in front of any `Directory`, with a max
//!   age per [`CacheKind`] and `flushCache`.
//! - [`AuthMechanism`] judges a password; [`AuthRegistry`] maps `zimbraAuthMech` names
//!   to mechanisms, with the internal `zimbra` one built in; [`password`] reads and
//!   writes `userPassword` hashes.
//! - [`Provisioning`] applies Zimbra's rules: normalisation, validation against the
//!   `zcs_core::attrs` registry, creation defaults, fault codes, login status checks and
//!   inheritance.
//!
//! This crate opens no sockets and knows nothing of the protocol a request came from.

pub mod auth;
pub mod cache;
pub mod directory;
pub mod ldap;
pub mod ldap_client;
pub mod names;
pub mod open;
pub mod password;
pub mod provisioning;
pub mod rights;
pub mod search;
pub mod sql;
pub mod validate;

pub use auth::{AuthContext, AuthMechanism, AuthRegistry, InternalAuth};
pub use cache::{CacheKind, CacheSettings, CacheStats, CachedDirectory};
pub use directory::{Directory, EntryKey};
pub use ldap::{LdapConfig, LdapDirectory, LdapDirectoryError};
pub use open::open_directory;
pub use provisioning::{
    AccountContext, DEFAULT_COS, Provisioning, server_attr, server_attr_values,
};
pub use search::{SearchQuery, SearchResults};
pub use sql::{SqlBackend, SqlDirectory, SqlDirectoryError};
