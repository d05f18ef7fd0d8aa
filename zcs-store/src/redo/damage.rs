//! A current redo log damaged in the middle (a bad record with good ones after it): the
//! copy kept for the operator, and the switch that makes a store open refuse such a
//! log instead of cutting it at the damage (see `super::log`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::codec::DecodeError;
use crate::error::StoreError;

/// Whether an open refuses a current log damaged in the middle ([`refuse_damaged_log`]).
static REFUSE_DAMAGED: AtomicBool = AtomicBool::new(false);

/// Makes every later store open in this process refuse a current `redo.log` damaged in
/// the middle (a bad record with good ones after it) with [`StoreError::Corrupt`]
/// instead of cutting it there and opening: the file is left as it is (a copy is kept as
/// `redo.log.corrupt-<offset>-<ms>`) and the error says how to go on, by an offline
/// restore or by cutting the file at the damage with `truncate`. The mailbox server
/// turns this on, as Zimbra's mailbox service refuses to start on an unreadable redo
/// log; offline tools (restore, replay) keep the default, which cuts, so that they can
/// recover from exactly that state. A torn tail (nothing good after the bad bytes) is
/// cut either way: it is what a crash leaves.
pub fn refuse_damaged_log(on: bool) {
    REFUSE_DAMAGED.store(on, Ordering::SeqCst);
}

/// The error that refuses a log damaged at `offset` (see [`refuse_damaged_log`]).
pub(super) fn refusal(path: &Path, offset: u64, reason: &DecodeError, aside: &Path) -> StoreError {
    StoreError::Corrupt(format!(
        "redo log {path} is damaged at byte {offset} ({reason}) and good records follow \
         the damage, so this is not a write cut short by a crash; the mailbox service \
         will not start and drop them. The file is untouched and a copy is kept as \
         {aside}. Either restore: zmrestoreoffline brings the mailboxes back from the \
         last backup and the archived redo logs; or accept losing every change after \
         the damage: `truncate -s {offset} {path}`, then start again",
        path = path.display(),
        aside = aside.display(),
    ))
}

/// The copy of a damaged log already kept for damage at `offset`, if any (so repeated
/// refused starts keep one copy).
pub(super) fn kept_copy(dir: &Path, offset: u64) -> Option<PathBuf> {
    let prefix = format!("redo.log.corrupt-{offset}-");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
}

/// Whether [`refuse_damaged_log`] is on.
pub(super) fn refusing() -> bool {
    REFUSE_DAMAGED.load(Ordering::SeqCst)
}

/// Copies the damaged log `bytes` to `<dir>/redo.log.corrupt-<offset>-<ms>`, durably,
/// and returns its path.
pub(super) fn preserve_aside(dir: &Path, bytes: &[u8], offset: u64) -> Result<PathBuf, StoreError> {
    let ms = chrono::Utc::now().timestamp_millis();
    let aside = dir.join(format!("redo.log.corrupt-{offset}-{ms}"));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&aside)
        .map_err(|e| StoreError::io("preserve damaged redo log", &aside, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io("preserve damaged redo log", &aside, e))?;
    super::log::sync_dir(dir)?;
    Ok(aside)
}
