//! The mailbox metadata a search reads: folders and messages as of one change number,
//! cached for recently searched mailboxes and reused while that number holds, with what
//! every search would otherwise recompute: conversation sizes and dates, and the
//! messages in each result order (built on first use), so a search walks the matches
//! already in order and never sorts.

use std::collections::HashMap;
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

/// The mailbox's folders and messages: the cached snapshot when nothing changed since
/// it was read (one small query), else a fresh read (one query per folder).
pub(super) async fn metadata(mailbox: &Mailbox) -> Result<Arc<Snapshot>, SearchError> {
    let key = (mailbox.account(), mailbox.id());
    let change = mailbox.change_number().await?.0;
    let cached = SNAPSHOTS
        .lock()
        .ok()
        .and_then(|c| c.get(&key).filter(|s| s.change == change).cloned());
    if let Some(s) = cached {
        return Ok(s);
    }

    // The change number is read first, so the snapshot is at least as new as its tag.
    let folders = mailbox.folders().await?;
    let mut messages = Vec::new();
    for f in &folders {
        if f.id.0 == folder::ROOT || f.id.0 == folder::USER_ROOT {
            continue;
        }
        messages.extend(mailbox.messages(f.id).await?);
    }
    let snap = Arc::new(Snapshot::new(change, folders, messages));
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
