//! Moving mailboxes in and out of a store for backup and restore: a consistent copy of
//! the metadata database taken while a server runs, the blobs a mailbox references, the
//! import of one mailbox's rows from such a copy into a (new or wiped) mailbox, and the
//! replay of redo records from another store into a mailbox of this one.
//!
//! It does not know backup sessions, catalogs or accounts' directory entries: that is
//! `zcs-backup`'s job. Imports bypass quota (a restore is never refused for size).

// Database copies are SQLite files whatever engine the live store runs on; imports
// write through the metadata seam (`crate::row_copy`), so they work on every engine.
// LIMITATION: `snapshot_database` copies an SQLite store only (`VACUUM INTO`).

use std::path::{Path, PathBuf};

use sqlx::Connection;
use zcs_core::{MailboxId, ZimbraId};

use crate::blob::BlobStore;
use crate::error::{DbContext, StoreError};
use crate::redo::{RedoOp, RedoRecord};
use crate::row_copy::{CopyMode, connect, copy_mailbox};
use crate::store::{Store, spawn};

/// One mailbox as recorded in a database copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxInfo {
    /// The mailbox id in the copied store.
    pub id: i64,
    /// The owning account's `zimbraId`.
    pub account: String,
    /// The last redo sequence applied to this mailbox in the copy: records of this
    /// mailbox above it are not in the copy.
    pub last_redo_seq: u64,
}

/// What a database copy holds, read back from the copy itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Every redo record at or below this sequence is in the copy.
    pub redo_checkpoint: u64,
    /// The highest redo sequence applied in the copy.
    pub redo_high_seq: u64,
    /// The mailboxes in the copy, by id.
    pub mailboxes: Vec<MailboxInfo>,
}

/// What [`Store::import_mailbox`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The mailbox id the account got in this store.
    pub mailbox: i64,
    /// Rows copied, all tables together.
    pub rows: u64,
    /// Blobs written into this store's volume (those already present are not counted).
    pub blobs_copied: u64,
}

/// What [`Store::replay_into`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records applied.
    pub applied: u64,
    /// Records skipped on purpose (aborted ops, mailbox lifecycle, deletes when asked).
    pub skipped: u64,
    /// Records that failed (only counted when the caller asked to go on).
    pub failed: u64,
}

