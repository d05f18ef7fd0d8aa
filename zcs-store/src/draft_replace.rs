//! Rewriting a message in place: a draft saved again (Zimbra's `SaveDraftRequest` with
//! `id=`) keeps its item id, folder, tags and conversation while its content, size,
//! header summary, flags and date change, as Zimbra's `Mailbox.saveDraft` rewrites the
//! draft's blob under the same id.
//!
//! One `ReplaceMessage` redo record carries the new blob's digest and summary (the blob
//! itself rides in the log as for a new message, see `crate::redo::blob_frame`), so
//! replay from the log alone reproduces the rewrite. The message takes a new IMAP UID
//! (an id from the mailbox's sequence, as a move takes one): IMAP promises that a UID's
//! content never changes (RFC 3501 §2.3.1.1), so the old UID is reported expunged
//! (a tombstone marked moved: the item itself lives on).
//! The old blob goes when no other row references it; the item is marked unindexed so
//! the indexer replaces its document.

use zcs_core::{Flags, ItemId, ItemKind, MailboxId};

use crate::apply::{adjust_folder, tombstone};
use crate::db::DbConn;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;
use crate::messages::prepare_blob;
use crate::redo::RedoOp;
use crate::redo::codec_items::ReplaceMessageRecord;
use crate::types::MessageMeta;

impl Mailbox {
    /// Replaces the content of message `id` by `raw`, keeping its id, folder, tags and
    /// conversation; `flags` become its flags and `date_ms` its internal date. The
    /// message takes a new IMAP UID. Returns the message as it now is, once the blob
    /// and the redo record are durable and the change committed.
    ///
    /// # Errors
    /// `mail.NO_SUCH_MSG` when `id` is not a message of this mailbox;
    /// `mail.QUOTA_EXCEEDED` when the new content is larger and the growth passes this
    /// handle's quota; I/O and database errors.
    pub async fn replace_message(
        &self,
        id: ItemId,
        raw: &[u8],
        flags: Flags,
        date_ms: i64,
    ) -> Result<MessageMeta, StoreError> {
        let prepared = prepare_blob(&self.inner, raw.to_vec()).await?;
        let p = prepared.clone();
        let res = self
            .locked(move |mb| async move {
                let old = mb.message(id).await?;
                mb.check_quota(p.size.saturating_sub(old.size)).await?;
                let st = mb.state().await?;
                mb.commit(RedoOp::ReplaceMessage(ReplaceMessageRecord {
                    change: st.change + 1,
                    id: id.0,
                    uid: st.item_id + 1,
                    flags: flags.0,
                    date_ms,
                    size: p.size,
                    digest: p.digest.clone(),
                    subject: p.summary.subject.clone(),
                    sender: p.summary.sender.clone(),
                    recipients: p.summary.recipients.clone(),
                    message_id: p.summary.message_id.clone(),
                }))
                .await
            })
            .await;
        let digest = prepared.digest.clone();
        drop(prepared);
        match res {
            Ok(()) => self.message(id).await,
            Err(e) => {
                self.inner.release_blobs(vec![digest]).await;
                Err(e)
            }
        }
    }
}

/// Applies `ReplaceMessage` inside the caller's transaction; returns the digest the
/// message no longer references (its blob goes when nothing else does). A missing
/// message is skipped with a warning, as everywhere in `crate::apply`.
pub(crate) async fn apply(
    conn: &mut DbConn,
    mb: MailboxId,
    r: &ReplaceMessageRecord,
    ts: i64,
) -> Result<Option<String>, StoreError> {
    use sqlx::Row;
    let Some(row) = sqlx::query(
        "SELECT folder_id, imap_id, unread, size, blob_digest FROM mail_item
         WHERE mailbox_id = ? AND id = ? AND type = ?",
    )
    .bind(mb.0)
    .bind(r.id)
    .bind(i64::from(ItemKind::Message.code()))
    .fetch_optional(&mut *conn)
    .await
    .db("read replaced message")?
    else {
        tracing::warn!(
            mailbox = mb.0,
            item = r.id,
            "content change of a missing message skipped"
        );
        return Ok(None);
    };
    let ctx = "read replaced message";
    let folder_id = row.try_get::<i64, _>("folder_id").db(ctx)? as i32;
    let old_uid: i64 = row.try_get("imap_id").db(ctx)?;
    let old_unread: i64 = row.try_get("unread").db(ctx)?;
    let old_size: i64 = row.try_get("size").db(ctx)?;
    let old_digest: String = row.try_get("blob_digest").db(ctx)?;
    let unread = i64::from(Flags(r.flags).contains(Flags::UNREAD));
    let norm = crate::thread::normalize_subject(&r.subject).0;
    sqlx::query(
        "UPDATE mail_item SET imap_id = ?, date = ?, size = ?, blob_digest = ?, flags = ?,
            unread = ?, subject = ?, sender = ?, recipients = ?, message_id = ?,
            norm_subject = ?, mod_metadata = ?, mod_content = ?, change_date = ?, indexed = 0
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(r.uid)
    .bind(r.date_ms)
    .bind(r.size as i64)
    .bind(&r.digest)
    .bind(i64::from(r.flags))
    .bind(unread)
    .bind(&r.subject)
    .bind(&r.sender)
    .bind(&r.recipients)
    .bind(&r.message_id)
    .bind(&norm)
    .bind(r.change)
    .bind(r.change)
    .bind(ts)
    .bind(mb.0)
    .bind(r.id)
    .execute(&mut *conn)
    .await
    .db("rewrite message")?;
    if old_uid != i64::from(r.uid) {
        // The old UID left the folder while the item lives on, as after a move: IMAP
        // reports the UID expunged, item-level sync does not report the item deleted.
        tombstone(
            conn,
            mb,
            r.change,
            i64::from(r.id),
            ItemKind::Message,
            folder_id,
            old_uid,
            true,
            ts,
        )
        .await?;
    }
    adjust_folder(
        conn,
        mb,
        folder_id,
        0,
        unread - old_unread,
        r.size as i64 - old_size,
        r.change,
    )
    .await?;
    Ok((old_digest != r.digest).then_some(old_digest))
}
