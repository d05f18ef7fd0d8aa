//! Test doubles for the IMAP integration tests: an in-memory `ImapBackend` (test only,
//! not a store); the test server and the raw client are in `client.rs`.

#![allow(dead_code)]

mod client;

pub use client::*;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use zcs_core::{Flags, ItemId};
use zcs_server::imap::{
    AppendedMessage, AuthError, BackendError, BackendResult, ContentKey, FolderInfo, ImapBackend,
    ImapSession, MessageInfo, TextField,
};

pub const USER: &str = "alice@example.com";
pub const PASSWORD: &str = "s3cret \"pw\"";

#[derive(Clone)]
struct FolderRec {
    id: i32,
    parent: i32,
    name: String,
    view: String,
    uid_validity: u32,
    uid_next: u32,
    modseq: u64,
}

#[derive(Clone)]
struct MsgRec {
    id: i32,
    folder: i32,
    uid: u32,
    flags: u32,
    keywords: Vec<String>,
    date_ms: i64,
    raw: Vec<u8>,
    modseq: u64,
}

#[derive(Default)]
struct State {
    folders: BTreeMap<i32, FolderRec>,
    messages: BTreeMap<i32, MsgRec>,
    next_id: i32,
    change: u64,
    /// (change, folder, uid) of every message that left a folder.
    tombstones: Vec<(u64, i32, u32)>,
}

impl State {
    fn bump(&mut self, folder: i32) -> u64 {
        self.change += 1;
        if let Some(f) = self.folders.get_mut(&folder) {
            f.modseq = self.change;
        }
        self.change
    }

