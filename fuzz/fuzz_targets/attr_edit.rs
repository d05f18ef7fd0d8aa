//! Fuzz target: `zmprov`-style attribute edits, `zcs_core::AttrEdit::parse_pairs`, then
//! schema validation and application (`zcs_core::attrs::apply_edits`) for every entry
//! kind, which runs the value parsers against the real attribute table.
//!
//! Invariants checked, besides "never panics":
//! - `parse_pairs` succeeds exactly when there is an even number of words;
//! - every `+name`/`-name` word gives one `Add`/`Remove` edit, and the plain pairs are
//!   all kept as values of `Replace` edits, one edit per name (case-insensitive);
//! - a failed `apply_edits` leaves the attributes untouched.
//!
//! The input is split into words on NUL bytes (lossy UTF-8), so seeds are plain text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_core::attrs::apply_edits;
use zcs_core::{AttrEdit, Attrs, EntryKind};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\0').map(str::to_string).collect()
    };
    let parsed = AttrEdit::parse_pairs(&words);
    assert_eq!(
        parsed.is_ok(),
        words.len().is_multiple_of(2),
        "odd/even rule broken"
    );
    let Ok(edits) = parsed else {
        return;
    };

    let names: Vec<&String> = words.iter().step_by(2).collect();
    let adds = names.iter().filter(|n| n.starts_with('+')).count();
    let removes = names.iter().filter(|n| n.starts_with('-')).count();
    let plain = names.len() - adds - removes;
    let count = |f: fn(&AttrEdit) -> bool| edits.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, AttrEdit::Add(..))), adds);
    assert_eq!(count(|e| matches!(e, AttrEdit::Remove(..))), removes);
    let replaced: usize = edits
        .iter()
        .map(|e| match e {
            AttrEdit::Replace(_, v) => v.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(replaced, plain, "plain pairs lost or duplicated");
    let replace_names: Vec<String> = edits
        .iter()
        .filter_map(|e| match e {
            AttrEdit::Replace(n, _) => Some(n.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let mut unique = replace_names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        replace_names.len(),
        "one name, two Replace edits"
    );

    for &kind in EntryKind::ALL {
        let mut attrs = Attrs::new();
        attrs.set_one("description", "seed");
        let before = attrs.clone();
        if apply_edits(kind, &mut attrs, &edits).is_err() {
            assert_eq!(attrs, before, "a refused edit changed the attributes");
        }
    }
});
