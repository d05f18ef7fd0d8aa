//! The time zone a search's dates resolve in: relative dates (`date:-1day`, `today`)
//! and calendar days (`day:`, `before:`, `after:` with a day) are the user's days, not
//! UTC's. The zone comes from the request (`SearchRequest <tz id= stdoff=>`) or the
//! account's `zimbraPrefTimeZoneId`; names are IANA ids (`Europe/Paris`) or the
//! Windows/Outlook-style names Zimbra's own zone list uses
//! (`(GMT-05.00) Eastern Time (US & Canada)`).
//!
//! LIMITATION: the evaluator takes one offset per search (the zone's offset now), so a
//! day on the other side of a daylight-saving change is off by that change's hour.

use std::str::FromStr;

use calcard::common::timezone::Tz;
use chrono::{DateTime, FixedOffset, Utc};

/// `at` as seen in the zone named `zone`; UTC when the name is unknown or absent.
pub fn now_in_zone(zone: Option<&str>, at: DateTime<Utc>) -> DateTime<FixedOffset> {
    match zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(Tz::from_str)
    {
        Some(Ok(tz)) if !matches!(tz, Tz::Floating) => at.with_timezone(&tz).fixed_offset(),
        _ => at.fixed_offset(),
    }
}

/// `at` in a fixed offset of `minutes` east of UTC (`<tz stdoff=>`); UTC when out of
/// range (more than a day).
pub fn now_at_offset(minutes: i32, at: DateTime<Utc>) -> DateTime<FixedOffset> {
    match minutes.checked_mul(60).and_then(FixedOffset::east_opt) {
        Some(off) => at.with_timezone(&off),
        None => at.fixed_offset(),
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

    #[test]
    fn zones_give_the_local_offset() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 23, 30, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 23, 30, 0).unwrap();
        let paris = now_in_zone(Some("Europe/Paris"), winter);
        assert_eq!(paris.offset().local_minus_utc(), 3600);
        // Past 23:00 UTC it is already the next day in Paris.
        assert_eq!(paris.format("%Y-%m-%d").to_string(), "2026-01-16");
        let ny = now_in_zone(Some("America/New_York"), summer);
        assert_eq!(ny.offset().local_minus_utc(), -4 * 3600);
        assert_eq!(
            now_in_zone(Some("Nowhere/Else"), winter)
                .offset()
                .local_minus_utc(),
            0
        );
        assert_eq!(now_in_zone(None, winter), winter.fixed_offset());
        assert_eq!(
            now_at_offset(330, winter).offset().local_minus_utc(),
            330 * 60
        );
        assert_eq!(now_at_offset(100_000, winter).offset().local_minus_utc(), 0);
        assert!(known_zone("Asia/Tokyo") && !known_zone("bogus"));
    }
}
