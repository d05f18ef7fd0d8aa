//! The seam between the IMAP protocol layer and the rest of zcs.
//!
//! The protocol code calls only these two traits. [`ImapBackend`] authenticates a user and
//! hands back an [`ImapSession`], which acts on that one account's mailbox. The
//! integrator implements both over the store (`zcs-store`'s `Mailbox`), the index and the
//! directory; the shapes follow the store API so each method is a thin adapter. Nothing
//! here knows about IMAP sequence numbers, literals or mailbox name encoding.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Flags, ItemId};

/// What a backend call can fail with. The protocol layer turns each kind into a tagged
/// `NO` with the matching response code (RFC 5530), so the variant matters more than the
/// text. Texts are shown to the client: they must not reveal other accounts' data.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The folder or item does not exist in this account (or is not visible to it).
    #[error("no such folder or message")]
    NotFound,
    /// A folder with that name already exists.
    #[error("already exists")]
    AlreadyExists,
    /// The account may not do this (system folder, read-only share, ...).
    #[error("permission denied")]
    PermissionDenied,
    /// The account's quota (`zimbraMailQuota`) would be exceeded.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The message is larger than the account may store (`zimbraMtaMaxMessageSize`).
    #[error("message too big")]
    TooBig,
    /// A folder name is not acceptable to the store (reserved characters, too long...).
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// The mailbox is temporarily unavailable (maintenance mode, backend down).
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the text is logged and a generic failure is shown.
    #[error("{0}")]
    Other(String),
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// Why authentication failed. Every variant is shown to the client the same way
/// (`NO [AUTHENTICATIONFAILED]`) except [`AuthError::Unavailable`], so a client cannot
/// tell an unknown account from a wrong password.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown account, wrong password, locked or closed account.
    #[error("authentication failed")]
    Failed,
    /// The directory or the account's mailbox cannot be reached right now.
    #[error("authentication temporarily unavailable: {0}")]
    Unavailable(String),
}

/// One folder as the store describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderInfo {
    /// The folder's item id (2 for Inbox, 257+ for user folders).
    pub id: ItemId,
    /// The parent folder's id (1, USER_ROOT, for top-level folders).
    pub parent: ItemId,
    /// The store path: `/Inbox`, `/Inbox/sub`, `/Sent`. Always starts with `/`.
    pub path: String,
    /// Zimbra's default view: `message`, `conversation` or empty for mail folders;
    /// `contact`, `appointment`, `task`, `document`, ... for others. IMAP lists only mail
    /// folders (Zimbra's `zimbraImapDisplayMailFoldersOnly` default).
    pub view: String,
    /// IMAP UIDVALIDITY: changes only if UIDs in the folder are renumbered.
    pub uid_validity: u32,
    /// The UID the next message added to the folder will get.
    pub uid_next: u32,
    /// Highest change number in the folder. Contract: it changes whenever a message is
    /// added to or removed from the folder, or a message in it changes flags or keywords;
    /// the protocol layer skips re-listing the folder while it stays the same.
    pub modseq: u64,
    /// Number of messages in the folder.
    pub messages: u32,
    /// Number of unread messages in the folder.
    pub unread: u32,
    /// Total size of the messages in bytes.
    pub size: u64,
}

/// One message as IMAP needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// The message's item id.
    pub id: ItemId,
    /// Its IMAP UID in its folder (Zimbra's `imap_id`); unique and ascending in the
    /// folder.
    pub uid: u32,
    /// Zimbra flag bits; `\Seen` is the absence of [`Flags::UNREAD`].
    pub flags: Flags,
    /// IMAP keywords other than the system flags (Zimbra shows tags as keywords).
    pub keywords: Vec<String>,
    /// The internal date (arrival time), milliseconds since the Unix epoch.
    pub internal_date_ms: i64,
    /// Size in bytes. Contract: equals the length of [`ImapSession::read_message`].
    pub size: u64,
    /// The change number of the message's last change.
    pub modseq: u64,
}

/// Where APPEND put the message (for UIDPLUS's APPENDUID, RFC 4315 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendedMessage {
    /// The new message's item id.
    pub id: ItemId,
    /// Its UID in the target folder.
    pub uid: u32,
}

/// A name for the content of one message, under which the protocol layer may cache
/// what it derived from the message (header block, MIME structure) across the
/// sessions of a listener. Contract: two equal keys always name byte-identical
/// messages, now and later (the store never rewrites a message in place; a key must
/// never be reused for other content, even after an account is deleted and created
/// again).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentKey {
    /// The mailbox the item lives in, in a form unique on this server (the store
    /// session uses the account id and mailbox id).
    pub scope: Arc<str>,
    /// The item within that mailbox.
    pub item: i64,
}

