//! The indexer: a background task that brings each mailbox's index up to date with
//! its store. Deliveries and IMAP appends call [`Indexer::notify`]; the task reads the
//! items the store has not marked indexed, extracts their text, adds them to the index,
//! commits, and only then marks them indexed. After a crash the unmarked items are
//! simply indexed again at start, so nothing is lost and nothing needs a separate log.
//!
//! Mailboxes take turns, one batch each, so one mailbox receiving a flood never keeps
//! another's new mail out of search. The batches of up to [`ROUND_MAILBOXES`]
//! mailboxes share one index commit, and commits are at least [`MIN_COMMIT_INTERVAL`]
//! apart, so a flood of deliveries makes larger batches rather than more commits.
//!
//! A mailbox is also *reconciled*, at start and after any indexing error: when the index
//! holds fewer of its documents than the store holds messages (a deleted, rebuilt or
//! damaged index volume, a failed commit), every message is indexed again. Re-adding is
//! harmless because documents are replaced by item id.
//!
//! A mailbox can be *suppressed* (Zimbra's delayed indexing, `zimbraDelayedIndexStatus
//! suppressed`): [`Indexer::suppress`] removes its documents from the index and the task
//! then skips it, its new items staying unindexed, until [`Indexer::resume`] queues it
//! for a reconcile, which adds everything again. The documents are removed by the task
//! itself, between rounds, so a batch in flight cannot put them back.
//!
//! An administrator can *reindex* one mailbox ([`Indexer::reindex`], with status and
//! cancel) and *verify* it ([`Indexer::verify`]); see `reindex.rs`. When the index
//! itself is damaged (a failed commit, a failed search: [`Indexer::check_index`]),
//! the task checks the index files, logs `Possibly corrupt index` as Zimbra does,
//! clears the index and re-adds every mailbox it knows from the store.

mod reindex;

pub use reindex::{IndexReport, ReindexProgress, ReindexState};

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use zcs_core::{ItemId, ZimbraId};
use zcs_index::{IndexBackend, document_from_message};
use zcs_store::{Mailbox, Store};

/// Items indexed per batch (one commit each).
const BATCH: usize = 200;

/// Least time between two checks of the index files after failures, so a persistent
/// failure (a full disk) does not read the whole index over and over.
const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// Pause after a failed batch, so a persistent failure (full disk) does not spin.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Mailboxes whose batches share one index commit.
const ROUND_MAILBOXES: usize = 16;

/// The least time between two commits. A commit writes and syncs a new segment and
/// reopens the searcher: under a flood of deliveries, committing after every small
/// batch costs more than the indexing itself. A mailbox's first mail after a quiet
/// spell is indexed at once; under load, new mail waits at most this long (well within
/// the second in which a delivered message must be searchable).
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// Work for the indexer task.
enum Job {
    /// Index what the store has not marked indexed.
    Index(ZimbraId),
    /// Compare index and store, and re-add everything if the index lost documents.
    Reconcile(ZimbraId),
    /// Remove the mailbox's documents from the index (it was suppressed), then report.
    Drop(ZimbraId, oneshot::Sender<Result<(), String>>),
    /// Add every message of the mailbox again (its progress is in `Reindexing`).
    Reindex(ZimbraId),
    /// Check the index files; when damaged, clear the index and re-add every mailbox.
    Check,
    /// Finish what is queued, then end (sent by [`IndexerTask::join`]: handles kept
    /// by long-lived services would otherwise hold the task open until its timeout).
    Stop,
}

/// Accounts whose mailboxes the task skips (shared by the handles and the task).
type Suppressed = Arc<Mutex<HashSet<ZimbraId>>>;

/// A handle that queues mailboxes for indexing. Cheap to clone.
#[derive(Clone)]
pub struct Indexer {
    tx: mpsc::UnboundedSender<Job>,
    suppressed: Suppressed,
    reindexing: reindex::Reindexing,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
}

impl Indexer {
    /// Starts the indexer task over `store` and `index`. The task ends when every
    /// handle has been dropped and the queue is drained.
    pub fn start(store: Arc<Store>, index: Arc<dyn IndexBackend>) -> (Indexer, IndexerTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let suppressed = Suppressed::default();
        let reindexing = reindex::Reindexing::default();
        let shared = Shared {
            suppressed: suppressed.clone(),
            reindexing: reindexing.clone(),
        };
        let task = tokio::spawn(run(store.clone(), index.clone(), rx, shared));
        let stop = tx.clone();
        let handle = Indexer {
            tx,
            suppressed,
            reindexing,
            store,
            index,
        };
        (handle, IndexerTask(task, stop))
    }

