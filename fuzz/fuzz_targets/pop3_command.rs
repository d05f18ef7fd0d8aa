//! Fuzz target: the POP3 command parser, `zcs_server::pop3::parse_command`.
//!
//! Invariants checked, besides "never panics": parsing is deterministic (the same line
//! gives the same answer twice).

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_server::pop3::parse_command;

fuzz_target!(|data: &[u8]| {
    let first = parse_command(data);
    let second = parse_command(data);
    assert_eq!(first, second, "parse is not deterministic");
});
