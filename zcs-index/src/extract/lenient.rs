//! A second, forgiving reading of a message's MIME structure, the way lenient readers
//! such as Python's `email` package see it. The main extraction follows mail-parser; this
//! reading exists only to find text/* parts that reading does not show, so a word a user
//! sees in a mail client built on such a reader is also searchable. It returns text, not a
//! tree, and knows nothing of the index.
//!
//! Where it differs from a strict reading:
//! - a header-block line that is neither a field (`name:`) nor a continuation ends the
//!   header block and is the first line of the body (RFC 5322 §2.2 leaves it undefined);
//! - a delimiter line may carry transport padding (RFC 2046 §5.1.1), and the delimiter of
//!   any enclosing multipart ends the parts nested inside it (RFC 2046 §5.1.2);
//! - the body of every message/* part but message/delivery-status is a message in its own
//!   right, so the phantom header block and body of message/external-body
//!   (RFC 2046 §5.2.3.1) are read; delivery-status is read as blocks of fields
//!   (RFC 3464 §2.1);
//! - parts of multipart/digest default to message/rfc822 (RFC 2046 §5.1.5).
//!
//! LIMITATION: RFC 2231 parameter continuations (`boundary*0=`) are not joined, so such a
//! multipart reads as one opaque part here (mail-parser's reading still sees it);
//! uuencoded bodies are kept as they are.

use mail_parser::decoders::charsets::map::charset_decoder;

use super::decode;
use super::html::html_to_text;

/// Parts nested deeper than this are skipped (their lines are still consumed).
const MAX_DEPTH: usize = 32;

/// Text/* parts stop being decoded once this many bytes of text have been returned.
const MAX_TEXT_BYTES: usize = super::MAX_CONTENT_BYTES;

/// The decoded text of every non-blank text/* part of `raw` in this reading, in order: text/html
/// through [`html_to_text`], other text/* as decoded. `raw` must have CRLF or LF line
/// ends (no lone CR). Never panics; linear in the input times the nesting depth.
pub(super) fn text_parts(raw: &[u8]) -> Vec<String> {
    let mut reader = Reader {
        lines: raw.split_inclusive(|&b| b == b'\n').collect(),
        next: 0,
        unread: Vec::new(),
        ends: Vec::new(),
        texts: Vec::new(),
        text_bytes: 0,
    };
    reader.entity(DefaultType::TextPlain, 0);
    reader.texts
}

/// The content type a part without a Content-Type field has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DefaultType {
    /// RFC 2045 §5.2.
    TextPlain,
    /// Inside multipart/digest, RFC 2046 §5.1.5.
    MessageRfc822,
}

/// A line at which the part being read ends, its enclosing part reading on from there.
enum End {
    /// A delimiter line of this `--boundary`.
    Delimiter(Vec<u8>),
    /// A blank line (between the field blocks of message/delivery-status).
    BlankLine,
}

impl End {
    fn matches(&self, line: &[u8]) -> bool {
        match self {
            End::Delimiter(dash_boundary) => delimiter(line, dash_boundary).is_some(),
            End::BlankLine => is_blank(line),
        }
    }
}

struct Reader<'a> {
    lines: Vec<&'a [u8]>,
    next: usize,
    /// Lines given back, read again before `lines[next]` (last in, first out).
    unread: Vec<&'a [u8]>,
    /// Open parts' end lines, innermost last.
    ends: Vec<End>,
    texts: Vec<String>,
    text_bytes: usize,
}

