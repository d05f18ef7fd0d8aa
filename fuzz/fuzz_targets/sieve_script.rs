//! Fuzz target: `zcs_mta::sieve::run_sieve` with the fuzz input split at the first NUL
//! into a script and a message, and `rewrite_zimbra_commands` alone.
//!
//! Invariants checked, besides "never panics": the rewrite leaves text without `tag` or
//! `flag` unchanged; a script that does not compile gives exactly the implicit keep.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_mta::sieve::{
    SieveAction, SieveContext, SieveEnvelope, rewrite_zimbra_commands, run_sieve, validate,
};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (script, message) = data.split_at(split);
    let Ok(script) = std::str::from_utf8(script) else {
        return;
    };
    let lower = script.to_ascii_lowercase();
    if !lower.contains("tag") && !lower.contains("flag") {
        assert_eq!(rewrite_zimbra_commands(script), script);
    }
    let envelope = SieveEnvelope {
        from: "a@example.test",
        to: "joe@example.test",
    };
    let ctx = SieveContext {
        user_address: "joe@example.test",
        user_name: "Joe",
        vacation: None,
    };
    let actions = run_sieve(script, message, envelope, ctx);
    if !script.trim().is_empty() && validate(script).is_err() {
        let keep = SieveAction::Keep {
            flags: vec![],
            tags: vec![],
        };
        assert_eq!(actions, vec![keep]);
    }
});
