//! Reading rows into the public types: message rows into [`MessageMeta`], folder rows
//! into [`Folder`] (with paths built from the parent chain).
//!
//! Writes live in `crate::apply`; this module only reads.

use std::collections::HashMap;

use crate::db::DbConn;
use sqlx::Row;
use sqlx::any::AnyRow;
use zcs_core::{Flags, ItemId, MailboxId, folder};

use crate::error::{DbContext, StoreError};
use crate::types::{Folder, MessageMeta};

/// The columns [`message_from_row`] expects, as a literal for `concat!`.
macro_rules! message_columns {
    () => {
        "id, folder_id, imap_id, flags, tag_names, date, size, mod_metadata, blob_digest, \
         subject, sender, recipients, message_id, conv_id"
    };
}

/// A message row selected with [`message_columns!`].
pub(crate) fn message_from_row(row: &AnyRow) -> Result<MessageMeta, StoreError> {
    let get_i64 = |name: &'static str| row.try_get::<i64, _>(name).db("read message row");
    let tag_names: String = row.try_get("tag_names").db("read message row")?;
    Ok(MessageMeta {
        id: ItemId(get_i64("id")? as i32),
        folder: ItemId(get_i64("folder_id")? as i32),
        imap_uid: get_i64("imap_id")? as u32,
        flags: Flags(get_i64("flags")? as u32),
        tags: split_tags(&tag_names),
        internal_date_ms: get_i64("date")?,
        size: get_i64("size")? as u64,
        modseq: get_i64("mod_metadata")?,
        blob_digest: row.try_get("blob_digest").db("read message row")?,
        subject: row.try_get("subject").db("read message row")?,
        sender: row.try_get("sender").db("read message row")?,
        recipients: row.try_get("recipients").db("read message row")?,
        message_id: row.try_get("message_id").db("read message row")?,
        conv: {
            let c = get_i64("conv_id")?;
            ItemId(if c == 0 { -get_i64("id")? } else { c } as i32)
        },
    })
}

/// Zimbra's `tag_names` encoding: names separated by NUL, with a leading and trailing
/// NUL (DbTag.serializeTags); empty for no tags. U+0001 separates on PostgreSQL
/// (see `apply_tags::join_tags`).
pub(crate) fn split_tags(s: &str) -> Vec<String> {
    s.split(['\0', '\u{1}'])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// One folder row, before its path is known.
#[derive(Clone, Debug)]
pub(crate) struct FolderRow {
    pub id: i32,
    pub parent: i32,
    pub name: String,
    pub view: String,
    pub uid_validity: u32,
    pub modseq: i64,
    pub messages: u32,
    pub unread: u32,
    pub size: u64,
}

/// The columns [`folder_from_row`] reads, as a literal for `concat!`.
macro_rules! folder_columns {
    () => {
        "id, parent_id, name, view, uid_validity, modseq, item_count, unread_count, size"
    };
}

/// Deepest parent chain the walks below follow; the store never writes a cycle, this
/// only bounds the walk if a damaged database holds one.
const MAX_FOLDER_DEPTH: usize = 4096;

/// A row selected with [`folder_columns!`].
fn folder_from_row(r: &AnyRow) -> Result<FolderRow, StoreError> {
    let get_i64 = |name: &'static str| r.try_get::<i64, _>(name).db("read folder row");
    Ok(FolderRow {
        id: get_i64("id")? as i32,
        parent: get_i64("parent_id")? as i32,
        name: r.try_get("name").db("read folder row")?,
        view: r.try_get("view").db("read folder row")?,
        uid_validity: get_i64("uid_validity")? as u32,
        modseq: r.try_get("modseq").db("read folder row")?,
        messages: get_i64("item_count")?.max(0) as u32,
        unread: get_i64("unread_count")?.max(0) as u32,
        size: get_i64("size")?.max(0) as u64,
    })
}

/// Every folder of `mailbox`, including ROOT and USER_ROOT, by id.
pub(crate) async fn load_folders(
    conn: &mut DbConn,
    mailbox: MailboxId,
) -> Result<HashMap<i32, FolderRow>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        folder_columns!(),
        " FROM folder WHERE mailbox_id = ?"
    ))
    .bind(mailbox.0)
    .fetch_all(&mut *conn)
    .await
    .db("load folders")?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let f = folder_from_row(&r)?;
        out.insert(f.id, f);
    }
    Ok(out)
}

/// Folder `id` of `mailbox` (one read by primary key), `None` when absent.
pub(crate) async fn folder_row(
    conn: &mut DbConn,
    mailbox: MailboxId,
    id: i32,
) -> Result<Option<FolderRow>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        folder_columns!(),
        " FROM folder WHERE mailbox_id = ? AND id = ?"
    ))
    .bind(mailbox.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("read folder")?;
    row.as_ref().map(folder_from_row).transpose()
}