    fn path(&self, id: i32) -> String {
        let mut parts = Vec::new();
        let mut cur = id;
        while let Some(f) = self.folders.get(&cur) {
            if f.id == 1 {
                break;
            }
            parts.push(f.name.clone());
            cur = f.parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn info(&self, f: &FolderRec) -> FolderInfo {
        let msgs: Vec<&MsgRec> = self
            .messages
            .values()
            .filter(|m| m.folder == f.id)
            .collect();
        FolderInfo {
            id: ItemId(f.id),
            parent: ItemId(f.parent),
            path: self.path(f.id),
            view: f.view.clone(),
            uid_validity: f.uid_validity,
            uid_next: f.uid_next,
            modseq: f.modseq,
            messages: msgs.len() as u32,
            unread: msgs.iter().filter(|m| m.flags & Flags::UNREAD != 0).count() as u32,
            size: msgs.iter().map(|m| m.raw.len() as u64).sum(),
        }
    }

    fn add_message(
        &mut self,
        folder: i32,
        raw: &[u8],
        flags: u32,
        kw: &[String],
        date: i64,
    ) -> AppendedMessage {
        self.next_id += 1;
        let id = self.next_id;
        let f = self.folders.get_mut(&folder).expect("folder exists");
        let uid = f.uid_next;
        f.uid_next += 1;
        let modseq = self.bump(folder);
        self.messages.insert(
            id,
            MsgRec {
                id,
                folder,
                uid,
                flags,
                keywords: kw.to_vec(),
                date_ms: date,
                raw: raw.to_vec(),
                modseq,
            },
        );
        AppendedMessage {
            id: ItemId(id),
            uid,
        }
    }
}

/// One account's mailbox, shared by all its sessions.
pub struct MemAccount {
    name: String,
    state: Mutex<State>,
    /// How many times the full-text index was asked.
    pub text_searches: AtomicUsize,
    /// The account's change bus (what `zcs_server::notify` is for the store).
    pub bus: tokio::sync::broadcast::Sender<()>,
    /// STORAGE limit in bytes for QUOTA; 0 is none.
    pub quota: std::sync::atomic::AtomicU64,
    /// Stored subscriptions.
    pub subs: zcs_server::imap::subscriptions::Subscriptions,
    /// How many times a message was read in full.
    pub reads: AtomicUsize,
    /// The scope of this account's content keys, unique in the test process (the
    /// summary cache is shared by every listener of the process).
    scope: Arc<str>,
}

impl MemAccount {
    fn new(name: &str) -> MemAccount {
        let mut state = State {
            next_id: 300,
            ..State::default()
        };
        for (id, name, view) in [
            (1, "", "message"),
            (2, "Inbox", "message"),
            (3, "Trash", "message"),
            (4, "Junk", "message"),
            (5, "Sent", "message"),
            (6, "Drafts", "message"),
            (7, "Contacts", "contact"),
            (10, "Calendar", "appointment"),
        ] {
            state.folders.insert(
                id,
                FolderRec {
                    id,
                    parent: if id == 1 { 11 } else { 1 },
                    name: name.to_string(),
                    view: view.to_string(),
                    uid_validity: 1000 + id as u32,
                    uid_next: 1,
                    modseq: 0,
                },
            );
        }
        MemAccount {
            name: name.to_string(),
            state: Mutex::new(state),
            text_searches: AtomicUsize::new(0),
            bus: tokio::sync::broadcast::channel(16).0,
            quota: std::sync::atomic::AtomicU64::new(0),
            subs: zcs_server::imap::subscriptions::Subscriptions::new(None),
            reads: AtomicUsize::new(0),
            scope: {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                Arc::from(format!("{name}#{n}"))
            },
        }
    }

    /// Simulates a delivery by another component (LMTP, another client).
    pub fn deliver(&self, folder: i32, raw: &[u8]) -> u32 {
        let uid = {
            let mut s = self.state.lock().unwrap();
            s.add_message(folder, raw, Flags::UNREAD, &[], 1_700_000_000_000)
                .uid
        };
        let _ = self.bus.send(());
        uid
    }

    /// Removes every folder and message, as deleting the account does to its mailbox.
    pub fn delete_everything(&self) {
        let mut s = self.state.lock().unwrap();
        s.folders.clear();
        s.messages.clear();
        drop(s);
        let _ = self.bus.send(());
    }

    /// Creates a folder under `parent` directly (test setup); returns its id.
    pub fn add_folder(&self, parent: i32, name: &str) -> i32 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        let id = s.next_id;
        s.folders.insert(
            id,
            FolderRec {
                id,
                parent,
                name: name.to_string(),
                view: "message".to_string(),
                uid_validity: 5000 + id as u32,
                uid_next: 1,
                modseq: 0,
            },
        );
        id
    }

    /// Delivers with an explicit internal date and flags.
    pub fn deliver_with(&self, folder: i32, raw: &[u8], flags: u32, date_ms: i64) -> u32 {
        let mut s = self.state.lock().unwrap();
        s.add_message(folder, raw, flags, &[], date_ms).uid
    }

    /// Sets flag bits on the message with `uid` in `folder`, as another client would.
    pub fn flag_external(&self, folder: i32, uid: u32, mask: u32, on: bool) {
        let mut s = self.state.lock().unwrap();
        let change = s.bump(folder);
        for m in s.messages.values_mut() {
            if m.folder == folder && m.uid == uid {
                m.flags = if on { m.flags | mask } else { m.flags & !mask };
                m.modseq = change;
            }
        }
    }

    /// Removes the message with `uid` from `folder`, as another client would.
    pub fn expunge_external(&self, folder: i32, uid: u32) {
        let mut s = self.state.lock().unwrap();
        s.messages
            .retain(|_, m| !(m.folder == folder && m.uid == uid));
        let change = s.bump(folder);
        s.tombstones.push((change, folder, uid));
    }

    /// The highest change number of a folder (its HIGHESTMODSEQ).
    pub fn modseq_of(&self, folder: i32) -> u64 {
        let s = self.state.lock().unwrap();
        s.folders[&folder].modseq
    }

    /// The MODSEQ of the message with `uid` in `folder`.
    pub fn message_modseq(&self, folder: i32, uid: u32) -> Option<u64> {
        let s = self.state.lock().unwrap();
        s.messages
            .values()
            .find(|m| m.folder == folder && m.uid == uid)
            .map(|m| m.modseq)
    }

    /// Flags of the message with `uid` in `folder`.
    pub fn flags_of(&self, folder: i32, uid: u32) -> Option<u32> {
        let s = self.state.lock().unwrap();
        s.messages
            .values()
            .find(|m| m.folder == folder && m.uid == uid)
            .map(|m| m.flags)
    }

    /// Raw bytes of the message with `uid` in `folder`.
    pub fn raw_of(&self, folder: i32, uid: u32) -> Option<Vec<u8>> {
        let s = self.state.lock().unwrap();
        s.messages
            .values()
            .find(|m| m.folder == folder && m.uid == uid)
            .map(|m| m.raw.clone())
    }

    /// The id of the folder at `path`.
    pub fn folder_id(&self, path: &str) -> Option<i32> {
        let s = self.state.lock().unwrap();
        s.folders.keys().copied().find(|&id| s.path(id) == path)
    }

    /// Number of messages in a folder.
    pub fn count(&self, folder: i32) -> usize {
        let s = self.state.lock().unwrap();
        s.messages.values().filter(|m| m.folder == folder).count()
    }
}

/// The in-memory backend: `USER` / `PASSWORD`, and `bob@example.com` / `bobpw` whose
/// backend does not store keywords.
pub struct MemBackend {
    pub alice: Arc<MemAccount>,
    pub bob: Arc<MemAccount>,
}

impl MemBackend {
    pub fn new() -> Arc<MemBackend> {
        Arc::new(MemBackend {
            alice: Arc::new(MemAccount::new(USER)),
            bob: Arc::new(MemAccount::new("bob@example.com")),
        })
    }
}

#[async_trait]
impl ImapBackend for MemBackend {
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _remote_ip: IpAddr,
    ) -> Result<Arc<dyn ImapSession>, AuthError> {
        match (user, password) {
            (USER, PASSWORD) => Ok(Arc::new(Handle(self.alice.clone(), true))),
            ("bob@example.com", "bobpw") => Ok(Arc::new(Handle(self.bob.clone(), false))),
            ("down@example.com", _) => Err(AuthError::Unavailable("maintenance".into())),
            _ => Err(AuthError::Failed),
        }
    }
}

