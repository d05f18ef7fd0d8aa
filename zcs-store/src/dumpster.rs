//! The dumpster and purge on a [`Mailbox`]: listing, recovering and removing
//! hard-deleted messages (`zimbraDumpsterEnabled`), emptying a folder, and the purge
//! of messages past their lifetimes (`zimbraMailMessageLifetime`,
//! `zimbraMailTrashLifetime`, `zimbraMailSpamLifetime`) and of the dumpster past
//! `zimbraMailDumpsterLifetime` unless legal hold (`zimbraDumpsterPurgeEnabled` false).
//!
//! Purge pacing between mailboxes (`zimbraMailPurgeSleepInterval`) is the caller's
//! loop; this module purges one mailbox when asked.
//!
//! Contacts, calendar items and documents enter the dumpster too (see
//! `crate::dumpster_items`); their dumpster lifetime is the same. Folder retention
//! policies (`crate::retention`) add their purge thresholds to the account lifetimes:
//! a message goes at the earliest of them.
//!
//! LIMITATION: folder retention disposes of messages only; a contact, calendar item or
//! document in a folder with a purge policy stays.

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;
use zcs_core::{ItemId, folder};

use crate::error::{DbContext, StoreError};
use crate::item_types::{DumpsterItem, PurgePolicy, PurgeReport};
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::rows;
use crate::types::MessageMeta;

impl Mailbox {
    /// The messages in the dumpster, most recently deleted first.
    pub async fn dumpster_items(&self) -> Result<Vec<DumpsterItem>, StoreError> {
        self.check_maintenance()?;
        let rows = sqlx::query(
            "SELECT id, folder_id, size, subject, sender, date, deleted_ms, deleted_change,
                blob_digest FROM dumpster_item WHERE mailbox_id = ?
             ORDER BY deleted_change DESC, id",
        )
        .bind(self.id().0)
        .fetch_all(&self.inner.pool)
        .await
        .db("list dumpster")?;
        rows.iter()
            .map(|r| {
                let get = |n: &'static str| r.try_get::<i64, _>(n).db("read dumpster row");
                Ok(DumpsterItem {
                    id: ItemId(get("id")? as i32),
                    folder: ItemId(get("folder_id")? as i32),
                    size: get("size")?.max(0) as u64,
                    subject: r.try_get("subject").db("read dumpster row")?,
                    sender: r.try_get("sender").db("read dumpster row")?,
                    date_ms: get("date")?,
                    deleted_ms: get("deleted_ms")?,
                    deleted_change: get("deleted_change")?,
                    blob_digest: r.try_get("blob_digest").db("read dumpster row")?,
                })
            })
            .collect()
    }

    /// Brings messages back from the dumpster ("recover deleted items"): into `to`
    /// when given, else the folder each was deleted from, or Inbox when that folder is
    /// gone. Each keeps its id and gets a new IMAP UID. Ids not in the dumpster are
    /// ignored. Returns the recovered messages.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER` for a missing `to`; `mail.QUOTA_EXCEEDED` past the
    /// handle's quota.
    pub async fn recover_from_dumpster(
        &self,
        ids: &[ItemId],
        to: Option<ItemId>,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let ids = crate::messages::dedup(ids);
        let recovered = self
            .locked(move |mb| async move {
                let (folders, _) = mb.folder_rows().await?;
                if let Some(t) = to
                    && !folders.contains_key(&t.0)
                {
                    return Err(StoreError::no_such_folder(t));
                }
                let present: Vec<DumpsterItem> = mb
                    .dumpster_items()
                    .await?
                    .into_iter()
                    .filter(|d| ids.contains(&d.id))
                    .collect();
                if present.is_empty() {
                    return Ok(Vec::new());
                }
                mb.check_quota(present.iter().map(|d| d.size).sum()).await?;
                let st = mb.state().await?;
                let items: Vec<(i32, i32, i32)> = present
                    .iter()
                    .zip(st.item_id + 1..)
                    .map(|(d, uid)| {
                        let dest = to.map(|t| t.0).unwrap_or(
                            if folders.contains_key(&d.folder.0) && d.folder.0 != folder::ROOT {
                                d.folder.0
                            } else {
                                folder::INBOX
                            },
                        );
                        (d.id.0, dest, uid)
                    })
                    .collect();
                let out: Vec<ItemId> = items.iter().map(|(id, _, _)| ItemId(*id)).collect();
                mb.commit(RedoOp::RecoverFromDumpster {
                    change: st.change + 1,
                    items,
                })
                .await?;
                Ok(out)
            })
            .await?;
        self.metas(&recovered).await
    }