    /// Starts rebuilding `account`'s documents from the store (`reIndexMailbox start`):
    /// every message is added again, a batch per indexer round, and documents of items
    /// the store no longer holds are removed. Search keeps working meanwhile, with
    /// hits possibly incomplete until it is done. Returns false when a reindex of the
    /// account is already running. Never blocks.
    pub fn reindex(&self, account: ZimbraId) -> bool {
        if !reindex::start(&self.reindexing, account) {
            return false;
        }
        tracing::info!(%account, "reindex started");
        let _ = self.tx.send(Job::Reindex(account));
        true
    }

    /// The progress of `account`'s last reindex since the server started
    /// (`reIndexMailbox status`); `None` when none was started.
    pub fn reindex_status(&self, account: ZimbraId) -> Option<ReindexProgress> {
        reindex::status(&self.reindexing, account)
    }

    /// Cancels `account`'s running reindex (`reIndexMailbox cancel`): no further batch
    /// is added; what was added stays. Returns false when none was running.
    pub fn cancel_reindex(&self, account: ZimbraId) -> bool {
        let cancelled = reindex::cancel(&self.reindexing, account);
        if cancelled {
            tracing::info!(%account, "reindex cancelled");
        }
        cancelled
    }

    /// Checks `account`'s index (`verifyIndex`): the index files (every byte, which
    /// takes a while on a large index) and its documents against its messages. Damage
    /// is logged (`Possibly corrupt index`) and reported, not repaired: a reindex or
    /// [`Indexer::check_index`] does that. `None` when the account has no mailbox.
    ///
    /// # Errors
    /// A store failure, as text.
    pub async fn verify(&self, account: ZimbraId) -> Result<Option<IndexReport>, String> {
        let Some(mailbox) = self
            .store
            .find_mailbox(account)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        reindex::verify(&mailbox, &self.index).await.map(Some)
    }

    /// Asks the task to check the index files, as after a failed search: when they are
    /// damaged it logs `Possibly corrupt index`, clears the index and re-adds every
    /// mailbox it has seen since start (every mailbox: the server queues them all at
    /// start). Never blocks.
    pub fn check_index(&self) {
        let _ = self.tx.send(Job::Check);
    }

    /// Queues `account`'s mailbox for indexing. Never blocks.
    pub fn notify(&self, account: ZimbraId) {
        let _ = self.tx.send(Job::Index(account));
    }

    /// Queues `account`'s mailbox for a reconcile, then indexing. Never blocks.
    pub fn reconcile(&self, account: ZimbraId) {
        let _ = self.tx.send(Job::Reconcile(account));
    }

    /// Stops indexing `account`'s mailbox and removes its documents from the index;
    /// returns once they are gone (committed). Until [`Indexer::resume`], the task
    /// skips the mailbox and its new items stay unindexed. Suppression is kept in
    /// memory only: whoever starts the indexer suppresses again the accounts whose
    /// directory entry says so.
    ///
    /// # Errors
    /// The store or index failure, as text, or that the task has ended.
    pub async fn suppress(&self, account: ZimbraId) -> Result<(), String> {
        self.set_suppressed(account, true);
        let (done, result) = oneshot::channel();
        self.tx
            .send(Job::Drop(account, done))
            .map_err(|_| "the indexer has stopped".to_string())?;
        result
            .await
            .map_err(|_| "the indexer has stopped".to_string())?
    }

    /// [`Indexer::suppress`] without waiting for the documents to go: for server
    /// start, which suppresses again the accounts whose entry says so before the task
    /// indexes anything for them. Never blocks.
    pub fn suppress_queued(&self, account: ZimbraId) {
        self.set_suppressed(account, true);
        let (done, _unwatched) = oneshot::channel();
        if self.tx.send(Job::Drop(account, done)).is_err() {
            tracing::warn!(%account, "indexer stopped; suppression not queued");
        }
    }

    /// Indexes `account`'s mailbox again after [`Indexer::suppress`]: queues a
    /// reconcile, which adds every message back. Never blocks.
    pub fn resume(&self, account: ZimbraId) {
        self.set_suppressed(account, false);
        self.reconcile(account);
    }

