//! `SqlDirectory`: the [`Directory`] backend on SQL through sqlx: SQLite (the embedded
//! default), MariaDB and PostgreSQL.
//!
//! In charge of the tables described in [`schema`], of keeping names and addresses
//! unique, and of sharing one database between processes (the server and `zmprov`). One
//! code path runs on every engine through sqlx's `Any` driver; [`SqlBackend`] holds the
//! few differences (placeholders, DDL types, how writes lock). SQLite runs in WAL mode
//! with a busy timeout and `BEGIN IMMEDIATE` for every write, so two writers queue
//! instead of failing on a lock upgrade; MariaDB and PostgreSQL run writes at READ
//! COMMITTED and lock the changed entry's row with `SELECT ... FOR UPDATE`. Uniqueness
//! of names and addresses rests on unique keys on every engine, so racing creates yield
//! one entry and one "exists" fault. Not in charge of validation or defaults.

mod addresses;
mod dialect;
mod prefixes;
mod rows;
pub mod schema;
mod search;
mod translate;

use std::path::Path;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};
use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

pub use dialect::SqlBackend;

use crate::directory::{
    A_MAIL_ALIAS, A_ZIMBRA_ID, Directory, EntryKey, exists_fault, is_address_kind, no_such_fault,
};
use crate::names::lower_name;

/// Connections kept per SQLite handle; SQLite serialises writers anyway.
const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Connections kept per MariaDB or PostgreSQL handle.
const SERVER_MAX_CONNECTIONS: u32 = 8;

/// Failures of the SQL backend, before they become `service.FAILURE`.
#[derive(Debug, thiserror::Error)]
pub enum SqlDirectoryError {
    /// The database refused or failed a statement.
    #[error("directory database: {step}: {source}")]
    Database {
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A stored row cannot be read back (unknown kind, malformed id).
    #[error("directory database: corrupt entry {id}: {reason}")]
    Corrupt { id: String, reason: String },
    /// The file was written by a newer schema than this code knows.
    #[error("directory database: unsupported schema version {0}")]
    Schema(String),
    /// The URL names no engine this backend speaks.
    #[error("directory database: unsupported URL scheme in {0:?}")]
    Url(String),
}

impl SqlDirectoryError {
    /// A mapper for `map_err` naming the step that failed.
    pub(crate) fn db(step: &'static str) -> impl FnOnce(sqlx::Error) -> SqlDirectoryError {
        move |source| SqlDirectoryError::Database { step, source }
    }
}

impl From<SqlDirectoryError> for ServiceError {
    fn from(e: SqlDirectoryError) -> Self {
        tracing::error!(error = %e, "directory database failure");
        ServiceError::failure(e.to_string())
    }
}

// LIMITATION: a MariaDB or PostgreSQL transaction that the server aborts as a deadlock
// victim (MariaDB 1213, PostgreSQL 40P01) is reported as `service.FAILURE`, not retried.
// Writes take at most one row lock plus unique-key checks at READ COMMITTED, which keeps
// this rare; the conformance races have not shown it.
/// A [`Directory`] stored in an SQL database. Cheap to clone handles are not offered:
/// share it behind an `Arc`.
#[derive(Debug)]
pub struct SqlDirectory {
    pool: AnyPool,
    backend: SqlBackend,
}

impl SqlDirectory {
    /// Opens the directory database a URL names, picking the engine from its scheme:
    /// `sqlite:` (a file, created if missing, e.g. `sqlite:///opt/zcs/db/directory.db`;
    /// `sqlite::memory:` for a private in-memory one), `mysql:` or `mariadb:`, or
    /// `postgres:`/`postgresql:`. Creates missing tables and checks the schema version.
    /// The database itself must exist on MariaDB and PostgreSQL.
    ///
    /// # Errors
    /// `service.FAILURE` for an unknown scheme, an unreachable server, refused
    /// credentials, or a schema written by a newer zcs.
    pub async fn open(url: &str) -> ServiceResult<Self> {
        let backend =
            SqlBackend::from_url(url).ok_or_else(|| SqlDirectoryError::Url(redact_url(url)))?;
        let url = match backend {
            // sqlx's own scheme is `mysql`.
            SqlBackend::MySql if url.len() > 8 && url[..8].eq_ignore_ascii_case("mariadb:") => {
                format!("mysql:{}", &url[8..])
            }
            _ => url.to_string(),
        };
        let opts: AnyConnectOptions = url.parse().map_err(SqlDirectoryError::db("parse URL"))?;
        Self::connect(backend, opts).await
    }

