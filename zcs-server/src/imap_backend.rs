//! The IMAP front end's backend: `imap::ImapBackend` implemented on the directory (who
//! may log in), the store (the account's own mailbox, nothing else) and the index
//! (`SEARCH TEXT` and `BODY`).
//!
//! Every operation goes through the logged-in account's `Mailbox`, whose queries are
//! scoped to that mailbox, so an id from another account is simply not found. Folders
//! other accounts share with this one are reached only through `shared`, which checks
//! the grant on every call.

mod convert;
mod listing;
mod search;
mod shared;

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Flags, ItemId};
use zcs_directory::Provisioning;
use zcs_index::IndexBackend;
use zcs_store::{GranteeType, Mailbox, Rights, Store, StoreError};

use self::convert::split_keywords;
pub(crate) use self::convert::{backend_error, folder_info, message_info};
use self::shared::{Shares, is_shared};

use crate::imap::backend::{
    AppendedMessage, AuthError, BackendError, BackendResult, Candidates, ContentKey, FolderInfo,
    ImapBackend, ImapSession, MessageInfo, SubstringField, TextField,
};
use crate::imap::subscriptions::Subscriptions;
use crate::indexer::Indexer;
use crate::login::{LoginRefusal, protocol_login};
use crate::notify::ChangeBus;

/// Authenticates IMAP users against the directory and opens their mailboxes.
pub struct StoreImapBackend {
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
    indexer: Indexer,
    subscriptions: Arc<Subscriptions>,
}

impl StoreImapBackend {
    /// A backend over these subsystems; `indexer` is told about appended messages.
    pub fn new(
        prov: Arc<Provisioning>,
        store: Arc<Store>,
        index: Arc<dyn IndexBackend>,
        indexer: Indexer,
    ) -> Self {
        // IMAP subscriptions live in one small file per account under the zcs home
        // (`<home>/imap/subscriptions/<account id>`); without a home (tests), in memory.
        let dir = crate::home::Home::from_env()
            .ok()
            .map(|h| h.root().join("imap").join("subscriptions"));
        StoreImapBackend {
            prov,
            store,
            index,
            indexer,
            subscriptions: Arc::new(Subscriptions::new(dir)),
        }
    }
}

#[async_trait]
impl ImapBackend for StoreImapBackend {
    async fn proxy_trusted(&self, peer: IpAddr) -> bool {
        crate::proxy::peer_trusted(&self.prov, peer).await
    }

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        remote_ip: IpAddr,
    ) -> Result<Arc<dyn ImapSession>, AuthError> {
        // zimbraImapEnabled (the COS feature) and zimbraPrefImapEnabled (the user's
        // choice) must both allow IMAP.
        let switches = ["zimbraImapEnabled", "zimbraPrefImapEnabled"];
        let (account, effective) =
            match protocol_login(&self.prov, "imap", user, password, remote_ip, &switches).await {
                Ok(found) => found,
                Err(LoginRefusal::Failed) => return Err(AuthError::Failed),
                Err(LoginRefusal::Unavailable) => {
                    return Err(AuthError::Unavailable("directory unavailable".into()));
                }
            };
        // APPEND and COPY past the effective zimbraMailQuota (0: none) fail with
        // QuotaExceeded. LIMITATION: read once at login; a quota changed during the
        // session applies from the next login.
        let quota = effective
            .get("zimbraMailQuota")
            .and_then(|v| zcs_core::attrs::value::parse_size(v).ok())
            .unwrap_or(0);
        let mailbox = self
            .store
            .mailbox(account.id)
            .await
            .map_err(|e| {
                tracing::error!(account = %account.name, error = %e, "open mailbox failed");
                AuthError::Unavailable("mailbox unavailable".into())
            })?
            .with_quota(quota);
        tracing::info!(account = %account.name, ip = %remote_ip, proto = "imap", "login");
        // Zimbra's delayed indexing: an IMAP login brings a suppressed index back.
        crate::soap::delayed_index_on_login(&self.prov, &self.indexer, &account).await;
        let domain = account.domain().map(str::to_lowercase);
        let shares = Shares::new(self.store.clone(), self.prov.clone(), account.id, domain);
        // Item ids are never reused in a mailbox, and a restore keeps them with their
        // content: (account, mailbox, item) names one message's bytes for good.
        let content_scope: Arc<str> =
            Arc::from(format!("{}/{}", mailbox.account(), mailbox.id().0));
        Ok(Arc::new(StoreImapSession {
            name: account.name,
            content_scope,
            prov: self.prov.clone(),
            shares,
            mailbox,
            index: self.index.clone(),
            indexer: self.indexer.clone(),
            subscriptions: self.subscriptions.clone(),
        }))
    }
}

