//! Applying the message records (`SetFlags`, `Copy`, `Move`, `Delete`) one item at a
//! time, inside the caller's transaction; `crate::apply` dispatches here.
//!
//! As everywhere in `crate::apply`, a missing row is skipped with a warning so replay
//! over a partly applied state converges.

use crate::db::DbConn;
use sqlx::Row;
use zcs_core::{Flags, ItemKind, MailboxId};

use crate::apply::{adjust_folder, tombstone};
use crate::apply_items as items;
use crate::apply_tags as tags;
use crate::error::{DbContext, StoreError};

pub(crate) async fn set_flags(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    flags: u32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let Some(row) =
        sqlx::query("SELECT folder_id, unread FROM mail_item WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("read flags")?
    else {
        tracing::warn!(
            mailbox = mb.0,
            item = id,
            "flag change for a missing item skipped"
        );
        return Ok(());
    };
    let folder_id: i32 = row.try_get::<i64, _>("folder_id").db("read flags")? as i32;
    let old_unread: i64 = row.try_get("unread").db("read flags")?;
    let unread = i64::from(Flags(flags).contains(Flags::UNREAD));
    sqlx::query(
        "UPDATE mail_item SET flags = ?, unread = ?, mod_metadata = ?, change_date = ?
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(i64::from(flags))
    .bind(unread)
    .bind(change)
    .bind(ts)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("update flags")?;
    adjust_folder(conn, mb, folder_id, 0, unread - old_unread, 0, change).await
}

pub(crate) async fn copy_one(
    conn: &mut DbConn,
    mb: MailboxId,
    src: i32,
    new: i32,
    to: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO mail_item (mailbox_id, id, type, folder_id, imap_id, date, size,
            blob_digest, flags, unread, tag_names, subject, sender, recipients, message_id,
            mod_metadata, mod_content, change_date, indexed, conv_id, norm_subject)
         SELECT mailbox_id, ?, type, ?, ?, date, size, blob_digest, flags, unread, tag_names,
            subject, sender, recipients, message_id, ?, ?, ?, 0,
            CASE WHEN conv_id > 0 THEN conv_id ELSE ? END, norm_subject
         FROM mail_item WHERE mailbox_id = ? AND id = ?",
    )
    .bind(new)
    .bind(to)
    .bind(new)
    .bind(change)
    .bind(change)
    .bind(ts)
    .bind(-new)
    .bind(mb.0)
    .bind(src)
    .execute(&mut *conn)
    .await
    .db("copy message")?;
    if done.rows_affected() == 0 {
        tracing::warn!(mailbox = mb.0, item = src, "copy of a missing item skipped");
        return Ok(());
    }
    tags::copy_tags(conn, mb, src, new).await?;
    let (unread, size) = unread_and_size(conn, mb, new).await?;
    adjust_folder(conn, mb, to, 1, unread, size, change).await
}

pub(crate) async fn move_one(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    uid: i32,
    to: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let Some(row) = sqlx::query(
        "SELECT folder_id, imap_id, unread, size FROM mail_item WHERE mailbox_id = ? AND id = ?",
    )
    .bind(mb.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("read moved item")?
    else {
        tracing::warn!(mailbox = mb.0, item = id, "move of a missing item skipped");
        return Ok(());
    };
    let from: i32 = row.try_get::<i64, _>("folder_id").db("read moved item")? as i32;
    let old_uid: i64 = row.try_get("imap_id").db("read moved item")?;
    let unread: i64 = row.try_get("unread").db("read moved item")?;
    let size: i64 = row.try_get("size").db("read moved item")?;
    sqlx::query(
        "UPDATE mail_item SET folder_id = ?, imap_id = ?, mod_metadata = ?, change_date = ?
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(to)
    .bind(uid)
    .bind(change)
    .bind(ts)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("move item")?;
    tombstone(
        conn,
        mb,
        change,
        i64::from(id),
        ItemKind::Message,
        from,
        old_uid,
        true,
        ts,
    )
    .await?;
    adjust_folder(conn, mb, from, -1, -unread, -size, change).await?;
    adjust_folder(conn, mb, to, 1, unread, size, change).await
}

pub(crate) async fn delete_one(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<Option<String>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT folder_id, imap_id, unread, size, blob_digest, conv_id FROM mail_item
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(mb.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("read deleted item")?
    else {
        return Ok(None);
    };
    let folder_id: i32 = row.try_get::<i64, _>("folder_id").db("read deleted item")? as i32;
    let uid: i64 = row.try_get("imap_id").db("read deleted item")?;
    let unread: i64 = row.try_get("unread").db("read deleted item")?;
    let size: i64 = row.try_get("size").db("read deleted item")?;
    let digest: String = row.try_get("blob_digest").db("read deleted item")?;
    let conv: i64 = row.try_get("conv_id").db("read deleted item")?;
    sqlx::query("DELETE FROM mail_item WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("delete item")?;
    tags::forget_item(conn, mb, id).await?;
    tombstone(
        conn,
        mb,
        change,
        i64::from(id),
        ItemKind::Message,
        folder_id,
        uid,
        false,
        ts,
    )
    .await?;
    adjust_folder(conn, mb, folder_id, -1, -unread, -size, change).await?;
    items::conversation_lost_message(conn, mb, conv as i32, change).await?;
    Ok(Some(digest))
}

async fn unread_and_size(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query("SELECT unread, size FROM mail_item WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .db("read copied item")?;
    Ok((
        row.try_get("unread").db("read copied item")?,
        row.try_get("size").db("read copied item")?,
    ))
}