    /// Opens (creating if missing) the SQLite directory file at `path`, switches it to
    /// WAL mode so other processes can read while one writes, sets a busy timeout, and
    /// creates or checks the schema.
    ///
    /// # Errors
    /// `service.FAILURE` when the file cannot be opened or was written by a newer schema.
    pub async fn open_sqlite(path: &Path) -> ServiceResult<Self> {
        let url = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .to_url_lossy();
        let opts = AnyConnectOptions::from_url(&url).map_err(SqlDirectoryError::db("open"))?;
        let dir = Self::connect(SqlBackend::Sqlite, opts).await?;
        tracing::debug!(path = %path.display(), "directory database open");
        Ok(dir)
    }

    /// Builds the pool with each engine's per-connection settings, then the schema.
    /// Installs sqlx's default `Any` drivers for the process (idempotent).
    async fn connect(backend: SqlBackend, opts: AnyConnectOptions) -> ServiceResult<Self> {
        sqlx::any::install_default_drivers();
        let max = match backend {
            SqlBackend::Sqlite => SQLITE_MAX_CONNECTIONS,
            SqlBackend::MySql | SqlBackend::Postgres => SERVER_MAX_CONNECTIONS,
        };
        let mut pool_opts = AnyPoolOptions::new().max_connections(max);
        let url = opts.database_url.as_str();
        if backend == SqlBackend::Sqlite
            && (url.contains(":memory:") || url.contains("mode=memory"))
        {
            // Each connection to an in-memory database is a database of its own: keep
            // exactly one, forever.
            pool_opts = pool_opts
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool_opts
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for stmt in session_setup(backend) {
                        conn.execute(*stmt).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(SqlDirectoryError::db("open"))?;
        let dir = SqlDirectory { pool, backend };

        let mut tx = dir.write_tx().await?;
        schema::ensure(&mut tx, backend).await?;
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit schema"))?;
        tracing::debug!(backend = %backend, "directory database ready");
        Ok(dir)
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> SqlBackend {
        self.backend
    }

    /// Closes every connection; later calls fail. Waits for running statements.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction; on SQLite it holds the database write lock from its first
    /// statement.
    async fn write_tx(&self) -> Result<Transaction<'static, Any>, SqlDirectoryError> {
        self.pool
            .begin_with(self.backend.begin_write())
            .await
            .map_err(SqlDirectoryError::db("begin write"))
    }
}

/// Statements run on every new connection.
fn session_setup(backend: SqlBackend) -> &'static [&'static str] {
    match backend {
        // WAL lets readers in other processes work while one writes; FULL makes a
        // commit durable when it returns.
        SqlBackend::Sqlite => &[
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
            // Wait up to 15 s for another process's write lock before failing.
            "PRAGMA busy_timeout = 15000",
        ],
        // READ COMMITTED: no gap locks on the index scans of writes, so concurrent
        // writes to different entries do not deadlock each other.
        SqlBackend::MySql => &["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"],
        SqlBackend::Postgres => &[],
    }
}

/// The URL without its password, for error messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// Turns an insert's unique violation into the kind's "exists" fault.
fn exists_or_failure(
    kind: EntryKind,
    name: &str,
    step: &'static str,
) -> impl FnOnce(sqlx::Error) -> ServiceError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => exists_fault(kind, name),
        _ => SqlDirectoryError::Database { step, source: e }.into(),
    }
}

/// Refuses edits to `zimbraId`, which is the row's key.
fn check_edits(edits: &[AttrEdit]) -> ServiceResult<()> {
    if edits
        .iter()
        .any(|e| e.name().eq_ignore_ascii_case(A_ZIMBRA_ID))
    {
        return Err(ServiceError::invalid_request("zimbraId cannot be modified"));
    }
    Ok(())
}

impl SqlDirectory {
    /// Rename plus attribute edits in one transaction; [`Directory::rename_entry`] and
    /// [`Directory::modify_entry`] are both this with one half empty.
    async fn change(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: Option<&str>,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        check_edits(edits)?;
        let b = self.backend;
        let mut tx = self.write_tx().await?;
        rows::lock_entry(&mut tx, b, id).await?;
        let Some(mut entry) = rows::load_by_id(&mut *tx, b, id).await? else {
            return Err(no_such_fault(kind, &id.to_string()));
        };
        if entry.kind != kind {
            return Err(no_such_fault(kind, &id.to_string()));
        }

        // The addresses the index holds for the entry, before this change.
        let old_addresses = addresses::address_set(&entry.name, &entry.attrs);
        if let Some(new_name) = new_name {
            entry.name = new_name.trim().to_string();
            rows::update_name(&mut tx, b, &entry)
                .await
                .map_err(exists_or_failure(kind, &entry.name, "rename entry"))?;
        }
        let mut changed = Vec::new();
        if !edits.is_empty() {
            let before = entry.attrs.clone();
            for edit in edits {
                entry.attrs.apply(edit);
            }
            entry.attrs.set_one(A_ZIMBRA_ID, id.to_string());
            changed = rows::write_changed_attrs(&mut tx, b, id, &before, &entry.attrs).await?;
        }
        // The prefix rows follow the name and the name-like attributes, the address rows
        // the name and the aliases: an edit of neither (a token id, a lockout time, a
        // preference) leaves them as they are.
        let renamed = new_name.is_some();
        if renamed || changed.iter().any(|n| prefixes::is_prefix_attr(n)) {
            prefixes::write(&mut tx, b, &entry).await?;
        }
        let aliases = A_MAIL_ALIAS.to_ascii_lowercase();
        if is_address_kind(kind) && (renamed || changed.contains(&aliases)) {
            addresses::update_addresses(&mut tx, b, &entry, &old_addresses).await?;
        }

        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit change"))?;
        Ok(entry)
    }
}

