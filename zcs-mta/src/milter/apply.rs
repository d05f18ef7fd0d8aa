//! Rewriting a message as milters ask (RFC 5322 §2.2 header fields): header fields
//! added, inserted, changed or deleted, and the body replaced. Also splits a message
//! into the header fields and body a milter is shown.

use super::codec::Response;

/// What the milters changed, summed over all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageEdit {
    /// The rewritten content, when a header field or the body changed.
    pub content: Option<Vec<u8>>,
    /// Recipients to add (as the milter wrote them, angle brackets removed).
    pub add_rcpts: Vec<String>,
    /// Recipients to remove (angle brackets removed).
    pub del_rcpts: Vec<String>,
    /// A new envelope sender (angle brackets removed).
    pub new_from: Option<String>,
    /// Hold the message with this reason (`SMFIR_QUARANTINE`, or the default action).
    pub quarantine: Option<String>,
}

/// One header field as found in the message: name, and value as it follows the colon
/// (leading white space and folding kept, final CRLF removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// Splits `content` into header fields and body (after the empty line). A message with
/// no empty line is all header; a line without a colon ends the header there (it and
/// what follows are body).
pub(crate) fn split(content: &[u8]) -> (Vec<Field>, &[u8]) {
    let mut fields: Vec<Field> = Vec::new();
    let mut at = 0;
    while at < content.len() {
        let end = content[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(content.len(), |p| at + p + 1);
        let line = &content[at..end];
        let text = trim_eol(line);
        if text.is_empty() {
            return (fields, &content[end..]);
        }
        if matches!(text[0], b' ' | b'\t') {
            if let Some(last) = fields.last_mut() {
                last.value.push_str("\r\n");
                last.value.push_str(&String::from_utf8_lossy(text));
                at = end;
                continue;
            }
            return (fields, &content[at..]);
        }
        let Some(colon) = text.iter().position(|b| *b == b':') else {
            return (fields, &content[at..]);
        };
        fields.push(Field {
            name: String::from_utf8_lossy(&text[..colon])
                .trim_end()
                .to_string(),
            value: String::from_utf8_lossy(&text[colon + 1..]).into_owned(),
        });
        at = end;
    }
    (fields, &[])
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Line ends as CRLF, whatever the milter used; a continuation line always starts with
/// white space and is never empty, so a value cannot end the header or start a field.
fn crlf(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for (i, line) in value.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if i == 0 {
            out.push_str(line);
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        out.push_str("\r\n");
        if !line.starts_with([' ', '\t']) {
            out.push('\t');
        }
        out.push_str(line);
    }
    out
}

fn join(fields: &[Field], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + fields.len() * 64);
    for f in fields {
        out.extend_from_slice(f.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(crlf(&f.value).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A value as a milter sent it, made ready to follow the colon: one leading space unless
/// it starts with white space already.
fn field_value(value: &str) -> String {
    if value.starts_with([' ', '\t']) {
        value.to_string()
    } else {
        format!(" {value}")
    }
}

/// Applies the header and body edits among `edits` to `content` (other replies are
/// ignored) and returns the new content. Sendmail's meanings: `InsertHeader(0, ..)` goes
/// first; `ChangeHeader(i, name, "")` deletes the `i`-th field called `name`, and a change
/// of a field that is not there adds it. Replacement body chunks are concatenated.
/// Never panics, whatever the edits.
pub fn apply_edits(content: &[u8], edits: &[Response]) -> Vec<u8> {
    let (mut fields, body) = split(content);
    let mut new_body: Option<Vec<u8>> = None;
    for edit in edits {
        match edit {
            Response::AddHeader(name, value) if valid_name(name) => fields.push(Field {
                name: name.clone(),
                value: field_value(value),
            }),
            Response::InsertHeader(index, name, value) if valid_name(name) => {
                let at = (*index as usize).min(fields.len());
                fields.insert(
                    at,
                    Field {
                        name: name.clone(),
                        value: field_value(value),
                    },
                );
            }
            Response::ChangeHeader(index, name, value) if valid_name(name) => {
                let nth = (*index as usize).max(1);
                let found = fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.name.eq_ignore_ascii_case(name))
                    .nth(nth - 1)
                    .map(|(i, _)| i);
                match (found, value.is_empty()) {
                    (Some(i), true) => {
                        fields.remove(i);
                    }
                    (Some(i), false) => fields[i].value = field_value(value),
                    (None, true) => {}
                    (None, false) => fields.push(Field {
                        name: name.clone(),
                        value: field_value(value),
                    }),
                }
            }
            Response::ReplaceBody(chunk) => new_body
                .get_or_insert_with(Vec::new)
                .extend_from_slice(chunk),
            _ => {}
        }
    }
    match new_body {
        Some(b) => join(&fields, &normalize_body(&b)),
        None => join(&fields, body),
    }
}

/// A field name is printable ASCII without colon (RFC 5322 §3.6.8); others are dropped.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Bare LF or CR in a replaced body become CRLF.
fn normalize_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 32);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// An address as milters write it (`<a@b>`) without the brackets.
pub(crate) fn bare(address: &str) -> String {
    let a = address.trim();
    a.strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(a)
        .to_string()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MSG: &[u8] = b"Subject: hi\r\nX-A: 1\r\n  more\r\nX-A: 2\r\n\r\nbody\r\n";

    #[test]
    fn split_fields() {
        let (fields, body) = split(MSG);
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[1].value, " 1\r\n  more");
        assert_eq!(body, b"body\r\n");
        assert_eq!(join(&fields, body), MSG);
        let (f, b) = split(b"no header line\r\n\r\nx");
        assert!(f.is_empty());
        assert_eq!(b, b"no header line\r\n\r\nx");
    }

    #[test]
    fn edits() {
        let out = apply_edits(
            MSG,
            &[
                Response::AddHeader("X-Milter".into(), "yes".into()),
                Response::InsertHeader(0, "X-First".into(), "1".into()),
                Response::ChangeHeader(2, "x-a".into(), String::new()),
                Response::ChangeHeader(1, "Subject".into(), "new".into()),
                Response::ChangeHeader(1, "X-New".into(), "added".into()),
                Response::AddHeader("bad:name".into(), "x".into()),
                Response::ReplaceBody(b"new\nbody".to_vec()),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "X-First: 1\r\nSubject: new\r\nX-A: 1\r\n  more\r\nX-Milter: yes\r\n\
             X-New: added\r\n\r\nnew\r\nbody"
        );
        assert_eq!(bare(" <a@b> "), "a@b");
        assert_eq!(bare("a@b"), "a@b");
    }

    proptest! {
        #[test]
        fn apply_never_panics(
            content in proptest::collection::vec(any::<u8>(), 0..200),
            index in any::<u32>(),
            name in "[ -~]{0,10}",
            value in "[ -~\r\n]{0,20}",
        ) {
            let edits = [
                Response::ChangeHeader(index, name.clone(), value.clone()),
                Response::InsertHeader(index, name.clone(), value.clone()),
                Response::ChangeHeader(index, name, String::new()),
            ];
            let _ = apply_edits(&content, &edits);
        }
    }
}
