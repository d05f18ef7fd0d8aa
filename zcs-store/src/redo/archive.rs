//! The redo log archive: `<redo_dir>/archive/`, where `redo.log` goes when it rolls over.
//!
//! An archived file is named `redo-<first seq>-<last seq>-<UTC time>.log`, sequences
//! zero-padded to 20 digits and time as `YYYYMMDD.HHMMSS.mmm` (when it was archived), e.g.
//! `redo-00000000000000000001-00000000000000000342-20260304.101112.131.log`. Names sort
//! in sequence order, and incremental backup and point-in-time restore pick files by
//! sequence range from the name alone. The move is a rename inside one file system (the
//! archive is a subdirectory), never a copy (spec 04 §1.8).
//!
//! Archived files are complete by construction, so a torn or corrupt one is damage, not a
//! crash artefact: reading it fails with a message saying what to do.

use std::path::{Path, PathBuf};

use super::codec::{self, RedoRecord};
use crate::error::StoreError;

/// The archive directory under a redo directory.
pub(crate) fn dir_of(redo_dir: &Path) -> PathBuf {
    redo_dir.join("archive")
}

/// One archived redo log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedLog {
    /// The file.
    pub path: PathBuf,
    /// Sequence of its first record.
    pub first_seq: u64,
    /// Sequence of its last record.
    pub last_seq: u64,
}

/// The file name for an archive of records `first..=last`, archived at `at`.
pub(crate) fn file_name(first: u64, last: u64, at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "redo-{first:020}-{last:020}-{}.log",
        at.format("%Y%m%d.%H%M%S%.3f")
    )
}

/// The sequence range in an archive file name, `None` for any other name.
pub(crate) fn parse_name(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix("redo-")?.strip_suffix(".log")?;
    let mut parts = rest.splitn(3, '-');
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    parts.next()?;
    (first <= last).then_some((first, last))
}

/// Every archived log under `redo_dir`, by first sequence. Files whose names are not
/// archive names are ignored; a missing archive directory is an empty archive.
pub fn list(redo_dir: &Path) -> Result<Vec<ArchivedLog>, StoreError> {
    let dir = dir_of(redo_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list redo archive", &dir, e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| StoreError::io("list redo archive", &dir, e))?;
        let name = e.file_name();
        if let Some((first_seq, last_seq)) = name.to_str().and_then(parse_name) {
            out.push(ArchivedLog {
                path: e.path(),
                first_seq,
                last_seq,
            });
        }
    }
    out.sort_by_key(|a| (a.first_seq, a.last_seq));
    Ok(out)
}

/// The records of every archived log holding a sequence above `after`, in order.
/// Blocking.
///
/// # Errors
/// [`StoreError::Corrupt`] when an archived file is torn, corrupt or does not hold the
/// sequences its name says.
pub(crate) fn records_after(redo_dir: &Path, after: u64) -> Result<ArchiveRead, StoreError> {
    let mut out = ArchiveRead::default();
    for log in list(redo_dir)?.into_iter().filter(|l| l.last_seq > after) {
        let bytes = std::fs::read(&log.path)
            .map_err(|e| StoreError::io("read archived redo log", &log.path, e))?;
        let decoded = codec::decode_log(&bytes);
        let damaged = |what: String| {
            StoreError::Corrupt(format!(
                "archived redo log {} {what}; move it out of the archive and restore the \
                 mailboxes it covers from backup (zmrestore), or recover it from a copy",
                log.path.display()
            ))
        };
        if let Some(stop) = decoded.stop {
            return Err(damaged(format!(
                "is damaged at byte {}: {stop}",
                decoded.valid_len
            )));
        }
        let first = decoded.records.first().map(|r| r.seq);
        let last = decoded.records.last().map(|r| r.seq);
        if first != Some(log.first_seq) || last != Some(log.last_seq) {
            return Err(damaged(format!(
                "holds sequences {first:?}..{last:?}, not what its name says"
            )));
        }
        out.files += 1;
        out.records
            .extend(decoded.records.into_iter().filter(|r| r.seq > after));
    }
    Ok(out)
}

/// What [`records_after`] read.
#[derive(Debug, Default)]
pub(crate) struct ArchiveRead {
    pub files: usize,
    pub records: Vec<RedoRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_round_trip_and_sort_by_sequence() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 3, 4, 10, 11, 12)
            .single()
            .expect("valid time");
        let n = file_name(1, 342, at);
        assert_eq!(
            n,
            "redo-00000000000000000001-00000000000000000342-20260304.101112.000.log"
        );
        assert_eq!(parse_name(&n), Some((1, 342)));
        assert!(file_name(9, 10, at) < file_name(11, 12, at));
        for bad in [
            "redo.log",
            "redo-1-2.log",
            "redo-x-2-t.log",
            "redo-5-2-t.log",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
