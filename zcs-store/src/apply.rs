//! Applying one redo record to the database, inside the caller's transaction.
//!
//! The live path and crash-recovery replay both go through [`apply`], so a replayed
//! record produces exactly the rows the original call produced (same ids, UIDs and
//! change numbers). Validation happened before the record was logged; here a missing
//! row is skipped with a warning instead of failing, so replay over a partly applied
//! state converges. Every application also records the record's sequence on its
//! mailbox (`last_redo_seq`) and advances `store_state`, in the same transaction.

use crate::db::DbConn;
use sqlx::Row;
use zcs_core::{Flags, ItemKind, MailboxId, folder};

use crate::apply_items as items;
use crate::apply_messages::{copy_one, delete_one, move_one, set_flags};
use crate::apply_tags as tags;
use crate::error::{DbContext, StoreError};
use crate::redo::{RedoOp, RedoRecord};
use crate::rows;

/// Side effects the caller handles after commit.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Digests that lost a reference; their blobs go when no item uses them.
    pub released: Vec<String>,
}

/// The first id a new mailbox hands out is this plus one (Zimbra's FIRST_USER_ID).
const ITEM_ID_START: i64 = 256;

/// UIDVALIDITY for a folder created at `change` in a mailbox whose base is `base`;
/// never zero (RFC 9051 §2.3.1.1 makes it a non-zero number).
pub(crate) fn uid_validity(base: u32, change: i64) -> u32 {
    match base.wrapping_add(change as u32) {
        0 => 1,
        v => v,
    }
}

