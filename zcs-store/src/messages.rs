//! Message operations on a [`Mailbox`]: append (and the per-target half of delivery),
//! reads, flags, copy, move, delete and the indexer's bookkeeping.
//!
//! Each change is validated under the mailbox lock, logged as one redo record with one
//! new change number, then applied; a change that would change nothing logs nothing.

use std::collections::HashSet;
use std::sync::Arc;

use zcs_core::{Flags, ItemId, ItemKind, folder};

use crate::blob::{Pin, digest_of};
use crate::error::{DbContext, StoreError};
use crate::flag_group::FlagChange;
use crate::mailbox::Mailbox;
use crate::parse::{self, HeaderSummary};
use crate::redo::RedoOp;
use crate::rows;
use crate::store::Inner;
use crate::types::MessageMeta;

/// A message's blob, written (durable once its redo record is) and pinned until this is
/// dropped, with its header summary: what every target of a delivery shares.
pub(crate) struct Prepared {
    pub digest: String,
    pub size: u64,
    pub summary: HeaderSummary,
    _pin: Pin,
}

/// Hashes `raw`, parses its headers and writes its blob (once whatever the number of
/// recipients). The blob file is not fsynced: the `CreateMessage` or `ReplaceMessage`
/// record that must follow carries the bytes in a redo blob frame, durable before the
/// change is acknowledged ([`crate::blob::Blobs::write_logged`]). Every caller logs one
/// of those two ops for the blob, or nothing (then the file is an unreferenced orphan).
pub(crate) async fn prepare_blob(
    inner: &Arc<Inner>,
    raw: Vec<u8>,
) -> Result<Arc<Prepared>, StoreError> {
    let blobs = inner.blobs.clone();
    tokio::task::spawn_blocking(move || {
        let digest = digest_of(&raw);
        let pin = blobs.pin(&digest);
        blobs.write_logged(&digest, &raw)?;
        Ok(Arc::new(Prepared {
            digest,
            size: raw.len() as u64,
            summary: parse::summarize(&raw),
            _pin: pin,
        }))
    })
    .await
    .map_err(|e| StoreError::Internal(format!("blob task failed: {e}")))?
}

/// [`prepare_blob`] for a batch: every message hashed, parsed and pinned, then the
/// blobs written with one [`crate::BlobStore::put_many`], which makes a large batch
/// durable with one file system sync instead of two fsyncs a blob. A small batch is
/// written blob by blob, concurrently.
pub(crate) async fn prepare_blobs(
    inner: &Arc<Inner>,
    raws: Vec<Vec<u8>>,
) -> Result<Vec<Arc<Prepared>>, StoreError> {
    if raws.len() < crate::blob::BULK_SYNC_MIN {
        // Few blobs: each written and fsynced on its own blocking thread, concurrently.
        let mut writes = tokio::task::JoinSet::new();
        let n = raws.len();
        for (i, raw) in raws.into_iter().enumerate() {
            let inner = inner.clone();
            writes.spawn(async move { (i, prepare_blob(&inner, raw).await) });
        }
        let mut out: Vec<Option<Arc<Prepared>>> = vec![None; n];
        let mut failure = None;
        while let Some(done) = writes.join_next().await {
            match done {
                Ok((i, Ok(p))) => out[i] = Some(p),
                Ok((_, Err(e))) => failure = Some(e),
                Err(e) => failure = Some(StoreError::Internal(format!("blob task failed: {e}"))),
            }
        }
        return match failure {
            Some(e) => Err(e),
            None => Ok(out.into_iter().flatten().collect()),
        };
    }
    let blobs = inner.blobs.clone();
    tokio::task::spawn_blocking(move || {
        let prepared: Vec<Prepared> = raws
            .iter()
            .map(|raw| {
                let digest = digest_of(raw);
                Prepared {
                    _pin: blobs.pin(&digest),
                    digest,
                    size: raw.len() as u64,
                    summary: parse::summarize(raw),
                }
            })
            .collect();
        let items: Vec<(String, &[u8])> = prepared
            .iter()
            .zip(&raws)
            .map(|(p, raw)| (p.digest.clone(), raw.as_slice()))
            .collect();
        blobs.write_many(&items)?;
        Ok(prepared.into_iter().map(Arc::new).collect())
    })
    .await
    .map_err(|e| StoreError::Internal(format!("blob task failed: {e}")))?
}