    /// Whether `account`'s mailbox is suppressed (its index is not kept up to date).
    pub fn is_suppressed(&self, account: ZimbraId) -> bool {
        self.suppressed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&account)
    }

    fn set_suppressed(&self, account: ZimbraId, on: bool) {
        let mut set = self
            .suppressed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if on {
            set.insert(account);
        } else {
            set.remove(&account);
        }
    }
}

/// The running indexer task; await [`IndexerTask::join`] at shutdown after dropping
/// every [`Indexer`] handle.
pub struct IndexerTask(tokio::task::JoinHandle<()>, mpsc::UnboundedSender<Job>);

impl IndexerTask {
    /// Asks the task to end once its queue is drained and waits up to `limit` for it.
    /// What is left unindexed is picked up at the next start.
    pub async fn join(self, limit: Duration) {
        let _ = self.1.send(Job::Stop);
        let _ = tokio::time::timeout(limit, self.0).await;
    }
}

/// State the handles share with the task.
struct Shared {
    suppressed: Suppressed,
    reindexing: reindex::Reindexing,
}

/// The round-robin queue of mailboxes with work, each at most once.
#[derive(Default)]
struct Queue {
    order: VecDeque<ZimbraId>,
    queued: HashSet<ZimbraId>,
    reconcile: HashSet<ZimbraId>,
    /// Mailboxes whose documents are to be removed before the next round.
    drops: Vec<(ZimbraId, oneshot::Sender<Result<(), String>>)>,
    /// Every mailbox queued since start: what a rebuild of the whole index re-adds.
    known: HashSet<ZimbraId>,
    /// Whether the index files are to be checked before the next round.
    check: bool,
}

impl Queue {
    fn push(&mut self, job: Job) {
        let account = match job {
            Job::Stop => return,
            Job::Check => {
                self.check = true;
                return;
            }
            Job::Drop(a, done) => {
                self.drops.push((a, done));
                return;
            }
            Job::Index(a) | Job::Reindex(a) => a,
            Job::Reconcile(a) => {
                self.reconcile.insert(a);
                a
            }
        };
        self.known.insert(account);
        if self.queued.insert(account) {
            self.order.push_back(account);
        }
    }

    fn pop(&mut self) -> Option<(ZimbraId, bool)> {
        let account = self.order.pop_front()?;
        self.queued.remove(&account);
        Some((account, self.reconcile.remove(&account)))
    }

    /// Whether nothing is queued.
    fn is_empty(&self) -> bool {
        self.order.is_empty() && self.drops.is_empty() && !self.check
    }
}

