//! The POP3 front end (RFC 1939) of zcs, with CAPA and response codes (RFC 2449,
//! RFC 3206), AUTH PLAIN (RFC 5034, RFC 4616), TOP, UIDL, PIPELINING and STLS
//! (RFC 2595).
//!
//! This module is in charge of the wire protocol only: framing, parsing, the per
//! connection state machine with its deletion marks, the maildrop lock and dot-stuffing.
//! What the maildrop holds and what deleting means come from [`Pop3Backend`] and
//! [`Pop3Maildrop`] (zcs's implementation is `crate::pop3_backend`: the Inbox, with the
//! account's POP3 settings). TLS is either in front of it ([`serve_connection`] on 995)
//! or pushed under a running session by STLS with [`Pop3Config::starttls`].
//!
//! Known gaps, each marked `LIMITATION` where it lives:
//! - no APOP;
//! - AUTH PLAIN does not do proxy authorisation;
//! - no EXPIRE or LOGIN-DELAY capability (nothing is expired, logins are not throttled
//!   beyond [`Pop3Config::auth_failure_delay`]).

mod backend;
mod command;
mod io;
mod lock;
mod server;
mod session;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use backend::{Pop3AuthError, Pop3Backend, Pop3Error, Pop3Maildrop, Pop3Message, Pop3Result};
pub use command::{Command, ParseError, parse_command};
pub use lock::{MaildropGuard, MaildropLocks};
pub use server::{serve, serve_connection};

/// Settings of a POP3 listener. [`Pop3Config::default`] gives the values zcs ships
/// with; every field can be changed before calling [`serve`].
#[derive(Clone)]
pub struct Pop3Config {
    /// Offers STLS (RFC 2595 §4) with this acceptor; `None` on an implicit-TLS port or
    /// when the server has no certificate.
    pub starttls: Option<tokio_rustls::TlsAcceptor>,
    /// The host name in the greeting's timestamp banner (`zimbraPop3AdvertisedName`,
    /// else the server's name).
    pub hostname: String,
    /// Longest line accepted (RFC 2449 §4 caps commands at 255 octets; SASL responses
    /// may be longer). A longer line is dropped as it arrives and answered `-ERR`.
    pub max_line: usize,
    /// Inactivity after which the session ends without applying deletions (RFC 1939
    /// §3 asks for at least 10 minutes). Also the time a client gets to read a reply.
    pub idle_timeout: Duration,
    /// Inactivity after which a client that has not logged in is dropped (Zimbra's
    /// `pop3_max_idle_time`, 60 seconds), so idle unauthenticated connections cannot
    /// hold the listener's slots. Never longer than `idle_timeout`.
    pub login_timeout: Duration,
    /// Protocol errors (unknown commands, bad arguments, commands in the wrong state)
    /// tolerated before the connection is closed.
    pub max_errors: u32,
    /// Failed logins tolerated on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Pause before answering a failed login, to slow password guessing.
    pub auth_failure_delay: Duration,
    /// Connections served at once (`zimbraPop3MaxConnections`); further clients get
    /// `-ERR [SYS/TEMP]` straight away.
    pub max_connections: usize,
    /// Connections one client address may hold at once
    /// (`zcs_pop3_max_connections_per_ip`); further ones get `-ERR [SYS/TEMP]`. 0: no cap.
    pub max_connections_per_ip: usize,
    /// How long [`serve`] waits for open sessions after shutdown
    /// (`zimbraPop3ShutdownGraceSeconds`).
    pub shutdown_grace: Duration,
    /// Whether USER/PASS and AUTH PLAIN are offered before TLS
    /// (`zimbraPop3CleartextLoginEnabled`; must be true on an implicit-TLS port). When
    /// false, CAPA omits USER and SASL and logins are refused until STLS succeeds.
    pub cleartext_login: bool,
    /// When set, replaces `cleartext_login` with a flag the caller keeps current (the
    /// server refreshes it from `zimbraPop3CleartextLoginEnabled` while running), so
    /// `zmprov mcf`/`ms` applies to new connections without a restart.
    pub cleartext_login_live: Option<Arc<AtomicBool>>,
    /// How often a logged-in session checks that its account may still use POP3
    /// ([`Pop3Maildrop::still_allowed`]); QUIT always checks first. Zero: before every
    /// command.
    pub account_check_interval: Duration,
    /// The maildrop locks; listeners sharing a clone of the same table exclude each
    /// other's sessions on one account.
    pub locks: MaildropLocks,
}

impl std::fmt::Debug for Pop3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Config")
            .field("hostname", &self.hostname)
            .field("starttls", &self.starttls.is_some())
            .field("cleartext_login", &self.cleartext_login)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("login_timeout", &self.login_timeout)
            .finish_non_exhaustive()
    }
}

impl Pop3Config {
    /// Whether cleartext login is allowed right now: the live flag when there is one,
    /// else `cleartext_login`.
    pub fn cleartext_login_now(&self) -> bool {
        match &self.cleartext_login_live {
            Some(flag) => flag.load(Ordering::Relaxed),
            None => self.cleartext_login,
        }
    }
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            starttls: None,
            hostname: "localhost".to_string(),
            max_line: 8 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            login_timeout: Duration::from_secs(60),
            max_errors: 10,
            max_auth_failures: 3,
            auth_failure_delay: Duration::from_secs(1),
            max_connections: 200,
            max_connections_per_ip: 50,
            shutdown_grace: Duration::from_secs(10),
            cleartext_login: true,
            cleartext_login_live: None,
            account_check_interval: Duration::from_secs(30),
            locks: MaildropLocks::default(),
        }
    }
}
