//! Restoring a mailbox over the one an account already has, while the server serves it:
//! the rows of a database copy replace the mailbox's rows in one transaction under the
//! mailbox's lock, keeping the mailbox id (so open sessions keep a valid handle), and
//! the mailbox gets a new UIDVALIDITY base so every IMAP client sees the change as a
//! new mailbox (RFC 3501 §2.3.1.1) instead of UIDs whose messages changed. Item ids
//! never go back: new items get ids above anything the live mailbox handed out.
//!
//! Also in charge of marking a restored mailbox's items indexed when the caller put
//! their index documents back itself. The first restore into a store without that
//! account's mailbox is [`Store::import_mailbox`]'s job.

use std::path::Path;
use std::sync::Arc;

use zcs_core::ZimbraId;

use crate::blob::BlobStore;
use crate::error::{DbContext, StoreError};
use crate::row_copy::{CopyMode, copy_mailbox};
use crate::store::{Store, spawn};
use crate::transfer::{ImportReport, copy_blob, mailbox_blobs};

impl Store {
    /// Replaces `account`'s mailbox by mailbox `source_mailbox` of the database copy
    /// `source_db`, blobs read from `blobs`. When the account has a mailbox, its id is
    /// kept, its rows are replaced in one transaction under its lock (concurrent
    /// changes wait; readers see the old or the new state, never a mix), item and
    /// change counters only go up and its UIDVALIDITY base changes. Without a
    /// mailbox this is [`Store::import_mailbox`]. Items are marked unindexed. Quota
    /// never applies; maintenance mode is cleared.
    ///
    /// LIMITATION: as for imports, the row copy is not a redo record.
    ///
    /// # Errors
    /// A blob the rows reference is missing from `blobs`; database errors.
    pub async fn replace_mailbox(
        &self,
        account: ZimbraId,
        source_db: &Path,
        source_mailbox: i64,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<ImportReport, StoreError> {
        let Some(id) = self.inner.mailbox_id(account).await? else {
            return self
                .import_mailbox(account, source_db, source_mailbox, blobs)
                .await;
        };
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
        let source = source_db.to_path_buf();
        let inner = self.inner.clone();
        let rows = spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            let _w = inner.db_write.lock().await;
            let rows =
                copy_mailbox(&inner.pool, &source, source_mailbox, id, CopyMode::Replace).await;
            inner.flag_cache.forget_mailbox(id.0);
            rows
        })
        .await?;
        self.inner
            .maintenance
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&account);
        tracing::info!(%account, mailbox = id.0, rows, blobs = copied, "mailbox replaced");
        Ok(ImportReport {
            mailbox: id.0,
            rows,
            blobs_copied: copied,
        })
    }

    /// Marks every item of `account`'s mailbox indexed (`indexed = 1`): the caller
    /// has put their index documents back itself (a restore that carried the index),
    /// so the indexer does not parse them again. No-op without a mailbox.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mark_mailbox_indexed(&self, account: ZimbraId) -> Result<(), StoreError> {
        let Some(id) = self.inner.mailbox_id(account).await? else {
            return Ok(());
        };
        let inner = self.inner.clone();
        spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            let _w = inner.db_write.lock().await;
            sqlx::query("UPDATE mail_item SET indexed = 1 WHERE mailbox_id = ?")
                .bind(id.0)
                .execute(&inner.pool)
                .await
                .db("mark items indexed")?;
            Ok(())
        })
        .await
    }
}
