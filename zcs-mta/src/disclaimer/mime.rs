//! The MIME walk of the disclaimer rewrite (RFC 2045, RFC 2046): finds the message's
//! first body text/plain part and first body text/html part, at any depth of
//! multiparts, and rewrites those two in place; every other byte of the message is kept.
//!
//! Left alone: attachments (`Content-Disposition: attachment`, or a file name),
//! attached messages (`message/*`), signed and encrypted content (`multipart/signed`,
//! `multipart/encrypted`, `application/pkcs7-mime`, `application/pgp-encrypted`, and
//! inline PGP text), parts in a transfer encoding or charset we cannot read again, and
//! a part whose text already ends with the disclaimer (so mail passing twice gets it
//! once).

use super::codec::{self, Cte};

/// Multiparts nested deeper than this are not looked into.
const MAX_DEPTH: usize = 16;

/// The texts to add, both present (one may be derived from the other).
pub(crate) struct Additions<'a> {
    /// For text/plain parts.
    pub text: &'a str,
    /// For text/html parts, put before `</body>` when there is one.
    pub html: &'a str,
}

struct Walk<'a> {
    add: Additions<'a>,
    text_done: bool,
    html_done: bool,
}

/// `message` with the disclaimer added, or `None` when nothing was changed.
pub(crate) fn rewrite(message: &[u8], add: Additions<'_>) -> Option<Vec<u8>> {
    let mut walk = Walk {
        add,
        text_done: false,
        html_done: false,
    };
    walk.entity(message, 0, "text/plain")
}

/// One header field: lower-case name, unfolded value, and its bytes in the entity.
struct Field {
    name: String,
    value: String,
    start: usize,
    end: usize,
}

/// An entity's header fields and where its body starts.
struct Head {
    fields: Vec<Field>,
    /// End of the last field (where a new field is inserted).
    fields_end: usize,
    body_start: usize,
}

impl Head {
    fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Splits `entity` at the first empty line (RFC 5322 §2.1; a bare LF ends a line too).
fn parse_head(entity: &[u8]) -> Head {
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = 0;
    while pos < entity.len() {
        let end = entity[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(entity.len(), |p| pos + p + 1);
        let line = &entity[pos..end];
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if content.is_empty() {
            return Head {
                fields,
                fields_end: pos,
                body_start: end,
            };
        }
        let text = String::from_utf8_lossy(content);
        match fields.last_mut() {
            Some(f) if content[0] == b' ' || content[0] == b'\t' => {
                f.value.push_str(&text);
                f.end = end;
            }
            _ => {
                let (name, value) = text.split_once(':').unwrap_or((&text, ""));
                fields.push(Field {
                    name: name.trim().to_ascii_lowercase(),
                    value: value.to_string(),
                    start: pos,
                    end,
                });
            }
        }
        pos = end;
    }
    Head {
        fields,
        fields_end: entity.len(),
        body_start: entity.len(),
    }
}

/// `type/subtype` (lower case) and the parameters of a `Content-Type` or
/// `Content-Disposition` value (RFC 2045 §5.1), names lower-cased, quotes removed.
fn parse_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    let mut iter = parts.into_iter();
    let kind = iter.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = iter
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
                None => v.to_string(),
            };
            Some((k.trim().to_ascii_lowercase(), v))
        })
        .collect();
    (kind, params)
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Content we must not alter: a signature or encryption covers it.
fn is_protected(kind: &str) -> bool {
    matches!(
        kind,
        "multipart/signed"
            | "multipart/encrypted"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-mime"
            | "application/pkcs7-signature"
            | "application/pgp-encrypted"
            | "application/pgp-signature"
    )
}