async fn run(
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    shared: Shared,
) {
    let mut queue = Queue::default();
    let mut stopping = false;
    let mut last_check: Option<Instant> = None;
    // When the last round committed: a busy indexer waits out MIN_COMMIT_INTERVAL.
    let mut last_commit: Option<Instant> = None;
    loop {
        if queue.is_empty() {
            if stopping {
                return;
            }
            match rx.recv().await {
                Some(job) => {
                    stopping |= matches!(job, Job::Stop);
                    queue.push(job);
                }
                None => return,
            }
        }
        if let Some(wait) = last_commit
            .map(|at| MIN_COMMIT_INTERVAL.saturating_sub(at.elapsed()))
            .filter(|w| !w.is_zero() && !stopping)
        {
            tokio::time::sleep(wait).await;
        }
        while let Ok(job) = rx.try_recv() {
            stopping |= matches!(job, Job::Stop);
            queue.push(job);
        }
        if std::mem::take(&mut queue.check)
            && last_check.is_none_or(|at| at.elapsed() >= CHECK_INTERVAL)
        {
            last_check = Some(Instant::now());
            check_and_repair(&index, &mut queue).await;
        }
        for (account, done) in std::mem::take(&mut queue.drops) {
            let dropped = drop_documents(&store, &index, account).await;
            if let Err(e) = &dropped {
                tracing::warn!(account = %account, error = %e, "could not drop index documents");
            }
            let _ = done.send(dropped);
        }
        let mut round = Vec::new();
        while round.len() < ROUND_MAILBOXES
            && let Some(next) = queue.pop()
        {
            let skip = shared
                .suppressed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&next.0);
            if !skip {
                round.push(next);
            }
        }
        if round.is_empty() {
            continue;
        }
        let failed = index_round(&store, &index, &shared.reindexing, &round, &mut queue).await;
        last_commit = Some(Instant::now());
        if failed {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// One round: each mailbox's next batch (after its reconcile, when asked) is added to
/// the index, the index commits once for all of them, then each mailbox marks its
/// batch indexed. A mailbox with more to do goes back on `queue`; one that failed
/// goes back for a reconcile (logged). Returns whether anything failed.
async fn index_round(
    store: &Store,
    index: &Arc<dyn IndexBackend>,
    reindexing: &reindex::Reindexing,
    round: &[(ZimbraId, bool)],
    queue: &mut Queue,
) -> bool {
    // Per mailbox: the items added and whether they were a reindex batch.
    let mut added: Vec<(ZimbraId, Mailbox, Vec<ItemId>, bool)> = Vec::new();
    let mut failed = false;
    let mut fail = |queue: &mut Queue, account: ZimbraId, e: String| {
        tracing::warn!(account = %account, error = %e, "indexing failed; will retry");
        queue.push(Job::Reconcile(account));
        failed = true;
    };
    for &(account, reconcile) in round {
        let step = async {
            let Some(mailbox) = store
                .find_mailbox(account)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            if reconcile {
                reconcile_mailbox(&mailbox, index).await?;
            }
            // A running reindex takes the mailbox's turn; new mail follows it.
            let (ids, rebuilding) = match reindex::next_batch(reindexing, &mailbox, index).await? {
                Some(batch) => (batch, true),
                None => (
                    mailbox.unindexed(BATCH).await.map_err(|e| e.to_string())?,
                    false,
                ),
            };
            if ids.is_empty() {
                return Ok(None);
            }
            add_documents(&mailbox, index, &ids, false).await?;
            Ok::<_, String>(Some((mailbox, ids, rebuilding)))
        };
        match step.await {
            Ok(Some((mailbox, ids, rebuilding))) => {
                added.push((account, mailbox, ids, rebuilding));
            }
            Ok(None) => {}
            Err(e) => fail(queue, account, e),
        }
    }
    if added.is_empty() {
        return failed;
    }
    let committed = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.commit())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    if committed.is_err() {
        // Perhaps a damaged index rather than a full disk: have the files checked.
        queue.push(Job::Check);
    }
    for (account, mailbox, ids, rebuilding) in added {
        let marked = match &committed {
            Ok(()) => mailbox.mark_indexed(&ids).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        match marked {
            // After a reindex batch, whatever remains (of it, or new mail) comes next.
            Ok(()) if rebuilding => {
                reindex::batch_done(reindexing, account, ids.len());
                queue.push(Job::Index(account));
            }
            Ok(()) if ids.len() == BATCH => queue.push(Job::Index(account)),
            Ok(()) => {}
            Err(e) => fail(queue, account, e),
        }
    }
    failed
}

/// Checks the index files; when they are damaged (or cannot be read), logs it as
/// Zimbra does (`Possibly corrupt index`), clears the index and queues every known
/// mailbox for a reconcile, which adds all its messages again.
async fn check_and_repair(index: &Arc<dyn IndexBackend>, queue: &mut Queue) {
    let checked = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.verify_files()).await
    };
    let damage = match checked {
        Ok(Ok(damaged)) if damaged.is_empty() => return,
        Ok(Ok(damaged)) => damaged.join(", "),
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::warn!(
        damage = %damage,
        mailboxes = queue.known.len(),
        "Possibly corrupt index; rebuilding it from the store"
    );
    let cleared = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            index.clear()?;
            index.commit()
        })
        .await
    };
    match cleared {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not clear the damaged index"),
        Err(e) => tracing::error!(error = %e, "could not clear the damaged index"),
    }
    let known: Vec<ZimbraId> = queue.known.iter().copied().collect();
    for account in known {
        queue.push(Job::Reconcile(account));
    }
}

