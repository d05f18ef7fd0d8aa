//! Fuzz target: the parsers of what the scanners answer, `zcs_mta::scan::clamd::parse_reply`
//! (clamd `INSTREAM`) and `zcs_mta::scan::spamd::parse_reply` (spamd `SYMBOLS`).
//!
//! Invariants checked, besides "never panics": a parsed spam score and threshold are
//! finite; an infected verdict names a signature.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_mta::scan::clamd::{self, ClamdVerdict};
use zcs_mta::scan::spamd;

fuzz_target!(|data: &[u8]| {
    if let Ok(ClamdVerdict::Infected(name)) = clamd::parse_reply(data) {
        assert!(!name.is_empty());
    }
    if let Ok(result) = spamd::parse_reply(data) {
        assert!(result.score.is_finite() && result.threshold.is_finite());
    }
});