impl Walk<'_> {
    fn done(&self) -> bool {
        self.text_done && self.html_done
    }

    /// The rewritten `entity` (header and body), or `None` when unchanged.
    /// `default_type` applies when it has no `Content-Type` (RFC 2046 §5.1.5).
    fn entity(&mut self, entity: &[u8], depth: usize, default_type: &str) -> Option<Vec<u8>> {
        let head = parse_head(entity);
        let (kind, params) = match head.get("content-type") {
            Some(f) => parse_params(&f.value),
            None => (default_type.to_string(), Vec::new()),
        };
        // RFC 2045 §5.2: a type without a slash is read as text/plain.
        let kind = if kind.contains('/') {
            kind
        } else {
            "text/plain".into()
        };
        if is_protected(&kind) || kind.starts_with("message/") {
            return None;
        }
        if kind.starts_with("multipart/") {
            if depth >= MAX_DEPTH {
                return None;
            }
            let boundary = param(&params, "boundary")?.to_string();
            let inner_default = if kind == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            let body = &entity[head.body_start..];
            let new_body = self.multipart(body, boundary.as_bytes(), depth, inner_default)?;
            let mut out = entity[..head.body_start].to_vec();
            out.extend_from_slice(&new_body);
            return Some(out);
        }
        let html = match kind.as_str() {
            "text/plain" if !self.text_done => false,
            "text/html" if !self.html_done => true,
            _ => return None,
        };
        if let Some(f) = head.get("content-disposition") {
            let (disp, dparams) = parse_params(&f.value);
            if disp == "attachment" || dparams.iter().any(|(k, _)| k.starts_with("filename")) {
                return None;
            }
        }
        if params.iter().any(|(k, _)| k.starts_with("name")) {
            return None;
        }
        // Whatever happens to it, this is the message's body text of its kind.
        if html {
            self.html_done = true;
        } else {
            self.text_done = true;
        }
        self.leaf(entity, &head, &kind, &params, html, depth)
    }

    /// The body of a multipart with its changed parts replaced; `None` when no part
    /// changed (or there are no parts).
    fn multipart(
        &mut self,
        body: &[u8],
        boundary: &[u8],
        depth: usize,
        default_type: &str,
    ) -> Option<Vec<u8>> {
        if boundary.is_empty() {
            return None;
        }
        // Each delimiter line: (start of the line, end of the line, is the close one).
        let mut delimiters = Vec::new();
        let mut pos = 0;
        while pos < body.len() {
            let end = body[pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(body.len(), |p| pos + p + 1);
            let line = &body[pos..end];
            if let Some(rest) = line
                .strip_prefix(b"--")
                .and_then(|l| l.strip_prefix(boundary))
            {
                let close = rest.starts_with(b"--");
                let tail = if close { &rest[2..] } else { rest };
                // RFC 2046 §5.1.1: only blanks (transport padding) may follow.
                if tail.iter().all(|b| b.is_ascii_whitespace()) {
                    delimiters.push((pos, end, close));
                    if close {
                        break;
                    }
                }
            }
            pos = end;
        }
        // Part ranges: after a delimiter line up to the line break before the next one.
        let mut ranges = Vec::new();
        for (i, &(_, open_end, close)) in delimiters.iter().enumerate() {
            if close {
                break;
            }
            let end = match delimiters.get(i + 1) {
                Some(&(next_start, _, _)) => {
                    // The CRLF (or LF) before a delimiter belongs to the delimiter.
                    let mut e = next_start;
                    if e > open_end && body[e - 1] == b'\n' {
                        e -= 1;
                        if e > open_end && body[e - 1] == b'\r' {
                            e -= 1;
                        }
                    } else {
                        // An empty part sharing its line break with the delimiter
                        // before it: nothing to rewrite there.
                        continue;
                    }
                    e
                }
                None => body.len(),
            };
            ranges.push((open_end, end));
        }
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        for (start, end) in ranges {
            if self.done() {
                break;
            }
            if let Some(new) = self.entity(&body[start..end], depth + 1, default_type) {
                let o = out.get_or_insert_with(Vec::new);
                o.extend_from_slice(&body[copied..start]);
                o.extend_from_slice(&new);
                copied = end;
            }
        }
        let mut out = out?;
        out.extend_from_slice(&body[copied..]);
        Some(out)
    }

    /// Rewrites a text part: decode, append (or insert before `</body>`), re-encode.
    fn leaf(
        &mut self,
        entity: &[u8],
        head: &Head,
        kind: &str,
        params: &[(String, String)],
        html: bool,
        depth: usize,
    ) -> Option<Vec<u8>> {
        let cte_field = head.get("content-transfer-encoding");
        let cte = Cte::parse(cte_field.map(|f| f.value.as_str()))?;
        let raw = &entity[head.body_start..];
        let decoded = codec::decode(raw, cte)?;
        const PGP: &[u8] = b"-----BEGIN PGP ";
        if decoded.windows(PGP.len()).any(|w| w == PGP) {
            return None;
        }
        let nl: &[u8] = if decoded.windows(2).any(|w| w == b"\r\n") {
            b"\r\n"
        } else if decoded.contains(&b'\n') {
            b"\n"
        } else {
            b"\r\n"
        };
        let addition = if html { self.add.html } else { self.add.text };
        let addition = normalize_lines(addition.trim_matches(['\r', '\n']), nl);
        let charset = param(params, "charset")
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "us-ascii".into());
        let is_utf8 = matches!(charset.as_str(), "utf-8" | "utf8");
        let is_ascii = matches!(charset.as_str(), "us-ascii" | "ascii");
        // The body in the charset it will be sent in, and that charset if it changes.
        let (mut body, new_charset) =
            if is_utf8 || addition.is_ascii() && ascii_compatible(&charset) {
                (decoded, None)
            } else if is_ascii && decoded.is_ascii() {
                (decoded, Some("utf-8"))
            } else {
                let decoder =
                    mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())?;
                (decoder(&decoded).into_bytes(), Some("utf-8"))
            };
        if already_there(&body, &addition, html) {
            return None;
        }
        if html {
            let at = find_last_ci(&body, b"</body")
                .or_else(|| find_last_ci(&body, b"</html"))
                .unwrap_or(body.len());
            let mut insert = Vec::new();
            if at > 0 && body[at - 1] != b'\n' {
                insert.extend_from_slice(nl);
            }
            insert.extend_from_slice(&addition);
            insert.extend_from_slice(nl);
            body.splice(at..at, insert);
        } else {
            // A blank line, then the disclaimer; the part keeps ending as it did (inside
            // a multipart the line break before the boundary is the boundary's).
            let ended = body.ends_with(b"\n");
            if !body.is_empty() && !ended {
                body.extend_from_slice(nl);
            }
            body.extend_from_slice(nl);
            body.extend_from_slice(&addition);
            if ended {
                body.extend_from_slice(nl);
            }
        }
        let (encoded, new_cte) = codec::encode(&body, cte, nl);

        // The header: Content-Type (charset) and Content-Transfer-Encoding as needed.
        let mut header = entity[..head.body_start].to_vec();
        let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
        let mut added: Vec<u8> = Vec::new();
        if let Some(cs) = new_charset {
            let mut value = kind.to_string();
            for (k, v) in params.iter().filter(|(k, _)| k != "charset") {
                value.push_str("; ");
                value.push_str(k);
                value.push('=');
                value.push_str(&quote(v));
            }
            value.push_str("; charset=");
            value.push_str(cs);
            let field = field_bytes("Content-Type", &value, nl);
            match head.get("content-type") {
                Some(f) => edits.push((f.start, f.end, field)),
                None => {
                    if depth == 0 && head.get("mime-version").is_none() {
                        added.extend_from_slice(&field_bytes("MIME-Version", "1.0", nl));
                    }
                    added.extend_from_slice(&field);
                }
            }
        }
        if new_cte != cte {
            let field = field_bytes("Content-Transfer-Encoding", new_cte.name(), nl);
            match cte_field {
                Some(f) => edits.push((f.start, f.end, field)),
                None => added.extend_from_slice(&field),
            }
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        if !added.is_empty() {
            let at = head.fields_end;
            // A last field without its line end gets one first.
            if at > 0 && header.get(at - 1) != Some(&b'\n') {
                added.splice(0..0, nl.iter().copied());
            }
            header.splice(at..at, added);
        }
        for (start, end, field) in edits {
            // Fields come before `fields_end`, so the insertion above did not move them.
            let field = if entity.get(end - 1) == Some(&b'\n') {
                field
            } else {
                field[..field.len() - nl.len()].to_vec()
            };
            header.splice(start..end, field);
        }
        if head.body_start == head.fields_end {
            // No empty line ended the header: the body needs one before it.
            if !header.is_empty() && !header.ends_with(b"\n") {
                header.extend_from_slice(nl);
            }
            header.extend_from_slice(nl);
        }
        header.extend_from_slice(&encoded);
        Some(header)
    }
}