impl<'a> Reader<'a> {
    /// The next line of the current part, or `None` at its end: the end of the input or a
    /// line ending an enclosing part, which stays unread for that part.
    fn read_line(&mut self) -> Option<&'a [u8]> {
        let line = match self.unread.last() {
            Some(&line) => line,
            None => *self.lines.get(self.next)?,
        };
        if self.ends.iter().rev().any(|end| end.matches(line)) {
            return None;
        }
        if self.unread.pop().is_none() {
            self.next += 1;
        }
        Some(line)
    }

    fn unread(&mut self, line: &'a [u8]) {
        self.unread.push(line);
    }

    /// Consumes the rest of the current part.
    fn skip_to_end(&mut self) {
        while self.read_line().is_some() {}
    }

    /// Reads one entity (a message or a body part): its header block, then its body.
    fn entity(&mut self, default: DefaultType, depth: usize) {
        let mut block = Vec::new();
        while let Some(line) = self.read_line() {
            if !is_field_line(line) {
                if !is_blank(line) {
                    // Not a field, not the separating blank line: the body starts here.
                    self.unread(line);
                }
                break;
            }
            block.push(line);
        }
        let fields = self.fields(&block);

        let ctype = content_type(fields.content_type.as_deref(), default);
        if depth >= MAX_DEPTH {
            self.skip_to_end();
        } else if ctype == "message/delivery-status" {
            self.delivery_status(depth);
        } else if ctype.starts_with("message/") {
            self.entity(DefaultType::TextPlain, depth + 1);
        } else if ctype.starts_with("multipart/") {
            self.multipart(&fields, &ctype, depth);
        } else if ctype.starts_with("text/") && self.text_bytes < MAX_TEXT_BYTES {
            self.text_leaf(&fields, &ctype);
        } else {
            self.skip_to_end();
        }
    }

    /// The fields of a header block this reading needs (the first of each name). A
    /// `From ` line is an mbox envelope when first, the first body line when last, and
    /// ignored elsewhere.
    fn fields(&mut self, block: &[&'a [u8]]) -> Fields {
        let mut fields = Fields::default();
        let mut current: Option<(Which, Vec<u8>)> = None;
        for (i, &line) in block.iter().enumerate() {
            if matches!(line.first(), Some(b' ' | b'\t')) {
                // RFC 5322 §2.2.3 folding; a continuation with no field before it is dropped.
                if let Some((_, value)) = current.as_mut() {
                    value.extend_from_slice(line);
                }
                continue;
            }
            fields.store(current.take());
            if line.starts_with(b"From ") {
                if i > 0 && i + 1 == block.len() {
                    self.unread(line);
                }
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let value = trim_start_blank(&line[colon + 1..]).to_vec();
            current = Some((Which::of(&line[..colon]), value));
        }
        fields.store(current);
        fields
    }

    /// RFC 2046 §5.1.1: preamble, parts between delimiter lines, close delimiter,
    /// epilogue. Without a boundary parameter the body is opaque.
    fn multipart(&mut self, fields: &Fields, ctype: &str, depth: usize) {
        let Some(boundary) = fields.content_type.as_deref().and_then(boundary) else {
            self.skip_to_end();
            return;
        };
        let mut dash_boundary = b"--".to_vec();
        dash_boundary.extend_from_slice(&boundary);
        let child_default = if ctype == "multipart/digest" {
            DefaultType::MessageRfc822
        } else {
            DefaultType::TextPlain
        };

        let mut in_preamble = true;
        while let Some(line) = self.read_line() {
            match delimiter(line, &dash_boundary) {
                Some(true) => {
                    self.skip_to_end(); // epilogue
                    return;
                }
                Some(false) if in_preamble => {
                    in_preamble = false;
                    self.unread(line);
                }
                Some(false) => {
                    // Runs of delimiter lines open one part.
                    while let Some(next) = self.read_line() {
                        if delimiter(next, &dash_boundary).is_none() {
                            self.unread(next);
                            break;
                        }
                    }
                    self.ends.push(End::Delimiter(dash_boundary.clone()));
                    self.entity(child_default, depth + 1);
                    self.ends.pop();
                }
                None => {} // preamble
            }
        }
    }

    /// RFC 3464 §2.1: blocks of fields separated by blank lines; text found in a block
    /// after a line that is not a field is read as a text/plain body.
    fn delivery_status(&mut self, depth: usize) {
        loop {
            self.ends.push(End::BlankLine);
            self.entity(DefaultType::TextPlain, depth + 1);
            self.ends.pop();
            let _separator = self.read_line();
            match self.read_line() {
                Some(line) => self.unread(line),
                None => return,
            }
        }
    }

    /// Decodes a text/* body: transfer encoding, then charset.
    fn text_leaf(&mut self, fields: &Fields, ctype: &str) {
        let mut body = Vec::new();
        while let Some(line) = self.read_line() {
            body.extend_from_slice(line);
        }

        // RFC 2045 §6.1: the field value names the encoding; anything else is identity.
        let cte = fields
            .transfer_encoding
            .as_deref()
            .map(|v| v.to_ascii_lowercase());
        let bytes = match cte.as_deref() {
            Some(b"quoted-printable") => decode::quoted_printable(&body),
            Some(b"base64") => decode::base64(&body),
            _ => body,
        };
        let charset = fields
            .content_type
            .as_deref()
            .and_then(|ct| param(ct, b"charset"));
        let text = match charset.as_deref().and_then(charset_decoder) {
            Some(decoder) => decoder(&bytes),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        };
        let text = if ctype == "text/html" {
            html_to_text(&text)
        } else {
            text
        };
        if !text.trim().is_empty() {
            self.text_bytes += text.len();
            self.texts.push(text);
        }
    }
}

#[derive(Clone, Copy)]
enum Which {
    ContentType,
    TransferEncoding,
    Other,
}

impl Which {
    fn of(name: &[u8]) -> Self {
        if name.eq_ignore_ascii_case(b"content-type") {
            Which::ContentType
        } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            Which::TransferEncoding
        } else {
            Which::Other
        }
    }
}

