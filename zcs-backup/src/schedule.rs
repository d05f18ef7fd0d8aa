//! The backup schedule `zmschedulebackup` manages and the server runs: entries of a kind
//! (full, incremental, delete) with a five-field cron time, kept in
//! `conf/backup-schedule.json` instead of a crontab, and [`due`] to tell the server
//! which entries fall on a given minute. An entry keeps the `zmbackup` options given
//! after its time (`-z`, `--zipStore`, `-t`, `--excludeSearchIndex`, ...), and
//! [`Entry::backup_args`] turns it into the `zmbackup` run the server makes.

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
    /// `zmbackup` options passed through (`-z`, `--zipStore`, `-t <target>`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// `zmbackup` options that take a value (the next word).
const VALUED: &[&str] = &["-t", "--target", "-a", "--account", "-s", "--server"];

impl Entry {
    /// Parses the words after `-A`/`-R`: `<f|i|d> [age, for d] [cron time, as one
    /// word or five] [zmbackup options]`; no time means `0 1 * * *`.
    ///
    /// # Errors
    /// No or an unknown kind; `d` without an age; a bad cron time or option.
    pub fn parse(words: &[String]) -> Result<Entry, BackupError> {
        let kind = words.first().cloned().unwrap_or_default();
        if !matches!(kind.as_str(), "f" | "i" | "d") {
            return Err(BackupError::Invalid(format!(
                "backup type must be f, i or d (got {kind:?})"
            )));
        }
        let mut rest = words.iter().skip(1).peekable();
        let arg = if kind == "d" {
            Some(
                rest.next()
                    .cloned()
                    .ok_or_else(|| BackupError::Invalid("d needs an age: nn(d|m|y)".into()))?,
            )
        } else {
            None
        };
        let (mut cron, mut options) = (Vec::new(), Vec::new());
        while let Some(w) = rest.next() {
            if w.starts_with('-') {
                options.push(w.clone());
                if VALUED.contains(&w.as_str()) {
                    let v = rest
                        .next()
                        .ok_or_else(|| BackupError::Invalid(format!("option {w} needs a value")))?;
                    options.push(v.clone());
                }
            } else if options.is_empty() {
                cron.push(w.clone());
            } else {
                return Err(BackupError::Invalid(format!(
                    "the schedule comes before the options (got {w:?} after them)"
                )));
            }
        }
        let cron = if cron.is_empty() {
            "0 1 * * *".to_string()
        } else {
            cron.join(" ")
        };
        parse_cron(&cron)?;
        let e = Entry {
            kind,
            cron,
            arg,
            options,
        };
        e.backup_args()?;
        Ok(e)
    }

    /// The `zmbackup` run this entry stands for: `-f` or `-i` with its options, or
    /// `--delete <age>` for `d`.
    ///
    /// # Errors
    /// Options `zmbackup` does not take.
    pub fn backup_args(&self) -> Result<crate::commands::BackupArgs, BackupError> {
        let mut args: Vec<String> = match self.kind.as_str() {
            "f" => vec!["-f".into()],
            "i" => vec!["-i".into()],
            _ => vec!["--delete".into(), self.arg.clone().unwrap_or_default()],
        };
        args.extend(self.options.iter().cloned());
        crate::commands::parse::<crate::commands::BackupArgs>("zmbackup", args)
            .map_err(|e| BackupError::Invalid(format!("bad zmbackup options: {e}")))
    }

    /// The entry as `-q` shows it: `f 0 1 * * 6 -z`.
    pub fn line(&self) -> String {
        let mut words = vec![self.kind.clone()];
        words.extend(self.arg.clone());
        words.push(self.cron.clone());
        words.extend(self.options.iter().cloned());
        words.join(" ")
    }

    /// The command that adds this entry again (`-s`).
    pub fn command(&self) -> String {
        let mut words = vec!["zmschedulebackup -A".to_string(), self.kind.clone()];
        words.extend(self.arg.clone());
        words.push(format!("\"{}\"", self.cron));
        words.extend(self.options.iter().cloned());
        words.join(" ")
    }
}

