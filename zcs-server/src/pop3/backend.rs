//! The seam between the POP3 protocol layer and the rest of zcs.
//!
//! [`Pop3Backend`] checks a user's password and hands back a [`Pop3Maildrop`]: the one
//! account's POP3 view (the Inbox, filtered by the account's POP3 preferences). The
//! protocol layer numbers the messages, keeps the deletion marks and calls
//! [`Pop3Maildrop::delete`] only when a session reaches the UPDATE state (RFC 1939 §6).

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::ItemId;

/// What a maildrop call can fail with. Texts are never shown to the client; the
/// variant picks the response code (RFC 2449 §8, RFC 3206).
#[derive(Debug, thiserror::Error)]
pub enum Pop3Error {
    /// The message is not (any more) in the maildrop, or not the account's.
    #[error("no such message")]
    NotFound,
    /// The mailbox cannot be reached right now (`[SYS/TEMP]`).
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else (`[SYS/PERM]`); the text is logged only.
    #[error("{0}")]
    Other(String),
}

/// Result of a maildrop call.
pub type Pop3Result<T> = Result<T, Pop3Error>;

/// Why authentication failed. [`Pop3AuthError::Failed`] is answered the same way for
/// every cause (`-ERR [AUTH]`), so a client cannot tell an unknown account from a wrong
/// password or an account without POP3.
#[derive(Debug, thiserror::Error)]
pub enum Pop3AuthError {
    /// Unknown account, wrong password, locked or closed account, POP3 disabled.
    #[error("authentication failed")]
    Failed,
    /// The directory or the mailbox cannot be reached right now (`-ERR [SYS/TEMP]`).
    #[error("authentication temporarily unavailable: {0}")]
    Unavailable(String),
}

/// One message of the maildrop as POP3 lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pop3Message {
    /// The store's item id; passed back to [`Pop3Maildrop::read`] and
    /// [`Pop3Maildrop::delete`].
    pub id: ItemId,
    /// Size in octets. Contract: the length of what [`Pop3Maildrop::read`] returns
    /// (before dot-stuffing).
    pub size: u64,
    /// The UIDL unique-id (RFC 1939 §7): 1 to 70 characters in 0x21..=0x7E, the same
    /// for the same message in every session, never reused for another message of the
    /// maildrop. The protocol layer replaces a value breaking these rules by the item id.
    pub uid: String,
}

/// Authenticates users. One value serves every connection of a listener.
#[async_trait]
pub trait Pop3Backend: Send + Sync {
    /// Checks `user`'s `password` (USER/PASS, or AUTH PLAIN with an empty or equal
    /// authorisation id) and opens the account's maildrop. `remote_ip` is for lockout
    /// policy and audit logs. Implementations refuse accounts that may not use POP3
    /// with [`Pop3AuthError::Failed`]. The password must never be logged.
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        remote_ip: IpAddr,
    ) -> Result<Arc<dyn Pop3Maildrop>, Pop3AuthError>;

    /// Whether `peer` is a proxy allowed to name the originating client with `XOIP`.
    /// Loopback only unless the backend knows better (the server's backend reads
    /// `zimbraMailTrustedIP`).
    async fn proxy_trusted(&self, peer: IpAddr) -> bool {
        peer.to_canonical().is_loopback()
    }
}

/// One authenticated account's maildrop. Every id passed in came from
/// [`Pop3Maildrop::messages`] of this value, but implementations still answer
/// [`Pop3Error::NotFound`] for anything that is not the account's.
#[async_trait]
pub trait Pop3Maildrop: Send + Sync {
    /// A stable key naming the account (its zimbraId), the same whatever name or alias
    /// was used to log in: the protocol layer allows one session per key (RFC 1939 §8,
    /// the exclusive-access lock).
    fn account_key(&self) -> &str;

    /// The account's name, for logs.
    fn account_name(&self) -> &str;

    /// The messages POP3 shows, oldest first. Called once, when the session enters the
    /// TRANSACTION state; the list stays fixed for the session (RFC 1939 §5).
    async fn messages(&self) -> Pop3Result<Vec<Pop3Message>>;

    /// The exact stored bytes of one message.
    async fn read(&self, id: ItemId) -> Pop3Result<Vec<u8>>;

    /// Removes the messages marked with DELE (what "remove" means is the account's
    /// `zimbraPrefPop3DeleteOption`). Called once, in the UPDATE state after QUIT, never
    /// after a dropped connection. Ids already gone are ignored.
    async fn delete(&self, ids: &[ItemId]) -> Pop3Result<()>;

    /// Whether the account may still use POP3: it exists, is neither locked, closed
    /// nor in maintenance, and POP3 is still enabled for it (`zimbraPop3Enabled`,
    /// `zimbraPrefPop3Enabled`). A logged-in session asks now and then
    /// ([`crate::pop3::Pop3Config::account_check_interval`]) and before QUIT; when it
    /// may not, the command is refused with `-ERR [SYS/PERM]` and the connection closed
    /// without entering UPDATE, so no deletion is applied. Default: true.
    async fn still_allowed(&self) -> bool {
        true
    }
}