/// Removes every document of `account`'s mailbox from the index and commits; an
/// account without a mailbox has none.
async fn drop_documents(
    store: &Store,
    index: &Arc<dyn IndexBackend>,
    account: ZimbraId,
) -> Result<(), String> {
    let Some(mailbox) = store
        .find_mailbox(account)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let index = index.clone();
    let id = mailbox.id();
    tokio::task::spawn_blocking(move || {
        index.delete_mailbox(id)?;
        index.commit()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
}

/// Reads, extracts and indexes `ids`, then commits when `commit` says so. Blocking
/// work runs off the runtime.
async fn add_documents(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    ids: &[ItemId],
    commit: bool,
) -> Result<(), String> {
    let mut raws = Vec::with_capacity(ids.len());
    for id in ids {
        match mailbox.read_message(*id).await {
            Ok(raw) => raws.push((*id, raw)),
            // The item went away between listing and reading: nothing to index.
            Err(e) => tracing::debug!(item = id.0, error = %e, "skipping vanished item"),
        }
    }
    let index = index.clone();
    let mailbox_id = mailbox.id();
    tokio::task::spawn_blocking(move || {
        let docs = raws
            .iter()
            .map(|(id, raw)| document_from_message(*id, raw))
            .collect();
        index.index(mailbox_id, docs)?;
        if commit { index.commit() } else { Ok(()) }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
}

/// Re-adds every message of `mailbox` when the index holds fewer of its documents than
/// the store holds messages. Returns how many were re-added.
///
/// # Errors
/// A store or index failure, as text.
async fn reconcile_mailbox(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
) -> Result<usize, String> {
    let ids = reindex::message_ids(mailbox).await?;
    let indexed = {
        let index = index.clone();
        let id = mailbox.id();
        tokio::task::spawn_blocking(move || index.doc_count(id))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    if indexed >= ids.len() {
        return Ok(0);
    }
    tracing::warn!(
        account = %mailbox.account(),
        indexed,
        messages = ids.len(),
        "index is missing documents; re-indexing the mailbox"
    );
    for chunk in ids.chunks(BATCH) {
        add_documents(mailbox, index, chunk, true).await?;
        mailbox
            .mark_indexed(chunk)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_takes_turns_and_keeps_each_mailbox_once() {
        let (a, b) = (ZimbraId::new(), ZimbraId::new());
        let mut q = Queue::default();
        q.push(Job::Index(a));
        q.push(Job::Index(a));
        q.push(Job::Index(b));
        q.push(Job::Reconcile(a));
        assert_eq!(q.pop(), Some((a, true)));
        // `a` has more work: it goes to the back, behind `b`.
        q.push(Job::Index(a));
        assert_eq!(q.pop(), Some((b, false)));
        assert_eq!(q.pop(), Some((a, false)));
        assert_eq!(q.pop(), None);
    }

    /// Polls `check` for up to five seconds.
    async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
        for _ in 0..250 {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_suppressed_mailbox_loses_its_documents_until_resumed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(
            Store::open(zcs_store::StoreConfig::under(tmp.path().join("store")))
                .await
                .expect("open store"),
        );
        let index: Arc<dyn IndexBackend> =
            Arc::new(zcs_index::TantivyIndex::open(&tmp.path().join("index")).expect("index"));
        let (indexer, task) = Indexer::start(store.clone(), index.clone());
        let account = ZimbraId::new();
        let mb = store.mailbox(account).await.expect("mailbox");
        let raw = b"Subject: one\r\n\r\nfirst body\r\n";
        mb.append(
            ItemId(zcs_core::folder::INBOX),
            raw,
            zcs_core::Flags::default(),
            0,
        )
        .await
        .expect("append");
        indexer.notify(account);
        let docs = || {
            let index = index.clone();
            let id = mb.id();
            async move { index.doc_count(id).expect("count") }
        };
        assert!(eventually(async || docs().await == 1).await);

        indexer.suppress(account).await.expect("suppress");
        assert!(indexer.is_suppressed(account));
        assert_eq!(docs().await, 0, "documents removed when suppress returns");
        // New mail is stored but not indexed while suppressed.
        let raw = b"Subject: two\r\n\r\nsecond body\r\n";
        mb.append(
            ItemId(zcs_core::folder::INBOX),
            raw,
            zcs_core::Flags::default(),
            0,
        )
        .await
        .expect("append");
        indexer.notify(account);
        indexer.reconcile(account);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(docs().await, 0);
        assert_eq!(mb.unindexed(10).await.expect("unindexed").len(), 1);

        indexer.resume(account);
        assert!(!indexer.is_suppressed(account));
        assert!(eventually(async || docs().await == 2).await);
        assert!(eventually(async || mb.unindexed(10).await.expect("unindexed").is_empty()).await);
        drop(indexer);
        task.join(Duration::from_secs(5)).await;
    }
}
