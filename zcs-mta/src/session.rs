//! One SMTP or LMTP session on one connection: reads commands (pipelined or not), keeps
//! the transaction state of RFC 5321 §3.3 / RFC 2033 §4, reads message content for
//! `DATA` and `BDAT`, and hands finished messages to `LocalDelivery`.
//!
//! Accepting connections, connection limits and shutdown of the listener live in
//! `server`; parsing lives in `command`, `line` and `data`. STARTTLS and AUTH are in
//! `session/secure.rs`, the relay, restriction and rate checks of MAIL and RCPT in
//! `session/policy.rs`, the end of data (filters, hand-over) in `session/finish.rs`.

mod finish;
mod policy;
mod secure;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{debug, info};

use crate::address::{ForwardPath, ReversePath};
use crate::auth::AuthedUser;
use crate::command::{Body, Command, Param, ParamError, ParseError, mail_params, parse_command};
use crate::data::{DotReader, MessageBuffer};
use crate::delivery::{AcceptedRecipient, RecipientStatus};
use crate::envelope::{DsnRet, RecipientEnvelope, rcpt_params};
use crate::limits::{RateLimiter, SessionSlot};
use crate::line::{LineEvent, LineReader};
use crate::milter::{MilterRefusal, MilterTransaction};
use crate::outcome::rcpt_reply;
use crate::reply::{Reply, Status};
use crate::tls::Conn;
use crate::trace::{new_message_id, received_header, rfc5322_now};
use crate::{ListenerConfig, LocalDelivery, Protocol};
/// Octets asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Pending reply octets that force a write even while pipelined input remains.
const OUT_HIGH_WATER: usize = 64 * 1024;

/// What the session does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Send what is pending, then close.
    Close,
    /// Close at once: the client is gone.
    Abort,
}

/// What waiting for input gave.
enum Wait {
    Ready,
    Eof,
    Timeout,
    Shutdown,
}

/// Which greeting the client used; decides the `with` clause of the trace header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeloKind {
    Helo,
    Ehlo,
    Lhlo,
}

/// A mail transaction, from `MAIL FROM` to the end of data or `RSET`.
struct Transaction {
    /// The message id (queue id), chosen at `MAIL` so the milters know it.
    id: String,
    mail_from: String,
    size_hint: Option<u64>,
    smtputf8: bool,
    body: Body,
    ret: Option<DsnRet>,
    envid: Option<String>,
    recipients: Vec<AcceptedRecipient>,
    /// Parallel to `recipients`.
    rcpt_envelopes: Vec<RecipientEnvelope>,
    /// Set once a `BDAT` chunk arrived: message id and content so far.
    bdat: Option<(String, MessageBuffer)>,
    /// The milters' conversations about this message (SMTP with milters only).
    milters: Option<MilterTransaction>,
}

/// One connection's state.
pub(crate) struct Session {
    io: Conn,
    inbuf: BytesMut,
    out: Vec<u8>,
    lines: LineReader,
    cfg: Arc<ListenerConfig>,
    delivery: Arc<dyn LocalDelivery>,
    shutdown: watch::Receiver<bool>,
    peer: IpAddr,
    helo: Option<(HeloKind, String)>,
    tx: Option<Transaction>,
    errors: u32,
    limiter: Arc<RateLimiter>,
    /// This client's session slot, given back when the session ends.
    _slot: Option<SessionSlot>,
    /// The client is in `zimbraMtaMyNetworks`.
    trusted: bool,
    /// Who authenticated with `AUTH`.
    authed: Option<AuthedUser>,
    /// Messages and recipients accepted in this session, for the per-connection limits.
    messages_seen: usize,
    recipients_seen: usize,
    /// Unread client input may remain at the close: drain it first ([`Self::drain`]).
    linger: bool,
}

/// Everything a session needs besides its connection.
pub(crate) struct SessionParts {
    pub(crate) peer: IpAddr,
    pub(crate) cfg: Arc<ListenerConfig>,
    pub(crate) delivery: Arc<dyn LocalDelivery>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) slot: Option<SessionSlot>,
}

