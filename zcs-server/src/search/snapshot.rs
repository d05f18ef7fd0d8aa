//! The mailbox metadata a search reads: folders and messages as of one change number,
//! cached for recently searched mailboxes and reused while that number holds.

use std::collections::HashMap;
use std::sync::Arc;

use zcs_core::{MailboxId, ZimbraId, folder};
use zcs_store::{Folder, Mailbox, MessageMeta};

use super::SearchError;

/// The folders and messages of one mailbox as of one change number.
pub(super) struct Snapshot {
    change: i64,
    pub(super) folders: Vec<Folder>,
    pub(super) messages: Vec<MessageMeta>,
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
    let snap = Arc::new(Snapshot {
        change,
        folders,
        messages,
    });
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
