//! Fuzz target: the search query language parser, `zcs_index::query::parse`, its
//! canonical printing (`Display for Query`) and the planner.
//!
//! Invariants checked, besides "never panics":
//! - printing a parsed query and parsing the text gives an equal AST (the contract of
//!   `query/display.rs`);
//! - printing is a fixed point: the reparsed query prints the same text;
//! - `plan` and `Plan::matches` never panic, whatever the index and state answer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_index::query::{parse, plan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse(text) else {
        return;
    };
    let printed = query.to_string();
    let reparsed = match parse(&printed) {
        Ok(q) => q,
        Err(e) => panic!("canonical text {printed:?} of {query:?} does not parse: {e}"),
    };
    assert_eq!(
        reparsed, query,
        "round trip through {printed:?} changed the AST"
    );
    assert_eq!(
        reparsed.to_string(),
        printed,
        "printing is not a fixed point"
    );

    let p = plan(&query);
    let _ = p.index_queries();
    for (i, s) in [(false, false), (true, false), (false, true), (true, true)] {
        let _ = p.matches(&mut |_| i, &mut |_| s);
    }
});
