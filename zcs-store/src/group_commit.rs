//! Grouped delivery commits: concurrent deliveries into one mailbox share one redo
//! group fsync and one database transaction, and each caller still gets its own result,
//! only once its message is durable.
//!
//! Each delivery queues itself on its mailbox ([`Groups`]), then takes the mailbox's
//! lock. Whoever holds the lock takes every delivery queued so far (its own, if no
//! earlier holder took it, and those of callers still waiting for the lock) and commits
//! them as one group: each message is planned as a single delivery would be (next item
//! id, next change number, conversation, folder and quota checks, messages of the group
//! threading with each other), the records are logged with one group fsync
//! (`Inner::log_and_apply_many`) and applied in one transaction, then every caller is
//! answered. While one group waits for its fsync the next one gathers, so the number of
//! fsyncs and transactions falls as the load rises; a lone delivery is a group of one
//! and costs what it always did.
//!
//! A delivery that fails its own checks (folder, quota) is answered with its error and
//! left out of the group. When the group's commit fails, the store logs an abort for
//! every record (nothing of the group is applied) and commits each delivery of it alone,
//! so one bad delivery cannot fail the others.
//!
//! Everything runs in a spawned task, so a caller that hangs up does not stop a group
//! another caller is waiting on; its own message may still be stored.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use zcs_core::{Flags, ItemId};

use crate::conversations::{BatchThreads, plan_in_batch};
use crate::error::StoreError;
use crate::mailbox::Mailbox;
use crate::messages::{Prepared, check_message_folder};
use crate::redo::RedoOp;
use crate::store::{Inner, spawn};
use crate::types::MessageMeta;

/// Groups at least this large read their threading matches ahead in a few queries
/// instead of one or two per message.
const READ_AHEAD_MIN: usize = 4;

/// One delivery waiting for its group.
pub(crate) struct Pending {
    /// The target mailbox, carrying the recipient's quota and settings.
    pub mb: Mailbox,
    pub folder: ItemId,
    pub flags: Flags,
    pub date_ms: i64,
    /// The durable, pinned blob (kept pinned until the delivery is answered).
    pub prepared: Arc<Prepared>,
    reply: oneshot::Sender<Result<MessageMeta, StoreError>>,
}

/// Work queued per mailbox id until the mailbox's lock holder takes it all: the
/// deliveries here ([`Groups`]) and the flag changes of `crate::flag_group`.
pub(crate) struct MailboxQueues<T> {
    queued: Mutex<HashMap<i64, Vec<T>>>,
}

