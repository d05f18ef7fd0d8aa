//! A careful MIME walk over raw message bytes, for what IMAP computes from a message:
//! ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2) and body sections (RFC 3501 §6.4.5).
//!
//! The walk never decodes content and never copies it: a [`Part`] is a set of slices of
//! the original bytes, so `BODY[1.2]` is byte-exact. It is lenient with malformed mail
//! (missing boundaries, bare LF line ends, headers without a blank line) and bounded:
//! nesting deeper than [`MAX_DEPTH`] is treated as an opaque leaf. Decoding of encoded
//! words or charsets is left to the client, as IMAP wants.

mod address;
mod binary;
mod section;
mod structure;

pub use address::parse_address_list;
pub use binary::{Decoded, binary_part};
pub use section::extract;
pub use structure::{write_body_structure, write_envelope};

/// Deepest nesting of multiparts and encapsulated messages that is walked.
pub const MAX_DEPTH: usize = 24;

/// A parsed Content-Type (RFC 2045 §5.1), lower-cased type and subtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub main: String,
    pub sub: String,
    /// Parameters as written (names as in the header, values unquoted).
    pub params: Params,
}

impl ContentType {
    fn text_plain() -> ContentType {
        ContentType {
            main: "text".into(),
            sub: "plain".into(),
            params: vec![("charset".into(), b"us-ascii".to_vec())],
        }
    }

    fn message_rfc822() -> ContentType {
        ContentType {
            main: "message".into(),
            sub: "rfc822".into(),
            params: Vec::new(),
        }
    }

    /// The value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// One MIME entity: a whole message, a body part, or an encapsulated message.
#[derive(Debug)]
pub struct Part<'a> {
    /// The header block, including the blank line that ends it (if present).
    pub header: &'a [u8],
    /// The content after the header.
    pub body: &'a [u8],
    /// The content type in effect (defaults applied).
    pub content_type: ContentType,
    /// The parts of a multipart, in order (empty otherwise).
    pub children: Vec<Part<'a>>,
    /// The encapsulated message of a message/rfc822 part.
    pub message: Option<Box<Part<'a>>>,
}

impl<'a> Part<'a> {
    /// Whether this entity is a multipart with its parts walked.
    pub fn is_multipart(&self) -> bool {
        self.content_type.main == "multipart"
    }

    /// The raw value of the first header field called `name` (case-insensitive),
    /// unfolded and trimmed.
    pub fn field(&self, name: &str) -> Option<Vec<u8>> {
        header_fields(self.header)
            .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| unfold(f.value))
    }
}

/// Parses a whole message (or an encapsulated one) into its MIME tree.
pub fn parse_message(raw: &[u8]) -> Part<'_> {
    parse_entity(raw, false, 0)
}

/// One header field: its name and raw value (continuation lines included).
pub struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// The whole field as it appears in the header, line ends included.
    pub raw: &'a [u8],
}

/// Splits an entity into header block (with its ending blank line) and content
/// (RFC 5322 §2.1). Bare LF line ends are accepted.
pub fn split_header(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        if line == b"\r\n" || line == b"\n" {
            return (&raw[..end], &raw[end..]);
        }
        pos = end;
    }
    (raw, &raw[raw.len()..])
}

/// The fields of a header block, in order. Lines that are neither a field nor a
/// continuation are skipped.
pub fn header_fields(header: &[u8]) -> impl Iterator<Item = Field<'_>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        loop {
            if pos >= header.len() {
                return None;
            }
            let start = pos;
            let line_end = next_line(header, pos);
            let line = &header[start..line_end];
            pos = line_end;
            if line == b"\r\n" || line == b"\n" || line.starts_with(b" ") || line.starts_with(b"\t")
            {
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            while pos < header.len() && matches!(header[pos], b' ' | b'\t') {
                pos = next_line(header, pos);
            }
            let raw = &header[start..pos];
            let name = trim(&line[..colon]);
            if name.is_empty() {
                continue;
            }
            return Some(Field {
                name,
                value: &raw[colon + 1..],
                raw,
            });
        }
    })
}

fn next_line(buf: &[u8], pos: usize) -> usize {
    buf[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| pos + i + 1)
}

/// Removes leading and trailing whitespace (space, tab, CR, LF).
pub fn trim(bytes: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Unfolds a field value (RFC 5322 §2.2.3): CRLF/LF before whitespace is removed; the
/// result is trimmed.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    trim(&out).to_vec()
}

fn parse_entity(raw: &[u8], digest_child: bool, depth: usize) -> Part<'_> {
    let (header, body) = split_header(raw);
    let declared = header_fields(header)
        .find(|f| f.name.eq_ignore_ascii_case(b"Content-Type"))
        .and_then(|f| parse_content_type(&unfold(f.value)));
    let mut content_type = declared.unwrap_or_else(|| {
        // RFC 2046 §5.1.5: in a multipart/digest, parts default to message/rfc822.
        if digest_child {
            ContentType::message_rfc822()
        } else {
            ContentType::text_plain()
        }
    });
    let mut part = Part {
        header,
        body,
        content_type: content_type.clone(),
        children: Vec::new(),
        message: None,
    };
    if depth >= MAX_DEPTH {
        if content_type.main == "multipart" || content_type.main == "message" {
            part.content_type = ContentType {
                main: "application".into(),
                sub: "octet-stream".into(),
                params: Vec::new(),
            };
        }
        return part;
    }
    if content_type.main == "multipart" {
        let boundary = content_type.param("boundary").map(<[u8]>::to_vec);
        match boundary {
            Some(b) if !b.is_empty() => {
                let digest = content_type.sub == "digest";
                part.children = split_multipart(body, &b)
                    .into_iter()
                    .map(|child| parse_entity(child, digest, depth + 1))
                    .collect();
            }
            _ => {
                // A multipart without a boundary cannot be split: show it as text.
                content_type = ContentType::text_plain();
                part.content_type = content_type;
            }
        }
    } else if content_type.main == "message" && content_type.sub == "rfc822" {
        part.message = Some(Box::new(parse_entity(body, false, depth + 1)));
    }
    part
}