impl Session {
    /// A session on `io` (already under TLS for implicit TLS).
    pub(crate) fn new(io: Conn, parts: SessionParts) -> Self {
        let SessionParts {
            peer,
            cfg,
            delivery,
            shutdown,
            limiter,
            slot,
        } = parts;
        let trusted = cfg.my_networks.iter().any(|n| n.contains(peer));
        Session {
            io,
            inbuf: BytesMut::with_capacity(READ_CHUNK),
            out: Vec::new(),
            lines: LineReader::new(cfg.max_line_length),
            cfg,
            delivery,
            shutdown,
            peer,
            helo: None,
            tx: None,
            errors: 0,
            limiter,
            _slot: slot,
            trusted,
            authed: None,
            messages_seen: 0,
            recipients_seen: 0,
            linger: false,
        }
    }

    /// Runs the session to its end. I/O errors and disconnects end it quietly (logged at
    /// debug); nothing is delivered for a transaction that did not reach its end of data.
    pub(crate) async fn run(mut self) {
        match self.serve().await {
            Ok(()) => debug!("session closed"),
            Err(e) => debug!(error = %e, "session ended by I/O error"),
        }
        let _ = self.io.shutdown().await;
        if self.linger {
            self.drain().await;
        }
    }

    /// After a close with client input left unread: reads and drops what still comes
    /// (bounded in time and size), so the kernel does not answer it with a reset that
    /// could destroy our last reply before the client read it.
    async fn drain(&mut self) {
        const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
        const LINGER_BYTES: usize = 1 << 20;
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut dropped = 0;
        let mut scratch = vec![0u8; READ_CHUNK];
        while dropped < LINGER_BYTES {
            match tokio::time::timeout_at(deadline, self.io.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => dropped += n,
                _ => break,
            }
        }
    }

    async fn serve(&mut self) -> io::Result<()> {
        // RFC 5321 §4.2, §3.1: the greeting carries no enhanced status code (RFC 2034 §3).
        let kind = match self.cfg.protocol {
            Protocol::Smtp => "ESMTP",
            Protocol::Lmtp => "LMTP",
        };
        let greeting = format!("{} {kind} zcs ready", self.cfg.hostname);
        self.push(Reply::plain(220, vec![greeting]));

        loop {
            let flow = match self.lines.next(&mut self.inbuf) {
                LineEvent::Line(line) => self.command(&line).await?,
                // RFC 5321 §4.5.3.1.4: the line is refused, the session goes on.
                LineEvent::TooLong => {
                    self.protocol_error(Reply::new(500, Status(5, 5, 2), "Error: line too long"))
                }
                LineEvent::NeedMore => {
                    // RFC 2920 §3.2: replies are sent when no more input is waiting.
                    self.flush().await?;
                    match self.fill(true).await? {
                        Wait::Ready => Flow::Continue,
                        Wait::Eof => {
                            debug!("client disconnected");
                            Flow::Abort
                        }
                        Wait::Timeout => self.timeout(),
                        Wait::Shutdown => {
                            let text = format!("{} Service shutting down", self.cfg.hostname);
                            self.push(Reply::new(421, Status(4, 3, 2), text));
                            Flow::Close
                        }
                    }
                }
            };
            match flow {
                Flow::Continue if self.out.len() >= OUT_HIGH_WATER => self.flush().await?,
                Flow::Continue => {}
                Flow::Close => return self.flush().await,
                Flow::Abort => return Ok(()),
            }
        }
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let command = match parse_command(line) {
            Ok(command) => command,
            Err(e) => {
                debug!(error = %e, "bad command");
                if is_bdat(line) {
                    // RFC 3030 §2: a chunk follows a BDAT line; with its size unreadable
                    // the chunk cannot be skipped, and its bytes must never be read as
                    // commands (they could carry a whole smuggled transaction).
                    self.push(parse_error_reply(&e));
                    return Ok(Flow::Close);
                }
                return Ok(self.protocol_error(parse_error_reply(&e)));
            }
        };
        let ok = |text: &str| Reply::new(250, Status(2, 0, 0), text.to_string());
        let flow = match command {
            Command::Helo(name) => self.helo(HeloKind::Helo, name),
            Command::Ehlo(name) => self.helo(HeloKind::Ehlo, name),
            Command::Lhlo(name) => self.helo(HeloKind::Lhlo, name),
            Command::Mail { from, params } => self.mail(from, &params).await,
            Command::Rcpt { to, params } => self.rcpt(to, &params).await,
            Command::Data => return self.data().await,
            Command::StartTls => return self.starttls().await,
            Command::Auth { mechanism, initial } => return self.auth(&mechanism, initial).await,
            Command::Bdat { size, last } => return self.bdat(size, last).await,
            Command::Rset => {
                // RFC 5321 §4.1.1.5
                self.tx = None;
                self.push(ok("Ok"));
                Flow::Continue
            }
            Command::Noop => {
                self.push(ok("Ok"));
                Flow::Continue
            }
            Command::Quit => {
                let text = format!("{} closing connection", self.cfg.hostname);
                self.push(Reply::new(221, Status(2, 0, 0), text));
                Flow::Close
            }
            Command::Vrfy(_) => {
                // RFC 5321 §3.5.3: 252 when we will not verify but would take the mail.
                let text = "Cannot VRFY user; send mail and RCPT will tell";
                self.push(Reply::new(252, Status(2, 0, 0), text));
                Flow::Continue
            }
            Command::Help(_) => {
                let hello = match self.cfg.protocol {
                    Protocol::Smtp => "HELO EHLO",
                    Protocol::Lmtp => "LHLO",
                };
                let text = format!(
                    "Commands: {hello} STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"
                );
                self.push(Reply::new(214, Status(2, 0, 0), text));
                Flow::Continue
            }
            Command::NotImplemented(verb) => {
                debug!(cmd = verb, "command not offered");
                // RFC 5321 §4.2.4: recognized but not implemented.
                let reply = Reply::new(502, Status(5, 5, 1), "Error: command not implemented");
                self.protocol_error(reply)
            }
        };
        Ok(flow)
    }

