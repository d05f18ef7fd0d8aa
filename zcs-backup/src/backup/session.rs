//! The session directory while it is written: `sessions_tmp/<label>` with the writer's
//! pid (Zimbra's place for a session a crash interrupted), renamed into
//! `sessions/<label>` only when whole ([`Building::commit`]) and removed when the
//! backup fails, or by the next backup when its writer died; and the free-space checks
//! made before writing.

use std::path::{Path, PathBuf};

use super::space;
use crate::blobcopy;
use crate::catalog::{self, Catalog};
use crate::error::BackupError;

pub(super) fn ensure_space(target: &Path, need: u64) -> Result<(), BackupError> {
    let free = space::fs_space(target)?.free;
    if free < need {
        return Err(BackupError::NoSpace {
            path: target.to_path_buf(),
            need,
            free,
        });
    }
    Ok(())
}

pub(super) fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The file in an unfinished session naming the process writing it.
const OWNER_FILE: &str = "owner.pid";

/// Removes unfinished sessions whose writer is gone (killed, or the machine went down
/// mid-backup): nothing can finish them, and they would only take space.
fn remove_stale(target: &Path) {
    for dir in catalog::incomplete_sessions(target) {
        let owner: Option<i32> = std::fs::read_to_string(dir.join(OWNER_FILE))
            .ok()
            .and_then(|t| t.trim().parse().ok());
        // SAFETY: signal 0 only asks whether the process exists.
        let alive = owner.is_some_and(|pid| pid > 0 && unsafe { libc::kill(pid, 0) } == 0);
        if !alive {
            tracing::warn!(session = %dir.display(), "removing a backup session left incomplete");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// A session under construction; removed on drop unless committed.
pub(super) struct Building {
    pub(super) tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Building {
    pub(super) fn start(target: &Path, label: &str) -> Result<Building, BackupError> {
        remove_stale(target);
        let tmp = catalog::tmp_sessions_dir(target).join(label);
        std::fs::create_dir_all(&tmp).map_err(|e| BackupError::io("create session", &tmp, e))?;
        catalog::write_synced(
            &tmp.join(OWNER_FILE),
            std::process::id().to_string().as_bytes(),
        )?;
        Ok(Building {
            tmp,
            target: target.to_path_buf(),
            done: false,
        })
    }

    pub(super) fn commit(mut self, cat: &Catalog) -> Result<PathBuf, BackupError> {
        // Every blob, index file and database copy on disk before the catalog says the
        // session is whole (blobs are not fsynced one by one).
        blobcopy::sync_tree(&self.tmp)?;
        let mut cat = cat.clone();
        cat.checksums = catalog::checksum_files(&self.tmp)?;
        let bytes = serde_json::to_vec_pretty(&cat)
            .map_err(|e| BackupError::Invalid(format!("encode the catalog: {e}")))?;
        catalog::write_synced(&self.tmp.join(catalog::CATALOG_FILE), &bytes)?;
        catalog::write_synced(
            &self.tmp.join(catalog::CATALOG_SUM),
            catalog::sha256_hex(&bytes).as_bytes(),
        )?;
        let sessions = catalog::sessions_dir(&self.target);
        std::fs::create_dir_all(&sessions).map_err(|e| BackupError::io("create", &sessions, e))?;
        let dest = sessions.join(&cat.label);
        std::fs::rename(&self.tmp, &dest)
            .map_err(|e| BackupError::io("finish session", &dest, e))?;
        for dir in [Some(sessions.as_path()), self.tmp.parent()]
            .into_iter()
            .flatten()
        {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.done = true;
        Ok(dest)
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        if !self.done {
            tracing::warn!(session = %self.tmp.display(), "backup failed; session removed");
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
