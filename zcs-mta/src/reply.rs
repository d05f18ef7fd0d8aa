//! Server replies: the three-digit code, the RFC 3463 enhanced status code that RFC 2034
//! §3 puts in front of the text, and the wire form of single and multi-line replies
//! (RFC 5321 §4.2).
//!
//! Formatting only; which reply a situation earns is decided in the session.

use std::fmt::Write as _;

/// An enhanced mail system status code `class.subject.detail` (RFC 3463 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status(pub u8, pub u16, pub u16);

/// One reply, possibly multi-line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    code: u16,
    status: Option<Status>,
    lines: Vec<String>,
}

/// Longest text we copy from a delivery backend into a reply line.
const MAX_TEXT: usize = 400;

impl Reply {
    /// A one-line reply with an enhanced status code.
    pub(crate) fn new(code: u16, status: Status, text: impl Into<String>) -> Self {
        Reply {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A reply without enhanced status codes: the greeting, the HELO/EHLO/LHLO answer and
    /// the 354 go-ahead, which RFC 2034 §3 exempts.
    pub(crate) fn plain(code: u16, lines: Vec<String>) -> Self {
        Reply {
            code,
            status: None,
            lines,
        }
    }

    /// The reply code.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    /// Appends the wire form: `code-text` on every line but the last, `code text` on it,
    /// each ending in CRLF (RFC 5321 §4.2.1).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        let mut text = String::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            let _ = write!(text, "{}{sep}", self.code);
            if let Some(Status(c, s, d)) = self.status {
                let _ = write!(text, "{c}.{s}.{d} ");
            }
            text.push_str(line);
            text.push_str("\r\n");
        }
        if self.lines.is_empty() {
            let _ = write!(text, "{}\r\n", self.code);
        }
        out.extend_from_slice(text.as_bytes());
    }
}

/// Makes text from outside (a delivery backend's message, an address) safe for a reply
/// line: control characters become spaces and the length is capped.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// Splits a leading enhanced status code of the given class off a backend message
/// (`"4.2.2 Mailbox full"` -> `(4.2.2, "Mailbox full")`); without one, or with one of the
/// wrong class, returns `default` and the whole message.
pub(crate) fn status_from_text(text: &str, class: u8, default: Status) -> (Status, String) {
    let text = sanitize(text.trim());
    let (head, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    let mut parts = head.split('.');
    let parsed = (|| {
        let c: u8 = parts.next()?.parse().ok()?;
        let s: u16 = parts.next()?.parse().ok()?;
        let d: u16 = parts.next()?.parse().ok()?;
        // RFC 3463 §2: subject and detail have at most three digits.
        (parts.next().is_none() && c == class && s < 1000 && d < 1000).then_some(Status(c, s, d))
    })();
    match parsed {
        Some(status) => (status, rest.trim().to_string()),
        None => (default, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_and_multi_line() {
        assert_eq!(
            wire(&Reply::new(250, Status(2, 0, 0), "Ok")),
            "250 2.0.0 Ok\r\n"
        );
        let ehlo = Reply::plain(250, vec!["host".into(), "PIPELINING".into()]);
        assert_eq!(wire(&ehlo), "250-host\r\n250 PIPELINING\r\n");
    }

    #[test]
    fn backend_text() {
        let d = Status(4, 3, 0);
        assert_eq!(
            status_from_text("4.2.2 Mailbox full", 4, d),
            (Status(4, 2, 2), "Mailbox full".into())
        );
        assert_eq!(
            status_from_text("5.2.2 full", 4, d),
            (d, "5.2.2 full".into())
        );
        assert_eq!(
            status_from_text("boom\r\n250 ok", 4, d),
            (d, "boom  250 ok".into())
        );
        assert_eq!(sanitize(&"é".repeat(300)).len(), 400);
    }
}
