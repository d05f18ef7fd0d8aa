//! The mailbox metadata a search reads: folders and messages as of one change number,
//! cached for recently searched mailboxes and reused while that number holds, with what
//! every search would otherwise recompute: conversation sizes and dates, and the
//! messages in each result order (built on first use), so a search walks the matches
//! already in order and never sorts.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use zcs_core::{ItemId, MailboxId, ZimbraId, folder};
use zcs_store::{Folder, Mailbox, MessageMeta};

use super::SearchError;
use super::sort::{SortBy, ascending_twin, permutation};

/// Per conversation: message count, first and last date (ms).
pub(super) type ConvStats = HashMap<ItemId, (u32, i64, i64)>;

/// The folders and messages of one mailbox as of one change number.
pub(super) struct Snapshot {
    change: i64,
    pub(super) folders: Vec<Folder>,
    pub(super) messages: Vec<MessageMeta>,
    /// Every conversation's size and dates (over all messages of the snapshot).
    pub(super) convs: ConvStats,
    /// Message positions in each ascending order asked for so far.
    orders: Mutex<HashMap<SortBy, Arc<Vec<u32>>>>,
}

impl Snapshot {
    /// A snapshot of `messages` and `folders` at `change`.
    pub(super) fn new(change: i64, folders: Vec<Folder>, messages: Vec<MessageMeta>) -> Self {
        let mut convs: ConvStats = HashMap::new();
        for m in &messages {
            let d = m.internal_date_ms;
            let e = convs.entry(m.conv).or_insert((0, d, d));
            e.0 += 1;
            e.1 = e.1.min(d);
            e.2 = e.2.max(d);
        }
        Snapshot {
            change,
            folders,
            messages,
            convs,
            orders: Mutex::new(HashMap::new()),
        }
    }

    /// The positions of the messages in `sort`'s ascending twin and whether to walk them
    /// backwards for `sort` itself. Built once per snapshot and order.
    pub(super) fn order(&self, sort: SortBy) -> (Arc<Vec<u32>>, bool) {
        let (twin, reverse) = ascending_twin(sort);
        let cached = self.orders.lock().ok().and_then(|o| o.get(&twin).cloned());
        if let Some(p) = cached {
            return (p, reverse);
        }
        let p = Arc::new(permutation(&self.messages, twin));
        if let Ok(mut o) = self.orders.lock() {
            o.insert(twin, p.clone());
        }
        (p, reverse)
    }
}

/// Mailboxes whose metadata is kept between searches.
const CACHED_MAILBOXES: usize = 64;

type SnapshotCache = std::sync::Mutex<HashMap<(ZimbraId, MailboxId), Arc<Snapshot>>>;

/// Recent snapshots, keyed by account and mailbox id. A snapshot is used only while the
/// mailbox's change number is the one it was read at, and every change (flag, tag,
/// move, delete, folder edit) bumps that number, so a search never sees stale state.
static SNAPSHOTS: std::sync::LazyLock<SnapshotCache> = std::sync::LazyLock::new(Default::default);

