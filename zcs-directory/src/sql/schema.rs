//! The SQL directory schema and its creation at open time.
//!
//! Layout (one row per entry, one row per attribute value, one row per address):
//!
//! - `directory_entries (id, kind, name, lower_name, domain)`: `id` is the `zimbraId`;
//!   `(kind, lower_name)` is unique; `domain` is the lower-cased part after `@` of
//!   address-like names (NULL otherwise), indexed for per-domain listings.
//! - `directory_attrs (entry_id, name_lower, name, position, value, value_key)`: each
//!   value of a multi-valued attribute is its own row, ordered by `position`; `name`
//!   keeps the canonical spelling. A row per value (rather than a JSON column) keeps the
//!   schema plain SQL that SQLite, MariaDB and PostgreSQL all read the same way.
//!   `value_key` is the value lower-cased and cut to [`VALUE_KEY_CHARS`] characters
//!   (see [`value_key`]), indexed with `name_lower`: filter searches (GAL autocomplete,
//!   `(cn=ab*)`, `(mail=x@y)`) find their candidates by a range scan of that index
//!   instead of reading every entry of a domain.
//! - `directory_addresses (address, domain, entry_id)`: the address index. Every name and
//!   `zimbraMailAlias` of an account, calendar resource or list has a row; the primary
//!   key makes an address unique across all of them even when two processes create
//!   entries at the same moment.
//! - `directory_retired_ids (id, kind)`: the `zimbraId` of every deleted entry. A name
//!   may be reused, an id never: creating an entry with a retired id is refused, so a
//!   new account can never be handed a deleted account's mailbox.
//! - `directory_meta (meta_key, meta_value)`: holds `schema_version`.
//! - `directory_prefixes (domain, pfx, lower_name, entry_id, kind)`: short prefixes of
//!   name-like values in name order, for GAL autocomplete (see [`super::prefixes`]).
//!
//! Versions: 1 had no `value_key`; 2 adds it (filled in for existing rows when a version 1
//! database is opened) with the `directory_attrs_by_key` index, and the
//! `directory_entries_by_domain_name` index that pages through a domain in name order;
//! 3 adds `directory_prefixes`, filled from the stored keys when an older database is
//! opened.
//!
//! One design on every engine; [`SqlBackend`] supplies the few DDL differences (MariaDB's
//! `MEDIUMTEXT`, table options and binary collation, PostgreSQL's `"C"` collation on the
//! key columns listings sort by).

use sqlx::{AnyConnection, AssertSqlSafe};

use super::SqlDirectoryError;
use super::dialect::SqlBackend;

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 3;

/// How many characters of a lower-cased value `value_key` keeps. Small enough for an
/// index on MariaDB (utf8mb4: 4 bytes a character, 3072 bytes a key with `name_lower`
/// and `entry_id`), long enough that real prefixes and names fit whole.
pub const VALUE_KEY_CHARS: usize = 200;

/// The `value_key` of an attribute value: lower-cased (Unicode) and cut to
/// [`VALUE_KEY_CHARS`] characters. A value starts with a lower-cased prefix of at most
/// that many characters exactly when its key does.
pub fn value_key(value: &str) -> String {
    value.to_lowercase().chars().take(VALUE_KEY_CHARS).collect()
}

/// Rows read per batch when a version 1 database gets its `value_key` column filled.
const BACKFILL_BATCH: i64 = 2_000;

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
        value_key VARCHAR({VALUE_KEY_CHARS}){key},
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

/// The indexes of version 2, created once the `value_key` column exists.
fn ddl_v2_indexes() -> [&'static str; 2] {
    [
        "CREATE INDEX IF NOT EXISTS directory_attrs_by_key
        ON directory_attrs (name_lower, value_key, entry_id)",
        "CREATE INDEX IF NOT EXISTS directory_entries_by_domain_name
        ON directory_entries (domain, lower_name, id)",
    ]
}

/// Upgrades a version 1 database: adds `value_key` and fills it for every stored value.
/// The keys are computed here rather than with SQL's `LOWER`, whose idea of case differs
/// between engines, so every engine holds the keys the write path would have written.
async fn migrate_v1(conn: &mut AnyConnection, b: SqlBackend) -> Result<(), SqlDirectoryError> {
    let key = b.key_collation();
    let add = match b {
        // MariaDB commits DDL at once: a second process migrating at the same moment
        // must not fail on the column the first one added.
        SqlBackend::MySql => format!(
            "ALTER TABLE directory_attrs ADD COLUMN IF NOT EXISTS \
             value_key VARCHAR({VALUE_KEY_CHARS}){key}"
        ),
        SqlBackend::Sqlite | SqlBackend::Postgres => format!(
            "ALTER TABLE directory_attrs ADD COLUMN value_key VARCHAR({VALUE_KEY_CHARS}){key}"
        ),
    };
    sqlx::query(AssertSqlSafe(add))
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("add value_key"))?;
    let mut filled = 0u64;
    loop {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(b.sql(
            "SELECT entry_id, name_lower, position, value FROM directory_attrs \
             WHERE value_key IS NULL LIMIT ?",
        ))
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("read values to key"))?;
        if rows.is_empty() {
            break;
        }
        for (entry_id, name_lower, position, value) in rows {
            sqlx::query(b.sql(
                "UPDATE directory_attrs SET value_key = ? \
                 WHERE entry_id = ? AND name_lower = ? AND position = ?",
            ))
            .bind(value_key(&value))
            .bind(entry_id)
            .bind(name_lower)
            .bind(position)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("write value key"))?;
            filled += 1;
        }
    }
    tracing::info!(
        values = filled,
        "directory schema upgraded from version 1 to 2"
    );
    Ok(())
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
    let stored = match found {
        None => {
            sqlx::query(b.sql("INSERT INTO directory_meta (meta_key, meta_value) VALUES (?, ?)"))
                .bind("schema_version")
                .bind(SCHEMA_VERSION.to_string())
                .execute(&mut *conn)
                .await
                .map_err(SqlDirectoryError::db("write schema version"))?;
            SCHEMA_VERSION
        }
        Some(v) => {
            let v: i64 = v
                .parse()
                .map_err(|_| SqlDirectoryError::Schema(v.clone()))?;
            if v > SCHEMA_VERSION {
                return Err(SqlDirectoryError::Schema(v.to_string()));
            }
            v
        }
    };
    if stored < 2 {
        migrate_v1(conn, b).await?;
    }
    for stmt in ddl_v2_indexes() {
        sqlx::query(stmt)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("create index"))?;
    }
    for stmt in super::prefixes::ddl(b) {
        sqlx::query(AssertSqlSafe(stmt))
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("create prefix table"))?;
    }
    if stored < 3 {
        super::prefixes::backfill(conn, b).await?;
    }
    if stored < SCHEMA_VERSION {
        sqlx::query(b.sql("UPDATE directory_meta SET meta_value = ? WHERE meta_key = ?"))
            .bind(SCHEMA_VERSION.to_string())
            .bind("schema_version")
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("write schema version"))?;
    }
    Ok(())
}
