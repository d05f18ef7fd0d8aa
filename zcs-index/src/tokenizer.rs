//! Tokenising for the index and for queries, after the admin guide's rules (spec/01 §1.5,
//! Zimbra's `query.md` "CONTENT field"): text is folded ([`crate::fold`]: case,
//! accents, fullwidth forms, katakana), then split into words;
//! e-mail addresses, host names, numbers and joined words are kept whole and, when
//! indexing, also yield their parts; runs of CJK characters become overlapping bigrams.
//!
//! This module only turns text into tokens. Which field a token lands in is the
//! backend's business.
//!
//! Stop words ([`STOP_WORDS`], the English list Zimbra's analyzer drops) yield no token
//! but keep their position, in both modes, so a phrase with a stop word inside still
//! matches the same gap; a query made only of stop words has no text constraint.
//!
//! LIMITATION: Thai, Lao, Myanmar and Khmer are not segmented by dictionary and are
//! split on spaces like other scripts.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::fold::fold_char;

/// Name under which the indexing tokenizer is registered with tantivy. The schema
/// records it, so a new name is a new schema: an index written by an older tokenizer
/// (`zcs_index`, before accents were folded) no longer opens and is rebuilt from the
/// store, instead of holding terms the queries can no longer produce.
pub const INDEX_TOKENIZER: &str = "zcs_index_folded";

/// Tokens longer than this many bytes (base64 runs, long URLs) are dropped.
pub const MAX_TOKEN_BYTES: usize = 255;

/// The English stop words Zimbra's default analyzer leaves out of the index (Lucene's
/// classic English set), sorted for binary search.
pub const STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Whether `word` (already lower-cased) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    // The same words as STOP_WORDS (a test checks), as a match the compiler turns into
    // a switch on length and a few compares: every indexed word asks.
    matches!(
        word,
        "a" | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "but"
            | "by"
            | "for"
            | "if"
            | "in"
            | "into"
            | "is"
            | "it"
            | "no"
            | "not"
            | "of"
            | "on"
            | "or"
            | "such"
            | "that"
            | "the"
            | "their"
            | "then"
            | "there"
            | "these"
            | "they"
            | "this"
            | "to"
            | "was"
            | "will"
            | "with"
    )
}

/// Whether `chunk`, in any case, is a stop word. Every word goes through here: an ASCII
/// chunk is lower-cased on the stack, anything else the long way (a non-ASCII letter
/// such as the Kelvin sign can lower-case to ASCII).
fn is_stop_chunk(chunk: &str) -> bool {
    let bytes = chunk.as_bytes();
    if bytes.len() > 5 {
        return false;
    }
    if !chunk.is_ascii() {
        return is_stop_word(&chunk.to_lowercase());
    }
    let mut lower = [0u8; 5];
    for (l, b) in lower.iter_mut().zip(bytes) {
        *l = b.to_ascii_lowercase();
    }
    std::str::from_utf8(&lower[..bytes.len()]).is_ok_and(is_stop_word)
}

/// The position of `chunk` (any case) in [`STOP_WORDS`], when it is one.
fn stop_index(chunk: &str) -> Option<usize> {
    if chunk.len() > 5 {
        return None;
    }
    if !chunk.is_ascii() {
        return STOP_WORDS
            .binary_search(&chunk.to_lowercase().as_str())
            .ok();
    }
    let mut buf = [0u8; 5];
    for (l, b) in buf.iter_mut().zip(chunk.as_bytes()) {
        *l = b.to_ascii_lowercase();
    }
    let word = std::str::from_utf8(&buf[..chunk.len()]).ok()?;
    STOP_WORDS.binary_search(&word).ok()
}

/// The stop words [`analyze`] drops from `text`, as a set: bit `i` stands for
/// `STOP_WORDS[i]`. Words are cut exactly as [`analyze`] cuts them, so a stop word
/// inside an address or a joined word (`this.that`, `c++`) is not one here either.
/// The index keeps these per field so that a wildcard matching a stop word (`th*`)
/// finds the documents holding it. One pass over `text`, no allocation for ASCII.
pub fn stop_words_in(text: &str) -> u64 {
    let mut mask = 0u64;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let starts_domain = c == '@' && chars.peek().is_some_and(|&(_, n)| is_word(n));
        if is_cjk(c) || (!is_word(c) && !starts_domain) {
            continue;
        }
        // `end` is past the last word character, `last` past the last joiner after it.
        let (mut end, mut last) = (start + c.len_utf8(), start + c.len_utf8());
        while let Some(&(i, n)) = chars.peek() {
            if is_word(n) {
                end = i + n.len_utf8();
                last = end;
            } else if is_joiner(n) {
                last = i + n.len_utf8();
            } else {
                break;
            }
            chars.next();
        }
        // `analyze` keeps a run of `+` after a letter (`c++`): never a stop word.
        if c == '@' || end - start > 5 || text[end..last].starts_with('+') {
            continue;
        }
        if let Some(k) = stop_index(&text[start..end]) {
            mask |= 1 << k;
        }
    }
    mask
}