#[cfg(test)]
thread_local! {
    /// Snapshots this thread read whole (rather than brought up to date).
    static FULL_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The mailbox's folders and messages: the cached snapshot when nothing changed since
/// it was read (one small query); after a change, the cached snapshot brought up to
/// date with only what changed (see [`refresh`]); else a fresh read (one query per
/// folder).
pub(super) async fn metadata(mailbox: &Mailbox) -> Result<Arc<Snapshot>, SearchError> {
    let key = (mailbox.account(), mailbox.id());
    let change = mailbox.change_number().await?.0;
    let cached = SNAPSHOTS.lock().ok().and_then(|c| c.get(&key).cloned());
    if let Some(s) = &cached
        && s.change == change
    {
        return Ok(s.clone());
    }

    // The change number is read first, so the snapshot is at least as new as its tag.
    let refreshed = match &cached {
        Some(old) if old.change < change => refresh(mailbox, old, change).await?,
        _ => None,
    };
    let snap = match refreshed {
        Some(s) => Arc::new(s),
        None => Arc::new(read_whole(mailbox, change).await?),
    };
    // The default order is wanted by nearly every search: build it with the snapshot.
    snap.order(SortBy::DateDesc);
    if let Ok(mut c) = SNAPSHOTS.lock() {
        if c.len() >= CACHED_MAILBOXES && !c.contains_key(&key) {
            // Evict one entry; any will do for a cache this small.
            if let Some(k) = c.keys().next().copied() {
                c.remove(&k);
            }
        }
        c.insert(key, snap.clone());
    }
    Ok(snap)
}

/// Every folder and message of the mailbox, tagged with `change`.
async fn read_whole(mailbox: &Mailbox, change: i64) -> Result<Snapshot, SearchError> {
    #[cfg(test)]
    FULL_READS.with(|n| n.set(n.get() + 1));
    let folders = mailbox.folders().await?;
    let mut messages = Vec::new();
    for f in &folders {
        if f.id.0 == folder::ROOT || f.id.0 == folder::USER_ROOT {
            continue;
        }
        messages.extend(mailbox.messages(f.id).await?);
    }
    Ok(Snapshot::new(change, folders, messages))
}

/// `old` brought up to `change` with what changed since it was read: every metadata
/// change (flags, tags, folder, conversation) gives a message a new MODSEQ, so the
/// messages above `old.change` in each folder replace their old rows, and items that
/// left (tombstones since then) are dropped. Costs one query per folder over its
/// changed rows and one over the tombstones, instead of reading every row.
///
/// `None` when the result cannot be trusted and the caller must read everything: a
/// folder was replaced (its UIDVALIDITY changed, as after a restore), or a folder's
/// message count disagrees with the store's (tombstones pruned, a concurrent change).
async fn refresh(
    mailbox: &Mailbox,
    old: &Snapshot,
    change: i64,
) -> Result<Option<Snapshot>, SearchError> {
    let folders = mailbox.folders().await?;
    for f in &folders {
        if old
            .folders
            .iter()
            .any(|o| o.id == f.id && o.uid_validity != f.uid_validity)
        {
            return Ok(None);
        }
    }
    let gone: HashSet<ItemId> = mailbox
        .tombstones_since(old.change)
        .await?
        .into_iter()
        .filter(|t| !t.is_folder)
        .map(|t| t.id)
        .collect();
    let mut changed: HashMap<ItemId, MessageMeta> = HashMap::new();
    for f in &folders {
        if f.id.0 == folder::ROOT || f.id.0 == folder::USER_ROOT {
            continue;
        }
        for m in mailbox.messages_changed_since(f.id, old.change).await? {
            changed.insert(m.id, m);
        }
    }
    let live: HashSet<ItemId> = folders.iter().map(|f| f.id).collect();
    let mut messages: Vec<MessageMeta> = old
        .messages
        .iter()
        .filter(|m| !gone.contains(&m.id) && !changed.contains_key(&m.id))
        .filter(|m| live.contains(&m.folder))
        .cloned()
        .collect();
    messages.extend(changed.into_values());

    let mut counts: HashMap<ItemId, u32> = HashMap::new();
    for m in &messages {
        *counts.entry(m.folder).or_default() += 1;
    }
    let agrees = folders.iter().all(|f| {
        f.id.0 == folder::ROOT
            || f.id.0 == folder::USER_ROOT
            || counts.get(&f.id).copied().unwrap_or(0) == f.messages
    });
    if !agrees {
        return Ok(None);
    }
    Ok(Some(Snapshot::new(change, folders, messages)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Flags, folder};
    use zcs_store::{Store, StoreConfig};

    fn raw(i: usize) -> Vec<u8> {
        format!("From: a@x.test\r\nSubject: m{i}\r\nMessage-ID: <m{i}@x.test>\r\n\r\nbody\r\n")
            .into_bytes()
    }

    fn ids(s: &Snapshot) -> Vec<(i32, i32, u32)> {
        let mut v: Vec<(i32, i32, u32)> = s
            .messages
            .iter()
            .map(|m| (m.id.0, m.folder.0, m.flags.0))
            .collect();
        v.sort();
        v
    }

    /// After each kind of change, the refreshed snapshot equals a whole read, and no
    /// whole read was needed.
    #[tokio::test]
    async fn refresh_follows_every_kind_of_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
        let mb = store.mailbox(ZimbraId::new()).await.unwrap();
        let inbox = ItemId(folder::INBOX);
        let mut added = Vec::new();
        for i in 0..5 {
            added.push(
                mb.append(inbox, &raw(i), Flags(0), 1000 + i as i64)
                    .await
                    .unwrap(),
            );
        }
        let work = mb
            .create_folder(ItemId(folder::USER_ROOT), "Work")
            .await
            .unwrap();
        metadata(&mb).await.unwrap();

        let steps: Vec<&str> = vec!["deliver", "flag", "move", "delete", "tag"];
        for step in steps {
            match step {
                "deliver" => {
                    mb.append(inbox, &raw(9), Flags(Flags::UNREAD), 5000)
                        .await
                        .unwrap();
                }
                "flag" => {
                    mb.set_flags(&[added[0].id], Flags::FLAGGED, true)
                        .await
                        .unwrap();
                }
                "move" => {
                    mb.move_items(&[added[1].id], work.id).await.unwrap();
                }
                "delete" => {
                    mb.delete_items(&[added[2].id]).await.unwrap();
                }
                _ => {
                    mb.set_tags_by_name(&[added[3].id], &["red".into()], true, true)
                        .await
                        .unwrap();
                }
            }
            let before = FULL_READS.with(|n| n.get());
            let snap = metadata(&mb).await.unwrap();
            assert_eq!(
                FULL_READS.with(|n| n.get()),
                before,
                "{step} read everything"
            );
            let whole = read_whole(&mb, 0).await.unwrap();
            assert_eq!(ids(&snap), ids(&whole), "after {step}");
            let tags = |s: &Snapshot| {
                s.messages
                    .iter()
                    .find(|m| m.id == added[3].id)
                    .map(|m| m.tags.clone())
            };
            assert_eq!(tags(&snap), tags(&whole), "after {step}");
        }
        store.close().await;
    }
}
