//! Text extraction: turns a raw RFC 5322 message into an [`IndexDocument`]. Headers and
//! bodies are decoded (RFC 2047 words, RFC 2045 transfer encodings, charsets) by
//! mail-parser; this module decides what text goes where.
//!
//! Every message is read twice: by mail-parser and by a forgiving reader (`lenient.rs`,
//! which follows Python's `email` package). Text/* parts only the second reading finds
//! (in malformed messages) are added, so a search finds the words any common reader
//! shows; a well-formed message's text is not added twice.
//!
//! Binary attachments contribute their file name and MIME type, and, for PDF, Office
//! Open XML and OpenDocument files, their text (`attach.rs`, bounded in size and time).
//! LIMITATION: legacy binary Office files (`.doc`, `.xls`, `.ppt`) give no text;
//! uuencoded bodies are indexed as they are.

pub mod attach;
mod decode;
mod html;
mod lenient;
pub mod metadata;
mod objects;
mod pdf_text;

pub use html::html_to_text;
pub use objects::objects_in;

use std::borrow::Cow;
use std::collections::HashSet;

use mail_parser::{Address, Message, MessageParser, MimeHeaders, PartType};
use zcs_core::ItemId;

use crate::backend::IndexDocument;

/// Extracted content stops growing past this many bytes, so one huge text attachment
/// cannot blow up the indexing heap.
pub const MAX_CONTENT_BYTES: usize = 4 << 20;

/// Nested `message/rfc822` parts deeper than this are not read.
const MAX_NESTING: usize = 8;

/// Builds the index document of one message. Never panics: input that is not a message
/// gives a document whose content is the input read as (lossy) UTF-8.
///
/// Content holds every text part (attachments included), the text of every HTML part,
/// and the headers and text of nested messages, as mail-parser reads the MIME structure;
/// then the text/* parts a forgiving reading finds that are not already there (a header
/// block broken by a line that is no field starts the body, delimiters with trailing
/// blanks end parts, message/external-body phantom bodies are read).
///
/// `date_ms` is the `Date:` header (0 when missing or invalid: date terms then compare
/// the item date); `size` is the length of `raw`. Cost: two linear passes over
/// `raw` plus decoding.
pub fn document_from_message(item: ItemId, raw: &[u8]) -> IndexDocument {
    let mut doc = IndexDocument::new(item, "message");
    doc.size = raw.len() as u64;

    let raw = normalize_line_ends(raw);
    let Some(msg) = MessageParser::default().parse(raw.as_ref()) else {
        push_text(&mut doc.content, &String::from_utf8_lossy(&raw));
        return doc;
    };

    doc.subject = msg.subject().unwrap_or_default().to_string();
    doc.from = addresses(msg.from().into_iter());
    doc.to = addresses(msg.all_to());
    doc.cc = addresses(msg.all_cc());
    doc.message_id = msg.message_id().map(str::to_string);
    doc.env_from = header_text(&msg, "X-Envelope-From");
    doc.env_to = header_text(&msg, "X-Envelope-To");
    doc.date_ms = msg
        .date()
        .filter(|d| d.is_valid())
        .map_or(0, |d| d.to_timestamp().saturating_mul(1000));

    let mut seen = HashSet::new();
    walk(&msg, &mut doc, &mut seen, 0);

    // The forgiving reading: only what the first one missed, so a well-formed message
    // is not indexed twice.
    for text in lenient::text_parts(&raw) {
        if seen.insert(fingerprint(&text)) {
            push_text(&mut doc.content, &text);
        }
    }
    doc
}

/// Identifies a text by its words, ignoring how white space and line ends fall, so the
/// same part decoded by both readings compares equal.
fn fingerprint(text: &str) -> u64 {
    // Words are runs of bytes between ASCII white space (the two readings differ only
    // in line ends and ASCII blanks); eight bytes at a time, multiply and rotate, each
    // word closed by its length. Only equality matters here (nobody picks keys to
    // collide). Every text part is fingerprinted twice, once per reading, so this
    // runs over every byte of every message indexed.
    fn mix(h: u64, v: u64) -> u64 {
        (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
    }
    let mut h = 0x243f_6a88_85a3_08d3;
    let (mut word, mut fill, mut len) = (0u64, 0u32, 0u64);
    for &b in text.as_bytes() {
        if b.is_ascii_whitespace() {
            if len > 0 {
                if fill > 0 {
                    h = mix(h, word);
                }
                h = mix(h, len | 1 << 63);
                (word, fill, len) = (0, 0, 0);
            }
            continue;
        }
        word |= u64::from(b) << (8 * fill);
        fill += 1;
        len += 1;
        if fill == 8 {
            h = mix(h, word);
            (word, fill) = (0, 0);
        }
    }
    if len > 0 {
        if fill > 0 {
            h = mix(h, word);
        }
        h = mix(h, len | 1 << 63);
    }
    h
}

/// Messages saved with old Mac line ends (a lone CR) are read as if they had CRLF, the
/// RFC 5322 §2.1 line end; the parser would otherwise see one endless header line. Only
/// copies when a lone CR is present.
fn normalize_line_ends(raw: &[u8]) -> Cow<'_, [u8]> {
    let lone_cr = |i: usize| raw[i] == b'\r' && raw.get(i + 1) != Some(&b'\n');
    if !(0..raw.len()).any(lone_cr) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for (i, &byte) in raw.iter().enumerate() {
        out.push(byte);
        if lone_cr(i) {
            out.push(b'\n');
        }
    }
    Cow::Owned(out)
}

