//! Folders other accounts share with the logged-in one, as IMAP sees them: under
//! Zimbra's Other Users namespace (`/home/<owner>/<folder>`, RFC 2342) for every folder
//! whose grants give this account the read right, and where the account's own
//! mountpoints sit in its personal namespace.
//!
//! Folders and messages of another mailbox get session-local negative ids (the
//! account's own ids are positive), so the protocol layer handles them like any other
//! and this module routes each call to the owner's mailbox. Every call re-checks the
//! grant (`Mailbox::effective_rights_for`): a revoked share stops working at once, a
//! folder without the read right is "not found" (never revealing that it exists), and
//! a missing write/insert/delete right is "permission denied".

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use zcs_core::{ItemId, ZimbraId, folder};
use zcs_directory::Provisioning;
use zcs_store::{Accessor, Folder, Mailbox, Mountpoint, Rights, Store, StoreError};

use crate::imap::backend::{BackendError, BackendResult, FolderInfo, MessageInfo};

/// Whether an id handed to the protocol layer names another mailbox's item.
pub(super) fn is_shared(id: ItemId) -> bool {
    id.0 < 0
}

/// An account whose folders are shared with this one.
#[derive(Clone)]
pub(super) struct Owner {
    pub(super) id: ZimbraId,
    pub(super) mailbox: Mailbox,
}

/// One shared folder as listed.
#[derive(Clone)]
struct SharedFolder {
    owner: usize,
    remote: ItemId,
    path: String,
    parent: ItemId,
    /// At the root of one of this account's mountpoints: the link's item id (the link
    /// is this account's item, the folder behind it the owner's).
    mount: Option<ItemId>,
}

/// Where a mountpoint shows its folder: the path in this account's tree and the
/// mountpoint's item id.
type MountAt = (String, ItemId);

/// The session's id tables.
#[derive(Default)]
struct Tables {
    owners: Vec<Owner>,
    owner_index: HashMap<ZimbraId, usize>,
    folders: HashMap<i32, SharedFolder>,
    folder_ids: HashMap<(usize, i32), i32>,
    /// Synthetic message id to (owner, folder synthetic id, item id).
    msgs: HashMap<i32, (usize, i32, ItemId)>,
    msg_ids: HashMap<(usize, i32), i32>,
    next: i32,
}

impl Tables {
    fn next_id(&mut self) -> i32 {
        self.next = self.next.saturating_sub(1).min(-1);
        self.next
    }

    fn owner(&mut self, owner: Owner) -> usize {
        if let Some(&i) = self.owner_index.get(&owner.id) {
            return i;
        }
        self.owners.push(owner.clone());
        self.owner_index.insert(owner.id, self.owners.len() - 1);
        self.owners.len() - 1
    }

    fn folder_id(&mut self, owner: usize, remote: ItemId) -> i32 {
        if let Some(&id) = self.folder_ids.get(&(owner, remote.0)) {
            return id;
        }
        let id = self.next_id();
        self.folder_ids.insert((owner, remote.0), id);
        id
    }

    fn msg_id(&mut self, owner: usize, folder: i32, item: ItemId) -> i32 {
        if let Some(&id) = self.msg_ids.get(&(owner, item.0)) {
            self.msgs.insert(id, (owner, folder, item));
            return id;
        }
        let id = self.next_id();
        self.msg_ids.insert((owner, item.0), id);
        self.msgs.insert(id, (owner, folder, item));
        id
    }
}

/// The shares one IMAP session sees.
pub(super) struct Shares {
    store: Arc<Store>,
    prov: Arc<Provisioning>,
    me_id: ZimbraId,
    me: Accessor,
    tables: Mutex<Tables>,
}

fn store_error(e: StoreError) -> BackendError {
    super::backend_error(e)
}

/// A store path as an IMAP-style path below a namespace: `/Inbox/a` is `INBOX/a`.
fn imap_path(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case("Inbox") => format!("INBOX/{rest}"),
        _ if trimmed.eq_ignore_ascii_case("Inbox") => "INBOX".to_string(),
        _ => trimmed.to_string(),
    }
}

fn is_mail_view(view: &str) -> bool {
    matches!(view, "" | "message" | "conversation")
}

