//! A draft's compose context: the identity it is written as (`idnt`), whether it
//! replies to or forwards a message (`rt="r|w"`) and which one (`origid`), as
//! SaveDraftRequest's `m` carries them and GetMsg shows them again on the draft, the
//! draft info Zimbra keeps in a draft's metadata.
//!
//! LIMITATION: the store keeps no per-message metadata, so the draft info travels in a
//! private header of the draft's MIME (`X-Zcs-Draft-Info`), which IMAP and REST show;
//! a draft sent as saved (`sfd`) goes out without it.

use mail_parser::MessageParser;

use super::super::element::Element;

/// The private header holding the draft info.
const HEADER: &str = "X-Zcs-Draft-Info";

/// A draft's compose context; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DraftInfo {
    /// The identity id (`idnt`).
    pub identity: Option<String>,
    /// `r` (reply) or `w` (forward).
    pub reply_type: Option<String>,
    /// The message replied to or forwarded (`origid`).
    pub orig_id: Option<String>,
}

/// `v` when it is a plain id-like token (letters, digits, `-`, `_`, `:`, `.`), so it
/// can sit in a header and never break it.
fn token(v: Option<&str>) -> Option<String> {
    let v = v?.trim();
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'));
    ok.then(|| v.to_string())
}

impl DraftInfo {
    /// The draft info SaveDraftRequest's `m` gives (`idnt=`, `rt=`, `origid=`).
    pub(crate) fn from_request(m: &Element) -> DraftInfo {
        DraftInfo {
            identity: token(m.attr("idnt")),
            reply_type: token(m.attr("rt")).filter(|r| r == "r" || r == "w"),
            orig_id: token(m.attr("origid")),
        }
    }

    fn is_empty(&self) -> bool {
        *self == DraftInfo::default()
    }

    /// `mime` with the draft info as its first header (unchanged when there is none).
    pub(crate) fn stamp(&self, mime: Vec<u8>) -> Vec<u8> {
        if self.is_empty() {
            return mime;
        }
        let mut fields = Vec::new();
        for (k, v) in [
            ("idnt", &self.identity),
            ("rt", &self.reply_type),
            ("origid", &self.orig_id),
        ] {
            if let Some(v) = v {
                fields.push(format!("{k}={v}"));
            }
        }
        let mut out = format!("{HEADER}: {}\r\n", fields.join("; ")).into_bytes();
        out.extend_from_slice(&mime);
        out
    }

    /// The draft info stamped on the raw draft `raw`, if any.
    pub(crate) fn read(raw: &[u8]) -> DraftInfo {
        let mut info = DraftInfo::default();
        let Some(msg) = MessageParser::default().parse_headers(raw) else {
            return info;
        };
        let Some(value) = msg.header_raw(HEADER) else {
            return info;
        };
        for field in value.split(';') {
            let Some((k, v)) = field.split_once('=') else {
                continue;
            };
            let v = token(Some(v));
            match k.trim() {
                "idnt" => info.identity = v,
                "rt" => info.reply_type = v.filter(|r| r == "r" || r == "w"),
                "origid" => info.orig_id = v,
                _ => {}
            }
        }
        info
    }

    /// Adds `idnt`, `rt` and `origid` to a draft's `m` element, as Zimbra shows them.
    pub(crate) fn add_attrs(&self, el: &mut Element) {
        if let Some(v) = &self.orig_id {
            el.set("origid", v.clone());
        }
        if let Some(v) = &self.reply_type {
            el.set("rt", v.clone());
        }
        if let Some(v) = &self.identity {
            el.set("idnt", v.clone());
        }
    }
}

/// `raw` without the draft info header (what leaves the server when a draft is sent
/// as saved). Only the header block is looked at.
pub(crate) fn strip(raw: &[u8]) -> Vec<u8> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 2);
    let (head, body) = raw.split_at(end);
    let prefix = format!("{}:", HEADER.to_ascii_lowercase());
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if !folded {
            skipping = line.to_ascii_lowercase().starts_with(prefix.as_bytes());
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_reads_and_strips() {
        let mut m = Element::new("m");
        m.set("idnt", "a1b2-c3");
        m.set("rt", "r");
        m.set("origid", "257");
        let info = DraftInfo::from_request(&m);
        let raw = info.stamp(b"Subject: s\r\nTo: a@b.c\r\n\r\nbody\r\n".to_vec());
        assert!(raw.starts_with(b"X-Zcs-Draft-Info: idnt=a1b2-c3; rt=r; origid=257\r\n"));
        assert_eq!(DraftInfo::read(&raw), info);
        assert_eq!(
            strip(&raw),
            b"Subject: s\r\nTo: a@b.c\r\n\r\nbody\r\n".to_vec()
        );
        let mut el = Element::new("m");
        info.add_attrs(&mut el);
        assert_eq!(el.attr("idnt"), Some("a1b2-c3"));
        assert_eq!(el.attr("rt"), Some("r"));
        assert_eq!(el.attr("origid"), Some("257"));
    }

    #[test]
    fn unsafe_values_are_dropped() {
        let mut m = Element::new("m");
        m.set("idnt", "x\r\nBcc: evil@x");
        m.set("rt", "q");
        let info = DraftInfo::from_request(&m);
        assert_eq!(info, DraftInfo::default());
        assert_eq!(
            info.stamp(b"A: b\r\n\r\n".to_vec()),
            b"A: b\r\n\r\n".to_vec()
        );
        assert_eq!(DraftInfo::read(b"Subject: x\r\n\r\n"), DraftInfo::default());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = DraftInfo::read(&raw);
            let out = strip(&raw);
            proptest::prop_assert!(out.len() <= raw.len());
        }
    }
}
