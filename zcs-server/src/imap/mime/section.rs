//! Body section extraction for `BODY[section]` (RFC 3501 §6.4.5): part paths, HEADER,
//! HEADER.FIELDS[.NOT], TEXT and MIME, byte-exact from the original message.

use std::borrow::Cow;

use super::{Part, header_fields};
use crate::imap::parser::{Section, SectionText};

/// Finds the entity a part path names. The root message's body is part 1 when it is not
/// a multipart; inside a message/rfc822 part the path continues in the encapsulated
/// message's body (RFC 3501 §6.4.5).
pub(super) fn resolve<'p, 'a>(root: &'p Part<'a>, path: &[u32]) -> Option<&'p Part<'a>> {
    let mut cur = root;
    for (i, &n) in path.iter().enumerate() {
        let container = match (&cur.message, i) {
            (Some(inner), i) if i > 0 => inner.as_ref(),
            _ => cur,
        };
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        cur = if container.is_multipart() {
            container.children.get(index)?
        } else if index == 0 {
            container
        } else {
            return None;
        };
    }
    Some(cur)
}

/// The bytes of `section` of the message `root`, or `None` when the part does not
/// exist (the caller answers with an empty string).
pub fn extract<'a>(root: &Part<'a>, raw: &'a [u8], section: &Section) -> Option<Cow<'a, [u8]>> {
    let part = resolve(root, &section.part)?;
    let Some(text) = &section.text else {
        return Some(Cow::Borrowed(if section.part.is_empty() {
            raw
        } else {
            part.body
        }));
    };
    if *text == SectionText::Mime {
        return Some(Cow::Borrowed(part.header));
    }
    // HEADER, HEADER.FIELDS and TEXT apply to a message: the root, or the message inside
    // a message/rfc822 part.
    let message: &Part<'a> = if section.part.is_empty() {
        root
    } else {
        part.message.as_deref()?
    };
    Some(match text {
        SectionText::Header => Cow::Borrowed(message.header),
        SectionText::Text => Cow::Borrowed(message.body),
        SectionText::HeaderFields { not, fields } => {
            let mut out = Vec::new();
            for f in header_fields(message.header) {
                let listed = fields
                    .iter()
                    .any(|name| name.as_bytes().eq_ignore_ascii_case(f.name));
                if listed != *not {
                    out.extend_from_slice(f.raw);
                    if !f.raw.ends_with(b"\n") {
                        out.extend_from_slice(b"\r\n");
                    }
                }
            }
            out.extend_from_slice(b"\r\n");
            Cow::Owned(out)
        }
        SectionText::Mime => Cow::Borrowed(part.header),
    })
}
