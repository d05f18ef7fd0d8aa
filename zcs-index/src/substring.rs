//! Narrowing substring searches with the index: IMAP's SEARCH FROM, TO, CC, SUBJECT,
//! BODY and TEXT match any substring of the field, not whole words (RFC 9051 §6.4.4),
//! while the index holds words. This module works out which index tokens a message must
//! hold when its text contains a given substring, so the caller reads and checks only
//! those messages (and, in the one case where the answer is exact, none at all).
//!
//! Why it is sound: the indexing tokenizer ([`crate::tokenizer`]) emits every maximal run
//! of word characters of the text as a token of its own, lower-cased (a run inside a
//! joined chunk such as `jo.brown@example.com` is one of the chunk's parts), and every
//! CJK bigram. So when a text contains the needle, each word run of the needle lies
//! inside one of the text's runs: a run bounded on both sides inside the needle *is* a
//! token; one touching only the needle's end is the start of a token; one touching only
//! its start is the end of a token; one touching both (a needle that is a single word)
//! is inside a token. Two cases break the chain and are handled: a chunk that is a stop
//! word is not indexed (so needle words found inside a stop word give no constraint),
//! and the contextual lower-casing of Greek sigma (such words give none either).
//!
//! LIMITATION: chunks longer than [`crate::tokenizer::MAX_TOKEN_BYTES`] (base64 runs,
//! very long URLs) are not indexed, so a substring inside one is not found through the
//! index.

use crate::tokenizer::{STOP_WORDS, is_cjk, is_joiner, is_word};

/// How one word of a needle must appear among a field's tokens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WordMatch {
    /// A token equal to the word.
    Whole(String),
    /// A token starting with the word (the word ends the needle).
    Prefix(String),
    /// A token ending with the word (the word starts the needle).
    Suffix(String),
    /// A token containing the word (the needle is this one word).
    Infix(String),
}

impl WordMatch {
    /// The word, lower-cased.
    pub fn word(&self) -> &str {
        match self {
            WordMatch::Whole(w) | WordMatch::Prefix(w) | WordMatch::Suffix(w) => w,
            WordMatch::Infix(w) => w,
        }
    }

    /// A regular expression over whole tokens (tantivy's term automaton) for this
    /// match. A word run may carry joiners in its token (`m'` in `m'@example.com`, `c++`),
    /// so whole and edge words allow them around the word.
    pub fn regex(&self) -> String {
        const J: &str = r"[.@_+'\-]*";
        match self {
            WordMatch::Whole(w) => format!("{J}{}{J}", escape(w)),
            WordMatch::Prefix(w) => format!("{J}{}.*", escape(w)),
            WordMatch::Suffix(w) => format!(".*{}{J}", escape(w)),
            WordMatch::Infix(w) => format!(".*{}.*", escape(w)),
        }
    }

    /// Whether `token` (an index token) satisfies this match: what [`WordMatch::regex`]
    /// accepts, for callers and tests without a term dictionary.
    pub fn matches_token(&self, token: &str) -> bool {
        let trim_start = |t: &str| t.trim_start_matches(is_joiner).to_string();
        let trim_end = |t: &str| t.trim_end_matches(is_joiner).to_string();
        match self {
            WordMatch::Whole(w) => trim_end(&trim_start(token)) == *w,
            WordMatch::Prefix(w) => trim_start(token).starts_with(w.as_str()),
            WordMatch::Suffix(w) => trim_end(token).ends_with(w.as_str()),
            WordMatch::Infix(w) => token.contains(w.as_str()),
        }
    }
}

/// Escapes ASCII punctuation for a regular expression. Words hold only letters, digits
/// and marks, so this is a safeguard; non-ASCII characters are never metacharacters.
fn escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a message must hold in the index when its field contains a needle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubstringPlan {
    /// Every one of these must match a token of the field (in any order).
    pub words: Vec<WordMatch>,
    /// True when the index answer is the answer: the needle is one ASCII word, so a
    /// message has a token containing it exactly when its indexed text contains it
    /// (up to folding: an accented letter of the text matches its base letter, as in
    /// Zimbra's own index).
    /// Otherwise the index gives candidates that the caller must check.
    pub exact: bool,
}

/// Whether `word` (lower-cased) occurs inside some stop word: a text holding only that
/// stop word has no token for it.
fn inside_stop_word(word: &str) -> bool {
    STOP_WORDS.iter().any(|s| s.contains(word))
}

/// Greek sigma lower-cases differently at the end of a word, so a needle word holding
/// one may not match the token text.
fn has_sigma(word: &str) -> bool {
    word.chars().any(|c| matches!(c, 'Σ' | 'σ' | 'ς'))
}

