//! Mailbox lifecycle and upkeep: maintenance mode, quota warnings
//! (`zimbraQuotaWarnPercent` with `zimbraQuotaLastWarnTime` semantics) and the sweep of
//! orphaned blobs (written before a crash whose redo record never made it, or left by
//! a crash between a delete's commit and its blob removal).
//!
//! Mailbox deletion itself is [`Store::delete_mailbox`]: one logged record whose
//! application removes every row (items, dumpster, revisions, tombstones, grants)
//! in one transaction; blobs are removed after the commit, and a crash in between
//! leaves orphans this sweep removes.

use std::time::{Duration, SystemTime};

use zcs_core::ZimbraId;

use crate::error::{DbContext, StoreError};
use crate::item_types::{QuotaWarning, SweepReport};
use crate::mailbox::Mailbox;
use crate::store::{BLOB_REFS, Store};

/// How old an unreferenced blob must be before [`Store::sweep_orphan_blobs`] removes
/// it: far longer than any write-to-commit window.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

impl Store {
    /// The metadata database's own consistency check (`zmdbintegrityreport`): an empty
    /// list when it is sound, else the problems SQLite reports. Reads the whole
    /// database; heavy on I/O.
    ///
    /// # Errors
    /// The check could not run.
    pub async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.inner.pool)
            .await
            .db("integrity check")?;
        Ok(rows
            .into_iter()
            .map(|(r,)| r)
            .filter(|r| r != "ok")
            .collect())
    }

    /// Refreshes the query planner's statistics (`zmmaintaintables`).
    ///
    /// # Errors
    /// The database refused.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE")
            .execute(&self.inner.pool)
            .await
            .db("analyze")?;
        Ok(())
    }

    /// Puts `account`'s mailbox in maintenance mode (`on`) or takes it out. While in
    /// maintenance, every read and change on it fails with
    /// [`StoreError::Maintenance`] (`mail.MAINTENANCE`), deliveries included (the
    /// server answers them with a temporary failure). Turning it on waits for the
    /// change in progress, if any, to finish. Kept in memory, as in Zimbra: a restart
    /// clears it. [`Store::delete_mailbox`] works in maintenance mode.
    pub async fn set_maintenance(&self, account: ZimbraId, on: bool) -> Result<(), StoreError> {
        let lock = self
            .inner
            .mailbox_id(account)
            .await?
            .map(|id| self.inner.lock_for(id));
        let _guard = match &lock {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        let mut set = self
            .inner
            .maintenance
            .lock()
            .map_err(|_| StoreError::Internal("maintenance set poisoned".into()))?;
        if on {
            set.insert(account);
        } else {
            set.remove(&account);
        }
        tracing::info!(%account, maintenance = on, "mailbox maintenance mode");
        Ok(())
    }

    /// Logs that `account`'s mailbox was just restored from mailbox `source_mailbox` of
    /// the full backup session `label` ([`RedoOp::RestoreMailbox`]), so incremental
    /// backups carry the restore and a later point-in-time restore or replay starts
    /// the mailbox over from that session instead of replaying the history the restore
    /// replaced. Call it after the rows are replaced and before replaying later
    /// records. Returns the record's sequence; `None` without a mailbox.
    ///
    /// # Errors
    /// The redo log cannot be written.
    pub async fn log_restore(
        &self,
        account: ZimbraId,
        label: &str,
        source_mailbox: i64,
    ) -> Result<Option<u64>, StoreError> {
        let Some(id) = self.inner.mailbox_id(account).await? else {
            return Ok(None);
        };
        let lock = self.inner.lock_for(id);
        let _guard = lock.lock().await;
        let op = crate::redo::RedoOp::RestoreMailbox {
            account,
            label: label.to_string(),
            source_mailbox,
        };
        self.inner.log_and_apply(id, op).await?;
        self.inner.flag_cache.forget_mailbox(id.0);
        let seq: i64 = sqlx::query_scalar("SELECT last_redo_seq FROM mailbox WHERE id = ?")
            .bind(id.0)
            .fetch_one(&self.inner.pool)
            .await
            .db("read restore sequence")?;
        Ok(Some(seq.max(0) as u64))
    }

    /// Whether `account`'s mailbox is in maintenance mode.
    pub fn in_maintenance(&self, account: ZimbraId) -> bool {
        self.inner.in_maintenance(account)
    }

    /// Removes blobs no item, dumpster item or document revision references and that
    /// were written more than [`ORPHAN_GRACE`] ago. Blobs being written (pinned) are
    /// never removed. Cost: a walk of the whole volume and one count per blob.
    ///
    /// # Errors
    /// Listing the volume; removal failures are logged and the blob kept.
    pub async fn sweep_orphan_blobs(&self) -> Result<SweepReport, StoreError> {
        self.sweep_orphan_blobs_older_than(ORPHAN_GRACE).await
    }

    /// [`Store::sweep_orphan_blobs`] with a grace period of `grace`.
    pub async fn sweep_orphan_blobs_older_than(
        &self,
        grace: Duration,
    ) -> Result<SweepReport, StoreError> {
        let blobs = self.inner.blobs.clone();
        let listed = tokio::task::spawn_blocking(move || blobs.list())
            .await
            .map_err(|e| StoreError::Internal(format!("sweep task failed: {e}")))??;
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = SweepReport {
            examined: listed.len(),
            ..SweepReport::default()
        };
        for (digest, modified) in listed {
            // Under the write lock no commit can add a reference between the count and
            // the removal (as in `Inner::release_blobs`).
            let _w = self.inner.db_write.lock().await;
            let refs: i64 = sqlx::query_scalar(BLOB_REFS)
                .bind(&digest)
                .fetch_one(&self.inner.pool)
                .await
                .db("count blob references")?;
            if refs > 0 {
                continue;
            }
            if modified > cutoff {
                report.young += 1;
                continue;
            }
            let blobs = self.inner.blobs.clone();
            let removed = tokio::task::spawn_blocking(move || blobs.remove_unless_pinned(&digest))
                .await
                .map_err(|e| StoreError::Internal(format!("sweep task failed: {e}")))?;
            match removed {
                Ok(true) => report.removed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove an orphaned blob"),
            }
        }
        if report.removed > 0 {
            tracing::info!(?report, "orphaned blobs swept");
        }
        Ok(report)
    }
}

