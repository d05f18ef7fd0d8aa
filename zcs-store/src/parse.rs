//! Input checks done before anything is logged: the header summary stored with a message
//! (subject, sender, recipients, Message-ID) and Zimbra's rules for folder names.
//!
//! Header parsing tolerates any bytes: a message mail-parser cannot make sense of is
//! stored with empty fields, never refused.

use std::sync::OnceLock;

use mail_parser::{Address, HeaderName, MessageParser};

use crate::error::StoreError;

/// Longest subject/sender/recipients value kept (characters); longer values are cut.
const MAX_FIELD_CHARS: usize = 1024;

/// The header summary of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderSummary {
    pub subject: String,
    pub sender: String,
    pub recipients: String,
    pub message_id: Option<String>,
    /// Message-IDs from `In-Reply-To` then `References` (newest reference first), what
    /// threading by references looks up (RFC 5322 §3.6.4).
    pub references: Vec<String>,
}

/// A header parser for the summary: only the headers it reads are parsed (subject,
/// addresses, message ids); every other header is skipped, not parsed. A delivery
/// summarizes each message once, and structured parsing of headers nothing reads
/// (`Received` chains above all) cost more than the rest of the summary.
fn summary_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .header_address(HeaderName::Sender)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .header_id(HeaderName::MessageId)
            .header_id(HeaderName::InReplyTo)
            .header_id(HeaderName::References)
            .default_header_ignore()
    })
}

/// Extracts the header summary from raw RFC 5322 bytes.
pub(crate) fn summarize(raw: &[u8]) -> HeaderSummary {
    summarize_with(summary_parser(), raw)
}

/// [`summarize`] with `parser`.
fn summarize_with(parser: &MessageParser, raw: &[u8]) -> HeaderSummary {
    let Some(msg) = parser.parse_headers(raw) else {
        return HeaderSummary::default();
    };
    let subject = clip(msg.subject().unwrap_or_default());
    // RFC 5322 §3.6.2: From is the author; Sender only when From is missing.
    let sender = msg
        .from()
        .or_else(|| msg.sender())
        .map(format_addresses)
        .unwrap_or_default();
    let mut rcpts = Vec::new();
    for a in [msg.to(), msg.cc()].into_iter().flatten() {
        let s = format_addresses(a);
        if !s.is_empty() {
            rcpts.push(s);
        }
    }
    let message_id = msg
        .message_id()
        .map(|m| clip(m.trim()))
        .filter(|m| !m.is_empty());
    let mut references: Vec<String> = Vec::new();
    let irt = msg.in_reply_to().as_text_list().unwrap_or_default();
    let refs = msg.references().as_text_list().unwrap_or_default();
    for r in irt.iter().chain(refs.iter().rev()) {
        let r = clip(r.trim());
        if !r.is_empty() && !references.contains(&r) && references.len() < 50 {
            references.push(r);
        }
    }
    HeaderSummary {
        subject,
        sender: clip(&sender),
        recipients: clip(&rcpts.join(", ")),
        message_id,
        references,
    }
}

fn format_addresses(a: &Address<'_>) -> String {
    a.iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(e)) if !n.is_empty() => format!("{n} <{e}>"),
            (_, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Drops control characters and cuts to [`MAX_FIELD_CHARS`].
fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .take(MAX_FIELD_CHARS)
        .collect()
}

