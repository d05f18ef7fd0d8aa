//! When the blob files a redo log's frames stand for are known to be durable.
//!
//! New messages' blob files are written without an fsync (`crate::blob::Blobs::
//! write_logged`): until the blob volume is synced, the durable copy of such a blob is
//! its frame in `redo.log`. Two moments make the files durable and say so:
//!
//! - **rollover**: the writer calls the [`VolumeSync`] hook before it renames
//!   `redo.log` into the archive, so an archived log (which backup may later prune)
//!   never holds the only copy of a blob; a failed sync keeps the writer on the
//!   current file;
//! - **clean close**: the writer calls the hook once its last batch is durable and then
//!   writes the marker `redo.log.synced`, which records the log length up to which every
//!   frame's blob file is durable.
//!
//! At open, [`take_marker`] reads and removes the marker (durably, before anything is
//! appended), so store open verifies only the frames past it; without a marker (a crash,
//! a kill, a power cut) every frame of `redo.log` is verified and a torn or missing blob
//! file is rewritten from its frame (`crate::recovery::restore_logged_blobs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StoreError;

/// Makes every blob written so far durable (the store's `Blobs::sync`).
pub(crate) type VolumeSync = Arc<dyn Fn() -> Result<(), StoreError> + Send + Sync>;

const MARKER: &str = "redo.log.synced";

fn marker_path(dir: &Path) -> PathBuf {
    dir.join(MARKER)
}

/// Reads and removes the clean-close marker of the redo directory `dir`: the length of
/// `redo.log` up to which its frames' blob files were durable, honoured only when the
/// file still ends where it ended then (same length, same last sequence); otherwise,
/// or without a readable marker, 0 (everything is verified). The removal is synced, so
/// a crash after open can never leave a marker that vouches for later frames.
/// Blocking.
pub(crate) fn take_marker(dir: &Path, len: u64, last_seq: Option<u64>) -> Result<u64, StoreError> {
    let path = marker_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("read redo sync marker", &path, e)),
    };
    std::fs::remove_file(&path).map_err(|e| StoreError::io("remove redo sync marker", &path, e))?;
    super::log::sync_dir(dir)?;
    Ok(match parse_marker(&text) {
        Some((l, seq)) if l == len && seq == last_seq.unwrap_or(0) => l,
        _ => 0,
    })
}

/// `"<len> <last seq>"`.
fn parse_marker(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_ascii_whitespace();
    let len = it.next()?.parse().ok()?;
    let seq = it.next()?.parse().ok()?;
    Some((len, seq))
}

/// Writes the clean-close marker: every frame in the first `len` bytes of `redo.log`,
/// whose last record has sequence `last_seq` (0: none), has a durable blob file.
/// Blocking; durable on return.
pub(crate) fn write_marker(dir: &Path, len: u64, last_seq: Option<u64>) -> Result<(), StoreError> {
    use std::io::Write;
    let path = marker_path(dir);
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let mut f = std::fs::File::create(&tmp)
        .map_err(|e| StoreError::io("write redo sync marker", &tmp, e))?;
    f.write_all(format!("{len} {}", last_seq.unwrap_or(0)).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io("write redo sync marker", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| StoreError::io("write redo sync marker", &path, e))?;
    super::log::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redo::codec::RedoOp;
    use crate::redo::log::{RedoFile, RedoLog};
    use std::sync::Mutex;
    use zcs_core::MailboxId;

    fn archived(dir: &Path) -> usize {
        std::fs::read_dir(crate::redo::archive::dir_of(dir))
            .map(|it| it.count())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn rollover_syncs_the_volumes_before_archiving_and_close_marks() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let opened = RedoFile::open(&d).unwrap();
        let log = RedoLog::start(opened.file, 1, 1).unwrap();
        // Each call notes how many files were archived when it ran.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, dd) = (seen.clone(), d.clone());
        log.set_volume_sync(Arc::new(move || {
            s.lock().unwrap().push(archived(&dd));
            Ok(())
        }));
        for i in 0..3 {
            log.append(MailboxId(i), 0, RedoOp::DeleteMailbox)
                .await
                .unwrap();
        }
        assert_eq!(archived(&d), 3);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![0, 1, 2],
            "sync before each rename"
        );
        log.close().await;
        assert_eq!(seen.lock().unwrap().len(), 4, "and once at close");
        assert!(d.join(MARKER).exists());
    }

    #[tokio::test]
    async fn a_failed_sync_keeps_the_log_and_writes_no_marker() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let opened = RedoFile::open(&d).unwrap();
        let log = RedoLog::start(opened.file, 1, 1).unwrap();
        log.set_volume_sync(Arc::new(|| Err(StoreError::Internal("disk gone".into()))));
        for i in 0..3 {
            log.append(MailboxId(i), 0, RedoOp::DeleteMailbox)
                .await
                .expect("the batch is durable in redo.log either way");
        }
        assert_eq!(
            archived(&d),
            0,
            "nothing archived while the blobs are not synced"
        );
        log.close().await;
        assert!(!d.join(MARKER).exists());
        let reopened = RedoFile::open(&d).unwrap();
        assert_eq!(reopened.records.len(), 3);
    }

    #[test]
    fn marker_is_read_once_and_only_for_the_same_file_end() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(take_marker(d, 100, Some(3)).unwrap(), 0);
        write_marker(d, 4096, Some(7)).unwrap();
        assert_eq!(take_marker(d, 4096, Some(7)).unwrap(), 4096);
        assert_eq!(
            take_marker(d, 4096, Some(7)).unwrap(),
            0,
            "taking removes it"
        );
        write_marker(d, 4096, Some(7)).unwrap();
        assert_eq!(
            take_marker(d, 5000, Some(9)).unwrap(),
            0,
            "the file grew since"
        );
        write_marker(d, 16, None).unwrap();
        assert_eq!(take_marker(d, 16, None).unwrap(), 16);
        std::fs::write(d.join(MARKER), "garbage").unwrap();
        assert_eq!(
            take_marker(d, 16, None).unwrap(),
            0,
            "unreadable: verify all"
        );
        assert!(!d.join(MARKER).exists());
    }
}
