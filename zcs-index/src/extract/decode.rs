//! Forgiving transfer decoders for the lenient reading in `lenient.rs`: they never fail,
//! they keep what they cannot decode, so text hidden behind a slightly broken encoding
//! still reaches the index. Strict decoding for the main extraction is mail-parser's.

/// Decodes a quoted-printable body (RFC 2045 §6.7). `=XX` (either case) becomes that
/// byte, `=` at the end of a line is a soft line break, and any other `=` is kept as it
/// is. Linear in the input.
pub(super) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        if byte != b'=' {
            out.push(byte);
            i += 1;
            continue;
        }

        let rest = &input[i + 1..];
        // RFC 2045 §6.7 rule 5: "=" before the line break is a soft break; transport
        // padding (spaces, tabs) may sit between them.
        let pad = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let after_pad = &rest[pad..];
        if after_pad.starts_with(b"\r\n") {
            i += 1 + pad + 2;
        } else if after_pad.starts_with(b"\n") {
            i += 1 + pad + 1;
        } else if let (Some(hi), Some(lo)) = (
            rest.first().and_then(|&b| hex(b)),
            rest.get(1).and_then(|&b| hex(b)),
        ) {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Decodes a base64 body (RFC 2045 §6.8), skipping every byte outside the alphabet
/// (line breaks, stray characters) instead of failing. Padding ends a group, and decoding
/// goes on after it, so bodies made of several encoded pieces decode piece by piece.
/// Linear in the input.
pub(super) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut group = Group::default();
    for &byte in input {
        if byte == b'=' {
            group.flush(&mut out);
        } else if let Some(value) = base64_value(byte) {
            group.push(value, &mut out);
        }
    }
    group.flush(&mut out);
    out
}

/// Up to four base64 symbols being gathered into three bytes.
#[derive(Default)]
struct Group {
    bits: u32,
    count: u8,
}

impl Group {
    fn push(&mut self, value: u8, out: &mut Vec<u8>) {
        self.bits = self.bits << 6 | u32::from(value);
        self.count += 1;
        if self.count == 4 {
            out.extend_from_slice(&self.bits.to_be_bytes()[1..]);
            *self = Group::default();
        }
    }

    /// Emits a partial group (two symbols give one byte, three give two; one symbol
    /// carries no whole byte) and starts afresh.
    fn flush(&mut self, out: &mut Vec<u8>) {
        match self.count {
            2 => out.push((self.bits >> 4).to_be_bytes()[3]),
            3 => out.extend_from_slice(&(self.bits >> 2).to_be_bytes()[2..]),
            _ => {}
        }
        *self = Group::default();
    }
}

fn base64_value(byte: u8) -> Option<u8> {
    Some(match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_decodes_and_keeps_junk() {
        assert_eq!(
            quoted_printable(b"caf=C3=a9 x=\r\ny =3"),
            "café xy =3".as_bytes()
        );
        assert_eq!(quoted_printable(b"a= \nb==41=ZZ="), b"ab=A=ZZ=");
        assert_eq!(quoted_printable(b""), b"");
    }

    #[test]
    fn base64_decodes_and_skips_junk() {
        assert_eq!(base64(b"aGVsbG8gd29y\r\nbGQ="), b"hello world");
        assert_eq!(base64(b"aGk"), b"hi");
        assert_eq!(base64(b"aA"), b"h");
        assert_eq!(base64(b"a!G@V#s$b%G&8"), b"hello");
        assert_eq!(base64(b"a"), b"");
        assert_eq!(base64(b"aGk=\naGk=aA=="), b"hihih");
    }

    /// Standard base64 with padding, for the round-trip property.
    fn encode_base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from_be_bytes([0, group[0], group[1], group[2]]);
            for k in 0..4 {
                if k <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(0u8..=255, 0..512)) {
            let _ = quoted_printable(&bytes);
            let _ = base64(&bytes);
        }

        #[test]
        fn base64_round_trips(
            bytes in proptest::collection::vec(0u8..=255, 0..300),
            width in 4usize..80,
        ) {
            let encoded = encode_base64(&bytes);
            let wrapped: Vec<u8> = encoded
                .as_bytes()
                .chunks(width)
                .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
                .collect();
            proptest::prop_assert_eq!(base64(&wrapped), bytes);
        }

        #[test]
        fn quoted_printable_round_trips(bytes in proptest::collection::vec(0u8..=255, 0..300)) {
            let mut encoded = Vec::new();
            for (i, byte) in bytes.iter().enumerate() {
                if byte.is_ascii_alphanumeric() {
                    encoded.push(*byte);
                } else {
                    encoded.extend_from_slice(format!("={byte:02X}").as_bytes());
                }
                if i % 20 == 19 {
                    encoded.extend_from_slice(b"=\r\n");
                }
            }
            proptest::prop_assert_eq!(quoted_printable(&encoded), bytes);
        }
    }
}