/// Checks and normalizes a folder name the way Zimbra does (soap.txt item names): at
/// most 255 characters, none of `:` `/` `"` TAB CR LF, not `.`, `..` or empty; other
/// characters below 0x20 and trailing white space are stripped first.
pub(crate) fn folder_name(name: &str) -> Result<String, StoreError> {
    let bad = |reason| StoreError::InvalidName {
        name: name.chars().take(300).collect(),
        reason,
    };
    if name.contains(['/', ':', '"', '\t', '\r', '\n']) {
        return Err(bad("contains one of / : \" TAB CR LF"));
    }
    let cleaned: String = name.chars().filter(|c| *c >= ' ').collect();
    let cleaned = cleaned.trim_end().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return Err(bad("empty, \".\" or \"..\""));
    }
    if cleaned.chars().count() > 255 {
        return Err(bad("longer than 255 characters"));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn summary_of_a_plain_message() {
        let raw = b"From: Alice Example <alice@example.com>\r\n\
            To: bob@example.com, Carol <carol@example.org>\r\n\
            Cc: dave@example.net\r\n\
            Subject: =?UTF-8?Q?caf=C3=A9?=\r\n\
            Message-ID: <abc@example.com>\r\n\r\nbody\r\n";
        let s = summarize(raw);
        assert_eq!(s.subject, "café");
        assert_eq!(s.sender, "Alice Example <alice@example.com>");
        assert_eq!(
            s.recipients,
            "bob@example.com, Carol <carol@example.org>, dave@example.net"
        );
        assert_eq!(s.message_id.as_deref(), Some("abc@example.com"));
        assert!(s.references.is_empty());
    }

    #[test]
    fn references_come_newest_first_after_in_reply_to() {
        let raw = b"Subject: Re: x\r\nIn-Reply-To: <c@x>\r\n\
            References: <a@x> <b@x> <c@x>\r\n\r\nbody\r\n";
        let s = summarize(raw);
        assert_eq!(s.references, vec!["c@x", "b@x", "a@x"]);
    }

    #[test]
    fn corpus_summaries_match_full_parsing() {
        // `$ZCS_CORPUS`, else `shared/corpus` beside the checkout (as the integration
        // tests' `corpus_dir`).
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = std::env::var_os("ZCS_CORPUS")
            .map(std::path::PathBuf::from)
            .into_iter()
            .chain([
                manifest.join("../../shared/corpus"),
                manifest.join("../shared/corpus"),
                std::path::PathBuf::from("/work/shared/corpus"),
            ])
            .find(|d| d.is_dir());
        let Some(dir) = found else {
            eprintln!("corpus_summaries_match_full_parsing: no corpus found; skipped");
            return;
        };
        let mut stack = vec![dir];
        let mut checked = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if checked < 400
                    && let Ok(raw) = std::fs::read(&p)
                {
                    let full = summarize_with(&MessageParser::default(), &raw);
                    assert_eq!(summarize(&raw), full, "{p:?}");
                    checked += 1;
                }
            }
        }
    }

    #[test]
    fn garbage_gives_empty_fields() {
        let s = summarize(b"\x00\xff\xfe not a message");
        assert_eq!(s.sender, "");
        let s = summarize(b"");
        assert_eq!(s, HeaderSummary::default());
    }

    #[test]
    fn folder_names_follow_zimbra_rules() {
        assert_eq!(folder_name("Work  ").unwrap(), "Work");
        assert_eq!(folder_name("a\u{1}b").unwrap(), "ab");
        for bad in ["", " ", ".", "..", "a/b", "a:b", "a\"b", "a\tb", "a\nb"] {
            assert!(folder_name(bad).is_err(), "{bad:?}");
        }
        assert!(folder_name(&"x".repeat(256)).is_err());
        assert!(folder_name(&"é".repeat(255)).is_ok());
    }

    proptest! {
        #[test]
        fn summarize_never_panics(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = summarize(&raw);
        }

        /// The narrowed parser summarizes exactly as mail-parser's full header parsing
        /// does, whatever the order and folding of the headers it reads and of
        /// unstructured others. (A malformed structured header it skips, such as
        /// `Date: +A`, can make the full parser swallow the next header; the narrowed
        /// one then keeps that header, so such inputs are left out here; real mail is
        /// checked by `corpus_summaries_match_full_parsing`.)
        #[test]
        fn narrowed_parser_summarizes_as_the_full_one(
            headers in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "Subject", "From", "Sender", "To", "Cc", "Message-ID",
                        "In-Reply-To", "References", "X-Other", "subject", "FROM",
                    ]),
                    "[ -~]{0,40}",
                    any::<bool>(),
                ),
                0..12,
            ),
            body in "[ -~\r\n]{0,60}",
        ) {
            let mut raw = String::new();
            for (name, value, folded) in &headers {
                raw.push_str(&format!("{name}: {value}\r\n"));
                if *folded {
                    raw.push_str(&format!(" {value}\r\n"));
                }
            }
            raw.push_str("\r\n");
            raw.push_str(&body);
            prop_assert_eq!(
                summarize(raw.as_bytes()),
                summarize_with(&MessageParser::default(), raw.as_bytes())
            );
        }

        #[test]
        fn folder_name_never_panics(name in ".{0,300}") {
            if let Ok(n) = folder_name(&name) {
                prop_assert!(!n.contains('/'));
                prop_assert!(!n.is_empty());
            }
        }
    }
}
