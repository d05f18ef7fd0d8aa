//! Substring SEARCH keys answered with the backend's index (RFC 3501 §6.4.4: FROM, TO,
//! CC, SUBJECT, `HEADER` with one of those names, BODY and TEXT match substrings).
//!
//! Before the folder is walked, each such key is sent to
//! [`ImapSession::substring_candidates`]. When the backend narrows it, only the messages
//! it names as "maybe" are read and checked here (headers through the summary cache,
//! bodies through text extraction), on blocking workers a chunk at a time; the "sure"
//! ones match unread. The key then becomes a plain set of matching items, and the walk
//! of the folder needs neither headers nor bodies for it. Keys the backend cannot
//! narrow keep the old path (every header read, or `search_text` for BODY/TEXT).
//!
//! The check is case-insensitive (`i;unicode-casemap`, RFC 5255 §4). For BODY and TEXT
//! it runs over the extracted text of the message (decoded parts, HTML as text) with
//! runs of white space taken as one space, so a phrase broken across lines is found.
//!
//! LIMITATION: TEXT looks at the body and the From, To, Cc and Subject headers, as the
//! index holds them, not at other header fields.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use zcs_core::ItemId;

use super::{Fail, heavy, search};
use crate::imap::backend::{BackendError, Candidates, ImapSession, SubstringField};
use crate::imap::mime;
use crate::imap::parser::SearchKey;

/// A substring key: its field and the string searched for, as the client sent it.
pub(super) type SubKey = (SubstringField, String);

/// The final set of matching items of every key the backend narrowed.
pub(super) type Narrowed = HashMap<SubKey, HashSet<ItemId>>;

/// The field a `HEADER name` key names, when it is one the index holds.
pub(super) fn header_field(name: &str) -> Option<SubstringField> {
    [
        ("From", SubstringField::From),
        ("To", SubstringField::To),
        ("Cc", SubstringField::Cc),
        ("Subject", SubstringField::Subject),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(name))
    .map(|(_, f)| f)
}

/// The substring key of `key` itself (not of its children), if it is one.
pub(super) fn sub_key(key: &SearchKey) -> Option<SubKey> {
    use SearchKey::*;
    match key {
        From(s) => Some((SubstringField::From, s.clone())),
        To(s) => Some((SubstringField::To, s.clone())),
        Cc(s) => Some((SubstringField::Cc, s.clone())),
        Subject(s) => Some((SubstringField::Subject, s.clone())),
        Header(name, s) => header_field(name).map(|f| (f, s.clone())),
        Body(s) => Some((SubstringField::Body, s.clone())),
        Text(s) => Some((SubstringField::Text, s.clone())),
        _ => None,
    }
}

/// Every distinct substring key in `key`'s tree.
pub(super) fn collect(key: &SearchKey, out: &mut Vec<SubKey>) {
    use SearchKey::*;
    if let Some(k) = sub_key(key) {
        if !out.contains(&k) {
            out.push(k);
        }
        return;
    }
    match key {
        Not(k) => collect(k, out),
        Or(a, b) => {
            collect(a, out);
            collect(b, out);
        }
        And(keys) => keys.iter().for_each(|k| collect(k, out)),
        _ => {}
    }
}

