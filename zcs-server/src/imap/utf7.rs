//! Modified UTF-7, the encoding of IMAP mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII stands for itself except `&`, which is written `&-`; any other run
//! of characters is UTF-16BE, base64-encoded with `,` in place of `/`, no padding, between
//! `&` and `-`. This module only converts names; it knows nothing about folders.

use thiserror::Error;

/// Why a mailbox name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Utf7Error {
    /// A byte outside printable US-ASCII appeared outside a shifted run.
    #[error("byte {0:#04x} is not allowed in a mailbox name")]
    BadByte(u8),
    /// A `&` run was not closed by `-`.
    #[error("unterminated base64 run")]
    Unterminated,
    /// A shifted run holds a character that is not in the modified base64 alphabet, or
    /// leftover bits that are not zero.
    #[error("bad base64 in mailbox name")]
    BadBase64,
    /// The decoded UTF-16 is not valid (unpaired surrogate).
    #[error("bad UTF-16 in mailbox name")]
    BadUtf16,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn sextet(byte: u8) -> Option<u32> {
    match byte {
        b'A'..=b'Z' => Some(u32::from(byte - b'A')),
        b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

/// Encodes a Unicode mailbox name for the wire. Never fails.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush_shifted(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut units));
        }
    }
    flush_shifted(&mut pending, &mut out);
    out
}

fn flush_shifted(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for unit in units.drain(..) {
        bits = (bits << 16) | u32::from(unit);
        nbits += 16;
        while nbits >= 6 {
            nbits -= 6;
            out.push(char::from(ALPHABET[((bits >> nbits) & 63) as usize]));
        }
        bits &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        out.push(char::from(ALPHABET[((bits << (6 - nbits)) & 63) as usize]));
    }
    out.push('-');
}

/// Decodes a wire mailbox name to Unicode.
///
/// # Errors
/// [`Utf7Error`] when the bytes are not valid modified UTF-7.
/// A mailbox name as a client sent it: modified UTF-7, or, when that fails and the
/// bytes are UTF-8 (a client that enabled UTF8=ACCEPT, RFC 6855 §3, or a careless
/// one), the UTF-8 text as is.
///
/// # Errors
/// The modified UTF-7 error when the bytes are neither.
pub fn decode_name(wire: &[u8]) -> Result<String, Utf7Error> {
    match decode(wire) {
        Ok(name) => Ok(name),
        Err(e) => match std::str::from_utf8(wire) {
            Ok(text) if !text.is_ascii() && !text.chars().any(char::is_control) => {
                Ok(text.to_string())
            }
            _ => Err(e),
        },
    }
}

/// Decodes a modified UTF-7 name.
pub fn decode(wire: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        let byte = wire[i];
        if byte == b'&' {
            let close = wire[i + 1..]
                .iter()
                .position(|&b| b == b'-')
                .ok_or(Utf7Error::Unterminated)?;
            let run = &wire[i + 1..i + 1 + close];
            if run.is_empty() {
                out.push('&');
            } else {
                decode_run(run, &mut out)?;
            }
            i += close + 2;
        } else if (0x20..=0x7e).contains(&byte) {
            out.push(char::from(byte));
            i += 1;
        } else {
            return Err(Utf7Error::BadByte(byte));
        }
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), Utf7Error> {
    let mut units = Vec::with_capacity(run.len() * 6 / 16);
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for &b in run {
        let value = sextet(b).ok_or(Utf7Error::BadBase64)?;
        bits = (bits << 6) | value;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            // Truncation to the low 16 bits is the point: one UTF-16 unit.
            units.push(((bits >> nbits) & 0xffff) as u16);
            bits &= (1 << nbits) - 1;
        }
    }
    // RFC 3501 §5.1.3: leftover bits are padding and must be zero (and fewer than 6).
    if nbits >= 6 || bits != 0 {
        return Err(Utf7Error::BadBase64);
    }
    for decoded in char::decode_utf16(units) {
        out.push(decoded.map_err(|_| Utf7Error::BadUtf16)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_examples() {
        // The example of RFC 3501 §5.1.3.
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(), name);
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode(b"A&-B").unwrap(), "A&B");
        assert_eq!(encode("Entw\u{fc}rfe"), "Entw&APw-rfe");
        assert_eq!(encode("\u{1f600}"), "&2D3eAA-");
        assert_eq!(decode(b"&2D3eAA-").unwrap(), "\u{1f600}");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode(b"abc&U,BT"), Err(Utf7Error::Unterminated));
        assert_eq!(decode(b"\xc3\xa9"), Err(Utf7Error::BadByte(0xc3)));
        assert_eq!(decode(b"&U/-"), Err(Utf7Error::BadBase64));
        assert_eq!(decode(b"&2D0-"), Err(Utf7Error::BadUtf16));
        assert_eq!(decode(b"&2D3-"), Err(Utf7Error::BadBase64));
        assert_eq!(decode(b"&2D3eAA,-").err(), Some(Utf7Error::BadBase64));
    }

    proptest! {
        #[test]
        fn round_trips(name in "\\PC*") {
            let wire = encode(&name);
            prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode(wire.as_bytes()).unwrap(), name);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