/// A header field line `Name: value` ending in `nl`.
fn field_bytes(name: &str, value: &str, nl: &[u8]) -> Vec<u8> {
    let mut out = format!("{name}: {value}").into_bytes();
    out.extend_from_slice(nl);
    out
}

/// A parameter value as a token, or quoted when it holds tspecials (RFC 2045 §5.1).
fn quote(v: &str) -> String {
    let token = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b));
    if token {
        v.to_string()
    } else {
        let clean: String = v.chars().filter(|c| !c.is_control()).collect();
        format!("\"{}\"", clean.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Charsets in which ASCII text is the same bytes, so ASCII can be appended as is.
fn ascii_compatible(charset: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "iso-8859-",
        "iso8859-",
        "windows-",
        "cp",
        "koi8-",
        "euc-",
        "iso-2022-",
    ];
    matches!(
        charset,
        "us-ascii"
            | "ascii"
            | "utf-8"
            | "utf8"
            | "latin1"
            | "gb2312"
            | "gbk"
            | "gb18030"
            | "big5"
            | "shift_jis"
            | "tis-620"
    ) || PREFIXES.iter().any(|p| charset.starts_with(p))
}

/// `text` with every line break made `nl`.
fn normalize_lines(text: &str, nl: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(nl);
        }
        out.extend_from_slice(line.strip_suffix('\r').unwrap_or(line).as_bytes());
    }
    out
}

