//! Reading redo records out of a server's redo log directory (archived files and the
//! current `redo.log`, read-only while the server appends) and writing/reading the
//! record files incremental sessions keep (`redo/records.log`, the store's own format).

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
