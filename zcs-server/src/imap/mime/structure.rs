//! ENVELOPE and BODY/BODYSTRUCTURE rendering (RFC 3501 §7.4.2) from a [`Part`] tree.

use super::{Part, count_lines, parse_address_list, parse_disposition};
use crate::imap::response::{push_nstring, push_string};

/// Appends the ENVELOPE of a message:
/// `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
/// Sender and Reply-To default to From when absent (RFC 3501 §7.4.2).
pub fn write_envelope(out: &mut Vec<u8>, message: &Part<'_>) {
    out.push(b'(');
    push_nstring(out, message.field("Date").as_deref());
    out.push(b' ');
    push_nstring(out, message.field("Subject").as_deref());
    let from = message.field("From");
    for name in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"] {
        out.push(b' ');
        let mut value = message.field(name);
        if value.as_deref().is_none_or(|v| v.is_empty()) && matches!(name, "Sender" | "Reply-To") {
            value.clone_from(&from);
        }
        write_address_list(out, value.as_deref());
    }
    out.push(b' ');
    push_nstring(out, message.field("In-Reply-To").as_deref());
    out.push(b' ');
    push_nstring(out, message.field("Message-ID").as_deref());
    out.push(b')');
}

fn write_address_list(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let list = value.map(parse_address_list).unwrap_or_default();
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in &list {
        out.push(b'(');
        push_nstring(out, a.name.as_deref());
        out.push(b' ');
        push_nstring(out, a.adl.as_deref());
        out.push(b' ');
        push_nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        push_nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

fn write_params(out: &mut Vec<u8>, params: &[(String, Vec<u8>)]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        push_string(out, name.to_ascii_uppercase().as_bytes());
        out.push(b' ');
        push_string(out, value);
    }
    out.push(b')');
}

/// Appends the extension fields shared by every part: disposition, language, location
/// (RFC 3501 §7.4.2 `body-ext-1part` / `body-ext-mpart`, after md5 or params).
fn write_common_extensions(out: &mut Vec<u8>, part: &Part<'_>) {
    out.push(b' ');
    match part
        .field("Content-Disposition")
        .and_then(|v| parse_disposition(&v))
    {
        Some((kind, params)) => {
            out.push(b'(');
            push_string(out, kind.to_ascii_uppercase().as_bytes());
            out.push(b' ');
            write_params(out, &params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let languages: Vec<Vec<u8>> = part
        .field("Content-Language")
        .map(|v| {
            v.split(|&b| b == b',')
                .map(|l| super::trim(l).to_vec())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match languages.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => push_string(out, one),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                push_string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    push_nstring(out, part.field("Content-Location").as_deref());
}

/// Appends BODYSTRUCTURE (`extended`) or BODY (not `extended`) of an entity.
pub fn write_body_structure(out: &mut Vec<u8>, part: &Part<'_>, extended: bool) {
    out.push(b'(');
    if part.is_multipart() {
        // RFC 3501 §7.4.2 body-type-mpart: 1*body SP media-subtype [SP body-ext-mpart].
        for child in &part.children {
            write_body_structure(out, child, extended);
        }
        out.push(b' ');
        push_string(out, part.content_type.sub.to_ascii_uppercase().as_bytes());
        if extended {
            out.push(b' ');
            write_params(out, &part.content_type.params);
            write_common_extensions(out, part);
        }
        out.push(b')');
        return;
    }
    let ct = &part.content_type;
    push_string(out, ct.main.to_ascii_uppercase().as_bytes());
    out.push(b' ');
    push_string(out, ct.sub.to_ascii_uppercase().as_bytes());
    out.push(b' ');
    write_params(out, &ct.params);
    out.push(b' ');
    push_nstring(out, part.field("Content-ID").as_deref());
    out.push(b' ');
    push_nstring(out, part.field("Content-Description").as_deref());
    out.push(b' ');
    let encoding = part
        .field("Content-Transfer-Encoding")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| b"7BIT".to_vec());
    push_string(out, &encoding.to_ascii_uppercase());
    out.push(b' ');
    out.extend_from_slice(part.body.len().to_string().as_bytes());
    if let Some(inner) = &part.message {
        // body-type-msg: envelope, body and line count of the encapsulated message.
        out.push(b' ');
        write_envelope(out, inner);
        out.push(b' ');
        write_body_structure(out, inner, extended);
        out.push(b' ');
        out.extend_from_slice(count_lines(part.body).to_string().as_bytes());
    } else if ct.main == "text" {
        out.push(b' ');
        out.extend_from_slice(count_lines(part.body).to_string().as_bytes());
    }
    if extended {
        out.push(b' ');
        push_nstring(out, part.field("Content-MD5").as_deref());
        write_common_extensions(out, part);
    }
    out.push(b')');
}
