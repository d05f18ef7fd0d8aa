//! Flag listings: the UID, flags, tags and MODSEQ of every message of a folder (IMAP
//! `FETCH 1:* (UID FLAGS)`, `SEARCH UNSEEN`, SOAP unread and flagged counts) without
//! reading whole item rows.
//!
//! A folder of 100,000 messages is read as a few rows, not 100,000: each engine folds a
//! chunk of the folder into one text value (`group_concat` on SQLite, `GROUP_CONCAT` on
//! MariaDB, `string_agg` on PostgreSQL) from the covering index `mail_item_flags`
//! (`mailbox_id, folder_id, imap_id, id, flags, mod_metadata`), and tag names are read
//! only for the messages that carry a tag (from `tagged_item`). All reads run in one
//! transaction, so the listing is one consistent snapshot.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;
use zcs_core::{Flags, ItemId};

use crate::db::Backend;
use crate::error::{DbContext, StoreError};
use crate::mailbox::Mailbox;

/// Messages folded into one aggregated row. At about 44 bytes a message, a chunk stays
/// well under MariaDB's `group_concat_max_len`, which the listing raises for its session.
const CHUNK: i64 = 50_000;

/// One message's flag state, as a flags listing returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagEntry {
    /// The message's item id.
    pub id: ItemId,
    /// Its IMAP UID in the folder.
    pub imap_uid: u32,
    /// Zimbra flag bits ([`Flags::UNREAD`] is IMAP's missing `\Seen`).
    pub flags: Flags,
    /// Names of its tags (IMAP keywords), in tag id order.
    pub tags: Vec<String>,
    /// Change number of its last change (IMAP MODSEQ).
    pub modseq: i64,
}

/// The aggregate expression over `imap_id, id, flags, mod_metadata` for `backend`: one
/// text of `uid,id,flags,modseq` entries separated by `;`.
fn aggregate(backend: Backend) -> &'static str {
    match backend {
        // One printf per row costs half of three `||` concatenations.
        Backend::Sqlite => {
            "group_concat(printf('%d,%d,%d,%d', imap_id, id, flags, mod_metadata), ';')"
        }
        Backend::MySql => {
            "GROUP_CONCAT(CONCAT_WS(',', imap_id, id, flags, mod_metadata) SEPARATOR ';')"
        }
        Backend::Postgres => "string_agg(concat_ws(',', imap_id, id, flags, mod_metadata), ';')",
    }
}

/// Parses one aggregated chunk into `out`; returns the highest UID seen. A malformed
/// entry (which the store never writes) is an internal error, not a panic.
fn parse_chunk(text: &str, out: &mut Vec<FlagEntry>) -> Result<Option<u32>, StoreError> {
    let bad = || StoreError::Internal("malformed flag listing row".into());
    let mut high = None;
    for entry in text.split(';').filter(|e| !e.is_empty()) {
        let mut f = entry.split(',');
        let mut next = || f.next().ok_or_else(bad);
        let uid: u32 = next()?.trim().parse().map_err(|_| bad())?;
        let id: i32 = next()?.trim().parse().map_err(|_| bad())?;
        let flags: u32 = next()?.trim().parse().map_err(|_| bad())?;
        let modseq: i64 = next()?.trim().parse().map_err(|_| bad())?;
        high = Some(high.map_or(uid, |h: u32| h.max(uid)));
        out.push(FlagEntry {
            id: ItemId(id),
            imap_uid: uid,
            flags: Flags(flags),
            tags: Vec::new(),
            modseq,
        });
    }
    Ok(high)
}

impl Mailbox {
    /// The flag state of every message of `folder`, by IMAP UID ascending: what IMAP
    /// `FETCH 1:* (UID FLAGS)` and `SEARCH UNSEEN` need, read without the rest of each
    /// row (see the module doc). Matches [`Mailbox::messages`] field for field.
    ///
    /// # Errors
    /// `mail.NO_SUCH_FOLDER`, maintenance mode, database errors.
    pub async fn message_flags(&self, folder: ItemId) -> Result<Vec<FlagEntry>, StoreError> {
        self.flag_listing(folder, None).await
    }