impl Mailbox {
    /// Whether to send the quota warning now (`zimbraQuotaWarnPercent`): `Some` when
    /// usage is at or above `warn_percent` of this handle's quota and no warning was
    /// reported within `interval_ms` (`zimbraQuotaWarnInterval`; 0 reports once per
    /// crossing). Reporting records `now_ms` as the last warning time (Zimbra's
    /// `zimbraQuotaLastWarnTime`, kept on the mailbox); dropping back under the
    /// threshold clears it, so the next crossing reports again. `None` without a quota
    /// or with `warn_percent` 0.
    ///
    /// The time is not logged in the redo log: after a lost database a warning may be
    /// sent once more, which is harmless.
    pub async fn quota_warning(
        &self,
        now_ms: i64,
        warn_percent: u32,
        interval_ms: i64,
    ) -> Result<Option<QuotaWarning>, StoreError> {
        let quota = self.quota();
        if quota == 0 || warn_percent == 0 {
            return Ok(None);
        }
        let used = self.quota_usage().await?;
        let threshold = (u128::from(quota) * u128::from(warn_percent.min(100)) / 100) as u64;
        let last: i64 = sqlx::query_scalar("SELECT quota_last_warn_ms FROM mailbox WHERE id = ?")
            .bind(self.id().0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read quota warning time")?
            .ok_or_else(|| StoreError::NoSuchMailbox(self.account().to_string()))?;
        let (set_to, warn) = if used < threshold {
            (0, false)
        } else if last == 0 || (interval_ms > 0 && now_ms.saturating_sub(last) >= interval_ms) {
            (now_ms.max(1), true)
        } else {
            (last, false)
        };
        if set_to != last {
            let _w = self.inner.db_write.lock().await;
            sqlx::query("UPDATE mailbox SET quota_last_warn_ms = ? WHERE id = ?")
                .bind(set_to)
                .bind(self.id().0)
                .execute(&self.inner.pool)
                .await
                .db("record quota warning time")?;
        }
        if warn {
            tracing::info!(mailbox = self.id().0, used, quota, "quota warning due");
        }
        Ok(warn.then_some(QuotaWarning {
            used,
            quota,
            percent: warn_percent,
        }))
    }
}
