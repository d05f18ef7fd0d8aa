//! The SQL directory schema and its creation at open time.
//!
//! Layout (one row per entry, one row per attribute value, one row per address):
//!
//! - `directory_entries (id, kind, name, lower_name, domain)`: `id` is the `zimbraId`;
//!   `(kind, lower_name)` is unique; `domain` is the lower-cased part after `@` of
//!   address-like names (NULL otherwise), indexed for per-domain listings.
//! - `directory_attrs (entry_id, name_lower, name, position, value)`: each value of a
//!   multi-valued attribute is its own row, ordered by `position`; `name` keeps the
//!   canonical spelling. A row per value (rather than a JSON column) keeps the schema
//!   plain SQL that SQLite, MariaDB and PostgreSQL all read the same way, and lets a
//!   later LDAP-style filter search use ordinary indexes on (`name_lower`, `value`).
//! - `directory_addresses (address, domain, entry_id)`: the address index. Every name and
//!   `zimbraMailAlias` of an account, calendar resource or list has a row; the primary
//!   key makes an address unique across all of them even when two processes create
//!   entries at the same moment.
//! - `directory_meta (meta_key, meta_value)`: holds `schema_version`.
//!
//! Column types are spelled so the same DDL runs on MariaDB and PostgreSQL (SQLite
//! ignores the lengths).
// LIMITATION: only SQLite is wired up; MariaDB will need `MEDIUMTEXT` for `value` and
// PostgreSQL `$n` placeholders, which is why the statements live in one place.

use sqlx::SqliteConnection;

use super::SqlDirectoryError;

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Statements creating the schema; each is idempotent.
const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS directory_meta (
        meta_key VARCHAR(64) NOT NULL PRIMARY KEY,
        meta_value VARCHAR(255) NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS directory_entries (
        id CHAR(36) NOT NULL PRIMARY KEY,
        kind VARCHAR(32) NOT NULL,
        name VARCHAR(320) NOT NULL,
        lower_name VARCHAR(320) NOT NULL,
        domain VARCHAR(255),
        UNIQUE (kind, lower_name)
    )",
    "CREATE INDEX IF NOT EXISTS directory_entries_by_domain
        ON directory_entries (kind, domain)",
    "CREATE TABLE IF NOT EXISTS directory_attrs (
        entry_id CHAR(36) NOT NULL REFERENCES directory_entries (id) ON DELETE CASCADE,
        name_lower VARCHAR(128) NOT NULL,
        name VARCHAR(128) NOT NULL,
        position INTEGER NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (entry_id, name_lower, position)
    )",
    "CREATE TABLE IF NOT EXISTS directory_addresses (
        address VARCHAR(320) NOT NULL PRIMARY KEY,
        domain VARCHAR(255) NOT NULL,
        entry_id CHAR(36) NOT NULL REFERENCES directory_entries (id) ON DELETE CASCADE
    )",
    "CREATE INDEX IF NOT EXISTS directory_addresses_by_entry
        ON directory_addresses (entry_id)",
    "CREATE INDEX IF NOT EXISTS directory_addresses_by_domain
        ON directory_addresses (domain)",
];

/// Creates missing tables and checks the stored schema version, inside the caller's
/// write transaction.
///
/// # Errors
/// A database failure, or a store written by a newer zcs (`schema_version` above
/// [`SCHEMA_VERSION`]).
pub async fn ensure(conn: &mut SqliteConnection) -> Result<(), SqlDirectoryError> {
    for stmt in DDL {
        sqlx::query(*stmt)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("create schema"))?;
    }

    let found: Option<String> =
        sqlx::query_scalar("SELECT meta_value FROM directory_meta WHERE meta_key = ?")
            .bind("schema_version")
            .fetch_optional(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("read schema version"))?;
    match found {
        None => {
            sqlx::query("INSERT INTO directory_meta (meta_key, meta_value) VALUES (?, ?)")
                .bind("schema_version")
                .bind(SCHEMA_VERSION.to_string())
                .execute(&mut *conn)
                .await
                .map_err(SqlDirectoryError::db("write schema version"))?;
        }
        Some(v) => {
            let v: i64 = v
                .parse()
                .map_err(|_| SqlDirectoryError::Schema(v.clone()))?;
            if v > SCHEMA_VERSION {
                return Err(SqlDirectoryError::Schema(v.to_string()));
            }
        }
    }
    Ok(())
}
