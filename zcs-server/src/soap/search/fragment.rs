//! Message fragments (`fr`): the first characters of a message's text body, whitespace
//! collapsed, as Zimbra shows them under each message in a list (text/plain first,
//! else text/html with its markup stripped). The store keeps no fragment column, so
//! they are computed from the blob and kept in a small in-process cache keyed by the
//! blob's content digest (content-addressed: a key can never name other content, even
//! when a draft is saved over with new bytes).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use mail_parser::MessageParser;
use zcs_store::{Mailbox, MessageMeta};

use super::super::element::{AttrKind, Element};

/// Longest fragment, in characters (Zimbra cuts its fragments near 150).
pub(crate) const MAX_CHARS: usize = 150;
/// Most fragments the cache holds; it is emptied when full (about 1-3 MB at most).
const CACHE_CAP: usize = 4096;
/// Blobs larger than this are parsed on a blocking thread rather than inline.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

static CACHE: LazyLock<Mutex<HashMap<String, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn cached(digest: &str) -> Option<String> {
    CACHE.lock().ok()?.get(digest).cloned()
}

fn remember(digest: &str, fragment: &str) {
    if digest.is_empty() {
        return;
    }
    if let Ok(mut map) = CACHE.lock() {
        if map.len() >= CACHE_CAP {
            map.clear();
        }
        map.insert(digest.to_string(), fragment.to_string());
    }
}

/// The fragment of the raw message `raw`: the first [`MAX_CHARS`] characters of its
/// first text body (text/plain, else text/html as text), runs of whitespace collapsed
/// to one space. Empty when the message has no text body or does not parse.
pub(crate) fn from_raw(raw: &[u8]) -> String {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return String::new();
    };
    let Some(text) = msg.body_text(0) else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        if chars >= MAX_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= MAX_CHARS {
                break;
            }
            out.push(c);
            chars += 1;
        }
    }
    out.trim_end().to_string()
}

/// The fragment of `raw`, the stored content of `m`, remembered for later hits.
pub(crate) fn of_raw(m: &MessageMeta, raw: &[u8]) -> String {
    if let Some(f) = cached(&m.blob_digest) {
        return f;
    }
    let f = from_raw(raw);
    remember(&m.blob_digest, &f);
    f
}

/// The fragment of message `m` of `mb`, from the cache or its blob; `None` when the
/// blob cannot be read (the hit then carries no `fr`).
pub(crate) async fn fragment(mb: &Mailbox, m: &MessageMeta) -> Option<String> {
    if let Some(f) = cached(&m.blob_digest) {
        return Some(f);
    }
    let raw = match mb.read_message(m.id).await {
        Ok(raw) => raw,
        Err(e) => {
            tracing::debug!(id = m.id.0, error = %e, "no fragment: blob not readable");
            return None;
        }
    };
    let f = if raw.len() <= INLINE_PARSE_BYTES {
        from_raw(&raw)
    } else {
        tokio::task::spawn_blocking(move || from_raw(&raw))
            .await
            .ok()?
    };
    remember(&m.blob_digest, &f);
    Some(f)
}

/// Puts `fr` into the hit `el` as Zimbra's content-disposition value (`<fr>..</fr>` in
/// XML, a plain string in JSON); nothing when the fragment is empty, as Zimbra leaves
/// `fr` out then.
pub(crate) fn add(el: &mut Element, fragment: &str) {
    if fragment.is_empty() {
        return;
    }
    el.set_content("fr", fragment.to_string(), AttrKind::Str);
}

/// Adds the fragment of `m` (of `mb`) to its hit `el`; nothing when it cannot be read.
pub(crate) async fn add_to_hit(mb: &Mailbox, m: &MessageMeta, el: &mut Element) {
    if let Some(f) = fragment(mb, m).await {
        add(el, &f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_body_whitespace_collapsed() {
        let raw = b"Subject: Lunch\r\n\r\n  Hello   there,\r\n\r\n\tsee you\r\nat noon.\r\n";
        assert_eq!(from_raw(raw), "Hello there, see you at noon.");
    }

    #[test]
    fn html_only_body_is_stripped() {
        let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}\
            </style></head><body><p>Big <b>news</b></p><p>today</p></body></html>\r\n";
        let f = from_raw(raw);
        assert!(f.starts_with("Big news"), "{f}");
        assert!(
            f.contains("today") && !f.contains('<') && !f.contains("p{}"),
            "{f}"
        );
    }

    #[test]
    fn plain_part_wins_over_html_and_length_is_capped() {
        let long = "word ".repeat(100);
        let raw = format!(
            "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; \
             boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n{long}\r\n\
             --B\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--B--\r\n"
        );
        let f = from_raw(raw.as_bytes());
        assert!(f.starts_with("word word"), "{f}");
        assert!(f.chars().count() <= MAX_CHARS);
        assert!(!f.ends_with(' '));
    }

    #[test]
    fn no_body_no_fragment_and_fr_is_a_content_value() {
        assert_eq!(from_raw(b"Subject: x\r\n\r\n"), "");
        let mut el = Element::new("m");
        el.set_content("su", "s", AttrKind::Str);
        add(&mut el, "");
        assert_eq!(el.attrs.len(), 1);
        add(&mut el, "f");
        assert_eq!(el.attr("fr"), Some("f"));
        assert!(el.attrs.iter().all(|a| a.content));
        let v = crate::soap::json::to_value(&el, None);
        assert_eq!(v["fr"], "f");
        assert_eq!(v["su"], "s");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_a_short_fragment(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            proptest::prop_assert!(from_raw(&raw).chars().count() <= MAX_CHARS);
        }
    }
}
