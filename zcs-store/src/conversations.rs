//! Conversations: which conversation a new message joins (decided under the mailbox
//! lock, before the message is logged), and reading conversations back.
//!
//! Ids follow Zimbra: a message alone is in a *virtual* conversation whose id is minus
//! the message id and which has no row; when a second message threads with it, a real
//! conversation takes the next item id and both messages join it. A conversation's
//! counts, flags and tags are the union of its messages', computed on read.
//!
//! LIMITATION: a message that arrives before the one it references does not pull the
//! later one in (no back-threading); rows from before schema 3 have no normalised
//! subject and only thread by references.

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;
use zcs_core::{Flags, ItemId};

use crate::error::{DbContext, StoreError};
use crate::item_types::Conversation;
use crate::mailbox::Mailbox;
use crate::parse::HeaderSummary;
use crate::rows;
use crate::thread::normalize_subject;
use crate::types::MessageMeta;

/// Where a new message goes: the conversation id (`-id` for its own virtual one) and,
/// when that conversation is new, the messages joining it with the new message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ThreadPlan {
    pub conv: i32,
    pub promote: Vec<i32>,
}

/// Decides the conversation of message `id` (about to be created) by the handle's
/// threading algorithm; a new conversation would take id `id + 1`. Caller holds the
/// mailbox lock.
pub(crate) async fn plan(
    mb: &Mailbox,
    summary: &HeaderSummary,
    id: i32,
) -> Result<ThreadPlan, StoreError> {
    plan_in_batch(mb, summary, id, &mut BatchThreads::default()).await
}

/// Messages planned earlier in the same batch (not yet in the database), so a batch
/// threads as the same messages appended one by one would.
#[derive(Debug, Default)]
pub(crate) struct BatchThreads {
    /// (id, conversation, Message-ID, normalised subject) of each planned message.
    planned: Vec<(i32, i32, Option<String>, String)>,
    /// Conversations planned for stored messages that were alone: message id to conv.
    promoted: std::collections::HashMap<i32, i32>,
    /// When read ahead ([`BatchThreads::read_ahead`]): the latest stored message, as
    /// (conv, id), for every Message-ID and normalised subject the batch can look up.
    stored: Option<Lookups>,
}

/// Stored threading matches read ahead for a batch, keyed as [`lookup_key`] says.
#[derive(Debug, Default)]
struct Lookups {
    by_message_id: HashMap<String, (i64, i64)>,
    by_subject: HashMap<String, (i64, i64)>,
}

/// Values per `IN (...)` list when reading ahead.
const READ_AHEAD_CHUNK: usize = 400;

/// The key a looked-up value is matched by: MariaDB compares these columns without
/// regard to case (its default collation), the other engines exactly.
fn lookup_key(backend: crate::db::Backend, value: &str) -> String {
    if backend == crate::db::Backend::MySql {
        value.to_lowercase()
    } else {
        value.to_string()
    }
}

impl BatchThreads {
    /// The latest planned message matching `pred`, as (conv, id).
    fn latest(
        &self,
        pred: impl Fn(&(i32, i32, Option<String>, String)) -> bool,
    ) -> Option<(i64, i64)> {
        self.planned
            .iter()
            .rev()
            .find(|p| pred(p))
            .map(|p| (i64::from(p.1), i64::from(p.0)))
    }

    /// Reads, in a few queries, every stored match the messages of `summaries` can
    /// look up (by references and by subject, as `mb`'s threading algorithm uses them),
    /// so that planning the batch needs no query per message. Call before planning.
    pub(crate) async fn read_ahead(
        &mut self,
        mb: &Mailbox,
        summaries: &[&HeaderSummary],
    ) -> Result<(), StoreError> {
        let alg = mb.settings().threading;
        let mut refs: Vec<&str> = Vec::new();
        let mut subjects: Vec<String> = Vec::new();
        for s in summaries {
            if alg.uses_references() {
                refs.extend(s.references.iter().map(String::as_str));
            }
            let (norm, is_reply) = normalize_subject(&s.subject);
            if !norm.is_empty() && alg.uses_subject(is_reply) {
                subjects.push(norm);
            }
        }
        refs.sort_unstable();
        refs.dedup();
        subjects.sort_unstable();
        subjects.dedup();
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        self.stored = Some(Lookups {
            by_message_id: latest_by(mb, "message_id", &refs).await?,
            by_subject: latest_by(mb, "norm_subject", &subjects).await?,
        });
        Ok(())
    }

