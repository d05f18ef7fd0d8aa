//! Values inside query terms: dates (absolute, epoch milliseconds, relative to now),
//! sizes with units, comparison prefixes, and the turning of a date term into the time
//! range it selects.

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Timelike,
};

use super::Comparison;

/// Relative amounts beyond this are refused, so date arithmetic cannot overflow.
const MAX_RELATIVE: i64 = 1_000_000_000;

/// A date as written in a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateValue {
    /// `mm/dd/yyyy`, `yyyy-mm-dd` or `yyyy/mm/dd`: that whole day in the caller's zone.
    Day(NaiveDate),
    /// All digits (with an optional `-` before 1970): milliseconds since the epoch;
    /// selects the second starting there.
    Millis(i64),
    /// `[+-]N unit`: the unit-long period N units from now (`-4d` = the day 4 days ago,
    /// `0w` = this week, `+1m` = next month).
    Relative { amount: i64, unit: DateUnit },
}

/// Units of a relative date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateUnit {
    Minute,
    Hour,
    Day,
    /// Weeks start on Sunday (Zimbra's default `en_US` calendar).
    Week,
    Month,
    Year,
}

impl DateUnit {
    fn short(self) -> &'static str {
        match self {
            DateUnit::Minute => "mi",
            DateUnit::Hour => "h",
            DateUnit::Day => "d",
            DateUnit::Week => "w",
            DateUnit::Month => "m",
            DateUnit::Year => "y",
        }
    }

    /// The unit's length when it is elapsed time rather than a calendar period.
    fn fixed_millis(self) -> Option<i64> {
        match self {
            DateUnit::Minute => Some(60_000),
            DateUnit::Hour => Some(3_600_000),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<DateUnit> {
        let n = name.to_ascii_lowercase();
        Some(match n.as_str() {
            "mi" | "minute" | "minutes" => DateUnit::Minute,
            "h" | "hour" | "hours" => DateUnit::Hour,
            "d" | "day" | "days" => DateUnit::Day,
            "w" | "week" | "weeks" => DateUnit::Week,
            "m" | "month" | "months" => DateUnit::Month,
            "y" | "year" | "years" => DateUnit::Year,
            _ => return None,
        })
    }
}

/// The time range a date term selects, in milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateBounds {
    /// Earliest matching instant (inclusive); `None` = unbounded.
    pub from_ms: Option<i64>,
    /// First instant past the range (exclusive); `None` = unbounded.
    pub until_ms: Option<i64>,
}

impl DateBounds {
    /// Whether `ms` falls inside the range.
    pub fn contains(&self, ms: i64) -> bool {
        self.from_ms.is_none_or(|f| ms >= f) && self.until_ms.is_none_or(|u| ms < u)
    }
}

impl DateValue {
    /// The `[start, end)` period this value names, in epoch milliseconds, for a caller
    /// whose clock reads `now` in `now`'s zone. Days, weeks, months and years are that
    /// zone's calendar periods, so a day across a daylight-saving change is 23 or 25 hours
    /// long; minutes and hours are real elapsed time. `None` if it falls outside the
    /// representable calendar.
    pub fn interval<Z: TimeZone>(&self, now: &DateTime<Z>) -> Option<(i64, i64)> {
        let zone = now.timezone();
        match *self {
            DateValue::Millis(ms) => Some((ms, ms.checked_add(1000)?)),
            DateValue::Day(day) => {
                let start = day.and_time(NaiveTime::MIN);
                let end = start.checked_add_days(Days::new(1))?;
                Some((to_ms(&zone, start)?, to_ms(&zone, end)?))
            }
            DateValue::Relative { amount, unit } => {
                let local = truncate(now.naive_local(), unit)?;
                if let Some(step) = unit.fixed_millis() {
                    let start = to_ms(&zone, local)?.checked_add(amount.checked_mul(step)?)?;
                    return Some((start, start.checked_add(step)?));
                }
                let start = shift(local, unit, amount)?;
                let end = shift(start, unit, 1)?;
                Some((to_ms(&zone, start)?, to_ms(&zone, end)?))
            }
        }
    }

