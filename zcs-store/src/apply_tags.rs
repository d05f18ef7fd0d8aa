//! Applying the tag records (`CreateTag`, `RenameTag`,
//! `SetTagColor`, `DeleteTag`, `SetTags`) and the
//! tag side of message records, inside the caller's transaction. Messages, contacts,
//! appointments, tasks and documents take tags; only messages mirror them in
//! `tag_names`.
//!
//! `tagged_item` is the truth; `mail_item.tag_names` is rewritten from it (Zimbra's
//! NUL-separated form, tags in id order) whenever an item's tags or a tag's name
//! change, and the item and its folder take the change number, so IMAP sees keyword
//! changes through MODSEQ. As everywhere in `crate::apply`, a missing row is skipped
//! with a warning so replay over a partly applied state converges.

use crate::db::DbConn;
use zcs_core::MailboxId;

use crate::error::{DbContext, StoreError};

/// Ids below this are tag ids; a tag created once they are used up takes an item id.
pub(crate) const TAG_ID_LIMIT: i32 = 256;

pub(crate) async fn create_tag(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    name: &str,
    color: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tag (mailbox_id, id, name, lname, color, created_change, modseq)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(mb.0)
    .bind(id)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(color)
    .bind(change)
    .bind(change)
    .execute(&mut *conn)
    .await
    .db("insert tag")?;
    if id < TAG_ID_LIMIT {
        sqlx::query(
            "UPDATE mailbox SET tag_id_checkpoint = MAX(tag_id_checkpoint, ?) WHERE id = ?",
        )
        .bind(id)
        .bind(mb.0)
        .execute(&mut *conn)
        .await
        .db("advance tag id")?;
    }
    Ok(())
}

pub(crate) async fn rename_tag(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    name: &str,
    ts: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE tag SET name = ?, lname = ?, modseq = MAX(modseq, ?)
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(name)
    .bind(name.to_lowercase())
    .bind(change)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("rename tag")?;
    if done.rows_affected() == 0 {
        tracing::warn!(mailbox = mb.0, tag = id, "rename of a missing tag skipped");
        return Ok(());
    }
    for item in items_with_tag(conn, mb, id).await? {
        refresh_item(conn, mb, item, change, ts).await?;
    }
    Ok(())
}

/// Applies `SetTagColor`: only the tag row changes (its colour and modseq).
pub(crate) async fn set_tag_color(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    color: i32,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE tag SET color = ?, modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?",
    )
    .bind(color)
    .bind(change)
    .bind(mb.0)
    .bind(id)
    .execute(&mut *conn)
    .await
    .db("recolor tag")?;
    if done.rows_affected() == 0 {
        tracing::warn!(
            mailbox = mb.0,
            tag = id,
            "colour change of a missing tag skipped"
        );
    }
    Ok(())
}

