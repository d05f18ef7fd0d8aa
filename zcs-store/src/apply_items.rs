//! Applying the records of the item model beyond messages and folders (dumpster,
//! contacts, calendar items, documents, mountpoints and search folders, grants) and the
//! conversation side of message records, inside the caller's transaction.
//!
//! As in `crate::apply`, everything is decided before logging; a missing row is skipped
//! with a warning so replay over a partly applied state converges, and "put" records
//! are upserts so applying one twice leaves one row.

use crate::db::DbConn;
use sqlx::Row;
use zcs_core::{ItemKind, MailboxId};

use crate::apply::{adjust_folder, tombstone, touch_folder};
use crate::apply_tags as tags;
use crate::error::{DbContext, StoreError};
use crate::redo::codec_items::{CalItemRecord, DocumentRecord, GrantRecord, LinkRecord};

/// Bookkeeping for a message just inserted into conversation `conv` (its id, or
/// `-id` for its own virtual one): when `promote` is not empty, `conv` is new, its row
/// is created with subject `norm` and the `promote` messages join it; a real
/// conversation takes the change number.
pub(crate) async fn thread_message(
    conn: &mut DbConn,
    mb: MailboxId,
    conv: i32,
    promote: &[i32],
    norm: &str,
    change: i64,
) -> Result<(), StoreError> {
    if conv < 0 {
        return Ok(());
    }
    if !promote.is_empty() {
        sqlx::query(
            "INSERT OR IGNORE INTO conversation (mailbox_id, id, subject, created_change, modseq)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(mb.0)
        .bind(conv)
        .bind(norm)
        .bind(change)
        .bind(change)
        .execute(&mut *conn)
        .await
        .db("insert conversation")?;
        for m in promote {
            sqlx::query(
                "UPDATE mail_item SET conv_id = ?, mod_metadata = MAX(mod_metadata, ?)
                 WHERE mailbox_id = ? AND id = ?",
            )
            .bind(conv)
            .bind(change)
            .bind(mb.0)
            .bind(m)
            .execute(&mut *conn)
            .await
            .db("promote conversation")?;
            // The message's change number moved (its conversation changed), so its
            // folder's must too: HIGHESTMODSEQ is never below a message's MODSEQ.
            sqlx::query(
                "UPDATE folder SET modseq = MAX(modseq, ?1) WHERE mailbox_id = ?2 AND id =
                    (SELECT folder_id FROM mail_item WHERE mailbox_id = ?2 AND id = ?3)",
            )
            .bind(change)
            .bind(mb.0)
            .bind(m)
            .execute(&mut *conn)
            .await
            .db("touch promoted message's folder")?;
        }
    }
    sqlx::query("UPDATE conversation SET modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?")
        .bind(change)
        .bind(mb.0)
        .bind(conv)
        .execute(&mut *conn)
        .await
        .db("touch conversation")?;
    Ok(())
}

/// Removes conversation `conv` when no message is left in it; otherwise raises its
/// change number. Virtual conversations (negative ids) have no row.
pub(crate) async fn conversation_lost_message(
    conn: &mut DbConn,
    mb: MailboxId,
    conv: i32,
    change: i64,
) -> Result<(), StoreError> {
    if conv <= 0 {
        return Ok(());
    }
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mail_item WHERE mailbox_id = ? AND conv_id = ?")
            .bind(mb.0)
            .bind(conv)
            .fetch_one(&mut *conn)
            .await
            .db("count conversation messages")?;
    if left == 0 {
        sqlx::query("DELETE FROM conversation WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(conv)
            .execute(&mut *conn)
            .await
            .db("delete conversation")?;
    } else {
        sqlx::query(
            "UPDATE conversation SET modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?",
        )
        .bind(change)
        .bind(mb.0)
        .bind(conv)
        .execute(&mut *conn)
        .await
        .db("touch conversation")?;
    }
    Ok(())
}

/// Drops every conversation row of `mb` that has no message left (after a bulk delete).
pub(crate) async fn drop_empty_conversations(
    conn: &mut DbConn,
    mb: MailboxId,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM conversation WHERE mailbox_id = ?1 AND NOT EXISTS
            (SELECT 1 FROM mail_item i WHERE i.mailbox_id = ?1 AND i.conv_id = conversation.id)",
    )
    .bind(mb.0)
    .execute(&mut *conn)
    .await
    .db("drop empty conversations")?;
    Ok(())
}

/// Copies message `id` into the dumpster (before the caller deletes it).
pub(crate) async fn to_dumpster(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO dumpster_item (mailbox_id, id, folder_id, imap_id, date, size,
            blob_digest, flags, tag_names, subject, sender, recipients, message_id,
            norm_subject, deleted_change, deleted_ms)
         SELECT mailbox_id, id, folder_id, imap_id, date, size, blob_digest, flags, tag_names,
            subject, sender, recipients, message_id, norm_subject, ?, ?
         FROM mail_item WHERE mailbox_id = ? AND id = ?",
    )
    .bind(change)
    .bind(ts)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("move to dumpster")?;
    Ok(())
}