/// Adds the text, file names and attachment types of every part of `msg`, remembering
/// the [`fingerprint`] of each text in `seen`.
fn walk(msg: &Message<'_>, doc: &mut IndexDocument, seen: &mut HashSet<u64>, depth: usize) {
    for (i, part) in msg.parts.iter().enumerate() {
        let is_attachment = u32::try_from(i).is_ok_and(|id| msg.attachments.contains(&id));
        let name = part.attachment_name().filter(|n| !n.trim().is_empty());

        match &part.body {
            PartType::Text(text) => {
                seen.insert(fingerprint(text));
                push_text(&mut doc.content, text);
            }
            PartType::Html(html) => {
                let text = html_to_text(html);
                seen.insert(fingerprint(&text));
                push_text(&mut doc.content, &text);
            }
            PartType::Message(nested) if depth < MAX_NESTING => {
                // A forwarded message: its headers are text of this message too.
                for header in [
                    nested.subject().unwrap_or_default().to_string(),
                    addresses(nested.from().into_iter()),
                    addresses(nested.all_to()),
                    addresses(nested.all_cc()),
                ] {
                    push_text(&mut doc.content, &header);
                }
                walk(nested, doc, seen, depth + 1);
            }
            PartType::Binary(data) | PartType::InlineBinary(data) => {
                if let Some((text, meta)) = attach::attachment_content(&mime_type(part), name, data)
                {
                    push_text(&mut doc.content, &text);
                    doc.metadata.merge(&meta);
                }
            }
            PartType::Message(_) => {}
            PartType::Multipart(_) => continue,
        }

        if is_attachment || name.is_some() {
            let mime = mime_type(part);
            // A generic type says nothing: the file name's extension tells more, as
            // Zimbra's type detection does.
            if mime == "application/octet-stream"
                && let Some(t) = name.and_then(attach::type_from_extension)
            {
                doc.attachment_types.push(t.to_string());
            }
            doc.attachment_types.push(mime);
            if let Some(name) = name {
                doc.filenames.push(name.to_string());
            }
        }
    }
}

/// `type/subtype` of a part, lower-case; parts without a Content-Type get the RFC 2045
/// §5.2 default for their kind.
fn mime_type(part: &mail_parser::MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => match part.body {
            PartType::Text(_) => "text/plain".into(),
            PartType::Html(_) => "text/html".into(),
            PartType::Message(_) => "message/rfc822".into(),
            _ => "application/octet-stream".into(),
        },
    }
}

/// Every value of the top-level header `name` (any case), trimmed, joined by `, `:
/// the envelope headers an MTA records (`X-Envelope-To` may appear once per
/// recipient).
fn header_text(msg: &Message<'_>, name: &str) -> String {
    let values: Vec<&str> = msg
        .headers_raw()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    values.join(", ")
}

/// `Name <addr>, Name <addr>` for every address in the headers given.
fn addresses<'a, 'x: 'a>(headers: impl Iterator<Item = &'a Address<'x>>) -> String {
    let mut out = Vec::new();
    for header in headers {
        for addr in header.iter() {
            match (addr.name(), addr.address()) {
                (Some(n), Some(a)) => out.push(format!("{n} <{a}>")),
                (Some(n), None) => out.push(n.to_string()),
                (None, Some(a)) => out.push(a.to_string()),
                (None, None) => {}
            }
        }
    }
    out.join(", ")
}

