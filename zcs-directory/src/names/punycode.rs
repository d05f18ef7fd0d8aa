//! Punycode (RFC 3492), the encoding that turns an internationalised domain label such
//! as `schäfer` into the ASCII label `xn--schfer-dua` the directory stores (RFC 5891
//! §4.4: the A-label is `xn--` followed by the Punycode of the U-label).
//!
//! In charge of the encoding (and, for its tests, the inverse) only; which labels are
//! encoded and how they are lower-cased is [`super::normalize_domain`]'s business.

// RFC 3492 §5: the parameter values for Punycode.
const BASE: u32 = 36;
const TMIN: u32 = 1;
const TMAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// RFC 3492 §6.1: the bias adaptation function.
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (((BASE - TMIN + 1) * delta) / (delta + SKEW))
}

/// The basic code point of digit `d` (0..36): `a`-`z` then `0`-`9` (RFC 3492 §5).
fn digit(d: u32) -> char {
    let c = if d < 26 {
        b'a' + d as u8
    } else {
        b'0' + (d - 26) as u8
    };
    char::from(c)
}

/// The value of a basic code point as a digit, either case (RFC 3492 §5).
#[cfg(test)]
fn value(c: char) -> Option<u32> {
    match c {
        'a'..='z' => Some(c as u32 - 'a' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32),
        '0'..='9' => Some(c as u32 - '0' as u32 + 26),
        _ => None,
    }
}

/// The threshold `t` of position `k` (RFC 3492 §6.3).
fn threshold(k: u32, bias: u32) -> u32 {
    if k <= bias {
        TMIN
    } else if k >= bias + TMAX {
        TMAX
    } else {
        k - bias
    }
}

/// Encodes `input` (RFC 3492 §6.3). `None` on arithmetic overflow, which only an
/// absurdly long label can cause (labels are at most 63 octets once encoded).
pub fn encode(input: &str) -> Option<String> {
    let chars: Vec<u32> = input.chars().map(|c| c as u32).collect();
    let mut out: String = input.chars().filter(char::is_ascii).collect();
    let basic = out.chars().count() as u32;
    let mut handled = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let total = chars.len() as u32;
    while handled < total {
        let m = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(out)
}

/// Decodes `input` (RFC 3492 §6.2). `None` when it is not valid Punycode. Only the
/// tests need it (names are stored and compared in their encoded form).
#[cfg(test)]
pub fn decode(input: &str) -> Option<String> {
    let (basic, rest) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    if !basic.is_ascii() {
        return None;
    }
    let mut out: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut digits = rest.chars().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let d = value(digits.next()?)?;
            i = i.checked_add(d.checked_mul(w)?)?;
            let t = threshold(k, bias);
            if d < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = out.len() as u32 + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        out.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_labels() {
        for (u, a) in [
            ("bücher", "bcher-kva"),
            ("münchen", "mnchen-3ya"),
            ("schäfer", "schfer-dua"),
            ("exämple", "exmple-cua"),
            // RFC 3492 §7.1 (A), Arabic (Egyptian).
            (
                "\u{644}\u{64a}\u{647}\u{645}\u{627}\u{628}\u{62a}\u{643}\u{644}\u{645}\u{648}\
                 \u{634}\u{639}\u{631}\u{628}\u{64a}\u{61f}",
                "egbpdaj6bu4bxfgehfvwxn",
            ),
        ] {
            assert_eq!(encode(u).as_deref(), Some(a), "{u}");
            assert_eq!(decode(a).as_deref(), Some(u), "{a}");
        }
        assert_eq!(encode("plain").as_deref(), Some("plain-"));
        assert_eq!(decode("bad!"), None);
    }

    proptest! {
        #[test]
        fn round_trips(s in "\\PC{0,20}") {
            if let Some(a) = encode(&s) {
                prop_assert!(a.is_ascii());
                prop_assert_eq!(decode(&a), Some(s));
            }
        }

        #[test]
        fn decoding_never_panics(s in "\\PC{0,40}") {
            let _ = decode(&s);
        }
    }
}