    /// HELO/EHLO (RFC 5321 §4.1.1.1) or LHLO (RFC 2033 §4.1); resets any transaction.
    fn helo(&mut self, kind: HeloKind, name: String) -> Flow {
        let allowed = match self.cfg.protocol {
            Protocol::Smtp => kind != HeloKind::Lhlo,
            Protocol::Lmtp => kind == HeloKind::Lhlo,
        };
        if !allowed {
            // An SMTP server does not know LHLO; an LMTP server refuses HELO/EHLO.
            let (status, text) = match self.cfg.protocol {
                Protocol::Smtp => (Status(5, 5, 2), "Error: command not recognized"),
                Protocol::Lmtp => (Status(5, 5, 1), "Error: this is LMTP, use LHLO"),
            };
            return self.protocol_error(Reply::new(500, status, text));
        }
        self.tx = None;
        let mut lines = vec![self.cfg.hostname.clone()];
        if kind != HeloKind::Helo {
            lines.extend([
                "PIPELINING".to_string(),                      // RFC 2920
                format!("SIZE {}", self.cfg.max_message_size), // RFC 1870
                "8BITMIME".to_string(),                        // RFC 6152
                "ENHANCEDSTATUSCODES".to_string(),             // RFC 2034
                "CHUNKING".to_string(),                        // RFC 3030
                "DSN".to_string(),                             // RFC 3461
            ]);
            if self.starttls_offered() {
                lines.push("STARTTLS".to_string()); // RFC 3207 §4
            }
            if self.auth_offered() {
                lines.push("AUTH PLAIN LOGIN".to_string()); // RFC 4954 §3
            }
            lines.push("SMTPUTF8".to_string()); // RFC 6531
        }
        self.helo = Some((kind, name));
        self.push(Reply::plain(250, lines));
        Flow::Continue
    }

