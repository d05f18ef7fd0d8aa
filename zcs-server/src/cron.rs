//! Crontab time expressions for the server's job runner: [`zcs_core::cron::CronSpec`]
//! (the one parser zcs has) read against chrono times.

use chrono::{Datelike, Timelike};
use zcs_core::cron::CronTime;

/// One parsed crontab time expression (see [`zcs_core::cron`] for the syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSpec(zcs_core::cron::CronSpec);

impl CronSpec {
    /// Parses `minute hour day month weekday`.
    ///
    /// # Errors
    /// The expression does not have five fields or a field is malformed or out of range.
    pub fn parse(text: &str) -> Result<CronSpec, String> {
        zcs_core::cron::CronSpec::parse(text).map(CronSpec)
    }

    /// Whether the minute containing `t` is one the expression names.
    pub fn matches<T: Datelike + Timelike>(&self, t: &T) -> bool {
        self.0.matches(CronTime {
            minute: t.minute(),
            hour: t.hour(),
            day: t.day(),
            month: t.month(),
            weekday: t.weekday().num_days_from_sunday(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn chrono_times_are_read_as_cron_reads_them() {
        let at = |d: u32, h: u32| {
            NaiveDate::from_ymd_opt(2026, 12, d)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .expect("valid time")
        };
        // Saturday 2026-12-05 01:00: the weekly full backup.
        let full = CronSpec::parse("0 1 * * 6").expect("parse");
        assert!(full.matches(&at(5, 1)));
        assert!(!full.matches(&at(4, 1)) && !full.matches(&at(5, 2)));
        assert!(CronSpec::parse("* * * *").is_err());
    }
}
