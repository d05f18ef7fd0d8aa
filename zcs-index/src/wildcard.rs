//! Wildcard patterns of the query language (`foo*`, `*ouser`, `to*er*`, `f?x*`): what a
//! pattern means, matching it against one index term, and splitting it into the per-word
//! pieces used when a `*` spans words. Expanding a pattern against an index's term
//! dictionary is the backend's job; this module never sees an index.
//!
//! Semantics, chosen to give the hits Zimbra's QA harness expects (Search-Wildcard):
//! - Matching is case-insensitive: patterns are lower-cased like index terms.
//! - `*` is any run of characters, `?` exactly one character; every other character is
//!   literal (nothing is ever read as a regular expression). A value is a pattern when
//!   [`is_wildcard`] says so; a trailing `?` alone (`what?`) is not a wildcard.
//! - A pattern is anchored at both ends of a term, except that a pattern starting with
//!   `*` is also open at its end: `*ouser` finds `touser1@example.com`, `*difficul`
//!   finds `difficult` (Zimbra finds them too).
//! - A `*` between two pieces may also span words of the same field:
//!   `subject:try*wildca*` finds the subject "Trying to test wildcards" (each piece must
//!   match a word of the field; their order and distance are not checked).
//! - A pattern that matches a stop word (`thi*` matches `this`) finds the documents
//!   whose field holds that stop word as well as those holding a matching indexed word:
//!   stop words are not indexed as words, but the index records which ones each field
//!   holds. `thi*` therefore finds the messages saying "this" or "thing", and not a
//!   message with neither. (A bare stop word still constrains nothing.)

use crate::tokenizer::{MAX_TOKEN_BYTES, STOP_WORDS};

/// The most index terms one wildcard expands to (across every field it searches and every
/// mailbox sharing the index): Zimbra's default for the local config key
/// `zimbra_index_wildcard_max_terms_expanded`. As in Zimbra, a pattern matching more
/// words is searched with the first ones in dictionary order, so that a `*e*` over a
/// large dictionary cannot build a query of a million terms.
pub const MAX_WILDCARD_TERMS: usize = 20_000;

/// Whether an unquoted query value is a wildcard pattern: it holds a `*`, or a `?`
/// before some other character (`f?x`). A trailing `?` alone (`what?`) is punctuation,
/// as people type questions into the search box.
pub fn is_wildcard(value: &str) -> bool {
    value.contains('*') || value.trim_end_matches('?').contains('?')
}

/// One parsed wildcard pattern (folded as index words are, with its implicit trailing
/// `*` added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildcard {
    chars: Vec<char>,
    /// The pattern's UTF-8 bytes when it has no `?`: matched byte-wise, with no
    /// allocation per term (a leading `*` reads a whole term dictionary).
    bytes: Option<Vec<u8>>,
}

impl Wildcard {
    /// The pattern of the query value `raw`, or `None` when it holds no character but
    /// `*` (which matches everything and so constrains nothing).
    pub fn parse(raw: &str) -> Option<Wildcard> {
        // Folded as the index's words are (`advocació*` finds `advocación`).
        let lower = crate::fold::fold(raw);
        if lower.chars().all(|c| c == '*') {
            return None;
        }
        let mut chars: Vec<char> = Vec::with_capacity(lower.len() + 1);
        for c in lower.chars() {
            // Runs of `*` mean the same as one.
            if c == '*' && chars.last() == Some(&'*') {
                continue;
            }
            chars.push(c);
        }
        if chars.first() == Some(&'*') && chars.last() != Some(&'*') {
            chars.push('*');
        }
        Some(Wildcard::from_chars(chars))
    }

    fn from_chars(chars: Vec<char>) -> Wildcard {
        let bytes = (!chars.contains(&'?')).then(|| chars.iter().collect::<String>().into_bytes());
        Wildcard { chars, bytes }
    }

    /// The pattern as written after normalisation (`*ouser` gives `*ouser*`).
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// The literal characters before the first wildcard: every matching term starts
    /// with them, so a term dictionary need only be read from there.
    pub fn literal_prefix(&self) -> String {
        self.chars
            .iter()
            .take_while(|&&c| c != '*' && c != '?')
            .collect()
    }

    /// Whether the whole of `term` (an index term, already lower-case) matches.
    /// Costs O(pattern × term) at worst; terms longer than the tokenizer keeps never
    /// match.
    pub fn matches(&self, term: &str) -> bool {
        if term.len() > MAX_TOKEN_BYTES {
            return false;
        }
        match &self.bytes {
            // Literal pieces are whole UTF-8 sequences, so byte-wise matching agrees with
            // matching by characters.
            Some(bytes) => glob(bytes, term.as_bytes(), b'*', None),
            None => {
                let text: Vec<char> = term.chars().collect();
                glob(&self.chars, &text, '*', Some('?'))
            }
        }
    }

    /// Whether the pattern matches one of the stop words the index leaves out.
    pub fn matches_stop_word(&self) -> bool {
        STOP_WORDS.iter().any(|w| self.matches(w))
    }