/// `zmschedulebackup {-q|-s|-A|-R|-F|-D|-h} [f|i|d] ["schedule"] [zmbackup options]`
/// on the schedule in `conf`; returns what to print.
///
/// # Errors
/// Bad usage, kind, cron time or option; the schedule file cannot be written.
pub fn command(conf: &Path, args: &[String]) -> Result<String, BackupError> {
    // Zimbra's layout: a heading, then one indented entry per line.
    let show = |entries: &[Entry]| -> String {
        if entries.is_empty() {
            return "Current Schedule:\n\n\tnone: no backups run \
                    (zmschedulebackup -D restores the default)\n"
                .to_string();
        }
        let lines: String = entries
            .iter()
            .map(|e| format!("\t{}\n", e.line()))
            .collect();
        format!("Current Schedule:\n\n{lines}")
    };
    match args.first().map(String::as_str).unwrap_or("-q") {
        "-q" | "--query" => Ok(show(&load(conf)?)),
        "-s" | "--save" => Ok(load(conf)?
            .iter()
            .map(|e| format!("{}\n", e.command()))
            .collect()),
        "-F" | "--flush" => {
            save(conf, &[])?;
            Ok(String::new())
        }
        "-D" | "--default" => {
            save(conf, &default_schedule())?;
            Ok(show(&default_schedule()))
        }
        "-A" | "--append" => {
            let mut all = load(conf)?;
            all.push(Entry::parse(&args[1..])?);
            save(conf, &all)?;
            Ok(show(&all))
        }
        "-R" | "--replace" => {
            let e = Entry::parse(&args[1..])?;
            save(conf, std::slice::from_ref(&e))?;
            Ok(show(&[e]))
        }
        "-h" | "--help" => Ok(USAGE.to_string()),
        other => Err(BackupError::Invalid(format!("{USAGE}(got {other})"))),
    }
}

const USAGE: &str = "usage: zmschedulebackup {-q|-s|-A|-R|-F|-D} [f|i|d] [\"schedule\"] \
    [-n|-z|--zipStore] [-t target] [-a account] [--excludeBlobs] [--excludeHsmBlobs] \
    [--excludeSearchIndex] [--include...]\n";

/// The default schedule: full Saturday 01:00, incremental Sunday to Friday 01:00.
pub fn default_schedule() -> Vec<Entry> {
    vec![
        Entry {
            kind: "f".into(),
            cron: "0 1 * * 6".into(),
            arg: None,
            options: Vec::new(),
        },
        Entry {
            kind: "i".into(),
            cron: "0 1 * * 0-5".into(),
            arg: None,
            options: Vec::new(),
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

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn entries_carry_zmbackup_options() {
        let mut w = vec!["f".to_string(), "0 2 * * 6".to_string()];
        w.extend(words("--zipStore -t /mnt/bk --excludeSearchIndex"));
        let e = Entry::parse(&w).unwrap();
        assert_eq!(e.cron, "0 2 * * 6");
        assert_eq!(
            e.line(),
            "f 0 2 * * 6 --zipStore -t /mnt/bk --excludeSearchIndex"
        );
        assert_eq!(
            e.command(),
            "zmschedulebackup -A f \"0 2 * * 6\" --zipStore -t /mnt/bk --excludeSearchIndex"
        );
        let a = e.backup_args().unwrap();
        assert!(a.full && a.zip_store && a.exclude_search_index);
        assert_eq!(a.target.as_deref(), Some("/mnt/bk"));
        // Unquoted cron fields, then -z.
        let e = Entry::parse(&words("i 30 12 * * * -z")).unwrap();
        assert_eq!(e.cron, "30 12 * * *");
        let a = e.backup_args().unwrap();
        assert!(a.incremental && a.zip);
        let d = Entry::parse(&words("d 1m 0 0 * * 7")).unwrap();
        let a = d.backup_args().unwrap();
        assert_eq!(a.delete.as_deref(), Some("1m"));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "x 0 1 * * *",
            "",
            "f 0 1 * * * --noSuchOption",
            "f 0 1 * * * -t",
            "f -z 0 1 * * *",
            "f 99 1 * * *",
            "d",
        ] {
            assert!(Entry::parse(&words(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn command_appends_shows_and_saves() {
        let dir = tempfile::tempdir().unwrap();
        let out = command(dir.path(), &words("-D")).unwrap();
        assert!(out.contains("f 0 1 * * 6"), "{out}");
        command(dir.path(), &words("-A i 30 12 * * * -n")).unwrap();
        let q = command(dir.path(), &words("-q")).unwrap();
        assert!(q.contains("i 30 12 * * * -n"), "{q}");
        let s = command(dir.path(), &words("-s")).unwrap();
        assert!(
            s.contains("zmschedulebackup -A i \"30 12 * * *\" -n"),
            "{s}"
        );
        assert!(command(dir.path(), &words("-X")).is_err());
        assert!(q.starts_with("Current Schedule:\n\n\tf 0 1 * * 6\n"), "{q}");
        command(dir.path(), &words("-F")).unwrap();
        let none = command(dir.path(), &words("-q")).unwrap();
        assert!(none.contains("no backups run"), "{none}");
    }
}