/// The parts of a multipart body between `--boundary` delimiter lines (RFC 2046
/// §5.1.1). The line end before a delimiter belongs to the delimiter. A body without any
/// delimiter yields one empty part, so a multipart always has at least one part.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let line_end = next_line(body, pos);
        let line = &body[pos..line_end];
        if let Some(closing) = delimiter(line, boundary) {
            if let Some(start) = current {
                parts.push(&body[start..content_end(body, start, pos)]);
            }
            if closing {
                current = None;
                break;
            }
            current = Some(line_end);
        }
        pos = line_end;
    }
    if let Some(start) = current {
        parts.push(&body[start..]);
    }
    if parts.is_empty() {
        parts.push(&body[body.len()..]);
    }
    parts
}

/// Whether `line` is a delimiter for `boundary`; `Some(true)` for the closing one.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (closing, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // RFC 2046 §5.1.1: only transport padding (whitespace) may follow.
    if rest
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        Some(closing)
    } else {
        None
    }
}

/// Where a part starting at `start` ends, given the next delimiter line at `delim`.
fn content_end(body: &[u8], start: usize, delim: usize) -> usize {
    let mut end = delim;
    if end > start && body[end - 1] == b'\n' {
        end -= 1;
        if end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

/// Parses a Content-Type value: `type/subtype *(; name=value)` with comments and quoted
/// strings. `None` when there is no usable type/subtype.
pub fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let value = strip_comments(value);
    let mut pieces = split_params(&value).into_iter();
    let media = pieces.next()?;
    let media = String::from_utf8_lossy(trim(&media)).to_ascii_lowercase();
    let (main, sub) = media.split_once('/')?;
    let (main, sub) = (main.trim(), sub.trim());
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !token(main) || !token(sub) {
        return None;
    }
    Some(ContentType {
        main: main.to_string(),
        sub: sub.to_string(),
        params: pieces.filter_map(|p| parse_param(&p)).collect(),
    })
}

/// MIME parameters: names as written, values unquoted.
pub type Params = Vec<(String, Vec<u8>)>;

/// Parses the parameters of a structured header value such as Content-Disposition:
/// returns the leading token (lower-cased) and the parameters.
pub fn parse_disposition(value: &[u8]) -> Option<(String, Params)> {
    let value = strip_comments(value);
    let mut pieces = split_params(&value).into_iter();
    let kind = String::from_utf8_lossy(trim(&pieces.next()?)).to_ascii_lowercase();
    if kind.is_empty() {
        return None;
    }
    Some((kind, pieces.filter_map(|p| parse_param(&p)).collect()))
}

fn parse_param(piece: &[u8]) -> Option<(String, Vec<u8>)> {
    let eq = piece.iter().position(|&b| b == b'=')?;
    let name = String::from_utf8_lossy(trim(&piece[..eq])).into_owned();
    if name.is_empty() {
        return None;
    }
    let value = trim(&piece[eq + 1..]);
    let value = match value.strip_prefix(b"\"") {
        Some(inner) => {
            let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
            let mut out = Vec::with_capacity(inner.len());
            let mut escaped = false;
            for &b in inner {
                if !escaped && b == b'\\' {
                    escaped = true;
                    continue;
                }
                escaped = false;
                out.push(b);
            }
            out
        }
        None => value.to_vec(),
    };
    Some((name, value))
}

/// Splits on `;` outside quoted strings.
fn split_params(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    for &b in value {
        if quoted {
            cur.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
        } else if b == b';' {
            out.push(std::mem::take(&mut cur));
        } else {
            if b == b'"' {
                quoted = true;
            }
            cur.push(b);
        }
    }
    out.push(cur);
    out.retain(|p| !trim(p).is_empty());
    out
}

/// Removes RFC 5322 comments (nested parentheses) outside quoted strings.
pub fn strip_comments(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for &b in value {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(b);
            }
            continue;
        }
        match b {
            b'\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(b);
                }
            }
            b'"' if depth == 0 => {
                quoted = !quoted;
                out.push(b);
            }
            b'(' if !quoted => depth += 1,
            b')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    out
}

/// Number of lines in `body` for BODYSTRUCTURE (RFC 3501 §7.4.2 `body-fld-lines`).
pub fn count_lines(body: &[u8]) -> usize {
    let newlines = body.iter().filter(|&&b| b == b'\n').count();
    if body.last().is_some_and(|&b| b != b'\n') {
        newlines + 1
    } else {
        newlines
    }
}

#[cfg(test)]
mod tests;
