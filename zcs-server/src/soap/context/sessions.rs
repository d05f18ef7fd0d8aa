//! Notification sessions (soap.txt "Sessions and notifications"): a client that puts
//! `<session/>` in its header context gets a session id back in the response context;
//! on later requests naming that id (`<session id="N"/>`) the response context carries a
//! `<notify seq=>` block with the folders and messages created, modified and deleted in
//! the mailbox since the session last reported. `NoOpRequest wait="1"` blocks on the
//! change bus ([`crate::notify`]) until there is something to report or it times out.
//!
//! A session belongs to one account; naming another account's session id is the same as
//! naming an unknown one (a fresh session is made). Idle sessions are dropped after
//! [`SESSION_IDLE`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zcs_core::{ItemId, ZimbraId};
use zcs_store::{Mailbox, StoreError};

use super::super::element::{AttrKind, Element};

/// How long a session lives without requests (Zimbra's soap session timeout is 10 min).
pub const SESSION_IDLE: Duration = Duration::from_secs(10 * 60);

/// Most sessions one account may hold; the oldest is dropped beyond it.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 50;

#[derive(Clone, Debug)]
struct Session {
    account: ZimbraId,
    /// Sequence number of the last notify block sent.
    seq: u64,
    /// Changes up to this change number have been reported.
    base_change: i64,
    /// Items with an id at or above this did not exist at `base_change`.
    base_next_id: i32,
    last_used: Instant,
}

/// The sessions of one server.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<u64, Session>>,
    next: AtomicU64,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

/// What changed since a session's last report.
#[derive(Debug, Default)]
pub struct Changes {
    pub created: Vec<Element>,
    pub modified: Vec<Element>,
    pub deleted: Vec<ItemId>,
    /// The change number they bring the session up to.
    pub change: i64,
    next_id: i32,
}

impl Changes {
    /// Nothing to report.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }
}

/// The mailbox's next item id (UIDNEXT is mailbox-wide) and change number.
async fn position(mb: &Mailbox) -> Result<(i64, i32), StoreError> {
    let change = mb.change_number().await?.0;
    let next = mb
        .folders()
        .await?
        .iter()
        .map(|f| f.uid_next as i32)
        .max()
        .unwrap_or(0);
    Ok((change, next))
}

fn folder_element(f: &zcs_store::Folder) -> Element {
    let mut el = Element::new("folder");
    el.set("id", f.id.0.to_string());
    el.set("name", f.name.clone());
    el.set("l", f.parent.0.to_string());
    el.set_num("n", f.messages);
    el.set_num("u", f.unread);
    el.set_num("s", f.size);
    el.set("view", f.view.clone());
    el.set("absFolderPath", f.path.clone());
    el
}

fn message_element(m: &zcs_store::MessageMeta) -> Element {
    let mut el = Element::new("m");
    el.set("id", m.id.0.to_string());
    el.set("l", m.folder.0.to_string());
    el.set("cid", m.conv.0.to_string());
    el.set_num("d", m.internal_date_ms);
    el.set_num("s", m.size);
    let f = m.flags.to_soap();
    if !f.is_empty() {
        el.set("f", f);
    }
    if !m.tags.is_empty() {
        el.set("tn", m.tags.join(","));
    }
    if !m.subject.is_empty() {
        // A content-disposition value: `<su>` in XML, a string in JSON (as Zimbra).
        el.set_content("su", m.subject.clone(), AttrKind::Str);
    }
    el
}