    /// The messages of `folder` with every bit of `mask` set (`set`) or with none of
    /// them set (`!set`), by UID ascending: all `\Flagged` messages are
    /// `(Flags::FLAGGED, true)`, all unread ones `(Flags::UNREAD, true)`, all seen ones
    /// `(Flags::UNREAD, false)`.
    ///
    /// # Errors
    /// As [`Mailbox::message_flags`].
    pub async fn messages_with_flags(
        &self,
        folder: ItemId,
        mask: u32,
        set: bool,
    ) -> Result<Vec<FlagEntry>, StoreError> {
        self.flag_listing(folder, Some((mask, set))).await
    }

    async fn flag_listing(
        &self,
        folder: ItemId,
        filter: Option<(u32, bool)>,
    ) -> Result<Vec<FlagEntry>, StoreError> {
        self.check_maintenance()?;
        let backend = self.inner.pool.backend();
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
        if backend == Backend::MySql {
            sqlx::query("SET SESSION group_concat_max_len = 67108864")
                .execute(&mut *tx)
                .await
                .db("raise group_concat_max_len")?;
        }
        // The flag test is on the index's own column, so the index still covers it.
        let cond = match filter {
            None => String::new(),
            Some((mask, true)) => format!(" AND (flags & {mask}) = {mask}"),
            Some((mask, false)) => format!(" AND (flags & {mask}) = 0"),
        };
        let sql = format!(
            "SELECT {agg} FROM (SELECT imap_id, id, flags, mod_metadata FROM mail_item \
             WHERE mailbox_id = ? AND folder_id = ? AND imap_id > ?{cond} \
             ORDER BY imap_id LIMIT {CHUNK}) chunk",
            agg = aggregate(backend)
        );
        let mut out = Vec::new();
        let mut after: i64 = -1;
        loop {
            let text: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                .bind(self.id().0)
                .bind(folder.0)
                .bind(after)
                .fetch_one(&mut *tx)
                .await
                .db("list flags")?;
            let before = out.len();
            let high = match text {
                Some(t) => parse_chunk(&t, &mut out)?,
                None => None,
            };
            match high {
                Some(h) if ((out.len() - before) as i64) >= CHUNK => after = i64::from(h),
                _ => break,
            }
        }
        out.sort_unstable_by_key(|e| e.imap_uid);
        // Tag names only for the messages carrying a tag.
        // Driven from `tagged_item`, so an untagged folder costs nothing; a message with
        // several tags comes once per tag (the map below keeps one).
        let tagged = sqlx::query(
            "SELECT m.id, m.tag_names FROM tagged_item ti JOIN mail_item m \
             ON m.mailbox_id = ti.mailbox_id AND m.id = ti.item_id \
             WHERE ti.mailbox_id = ? AND m.folder_id = ?",
        )
        .bind(self.id().0)
        .bind(folder.0)
        .fetch_all(&mut *tx)
        .await
        .db("list tagged messages")?;
        tx.commit().await.db("end read")?;
        if !tagged.is_empty() {
            use sqlx::Row;
            let mut names: HashMap<i32, Vec<String>> = HashMap::with_capacity(tagged.len());
            for r in &tagged {
                let id = r.try_get::<i64, _>("id").db("read tagged row")? as i32;
                let t: String = r.try_get("tag_names").db("read tagged row")?;
                names.insert(id, crate::rows::split_tags(&t));
            }
            for e in &mut out {
                if let Some(t) = names.remove(&e.id.0) {
                    e.tags = t;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_parse_and_report_the_highest_uid() {
        let mut out = Vec::new();
        let high = parse_chunk("300,300,1,9;257,257,0,4", &mut out).expect("parses");
        assert_eq!(high, Some(300));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].id, ItemId(257));
        assert_eq!(out[0].flags, Flags(1));
        assert_eq!(out[0].modseq, 9);
        assert_eq!(parse_chunk("", &mut out).expect("empty"), None);
        assert!(parse_chunk("1,2,x,4", &mut out).is_err());
        assert!(parse_chunk("1,2", &mut out).is_err());
    }
}
