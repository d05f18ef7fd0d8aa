//! Fuzz target: the ESMTP extension parsers of zcs-mta that take client text: SASL
//! `PLAIN`/`LOGIN` responses (`zcs_mta::auth`), `RCPT TO` DSN parameters and xtext
//! (`zcs_mta::envelope`), and the `zimbraMtaMyNetworks` / `zimbraMtaRestriction` value
//! parsers (`zcs_mta::restrictions`).
//!
//! Invariants checked, besides "never panics":
//! - a decoded `PLAIN` response has a non-empty user;
//! - xtext decoding of text without `+` is the identity;
//! - a parsed network contains its own address.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_mta::Param;
use zcs_mta::auth::{decode_login, decode_plain};
use zcs_mta::envelope::{rcpt_params, xtext_decode};
use zcs_mta::restrictions::{Restriction, parse_networks};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = decode_plain(text) {
        assert!(!c.user.is_empty());
    }
    let _ = decode_login(text);
    if !text.contains('+') {
        assert_eq!(xtext_decode(text).as_deref(), Some(text));
    }
    let params: Vec<Param> = text
        .split(' ')
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Param {
                keyword: k.to_string(),
                value: Some(v.to_string()),
            },
            None => Param {
                keyword: w.to_string(),
                value: None,
            },
        })
        .collect();
    let _ = rcpt_params(&params);
    if let Ok(nets) = parse_networks(text) {
        for net in nets {
            let shown = net.to_string();
            let addr = shown.split('/').next().unwrap_or("");
            if let Ok(ip) = addr.parse() {
                assert!(net.contains(ip), "{shown}");
            }
        }
    }
    let _ = text.parse::<Restriction>();
});
