//! Rendering of response data (RFC 3501 §7 and §9): strings as quoted or literal,
//! `nstring`, mailbox names, flag lists and the status of tagged replies.
//!
//! Only encoding lives here; which responses are sent and when is the session's job.

use zcs_core::Flags;

use super::parser::is_atom_char;
use super::utf7;

/// Longest string sent as a quoted string; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

/// Whether `bytes` can be sent as an RFC 3501 §9 `quoted` string: 7-bit TEXT-CHARs
/// (no CR, LF or NUL), not too long.
fn quotable(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_QUOTED
        && bytes
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// Appends `bytes` as an RFC 3501 §9 `string`: quoted with `"` and `\` escaped when it
/// is plain 7-bit text, otherwise a literal (`{n}` CRLF and the bytes).
pub fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    if quotable(bytes) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        push_literal(out, bytes);
    }
}

/// Appends `bytes` as a literal (`{n}` CRLF and the bytes).
pub fn push_literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// Appends an RFC 3501 §9 `nstring`: `NIL` for `None`.
pub fn push_nstring(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => push_string(out, b),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Appends a mailbox name encoded in modified UTF-7 (RFC 3501 §5.1.3), always quoted so
/// names with spaces or wildcards read back unchanged.
pub fn push_mailbox(out: &mut Vec<u8>, name: &str) {
    let wire = utf7::encode(name);
    if name.eq_ignore_ascii_case("INBOX") {
        out.extend_from_slice(b"INBOX");
    } else {
        push_string(out, wire.as_bytes());
    }
}

/// Appends a mailbox name: in modified UTF-7 ([`push_mailbox`]), or as a UTF-8 quoted
/// string once the client enabled UTF8=ACCEPT (RFC 6855 §3).
pub fn push_mailbox_as(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 && !name.eq_ignore_ascii_case("INBOX") {
        // RFC 6855 §3: quoted strings may carry UTF-8 once enabled.
        if name.chars().any(char::is_control) {
            push_string(out, name.as_bytes());
        } else {
            out.push(b'"');
            for b in name.bytes() {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
    } else {
        push_mailbox(out, name);
    }
}

/// The system flags and keywords of a message as an RFC 3501 §7.2.6 flag list body
/// (without parentheses): `\Seen` from the absence of `\Unread`, then
/// [`Flags::IMAP_SYSTEM`], keywords, and `\Recent` when `recent`.
pub fn flag_list(flags: Flags, keywords: &[String], recent: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    if !flags.contains(Flags::UNREAD) {
        names.push("\\Seen");
    }
    for (bit, name) in Flags::IMAP_SYSTEM {
        if flags.contains(*bit) {
            names.push(name);
        }
    }
    for k in keywords {
        if !k.is_empty() && k.bytes().all(is_atom_char) {
            names.push(k);
        }
    }
    if recent {
        names.push("\\Recent");
    }
    names.join(" ")
}

/// The outcome of a tagged command (RFC 3501 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// A tagged reply: status, optional response code (without brackets) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    pub code: Option<String>,
    pub text: String,
}

impl Reply {
    /// `OK text`.
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// `NO text`.
    pub fn no(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::No,
            code: None,
            text: text.into(),
        }
    }

    /// `BAD text`.
    pub fn bad(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    /// The same reply with a response code, e.g. `TRYCREATE` or `READ-WRITE`.
    pub fn with_code(mut self, code: impl Into<String>) -> Reply {
        self.code = Some(code.into());
        self
    }

    /// The full tagged line, CRLF included.
    pub fn render(&self, tag: &str) -> Vec<u8> {
        let status = match self.status {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        };
        let text = sanitize(&self.text);
        match &self.code {
            Some(code) => format!("{tag} {status} [{code}] {text}\r\n").into_bytes(),
            None => format!("{tag} {status} {text}\r\n").into_bytes(),
        }
    }
}

/// Makes free text safe for a response line: no CR/LF/NUL, never empty.
pub fn sanitize(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.trim().is_empty() {
        "done".to_string()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_string(&mut out, bytes);
        out
    }

    #[test]
    fn encodes_strings() {
        assert_eq!(string(b"abc"), b"\"abc\"");
        assert_eq!(string(b"a\"b\\c"), b"\"a\\\"b\\\\c\"");
        assert_eq!(string("é".as_bytes()), b"{2}\r\n\xc3\xa9");
        assert_eq!(string(b"a\r\nb"), b"{4}\r\na\r\nb");
        let mut out = Vec::new();
        push_nstring(&mut out, None);
        push_nstring(&mut out, Some(b" X"));
        assert_eq!(out, b"NIL\" X\"");
        let mut out = Vec::new();
        push_mailbox(&mut out, "inbox");
        push_mailbox(&mut out, "a b&");
        assert_eq!(out, b"INBOX\"a b&-\"");
    }

    #[test]
    fn renders_flags_and_replies() {
        let f = Flags(Flags::FLAGGED | Flags::DELETED);
        assert_eq!(
            flag_list(f, &["Work".into(), "bad word".into()], true),
            "\\Seen \\Flagged \\Deleted Work \\Recent"
        );
        assert_eq!(flag_list(Flags(Flags::UNREAD), &[], false), "");
        let r = Reply::no("no\r\nsuch").with_code("TRYCREATE");
        assert_eq!(r.render("a1"), b"a1 NO [TRYCREATE] no  such\r\n");
    }

    /// Reads back one `string` the way a client would.
    fn read_string(wire: &[u8]) -> Vec<u8> {
        if wire[0] == b'"' {
            let mut out = Vec::new();
            let mut i = 1;
            while wire[i] != b'"' {
                if wire[i] == b'\\' {
                    i += 1;
                }
                out.push(wire[i]);
                i += 1;
            }
            assert_eq!(i, wire.len() - 1);
            out
        } else {
            let close = wire.iter().position(|&b| b == b'}').unwrap();
            let n: usize = std::str::from_utf8(&wire[1..close])
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(&wire[close + 1..close + 3], b"\r\n");
            assert_eq!(wire.len(), close + 3 + n);
            wire[close + 3..].to_vec()
        }
    }

    proptest! {
        #[test]
        fn strings_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(read_string(&string(&bytes)), bytes);
        }
    }
}
