//! Parsing of the bulk import's IMAP client: responses split into tokens (atoms,
//! quoted strings, literals, parentheses; RFC 3501 §9), the untagged FETCH of a message,
//! INTERNALDATE, and quoting of the strings a command sends. Pure functions over bytes;
//! bad input is an error, never a panic.

use super::imap_client::ImapError;

/// One element of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An atom or number (`FETCH`, `\Seen`, `BODY[]`, `NIL`, ...).
    Atom(String),
    /// A quoted string or a literal, as bytes.
    Str(Vec<u8>),
    Open,
    Close,
}

impl Tok {
    pub(crate) fn atom_is(&self, name: &str) -> bool {
        matches!(self, Tok::Atom(a) if a.eq_ignore_ascii_case(name))
    }
}

/// A folder of the source mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RemoteFolder {
    /// The name as the server sends it (modified UTF-7), for EXAMINE.
    pub wire: Vec<u8>,
    /// The hierarchy delimiter, if any.
    pub delimiter: Option<char>,
    /// The folder cannot be opened (`\Noselect`, `\NonExistent`).
    pub no_select: bool,
}

/// One fetched message.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fetched {
    pub uid: u32,
    pub flags: Vec<String>,
    /// INTERNALDATE, ms since the epoch.
    pub internal_date_ms: Option<i64>,
    pub body: Vec<u8>,
}

/// `s` as an IMAP quoted string (RFC 3501 §4.3), or `None` when it cannot be one
/// (line breaks, NUL or 8-bit bytes: those go as literals).
pub(crate) fn quoted(s: &[u8]) -> Option<Vec<u8>> {
    if s.iter()
        .any(|&b| b == 0 || b == b'\r' || b == b'\n' || b >= 0x80)
    {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    Some(out)
}

/// Parses an INTERNALDATE (`dd-Mon-yyyy hh:mm:ss +zzzz`, RFC 3501 §9 `date-time`, the
/// day possibly space-padded) to ms since the epoch.
pub(crate) fn parse_internal_date(text: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(text).ok()?.trim();
    chrono::DateTime::parse_from_str(s, "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Splits one response text segment into tokens (literals are added by the reader).
/// Quoted strings honour `\\` and `\"` (RFC 3501 §9 `quoted`).
pub(crate) fn tokenize(seg: &[u8], out: &mut Vec<Tok>) -> Result<(), ImapError> {
    let mut i = 0;
    while i < seg.len() {
        match seg[i] {
            b' ' => i += 1,
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'"' => {
                let mut v = Vec::new();
                i += 1;
                loop {
                    match seg.get(i) {
                        None => return Err(ImapError::Protocol("unterminated string".into())),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let c = *seg
                                .get(i + 1)
                                .ok_or_else(|| ImapError::Protocol("bad escape".into()))?;
                            v.push(c);
                            i += 2;
                        }
                        Some(&c) => {
                            v.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let start = i;
                // `[` opens a section whose inside may hold spaces (`BODY[HEADER.FIELDS
                // (A B)]`, `[UIDVALIDITY 1]`): it stays in the atom up to its `]`.
                let mut depth = 0usize;
                while i < seg.len() {
                    let c = seg[i];
                    if c == b'[' {
                        depth += 1;
                    } else if c == b']' {
                        depth = depth.saturating_sub(1);
                    } else if depth == 0 && matches!(c, b' ' | b'(' | b')' | b'"') {
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Atom(String::from_utf8_lossy(&seg[start..i]).into()));
            }
        }
    }
    Ok(())
}

/// The `{n}` (or `{n+}`) literal announcement ending `line`, as (the text before it, n).
pub(crate) fn literal_at_end(line: &[u8]) -> Option<(&[u8], usize)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((&line[..open], n))
}

/// A message of an untagged `* n FETCH (...)` response; `None` when it carries no body
/// (a flag update).
pub(crate) fn parse_fetch(r: &[Tok]) -> Result<Option<Fetched>, ImapError> {
    let bad = || ImapError::Protocol(format!("FETCH: {}", describe(r)));
    if r.get(3) != Some(&Tok::Open) {
        return Err(bad());
    }
    let mut m = Fetched::default();
    let mut body = None;
    let mut i = 4;
    while let Some(t) = r.get(i) {
        let Tok::Atom(name) = t else {
            if *t == Tok::Close {
                break;
            }
            return Err(bad());
        };
        let name = name.to_ascii_uppercase();
        i += 1;
        match name.as_str() {
            "UID" => {
                m.uid = match r.get(i) {
                    Some(Tok::Atom(n)) => n.parse().map_err(|_| bad())?,
                    _ => return Err(bad()),
                };
                i += 1;
            }
            "FLAGS" => {
                if r.get(i) != Some(&Tok::Open) {
                    return Err(bad());
                }
                i += 1;
                loop {
                    match r.get(i) {
                        Some(Tok::Close) => break,
                        Some(Tok::Atom(f)) => m.flags.push(f.clone()),
                        _ => return Err(bad()),
                    }
                    i += 1;
                }
                i += 1;
            }
            "INTERNALDATE" => {
                m.internal_date_ms = match r.get(i) {
                    Some(Tok::Str(d)) => parse_internal_date(d),
                    _ => None,
                };
                i += 1;
            }
            n if n.starts_with("BODY[") || n == "RFC822" => {
                body = match r.get(i) {
                    Some(Tok::Str(b)) => Some(b.clone()),
                    _ => None,
                };
                i += 1;
            }
            // Anything else has one value: skip it (a list as a whole).
            _ => match r.get(i) {
                Some(Tok::Open) => {
                    let mut depth = 0usize;
                    while let Some(t) = r.get(i) {
                        i += 1;
                        match t {
                            Tok::Open => depth += 1,
                            Tok::Close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Some(_) => i += 1,
                None => return Err(bad()),
            },
        }
    }
    Ok(body.map(|b| {
        m.body = b;
        m
    }))
}

/// A short text of a response for error messages (strings elided: they may hold
/// message text).
pub(crate) fn describe(r: &[Tok]) -> String {
    let mut out = String::new();
    for t in r.iter().take(24) {
        if !out.is_empty() {
            out.push(' ');
        }
        match t {
            Tok::Atom(a) => out.push_str(a),
            Tok::Str(s) if s.len() <= 64 => {
                out.push_str(&format!("{:?}", String::from_utf8_lossy(s)))
            }
            Tok::Str(s) => out.push_str(&format!("{{{} bytes}}", s.len())),
            Tok::Open => out.push('('),
            Tok::Close => out.push(')'),
        }
    }
    out
}
