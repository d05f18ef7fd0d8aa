//! Fuzz target: the attribute value parsers of zcs-core (`zcs_core::attrs::value`):
//! durations, sizes, GeneralizedTime, booleans, integers and the syntax checks.
//!
//! Invariants checked, besides "never panics":
//! - `parse_duration_ms` agrees with `parse_duration`, and `format_duration_ms` of the
//!   value parses back to the same number of milliseconds;
//! - `format_size` of a parsed size parses back to the same value;
//! - `format_time` of a parsed time parses back to the same instant, when that instant
//!   lies in the years 0000..=9999 that `format_time` can write without clamping;
//! - `format_bool` of a parsed boolean parses back to it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcs_core::attrs::value::{
    check_base64, check_dn, check_domain_name, check_email, check_email_pattern, check_phone,
    format_bool, format_duration_ms, format_size, format_time, is_uuid, parse_bool, parse_duration,
    parse_duration_ms, parse_integer, parse_size, parse_time,
};

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch milliseconds.
const MIN_TIME_MS: i64 = -62_167_219_200_000;
const MAX_TIME_MS: i64 = 253_402_300_799_999;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let ms = parse_duration_ms(text);
    let d = parse_duration(text);
    assert_eq!(
        ms.is_ok(),
        d.is_ok(),
        "parse_duration and parse_duration_ms disagree"
    );
    if let Ok(ms) = ms {
        assert_eq!(d.map(|d| d.as_millis()), Ok(u128::from(ms)));
        let f = format_duration_ms(ms);
        assert_eq!(
            parse_duration_ms(&f),
            Ok(ms),
            "duration {ms} formatted as {f:?}"
        );
    }

    if let Ok(n) = parse_size(text) {
        let f = format_size(n);
        assert_eq!(parse_size(&f), Ok(n), "size {n} formatted as {f:?}");
    }

    if let Ok(t) = parse_time(text)
        && (MIN_TIME_MS..=MAX_TIME_MS).contains(&t)
    {
        let f = format_time(t);
        assert_eq!(parse_time(&f), Ok(t), "time {t} formatted as {f:?}");
    }

    if let Ok(b) = parse_bool(text) {
        assert_eq!(parse_bool(format_bool(b)), Ok(b));
    }
    if let Ok(n) = parse_integer(text, Some(-5), Some(1 << 20)) {
        assert!(
            (-5..=1 << 20).contains(&n),
            "parse_integer ignored its bounds: {n}"
        );
    }

    let _ = check_email(text);
    let _ = check_email_pattern(text);
    let _ = check_domain_name(text);
    let _ = is_uuid(text);
    let _ = check_dn(text);
    let _ = check_phone(text);
    let _ = check_base64(text);
});
