//! Sessions on the backup target: labels (GMT, Zimbra's `full-YYYYMMDD.HHMMSS.mmm`), the
//! per-session catalog `session.json`, the `sessions_tmp/` working directory that becomes
//! the session only by a final rename, and listing sessions for query and restore.
//!
//! It does not copy data; [`crate::backup`] fills sessions.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::BackupError;

/// The suffix of a session directory still being written, as sessions written before
/// `sessions_tmp/` were named (still recognised and cleaned up).
pub const INCOMPLETE: &str = ".incomplete";
/// Where sessions are written until whole (`<target>/sessions_tmp/<label>`): what a
/// crash leaves is there, never under `sessions/`.
pub const SESSIONS_TMP: &str = "sessions_tmp";
/// The catalog file in every session.
pub const CATALOG_FILE: &str = "session.json";
/// The SHA-256 (hex) of the catalog file, beside it.
pub const CATALOG_SUM: &str = "session.sum";
/// The suffix a session directory is renamed to before it is deleted, so a deletion
/// cut short never leaves a directory that looks like a session.
pub const DELETING: &str = ".deleting";

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
    /// Whether `sys/index/` holds the search index (full sessions; sessions written
    /// before the index was backed up have none, and restores reindex).
    #[serde(default)]
    pub index: bool,
    /// Whether the session covers every account of the directory copy (`-a all`): an
    /// account in `sys/directory.json` but not in `accounts` is then a damaged catalog.
    #[serde(default)]
    pub all_accounts: bool,
    /// SHA-256 (hex) of each metadata file, by path relative to the session (blobs
    /// check against their digests and the index against its own checksums instead),
    /// so a damaged file is named rather than restored. Empty in older sessions.
    #[serde(default)]
    pub checksums: std::collections::BTreeMap<String, String>,
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

/// A session directory whose catalog cannot be read: a half-written or damaged
/// `session.json`, or none at all (a copy cut short, a deletion interrupted).
#[derive(Clone, Debug)]
pub struct InvalidSession {
    /// Its directory.
    pub dir: PathBuf,
    /// Its directory name (the label it claims).
    pub name: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// Every session directory on `target`: the completed sessions, oldest first, and the
/// ones whose catalog is missing or damaged. Unfinished sessions (a backup running, or
/// one that crashed) are in neither list: see [`incomplete_sessions`].
///
/// # Errors
/// The sessions directory exists but cannot be listed.
pub fn scan_sessions(target: &Path) -> Result<(Vec<Session>, Vec<InvalidSession>), BackupError> {
    let dir = sessions_dir(target);
    let mut out = Vec::new();
    let mut invalid = Vec::new();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, invalid)),
        Err(e) => return Err(BackupError::io("list sessions", &dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BackupError::io("list sessions", &dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(INCOMPLETE) || name.starts_with('.') || name.ends_with(DELETING) {
            continue;
        }
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        match read_catalog(&path) {
            Ok(catalog) => out.push(Session { catalog, dir: path }),
            Err(e) => invalid.push(InvalidSession {
                dir: path,
                name,
                reason: match e {
                    BackupError::Corrupt(m) => m,
                    e => e.to_string(),
                },
            }),
        }
    }
    out.sort_by_key(|s| (s.catalog.started_ms, s.catalog.label.clone()));
    invalid.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, invalid))
}

/// Completed sessions on `target`, oldest first. A session whose catalog is missing or
/// damaged is left out with a warning naming it, so one bad session does not stop
/// queries, restores from the others or the next backup; unfinished sessions are left
/// out too (see [`incomplete_sessions`]).
///
/// # Errors
/// The sessions directory cannot be listed; or no full session is readable while some
/// session is damaged (then nothing can be restored, and the error names the damage
/// rather than saying there is no backup).
pub fn list_sessions(target: &Path) -> Result<Vec<Session>, BackupError> {
    let (sessions, invalid) = scan_sessions(target)?;
    for bad in &invalid {
        tracing::warn!(session = %bad.dir.display(), reason = %bad.reason,
            "backup session skipped: its catalog is missing or damaged");
    }
    if let Some(bad) = invalid.first()
        && !sessions.iter().any(|s| s.catalog.kind == SessionKind::Full)
    {
        return Err(BackupError::Corrupt(format!(
            "no usable full backup: session {} cannot be read ({})",
            bad.name, bad.reason
        )));
    }
    Ok(sessions)
}

/// `<target>/sessions_tmp`.
pub fn tmp_sessions_dir(target: &Path) -> PathBuf {
    target.join(SESSIONS_TMP)
}

/// Sessions being written or left unfinished on `target`: the directories under
/// `sessions_tmp/`, and older `sessions/<label>.incomplete` ones.
pub fn incomplete_sessions(target: &Path) -> Vec<PathBuf> {
    let list = |dir: PathBuf, legacy: bool| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .filter(|e| !legacy || e.file_name().to_string_lossy().ends_with(INCOMPLETE))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = list(tmp_sessions_dir(target), false);
    out.extend(list(sessions_dir(target), true));
    out.sort();
    out
}