/// The parent of folder `id`, `None` when absent (one read by primary key).
async fn parent_of(
    conn: &mut DbConn,
    mailbox: MailboxId,
    id: i32,
) -> Result<Option<(i32, String)>, StoreError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT parent_id, name FROM folder WHERE mailbox_id = ? AND id = ?")
            .bind(mailbox.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("read folder parent")?;
    Ok(row.map(|(p, n)| (p as i32, n)))
}

/// The absolute path of `row`, as [`path_of`] gives it, read by walking up its parent
/// chain: one read per level, whatever the number of folders in the mailbox.
pub(crate) async fn folder_path(
    conn: &mut DbConn,
    mailbox: MailboxId,
    row: &FolderRow,
) -> Result<String, StoreError> {
    let mut parts = Vec::new();
    let (mut cur, mut parent, mut name) = (row.id, row.parent, row.name.clone());
    for _ in 0..MAX_FOLDER_DEPTH {
        if cur == folder::USER_ROOT || cur == folder::ROOT {
            break;
        }
        parts.push(name);
        cur = parent;
        if cur == folder::USER_ROOT || cur == folder::ROOT {
            break;
        }
        match parent_of(conn, mailbox, cur).await? {
            Some((p, n)) => (parent, name) = (p, n),
            None => break,
        }
    }
    parts.reverse();
    Ok(format!("/{}", parts.join("/")))
}

/// The public [`Folder`] for folder `id` with `uid_next`, read row by row (see
/// [`folder_path`]); `None` when absent.
pub(crate) async fn folder_by_id(
    conn: &mut DbConn,
    mailbox: MailboxId,
    id: i32,
    uid_next: u32,
) -> Result<Option<Folder>, StoreError> {
    let Some(row) = folder_row(conn, mailbox, id).await? else {
        return Ok(None);
    };
    let path = folder_path(conn, mailbox, &row).await?;
    Ok(Some(Folder {
        id: ItemId(row.id),
        parent: ItemId(row.parent),
        name: row.name,
        path,
        view: row.view,
        uid_validity: row.uid_validity,
        uid_next,
        modseq: row.modseq,
        messages: row.messages,
        unread: row.unread,
        size: row.size,
    }))
}

/// The child of `parent` named `name` without regard to case, as Zimbra's
/// `Folder.findSubfolder` looks (over the `folder_lname` index). Should a database hold
/// two such children (written before names were compared without case), the one named
/// exactly `name` wins, else the oldest.
pub(crate) async fn child_named(
    conn: &mut DbConn,
    mailbox: MailboxId,
    parent: i32,
    name: &str,
) -> Result<Option<i32>, StoreError> {
    let ids = children_named(conn, mailbox, parent, name).await?;
    Ok(ids
        .iter()
        .find(|(_, n)| n == name)
        .or(ids.first())
        .map(|(id, _)| *id))
}

/// Every child of `parent` whose name is `name` without regard to case, by id.
async fn children_named(
    conn: &mut DbConn,
    mailbox: MailboxId,
    parent: i32,
    name: &str,
) -> Result<Vec<(i32, String)>, StoreError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM folder
         WHERE mailbox_id = ? AND parent_id = ? AND lname = ? AND id <> parent_id
         ORDER BY id",
    )
    .bind(mailbox.0)
    .bind(parent)
    .bind(crate::schema::folder_lname(name))
    .fetch_all(&mut *conn)
    .await
    .db("look up folder name")?;
    Ok(rows.into_iter().map(|(id, n)| (id as i32, n)).collect())
}

/// Whether `parent` has a child other than `except` that a new child named `name` would
/// clash with: one whose name differs from `name` at most in case (Zimbra's
/// `Folder.findSubfolder`; it covers IMAP's case-insensitive INBOX, RFC 9051 §5.1, as
/// well). One indexed read.
pub(crate) async fn name_taken(
    conn: &mut DbConn,
    mailbox: MailboxId,
    parent: i32,
    name: &str,
    except: Option<i32>,
) -> Result<bool, StoreError> {
    let ids = children_named(conn, mailbox, parent, name).await?;
    Ok(ids.into_iter().any(|(id, _)| Some(id) != except))
}

