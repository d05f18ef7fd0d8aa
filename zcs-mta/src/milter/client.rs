//! One conversation with one milter, step by step: connect (over TCP or a `unix:`
//! socket) and negotiate, then connect/HELO/MAIL, each RCPT, and at the end of data
//! DATA, the header fields, the body and the end-of-body modifications and verdict.
//! How the steps of several milters combine, and the default action on failures, is
//! `transaction`.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, warn};

use super::MilterSettings;
use super::apply::split;
use super::codec::{self, Command, Family, Response, action, step};
use crate::milter::MessageEdit;

/// What the milters are told about the session and the message.
#[derive(Clone, Copy, Debug)]
pub struct MilterContext<'a> {
    /// Our host name (macro `j`).
    pub hostname: &'a str,
    /// The client's address.
    pub client_ip: IpAddr,
    /// The HELO/EHLO argument.
    pub helo: &'a str,
    /// The envelope sender, `""` for `<>`.
    pub mail_from: &'a str,
    /// Envelope recipients (for [`super::run_milters`]; a staged transaction is told
    /// each recipient as it comes).
    pub rcpts: &'a [String],
    /// The authenticated account, if any (macro `{auth_authen}`).
    pub authenticated: Option<&'a str>,
    /// Message id (macro `i`), for logs too.
    pub id: &'a str,
}

/// The milters' decision on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MilterOutcome {
    /// Go on, with these changes.
    Deliver(MessageEdit),
    /// Refuse for good: code, enhanced status, text.
    Reject(u16, (u8, u16, u16), String),
    /// Refuse for now.
    TempFail(u16, (u8, u16, u16), String),
    /// Say `250` and drop the message.
    Discard,
}

/// Why a conversation failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum MilterError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("protocol: {0}")]
    Codec(#[from] codec::CodecError),
    #[error("unexpected reply {0:?}")]
    Unexpected(Box<Response>),
}

/// How one milter ended the message.
pub(super) enum Verdict {
    /// Continue or accept: apply the modifications.
    Go(Vec<Response>),
    /// Refused, deferred or discarded.
    Final(MilterOutcome),
}

/// A milter's answer to one step before the content.
pub(super) enum Answer {
    /// Continue: go on with the next step.
    Go,
    /// Accept: this milter wants nothing more of this message.
    Accept,
    /// Refused, deferred or discarded (a refusal of RCPT concerns that recipient only).
    Final(MilterOutcome),
}

/// A reply text `"550 5.7.1 text"` as an outcome: 4xx tempfails, 5xx rejects; anything
/// else is a plain reject.
fn reply_outcome(text: &str) -> MilterOutcome {
    let mut parts = text.splitn(3, ' ');
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let status = parts.next().and_then(|s| {
        let mut n = s.split('.').map(|p| p.parse::<u16>().ok());
        let c = u8::try_from(n.next()??).ok()?;
        Some((c, n.next()??, n.next()??))
    });
    let rest = parts.next().unwrap_or("");
    let after_code = text.split_once(' ').map_or("", |(_, t)| t);
    let clean = crate::reply::sanitize(if status.is_some() { rest } else { after_code });
    match code {
        Some(c @ 400..=499) => MilterOutcome::TempFail(c, status.unwrap_or((4, 7, 1)), clean),
        Some(c @ 500..=599) => MilterOutcome::Reject(c, status.unwrap_or((5, 7, 1)), clean),
        _ => MilterOutcome::Reject(550, (5, 7, 1), "Message rejected by content filter".into()),
    }
}

/// A milter's answer that ends the message early.
fn early(reply: &Response) -> Option<MilterOutcome> {
    match reply {
        Response::Reject => Some(MilterOutcome::Reject(
            550,
            (5, 7, 1),
            "Message rejected by content filter".into(),
        )),
        Response::TempFail => Some(MilterOutcome::TempFail(
            451,
            (4, 7, 1),
            "Message deferred by content filter, try again later".into(),
        )),
        Response::ReplyCode(text) => Some(reply_outcome(text)),
        Response::Discard => Some(MilterOutcome::Discard),
        _ => None,
    }
}