/// The stop words of a [`stop_words_in`] set, in [`STOP_WORDS`] order.
pub fn stop_words_of(mask: u64) -> impl Iterator<Item = &'static str> {
    STOP_WORDS
        .iter()
        .enumerate()
        .filter(move |(k, _)| mask & (1 << k) != 0)
        .map(|(_, w)| *w)
}

/// Whether extra tokens are produced for the parts of addresses, hosts and joined words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenMode {
    /// Indexing: every word also yields its parts, at the same position as the word, so
    /// `user@example.com` is found by `user`, `example.com`, `@example.com`, `example`...
    Index,
    /// Querying: each word gives exactly one token, so a query word matches the whole
    /// word or one of the parts indexed beside it.
    Query,
}

/// One token: lower-cased text, its position (tokens sharing a position are alternatives
/// for the same word) and the byte range of the source text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analyzed {
    pub text: String,
    pub position: usize,
    pub offset_from: usize,
    pub offset_to: usize,
}

/// Splits `text` into tokens according to `mode`. Never panics; costs one pass over the
/// text plus the allocation of the tokens.
pub fn analyze(text: &str, mode: TokenMode) -> Vec<Analyzed> {
    let mut out = Vec::new();
    // Folded first, as Zimbra's character filter does: accents, fullwidth forms and
    // katakana never reach the word rules. Offsets stay those of the source text.
    let chars: Vec<(usize, char)> = text
        .char_indices()
        .map(|(b, c)| (b, fold_char(c)))
        .collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut position = 0usize;
    let mut i = 0usize;

    while i < chars.len() {
        let c = chars[i].1;

        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i].1) {
                i += 1;
            }
            emit_bigrams(&chars[start..i], byte_at(i), &mut position, &mut out);
            continue;
        }

        let starts_domain = c == '@' && chars.get(i + 1).is_some_and(|&(_, n)| is_word(n));
        if !is_word(c) && !starts_domain {
            i += 1;
            continue;
        }

        let start = i;
        i += 1;
        while i < chars.len() && (is_word(chars[i].1) || is_joiner(chars[i].1)) {
            i += 1;
        }
        let end = trim_trailing_joiners(&chars[start..i]) + start;
        let folded: String = chars[start..end].iter().map(|&(_, c)| c).collect();
        let chunk = folded.as_str();
        if chunk.len() <= 5 && is_stop_chunk(chunk) {
            // Dropped, but its place is kept so phrases line up.
            position += 1;
            continue;
        }
        if let Some((primary, extra)) = split_chunk(chunk, mode) {
            let (from, to) = (byte_at(start), byte_at(end));
            out.push(Analyzed {
                text: primary,
                position,
                offset_from: from,
                offset_to: to,
            });
            for e in extra {
                out.push(Analyzed {
                    text: e,
                    position,
                    offset_from: from,
                    offset_to: to,
                });
            }
            position += 1;
        }
    }
    out
}

/// The token texts `analyze` yields, in order; handy for tests and diagnostics.
pub fn token_texts(text: &str, mode: TokenMode) -> Vec<String> {
    analyze(text, mode).into_iter().map(|t| t.text).collect()
}

/// CJK runs: every pair of neighbouring characters is a token (a lone character is one
/// token), each at its own position so that a query's bigrams match as a phrase.
fn emit_bigrams(run: &[(usize, char)], end: usize, position: &mut usize, out: &mut Vec<Analyzed>) {
    let byte_after = |k: usize| run.get(k).map_or(end, |&(b, _)| b);
    if run.len() == 1 {
        out.push(Analyzed {
            text: run[0].1.to_lowercase().collect(),
            position: *position,
            offset_from: run[0].0,
            offset_to: end,
        });
        *position += 1;
        return;
    }
    for k in 0..run.len() - 1 {
        let mut text = String::new();
        text.extend(run[k].1.to_lowercase());
        text.extend(run[k + 1].1.to_lowercase());
        out.push(Analyzed {
            text,
            position: *position,
            offset_from: run[k].0,
            offset_to: byte_after(k + 2),
        });
        *position += 1;
    }
}