    /// A stored message's conversation as this batch has changed it.
    fn adjust(&self, found: (i64, i64)) -> (i64, i64) {
        match self.promoted.get(&(found.1 as i32)) {
            Some(conv) => (i64::from(*conv), found.1),
            None => found,
        }
    }
}

/// [`plan`] for the next message of a batch: messages planned earlier in `batch` count
/// as stored (they have higher ids than any stored one, so they win a match), and the
/// plan is recorded in `batch`.
pub(crate) async fn plan_in_batch(
    mb: &Mailbox,
    summary: &HeaderSummary,
    id: i32,
    batch: &mut BatchThreads,
) -> Result<ThreadPlan, StoreError> {
    let alg = mb.settings().threading;
    let backend = mb.inner.pool.backend();
    let mut found: Option<(i64, i64)> = None;
    if alg.uses_references() && !summary.references.is_empty() {
        found = batch.latest(|p| {
            p.2.as_ref()
                .is_some_and(|m| summary.references.iter().any(|r| r == m))
        });
        if found.is_none() {
            found = match &batch.stored {
                Some(l) => summary
                    .references
                    .iter()
                    .filter_map(|r| l.by_message_id.get(&lookup_key(backend, r)))
                    .max_by_key(|(_, id)| *id)
                    .copied(),
                None => by_references(mb, &summary.references).await?,
            }
            .map(|f| batch.adjust(f));
        }
    }
    let (norm, is_reply) = normalize_subject(&summary.subject);
    if found.is_none() && !norm.is_empty() && alg.uses_subject(is_reply) {
        found = batch.latest(|p| p.3 == norm);
        if found.is_none() {
            found = match &batch.stored {
                Some(l) => l.by_subject.get(&lookup_key(backend, &norm)).copied(),
                None => by_subject(mb, &norm).await?,
            }
            .map(|f| batch.adjust(f));
        }
    }
    let plan = match found {
        None => ThreadPlan {
            conv: -id,
            promote: Vec::new(),
        },
        Some((conv, _)) if conv > 0 => ThreadPlan {
            conv: conv as i32,
            promote: Vec::new(),
        },
        Some((_, other)) => ThreadPlan {
            conv: id + 1,
            promote: vec![other as i32],
        },
    };
    for other in &plan.promote {
        match batch.planned.iter_mut().find(|p| p.0 == *other) {
            Some(p) => p.1 = plan.conv,
            None => {
                batch.promoted.insert(*other, plan.conv);
            }
        }
    }
    batch
        .planned
        .push((id, plan.conv, summary.message_id.clone(), norm));
    Ok(plan)
}

