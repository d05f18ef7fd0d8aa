//! Rebuilding and checking one mailbox's index (`reIndexMailbox` start, status and
//! cancel; `verifyIndex`), and the damage check of the whole index that ends in a
//! rebuild from the store. The indexer task does the work in its rounds (`super`);
//! this module keeps the state a reindex shares with the handles and the comparisons
//! of index and store.
//!
//! A reindex adds every message of the mailbox again, one batch per round, and first
//! removes the documents of items the store no longer holds. The mailbox stays
//! searchable throughout (documents are replaced in place), with hits possibly
//! incomplete until it is done, as in Zimbra.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use zcs_core::{ItemId, ZimbraId};
use zcs_index::IndexBackend;
use zcs_index::query::{ItemSet, Query};
use zcs_store::Mailbox;

use super::BATCH;

/// Where a mailbox's reindex stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReindexState {
    /// Adding the messages, a batch per indexer round.
    Running,
    /// Every message was added again.
    Done,
    /// Cancelled before the end; what was added stays.
    Cancelled,
}

/// A mailbox's reindex: its state and how far it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReindexProgress {
    /// Running, done or cancelled.
    pub state: ReindexState,
    /// Messages to add (0 until the mailbox has been listed).
    pub total: usize,
    /// Messages added so far.
    pub done: usize,
}

impl ReindexProgress {
    /// Messages still to add.
    pub fn remaining(&self) -> usize {
        self.total.saturating_sub(self.done)
    }
}

/// One reindex: its progress and the messages still to add (`None` until listed).
pub(super) struct Reindex {
    pub(super) progress: ReindexProgress,
    pending: Option<Vec<ItemId>>,
}

/// Reindexes by account, shared by the handles (start, status, cancel) and the task.
pub(super) type Reindexing = Arc<Mutex<HashMap<ZimbraId, Reindex>>>;

/// Records a new reindex of `account`; false when one is running already.
pub(super) fn start(reindexing: &Reindexing, account: ZimbraId) -> bool {
    let mut all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
    if all
        .get(&account)
        .is_some_and(|r| r.progress.state == ReindexState::Running)
    {
        return false;
    }
    all.insert(
        account,
        Reindex {
            progress: ReindexProgress {
                state: ReindexState::Running,
                total: 0,
                done: 0,
            },
            pending: None,
        },
    );
    true
}

/// Cancels `account`'s running reindex; false when none is running.
pub(super) fn cancel(reindexing: &Reindexing, account: ZimbraId) -> bool {
    let mut all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
    match all.get_mut(&account) {
        Some(r) if r.progress.state == ReindexState::Running => {
            r.progress.state = ReindexState::Cancelled;
            r.pending = Some(Vec::new());
            true
        }
        _ => false,
    }
}

/// The progress of `account`'s last reindex.
pub(super) fn status(reindexing: &Reindexing, account: ZimbraId) -> Option<ReindexProgress> {
    let all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
    all.get(&account).map(|r| r.progress.clone())
}

