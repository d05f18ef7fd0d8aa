//! Fuzz target: the milter codec and message rewriting, `zcs_mta::milter`.
//!
//! The input is split at its first `0xff` octet: the front is a stream of length-prefixed
//! milter packets, decoded as replies (`Response::decode`) and as commands
//! (`decode_command`); the rest is a message that the decoded replies are applied to
//! with `apply_edits`.
//!
//! Invariants checked, besides "never panics": a decoded reply encodes back to a packet
//! that decodes to the same reply; the rewritten message still has an empty line ending
//! its header.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_mta::milter::apply_edits;
use zcs_mta::milter::codec::{self, Response};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0xff).unwrap_or(data.len());
    let (mut packets, message) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let mut replies = Vec::new();
    while packets.len() >= 4 {
        let prefix = [packets[0], packets[1], packets[2], packets[3]];
        let Ok(len) = codec::packet_len(prefix) else { break };
        let Some(packet) = packets.get(4..4 + len) else { break };
        let _ = codec::decode_command(packet);
        if let Ok(reply) = Response::decode(packet) {
            let again = reply.encode();
            assert_eq!(Response::decode(&again[4..]).as_ref(), Ok(&reply));
            replies.push(reply);
        }
        packets = &packets[4 + len..];
    }
    let out = apply_edits(message, &replies);
    assert!(out.windows(4).any(|w| w == b"\r\n\r\n") || out.starts_with(b"\r\n"));
});