    /// `MAIL FROM` (RFC 5321 §4.1.1.2).
    async fn mail(&mut self, from: ReversePath, params: &[Param]) -> Flow {
        if self.helo.is_none() {
            return self.bad_sequence(self.hello_first());
        }
        if self.tx.is_some() {
            return self.bad_sequence("Error: nested MAIL command");
        }
        let params = match mail_params(params) {
            Ok(p) => p,
            Err(ParamError::Unsupported(p)) => {
                let text = format!("Unsupported option: {}", crate::reply::sanitize(&p));
                return self.protocol_error(Reply::new(555, Status(5, 5, 4), text));
            }
            Err(ParamError::Malformed(p)) => {
                let text = format!("Bad parameter syntax: {p}");
                return self.protocol_error(Reply::new(501, Status(5, 5, 4), text));
            }
        };
        // RFC 1870 §6.2: a declared size over the limit is refused at once.
        if params.size.is_some_and(|s| s > self.cfg.max_message_size) {
            let text = "Message size exceeds fixed maximum message size";
            self.push(Reply::new(552, Status(5, 3, 4), text));
            return Flow::Continue;
        }
        if let ReversePath::Mailbox(m) = &from
            && m.is_utf8()
            && !params.smtputf8
        {
            return self.utf8_refused();
        }
        let mail_from = from.address();
        if let Some(reply) = self.mail_policy(&mail_from) {
            self.push(reply);
            return Flow::Continue;
        }
        let id = new_message_id();
        let milters = match self.begin_milters(&id, &mail_from).await {
            Ok(m) => m,
            Err(refusal) => {
                self.push(refusal_reply(refusal));
                return Flow::Continue;
            }
        };
        self.tx = Some(Transaction {
            id,
            mail_from,
            size_hint: params.size,
            smtputf8: params.smtputf8,
            body: params.body,
            ret: params.ret,
            envid: params.envid,
            recipients: Vec::new(),
            rcpt_envelopes: Vec::new(),
            bdat: None,
            milters,
        });
        self.push(Reply::new(250, Status(2, 1, 0), "Ok"));
        Flow::Continue
    }

    /// `RCPT TO` (RFC 5321 §4.1.1.3); the recipient is looked up at once.
    async fn rcpt(&mut self, to: ForwardPath, params: &[Param]) -> Flow {
        let (count, smtputf8) = match &self.tx {
            None => return self.bad_sequence("Error: need MAIL command"),
            Some(tx) if tx.bdat.is_some() => {
                return self.bad_sequence("Error: RCPT not allowed during BDAT");
            }
            Some(tx) => (tx.recipients.len(), tx.smtputf8),
        };
        let rcpt_params = match rcpt_params(params) {
            Ok(p) => p,
            Err(ParamError::Unsupported(p)) => {
                let text = format!("Unsupported option: {}", crate::reply::sanitize(&p));
                return self.protocol_error(Reply::new(555, Status(5, 5, 4), text));
            }
            Err(ParamError::Malformed(p)) => {
                let text = format!("Bad parameter syntax: {p}");
                return self.protocol_error(Reply::new(501, Status(5, 5, 4), text));
            }
        };
        if count >= self.cfg.max_recipients {
            // RFC 5321 §4.5.3.1.10
            self.push(Reply::new(
                452,
                Status(4, 5, 3),
                "Error: too many recipients",
            ));
            return Flow::Continue;
        }
        if to.is_utf8() && !smtputf8 {
            return self.utf8_refused();
        }

        let address = to.address();
        let (status, relay) = match self.rcpt_policy(&to).await {
            policy::RcptDecision::Refuse(reply) => {
                self.push(reply);
                return Flow::Continue;
            }
            policy::RcptDecision::Relay => (RecipientStatus::Local(address.clone()), true),
            policy::RcptDecision::Local => {
                let sender = crate::delivery::SenderFacts {
                    mail_from: self.tx.as_ref().map(|t| t.mail_from.as_str()).unwrap_or(""),
                    authenticated: self.authed.as_ref().map(|u| u.account.as_str()),
                    trusted: self.trusted,
                };
                let status = match self.cfg.protocol {
                    Protocol::Smtp => {
                        self.delivery
                            .resolve_recipient_from(&address, &sender)
                            .await
                    }
                    Protocol::Lmtp => self.delivery.resolve_recipient(&address).await,
                };
                (status, false)
            }
        };
        debug!(rcpt = %address, ?status, relay, "recipient looked up");
        // The milters hear of recipients we accept, and may refuse them.
        if matches!(status, RecipientStatus::Local(_))
            && let Some(milters) = self.tx.as_mut().and_then(|tx| tx.milters.as_mut())
            && let Err(refusal) = milters.rcpt(&address).await
        {
            self.push(refusal_reply(refusal));
            return Flow::Continue;
        }
        let reply = rcpt_reply(&address, &status);
        if let (RecipientStatus::Local(canonical), Some(tx)) = (status, self.tx.as_mut()) {
            tx.recipients.push(AcceptedRecipient { address, canonical });
            tx.rcpt_envelopes.push(RecipientEnvelope {
                params: rcpt_params,
                relay,
            });
            self.recipients_seen += 1;
        }
        self.push(reply);
        Flow::Continue
    }