impl Shares {
    /// The shares of account `me` (in `domain`).
    pub(super) fn new(
        store: Arc<Store>,
        prov: Arc<Provisioning>,
        me: ZimbraId,
        domain: Option<String>,
    ) -> Shares {
        Shares {
            store,
            prov,
            me_id: me,
            me: Accessor {
                account: Some(me),
                domain,
                ..Accessor::default()
            },
            tables: Mutex::new(Tables::default()),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rights this account holds on `remote` in `owner`'s mailbox (none when the
    /// folder is gone).
    async fn rights(&self, owner: &Owner, remote: ItemId) -> Rights {
        owner
            .mailbox
            .effective_rights_for(remote, &self.me)
            .await
            .unwrap_or_default()
    }

    /// The shared folder behind a synthetic id, with the rights held on it, when at
    /// least readable and holding `need`; `NotFound` when unknown or unreadable,
    /// `PermissionDenied` when readable without `need`.
    async fn require(&self, id: ItemId, need: u8) -> BackendResult<(usize, Owner, ItemId)> {
        let found = {
            let t = self.tables();
            t.folders
                .get(&id.0)
                .map(|f| (f.owner, t.owners[f.owner].clone(), f.remote))
        };
        let Some((index, owner, remote)) = found else {
            return Err(BackendError::NotFound);
        };
        let rights = self.rights(&owner, remote).await;
        if !rights.contains(Rights::READ) {
            return Err(BackendError::NotFound);
        }
        if !rights.contains(need) {
            return Err(BackendError::PermissionDenied);
        }
        Ok((index, owner, remote))
    }

    /// The shared folder id a synthetic message id lives in and its item id.
    fn message(&self, id: ItemId) -> BackendResult<(ItemId, usize, ItemId)> {
        let t = self.tables();
        t.msgs
            .get(&id.0)
            .map(|&(owner, folder, item)| (ItemId(folder), owner, item))
            .ok_or(BackendError::NotFound)
    }

    /// An owner's mailbox, when the account still exists and has one.
    async fn open_owner(&self, id: ZimbraId) -> Option<(Owner, String)> {
        let entry = self.prov.find_account(&id.to_string()).await.ok()??;
        let mailbox = self.store.find_mailbox(id).await.ok()??;
        Some((Owner { id, mailbox }, entry.name))
    }

    /// Every readable shared mail folder: under `/home/<owner>/` for each grant to
    /// this account, and at the account's mountpoints (`own` are its own folders).
    pub(super) async fn list(&self, own: &[Folder], mine: &Mailbox) -> Vec<FolderInfo> {
        let granted = self
            .store
            .folders_shared_with(self.me_id, self.me.domain.as_deref())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "shared folders not listed");
                Vec::new()
            });
        // (owner, remote root, path prefix of the root and mountpoint id)
        let mut roots: Vec<(ZimbraId, ItemId, Option<MountAt>)> =
            granted.into_iter().map(|(o, f)| (o, f, None)).collect();
        let own_paths: HashMap<i32, &str> = own.iter().map(|f| (f.id.0, f.path.as_str())).collect();
        for mp in mine.mountpoints().await.unwrap_or_default() {
            let parent = own_paths.get(&mp.parent.0).copied().unwrap_or("/");
            let path = format!("{}/{}", parent.trim_end_matches('/'), mp.name);
            roots.push((mp.owner, mp.remote_id, Some((path, mp.id))));
        }
        let mut out = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut opened: HashMap<ZimbraId, Option<(Owner, String, Vec<Folder>)>> = HashMap::new();
        for (owner_id, root, at) in roots {
            if let std::collections::hash_map::Entry::Vacant(slot) = opened.entry(owner_id) {
                let value = match self.open_owner(owner_id).await {
                    Some((owner, name)) => {
                        let folders = owner.mailbox.folders().await.unwrap_or_default();
                        Some((owner, name, folders))
                    }
                    None => None,
                };
                slot.insert(value);
            }
            let Some(Some((owner, name, folders))) = opened.get(&owner_id) else {
                continue;
            };
            let Some(root_folder) = folders.iter().find(|f| f.id == root) else {
                continue;
            };
            let link = at.as_ref().map(|(_, link)| *link);
            let prefix = at.map(|(path, _)| path).unwrap_or_else(|| {
                if root.0 == folder::USER_ROOT {
                    format!("//home/{name}")
                } else {
                    format!("//home/{name}/{}", imap_path(&root_folder.path))
                }
            });
            let root_path = root_folder.path.trim_end_matches('/').to_string();
            for f in folders {
                let below = f.id == root
                    || (f.path.starts_with(&format!("{root_path}/"))
                        && f.id.0 != folder::USER_ROOT);
                if !below || !is_mail_view(&f.view) || f.id.0 == folder::USER_ROOT {
                    continue;
                }
                if !self.rights(owner, f.id).await.contains(Rights::READ) {
                    continue;
                }
                let suffix = &f.path[root_path.len().min(f.path.len())..];
                let path = format!("{prefix}{suffix}");
                if !seen.insert(path.to_lowercase()) {
                    continue;
                }
                let mut t = self.tables();
                let index = t.owner(owner.clone());
                let id = t.folder_id(index, f.id);
                let parent = t
                    .folder_ids
                    .get(&(index, f.parent.0))
                    .map_or(ItemId(folder::USER_ROOT), |&p| ItemId(p));
                t.folders.insert(
                    id,
                    SharedFolder {
                        owner: index,
                        remote: f.id,
                        path: path.clone(),
                        parent,
                        mount: link.filter(|_| f.id == root),
                    },
                );
                out.push(info(f.clone(), ItemId(id), path, parent));
            }
        }
        out
    }

    /// A shared folder's current counters; `None` when gone or no longer readable.
    pub(super) async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>> {
        let (_, owner, remote) = match self.require(id, Rights::READ).await {
            Ok(found) => found,
            Err(BackendError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (path, parent) = {
            let t = self.tables();
            let f = t.folders.get(&id.0).ok_or(BackendError::NotFound)?;
            (f.path.clone(), f.parent)
        };
        match owner.mailbox.folder(remote).await {
            Ok(f) => Ok(Some(info(f, id, path, parent))),
            Err(StoreError::NoSuchFolder(_)) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// A shared folder's messages (or those changed since `modseq`), with
    /// session-local ids.
    pub(super) async fn messages(
        &self,
        id: ItemId,
        since: Option<i64>,
    ) -> BackendResult<Vec<MessageInfo>> {
        let (index, owner, remote) = self.require(id, Rights::READ).await?;
        let msgs = match since {
            None => owner.mailbox.messages(remote).await,
            Some(s) => owner.mailbox.messages_changed_since(remote, s).await,
        }
        .map_err(store_error)?;
        let mut t = self.tables();
        Ok(msgs
            .into_iter()
            .map(|m| {
                let mut info = super::message_info(m);
                info.id = ItemId(t.msg_id(index, id.0, info.id));
                info
            })
            .collect())
    }

    /// QRESYNC's VANISHED for a shared folder.
    pub(super) async fn vanished_since(&self, id: ItemId, modseq: i64) -> BackendResult<Vec<u32>> {
        let (_, owner, remote) = self.require(id, Rights::READ).await?;
        let gone = owner
            .mailbox
            .tombstones_since(modseq)
            .await
            .map_err(store_error)?;
        Ok(gone
            .into_iter()
            .filter(|t| !t.is_folder && t.folder == remote)
            .map(|t| t.imap_uid)
            .collect())
    }

    /// The raw bytes of a shared message (read right on its folder).
    pub(super) async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>> {
        let (folder_id, _, item) = self.message(id)?;
        let (_, owner, _) = self.require(folder_id, Rights::READ).await?;
        owner.mailbox.read_message(item).await.map_err(store_error)
    }

    /// A shared message's flags and internal date.
    pub(super) async fn meta(&self, id: ItemId) -> BackendResult<(zcs_core::Flags, i64)> {
        let (folder_id, _, item) = self.message(id)?;
        let (_, owner, _) = self.require(folder_id, Rights::READ).await?;
        let m = owner.mailbox.message(item).await.map_err(store_error)?;
        Ok((m.flags, m.internal_date_ms))
    }

    /// Groups shared message ids by folder, checking `need` on each folder.
    async fn grouped(&self, ids: &[ItemId], need: u8) -> BackendResult<Vec<(Owner, Vec<ItemId>)>> {
        let mut by_folder: HashMap<i32, Vec<ItemId>> = HashMap::new();
        for &id in ids {
            let (folder_id, _, item) = self.message(id)?;
            by_folder.entry(folder_id.0).or_default().push(item);
        }
        let mut out = Vec::new();
        for (folder_id, items) in by_folder {
            let (_, owner, _) = self.require(ItemId(folder_id), need).await?;
            out.push((owner, items));
        }
        Ok(out)
    }

    /// STORE on shared messages: needs the write right.
    pub(super) async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()> {
        for (owner, items) in self.grouped(ids, Rights::WRITE).await? {
            owner
                .mailbox
                .set_flags(&items, mask, on)
                .await
                .map_err(store_error)?;
            crate::notify::publish(owner.id);
        }
        Ok(())
    }

    /// EXPUNGE of shared messages: needs the delete right.
    pub(super) async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()> {
        for (owner, items) in self.grouped(ids, Rights::DELETE).await? {
            owner
                .mailbox
                .delete_items(&items)
                .await
                .map_err(store_error)?;
            crate::notify::publish(owner.id);
        }
        Ok(())
    }

    /// APPEND into a shared folder: needs the insert right; keywords become the
    /// owner's tags (created on first use). Returns the owner (for
    /// the indexer), the new message's session id and its UID.
    pub(super) async fn append(
        &self,
        id: ItemId,
        raw: &[u8],
        flags: zcs_core::Flags,
        tags: &[String],
        date_ms: i64,
    ) -> BackendResult<(ZimbraId, ItemId, u32)> {
        let (index, owner, remote) = self.require(id, Rights::INSERT).await?;
        let meta = owner
            .mailbox
            .append_tagged(remote, raw, flags, tags, date_ms)
            .await
            .map_err(store_error)?;
        crate::notify::publish(owner.id);
        let sid = self.tables().msg_id(index, id.0, meta.id);
        Ok((owner.id, ItemId(sid), meta.imap_uid))
    }

    /// Keywords (the owner's tags, created on first use) on shared messages: needs the
    /// write right, as flags do. `bits` are the flag bits keywords such as `$MDNSent`
    /// name.
    pub(super) async fn set_keywords(
        &self,
        ids: &[ItemId],
        bits: u32,
        tags: &[String],
        on: bool,
    ) -> BackendResult<()> {
        for (owner, items) in self.grouped(ids, Rights::WRITE).await? {
            if bits != 0 {
                owner
                    .mailbox
                    .set_flags(&items, bits, on)
                    .await
                    .map_err(store_error)?;
            }
            if !tags.is_empty() {
                owner
                    .mailbox
                    .set_tags_by_name(&items, tags, on, on)
                    .await
                    .map_err(store_error)?;
            }
            crate::notify::publish(owner.id);
        }
        Ok(())
    }

    /// CREATE below a shared folder (RFC 4314 §4: `k` on the parent, Zimbra's insert
    /// right). The new folder inherits the parent's grants, so it is listed at once.
    pub(super) async fn create_folder(
        &self,
        parent: ItemId,
        name: &str,
    ) -> BackendResult<FolderInfo> {
        let (index, owner, remote) = self.require(parent, Rights::INSERT).await?;
        let created = owner
            .mailbox
            .create_folder(remote, name)
            .await
            .map_err(store_error)?;
        crate::notify::publish(owner.id);
        let mut t = self.tables();
        let parent_path = t
            .folders
            .get(&parent.0)
            .map(|f| f.path.clone())
            .ok_or(BackendError::NotFound)?;
        let path = format!("{}/{}", parent_path.trim_end_matches('/'), created.name);
        let id = t.folder_id(index, created.id);
        t.folders.insert(
            id,
            SharedFolder {
                owner: index,
                remote: created.id,
                path: path.clone(),
                parent,
                mount: None,
            },
        );
        Ok(info(created, ItemId(id), path, parent))
    }

    /// RENAME of a shared folder (RFC 4314 §4: `x` on the folder, `k` on the new
    /// parent), within the same owner's mailbox only. The root of a mountpoint is the
    /// account's own link: [`Shares::rename_mount`] renames that, and it cannot move
    /// into another share.
    pub(super) async fn rename_folder(
        &self,
        id: ItemId,
        new_parent: ItemId,
        name: &str,
    ) -> BackendResult<()> {
        if self.mount_link(id).is_some() {
            return Err(BackendError::PermissionDenied);
        }
        let (from, owner, remote) = self.require(id, Rights::DELETE).await?;
        let (to, _, remote_parent) = self.require(new_parent, Rights::INSERT).await?;
        if from != to {
            return Err(BackendError::PermissionDenied);
        }
        owner
            .mailbox
            .rename_folder(remote, remote_parent, name)
            .await
            .map_err(store_error)?;
        crate::notify::publish(owner.id);
        Ok(())
    }

    /// DELETE of a shared folder (RFC 4314 §4: `x` on the folder, Zimbra's delete
    /// right). The owner's system folders cannot be deleted. At a mountpoint's root
    /// the mountpoint itself goes ([`Shares::delete_mount`]), never the owner's folder.
    pub(super) async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
        if self.mount_link(id).is_some() {
            return Err(BackendError::PermissionDenied);
        }
        let (_, owner, remote) = self.require(id, Rights::DELETE).await?;
        owner
            .mailbox
            .delete_folder(remote)
            .await
            .map_err(store_error)?;
        crate::notify::publish(owner.id);
        self.tables().folders.remove(&id.0);
        Ok(())
    }

    /// The mountpoint (this account's link item) whose root `id` is, if it is one.
    pub(super) fn mount_link(&self, id: ItemId) -> Option<ItemId> {
        self.tables().folders.get(&id.0).and_then(|f| f.mount)
    }

    /// The mountpoint at the root `id`, as the store has it now.
    async fn mountpoint(&self, id: ItemId, mine: &Mailbox) -> BackendResult<Mountpoint> {
        let link = self.mount_link(id).ok_or(BackendError::NotFound)?;
        mine.mountpoints()
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|m| m.id == link)
            .ok_or(BackendError::NotFound)
    }

    /// IMAP DELETE of a mountpoint's root: removes the mountpoint from `mine` (the
    /// account's own mailbox). The owner's folder, its messages and its grant stay;
    /// no right on the share is needed, the link being the account's own item.
    pub(super) async fn delete_mount(&self, id: ItemId, mine: &Mailbox) -> BackendResult<()> {
        let mp = self.mountpoint(id, mine).await?;
        mine.delete_items(&[mp.id]).await.map_err(store_error)?;
        self.tables().folders.remove(&id.0);
        Ok(())
    }

    /// IMAP RENAME of a mountpoint's root: the mountpoint gets `name` under
    /// `new_parent`, one of the account's own folders. The owner's folder keeps its
    /// name.
    ///
    /// LIMITATION: the store cannot rename a link, so the mountpoint is recreated
    /// under the new name and the old one deleted, in two changes (a crash in between
    /// leaves both), and it gets a new item id (SOAP clients see a new mountpoint).
    pub(super) async fn rename_mount(
        &self,
        id: ItemId,
        mine: &Mailbox,
        new_parent: ItemId,
        name: &str,
    ) -> BackendResult<()> {
        let mp = self.mountpoint(id, mine).await?;
        if mp.parent == new_parent && mp.name == name {
            return Ok(());
        }
        let recreate = |parent: ItemId, name: String| {
            let mp = mp.clone();
            async move {
                mine.create_mountpoint(parent, &name, mp.owner, mp.remote_id, &mp.view)
                    .await
                    .map_err(store_error)
            }
        };
        let created = if mp.parent == new_parent && mp.name.eq_ignore_ascii_case(name) {
            // Only the case changes: the old name must go first to free the new one.
            mine.delete_items(&[mp.id]).await.map_err(store_error)?;
            match recreate(new_parent, name.to_string()).await {
                Ok(created) => created,
                Err(e) => {
                    if let Err(undo) = recreate(mp.parent, mp.name.clone()).await {
                        tracing::warn!(error = %undo, "mountpoint lost by a failed rename");
                    }
                    return Err(e);
                }
            }
        } else {
            let created = recreate(new_parent, name.to_string()).await?;
            mine.delete_items(&[mp.id]).await.map_err(store_error)?;
            created
        };
        if let Some(f) = self.tables().folders.get_mut(&id.0) {
            f.mount = Some(created.id);
        }
        Ok(())
    }

    /// The owner and remote folder of a readable shared folder (for searches).
    pub(super) async fn readable(&self, id: ItemId) -> BackendResult<(usize, Owner, ItemId)> {
        self.require(id, Rights::READ).await
    }

    /// The session id of an item of a shared folder.
    pub(super) fn session_id(&self, owner: usize, folder: ItemId, item: ItemId) -> ItemId {
        ItemId(self.tables().msg_id(owner, folder.0, item))
    }

    /// The rights held on a shared folder (none when unknown).
    pub(super) async fn my_rights(&self, id: ItemId) -> Rights {
        match self.require(id, 0).await {
            Ok((_, owner, remote)) => self.rights(&owner, remote).await,
            Err(_) => Rights(0),
        }
    }

    /// The owner's mailbox and folder behind a shared folder this account may
    /// administer.
    pub(super) async fn administered(&self, id: ItemId) -> BackendResult<(Mailbox, ItemId)> {
        let (_, owner, remote) = self.require(id, Rights::ADMIN).await?;
        Ok((owner.mailbox, remote))
    }
}

fn info(f: Folder, id: ItemId, path: String, parent: ItemId) -> FolderInfo {
    let mut i = super::folder_info(f);
    i.id = id;
    i.path = path;
    i.parent = parent;
    i
}