/// How many characters of `chunk` remain once trailing joiners are cut, keeping a run of
/// `+` after a letter or digit (`c++`, `g++`).
fn trim_trailing_joiners(chunk: &[(usize, char)]) -> usize {
    let mut end = chunk.len();
    while end > 1 && is_joiner(chunk[end - 1].1) {
        end -= 1;
    }
    let mut plus_end = end;
    while plus_end < chunk.len() && chunk[plus_end].1 == '+' {
        plus_end += 1;
    }
    if plus_end > end && chunk[end - 1].1.is_alphanumeric() {
        plus_end
    } else {
        end
    }
}

/// Lower-cases a chunk and, in index mode, lists the parts it also yields.
/// Returns `None` for a chunk too long to be a useful token.
fn split_chunk(chunk: &str, mode: TokenMode) -> Option<(String, Vec<String>)> {
    if chunk.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let whole = chunk.to_lowercase();
    if mode == TokenMode::Query || !whole.contains(is_joiner) {
        // A plain word (most of them) has no parts.
        return Some((whole, Vec::new()));
    }

    let mut extra: Vec<String> = Vec::new();
    if let Some(domain) = whole.strip_prefix('@') {
        // "@example.com", as Zimbra writes a domain search.
        push_domain(domain, &mut extra);
    } else if let Some((local, domain)) = whole.split_once('@') {
        // An address: the local part and the domain with all its suffixes and labels.
        if !local.is_empty() {
            extra.push(local.to_string());
            push_pieces(local, &mut extra);
        }
        if !domain.is_empty() {
            extra.push(format!("@{domain}"));
            push_domain(domain, &mut extra);
        }
    } else if whole.contains('.') {
        // A host name, dotted number or file name: suffixes, labels and their pieces.
        push_domain(&whole, &mut extra);
    } else {
        push_pieces(&whole, &mut extra);
    }

    // Each part once, never the word itself; a word has few parts, so a linear check.
    let mut kept: Vec<String> = Vec::with_capacity(extra.len());
    for e in extra {
        if !e.is_empty() && e.len() <= MAX_TOKEN_BYTES && e != whole && !kept.contains(&e) {
            kept.push(e);
        }
    }
    Some((whole, kept))
}

/// `a.b.example.com` yields itself, `b.example.com`, `example.com`, then every label and
/// the pieces of labels joined by `-` or `_`.
fn push_domain(domain: &str, out: &mut Vec<String>) {
    out.push(domain.to_string());
    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    for k in 1..labels.len().saturating_sub(1) {
        out.push(labels[k..].join("."));
    }
    for label in &labels {
        out.push((*label).to_string());
        push_pieces(label, out);
    }
}

/// The alphanumeric pieces of a joined word: `first_last-name` gives `first`, `last`,
/// `name`. Nothing is pushed when the word has a single piece.
fn push_pieces(word: &str, out: &mut Vec<String>) {
    let pieces: Vec<&str> = word
        .split(|c: char| is_joiner(c))
        .filter(|p| !p.is_empty())
        .collect();
    if pieces.len() > 1 {
        out.extend(pieces.into_iter().map(str::to_string));
    }
}

/// Characters that join word characters into one chunk (`user@example.com`, `e-mail`,
/// `don't`, `c++`, `snake_case`).
pub(crate) fn is_joiner(c: char) -> bool {
    matches!(c, '.' | '@' | '-' | '_' | '+' | '\'')
}

/// Word characters: letters and digits of any script, and the combining marks between
/// them; not spaces, controls, punctuation, symbols or emoji. CJK is handled separately.
pub(crate) fn is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    if c.is_alphanumeric() {
        return !is_cjk(c);
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    let u = c as u32;
    let symbol = matches!(u,
        0x00A0..=0x00BF | 0x00D7 | 0x00F7 | 0x2000..=0x2BFF | 0x2E00..=0x2E7F
        | 0x3000..=0x303F | 0xE000..=0xF8FF | 0xFE30..=0xFE4F | 0xFE50..=0xFE6F
        | 0xFF00..=0xFFEF | 0xFFF0..=0xFFFF | 0x1F000..=0x1FAFF);
    !symbol
}