/// Applies `rec` with `conn` inside an open transaction. `checkpoint` is the highest
/// sequence at or below which every record is already in the database.
pub(crate) async fn apply(
    conn: &mut DbConn,
    rec: &RedoRecord,
    checkpoint: u64,
) -> Result<Applied, StoreError> {
    let mb = rec.mailbox;
    let ts = rec.timestamp_ms;
    let mut out = Applied::default();
    match &rec.op {
        RedoOp::CreateMailbox {
            account,
            uid_validity_base,
        } => create_mailbox(conn, mb, &account.to_string(), *uid_validity_base, ts).await?,
        RedoOp::DeleteMailbox => {
            out.released = delete_mailbox(conn, mb, rec.seq, ts).await?;
        }
        RedoOp::CreateFolder {
            change,
            id,
            parent,
            name,
            view,
            uid_validity,
        } => {
            sqlx::query(
                "INSERT INTO folder (mailbox_id, id, parent_id, name, lname, view,
                    uid_validity, created_change, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(mb.0)
            .bind(id)
            .bind(parent)
            .bind(name)
            .bind(crate::schema::folder_lname(name))
            .bind(view)
            .bind(i64::from(*uid_validity))
            .bind(change)
            .bind(change)
            .execute(&mut *conn)
            .await
            .db("insert folder")?;
            bump(conn, mb, Some(*id), *change).await?;
        }
        RedoOp::RenameFolder {
            change,
            id,
            parent,
            name,
        } => {
            sqlx::query(
                "UPDATE folder SET parent_id = ?, name = ?, lname = ?, modseq = MAX(modseq, ?)
                 WHERE mailbox_id = ? AND id = ?",
            )
            .bind(parent)
            .bind(name)
            .bind(crate::schema::folder_lname(name))
            .bind(change)
            .bind(mb.0)
            .bind(id)
            .execute(&mut *conn)
            .await
            .db("rename folder")?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::DeleteFolder { change, id } => {
            out.released = delete_folder(conn, mb, *id, *change, ts).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::CreateMessage {
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
            tags: tag_ids,
            conv,
            conv_promote,
        } => {
            let unread = i64::from(Flags(*flags).contains(Flags::UNREAD));
            let conv = if *conv == 0 { -*id } else { *conv };
            let norm = crate::thread::normalize_subject(subject).0;
            sqlx::query(
                "INSERT INTO mail_item (mailbox_id, id, type, folder_id, imap_id, date, size,
                    blob_digest, flags, unread, subject, sender, recipients, message_id,
                    mod_metadata, mod_content, change_date, indexed, conv_id, norm_subject)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            )
            .bind(mb.0)
            .bind(id)
            .bind(i64::from(ItemKind::Message.code()))
            .bind(folder)
            .bind(id)
            .bind(date_ms)
            .bind(*size as i64)
            .bind(digest)
            .bind(i64::from(*flags))
            .bind(unread)
            .bind(subject)
            .bind(sender)
            .bind(recipients)
            .bind(message_id)
            .bind(change)
            .bind(change)
            .bind(ts)
            .bind(conv)
            .bind(&norm)
            .execute(&mut *conn)
            .await
            .db("insert message")?;
            adjust_folder(conn, mb, *folder, 1, unread, *size as i64, *change).await?;
            if !tag_ids.is_empty() {
                tags::set_item_tags(conn, mb, *id, tag_ids, *change, ts).await?;
            }
            items::thread_message(conn, mb, conv, conv_promote, &norm, *change).await?;
            let top = (*id).max(conv);
            bump(conn, mb, Some(top), *change).await?;
        }
        RedoOp::SetFlags { change, items } => {
            for (id, flags) in items {
                set_flags(conn, mb, *id, *flags, *change, ts).await?;
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::Copy {
            change,
            folder,
            items,
        } => {
            for (src, new) in items {
                copy_one(conn, mb, *src, *new, *folder, *change, ts).await?;
            }
            let max = items.iter().map(|(_, n)| *n).max();
            bump(conn, mb, max, *change).await?;
        }
        RedoOp::Move {
            change,
            folder,
            items,
        } => {
            for (id, uid) in items {
                move_one(conn, mb, *id, *uid, *folder, *change, ts).await?;
            }
            let max = items.iter().map(|(_, n)| *n).max();
            bump(conn, mb, max, *change).await?;
        }
        RedoOp::Delete { change, ids } => {
            for id in ids {
                if let Some(d) = delete_one(conn, mb, *id, *change, ts).await? {
                    out.released.push(d);
                }
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::CreateTag {
            change,
            id,
            name,
            color,
        } => {
            tags::create_tag(conn, mb, *change, *id, name, *color).await?;
            let item = (*id >= tags::TAG_ID_LIMIT).then_some(*id);
            bump(conn, mb, item, *change).await?;
        }
        RedoOp::RenameTag { change, id, name } => {
            tags::rename_tag(conn, mb, *change, *id, name, ts).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetTagColor { change, id, color } => {
            tags::set_tag_color(conn, mb, *change, *id, *color).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetFolderColor {
            change,
            id,
            color,
            rgb,
        } => {
            crate::folder_color::apply(conn, mb, *change, *id, *color, *rgb).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetFolderAttrs {
            change,
            id,
            flags,
            url,
            reminder,
        } => {
            let attrs = crate::FolderAttrs {
                flags: Flags(*flags),
                url: url.clone(),
                reminder: *reminder,
            };
            crate::folder_attrs::apply_attrs(conn, mb, *change, *id, &attrs).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetFolderView { change, id, view } => {
            crate::folder_attrs::apply_view(conn, mb, *change, *id, view).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::FeedSeen {
            folder,
            reset,
            keys,
        } => crate::folder_attrs::apply_feed_seen(conn, mb, *folder, *reset, keys).await?,
        RedoOp::DeleteTag { change, id } => {
            tags::delete_tag(conn, mb, *change, *id, ts).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetTags { change, items } => {
            for (id, tag_ids) in items {
                tags::set_item_tags(conn, mb, *id, tag_ids, *change, ts).await?;
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::DeleteToDumpster { change, ids } => {
            for id in ids {
                items::to_dumpster(conn, mb, *id, *change, ts).await?;
                if let Some(d) = delete_one(conn, mb, *id, *change, ts).await? {
                    out.released.push(d);
                }
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::RecoverFromDumpster {
            change,
            items: list,
        } => {
            for item in list {
                items::recover(conn, mb, *item, *change, ts).await?;
            }
            let max = list.iter().map(|(_, _, uid)| *uid).max();
            bump(conn, mb, max, *change).await?;
        }
        RedoOp::PurgeDumpster { change, ids } => {
            for id in ids {
                out.released
                    .extend(items::purge_dumpster(conn, mb, *id).await?);
                out.released
                    .extend(crate::apply_dumpster::purge(conn, mb, *id).await?);
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::DeleteItems { change, ids } => {
            for id in ids {
                out.released
                    .extend(items::delete_item(conn, mb, *id, *change, ts).await?);
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::DeleteItemsToDumpster { change, ids } => {
            for id in ids {
                crate::apply_dumpster::to_dumpster(conn, mb, *id, *change, ts).await?;
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::RecoverItemsFromDumpster {
            change,
            items: list,
        } => {
            for (id, folder) in list {
                crate::apply_dumpster::recover(conn, mb, *id, *folder, *change, ts).await?;
            }
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::SetRetentionPolicy {
            change,
            folder,
            policy,
        } => {
            crate::retention::apply_set(conn, mb, *folder, policy, *change).await?;
            bump(conn, mb, None, *change).await?;
        }
        RedoOp::PutContact(c) => {
            crate::apply_contacts::put_contact(conn, mb, c, ts).await?;
            bump(conn, mb, Some(c.id), c.change).await?;
        }
        RedoOp::PutCalItem(c) => {
            items::put_cal_item(conn, mb, c, ts).await?;
            bump(conn, mb, Some(c.id), c.change).await?;
        }
        RedoOp::SaveDocument(d) => {
            out.released = items::save_document(conn, mb, d, ts).await?;
            bump(conn, mb, Some(d.id), d.change).await?;
        }
        RedoOp::CreateLink(l) => {
            items::create_link(conn, mb, l).await?;
            bump(conn, mb, Some(l.id), l.change).await?;
        }
        RedoOp::SetGrant(g) => {
            items::set_grant(conn, mb, g).await?;
            bump(conn, mb, None, g.change).await?;
        }
        RedoOp::ReplaceMessage(r) => {
            if let Some(d) = crate::draft_replace::apply(conn, mb, r, ts).await? {
                out.released.push(d);
            }
            bump(conn, mb, Some(r.uid), r.change).await?;
        }
        // The restore replaced the rows itself; the record marks the point.
        RedoOp::Abort { .. } | RedoOp::RestoreMailbox { .. } => {}
    }
    finish(conn, mb, rec.seq, checkpoint).await?;
    Ok(out)
}

async fn create_mailbox(
    conn: &mut DbConn,
    mb: MailboxId,
    account: &str,
    base: u32,
    ts: i64,
) -> Result<(), StoreError> {
    // The mailbox starts at change 1: its system folders are that change.
    sqlx::query(
        "INSERT INTO mailbox (id, account_id, item_id_checkpoint, change_checkpoint,
            last_redo_seq, uid_validity_base, created_ms) VALUES (?, ?, ?, 1, 0, ?, ?)",
    )
    .bind(mb.0)
    .bind(account)
    .bind(ITEM_ID_START)
    .bind(i64::from(base))
    .bind(ts)
    .execute(&mut *conn)
    .await
    .db("insert mailbox")?;

    let mut folders: Vec<(i32, i32, &str, &str)> = vec![
        (folder::ROOT, folder::ROOT, "ROOT", ""),
        (folder::USER_ROOT, folder::ROOT, "USER_ROOT", ""),
    ];
    for (id, name, view) in folder::SYSTEM_FOLDERS {
        folders.push((*id, folder::USER_ROOT, name, view));
    }
    let uv = uid_validity(base, 1);
    for (id, parent, name, view) in folders {
        sqlx::query(
            "INSERT INTO folder (mailbox_id, id, parent_id, name, lname, view, uid_validity,
                created_change, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1)",
        )
        .bind(mb.0)
        .bind(id)
        .bind(parent)
        .bind(name)
        .bind(crate::schema::folder_lname(name))
        .bind(view)
        .bind(i64::from(uv))
        .execute(&mut *conn)
        .await
        .db("insert system folder")?;
    }
    sqlx::query(
        "UPDATE store_state SET next_mailbox_id = MAX(next_mailbox_id, ? + 1) WHERE id = 1",
    )
    .bind(mb.0)
    .execute(&mut *conn)
    .await
    .db("advance mailbox id")?;
    Ok(())
}

async fn delete_mailbox(
    conn: &mut DbConn,
    mb: MailboxId,
    seq: u64,
    ts: i64,
) -> Result<Vec<String>, StoreError> {
    let digests: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT blob_digest FROM mail_item WHERE mailbox_id = ?")
            .bind(mb.0)
            .fetch_all(&mut *conn)
            .await
            .db("list mailbox blobs")?;
    let mut digests = digests;
    digests.extend(items::delete_mailbox_items(conn, mb).await?);
    digests.sort();
    digests.dedup();
    sqlx::query(
        "INSERT OR IGNORE INTO deleted_mailbox (id, account_id, deleted_seq, deleted_ms)
         SELECT id, account_id, ?, ? FROM mailbox WHERE id = ?",
    )
    .bind(seq as i64)
    .bind(ts)
    .bind(mb.0)
    .execute(&mut *conn)
    .await
    .db("record deleted mailbox")?;
    for sql in [
        "DELETE FROM mail_item WHERE mailbox_id = ?",
        "DELETE FROM folder WHERE mailbox_id = ?",
        "DELETE FROM tombstone WHERE mailbox_id = ?",
        "DELETE FROM tagged_item WHERE mailbox_id = ?",
        "DELETE FROM tag WHERE mailbox_id = ?",
        "DELETE FROM mailbox WHERE id = ?",
    ] {
        sqlx::query(sql)
            .bind(mb.0)
            .execute(&mut *conn)
            .await
            .db("delete mailbox")?;
    }
    Ok(digests)
}

async fn delete_folder(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<Vec<String>, StoreError> {
    // The subtree by the parent index: the rest of the mailbox's folders are not read.
    let subtree = rows::subtree_rows(conn, mb, id).await?;
    let Some(&(_, parent)) = subtree.first() else {
        tracing::warn!(
            mailbox = mb.0,
            folder = id,
            "folder to delete is already gone"
        );
        return Ok(Vec::new());
    };
    let mut released = Vec::new();
    // Children first, so each folder's tombstone names a parent that still existed.
    for (fid, fparent) in subtree.into_iter().rev() {
        let msgs = sqlx::query(
            "SELECT id, imap_id, blob_digest FROM mail_item WHERE mailbox_id = ? AND folder_id = ?",
        )
        .bind(mb.0)
        .bind(fid)
        .fetch_all(&mut *conn)
        .await
        .db("list folder messages")?;
        for m in &msgs {
            let item: i64 = m.try_get("id").db("read message row")?;
            let uid: i64 = m.try_get("imap_id").db("read message row")?;
            tombstone(
                conn,
                mb,
                change,
                item,
                ItemKind::Message,
                fid,
                uid,
                false,
                ts,
            )
            .await?;
            released.push(m.try_get("blob_digest").db("read message row")?);
            tags::forget_item(conn, mb, item as i32).await?;
        }
        sqlx::query("DELETE FROM mail_item WHERE mailbox_id = ? AND folder_id = ?")
            .bind(mb.0)
            .bind(fid)
            .execute(&mut *conn)
            .await
            .db("delete folder messages")?;
        released.extend(items::delete_folder_items(conn, mb, fid, change, ts).await?);
        tombstone(
            conn,
            mb,
            change,
            i64::from(fid),
            ItemKind::Folder,
            fparent,
            0,
            false,
            ts,
        )
        .await?;
        sqlx::query("DELETE FROM folder WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(fid)
            .execute(&mut *conn)
            .await
            .db("delete folder")?;
    }
    sqlx::query("UPDATE folder SET modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?")
        .bind(change)
        .bind(mb.0)
        .bind(parent)
        .execute(&mut *conn)
        .await
        .db("touch parent folder")?;
    items::drop_empty_conversations(conn, mb).await?;
    released.sort();
    released.dedup();
    Ok(released)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn tombstone(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    item: i64,
    kind: ItemKind,
    folder_id: i32,
    uid: i64,
    moved: bool,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tombstone (mailbox_id, change, item_id, type, folder_id, imap_id, moved, date)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(mb.0)
    .bind(change)
    .bind(item)
    .bind(i64::from(kind.code()))
    .bind(folder_id)
    .bind(uid)
    .bind(i64::from(moved))
    .bind(ts)
    .execute(&mut *conn)
    .await
    .db("insert tombstone")?;
    Ok(())
}

/// Raises a folder's modseq to `change` (an item in it changed).
pub(crate) async fn touch_folder(
    conn: &mut DbConn,
    mb: MailboxId,
    folder_id: i32,
    change: i64,
) -> Result<(), StoreError> {
    adjust_folder(conn, mb, folder_id, 0, 0, 0, change).await
}

/// Adds to a folder's counters and raises its modseq to `change`.
pub(crate) async fn adjust_folder(
    conn: &mut DbConn,
    mb: MailboxId,
    folder_id: i32,
    count: i64,
    unread: i64,
    size: i64,
    change: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE folder SET item_count = item_count + ?, unread_count = unread_count + ?,
            size = size + ?, modseq = MAX(modseq, ?)
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(count)
    .bind(unread)
    .bind(size)
    .bind(change)
    .bind(mb.0)
    .bind(folder_id)
    .execute(&mut *conn)
    .await
    .db("update folder counters")?;
    Ok(())
}

/// Raises the mailbox's item id and change number checkpoints.
pub(crate) async fn bump(
    conn: &mut DbConn,
    mb: MailboxId,
    item_id: Option<i32>,
    change: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE mailbox SET item_id_checkpoint = MAX(item_id_checkpoint, ?),
            change_checkpoint = MAX(change_checkpoint, ?) WHERE id = ?",
    )
    .bind(item_id.map(i64::from).unwrap_or(0))
    .bind(change)
    .bind(mb.0)
    .execute(&mut *conn)
    .await
    .db("advance mailbox checkpoints")?;
    Ok(())
}

/// Records that `seq` is applied: on its mailbox, and in the store-wide redo state.
pub(crate) async fn finish(
    conn: &mut DbConn,
    mb: MailboxId,
    seq: u64,
    checkpoint: u64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE mailbox SET last_redo_seq = MAX(last_redo_seq, ?) WHERE id = ?")
        .bind(seq as i64)
        .bind(mb.0)
        .execute(&mut *conn)
        .await
        .db("record redo sequence")?;
    sqlx::query(
        "UPDATE store_state SET redo_checkpoint = MAX(redo_checkpoint, ?),
            redo_high_seq = MAX(redo_high_seq, ?) WHERE id = 1",
    )
    .bind(checkpoint as i64)
    .bind(seq as i64)
    .execute(&mut *conn)
    .await
    .db("record redo checkpoint")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_validity_is_never_zero() {
        assert_eq!(uid_validity(u32::MAX, 1), 1);
        assert_eq!(uid_validity(100, 5), 105);
    }
}
