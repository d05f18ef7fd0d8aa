//! The IMAP front end's backend: `imap::ImapBackend` implemented on the directory (who
//! may log in), the store (the account's own mailbox, nothing else) and the index
//! (`SEARCH TEXT` and `BODY`).
//!
//! Every operation goes through the logged-in account's `Mailbox`, whose queries are
//! scoped to that mailbox, so an id from another account is simply not found.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Flags, ItemId};
use zcs_directory::Provisioning;
use zcs_index::IndexBackend;
use zcs_index::query::{Query, TextField as IndexField};
use zcs_store::{Folder, Mailbox, MessageMeta, Store, StoreError};

use crate::imap::backend::{
    AppendedMessage, AuthError, BackendError, BackendResult, FolderInfo, ImapBackend, ImapSession,
    MessageInfo, TextField,
};
use crate::imap::subscriptions::Subscriptions;
use crate::indexer::Indexer;
use crate::login::{LoginRefusal, protocol_login};
use crate::notify::ChangeBus;

/// Most index hits one IMAP text search considers.
const SEARCH_LIMIT: usize = 1_000_000;

/// IMAP keywords that name a Zimbra flag rather than a tag (`$Forwarded` is mapped by
/// the protocol layer already; Zimbra shows its \Notified flag as `$MDNSent`,
/// RFC 3503 §3.1).
const KEYWORD_FLAGS: &[(&str, u32)] = &[
    ("$Forwarded", Flags::FORWARDED),
    ("$MDNSent", Flags::NOTIFIED),
];

