//! The restore journal: the accounts a restore has put in maintenance
//! (`zimbraAccountStatus: maintenance`) while their mailbox is being replaced, one
//! file per account under `<backup target>/restore-journal/`, with the status to put
//! back when the account is whole again.
//!
//! A restore killed midway leaves the account in maintenance (no login, no delivery:
//! it never looks complete) and its journal file; the next restore of that account
//! finds the file, restores it again from scratch and puts back the status it had
//! before the first attempt, not "maintenance".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::error::BackupError;

/// The status an account is held in while it is restored.
pub const MAINTENANCE: &str = "maintenance";

/// One account being restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The restored account's `zimbraId`.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// `zimbraAccountStatus` to put back when done.
    pub previous_status: String,
    /// The full session restored from.
    pub label: String,
    /// When the restore of this account started (ms since the epoch).
    pub started_ms: i64,
}

/// The journal directory of a backup target.
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The journal of `target` (`<target>/restore-journal`).
    pub fn open(target: &Path) -> Journal {
        Journal {
            dir: target.join("restore-journal"),
        }
    }

    fn file(&self, account_id: &str) -> PathBuf {
        self.dir.join(format!("{account_id}.json"))
    }

    /// Accounts whose restore started and never finished.
    pub fn pending(&self) -> Vec<Pending> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Pending> = rd
            .flatten()
            .filter_map(|e| catalog::read_json(&e.path()).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The unfinished restore of `account_id`, if any.
    pub fn get(&self, account_id: &str) -> Option<Pending> {
        catalog::read_json(&self.file(account_id)).ok()
    }

    /// Records that the restore of `p.account_id` starts (fsynced before the account
    /// is touched).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn begin(&self, p: &Pending) -> Result<(), BackupError> {
        catalog::write_json(&self.file(&p.account_id), p)
    }

    /// Records that the restore of `account_id` ended (the account is whole).
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn end(&self, account_id: &str) -> Result<(), BackupError> {
        let f = self.file(account_id);
        match std::fs::remove_file(&f) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io("end restore journal", f, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_get_end() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path());
        assert!(j.pending().is_empty());
        let p = Pending {
            account_id: "id1".into(),
            name: "a@x.test".into(),
            previous_status: "active".into(),
            label: "full-20070712.155951.123".into(),
            started_ms: 1,
        };
        j.begin(&p).unwrap();
        assert_eq!(j.get("id1"), Some(p.clone()));
        assert_eq!(j.pending(), vec![p]);
        j.end("id1").unwrap();
        j.end("id1").unwrap();
        assert!(j.pending().is_empty());
    }
}