/// CJK ideographs, kana, hangul and fullwidth letters (Zimbra's `query.md` ranges, minus
/// the CJK punctuation block 3000-303F); only letters count, not fullwidth punctuation.
/// The letters of that block count too: the iteration marks (`々` in `人々`, `〻`,
/// the kana repeat marks), `〆`, `〇` and the Suzhou numerals, which are written
/// inside CJK words and must not cut their bigrams.
pub(crate) fn is_cjk(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let u = c as u32;
    if matches!(u, 0x3005..=0x3007 | 0x3021..=0x3029 | 0x3031..=0x3035 | 0x303B..=0x303C) {
        return c.is_alphanumeric();
    }
    let in_range = matches!(u,
        0x2E80..=0x2FFF | 0x3040..=0x33FF | 0x3400..=0x4DBF | 0x4DC0..=0x4DFF
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xD7B0..=0xD7FF | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF);
    in_range && c.is_alphanumeric()
}

/// The tantivy face of [`analyze`]: a tokenizer to register under [`INDEX_TOKENIZER`].
#[derive(Clone, Debug)]
pub struct ZcsTokenizer {
    mode: TokenMode,
}

impl ZcsTokenizer {
    /// A tokenizer producing tokens as [`analyze`] does in `mode`.
    pub fn new(mode: TokenMode) -> Self {
        ZcsTokenizer { mode }
    }
}

/// Token stream over tokens computed up front.
pub struct ZcsTokenStream {
    tokens: Vec<Token>,
    next: usize,
    /// Returned by `token()` before the first `advance()`, or on an empty stream.
    empty: Token,
}

impl Tokenizer for ZcsTokenizer {
    type TokenStream<'a> = ZcsTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ZcsTokenStream {
        let tokens = analyze(text, self.mode)
            .into_iter()
            .map(|a| Token {
                offset_from: a.offset_from,
                offset_to: a.offset_to,
                position: a.position,
                text: a.text,
                position_length: 1,
            })
            .collect();
        ZcsTokenStream {
            tokens,
            next: 0,
            empty: Token::default(),
        }
    }
}

