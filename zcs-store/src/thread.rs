//! Conversation threading rules, pure: Zimbra's subject normalisation and the
//! `zimbraMailThreadingAlgorithm` values. Which conversation a new message joins is
//! decided in `crate::conversations` from these rules and the mailbox's rows.

/// `zimbraMailThreadingAlgorithm`: how new messages are grouped into conversations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ThreadingAlgorithm {
    /// `none`: every message is alone in its own conversation.
    None,
    /// `subject`: messages with the same normalised subject thread together.
    Subject,
    /// `strict`: only `References` / `In-Reply-To` thread messages together.
    Strict,
    /// `references` (the default): `References` / `In-Reply-To`, and for replies and
    /// forwards (a subject that had a `Re:`/`Fwd:` prefix) the normalised subject.
    #[default]
    References,
    /// `subjrefs`: `References` / `In-Reply-To`, then the normalised subject for any
    /// message.
    SubjRefs,
}

impl ThreadingAlgorithm {
    /// The algorithm named by an attribute value (any case); `None` for an unknown
    /// value (the caller falls back to the default, as Zimbra does).
    pub fn parse(value: &str) -> Option<ThreadingAlgorithm> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "none" => ThreadingAlgorithm::None,
            "subject" => ThreadingAlgorithm::Subject,
            "strict" => ThreadingAlgorithm::Strict,
            "references" => ThreadingAlgorithm::References,
            "subjrefs" => ThreadingAlgorithm::SubjRefs,
            _ => return None,
        })
    }

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadingAlgorithm::None => "none",
            ThreadingAlgorithm::Subject => "subject",
            ThreadingAlgorithm::Strict => "strict",
            ThreadingAlgorithm::References => "references",
            ThreadingAlgorithm::SubjRefs => "subjrefs",
        }
    }

    /// Whether `References` / `In-Reply-To` are used.
    pub(crate) fn uses_references(self) -> bool {
        matches!(
            self,
            ThreadingAlgorithm::Strict
                | ThreadingAlgorithm::References
                | ThreadingAlgorithm::SubjRefs
        )
    }

    /// Whether a message with this subject may thread by subject.
    pub(crate) fn uses_subject(self, is_reply: bool) -> bool {
        match self {
            ThreadingAlgorithm::Subject | ThreadingAlgorithm::SubjRefs => true,
            ThreadingAlgorithm::References => is_reply,
            ThreadingAlgorithm::None | ThreadingAlgorithm::Strict => false,
        }
    }
}

/// Reply and forward prefixes stripped from subjects (before the `:`), lower case.
/// Zimbra's list plus the common localised ones (German, Scandinavian, Dutch).
const PREFIXES: &[&str] = &["re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw", "tr"];

/// The subject conversations compare: leading `Re:`/`Fwd:`-style prefixes (with an
/// optional counter, `Re[2]:` or `Re^2:`) and `[list]` tags removed repeatedly, a
/// trailing `(fwd)` removed, white space collapsed. Returns the normalised subject and
/// whether anything reply-like was stripped (a reply or forward).
///
/// A subject that is only a `[tag]` keeps it (Zimbra does not empty a subject).
pub fn normalize_subject(subject: &str) -> (String, bool) {
    let mut s: &str = subject.trim();
    let mut reply = false;
    loop {
        let before = s;
        if let Some(rest) = s.strip_prefix('[')
            && let Some(end) = rest.find(']')
        {
            let after = rest[end + 1..].trim_start();
            if !after.is_empty() {
                s = after;
            }
        }
        if let Some(colon) = s.find(':').filter(|c| *c <= 10) {
            let head = s[..colon].trim_end();
            let word = head
                .split(['[', '^'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let counter_ok = head[word.len()..]
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '[' | ']' | '^'));
            if PREFIXES.contains(&word.as_str()) && counter_ok {
                s = s[colon + 1..].trim_start();
                reply = true;
            }
        }
        if s == before {
            break;
        }
    }
    let lower = s.to_ascii_lowercase();
    if lower.ends_with("(fwd)") {
        s = s[..s.len() - 5].trim_end();
        reply = true;
    }
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (collapsed, reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_reply_forward_and_list_prefixes() {
        assert_eq!(normalize_subject("Hello"), ("Hello".into(), false));
        assert_eq!(normalize_subject("Re: Hello"), ("Hello".into(), true));
        assert_eq!(
            normalize_subject("RE: Fwd: re:Hello"),
            ("Hello".into(), true)
        );
        assert_eq!(normalize_subject("[dev] Re: Hello"), ("Hello".into(), true));
        assert_eq!(normalize_subject("Re[2]: Hello"), ("Hello".into(), true));
        assert_eq!(normalize_subject("Re^3: Hello"), ("Hello".into(), true));
        assert_eq!(normalize_subject("AW: Hallo"), ("Hallo".into(), true));
        assert_eq!(normalize_subject("Hello (fwd)"), ("Hello".into(), true));
        assert_eq!(normalize_subject("  a   b  "), ("a b".into(), false));
        assert_eq!(normalize_subject("[dev]"), ("[dev]".into(), false));
        assert_eq!(
            normalize_subject("Note: call me"),
            ("Note: call me".into(), false)
        );
        assert_eq!(normalize_subject(""), (String::new(), false));
        assert_eq!(normalize_subject("Re:"), (String::new(), true));
    }

    #[test]
    fn algorithm_names() {
        for a in [
            ThreadingAlgorithm::None,
            ThreadingAlgorithm::Subject,
            ThreadingAlgorithm::Strict,
            ThreadingAlgorithm::References,
            ThreadingAlgorithm::SubjRefs,
        ] {
            assert_eq!(ThreadingAlgorithm::parse(a.as_str()), Some(a));
        }
        assert_eq!(ThreadingAlgorithm::parse("bogus"), None);
        assert_eq!(
            ThreadingAlgorithm::default(),
            ThreadingAlgorithm::References
        );
    }

    proptest! {
        #[test]
        fn normalisation_never_panics_and_is_idempotent(s in ".{0,80}") {
            let (n, _) = normalize_subject(&s);
            let (again, _) = normalize_subject(&n);
            // Stripping is repeated until nothing changes, so once more changes nothing
            // unless a trailing (fwd) revealed a new prefix.
            prop_assert!(again.len() <= n.len());
        }
    }
}
