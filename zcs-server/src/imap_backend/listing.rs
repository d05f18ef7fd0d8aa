//! The listing SELECT reads of one of the account's own folders, made cheap to read
//! again: the store's flag listing (UID, flags, tags and MODSEQ of every message,
//! which the store caches per folder and keeps current by its change numbers) joined
//! with each message's internal date and size, remembered here per item and MODSEQ.
//! A folder is read whole only when most of its messages are not remembered (its
//! first listing); afterwards only the messages changed since are read, so 100
//! clients re-selecting a 10,000-message folder do not each read 10,000 rows.
//!
//! The remembered values are keyed by (mailbox, item, MODSEQ): any change to a
//! message raises its MODSEQ, so a value is never used for a message that changed
//! after it was read. Memory is bounded ([`REMEMBERED`] messages over every mailbox;
//! the least recently listed mailboxes are forgotten first).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use zcs_core::{ItemId, MailboxId};
use zcs_store::{FlagEntry, Mailbox, MessageMeta, StoreError};

use super::convert::{keywords_of, message_info};
use crate::imap::backend::MessageInfo;

/// Most messages whose date and size are remembered, over every mailbox (about 40
/// bytes each).
const REMEMBERED: usize = 400_000;

/// Up to this many messages not remembered are read one change listing at a time;
/// more, and the folder is read whole.
const FEW: usize = 512;

/// What is remembered of one message: its MODSEQ when read, internal date and size.
#[derive(Clone, Copy)]
struct Fixed {
    modseq: i64,
    date_ms: i64,
    size: u64,
}

#[derive(Default)]
struct State {
    /// Mailbox → (last use, item id → remembered values).
    mailboxes: HashMap<MailboxId, (u64, HashMap<i32, Fixed>)>,
    total: usize,
    tick: u64,
}

impl State {
    fn remember(&mut self, mailbox: MailboxId, msgs: &[MessageMeta]) {
        self.tick += 1;
        let tick = self.tick;
        let (used, items) = self.mailboxes.entry(mailbox).or_default();
        *used = tick;
        let before = items.len();
        for m in msgs {
            items.insert(
                m.id.0,
                Fixed {
                    modseq: m.modseq,
                    date_ms: m.internal_date_ms,
                    size: m.size,
                },
            );
        }
        self.total += items.len() - before;
        // Forget whole mailboxes, least recently listed first, but never this one.
        while self.total > REMEMBERED {
            let Some(oldest) = self
                .mailboxes
                .iter()
                .filter(|(id, _)| **id != mailbox)
                .min_by_key(|(_, (used, _))| *used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some((_, gone)) = self.mailboxes.remove(&oldest) {
                self.total -= gone.len();
            }
        }
    }
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    let lock = STATE.get_or_init(|| Mutex::new(State::default())).lock();
    match lock {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Every message of `folder` (one of `mailbox`'s own folders) as IMAP sees it, by UID
/// ascending; the same list as `Mailbox::messages` mapped through `message_info`.
///
/// # Errors
/// As `Mailbox::message_flags` and `Mailbox::messages`.
pub(super) async fn folder_messages(
    mailbox: &Mailbox,
    folder: ItemId,
) -> Result<Vec<MessageInfo>, StoreError> {
    let flags = mailbox.message_flags(folder).await?;
    let missing_since = {
        let st = state();
        let items = st.mailboxes.get(&mailbox.id()).map(|(_, items)| items);
        let mut missing = 0usize;
        let mut oldest = i64::MAX;
        for f in &flags {
            let known = items
                .and_then(|items| items.get(&f.id.0))
                .is_some_and(|k| k.modseq == f.modseq);
            if !known {
                missing += 1;
                oldest = oldest.min(f.modseq);
            }
        }
        (missing > 0).then_some((missing, oldest))
    };
    match missing_since {
        None => {}
        Some((missing, oldest)) if missing <= FEW => {
            // Every message not remembered changed at or after `oldest`.
            let changed = mailbox
                .messages_changed_since(folder, oldest.saturating_sub(1))
                .await?;
            state().remember(mailbox.id(), &changed);
        }
        Some(_) => {
            let all = mailbox.messages(folder).await?;
            state().remember(mailbox.id(), &all);
            return Ok(all.into_iter().map(message_info).collect());
        }
    }
    if let Some(out) = joined(mailbox.id(), flags) {
        return Ok(out);
    }
    // A message changed between the two reads: read the folder whole.
    let all = mailbox.messages(folder).await?;
    state().remember(mailbox.id(), &all);
    Ok(all.into_iter().map(message_info).collect())
}

/// The flag listing joined with the remembered dates and sizes; `None` when one of its
/// messages is not remembered at its MODSEQ.
fn joined(mailbox: MailboxId, flags: Vec<FlagEntry>) -> Option<Vec<MessageInfo>> {
    let st = state();
    let items = &st.mailboxes.get(&mailbox)?.1;
    let mut out = Vec::with_capacity(flags.len());
    for f in flags {
        let k = items.get(&f.id.0).filter(|k| k.modseq == f.modseq)?;
        out.push(MessageInfo {
            id: f.id,
            uid: f.imap_uid,
            flags: f.flags,
            keywords: keywords_of(f.flags, f.tags),
            internal_date_ms: k.date_ms,
            size: k.size,
            modseq: f.modseq.max(0) as u64,
        });
    }
    Some(out)
}
