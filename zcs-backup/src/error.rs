//! The error type of backup and restore; each variant says which step failed.

use std::path::PathBuf;

/// Why a backup or restore step failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file system step failed.
    #[error("{step} {}: {source}", path.display())]
    Io {
        /// What was being done.
        step: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store refused or failed.
    #[error("{step}: {source}")]
    Store {
        /// What was being done.
        step: &'static str,
        /// The cause.
        source: zcs_store::StoreError,
    },
    /// The directory refused or failed.
    #[error("{step}: {source}")]
    Directory {
        /// What was being done.
        step: &'static str,
        /// The cause.
        source: zcs_core::ServiceError,
    },
    /// A catalog or record file is damaged or unreadable.
    #[error("corrupt backup: {0}")]
    Corrupt(String),
    /// Not enough free space on the backup target.
    #[error("not enough free space on {}: need {need} bytes, {free} free", path.display())]
    NoSpace {
        /// The backup target.
        path: PathBuf,
        /// Bytes the session needs (estimate).
        need: u64,
        /// Bytes free.
        free: u64,
    },
    /// The request cannot be served (no such label, account, or no full backup yet).
    #[error("{0}")]
    Invalid(String),
    /// The backup disk filled up mid-session: the session was removed, the earlier
    /// sessions are untouched.
    #[error(
        "backup {label} failed: the backup disk is full ({source}); the partial session \
         was removed; the previous backups are intact (latest: {latest})"
    )]
    DiskFull {
        /// The session that failed.
        label: String,
        /// The latest complete session, or `none`.
        latest: String,
        /// The write that failed.
        source: Box<BackupError>,
    },
    /// `zmbackupabort` asked the session to stop.
    #[error("backup {0} aborted")]
    Aborted(String),
}

impl BackupError {
    /// Whether this is a write refused for lack of space (`ENOSPC`, `EDQUOT`).
    pub fn is_disk_full(&self) -> bool {
        match self {
            BackupError::Io { source, .. } => {
                matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
                    || source.kind() == std::io::ErrorKind::StorageFull
            }
            BackupError::NoSpace { .. } | BackupError::DiskFull { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(step: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BackupError::Io {
            step,
            path: path.into(),
            source,
        }
    }
}

/// Wraps store errors with the step that failed.
pub(crate) trait StoreStep<T> {
    fn step(self, step: &'static str) -> Result<T, BackupError>;
}

impl<T> StoreStep<T> for Result<T, zcs_store::StoreError> {
    fn step(self, step: &'static str) -> Result<T, BackupError> {
        self.map_err(|source| BackupError::Store { step, source })
    }
}

impl<T> StoreStep<T> for Result<T, zcs_core::ServiceError> {
    fn step(self, step: &'static str) -> Result<T, BackupError> {
        self.map_err(|source| BackupError::Directory { step, source })
    }
}
