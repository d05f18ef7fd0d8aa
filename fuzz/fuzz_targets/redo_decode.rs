//! Fuzz target: the redo log decoder, `zcs_store::redo::decode_records` and
//! `decode_log`, over arbitrary bytes (torn tails, bad CRCs, hostile lengths).
//!
//! Invariants checked, besides "never panics":
//! - `valid_len` never exceeds the input, and decoding stopped early (`stop` is set)
//!   exactly when it is shorter than the input;
//! - decoding the prefix `..valid_len` again gives the same records and no error;
//! - re-encoding the decoded records and decoding that gives the same records back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_store::redo::{Decoded, decode_log, decode_records, encode_file_header, encode_record};

fn check(input: &[u8], decoded: &Decoded, decode: fn(&[u8]) -> Decoded) {
    assert!(decoded.valid_len <= input.len(), "valid_len past the input");
    assert_eq!(
        decoded.stop.is_some(),
        decoded.valid_len < input.len(),
        "stop {:?} disagrees with valid_len {} of {}",
        decoded.stop,
        decoded.valid_len,
        input.len()
    );
    let prefix = decode(&input[..decoded.valid_len]);
    assert_eq!(
        prefix.records, decoded.records,
        "the valid prefix decodes differently"
    );
    assert_eq!(
        prefix.stop, None,
        "the valid prefix does not decode cleanly"
    );
}

fn reencode(decoded: &Decoded) -> Vec<u8> {
    let mut out = Vec::new();
    for rec in &decoded.records {
        encode_record(rec, &mut out);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let records = decode_records(data);
    check(data, &records, decode_records);
    let bytes = reencode(&records);
    let again = decode_records(&bytes);
    assert_eq!(
        again.records, records.records,
        "re-encoded records decode differently"
    );
    assert_eq!(again.stop, None);
    assert_eq!(again.valid_len, bytes.len());

    let log = decode_log(data);
    check(data, &log, decode_log);
    if !log.records.is_empty() {
        let mut file = encode_file_header().to_vec();
        file.extend_from_slice(&reencode(&log));
        let again = decode_log(&file);
        assert_eq!(
            again.records, log.records,
            "re-encoded log decodes differently"
        );
        assert_eq!(again.valid_len, file.len());
    }
});
