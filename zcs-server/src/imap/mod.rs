//! The IMAP4rev1 front end (RFC 3501) of zcs, with the extensions it advertises:
//! LITERAL+ (RFC 7888), SASL-IR (RFC 4959), ID (RFC 2971), IDLE (RFC 2177), NAMESPACE
//! (RFC 2342), UIDPLUS (RFC 4315), UNSELECT (RFC 3691), CHILDREN (RFC 3348), ENABLE
//! (RFC 5161), MOVE (RFC 6851), SPECIAL-USE (RFC 6154), XLIST, LIST-EXTENDED (RFC 5258),
//! LIST-STATUS (RFC 5819), CONDSTORE and QRESYNC (RFC 7162), ESEARCH (RFC 4731), WITHIN
//! (RFC 5032), SEARCHRES (RFC 5182), SORT, THREAD=ORDEREDSUBJECT and THREAD=REFERENCES
//! (RFC 5256), ESORT (RFC 5267), SORT=DISPLAY (RFC 5957), I18NLEVEL=1 (RFC 5255),
//! MULTIAPPEND (RFC 3502), CATENATE (RFC 4469), BINARY (RFC 3516), UTF8=ACCEPT
//! (RFC 6855), QUOTA (RFC 9208), ACL and RIGHTS=ektx (RFC 4314), COMPRESS=DEFLATE
//! (RFC 4978), STARTTLS with LOGINDISABLED (RFC 3501 §6.2.1) and AUTH=PLAIN (RFC 4616).
//! Folders other accounts share appear under the Other Users namespace `/home/<owner>/`
//! (RFC 2342, as Zimbra names it) and at the account's mountpoints.
//!
//! This module is in charge of the wire protocol only: framing, parsing, the per
//! connection state machine and the rendering of ENVELOPE/BODYSTRUCTURE/sections from the
//! raw message. It never touches the store, index or directory itself: everything it
//! needs goes through [`ImapBackend`] and [`ImapSession`], which the integrator
//! implements. TLS is either in front of it (implicit TLS on 993 via
//! [`serve_connection`]) or pushed under a running session by STARTTLS with
//! [`ImapConfig::starttls`].
//!
//! Known gaps, each marked `LIMITATION` where it lives:
//! - `\Recent` bookkeeping is in memory, per listener;
//! - DELETE of a folder with subfolders and RENAME of INBOX are refused;
//! - AUTHENTICATE PLAIN does not do proxy authorisation;
//! - ENVELOPE, BODYSTRUCTURE, SORT/THREAD fields and header SEARCH keys come from a
//!   per-listener summary cache (`cache`), bounded and first-in first-out; a message
//!   not in it (or of a backend without content keys) is read and parsed again;
//! - STORE UNCHANGEDSINCE tests and changes in two backend calls (not atomic);
//! - ACL identifiers are account names and `anyone` (group and domain grants are
//!   shown as `grp:<id>`/`dom:<name>` and cannot be set over IMAP);
//! - CATENATE `;SECTION=` takes part numbers with HEADER, TEXT or MIME, not
//!   HEADER.FIELDS or `;PARTIAL=`; MULTIAPPEND undoes a partial append by deleting
//!   what was added.

pub mod backend;
mod cache;
mod compress;
mod datetime;
mod mime;
mod parser;
mod reader;
mod response;
mod sequence;
mod server;
mod session;
pub(crate) mod stream;
pub mod subscriptions;
pub mod utf7;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use backend::{
    AppendedMessage, AuthError, BackendError, BackendResult, Candidates, ContentKey, FolderInfo,
    ImapBackend, ImapSession, MessageInfo, SubstringField, TextField,
};
pub use server::{serve, serve_connection};