/// Brings dumpster item `id` back into `folder` with IMAP UID `uid`, alone in its
/// virtual conversation, with the tags it had that still exist.
pub(crate) async fn recover(
    conn: &mut DbConn,
    mb: MailboxId,
    (id, folder, uid): (i32, i32, i32),
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO mail_item (mailbox_id, id, type, folder_id, imap_id, date, size,
            blob_digest, flags, unread, tag_names, subject, sender, recipients, message_id,
            mod_metadata, mod_content, change_date, indexed, conv_id, norm_subject)
         SELECT mailbox_id, id, ?, ?, ?, date, size, blob_digest, flags,
            CASE WHEN (flags & ?) != 0 THEN 1 ELSE 0 END, '',
            subject, sender, recipients, message_id, ?, ?, ?, 0, -id, norm_subject
         FROM dumpster_item WHERE mailbox_id = ? AND id = ?",
    )
    .bind(i64::from(ItemKind::Message.code()))
    .bind(folder)
    .bind(uid)
    .bind(i64::from(zcs_core::Flags::UNREAD))
    .bind(change)
    .bind(change)
    .bind(ts)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("recover from dumpster")?;
    let tag_names: Option<String> =
        sqlx::query_scalar("SELECT tag_names FROM dumpster_item WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("read dumpster tags")?;
    if done.rows_affected() == 0 {
        tracing::warn!(
            mailbox = mb.0,
            item = id,
            "recovery of a missing dumpster item skipped"
        );
        return Ok(());
    }
    sqlx::query("DELETE FROM dumpster_item WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("recover from dumpster")?;
    let row = sqlx::query("SELECT unread, size FROM mail_item WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .db("read recovered item")?;
    let unread: i64 = row.try_get("unread").db("read recovered item")?;
    let size: i64 = row.try_get("size").db("read recovered item")?;
    adjust_folder(conn, mb, folder, 1, unread, size, change).await?;
    let names = crate::rows::split_tags(tag_names.as_deref().unwrap_or(""));
    tags::restore_item_tags(conn, mb, id, &names, change, ts).await
}

/// Removes dumpster item `id` for good; returns its blob digest.
pub(crate) async fn purge_dumpster(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
) -> Result<Option<String>, StoreError> {
    let digest: Option<String> = sqlx::query_scalar(
        "DELETE FROM dumpster_item WHERE mailbox_id = ? AND id = ? RETURNING blob_digest",
    )
    .bind(mb.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("purge dumpster item")?;
    Ok(digest)
}

pub(crate) async fn put_cal_item(
    conn: &mut DbConn,
    mb: MailboxId,
    c: &CalItemRecord,
    ts: i64,
) -> Result<(), StoreError> {
    // Validated before logging; a record that no longer parses keeps empty columns.
    let s = crate::cal_parse::summarize(&c.ical).unwrap_or_default();
    let uid = if s.uid.is_empty() {
        format!("zcs-unparsed-{}", c.id)
    } else {
        s.uid.clone()
    };
    let old = old_folder(conn, "cal_item", mb, c.id).await?;
    sqlx::query(
        "INSERT INTO cal_item (mailbox_id, id, type, folder_id, flags, uid, ical, summary,
            start_ms, end_ms, recurring, organizer, attendees, created_change, modseq, date)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, id) DO UPDATE SET type = excluded.type,
            folder_id = excluded.folder_id, flags = excluded.flags, uid = excluded.uid,
            ical = excluded.ical, summary = excluded.summary, start_ms = excluded.start_ms,
            end_ms = excluded.end_ms, recurring = excluded.recurring,
            organizer = excluded.organizer, attendees = excluded.attendees,
            modseq = excluded.modseq",
    )
    .bind(mb.0)
    .bind(c.id)
    .bind(i64::from(c.kind))
    .bind(c.folder)
    .bind(i64::from(c.flags))
    .bind(uid)
    .bind(&c.ical)
    .bind(&s.summary)
    .bind(s.start_ms)
    .bind(s.end_ms)
    .bind(i64::from(s.recurring))
    .bind(&s.organizer)
    .bind(s.attendees.join("\n"))
    .bind(c.change)
    .bind(c.change)
    .bind(ts)
    .execute(&mut *conn)
    .await
    .db("put calendar item")?;
    let kind = ItemKind::from_code(c.kind).unwrap_or(ItemKind::Appointment);
    moved_from(conn, mb, old, c.id, kind, c.folder, c.change, ts).await
}

/// Saves a document revision; returns the digests of the revisions it dropped.
pub(crate) async fn save_document(
    conn: &mut DbConn,
    mb: MailboxId,
    d: &DocumentRecord,
    ts: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query(
        "INSERT INTO document (mailbox_id, id, folder_id, name, content_type, version, size,
            blob_digest, author, created_change, modseq, date)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, id) DO UPDATE SET name = excluded.name,
            content_type = excluded.content_type, version = excluded.version,
            size = excluded.size, blob_digest = excluded.blob_digest,
            author = excluded.author, modseq = excluded.modseq",
    )
    .bind(mb.0)
    .bind(d.id)
    .bind(d.folder)
    .bind(&d.name)
    .bind(&d.content_type)
    .bind(d.version)
    .bind(d.size as i64)
    .bind(&d.digest)
    .bind(&d.author)
    .bind(d.change)
    .bind(d.change)
    .bind(ts)
    .execute(&mut *conn)
    .await
    .db("save document")?;
    sqlx::query(
        "INSERT OR REPLACE INTO revision (mailbox_id, item_id, version, size, blob_digest,
            author, date, change) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(mb.0)
    .bind(d.id)
    .bind(d.version)
    .bind(d.size as i64)
    .bind(&d.digest)
    .bind(&d.author)
    .bind(ts)
    .bind(d.change)
    .execute(&mut *conn)
    .await
    .db("save revision")?;
    let mut released = Vec::new();
    for v in &d.drop_versions {
        let digest: Option<String> = sqlx::query_scalar(
            "DELETE FROM revision WHERE mailbox_id = ? AND item_id = ? AND version = ?
             RETURNING blob_digest",
        )
        .bind(mb.0)
        .bind(d.id)
        .bind(v)
        .fetch_optional(&mut *conn)
        .await
        .db("drop revision")?;
        released.extend(digest);
    }
    touch_folder(conn, mb, d.folder, d.change).await?;
    Ok(released)
}

