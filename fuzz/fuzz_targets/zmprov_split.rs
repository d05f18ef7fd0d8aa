//! Fuzz target: `zmprov` line splitting, `zcs_server::zmprov::split_line`.
//!
//! Invariants checked, besides "never panics": quoting each word of a split line in
//! double quotes (with `\` before `"` and `\`) and splitting the joined result gives the
//! same words back, so any word list survives a round trip through a batch file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_server::zmprov::split_line;

fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let words = split_line(&line);
    let joined = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    assert_eq!(split_line(&joined), words, "round trip through {joined:?}");
});
