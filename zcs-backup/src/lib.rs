//! zcs backup and restore: online full and incremental backups of a mail server's
//! mailboxes and directory into Zimbra's layout under `zimbraBackupTarget`
//! (`<zimbra home>/backup`), and restores from them: one account, several or all, into
//! the same account or a new prefixed one, to a point in time by label, time or redo
//! sequence.
//!
//! Layout of a backup target (see [`catalog`]):
//! ```text
//! sessions/full-YYYYMMDD.HHMMSS.mmm/   a full session (label in GMT)
//!     session.json                     the catalog: type, status, accounts, redo range
//!     sys/mailbox.db                   consistent copy of the store's database
//!     sys/directory.json               every directory entry, backend-neutral
//!     sys/index/                       the search index as of its last commit
//!     accounts/<id prefix>/<zimbraId>/account.json   the account's entry and mailbox
//!     blobs/                           message blobs, each stored once per session
//!     accounts/<p>/<zimbraId>/blobs/blobs-1.zip   instead, with --zipStore or -z
//! sessions/incr-YYYYMMDD.HHMMSS.mmm/   an incremental: redo/records.log + its blobs
//! sessions_tmp/<label>/                a session being written, or left by a crash
//!                                      (never read as complete; the next backup removes it)
//! ```
//! Beside these, the files Zimbra's layout names (`accounts.xml`, `session.xml`,
//! `LDAP/ldap.bak`, per-account `meta.xml` and `ldap.xml`, ...): see [`layout`].
//! This crate does not own the store or directory: callers (the `zm*` commands in
//! zcs-server) open them and pass them in.

pub mod backup;
mod blobcopy;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod directory;
mod error;
pub mod index_copy;
pub mod journal;
pub mod layout;
pub mod progress;
pub mod redo_io;
pub mod request;
pub mod restore;
pub mod resume;
pub mod retention;
pub mod schedule;
pub mod zipblobs;

use std::path::PathBuf;

pub use backup::{BackupOptions, BackupReport, full_backup, incremental_backup};
pub use catalog::{Catalog, SessionKind};
pub use error::BackupError;
pub use restore::{RestoreOptions, RestoreReport, restore, restore_with_hook};
pub use resume::{ReleaseHook, ResumeReport, resume_interrupted};
pub use zipblobs::BlobPackaging;

/// Where a server's data lives and where backups go.
#[derive(Clone, Debug)]
pub struct BackupPaths {
    /// The store's metadata database (`db/mailbox.db`).
    pub db: PathBuf,
    /// The blob volume root (`store/`).
    pub store: PathBuf,
    /// The redo log directory (`redolog/`, archive in `redolog/archive`).
    pub redolog: PathBuf,
    /// The backup target (`backup/`, `zimbraBackupTarget`).
    pub target: PathBuf,
    /// The search index directory (`index/`, one tantivy index for every mailbox).
    pub index: PathBuf,
    /// The home's configuration directory (`conf/`): its `localconfig.toml` goes into
    /// every session, and `-sys` restores it beside the live one (see [`layout`]).
    pub conf: PathBuf,
}

impl BackupPaths {
    /// The paths of a zcs home laid out as `zcs_server::home::Home` lays it out.
    pub fn for_home(root: &std::path::Path) -> BackupPaths {
        BackupPaths {
            db: root.join("db").join("mailbox.db"),
            store: root.join("store"),
            redolog: root.join("redolog"),
            target: root.join("backup"),
            index: root.join("index"),
            conf: root.join("conf"),
        }
    }
}