impl TokenStream for ZcsTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.next
            .checked_sub(1)
            .and_then(|k| self.tokens.get(k))
            .unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(k) if k < self.tokens.len() => &mut self.tokens[k],
            _ => &mut self.empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(text: &str) -> Vec<String> {
        token_texts(text, TokenMode::Index)
    }

    fn qry(text: &str) -> Vec<String> {
        token_texts(text, TokenMode::Query)
    }

    #[test]
    fn stop_words_in_follows_the_word_cuts() {
        let found = |t: &str| stop_words_of(stop_words_in(t)).collect::<Vec<_>>();
        assert_eq!(found("The cat, THIS dog and them"), ["and", "the", "this"]);
        // Inside addresses, hosts, joined words and `c++`: not stop words.
        assert!(found("this.that a@b.org to-do a++ it's").is_empty());
        // Trailing joiners are cut as `analyze` cuts them.
        assert_eq!(found("is. to- (in)"), ["in", "is", "to"]);
        assert!(found("日本語 はい").is_empty());
        assert_eq!(found("\u{212A}"), Vec::<&str>::new());
        // Every word `analyze` drops is in the set, and nothing else.
        let text = "If it is not the one, then there: such was their way into it.";
        let words: Vec<&str> = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty() && is_stop_chunk(w))
            .collect();
        let mut want: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        want.sort();
        want.dedup();
        assert_eq!(found(text), want);
    }

    #[test]
    fn stop_word_match_is_the_list() {
        for w in STOP_WORDS {
            assert!(is_stop_word(w), "{w}");
            assert!(is_stop_chunk(&w.to_uppercase()), "{w}");
        }
        let n = [
            "a", "an", "the", "was", "with", "an", "x", "ann", "wit", "", "thes",
        ]
        .iter()
        .filter(|w| is_stop_word(w))
        .count();
        assert_eq!(n, 6);
    }

    #[test]
    fn stop_words_are_dropped_but_keep_their_place() {
        let toks = analyze("The cat is ON the mat", TokenMode::Index);
        let got: Vec<(&str, usize)> = toks.iter().map(|t| (t.text.as_str(), t.position)).collect();
        assert_eq!(got, [("cat", 1), ("mat", 5)]);
        assert!(token_texts("the a of", TokenMode::Query).is_empty());
        // Only whole words are stop words: addresses and joined words stay.
        assert!(token_texts("to@example.com", TokenMode::Index).contains(&"to".to_string()));
        assert_eq!(
            token_texts("don't theory", TokenMode::Query),
            ["don't", "theory"]
        );
        let mut sorted = STOP_WORDS;
        sorted.sort_unstable();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn words_are_split_and_case_folded() {
        assert_eq!(
            qry("Hello, World! Foo/bar"),
            ["hello", "world", "foo", "bar"]
        );
        assert_eq!(
            qry("3401 Hillview Ave, Palo Alto"),
            ["3401", "hillview", "ave", "palo", "alto"]
        );
        // Accents fold as in Zimbra's analyzer; `ß` has no one-letter base.
        assert_eq!(qry("ÉCOLE Straße"), ["ecole", "straße"]);
        assert_eq!(qry("advocación"), qry("ADVOCACION"));
        assert_eq!(
            idx("Ｚｉｍｂｒａ アテナイ"),
            ["zimbra", "あて", "てな", "ない"]
        );
    }

    #[test]
    fn address_yields_its_parts() {
        let t = idx("user@example.com");
        for want in [
            "user@example.com",
            "user",
            "@example.com",
            "example.com",
            "example",
            "com",
        ] {
            assert!(t.contains(&want.to_string()), "{want} missing from {t:?}");
        }
        let t = idx("\"Jo Brown\" <jb@zimbra.com>");
        for want in [
            "jo",
            "brown",
            "jb@zimbra.com",
            "jb",
            "@zimbra.com",
            "zimbra",
            "com",
        ] {
            assert!(t.contains(&want.to_string()), "{want} missing from {t:?}");
        }
        assert_eq!(qry("<jb@zimbra.com>"), ["jb@zimbra.com"]);
    }

    #[test]
    fn host_yields_suffixes_and_labels() {
        let t = idx("stanford.edu");
        assert_eq!(t, ["stanford.edu", "stanford", "edu"]);
        let t = idx("mail.corp.example.com.");
        for want in [
            "mail.corp.example.com",
            "corp.example.com",
            "example.com",
            "mail",
            "corp",
        ] {
            assert!(t.contains(&want.to_string()), "{want} missing from {t:?}");
        }
    }

    #[test]
    fn expansions_share_the_word_position() {
        let a = analyze("send e-mail now", TokenMode::Index);
        let pos: Vec<(String, usize)> = a.into_iter().map(|t| (t.text, t.position)).collect();
        assert!(pos.contains(&("send".into(), 0)));
        assert!(pos.contains(&("e-mail".into(), 1)));
        assert!(pos.contains(&("mail".into(), 1)));
        assert!(pos.contains(&("now".into(), 2)));
    }

    #[test]
    fn punctuation_is_trimmed_but_cpp_kept() {
        assert_eq!(qry("...end. c++ -dash- x+"), ["end", "c++", "dash", "x+"]);
        assert_eq!(qry("don't"), ["don't"]);
    }

    #[test]
    fn iteration_marks_stay_inside_cjk_words() {
        // 人々 ("people") is one word: its bigram is indexed and a query finds it.
        let tokens = idx("アテナイの人々からは");
        assert!(tokens.contains(&"人々".to_string()), "{tokens:?}");
        assert!(tokens.contains(&"々か".to_string()), "{tokens:?}");
        assert_eq!(qry("人々"), ["人々"]);
        assert_eq!(qry("〆切"), ["〆切"]);
        // The punctuation of the block still separates.
        assert_eq!(qry("日本、東京"), ["日本", "東京"]);
    }

    #[test]
    fn cjk_becomes_bigrams() {
        assert_eq!(qry("東京都庁"), ["東京", "京都", "都庁"]);
        assert_eq!(qry("abc中文def"), ["abc", "中文", "def"]);
        assert_eq!(qry("日"), ["日"]);
        let a = analyze("東京都", TokenMode::Query);
        assert_eq!(a[1].position, 1);
    }

    #[test]
    fn long_tokens_are_dropped_and_garbage_is_fine() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(qry(&long).is_empty());
        let _ = idx("\u{0}\u{FFFF}@@..--\u{1F600}@a");
        assert_eq!(qry("@"), Vec::<String>::new());
    }

    #[test]
    fn tantivy_stream_walks_tokens() {
        let mut t = ZcsTokenizer::new(TokenMode::Query);
        let mut s = t.token_stream("x b");
        let mut seen = Vec::new();
        while s.advance() {
            seen.push(s.token().text.clone());
        }
        assert_eq!(seen, ["x", "b"]);
    }
}
