//! Fuzz target: text extraction for the index, `zcs_index::document_from_message`, over
//! arbitrary message bytes (MIME walk, transfer and charset decoding, HTML to text).
//!
//! Invariants checked, besides "never panics": the document describes the item it was
//! asked for, is of kind `message`, and its `size` is the input length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_core::ItemId;
use zcs_index::document_from_message;

fuzz_target!(|data: &[u8]| {
    let doc = document_from_message(ItemId(257), data);
    assert_eq!(doc.item, ItemId(257));
    assert_eq!(doc.kind, "message");
    assert_eq!(doc.size, data.len() as u64);
});