/// Which part of a message a full-text SEARCH key looks at (RFC 3501 §6.4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// `TEXT`: headers and body.
    Text,
    /// `BODY`: the body only.
    Body,
}

/// The field a substring SEARCH key looks at (RFC 3501 §6.4.4: FROM, TO, CC, SUBJECT,
/// `HEADER` with one of those names, BODY and TEXT match substrings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubstringField {
    /// The From header.
    From,
    /// The To header.
    To,
    /// The Cc header.
    Cc,
    /// The Subject header.
    Subject,
    /// The body.
    Body,
    /// The header and the body.
    Text,
}

/// What an index says about a substring SEARCH key in one folder: every message of the
/// folder whose field contains the string is in `sure` or in `maybe`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Messages that contain the string: no need to read them.
    pub sure: std::collections::HashSet<ItemId>,
    /// Messages that may contain it (the index could not decide, or has not seen them
    /// yet): the protocol layer reads and checks each.
    pub maybe: std::collections::HashSet<ItemId>,
}

impl Candidates {
    /// How many messages are named, sure or not.
    pub fn len(&self) -> usize {
        self.sure.len() + self.maybe.len()
    }

    /// Whether no message can match.
    pub fn is_empty(&self) -> bool {
        self.sure.is_empty() && self.maybe.is_empty()
    }
}

/// Authenticates users. One value serves every connection of a listener.
#[async_trait]
pub trait ImapBackend: Send + Sync {
    /// Checks `user`'s `password` (LOGIN, or AUTHENTICATE PLAIN with an empty or equal
    /// authorisation id) and opens that account's mailbox. `remote_ip` is the client's
    /// address, for lockout policy and audit logs. The password must not be logged.
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        remote_ip: IpAddr,
    ) -> Result<Arc<dyn ImapSession>, AuthError>;

    /// Whether `peer` is a proxy allowed to name the originating client in `ID`
    /// (`X-ORIGINATING-IP`, `X-VIA`). Loopback only unless the backend knows better
    /// (the server's backend reads `zimbraMailTrustedIP`).
    async fn proxy_trusted(&self, peer: IpAddr) -> bool {
        peer.to_canonical().is_loopback()
    }
}

/// One authenticated account's mailbox. Every id passed in was returned by this same
/// session, but implementations must still check that an id belongs to the account and
/// answer [`BackendError::NotFound`] otherwise, never revealing foreign items.
#[async_trait]
pub trait ImapSession: Send + Sync {
    /// The account's name (for logs and the recent-message tracker).
    fn account_name(&self) -> &str;

    /// Every folder of the account, including non-mail ones (the protocol layer filters
    /// on [`FolderInfo::view`]). Order does not matter.
    async fn list_folders(&self) -> BackendResult<Vec<FolderInfo>>;

    /// One folder's current counters (for SELECT, STATUS and change polling). `Ok(None)`
    /// when it does not exist (any more).
    async fn folder(&self, id: ItemId) -> BackendResult<Option<FolderInfo>>;

    /// The messages of a folder, in ascending UID order.
    async fn messages(&self, folder: ItemId) -> BackendResult<Vec<MessageInfo>>;

    /// The messages of a folder whose [`MessageInfo::modseq`] is above `modseq`, in
    /// ascending UID order (CONDSTORE's CHANGEDSINCE, RFC 7162 §3.1.4). The default
    /// filters [`ImapSession::messages`].
    async fn messages_changed_since(
        &self,
        folder: ItemId,
        modseq: u64,
    ) -> BackendResult<Vec<MessageInfo>> {
        let mut all = self.messages(folder).await?;
        all.retain(|m| m.modseq > modseq);
        Ok(all)
    }

    /// The UIDs of the messages that left `folder` (expunged or moved out) with a
    /// change number above `modseq`, for QRESYNC's VANISHED (RFC 7162 §3.2.5).
    /// `Ok(None)` when the backend keeps no such history; the protocol layer then
    /// reports every known UID that is not in the folder, which RFC 7162 §3.2.10
    /// allows. Default: `Ok(None)`.
    async fn vanished_since(
        &self,
        _folder: ItemId,
        _modseq: u64,
    ) -> BackendResult<Option<Vec<u32>>> {
        Ok(None)
    }

    /// The raw RFC 5322 bytes of a message, exactly as stored (CRLF line ends expected).
    async fn read_message(&self, id: ItemId) -> BackendResult<Vec<u8>>;