/// A byte stream to a milter: TCP or a Unix-domain socket.
trait MilterStream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> MilterStream for T {}

/// Connects to `addr`: `unix:/path` is a Unix-domain socket, anything else `host:port`.
async fn connect(addr: &str) -> std::io::Result<Box<dyn MilterStream>> {
    if let Some(path) = addr.strip_prefix("unix:") {
        let stream = tokio::net::UnixStream::connect(path).await?;
        return Ok(Box::new(stream));
    }
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    Ok(Box::new(stream))
}

struct Conn {
    stream: Box<dyn MilterStream>,
}

impl Conn {
    async fn send(&mut self, cmd: &Command) -> Result<(), MilterError> {
        self.stream.write_all(&cmd.encode()).await?;
        Ok(())
    }

    async fn read(&mut self, wait: Duration) -> Result<Response, MilterError> {
        let read = async {
            let mut prefix = [0u8; 4];
            self.stream.read_exact(&mut prefix).await?;
            let len = codec::packet_len(prefix)?;
            let mut packet = vec![0u8; len];
            self.stream.read_exact(&mut packet).await?;
            Ok::<_, MilterError>(Response::decode(&packet)?)
        };
        tokio::time::timeout(wait, read)
            .await
            .map_err(|_| MilterError::Timeout)?
    }

    /// Reads a reply, skipping progress packets (each restarts the timer).
    async fn reply(&mut self, wait: Duration) -> Result<Response, MilterError> {
        loop {
            match self.read(wait).await? {
                Response::Progress => continue,
                r => return Ok(r),
            }
        }
    }

    /// Sends `cmd` (with `macros` first, if any) and, unless `no_reply`, reads the reply.
    async fn step(
        &mut self,
        macros: Option<Command>,
        cmd: Command,
        no_reply: bool,
        wait: Duration,
    ) -> Result<Answer, MilterError> {
        if let Some(m) = macros {
            self.send(&m).await?;
        }
        self.send(&cmd).await?;
        if no_reply {
            return Ok(Answer::Go);
        }
        let reply = self.reply(wait).await?;
        if let Some(outcome) = early(&reply) {
            return Ok(Answer::Final(outcome));
        }
        match reply {
            Response::Continue => Ok(Answer::Go),
            Response::Accept => Ok(Answer::Accept),
            // Only a body chunk may be answered with skip; take it as continue elsewhere.
            Response::Skip => Ok(Answer::Go),
            other => Err(MilterError::Unexpected(Box::new(other))),
        }
    }
}

/// The header fields of `content`, the value's leading space removed unless the milter
/// asked for it.
fn header_commands(content: &[u8], lead_space: bool) -> (Vec<Command>, &[u8]) {
    let (fields, body) = split(content);
    let cmds = fields
        .into_iter()
        .map(|f| {
            let value = if lead_space {
                f.value
            } else {
                f.value.strip_prefix(' ').unwrap_or(&f.value).to_string()
            };
            Command::Header(f.name, value)
        })
        .collect();
    (cmds, body)
}

