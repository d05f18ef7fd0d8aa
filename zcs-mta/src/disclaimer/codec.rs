//! Content-transfer-encodings for the disclaimer rewrite: decoding a part's body and
//! encoding it again the same way (RFC 2045 §6.7 quoted-printable, §6.8 base64).
//! Decoding is lenient (what mail clients accept); encoding is strict, so a rewritten
//! part is always valid.

use base64::Engine as _;

/// A part's `Content-Transfer-Encoding` (RFC 2045 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cte {
    /// `7bit`, or no field at all.
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
}

impl Cte {
    /// The encoding a field value names; `None` for one we do not know (`x-uuencode`,
    /// ...), whose parts are left alone.
    pub(crate) fn parse(value: Option<&str>) -> Option<Cte> {
        let Some(v) = value else {
            return Some(Cte::SevenBit);
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "7bit" => Some(Cte::SevenBit),
            "8bit" => Some(Cte::EightBit),
            "binary" => Some(Cte::Binary),
            "quoted-printable" => Some(Cte::QuotedPrintable),
            "base64" => Some(Cte::Base64),
            _ => None,
        }
    }

    /// The field value for this encoding.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cte::SevenBit => "7bit",
            Cte::EightBit => "8bit",
            Cte::Binary => "binary",
            Cte::QuotedPrintable => "quoted-printable",
            Cte::Base64 => "base64",
        }
    }
}

/// Longest line RFC 5322 §2.1.1 allows, without its CRLF.
const MAX_LINE: usize = 998;

/// Decodes `body` from `cte`; `None` when base64 content is not base64.
pub(crate) fn decode(body: &[u8], cte: Cte) -> Option<Vec<u8>> {
    match cte {
        Cte::SevenBit | Cte::EightBit | Cte::Binary => Some(body.to_vec()),
        Cte::QuotedPrintable => Some(qp_decode(body)),
        Cte::Base64 => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                .collect();
            let trimmed: Vec<u8> = {
                // Padding only at the end; anything after a `=` run is dropped.
                let end = clean.iter().position(|b| *b == b'=').unwrap_or(clean.len());
                clean[..end].to_vec()
            };
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                    .with_decode_allow_trailing_bits(true),
            );
            engine.decode(trimmed).ok()
        }
    }
}

/// Encodes `data` (lines ending in `nl`) as `cte` would carry it, choosing
/// quoted-printable instead of 7bit when `data` is no longer 7-bit or has overlong lines,
/// and instead of 8bit when a line is too long. Returns the body and the encoding used.
pub(crate) fn encode(data: &[u8], cte: Cte, nl: &[u8]) -> (Vec<u8>, Cte) {
    let long = data.split(|b| *b == b'\n').any(|l| l.len() > MAX_LINE + 1);
    let eight_bit = data.iter().any(|b| *b >= 0x80 || *b == 0);
    match cte {
        Cte::Base64 => (base64_encode(data, nl), Cte::Base64),
        Cte::QuotedPrintable => (qp_encode(data, nl), Cte::QuotedPrintable),
        Cte::SevenBit if !eight_bit && !long => (data.to_vec(), Cte::SevenBit),
        Cte::EightBit if !long && !data.contains(&0) => (data.to_vec(), Cte::EightBit),
        Cte::Binary => (data.to_vec(), Cte::Binary),
        _ => (qp_encode(data, nl), Cte::QuotedPrintable),
    }
}

/// RFC 2045 §6.8: 76-character lines ending in `nl`.
fn base64_encode(data: &[u8], nl: &[u8]) -> Vec<u8> {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(text.len() + text.len() / 76 * nl.len() + nl.len());
    for chunk in text.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(nl);
    }
    out
}

fn hex(n: u8) -> Option<u8> {
    match n {
        b'0'..=b'9' => Some(n - b'0'),
        b'a'..=b'f' => Some(n - b'a' + 10),
        b'A'..=b'F' => Some(n - b'A' + 10),
        _ => None,
    }
}

