//! Applying several redo records of one mailbox in one transaction, with runs of new
//! messages (`CreateMessage`) written in bulk: what a bulk import and a grouped delivery
//! commit.
//!
//! A run of messages is inserted with multi-row `INSERT`s, then each record's tags and
//! conversation are applied in record order, and the folder counters, the mailbox
//! checkpoints and the redo sequence are raised once for the run. The rows are exactly
//! those that applying each record alone ([`crate::apply::apply`], which replay uses)
//! writes: counters are sums, checkpoints and change numbers are maxima, so the order of
//! those updates does not matter. Any other record is applied alone.

use std::collections::BTreeMap;

use sqlx::AssertSqlSafe;
use zcs_core::{Flags, ItemKind, MailboxId};

use crate::apply::{self, Applied, adjust_folder, bump, finish};
use crate::apply_items as items;
use crate::apply_tags as tags;
use crate::db::DbConn;
use crate::error::{DbContext, StoreError};
use crate::redo::{RedoOp, RedoRecord};

/// Rows per `INSERT` statement: 19 bound values a row stays far below every engine's
/// limit on bound values (SQLite 32,766, MariaDB and PostgreSQL 65,535).
const ROWS_PER_INSERT: usize = 64;

/// Applies `recs` in order inside the caller's transaction; `checkpoint` as
/// [`crate::apply::apply`]. Returns the digests that lost a reference.
pub(crate) async fn apply_many(
    conn: &mut DbConn,
    recs: &[RedoRecord],
    checkpoint: u64,
) -> Result<Applied, StoreError> {
    let mut out = Applied::default();
    let mut i = 0;
    while i < recs.len() {
        let mb = recs[i].mailbox;
        let run = recs[i..]
            .iter()
            .take_while(|r| r.mailbox == mb && matches!(r.op, RedoOp::CreateMessage { .. }))
            .count();
        if run >= 2 {
            create_messages(conn, mb, &recs[i..i + run], checkpoint).await?;
            i += run;
        } else {
            out.released
                .extend(apply::apply(conn, &recs[i], checkpoint).await?.released);
            i += 1;
        }
    }
    Ok(out)
}

/// Counter changes of one folder over a run.
#[derive(Default)]
struct FolderDelta {
    count: i64,
    unread: i64,
    size: i64,
    change: i64,
}

/// Applies a run of `CreateMessage` records of mailbox `mb` (see the module doc).
async fn create_messages(
    conn: &mut DbConn,
    mb: MailboxId,
    recs: &[RedoRecord],
    checkpoint: u64,
) -> Result<(), StoreError> {
    for chunk in recs.chunks(ROWS_PER_INSERT) {
        insert_rows(conn, mb, chunk).await?;
    }
    let mut folders: BTreeMap<i32, FolderDelta> = BTreeMap::new();
    let (mut top, mut high_change, mut high_seq) = (0i32, 0i64, 0u64);
    for rec in recs {
        let RedoOp::CreateMessage {
            change,
            id,
            folder,
            flags,
            size,
            subject,
            tags: tag_ids,
            conv,
            conv_promote,
            ..
        } = &rec.op
        else {
            continue;
        };
        let conv = if *conv == 0 { -*id } else { *conv };
        let d = folders.entry(*folder).or_default();
        d.count += 1;
        d.unread += i64::from(Flags(*flags).contains(Flags::UNREAD));
        d.size += *size as i64;
        d.change = d.change.max(*change);
        if !tag_ids.is_empty() {
            tags::set_item_tags(conn, mb, *id, tag_ids, *change, rec.timestamp_ms).await?;
        }
        if conv > 0 {
            let norm = crate::thread::normalize_subject(subject).0;
            items::thread_message(conn, mb, conv, conv_promote, &norm, *change).await?;
        }
        top = top.max((*id).max(conv));
        high_change = high_change.max(*change);
        high_seq = high_seq.max(rec.seq);
    }
    for (folder, d) in folders {
        adjust_folder(conn, mb, folder, d.count, d.unread, d.size, d.change).await?;
    }
    bump(conn, mb, Some(top), high_change).await?;
    finish(conn, mb, high_seq, checkpoint).await
}

/// One multi-row `INSERT` of the message rows of `recs` (all `CreateMessage`).
async fn insert_rows(
    conn: &mut DbConn,
    mb: MailboxId,
    recs: &[RedoRecord],
) -> Result<(), StoreError> {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)";
    let sql = format!(
        "INSERT INTO mail_item (mailbox_id, id, type, folder_id, imap_id, date, size,
            blob_digest, flags, unread, subject, sender, recipients, message_id,
            mod_metadata, mod_content, change_date, indexed, conv_id, norm_subject)
         VALUES {}",
        vec![row; recs.len()].join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for rec in recs {
        let RedoOp::CreateMessage {
            change,
            id,
            folder,
            flags,
            date_ms,
            size,
            digest,
            subject,
            sender,
            recipients,
            message_id,
            conv,
            ..
        } = &rec.op
        else {
            return Err(StoreError::Internal(
                "bulk insert given a record that is not a new message".into(),
            ));
        };
        let conv = if *conv == 0 { -*id } else { *conv };
        q = q
            .bind(mb.0)
            .bind(*id)
            .bind(i64::from(ItemKind::Message.code()))
            .bind(*folder)
            .bind(*id)
            .bind(*date_ms)
            .bind(*size as i64)
            .bind(digest.clone())
            .bind(i64::from(*flags))
            .bind(i64::from(Flags(*flags).contains(Flags::UNREAD)))
            .bind(subject.clone())
            .bind(sender.clone())
            .bind(recipients.clone())
            .bind(message_id.clone())
            .bind(*change)
            .bind(*change)
            .bind(rec.timestamp_ms)
            .bind(conv)
            .bind(crate::thread::normalize_subject(subject).0);
    }
    q.execute(&mut *conn).await.db("insert messages")?;
    Ok(())
}
