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
//!
//! Listings are cached per folder ([`FlagCache`]) with the mailbox change number they
//! were read at. Every change to a message raises the mailbox's change number and
//! stamps the message (`mod_metadata`) or leaves a tombstone, so a cached listing is
//! current while the number has not moved, and after it moved is brought up to date
//! from the messages changed since and the tombstones since, without reading the
//! folder again. Restores, which replace rows outside the change numbering, drop the
//! mailbox's entries ([`FlagCache::forget_mailbox`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

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

/// Most flag entries kept by the cache, over every folder (about 60 bytes each).
const CACHE_ENTRIES: usize = 400_000;

/// A folder's listing as read at a change number.
struct Cached {
    change: i64,
    entries: Arc<Vec<FlagEntry>>,
    last_used: u64,
}

/// Flag listings of recently listed folders, keyed by (mailbox id, folder id), each
/// valid at the mailbox change number it carries (see the module doc). Holds at most
/// [`CACHE_ENTRIES`] entries; the least recently used folders go first.
#[derive(Default)]
pub(crate) struct FlagCache {
    /// The listings, and a use counter for least-recently-used eviction.
    folders: Mutex<(Folders, u64)>,
}

/// Cached listings by (mailbox id, folder id).
type Folders = HashMap<(i64, i32), Cached>;

impl FlagCache {
    fn get(&self, key: (i64, i32)) -> Option<(i64, Arc<Vec<FlagEntry>>)> {
        let mut g = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        g.1 += 1;
        let tick = g.1;
        let c = g.0.get_mut(&key)?;
        c.last_used = tick;
        Some((c.change, c.entries.clone()))
    }

    fn put(&self, key: (i64, i32), change: i64, entries: Arc<Vec<FlagEntry>>) {
        if entries.len() > CACHE_ENTRIES {
            return;
        }
        let mut g = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        g.1 += 1;
        let tick = g.1;
        if g.0.get(&key).is_some_and(|c| c.change > change) {
            return;
        }
        g.0.insert(
            key,
            Cached {
                change,
                entries,
                last_used: tick,
            },
        );
        loop {
            let total: usize = g.0.values().map(|c| c.entries.len()).sum();
            if total <= CACHE_ENTRIES {
                break;
            }
            let Some(oldest) = g.0.iter().min_by_key(|(_, c)| c.last_used).map(|(k, _)| *k) else {
                break;
            };
            g.0.remove(&oldest);
        }
    }

    /// Drops every cached listing of `mailbox` (its rows were replaced wholesale).
    pub(crate) fn forget_mailbox(&self, mailbox: i64) {
        let mut g = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        g.0.retain(|(mb, _), _| *mb != mailbox);
    }
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
        // Read in the listing's own snapshot, so the listing is valid at exactly it.
        let change: i64 = sqlx::query_scalar("SELECT change_checkpoint FROM mailbox WHERE id = ?")
            .bind(self.id().0)
            .fetch_one(&mut *tx)
            .await
            .db("read change number")?;
        let key = (self.id().0, folder.0);
        let entries = match self.inner.flag_cache.get(key) {
            Some((at, entries)) if at == change => entries,
            Some((at, entries)) if at < change => {
                let fresh = Arc::new(self.flags_since(&mut tx, folder, at, &entries).await?);
                self.inner.flag_cache.put(key, change, fresh.clone());
                fresh
            }
            _ => {
                let fresh = Arc::new(self.read_flags(&mut tx, folder).await?);
                self.inner.flag_cache.put(key, change, fresh.clone());
                fresh
            }
        };
        tx.commit().await.db("end read")?;
        Ok(match filter {
            None => entries.as_ref().clone(),
            Some((mask, set)) => entries
                .iter()
                .filter(|e| {
                    let bits = e.flags.0 & mask;
                    if set { bits == mask } else { bits == 0 }
                })
                .cloned()
                .collect(),
        })
    }

    /// `cached` (the listing at change `at`) brought up to date: the messages that
    /// left the folder since (tombstones) go, the messages stamped since are read again.
    async fn flags_since(
        &self,
        tx: &mut crate::db::Tx,
        folder: ItemId,
        at: i64,
        cached: &[FlagEntry],
    ) -> Result<Vec<FlagEntry>, StoreError> {
        use sqlx::Row;
        let left: Vec<i64> = sqlx::query_scalar(
            "SELECT item_id FROM tombstone WHERE mailbox_id = ? AND change > ? AND folder_id = ?",
        )
        .bind(self.id().0)
        .bind(at)
        .bind(folder.0)
        .fetch_all(&mut **tx)
        .await
        .db("read departed messages")?;
        let rows = sqlx::query(
            "SELECT imap_id, id, flags, mod_metadata, tag_names FROM mail_item
             WHERE mailbox_id = ? AND folder_id = ? AND mod_metadata > ?",
        )
        .bind(self.id().0)
        .bind(folder.0)
        .bind(at)
        .fetch_all(&mut **tx)
        .await
        .db("read changed flags")?;
        let mut changed = Vec::with_capacity(rows.len());
        for r in &rows {
            let get = |i: usize| r.try_get::<i64, _>(i).db("read changed flags");
            let tags: Option<String> = r.try_get(4).db("read changed flags")?;
            changed.push(FlagEntry {
                imap_uid: get(0)? as u32,
                id: ItemId(get(1)? as i32),
                flags: Flags(get(2)? as u32),
                modseq: get(3)?,
                tags: tags
                    .as_deref()
                    .map(crate::rows::split_tags)
                    .unwrap_or_default(),
            });
        }
        let gone: HashSet<i32> = left
            .iter()
            .map(|i| *i as i32)
            .chain(changed.iter().map(|e| e.id.0))
            .collect();
        let mut out: Vec<FlagEntry> = cached
            .iter()
            .filter(|e| !gone.contains(&e.id.0))
            .cloned()
            .collect();
        out.extend(changed);
        out.sort_by_key(|e| e.imap_uid);
        Ok(out)
    }

    /// The whole listing of `folder`, read from the database (see the module doc).
    async fn read_flags(
        &self,
        tx: &mut crate::db::Tx,
        folder: ItemId,
    ) -> Result<Vec<FlagEntry>, StoreError> {
        let backend = self.inner.pool.backend();
        if backend == Backend::MySql {
            sqlx::query("SET SESSION group_concat_max_len = 67108864")
                .execute(&mut **tx)
                .await
                .db("raise group_concat_max_len")?;
        }
        let sql = format!(
            "SELECT {agg} FROM (SELECT imap_id, id, flags, mod_metadata FROM mail_item \
             WHERE mailbox_id = ? AND folder_id = ? AND imap_id > ? \
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
                .fetch_one(&mut **tx)
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
        .fetch_all(&mut **tx)
        .await
        .db("list tagged messages")?;
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