/// Raw values (folding kept, final line end dropped) of the fields this reading uses.
#[derive(Default)]
struct Fields {
    content_type: Option<Vec<u8>>,
    transfer_encoding: Option<Vec<u8>>,
}

impl Fields {
    fn store(&mut self, field: Option<(Which, Vec<u8>)>) {
        let Some((which, mut value)) = field else {
            return;
        };
        while value.last().is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            value.pop();
        }
        let slot = match which {
            Which::ContentType => &mut self.content_type,
            Which::TransferEncoding => &mut self.transfer_encoding,
            Which::Other => return,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
}

/// A header-block line: a field (printable non-colon characters, then `:`), a folded
/// continuation (leading space or tab) or an mbox `From ` line.
fn is_field_line(line: &[u8]) -> bool {
    if line.starts_with(b"From ") || matches!(line.first(), Some(b' ' | b'\t')) {
        return true;
    }
    // RFC 5322 §2.2: ftext is %d33-57 / %d59-126.
    let name_len = line
        .iter()
        .take_while(|&&b| matches!(b, 33..=57 | 59..=126))
        .count();
    line.get(name_len) == Some(&b':')
}

fn is_blank(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'\r' | b'\n'))
}

/// `Some(is_close)` when `line` is a delimiter (`--boundary`) or close delimiter
/// (`--boundary--`) line, trailing spaces and tabs allowed (RFC 2046 §5.1.1).
fn delimiter(line: &[u8], dash_boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(dash_boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let rest = trim_start_blank(rest);
    let rest = rest
        .strip_prefix(b"\r\n")
        .or_else(|| rest.strip_prefix(b"\n"))
        .or_else(|| rest.strip_prefix(b"\r"))
        .unwrap_or(rest);
    (rest.is_empty() || rest == b"\n").then_some(close)
}

fn trim_start_blank(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &s[n..]
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().take_while(|&&b| is_space(b)).count();
    let end = s.len()
        - s[start..]
            .iter()
            .rev()
            .take_while(|&&b| is_space(b))
            .count();
    &s[start..end]
}

/// `type/subtype` in lower case from a Content-Type value; a value that is not of that
/// form reads as text/plain, a missing one as `default` (RFC 2045 §5.2).
fn content_type(value: Option<&[u8]>, default: DefaultType) -> String {
    let Some(value) = value else {
        return match default {
            DefaultType::TextPlain => "text/plain".into(),
            DefaultType::MessageRfc822 => "message/rfc822".into(),
        };
    };
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    let media = String::from_utf8_lossy(trim(media)).to_ascii_lowercase();
    if media.matches('/').count() == 1 {
        media
    } else {
        "text/plain".into()
    }
}

/// The boundary parameter, trailing white space removed (RFC 2046 §5.1.1).
fn boundary(content_type: &[u8]) -> Option<Vec<u8>> {
    let mut value = param(content_type, b"boundary")?;
    while value.last().is_some_and(|&b| is_space(b)) {
        value.pop();
    }
    Some(value)
}

/// The value of parameter `name` (first match, any case) of a Content-Type value,
/// unquoted (RFC 2045 §5.1). Semicolons inside quotes do not split.
fn param(content_type: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in content_type.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                pieces.push(&content_type[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&content_type[start..]);

    pieces.iter().skip(1).find_map(|piece| {
        let eq = piece.iter().position(|&b| b == b'=')?;
        trim(&piece[..eq])
            .eq_ignore_ascii_case(name)
            .then(|| unquote(trim(&piece[eq + 1..])))
    })
}

fn unquote(value: &[u8]) -> Vec<u8> {
    match value {
        [b'"', inner @ .., b'"'] => {
            let mut out = Vec::with_capacity(inner.len());
            let mut bytes = inner.iter();
            while let Some(&b) = bytes.next() {
                match (b, bytes.as_slice().first()) {
                    (b'\\', Some(&next @ (b'\\' | b'"'))) => {
                        out.push(next);
                        bytes.next();
                    }
                    _ => out.push(b),
                }
            }
            out
        }
        [b'<', inner @ .., b'>'] => inner.to_vec(),
        _ => value.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> Vec<String> {
        text_parts(raw.as_bytes())
    }

    #[test]
    fn line_without_colon_starts_the_body() {
        assert_eq!(
            parts("Subject: x\nno colon here\nTo: y\n\nbody\n"),
            ["no colon here\nTo: y\n\nbody\n"]
        );
        assert_eq!(parts("just text\n"), ["just text\n"]);
        assert_eq!(parts("A: b\n folded\n\nbody"), ["body"]);
    }

    #[test]
    fn padded_and_outer_delimiters_end_parts() {
        let raw = "Content-Type: multipart/mixed; boundary=\"o\"\n\n\
            --o\nContent-Type: multipart/alternative; boundary=in\n\n\
            --in\n\nfirst\n--o \t\nContent-Type: text/plain\n\nsecond\n--o--\nepilogue\n";
        assert_eq!(parts(raw), ["first\n", "second\n"]);
    }

    #[test]
    fn message_parts_are_messages() {
        let raw = "Content-Type: message/external-body; access-type=x\n\n\
            Content-Type: text/plain\nContent-ID: <a@b>\n\nENCODING mime\n";
        assert_eq!(parts(raw), ["ENCODING mime\n"]);
        let digest = "Content-Type: multipart/digest; boundary=d\n\n--d\n\n\
            Subject: inner\n\ninner text\n--d--\n";
        assert_eq!(parts(digest), ["inner text\n"]);
        let dsn = "Content-Type: message/delivery-status\n\n\
            Reporting-MTA: dns; x\n\nFinal-Recipient: a\nstray words\n\nAction: failed\n";
        assert_eq!(parts(dsn), ["stray words\n"]);
    }

    #[test]
    fn encodings_and_charsets_are_decoded() {
        let raw = "Content-Type: multipart/mixed; boundary=\"a;b\"\n\n--a;b\n\
            Content-Type: text/plain; charset=\"iso-8859-1\"\n\
            Content-Transfer-Encoding: quoted-printable\n\ncaf=E9\n--a;b\n\
            Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n\
            PHA+aGk8L3A+\n--a;b\nContent-Type: image/png\n\nxx\n--a;b--\n";
        assert_eq!(parts(raw), ["café\n", "\nhi\n"]);
    }

    #[test]
    fn mbox_from_line_and_odd_fields() {
        assert_eq!(parts("From a@b Mon\nSubject: s\n\nbody"), ["body"]);
        assert_eq!(
            parts("Subject: s\nFrom a@b Mon\n\nbody"),
            ["From a@b Mon\nbody"]
        );
        assert_eq!(
            parts("Content-Type: multipart/mixed\n\nno boundary"),
            [""; 0]
        );
        assert_eq!(parts("Content-Type: bogus\n\nplain"), ["plain"]);
    }

    #[test]
    fn params_and_delimiters() {
        let ct = b"multipart/mixed; Boundary=\"x\\\"y\" ; charset = <u>";
        assert_eq!(param(ct, b"boundary").as_deref(), Some(&b"x\"y"[..]));
        assert_eq!(param(ct, b"charset").as_deref(), Some(&b"u"[..]));
        assert_eq!(param(ct, b"multipart/mixed"), None);
        assert_eq!(delimiter(b"--b\r\n", b"--b"), Some(false));
        assert_eq!(delimiter(b"--b-- \r\n", b"--b"), Some(true));
        assert_eq!(delimiter(b"--b", b"--b"), Some(false));
        assert_eq!(delimiter(b"--bx\n", b"--b"), None);
        assert_eq!(delimiter(b"--b---\n", b"--b"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(raw in proptest::collection::vec(0u8..=255, 0..2048)) {
            let _ = text_parts(&raw);
        }

        #[test]
        fn never_panics_on_mangled_mime(
            cut in 0usize..400,
            junk in proptest::collection::vec(
                proptest::sample::select(vec![
                    b'-', b'-', b'\n', b':', b' ', b'=', b'z', b';', b'"', b'a',
                ]),
                0..40,
            ),
        ) {
            let base = b"Content-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\n\
    Content-Type: message/delivery-status\n\nA: b\n\nc d\n--zz\n\
    Content-Type: multipart/digest; boundary=yy\n\n--yy\n\nSubject: x\n\nbody\n--yy--\n\
    --zz\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGk=\n--zz--\n";
            let at = cut.min(base.len());
            let mut raw = base[..at].to_vec();
            raw.extend_from_slice(&junk);
            raw.extend_from_slice(&base[at..]);
            let _ = text_parts(&raw);
        }

        /// Whatever the nesting, the words of every text part come out.
        #[test]
        fn nested_text_parts_are_found(
            words in proptest::collection::vec("[a-z]{6,12}", 1..6),
            padded in proptest::bool::ANY,
        ) {
            let pad = if padded { " \t" } else { "" };
            let mut raw = String::from("Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
            for (depth, word) in words.iter().enumerate() {
                raw.push_str(&format!(
                    "--b{depth}{pad}\n\n{word}\n--b{depth}{pad}\n\
                    Content-Type: multipart/mixed; boundary=\"b{}\"\n\n",
                    depth + 1
                ));
            }
            for depth in (0..=words.len()).rev() {
                raw.push_str(&format!("--b{depth}--{pad}\n"));
            }
            let texts = text_parts(raw.as_bytes()).join(" ");
            for word in &words {
                proptest::prop_assert!(texts.contains(word.as_str()), "{word} not in {texts:?}");
            }
        }
    }
}
