//! `zmbackup -del`: deleting old backup sessions. The spec is a label (that session and
//! every one started before it, as the guide's "up to and including"), a time span `N{d|m|y}`
//! (older than N days, months of
//! 30 days, years of 365 days) or a date/time in the formats of [`crate::cli::parse_time`]
//! (plus `YYYY/MM/DD`). Never deletes the latest full session or anything after it, and
//! removes incrementals left without a full session before them (nothing could restore
//! from them). Sessions whose catalog is damaged or missing go once their label is
//! older than the cut-off. A session is renamed `<label>.deleting` before its files
//! are removed, so a deletion cut short never leaves something that looks like a
//! session; such leftovers are removed by the next deletion.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::{self, SessionKind};
use crate::error::BackupError;

/// The cut-off time (ms) `spec` names, relative to `now` for spans.
///
/// # Errors
/// [`BackupError::Invalid`] for anything that is no label, span or date.
pub fn cutoff_ms(target: &Path, spec: &str, now: DateTime<Utc>) -> Result<i64, BackupError> {
    let spec = spec.trim();
    if spec.starts_with("full-") || spec.starts_with("incr-") {
        let sessions = catalog::list_sessions(target)?;
        return sessions
            .iter()
            .find(|s| s.catalog.label == spec)
            // Inclusive: the named session goes too.
            .map(|s| s.catalog.started_ms + 1)
            .ok_or_else(|| BackupError::Invalid(format!("no such backup label: {spec}")));
    }
    if let Some(unit) = spec.chars().last().filter(|c| matches!(c, 'd' | 'm' | 'y'))
        && let Ok(n) = spec[..spec.len() - 1].parse::<i64>()
    {
        let days = match unit {
            'd' => n,
            'm' => n.saturating_mul(30),
            _ => n.saturating_mul(365),
        };
        return Ok(now.timestamp_millis() - days.saturating_mul(86_400_000));
    }
    if let Some(t) = crate::cli::parse_time(spec) {
        return Ok(t);
    }
    NaiveDate::parse_from_str(spec, "%Y/%m/%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(crate::cli::local_ms)
        .ok_or_else(|| {
            BackupError::Invalid(format!(
                "-del takes a label, N{{d|m|y}} or a date, not {spec:?}"
            ))
        })
}

/// Deletes the sessions on `target` older than `spec` says; returns their labels,
/// oldest first.
///
/// # Errors
/// A bad spec; a session that cannot be removed (those before it are gone).
pub fn delete_older(
    target: &Path,
    spec: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, BackupError> {
    let cutoff = cutoff_ms(target, spec, now)?;
    let sessions = catalog::list_sessions(target)?;
    let keep_from = sessions
        .iter()
        .rposition(|s| s.catalog.kind == SessionKind::Full)
        .unwrap_or(sessions.len());
    let mut deleted = Vec::new();
    let mut full_kept = false;
    for (i, s) in sessions.iter().enumerate() {
        let old = s.catalog.started_ms < cutoff && i < keep_from;
        let orphan = s.catalog.kind == SessionKind::Incremental && !full_kept;
        if s.catalog.kind == SessionKind::Full && !old {
            full_kept = true;
        }
        if old || (orphan && i < keep_from) {
            remove_session(&s.dir)?;
            tracing::info!(label = s.catalog.label, "backup session deleted");
            deleted.push(s.catalog.label.clone());
        }
    }
    let (_, invalid) = catalog::scan_sessions(target)?;
    for bad in invalid {
        if catalog::label_time(&bad.name).is_some_and(|t| t.timestamp_millis() < cutoff) {
            remove_session(&bad.dir)?;
            tracing::info!(session = bad.name, "damaged backup session deleted");
            deleted.push(bad.name);
        }
    }
    for left in leftovers(target) {
        let _ = std::fs::remove_dir_all(left);
    }
    Ok(deleted)
}

/// Renames `dir` to `<dir>.deleting`, then removes it.
fn remove_session(dir: &Path) -> Result<(), BackupError> {
    let mut doomed = dir.as_os_str().to_owned();
    doomed.push(catalog::DELETING);
    let doomed = std::path::PathBuf::from(doomed);
    std::fs::rename(dir, &doomed).map_err(|e| BackupError::io("delete session", dir, e))?;
    std::fs::remove_dir_all(&doomed).map_err(|e| BackupError::io("delete session", &doomed, e))
}

/// Session directories a deletion cut short left behind.
fn leftovers(target: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(catalog::sessions_dir(target))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(catalog::DELETING))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use chrono::TimeZone;

    fn session(target: &Path, kind: SessionKind, at: DateTime<Utc>) -> String {
        let label = catalog::label(kind, at);
        let dir = catalog::sessions_dir(target).join(&label);
        let cat = Catalog {
            label: label.clone(),
            kind,
            status: "completed".into(),
            server: String::new(),
            started_ms: at.timestamp_millis(),
            ended_ms: at.timestamp_millis(),
            accounts: Vec::new(),
            redo_to: 0,
            redo_from: 0,
            redo_records: 0,
            warnings: Vec::new(),
            excludes: Vec::new(),
            index: false,
            all_accounts: false,
            checksums: Default::default(),
        };
        catalog::write_json(&dir.join(catalog::CATALOG_FILE), &cat).unwrap();
        label
    }

    #[test]
    fn old_sessions_go_and_the_latest_full_chain_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        let day = chrono::Duration::days(1);
        let f1 = session(t, SessionKind::Full, now - day * 40);
        let i1 = session(t, SessionKind::Incremental, now - day * 39);
        let f2 = session(t, SessionKind::Full, now - day * 20);
        let i2 = session(t, SessionKind::Incremental, now - day * 19);
        let gone = delete_older(t, "30d", now).unwrap();
        assert_eq!(gone, vec![f1.clone(), i1]);
        // Everything is older than a day, but the latest full and its chain stay.
        let gone = delete_older(t, "1d", now).unwrap();
        assert!(gone.is_empty(), "{gone:?}");
        let left: Vec<String> = catalog::list_sessions(t)
            .unwrap()
            .into_iter()
            .map(|s| s.catalog.label)
            .collect();
        assert_eq!(left, vec![f2.clone(), i2]);
        assert!(delete_older(t, &f1, now).is_err());
        assert!(delete_older(t, "soon", now).is_err());
        assert!(cutoff_ms(t, "2026/12/01", now).is_ok());
        assert_eq!(
            cutoff_ms(t, &f2, now).unwrap(),
            (now - day * 20).timestamp_millis() + 1
        );
    }

    #[test]
    fn a_label_deletes_that_session_and_every_older_one() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        let day = chrono::Duration::days(1);
        let f1 = session(t, SessionKind::Full, now - day * 40);
        let i1 = session(t, SessionKind::Incremental, now - day * 39);
        let f2 = session(t, SessionKind::Full, now - day * 20);
        let f3 = session(t, SessionKind::Full, now - day * 10);
        let gone = delete_older(t, &f2, now).unwrap();
        assert_eq!(gone, vec![f1, i1, f2]);
        // The latest full is never deleted, even when named.
        assert!(delete_older(t, &f3, now).unwrap().is_empty());
    }

    #[test]
    fn damaged_sessions_and_cut_short_deletions_go_too() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        let day = chrono::Duration::days(1);
        let bad = session(t, SessionKind::Full, now - day * 40);
        std::fs::remove_file(
            catalog::sessions_dir(t)
                .join(&bad)
                .join(catalog::CATALOG_FILE),
        )
        .unwrap();
        let f2 = session(t, SessionKind::Full, now - day * 20);
        let cut = catalog::sessions_dir(t).join(format!("{f2}x{}", catalog::DELETING));
        std::fs::create_dir_all(&cut).unwrap();
        let gone = delete_older(t, "30d", now).unwrap();
        assert_eq!(gone, vec![bad]);
        assert!(!cut.exists());
        assert_eq!(catalog::list_sessions(t).unwrap().len(), 1);
    }
}