fn macros(for_cmd: u8, pairs: &[(&str, &str)]) -> Command {
    Command::Macro {
        for_cmd,
        pairs: pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

/// One open conversation with one milter, for one message.
pub(super) struct Conversation {
    /// Where the milter listens, for logs.
    pub(super) addr: String,
    conn: Conn,
    /// Negotiated actions (`action::*`) and steps (`step::*`).
    actions: u32,
    proto: u32,
    wait: Duration,
}

impl Conversation {
    /// Connects to the milter at `addr`, negotiates, and sends the connect, HELO and
    /// MAIL steps of `ctx`.
    pub(super) async fn open(
        addr: &str,
        settings: &MilterSettings,
        ctx: MilterContext<'_>,
    ) -> Result<(Conversation, Answer), MilterError> {
        let stream = tokio::time::timeout(settings.connect_timeout, connect(addr))
            .await
            .map_err(|_| MilterError::Timeout)??;
        let mut conn = Conn { stream };
        // Option negotiation: we offer every action and every skippable step.
        conn.send(&Command::OptNeg {
            version: codec::VERSION,
            actions: action::SUPPORTED,
            protocol: step::SUPPORTED,
        })
        .await?;
        let (actions, proto) = match conn.read(settings.connect_timeout).await? {
            Response::OptNeg {
                version,
                actions,
                protocol,
            } if version >= 2 => (actions & action::SUPPORTED, protocol),
            other => return Err(MilterError::Unexpected(Box::new(other))),
        };
        debug!(
            id = ctx.id,
            milter = addr,
            actions,
            protocol = proto,
            "milter negotiated"
        );
        let mut conv = Conversation {
            addr: addr.to_string(),
            conn,
            actions,
            proto,
            wait: settings.command_timeout,
        };
        let answer = conv.hello_and_mail(ctx).await?;
        Ok((conv, answer))
    }

    fn has(&self, flag: u32) -> bool {
        self.proto & flag != 0
    }

    /// The connect, HELO and MAIL steps; stops at the first answer other than continue.
    async fn hello_and_mail(&mut self, ctx: MilterContext<'_>) -> Result<Answer, MilterError> {
        let wait = self.wait;
        let ip = ctx.client_ip.to_string();
        let literal = crate::trace::address_literal(ctx.client_ip);
        if !self.has(step::NO_CONNECT) {
            let family = match ctx.client_ip {
                IpAddr::V4(_) => Family::Inet(0, ip.clone()),
                IpAddr::V6(_) => Family::Inet6(0, ip.clone()),
            };
            let m = Some(macros(
                b'C',
                &[
                    ("j", ctx.hostname),
                    ("{daemon_name}", "zcs-mta"),
                    ("v", "zcs"),
                    ("{client_addr}", &ip),
                    ("_", &literal),
                ],
            ));
            let cmd = Command::Connect {
                hostname: literal.clone(),
                family,
            };
            let no_reply = self.has(step::NR_CONNECT);
            match self.conn.step(m, cmd, no_reply, wait).await? {
                Answer::Go => {}
                other => return Ok(other),
            }
        }
        if !self.has(step::NO_HELO) {
            let cmd = Command::Helo(ctx.helo.to_string());
            let no_reply = self.has(step::NR_HELO);
            match self.conn.step(None, cmd, no_reply, wait).await? {
                Answer::Go => {}
                other => return Ok(other),
            }
        }
        if self.has(step::NO_MAIL) {
            return Ok(Answer::Go);
        }
        let from = format!("<{}>", ctx.mail_from);
        let auth = ctx.authenticated.unwrap_or("");
        let mut pairs = vec![("i", ctx.id), ("{mail_addr}", ctx.mail_from)];
        if !auth.is_empty() {
            pairs.push(("{auth_authen}", auth));
        }
        let cmd = Command::Mail(vec![from]);
        let m = Some(macros(b'M', &pairs));
        let no_reply = self.has(step::NR_MAIL);
        self.conn.step(m, cmd, no_reply, wait).await
    }

    /// The RCPT step for one recipient.
    pub(super) async fn rcpt(&mut self, rcpt: &str) -> Result<Answer, MilterError> {
        if self.has(step::NO_RCPT) {
            return Ok(Answer::Go);
        }
        let m = Some(macros(b'R', &[("{rcpt_addr}", rcpt)]));
        let cmd = Command::Rcpt(vec![format!("<{rcpt}>")]);
        let no_reply = self.has(step::NR_RCPT);
        self.conn.step(m, cmd, no_reply, self.wait).await
    }

    /// DATA, the header fields and body of `content`, the end of body: the milter's
    /// modifications and verdict. `content_timeout` bounds the end-of-body reply.
    pub(super) async fn content(
        &mut self,
        id: &str,
        content: &[u8],
        content_timeout: Duration,
    ) -> Result<Verdict, MilterError> {
        let wait = self.wait;
        let go = |a: Answer| match a {
            Answer::Go => None,
            Answer::Accept => Some(Verdict::Go(Vec::new())),
            Answer::Final(o) => Some(Verdict::Final(o)),
        };
        if !self.has(step::NO_DATA) {
            let no_reply = self.has(step::NR_DATA);
            let answer = self.conn.step(None, Command::Data, no_reply, wait).await?;
            if let Some(v) = go(answer) {
                return Ok(v);
            }
        }
        let (headers, body) = header_commands(content, self.has(step::HEADER_LEADING_SPACE));
        if !self.has(step::NO_HEADERS) {
            let no_reply = self.has(step::NR_HEADER);
            for h in headers {
                if let Some(v) = go(self.conn.step(None, h, no_reply, wait).await?) {
                    return Ok(v);
                }
            }
        }
        if !self.has(step::NO_EOH) {
            let no_reply = self.has(step::NR_EOH);
            let answer = self
                .conn
                .step(None, Command::EndOfHeaders, no_reply, wait)
                .await?;
            if let Some(v) = go(answer) {
                return Ok(v);
            }
        }
        if !self.has(step::NO_BODY) {
            for chunk in body.chunks(codec::BODY_CHUNK) {
                self.conn.send(&Command::Body(chunk.to_vec())).await?;
                if self.has(step::NR_BODY) {
                    continue;
                }
                match self.conn.reply(wait).await? {
                    Response::Continue => {}
                    Response::Skip => break,
                    Response::Accept => return Ok(Verdict::Go(Vec::new())),
                    other => match early(&other) {
                        Some(outcome) => return Ok(Verdict::Final(outcome)),
                        None => return Err(MilterError::Unexpected(Box::new(other))),
                    },
                }
            }
        }
        // End of body: modifications, then the verdict.
        self.conn.send(&macros(b'E', &[("i", id)])).await?;
        self.conn.send(&Command::EndOfBody).await?;
        let mut edits = Vec::new();
        loop {
            let reply = self.conn.reply(content_timeout).await?;
            if let Some(outcome) = early(&reply) {
                return Ok(Verdict::Final(outcome));
            }
            match reply {
                Response::Continue | Response::Accept => return Ok(Verdict::Go(edits)),
                r => {
                    if allowed(&r, self.actions) {
                        edits.push(r);
                    } else {
                        warn!(id, milter = %self.addr, reply = ?r,
                            "milter asked for an action it did not negotiate; ignored");
                    }
                }
            }
        }
    }

    /// Ends the conversation (best effort: the milter may already have closed).
    pub(super) async fn quit(mut self) {
        let _ = self.conn.send(&Command::Quit).await;
    }
}

/// Whether the negotiated action mask allows the modification `r`.
fn allowed(r: &Response, actions: u32) -> bool {
    let need = match r {
        Response::AddHeader(..) => action::ADD_HEADERS,
        Response::InsertHeader(..) => action::ADD_HEADERS,
        Response::ChangeHeader(..) => action::CHANGE_HEADERS,
        Response::AddRcpt(..) => action::ADD_RCPT | action::ADD_RCPT_PAR,
        Response::DelRcpt(..) => action::DEL_RCPT,
        Response::ReplaceBody(..) => action::CHANGE_BODY,
        Response::ChangeFrom(..) => action::CHANGE_FROM,
        Response::Quarantine(..) => action::QUARANTINE,
        _ => return false,
    };
    actions & need != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        assert_eq!(
            reply_outcome("550 5.7.1 go away"),
            MilterOutcome::Reject(550, (5, 7, 1), "go away".into())
        );
        assert_eq!(
            reply_outcome("451 later"),
            MilterOutcome::TempFail(451, (4, 7, 1), "later".into())
        );
        assert!(matches!(
            reply_outcome("junk"),
            MilterOutcome::Reject(550, ..)
        ));
        assert!(allowed(&Response::AddHeader("a".into(), "b".into()), 1));
        assert!(!allowed(&Response::DelRcpt("a".into()), 1));
    }
}