    /// The per-word pieces when the `*`s between literal pieces span words: `try*wildca*`
    /// gives `try*` and `*wildca*`, `f*x` gives `f*` and `*x`. Empty when the pattern
    /// has fewer than two literal pieces (nothing to span).
    pub fn word_pieces(&self) -> Vec<Wildcard> {
        let pieces: Vec<&[char]> = self
            .chars
            .split(|&c| c == '*')
            .filter(|p| !p.is_empty())
            .collect();
        if pieces.len() < 2 {
            return Vec::new();
        }
        let open_start = self.chars.first() == Some(&'*');
        let open_end = self.chars.last() == Some(&'*');
        let last = pieces.len() - 1;
        pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut chars = Vec::with_capacity(piece.len() + 2);
                if i > 0 || open_start {
                    chars.push('*');
                }
                chars.extend_from_slice(piece);
                if i < last || open_end {
                    chars.push('*');
                }
                Wildcard::from_chars(chars)
            })
            .collect()
    }
}

/// Glob matching of `pattern` (`star` any run, `any` one item) against all of `text`,
/// with the classic single-backtrack-point algorithm: linear in practice, never
/// exponential.
fn glob<T: Copy + PartialEq>(pattern: &[T], text: &[T], star: T, any: Option<T>) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(&c) if c == star => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if Some(c) == any || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    backtrack = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == star)
}

/// How one wildcard term of a query expanded, for the search's query info (Zimbra's
/// `<info><wildcard str= expanded= numExpanded=/></info>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WildcardInfo {
    /// The pattern as searched, lower-cased (`firstname01*`).
    pub pattern: String,
    /// How many distinct words of the searched mailbox it stood for.
    pub expanded: usize,
    /// False when the expansion stopped at the term cap
    /// (`zimbra_index_wildcard_max_terms_expanded`), so later words were not searched.
    pub all: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Wildcard {
        Wildcard::parse(s).expect("pattern")
    }

    #[test]
    fn which_values_are_wildcards() {
        assert!(is_wildcard("foo*"));
        assert!(is_wildcard("*"));
        assert!(is_wildcard("f?x"));
        assert!(is_wildcard("what?*"));
        assert!(!is_wildcard("what?"));
        assert!(!is_wildcard("what??"));
        assert!(!is_wildcard("plain"));
    }

    #[test]
    fn only_stars_constrain_nothing() {
        assert_eq!(Wildcard::parse("*"), None);
        assert_eq!(Wildcard::parse("***"), None);
    }

    #[test]
    fn trailing_star_is_a_prefix() {
        assert!(w("TOUSER*").matches("touser17.3@example.com"));
        assert!(w("touser*").matches("touser"));
        assert!(!w("touser*").matches("xtouser"));
    }

    #[test]
    fn leading_star_is_open_at_both_ends() {
        assert_eq!(w("*OUSER").as_string(), "*ouser*");
        assert!(w("*OUSER").matches("touser17.3@example.com"));
        assert!(w("*difficul").matches("difficult"));
        assert!(w("*wildcard").matches("wildcards"));
        assert!(!w("*xyz").matches("difficult"));
    }

    #[test]
    fn inner_stars_and_question_marks() {
        assert!(w("TO*ER*").matches("touser1@x.org"));
        assert!(w("f*x").matches("firefox"));
        assert!(w("f*x").matches("fx"));
        assert!(!w("f*x").matches("foxes"));
        assert!(w("f?x").matches("fox"));
        assert!(!w("f?x").matches("fx"));
        assert!(w("a**b").matches("ab"));
        // Index terms are folded (`café` is indexed `cafe`); so are patterns.
        assert!(w("*é*").matches("cafe"));
        assert!(w("caf?").matches("cafe"));
        assert!(!w("caf??").matches("cafe"));
        assert!(w("straß*").matches("straße"));
        assert_eq!(w("a**b").as_string(), "a*b");
    }

    #[test]
    fn metacharacters_are_literal() {
        assert!(w("a.c*").matches("a.cde"));
        assert!(!w("a.c*").matches("abcde"));
        assert!(w("(x)[y]*").matches("(x)[y]z"));
        assert!(!w("x+*").matches("xxx"));
        assert!(w("^a$*").matches("^a$"));
        assert!(!w("^a*").matches("a"));
        assert!(w("\\d*").matches("\\d1"));
        assert!(!w("\\d*").matches("1"));
    }

    #[test]
    fn literal_prefix_stops_at_the_first_wildcard() {
        assert_eq!(w("abc*d").literal_prefix(), "abc");
        assert_eq!(w("ab?c*").literal_prefix(), "ab");
        assert_eq!(w("*abc").literal_prefix(), "");
    }

    #[test]
    fn stop_word_prefixes_are_detected() {
        assert!(w("Thi*").matches_stop_word());
        assert!(w("th*").matches_stop_word());
        assert!(!w("thin*").matches_stop_word());
        assert!(!w("difficul*").matches_stop_word());
    }

    #[test]
    fn pieces_keep_their_anchors() {
        let s = |p: &str| -> Vec<String> {
            w(p).word_pieces().iter().map(Wildcard::as_string).collect()
        };
        assert_eq!(s("try*wildca*"), ["try*", "*wildca*"]);
        assert_eq!(s("f*x"), ["f*", "*x"]);
        assert_eq!(s("*a*b"), ["*a*", "*b*"]);
        assert_eq!(s("a*b*c"), ["a*", "*b*", "*c"]);
        assert!(s("abc*").is_empty());
        assert!(s("*abc").is_empty());
    }

    #[test]
    fn long_terms_never_match() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(!w("a*").matches(&long));
    }
}