/// Appends `text` and a line break, up to [`MAX_CONTENT_BYTES`] in total (cut on a
/// character boundary).
fn push_text(content: &mut String, text: &str) {
    let room = MAX_CONTENT_BYTES.saturating_sub(content.len());
    if room == 0 || text.trim().is_empty() {
        return;
    }
    let mut cut = text.len().min(room);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    content.push_str(&text[..cut]);
    content.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_how_blanks_fall_but_not_words() {
        let f = fingerprint;
        assert_eq!(f("alpha beta"), f("  alpha\r\n\tbeta \n"));
        assert_eq!(f("a longer word, café"), f("a longer\r\nword,  café"));
        assert_ne!(f("ab c"), f("a bc"));
        assert_ne!(f("alpha beta"), f("alpha betb"));
        assert_ne!(f("exactly8 bytes"), f("exactly8bytes"));
        assert_eq!(f(""), f(" \r\n "));
    }

    const MULTI: &str = "From: \"Jo Brown\" <jb@zimbra.com>\r\n\
To: a@example.com, B <b@example.org>\r\nCc: c@example.net\r\n\
Subject: =?utf-8?q?Caf=C3=A9_plans?=\r\nMessage-ID: <m1@example.com>\r\n\
Date: Tue, 14 Dec 2010 21:32:31 -0800\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n\
--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain words here\r\n\
--b2\r\nContent-Type: text/html\r\n\r\n<p>html <b>bold</b>&amp;more</p>\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--b1\r\nContent-Type: message/rfc822\r\n\r\n\
From: inner@example.com\r\nSubject: forwarded thing\r\n\r\nnested body text\r\n\
--b1--\r\n";

    #[test]
    fn multipart_message_is_extracted() {
        let doc = document_from_message(ItemId(300), MULTI.as_bytes());
        assert_eq!(doc.item, ItemId(300));
        assert_eq!(doc.kind, "message");
        assert_eq!(doc.subject, "Café plans");
        assert!(doc.from.contains("jb@zimbra.com") && doc.from.contains("Jo Brown"));
        assert!(doc.to.contains("a@example.com") && doc.to.contains("b@example.org"));
        assert!(doc.cc.contains("c@example.net"));
        assert_eq!(doc.message_id.as_deref(), Some("m1@example.com"));
        assert_eq!(doc.date_ms, 1_292_391_151_000);
        assert_eq!(doc.size, MULTI.len() as u64);
        for word in [
            "plain words",
            "bold",
            "&more",
            "forwarded thing",
            "nested body text",
        ] {
            assert!(
                doc.content.contains(word),
                "{word} missing: {}",
                doc.content
            );
        }
        assert!(!doc.content.contains("<b>"));
        assert_eq!(doc.filenames, ["report.pdf"]);
        assert!(
            doc.attachment_types
                .contains(&"application/pdf".to_string())
        );
        assert!(doc.attachment_types.contains(&"message/rfc822".to_string()));
    }

    #[test]
    fn forgiving_reading_adds_only_missing_text() {
        let doc = document_from_message(ItemId(1), MULTI.as_bytes());
        assert_eq!(doc.content.matches("plain words here").count(), 1);
        assert_eq!(doc.content.matches("nested body text").count(), 1);

        // A line that is no field ends the header block (the body starts there), and the
        // fields after it are body text.
        let raw = "Subject: s\r\nnot a field\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n";
        let doc = document_from_message(ItemId(1), raw.as_bytes());
        assert_eq!(doc.subject, "s");
        assert!(doc.content.contains("not a field"), "{}", doc.content);
        assert!(doc.content.contains("<b>x</b>"), "{}", doc.content);
    }

    #[test]
    fn lone_cr_line_ends_are_read() {
        let doc = document_from_message(ItemId(2), b"Subject: old mac\rFrom: a@b.c\r\rbody here\r");
        assert_eq!(doc.subject, "old mac");
        assert!(doc.content.contains("body here"));
        assert_eq!(
            normalize_line_ends(b"a\r\nb"),
            Cow::Borrowed(&b"a\r\nb"[..])
        );
        assert_eq!(
            normalize_line_ends(b"a\rb\r"),
            Cow::<[u8]>::Owned(b"a\r\nb\r\n".to_vec())
        );
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00",
            b"no headers at all",
            b"Subject: x\r\n\r\n",
        ] {
            let doc = document_from_message(ItemId(1), raw);
            assert_eq!(doc.size, raw.len() as u64);
        }
    }

    #[test]
    fn attachment_text_goes_to_content() {
        use base64::Engine as _;
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let pdf = attach::tests::make_pdf("Quarterly zebrafish census", true);
        let docx = attach::tests::make_docx("okapi");
        let raw = format!(
            "From: a@b.c\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
             --x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
             --x\r\nContent-Type: application/pdf; name=r.pdf\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --x\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=notes.docx\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--x--\r\n",
            b64(&pdf),
            b64(&docx)
        );
        let doc = document_from_message(ItemId(7), raw.as_bytes());
        assert!(doc.content.contains("zebrafish"), "{}", doc.content);
        assert!(doc.content.contains("okapi"), "{}", doc.content);
        assert!(
            doc.attachment_types
                .iter()
                .any(|t| t.ends_with("wordprocessingml.document"))
        );
        assert_eq!(doc.filenames, ["r.pdf", "notes.docx"]);
    }

    #[test]
    fn content_is_capped() {
        let mut s = String::new();
        push_text(&mut s, &"é".repeat(MAX_CONTENT_BYTES));
        assert!(s.len() <= MAX_CONTENT_BYTES + 1);
        let before = s.len();
        push_text(&mut s, "more");
        assert_eq!(s.len(), before);
    }
}