pub(crate) async fn create_link(
    conn: &mut DbConn,
    mb: MailboxId,
    l: &LinkRecord,
) -> Result<(), StoreError> {
    // The same id again is a rename or move (`crate::link_rename`): the row is updated
    // in place, keeping its creation change, and its old parent is touched too.
    let old_parent: Option<i64> =
        sqlx::query_scalar("SELECT parent_id FROM folder_link WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(l.id)
            .fetch_optional(&mut *conn)
            .await
            .db("read link")?;
    if let Some(old) = old_parent.filter(|p| *p != i64::from(l.parent)) {
        touch_folder(conn, mb, old as i32, l.change).await?;
    }
    sqlx::query(
        "INSERT INTO folder_link (mailbox_id, id, type, parent_id, name, owner_id,
            remote_id, view, query, types, sort_by, created_change, modseq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, id) DO UPDATE SET type = excluded.type,
            parent_id = excluded.parent_id, name = excluded.name,
            owner_id = excluded.owner_id, remote_id = excluded.remote_id,
            view = excluded.view, query = excluded.query, types = excluded.types,
            sort_by = excluded.sort_by, modseq = excluded.modseq",
    )
    .bind(mb.0)
    .bind(l.id)
    .bind(i64::from(l.kind))
    .bind(l.parent)
    .bind(&l.name)
    .bind(&l.owner)
    .bind(l.remote_id)
    .bind(&l.view)
    .bind(&l.query)
    .bind(&l.types)
    .bind(&l.sort)
    .bind(l.change)
    .bind(l.change)
    .execute(&mut *conn)
    .await
    .db("create link")?;
    touch_folder(conn, mb, l.parent, l.change).await
}

