//! IMAP dates: `date-time` of APPEND and INTERNALDATE (`"17-Jul-1996 02:44:25 -0700"`)
//! and `date` of SEARCH (`1-Feb-1994`), RFC 3501 §9. Pure conversions, no I/O.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(name: &[u8]) -> Option<u32> {
    let pos = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))?;
    u32::try_from(pos + 1).ok()
}

fn number(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Parses a SEARCH `date-text` (`d-Mon-yyyy` or `dd-Mon-yyyy`), RFC 3501 §9.
pub fn parse_date(text: &[u8]) -> Option<NaiveDate> {
    let mut parts = text.split(|&b| b == b'-');
    let day = parts.next()?;
    let mon = parts.next()?;
    let year = parts.next()?;
    if parts.next().is_some() || day.len() > 2 || year.len() != 4 {
        return None;
    }
    let year = i32::try_from(number(year)?).ok()?;
    NaiveDate::from_ymd_opt(year, month(mon)?, number(day)?)
}

/// Parses an APPEND `date-time` (the text between the quotes), RFC 3501 §9:
/// `date-day-fixed "-" date-month "-" date-year SP time SP zone`, where the day may be a
/// space and one digit. Returns milliseconds since the Unix epoch.
pub fn parse_date_time(text: &[u8]) -> Option<i64> {
    let text = if text.first() == Some(&b' ') {
        &text[1..]
    } else {
        text
    };
    let mut fields = text.split(|&b| b == b' ');
    let date = parse_date(fields.next()?)?;
    let time = fields.next()?;
    let zone = fields.next()?;
    if fields.next().is_some() || time.len() != 8 || zone.len() != 5 {
        return None;
    }
    let mut hms = time.split(|&b| b == b':');
    let (h, m, s) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next()?)?,
    );
    let naive = date.and_hms_opt(h, m, s)?;
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zh = i32::try_from(number(&zone[1..3])?).ok()?;
    let zm = i32::try_from(number(&zone[3..5])?).ok()?;
    if zm > 59 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (zh * 3600 + zm * 60))?;
    let local = offset.from_local_datetime(&naive).single()?;
    Some(local.timestamp_millis())
}

/// Formats milliseconds since the epoch as an INTERNALDATE `date-time` (without quotes),
/// in UTC: `"04-Dec-2026 10:00:00 +0000"`.
pub fn format_date_time(ms: i64) -> String {
    let when: DateTime<Utc> = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    when.format("%d-%b-%Y %H:%M:%S +0000").to_string()
}

/// The UTC calendar date of an instant, for SEARCH BEFORE/ON/SINCE (RFC 3501 §6.4.4
/// compares internal dates "disregarding time and timezone").
pub fn date_of(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_dates() {
        assert_eq!(
            parse_date(b"1-Feb-1994"),
            NaiveDate::from_ymd_opt(1994, 2, 1)
        );
        assert_eq!(
            parse_date(b"01-feb-1994"),
            NaiveDate::from_ymd_opt(1994, 2, 1)
        );
        assert_eq!(parse_date(b"31-Feb-1994"), None);
        assert_eq!(parse_date(b"1-Foo-1994"), None);
        assert_eq!(parse_date(b"1-Feb-94"), None);
    }

    #[test]
    fn parses_and_formats_date_times() {
        let ms = parse_date_time(b"17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(format_date_time(ms), "17-Jul-1996 09:44:25 +0000");
        assert_eq!(
            parse_date_time(b" 7-Jul-1996 02:44:25 +0000"),
            parse_date_time(b"07-Jul-1996 02:44:25 +0000")
        );
        assert_eq!(parse_date_time(b"17-Jul-1996 02:44:25"), None);
        assert_eq!(parse_date_time(b"17-Jul-1996 25:44:25 +0000"), None);
        assert_eq!(date_of(ms), NaiveDate::from_ymd_opt(1996, 7, 17).unwrap());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_date(&bytes);
            let _ = parse_date_time(&bytes);
        }

        #[test]
        fn format_round_trips(secs in 0i64..4_000_000_000) {
            let text = format_date_time(secs * 1000);
            prop_assert_eq!(parse_date_time(text.as_bytes()), Some(secs * 1000));
        }
    }
}