impl<T> Default for MailboxQueues<T> {
    fn default() -> Self {
        MailboxQueues {
            queued: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> MailboxQueues<T> {
    pub(crate) fn push(&self, mailbox: i64, item: T) {
        let mut q = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        q.entry(mailbox).or_default().push(item);
    }

    pub(crate) fn take(&self, mailbox: i64) -> Vec<T> {
        let mut q = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        q.remove(&mailbox).unwrap_or_default()
    }
}

/// The deliveries queued per mailbox id.
pub(crate) type Groups = MailboxQueues<Pending>;

/// Queues `item` on `mb`'s queue in `queues`, takes the mailbox's lock and hands
/// `run` everything queued by then (this item, unless an earlier lock holder took it
/// along, and the items of callers still waiting for the lock). Runs in a spawned task,
/// so a caller that hangs up does not stop a group another caller waits on; the caller
/// learns its own result through whatever answer channel `item` carries.
pub(crate) async fn queue_and_run<T, Fut>(
    mb: &Mailbox,
    queues: fn(&Inner) -> &MailboxQueues<T>,
    item: T,
    run: fn(Vec<T>) -> Fut,
) -> Result<(), StoreError>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let lock = mb.lock_handle();
    let (inner, id) = (mb.inner.clone(), mb.id().0);
    spawn(async move {
        // Queued before waiting for the lock: whoever holds it next takes this one too.
        queues(&inner).push(id, item);
        let _guard = lock.lock_owned().await;
        let group = queues(&inner).take(id);
        if !group.is_empty() {
            run(group).await;
        }
        Ok(())
    })
    .await
}

/// Stores one delivered message (no tags) in `mb`, grouped with the concurrent
/// deliveries to the same mailbox (see the module doc). Returns once it is durable.
///
/// # Errors
/// As [`Mailbox::append`]: `mail.NO_SUCH_FOLDER`, `mail.CANNOT_CONTAIN`,
/// `mail.QUOTA_EXCEEDED`, maintenance mode, I/O and database errors.
pub(crate) async fn deliver(
    mb: &Mailbox,
    folder: ItemId,
    prepared: &Arc<Prepared>,
    flags: Flags,
    date_ms: i64,
) -> Result<MessageMeta, StoreError> {
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        mb: mb.clone(),
        folder,
        flags,
        date_ms,
        prepared: prepared.clone(),
        reply,
    };
    queue_and_run(mb, |inner| &inner.groups, pending, run).await?;
    answer
        .await
        .map_err(|_| StoreError::Internal("grouped delivery ended without an answer".into()))?
}

/// Commits `group` (caller holds the mailbox lock) and answers every delivery in it.
async fn run(group: Vec<Pending>) {
    if group.len() == 1 {
        return run_alone(group).await;
    }
    match commit(&group).await {
        Ok(results) => {
            for (p, res) in group.into_iter().zip(results) {
                let _ = p.reply.send(res);
            }
        }
        Err(e) => {
            tracing::warn!(
                deliveries = group.len(),
                error = %e,
                "grouped delivery commit failed; committing each delivery alone"
            );
            for p in group {
                run_alone(vec![p]).await;
            }
        }
    }
}

/// Commits a group of one and answers it.
async fn run_alone(mut one: Vec<Pending>) {
    let res = match commit(&one).await {
        Ok(mut results) => results
            .pop()
            .unwrap_or_else(|| Err(StoreError::Internal("empty delivery group".into()))),
        Err(e) => Err(e),
    };
    if let Some(p) = one.pop() {
        let _ = p.reply.send(res);
    }
}

/// Plans, logs and applies `group` (every delivery is for the same mailbox and the
/// caller holds its lock). The outer error fails the whole group (nothing applied);
/// the inner results are each delivery's own.
async fn commit(group: &[Pending]) -> Result<Vec<Result<MessageMeta, StoreError>>, StoreError> {
    let Some(first) = group.first() else {
        return Ok(Vec::new());
    };
    let mb = &first.mb;
    let st = mb.state().await?;
    let (mut next_id, mut change) = (st.item_id + 1, st.change);
    let mut folders_ok: HashSet<i32> = HashSet::new();
    // Bytes stored before the group (read once, when a quota asks) and added by it.
    let mut stored: Option<u64> = None;
    let mut added = 0u64;
    let mut threads = BatchThreads::default();
    if group.len() >= READ_AHEAD_MIN {
        let summaries: Vec<_> = group.iter().map(|p| &p.prepared.summary).collect();
        threads.read_ahead(mb, &summaries).await?;
    }
    let mut ops = Vec::with_capacity(group.len());
    let mut results: Vec<Result<MessageMeta, StoreError>> = Vec::with_capacity(group.len());
    for p in group {
        if !folders_ok.contains(&p.folder.0) {
            if let Err(e) = check_message_folder(&p.mb, p.folder).await {
                results.push(Err(e));
                continue;
            }
            folders_ok.insert(p.folder.0);
        }
        let size = p.prepared.size;
        let quota = p.mb.quota();
        if quota > 0 && size > 0 {
            let base = match stored {
                Some(u) => u,
                None => {
                    let u = mb.quota_usage().await?;
                    stored = Some(u);
                    u
                }
            };
            let now = base.saturating_add(added);
            if now.saturating_add(size) > quota {
                tracing::info!(
                    mailbox = mb.id().0,
                    quota,
                    used = now,
                    adding = size,
                    "over quota"
                );
                results.push(Err(StoreError::QuotaExceeded {
                    quota,
                    used: now,
                    adding: size,
                }));
                continue;
            }
        }
        added = added.saturating_add(size);
        let id = next_id;
        let summary = &p.prepared.summary;
        let thread = plan_in_batch(&p.mb, summary, id, &mut threads).await?;
        change += 1;
        next_id = id.max(thread.conv) + 1;
        ops.push(RedoOp::CreateMessage {
            change,
            id,
            folder: p.folder.0,
            flags: p.flags.0,
            date_ms: p.date_ms,
            size,
            digest: p.prepared.digest.clone(),
            subject: summary.subject.clone(),
            sender: summary.sender.clone(),
            recipients: summary.recipients.clone(),
            message_id: summary.message_id.clone(),
            tags: Vec::new(),
            conv: thread.conv,
            conv_promote: thread.promote,
        });
        results.push(Ok(MessageMeta {
            id: ItemId(id),
            folder: p.folder,
            imap_uid: id as u32,
            flags: p.flags,
            tags: Vec::new(),
            internal_date_ms: p.date_ms,
            size,
            modseq: change,
            blob_digest: p.prepared.digest.clone(),
            subject: summary.subject.clone(),
            sender: summary.sender.clone(),
            recipients: summary.recipients.clone(),
            message_id: summary.message_id.clone(),
            conv: ItemId(thread.conv),
        }));
    }
    if !ops.is_empty() {
        mb.inner.log_and_apply_many(mb.id(), ops).await?;
    }
    Ok(results)
}
