//! One milter conversation per message and milter: negotiate, replay the SMTP session
//! (connect, HELO, MAIL, RCPT, DATA), send the header fields and the body, and collect
//! the end-of-body modifications and verdict. Failures become the default action.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use super::apply::{apply_edits, bare, split};
use super::codec::{self, Command, Family, Response, action, step};
use super::{DefaultAction, MessageEdit, MilterSettings};

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
    /// Envelope recipients.
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
enum MilterError {
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
enum Verdict {
    /// Continue or accept: apply the modifications.
    Go(Vec<Response>),
    Final(MilterOutcome),
}

/// Asks every milter of `settings` in turn about the message `content` (as the client
/// sent it). Each milter sees the message as the ones before it left it; a reject,
/// tempfail or discard ends the round. A milter that cannot be reached, times out or
/// breaks the protocol gets `settings.default_action`.
pub async fn run_milters(
    settings: &MilterSettings,
    ctx: MilterContext<'_>,
    content: &[u8],
) -> MilterOutcome {
    let mut edit = MessageEdit::default();
    let mut rcpts: Vec<String> = ctx.rcpts.to_vec();
    let mut from = ctx.mail_from.to_string();
    for milter in &settings.milters {
        let current = edit.content.as_deref().unwrap_or(content);
        let this = MilterContext {
            mail_from: &from,
            rcpts: &rcpts,
            ..ctx
        };
        let result = converse(&milter.addr, settings, this, current).await;
        let edits = match result {
            Ok(Verdict::Go(edits)) => edits,
            Ok(Verdict::Final(outcome)) => {
                info!(id = ctx.id, milter = %milter.addr, ?outcome, "milter verdict");
                return outcome;
            }
            Err(e) => {
                warn!(id = ctx.id, milter = %milter.addr, error = %e,
                    action = ?settings.default_action, "milter failed; default action");
                match settings.default_action {
                    DefaultAction::Accept => continue,
                    DefaultAction::Reject => {
                        let text = "Message rejected: content filter unavailable".to_string();
                        return MilterOutcome::Reject(550, (5, 7, 1), text);
                    }
                    DefaultAction::TempFail => {
                        let text = "Content filter unavailable, try again later".to_string();
                        return MilterOutcome::TempFail(451, (4, 7, 1), text);
                    }
                    DefaultAction::Quarantine => {
                        edit.quarantine = Some(format!("milter {} failed", milter.addr));
                        continue;
                    }
                }
            }
        };
        let mut changed_content = false;
        for e in &edits {
            match e {
                Response::AddRcpt(r) => {
                    let r = bare(r);
                    rcpts.push(r.clone());
                    edit.del_rcpts.retain(|d| !d.eq_ignore_ascii_case(&r));
                    edit.add_rcpts.push(r);
                }
                Response::DelRcpt(r) => {
                    let r = bare(r);
                    rcpts.retain(|x| !x.eq_ignore_ascii_case(&r));
                    edit.add_rcpts.retain(|a| !a.eq_ignore_ascii_case(&r));
                    edit.del_rcpts.push(r);
                }
                Response::ChangeFrom(f) => {
                    from = bare(f.split('\0').next().unwrap_or(""));
                    edit.new_from = Some(from.clone());
                }
                Response::Quarantine(reason) => edit.quarantine = Some(reason.clone()),
                Response::AddHeader(..)
                | Response::InsertHeader(..)
                | Response::ChangeHeader(..)
                | Response::ReplaceBody(_) => changed_content = true,
                _ => {}
            }
        }
        if changed_content {
            edit.content = Some(apply_edits(current, &edits));
        }
    }
    MilterOutcome::Deliver(edit)
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

struct Conn {
    stream: TcpStream,
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
    /// `Ok(None)`: go on. `Ok(Some(v))`: the message is decided.
    async fn step(
        &mut self,
        macros: Option<Command>,
        cmd: Command,
        no_reply: bool,
        wait: Duration,
    ) -> Result<Option<Verdict>, MilterError> {
        if let Some(m) = macros {
            self.send(&m).await?;
        }
        self.send(&cmd).await?;
        if no_reply {
            return Ok(None);
        }
        let reply = self.reply(wait).await?;
        if let Some(outcome) = early(&reply) {
            return Ok(Some(Verdict::Final(outcome)));
        }
        match reply {
            Response::Continue => Ok(None),
            Response::Accept => Ok(Some(Verdict::Go(Vec::new()))),
            // Only a body chunk may be answered with skip; take it as continue elsewhere.
            Response::Skip => Ok(None),
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

/// One conversation with the milter at `addr`.
async fn converse(
    addr: &str,
    settings: &MilterSettings,
    ctx: MilterContext<'_>,
    content: &[u8],
) -> Result<Verdict, MilterError> {
    let wait = settings.command_timeout;
    let stream = tokio::time::timeout(settings.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| MilterError::Timeout)??;
    let _ = stream.set_nodelay(true);
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
    let has = |flag: u32| proto & flag != 0;
    debug!(
        id = ctx.id,
        milter = addr,
        actions,
        protocol = proto,
        "milter negotiated"
    );

    let verdict = async {
        let ip = ctx.client_ip.to_string();
        let literal = crate::trace::address_literal(ctx.client_ip);
        if !has(step::NO_CONNECT) {
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
            if let Some(v) = conn.step(m, cmd, has(step::NR_CONNECT), wait).await? {
                return Ok(v);
            }
        }
        if !has(step::NO_HELO) {
            let cmd = Command::Helo(ctx.helo.to_string());
            if let Some(v) = conn.step(None, cmd, has(step::NR_HELO), wait).await? {
                return Ok(v);
            }
        }
        if !has(step::NO_MAIL) {
            let from = format!("<{}>", ctx.mail_from);
            let auth = ctx.authenticated.unwrap_or("");
            let mut pairs = vec![("i", ctx.id), ("{mail_addr}", ctx.mail_from)];
            if !auth.is_empty() {
                pairs.push(("{auth_authen}", auth));
            }
            let cmd = Command::Mail(vec![from]);
            let m = Some(macros(b'M', &pairs));
            if let Some(v) = conn.step(m, cmd, has(step::NR_MAIL), wait).await? {
                return Ok(v);
            }
        }
        if !has(step::NO_RCPT) {
            for rcpt in ctx.rcpts {
                let m = Some(macros(b'R', &[("{rcpt_addr}", rcpt)]));
                let cmd = Command::Rcpt(vec![format!("<{rcpt}>")]);
                if let Some(v) = conn.step(m, cmd, has(step::NR_RCPT), wait).await? {
                    return Ok(v);
                }
            }
        }
        if !has(step::NO_DATA)
            && let Some(v) = conn
                .step(None, Command::Data, has(step::NR_DATA), wait)
                .await?
        {
            return Ok(v);
        }
        let (headers, body) = header_commands(content, has(step::HEADER_LEADING_SPACE));
        if !has(step::NO_HEADERS) {
            for h in headers {
                if let Some(v) = conn.step(None, h, has(step::NR_HEADER), wait).await? {
                    return Ok(v);
                }
            }
        }
        if !has(step::NO_EOH)
            && let Some(v) = conn
                .step(None, Command::EndOfHeaders, has(step::NR_EOH), wait)
                .await?
        {
            return Ok(v);
        }
        if !has(step::NO_BODY) {
            for chunk in body.chunks(codec::BODY_CHUNK) {
                conn.send(&Command::Body(chunk.to_vec())).await?;
                if has(step::NR_BODY) {
                    continue;
                }
                match conn.reply(wait).await? {
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
        conn.send(&macros(b'E', &[("i", ctx.id)])).await?;
        conn.send(&Command::EndOfBody).await?;
        let mut edits = Vec::new();
        loop {
            let reply = conn.reply(settings.content_timeout).await?;
            if let Some(outcome) = early(&reply) {
                return Ok(Verdict::Final(outcome));
            }
            match reply {
                Response::Continue | Response::Accept => return Ok(Verdict::Go(edits)),
                r => {
                    if allowed(&r, actions) {
                        edits.push(r);
                    } else {
                        warn!(id = ctx.id, milter = addr, reply = ?r,
                            "milter asked for an action it did not negotiate; ignored");
                    }
                }
            }
        }
    }
    .await;
    // Best effort: the milter may already have closed.
    let _ = conn.send(&Command::Quit).await;
    verdict
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