/// The next batch of `mailbox`'s running reindex, listing the mailbox (and removing
/// the documents of items the store no longer holds) on the first call; `None` when
/// no reindex is running. The batch stays pending until [`batch_done`].
///
/// # Errors
/// A store or index failure, as text.
pub(super) async fn next_batch(
    reindexing: &Reindexing,
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
) -> Result<Option<Vec<ItemId>>, String> {
    let account = mailbox.account();
    let listed = {
        let all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
        match all.get(&account) {
            Some(r) if r.progress.state == ReindexState::Running => r.pending.is_some(),
            _ => return Ok(None),
        }
    };
    if !listed {
        let ids = message_ids(mailbox).await?;
        let stored: HashSet<ItemId> = ids.iter().copied().collect();
        let extra: Vec<ItemId> = indexed_ids(index, mailbox)
            .await?
            .into_iter()
            .filter(|id| !stored.contains(id))
            .collect();
        if !extra.is_empty() {
            let index = index.clone();
            let id = mailbox.id();
            tokio::task::spawn_blocking(move || index.delete(id, &extra))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
        let mut all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = all.get_mut(&account)
            && r.progress.state == ReindexState::Running
            && r.pending.is_none()
        {
            r.progress.total = ids.len();
            r.pending = Some(ids);
        }
    }
    let mut all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(r) = all.get_mut(&account) else {
        return Ok(None);
    };
    if r.progress.state != ReindexState::Running {
        return Ok(None);
    }
    let pending = r.pending.as_deref().unwrap_or_default();
    if pending.is_empty() {
        r.progress.state = ReindexState::Done;
        tracing::info!(account = %account, messages = r.progress.total, "reindex done");
        return Ok(None);
    }
    Ok(Some(pending[..pending.len().min(BATCH)].to_vec()))
}

/// Records that the first `count` pending messages of `account`'s reindex were added
/// and committed; returns whether more are pending.
pub(super) fn batch_done(reindexing: &Reindexing, account: ZimbraId, count: usize) -> bool {
    let mut all = reindexing.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(r) = all.get_mut(&account) else {
        return false;
    };
    if r.progress.state != ReindexState::Running {
        return false;
    }
    let Some(pending) = r.pending.as_mut() else {
        return false;
    };
    let count = count.min(pending.len());
    pending.drain(..count);
    r.progress.done += count;
    if pending.is_empty() {
        r.progress.state = ReindexState::Done;
        tracing::info!(account = %account, messages = r.progress.total, "reindex done");
        return false;
    }
    true
}

/// Every message of `mailbox`, folder by folder.
///
/// # Errors
/// A store failure, as text.
pub(super) async fn message_ids(mailbox: &Mailbox) -> Result<Vec<ItemId>, String> {
    let mut ids = Vec::new();
    for folder in mailbox.folders().await.map_err(|e| e.to_string())? {
        if folder.messages == 0 {
            continue;
        }
        let messages = mailbox
            .messages(folder.id)
            .await
            .map_err(|e| e.to_string())?;
        ids.extend(messages.into_iter().map(|m| m.id));
    }
    Ok(ids)
}

/// Every item the index holds a document of for `mailbox`.
async fn indexed_ids(
    index: &Arc<dyn IndexBackend>,
    mailbox: &Mailbox,
) -> Result<Vec<ItemId>, String> {
    let index = index.clone();
    let id = mailbox.id();
    // `item:all` has no text part: the index answers with every document it holds.
    tokio::task::spawn_blocking(move || index.matching_items(id, &Query::Item(ItemSet::All)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// What `verifyIndex` found for one mailbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Damaged index files (the index is shared: damage there touches every mailbox),
    /// or why the files could not be read.
    pub damaged_files: Vec<String>,
    /// Messages marked indexed that the index has no document of.
    pub missing: Vec<ItemId>,
    /// Documents of items the store does not hold.
    pub extra: Vec<ItemId>,
    /// Messages waiting for the indexer (not a fault).
    pub pending: usize,
}

impl IndexReport {
    /// Whether the index is sound for this mailbox (pending messages are normal).
    pub fn is_sound(&self) -> bool {
        self.damaged_files.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Checks the index files (every byte, through their checksums) and compares the
/// mailbox's documents with its messages. Damage is logged as Zimbra logs it
/// (`Possibly corrupt index`); nothing is repaired here.
///
/// # Errors
/// A store failure, as text (an unreadable index is reported in the result).
pub async fn verify(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
) -> Result<IndexReport, String> {
    let files = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.verify_files())
            .await
            .map_err(|e| e.to_string())?
    };
    let mut report = IndexReport {
        damaged_files: match files {
            Ok(damaged) => damaged,
            Err(e) => vec![e.to_string()],
        },
        ..IndexReport::default()
    };
    let stored = message_ids(mailbox).await?;
    let unindexed: HashSet<ItemId> = mailbox
        .unindexed(usize::MAX)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    report.pending = unindexed.len();
    match indexed_ids(index, mailbox).await {
        Ok(indexed) => {
            let indexed: HashSet<ItemId> = indexed.into_iter().collect();
            let stored_set: HashSet<ItemId> = stored.iter().copied().collect();
            report.missing = stored
                .iter()
                .copied()
                .filter(|id| !indexed.contains(id) && !unindexed.contains(id))
                .collect();
            report.extra = indexed
                .into_iter()
                .filter(|id| !stored_set.contains(id))
                .collect();
            report.missing.sort();
            report.extra.sort();
        }
        Err(e) => report.damaged_files.push(e),
    }
    if !report.is_sound() {
        tracing::warn!(
            account = %mailbox.account(),
            damaged_files = report.damaged_files.len(),
            missing = report.missing.len(),
            extra = report.extra.len(),
            "Possibly corrupt index: verifyIndex found problems"
        );
    }
    Ok(report)
}
