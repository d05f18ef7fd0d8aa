//! APPEND's arguments (RFC 3501 §6.3.11), with MULTIAPPEND (RFC 3502 §6), CATENATE
//! (RFC 4469 §5) and `literal8` (RFC 3516): the messages, their flags and dates, and
//! where each message's bytes lie in the command buffer (never copied).

use std::ops::Range;

use super::command::{CommandKind, mailbox};
use super::items::FlagName;
use super::{Cursor, Step};
use crate::imap::datetime;

/// One message of an APPEND (RFC 3502 §6 `append-message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<FlagName>,
    pub date_ms: Option<i64>,
    pub data: AppendData,
}

/// Where the bytes of an appended message come from. Ranges index the command buffer,
/// so messages are not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendData {
    /// A literal (or RFC 3516 `literal8`).
    Literal(Range<usize>),
    /// CATENATE (RFC 4469 §5): the parts, in order.
    Catenate(Vec<CatPart>),
}

/// One CATENATE part (RFC 4469 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatPart {
    Text(Range<usize>),
    /// An IMAP URL (RFC 5092) naming a message or part.
    Url(String),
}

/// Most messages one MULTIAPPEND may carry.
const MAX_APPEND_MESSAGES: usize = 1000;

/// RFC 3501 §6.3.11, RFC 3502 §6 and RFC 4469 §5: `APPEND mailbox 1*(SP [flag-list SP]
/// [date-time SP] (literal / literal8 / CATENATE (parts)))`.
pub(super) fn append(c: &mut Cursor<'_>) -> Step<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    let mut messages = Vec::new();
    while c.eat(b' ') {
        let mut flags = Vec::new();
        if c.peek() == Some(b'(') {
            flags = c.flag_list()?;
            c.sp()?;
        }
        let mut date_ms = None;
        if c.peek() == Some(b'"') {
            let text = c.quoted()?;
            date_ms = Some(datetime::parse_date_time(&text).ok_or("bad date-time")?);
            c.sp()?;
        }
        let data = if c.eat_word("CATENATE") {
            c.sp()?;
            c.expect(b'(', "expected CATENATE parts")?;
            let mut parts = Vec::new();
            loop {
                if c.eat_word("TEXT") {
                    c.sp()?;
                    parts.push(CatPart::Text(literal_range(c)?));
                } else if c.eat_word("URL") {
                    c.sp()?;
                    let url = c.astring()?;
                    parts.push(CatPart::Url(String::from_utf8_lossy(&url).into_owned()));
                } else {
                    return Err("expected TEXT or URL");
                }
                if parts.len() > MAX_APPEND_MESSAGES {
                    return Err("too many CATENATE parts");
                }
                if c.eat(b')') {
                    break;
                }
                c.sp()?;
            }
            AppendData::Catenate(parts)
        } else {
            AppendData::Literal(literal_range(c)?)
        };
        messages.push(AppendMessage {
            flags,
            date_ms,
            data,
        });
        if messages.len() > MAX_APPEND_MESSAGES {
            return Err("too many messages in one APPEND");
        }
    }
    if messages.is_empty() {
        return Err("expected the message as a literal");
    }
    Ok(CommandKind::Append { mailbox, messages })
}

/// A literal or RFC 3516 `literal8` (`~{n}`), as its byte range in the buffer.
fn literal_range(c: &mut Cursor<'_>) -> Step<Range<usize>> {
    c.eat(b'~');
    if c.peek() != Some(b'{') {
        return Err("expected the message as a literal");
    }
    let data = c.literal()?;
    let end = c.pos();
    Ok(end - data.len()..end)
}
