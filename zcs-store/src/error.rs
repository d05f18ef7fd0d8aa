//! `StoreError`: everything a store call can fail with, and its mapping onto Zimbra's
//! fault codes (`mail.NO_SUCH_FOLDER`, `mail.NO_SUCH_MSG`, `mail.ALREADY_EXISTS`,
//! `mail.QUOTA_EXCEEDED`, ...).
//!
//! Messages name ids, folder names and the step that failed; they never carry message
//! content.

use std::path::PathBuf;

use zcs_core::{FaultCode, ItemId, ServiceError};

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The account has no mailbox on this server (or it was deleted).
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),

    /// No folder with this id or path in the mailbox.
    #[error("no such folder: {0}")]
    NoSuchFolder(String),

    /// No message with this id in the mailbox.
    #[error("no such message: {0}")]
    NoSuchMessage(ItemId),

    /// No tag with this id or name in the mailbox.
    #[error("no such tag: {0}")]
    NoSuchTag(String),

    /// The change would take the mailbox past its quota (`zimbraMailQuota`).
    #[error("mailbox quota of {quota} bytes exceeded ({used} used, {adding} more asked)")]
    QuotaExceeded {
        /// The quota in bytes.
        quota: u64,
        /// Bytes used before the change.
        used: u64,
        /// Bytes the change would add.
        adding: u64,
    },

    /// An item with this name already exists under the parent folder.
    #[error("an object named {name:?} already exists in folder {parent}")]
    AlreadyExists {
        /// The folder already holding the name.
        parent: ItemId,
        /// The clashing name.
        name: String,
    },

    /// The name breaks Zimbra's item name rules.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as given (cut to 300 characters).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// A system folder cannot be renamed, moved or deleted.
    #[error("system folder {0} cannot be changed")]
    ImmutableFolder(ItemId),

    /// The target folder cannot hold this item (a folder moved under itself, a message
    /// put into the folder tree's root).
    #[error("folder {folder} cannot contain {what}")]
    CannotContain {
        /// The folder that was the target.
        folder: ItemId,
        /// What it was asked to hold.
        what: String,
    },

    /// The request is malformed in a way none of the above names.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// A database step failed.
    #[error("database: {step}: {source}")]
    Db {
        /// The step that failed ("insert message", "commit change", ...).
        step: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A file system step on a blob, the redo log or a directory failed.
    #[error("{step} {}: {source}", path.display())]
    Io {
        /// The step that failed ("write blob", "sync redo log", ...).
        step: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The redo log cannot take records (it failed to write or sync earlier, or the
    /// store was closed).
    #[error("redo log: {0}")]
    Redo(String),

    /// Stored data is not what the store wrote (a missing blob, an unparsable row).
    #[error("corrupt store data: {0}")]
    Corrupt(String),

    /// A background task of the store died (a bug, or the runtime shutting down).
    #[error("internal: {0}")]
    Internal(String),

    /// Another process (or another `Store` in this process) has the store open.
    #[error("store at {} is already open elsewhere", .0.display())]
    Locked(PathBuf),

    /// The mailbox is in maintenance mode ([`crate::Store::set_maintenance`]).
    #[error("mailbox of {0} is in maintenance mode")]
    Maintenance(String),

    /// `zimbraContactMaxNumEntries` would be exceeded.
    #[error("too many contacts: the limit is {0}")]
    TooManyContacts(u32),

    /// No item (contact, calendar item, document, conversation, ...) with this id.
    #[error("no such item: {0}")]
    NoSuchItem(String),

    /// The accessor lacks the rights the operation needs.
    #[error("permission denied: {0}")]
    PermDenied(String),

    /// The store was closed with [`crate::Store::close`].
    #[error("store is closed")]
    Closed,
}

impl StoreError {
    /// The Zimbra fault code this error is reported with.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            StoreError::NoSuchMailbox(_) => FaultCode::NoSuchMailbox,
            StoreError::NoSuchFolder(_) => FaultCode::NoSuchFolder,
            StoreError::NoSuchMessage(_) => FaultCode::NoSuchMsg,
            StoreError::NoSuchTag(_) => FaultCode::NoSuchTag,
            StoreError::QuotaExceeded { .. } => FaultCode::QuotaExceeded,
            StoreError::AlreadyExists { .. } => FaultCode::AlreadyExists,
            StoreError::InvalidName { .. } => FaultCode::InvalidName,
            // LIMITATION: Zimbra reports mail.IMMUTABLE_OBJECT here; zcs-core has no such
            // FaultCode yet, so the nearest one is used.
            StoreError::ImmutableFolder(_) => FaultCode::PermDenied,
            StoreError::CannotContain { .. } => FaultCode::CannotContain,
            StoreError::InvalidRequest(_) => FaultCode::InvalidRequest,
            StoreError::Locked(_) | StoreError::Closed => FaultCode::Temporarily,
            StoreError::Maintenance(_) => FaultCode::MaintenanceModeMail,
            StoreError::NoSuchItem(_) => FaultCode::NoSuchItem,
            StoreError::PermDenied(_) => FaultCode::PermDenied,
            // LIMITATION: zcs-core has no mail.TOO_MANY_CONTACTS fault code yet; the
            // message names the limit and the code falls back to mail.QUOTA_EXCEEDED,
            // the nearest one. See `StoreError::zimbra_code` for the exact string.
            StoreError::TooManyContacts(_) => FaultCode::QuotaExceeded,
            StoreError::Db { .. }
            | StoreError::Io { .. }
            | StoreError::Redo(_)
            | StoreError::Internal(_)
            | StoreError::Corrupt(_) => FaultCode::Failure,
        }
    }

    /// The exact Zimbra fault code string, for the faults zcs-core has no
    /// [`FaultCode`] for yet (`mail.TOO_MANY_CONTACTS`); otherwise the code's string.
    pub fn zimbra_code(&self) -> &'static str {
        match self {
            StoreError::TooManyContacts(_) => "mail.TOO_MANY_CONTACTS",
            other => other.fault_code().as_str(),
        }
    }

    pub(crate) fn io(step: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            step,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn no_such_folder(id: ItemId) -> Self {
        StoreError::NoSuchFolder(id.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        ServiceError::new(err.fault_code(), err.to_string())
    }
}

/// Wraps a sqlx error with the step that failed.
pub(crate) trait DbContext<T> {
    fn db(self, step: &'static str) -> Result<T, StoreError>;
}

impl<T> DbContext<T> for Result<T, sqlx::Error> {
    fn db(self, step: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Db { step, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_zimbra_fault_codes() {
        let e: ServiceError = StoreError::no_such_folder(ItemId(300)).into();
        assert_eq!(e.code.as_str(), "mail.NO_SUCH_FOLDER");
        let e: ServiceError = StoreError::NoSuchMessage(ItemId(257)).into();
        assert_eq!(e.code.as_str(), "mail.NO_SUCH_MSG");
        let e: ServiceError = StoreError::AlreadyExists {
            parent: ItemId(1),
            name: "x".into(),
        }
        .into();
        assert_eq!(e.code.as_str(), "mail.ALREADY_EXISTS");
        let e: ServiceError = StoreError::QuotaExceeded {
            quota: 1,
            used: 1,
            adding: 1,
        }
        .into();
        assert_eq!(e.code.as_str(), "mail.QUOTA_EXCEEDED");
        let e: ServiceError = StoreError::NoSuchTag("x".into()).into();
        assert_eq!(e.code.as_str(), "mail.NO_SUCH_TAG");
        let e: ServiceError = StoreError::Corrupt("x".into()).into();
        assert_eq!(e.code.as_str(), "service.FAILURE");
        let e: ServiceError = StoreError::Maintenance("a".into()).into();
        assert_eq!(e.code.as_str(), "mail.MAINTENANCE");
        assert_eq!(
            StoreError::TooManyContacts(2).zimbra_code(),
            "mail.TOO_MANY_CONTACTS"
        );
    }
}