/// The plan for a substring search of `needle`, or `None` when the index cannot narrow
/// it (no word characters, or only words found inside stop words): the caller then
/// checks every message. Never panics.
pub fn substring_plan(needle: &str) -> Option<SubstringPlan> {
    // Folded as the index's words are (accents, fullwidth forms, katakana), so the
    // narrowing never loses a message that holds the needle.
    let chars: Vec<char> = needle.chars().map(crate::fold::fold_char).collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            let run: Vec<String> = chars[start..i].iter().map(|c| c.to_string()).collect();
            if run.len() == 1 {
                // A lone character is a token itself or half of a bigram.
                words.push(WordMatch::Infix(run[0].clone()));
            } else {
                // Every bigram of the needle's run is a bigram of the text's run.
                for pair in run.windows(2) {
                    words.push(WordMatch::Whole(format!("{}{}", pair[0], pair[1])));
                }
            }
            continue;
        }
        if !is_word(c) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) && !is_cjk(chars[i]) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        if has_sigma(&run) {
            continue;
        }
        let word = run.to_lowercase();
        if inside_stop_word(&word) {
            continue;
        }
        let open_before = start == 0;
        let open_after = i == chars.len();
        words.push(match (open_before, open_after) {
            (false, false) => WordMatch::Whole(word),
            (false, true) => WordMatch::Prefix(word),
            (true, false) => WordMatch::Suffix(word),
            (true, true) => WordMatch::Infix(word),
        });
    }
    if words.is_empty() {
        return None;
    }
    words.dedup();
    let exact = words.len() == 1
        && matches!(&words[0], WordMatch::Infix(w) if w.is_ascii())
        && needle.is_ascii();
    Some(SubstringPlan { words, exact })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{TokenMode, token_texts};
    use proptest::prelude::*;

    fn plan(n: &str) -> Option<SubstringPlan> {
        substring_plan(n)
    }

    #[test]
    fn a_single_word_is_an_exact_infix() {
        let p = plan("Roadmap").expect("plan");
        assert_eq!(p.words, vec![WordMatch::Infix("roadmap".into())]);
        assert!(p.exact);
        assert_eq!(p.words[0].regex(), ".*roadmap.*");
    }

    #[test]
    fn edges_are_partial_and_inner_words_whole() {
        let p = plan("umber 42 of mess").expect("plan");
        assert_eq!(
            p.words,
            vec![
                WordMatch::Suffix("umber".into()),
                WordMatch::Whole("42".into()),
                WordMatch::Prefix("mess".into()),
            ]
        );
        assert!(!p.exact);
        let p = plan("user17@").expect("plan");
        assert_eq!(p.words, vec![WordMatch::Suffix("user17".into())]);
        assert!(!p.exact);
        let p = plan("<jb@example.com>").expect("plan");
        assert_eq!(
            p.words,
            vec![
                WordMatch::Whole("jb".into()),
                WordMatch::Whole("example".into()),
                WordMatch::Whole("com".into()),
            ]
        );
    }

    #[test]
    fn stop_word_fragments_and_punctuation_give_no_constraint() {
        assert_eq!(plan(""), None);
        assert_eq!(plan("  @ -- "), None);
        assert_eq!(plan("the"), None);
        assert_eq!(plan("he"), None);
        let p = plan("in the budget").expect("plan");
        assert_eq!(p.words, vec![WordMatch::Prefix("budget".into())]);
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        let p = plan("会议室").expect("plan");
        assert_eq!(
            p.words,
            vec![
                WordMatch::Whole("会议".into()),
                WordMatch::Whole("议室".into())
            ]
        );
        let p = plan("会").expect("plan");
        assert_eq!(p.words, vec![WordMatch::Infix("会".into())]);
        assert!(!p.exact);
    }

    #[test]
    fn sigma_words_are_left_to_the_check() {
        assert_eq!(plan("ΟΔΟΣ"), None);
        let p = plan("ΟΔΟΣ street").expect("plan");
        assert_eq!(p.words, vec![WordMatch::Prefix("street".into())]);
    }

    /// Whether `m` holds for one of `tokens`.
    fn matches(m: &WordMatch, tokens: &[String]) -> bool {
        tokens.iter().any(|t| m.matches_token(t))
    }

    #[test]
    fn joiners_around_a_word_are_allowed() {
        let w = WordMatch::Whole("m".into());
        assert!(w.matches_token("m'"));
        assert!(w.matches_token("@m"));
        assert!(!w.matches_token("mm"));
        assert_eq!(w.regex(), r"[.@_+'\-]*m[.@_+'\-]*");
        assert!(WordMatch::Suffix("c".into()).matches_token("c++"));
        assert!(WordMatch::Prefix("c".into()).matches_token("'cat"));
    }

    proptest! {
        /// Soundness: when a text contains the needle, every word of the plan matches
        /// one of the text's index tokens, so narrowing never loses a message.
        #[test]
        fn a_containing_text_always_satisfies_the_plan(
            before in "[a-zA-Z0-9 .@_'+,<>\"-]{0,12}",
            needle in "[a-zA-Z0-9 .@_'+,<>\"-]{0,12}",
            after in "[a-zA-Z0-9 .@_'+,<>\"-]{0,12}",
        ) {
            let text = format!("{before}{needle}{after}");
            let tokens = token_texts(&text, TokenMode::Index);
            if let Some(p) = substring_plan(&needle) {
                for w in &p.words {
                    prop_assert!(matches(w, &tokens), "{w:?} not in {tokens:?} of {text:?}");
                }
            }
        }

        /// Exactness: for an exact plan, a text matches it exactly when it contains
        /// the needle (case-insensitively).
        #[test]
        fn exact_plans_answer_exactly(
            text in "[a-zA-Z0-9 .@_-]{0,30}",
            needle in "[a-zA-Z0-9]{1,4}",
        ) {
            if let Some(p) = substring_plan(&needle).filter(|p| p.exact) {
                let tokens = token_texts(&text, TokenMode::Index);
                let contains = text.to_lowercase().contains(&needle.to_lowercase());
                prop_assert_eq!(matches(&p.words[0], &tokens), contains, "{:?}", tokens);
            }
        }

        /// Arbitrary input never panics.
        #[test]
        fn any_needle_is_planned_without_panicking(needle in "\\PC{0,40}") {
            let _ = substring_plan(&needle);
        }
    }
}
