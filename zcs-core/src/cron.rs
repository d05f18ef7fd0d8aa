//! Crontab time expressions, shared by every scheduler in zcs (the server's job
//! runner, the backup schedule `zmschedulebackup` keeps): the five fields
//! `minute hour day month weekday`, each `*`, a number, a range `a-b`, a list `a,b`, or
//! a step `*/n` / `a-b/n` / `a/n`; weekday 0 and 7 are both Sunday. As cron does, when
//! both day of month and weekday are restricted, a time matches if either does.
//!
//! It knows no clock or calendar library: callers hand over the broken-down minute as
//! a [`CronTime`].

/// One minute, broken down as cron reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CronTime {
    /// 0-59.
    pub minute: u32,
    /// 0-23.
    pub hour: u32,
    /// Day of month, 1-31.
    pub day: u32,
    /// 1-12.
    pub month: u32,
    /// Days since Sunday, 0-6.
    pub weekday: u32,
}

/// One parsed crontab time expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSpec {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    day_restricted: bool,
    weekday_restricted: bool,
}

fn field(text: &str, min: u32, max: u32, name: &str) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {name} field {text:?}"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = a.parse::<u32>().map_err(|_| format!("bad {name} {a:?}"))?;
            let b = b.parse::<u32>().map_err(|_| format!("bad {name} {b:?}"))?;
            (a, b)
        } else {
            let v = range
                .parse::<u32>()
                .map_err(|_| format!("bad {name} {range:?}"))?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{name} {range:?} outside {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl CronSpec {
    /// Parses `minute hour day month weekday`.
    ///
    /// # Errors
    /// The expression does not have five fields or a field is malformed or out of
    /// range; the message says which.
    pub fn parse(text: &str) -> Result<CronSpec, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [m, h, d, mo, w] = parts.as_slice() else {
            return Err(format!("{text:?}: a crontab time has five fields"));
        };
        let mut weekdays = field(w, 0, 7, "weekday")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(CronSpec {
            minutes: field(m, 0, 59, "minute")?,
            hours: field(h, 0, 23, "hour")?,
            days: field(d, 1, 31, "day")?,
            months: field(mo, 1, 12, "month")?,
            weekdays,
            day_restricted: *d != "*",
            weekday_restricted: *w != "*",
        })
    }

    /// Whether the minute `t` is one the expression names. Values out of range never
    /// match.
    pub fn matches(&self, t: CronTime) -> bool {
        let bit = |set: u64, v: u32| v < 64 && set & (1 << v) != 0;
        let day = bit(self.days, t.day);
        let weekday = bit(self.weekdays, t.weekday);
        let day_ok = match (self.day_restricted, self.weekday_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        };
        bit(self.minutes, t.minute)
            && bit(self.hours, t.hour)
            && bit(self.months, t.month)
            && day_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-12-01 is a Tuesday.
    fn at(day: u32, hour: u32, minute: u32) -> CronTime {
        CronTime {
            minute,
            hour,
            day,
            month: 12,
            weekday: (day + 1) % 7,
        }
    }

    #[test]
    fn zimbras_schedule_lines() {
        // Saturday 2026-12-05 01:00: the weekly full backup.
        let full = CronSpec::parse("0 1 * * 6").expect("parse");
        assert!(full.matches(at(5, 1, 0)));
        assert!(!full.matches(at(4, 1, 0)));
        let incr = CronSpec::parse("0 1 * * 0-5").expect("parse");
        assert!(incr.matches(at(4, 1, 0)));
        assert!(!incr.matches(at(5, 1, 0)));
        let every2 = CronSpec::parse("*/2 * * * *").expect("parse");
        assert!(every2.matches(at(1, 0, 58)) && !every2.matches(at(1, 0, 59)));
        let sunday7 = CronSpec::parse("30 1 * * 7").expect("parse");
        assert!(sunday7.matches(at(6, 1, 30)));
        let list = CronSpec::parse("00,10,20,30,40,50 * * * *").expect("parse");
        assert!(list.matches(at(1, 5, 40)));
    }

    #[test]
    fn day_or_weekday_when_both_are_given() {
        let spec = CronSpec::parse("0 0 1 * 1").expect("parse");
        assert!(spec.matches(at(1, 0, 0))); // the 1st, a Tuesday
        assert!(spec.matches(at(7, 0, 0))); // a Monday
        assert!(!spec.matches(at(8, 0, 0)));
    }

    #[test]
    fn bad_expressions_are_errors() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "a * * * *",
            "5-1 * * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
        ] {
            assert!(CronSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,40}", m in 0u32..100, d in 0u32..100) {
            if let Ok(spec) = CronSpec::parse(&text) {
                let _ = spec.matches(CronTime { minute: m, hour: m, day: d, month: d, weekday: d });
            }
        }
    }
}
