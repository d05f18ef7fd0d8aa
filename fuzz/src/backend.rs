//! A small in-memory [`ImapBackend`] for fuzzing: one account, `fuzz` / `pw`, with the
//! usual system folders, one user folder and one non-mail folder, whose Inbox holds the
//! messages the target asks for. Every operation works (so the session code behind each
//! command runs) and none can panic on any argument.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use zcs_core::{Flags, ItemId};
use zcs_server::imap::{
    AppendedMessage, AuthError, BackendError, BackendResult, FolderInfo, ImapBackend, ImapSession,
    MessageInfo, TextField,
};

/// The user name the backend accepts.
pub const USER: &str = "fuzz";
/// The password the backend accepts.
pub const PASSWORD: &str = "pw";

/// Folder id of the Inbox.
pub const INBOX: i32 = 2;

/// An internal date shared by every seeded message (2023-11-14T22:13:20Z).
const DATE_MS: i64 = 1_700_000_000_000;

struct Folder {
    parent: i32,
    name: String,
    view: &'static str,
    uid_next: u32,
    modseq: u64,
}

struct Message {
    folder: i32,
    uid: u32,
    flags: u32,
    keywords: Vec<String>,
    date_ms: i64,
    raw: Vec<u8>,
    modseq: u64,
}

#[derive(Default)]
struct Account {
    folders: BTreeMap<i32, Folder>,
    messages: BTreeMap<i32, Message>,
    next_id: i32,
    change: u64,
}

impl Account {
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
        // Bounded walk: a rename loop cannot make it spin.
        for _ in 0..64 {
            match self.folders.get(&cur) {
                Some(f) if cur != 1 => {
                    parts.push(f.name.clone());
                    cur = f.parent;
                }
                _ => break,
            }
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn info(&self, id: i32) -> Option<FolderInfo> {
        let f = self.folders.get(&id)?;
        let msgs = self.messages.values().filter(|m| m.folder == id);
        let (mut count, mut unread, mut size) = (0u32, 0u32, 0u64);
        for m in msgs {
            count += 1;
            unread += u32::from(m.flags & Flags::UNREAD != 0);
            size += m.raw.len() as u64;
        }
        Some(FolderInfo {
            id: ItemId(id),
            parent: ItemId(f.parent),
            path: self.path(id),
            view: f.view.to_string(),
            uid_validity: 1000 + id.unsigned_abs(),
            uid_next: f.uid_next,
            modseq: f.modseq,
            messages: count,
            unread,
            size,
        })
    }

    fn add(
        &mut self,
        folder: i32,
        raw: &[u8],
        flags: u32,
        kw: &[String],
        date: i64,
    ) -> BackendResult<AppendedMessage> {
        let f = self
            .folders
            .get_mut(&folder)
            .ok_or(BackendError::NotFound)?;
        let uid = f.uid_next;
        f.uid_next = f.uid_next.saturating_add(1);
        self.next_id = self.next_id.saturating_add(1);
        let id = self.next_id;
        let modseq = self.bump(folder);
        self.messages.insert(
            id,
            Message {
                folder,
                uid,
                flags,
                keywords: kw.to_vec(),
                date_ms: date,
                raw: raw.to_vec(),
                modseq,
            },
        );
        Ok(AppendedMessage {
            id: ItemId(id),
            uid,
        })
    }
}

/// The backend: hands out sessions on its one account.
pub struct MemBackend {
    account: Arc<Mutex<Account>>,
    keywords: bool,
}

impl MemBackend {
    /// A backend whose Inbox holds `messages` (unread, in order); `keywords` says whether
    /// the session stores IMAP keywords.
    pub fn new(messages: &[&[u8]], keywords: bool) -> Arc<MemBackend> {
        let mut account = Account {
            next_id: 300,
            ..Account::default()
        };
        for (id, parent, name, view) in [
            (1, 11, "", "message"),
            (INBOX, 1, "Inbox", "message"),
            (3, 1, "Trash", "message"),
            (4, 1, "Junk", "message"),
            (5, 1, "Sent", "message"),
            (6, 1, "Drafts", "message"),
            (7, 1, "Contacts", "contact"),
            (257, 1, "Work", "message"),
            (258, 257, "Projects", "message"),
        ] {
            account.folders.insert(
                id,
                Folder {
                    parent,
                    name: name.to_string(),
                    view,
                    uid_next: 1,
                    modseq: 0,
                },
            );
        }
        for raw in messages {
            let _ = account.add(INBOX, raw, Flags::UNREAD, &[], DATE_MS);
        }
        Arc::new(MemBackend {
            account: Arc::new(Mutex::new(account)),
            keywords,
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
            (USER, PASSWORD) => Ok(Arc::new(Handle {
                account: self.account.clone(),
                keywords: self.keywords,
            })),
            ("down", _) => Err(AuthError::Unavailable("maintenance".to_string())),
            _ => Err(AuthError::Failed),
        }
    }
}

struct Handle {
    account: Arc<Mutex<Account>>,
    keywords: bool,
}

impl Handle {
    fn lock(&self) -> MutexGuard<'_, Account> {
        // A poisoned lock means a target already panicked; carry on with the data.
        self.account.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn check_name(name: &str) -> BackendResult<()> {
    if name.is_empty()
        || name.len() > 128
        || name.contains(['/', ':', '"'])
        || name.chars().any(char::is_control)
    {
        return Err(BackendError::InvalidName(name.to_string()));
    }
    Ok(())
}

#[async_trait]
impl ImapSession for Handle {
    fn account_name(&self) -> &str {
        USER
    }

