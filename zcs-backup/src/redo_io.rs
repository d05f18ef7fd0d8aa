//! Reading redo records out of a server's redo log directory (archived files and the
//! current `redo.log`, read-only while the server appends) and writing/reading the
//! record files incremental sessions keep (`redo/records.log`, the store's own format).
//! Also what a restore replays past its backup: [`RestoreScope`] (`-br`,
//! `-skipDeletedAccounts`) and [`ServerRedo`], the server's own records after a backup
//! chain, checked to continue that chain's sequence.

use std::path::Path;

use zcs_store::redo::{self, RedoRecord};

use crate::error::{BackupError, StoreStep};

/// Every complete redo record above `after` in `redolog` (its `archive/` files, then
/// `redo.log`), by sequence, each once. A torn tail of the current file (a write in
/// progress) is left out: the next incremental takes it.
///
/// Cost: reads the archived files holding such records and the current file whole.
///
/// # Errors
/// An archived file cannot be read or is damaged before its end.
pub fn records_after(redolog: &Path, after: u64) -> Result<Vec<RedoRecord>, BackupError> {
    let mut out = Vec::new();
    for log in redo::archive::list(redolog).step("list archived redo logs")? {
        if log.last_seq <= after {
            continue;
        }
        let bytes =
            std::fs::read(&log.path).map_err(|e| BackupError::io("read redo log", &log.path, e))?;
        let decoded = redo::decode_log(&bytes);
        if let Some(stop) = decoded.stop {
            return Err(BackupError::Corrupt(format!(
                "archived redo log {}: {stop}",
                log.path.display()
            )));
        }
        out.extend(decoded.records);
    }
    let current = redolog.join("redo.log");
    match std::fs::read(&current) {
        Ok(bytes) => out.extend(redo::decode_log(&bytes).records),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io("read redo log", &current, e)),
    }
    out.retain(|r| r.seq > after);
    out.sort_by_key(|r| r.seq);
    out.dedup_by_key(|r| r.seq);
    Ok(out)
}

/// Writes `records` to `path` in the redo log format, fsynced.
///
/// # Errors
/// The file cannot be written.
pub fn write_records(path: &Path, records: &[RedoRecord]) -> Result<(), BackupError> {
    let first = records.first().map(|r| r.seq).unwrap_or(1);
    let mut bytes = redo::encode_file_header_from(first).to_vec();
    for r in records {
        redo::encode_record(r, &mut bytes);
    }
    crate::catalog::write_synced(path, &bytes)
}

/// Reads a file written by [`write_records`]; a missing file holds no records.
///
/// # Errors
/// The file is damaged ([`BackupError::Corrupt`]): a session's records must be whole.
pub fn read_records(path: &Path) -> Result<Vec<RedoRecord>, BackupError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io("read records", path, e)),
    };
    let decoded = redo::decode_log(&bytes);
    if let Some(stop) = decoded.stop {
        return Err(BackupError::Corrupt(format!("{}: {stop}", path.display())));
    }
    Ok(decoded.records)
}

/// Which redo records a restore replays besides those its backup sessions hold, and
/// which accounts it leaves alone: the `zmrestore` settings beyond
/// [`crate::RestoreOptions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreScope {
    /// Replay the server's own archived and current redo logs after the backup's
    /// records (Zimbra's default, `replayRedo="1"`); `-br` (`--backedupRedologsOnly`)
    /// turns it off. Never done for `-rf`, `-restoreToIncrLabel` or an incremental
    /// `-lb`: those stop inside the backup.
    pub server_redo: bool,
    /// `-skipDeletedAccounts`: leave out accounts deleted since the backup (always
    /// the case for `-a all`).
    pub skip_deleted_accounts: bool,
    /// `-sys` (the disaster-recovery restore): the server's data, directory included,
    /// was lost, so an account missing from the directory is not taken as deleted
    /// unless its deletion is logged.
    pub system: bool,
}

impl Default for RestoreScope {
    fn default() -> Self {
        RestoreScope {
            server_redo: true,
            skip_deleted_accounts: false,
            system: false,
        }
    }
}

/// The server's own redo records above a backup chain's end, read when a restore
/// starts and again as each account enters maintenance (mail delivered in between is
/// not lost), each record once.
#[derive(Debug)]
pub struct ServerRedo {
    dir: std::path::PathBuf,
    /// Highest sequence read so far.
    read_to: u64,
}

/// What [`ServerRedo::open`] found in the server's redo log directory.
#[derive(Debug)]
pub enum ServerLog {
    /// The logs continue the backup chain: these records come after it.
    Continues(ServerRedo, Vec<RedoRecord>),
    /// Nothing above the chain's end (or no logs at all).
    Nothing,
    /// The logs are another server's history (a new server after a disaster, whose
    /// sequence restarted): they are not replayed. Says why.
    Foreign(String),
}

