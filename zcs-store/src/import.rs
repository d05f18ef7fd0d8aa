//! Bulk import into one folder ([`Mailbox::import_messages`]): what `zmmailbox
//! addMessage` over a directory, a REST `?fmt=tgz` upload or an IMAP migration does with
//! thousands of messages.
//!
//! One call is one batch: every blob is written first, made durable together (one file
//! system sync for a batch of 64 or more, see `BlobStore::put_many`), then under the
//! mailbox lock each message is planned as [`Mailbox::append`] plans it (id, change
//! number, conversation; messages of the batch thread with each other), the records are
//! logged together (one group fsync) and applied in one transaction. A record is still
//! one message, so replay and backups see exactly what single appends would have
//! written.

use std::sync::Arc;

use zcs_core::{Flags, ItemId};

use crate::conversations::{BatchThreads, plan_in_batch};
use crate::error::StoreError;
use crate::mailbox::Mailbox;
use crate::messages::Prepared;
use crate::redo::RedoOp;

/// One message of a bulk import.
#[derive(Clone, Debug, Default)]
pub struct ImportMessage {
    /// The message's exact bytes.
    pub raw: Vec<u8>,
    /// Its flags.
    pub flags: Flags,
    /// Tag names (any case); missing tags are created, as [`Mailbox::append_tagged`] does.
    pub tags: Vec<String>,
    /// IMAP INTERNALDATE, ms since the epoch.
    pub internal_date_ms: i64,
}

impl Mailbox {
    /// Stores `messages` in `folder` as one batch (see the module doc) and returns their
    /// item ids (also their IMAP UIDs) in order. All or nothing: when it fails, no
    /// message of the batch is stored. The result is what appending them one by one would
    /// give, at a fraction of the fsyncs and transactions; batches of a few hundred to a
    /// few thousand messages suit it.
    ///
    /// # Errors
    /// As [`Mailbox::append_tagged`]; the quota is checked for the batch's total size.
    pub async fn import_messages(
        &self,
        folder: ItemId,
        messages: Vec<ImportMessage>,
    ) -> Result<Vec<ItemId>, StoreError> {
        self.check_maintenance()?;
        for m in &messages {
            for t in &m.tags {
                crate::tags::tag_name(t)?;
            }
        }
        let mut raws = Vec::with_capacity(messages.len());
        let mut metas = Vec::with_capacity(messages.len());
        for m in messages {
            raws.push(m.raw);
            metas.push((m.flags, m.tags, m.internal_date_ms));
        }
        let prepared = crate::messages::prepare_blobs(&self.inner, raws).await?;
        let res = self.import_prepared(folder, prepared.clone(), metas).await;
        if res.is_err() {
            let digests = prepared.iter().map(|p| p.digest.clone()).collect();
            drop(prepared);
            self.inner.release_blobs(digests).await;
        }
        res
    }

    /// The locked half of [`Mailbox::import_messages`]: plan, log and apply.
    async fn import_prepared(
        &self,
        folder: ItemId,
        prepared: Vec<Arc<Prepared>>,
        metas: Vec<(Flags, Vec<String>, i64)>,
    ) -> Result<Vec<ItemId>, StoreError> {
        self.locked(move |mb| async move {
            crate::messages::check_message_folder(&mb, folder).await?;
            mb.check_quota(prepared.iter().map(|p| p.size).sum())
                .await?;
            let mut tag_ids = Vec::with_capacity(metas.len());
            for (_, tags, _) in &metas {
                tag_ids.push(if tags.is_empty() {
                    Vec::new()
                } else {
                    mb.resolve_tags(tags, true).await?
                });
            }
            let st = mb.state().await?;
            let (mut next_id, mut change) = (st.item_id + 1, st.change);
            let mut threads = BatchThreads::default();
            let summaries: Vec<_> = prepared.iter().map(|p| &p.summary).collect();
            threads.read_ahead(&mb, &summaries).await?;
            let mut ops = Vec::with_capacity(prepared.len());
            let mut ids = Vec::with_capacity(prepared.len());
            for ((p, (flags, _, date_ms)), tags) in prepared.iter().zip(metas).zip(tag_ids) {
                let id = next_id;
                let thread = plan_in_batch(&mb, &p.summary, id, &mut threads).await?;
                change += 1;
                next_id = id.max(thread.conv) + 1;
                ops.push(RedoOp::CreateMessage {
                    change,
                    id,
                    folder: folder.0,
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
                });
                ids.push(ItemId(id));
            }
            mb.inner.log_and_apply_many(mb.id(), ops).await?;
            Ok(ids)
        })
        .await
    }
}