/// One logged-in account's mailbox as IMAP sees it.
struct StoreImapSession {
    name: String,
    /// The scope of this mailbox's [`ContentKey`]s.
    content_scope: Arc<str>,
    prov: Arc<Provisioning>,
    /// The folders other accounts share with this one.
    shares: Shares,
    mailbox: Mailbox,
    index: Arc<dyn IndexBackend>,
    indexer: Indexer,
    subscriptions: Arc<Subscriptions>,
}

/// Whether the account `id` may still hold a protocol session: it exists, its
/// `zimbraAccountStatus` is `active` or `lockout` (a lockout only stops new password
/// logins), and none of `switches` is FALSE in its effective attributes (COS applied).
/// Deleted, locked, closed, pending and maintenance accounts are not. A directory that
/// cannot answer does not end sessions (true), so an LDAP hiccup does not log everyone
/// out. Shared by the IMAP and POP3 backends.
pub(crate) async fn session_still_allowed(
    prov: &Provisioning,
    id: zcs_core::ZimbraId,
    name: &str,
    switches: &[&str],
) -> bool {
    let entry = match prov.find_account(&id.to_string()).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(account = %name, error = %e, "account status not checked");
            return true;
        }
    };
    let status = entry
        .attrs
        .get("zimbraAccountStatus")
        .unwrap_or("active")
        .to_ascii_lowercase();
    if !matches!(status.as_str(), "active" | "lockout") {
        return false;
    }
    match prov.effective_account_attrs(&entry).await {
        Ok(effective) => !switches.iter().any(|attr| {
            effective
                .get(attr)
                .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
        }),
        Err(e) => {
            tracing::warn!(account = %name, error = %e, "account features not checked");
            true
        }
    }
}

#[async_trait]
impl ImapSession for StoreImapSession {
    fn account_name(&self) -> &str {
        &self.name
    }

    async fn list_folders(&self) -> BackendResult<Vec<FolderInfo>> {
        let folders = self.mailbox.folders().await.map_err(backend_error)?;
        let shared = self.shares.list(&folders, &self.mailbox).await;
        let mut out: Vec<FolderInfo> = folders.into_iter().map(folder_info).collect();
        out.extend(shared);
        Ok(out)
    }

    async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>> {
        if is_shared(id) {
            return self.shares.folder(id).await;
        }
        match self.mailbox.folder(id).await {
            Ok(f) => Ok(Some(folder_info(f))),
            Err(StoreError::NoSuchFolder(_)) => Ok(None),
            Err(e) => Err(backend_error(e)),
        }
    }

    async fn messages(&self, folder: ItemId) -> BackendResult<Vec<MessageInfo>> {
        if is_shared(folder) {
            return self.shares.messages(folder, None).await;
        }
        listing::folder_messages(&self.mailbox, folder)
            .await
            .map_err(backend_error)
    }

    async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>> {
        if is_shared(id) {
            return self.shares.read_message(id).await;
        }
        self.mailbox.read_message(id).await.map_err(backend_error)
    }

    /// Own messages only.
    ///
    /// LIMITATION: messages of shared folders have session-local ids, so what is
    /// derived from them is not cached.
    fn content_key(&self, id: ItemId) -> Option<ContentKey> {
        (!is_shared(id)).then(|| ContentKey {
            scope: self.content_scope.clone(),
            item: i64::from(id.0),
        })
    }

    async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()> {
        let (theirs, ids): (Vec<ItemId>, Vec<ItemId>) = ids.iter().partition(|i| is_shared(**i));
        if !theirs.is_empty() {
            self.shares.set_flags(&theirs, mask, on).await?;
        }
        let ids = &ids[..];
        self.mailbox
            .set_flags(ids, mask, on)
            .await
            .map_err(backend_error)?;
        self.publish_change();
        Ok(())
    }

