//! `SqlDirectory`: the [`Directory`] backend on SQL through sqlx (SQLite today).
//!
//! In charge of the tables described in [`schema`], of keeping names and addresses
//! unique, and of sharing one database file between processes (the server and `zmprov`):
//! WAL journaling, a busy timeout, and `BEGIN IMMEDIATE` for every write so two writers
//! queue instead of failing on a lock upgrade. Not in charge of validation or defaults.

mod rows;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, ServiceError, ServiceResult, ZimbraId};

use crate::directory::{
    A_ZIMBRA_ID, Directory, EntryKey, exists_fault, is_address_kind, no_such_fault,
};
use crate::names::lower_name;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections kept per handle; SQLite serialises writers anyway.
const MAX_CONNECTIONS: u32 = 4;

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

/// A [`Directory`] stored in an SQL database. Cheap to clone handles are not offered:
/// share it behind an `Arc`.
#[derive(Debug)]
pub struct SqlDirectory {
    pool: SqlitePool,
}

impl SqlDirectory {
    /// Opens (creating if missing) the SQLite directory file at `path`, switches it to
    /// WAL mode so other processes can read while one writes, sets a busy timeout, and
    /// creates or checks the schema.
    ///
    /// # Errors
    /// `service.FAILURE` when the file cannot be opened or was written by a newer schema.
    pub async fn open_sqlite(path: &Path) -> ServiceResult<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(opts)
            .await
            .map_err(SqlDirectoryError::db("open"))?;
        let dir = SqlDirectory { pool };

        let mut tx = dir.write_tx().await?;
        schema::ensure(&mut tx).await?;
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit schema"))?;
        tracing::debug!(path = %path.display(), "directory database open");
        Ok(dir)
    }

    /// Closes every connection; later calls fail. Waits for running statements.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction that holds the database write lock from its first statement.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, SqlDirectoryError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(SqlDirectoryError::db("begin write"))
    }

    /// A read transaction: one consistent snapshot across the statements it runs.
    async fn read_tx(&self) -> Result<Transaction<'static, Sqlite>, SqlDirectoryError> {
        self.pool
            .begin()
            .await
            .map_err(SqlDirectoryError::db("begin read"))
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
        let mut tx = self.write_tx().await?;
        let Some(mut entry) = rows::load_by_id(&mut tx, id).await? else {
            return Err(no_such_fault(kind, &id.to_string()));
        };
        if entry.kind != kind {
            return Err(no_such_fault(kind, &id.to_string()));
        }

        if let Some(new_name) = new_name {
            entry.name = new_name.trim().to_string();
            rows::update_name(&mut tx, &entry)
                .await
                .map_err(exists_or_failure(kind, &entry.name, "rename entry"))?;
        }
        if !edits.is_empty() {
            for edit in edits {
                entry.attrs.apply(edit);
            }
            entry.attrs.set_one(A_ZIMBRA_ID, id.to_string());
            rows::write_attrs(&mut tx, &entry).await?;
        }
        if is_address_kind(kind) {
            rows::write_addresses(&mut tx, &entry).await?;
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

        let mut tx = self.write_tx().await?;
        rows::insert_entry(&mut tx, &entry)
            .await
            .map_err(exists_or_failure(kind, &entry.name, "insert entry"))?;
        rows::write_attrs(&mut tx, &entry).await?;
        if is_address_kind(kind) {
            rows::write_addresses(&mut tx, &entry).await?;
        }
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("commit create"))?;
        tracing::debug!(kind = %kind, id = %id, name = %entry.name, "directory entry created");
        Ok(entry)
    }

    async fn get_entry(&self, kind: EntryKind, key: &EntryKey) -> ServiceResult<Option<Entry>> {
        let mut tx = self.read_tx().await?;
        let found = match key {
            EntryKey::Id(id) => rows::load_by_id(&mut tx, *id).await?,
            EntryKey::Name(name) => rows::load_by_name(&mut tx, kind, &lower_name(name)).await?,
        };
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("end read"))?;
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
        let deleted = rows::delete(&mut tx, kind, id).await?;
        if !deleted {
            return Err(no_such_fault(kind, &id.to_string()));
        }
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
        let mut tx = self.read_tx().await?;
        let domain = domain.map(lower_name);
        let list = rows::list(&mut tx, kind, domain.as_deref()).await?;
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("end read"))?;
        Ok(list)
    }

    async fn find_by_address(&self, addr: &str) -> ServiceResult<Option<Entry>> {
        let mut tx = self.read_tx().await?;
        let found = rows::load_by_address(&mut tx, &lower_name(addr)).await?;
        tx.commit()
            .await
            .map_err(SqlDirectoryError::db("end read"))?;
        Ok(found)
    }

    async fn count_addresses_in_domain(&self, domain: &str) -> ServiceResult<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM directory_addresses WHERE domain = ?")
                .bind(lower_name(domain))
                .fetch_one(&self.pool)
                .await
                .map_err(SqlDirectoryError::db("count addresses"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