/// RFC 2045 §6.7, leniently: `=XX` (either case) is the octet, `=` at a line end is a
/// soft break, any other `=` is kept as it is; line ends are kept.
pub(crate) fn qp_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = &body[i + 1..];
        // Soft line break, with the transport padding some encoders leave before it.
        let pad = rest
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        let after = &rest[pad..];
        if after.starts_with(b"\r\n") {
            i += 1 + pad + 2;
            continue;
        }
        if after.starts_with(b"\n") {
            i += 1 + pad + 1;
            continue;
        }
        if after.is_empty() && pad == rest.len() {
            // `=` (and blanks) at the very end: a soft break before nothing.
            break;
        }
        match (
            rest.first().and_then(|c| hex(*c)),
            rest.get(1).and_then(|c| hex(*c)),
        ) {
            (Some(h), Some(l)) => {
                out.push((h << 4) | l);
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

/// RFC 2045 §6.7 quoted-printable with `nl` hard line breaks (a CRLF or bare LF in
/// `data` is a line break), lines of at most 76 characters, blanks before a line end
/// encoded.
pub(crate) fn qp_encode(data: &[u8], nl: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut lines = data.split(|b| *b == b'\n').peekable();
    while let Some(raw) = lines.next() {
        let last = lines.peek().is_none();
        let had_cr = raw.ends_with(b"\r") && !last;
        let line = if had_cr { &raw[..raw.len() - 1] } else { raw };
        let mut width = 0;
        for (j, &b) in line.iter().enumerate() {
            let at_end = j + 1 == line.len();
            let literal =
                (b == b' ' || b == b'\t') && !at_end || (33..=126).contains(&b) && b != b'=';
            let len = if literal { 1 } else { 3 };
            // Room for the soft break's `=` on this line.
            if width + len > 75 {
                out.push(b'=');
                out.extend_from_slice(nl);
                width = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            width += len;
        }
        if !last {
            out.extend_from_slice(nl);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quoted_printable_round_trip_and_leniency() {
        assert_eq!(
            qp_decode(b"caf=C3=A9 =\r\nau lait=3d\r\n"),
            "café au lait=\r\n".as_bytes()
        );
        assert_eq!(qp_decode(b"a=zz=4"), b"a=zz=4");
        assert_eq!(qp_decode(b"soft= \t\nbreak="), b"softbreak");
        let enc = qp_encode("ligne très longue ".repeat(10).as_bytes(), b"\r\n");
        assert!(enc.split(|b| *b == b'\n').all(|l| l.len() <= 77));
        assert!(enc.is_ascii());
        assert_eq!(qp_decode(&enc), "ligne très longue ".repeat(10).as_bytes());
        assert_eq!(qp_encode(b"end \r\nx\t", b"\r\n"), b"end=20\r\nx=09");
    }

    #[test]
    fn base64_lines_and_padding() {
        let enc = base64_encode(&[7u8; 100], b"\r\n");
        assert!(enc.split(|b| *b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(decode(&enc, Cte::Base64).unwrap(), vec![7u8; 100]);
        assert_eq!(decode(b"aGk", Cte::Base64).unwrap(), b"hi");
        assert_eq!(decode(b"aGk=\r\n\r\n", Cte::Base64).unwrap(), b"hi");
    }

    #[test]
    fn seven_bit_becomes_quoted_printable_when_needed() {
        assert_eq!(
            encode(b"plain\r\n", Cte::SevenBit, b"\r\n").1,
            Cte::SevenBit
        );
        assert_eq!(
            encode("é\r\n".as_bytes(), Cte::SevenBit, b"\r\n").1,
            Cte::QuotedPrintable
        );
        assert_eq!(
            encode("é\r\n".as_bytes(), Cte::EightBit, b"\r\n").1,
            Cte::EightBit
        );
        let long = vec![b'a'; 1200];
        assert_eq!(
            encode(&long, Cte::EightBit, b"\r\n").1,
            Cte::QuotedPrintable
        );
        assert_eq!(Cte::parse(Some(" Base64 ")), Some(Cte::Base64));
        assert_eq!(Cte::parse(Some("x-uuencode")), None);
        assert_eq!(Cte::parse(None), Some(Cte::SevenBit));
    }

    proptest! {
        #[test]
        fn qp_round_trips(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            // CRLF line breaks survive; a bare CR or LF is binary data QP cannot carry
            // apart from line breaks, so compare after normalising those.
            let enc = qp_encode(&data, b"\r\n");
            prop_assert!(enc.is_ascii());
            prop_assert!(enc.split(|b| *b == b'\n').all(|l| l.len() <= 77));
            let dec = qp_decode(&enc);
            let norm = |v: &[u8]| -> Vec<u8> {
                let mut out = Vec::new();
                for l in v.split(|b| *b == b'\n') {
                    out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                    out.push(b'\n');
                }
                out
            };
            prop_assert_eq!(norm(&dec), norm(&data));
        }

        #[test]
        fn base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let enc = base64_encode(&data, b"\n");
            prop_assert_eq!(decode(&enc, Cte::Base64).unwrap(), data);
        }

        #[test]
        fn decoding_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = qp_decode(&data);
            let _ = decode(&data, Cte::Base64);
        }
    }
}
