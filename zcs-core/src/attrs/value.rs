//! Parsers and formatters for attribute values as Zimbra writes them: durations
//! (`30d`), sizes (`10MB`), booleans (`TRUE`), integers, GeneralizedTime, and the syntax
//! checks for addresses, ids, domain names, DNs, phone numbers and base64.
//!
//! Every parser takes untrusted text and returns an error string (fit to show a client)
//! instead of panicking. Deciding which parser applies to which attribute is
//! [`super::validate`]'s job.

use std::time::Duration;

const SECOND_MS: u64 = 1000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Parses a Zimbra duration: a number followed by `d`, `h`, `m`, `s` or `ms`; a bare
/// number is seconds (upstream `DateUtil.getTimeInterval`, spec 03 §7). Units are lower
/// case; surrounding white space is ignored.
///
/// # Errors
/// Text that is not a non-negative number with one of those units, or a value too large
/// for a `u64` count of milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_ms(text).map(Duration::from_millis)
}

/// [`parse_duration`], as a count of milliseconds.
///
/// # Errors
/// As [`parse_duration`].
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid duration: {text:?}"));
    }
    let n: u64 = num
        .parse()
        .map_err(|_| format!("duration out of range: {text:?}"))?;
    let scale = match unit {
        "" | "s" => SECOND_MS,
        "ms" => 1,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        _ => return Err(format!("invalid duration unit in {text:?}")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("duration out of range: {text:?}"))
}

/// Formats `d` in the largest unit that divides it exactly (`30d`, `90m`, `1500ms`);
/// zero is `0`. Sub-millisecond parts are dropped. [`parse_duration`] reads the result
/// back to the same number of milliseconds.
pub fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    format_duration_ms(ms)
}

/// [`format_duration`] for a count of milliseconds.
pub fn format_duration_ms(ms: u64) -> String {
    if ms == 0 {
        return "0".to_string();
    }
    for (scale, unit) in [
        (DAY_MS, "d"),
        (HOUR_MS, "h"),
        (MINUTE_MS, "m"),
        (SECOND_MS, "s"),
    ] {
        if ms.is_multiple_of(scale) {
            return format!("{}{unit}", ms / scale);
        }
    }
    format!("{ms}ms")
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("", 1),
    ("b", 1),
    ("k", 1 << 10),
    ("kb", 1 << 10),
    ("m", 1 << 20),
    ("mb", 1 << 20),
    ("g", 1 << 30),
    ("gb", 1 << 30),
    ("t", 1 << 40),
    ("tb", 1 << 40),
];

/// Parses a size in bytes with an optional binary unit: `B`, `K`/`KB`, `M`/`MB`,
/// `G`/`GB`, `T`/`TB`, any case, optionally after one space (`10MB`, `100M`, `1 gb`).
/// 1KB is 1024 bytes, as Zimbra reads `long` values with memory units.
///
/// # Errors
/// A missing or negative number, an unknown unit, or a value above `i64::MAX` bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, rest) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid size: {text:?}"));
    }
    let unit = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let scale = SIZE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, s)| *s)
        .ok_or_else(|| format!("invalid size unit in {text:?}"))?;
    let n: u64 = num
        .parse()
        .map_err(|_| format!("size out of range: {text:?}"))?;
    n.checked_mul(scale)
        .filter(|&b| i64::try_from(b).is_ok())
        .ok_or_else(|| format!("size out of range: {text:?}"))
}

/// Formats `bytes` in the largest unit that divides it exactly (`10MB`, `1536KB`,
/// `1000`); [`parse_size`] reads the result back to the same value.
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    for (scale, unit) in [
        (1u64 << 40, "TB"),
        (1 << 30, "GB"),
        (1 << 20, "MB"),
        (1 << 10, "KB"),
    ] {
        if bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    bytes.to_string()
}

/// Parses a Zimbra boolean: `TRUE` or `FALSE`, in any case.
///
/// # Errors
/// Anything else.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("invalid boolean: {text:?}"))
    }
}

