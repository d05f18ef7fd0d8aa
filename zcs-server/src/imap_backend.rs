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
use zcs_core::{FaultCode, Flags, ItemId};
use zcs_directory::{AuthContext, Provisioning};
use zcs_index::IndexBackend;
use zcs_index::query::{Query, TextField as IndexField};
use zcs_store::{Folder, Mailbox, MessageMeta, Store, StoreError};

use crate::imap::backend::{
    AppendedMessage, AuthError, BackendError, BackendResult, FolderInfo, ImapBackend, ImapSession,
    MessageInfo, TextField,
};
use crate::indexer::Indexer;

/// Most index hits one IMAP text search considers.
const SEARCH_LIMIT: usize = 1_000_000;

/// Authenticates IMAP users against the directory and opens their mailboxes.
pub struct StoreImapBackend {
    prov: Arc<Provisioning>,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
    indexer: Indexer,
}

impl StoreImapBackend {
    /// A backend over these subsystems; `indexer` is told about appended messages.
    pub fn new(
        prov: Arc<Provisioning>,
        store: Arc<Store>,
        index: Arc<dyn IndexBackend>,
        indexer: Indexer,
    ) -> Self {
        StoreImapBackend {
            prov,
            store,
            index,
            indexer,
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
        let ctx = AuthContext {
            protocol: "imap".into(),
            remote_ip: Some(remote_ip),
        };
        let account = match self.prov.authenticate(user, password, &ctx).await {
            Ok(a) => a,
            Err(e) if e.code == FaultCode::Failure => {
                return Err(AuthError::Unavailable("directory unavailable".into()));
            }
            Err(_) => return Err(AuthError::Failed),
        };
        // zimbraImapEnabled (the COS feature) and zimbraPrefImapEnabled (the user's
        // choice) must both allow IMAP; the client sees an ordinary login failure.
        let effective = self
            .prov
            .effective_account_attrs(&account)
            .await
            .map_err(|e| {
                tracing::error!(account = %account.name, error = %e, "read account failed");
                AuthError::Unavailable("directory unavailable".into())
            })?;
        for attr in ["zimbraImapEnabled", "zimbraPrefImapEnabled"] {
            if effective
                .get(attr)
                .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
            {
                tracing::info!(account = %account.name, ip = %remote_ip, attr,
                    "imap login refused: imap disabled");
                return Err(AuthError::Failed);
            }
        }
        let mailbox = self.store.mailbox(account.id).await.map_err(|e| {
            tracing::error!(account = %account.name, error = %e, "open mailbox failed");
            AuthError::Unavailable("mailbox unavailable".into())
        })?;
        tracing::info!(account = %account.name, ip = %remote_ip, proto = "imap", "login");
        Ok(Arc::new(StoreImapSession {
            name: account.name,
            mailbox,
            index: self.index.clone(),
            indexer: self.indexer.clone(),
        }))
    }
}

/// One logged-in account's mailbox as IMAP sees it.
struct StoreImapSession {
    name: String,
    mailbox: Mailbox,
    index: Arc<dyn IndexBackend>,
    indexer: Indexer,
}

fn backend_error(e: StoreError) -> BackendError {
    match e {
        StoreError::NoSuchFolder(_) | StoreError::NoSuchMessage(_) => BackendError::NotFound,
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

fn message_info(m: MessageMeta) -> MessageInfo {
    MessageInfo {
        id: m.id,
        uid: m.imap_uid,
        flags: m.flags,
        keywords: m.tags,
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
            .map(|_| ())
            .map_err(backend_error)
    }

    async fn append(
        &self,
        folder: ItemId,
        raw: &[u8],
        flags: Flags,
        keywords: &[String],
        internal_date_ms: Option<i64>,
    ) -> BackendResult<AppendedMessage> {
        // LIMITATION: the store has no tags yet (issue 4); `supports_keywords` stays
        // false, so IMAP announces keywords as session-only and they are not kept.
        let _ = keywords;
        let date = internal_date_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let meta = self
            .mailbox
            .append(folder, raw, flags, date)
            .await
            .map_err(backend_error)?;
        self.indexer.notify(self.mailbox.account());
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
        Ok(copies.into_iter().map(|m| m.imap_uid).collect())
    }

    async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()> {
        self.mailbox
            .delete_items(ids)
            .await
            .map_err(backend_error)?;
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
    }

    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()> {
        self.mailbox
            .rename_folder(id, new_parent, name)
            .await
            .map(|_| ())
            .map_err(backend_error)
    }

    async fn delete_folder(&self, id: ItemId) -> BackendResult<()> {
        self.mailbox.delete_folder(id).await.map_err(backend_error)
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
        Ok(moved.into_iter().map(|m| m.imap_uid).collect())
    }
}