/// A session on one account; the flag says whether keywords are stored (bob's are not).
struct Handle(Arc<MemAccount>, bool);

fn valid_name(name: &str) -> BackendResult<()> {
    if name.is_empty() || name.contains([':', '/', '"']) || name.chars().any(char::is_control) {
        return Err(BackendError::InvalidName(name.to_string()));
    }
    Ok(())
}

#[async_trait]
impl ImapSession for Handle {
    fn account_name(&self) -> &str {
        &self.0.name
    }

    async fn list_folders(&self) -> BackendResult<Vec<FolderInfo>> {
        let s = self.0.state.lock().unwrap();
        Ok(s.folders.values().map(|f| s.info(f)).collect())
    }

    async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>> {
        let s = self.0.state.lock().unwrap();
        Ok(s.folders.get(&id.0).map(|f| s.info(f)))
    }

    async fn messages(&self, folder: ItemId) -> BackendResult<Vec<MessageInfo>> {
        let s = self.0.state.lock().unwrap();
        if !s.folders.contains_key(&folder.0) {
            return Err(BackendError::NotFound);
        }
        let mut out: Vec<MessageInfo> = s
            .messages
            .values()
            .filter(|m| m.folder == folder.0)
            .map(|m| MessageInfo {
                id: ItemId(m.id),
                uid: m.uid,
                flags: Flags(m.flags),
                keywords: m.keywords.clone(),
                internal_date_ms: m.date_ms,
                size: m.raw.len() as u64,
                modseq: m.modseq,
            })
            .collect();
        out.sort_by_key(|m| m.uid);
        Ok(out)
    }

    fn content_key(&self, id: ItemId) -> Option<ContentKey> {
        Some(ContentKey {
            scope: self.0.scope.clone(),
            item: i64::from(id.0),
        })
    }

    async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>> {
        self.0.reads.fetch_add(1, Ordering::Relaxed);
        let s = self.0.state.lock().unwrap();
        s.messages
            .get(&id.0)
            .map(|m| m.raw.clone())
            .ok_or(BackendError::NotFound)
    }

    async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()> {
        let mut s = self.0.state.lock().unwrap();
        for id in ids {
            let folder = s.messages.get(&id.0).ok_or(BackendError::NotFound)?.folder;
            let change = s.bump(folder);
            let m = s.messages.get_mut(&id.0).expect("checked above");
            m.flags = if on { m.flags | mask } else { m.flags & !mask };
            m.modseq = change;
        }
        drop(s);
        let _ = self.0.bus.send(());
        Ok(())
    }

    fn supports_keywords(&self) -> bool {
        self.1
    }

    /// Alice's backend keeps removal history; bob's does not (the protocol layer's
    /// fallback is used).
    async fn vanished_since(&self, folder: ItemId, modseq: u64) -> BackendResult<Option<Vec<u32>>> {
        if !self.1 {
            return Ok(None);
        }
        let s = self.0.state.lock().unwrap();
        Ok(Some(
            s.tombstones
                .iter()
                .filter(|&&(change, f, _)| f == folder.0 && change > modseq)
                .map(|&(_, _, uid)| uid)
                .collect(),
        ))
    }