/// `TRUE` or `FALSE`, the spelling Zimbra stores.
pub fn format_bool(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

/// Parses a decimal integer (optional sign, no spaces) and checks it against the
/// inclusive bounds `min` and `max` when given.
///
/// # Errors
/// Text that is not an integer, does not fit an `i64`, or lies outside the bounds.
pub fn parse_integer(text: &str, min: Option<i64>, max: Option<i64>) -> Result<i64, String> {
    let n: i64 = text
        .parse()
        .map_err(|_| format!("invalid integer: {text:?}"))?;
    check_range(n, min, max)?;
    Ok(n)
}

/// Checks `n` against the inclusive bounds `min` and `max` when given.
///
/// # Errors
/// A message naming the bound `n` breaks.
pub fn check_range(n: i64, min: Option<i64>, max: Option<i64>) -> Result<(), String> {
    if let Some(lo) = min.filter(|&lo| n < lo) {
        return Err(format!("{n} is below the minimum {lo}"));
    }
    if let Some(hi) = max.filter(|&hi| n > hi) {
        return Err(format!("{n} is above the maximum {hi}"));
    }
    Ok(())
}

/// Parses a GeneralizedTime (RFC 4517 §3.3.13): `YYYYMMDDHH[MM[SS]][(.|,)fraction]`
/// followed by `Z` or an offset `±HH[MM]`, e.g. `20261204162400Z`. Returns milliseconds
/// since the Unix epoch, UTC; fractions finer than a millisecond are dropped.
///
/// # Errors
/// Text not of that form, or a field out of range (month 13, February 30, hour 24, ...).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid generalized time: {text:?}");
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let s = b.get(from..from + n)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let year = digits(0, 4).ok_or_else(bad)?;
    let month = digits(4, 2).ok_or_else(bad)?;
    let day = digits(6, 2).ok_or_else(bad)?;
    let hour = digits(8, 2).ok_or_else(bad)?;
    let mut pos = 10;
    let (mut minute, mut second) = (0, 0);
    if let Some(m) = digits(pos, 2) {
        minute = m;
        pos += 2;
        if let Some(s) = digits(pos, 2) {
            second = s;
            pos += 2;
        }
    }
    // RFC 4517 §3.3.13: the fraction applies to the last unit given.
    let unit_ms = match pos {
        10 => HOUR_MS,
        12 => MINUTE_MS,
        _ => SECOND_MS,
    } as i64;
    let mut frac_ms = 0i64;
    if matches!(b.get(pos), Some(b'.') | Some(b',')) {
        pos += 1;
        let start = pos;
        let (mut num, mut den) = (0i64, 1i64);
        while let Some(d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
            if den < 1_000_000_000_000 {
                num = num * 10 + i64::from(d - b'0');
                den *= 10;
            }
            pos += 1;
        }
        if pos == start {
            return Err(bad());
        }
        frac_ms = num * unit_ms / den;
    }
    let offset_min = match b.get(pos) {
        Some(b'Z') if pos + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(pos + 1, 2).ok_or_else(bad)?;
            let (om, end) = match digits(pos + 3, 2) {
                Some(om) => (om, pos + 5),
                None => (0, pos + 3),
            };
            if end != b.len() || oh > 23 || om > 59 {
                return Err(bad());
            }
            let off = oh * 60 + om;
            if sign == b'-' { -off } else { off }
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1000 + frac_ms)
}

/// Formats milliseconds since the epoch as UTC GeneralizedTime, `YYYYMMDDHHMMSSZ`, with
/// a `.mmm` fraction only when the value has one. Years outside 0..=9999 are clamped.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        return "00000101000000Z".to_string();
    }
    if y > 9999 {
        return "99991231235959Z".to_string();
    }
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z")
    } else {
        format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}.{frac:03}Z")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic: 400-year cycles
/// of 146097 days, years counted from March so the leap day falls last).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Checks a bare address, `local@domain`: one `@` outside quotes, a non-empty local part
/// without spaces or angle brackets, and a domain that passes [`check_domain_name`] (or
/// a bracketed address literal). No display name is allowed.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_email(text: &str) -> Result<(), String> {
    let bad = |why: &str| format!("invalid email address {text:?}: {why}");
    let (local, domain) = text.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    if local.is_empty() {
        return Err(bad("empty local part"));
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if !quoted
        && local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:@\"".contains(c))
    {
        return Err(bad("bad character in local part"));
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() > 2 {
        return Ok(());
    }
    check_domain_name(domain).map_err(|_| bad("bad domain"))
}

/// Checks an address that may carry a display name: `user@domain`,
/// `Name <user@domain>` or `"Name" <user@domain>`.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_email_pattern(text: &str) -> Result<(), String> {
    let t = text.trim();
    match (t.rfind('<'), t.ends_with('>')) {
        (Some(open), true) => check_email(&t[open + 1..t.len() - 1]),
        (None, false) => check_email(t),
        _ => Err(format!("invalid email address {text:?}: unbalanced <>")),
    }
}

/// Checks a domain name: dot-separated labels of 1 to 63 characters, letters, digits,
/// `-`, `_` or non-ASCII (internationalized names), not starting or ending with `-`;
/// at most 253 bytes; a single trailing dot is allowed.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_domain_name(text: &str) -> Result<(), String> {
    let bad = || format!("invalid domain name: {text:?}");
    let t = text.strip_suffix('.').unwrap_or(text);
    if t.is_empty() || t.len() > 253 {
        return Err(bad());
    }
    for label in t.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii());
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Whether `text` is a UUID in its 8-4-4-4-12 hexadecimal form, any case.
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks an LDAP distinguished name loosely (RFC 4514 §3): comma-separated RDNs, each
/// `type=value` with a non-empty type. The empty DN (the root) is accepted.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_dn(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let mut escaped = false;
    let mut rdn = String::new();
    let mut rdns = Vec::new();
    for c in text.chars() {
        match (escaped, c) {
            (true, _) => {
                rdn.push(c);
                escaped = false;
            }
            (false, '\\') => {
                rdn.push(c);
                escaped = true;
            }
            (false, ',') => rdns.push(std::mem::take(&mut rdn)),
            _ => rdn.push(c),
        }
    }
    rdns.push(rdn);
    let ok = rdns.iter().all(|r| {
        r.split_once('=')
            .is_some_and(|(ty, _)| !ty.trim().is_empty() && !ty.contains(['\\', '"']))
    });
    if ok {
        Ok(())
    } else {
        Err(format!("invalid DN: {text:?}"))
    }
}