    async fn list_folders(&self) -> BackendResult<Vec<FolderInfo>> {
        let a = self.lock();
        Ok(a.folders.keys().filter_map(|&id| a.info(id)).collect())
    }

    async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>> {
        Ok(self.lock().info(id.0))
    }

    async fn messages(&self, folder: ItemId) -> BackendResult<Vec<MessageInfo>> {
        let a = self.lock();
        if !a.folders.contains_key(&folder.0) {
            return Err(BackendError::NotFound);
        }
        let mut out: Vec<MessageInfo> = a
            .messages
            .iter()
            .filter(|(_, m)| m.folder == folder.0)
            .map(|(&id, m)| MessageInfo {
                id: ItemId(id),
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

    async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>> {
        self.lock()
            .messages
            .get(&id.0)
            .map(|m| m.raw.clone())
            .ok_or(BackendError::NotFound)
    }

    async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()> {
        let mut a = self.lock();
        for id in ids {
            let folder = a.messages.get(&id.0).ok_or(BackendError::NotFound)?.folder;
            let change = a.bump(folder);
            if let Some(m) = a.messages.get_mut(&id.0) {
                m.flags = if on { m.flags | mask } else { m.flags & !mask };
                m.modseq = change;
            }
        }
        Ok(())
    }

    fn supports_keywords(&self) -> bool {
        self.keywords
    }

    async fn set_keywords(
        &self,
        ids: &[ItemId],
        keywords: &[String],
        on: bool,
    ) -> BackendResult<()> {
        let mut a = self.lock();
        for id in ids {
            let folder = a.messages.get(&id.0).ok_or(BackendError::NotFound)?.folder;
            let change = a.bump(folder);
            if let Some(m) = a.messages.get_mut(&id.0) {
                for k in keywords {
                    m.keywords.retain(|x| !x.eq_ignore_ascii_case(k));
                    if on {
                        m.keywords.push(k.clone());
                    }
                }
                m.modseq = change;
            }
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
        self.lock().add(
            folder.0,
            raw,
            flags.0,
            keywords,
            internal_date_ms.unwrap_or(DATE_MS),
        )
    }

    async fn copy(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        let mut a = self.lock();
        let mut uids = Vec::with_capacity(ids.len());
        for id in ids {
            let m = a.messages.get(&id.0).ok_or(BackendError::NotFound)?;
            let (raw, flags, kw, date) = (m.raw.clone(), m.flags, m.keywords.clone(), m.date_ms);
            uids.push(a.add(folder.0, &raw, flags, &kw, date)?.uid);
        }
        Ok(uids)
    }

    async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()> {
        let mut a = self.lock();
        for id in ids {
            if let Some(m) = a.messages.remove(&id.0) {
                a.bump(m.folder);
            }
        }
        Ok(())
    }

    async fn create_folder(&self, parent: ItemId, name: &str) -> BackendResult<FolderInfo> {
        check_name(name)?;
        let mut a = self.lock();
        if !a.folders.contains_key(&parent.0) {
            return Err(BackendError::NotFound);
        }
        let taken = a
            .folders
            .values()
            .any(|f| f.parent == parent.0 && f.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(BackendError::AlreadyExists);
        }
        let id = a
            .folders
            .keys()
            .next_back()
            .map_or(257, |&k| k.max(256) + 1);
        a.folders.insert(
            id,
            Folder {
                parent: parent.0,
                name: name.to_string(),
                view: "message",
                uid_next: 1,
                modseq: 0,
            },
        );
        a.info(id).ok_or(BackendError::NotFound)
    }

    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()> {
        check_name(name)?;
        let mut a = self.lock();
        if id.0 < 256 {
            return Err(BackendError::PermissionDenied);
        }
        if !a.folders.contains_key(&new_parent.0) {
            return Err(BackendError::NotFound);
        }
        // Refuse to move a folder under itself or its own subfolder.
        let mut cur = new_parent.0;
        for _ in 0..64 {
            if cur == id.0 {
                return Err(BackendError::InvalidName(name.to_string()));
            }
            match a.folders.get(&cur) {
                Some(f) if cur != 1 => cur = f.parent,
                _ => break,
            }
        }
        let f = a.folders.get_mut(&id.0).ok_or(BackendError::NotFound)?;
        f.parent = new_parent.0;
        f.name = name.to_string();
        Ok(())
    }

    async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
        let mut a = self.lock();
        if id.0 < 256 {
            return Err(BackendError::PermissionDenied);
        }
        a.folders.remove(&id.0).ok_or(BackendError::NotFound)?;
        a.messages.retain(|_, m| m.folder != id.0);
        Ok(())
    }

    async fn search_text(
        &self,
        folder: ItemId,
        query: &str,
        _field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        // A crude stand-in for the index: a case-sensitive substring of the raw bytes.
        let a = self.lock();
        let needle = query.as_bytes();
        Ok(a.messages
            .iter()
            .filter(|(_, m)| m.folder == folder.0)
            .filter(|(_, m)| needle.is_empty() || m.raw.windows(needle.len()).any(|w| w == needle))
            .map(|(&id, _)| ItemId(id))
            .collect())
    }
}