    fn supports_keywords(&self) -> bool {
        true
    }

    /// Keywords are tags, created on first use as Zimbra does (in the owner's mailbox
    /// for shared messages); `$MDNSent` is the \Notified flag.
    async fn set_keywords(
        &self,
        ids: &[ItemId],
        keywords: &[String],
        on: bool,
    ) -> BackendResult<()> {
        let (bits, tags) = split_keywords(keywords);
        let (theirs, ids): (Vec<ItemId>, Vec<ItemId>) = ids.iter().partition(|i| is_shared(**i));
        if !theirs.is_empty() {
            // Keywords on shared messages are the owner's tags (write right needed).
            self.shares.set_keywords(&theirs, bits, &tags, on).await?;
        }
        if ids.is_empty() {
            return Ok(());
        }
        let ids = &ids[..];
        if bits != 0 {
            self.mailbox
                .set_flags(ids, bits, on)
                .await
                .map_err(backend_error)?;
        }
        if !tags.is_empty() {
            self.mailbox
                .set_tags_by_name(ids, &tags, on, on)
                .await
                .map_err(backend_error)?;
        }
        self.publish_change();
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
        let (bits, tags) = split_keywords(keywords);
        let date = internal_date_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        if is_shared(folder) {
            let flags = Flags(flags.0 | bits);
            let (owner, id, uid) = self.shares.append(folder, raw, flags, &tags, date).await?;
            self.indexer.notify(owner);
            return Ok(AppendedMessage { id, uid });
        }
        let meta = self
            .mailbox
            .append_tagged(folder, raw, Flags(flags.0 | bits), &tags, date)
            .await
            .map_err(backend_error)?;
        self.indexer.notify(self.mailbox.account());
        self.publish_change();
        Ok(AppendedMessage {
            id: meta.id,
            uid: meta.imap_uid,
        })
    }

    async fn copy(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        if is_shared(folder) || ids.iter().any(|i| is_shared(*i)) {
            return self.copy_across(ids, folder).await;
        }
        let copies = self
            .mailbox
            .copy(ids, folder)
            .await
            .map_err(backend_error)?;
        self.indexer.notify(self.mailbox.account());
        self.publish_change();
        Ok(copies.into_iter().map(|m| m.imap_uid).collect())
    }