/// Lower-cases (the casemap of `search::lower`) and turns every run of white space
/// into one space.
fn squeeze(text: &str) -> String {
    let lowered = search::lower(text);
    let mut out = String::with_capacity(lowered.len());
    let mut space = false;
    for c in lowered.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// Whether message `raw` holds `needle` in its body (`body_only`) or in its body or its
/// From, To, Cc and Subject headers (TEXT).
pub(super) fn text_contains(raw: &[u8], needle: &str, body_only: bool) -> bool {
    let needle = squeeze(needle);
    if needle.is_empty() {
        return true;
    }
    let doc = zcs_index::document_from_message(ItemId(0), raw);
    if squeeze(&doc.content).contains(&needle) {
        return true;
    }
    if body_only {
        return false;
    }
    let header = mime::split_header(raw).0;
    ["From", "To", "Cc", "Subject"]
        .iter()
        .any(|name| search::header_contains(Some(header), name, &needle))
}

/// Whether message `raw`'s (or `header`'s) `field` contains `needle`.
fn check(field: SubstringField, needle: &str, header: &[u8], raw: Option<&[u8]>) -> bool {
    let name = match field {
        SubstringField::From => "From",
        SubstringField::To => "To",
        SubstringField::Cc => "Cc",
        SubstringField::Subject => "Subject",
        SubstringField::Body | SubstringField::Text => {
            let body_only = field == SubstringField::Body;
            return raw.is_some_and(|raw| text_contains(raw, needle, body_only));
        }
    };
    search::header_contains(Some(header), name, needle)
}

/// Asks the backend to narrow each key of `keys` in `folder`, then checks the
/// messages it is unsure of among `sizes` (the snapshot's messages and sizes). Keys it
/// cannot narrow are left out of the answer.
pub(super) async fn narrow(
    account: &Arc<dyn ImapSession>,
    folder: ItemId,
    keys: Vec<SubKey>,
    sizes: &HashMap<ItemId, u64>,
) -> Result<Narrowed, Fail> {
    let mut out = Narrowed::new();
    for (field, needle) in keys {
        let Some(cands) = account.substring_candidates(folder, field, &needle).await? else {
            continue;
        };
        let found = confirm(account, field, &needle, cands, sizes).await?;
        out.insert((field, needle), found);
    }
    Ok(out)
}

/// The sure candidates plus those of the maybe ones (in the snapshot) that really
/// contain `needle`.
async fn confirm(
    account: &Arc<dyn ImapSession>,
    field: SubstringField,
    needle: &str,
    cands: Candidates,
    sizes: &HashMap<ItemId, u64>,
) -> Result<HashSet<ItemId>, Fail> {
    let Candidates { mut sure, maybe } = cands;
    let mut maybe: Vec<(ItemId, u64)> = maybe
        .into_iter()
        .filter(|id| !sure.contains(id))
        .filter_map(|id| sizes.get(&id).map(|&size| (id, size)))
        .collect();
    maybe.sort_unstable_by_key(|(id, _)| id.0);
    let whole = matches!(field, SubstringField::Body | SubstringField::Text);
    for chunk in maybe.chunks(heavy::CHUNK) {
        let ids: Vec<ItemId> = chunk.iter().map(|(id, _)| *id).collect();
        let (headers, raws) = if whole {
            let mut raws = Vec::with_capacity(chunk.len());
            for (id, _) in chunk {
                match account.read_message(*id).await {
                    Ok(raw) => raws.push(Some(raw)),
                    Err(BackendError::NotFound) => raws.push(None),
                    Err(e) => return Err(Fail::Backend(e)),
                }
            }
            (vec![None; chunk.len()], raws)
        } else {
            let headers = heavy::read_headers(account, chunk.iter().copied()).await?;
            (headers, vec![None; chunk.len()])
        };
        let needle = needle.to_string();
        let hits = heavy::run(move || {
            ids.into_iter()
                .zip(headers.into_iter().zip(raws))
                .filter(|(_, (header, raw))| {
                    let header = match (header, raw) {
                        (Some(h), _) => h.as_slice(),
                        (None, Some(raw)) => mime::split_header(raw).0,
                        (None, None) => return false,
                    };
                    check(field, &needle, header, raw.as_deref())
                })
                .map(|(id, _)| id)
                .collect::<Vec<ItemId>>()
        })
        .await?;
        sure.extend(hits);
    }
    Ok(sure)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: \"Jo Brown\" <jo@example.com>\r\nTo: a@example.org\r\n\
        Subject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached\r\nMessage-ID: <id-77@x>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nThe quarterly\r\n  numbers\r\nare up.\r\n";

    #[test]
    fn body_phrases_span_line_breaks_and_ignore_case() {
        assert!(text_contains(MSG, "QUARTERLY numbers", true));
        assert!(text_contains(MSG, "rterly num", true));
        assert!(!text_contains(MSG, "numbers are down", true));
        assert!(!text_contains(MSG, "Brown", true));
        assert!(text_contains(MSG, "", true));
    }

    #[test]
    fn text_adds_the_main_headers_but_not_others() {
        assert!(text_contains(MSG, "jo brown", false));
        assert!(text_contains(MSG, "résumé att", false));
        assert!(text_contains(MSG, "quarterly", false));
        assert!(!text_contains(MSG, "id-77", false));
    }

    #[test]
    fn header_keys_map_to_fields() {
        assert_eq!(header_field("SUBJECT"), Some(SubstringField::Subject));
        assert_eq!(header_field("cc"), Some(SubstringField::Cc));
        assert_eq!(header_field("X-Spam"), None);
        let key = SearchKey::Or(
            Box::new(SearchKey::From("jo".into())),
            Box::new(SearchKey::Not(Box::new(SearchKey::Header(
                "subject".into(),
                "x".into(),
            )))),
        );
        let mut keys = Vec::new();
        collect(&key, &mut keys);
        collect(&key, &mut keys);
        assert_eq!(
            keys,
            vec![
                (SubstringField::From, "jo".to_string()),
                (SubstringField::Subject, "x".to_string())
            ]
        );
    }

    #[test]
    fn headers_are_checked_raw_and_decoded() {
        let header = mime::split_header(MSG).0;
        assert!(check(SubstringField::Subject, "RÉSUMÉ", header, None));
        assert!(check(SubstringField::From, "brown\" <jo@", header, None));
        assert!(check(SubstringField::From, "Brown <jo@", header, None));
        assert!(!check(SubstringField::To, "jo@", header, None));
        assert!(!check(SubstringField::Body, "quarterly", header, None));
        assert!(check(SubstringField::Body, "quarterly", header, Some(MSG)));
    }
}
