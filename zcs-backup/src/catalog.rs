//! Sessions on the backup target: labels (GMT, Zimbra's `full-YYYYMMDD.HHMMSS.mmm`), the
//! per-session catalog `session.json`, the `.incomplete` working directory that becomes
//! the session only by a final rename, and listing sessions for query and restore.
//!
//! It does not copy data; [`crate::backup`] fills sessions.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::BackupError;

/// The suffix of a session directory still being written.
pub const INCOMPLETE: &str = ".incomplete";
/// The catalog file in every session.
pub const CATALOG_FILE: &str = "session.json";

/// Full or incremental.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// Every selected mailbox copied whole.
    Full,
    /// The redo records since the previous session.
    Incremental,
}

impl SessionKind {
    /// The label prefix: `full` or `incr`.
    pub fn prefix(self) -> &'static str {
        match self {
            SessionKind::Full => "full",
            SessionKind::Incremental => "incr",
        }
    }
}

/// One account in a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's `zimbraId`.
    pub id: String,
    /// The account's name when backed up.
    pub name: String,
    /// Its mailbox id in `sys/mailbox.db` (full sessions; `None`: no mailbox yet).
    pub mailbox: Option<i64>,
    /// The last redo sequence in the copied mailbox.
    pub last_redo_seq: u64,
    /// Blobs the mailbox references.
    pub blobs: u64,
}

/// A session's catalog (`session.json`), Zimbra's session.xml as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// `full-YYYYMMDD.HHMMSS.mmm` or `incr-...`, GMT.
    pub label: String,
    /// Full or incremental.
    pub kind: SessionKind,
    /// `completed` once renamed into place (a catalog is only written at the end).
    pub status: String,
    /// The server backed up.
    pub server: String,
    /// Start, milliseconds since the epoch.
    pub started_ms: i64,
    /// End, milliseconds since the epoch.
    pub ended_ms: i64,
    /// Accounts in the session (full: copied; incremental: accounts in the directory).
    pub accounts: Vec<AccountRecord>,
    /// Redo records above this sequence are not in the sessions up to this one.
    pub redo_to: u64,
    /// Incremental: the first sequence it holds is above this one.
    pub redo_from: u64,
    /// Records in `redo/records.log` (incremental).
    pub redo_records: u64,
    /// Problems that did not stop the session (a blob deleted while copying).
    pub warnings: Vec<String>,
    /// What was left out on purpose: `blobs`, `hsm-blobs`, `search-index`.
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// A label for a session of `kind` started at `at` (GMT, milliseconds).
pub fn label(kind: SessionKind, at: DateTime<Utc>) -> String {
    format!("{}-{}", kind.prefix(), at.format("%Y%m%d.%H%M%S%.3f"))
}

/// The time a label names, if it is a well-formed label.
pub fn label_time(label: &str) -> Option<DateTime<Utc>> {
    let (_, stamp) = label.split_once('-')?;
    let naive = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d.%H%M%S%.3f").ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

/// `<target>/sessions`.
pub fn sessions_dir(target: &Path) -> PathBuf {
    target.join("sessions")
}

/// The directory of an account inside a session: `accounts/<first 3 of id>/<id>`.
pub fn account_dir(session: &Path, id: &str) -> PathBuf {
    let prefix: String = id.chars().take(3).collect();
    session.join("accounts").join(prefix).join(id)
}

/// A completed session found on the target.
#[derive(Clone, Debug)]
pub struct Session {
    /// Its directory.
    pub dir: PathBuf,
    /// Its catalog.
    pub catalog: Catalog,
}

/// Completed sessions on `target`, oldest first. Directories still `.incomplete` (a
/// backup running, or one that crashed) are left out: see [`incomplete_sessions`].
///
/// # Errors
/// A session directory without a readable catalog is [`BackupError::Corrupt`].
pub fn list_sessions(target: &Path) -> Result<Vec<Session>, BackupError> {
    let dir = sessions_dir(target);
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(BackupError::io("list sessions", &dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BackupError::io("list sessions", &dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(INCOMPLETE) || name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        out.push(Session {
            catalog: read_catalog(&path)?,
            dir: path,
        });
    }
    out.sort_by_key(|s| (s.catalog.started_ms, s.catalog.label.clone()));
    Ok(out)
}

/// Session directories left `.incomplete` on `target`.
pub fn incomplete_sessions(target: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(sessions_dir(target))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(INCOMPLETE))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `session.json` in `session`.
///
/// # Errors
/// Missing or unparsable catalog: [`BackupError::Corrupt`].
pub fn read_catalog(session: &Path) -> Result<Catalog, BackupError> {
    let path = session.join(CATALOG_FILE);
    let bytes = std::fs::read(&path)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))
}

/// Writes `value` as JSON to `path` and fsyncs it.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), BackupError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| BackupError::Corrupt(format!("encode {}: {e}", path.display())))?;
    write_synced(path, &bytes)
}

/// Writes `bytes` to `path` and fsyncs the file.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| BackupError::io("create", parent, e))?;
    }
    let mut f = std::fs::File::create(path).map_err(|e| BackupError::io("create", path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| BackupError::io("write", path, e))
}

/// Reads a JSON file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, BackupError> {
    let bytes = std::fs::read(path)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_in_gmt() {
        let at = Utc.with_ymd_and_hms(2007, 7, 12, 15, 59, 51).unwrap()
            + chrono::Duration::milliseconds(123);
        let l = label(SessionKind::Full, at);
        assert_eq!(l, "full-20070712.155951.123");
        assert_eq!(label_time(&l), Some(at));
        assert_eq!(label_time("junk"), None);
    }

    #[test]
    fn incomplete_sessions_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let s = sessions_dir(dir.path());
        std::fs::create_dir_all(s.join("full-20070712.155951.123.incomplete")).unwrap();
        assert!(list_sessions(dir.path()).unwrap().is_empty());
        assert_eq!(incomplete_sessions(dir.path()).len(), 1);
    }
}