    /// `DATA` (RFC 5321 §4.1.1.4): reads the content and delivers it.
    async fn data(&mut self) -> io::Result<Flow> {
        let tx = match &self.tx {
            None => return Ok(self.bad_sequence("Error: need MAIL command")),
            Some(tx) if tx.bdat.is_some() => {
                return Ok(self.bad_sequence("Error: DATA not allowed after BDAT"));
            }
            Some(tx) => tx,
        };
        if tx.recipients.is_empty() {
            // RFC 2920 §3.1 / RFC 5321 §3.3: DATA with no accepted recipient.
            self.push(Reply::new(
                554,
                Status(5, 5, 1),
                "Error: no valid recipients",
            ));
            return Ok(Flow::Continue);
        }
        let id = tx.id.clone();
        let header = self.trace_header(&id, tx.smtputf8);
        let mut reader = DotReader::new(MessageBuffer::new(
            header,
            self.cfg.max_message_size,
            tx.size_hint,
        ));
        // RFC 2034 §3 puts enhanced codes on 2xx/4xx/5xx replies only, not on 354.
        let go_ahead = "End data with <CR><LF>.<CR><LF>".to_string();
        self.push(Reply::plain(354, vec![go_ahead]));
        self.flush().await?;

        loop {
            let (used, done) = reader.feed(&self.inbuf);
            self.inbuf.advance(used);
            if done {
                break;
            }
            match self.fill(false).await? {
                Wait::Ready | Wait::Shutdown => {}
                Wait::Eof => {
                    debug!(received = reader.size(), "client disconnected during DATA");
                    return Ok(Flow::Abort);
                }
                Wait::Timeout => return Ok(self.timeout()),
            }
        }
        Ok(self.finish_message(id, reader.finish()).await)
    }

    /// `BDAT size [LAST]` (RFC 3030 §2): the chunk is read even when the command is
    /// refused, since the client may already be sending it; but a chunk that would take
    /// the message past the size limit is refused at once and never read.
    async fn bdat(&mut self, size: u64, last: bool) -> io::Result<Flow> {
        if let Some(flow) = self.bdat_too_large(size, last) {
            return Ok(flow);
        }
        let refusal = match &self.tx {
            None => Some(Reply::new(503, Status(5, 5, 1), "Error: need MAIL command")),
            Some(tx) if tx.recipients.is_empty() => Some(Reply::new(
                554,
                Status(5, 5, 1),
                "Error: no valid recipients",
            )),
            Some(_) => None,
        };
        if refusal.is_none()
            && let Some(tx) = self.tx.as_mut()
            && tx.bdat.is_none()
        {
            let id = tx.id.clone();
            let smtputf8 = tx.smtputf8;
            let size_hint = tx.size_hint;
            let header = self.trace_header(&id, smtputf8);
            let buffer = MessageBuffer::new(header, self.cfg.max_message_size, size_hint);
            if let Some(tx) = self.tx.as_mut() {
                tx.bdat = Some((id, buffer));
            }
        }

        let mut remaining = size;
        loop {
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(self.inbuf.len());
            if refusal.is_none()
                && let Some((_, buffer)) = self.tx.as_mut().and_then(|tx| tx.bdat.as_mut())
            {
                buffer.push(&self.inbuf[..take]);
            }
            self.inbuf.advance(take);
            remaining -= take as u64;
            if remaining == 0 {
                break;
            }
            match self.fill(false).await? {
                Wait::Ready | Wait::Shutdown => {}
                Wait::Eof => {
                    debug!("client disconnected during BDAT");
                    return Ok(Flow::Abort);
                }
                Wait::Timeout => return Ok(self.timeout()),
            }
        }

        if let Some(reply) = refusal {
            return Ok(if reply.code() == 503 {
                self.protocol_error(reply)
            } else {
                self.push(reply);
                Flow::Continue
            });
        }
        let Some((id, buffer)) = self.tx.as_mut().and_then(|tx| tx.bdat.take()) else {
            return Ok(Flow::Continue);
        };
        if buffer.is_too_large() && !last {
            // The transaction is abandoned; later chunks meet "need MAIL command".
            self.tx = None;
            let text = "Message size exceeds fixed maximum message size";
            self.push(Reply::new(552, Status(5, 3, 4), text));
            return Ok(Flow::Continue);
        }
        if !last {
            let text = format!("{size} octets received");
            if let Some(tx) = self.tx.as_mut() {
                tx.bdat = Some((id, buffer));
            }
            self.push(Reply::new(250, Status(2, 0, 0), text));
            return Ok(Flow::Continue);
        }
        Ok(self.finish_message(id, buffer.finish()).await)
    }

