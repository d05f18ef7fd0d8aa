//! The mailbox metadata a search reads: folders and messages as of one change number,
//! cached for recently searched mailboxes and reused while that number holds, with what
//! every search would otherwise recompute: conversation sizes and dates, and the
//! messages in each result order (built on first use), so a search walks the matches
//! already in order and never sorts.
//!
//! After a change the cached snapshot is brought forward with only what changed (the
//! rows above its change number and the tombstones since), and every order already
//! built is patched rather than sorted again ([`delta`]); a whole read happens only for
//! a mailbox not cached yet or when the change set cannot be trusted.

mod delta;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use zcs_core::{ItemId, MailboxId, ZimbraId, folder};
use zcs_store::{Folder, Mailbox, MessageMeta};

use super::SearchError;
use super::sort::{SortBy, ascending_twin, permutation};

pub(super) use delta::Delta;

/// Per conversation: message count, first and last date (ms).
pub(super) type ConvStats = HashMap<ItemId, (u32, i64, i64)>;

/// The folders and messages of one mailbox as of one change number.
pub(super) struct Snapshot {
    change: i64,
    pub(super) folders: Vec<Folder>,
    /// Every message outside ROOT and USER_ROOT, by item id ascending (so one is found
    /// by binary search). Shared rows: the next snapshot reuses the unchanged ones.
    pub(super) messages: Vec<Arc<MessageMeta>>,
    /// Messages per folder, to check a change set against the store's counters.
    counts: HashMap<ItemId, u32>,
    /// Every conversation's size and dates (over all messages of the snapshot); shared
    /// with the next snapshot when a change leaves conversations alone.
    pub(super) convs: Arc<ConvStats>,
    /// Message positions in each ascending order asked for so far.
    orders: Mutex<HashMap<SortBy, Arc<Vec<u32>>>>,
}

/// Adds `m` to its conversation's count and dates.
fn conv_add(convs: &mut ConvStats, m: &MessageMeta) {
    let d = m.internal_date_ms;
    let e = convs.entry(m.conv).or_insert((0, d, d));
    e.0 += 1;
    e.1 = e.1.min(d);
    e.2 = e.2.max(d);
}

impl Snapshot {
    /// A snapshot of `messages` and `folders` at `change`.
    pub(super) fn new(change: i64, folders: Vec<Folder>, mut messages: Vec<MessageMeta>) -> Self {
        messages.sort_unstable_by_key(|m| m.id);
        messages.dedup_by_key(|m| m.id);
        let mut convs = ConvStats::new();
        let mut counts: HashMap<ItemId, u32> = HashMap::new();
        for m in &messages {
            conv_add(&mut convs, m);
            *counts.entry(m.folder).or_default() += 1;
        }
        Snapshot {
            change,
            folders,
            messages: messages.into_iter().map(Arc::new).collect(),
            counts,
            convs: Arc::new(convs),
            orders: Mutex::new(HashMap::new()),
        }
    }

    /// The positions of the messages in `sort`'s ascending twin and whether to walk them
    /// backwards for `sort` itself. Built once per snapshot and order (or carried over,
    /// patched, from the previous snapshot).
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

    /// The orders built so far, by ascending twin.
    fn built_orders(&self) -> Vec<(SortBy, Arc<Vec<u32>>)> {
        self.orders
            .lock()
            .map(|o| o.iter().map(|(s, p)| (*s, p.clone())).collect())
            .unwrap_or_default()
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
    // The default order is wanted by nearly every search: build it with the snapshot
    // (a refreshed snapshot carries it over already).
    snap.order(SortBy::DateDesc);
    if let Ok(mut c) = SNAPSHOTS.lock() {
        // Two searches may bring the same mailbox forward at once: keep the newest.
        let newer_cached = c.get(&key).is_some_and(|s| s.change > snap.change);
        if !newer_cached {
            if c.len() >= CACHED_MAILBOXES && !c.contains_key(&key) {
                // Evict one entry; any will do for a cache this small.
                if let Some(k) = c.keys().next().copied() {
                    c.remove(&k);
                }
            }
            c.insert(key, snap.clone());
        }
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
/// change (flags, tags, folder, conversation) gives a message a new MODSEQ and raises
/// its folder's, so the rows above `old.change` of the folders whose MODSEQ passed it
/// replace their old rows, and items that left (tombstones since then) are dropped.
/// Costs the folder list, one query over the tombstones and one indexed query over the
/// mailbox's changed rows, then work in proportion to the mailbox's size in pointers (no
/// row is copied, no order sorted again).
///
/// `None` when the result cannot be trusted and the caller must read everything: see
/// [`Snapshot::apply`].
async fn refresh(
    mailbox: &Mailbox,
    old: &Snapshot,
    change: i64,
) -> Result<Option<Snapshot>, SearchError> {
    let folders = mailbox.folders().await?;
    let gone: HashSet<ItemId> = mailbox
        .tombstones_since(old.change)
        .await?
        .into_iter()
        .filter(|t| !t.is_folder)
        .map(|t| t.id)
        .collect();
    // One read of the mailbox's change set over its (mailbox_id, mod_metadata) index;
    // rows of the root folders are left out by `apply`.
    let changed = mailbox.messages_changed_after(old.change).await?;
    Ok(old.apply(
        change,
        Delta {
            folders,
            gone,
            changed,
        },
    ))
}

#[cfg(test)]
mod tests;