    /// The range `op value` selects: `=` the period itself, `<` before it, `<=` up to its
    /// end, `>` after it, `>=` from its start (Zimbra's DateQuery semantics, so `after:`
    /// a day starts the next day).
    pub fn bounds<Z: TimeZone>(&self, op: Comparison, now: &DateTime<Z>) -> Option<DateBounds> {
        let (start, end) = self.interval(now)?;
        let (from_ms, until_ms) = match op {
            Comparison::Eq => (Some(start), Some(end)),
            Comparison::Lt => (None, Some(start)),
            Comparison::Le => (None, Some(end)),
            Comparison::Gt => (Some(end), None),
            Comparison::Ge => (Some(start), None),
        };
        Some(DateBounds { from_ms, until_ms })
    }
}

/// The instant a local wall-clock time names in `zone`. A time repeated when clocks go
/// back is its first occurrence; a time skipped when clocks go forward (a day that starts
/// at 01:00 because midnight never happened) is the first instant after the gap.
fn to_ms<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> Option<i64> {
    // Real gaps are at most a few hours and fall on quarter hours.
    for quarter in 0..=96 {
        let probe = local.checked_add_signed(TimeDelta::try_minutes(15 * quarter)?)?;
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) => return Some(t.timestamp_millis()),
            LocalResult::Ambiguous(first, _) => return Some(first.timestamp_millis()),
            LocalResult::None => continue,
        }
    }
    None
}

fn truncate(t: NaiveDateTime, unit: DateUnit) -> Option<NaiveDateTime> {
    let day = t.date();
    Some(match unit {
        DateUnit::Minute => t.with_second(0)?.with_nanosecond(0)?,
        DateUnit::Hour => t.with_minute(0)?.with_second(0)?.with_nanosecond(0)?,
        DateUnit::Day => day.and_time(NaiveTime::MIN),
        DateUnit::Week => {
            let back = u64::from(day.weekday().num_days_from_sunday());
            day.checked_sub_days(Days::new(back))?
                .and_time(NaiveTime::MIN)
        }
        DateUnit::Month => day.with_day(1)?.and_time(NaiveTime::MIN),
        DateUnit::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1)?.and_time(NaiveTime::MIN),
    })
}

fn shift(t: NaiveDateTime, unit: DateUnit, amount: i64) -> Option<NaiveDateTime> {
    let months = |m: i64| -> Option<NaiveDateTime> {
        let n = u32::try_from(m.unsigned_abs()).ok()?;
        if m >= 0 {
            t.checked_add_months(Months::new(n))
        } else {
            t.checked_sub_months(Months::new(n))
        }
    };
    match unit {
        DateUnit::Minute => t.checked_add_signed(TimeDelta::try_minutes(amount)?),
        DateUnit::Hour => t.checked_add_signed(TimeDelta::try_hours(amount)?),
        DateUnit::Day => t.checked_add_signed(TimeDelta::try_days(amount)?),
        DateUnit::Week => t.checked_add_signed(TimeDelta::try_weeks(amount)?),
        DateUnit::Month => months(amount),
        DateUnit::Year => months(amount.checked_mul(12)?),
    }
}

impl fmt::Display for DateValue {
    /// Prints the value so that parsing it back gives the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateValue::Day(d) => write!(f, "{:02}/{:02}/{:04}", d.month(), d.day(), d.year()),
            DateValue::Millis(ms) => write!(f, "{ms}"),
            DateValue::Relative { amount, unit } => {
                let sign = if *amount < 0 { '-' } else { '+' };
                write!(f, "{sign}{}{}", amount.unsigned_abs(), unit.short())
            }
        }
    }
}

/// Splits a leading `<=`, `>=`, `<`, `>` or `=` off `raw`.
pub(crate) fn split_comparison(raw: &str) -> (Comparison, &str) {
    for (prefix, op) in [
        ("<=", Comparison::Le),
        (">=", Comparison::Ge),
        ("<", Comparison::Lt),
        (">", Comparison::Gt),
        ("=", Comparison::Eq),
    ] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            return (op, rest);
        }
    }
    (Comparison::Eq, raw)
}

