//! Keeping `redolog/archive` from growing forever (spec 04 §1.6, §1.8): once a backup
//! session is complete, the archived redo logs whose records it holds are no longer
//! needed on the server and are removed: an incremental session has copied their
//! records into `redo/records.log`, a full session's database copy already contains
//! their effects. As the guide's incrementals do, a file archived less than
//! `backup_archived_redolog_keep_time` seconds ago (3600 by default) is kept for now
//! and removed by a later backup.
//!
//! A file is removed only when every record in it is at or below the session's
//! `redo_to`; the current `redo.log` is never touched.

use std::path::Path;
use std::time::{Duration, SystemTime};

use zcs_store::redo;

use crate::catalog::{Session, SessionKind};
use crate::error::{BackupError, StoreStep};

/// The default of `backup_archived_redolog_keep_time`, in seconds.
pub const DEFAULT_KEEP_SECS: u64 = 3600;

/// What pruning did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Archived files removed.
    pub removed: Vec<String>,
    /// Files the session holds but archived too recently to remove yet.
    pub kept_young: usize,
}

/// Removes the archived redo logs of `redolog` whose records are all at or below
/// `covered` and that were archived at least `keep` ago (by their modification time,
/// set when the file is rolled over and never after).
///
/// # Errors
/// The archive cannot be listed; a file cannot be removed (those before it are gone).
pub fn prune_archive(
    redolog: &Path,
    covered: u64,
    keep: Duration,
    now: SystemTime,
) -> Result<Pruned, BackupError> {
    let mut out = Pruned::default();
    for log in redo::archive::list(redolog).step("list archived redo logs")? {
        if log.last_seq > covered {
            continue;
        }
        let age = std::fs::metadata(&log.path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age < keep {
            out.kept_young += 1;
            continue;
        }
        match std::fs::remove_file(&log.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(BackupError::io("remove archived redo log", &log.path, e)),
        }
        let name = log
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        tracing::info!(
            file = name,
            "archived redo log removed: its records are backed up"
        );
        out.removed.push(name);
    }
    if !out.removed.is_empty()
        && let Ok(d) = std::fs::File::open(redolog.join("archive"))
    {
        let _ = d.sync_all();
    }
    Ok(out)
}

/// The highest redo sequence up to which every record of every mailbox is in the
/// sessions on the target, standard mode: the checkpoint of the latest full session
/// of all accounts, extended by each later incremental that starts at or below what is
/// covered so far (a full session of some accounts only extends nothing). `None`
/// without a full session of all accounts.
pub fn covered_by_sessions(sessions: &[Session]) -> Option<u64> {
    let start = sessions
        .iter()
        .rposition(|s| s.catalog.kind == SessionKind::Full && s.catalog.all_accounts)?;
    let mut covered = sessions[start].catalog.redo_to;
    for s in &sessions[start + 1..] {
        let c = &s.catalog;
        if c.kind == SessionKind::Incremental && c.redo_from <= covered {
            covered = covered.max(c.redo_to);
        }
    }
    Some(covered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archived(dir: &Path, first: u64, last: u64) -> std::path::PathBuf {
        let p = dir.join("archive").join(format!(
            "redo-{first:020}-{last:020}-20260101.000000.000.log"
        ));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"x").unwrap();
        p
    }

    #[test]
    fn only_covered_and_old_enough_files_go() {
        let tmp = tempfile::tempdir().unwrap();
        let a = archived(tmp.path(), 1, 10);
        let b = archived(tmp.path(), 11, 20);
        let c = archived(tmp.path(), 21, 30);
        std::fs::write(tmp.path().join("redo.log"), b"current").unwrap();
        let later = SystemTime::now() + Duration::from_secs(7200);
        // Young files stay whatever they hold.
        let p =
            prune_archive(tmp.path(), 25, Duration::from_secs(3600), SystemTime::now()).unwrap();
        assert_eq!(p.removed.len(), 0);
        assert_eq!(p.kept_young, 2);
        // Two hours on: the covered ones go; the one reaching past 25 stays.
        let p = prune_archive(tmp.path(), 25, Duration::from_secs(3600), later).unwrap();
        assert_eq!(p.removed.len(), 2);
        assert!(!a.exists() && !b.exists() && c.exists());
        assert!(tmp.path().join("redo.log").exists());
        // Nothing to do on a server without an archive.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            prune_archive(empty.path(), 99, Duration::ZERO, later).unwrap(),
            Pruned::default()
        );
    }
}
