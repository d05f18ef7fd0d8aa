//! One client connection: the RFC 3501 §3 state machine (not authenticated,
//! authenticated, selected, logout), command dispatch and the commands valid in any
//! state (CAPABILITY, NOOP, LOGOUT, ID, LOGIN, AUTHENTICATE, NAMESPACE).
//!
//! Mailbox-level commands live in the sibling modules; this one owns the loop, the
//! limits (bad commands, failed logins, autologout) and the mapping of backend errors
//! to tagged replies.

mod acl;
mod auth;
mod condstore;
mod conn;
mod ext;
mod fetch;
mod folders;
mod heavy;
mod layers;
mod list;
mod mailbox;
mod moves;
mod search;
mod store;
mod substring;
mod thread;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub(crate) use mailbox::RecentTracker;

use self::conn::{Conn, Incoming};
use self::mailbox::Selected;
use self::moves::Enabled;
use super::ImapConfig;
use super::backend::{BackendError, ImapBackend, ImapSession};
use super::parser::{Command, CommandKind, parse_command};
use super::reader::ReadError;
use super::response::{Reply, Status, sanitize};
use super::stream::BoxStream;

/// The capabilities offered in every state (RFC 3501 §6.1.1); [`Session::capabilities`]
/// adds the ones that depend on TLS and login.
pub(crate) const CAPABILITIES: &str = "IMAP4rev1 LITERAL+ SASL-IR ID IDLE NAMESPACE UIDPLUS \
UNSELECT CHILDREN ENABLE MOVE SPECIAL-USE XLIST LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC \
ESEARCH WITHIN SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES \
I18NLEVEL=1 MULTIAPPEND CATENATE BINARY UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE ACL RIGHTS=ektx";

/// How a handler failed when it could not produce a tagged reply itself.
pub(crate) enum Fail {
    /// The socket failed; the session ends.
    Io(io::Error),
    /// A backend call failed; mapped to a tagged NO.
    Backend(BackendError),
    /// The session must end now (a BYE was already sent).
    Close,
    /// STARTTLS accepted: the caller sends the tagged OK, then runs the handshake.
    StartTls(tokio_rustls::TlsAcceptor),
    /// COMPRESS accepted: the caller sends the tagged OK, then compresses.
    Compress,
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail::Io(e)
    }
}

impl From<BackendError> for Fail {
    fn from(e: BackendError) -> Self {
        Fail::Backend(e)
    }
}

/// Result of a command handler.
pub(crate) type Handled = Result<Reply, Fail>;

/// Maps a backend error to the tagged NO shown to the client (RFC 5530 codes).
pub(crate) fn backend_reply(err: &BackendError) -> Reply {
    match err {
        BackendError::NotFound => Reply::no("No such mailbox or message").with_code("NONEXISTENT"),
        BackendError::AlreadyExists => {
            Reply::no("Mailbox already exists").with_code("ALREADYEXISTS")
        }
        BackendError::PermissionDenied => Reply::no("Permission denied").with_code("NOPERM"),
        BackendError::QuotaExceeded => Reply::no("Quota exceeded").with_code("OVERQUOTA"),
        BackendError::TooBig => Reply::no("Message too big").with_code("TOOBIG"),
        BackendError::InvalidName(why) => {
            Reply::no(format!("Invalid name: {why}")).with_code("CANNOT")
        }
        BackendError::Unavailable(_) => {
            Reply::no("Mailbox temporarily unavailable").with_code("UNAVAILABLE")
        }
        BackendError::Other(_) => Reply::no("Internal server error").with_code("SERVERBUG"),
    }
}

/// What the loop does after a command.
enum Flow {
    Continue,
    Close,
}

