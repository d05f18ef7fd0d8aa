//! Applying `PutContact` inside the caller's transaction: the contact row is upserted
//! whole, with its dates kept as Zimbra keeps a contact's: the item date (`date`, ms)
//! is the creation time and moves to the record's time when the fields or members
//! change (Zimbra's `Contact.setFields`), the change date (`change_date`, ms) moves on
//! every change, and `mod_content` (the saved sequence, SOAP `rev`) takes the change
//! number of each content change. A move or flag change keeps `date` and `mod_content`.

use crate::db::DbConn;
use zcs_core::{ItemKind, MailboxId};

use crate::apply_items::{moved_from, old_folder};
use crate::error::{DbContext, StoreError};
use crate::redo::codec_items::ContactRecord;

/// The content and dates of a contact row before a put.
struct Prior {
    fields: String,
    members: String,
    date: i64,
    mod_content: i64,
    modseq: i64,
}

async fn prior(conn: &mut DbConn, mb: MailboxId, id: i32) -> Result<Option<Prior>, StoreError> {
    let row: Option<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT fields, members, date, mod_content, modseq FROM contact
         WHERE mailbox_id = ? AND id = ?",
    )
    .bind(mb.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("read contact")?;
    Ok(
        row.map(|(fields, members, date, mod_content, modseq)| Prior {
            fields,
            members,
            date,
            mod_content,
            modseq,
        }),
    )
}

/// Upserts contact `c` as of record time `ts` (see the module doc for its dates).
pub(crate) async fn put_contact(
    conn: &mut DbConn,
    mb: MailboxId,
    c: &ContactRecord,
    ts: i64,
) -> Result<(), StoreError> {
    let fields = serde_json::to_string(&c.fields)
        .map_err(|e| StoreError::Internal(format!("encode contact fields: {e}")))?;
    let members: Vec<(String, &str)> = c
        .members
        .iter()
        .map(|(k, v)| ((*k as char).to_string(), v.as_str()))
        .collect();
    let members = serde_json::to_string(&members)
        .map_err(|e| StoreError::Internal(format!("encode contact members: {e}")))?;
    let is_group = c
        .fields
        .iter()
        .any(|(k, v)| k == "type" && v.eq_ignore_ascii_case("group"));
    let old = old_folder(conn, "contact", mb, c.id).await?;
    let (date, mod_content) = match prior(conn, mb, c.id).await? {
        Some(p) if p.fields == fields && p.members == members => {
            // Rows from before version 5 have no content change number: the last
            // change number known is the best stand-in.
            let kept = if p.mod_content > 0 {
                p.mod_content
            } else {
                p.modseq
            };
            (p.date, kept)
        }
        _ => (ts, c.change),
    };
    sqlx::query(
        "INSERT INTO contact (mailbox_id, id, folder_id, flags, fields, members, is_group,
            created_change, modseq, date, change_date, mod_content)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, id) DO UPDATE SET folder_id = excluded.folder_id,
            flags = excluded.flags, fields = excluded.fields, members = excluded.members,
            is_group = excluded.is_group, modseq = excluded.modseq, date = excluded.date,
            change_date = excluded.change_date, mod_content = excluded.mod_content",
    )
    .bind(mb.0)
    .bind(c.id)
    .bind(c.folder)
    .bind(i64::from(c.flags))
    .bind(fields)
    .bind(members)
    .bind(i64::from(is_group))
    .bind(c.change)
    .bind(c.change)
    .bind(date)
    .bind(ts)
    .bind(mod_content)
    .execute(&mut *conn)
    .await
    .db("put contact")?;
    moved_from(
        conn,
        mb,
        old,
        c.id,
        ItemKind::Contact,
        c.folder,
        c.change,
        ts,
    )
    .await
}
