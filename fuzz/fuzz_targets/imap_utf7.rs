//! Fuzz target: the modified UTF-7 codec of IMAP mailbox names
//! (`zcs_server::imap::utf7`, RFC 3501 §5.1.3).
//!
//! Invariants checked, besides "never panics":
//! - `decode(encode(s)) == s` for every string `s` (the input read as lossy UTF-8);
//! - `encode` writes printable US-ASCII only;
//! - whatever `decode` accepts re-encodes to text that decodes to the same string (the
//!   decoder may accept non-canonical spellings, so the wire bytes need not be equal).

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_server::imap::utf7::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    let wire = encode(&name);
    assert!(
        wire.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "encode({name:?}) = {wire:?} is not printable ASCII"
    );
    assert_eq!(
        decode(wire.as_bytes()).as_deref(),
        Ok(name.as_ref()),
        "decode(encode(s)) != s via {wire:?}"
    );

    if let Ok(decoded) = decode(data) {
        let canonical = encode(&decoded);
        assert_eq!(
            decode(canonical.as_bytes()).as_deref(),
            Ok(decoded.as_str()),
            "re-encoding {decoded:?} as {canonical:?} does not decode back"
        );
    }
});