    /// Removes messages and other items from the dumpster for good (`dumpsterdelete`);
    /// their blobs go when unreferenced. Ids not in the dumpster are ignored.
    pub async fn purge_dumpster(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let ids = crate::messages::dedup(ids);
        self.locked(move |mb| async move {
            let mut present: Vec<i32> = mb
                .dumpster_items()
                .await?
                .into_iter()
                .filter(|d| ids.contains(&d.id))
                .map(|d| d.id.0)
                .collect();
            present.extend(
                mb.dumpster_entries()
                    .await?
                    .into_iter()
                    .filter(|e| ids.contains(&e.id))
                    .map(|e| e.id.0),
            );
            if present.is_empty() {
                return Ok(());
            }
            let st = mb.state().await?;
            mb.commit(RedoOp::PurgeDumpster {
                change: st.change + 1,
                ids: present,
            })
            .await
        })
        .await
    }

    /// Deletes every item in `folder` (not its subfolders) as [`Mailbox::delete_items`]
    /// does: messages into the dumpster when it is enabled. Returns the ids deleted.
    pub async fn empty_folder(&self, folder: ItemId) -> Result<Vec<ItemId>, StoreError> {
        let mut ids: Vec<ItemId> = self.messages(folder).await?.iter().map(|m| m.id).collect();
        ids.extend(self.contacts(folder).await?.iter().map(|c| c.id));
        ids.extend(self.cal_items(folder).await?.iter().map(|c| c.id));
        ids.extend(self.documents(folder).await?.iter().map(|d| d.id));
        self.delete_items(&ids).await?;
        Ok(ids)
    }

    /// Purges what `policy` says has lived too long, at time `now_ms`: messages older
    /// than the message lifetime (by internal date), messages in Trash and Junk (and
    /// their subfolders) unchanged for longer than their lifetimes, hard-deleted in one
    /// change (into the dumpster when `policy.dumpster_enabled`); contacts, calendar
    /// items and documents in Trash and Junk since longer than those lifetimes (since
    /// their move there, or their creation there), in a second change (into the
    /// dumpster likewise); then dumpster items
    /// deleted longer ago than the dumpster lifetime, unless dumpster purge is off
    /// (legal hold). Returns what was removed.
    ///
    /// Cost: three indexed scans and at most two changes.
    pub async fn purge(&self, now_ms: i64, policy: PurgePolicy) -> Result<PurgeReport, StoreError> {
        self.purge_with(now_ms, policy, HashMap::new()).await
    }

