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
//! - `directory_retired_ids (id, kind)`: the `zimbraId` of every deleted entry. A name
//!   may be reused, an id never: creating an entry with a retired id is refused, so a
//!   new account can never be handed a deleted account's mailbox.
//! - `directory_meta (meta_key, meta_value)`: holds `schema_version`.
//!
//! One design on every engine; [`SqlBackend`] supplies the few DDL differences (MariaDB's
//! `MEDIUMTEXT`, table options and binary collation, PostgreSQL's `"C"` collation on the
//! key columns listings sort by).

use sqlx::{AnyConnection, AssertSqlSafe};

use super::SqlDirectoryError;
use super::dialect::SqlBackend;

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// A PostgreSQL advisory lock key held while the schema is created, so two processes
/// opening a new database at once do not race on `CREATE TABLE`.
const PG_SCHEMA_LOCK: i64 = 0x007a_6373_5f64_6972;

/// The DDL statements for `b`, in order.
fn ddl(b: SqlBackend) -> Vec<String> {
    let opts = b.table_options();
    let key = b.key_collation();
    let text = b.long_text();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS directory_meta (
        meta_key VARCHAR(64) NOT NULL PRIMARY KEY,
        meta_value VARCHAR(255) NOT NULL
    ){opts}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS directory_entries (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        kind VARCHAR(32) NOT NULL,
        name VARCHAR(320) NOT NULL,
        lower_name VARCHAR(320){key} NOT NULL,
        domain VARCHAR(255),
        UNIQUE (kind, lower_name)
    ){opts}"
        ),
        "CREATE INDEX IF NOT EXISTS directory_entries_by_domain
        ON directory_entries (kind, domain)"
            .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS directory_attrs (
        entry_id VARCHAR(36) NOT NULL REFERENCES directory_entries (id) ON DELETE CASCADE,
        name_lower VARCHAR(128){key} NOT NULL,
        name VARCHAR(128) NOT NULL,
        position INTEGER NOT NULL,
        value {text} NOT NULL,
        PRIMARY KEY (entry_id, name_lower, position)
    ){opts}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS directory_addresses (
        address VARCHAR(320) NOT NULL PRIMARY KEY,
        domain VARCHAR(255) NOT NULL,
        entry_id VARCHAR(36) NOT NULL REFERENCES directory_entries (id) ON DELETE CASCADE
    ){opts}"
        ),
        "CREATE INDEX IF NOT EXISTS directory_addresses_by_entry
        ON directory_addresses (entry_id)"
            .to_string(),
        "CREATE INDEX IF NOT EXISTS directory_addresses_by_domain
        ON directory_addresses (domain)"
            .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS directory_retired_ids (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        kind VARCHAR(32) NOT NULL
    ){opts}"
        ),
    ]
}

/// Creates missing tables and checks the stored schema version, inside the caller's
/// write transaction (MariaDB commits DDL implicitly; the statements are idempotent).
///
/// # Errors
/// A database failure, or a store written by a newer zcs (`schema_version` above
/// [`SCHEMA_VERSION`]).
pub async fn ensure(conn: &mut AnyConnection, b: SqlBackend) -> Result<(), SqlDirectoryError> {
    if b == SqlBackend::Postgres {
        sqlx::query(b.sql("SELECT pg_advisory_xact_lock(?)"))
            .bind(PG_SCHEMA_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("lock schema"))?;
    }
    for stmt in ddl(b) {
        sqlx::query(AssertSqlSafe(stmt))
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("create schema"))?;
    }

    let read_version = b.sql("SELECT meta_value FROM directory_meta WHERE meta_key = ?");
    let found: Option<String> = sqlx::query_scalar(read_version)
        .bind("schema_version")
        .fetch_optional(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("read schema version"))?;
    match found {
        None => {
            sqlx::query(b.sql("INSERT INTO directory_meta (meta_key, meta_value) VALUES (?, ?)"))
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