/// For each value of `column` (`message_id` or `norm_subject`) among `values`, the
/// latest stored message having it, as (conv, id), keyed by [`lookup_key`].
async fn latest_by(
    mb: &Mailbox,
    column: &'static str,
    values: &[&str],
) -> Result<HashMap<String, (i64, i64)>, StoreError> {
    let backend = mb.inner.pool.backend();
    let mut out = HashMap::new();
    for chunk in values.chunks(READ_AHEAD_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT MAX(id) FROM mail_item WHERE mailbox_id = ? AND {column} IN ({marks})
             GROUP BY {column}"
        );
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(mb.id().0);
        for v in chunk {
            q = q.bind(*v);
        }
        let ids = q
            .fetch_all(&mb.inner.pool)
            .await
            .db("read threading matches")?;
        for ids in ids.chunks(READ_AHEAD_CHUNK) {
            let marks = vec!["?"; ids.len()].join(", ");
            let sql = format!(
                "SELECT {column}, conv_id, id FROM mail_item WHERE mailbox_id = ?
                 AND id IN ({marks})"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(mb.id().0);
            for id in ids {
                q = q.bind(*id);
            }
            for row in q
                .fetch_all(&mb.inner.pool)
                .await
                .db("read threading matches")?
            {
                let value: Option<String> = row.try_get(0).db("read threading matches")?;
                let conv: i64 = row.try_get(1).db("read threading matches")?;
                let id: i64 = row.try_get(2).db("read threading matches")?;
                if let Some(v) = value {
                    let e = out.entry(lookup_key(backend, &v)).or_insert((conv, id));
                    if id > e.1 {
                        *e = (conv, id);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The latest stored message whose Message-ID is among `refs`, as (conv, id).
async fn by_references(mb: &Mailbox, refs: &[String]) -> Result<Option<(i64, i64)>, StoreError> {
    let marks = vec!["?"; refs.len()].join(", ");
    let sql = format!(
        "SELECT conv_id, id FROM mail_item WHERE mailbox_id = ? AND message_id IN ({marks})
         ORDER BY id DESC LIMIT 1"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(mb.id().0);
    for r in refs {
        q = q.bind(r);
    }
    let row = q
        .fetch_optional(&mb.inner.pool)
        .await
        .db("thread by references")?;
    row.map(|row| {
        Ok((
            row.try_get(0).db("thread by references")?,
            row.try_get(1).db("thread by references")?,
        ))
    })
    .transpose()
}

/// The latest stored message with normalised subject `norm`, as (conv, id).
async fn by_subject(mb: &Mailbox, norm: &str) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query(
        "SELECT conv_id, id FROM mail_item WHERE mailbox_id = ? AND norm_subject = ?
         ORDER BY id DESC LIMIT 1",
    )
    .bind(mb.id().0)
    .bind(norm)
    .fetch_optional(&mb.inner.pool)
    .await
    .db("thread by subject")?;
    row.map(|row| {
        Ok((
            row.try_get(0).db("thread by subject")?,
            row.try_get(1).db("thread by subject")?,
        ))
    })
    .transpose()
}

const CONV_MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM mail_item WHERE mailbox_id = ? AND conv_id = ? ORDER BY date, id"
);

impl Mailbox {
    /// Conversation `id`: a real one (positive id) or the virtual one of message `-id`.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when there is no such conversation (a negative id whose
    /// message is now in a real conversation included).
    pub async fn conversation(&self, id: ItemId) -> Result<Conversation, StoreError> {
        let msgs = self.conversation_messages(id).await?;
        let mut subject = String::new();
        let mut modseq = 0;
        if id.0 > 0 {
            let row = sqlx::query(
                "SELECT subject, modseq FROM conversation WHERE mailbox_id = ? AND id = ?",
            )
            .bind(self.id().0)
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .db("read conversation")?
            .ok_or_else(|| StoreError::NoSuchItem(id.to_string()))?;
            subject = row.try_get("subject").db("read conversation")?;
            modseq = row.try_get("modseq").db("read conversation")?;
        } else if let Some(m) = msgs.first() {
            subject = normalize_subject(&m.subject).0;
        }
        let mut flags = 0u32;
        let mut tags = BTreeSet::new();
        let mut unread = 0u32;
        let mut date_ms = 0i64;
        for m in &msgs {
            flags |= m.flags.0;
            unread += u32::from(m.flags.contains(Flags::UNREAD));
            tags.extend(m.tags.iter().cloned());
            modseq = modseq.max(m.modseq);
            date_ms = date_ms.max(m.internal_date_ms);
        }
        Ok(Conversation {
            id,
            subject,
            messages: msgs.len() as u32,
            unread,
            flags: Flags(flags),
            tags: tags.into_iter().collect(),
            modseq,
            date_ms,
        })
    }

    /// The messages of conversation `id` (see [`Mailbox::conversation`]), oldest first.
    ///
    /// # Errors
    /// `mail.NO_SUCH_ITEM` when the conversation does not exist.
    pub async fn conversation_messages(&self, id: ItemId) -> Result<Vec<MessageMeta>, StoreError> {
        self.check_maintenance()?;
        if id.0 < 0 {
            let m = self
                .message(ItemId(-id.0))
                .await
                .map_err(|_| StoreError::NoSuchItem(id.to_string()))?;
            if m.conv != id {
                return Err(StoreError::NoSuchItem(id.to_string()));
            }
            return Ok(vec![m]);
        }
        let rows = sqlx::query(CONV_MESSAGES)
            .bind(self.id().0)
            .bind(id.0)
            .fetch_all(&self.inner.pool)
            .await
            .db("list conversation messages")?;
        if rows.is_empty() {
            return Err(StoreError::NoSuchItem(id.to_string()));
        }
        rows.iter().map(rows::message_from_row).collect()
    }
}