/// Position of the last ASCII-case-insensitive occurrence of `needle`.
fn find_last_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Whether the body already ends with the disclaimer: for text, its last non-blank
/// lines are the disclaimer's lines (so a quoted `> disclaimer` does not count); for
/// HTML, the content before `</body>` ends with it, blanks aside.
fn already_there(body: &[u8], addition: &[u8], html: bool) -> bool {
    if html {
        let at = find_last_ci(body, b"</body")
            .or_else(|| find_last_ci(body, b"</html"))
            .unwrap_or(body.len());
        let squeeze = |v: &[u8]| -> Vec<u8> {
            v.iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect()
        };
        let want = squeeze(addition);
        return !want.is_empty() && squeeze(&body[..at]).ends_with(&want);
    }
    let lines = |v: &[u8]| -> Vec<Vec<u8>> {
        v.split(|b| *b == b'\n')
            .map(|l| l.trim_ascii_end().to_vec())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let want = lines(addition);
    let have = lines(body);
    !want.is_empty() && have.ends_with(&want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_params() {
        let h = parse_head(b"A: 1\r\nContent-Type: text/plain;\r\n charset=\"utf-8\"\r\n\r\nbody");
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.body_start, 53);
        let (kind, params) = parse_params(&h.get("content-type").unwrap().value);
        assert_eq!(kind, "text/plain");
        assert_eq!(param(&params, "charset"), Some("utf-8"));
        let (_, p) = parse_params(r#"multipart/mixed; boundary="a;b\"c"; x=y"#);
        assert_eq!(param(&p, "boundary"), Some("a;b\"c"));
        assert_eq!(param(&p, "x"), Some("y"));
        let h = parse_head(b"No: blank line");
        assert_eq!(h.body_start, 14);
        assert_eq!(quote("utf-8"), "utf-8");
        assert_eq!(quote("a b\"c"), "\"a b\\\"c\"");
    }

    #[test]
    fn already_there_is_line_exact() {
        assert!(already_there(
            b"hi\r\n\r\nLegal text\r\n",
            b"Legal text",
            false
        ));
        assert!(!already_there(
            b"hi\r\n> Legal text\r\n",
            b"Legal text",
            false
        ));
        assert!(already_there(
            b"<p>x</p><p>Legal</p>\n</body></html>",
            b"<p>Legal</p>",
            true
        ));
        assert!(!already_there(
            b"<blockquote><p>Legal</p></blockquote></body>",
            b"<p>Legal</p>",
            true
        ));
        assert_eq!(find_last_ci(b"a</BODY>b</body>", b"</body"), Some(9));
        assert_eq!(find_last_ci(b"ab", b"abc"), None);
    }
}
