//! Grouped flag changes: concurrent flag changes in one mailbox (IMAP `STORE`, SOAP
//! `MsgAction op=read|flag`) share one redo group fsync and one database transaction,
//! as deliveries do (`crate::group_commit`), and each caller still gets its own result
//! once its change is durable.
//!
//! Each change queues itself on its mailbox ([`FlagGroups`]), then takes the mailbox's
//! lock. Whoever holds the lock takes every change queued so far and plans them in
//! queue order against the mailbox as the earlier ones of the group leave it: a message
//! changed twice in one group gets the second change on top of the first, and each
//! change that alters a flag takes the next change number, exactly as if the changes
//! had run one after another. A change naming a missing message fails alone (nothing of
//! it is applied, as [`crate::Mailbox::set_flags`] promises) and is left out of the
//! group. The records are logged with one group fsync and applied in one transaction;
//! then every caller is answered with the metadata of its messages.
//!
//! When the group's commit fails, the store has logged an abort for every record
//! (nothing of the group is applied) and each change is committed alone, so one bad
//! change cannot fail the others. Everything runs in a spawned task, so a caller that
//! hangs up does not stop a group another caller waits on.

use std::collections::HashMap;

use tokio::sync::oneshot;
use zcs_core::{Flags, ItemId};

use crate::error::StoreError;
use crate::mailbox::Mailbox;
use crate::redo::RedoOp;
use crate::types::MessageMeta;

/// How a change computes a message's new flags.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FlagChange {
    /// Set (`true`) or clear the bits of the mask.
    Set(u32, bool),
    /// Replace the flags whole.
    Replace(Flags),
}

impl FlagChange {
    fn apply(self, old: Flags) -> Flags {
        match self {
            FlagChange::Set(mask, on) => old.with(mask, on),
            FlagChange::Replace(f) => f,
        }
    }
}

/// One flag change waiting for its group.
pub(crate) struct Pending {
    mb: Mailbox,
    /// The messages, without repeats.
    ids: Vec<ItemId>,
    how: FlagChange,
    reply: oneshot::Sender<Result<Vec<MessageMeta>, StoreError>>,
}

/// The flag changes queued per mailbox id.
pub(crate) type FlagGroups = crate::group_commit::MailboxQueues<Pending>;

/// Changes the flags of `ids` (without repeats) in `mb` as `how` says, grouped with the
/// concurrent flag changes of the same mailbox (see the module doc). Returns the
/// metadata of every id after the change, in input order, once it is durable.
///
/// # Errors
/// `mail.NO_SUCH_MSG` if any id is missing (then nothing of this change is applied),
/// maintenance mode, I/O and database errors.
pub(crate) async fn change(
    mb: &Mailbox,
    ids: Vec<ItemId>,
    how: FlagChange,
) -> Result<Vec<MessageMeta>, StoreError> {
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        mb: mb.clone(),
        ids,
        how,
        reply,
    };
    crate::group_commit::queue_and_run(mb, |inner| &inner.flag_groups, pending, run).await?;
    answer
        .await
        .map_err(|_| StoreError::Internal("grouped flag change ended without an answer".into()))?
}

/// Commits `group` (caller holds the mailbox lock) and answers every change in it.
async fn run(group: Vec<Pending>) {
    if group.len() > 1 {
        match commit(&group).await {
            Ok(planned) => return answer(group, planned).await,
            Err(e) => tracing::warn!(
                changes = group.len(),
                error = %e,
                "grouped flag change commit failed; committing each change alone"
            ),
        }
    }
    for p in group {
        let one = vec![p];
        match commit(&one).await {
            Ok(planned) => answer(one, planned).await,
            Err(e) => {
                if let Some(p) = one.into_iter().next() {
                    let _ = p.reply.send(Err(e));
                }
            }
        }
    }
}

/// Answers each change: its own planning error, or its messages as they are now.
async fn answer(group: Vec<Pending>, planned: Vec<Result<(), StoreError>>) {
    for (p, res) in group.into_iter().zip(planned) {
        let out = match res {
            Ok(()) => p.mb.metas(&p.ids).await,
            Err(e) => Err(e),
        };
        let _ = p.reply.send(out);
    }
}

/// Plans, logs and applies `group` (every change is for the same mailbox and the caller
/// holds its lock). The outer error fails the whole group (nothing applied); the inner
/// results are each change's own planning result.
async fn commit(group: &[Pending]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let Some(first) = group.first() else {
        return Ok(Vec::new());
    };
    let mb = &first.mb;
    let mut change = mb.state().await?.change;
    // Flags as the earlier changes of this group leave them.
    let mut now: HashMap<i32, Flags> = HashMap::new();
    let mut ops = Vec::new();
    let mut planned = Vec::with_capacity(group.len());
    for p in group {
        let mut items = Vec::new();
        let mut missing = None;
        for id in &p.ids {
            let old = match now.get(&id.0) {
                Some(f) => *f,
                None => match mb.message(*id).await {
                    Ok(m) => m.flags,
                    Err(e @ StoreError::NoSuchMessage(_)) => {
                        missing = Some(e);
                        break;
                    }
                    Err(e) => return Err(e),
                },
            };
            let new = p.how.apply(old);
            if new != old {
                items.push((id.0, new.0));
            }
        }
        if let Some(e) = missing {
            planned.push(Err(e));
            continue;
        }
        if !items.is_empty() {
            change += 1;
            for (id, flags) in &items {
                now.insert(*id, Flags(*flags));
            }
            ops.push(RedoOp::SetFlags { change, items });
        }
        planned.push(Ok(()));
    }
    if !ops.is_empty() {
        mb.inner.log_and_apply_many(mb.id(), ops).await?;
    }
    Ok(planned)
}
