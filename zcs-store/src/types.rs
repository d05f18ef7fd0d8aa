//! The plain data the store API takes and returns: configuration, delivery targets,
//! folders, message metadata, tombstones and the recovery report.

use std::path::PathBuf;

use zcs_core::{Flags, ItemId, ZimbraId};

/// Where a store keeps its three kinds of data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The SQLite metadata file (created when missing).
    pub db_path: PathBuf,
    /// The blob volume's root directory.
    pub blob_root: PathBuf,
    /// The directory holding `redo.log`.
    pub redo_dir: PathBuf,
}

impl StoreConfig {
    /// The embedded default layout under one directory: `db/mailbox.sqlite`, `store/`
    /// and `redolog/` (see ARCHITECTURE.md, "Data on disk").
    pub fn under(home: impl Into<PathBuf>) -> StoreConfig {
        let home = home.into();
        StoreConfig {
            db_path: home.join("db").join("mailbox.sqlite"),
            blob_root: home.join("store"),
            redo_dir: home.join("redolog"),
        }
    }
}

/// Tuning a store is opened with ([`crate::Store::open_with`]); kept apart from
/// [`StoreConfig`] so the paths stay a plain literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Size at which `redo.log` rolls over into `redolog/archive`, in bytes; 0 never
    /// rolls. Default: the attribute registry's `zimbraRedoLogRolloverFileSizeKB`
    /// default, 1048576 KB (the admin guide, spec 04 §1.8, says 100 MB; the server
    /// should pass the configured value).
    pub redo_rollover_bytes: u64,
}

impl StoreOptions {
    /// The default rollover size in KB (`zimbraRedoLogRolloverFileSizeKB`).
    pub const DEFAULT_ROLLOVER_KB: u64 = 1_048_576;

    /// Options with the rollover size given in KB, as
    /// `zimbraRedoLogRolloverFileSizeKB` gives it.
    pub fn with_rollover_kb(kb: u64) -> StoreOptions {
        StoreOptions {
            redo_rollover_bytes: kb.saturating_mul(1024),
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions::with_rollover_kb(Self::DEFAULT_ROLLOVER_KB)
    }
}

/// One local recipient of a delivery.
#[derive(Clone, Debug)]
pub struct DeliveryTarget {
    /// The recipient account; its mailbox is created on first delivery.
    pub account: ZimbraId,
    /// The folder to file into (usually [`zcs_core::folder::INBOX`]).
    pub folder: ItemId,
    /// Initial flags (usually [`Flags::UNREAD`]).
    pub flags: Flags,
    /// The account's quota in bytes (effective `zimbraMailQuota`); 0 is unlimited, and
    /// is what a restore passes to ignore quota. Over it the target fails with
    /// [`crate::StoreError::QuotaExceeded`].
    pub quota: u64,
}

/// A folder with its IMAP bookkeeping and counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// The folder's item id (fixed ids for system folders, from 257 for user ones).
    pub id: ItemId,
    /// The parent folder (USER_ROOT 1 for top-level folders).
    pub parent: ItemId,
    /// The folder's own name (no `/`).
    pub name: String,
    /// Absolute path from USER_ROOT, `/`-separated: `"/Inbox/sub"`; USER_ROOT is `"/"`.
    pub path: String,
    /// Default view: `message`, `contact`, `appointment`, `task`, `document`.
    pub view: String,
    /// IMAP UIDVALIDITY (RFC 9051 §2.3.1.1): fixed for the folder's life, different for
    /// a folder re-created under the same name.
    pub uid_validity: u32,
    /// IMAP UIDNEXT: the mailbox's next item id (UIDs are item ids, Zimbra's way).
    pub uid_next: u32,
    /// Highest change number of the folder or anything that entered, changed in or left
    /// it (IMAP HIGHESTMODSEQ, RFC 7162 §3.1.1).
    pub modseq: i64,
    /// Number of messages.
    pub messages: u32,
    /// Number of messages with [`Flags::UNREAD`].
    pub unread: u32,
    /// Total size of the messages in bytes.
    pub size: u64,
}

/// What the store knows about one message without reading its blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    /// The message's item id; it stays the same across moves.
    pub id: ItemId,
    /// The folder holding it.
    pub folder: ItemId,
    /// IMAP UID: the item id current when the message entered this folder.
    pub imap_uid: u32,
    /// Zimbra flag bits; [`Flags::UNREAD`] is IMAP's missing `\Seen` (RFC 9051 §2.3.2).
    pub flags: Flags,
    /// Names of the tags on the message, in tag id order (IMAP keywords).
    pub tags: Vec<String>,
    /// IMAP INTERNALDATE / delivery time, ms since the epoch.
    pub internal_date_ms: i64,
    /// Size of the stored bytes.
    pub size: u64,
    /// Change number of the last change to this item (IMAP MODSEQ).
    pub modseq: i64,
    /// SHA-256 of the content, URL-safe base64 with padding (44 characters).
    pub blob_digest: String,
    /// Decoded `Subject`, empty when absent.
    pub subject: String,
    /// `From` as `Name <addr>` (or `Sender` when there is no `From`), empty when absent.
    pub sender: String,
    /// `To` and `Cc` addresses, comma-separated.
    pub recipients: String,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// The conversation holding it: positive for a real conversation, `-id` for the
    /// message's own virtual conversation (Zimbra's `cid`).
    pub conv: ItemId,
}

/// A tag of a mailbox, with the counts of messages carrying it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The tag's id: from 64 (`ItemId::FIRST_TAG_ID`) up to 255, then from the item id
    /// sequence.
    pub id: ItemId,
    /// Its name, as created or last renamed (unique per mailbox regardless of case).
    pub name: String,
    /// Zimbra's color index (0 is the default).
    pub color: i32,
    /// Change number of the tag's creation or last rename.
    pub modseq: i64,
    /// Messages carrying the tag.
    pub messages: u32,
    /// Unread messages carrying the tag.
    pub unread: u32,
}

/// An item that left a folder: deleted, or moved elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The change number that removed it.
    pub change: i64,
    /// The item that left.
    pub id: ItemId,
    /// The folder it left.
    pub folder: ItemId,
    /// Its IMAP UID in that folder (0 for folders).
    pub imap_uid: u32,
    /// `true` when it was moved out rather than deleted.
    pub moved: bool,
    /// Whether the item was a folder (otherwise a message).
    pub is_folder: bool,
}

/// What [`crate::Store::open`] found and did while recovering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Records read: those in `redo.log` and in the archived logs read.
    pub records_in_log: usize,
    /// Archived logs read because they hold records past the database's checkpoint.
    pub archived_logs_read: usize,
    /// Records past the database's checkpoint that were re-applied.
    pub replayed: usize,
    /// Records past the checkpoint already in the database (skipped).
    pub already_applied: usize,
    /// Records skipped because they were aborted or their mailbox is gone.
    pub skipped: usize,
    /// Records that failed to apply (logged at ERROR and skipped).
    pub failed: usize,
    /// Bytes cut from a torn or corrupt log tail.
    pub torn_bytes_cut: u64,
    /// Messages re-created by replay (and not deleted again) whose blob file is missing.
    pub missing_blobs: usize,
    /// Blob files found torn or missing at open (an unclean stop before the volume was
    /// synced) and rewritten from their frames in `redo.log`.
    pub blobs_restored: usize,
    /// When `redo.log` had a damaged record with good records after it: the record's
    /// file offset (replay stopped there) and where the damaged file was preserved.
    pub corrupt_log: Option<(u64, PathBuf)>,
}