    async fn set_keywords(
        &self,
        ids: &[ItemId],
        keywords: &[String],
        on: bool,
    ) -> BackendResult<()> {
        let mut s = self.0.state.lock().unwrap();
        for id in ids {
            let folder = s.messages.get(&id.0).ok_or(BackendError::NotFound)?.folder;
            let change = s.bump(folder);
            let m = s.messages.get_mut(&id.0).expect("checked above");
            for k in keywords {
                let has = m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k));
                if on && !has {
                    m.keywords.push(k.clone());
                } else if !on {
                    m.keywords.retain(|x| !x.eq_ignore_ascii_case(k));
                }
            }
            m.modseq = change;
        }
        Ok(())
    }

    async fn append(
        &self,
        folder: ItemId,
        raw: &[u8],
        flags: Flags,
        keywords: &[String],
        internal_date_ms: Option<i64>,
    ) -> BackendResult<AppendedMessage> {
        let mut s = self.0.state.lock().unwrap();
        if !s.folders.contains_key(&folder.0) {
            return Err(BackendError::NotFound);
        }
        Ok(s.add_message(
            folder.0,
            raw,
            flags.0,
            keywords,
            internal_date_ms.unwrap_or(1_700_000_000_000),
        ))
    }

    async fn copy(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        let mut s = self.0.state.lock().unwrap();
        if !s.folders.contains_key(&folder.0) {
            return Err(BackendError::NotFound);
        }
        let mut uids = Vec::new();
        for id in ids {
            let m = s
                .messages
                .get(&id.0)
                .cloned()
                .ok_or(BackendError::NotFound)?;
            uids.push(
                s.add_message(folder.0, &m.raw, m.flags, &m.keywords, m.date_ms)
                    .uid,
            );
        }
        Ok(uids)
    }

    async fn move_items(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        let mut s = self.0.state.lock().unwrap();
        if !s.folders.contains_key(&folder.0) {
            return Err(BackendError::NotFound);
        }
        let mut uids = Vec::new();
        for id in ids {
            let (from, old_uid) = s
                .messages
                .get(&id.0)
                .map(|m| (m.folder, m.uid))
                .ok_or(BackendError::NotFound)?;
            let gone = s.bump(from);
            s.tombstones.push((gone, from, old_uid));
            let change = s.bump(folder.0);
            let f = s.folders.get_mut(&folder.0).expect("checked above");
            let uid = f.uid_next;
            f.uid_next += 1;
            let m = s.messages.get_mut(&id.0).expect("checked above");
            m.folder = folder.0;
            m.uid = uid;
            m.modseq = change;
            uids.push(uid);
        }
        Ok(uids)
    }

    async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()> {
        let mut s = self.0.state.lock().unwrap();
        for id in ids {
            if let Some(m) = s.messages.remove(&id.0) {
                let change = s.bump(m.folder);
                s.tombstones.push((change, m.folder, m.uid));
            }
        }
        Ok(())
    }

    async fn create_folder(&self, parent: ItemId, name: &str) -> BackendResult<FolderInfo> {
        valid_name(name)?;
        let mut s = self.0.state.lock().unwrap();
        if !s.folders.contains_key(&parent.0) {
            return Err(BackendError::NotFound);
        }
        if s.folders
            .values()
            .any(|f| f.parent == parent.0 && f.name.eq_ignore_ascii_case(name))
        {
            return Err(BackendError::AlreadyExists);
        }
        s.next_id += 1;
        let id = s.next_id;
        let rec = FolderRec {
            id,
            parent: parent.0,
            name: name.to_string(),
            view: "message".to_string(),
            uid_validity: 5000 + id as u32,
            uid_next: 1,
            modseq: 0,
        };
        s.folders.insert(id, rec.clone());
        Ok(s.info(&rec))
    }

    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()> {
        valid_name(name)?;
        let mut s = self.0.state.lock().unwrap();
        let f = s.folders.get_mut(&id.0).ok_or(BackendError::NotFound)?;
        f.parent = new_parent.0;
        f.name = name.to_string();
        Ok(())
    }

    async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
        let mut s = self.0.state.lock().unwrap();
        s.folders.remove(&id.0).ok_or(BackendError::NotFound)?;
        s.messages.retain(|_, m| m.folder != id.0);
        Ok(())
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        Some(self.0.bus.subscribe())
    }

    async fn subscriptions(&self) -> BackendResult<Option<Vec<String>>> {
        Ok(Some(self.0.subs.list("acct")))
    }

    async fn set_subscribed(&self, name: &str, on: bool) -> BackendResult<()> {
        self.0
            .subs
            .set("acct", name, on)
            .map_err(|e| BackendError::Other(e.to_string()))
    }

    fn open_sessions(&self) -> usize {
        self.0.bus.receiver_count()
    }

    fn publish_change(&self) {
        let _ = self.0.bus.send(());
    }

    async fn quota(&self) -> BackendResult<Option<(u64, u64)>> {
        let limit = self.0.quota.load(Ordering::SeqCst);
        if limit == 0 {
            return Ok(None);
        }
        let s = self.0.state.lock().unwrap();
        let used = s.messages.values().map(|m| m.raw.len() as u64).sum();
        Ok(Some((used, limit)))
    }

    async fn search_text(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        self.0.text_searches.fetch_add(1, Ordering::SeqCst);
        let s = self.0.state.lock().unwrap();
        let needle = query.to_lowercase();
        Ok(s.messages
            .values()
            .filter(|m| m.folder == folder.0)
            .filter(|m| {
                let text = String::from_utf8_lossy(&m.raw).to_lowercase();
                let hay = match field {
                    TextField::Text => text.as_str(),
                    TextField::Body => text.split_once("\r\n\r\n").map_or("", |(_, b)| b),
                };
                hay.contains(&needle)
            })
            .map(|m| ItemId(m.id))
            .collect())
    }
}
