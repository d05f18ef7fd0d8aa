//! Fuzz target: the IMAP MIME walk (`imap/mime`: ENVELOPE, BODY/BODYSTRUCTURE, body
//! sections, header search) over arbitrary message bytes. The module is private, so the
//! message is stored in an in-memory Inbox and fetched through a real session
//! (`zcs_server::imap::serve_connection`) with a fixed script.
//!
//! Invariants checked, besides "never panics":
//! - FETCH and SEARCH of an existing message always succeed (tagged `OK`);
//! - every FETCH response is well-formed, ENVELOPE has ten fields and well-formed
//!   address lists, BODY/BODYSTRUCTURE follow RFC 3501 §7.4.2 (see `zcs_fuzz::wire`);
//! - `RFC822.SIZE` is the message length and `BODY[]` / `RFC822` return it byte-exact;
//! - `BODY[]<0.10>` is the first ten bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_fuzz::backend::MemBackend;
use zcs_fuzz::wire::Value;
use zcs_fuzz::{session, wire};

const SCRIPT: &[u8] = b"a LOGIN fuzz pw\r\n\
b SELECT INBOX\r\n\
c FETCH 1 (UID FLAGS RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)\r\n\
d FETCH 1 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[1.MIME] \
BODY.PEEK[1.1] BODY.PEEK[2] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[1.2.MIME] \
BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT)] BODY.PEEK[HEADER.FIELDS.NOT (RECEIVED)] \
BODY.PEEK[]<0.10> RFC822.HEADER)\r\n\
e SEARCH FROM a SUBJECT b HEADER X-Y z OR TO c CC d SENTSINCE 1-Jan-2000 LARGER 10\r\n\
f FETCH 1 (RFC822 RFC822.TEXT)\r\n\
g LOGOUT\r\n";

fn item<'a, 'b>(f: &'b wire::Fetch<'a>, name: &[u8]) -> Option<&'b Value<'a>> {
    f.items.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn bytes<'b>(v: Option<&'b Value<'_>>) -> Option<&'b [u8]> {
    match v {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let backend = MemBackend::new(&[data], false);
    let out = session::run(backend, session::config(), SCRIPT);
    let parsed = match wire::check_output(&out) {
        Ok(p) => p,
        Err(e) => panic!("malformed server output: {e}"),
    };
    for tag in ["a", "b", "c", "d", "e", "f"] {
        assert!(parsed.ok(tag), "command {tag} failed: {:?}", parsed.tagged);
    }
    let [c, d, f] = &parsed.fetches[..] else {
        panic!(
            "expected three FETCH responses, got {}",
            parsed.fetches.len()
        );
    };
    let size = data.len().to_string();
    assert!(
        matches!(item(c, b"RFC822.SIZE"), Some(Value::Atom(n)) if *n == size.as_bytes()),
        "RFC822.SIZE is not {size}"
    );
    for name in ["ENVELOPE", "BODY", "BODYSTRUCTURE"] {
        assert!(item(c, name.as_bytes()).is_some(), "{name} missing");
    }
    assert_eq!(
        bytes(item(d, b"BODY[]")),
        Some(data),
        "BODY[] is not the message"
    );
    assert_eq!(
        bytes(item(d, b"BODY[]<0>")),
        Some(&data[..data.len().min(10)]),
        "BODY[]<0.10> is not the first ten bytes"
    );
    assert_eq!(
        bytes(item(f, b"RFC822")),
        Some(data),
        "RFC822 is not the message"
    );
});