/// The state of one connection.
pub(crate) struct Session {
    pub(crate) cfg: Arc<ImapConfig>,
    pub(crate) backend: Arc<dyn ImapBackend>,
    pub(crate) peer: SocketAddr,
    pub(crate) conn: Conn,
    /// Set once authenticated (RFC 3501 §3.2).
    pub(crate) account: Option<Arc<dyn ImapSession>>,
    /// Set while a mailbox is selected (RFC 3501 §3.3).
    pub(crate) selected: Option<Selected>,
    pub(crate) recent: Arc<RecentTracker>,
    /// Extensions turned on by ENABLE or implicitly (RFC 5161, RFC 7162 §3.1).
    pub(crate) enabled: Enabled,
    shutdown: watch::Receiver<bool>,
    bad_commands: u32,
    auth_failures: u32,
    /// STARTTLS completed on this connection (RFC 3501 §6.2.1).
    pub(crate) tls_active: bool,
    /// COMPRESS=DEFLATE is in effect (RFC 4978).
    pub(crate) compressed: bool,
    /// The UIDs of the last SEARCH ... RETURN (SAVE) (RFC 5182), for `$`.
    pub(crate) saved: Vec<u32>,
    /// This account's change notifications (`crate::notify`), set at login.
    pub(crate) changes: Option<tokio::sync::broadcast::Receiver<()>>,
    /// When the account was last found still allowed to use IMAP.
    account_checked: tokio::time::Instant,
}

impl Session {
    pub(crate) fn new(
        cfg: Arc<ImapConfig>,
        backend: Arc<dyn ImapBackend>,
        peer: SocketAddr,
        stream: BoxStream,
        recent: Arc<RecentTracker>,
        shutdown: watch::Receiver<bool>,
    ) -> Session {
        let conn = Conn::new(stream, cfg.idle_timeout);
        Session {
            cfg,
            backend,
            peer,
            conn,
            account: None,
            selected: None,
            recent,
            enabled: Enabled::default(),
            shutdown,
            bad_commands: 0,
            auth_failures: 0,
            tls_active: false,
            compressed: false,
            saved: Vec::new(),
            changes: None,
            account_checked: tokio::time::Instant::now(),
        }
    }

    /// Whether LOGIN and AUTHENTICATE PLAIN may be used now: always over TLS, in the
    /// clear only with `zimbraImapCleartextLoginEnabled` (RFC 3501 §6.2.3, §7.2.1
    /// LOGINDISABLED).
    pub(crate) fn login_allowed(&self) -> bool {
        self.cfg.cleartext_login_now() || self.tls_active
    }

    /// The capability list for the current state: STARTTLS until TLS is on,
    /// LOGINDISABLED when cleartext login is refused, AUTH=PLAIN when it is allowed,
    /// COMPRESS=DEFLATE until compression is on.
    pub(crate) fn capabilities(&self) -> String {
        let mut caps = String::from(CAPABILITIES);
        if !self.compressed {
            caps.push_str(" COMPRESS=DEFLATE");
        }
        if self.account.is_none() {
            if self.cfg.starttls.is_some() && !self.tls_active {
                caps.push_str(" STARTTLS");
            }
            if self.login_allowed() {
                caps.push_str(" AUTH=PLAIN");
            } else {
                caps.push_str(" LOGINDISABLED");
            }
        }
        caps
    }

    /// Queues an untagged line (`* ` and CRLF added).
    pub(crate) async fn untagged(&mut self, text: &str) -> io::Result<()> {
        self.conn.write(format!("* {text}\r\n").as_bytes()).await
    }