/// Creates one message item in `mb` from a prepared blob.
pub(crate) async fn create_message(
    mb: &Mailbox,
    folder_id: ItemId,
    prepared: &Arc<Prepared>,
    flags: Flags,
    tags: Vec<String>,
    date_ms: i64,
) -> Result<MessageMeta, StoreError> {
    let p = prepared.clone();
    let id = mb
        .locked(move |mb| async move {
            check_message_folder(&mb, folder_id).await?;
            mb.check_quota(p.size).await?;
            let tags = mb.resolve_tags(&tags, true).await?;
            let st = mb.state().await?;
            let id = st.item_id + 1;
            let thread = crate::conversations::plan(&mb, &p.summary, id).await?;
            mb.commit(RedoOp::CreateMessage {
                change: st.change + 1,
                id,
                folder: folder_id.0,
                flags: flags.0,
                date_ms,
                size: p.size,
                digest: p.digest.clone(),
                subject: p.summary.subject.clone(),
                sender: p.summary.sender.clone(),
                recipients: p.summary.recipients.clone(),
                message_id: p.summary.message_id.clone(),
                tags,
                conv: thread.conv,
                conv_promote: thread.promote,
            })
            .await?;
            Ok(ItemId(id))
        })
        .await?;
    mb.message(id).await
}

/// Fails unless `id` is a folder of `mb` that can hold messages.
pub(crate) async fn check_message_folder(mb: &Mailbox, id: ItemId) -> Result<(), StoreError> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM folder WHERE mailbox_id = ? AND id = ?")
            .bind(mb.id().0)
            .bind(id.0)
            .fetch_optional(&mb.inner.pool)
            .await
            .db("look up folder")?;
    if exists.is_none() {
        return Err(StoreError::no_such_folder(id));
    }
    // Zimbra files messages in USER_ROOT (`AddMsgRequest <m l="1">`); only the
    // tree's hidden root refuses them.
    if id.0 == folder::ROOT {
        return Err(StoreError::CannotContain {
            folder: id,
            what: "messages".into(),
        });
    }
    Ok(())
}

/// `ids` without repeats, first occurrence kept.
pub(crate) fn dedup(ids: &[ItemId]) -> Vec<ItemId> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|i| seen.insert(*i)).collect()
}

impl Mailbox {
    /// Stores `raw` as a new message in `folder` with `flags` and IMAP INTERNALDATE
    /// `internal_date_ms`. Returns once the blob and the redo record are fsynced and
    /// the item is committed.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN` for the folder tree's roots,
    /// `mail.QUOTA_EXCEEDED` past this handle's quota ([`Mailbox::with_quota`]), I/O.
    pub async fn append(
        &self,
        folder: ItemId,
        raw: &[u8],
        flags: Flags,
        internal_date_ms: i64,
    ) -> Result<MessageMeta, StoreError> {
        self.append_tagged(folder, raw, flags, &[], internal_date_ms)
            .await
    }