pub(crate) async fn set_grant(
    conn: &mut DbConn,
    mb: MailboxId,
    g: &GrantRecord,
) -> Result<(), StoreError> {
    if g.rights.is_empty() {
        sqlx::query(
            "DELETE FROM acl WHERE mailbox_id = ? AND folder_id = ? AND grantee_type = ?
             AND grantee_id = ?",
        )
        .bind(mb.0)
        .bind(g.folder)
        .bind(i64::from(g.grantee_type))
        .bind(&g.grantee)
        .execute(&mut *conn)
        .await
        .db("revoke grant")?;
    } else {
        sqlx::query(
            "INSERT OR REPLACE INTO acl (mailbox_id, folder_id, grantee_type, grantee_id,
                rights, secret, modseq) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(mb.0)
        .bind(g.folder)
        .bind(i64::from(g.grantee_type))
        .bind(&g.grantee)
        .bind(&g.rights)
        .bind(&g.secret)
        .bind(g.change)
        .execute(&mut *conn)
        .await
        .db("set grant")?;
    }
    touch_folder(conn, mb, g.folder, g.change).await
}

/// The item tables `DeleteItems` looks in, with the kind reported in tombstones (for
/// `folder_link` and `cal_item` the row's own type column decides).
const ITEM_TABLES: &[(&str, &str)] = &[
    ("contact", "folder_id"),
    ("cal_item", "folder_id"),
    ("document", "folder_id"),
    ("folder_link", "parent_id"),
];