    /// Whether the shutdown signal is raised.
    fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits until shutdown is signalled; never returns if the sender is gone.
    async fn wait_shutdown(shutdown: &mut watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            if shutdown.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Serves the connection until LOGOUT, a fatal error, autologout or shutdown.
    pub(crate) async fn run(mut self) {
        let greeting = format!(
            "* OK [CAPABILITY {}] zcs IMAP4rev1 server ready\r\n",
            self.capabilities()
        );
        if self.conn.write(greeting.as_bytes()).await.is_err() || self.conn.flush().await.is_err() {
            return;
        }
        loop {
            if self.shutting_down() {
                let _ = self.untagged("BYE Server shutting down").await;
                self.conn.close().await;
                return;
            }
            let mut shutdown = self.shutdown.clone();
            let cfg = self.cfg.clone();
            let authenticated = self.account.is_some();
            // Before login a client gets a short leash (`login_timeout`, a minute by
            // default) and no large literals: RFC 3501 §5.4 only asks 30 minutes of
            // authenticated clients.
            let idle = if authenticated {
                cfg.idle_timeout
            } else {
                cfg.idle_timeout.min(cfg.login_timeout)
            };
            let incoming = tokio::select! {
                r = tokio::time::timeout(idle, self.conn.read_command(&cfg, authenticated)) => r,
                () = Self::wait_shutdown(&mut shutdown) => continue,
            };
            let incoming = match incoming {
                Err(_) => {
                    // RFC 3501 §5.4: autologout after inactivity.
                    let _ = self.untagged("BYE Autologout; idle for too long").await;
                    self.conn.close().await;
                    return;
                }
                Ok(Err(ReadError::Closed | ReadError::Io(_))) => {
                    tracing::debug!(proto = "imap", ip = %self.peer, "client went away");
                    return;
                }
                Ok(Err(ReadError::LineTooLong)) => {
                    let _ = self.untagged("BAD line too long").await;
                    let _ = self.untagged("BYE Closing connection").await;
                    self.conn.close_lingering(Duration::from_secs(2)).await;
                    return;
                }
                Ok(Ok(incoming)) => incoming,
            };
            let flow = match incoming {
                Incoming::Refused {
                    tag,
                    reply,
                    close: false,
                } => self.reply(tag.as_deref(), &reply).await,
                Incoming::Refused {
                    tag,
                    reply,
                    close: true,
                } => self.refuse_and_close(tag.as_deref(), &reply).await,
                Incoming::Command(buf) => self.command(&buf).await,
            };
            match flow {
                Ok(Flow::Continue) => {}
                Ok(Flow::Close) => {
                    self.conn.close_lingering(Duration::from_millis(500)).await;
                    return;
                }
                Err(e) => {
                    tracing::debug!(proto = "imap", ip = %self.peer, error = %e, "write failed");
                    return;
                }
            }
        }
    }

    /// Answers a command whose literal bytes are already on the way and will not be
    /// read, then says goodbye: the rest of the input cannot be framed any more.
    async fn refuse_and_close(&mut self, tag: Option<&str>, reply: &Reply) -> io::Result<Flow> {
        let line = reply.render(tag.unwrap_or("*"));
        self.conn.write(&line).await?;
        self.untagged("BYE Literal too big; closing connection")
            .await?;
        self.conn.flush().await?;
        tracing::info!(proto = "imap", ip = %self.peer, "oversized literal refused, closing");
        Ok(Flow::Close)
    }

    /// Sends a tagged (or, without tag, untagged) reply, counting BADs.
    async fn reply(&mut self, tag: Option<&str>, reply: &Reply) -> io::Result<Flow> {
        let line = reply.render(tag.unwrap_or("*"));
        self.conn.write(&line).await?;
        if reply.status == Status::Bad {
            self.bad_commands += 1;
            if self.bad_commands >= self.cfg.max_bad_commands {
                self.untagged("BYE Too many invalid commands").await?;
                self.conn.flush().await?;
                return Ok(Flow::Close);
            }
        }
        self.conn.flush().await?;
        Ok(Flow::Continue)
    }

    async fn command(&mut self, buf: &[u8]) -> io::Result<Flow> {
        let cmd = match parse_command(buf) {
            Ok(cmd) => cmd,
            Err(e) => {
                return self
                    .reply(
                        e.tag.as_deref(),
                        &Reply::bad(format!("Invalid command: {e}")),
                    )
                    .await;
            }
        };
        let mut cmd = cmd;
        self.substitute_saved(&mut cmd.kind);
        let name = cmd.kind.name();
        tracing::debug!(proto = "imap", ip = %self.peer, cmd = name, "command");
        if let Some(refusal) = self.state_refusal(&cmd.kind) {
            return self.reply(Some(&cmd.tag), &refusal).await;
        }
        if !self.account_still_allowed().await {
            self.untagged("BYE Account is no longer available").await?;
            self.conn.flush().await?;
            return Ok(Flow::Close);
        }
        let expunge_ok = expunge_allowed(&cmd.kind);
        let uid_fetch = matches!(
            cmd.kind,
            CommandKind::Fetch { uid: true, .. } | CommandKind::Store { uid: true, .. }
        );
        let logout = matches!(cmd.kind, CommandKind::Logout);
        let tag = cmd.tag.clone();
        let mut reply = match self.dispatch(&tag, cmd, buf).await {
            Ok(reply) => reply,
            Err(Fail::Io(e)) => return Err(e),
            Err(Fail::Close) => return Ok(Flow::Close),
            Err(Fail::StartTls(acceptor)) => {
                // RFC 3501 §6.2.1: the handshake starts right after the OK's CRLF.
                self.reply(Some(&tag), &Reply::ok("Begin TLS negotiation now"))
                    .await?;
                return match self.finish_starttls(acceptor).await {
                    Ok(()) => Ok(Flow::Continue),
                    Err(Fail::Io(e)) => Err(e),
                    Err(_) => Ok(Flow::Close),
                };
            }
            Err(Fail::Compress) => {
                self.reply(Some(&tag), &Reply::ok("DEFLATE active")).await?;
                return match self.finish_compress().await {
                    Ok(()) => Ok(Flow::Continue),
                    Err(Fail::Io(e)) => Err(e),
                    Err(_) => Ok(Flow::Close),
                };
            }
            Err(Fail::Backend(e)) => {
                tracing::warn!(proto = "imap", ip = %self.peer, cmd = name, error = %e,
                    "backend call failed");
                backend_reply(&e)
            }
        };
        // RFC 3501 §7: report mailbox changes before the tagged reply.
        if self.selected.is_some() && !logout {
            match self.refresh(expunge_ok, uid_fetch).await {
                Ok(()) | Err(Fail::StartTls(_) | Fail::Compress) => {}
                Err(Fail::Io(e)) => return Err(e),
                Err(Fail::Close) => return Ok(Flow::Close),
                Err(Fail::Backend(e)) => {
                    tracing::warn!(proto = "imap", ip = %self.peer, error = %e,
                        "mailbox refresh failed");
                    if reply.status == Status::Ok {
                        reply = backend_reply(&e);
                    }
                }
            }
        }
        let flow = self.reply(Some(&tag), &reply).await?;
        if logout {
            return Ok(Flow::Close);
        }
        Ok(flow)
    }

    /// Whether the logged-in account may still use IMAP, asking the backend at most
    /// once per `account_check_interval` (true before login).
    pub(crate) async fn account_still_allowed(&mut self) -> bool {
        let Some(account) = self.account.clone() else {
            return true;
        };
        if self.account_checked.elapsed() < self.cfg.account_check_interval {
            return true;
        }
        self.account_checked = tokio::time::Instant::now();
        let allowed = account.still_allowed().await;
        if !allowed {
            tracing::info!(proto = "imap", ip = %self.peer, account = account.account_name(),
                "account deleted or no longer active: session ended");
        }
        allowed
    }

    /// RFC 3501 §3 and §6: which commands are valid in which state.
    fn state_refusal(&self, kind: &CommandKind) -> Option<Reply> {
        use CommandKind::*;
        let authenticated = self.account.is_some();
        match kind {
            Capability | Noop | Logout | Id(_) => None,
            StartTls if authenticated => Some(Reply::bad("Already authenticated")),
            StartTls => None,
            Login { .. } | Authenticate { .. } if authenticated => {
                Some(Reply::bad("Already authenticated"))
            }
            Login { .. } | Authenticate { .. } => None,
            _ if !authenticated => Some(Reply::bad("Please authenticate first")),
            Check
            | Close
            | Unselect
            | Expunge { .. }
            | Search { .. }
            | Fetch { .. }
            | Store { .. }
            | Copy { .. }
            | Move { .. }
            | Sort { .. }
            | Thread { .. }
                if self.selected.is_none() =>
            {
                Some(Reply::bad("No mailbox selected"))
            }
            _ => None,
        }
    }

    /// Takes in the fields of a client's `ID` (RFC 2971): its name and version become
    /// the session's `ua` log context; a trusted proxy's `X-ORIGINATING-IP` and `X-VIA`
    /// (Zimbra's fields) become `oip` and `via`, and are ignored from anyone else.
    async fn client_id(&mut self, params: &[(String, Option<String>)]) {
        let field = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.clone())
        };
        let name = field("name").unwrap_or_default();
        let ua = match field("version") {
            Some(v) if !name.is_empty() => format!("{name}/{v}"),
            _ => name,
        };
        if let Some(ua) = crate::proxy::clean_via(&ua) {
            tracing::Span::current().record("ua", ua.as_str());
        }
        let oip = field("X-ORIGINATING-IP");
        let via = field("X-VIA");
        if oip.is_none() && via.is_none() {
            tracing::debug!(proto = "imap", ip = %self.peer, ua = %sanitize(&ua), "client id");
            return;
        }
        if self.backend.proxy_trusted(self.peer.ip()).await {
            let addr = oip.as_deref().and_then(crate::proxy::parse_addr);
            crate::proxy::record(addr, via.as_deref());
            tracing::debug!(proto = "imap", ip = %self.peer, "client id from a trusted proxy");
        } else {
            tracing::info!(proto = "imap", ip = %self.peer,
                "ID names an originating address but the peer is not a trusted proxy");
        }
    }

    async fn dispatch(&mut self, tag: &str, cmd: Command, buf: &[u8]) -> Handled {
        use CommandKind::*;
        match cmd.kind {
            Capability => {
                let caps = self.capabilities();
                self.untagged(&format!("CAPABILITY {caps}")).await?;
                Ok(Reply::ok("CAPABILITY completed"))
            }
            Noop => Ok(Reply::ok("NOOP completed")),
            Check => Ok(Reply::ok("CHECK completed")),
            Logout => {
                let host = sanitize(&self.cfg.hostname);
                self.untagged(&format!("BYE {host} zcs IMAP4rev1 server logging out"))
                    .await?;
                Ok(Reply::ok("LOGOUT completed"))
            }
            Id(params) => {
                if let Some(params) = params {
                    self.client_id(&params).await;
                }
                let version = env!("CARGO_PKG_VERSION");
                self.untagged(&format!("ID (\"name\" \"zcs\" \"version\" \"{version}\")"))
                    .await?;
                Ok(Reply::ok("ID completed"))
            }
            Namespace => {
                // RFC 2342 §5: the personal namespace and Zimbra's Other Users one
                // (`/home/<owner>/...`, folders other accounts share with this one).
                self.untagged("NAMESPACE ((\"\" \"/\")) ((\"/home/\" \"/\")) NIL")
                    .await?;
                Ok(Reply::ok("NAMESPACE completed"))
            }
            Login { user, password } => self.login(tag, &user, &password).await,
            Authenticate { mechanism, initial } => self.authenticate(tag, mechanism, initial).await,
            Idle => self.idle(tag).await,
            Select { mailbox, params } => self.select(&mailbox, false, &params).await,
            Examine { mailbox, params } => self.select(&mailbox, true, &params).await,
            Create { mailbox } => self.create(&mailbox).await,
            Delete { mailbox } => self.delete(&mailbox).await,
            Rename { from, to } => self.rename(&from, &to).await,
            Subscribe { mailbox } => self.subscribe(&mailbox, true).await,
            Unsubscribe { mailbox } => self.subscribe(&mailbox, false).await,
            List(list) => self.list(&list).await,
            Lsub { reference, pattern } => self.lsub(&reference, &pattern).await,
            Status { mailbox, items } => self.status(&mailbox, &items).await,
            Append { mailbox, messages } => self.append(&mailbox, &messages, buf).await,
            Close => {
                self.saved.clear();
                self.close_mailbox().await
            }
            Unselect => {
                self.saved.clear();
                self.selected = None;
                Ok(Reply::ok("UNSELECT completed"))
            }
            Expunge { uids } => self.expunge(uids.as_ref()).await,
            Search {
                uid,
                ret,
                charset,
                key,
            } => self.search(tag, uid, ret, charset.as_deref(), &key).await,
            Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => self.fetch(uid, &set, items, changed_since, vanished).await,
            Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => {
                self.store(uid, &set, unchanged_since, mode, silent, &flags)
                    .await
            }
            Copy { uid, set, mailbox } => self.copy(uid, &set, &mailbox).await,
            Move { uid, set, mailbox } => self.move_messages(uid, &set, &mailbox).await,
            Enable(caps) => self.enable(&caps).await,
            StartTls => self.starttls().await,
            Compress(mechanism) => self.compress(&mechanism).await,
            other => self.dispatch_ext(tag, other).await,
        }
    }
}

/// RFC 3501 §7.4.1: no EXPUNGE responses while FETCH, STORE or SEARCH (by sequence
/// number) run, nor during COPY, since the client may be relying on the numbers. MOVE
/// must send them (RFC 6851 §3.3).
fn expunge_allowed(kind: &CommandKind) -> bool {
    !matches!(
        kind,
        CommandKind::Fetch { uid: false, .. }
            | CommandKind::Store { uid: false, .. }
            | CommandKind::Search { uid: false, .. }
            | CommandKind::Copy { uid: false, .. }
    )
}