/// Checks a telephone number: digits with optional `+`, spaces, `-`, `.`, `/`,
/// parentheses and an `x` extension; at least one digit.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_phone(text: &str) -> Result<(), String> {
    let ok = text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./()xX".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid phone number: {text:?}"))
    }
}

/// Checks base64 text (RFC 4648 §4): the standard alphabet, `=` padding only at the end,
/// white space ignored.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_base64(text: &str) -> Result<(), String> {
    let body: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data_end = body.iter().position(|&b| b == b'=').unwrap_or(body.len());
    let ok = body.len().is_multiple_of(4)
        && body.len() - data_end <= 2
        && body[data_end..].iter().all(|&b| b == b'=')
        && body[..data_end]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err("invalid base64 data".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30d"), Ok(30 * DAY_MS));
        assert_eq!(parse_duration_ms("2h"), Ok(2 * HOUR_MS));
        assert_eq!(parse_duration_ms("10m"), Ok(10 * MINUTE_MS));
        assert_eq!(parse_duration_ms("60s"), Ok(60_000));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(
            parse_duration_ms("15"),
            Ok(15_000),
            "bare number is seconds"
        );
        assert_eq!(parse_duration_ms(" 0 "), Ok(0));
        for bad in [
            "",
            "d",
            "-1d",
            "+1d",
            "1.5h",
            "1w",
            "1D",
            "1 d",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration_ms(30 * DAY_MS), "30d");
        assert_eq!(format_duration_ms(90 * MINUTE_MS), "90m");
        assert_eq!(format_duration_ms(1500), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("10240000"), Ok(10_240_000));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("10mb"), Ok(10 << 20));
        assert_eq!(parse_size("2 GB"), Ok(2 << 30));
        assert_eq!(parse_size("1tb"), Ok(1 << 40));
        for bad in ["", "MB", "-1", "1.5MB", "1PB", "1  MB", "9999999999TB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_size(10 << 20), "10MB");
        assert_eq!(format_size(1536 << 10), "1536KB");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn booleans_and_integers() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        assert!(parse_bool("yes").is_err());
        assert_eq!(format_bool(true), "TRUE");
        assert_eq!(parse_integer("-1", Some(-1), None), Ok(-1));
        assert!(parse_integer("7", Some(0), Some(6)).is_err());
        assert!(parse_integer("1 ", None, None).is_err());
    }

    #[test]
    fn generalized_time() {
        assert_eq!(parse_time("19700101000000Z"), Ok(0));
        assert_eq!(parse_time("20261204162400Z"), Ok(1_796_401_440_000));
        assert_eq!(parse_time("20261204182400+0200"), Ok(1_796_401_440_000));
        assert_eq!(parse_time("2026120416Z"), Ok(1_796_400_000_000));
        assert_eq!(parse_time("19700101000000.5Z"), Ok(500));
        assert_eq!(parse_time("20000229000000Z").map(|_| ()), Ok(()));
        for bad in [
            "",
            "2026",
            "20261304000000Z",
            "20250229000000Z",
            "20261204246000Z",
            "20261204162400",
            "20261204162400Zx",
            "20261204162400.Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_time(1_796_401_440_000), "20261204162400Z");
        assert_eq!(format_time(500), "19700101000000.500Z");
        assert_eq!(format_time(-1000), "19691231235959Z");
    }

    #[test]
    fn addresses_and_names() {
        assert!(check_email("user@example.com").is_ok());
        assert!(check_email("user@localhost").is_ok());
        assert!(check_email("user@bücher.de").is_ok());
        for bad in [
            "user",
            "@example.com",
            "user@",
            "a b@example.com",
            "Joe <j@x.com>",
            "user@-x.com",
            "user@x..com",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_email_pattern("Joe Doe <joe@example.com>").is_ok());
        assert!(check_email_pattern("joe@example.com").is_ok());
        assert!(check_email_pattern("Joe <joe@example.com").is_err());
        assert!(is_uuid("513e02e0-9abc-4acf-863a-6dccf38252e3"));
        assert!(
            !is_uuid("513e02e-9abc-4acf-863a-6dccf38252e3"),
            "spec 03 §7 typo"
        );
        assert!(check_dn("uid=jane,ou=people,dc=example,dc=com").is_ok());
        assert!(check_dn("").is_ok());
        assert!(check_dn("jane").is_err());
        assert!(check_phone("+1 (650) 555-0100 x12").is_ok());
        assert!(check_phone("call me").is_err());
        assert!(check_base64("aGVsbG8=").is_ok());
        assert!(check_base64("aGVsbG8").is_err());
    }
}