/// The folders and messages changed in `mb` after `base_change`; items at or above
/// `base_next_id` are reported as created, the rest as modified.
///
/// # Errors
/// A store failure.
pub async fn changes_since(
    mb: &Mailbox,
    base_change: i64,
    base_next_id: i32,
) -> Result<Changes, StoreError> {
    let (change, next_id) = position(mb).await?;
    let mut out = Changes {
        change,
        next_id,
        ..Changes::default()
    };
    if change <= base_change {
        return Ok(out);
    }
    for f in mb.folders().await? {
        if f.modseq <= base_change {
            continue;
        }
        let el = folder_element(&f);
        if f.id.0 >= base_next_id {
            out.created.push(el);
        } else {
            out.modified.push(el);
        }
        for m in mb.messages_changed_since(f.id, base_change).await? {
            let el = message_element(&m);
            if m.id.0 >= base_next_id {
                out.created.push(el);
            } else {
                out.modified.push(el);
            }
        }
    }
    for t in mb.tombstones_since(base_change).await? {
        if !t.moved && t.id.0 < base_next_id && !out.deleted.contains(&t.id) {
            out.deleted.push(t.id);
        }
    }
    Ok(out)
}

/// The `<notify seq=>` element for `changes`.
pub fn notify_element(seq: u64, changes: &Changes) -> Element {
    let mut n = Element::new("notify");
    n.set_num("seq", seq);
    if !changes.deleted.is_empty() {
        let ids: Vec<String> = changes.deleted.iter().map(|i| i.0.to_string()).collect();
        let mut d = Element::new("deleted").unique();
        d.set("id", ids.join(","));
        n.add(d);
    }
    for (name, items) in [
        ("created", &changes.created),
        ("modified", &changes.modified),
    ] {
        if items.is_empty() {
            continue;
        }
        let mut block = Element::new(name).unique();
        block.children = items.clone();
        n.add(block);
    }
    n
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session `id` of `account`, or a new one (when `id` is `None`, unknown,
    /// idle too long or another account's) starting at the mailbox's current state.
    /// Returns the session id.
    ///
    /// # Errors
    /// A store failure reading the mailbox's position.
    pub async fn open(
        &self,
        account: ZimbraId,
        id: Option<u64>,
        mb: &Mailbox,
    ) -> Result<u64, StoreError> {
        let now = Instant::now();
        {
            let mut map = self.lock();
            map.retain(|_, s| now.saturating_duration_since(s.last_used) < SESSION_IDLE);
            if let Some(s) = id.and_then(|i| map.get_mut(&i).map(|s| (i, s)))
                && s.1.account == account
            {
                s.1.last_used = now;
                return Ok(s.0);
            }
        }
        let (change, next) = position(mb).await?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut map = self.lock();
        let mine: Vec<(u64, Instant)> = map
            .iter()
            .filter(|(_, s)| s.account == account)
            .map(|(k, s)| (*k, s.last_used))
            .collect();
        if mine.len() >= MAX_SESSIONS_PER_ACCOUNT
            && let Some((oldest, _)) = mine.iter().min_by_key(|(_, t)| *t)
        {
            map.remove(oldest);
        }
        map.insert(
            id,
            Session {
                account,
                seq: 0,
                base_change: change,
                base_next_id: next,
                last_used: now,
            },
        );
        Ok(id)
    }

    /// The live sessions as (session id, account, idle for), oldest first; idle ones
    /// are dropped first.
    pub fn snapshot(&self) -> Vec<(u64, ZimbraId, Duration)> {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, s| now.saturating_duration_since(s.last_used) < SESSION_IDLE);
        let mut out: Vec<(u64, ZimbraId, Duration)> = map
            .iter()
            .map(|(id, s)| (*id, s.account, now.saturating_duration_since(s.last_used)))
            .collect();
        out.sort_by_key(|(id, _, _)| *id);
        out
    }

    /// Where session `id` last reported: (change number, next item id).
    pub fn base(&self, id: u64) -> Option<(i64, i32)> {
        self.lock()
            .get(&id)
            .map(|s| (s.base_change, s.base_next_id))
    }

    /// Records that `changes` were sent to session `id`; returns the notify sequence
    /// number to send them under.
    pub fn advance(&self, id: u64, changes: &Changes) -> u64 {
        let mut map = self.lock();
        let Some(s) = map.get_mut(&id) else {
            return 0;
        };
        s.seq += 1;
        s.base_change = s.base_change.max(changes.change);
        s.base_next_id = s.base_next_id.max(changes.next_id);
        s.seq
    }
}