/// Parses a date value (without comparison prefix). The error says what was expected.
pub(crate) fn parse_date(raw: &str) -> Result<DateValue, String> {
    let bad = || {
        format!(
            "invalid date '{raw}' (mm/dd/yyyy, yyyy-mm-dd, [+-]N{{d,w,m,y,h,mi}}, today, yesterday)"
        )
    };
    if raw.is_empty() {
        return Err(bad());
    }

    if raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().map(DateValue::Millis).map_err(|_| bad());
    }

    // Zimbra's named days: the day itself, relative to the caller's clock.
    let named = |amount| {
        Ok(DateValue::Relative {
            amount,
            unit: DateUnit::Day,
        })
    };
    if raw.eq_ignore_ascii_case("today") {
        return named(0);
    }
    if raw.eq_ignore_ascii_case("yesterday") {
        return named(-1);
    }

    let (negative, body) = match raw.as_bytes()[0] {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    // `-N` alone: milliseconds before the epoch (how a resolved date before 1970 prints).
    if negative && digits > 0 && digits == body.len() {
        return body
            .parse::<i64>()
            .map(|n| DateValue::Millis(-n))
            .map_err(|_| bad());
    }
    if digits > 0 && digits < body.len() && body.as_bytes()[digits].is_ascii_alphabetic() {
        let unit = DateUnit::from_name(&body[digits..]).ok_or_else(bad)?;
        let n: i64 = body[..digits].parse().map_err(|_| bad())?;
        if n > MAX_RELATIVE {
            return Err(bad());
        }
        let amount = if negative { -n } else { n };
        return Ok(DateValue::Relative { amount, unit });
    }

    parse_calendar_day(raw).map(DateValue::Day).ok_or_else(bad)
}