#[async_trait]
impl Directory for SqlDirectory {
    async fn create_entry_with_id(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        name: &str,
        mut attrs: Attrs,
    ) -> ServiceResult<Entry> {
        attrs.set_one(A_ZIMBRA_ID, id.to_string());
        let entry = Entry {
            kind,
            id,
            name: name.trim().to_string(),
            attrs,
        };

        let b = self.backend;
        let mut tx = self.write_tx().await?;
        let retired: i64 =
            sqlx::query_scalar(b.sql("SELECT COUNT(*) FROM directory_retired_ids WHERE id = ?"))
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(SqlDirectoryError::db("check retired ids"))?;
        if retired > 0 {
            return Err(ServiceError::invalid_request(format!(
                "zimbraId {id} belonged to a deleted entry; ids are never reused"
            )));
        }
        rows::insert_entry(&mut tx, b, &entry)
            .await
            .map_err(exists_or_failure(kind, &entry.name, "insert entry"))?;
        rows::write_attrs(&mut tx, b, &entry).await?;
        prefixes::insert(&mut tx, b, &entry).await?;
        if is_address_kind(kind) {
            rows::write_addresses(&mut tx, b, &entry).await?;
        }
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit create"))?;
        tracing::debug!(kind = %kind, id = %id, name = %entry.name, "directory entry created");
        Ok(entry)
    }

    async fn get_entry(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Option<Entry>> {
        let b = self.backend;
        let found = match key {
            EntryKey::Id(id) => rows::load_by_id(&self.pool, b, *id).await?,
            EntryKey::Name(name) => {
                rows::load_by_name(&self.pool, b, kind, &lower_name(name)).await?
            }
        };
        Ok(found.filter(|e| e.kind == kind))
    }

    async fn modify_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.change(kind, id, None, edits).await
    }

    async fn rename_entry(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
    ) -> ServiceResult<Entry> {
        self.change(kind, id, Some(new_name), &[]).await
    }

    async fn rename_and_modify(
        &self,
        kind: EntryKind,
        id: ZimbraId,
        new_name: &str,
        edits: &[AttrEdit],
    ) -> ServiceResult<Entry> {
        self.change(kind, id, Some(new_name), edits).await
    }

    async fn delete_entry(&self, kind: EntryKind, id: ZimbraId) -> ServiceResult<()> {
        let mut tx = self.write_tx().await?;
        let deleted = rows::delete(&mut tx, self.backend, kind, id).await?;
        if !deleted {
            return Err(no_such_fault(kind, &id.to_string()));
        }
        sqlx::query(
            self.backend
                .sql("INSERT INTO directory_retired_ids (id, kind) VALUES (?, ?)"),
        )
        .bind(id.to_string())
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await
        .map_err(SqlDirectoryError::db("retire id"))?;
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit delete"))?;
        tracing::debug!(kind = %kind, id = %id, "directory entry deleted");
        Ok(())
    }

    async fn list_entries(
        &self,
        kind: EntryKind,
        domain: Option<&str>,
    ) -> ServiceResult<Vec<Entry>> {
        let domain = domain.map(lower_name);
        let list = rows::list(&self.pool, self.backend, kind, domain.as_deref()).await?;
        Ok(list)
    }

    async fn search_entries(
        &self,
        q: &crate::search::SearchQuery,
    ) -> ServiceResult<crate::search::SearchResults> {
        search::search(&self.pool, self.backend, q).await
    }

    async fn find_by_address(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        let found = rows::load_by_address(&self.pool, self.backend, &lower_name(addr)).await?;
        Ok(found)
    }

    async fn count_addresses_in_domain(&self, domain: &str) -> ServiceResult<u64> {
        let n: i64 = sqlx::query_scalar(
            self.backend
                .sql("SELECT COUNT(*) FROM directory_addresses WHERE domain = ?"),
        )
        .bind(lower_name(domain))
        .fetch_one(&self.pool)
        .await
        .map_err(SqlDirectoryError::db("count addresses"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