pub(crate) async fn delete_tag(
    conn: &mut DbConn,
    mb: MailboxId,
    change: i64,
    id: i32,
    ts: i64,
) -> Result<(), StoreError> {
    let items = items_with_tag(conn, mb, id).await?;
    sqlx::query("DELETE FROM tagged_item WHERE mailbox_id = ? AND tag_id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("untag items")?;
    sqlx::query("DELETE FROM tag WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("delete tag")?;
    for item in items {
        refresh_item(conn, mb, item, change, ts).await?;
    }
    Ok(())
}

/// Gives `item` exactly the tags `tags` (ids of tags that no longer exist are
/// ignored) and stamps it with `change`.
pub(crate) async fn set_item_tags(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
    tags: &[i32],
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let exists = item_table(conn, mb, item).await?;
    if exists.is_none() {
        tracing::warn!(
            mailbox = mb.0,
            item,
            "tag change for a missing item skipped"
        );
        return Ok(());
    }
    sqlx::query("DELETE FROM tagged_item WHERE mailbox_id = ? AND item_id = ?")
        .bind(mb.0)
        .bind(item)
        .execute(&mut *conn)
        .await
        .db("clear item tags")?;
    for tag in tags {
        sqlx::query(
            "INSERT OR IGNORE INTO tagged_item (mailbox_id, tag_id, item_id)
             SELECT mailbox_id, id, ? FROM tag WHERE mailbox_id = ? AND id = ?",
        )
        .bind(item)
        .bind(mb.0)
        .bind(tag)
        .execute(&mut *conn)
        .await
        .db("tag item")?;
    }
    refresh_item(conn, mb, item, change, ts).await
}

/// Gives the copy `new` the tags of `src`.
pub(crate) async fn copy_tags(
    conn: &mut DbConn,
    mb: MailboxId,
    src: i32,
    new: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR IGNORE INTO tagged_item (mailbox_id, tag_id, item_id)
         SELECT mailbox_id, tag_id, ? FROM tagged_item WHERE mailbox_id = ? AND item_id = ?",
    )
    .bind(new)
    .bind(mb.0)
    .bind(src)
    .execute(&mut *conn)
    .await
    .db("copy item tags")?;
    Ok(())
}

/// The names of the tags on `item`, in tag id order (what a dumpster entry keeps).
pub(crate) async fn item_tag_names(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT t.name FROM tagged_item ti JOIN tag t
            ON t.mailbox_id = ti.mailbox_id AND t.id = ti.tag_id
         WHERE ti.mailbox_id = ? AND ti.item_id = ? ORDER BY t.id",
    )
    .bind(mb.0)
    .bind(item)
    .fetch_all(&mut *conn)
    .await
    .db("read item tags")
}

/// Puts back on `item` (recovered from the dumpster) the tags named `names` that still
/// exist (matched without regard to case, as tag names are), then rewrites its
/// `tag_names` and stamps it with `change`. Tags deleted meanwhile are dropped.
pub(crate) async fn restore_item_tags(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
    names: &[String],
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        sqlx::query(
            "INSERT OR IGNORE INTO tagged_item (mailbox_id, tag_id, item_id)
             SELECT mailbox_id, id, ? FROM tag WHERE mailbox_id = ? AND lname = ?",
        )
        .bind(item)
        .bind(mb.0)
        .bind(name.to_lowercase())
        .execute(&mut *conn)
        .await
        .db("restore item tags")?;
    }
    refresh_item(conn, mb, item, change, ts).await
}

/// Forgets the tags of a deleted item.
pub(crate) async fn forget_item(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM tagged_item WHERE mailbox_id = ? AND item_id = ?")
        .bind(mb.0)
        .bind(item)
        .execute(&mut *conn)
        .await
        .db("forget item tags")?;
    Ok(())
}

async fn items_with_tag(
    conn: &mut DbConn,
    mb: MailboxId,
    tag: i32,
) -> Result<Vec<i32>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT item_id FROM tagged_item WHERE mailbox_id = ? AND tag_id = ? ORDER BY item_id",
    )
    .bind(mb.0)
    .bind(tag)
    .fetch_all(&mut *conn)
    .await
    .db("list tagged items")?;
    Ok(ids.into_iter().map(|i| i as i32).collect())
}

/// Rewrites `tag_names` of `item` from `tagged_item`, and stamps the item and its
/// folder with `change`.
pub(crate) async fn refresh_item(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT t.name FROM tagged_item ti JOIN tag t
            ON t.mailbox_id = ti.mailbox_id AND t.id = ti.tag_id
         WHERE ti.mailbox_id = ? AND ti.item_id = ? ORDER BY t.id",
    )
    .bind(mb.0)
    .bind(item)
    .fetch_all(&mut *conn)
    .await
    .db("read item tags")?;
    // No `UPDATE ... RETURNING`: MariaDB lacks it.
    let updated = sqlx::query(
        "UPDATE mail_item SET tag_names = ?, mod_metadata = MAX(mod_metadata, ?),
            change_date = ? WHERE mailbox_id = ? AND id = ?",
    )
    .bind(join_tags(&names, conn.backend()))
    .bind(change)
    .bind(ts)
    .bind(mb.0)
    .bind(item)
    .execute(&mut *conn)
    .await
    .db("update item tags")?;
    let folder: Option<i64> = if updated.rows_affected() > 0 {
        sqlx::query_scalar("SELECT folder_id FROM mail_item WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(item)
            .fetch_optional(&mut *conn)
            .await
            .db("update item tags")?
    } else {
        stamp_other_item(conn, mb, item, change, ts).await?
    };
    if let Some(folder) = folder {
        sqlx::query("UPDATE folder SET modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?")
            .bind(change)
            .bind(mb.0)
            .bind(folder)
            .execute(&mut *conn)
            .await
            .db("touch folder")?;
    }
    Ok(())
}

