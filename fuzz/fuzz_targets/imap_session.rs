//! Fuzz target: a whole IMAP connection fed arbitrary client bytes, through the public
//! `zcs_server::imap::serve_connection` and an in-memory account. This is how the
//! private parts of the IMAP front end are reached: command framing and literals
//! (`imap/reader.rs`), the command parser (`imap/parser`), sequence sets
//! (`imap/sequence.rs`), SEARCH, STORE, COPY, folder commands and the FETCH renderer.
//!
//! The first input byte chooses the starting state (its value modulo 3): 0 starts at
//! the greeting, 1 after `LOGIN`, 2 after `LOGIN` and `SELECT INBOX` (so seed files can
//! begin with the ASCII digit `0`, `1` or `2`). The second byte's low bit says whether
//! the account stores keywords. The Inbox holds three messages (plain, multipart with an
//! attachment, and a forwarded message).
//!
//! Invariants checked, besides "never panics" and "the session ends":
//! - the server greets first, and every response ends in CRLF;
//! - every FETCH response is well-formed (see `zcs_fuzz::wire`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_fuzz::backend::MemBackend;
use zcs_fuzz::{session, wire};

const PLAIN: &[u8] = b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n\
Subject: hello\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <1@example.com>\r\n\
\r\nHi Bob,\r\nlunch?\r\n";

const MULTIPART: &[u8] = b"From: \"Bob B.\" <bob@example.com>\r\nTo: a@example.com, \
undisclosed-recipients:;\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nbody text\r\n--b1\r\n\
Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; \
filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";

const FORWARD: &[u8] = b"From: c@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n\
Content-Type: message/rfc822\r\n\r\nFrom: d@example.com\r\nSubject: inner\r\n\
Content-Type: text/html\r\n\r\n<p>inner</p>\r\n";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (keywords, rest) = match rest.split_first() {
        Some((&k, rest)) if mode % 3 != 0 => (k & 1 == 1, rest),
        _ => (false, rest),
    };
    let mut input = Vec::with_capacity(rest.len() + 64);
    if mode % 3 >= 1 {
        input.extend_from_slice(b"A1 LOGIN fuzz pw\r\n");
    }
    if mode % 3 == 2 {
        input.extend_from_slice(b"A2 SELECT INBOX\r\n");
    }
    input.extend_from_slice(rest);

    let backend = MemBackend::new(&[PLAIN, MULTIPART, FORWARD], keywords);
    let out = session::run(backend, session::config(), &input);

    assert!(
        out.starts_with(b"* OK"),
        "no greeting: {:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(out.ends_with(b"\r\n"), "output does not end in CRLF");
    if let Err(e) = wire::check_output(&out) {
        panic!("malformed server output: {e}");
    }
});
