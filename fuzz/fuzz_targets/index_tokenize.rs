//! Fuzz target: the index tokenizer (`zcs_index::tokenizer::analyze`, both modes) and
//! the HTML-to-text converter (`zcs_index::extract::html_to_text`).
//!
//! Invariants checked, besides "never panics": every token is non-empty, its byte range
//! lies inside the text on character boundaries, and positions never go backwards;
//! every query-mode token is also an index-mode token at the same position (so a query
//! for a text always finds that text once indexed).

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_index::extract::html_to_text;
use zcs_index::tokenizer::{TokenMode, analyze};

fn check(text: &str, mode: TokenMode) -> Vec<(String, usize)> {
    let tokens = analyze(text, mode);
    let mut last = 0usize;
    for t in &tokens {
        assert!(!t.text.is_empty(), "empty token in {mode:?}: {t:?}");
        assert!(
            t.offset_from <= t.offset_to && t.offset_to <= text.len(),
            "token {t:?} outside the text ({} bytes)",
            text.len()
        );
        assert!(
            text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to),
            "token {t:?} splits a character"
        );
        assert!(t.position >= last, "positions go backwards at {t:?}");
        last = t.position;
    }
    tokens.into_iter().map(|t| (t.text, t.position)).collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let indexed = check(&text, TokenMode::Index);
    let queried = check(&text, TokenMode::Query);
    for q in &queried {
        assert!(indexed.contains(q), "query token {q:?} is not indexed");
    }
    let plain = html_to_text(&text);
    check(&plain, TokenMode::Index);
});