/// The tables other than `mail_item` whose items take tags: contacts, appointments and
/// tasks, documents. Their tags live in `tagged_item` only (no `tag_names` mirror).
pub(crate) const OTHER_TAGGABLE: &[&str] = &["contact", "cal_item", "document"];

/// The table holding taggable item `item`, `None` when no such item exists.
pub(crate) async fn item_table(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
) -> Result<Option<&'static str>, StoreError> {
    for table in std::iter::once("mail_item").chain(OTHER_TAGGABLE.iter().copied()) {
        let sql = format!("SELECT id FROM {table} WHERE mailbox_id = ? AND id = ?");
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(mb.0)
            .bind(item)
            .fetch_optional(&mut *conn)
            .await
            .db("look up tagged item")?;
        if found.is_some() {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// Stamps a contact, calendar item or document with `change` after its tags changed
/// (a contact also with its change date `ts`); returns its folder (`None` when it is no
/// such item).
async fn stamp_other_item(
    conn: &mut DbConn,
    mb: MailboxId,
    item: i32,
    change: i64,
    ts: i64,
) -> Result<Option<i64>, StoreError> {
    for table in OTHER_TAGGABLE {
        let (sql, dated) = if *table == "contact" {
            (
                "UPDATE contact SET modseq = MAX(modseq, ?), change_date = ?
                 WHERE mailbox_id = ? AND id = ?"
                    .to_string(),
                true,
            )
        } else {
            (
                format!(
                    "UPDATE {table} SET modseq = MAX(modseq, ?) WHERE mailbox_id = ? AND id = ?"
                ),
                false,
            )
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(change);
        if dated {
            q = q.bind(ts);
        }
        let done = q
            .bind(mb.0)
            .bind(item)
            .execute(&mut *conn)
            .await
            .db("stamp tagged item")?;
        if done.rows_affected() > 0 {
            let sql = format!("SELECT folder_id FROM {table} WHERE mailbox_id = ? AND id = ?");
            return sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(mb.0)
                .bind(item)
                .fetch_optional(&mut *conn)
                .await
                .db("stamp tagged item");
        }
    }
    Ok(None)
}

/// Zimbra's `tag_names` form: each name followed by NUL, with a leading NUL; empty for
/// no tags (DbTag.serializeTags). PostgreSQL text cannot hold NUL, so there the
/// separator is U+0001 (names hold no control characters either); reads accept both.
pub(crate) fn join_tags(names: &[String], backend: crate::db::Backend) -> String {
    if names.is_empty() {
        return String::new();
    }
    let sep = if backend == crate::db::Backend::Postgres {
        '\u{1}'
    } else {
        '\0'
    };
    let mut s = String::from(sep);
    for n in names {
        s.push_str(n);
        s.push(sep);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_form() {
        let sqlite = crate::db::Backend::Sqlite;
        assert_eq!(join_tags(&[], sqlite), "");
        assert_eq!(join_tags(&["a".into(), "b c".into()], sqlite), "\0a\0b c\0");
        let pg = crate::db::Backend::Postgres;
        assert_eq!(join_tags(&["a".into()], pg), "\u{1}a\u{1}");
    }
}