/// `m/d/yyyy` (Zimbra's default `en` locale), `yyyy-mm-dd` or `yyyy/mm/dd`.
fn parse_calendar_day(raw: &str) -> Option<NaiveDate> {
    let sep = if raw.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = raw.split(sep).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    if !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, m, d) = if parts[0].len() == 4 {
        (num(parts[0])?, num(parts[1])?, num(parts[2])?)
    } else if parts[2].len() == 4 && sep == '/' {
        (num(parts[2])?, num(parts[0])?, num(parts[1])?)
    } else if parts[2].len() == 2 && sep == '/' {
        // `mm/dd/yy`, as Zimbra's short US date format reads it: the year within 80
        // years before and 20 after the current one.
        (
            two_digit_year(num(parts[2])?),
            num(parts[0])?,
            num(parts[1])?,
        )
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// The four-digit year a two-digit one names, Java's `yy` pivot: the century that puts
/// it at most 20 years after the current year.
fn two_digit_year(yy: u32) -> u32 {
    let now = u32::try_from(chrono::Utc::now().year()).unwrap_or(2000);
    let century = now - now % 100;
    let candidate = century + yy;
    if candidate > now + 20 {
        candidate - 100
    } else {
        candidate
    }
}

/// Parses a size: digits with an optional `b`, `k`/`kb`, `m`/`mb`, `g`/`gb` suffix.
pub(crate) fn parse_size(raw: &str) -> Result<u64, String> {
    let bad = || format!("invalid size '{raw}' (N, Nkb, Nmb, Ngb)");
    let digits = raw.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad());
    }
    let n: u64 = raw[..digits].parse().map_err(|_| bad())?;
    let scale: u64 = match raw[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_digit_years_read_as_zimbra_reads_them() {
        let day = |raw| parse_calendar_day(raw).map(|d| d.to_string());
        assert_eq!(day("12/31/15").as_deref(), Some("2015-12-31"));
        assert_eq!(day("1/2/99").as_deref(), Some("1999-01-02"));
        assert_eq!(day("13/2/15"), None);
        assert_eq!(day("12-31-15"), None);
    }
    use chrono::FixedOffset;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, 30, 15)
            .unwrap()
    }

    const JAN1: i64 = 1_167_609_600_000; // 2007-01-01T00:00:00Z
    const JAN2: i64 = 1_167_696_000_000;

    #[test]
    fn dates_parse_in_all_forms() {
        let day = NaiveDate::from_ymd_opt(2007, 1, 1).unwrap();
        assert_eq!(parse_date("01/01/2007"), Ok(DateValue::Day(day)));
        assert_eq!(parse_date("1/1/2007"), Ok(DateValue::Day(day)));
        assert_eq!(parse_date("2007-01-01"), Ok(DateValue::Day(day)));
        assert_eq!(parse_date("2007/01/01"), Ok(DateValue::Day(day)));
        assert_eq!(parse_date("1167609600000"), Ok(DateValue::Millis(JAN1)));
        assert_eq!(parse_date("-86400000"), Ok(DateValue::Millis(-86_400_000)));
        let rel = |amount, unit| Ok(DateValue::Relative { amount, unit });
        assert_eq!(parse_date("-7d"), rel(-7, DateUnit::Day));
        assert_eq!(parse_date("+1w"), rel(1, DateUnit::Week));
        assert_eq!(parse_date("0day"), rel(0, DateUnit::Day));
        assert_eq!(parse_date("-2MONTHS"), rel(-2, DateUnit::Month));
        assert_eq!(parse_date("-4mi"), rel(-4, DateUnit::Minute));
        assert_eq!(parse_date("today"), rel(0, DateUnit::Day));
        assert_eq!(parse_date("Yesterday"), rel(-1, DateUnit::Day));
        for bad in [
            "",
            "13/01/2007",
            "2/30/2007",
            "-4x",
            "someday",
            "1/1/7",
            "-",
            "--4d",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("-99999999999d").is_err());
    }

    #[test]
    fn date_bounds_follow_zimbra() {
        let now = utc(2020, 6, 15, 12);
        let day = DateValue::Day(NaiveDate::from_ymd_opt(2007, 1, 1).unwrap());
        let b = |op| day.bounds(op, &now).unwrap();
        assert_eq!(
            b(Comparison::Eq),
            DateBounds {
                from_ms: Some(JAN1),
                until_ms: Some(JAN2)
            }
        );
        assert_eq!(
            b(Comparison::Lt),
            DateBounds {
                from_ms: None,
                until_ms: Some(JAN1)
            }
        );
        assert_eq!(
            b(Comparison::Le),
            DateBounds {
                from_ms: None,
                until_ms: Some(JAN2)
            }
        );
        assert_eq!(
            b(Comparison::Gt),
            DateBounds {
                from_ms: Some(JAN2),
                until_ms: None
            }
        );
        assert_eq!(
            b(Comparison::Ge),
            DateBounds {
                from_ms: Some(JAN1),
                until_ms: None
            }
        );
        let ms = DateValue::Millis(JAN1)
            .bounds(Comparison::Eq, &now)
            .unwrap();
        assert_eq!(ms.until_ms, Some(JAN1 + 1000));
    }

    #[test]
    fn relative_dates_resolve_against_now() {
        let now = utc(2020, 6, 17, 12); // a Wednesday
        let four_days_ago = DateValue::Relative {
            amount: -4,
            unit: DateUnit::Day,
        };
        let (s, e) = four_days_ago.interval(&now).unwrap();
        let start = utc(2020, 6, 13, 0).timestamp_millis() - (30 * 60 + 15) * 1000;
        assert_eq!(s, start);
        assert_eq!(e - s, 86_400_000);
        let this_week = DateValue::Relative {
            amount: 0,
            unit: DateUnit::Week,
        };
        let (s, _) = this_week.interval(&now).unwrap();
        let sunday = utc(2020, 6, 14, 0).timestamp_millis() - (30 * 60 + 15) * 1000;
        assert_eq!(s, sunday);
        let next_month = DateValue::Relative {
            amount: 1,
            unit: DateUnit::Month,
        };
        let (s, e) = next_month.interval(&now).unwrap();
        let july = utc(2020, 7, 1, 0).timestamp_millis() - (30 * 60 + 15) * 1000;
        assert_eq!(s, july);
        assert_eq!(e - s, 31 * 86_400_000);
        assert!(
            DateBounds {
                from_ms: Some(s),
                until_ms: Some(e)
            }
            .contains(s)
        );
        let huge = DateValue::Relative {
            amount: MAX_RELATIVE,
            unit: DateUnit::Year,
        };
        assert_eq!(huge.interval(&now), None);
    }

    #[test]
    fn sizes_and_comparisons() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("100KB"), Ok(102_400));
        assert_eq!(parse_size("34mb"), Ok(35_651_584));
        assert_eq!(parse_size("2gb"), Ok(2 << 30));
        assert_eq!(parse_size("10b"), Ok(10));
        for bad in [
            "",
            "kb",
            "1tb",
            "1.5mb",
            "99999999999999999999",
            "18446744073709551615gb",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(split_comparison(">=5"), (Comparison::Ge, "5"));
        assert_eq!(split_comparison("<5"), (Comparison::Lt, "5"));
        assert_eq!(split_comparison("5"), (Comparison::Eq, "5"));
    }

    #[test]
    fn display_round_trips() {
        for raw in [
            "01/02/2003",
            "1167609600000",
            "-315619200000",
            "-4d",
            "+1w",
            "+0mi",
            "-3y",
            "+2m",
            "-1h",
        ] {
            let v = parse_date(raw).unwrap();
            assert_eq!(parse_date(&v.to_string()), Ok(v), "{raw}");
        }
    }
}