/// Reads `session.json` in `session`.
///
/// # Errors
/// Missing or unparsable catalog: [`BackupError::Corrupt`].
pub fn read_catalog(session: &Path) -> Result<Catalog, BackupError> {
    let path = session.join(CATALOG_FILE);
    let bytes = std::fs::read(&path)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))?;
    if let Ok(sum) = std::fs::read_to_string(session.join(CATALOG_SUM))
        && sum.trim() != sha256_hex(&bytes)
    {
        return Err(BackupError::Corrupt(format!(
            "{} is damaged: its checksum does not match {CATALOG_SUM}",
            path.display()
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Corrupt(format!("{}: {e}", path.display())))
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checksums of the metadata files under `session` (everything but the catalog, the
/// owner file, blob directories and the index copy), by relative path.
///
/// # Errors
/// A file cannot be read.
pub(crate) fn checksum_files(
    session: &Path,
) -> Result<std::collections::BTreeMap<String, String>, BackupError> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![session.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| BackupError::io("list", &dir, e))?;
        for e in rd.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(session)
                .unwrap_or(&path)
                .to_string_lossy()
                .to_string();
            if path.is_dir() {
                if e.file_name() != "blobs" && rel != "sys/index" {
                    stack.push(path);
                }
                continue;
            }
            if matches!(rel.as_str(), CATALOG_FILE | CATALOG_SUM | "owner.pid") {
                continue;
            }
            let sum = sha256_file(&path).map_err(|e| BackupError::io("checksum", &path, e))?;
            out.insert(rel, sum);
        }
    }
    Ok(out)
}

/// Checks the file `rel` of `session` against the catalog's checksum.
///
/// # Errors
/// [`BackupError::Corrupt`] naming the file when it is missing or its checksum
/// differs; nothing when the catalog has no checksums (an older session).
pub fn verify_file(session: &Session, rel: &str) -> Result<(), BackupError> {
    if session.catalog.checksums.is_empty() {
        return Ok(());
    }
    let path = session.dir.join(rel);
    let Some(want) = session.catalog.checksums.get(rel) else {
        return Ok(());
    };
    match sha256_file(&path) {
        Ok(got) if got == *want => Ok(()),
        Ok(_) => Err(BackupError::Corrupt(format!(
            "{} is damaged: its checksum does not match the catalog of {}",
            path.display(),
            session.catalog.label
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BackupError::Corrupt(format!(
            "{} is missing from session {}",
            path.display(),
            session.catalog.label
        ))),
        Err(e) => Err(BackupError::io("read", &path, e)),
    }
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
        std::fs::create_dir_all(tmp_sessions_dir(dir.path()).join("full-20070712.160000.000"))
            .unwrap();
        assert!(list_sessions(dir.path()).unwrap().is_empty());
        assert_eq!(incomplete_sessions(dir.path()).len(), 2);
    }

    fn catalog_at(target: &Path, kind: SessionKind, ms: i64) -> PathBuf {
        let at = Utc.timestamp_millis_opt(ms).unwrap();
        let l = label(kind, at);
        let dir = sessions_dir(target).join(&l);
        let cat = Catalog {
            label: l,
            kind,
            status: "completed".into(),
            server: "s".into(),
            started_ms: ms,
            ended_ms: ms,
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
        write_json(&dir.join(CATALOG_FILE), &cat).unwrap();
        dir
    }

    #[test]
    fn a_damaged_or_missing_catalog_is_skipped_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        catalog_at(t, SessionKind::Full, 1_000);
        let half = catalog_at(t, SessionKind::Full, 2_000);
        std::fs::write(half.join(CATALOG_FILE), b"{\"label\": \"full-").unwrap();
        std::fs::create_dir_all(sessions_dir(t).join("full-20200101.000000.000")).unwrap();
        catalog_at(t, SessionKind::Incremental, 3_000);
        let ok = list_sessions(t).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].catalog.started_ms, 1_000);
        let (_, bad) = scan_sessions(t).unwrap();
        assert_eq!(bad.len(), 2);
        assert!(bad.iter().any(|b| b.dir == half), "{bad:?}");
        assert!(
            bad.iter().all(|b| b.reason.contains(CATALOG_FILE)),
            "{bad:?}"
        );
    }

    #[test]
    fn with_no_readable_full_the_damage_is_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let full = catalog_at(t, SessionKind::Full, 1_000);
        catalog_at(t, SessionKind::Incremental, 2_000);
        std::fs::write(full.join(CATALOG_SUM), b"0000").unwrap();
        let err = list_sessions(t).unwrap_err().to_string();
        assert!(err.contains("session.json is damaged"), "{err}");
        assert!(err.contains(&full.file_name().unwrap().to_string_lossy().to_string()));
        // A deletion cut short is not a session.
        std::fs::remove_dir_all(&full).unwrap();
        std::fs::create_dir_all(sessions_dir(t).join(format!("full-x{DELETING}"))).unwrap();
        assert_eq!(scan_sessions(t).unwrap().1.len(), 0);
    }
}
