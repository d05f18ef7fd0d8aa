//! Fuzz target: the SOAP envelope parser (`zcs_server::soap::envelope::parse`: XML 1.1/1.2
//! and JSON forms) and the response writer.
//!
//! Invariants checked, besides "never panics": a parsed request re-rendered in its own
//! family (XML as SOAP 1.1 and 1.2, JSON as JSON) parses again. (JSON keys need not be
//! XML names, so JSON input is not re-rendered as XML.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_server::soap::envelope::{self, Protocol};

fuzz_target!(|data: &[u8]| {
    let Ok(env) = envelope::parse(data) else {
        return;
    };
    for proto in [Protocol::Soap12, Protocol::Soap11, Protocol::Json] {
        if (proto == Protocol::Json) != (env.protocol == Protocol::Json) {
            continue;
        }
        let text = envelope::render(proto, env.context.as_ref(), &env.body);
        assert!(
            envelope::parse(text.as_bytes()).is_ok(),
            "own output must parse: {text}"
        );
    }
});