    /// [`Mailbox::purge`], with the lifetimes of the system retention policies
    /// (`zimbraMailPurgeSystemPolicy`, by policy id, in ms) that folder policies may
    /// reference; a folder policy naming an unknown system policy disposes of nothing.
    /// A folder's purge policy disposes of its messages by internal date and of its
    /// contacts, appointments, tasks and documents by when they entered the folder.
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge_with(
        &self,
        now_ms: i64,
        policy: PurgePolicy,
        system: HashMap<String, i64>,
    ) -> Result<PurgeReport, StoreError> {
        self.locked(move |mb| async move {
            let mut report = PurgeReport {
                to_dumpster: policy.dumpster_enabled,
                ..PurgeReport::default()
            };
            let (folders, _) = mb.folder_rows().await?;
            let mut doomed: BTreeSet<i32> = BTreeSet::new();
            if policy.message_lifetime_ms > 0 {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM mail_item WHERE mailbox_id = ? AND date < ?",
                )
                .bind(mb.id().0)
                .bind(now_ms.saturating_sub(policy.message_lifetime_ms))
                .fetch_all(&mb.inner.pool)
                .await
                .db("find expired messages")?;
                doomed.extend(ids.into_iter().map(|i| i as i32));
            }
            for (root, lifetime) in [
                (folder::TRASH, policy.trash_lifetime_ms),
                (folder::JUNK, policy.spam_lifetime_ms),
            ] {
                if lifetime <= 0 || !folders.contains_key(&root) {
                    continue;
                }
                for fid in rows::subtree(&folders, root) {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM mail_item WHERE mailbox_id = ? AND folder_id = ?
                         AND change_date < ?",
                    )
                    .bind(mb.id().0)
                    .bind(fid)
                    .bind(now_ms.saturating_sub(lifetime))
                    .fetch_all(&mb.inner.pool)
                    .await
                    .db("find expired messages")?;
                    doomed.extend(ids.into_iter().map(|i| i as i32));
                }
            }
            // Contacts, calendar items and documents in Trash and Junk, by the time they
            // went there (their last move) or were created there.
            let mut items: BTreeSet<i32> = BTreeSet::new();
            for (root, lifetime) in [
                (folder::TRASH, policy.trash_lifetime_ms),
                (folder::JUNK, policy.spam_lifetime_ms),
            ] {
                if lifetime <= 0 || !folders.contains_key(&root) {
                    continue;
                }
                let before = now_ms.saturating_sub(lifetime);
                for fid in rows::subtree(&folders, root) {
                    items.extend(expired_items(&mb, fid, before).await?);
                }
            }
            // Folder disposal thresholds (RetentionPolicy purge lists), every item kind.
            let (expired, expired_other) = mb.retention_expired(now_ms, &system).await?;
            doomed.extend(expired);
            items.extend(expired_other);
            if !doomed.is_empty() {
                let ids: Vec<i32> = doomed.into_iter().collect();
                report.messages = ids.iter().map(|i| ItemId(*i)).collect();
                let change = mb.state().await?.change + 1;
                let op = if policy.dumpster_enabled {
                    RedoOp::DeleteToDumpster { change, ids }
                } else {
                    RedoOp::Delete { change, ids }
                };
                mb.commit(op).await?;
            }

            if !items.is_empty() {
                let ids: Vec<i32> = items.into_iter().collect();
                report.items = ids.iter().map(|i| ItemId(*i)).collect();
                let change = mb.state().await?.change + 1;
                let op = if policy.dumpster_enabled {
                    RedoOp::DeleteItemsToDumpster { change, ids }
                } else {
                    RedoOp::DeleteItems { change, ids }
                };
                mb.commit(op).await?;
            }

            if policy.dumpster_purge_enabled && policy.dumpster_lifetime_ms > 0 {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM dumpster_item WHERE mailbox_id = ?1 AND deleted_ms < ?2
                     UNION SELECT id FROM dumpster_row WHERE mailbox_id = ?1 AND deleted_ms < ?2
                     ORDER BY 1",
                )
                .bind(mb.id().0)
                .bind(now_ms.saturating_sub(policy.dumpster_lifetime_ms))
                .fetch_all(&mb.inner.pool)
                .await
                .db("find expired dumpster items")?;
                if !ids.is_empty() {
                    let ids: Vec<i32> = ids.into_iter().map(|i| i as i32).collect();
                    report.dumpster_purged = ids.iter().map(|i| ItemId(*i)).collect();
                    let change = mb.state().await?.change + 1;
                    mb.commit(RedoOp::PurgeDumpster { change, ids }).await?;
                }
            }
            if !report.messages.is_empty()
                || !report.items.is_empty()
                || !report.dumpster_purged.is_empty()
            {
                tracing::info!(
                    mailbox = mb.id().0,
                    purged = report.messages.len(),
                    items_purged = report.items.len(),
                    dumpster_purged = report.dumpster_purged.len(),
                    "mailbox purged"
                );
            }
            Ok(report)
        })
        .await
    }
}

/// Contacts, calendar items and documents of folder `fid` that entered it (their last
/// move, from its tombstone in the folder they left) or were created in it before
/// `before` (ms).
pub(crate) async fn expired_items(
    mb: &Mailbox,
    fid: i32,
    before: i64,
) -> Result<Vec<i32>, StoreError> {
    let mut out = Vec::new();
    for table in ["contact", "cal_item", "document"] {
        let sql = format!(
            "SELECT x.id FROM {table} x WHERE x.mailbox_id = ?1 AND x.folder_id = ?2
             AND MAX(x.date, COALESCE((SELECT MAX(t.date) FROM tombstone t
                 WHERE t.mailbox_id = ?1 AND t.item_id = x.id), 0)) < ?3"
        );
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(mb.id().0)
            .bind(fid)
            .bind(before)
            .fetch_all(&mb.inner.pool)
            .await
            .db("find expired items")?;
        out.extend(ids.into_iter().map(|i| i as i32));
    }
    Ok(out)
}