/// `root` and every folder below it, parents before children (siblings by id), with
/// each one's parent: one read of the `folder_lname` index per folder of the subtree,
/// whatever the number of folders elsewhere in the mailbox.
pub(crate) async fn subtree_rows(
    conn: &mut DbConn,
    mailbox: MailboxId,
    root: i32,
) -> Result<Vec<(i32, i32)>, StoreError> {
    let Some((root_parent, _)) = parent_of(conn, mailbox, root).await? else {
        return Ok(Vec::new());
    };
    let mut out = vec![(root, root_parent)];
    let mut seen = std::collections::HashSet::from([root]);
    let mut i = 0;
    while i < out.len() {
        let cur = out[i].0;
        let kids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM folder WHERE mailbox_id = ? AND parent_id = ? AND id <> parent_id
             ORDER BY id",
        )
        .bind(mailbox.0)
        .bind(cur)
        .fetch_all(&mut *conn)
        .await
        .db("list subfolders")?;
        for k in kids {
            let k = k as i32;
            // A damaged database could hold a cycle; never visit a folder twice.
            if seen.insert(k) {
                out.push((k, cur));
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Whether `candidate` is `ancestor` or lies below it, by walking up from `candidate`
/// (one read per level).
pub(crate) async fn within(
    conn: &mut DbConn,
    mailbox: MailboxId,
    candidate: i32,
    ancestor: i32,
) -> Result<bool, StoreError> {
    let mut cur = candidate;
    for _ in 0..MAX_FOLDER_DEPTH {
        if cur == ancestor {
            return Ok(true);
        }
        match parent_of(conn, mailbox, cur).await? {
            Some((p, _)) if p != cur => cur = p,
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// The absolute path of folder `id`: `"/"` for USER_ROOT, `"/Inbox/sub"` below it.
/// A broken parent chain (which the store never writes) ends the walk.
pub(crate) fn path_of(folders: &HashMap<i32, FolderRow>, id: i32) -> String {
    let mut parts = Vec::new();
    let mut cur = id;
    for _ in 0..folders.len() + 1 {
        if cur == folder::USER_ROOT || cur == folder::ROOT {
            break;
        }
        let Some(f) = folders.get(&cur) else { break };
        parts.push(f.name.as_str());
        cur = f.parent;
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// The public [`Folder`] for `row`; `uid_next` is the mailbox's next item id.
pub(crate) fn folder_of(
    folders: &HashMap<i32, FolderRow>,
    row: &FolderRow,
    uid_next: u32,
) -> Folder {
    Folder {
        id: ItemId(row.id),
        parent: ItemId(row.parent),
        name: row.name.clone(),
        path: path_of(folders, row.id),
        view: row.view.clone(),
        uid_validity: row.uid_validity,
        uid_next,
        modseq: row.modseq,
        messages: row.messages,
        unread: row.unread,
        size: row.size,
    }
}

/// `folder` and every folder below it, parents before children.
pub(crate) fn subtree(folders: &HashMap<i32, FolderRow>, root: i32) -> Vec<i32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        let mut kids: Vec<i32> = folders
            .values()
            .filter(|f| f.parent == cur && f.id != cur)
            .map(|f| f.id)
            .collect();
        kids.sort_unstable();
        out.extend(kids);
        i += 1;
    }
    out
}

/// Reads one message by id, `None` when the mailbox has no such message.
pub(crate) async fn message_by_id(
    conn: &mut DbConn,
    mailbox: MailboxId,
    id: ItemId,
) -> Result<Option<MessageMeta>, StoreError> {
    let row = sqlx::query(MESSAGE_BY_ID)
        .bind(mailbox.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .db("read message")?;
    row.as_ref().map(message_from_row).transpose()
}

const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM mail_item WHERE mailbox_id = ? AND id = ?"
);

/// The messages of one folder, by UID ascending.
pub(crate) const MESSAGES_IN_FOLDER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM mail_item WHERE mailbox_id = ? AND folder_id = ? ORDER BY imap_id"
);

/// The messages of one folder changed after a change number, by UID ascending.
pub(crate) const MESSAGES_CHANGED_SINCE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM mail_item WHERE mailbox_id = ? AND folder_id = ? AND mod_metadata > ? \
     ORDER BY imap_id"
);

/// Every message of a mailbox changed after a change number, in change order (the
/// `mail_item_modseq` index gives them without reading the unchanged rows).
pub(crate) const MESSAGES_CHANGED_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM mail_item WHERE mailbox_id = ? AND mod_metadata > ? ORDER BY mod_metadata"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i32, parent: i32, name: &str) -> FolderRow {
        FolderRow {
            id,
            parent,
            name: name.into(),
            view: "message".into(),
            uid_validity: 1,
            modseq: 1,
            messages: 0,
            unread: 0,
            size: 0,
        }
    }

    #[test]
    fn paths_and_subtrees() {
        let mut m = HashMap::new();
        for r in [
            row(11, 11, "ROOT"),
            row(1, 11, "USER_ROOT"),
            row(2, 1, "Inbox"),
            row(257, 2, "a"),
            row(258, 257, "b"),
        ] {
            m.insert(r.id, r);
        }
        assert_eq!(path_of(&m, 1), "/");
        assert_eq!(path_of(&m, 258), "/Inbox/a/b");
        assert_eq!(subtree(&m, 2), vec![2, 257, 258]);
        assert_eq!(split_tags("\0a\0b\0"), vec!["a", "b"]);
        assert!(split_tags("").is_empty());
    }
}