    /// RFC 1870 §6.3 with RFC 3030 §2: when the announced chunk would take the message
    /// past the size limit, `552 5.3.4` at once and the connection is closed. Reading
    /// (and dropping) an announced terabyte would keep the session busy for nothing,
    /// and the chunk octets already sent cannot be told from commands without reading
    /// them, so the session cannot go on. `None`: the chunk fits (or the command is
    /// refused for another reason, which consumes the chunk as before).
    fn bdat_too_large(&mut self, size: u64, last: bool) -> Option<Flow> {
        let tx = self.tx.as_ref().filter(|tx| !tx.recipients.is_empty())?;
        let received = tx.bdat.as_ref().map_or(0, |(_, b)| b.size());
        if received.saturating_add(size) <= self.cfg.max_message_size {
            return None;
        }
        // RFC 2033 §4.2: LMTP answers the last chunk once per recipient.
        let count = match (self.cfg.protocol, last) {
            (Protocol::Lmtp, true) => tx.recipients.len(),
            _ => 1,
        };
        info!(
            size,
            received,
            limit = self.cfg.max_message_size,
            "BDAT chunk too large"
        );
        self.tx = None;
        self.linger = true;
        let text = "Message size exceeds fixed maximum message size";
        (0..count).for_each(|_| self.push(Reply::new(552, Status(5, 3, 4), text)));
        Some(Flow::Close)
    }

    /// The `Received` field for a message with id `id` (layout on `InboundMessage`).
    fn trace_header(&self, id: &str, smtputf8: bool) -> Vec<u8> {
        let (kind, helo) = match &self.helo {
            Some((kind, helo)) => (*kind, helo.as_str()),
            None => (HeloKind::Helo, ""),
        };
        // RFC 3848 §2 and RFC 6531 §3.7.3 "with" protocol types.
        let with = match (kind, smtputf8) {
            (HeloKind::Lhlo, false) => "LMTP",
            (HeloKind::Lhlo, true) => "UTF8LMTP",
            (HeloKind::Helo, _) => "SMTP",
            (HeloKind::Ehlo, false) => "ESMTP",
            (HeloKind::Ehlo, true) => "UTF8SMTP",
        };
        received_header(
            helo,
            self.peer,
            &self.cfg.hostname,
            with,
            id,
            &rfc5322_now(),
        )
    }

