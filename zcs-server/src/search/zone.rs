//! The time zone a search's dates resolve in: relative dates (`date:-1day`, `today`)
//! and calendar days (`day:`, `before:`, `after:` with a day) are the user's days, not
//! UTC's. The zone comes from the request (`SearchRequest <tz id= stdoff=>`) or the
//! account's `zimbraPrefTimeZoneId`; names are IANA ids (`Europe/Paris`) or the
//! Windows/Outlook-style names Zimbra's own zone list uses
//! (`(GMT-05.00) Eastern Time (US & Canada)`).
//!
//! The clock carries the zone itself, not just today's offset, so a day on the other side
//! of a daylight-saving change starts at that day's own midnight.

use std::str::FromStr;

use calcard::common::timezone::Tz;
use chrono::{DateTime, FixedOffset, Utc};

/// A search's "now": the instant and the zone whose calendar its dates use.
pub type Clock = DateTime<Tz>;

/// Now, in UTC.
pub fn utc_now() -> Clock {
    at_utc(Utc::now())
}

fn at_utc(at: DateTime<Utc>) -> Clock {
    at.with_timezone(&Tz::Fixed(
        FixedOffset::east_opt(0).expect("zero is a valid offset"),
    ))
}

/// `at` as seen in the zone named `zone`; UTC when the name is unknown or absent.
pub fn now_in_zone(zone: Option<&str>, at: DateTime<Utc>) -> Clock {
    match zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(Tz::from_str)
    {
        Some(Ok(tz)) if !matches!(tz, Tz::Floating) => at.with_timezone(&tz),
        _ => at_utc(at),
    }
}

/// `at` in a fixed offset of `minutes` east of UTC (`<tz stdoff=>`); UTC when out of
/// range (more than a day).
pub fn now_at_offset(minutes: i32, at: DateTime<Utc>) -> Clock {
    match minutes.checked_mul(60).and_then(FixedOffset::east_opt) {
        Some(off) => at.with_timezone(&Tz::Fixed(off)),
        None => at_utc(at),
    }
}

/// Whether `zone` names a zone this server knows.
pub fn known_zone(zone: &str) -> bool {
    matches!(Tz::from_str(zone.trim()), Ok(tz) if !matches!(tz, Tz::Floating))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use zcs_index::query::{DateUnit, DateValue};

    fn day(y: i32, m: u32, d: u32) -> DateValue {
        DateValue::Day(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn offset(c: &Clock) -> i32 {
        c.fixed_offset().offset().local_minus_utc()
    }

    #[test]
    fn zones_give_the_local_offset() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 23, 30, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 23, 30, 0).unwrap();
        let paris = now_in_zone(Some("Europe/Paris"), winter);
        assert_eq!(offset(&paris), 3600);
        // Past 23:00 UTC it is already the next day in Paris.
        assert_eq!(
            paris.fixed_offset().format("%Y-%m-%d").to_string(),
            "2026-01-16"
        );
        let ny = now_in_zone(Some("America/New_York"), summer);
        assert_eq!(offset(&ny), -4 * 3600);
        assert_eq!(offset(&now_in_zone(Some("Nowhere/Else"), winter)), 0);
        assert_eq!(now_in_zone(None, winter).timestamp(), winter.timestamp());
        assert_eq!(offset(&now_at_offset(330, winter)), 330 * 60);
        assert_eq!(offset(&now_at_offset(100_000, winter)), 0);
        assert!(known_zone("Asia/Tokyo") && !known_zone("bogus"));
    }

    fn ms(y: i32, m: u32, d: u32, h: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn days_across_a_daylight_saving_change_keep_their_own_midnight() {
        // In January (UTC+1) Paris asks about a July day (UTC+2): it starts at 22:00 UTC.
        let january = now_in_zone(
            Some("Europe/Paris"),
            Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap(),
        );
        let july_day = day(2026, 7, 14);
        assert_eq!(
            july_day.interval(&january),
            Some((ms(2026, 7, 13, 22), ms(2026, 7, 14, 22)))
        );
        // The day clocks go forward is 23 hours long, the day they go back 25.
        let spring = day(2026, 3, 29).interval(&january).unwrap();
        assert_eq!(spring.1 - spring.0, 23 * 3_600_000);
        let autumn = day(2026, 10, 25).interval(&january).unwrap();
        assert_eq!(autumn.1 - autumn.0, 25 * 3_600_000);
        // "Yesterday" seen on the morning after the change starts at the previous local
        // midnight (UTC+1), not 24 hours before today's midnight (UTC+2).
        let after = now_in_zone(
            Some("Europe/Paris"),
            Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, 0).unwrap(),
        );
        let yesterday = DateValue::Relative {
            amount: -1,
            unit: DateUnit::Day,
        }
        .interval(&after)
        .unwrap();
        assert_eq!(yesterday, (ms(2026, 3, 28, 23), ms(2026, 3, 29, 22)));
    }

    #[test]
    fn a_midnight_that_never_happened_starts_the_day_after_the_gap() {
        // Santiago moves its clocks forward at 00:00 local in September: 2026-09-06 starts
        // at 01:00 local, i.e. 04:00 UTC.
        let clock = now_in_zone(
            Some("America/Santiago"),
            Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
        );
        let (start, _) = day(2026, 9, 6).interval(&clock).unwrap();
        assert_eq!(start, ms(2026, 9, 6, 4));
    }

    #[test]
    fn hours_are_elapsed_time_across_a_change() {
        // 03:30 local just after Paris springs forward (01:30 UTC): "-2h" is the hour
        // starting two real hours before 03:00 local, 23:00 UTC.
        let clock = now_in_zone(
            Some("Europe/Paris"),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap(),
        );
        let (start, end) = DateValue::Relative {
            amount: -2,
            unit: DateUnit::Hour,
        }
        .interval(&clock)
        .unwrap();
        assert_eq!((start, end), (ms(2026, 3, 28, 23), ms(2026, 3, 29, 0)));
    }
}