/// Settings of the IMAP listener. [`ImapConfig::default`] gives the values zcs ships
/// with; every field can be changed before calling [`serve`].
#[derive(Clone)]
pub struct ImapConfig {
    /// Offers STARTTLS (RFC 3501 §6.2.1) with this acceptor; `None` on an implicit-TLS
    /// port or when the server has no certificate.
    pub starttls: Option<tokio_rustls::TlsAcceptor>,
    /// Whether LOGIN and AUTHENTICATE PLAIN work before TLS
    /// (`zimbraImapCleartextLoginEnabled`, FALSE in Zimbra). Must be true on an
    /// implicit-TLS port; when false, the capability list says LOGINDISABLED until
    /// STARTTLS succeeds.
    pub cleartext_login: bool,
    /// When set, replaces `cleartext_login` with a flag the caller keeps current (the
    /// server refreshes it from `zimbraImapCleartextLoginEnabled` while running), so
    /// `zmprov mcf`/`ms` applies to new connections without a restart.
    pub cleartext_login_live: Option<Arc<AtomicBool>>,
    /// Most sessions one account may hold open on this server at once; further logins
    /// fail with `NO [LIMIT]`. 0: no limit.
    pub max_sessions_per_account: usize,
    /// The host name shown in the BYE line that answers LOGOUT.
    pub hostname: String,
    /// Longest command line accepted, literals excluded (RFC 7162 §4 recommends at
    /// least 8 KiB). A longer line gets `* BAD` and the connection is closed.
    pub max_line: usize,
    /// Largest literal accepted in APPEND (bytes); larger ones get `NO [TOOBIG]`
    /// without being buffered. Literals of other commands are capped at `max_line`.
    pub max_literal: u64,
    /// Inactivity after which the client is logged out with `* BYE` (RFC 3501 §5.4
    /// asks for at least 30 minutes).
    pub idle_timeout: Duration,
    /// Inactivity after which a client that has not logged in is dropped with `* BYE`
    /// (Zimbra's `imap_max_idle_time`, 60 seconds), so idle unauthenticated
    /// connections cannot hold the listener's slots. Never longer than `idle_timeout`.
    pub login_timeout: Duration,
    /// How often an IDLE-ing connection asks the backend whether its folder changed
    /// when no change notification woke it (a safety net: changes published on
    /// `crate::notify` wake it at once).
    pub idle_poll_interval: Duration,
    /// How often a logged-in session checks that its account still exists and is
    /// active ([`ImapSession::still_allowed`]); a deleted or locked account's
    /// sessions end with `* BYE` at their next command or IDLE poll after that.
    pub account_check_interval: Duration,
    /// Protocol errors (tagged or untagged BAD) tolerated before the connection is
    /// closed.
    pub max_bad_commands: u32,
    /// Failed LOGIN/AUTHENTICATE attempts tolerated on one connection before it is
    /// closed.
    pub max_auth_failures: u32,
    /// Pause before answering a failed authentication, to slow password guessing.
    pub auth_failure_delay: Duration,
    /// Connections served at once (`zimbraImapMaxConnections`); further clients get
    /// `* BYE` straight away.
    pub max_connections: usize,
    /// Connections one client address may hold at once
    /// (`zcs_imap_max_connections_per_ip`); further ones get `* BYE`. 0: no cap.
    pub max_connections_per_ip: usize,
    /// How long [`serve`] waits for open connections to finish after shutdown.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("hostname", &self.hostname)
            .field("starttls", &self.starttls.is_some())
            .field("cleartext_login", &self.cleartext_login)
            .field("max_line", &self.max_line)
            .field("max_literal", &self.max_literal)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("login_timeout", &self.login_timeout)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// Whether cleartext login is allowed right now: the live flag when there is one,
    /// else `cleartext_login`.
    pub fn cleartext_login_now(&self) -> bool {
        match &self.cleartext_login_live {
            Some(flag) => flag.load(Ordering::Relaxed),
            None => self.cleartext_login,
        }
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            starttls: None,
            cleartext_login: true,
            cleartext_login_live: None,
            max_sessions_per_account: 100,
            hostname: "localhost".to_string(),
            max_line: 64 * 1024,
            max_literal: 50 * 1024 * 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(60),
            idle_poll_interval: Duration::from_secs(1),
            account_check_interval: Duration::from_secs(30),
            max_bad_commands: 10,
            max_auth_failures: 3,
            auth_failure_delay: Duration::from_secs(1),
            max_connections: 1000,
            max_connections_per_ip: 50,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}