/// Copies the database at `db` into the new file `dest` as one consistent snapshot
/// (`VACUUM INTO`), safe while a server writes to `db` (readers never block its writer
/// in WAL mode). Then reads back what the copy holds.
///
/// Cost: reads the whole database and writes it once.
///
/// # Errors
/// `dest` already exists, or the database cannot be read or written.
pub async fn snapshot_database(db: &Path, dest: &Path) -> Result<SnapshotInfo, StoreError> {
    if dest.exists() {
        return Err(StoreError::InvalidRequest(format!(
            "{} already exists",
            dest.display()
        )));
    }
    let mut conn = connect(db, true).await?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| StoreError::InvalidRequest("database copy path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest_text)
        .execute(&mut conn)
        .await
        .db("copy database")?;
    conn.close().await.db("close database")?;
    snapshot_info(dest).await
}

/// Reads what the database copy at `path` holds (see [`snapshot_database`]).
///
/// # Errors
/// The file is not a store database.
pub async fn snapshot_info(path: &Path) -> Result<SnapshotInfo, StoreError> {
    let mut conn = connect(path, true).await?;
    let (checkpoint, high): (i64, i64) =
        sqlx::query_as("SELECT redo_checkpoint, redo_high_seq FROM store_state WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .db("read copy state")?;
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, account_id, last_redo_seq FROM mailbox ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .db("read copy mailboxes")?;
    conn.close().await.db("close database copy")?;
    Ok(SnapshotInfo {
        redo_checkpoint: checkpoint.max(0) as u64,
        redo_high_seq: high.max(0) as u64,
        mailboxes: rows
            .into_iter()
            .map(|(id, account, seq)| MailboxInfo {
                id,
                account,
                last_redo_seq: seq.max(0) as u64,
            })
            .collect(),
    })
}

/// The distinct blob digests mailbox `mailbox` references in the database at `path`
/// (messages, dumpster items, document revisions), sorted.
///
/// # Errors
/// The file is not a store database.
pub async fn mailbox_blobs(path: &Path, mailbox: i64) -> Result<Vec<String>, StoreError> {
    let mut conn = connect(path, true).await?;
    let digests: Vec<String> = sqlx::query_scalar(
        "SELECT blob_digest FROM mail_item WHERE mailbox_id = ?1 AND blob_digest IS NOT NULL
         UNION SELECT blob_digest FROM dumpster_item
            WHERE mailbox_id = ?1 AND blob_digest IS NOT NULL
         UNION SELECT blob_digest FROM revision WHERE mailbox_id = ?1 AND blob_digest IS NOT NULL
         ORDER BY 1",
    )
    .bind(mailbox)
    .fetch_all(&mut conn)
    .await
    .db("list mailbox blobs")?;
    conn.close().await.db("close database copy")?;
    Ok(digests)
}

/// The blob digest a redo op brings into the store, if any (what an incremental backup
/// must keep beside the record).
pub fn op_blob(op: &RedoOp) -> Option<&str> {
    match op {
        RedoOp::CreateMessage { digest, .. } => Some(digest),
        RedoOp::SaveDocument(d) => Some(&d.digest),
        RedoOp::ReplaceMessage(m) => Some(&m.digest),
        _ => None,
    }
}

/// Whether a redo op deletes something (what `zmrestore -skipDeletes` leaves out).
pub fn is_delete(op: &RedoOp) -> bool {
    matches!(
        op,
        RedoOp::Delete { .. }
            | RedoOp::DeleteFolder { .. }
            | RedoOp::DeleteItems { .. }
            | RedoOp::DeleteToDumpster { .. }
            | RedoOp::PurgeDumpster { .. }
            | RedoOp::DeleteTag { .. }
    )
}

pub(crate) fn copy_blob(
    store: &Store,
    digest: &str,
    source: &dyn BlobStore,
) -> Result<bool, StoreError> {
    if store.inner.blobs.exists(digest) {
        return Ok(false);
    }
    let raw = source.get(digest)?;
    store.inner.blobs.write(digest, &raw)?;
    Ok(true)
}

impl Store {
    /// Replaces `account`'s mailbox (deleting it first when it has one) by the rows of
    /// mailbox `source_mailbox` in the database copy `source_db`, with the blobs read
    /// from `blobs`. The mailbox keeps `source_mailbox` as its id when this store never
    /// used that id (a disaster recovery keeps ids, so redo logs of the lost server
    /// still name the right mailbox); otherwise it gets a new one. Imported messages
    /// are marked unindexed so the indexer rebuilds their index entries. No quota
    /// applies.
    ///
    /// The delete and the creation are logged; the row copy is one transaction.
    /// LIMITATION: the row copy itself is not a redo record, so a store rebuilt from
    /// redo logs alone (without this database) does not see it: take a full backup
    /// after a restore, as the admin guide says.
    ///
    /// # Errors
    /// A blob the rows reference is missing from `blobs`; database errors.
    pub async fn import_mailbox(
        &self,
        account: ZimbraId,
        source_db: &Path,
        source_mailbox: i64,
        blobs: std::sync::Arc<dyn BlobStore>,
    ) -> Result<ImportReport, StoreError> {
        let digests = mailbox_blobs(source_db, source_mailbox).await?;
        let store = self.clone();
        let copied = tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            for d in &digests {
                n += u64::from(copy_blob(&store, d, blobs.as_ref())?);
            }
            Ok::<u64, StoreError>(n)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("blob copy task failed: {e}")))??;

        self.delete_mailbox(account).await?;
        let id = self.create_mailbox_with_id(account, source_mailbox).await?;
        let source_db: PathBuf = source_db.to_path_buf();
        let inner = self.inner.clone();
        let rows = spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            let _w = inner.db_write.lock().await;
            let rows = copy_mailbox(
                &inner.pool,
                &source_db,
                source_mailbox,
                id,
                CopyMode::Import,
            )
            .await;
            inner.flag_cache.forget_mailbox(id.0);
            rows
        })
        .await?;
        tracing::info!(%account, mailbox = id.0, rows, blobs = copied, "mailbox imported");
        Ok(ImportReport {
            mailbox: id.0,
            rows,
            blobs_copied: copied,
        })
    }

    /// Creates an empty mailbox for `account` (system folders only), with id `wanted`
    /// when this store never used it, else the next id. Logged like any creation.
    async fn create_mailbox_with_id(
        &self,
        account: ZimbraId,
        wanted: i64,
    ) -> Result<MailboxId, StoreError> {
        let inner = self.inner.clone();
        spawn(async move {
            let used: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM mailbox WHERE id = ?1)
                    + (SELECT COUNT(*) FROM deleted_mailbox WHERE id = ?1)",
            )
            .bind(wanted)
            .fetch_one(&inner.pool)
            .await
            .db("check mailbox id")?;
            let next: i64 =
                sqlx::query_scalar("SELECT next_mailbox_id FROM store_state WHERE id = 1")
                    .fetch_one(&inner.pool)
                    .await
                    .db("read next mailbox id")?;
            let id = MailboxId(if used == 0 && wanted > 0 {
                wanted
            } else {
                next
            });
            let base = (chrono::Utc::now().timestamp() as u64 & 0x7fff_ffff) as u32;
            let op = RedoOp::CreateMailbox {
                account,
                uid_validity_base: base,
            };
            inner.log_and_apply(id, op).await?;
            Ok(id)
        })
        .await
    }

    /// Applies `records` (redo records of another store, all for one mailbox there) to
    /// `account`'s mailbox in this store, creating it when missing. Each is logged here
    /// anew, so it is durable on return. Aborted ops, mailbox creation and deletion are
    /// skipped, and deletes too when `skip_deletes` (`zmrestore -skipDeletes`). Blobs
    /// the records bring are read from `blobs`.
    ///
    /// With `keep_going`, a failing record is counted and the next one tried
    /// (`--ignoreRedoErrors`); otherwise the first failure stops the replay.
    ///
    /// # Errors
    /// The first failure when not `keep_going`; a missing mailbox that cannot be made.
    pub async fn replay_into(
        &self,
        account: ZimbraId,
        records: &[RedoRecord],
        blobs: std::sync::Arc<dyn BlobStore>,
        skip_deletes: bool,
        keep_going: bool,
    ) -> Result<ReplayReport, StoreError> {
        let mb = self.mailbox(account).await?;
        let aborted: std::collections::HashSet<u64> = records
            .iter()
            .filter_map(|r| match r.op {
                RedoOp::Abort { seq } => Some(seq),
                _ => None,
            })
            .collect();
        let mut report = ReplayReport::default();
        for rec in records {
            let skip = matches!(
                rec.op,
                RedoOp::Abort { .. } | RedoOp::CreateMailbox { .. } | RedoOp::DeleteMailbox
            ) || aborted.contains(&rec.seq)
                || (skip_deletes && is_delete(&rec.op));
            if skip {
                report.skipped += 1;
                continue;
            }
            match self.replay_one(mb.id(), rec, blobs.clone()).await {
                Ok(()) => report.applied += 1,
                Err(e) if keep_going => {
                    tracing::warn!(%account, seq = rec.seq, error = %e, "redo record failed");
                    report.failed += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn replay_one(
        &self,
        id: MailboxId,
        rec: &RedoRecord,
        blobs: std::sync::Arc<dyn BlobStore>,
    ) -> Result<(), StoreError> {
        if let Some(d) = op_blob(&rec.op) {
            let store = self.clone();
            let d = d.to_string();
            tokio::task::spawn_blocking(move || copy_blob(&store, &d, blobs.as_ref()))
                .await
                .map_err(|e| StoreError::Internal(format!("blob copy task failed: {e}")))??;
        }
        let inner = self.inner.clone();
        let op = rec.op.clone();
        spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            inner.log_and_apply(id, op).await
        })
        .await
    }
}