    /// The [`ContentKey`] of message `id`, or `None` when what is derived from it must
    /// not be cached (the protocol layer then reads the message each time). Default:
    /// `None`.
    fn content_key(&self, _id: ItemId) -> Option<ContentKey> {
        None
    }

    /// Sets (`on`) or clears the flag bits `mask` (Zimbra bits, e.g.
    /// `Flags::FLAGGED | Flags::UNREAD`) on each message. Bits outside `mask` stay.
    async fn set_flags(&self, ids: &[ItemId], mask: u32, on: bool) -> BackendResult<()>;

    /// Whether IMAP keywords (anything but the system flags and `$Forwarded`) can be
    /// stored. When true, PERMANENTFLAGS offers `\*` and STORE/APPEND pass keywords to
    /// [`ImapSession::set_keywords`] / [`ImapSession::append`]; when false they are
    /// accepted for the command but not kept (RFC 3501 §7.1, PERMANENTFLAGS), and
    /// `set_keywords` is never called. Default: false.
    fn supports_keywords(&self) -> bool {
        false
    }

    /// Adds (`on`) or removes IMAP keywords on each message (Zimbra maps them to tags,
    /// creating a tag on first use). Only called when
    /// [`ImapSession::supports_keywords`] is true; the default refuses.
    async fn set_keywords(
        &self,
        _ids: &[ItemId],
        _keywords: &[String],
        _on: bool,
    ) -> BackendResult<()> {
        Err(BackendError::PermissionDenied)
    }

    /// Adds a message to `folder` with the given flags, keywords and internal date (now
    /// when `None`). Errors: `NotFound` for a missing folder, `QuotaExceeded`, `TooBig`.
    async fn append(
        &self,
        folder: ItemId,
        raw: &[u8],
        flags: Flags,
        keywords: &[String],
        internal_date_ms: Option<i64>,
    ) -> BackendResult<AppendedMessage>;

