//! BINARY (RFC 3516): a part's content with its Content-Transfer-Encoding undone, for
//! `BINARY[part]` and `BINARY.SIZE[part]`. Decoding is lenient (RFC 2045 §6.8 asks
//! decoders to skip characters outside the alphabet) and never fails on bad input.

use std::borrow::Cow;

use super::Part;

/// What decoding a part gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The decoded bytes.
    Bytes(Cow<'a, [u8]>),
    /// The part's Content-Transfer-Encoding is not one RFC 2045 defines (RFC 3516 §4.3
    /// UNKNOWN-CTE).
    UnknownCte,
}

/// Finds part `path` of `root` (empty path: the whole message, returned as is) and
/// undoes its transfer encoding. `None` when the part does not exist.
pub fn binary_part<'a>(root: &Part<'a>, raw: &'a [u8], path: &[u32]) -> Option<Decoded<'a>> {
    if path.is_empty() {
        return Some(Decoded::Bytes(Cow::Borrowed(raw)));
    }
    let part = super::section::resolve(root, path)?;
    let cte = part
        .field("Content-Transfer-Encoding")
        .map(|v| String::from_utf8_lossy(&v).trim().to_ascii_lowercase())
        .unwrap_or_default();
    Some(match cte.as_str() {
        "" | "7bit" | "8bit" | "binary" => Decoded::Bytes(Cow::Borrowed(part.body)),
        "base64" => Decoded::Bytes(Cow::Owned(base64(part.body))),
        "quoted-printable" => Decoded::Bytes(Cow::Owned(quoted_printable(part.body))),
        _ => Decoded::UnknownCte,
    })
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// RFC 2045 §6.8 base64, skipping anything outside the alphabet, stopping at `=`.
pub fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        if b == b'=' {
            break;
        }
        let Some(v) = b64_value(b) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 2045 §6.7 quoted-printable: `=XX` escapes, soft line breaks (`=` at a line
/// end) removed; a malformed `=` is kept as is.
pub fn quoted_printable(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] != b'=' {
            out.push(data[i]);
            i += 1;
            continue;
        }
        // Soft line break: "=" then optional spaces and a line end.
        let mut j = i + 1;
        while j < data.len() && (data[j] == b' ' || data[j] == b'\t') {
            j += 1;
        }
        if j < data.len() && (data[j] == b'\r' || data[j] == b'\n') {
            i = j + if data[j] == b'\r' && data.get(j + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            continue;
        }
        if j >= data.len() {
            break;
        }
        match (
            data.get(i + 1).copied().and_then(hex),
            data.get(i + 2).copied().and_then(hex),
        ) {
            (Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_transfer_encodings() {
        assert_eq!(base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64(b"AAE="), [0, 1]);
        assert_eq!(
            quoted_printable(b"caf=C3=A9 =\r\nnext=3D=\n"),
            "café next=".as_bytes()
        );
        assert_eq!(quoted_printable(b"a=zz=4"), b"a=zz=4");
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b\r\n\
Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
        let root = super::super::parse_message(raw);
        assert_eq!(
            binary_part(&root, raw, &[1]),
            Some(Decoded::Bytes(Cow::Owned(vec![0, 1, 2, 3])))
        );
        assert_eq!(binary_part(&root, raw, &[2]), Some(Decoded::UnknownCte));
        assert_eq!(binary_part(&root, raw, &[3]), None);
    }

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = base64(&data);
            let _ = quoted_printable(&data);
        }

        #[test]
        fn base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            use base64::Engine;
            let text = base64::engine::general_purpose::STANDARD.encode(&data);
            prop_assert_eq!(base64(text.as_bytes()), data);
        }
    }
}