    fn hello_first(&self) -> &'static str {
        match self.cfg.protocol {
            Protocol::Smtp => "Error: send HELO/EHLO first",
            Protocol::Lmtp => "Error: send LHLO first",
        }
    }

    /// RFC 5321 §4.2.4 / RFC 3463 §3.6: `503 5.5.1` bad sequence of commands.
    fn bad_sequence(&mut self, text: &str) -> Flow {
        self.protocol_error(Reply::new(503, Status(5, 5, 1), text.to_string()))
    }

    /// RFC 6531 §3.5: a non-ASCII address without `SMTPUTF8`.
    fn utf8_refused(&mut self) -> Flow {
        let text = "Non-ASCII address requires SMTPUTF8";
        self.push(Reply::new(553, Status(5, 6, 7), text));
        Flow::Continue
    }

    /// Sends an error reply and counts it; at `MAX_ERRORS` the session is closed.
    fn protocol_error(&mut self, reply: Reply) -> Flow {
        self.push(reply);
        self.errors += 1;
        if self.errors < self.cfg.limits.max_errors.max(1) {
            return Flow::Continue;
        }
        debug!(errors = self.errors, "too many errors, closing");
        let text = format!("{} Error: too many errors", self.cfg.hostname);
        self.push(Reply::new(421, Status(4, 7, 0), text));
        Flow::Close
    }

    /// RFC 5321 §4.5.3.2.7: the client went quiet.
    fn timeout(&mut self) -> Flow {
        debug!("idle timeout");
        let text = format!("{} Error: timeout exceeded", self.cfg.hostname);
        self.push(Reply::new(421, Status(4, 4, 2), text));
        Flow::Close
    }

    fn push(&mut self, reply: Reply) {
        reply.write_to(&mut self.out);
    }

    /// Writes pending replies, giving up after the idle timeout.
    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.io.write_all(&self.out).await?;
            self.io.flush().await
        };
        match tokio::time::timeout(self.cfg.idle_timeout, write).await {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
        self.out.clear();
        Ok(())
    }

    /// Reads more input into `inbuf`, waiting at most the idle timeout; when
    /// `watch_shutdown`, a shutdown signal also ends the wait.
    async fn fill(&mut self, watch_shutdown: bool) -> io::Result<Wait> {
        if watch_shutdown && shutdown_requested(&self.shutdown) {
            return Ok(Wait::Shutdown);
        }
        self.inbuf.reserve(READ_CHUNK);
        let read = tokio::time::timeout(self.cfg.idle_timeout, self.io.read_buf(&mut self.inbuf));
        tokio::pin!(read);
        loop {
            tokio::select! {
                result = &mut read => return match result {
                    Err(_) => Ok(Wait::Timeout),
                    Ok(Ok(0)) => Ok(Wait::Eof),
                    Ok(Ok(_)) => Ok(Wait::Ready),
                    Ok(Err(e)) => Err(e),
                },
                changed = self.shutdown.changed(), if watch_shutdown => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        return Ok(Wait::Shutdown);
                    }
                }
            }
        }
    }
}

/// True once shutdown was signalled or its sender is gone.
pub(crate) fn shutdown_requested(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// A milter's refusal of a command as our reply.
fn refusal_reply(refusal: MilterRefusal) -> Reply {
    let (c, s, d) = refusal.status;
    Reply::new(refusal.code, Status(c, s, d), refusal.text)
}

/// Whether `line` is a BDAT command (whatever its arguments).
fn is_bdat(line: &[u8]) -> bool {
    line.len() >= 4
        && line[..4].eq_ignore_ascii_case(b"BDAT")
        && line.get(4).is_none_or(|c| c.is_ascii_whitespace())
}

/// The reply a malformed command line earns (RFC 5321 §4.2.4, RFC 3463 §3.6, §3.2).
fn parse_error_reply(e: &ParseError) -> Reply {
    match e {
        ParseError::Unrecognized => {
            Reply::new(500, Status(5, 5, 2), "Error: command not recognized")
        }
        ParseError::Syntax(why) => Reply::new(501, Status(5, 5, 4), format!("Syntax: {why}")),
        ParseError::BadSender(why) => Reply::new(
            501,
            Status(5, 1, 7),
            format!("Bad sender address syntax: {why}"),
        ),
        ParseError::BadRecipient(why) => Reply::new(
            501,
            Status(5, 1, 3),
            format!("Bad recipient address syntax: {why}"),
        ),
    }
}
