//! The indexer: a background task that brings each mailbox's index up to date with
//! its store. Deliveries and IMAP appends call [`Indexer::notify`]; the task reads the
//! items the store has not marked indexed, extracts their text, adds them to the index,
//! commits, and only then marks them indexed. After a crash the unmarked items are
//! simply indexed again at start, so nothing is lost and nothing needs a separate log.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use zcs_core::ZimbraId;
use zcs_index::{IndexBackend, document_from_message};
use zcs_store::Store;

/// Items taken from one mailbox per round.
const BATCH: usize = 200;

/// A handle that queues mailboxes for indexing. Cheap to clone.
#[derive(Clone)]
pub struct Indexer {
    tx: mpsc::UnboundedSender<ZimbraId>,
}

impl Indexer {
    /// Starts the indexer task over `store` and `index`. The task ends when every
    /// handle has been dropped and the queue is drained.
    pub fn start(store: Arc<Store>, index: Arc<dyn IndexBackend>) -> (Indexer, IndexerTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, index, rx));
        (Indexer { tx }, IndexerTask(task))
    }

    /// Queues `account`'s mailbox for indexing. Never blocks.
    pub fn notify(&self, account: ZimbraId) {
        let _ = self.tx.send(account);
    }
}

/// The running indexer task; await [`IndexerTask::join`] at shutdown after dropping
/// every [`Indexer`] handle.
pub struct IndexerTask(tokio::task::JoinHandle<()>);

impl IndexerTask {
    /// Waits up to `limit` for the queue to drain.
    pub async fn join(self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.0).await;
    }
}

async fn run(
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
    mut rx: mpsc::UnboundedReceiver<ZimbraId>,
) {
    while let Some(first) = rx.recv().await {
        // Coalesce whatever else is queued, so a burst of deliveries costs one commit.
        let mut pending: HashSet<ZimbraId> = HashSet::from([first]);
        while let Ok(more) = rx.try_recv() {
            pending.insert(more);
        }
        for account in pending {
            if let Err(e) = index_mailbox(&store, &index, account).await {
                tracing::warn!(account = %account, error = %e, "indexing failed; will retry");
            }
        }
    }
}

/// Indexes every item of `account`'s mailbox the store has not marked indexed.
///
/// # Errors
/// A store or index failure, as text; the unmarked items stay queued in the store.
pub async fn index_mailbox(
    store: &Store,
    index: &Arc<dyn IndexBackend>,
    account: ZimbraId,
) -> Result<usize, String> {
    let Some(mailbox) = store
        .find_mailbox(account)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(0);
    };
    let mut total = 0;
    loop {
        let ids = mailbox.unindexed(BATCH).await.map_err(|e| e.to_string())?;
        if ids.is_empty() {
            return Ok(total);
        }
        let mut raws = Vec::with_capacity(ids.len());
        for id in &ids {
            match mailbox.read_message(*id).await {
                Ok(raw) => raws.push((*id, raw)),
                // The item went away between listing and reading: nothing to index.
                Err(e) => tracing::debug!(item = id.0, error = %e, "skipping vanished item"),
            }
        }
        // Extraction and the index commit (an fsync) are blocking work.
        let index = index.clone();
        let mailbox_id = mailbox.id();
        tokio::task::spawn_blocking(move || {
            let docs = raws
                .iter()
                .map(|(id, raw)| document_from_message(*id, raw))
                .collect();
            index.index(mailbox_id, docs)?;
            index.commit()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        mailbox
            .mark_indexed(&ids)
            .await
            .map_err(|e| e.to_string())?;
        total += ids.len();
    }
}