/// Deletes item `id` from whichever non-message table holds it, with a tombstone;
/// returns the blob digests it released (document revisions).
pub(crate) async fn delete_item(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<Vec<String>, StoreError> {
    delete_item_keeping(conn, mb, id, change, ts, false).await
}

/// [`delete_item`]; with `keep_revisions` a document's revisions (and so its blobs)
/// stay, for a document going into the dumpster.
pub(crate) async fn delete_item_keeping(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
    keep_revisions: bool,
) -> Result<Vec<String>, StoreError> {
    for (table, folder_col) in ITEM_TABLES {
        let kind_col = match *table {
            "contact" => "6",
            "document" => "8",
            _ => "type",
        };
        let sql = format!(
            "DELETE FROM {table} WHERE mailbox_id = ? AND id = ? RETURNING {folder_col}, {kind_col}"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(mb.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("delete item")?
        else {
            continue;
        };
        let folder = row.try_get::<i64, _>(0).db("read deleted item")? as i32;
        let code = row.try_get::<i64, _>(1).db("read deleted item")? as u8;
        let kind = ItemKind::from_code(code).unwrap_or(ItemKind::Contact);
        tombstone(conn, mb, change, i64::from(id), kind, folder, 0, false, ts).await?;
        touch_folder(conn, mb, folder, change).await?;
        if *table == "folder_link" {
            delete_child_links(conn, mb, id, change, ts).await?;
        }
        if keep_revisions {
            tags::forget_item(conn, mb, id).await?;
            return Ok(Vec::new());
        }
        let released: Vec<String> = sqlx::query_scalar(
            "DELETE FROM revision WHERE mailbox_id = ? AND item_id = ? RETURNING blob_digest",
        )
        .bind(mb.0)
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .db("delete revisions")?;
        tags::forget_item(conn, mb, id).await?;
        return Ok(released);
    }
    tracing::warn!(
        mailbox = mb.0,
        item = id,
        "delete of a missing item skipped"
    );
    Ok(Vec::new())
}

/// Deletes the search folders under search folder `id` (just deleted), and theirs in
/// turn, each with a tombstone.
async fn delete_child_links(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let mut parents = vec![id];
    while let Some(parent) = parents.pop() {
        let kids: Vec<(i64, i64)> = sqlx::query_as(
            "DELETE FROM folder_link WHERE mailbox_id = ? AND parent_id = ? RETURNING id, type",
        )
        .bind(mb.0)
        .bind(parent)
        .fetch_all(&mut *conn)
        .await
        .db("delete child links")?;
        for (kid, code) in kids {
            let kind = ItemKind::from_code(code as u8).unwrap_or(ItemKind::SearchFolder);
            tombstone(conn, mb, change, kid, kind, parent, 0, false, ts).await?;
            tags::forget_item(conn, mb, kid as i32).await?;
            parents.push(kid as i32);
        }
    }
    Ok(())
}

/// Deletes every non-message item in folder `fid` (a folder being deleted), with its
/// grants; returns the blob digests released.
pub(crate) async fn delete_folder_items(
    conn: &mut DbConn,
    mb: MailboxId,
    fid: i32,
    change: i64,
    ts: i64,
) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<i64> = Vec::new();
    for (table, folder_col) in ITEM_TABLES {
        let sql = format!("SELECT id FROM {table} WHERE mailbox_id = ? AND {folder_col} = ?");
        let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(mb.0)
            .bind(fid)
            .fetch_all(&mut *conn)
            .await
            .db("list folder items")?;
        ids.extend(found);
    }
    let mut released = Vec::new();
    for id in ids {
        released.extend(delete_item(conn, mb, id as i32, change, ts).await?);
    }
    sqlx::query("DELETE FROM acl WHERE mailbox_id = ? AND folder_id = ?")
        .bind(mb.0)
        .bind(fid)
        .execute(&mut *conn)
        .await
        .db("delete folder grants")?;
    sqlx::query("DELETE FROM retention_policy WHERE mailbox_id = ? AND folder_id = ?")
        .bind(mb.0)
        .bind(fid)
        .execute(&mut *conn)
        .await
        .db("delete folder retention policy")?;
    Ok(released)
}

/// Every row of the item model tables of `mb` removed (mailbox deletion); returns the
/// blob digests they referenced.
pub(crate) async fn delete_mailbox_items(
    conn: &mut DbConn,
    mb: MailboxId,
) -> Result<Vec<String>, StoreError> {
    let mut digests: Vec<String> = sqlx::query_scalar(
        "SELECT blob_digest FROM dumpster_item WHERE mailbox_id = ?1
         UNION SELECT blob_digest FROM revision WHERE mailbox_id = ?1",
    )
    .bind(mb.0)
    .fetch_all(&mut *conn)
    .await
    .db("list mailbox blobs")?;
    digests.sort();
    digests.dedup();
    for table in [
        "conversation",
        "dumpster_item",
        "contact",
        "cal_item",
        "document",
        "revision",
        "folder_link",
        "acl",
        "dumpster_row",
        "retention_policy",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE mailbox_id = ?"
        )))
        .bind(mb.0)
        .execute(&mut *conn)
        .await
        .db("delete mailbox items")?;
    }
    Ok(digests)
}

pub(crate) async fn old_folder(
    conn: &mut DbConn,
    table: &str,
    mb: MailboxId,
    id: i32,
) -> Result<Option<i32>, StoreError> {
    let sql = format!("SELECT folder_id FROM {table} WHERE mailbox_id = ? AND id = ?");
    let old: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(mb.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .db("read item folder")?;
    Ok(old.map(|f| f as i32))
}

/// Bookkeeping after an item was put into `folder`: its old folder (if it moved) gets a
/// "moved" tombstone; both folders take the change number.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn moved_from(
    conn: &mut DbConn,
    mb: MailboxId,
    old: Option<i32>,
    id: i32,
    kind: ItemKind,
    folder: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    if let Some(old) = old.filter(|o| *o != folder) {
        tombstone(conn, mb, change, i64::from(id), kind, old, 0, true, ts).await?;
        touch_folder(conn, mb, old, change).await?;
    }
    touch_folder(conn, mb, folder, change).await
}
