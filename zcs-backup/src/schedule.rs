//! The backup schedule `zmschedulebackup` manages and the server runs: entries of a kind
//! (full, incremental, delete) with a five-field cron time, kept in
//! `conf/backup-schedule.json` instead of a crontab, and [`due`] to tell the server
//! which entries fall on a given minute.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use zcs_core::cron::{CronSpec, CronTime};

use crate::catalog;
use crate::error::BackupError;

/// One schedule entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `f` (full), `i` (incremental) or `d` (delete old backups).
    pub kind: String,
    /// Cron time: minute hour day-of-month month day-of-week.
    pub cron: String,
    /// For `d`: the age (`nn(d|m|y)`).
    #[serde(default)]
    pub arg: Option<String>,
}

/// The default schedule: full Saturday 01:00, incremental Sunday to Friday 01:00.
pub fn default_schedule() -> Vec<Entry> {
    vec![
        Entry {
            kind: "f".into(),
            cron: "0 1 * * 6".into(),
            arg: None,
        },
        Entry {
            kind: "i".into(),
            cron: "0 1 * * 0-5".into(),
            arg: None,
        },
    ]
}

/// `<conf>/backup-schedule.json`.
pub fn schedule_path(conf: &Path) -> PathBuf {
    conf.join("backup-schedule.json")
}

/// The stored schedule; none stored yet is an empty one.
///
/// # Errors
/// The file is damaged.
pub fn load(conf: &Path) -> Result<Vec<Entry>, BackupError> {
    let p = schedule_path(conf);
    if !p.exists() {
        return Ok(Vec::new());
    }
    catalog::read_json(&p)
}

/// Stores `entries` after checking every cron time.
///
/// # Errors
/// A bad kind or cron time ([`BackupError::Invalid`]); the file cannot be written.
pub fn save(conf: &Path, entries: &[Entry]) -> Result<(), BackupError> {
    for e in entries {
        if !matches!(e.kind.as_str(), "f" | "i" | "d") {
            return Err(BackupError::Invalid(format!(
                "bad backup type {:?}",
                e.kind
            )));
        }
        parse_cron(&e.cron)?;
    }
    catalog::write_json(&schedule_path(conf), &entries)
}

/// The entries that fall on the minute of `now`. The server calls this once a minute
/// and runs each: `f` a full backup of all accounts, `i` an incremental.
///
/// # Errors
/// The schedule cannot be read.
pub fn due(conf: &Path, now: DateTime<Utc>) -> Result<Vec<Entry>, BackupError> {
    Ok(load(conf)?
        .into_iter()
        .filter(|e| parse_cron(&e.cron).is_ok_and(|c| c.matches(now)))
        .collect())
}

/// Parses a five-field cron time with the one parser zcs has
/// ([`zcs_core::cron::CronSpec`]).
///
/// # Errors
/// [`BackupError::Invalid`] saying what is wrong.
pub fn parse_cron(text: &str) -> Result<Cron, BackupError> {
    CronSpec::parse(text)
        .map(Cron)
        .map_err(|why| BackupError::Invalid(format!("bad schedule {text:?}: {why}")))
}

/// A parsed cron time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron(CronSpec);

impl Cron {
    /// Whether the minute of `t` (GMT) matches.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
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
    use chrono::TimeZone;

    #[test]
    fn default_schedule_fires_full_on_saturday_only() {
        let sat = Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap();
        let sun = Utc.with_ymd_and_hms(2026, 12, 6, 1, 0, 0).unwrap();
        let full = parse_cron("0 1 * * 6").unwrap();
        let incr = parse_cron("0 1 * * 0-5").unwrap();
        assert!(full.matches(sat) && !incr.matches(sat));
        assert!(incr.matches(sun) && !full.matches(sun));
        assert!(!full.matches(sat + chrono::Duration::minutes(1)));
    }

    #[test]
    fn bad_cron_is_refused() {
        for bad in ["", "* * * *", "61 * * * *", "*/0 * * * *", "a b c d e"] {
            assert!(parse_cron(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedule_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &default_schedule()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), default_schedule());
        let sat = Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap();
        assert_eq!(due(dir.path(), sat).unwrap()[0].kind, "f");
    }
}