    /// [`Mailbox::append`] with tags, by name in any case; tags that do not exist are
    /// created first (one change each), as Zimbra does for IMAP keywords on APPEND.
    ///
    /// # Errors
    /// As [`Mailbox::append`], and `mail.INVALID_NAME` for a name a tag cannot have.
    pub async fn append_tagged(
        &self,
        folder: ItemId,
        raw: &[u8],
        flags: Flags,
        tags: &[String],
        internal_date_ms: i64,
    ) -> Result<MessageMeta, StoreError> {
        for t in tags {
            crate::tags::tag_name(t)?;
        }
        let prepared = prepare_blob(&self.inner, raw.to_vec()).await?;
        if tags.is_empty() {
            // Untagged appends commit in groups with the mailbox's concurrent appends
            // and deliveries (`crate::group_commit`); the answer is read back as
            // `create_message` gives it.
            let res =
                crate::group_commit::deliver(self, folder, &prepared, flags, internal_date_ms)
                    .await;
            let digest = prepared.digest.clone();
            drop(prepared);
            return match res {
                Ok(meta) => self.message(meta.id).await,
                Err(e) => {
                    self.inner.release_blobs(vec![digest]).await;
                    Err(e)
                }
            };
        }
        let res = create_message(
            self,
            folder,
            &prepared,
            flags,
            tags.to_vec(),
            internal_date_ms,
        )
        .await;
        if res.is_err() {
            let digest = prepared.digest.clone();
            drop(prepared);
            self.inner.release_blobs(vec![digest]).await;
        }
        res
    }

    /// The messages of `folder`, by IMAP UID ascending.
    pub async fn messages(&self, folder: ItemId) -> Result<Vec<MessageMeta>, StoreError> {
        self.check_maintenance()?;
        let mut tx = self.inner.pool.begin().await.db("begin read")?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM folder WHERE mailbox_id = ? AND id = ?")
                .bind(self.id().0)
                .bind(folder.0)
                .fetch_optional(&mut *tx)
                .await
                .db("look up folder")?;
        if exists.is_none() {
            return Err(StoreError::no_such_folder(folder));
        }
        let rows = sqlx::query(rows::MESSAGES_IN_FOLDER)
            .bind(self.id().0)
            .bind(folder.0)
            .fetch_all(&mut *tx)
            .await
            .db("list messages")?;
        tx.commit().await.db("end read")?;
        rows.iter().map(rows::message_from_row).collect()
    }

    /// The messages of `folder` whose MODSEQ is above `modseq`, by UID ascending (IMAP
    /// `CHANGEDSINCE`, RFC 7162 §3.1.4). Messages that left the folder are in
    /// [`Mailbox::tombstones_since`].
    pub async fn messages_changed_since(
        &self,
        folder: ItemId,
        modseq: i64,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let rows = sqlx::query(rows::MESSAGES_CHANGED_SINCE)
            .bind(self.id().0)
            .bind(folder.0)
            .bind(modseq)
            .fetch_all(&self.inner.pool)
            .await
            .db("list changed messages")?;
        rows.iter().map(rows::message_from_row).collect()
    }

    /// Every message of the mailbox, in any folder, whose MODSEQ is above `modseq`,
    /// lowest MODSEQ first: one indexed read of the change set (what a cached view of
    /// the whole mailbox, such as the search snapshot, needs to catch up). Messages
    /// that left the mailbox are in [`Mailbox::tombstones_since`].
    pub async fn messages_changed_after(
        &self,
        modseq: i64,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        self.check_maintenance()?;
        let rows = sqlx::query(rows::MESSAGES_CHANGED_AFTER)
            .bind(self.id().0)
            .bind(modseq)
            .fetch_all(&self.inner.pool)
            .await
            .db("list changed messages")?;
        rows.iter().map(rows::message_from_row).collect()
    }

    /// One message's metadata; `mail.NO_SUCH_MSG` when absent.
    pub async fn message(&self, id: ItemId) -> Result<MessageMeta, StoreError> {
        self.check_maintenance()?;
        let mut conn = self.inner.pool.acquire().await.db("acquire connection")?;
        rows::message_by_id(&mut conn, self.id(), id)
            .await?
            .ok_or(StoreError::NoSuchMessage(id))
    }