    async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()> {
        let (theirs, ids): (Vec<ItemId>, Vec<ItemId>) = ids.iter().partition(|i| is_shared(**i));
        if !theirs.is_empty() {
            self.shares.delete_items(&theirs).await?;
        }
        if ids.is_empty() {
            return Ok(());
        }
        let ids = &ids[..];
        self.mailbox
            .delete_items(ids)
            .await
            .map_err(backend_error)?;
        self.publish_change();
        let index = self.index.clone();
        let mailbox = self.mailbox.id();
        let ids = ids.to_vec();
        // Searches are intersected with the folder's current messages, so a stale index
        // entry is never shown; removing it is housekeeping and may lag.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = index.delete(mailbox, &ids).and_then(|_| index.commit()) {
                tracing::warn!(error = %e, "index delete failed");
            }
        });
        Ok(())
    }

    async fn create_folder(&self, parent: ItemId, name: &str) -> BackendResult<FolderInfo> {
        if is_shared(parent) {
            return self.shares.create_folder(parent, name).await;
        }
        self.mailbox
            .create_folder(parent, name)
            .await
            .map(folder_info)
            .map_err(backend_error)
            .inspect(|_| self.publish_change())
    }

    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()> {
        match (is_shared(id), is_shared(new_parent)) {
            // A mountpoint is this account's own item: it moves among its folders.
            (true, false) if self.shares.mount_link(id).is_some() => {
                self.shares
                    .rename_mount(id, &self.mailbox, new_parent, name)
                    .await?;
                self.publish_change();
                return Ok(());
            }
            (true, true) => return self.shares.rename_folder(id, new_parent, name).await,
            // A folder never moves between mailboxes.
            (true, false) | (false, true) => return Err(BackendError::PermissionDenied),
            (false, false) => {}
        }
        self.mailbox
            .rename_folder(id, new_parent, name)
            .await
            .map(|_| self.publish_change())
            .map_err(backend_error)
    }

    fn is_mountpoint(&self, folder: ItemId) -> bool {
        is_shared(folder) && self.shares.mount_link(folder).is_some()
    }

    async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
        if is_shared(id) && self.shares.mount_link(id).is_some() {
            self.shares.delete_mount(id, &self.mailbox).await?;
            self.publish_change();
            return Ok(());
        }
        if is_shared(id) {
            return self.shares.delete_folder(id).await;
        }
        self.mailbox
            .delete_folder(id)
            .await
            .map_err(backend_error)?;
        self.publish_change();
        Ok(())
    }

    async fn subscriptions(&self) -> BackendResult<Option<Vec<String>>> {
        let key = self.mailbox.account().to_string();
        Ok(Some(self.subscriptions.list(&key)))
    }

    async fn set_subscribed(&self, name: &str, on: bool) -> BackendResult<()> {
        let key = self.mailbox.account().to_string();
        self.subscriptions.set(&key, name, on).map_err(|e| {
            tracing::warn!(account = %self.name, error = %e, "subscription not saved");
            BackendError::Other("subscription not saved".into())
        })
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        Some(ChangeBus::global().subscribe(self.mailbox.account()))
    }

    fn changes_announced(&self, folder: ItemId) -> bool {
        // Every front end publishes this account's changes (`crate::notify`); a shared
        // folder's changes go to its owner's bus instead.
        !is_shared(folder)
    }

    fn open_sessions(&self) -> usize {
        ChangeBus::global().listeners(self.mailbox.account())
    }

    fn publish_change(&self) {
        crate::notify::publish(self.mailbox.account());
    }

    /// `zimbraMailQuota` (read at login) and the store's current usage.
    async fn quota(&self) -> BackendResult<Option<(u64, u64)>> {
        let limit = self.mailbox.quota();
        if limit == 0 {
            return Ok(None);
        }
        let used = self.mailbox.quota_usage().await.map_err(backend_error)?;
        Ok(Some((used, limit)))
    }

    /// The messages the index holds that may contain `needle` (all of them sure when
    /// the plan is exact), plus every message the indexer has not reached yet.
    ///
    /// LIMITATION: shared folders are not narrowed (their messages are read).
    async fn substring_candidates(
        &self,
        folder: ItemId,
        field: SubstringField,
        needle: &str,
    ) -> BackendResult<Option<Candidates>> {
        self.narrow_substring(folder, field, needle).await
    }

    /// From the store's flag listing (a covering index), not whole rows.
    async fn message_uids(&self, folder: ItemId) -> BackendResult<Vec<u32>> {
        if is_shared(folder) {
            let mut uids: Vec<u32> = self.messages(folder).await?.iter().map(|m| m.uid).collect();
            uids.sort_unstable();
            return Ok(uids);
        }
        let flags = self
            .mailbox
            .message_flags(folder)
            .await
            .map_err(backend_error)?;
        Ok(flags.into_iter().map(|f| f.imap_uid).collect())
    }

    async fn search_text(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        self.index_text(folder, query, field).await
    }

    async fn move_items(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        if is_shared(folder) || ids.iter().any(|i| is_shared(*i)) {
            let uids = self.copy_across(ids, folder).await?;
            self.delete_items(ids).await?;
            return Ok(uids);
        }
        // The store keeps each message's item id and gives it the next UID in `folder`.
        let moved = self
            .mailbox
            .move_items(ids, folder)
            .await
            .map_err(backend_error)?;
        self.publish_change();
        Ok(moved.into_iter().map(|m| m.imap_uid).collect())
    }

    async fn messages_changed_since(
        &self,
        folder: ItemId,
        modseq: u64,
    ) -> BackendResult<Vec<MessageInfo>> {
        let since = i64::try_from(modseq).unwrap_or(i64::MAX);
        if is_shared(folder) {
            return self.shares.messages(folder, Some(since)).await;
        }
        let msgs = self
            .mailbox
            .messages_changed_since(folder, since)
            .await
            .map_err(backend_error)?;
        Ok(msgs.into_iter().map(message_info).collect())
    }

    async fn vanished_since(&self, folder: ItemId, modseq: u64) -> BackendResult<Option<Vec<u32>>> {
        // Every message that left a folder leaves a tombstone with its UID there.
        let since = i64::try_from(modseq).unwrap_or(i64::MAX);
        if is_shared(folder) {
            return self.shares.vanished_since(folder, since).await.map(Some);
        }
        let gone = self
            .mailbox
            .tombstones_since(since)
            .await
            .map_err(backend_error)?;
        Ok(Some(
            gone.into_iter()
                .filter(|t| !t.is_folder && t.folder == folder)
                .map(|t| t.imap_uid)
                .collect(),
        ))
    }

    /// The account still exists, is `active` (or only locked out of password logins,
    /// `lockout`) and still has IMAP (`zimbraImapEnabled`, `zimbraPrefImapEnabled`);
    /// a directory that cannot answer does not end sessions.
    async fn still_allowed(&self) -> bool {
        session_still_allowed(
            &self.prov,
            self.mailbox.account(),
            &self.name,
            &["zimbraImapEnabled", "zimbraPrefImapEnabled"],
        )
        .await
    }

    async fn my_rights(&self, folder: ItemId) -> BackendResult<Rights> {
        if is_shared(folder) {
            return Ok(self.shares.my_rights(folder).await);
        }
        Ok(Rights::all())
    }

    async fn folder_acl(&self, folder: ItemId) -> BackendResult<Vec<(String, Rights)>> {
        let (mailbox, folder) = self.administered(folder).await?;
        let grants = mailbox.grants(folder).await.map_err(backend_error)?;
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            let who = match g.grantee_type {
                GranteeType::All => "anyone".to_string(),
                GranteeType::User => match self.prov.find_account(&g.grantee).await {
                    Ok(Some(entry)) => entry.name,
                    _ => format!("usr:{}", g.grantee),
                },
                other => format!("{}:{}", other.as_str(), g.grantee),
            };
            out.push((who, g.rights));
        }
        Ok(out)
    }

    async fn set_folder_acl(
        &self,
        folder: ItemId,
        identifier: &str,
        rights: Rights,
    ) -> BackendResult<()> {
        let (mailbox, folder) = self.administered(folder).await?;
        let (kind, grantee) = if identifier.eq_ignore_ascii_case("anyone") {
            (GranteeType::All, String::new())
        } else {
            match self.prov.find_account(identifier).await {
                Ok(Some(entry)) if entry.id != mailbox.account() => {
                    (GranteeType::User, entry.id.to_string())
                }
                Ok(_) => return Err(BackendError::NotFound),
                Err(e) => return Err(BackendError::Unavailable(e.to_string())),
            }
        };
        mailbox
            .grant(folder, kind, &grantee, rights, "")
            .await
            .map_err(backend_error)?;
        crate::notify::publish(mailbox.account());
        Ok(())
    }
}