/// Splits IMAP keywords into the flag bits they name and the tag names they are.
fn split_keywords(keywords: &[String]) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut tags = Vec::new();
    for k in keywords {
        match KEYWORD_FLAGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
        {
            Some((_, bit)) => bits |= bit,
            None => tags.push(k.clone()),
        }
    }
    (bits, tags)
}

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
        Ok(Arc::new(StoreImapSession {
            name: account.name,
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
    mailbox: Mailbox,
    index: Arc<dyn IndexBackend>,
    indexer: Indexer,
    subscriptions: Arc<Subscriptions>,
}

fn backend_error(e: StoreError) -> BackendError {
    match e {
        StoreError::NoSuchFolder(_) | StoreError::NoSuchMessage(_) | StoreError::NoSuchTag(_) => {
            BackendError::NotFound
        }
        StoreError::QuotaExceeded { .. } => BackendError::QuotaExceeded,
        StoreError::NoSuchMailbox(_) => BackendError::NotFound,
        StoreError::AlreadyExists { .. } => BackendError::AlreadyExists,
        StoreError::InvalidName { name, reason } => {
            BackendError::InvalidName(format!("{name}: {reason}"))
        }
        StoreError::ImmutableFolder(_) | StoreError::CannotContain { .. } => {
            BackendError::PermissionDenied
        }
        StoreError::Locked(_) | StoreError::Closed => {
            BackendError::Unavailable("mailbox unavailable".into())
        }
        other => {
            tracing::error!(error = %other, "store failure");
            BackendError::Other("store failure".into())
        }
    }
}

fn folder_info(f: Folder) -> FolderInfo {
    FolderInfo {
        id: f.id,
        parent: f.parent,
        path: f.path,
        view: f.view,
        uid_validity: f.uid_validity,
        uid_next: f.uid_next,
        modseq: f.modseq.max(0) as u64,
        messages: f.messages,
        unread: f.unread,
        size: f.size,
    }
}

/// A message as IMAP sees it: tags are keywords, and the flags that IMAP shows as
/// keywords (other than `$Forwarded`, which the protocol layer shows) come first.
fn message_info(m: MessageMeta) -> MessageInfo {
    let mut keywords: Vec<String> = KEYWORD_FLAGS
        .iter()
        .filter(|(name, bit)| *name != "$Forwarded" && m.flags.contains(*bit))
        .map(|(name, _)| name.to_string())
        .collect();
    keywords.extend(m.tags);
    MessageInfo {
        id: m.id,
        uid: m.imap_uid,
        flags: m.flags,
        keywords,
        internal_date_ms: m.internal_date_ms,
        size: m.size,
        modseq: m.modseq.max(0) as u64,
    }
}

#[async_trait]
impl ImapSession for StoreImapSession {
    fn account_name(&self) -> &str {
        &self.name
    }

    async fn list_folders(&self) -> BackendResult<Vec<FolderInfo>> {
        let folders = self.mailbox.folders().await.map_err(backend_error)?;
        Ok(folders.into_iter().map(folder_info).collect())
    }

    async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>> {
        match self.mailbox.folder(id).await {
            Ok(f) => Ok(Some(folder_info(f))),
            Err(StoreError::NoSuchFolder(_)) => Ok(None),
            Err(e) => Err(backend_error(e)),
        }
    }

    async fn messages(&self, folder: ItemId) -> BackendResult<Vec<MessageInfo>> {
        let msgs = self.mailbox.messages(folder).await.map_err(backend_error)?;
        Ok(msgs.into_iter().map(message_info).collect())
    }

    async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>> {
        self.mailbox.read_message(id).await.map_err(backend_error)
    }

    async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()> {
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

    /// Keywords are tags, created on first use as Zimbra does; `$MDNSent` is the
    /// \Notified flag.
    async fn set_keywords(
        &self,
        ids: &[ItemId],
        keywords: &[String],
        on: bool,
    ) -> BackendResult<()> {
        let (bits, tags) = split_keywords(keywords);
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
        self.mailbox
            .create_folder(parent, name)
            .await
            .map(folder_info)
            .map_err(backend_error)
            .inspect(|_| self.publish_change())
    }

    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()> {
        self.mailbox
            .rename_folder(id, new_parent, name)
            .await
            .map(|_| self.publish_change())
            .map_err(backend_error)
    }

    async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
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

    async fn search_text(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>> {
        let field = match field {
            TextField::Text => IndexField::Default,
            TextField::Body => IndexField::Content,
        };
        let q = Query::Term {
            field,
            value: query.to_string(),
            phrase: query.contains(char::is_whitespace),
            wildcard: false,
        };
        let index = self.index.clone();
        let mailbox = self.mailbox.id();
        let hits = tokio::task::spawn_blocking(move || index.search(mailbox, &q, SEARCH_LIMIT))
            .await
            .map_err(|e| BackendError::Other(format!("search task: {e}")))?
            .map_err(|e| {
                tracing::warn!(error = %e, "index search failed");
                BackendError::Other("search failed".into())
            })?;
        let in_folder: HashSet<ItemId> = self
            .mailbox
            .messages(folder)
            .await
            .map_err(backend_error)?
            .into_iter()
            .map(|m| m.id)
            .collect();
        Ok(hits
            .into_iter()
            .filter(|id| in_folder.contains(id))
            .collect())
    }

    async fn move_items(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_split_into_flags_and_tags() {
        let kw = ["$MDNSent".to_string(), "Work".into(), "$forwarded".into()];
        let (bits, tags) = split_keywords(&kw);
        assert_eq!(bits, Flags::NOTIFIED | Flags::FORWARDED);
        assert_eq!(tags, vec!["Work".to_string()]);
    }

    #[test]
    fn notified_shows_as_mdnsent() {
        let m = MessageMeta {
            id: ItemId(257),
            folder: ItemId(2),
            imap_uid: 257,
            flags: Flags(Flags::NOTIFIED | Flags::FORWARDED),
            tags: vec!["Work".into()],
            internal_date_ms: 0,
            size: 1,
            modseq: 1,
            blob_digest: String::new(),
            subject: String::new(),
            sender: String::new(),
            recipients: String::new(),
            message_id: None,
            conv: ItemId(-257),
        };
        assert_eq!(message_info(m).keywords, vec!["$MDNSent", "Work"]);
    }

    async fn session() -> (StoreImapSession, Arc<Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            Store::open(zcs_store::StoreConfig::under(dir.path()))
                .await
                .expect("open store"),
        );
        let index: Arc<dyn IndexBackend> =
            Arc::new(zcs_index::TantivyIndex::open(&dir.path().join("index")).expect("index"));
        let (indexer, _task) = Indexer::start(store.clone(), index.clone());
        let mailbox = store
            .mailbox(zcs_core::ZimbraId::new())
            .await
            .expect("mailbox");
        let s = StoreImapSession {
            name: "u@example.com".into(),
            mailbox,
            index,
            indexer,
            subscriptions: Arc::new(Subscriptions::new(None)),
        };
        (s, store, dir)
    }

    #[tokio::test]
    async fn keywords_are_kept_as_tags() {
        let (s, _store, _dir) = session().await;
        assert!(s.supports_keywords());
        let inbox = ItemId(zcs_core::folder::INBOX);
        let raw = b"Subject: k\r\n\r\nbody\r\n";
        let kw = vec!["Work".to_string(), "$MDNSent".into()];
        let a = s.append(inbox, raw, Flags(0), &kw, None).await.unwrap();
        let msgs = s.messages(inbox).await.unwrap();
        assert_eq!(msgs[0].keywords, vec!["$MDNSent", "Work"]);
        assert!(msgs[0].flags.contains(Flags::NOTIFIED));

        s.set_keywords(&[a.id], &["work".into(), "Later".into()], true)
            .await
            .unwrap();
        assert_eq!(
            s.messages(inbox).await.unwrap()[0].keywords,
            vec!["$MDNSent", "Work", "Later"]
        );
        s.set_keywords(&[a.id], &["WORK".into(), "$MDNSent".into()], false)
            .await
            .unwrap();
        let m = &s.messages(inbox).await.unwrap()[0];
        assert_eq!(m.keywords, vec!["Later"]);
        assert!(!m.flags.contains(Flags::NOTIFIED));
        let tags = s.mailbox.tags().await.unwrap();
        assert_eq!(tags.len(), 2, "tags stay defined after untagging");
    }

    #[tokio::test]
    async fn append_and_copy_over_quota_say_so() {
        let (mut s, _store, _dir) = session().await;
        let inbox = ItemId(zcs_core::folder::INBOX);
        let raw = b"Subject: q\r\n\r\nbody\r\n";
        s.mailbox = s.mailbox.with_quota(raw.len() as u64);
        let a = s.append(inbox, raw, Flags(0), &[], None).await.unwrap();
        let err = s.append(inbox, raw, Flags(0), &[], None).await.unwrap_err();
        assert!(matches!(err, BackendError::QuotaExceeded), "{err}");
        let err = s.copy(&[a.id], inbox).await.unwrap_err();
        assert!(matches!(err, BackendError::QuotaExceeded), "{err}");
    }

    #[tokio::test]
    async fn move_changes_and_vanished_come_from_the_store() {
        let (s, _store, _dir) = session().await;
        let inbox = ItemId(zcs_core::folder::INBOX);
        let trash = ItemId(zcs_core::folder::TRASH);
        let mut ids = Vec::new();
        for i in 0..3 {
            let raw = format!("Subject: m{i}\r\n\r\nbody\r\n");
            let added = s
                .append(inbox, raw.as_bytes(), Flags(Flags::UNREAD), &[], None)
                .await
                .expect("append");
            ids.push(added);
        }
        let before = s
            .folder(inbox)
            .await
            .expect("folder")
            .expect("inbox")
            .modseq;
        let new_uids = s.move_items(&[ids[1].id], trash).await.expect("move");
        assert_eq!(new_uids.len(), 1);
        assert!(new_uids[0] > ids[2].uid);
        s.set_flags(&[ids[2].id], Flags::FLAGGED, true)
            .await
            .expect("flag");
        let gone = s.vanished_since(inbox, before).await.expect("vanished");
        assert_eq!(gone, Some(vec![ids[1].uid]));
        let changed = s
            .messages_changed_since(inbox, before)
            .await
            .expect("changed");
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].uid, ids[2].uid);
        assert!(changed[0].modseq > before);
        let in_trash = s.messages(trash).await.expect("trash");
        assert_eq!(in_trash.len(), 1);
        assert_eq!(in_trash[0].uid, new_uids[0]);
        assert!(
            s.vanished_since(inbox, u64::MAX)
                .await
                .expect("none")
                .is_some_and(|v| v.is_empty())
        );
    }
}