    /// Copies messages into `folder`; returns the new UIDs in the order of `ids`.
    async fn copy(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>>;

    /// Moves messages into `folder` (IMAP MOVE, RFC 6851): each leaves its folder and
    /// gets a new UID in `folder`. Returns the new UIDs in the order of `ids`. The
    /// protocol layer never moves a message into the folder it is in. The default
    /// copies, then deletes the originals, which is not atomic: a backend that can move
    /// should.
    async fn move_items(&self, ids: &[ItemId], folder: ItemId) -> BackendResult<Vec<u32>> {
        let uids = self.copy(ids, folder).await?;
        self.delete_items(ids).await?;
        Ok(uids)
    }

    /// Permanently removes messages (IMAP EXPUNGE; Zimbra moves them to the dumpster
    /// when it is enabled, which IMAP cannot see).
    async fn delete_items(&self, ids: &[ItemId]) -> BackendResult<()>;

    /// Whether `folder` is the root of one of this account's mountpoints (a link to a
    /// folder another account shares). RENAME and DELETE of such a folder rename or
    /// remove the mountpoint, never the owner's folder, so the protocol layer lets
    /// DELETE through even though the shared folder has subfolders. Default: false.
    fn is_mountpoint(&self, _folder: ItemId) -> bool {
        false
    }

    /// Creates a mail folder `name` under `parent`. Errors: `AlreadyExists`,
    /// `InvalidName`, `NotFound` (parent).
    async fn create_folder(&self, parent: ItemId, name: &str) -> BackendResult<FolderInfo>;

    /// Renames and/or moves a folder (its subfolders move with it). For a mountpoint,
    /// the mountpoint is renamed or moved among the account's own folders.
    async fn rename_folder(&self, id: ItemId, new_parent: ItemId, name: &str) -> BackendResult<()>;

    /// Deletes a folder and the messages in it (a mountpoint: the mountpoint only).
    /// The protocol layer never calls it on a system folder or on a folder that has
    /// subfolders, unless it is a mountpoint ([`ImapSession::is_mountpoint`]).
    async fn delete_folder(&self, id: ItemId) -> BackendResult<()>;

    /// A receiver that gets a message whenever this account's mailbox changes, through
    /// any front end (`crate::notify`); IDLE then wakes at once instead of waiting for
    /// its poll. `None` (the default): IDLE polls only.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }

    /// Whether every change to `folder` is announced on [`ImapSession::changes`] (true
    /// for the account's own folders; false for a folder another account shares, whose
    /// changes are published on the owner's bus). IDLE then polls `folder` only as a
    /// rare safety net instead of every `ImapConfig::idle_poll_interval`, so 10,000
    /// idling sessions do not each read the store every second. Default: false.
    fn changes_announced(&self, _folder: ItemId) -> bool {
        false
    }

    /// The IMAP names this account subscribed to (RFC 3501 §6.3.6), or `Ok(None)` when
    /// the backend keeps no subscriptions (every mail folder then counts as
    /// subscribed). Default: `Ok(None)`.
    async fn subscriptions(&self) -> BackendResult<Option<Vec<String>>> {
        Ok(None)
    }

    /// Adds (`on`) or removes `name` (an IMAP name, which need not exist) from the
    /// subscriptions. Default: accepted and forgotten.
    async fn set_subscribed(&self, _name: &str, _on: bool) -> BackendResult<()> {
        Ok(())
    }

    /// How many IMAP sessions of this account are open on this server (those holding
    /// a [`ImapSession::changes`] receiver). Default: 0 (no limit can apply).
    fn open_sessions(&self) -> usize {
        0
    }

    /// Tells other sessions of this account that something changed (the store-backed
    /// session publishes on the change bus after its own mutations). Default: nothing.
    fn publish_change(&self) {}

    /// The account's STORAGE quota (RFC 9208 §5.1) as `(used, limit)` in bytes;
    /// `Ok(None)` when the account has no quota (`zimbraMailQuota` 0). Default: none.
    async fn quota(&self) -> BackendResult<Option<(u64, u64)>> {
        Ok(None)
    }

    /// Whether the account may still use IMAP (it exists and is neither locked,
    /// closed nor in maintenance). Open sessions ask now and then and end with
    /// `* BYE` when it may not. Default: true.
    async fn still_allowed(&self) -> bool {
        true
    }

    /// Zimbra's rights (`r`, `w`, `i`, `d`, `a`, ...) this account holds on `folder`:
    /// every right on its own folders, the grant's rights on a folder another account
    /// shares with it (RFC 4314 MYRIGHTS, and what SELECT/STORE/APPEND may do).
    /// Default: every right.
    async fn my_rights(&self, _folder: ItemId) -> BackendResult<zcs_store::Rights> {
        Ok(zcs_store::Rights::all())
    }

    /// The grants on `folder` as `(identifier, rights)`: identifiers are account names,
    /// `anyone` for a grant to every account, or the store's `<type>:<grantee>` for
    /// other grantee kinds. Needs the administer right (`a`). Default: none.
    async fn folder_acl(&self, _folder: ItemId) -> BackendResult<Vec<(String, zcs_store::Rights)>> {
        Ok(Vec::new())
    }

    /// Sets the rights of `identifier` (an account name or `anyone`) on `folder`;
    /// empty rights revoke its grant (RFC 4314 SETACL/DELETEACL). Needs the administer
    /// right. `NotFound` for an unknown identifier (RFC 4314 §3.1 lets the server
    /// refuse it). Default: refused.
    async fn set_folder_acl(
        &self,
        _folder: ItemId,
        _identifier: &str,
        _rights: zcs_store::Rights,
    ) -> BackendResult<()> {
        Err(BackendError::PermissionDenied)
    }

    /// Narrows a substring SEARCH key (RFC 3501 §6.4.4) on `folder` with an index:
    /// every message whose `field` contains `needle` (case-insensitively) must be in
    /// the answer's `sure` or `maybe` set, so a folder of 100,000 messages is not read
    /// whole. `Ok(None)` when the backend cannot narrow this key; the protocol layer
    /// then reads every message's header (header fields) or calls
    /// [`ImapSession::search_text`] (BODY and TEXT). Default: `Ok(None)`.
    async fn substring_candidates(
        &self,
        _folder: ItemId,
        _field: SubstringField,
        _needle: &str,
    ) -> BackendResult<Option<Candidates>> {
        Ok(None)
    }

    /// The UIDs of the messages now in `folder`, ascending: how the protocol layer
    /// learns which messages left the folder without listing whole rows. Default:
    /// from [`ImapSession::messages`].
    async fn message_uids(&self, folder: ItemId) -> BackendResult<Vec<u32>> {
        let mut uids: Vec<u32> = self.messages(folder).await?.iter().map(|m| m.uid).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Full-text search inside one folder, answered by the index: the ids of the
    /// messages whose text (`TextField::Text`: headers and body; `Body`: body only)
    /// contains `query` (a word or phrase, not a query-language expression).
    async fn search_text(
        &self,
        folder: ItemId,
        query: &str,
        field: TextField,
    ) -> BackendResult<Vec<ItemId>>;
}