impl ServerRedo {
    /// Reads `dir`'s records above `chain_end`, the last sequence the backup chain
    /// holds, and checks they continue it: the record at `chain_end` (when the logs
    /// still hold it) must be the one the backup holds (`backed_up`), or at least have
    /// been logged before the last session ended (`chain_end_ms`) and belong to the
    /// mailbox `witness_mailbox` says logged it last.
    ///
    /// # Errors
    /// An archived log is damaged; the logs start above `chain_end + 1`, so records
    /// between the backup and the logs are missing ([`BackupError::Invalid`]: restore
    /// with `-br`, or take an incremental backup first).
    pub fn open(
        dir: &Path,
        chain_end: u64,
        chain_end_ms: i64,
        backed_up: Option<&RedoRecord>,
        witness_mailbox: Option<i64>,
    ) -> Result<ServerLog, BackupError> {
        let mut records = records_after(dir, chain_end.saturating_sub(1))?;
        let at_end = records.iter().position(|r| r.seq == chain_end);
        if let Some(i) = at_end {
            let live = &records[i];
            if let Some(b) = backed_up
                && (b.timestamp_ms != live.timestamp_ms
                    || b.mailbox != live.mailbox
                    || b.op != live.op)
            {
                return Ok(ServerLog::Foreign(format!(
                    "redo record {chain_end} in {} differs from the backup's",
                    dir.display()
                )));
            }
            if live.timestamp_ms > chain_end_ms {
                return Ok(ServerLog::Foreign(format!(
                    "redo record {chain_end} in {} was logged after the backup ended",
                    dir.display()
                )));
            }
            if backed_up.is_none()
                && let Some(mb) = witness_mailbox
                && live.mailbox.0 != mb
            {
                return Ok(ServerLog::Foreign(format!(
                    "redo record {chain_end} in {} is for mailbox {}, the backup's for {mb}",
                    dir.display(),
                    live.mailbox.0
                )));
            }
        }
        records.retain(|r| r.seq > chain_end);
        let Some(first) = records.first() else {
            // Nothing above the backup: either nothing happened since, or the log
            // restarted below the backup's sequence (a new server, or one started
            // before its offline restore). Its newest record tells them apart.
            if let Some(last) = newest_record(dir)?
                && last.seq < chain_end
                && last.timestamp_ms > chain_end_ms
            {
                return Ok(ServerLog::Foreign(format!(
                    "the redo log in {} ends at sequence {} although it was written after \
                     the backup, which ends at {chain_end}: the log restarted (a new \
                     server, or one started before its restore), so it is not this \
                     backup's history",
                    dir.display(),
                    last.seq
                )));
            }
            return Ok(ServerLog::Nothing);
        };
        if at_end.is_none() && first.seq > chain_end + 1 {
            return Err(BackupError::Invalid(format!(
                "the backup ends at redo sequence {chain_end} but the server's redo logs in \
                 {} start at {}: the records between are missing. Restore with -br (only \
                 the backup's redo records) or run an incremental backup first",
                dir.display(),
                first.seq
            )));
        }
        let read_to = records.last().map_or(chain_end, |r| r.seq);
        Ok(ServerLog::Continues(
            ServerRedo {
                dir: dir.to_path_buf(),
                read_to,
            },
            records,
        ))
    }

    /// The records logged since the last read, by sequence.
    ///
    /// # Errors
    /// As [`records_after`].
    pub fn refresh(&mut self) -> Result<Vec<RedoRecord>, BackupError> {
        let out = records_after(&self.dir, self.read_to)?;
        if let Some(last) = out.last() {
            self.read_to = last.seq;
        }
        Ok(out)
    }
}

/// The damaged current logs the store set aside in `dir` since `since_ms` (at open it
/// copies a `redo.log` damaged in the middle to `redo.log.corrupt-<offset>-<ms>` and
/// cuts the live log at the damage): each file with the offset of the damage. The
/// records after that offset are in no log a restore reads.
pub fn damaged_logs_since(dir: &Path, since_ms: i64) -> Vec<(std::path::PathBuf, u64)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(std::path::PathBuf, u64)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let (offset, ms) = name.strip_prefix("redo.log.corrupt-")?.split_once('-')?;
            let (offset, ms): (u64, i64) = (offset.parse().ok()?, ms.parse().ok()?);
            (ms > since_ms).then(|| (e.path(), offset))
        })
        .collect();
    out.sort();
    out
}

/// The newest complete record in `dir` (the current `redo.log`, else the newest
/// archived file), if any.
///
/// # Errors
/// A file cannot be read.
fn newest_record(dir: &Path) -> Result<Option<RedoRecord>, BackupError> {
    let current = dir.join("redo.log");
    match std::fs::read(&current) {
        Ok(bytes) => {
            if let Some(r) = redo::decode_log(&bytes).records.pop() {
                return Ok(Some(r));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io("read redo log", &current, e)),
    }
    let archived = redo::archive::list(dir).step("list archived redo logs")?;
    let Some(log) = archived.iter().max_by_key(|l| l.last_seq) else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(&log.path).map_err(|e| BackupError::io("read redo log", &log.path, e))?;
    Ok(redo::decode_log(&bytes).records.pop())
}
