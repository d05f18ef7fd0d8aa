//! One POP3 connection: the RFC 1939 state machine (AUTHORIZATION, TRANSACTION,
//! UPDATE), login with USER/PASS and AUTH PLAIN (RFC 5034), the maildrop commands and
//! the connection limits (errors, failed logins, autologout, shutdown).
//!
//! Deletion marks live here, in memory; the backend deletes only after QUIT in the
//! TRANSACTION state (RFC 1939 §6). Any other end of the connection (drop, timeout,
//! shutdown, too many errors) releases the lock and forgets the marks.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncWriteExt, BufWriter, ReadHalf, WriteHalf};
use tokio::sync::watch;

use super::Pop3Config;
use super::backend::{Pop3AuthError, Pop3Backend, Pop3Error, Pop3Maildrop, Pop3Message};
use super::command::{Command, ParseError, parse_command};
use super::io::{DotStuffer, LineReader, ReadError};
use super::lock::MaildropGuard;
use crate::imap::stream::{BoxStream, placeholder, start_tls};

/// How much of a message is rendered at a time for RETR and TOP.
const STREAM_CHUNK: usize = 32 * 1024;

/// A successful TRANSACTION reply.
enum Reply {
    /// Sent as is.
    Text(Vec<u8>),
    /// A status line, then `raw` dot-stuffed (cut after `lines` body lines for TOP).
    Message {
        status: String,
        raw: Vec<u8>,
        lines: Option<u32>,
    },
}

/// The capability list (RFC 2449 §6); STLS until TLS is on (RFC 2595 §4), USER and
/// SASL only when logins are allowed.
fn capabilities(cleartext: bool, stls: bool) -> String {
    let mut caps = String::from("+OK Capability list follows\r\nTOP\r\nUIDL\r\n");
    if stls {
        caps.push_str("STLS\r\n");
    }
    if cleartext {
        caps.push_str("USER\r\nSASL PLAIN\r\n");
    }
    caps.push_str("RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION zcs\r\n.\r\n");
    caps
}

/// The maildrop of a logged-in session (RFC 1939 §5).
struct Transaction {
    maildrop: Arc<dyn Pop3Maildrop>,
    _lock: MaildropGuard,
    messages: Vec<Pop3Message>,
    deleted: Vec<bool>,
}

impl Transaction {
    /// Count and total size of the messages not marked deleted.
    fn totals(&self) -> (usize, u64) {
        self.messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
            .fold((0, 0), |(n, s), (m, _)| (n + 1, s + m.size))
    }

    /// The index of message number `n`, or the `-ERR` text.
    fn index(&self, n: u32) -> Result<usize, String> {
        let i = usize::try_from(n).unwrap_or(usize::MAX).wrapping_sub(1);
        match self.deleted.get(i) {
            None => Err("-ERR no such message\r\n".into()),
            Some(true) => Err(format!("-ERR message {n} already deleted\r\n")),
            Some(false) => Ok(i),
        }
    }
}

/// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..=0x7E.
fn valid_uid(uid: &str) -> bool {
    (1..=70).contains(&uid.len()) && uid.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

enum State {
    Authorization { user: Option<String> },
    Transaction(Box<Transaction>),
}

/// What the loop does after a command.
enum Flow {
    Continue,
    Close,
}

/// The state of one connection.
pub(crate) struct Session {
    cfg: Arc<Pop3Config>,
    backend: Arc<dyn Pop3Backend>,
    peer: SocketAddr,
    reader: LineReader<ReadHalf<BoxStream>>,
    writer: BufWriter<WriteHalf<BoxStream>>,
    shutdown: watch::Receiver<bool>,
    state: State,
    errors: u32,
    auth_failures: u32,
    /// STLS completed (RFC 2595 §4).
    tls_active: bool,
    /// When the logged-in account was last found still allowed to use POP3.
    account_checked: tokio::time::Instant,
}

impl Session {
    pub(crate) fn new(
        cfg: Arc<Pop3Config>,
        backend: Arc<dyn Pop3Backend>,
        peer: SocketAddr,
        stream: BoxStream,
        shutdown: watch::Receiver<bool>,
    ) -> Session {
        let (read, write) = tokio::io::split(stream);
        Session {
            cfg,
            backend,
            peer,
            reader: LineReader::new(read),
            writer: BufWriter::with_capacity(16 * 1024, write),
            shutdown,
            state: State::Authorization { user: None },
            errors: 0,
            auth_failures: 0,
            tls_active: false,
            account_checked: tokio::time::Instant::now(),
        }
    }

    /// Whether USER/PASS and AUTH may be used now: always over TLS, in the clear only
    /// with `zimbraPop3CleartextLoginEnabled`.
    fn login_allowed(&self) -> bool {
        self.cfg.cleartext_login_now() || self.tls_active
    }

    /// STLS (RFC 2595 §4): `+OK`, then the handshake on the same socket. Input the
    /// client pipelined after STLS is dropped, never read as if it had been encrypted.
    async fn stls(&mut self) -> io::Result<Flow> {
        let acceptor = match (&self.cfg.starttls, &self.state) {
            (Some(a), State::Authorization { .. }) if !self.tls_active => a.clone(),
            _ => return self.error("-ERR STLS not available\r\n").await,
        };
        self.send(b"+OK Begin TLS negotiation\r\n").await?;
        self.flush().await?;
        let (read, write) = tokio::io::split(placeholder());
        let reader = std::mem::replace(&mut self.reader, LineReader::new(read));
        let writer = std::mem::replace(&mut self.writer, BufWriter::new(write));
        let (read, pipelined) = reader.into_parts();
        if pipelined {
            tracing::info!(proto = "pop3", ip = %self.peer, "dropped input pipelined after STLS");
        }
        let stream = read.unsplit(writer.into_inner());
        match start_tls(&acceptor, stream).await {
            Ok(tls) => {
                let (read, write) = tokio::io::split(tls);
                self.reader = LineReader::new(read);
                self.writer = BufWriter::with_capacity(16 * 1024, write);
                self.tls_active = true;
                // RFC 2595 §4: the client must forget what it knew, including USER.
                self.state = State::Authorization { user: None };
                Ok(Flow::Continue)
            }
            Err(e) => {
                tracing::debug!(proto = "pop3", ip = %self.peer, error = %e,
                    "STLS handshake failed");
                Ok(Flow::Close)
            }
        }
    }

    /// Queues bytes, failing when the client does not read them in time.
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(self.cfg.idle_timeout, self.writer.write_all(bytes))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
    }

    async fn flush(&mut self) -> io::Result<()> {
        tokio::time::timeout(self.cfg.idle_timeout, self.writer.flush())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
    }

    /// Flushes, shuts the write side and drains input briefly so the last reply is not
    /// lost to a TCP reset.
    async fn close(&mut self) {
        let _ = self.flush().await;
        let _ = tokio::time::timeout(self.cfg.idle_timeout, self.writer.shutdown()).await;
        let max = self.cfg.max_line;
        let drain = async {
            while let Ok(_) | Err(ReadError::TooLong) = self.reader.read_line(max).await {}
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
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

    /// Serves the connection until QUIT, a fatal error, autologout or shutdown.
    pub(crate) async fn run(mut self) {
        // RFC 1939 §4 greeting, with the §7 timestamp banner (unique per connection).
        let greeting = format!(
            "+OK zcs POP3 server ready <{:016x}.{}@{}>\r\n",
            rand::random::<u64>(),
            chrono::Utc::now().timestamp(),
            self.cfg.hostname
        );
        if self.send(greeting.as_bytes()).await.is_err() {
            return;
        }
        loop {
            if *self.shutdown.borrow() {
                let _ = self.send(b"-ERR [SYS/TEMP] server shutting down\r\n").await;
                self.close().await;
                return;
            }
            // PIPELINING (RFC 2449 §6.6): answer everything already received at once.
            if !self.reader.has_line() && self.flush().await.is_err() {
                return;
            }
            let mut shutdown = self.shutdown.clone();
            // Before login a client gets a short leash (`login_timeout`): idle
            // unauthenticated connections must not hold the listener's slots.
            let timeout = if matches!(self.state, State::Authorization { .. }) {
                self.cfg.idle_timeout.min(self.cfg.login_timeout)
            } else {
                self.cfg.idle_timeout
            };
            let max = self.cfg.max_line;
            let read = tokio::select! {
                r = tokio::time::timeout(timeout, self.reader.read_line(max)) => r,
                () = Self::wait_shutdown(&mut shutdown) => continue,
            };
            let flow = match read {
                Err(_) => {
                    // RFC 1939 §3: autologout, without entering UPDATE.
                    let _ = self.send(b"-ERR autologout; idle for too long\r\n").await;
                    self.close().await;
                    return;
                }
                Ok(Err(ReadError::Closed | ReadError::Io(_))) => {
                    tracing::debug!(proto = "pop3", ip = %self.peer, "client went away");
                    return;
                }
                Ok(Err(ReadError::TooLong)) => self.error("-ERR line too long\r\n").await,
                Ok(Ok(line)) => self.command(&line).await,
            };
            match flow {
                Ok(Flow::Continue) => {}
                Ok(Flow::Close) => {
                    self.close().await;
                    return;
                }
                Err(e) => {
                    tracing::debug!(proto = "pop3", ip = %self.peer, error = %e, "write failed");
                    return;
                }
            }
        }
    }

    /// Answers a protocol error; too many of them end the connection.
    async fn error(&mut self, reply: &str) -> io::Result<Flow> {
        self.errors += 1;
        self.send(reply.as_bytes()).await?;
        if self.errors >= self.cfg.max_errors {
            self.send(b"-ERR too many errors, closing connection\r\n")
                .await?;
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    /// `XOIP`: believed from a trusted proxy only (`zimbraMailTrustedIP` or loopback);
    /// the address becomes the session's `oip` log context.
    async fn xoip(&mut self, ip: &str) -> io::Result<Flow> {
        if !self.backend.proxy_trusted(self.peer.ip()).await {
            tracing::info!(proto = "pop3", ip = %self.peer, "XOIP from an untrusted address");
            return self
                .error("-ERR XOIP not allowed from this address\r\n")
                .await;
        }
        match crate::proxy::parse_addr(ip) {
            Some(addr) => {
                crate::proxy::record(Some(addr), None);
                self.send(b"+OK\r\n").await?;
                Ok(Flow::Continue)
            }
            None => self.error("-ERR XOIP needs an address\r\n").await,
        }
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let cmd = match parse_command(line) {
            Ok(cmd) => cmd,
            Err(ParseError::Empty | ParseError::Unknown) => {
                return self.error("-ERR unknown command\r\n").await;
            }
            Err(ParseError::Syntax(why)) => {
                return self.error(&format!("-ERR {why}\r\n")).await;
            }
        };
        if !self
            .account_still_allowed(matches!(cmd, Command::Quit))
            .await
        {
            // RFC 3206 §4 SYS/PERM: not the client's fault, and retrying will not help.
            // The session ends without UPDATE: no deletion is applied.
            self.send(b"-ERR [SYS/PERM] account is no longer available\r\n")
                .await?;
            return Ok(Flow::Close);
        }
        let login_allowed = self.login_allowed();
        match (&mut self.state, cmd) {
            (_, Command::Capa) => {
                let stls = self.cfg.starttls.is_some()
                    && !self.tls_active
                    && matches!(self.state, State::Authorization { .. });
                let caps = capabilities(self.login_allowed(), stls);
                self.send(caps.as_bytes()).await?;
                Ok(Flow::Continue)
            }
            (_, Command::Stls) => self.stls().await,
            (State::Authorization { .. }, Command::Xoip(ip)) => self.xoip(&ip).await,
            (State::Authorization { .. }, Command::Quit) => {
                self.send(b"+OK zcs POP3 server signing off\r\n").await?;
                Ok(Flow::Close)
            }
            (State::Transaction(_), Command::Quit) => self.update().await,
            (State::Authorization { user }, Command::User(name)) => {
                if !login_allowed {
                    return self.error("-ERR cleartext login disabled\r\n").await;
                }
                // The answer never depends on whether the account exists.
                *user = Some(name);
                self.send(b"+OK send PASS\r\n").await?;
                Ok(Flow::Continue)
            }
            (State::Authorization { user }, Command::Pass(password)) => {
                let Some(name) = user.take() else {
                    return self.error("-ERR send USER first\r\n").await;
                };
                self.login(&name, &password).await
            }
            (State::Authorization { user }, Command::Auth { mechanism, initial }) => {
                *user = None;
                self.auth(mechanism, initial).await
            }
            (State::Authorization { .. }, _) => {
                self.error("-ERR command not valid before login\r\n").await
            }
            (State::Transaction(_), Command::User(_) | Command::Pass(_) | Command::Auth { .. }) => {
                self.error("-ERR already logged in\r\n").await
            }
            (State::Transaction(tx), cmd) => match transaction_command(tx, cmd).await {
                Ok(Reply::Text(bytes)) => {
                    self.send(&bytes).await?;
                    Ok(Flow::Continue)
                }
                Ok(Reply::Message { status, raw, lines }) => {
                    self.send(status.as_bytes()).await?;
                    let mut stuffer = DotStuffer::new(&raw, lines);
                    let mut chunk = Vec::with_capacity(STREAM_CHUNK + 1024);
                    while stuffer.next_chunk(&mut chunk, STREAM_CHUNK) {
                        self.send(&chunk).await?;
                        chunk.clear();
                    }
                    Ok(Flow::Continue)
                }
                // A server-side failure is not the client's error.
                Err(text) if text.starts_with("-ERR [SYS/") => {
                    self.send(text.as_bytes()).await?;
                    Ok(Flow::Continue)
                }
                Err(text) => self.error(&text).await,
            },
        }
    }

    /// Whether the logged-in account may still use POP3, asking the backend at most
    /// once per `account_check_interval`, or always when `now` (before QUIT, so a
    /// deleted or disabled account's marks are never applied). True before login.
    async fn account_still_allowed(&mut self, now: bool) -> bool {
        let State::Transaction(tx) = &self.state else {
            return true;
        };
        if !now && self.account_checked.elapsed() < self.cfg.account_check_interval {
            return true;
        }
        let maildrop = tx.maildrop.clone();
        self.account_checked = tokio::time::Instant::now();
        let allowed = maildrop.still_allowed().await;
        if !allowed {
            tracing::info!(proto = "pop3", ip = %self.peer, account = maildrop.account_name(),
                "account deleted, no longer active or without POP3: session ended");
        }
        allowed
    }

    /// AUTH (RFC 5034 §4): the mechanism list, or a PLAIN exchange.
    async fn auth(
        &mut self,
        mechanism: Option<String>,
        initial: Option<String>,
    ) -> io::Result<Flow> {
        if !self.login_allowed() {
            return self.error("-ERR cleartext login disabled\r\n").await;
        }
        let Some(mechanism) = mechanism else {
            self.send(b"+OK mechanisms follow\r\nPLAIN\r\n.\r\n")
                .await?;
            return Ok(Flow::Continue);
        };
        if mechanism != "PLAIN" {
            return self
                .error("-ERR unsupported authentication mechanism\r\n")
                .await;
        }
        let response = match initial {
            Some(ir) if ir == "=" => Vec::new(),
            Some(ir) => ir.into_bytes(),
            None => {
                // An empty server challenge (RFC 5034 §4).
                self.send(b"+ \r\n").await?;
                self.flush().await?;
                let (timeout, max) = (self.cfg.idle_timeout, self.cfg.max_line);
                match tokio::time::timeout(timeout, self.reader.read_line(max)).await {
                    Err(_) => return Ok(Flow::Close),
                    Ok(Err(ReadError::TooLong)) => {
                        return self.error("-ERR line too long\r\n").await;
                    }
                    Ok(Err(ReadError::Closed)) => return Ok(Flow::Close),
                    Ok(Err(ReadError::Io(e))) => return Err(e),
                    Ok(Ok(line)) => line,
                }
            }
        };
        if response == b"*" {
            return self.error("-ERR authentication cancelled\r\n").await;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&response) else {
            return self.error("-ERR invalid base64 response\r\n").await;
        };
        // RFC 4616 §2: authzid NUL authcid NUL passwd.
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let (authz, user, password) = match parts.as_slice() {
            [z, u, p] => (*z, *u, *p),
            _ => return self.error("-ERR malformed PLAIN response\r\n").await,
        };
        let (Ok(authz), Ok(user), Ok(password)) = (
            std::str::from_utf8(authz),
            std::str::from_utf8(user),
            std::str::from_utf8(password),
        ) else {
            return self.error("-ERR malformed PLAIN response\r\n").await;
        };
        if !authz.is_empty() && authz != user {
            // LIMITATION: no proxy authorisation (acting as another account).
            return self.failed_login().await;
        }
        self.login(user, password).await
    }

    /// Authenticates, locks the maildrop and enters TRANSACTION (RFC 1939 §4, §8).
    async fn login(&mut self, user: &str, password: &str) -> io::Result<Flow> {
        let ip = self.peer.ip();
        let maildrop = match self.backend.authenticate(user, password, ip).await {
            Ok(m) => m,
            Err(Pop3AuthError::Failed) => return self.failed_login().await,
            Err(Pop3AuthError::Unavailable(why)) => {
                tracing::warn!(proto = "pop3", ip = %ip, reason = %why, "login unavailable");
                self.send(b"-ERR [SYS/TEMP] authentication temporarily unavailable\r\n")
                    .await?;
                return Ok(Flow::Continue);
            }
        };
        let Some(lock) = self.cfg.locks.try_lock(maildrop.account_key()) else {
            tracing::info!(proto = "pop3", ip = %ip, account = %maildrop.account_name(),
                "maildrop in use");
            // RFC 2449 §8.1.1.
            self.send(b"-ERR [IN-USE] maildrop already in use by another session\r\n")
                .await?;
            return Ok(Flow::Continue);
        };
        let messages = match maildrop.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(proto = "pop3", account = %maildrop.account_name(), error = %e,
                    "listing maildrop failed");
                self.send(b"-ERR [SYS/TEMP] maildrop temporarily unavailable\r\n")
                    .await?;
                return Ok(Flow::Continue);
            }
        };
        let messages: Vec<Pop3Message> = messages
            .into_iter()
            .map(|mut m| {
                if !valid_uid(&m.uid) {
                    m.uid = m.id.0.to_string();
                }
                m
            })
            .collect();
        tracing::info!(proto = "pop3", ip = %ip, account = %maildrop.account_name(),
            messages = messages.len(), "login");
        let tx = Transaction {
            maildrop,
            _lock: lock,
            deleted: vec![false; messages.len()],
            messages,
        };
        let (n, size) = tx.totals();
        self.state = State::Transaction(Box::new(tx));
        self.account_checked = tokio::time::Instant::now();
        self.send(format!("+OK maildrop has {n} messages ({size} octets)\r\n").as_bytes())
            .await?;
        Ok(Flow::Continue)
    }

    /// The answer to every failed login, after a pause (RFC 3206 §4, `[AUTH]`).
    async fn failed_login(&mut self) -> io::Result<Flow> {
        self.auth_failures += 1;
        tracing::info!(proto = "pop3", ip = %self.peer.ip(), "login failed");
        tokio::time::sleep(self.cfg.auth_failure_delay).await;
        self.send(b"-ERR [AUTH] invalid user name or password\r\n")
            .await?;
        if self.auth_failures >= self.cfg.max_auth_failures {
            self.send(b"-ERR too many failed logins, closing connection\r\n")
                .await?;
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    /// QUIT in TRANSACTION: the UPDATE state (RFC 1939 §6).
    async fn update(&mut self) -> io::Result<Flow> {
        let state = std::mem::replace(&mut self.state, State::Authorization { user: None });
        let State::Transaction(tx) = state else {
            return Ok(Flow::Close);
        };
        let ids: Vec<_> = tx
            .messages
            .iter()
            .zip(&tx.deleted)
            .filter(|(_, d)| **d)
            .map(|(m, _)| m.id)
            .collect();
        let reply = if ids.is_empty() {
            "+OK zcs POP3 server signing off\r\n".to_string()
        } else {
            match tx.maildrop.delete(&ids).await {
                Ok(()) => {
                    tracing::info!(proto = "pop3", account = %tx.maildrop.account_name(),
                        deleted = ids.len(), "update");
                    format!(
                        "+OK zcs POP3 server signing off ({} messages deleted)\r\n",
                        ids.len()
                    )
                }
                Err(e) => {
                    tracing::warn!(proto = "pop3", account = %tx.maildrop.account_name(),
                        error = %e, "update failed");
                    "-ERR [SYS/TEMP] some deleted messages not removed\r\n".to_string()
                }
            }
        };
        // The lock goes with `tx`, after the deletions.
        drop(tx);
        self.send(reply.as_bytes()).await?;
        Ok(Flow::Close)
    }
}

/// Maps a failed maildrop read to the `-ERR` text.
fn read_error(e: &Pop3Error) -> String {
    match e {
        Pop3Error::NotFound => "-ERR no such message\r\n".into(),
        Pop3Error::Unavailable(_) | Pop3Error::Other(_) => {
            tracing::warn!(proto = "pop3", error = %e, "read failed");
            "-ERR [SYS/TEMP] message temporarily unavailable\r\n".into()
        }
    }
}

/// The TRANSACTION commands (RFC 1939 §5, §7). Returns the whole reply, or the `-ERR`
/// line of a client error.
async fn transaction_command(tx: &mut Transaction, cmd: Command) -> Result<Reply, String> {
    let reply = match cmd {
        Command::Stat => {
            let (n, size) = tx.totals();
            format!("+OK {n} {size}\r\n").into_bytes()
        }
        Command::List(Some(n)) => {
            let i = tx.index(n)?;
            format!("+OK {n} {}\r\n", tx.messages[i].size).into_bytes()
        }
        Command::List(None) => {
            let (count, size) = tx.totals();
            let mut out = format!("+OK {count} messages ({size} octets)\r\n");
            for (i, m) in tx.messages.iter().enumerate() {
                if !tx.deleted[i] {
                    out.push_str(&format!("{} {}\r\n", i + 1, m.size));
                }
            }
            out.push_str(".\r\n");
            out.into_bytes()
        }
        Command::Uidl(Some(n)) => {
            let i = tx.index(n)?;
            format!("+OK {n} {}\r\n", tx.messages[i].uid).into_bytes()
        }
        Command::Uidl(None) => {
            let mut out = String::from("+OK unique-id listing follows\r\n");
            for (i, m) in tx.messages.iter().enumerate() {
                if !tx.deleted[i] {
                    out.push_str(&format!("{} {}\r\n", i + 1, m.uid));
                }
            }
            out.push_str(".\r\n");
            out.into_bytes()
        }
        Command::Retr(n) | Command::Top(n, _) => {
            let i = tx.index(n)?;
            let raw = tx
                .maildrop
                .read(tx.messages[i].id)
                .await
                .map_err(|e| read_error(&e))?;
            let (status, lines) = match cmd {
                Command::Top(_, lines) => ("+OK top of message follows\r\n".into(), Some(lines)),
                _ => (format!("+OK {} octets\r\n", raw.len()), None),
            };
            return Ok(Reply::Message { status, raw, lines });
        }
        Command::Dele(n) => {
            let i = tx.index(n)?;
            tx.deleted[i] = true;
            format!("+OK message {n} deleted\r\n").into_bytes()
        }
        Command::Rset => {
            tx.deleted.iter_mut().for_each(|d| *d = false);
            let (n, size) = tx.totals();
            format!("+OK maildrop has {n} messages ({size} octets)\r\n").into_bytes()
        }
        Command::Noop => b"+OK\r\n".to_vec(),
        _ => return Err("-ERR command not valid in this state\r\n".into()),
    };
    Ok(Reply::Text(reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_rules() {
        assert!(valid_uid("257.abc="));
        assert!(!valid_uid(""));
        assert!(!valid_uid("a b"));
        assert!(!valid_uid(&"x".repeat(71)));
        assert!(capabilities(true, false).contains("\r\nUSER\r\n"));
        assert!(!capabilities(false, true).contains("USER"));
        assert!(capabilities(false, true).contains("\r\nSTLS\r\n"));
        assert!(!capabilities(true, false).contains("STLS"));
        assert!(capabilities(false, false).ends_with("\r\n.\r\n"));
    }
}