impl StoreImapSession {
    /// The mailbox and folder whose grants this account may manage: its own folders,
    /// or a shared one it holds the administer right on.
    async fn administered(&self, folder: ItemId) -> BackendResult<(Mailbox, ItemId)> {
        if is_shared(folder) {
            return self.shares.administered(folder).await;
        }
        self.mailbox.folder(folder).await.map_err(backend_error)?;
        Ok((self.mailbox.clone(), folder))
    }

    /// COPY (and MOVE) where the source messages or the target folder belong to
    /// another mailbox: each message is read (read right) and appended to the target
    /// (insert right) with its flags and internal date.
    async fn copy_across(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        if !is_shared(folder) {
            self.mailbox.folder(folder).await.map_err(backend_error)?;
        }
        let mut uids = Vec::with_capacity(ids.len());
        for &id in ids {
            let raw = self.read_message(id).await?;
            let (flags, date) = if is_shared(id) {
                self.shares.meta(id).await?
            } else {
                let m = self.mailbox.message(id).await.map_err(backend_error)?;
                (m.flags, m.internal_date_ms)
            };
            let added = self.append(folder, &raw, flags, &[], Some(date)).await?;
            uids.push(added.uid);
        }
        Ok(uids)
    }
}

#[cfg(test)]
mod tests;