    /// The exact bytes stored for message `id`.
    pub async fn read_message(&self, id: ItemId) -> Result<Vec<u8>, StoreError> {
        let meta = self.message(id).await?;
        let blobs = self.inner.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.read(&meta.blob_digest))
            .await
            .map_err(|e| StoreError::Internal(format!("blob task failed: {e}")))?
    }

    /// Sets (`on`) or clears the bits of `mask` on each message. Only messages whose
    /// flags change get the new change number; when none change nothing is logged.
    /// Returns the metadata of every id after the change, in input order (repeats
    /// dropped).
    ///
    /// # Errors
    /// `mail.NO_SUCH_MSG` if any id is missing (then nothing changes).
    pub async fn set_flags(
        &self,
        ids: &[ItemId],
        mask: u32,
        on: bool,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        self.change_flags(ids, FlagChange::Set(mask, on)).await
    }

    /// Replaces the flags of each message with `flags`; otherwise as
    /// [`Mailbox::set_flags`].
    pub async fn replace_flags(
        &self,
        ids: &[ItemId],
        flags: Flags,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        self.change_flags(ids, FlagChange::Replace(flags)).await
    }

    /// Flag changes are committed in groups with the mailbox's concurrent ones
    /// (`crate::flag_group`).
    async fn change_flags(
        &self,
        ids: &[ItemId],
        how: FlagChange,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        crate::flag_group::change(self, dedup(ids), how).await
    }

    /// Copies messages into `to_folder` as new items (new ids, which are also their
    /// UIDs there) sharing the originals' blobs. Returns the new items in input order.
    ///
    /// # Errors
    /// `mail.QUOTA_EXCEEDED` when the copies would take the mailbox past this handle's
    /// quota (nothing is copied).
    pub async fn copy(
        &self,
        ids: &[ItemId],
        to_folder: ItemId,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let ids = dedup(ids);
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            check_message_folder(&mb, to_folder).await?;
            let adding = mb.metas(&ids).await?.iter().map(|m| m.size).sum();
            mb.check_quota(adding).await?;
            let items: Vec<(i32, i32)> = ids
                .iter()
                .zip(st.item_id + 1..)
                .map(|(src, new)| (src.0, new))
                .collect();
            if items.is_empty() {
                return Ok(Vec::new());
            }
            mb.commit(RedoOp::Copy {
                change: st.change + 1,
                folder: to_folder.0,
                items: items.clone(),
            })
            .await?;
            let new: Vec<ItemId> = items.iter().map(|(_, n)| ItemId(*n)).collect();
            mb.metas(&new).await
        })
        .await
    }

    /// Moves messages into `to_folder`; each keeps its item id and gets a new IMAP UID
    /// there (the next item id). Messages already in `to_folder` are left alone.
    /// Returns every message after the move, in input order.
    pub async fn move_items(
        &self,
        ids: &[ItemId],
        to_folder: ItemId,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let ids = dedup(ids);
        self.locked(move |mb| async move {
            let st = mb.state().await?;
            check_message_folder(&mb, to_folder).await?;
            let metas = mb.metas(&ids).await?;
            let items: Vec<(i32, i32)> = metas
                .iter()
                .filter(|m| m.folder != to_folder)
                .zip(st.item_id + 1..)
                .map(|(m, uid)| (m.id.0, uid))
                .collect();
            if items.is_empty() {
                return Ok(metas);
            }
            mb.commit(RedoOp::Move {
                change: st.change + 1,
                folder: to_folder.0,
                items,
            })
            .await?;
            mb.metas(&ids).await
        })
        .await
    }

    /// Hard-deletes items, recording a tombstone for each with the new change number.
    /// Messages go to the dumpster when the handle's settings enable it
    /// ([`crate::MailboxSettings::dumpster_enabled`]), otherwise their blob goes when
    /// its last reference does. Contacts, calendar items, documents, mountpoints and
    /// search folders are deleted in a second change. Ids that do not exist (for
    /// instance already deleted by another session) are ignored.
    pub async fn delete_items(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let ids = dedup(ids);
        self.locked(move |mb| async move {
            let mut present = Vec::new();
            let mut others = Vec::new();
            for id in &ids {
                match mb.message(*id).await {
                    Ok(_) => present.push(id.0),
                    Err(StoreError::NoSuchMessage(_)) => {
                        if mb.item_kind(*id).await?.is_some() {
                            others.push(id.0);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            if !present.is_empty() {
                let change = mb.state().await?.change + 1;
                let op = if mb.settings().dumpster_enabled {
                    RedoOp::DeleteToDumpster {
                        change,
                        ids: present,
                    }
                } else {
                    RedoOp::Delete {
                        change,
                        ids: present,
                    }
                };
                mb.commit(op).await?;
            }
            // Contacts, calendar items and documents go to the dumpster too when it is
            // enabled; mountpoints and search folders never do.
            let mut stash = Vec::new();
            if mb.settings().dumpster_enabled {
                let mut rest = Vec::new();
                for id in others {
                    match mb.item_kind(ItemId(id)).await? {
                        Some(
                            ItemKind::Contact
                            | ItemKind::Appointment
                            | ItemKind::Task
                            | ItemKind::Document,
                        ) => stash.push(id),
                        _ => rest.push(id),
                    }
                }
                others = rest;
            }
            if !stash.is_empty() {
                let change = mb.state().await?.change + 1;
                mb.commit(RedoOp::DeleteItemsToDumpster { change, ids: stash })
                    .await?;
            }
            if !others.is_empty() {
                let change = mb.state().await?.change + 1;
                mb.commit(RedoOp::DeleteItems {
                    change,
                    ids: others,
                })
                .await?;
            }
            Ok(())
        })
        .await
    }

    /// The kind of item `id` when it is a message, contact, calendar item, document,
    /// mountpoint or search folder; `None` otherwise (folders and tags included).
    pub async fn item_kind(&self, id: ItemId) -> Result<Option<ItemKind>, StoreError> {
        let code: Option<i64> = sqlx::query_scalar(
            "SELECT type FROM mail_item WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT 6 FROM contact WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT type FROM cal_item WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT 8 FROM document WHERE mailbox_id = ?1 AND id = ?2
             UNION ALL SELECT type FROM folder_link WHERE mailbox_id = ?1 AND id = ?2
             LIMIT 1",
        )
        .bind(self.id().0)
        .bind(id.0)
        .fetch_optional(&self.inner.pool)
        .await
        .db("look up item kind")?;
        Ok(code.and_then(|c| ItemKind::from_code(c as u8)))
    }

    /// Up to `limit` messages not yet marked indexed, lowest id first.
    pub async fn unindexed(&self, limit: usize) -> Result<Vec<ItemId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_item WHERE mailbox_id = ? AND indexed = 0 ORDER BY id LIMIT ?",
        )
        .bind(self.id().0)
        .bind(limit.min(i64::MAX as usize) as i64)
        .fetch_all(&self.inner.pool)
        .await
        .db("list unindexed items")?;
        Ok(ids.into_iter().map(|i| ItemId(i as i32)).collect())
    }

    /// Marks messages indexed. Not logged in the redo log: after a crash an item may
    /// be reported unindexed again, and indexing it twice is harmless.
    pub async fn mark_indexed(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let _w = self.inner.db_write.lock().await;
        let mut tx = self.inner.pool.begin().await.db("begin mark indexed")?;
        for id in ids {
            sqlx::query("UPDATE mail_item SET indexed = 1 WHERE mailbox_id = ? AND id = ?")
                .bind(self.id().0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db("mark indexed")?;
        }
        tx.commit().await.db("commit mark indexed")?;
        Ok(())
    }

    /// Metadata for each id in order; `mail.NO_SUCH_MSG` on the first missing one.
    pub(crate) async fn metas(&self, ids: &[ItemId]) -> Result<Vec<MessageMeta>, StoreError> {
        let mut conn = self.inner.pool.acquire().await.db("acquire connection")?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let m = rows::message_by_id(&mut conn, self.id(), *id)
                .await?
                .ok_or(StoreError::NoSuchMessage(*id))?;
            out.push(m);
        }
        Ok(out)
    }
}
