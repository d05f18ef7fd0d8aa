//! Parsers for attribute values: durations, sizes, booleans.

use std::time::Duration;

/// Parses a Zimbra duration: a number followed by `d`, `h`, `m`, `s` or `ms`; a bare
/// number is seconds.
///
/// # Errors
/// Text that is not a non-negative number with one of those units.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration: {text:?}"))?;
    let ms = match unit {
        "" | "s" => n.checked_mul(1000),
        "ms" => Some(n),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => return Err(format!("invalid duration unit in {text:?}")),
    };
    ms.map(Duration::from_millis)
        .ok_or_else(|| format!("duration out of range: {text:?}"))
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
