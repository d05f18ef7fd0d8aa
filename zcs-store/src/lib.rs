//! zcs store: mailboxes, items, blob volumes and the redo log.
//!
//! A [`Store`] keeps metadata in SQLite (sqlx, WAL mode; the default), MariaDB or
//! PostgreSQL ([`db`], chosen by URL with [`Store::open_url`]), message bytes in a blob
//! volume and every change in a redo log. It is in charge of durability and ids; it does not
//! index, parse protocols or know accounts beyond their `zimbraId`.
//!
//! # Durability
//! A change is decided (ids, UIDs, change number) under its mailbox's lock, then:
//! 1. the blob, if any, is written to a temporary file and renamed into place; for a new
//!    message the file is not fsynced, because step 2 carries its bytes (a blob frame);
//!    other blobs (documents, restores, blobs over 256 MB) are fsynced with their
//!    directory;
//! 2. a redo record describing the change is appended and fsynced, after the frame of a
//!    new message's blob; concurrent callers share one fsync (group commit, see
//!    [`redo`]);
//! 3. one SQLite transaction applies it and records the record's sequence (per mailbox
//!    and store-wide).
//!
//! When a call returns `Ok`, the change survives `kill -9` and power loss: SQLite runs
//! with `synchronous=NORMAL`, and [`Store::open`] re-applies every record past what the
//! database recorded, reusing the recorded ids. A torn log tail is cut at the last good
//! record. Before that, open rewrites from their frames any blob files of `redo.log` a
//! power cut tore (skipped after a clean close, which syncs the volumes; rollover syncs
//! them too before archiving a log): `docs/decisions/2026-12-05-logged-blob-writes.md`.
//!
//! # Ids and IMAP
//! Mailboxes get ids from 1, never reused. Items (folders, messages and every other
//! kind) share one id sequence per mailbox from 257; system folders have Zimbra's fixed
//! ids. A message's IMAP UID is the item id current when it entered its folder, so UIDs
//! grow within a folder and UIDNEXT is the mailbox's next item id. Every change bumps the mailbox's
//! change number by one; that number is IMAP's MODSEQ. [`Mailbox::folders`] leaves out
//! the hidden ROOT (11) and USER_ROOT (1).
//!
//! # Blobs
//! Single-instance: one file per distinct content, `<blob_root>/<h0h1>/<h2h3>/<h>.msg`
//! with `h` the hex SHA-256 (hex keeps names safe on case-insensitive file systems);
//! items carry the digest as SHA-256 in URL-safe base64 with padding (44 characters,
//! the width of Zimbra's `blob_digest`). A blob is removed when no item references it.
//!
//! # Quotas
//! The caller passes the quota (the account's effective `zimbraMailQuota`, 0 for none)
//! on the handle ([`Mailbox::with_quota`]) or the delivery target
//! ([`DeliveryTarget::quota`]); appends, deliveries, copies, new contacts, appointments,
//! tasks and document revisions (and edits that grow them) that would take the
//! mailbox's usage ([`Mailbox::quota_usage`]: messages, revisions, contacts and calendar
//! items) past it fail with [`StoreError::QuotaExceeded`] (`mail.QUOTA_EXCEEDED`).
//! Moves, flags, tags and deletes are never refused. A restore ignores quota by passing
//! none.
//!
//! # Tags
//! Tags have ids from 64 (255 at most; later ones take item ids), names unique per
//! mailbox without regard to case, and are kept as Zimbra keeps them: a `tag` table,
//! `tagged_item` rows, and the names mirrored in `mail_item.tag_names`. Tagging an item
//! is a change like any other (new change number on the item and its folder, logged).
//! Contacts, appointments, tasks and documents take tags too ([`Mailbox::tag_items`],
//! [`Mailbox::item_tags`]); only messages mirror them in `tag_names`.
//!
//! # Fast paths
//! [`Mailbox::import_messages`] stores a batch of messages with one group fsync of the
//! redo log, one file system sync for its blobs and one transaction; concurrent
//! deliveries into one mailbox are committed as a group ([`Store::deliver`]);
//! [`Mailbox::message_flags`] lists a folder's UIDs, flags, tags and MODSEQs without
//! reading whole rows, from a per-folder cache kept current by change number. Folders carry
//! a colour ([`Mailbox::set_folder_color`], [`FolderColor`]).
//!
//! # The item model
//! Beyond folders, messages and tags a mailbox holds conversations ([`Mailbox::conversation`];
//! virtual ones have id `-message id`, real ones take an item id when a second message
//! joins, by [`ThreadingAlgorithm`]), contacts and groups (with vCard import/export and
//! `zimbraContactMaxNumEntries`), appointments and tasks (the VCALENDAR kept whole, found
//! by UID or time range), documents with revisions, mountpoints, search folders and folder
//! grants ([`Mailbox::effective_rights`]). Account settings the store applies travel on
//! the handle ([`Mailbox::with_settings`], [`MailboxSettings`]). Hard deletes go to the
//! dumpster when it is enabled; [`Mailbox::purge`] applies lifetimes; the orphan sweep is
//! [`Store::sweep_orphan_blobs`]; maintenance mode is [`Store::set_maintenance`]. See
//! `docs/decisions/2026-12-04-item-model.md`.
//!
//! # Redo log rollover
//! `redo.log` rolls over at [`StoreOptions::redo_rollover_bytes`] into
//! `redolog/archive/redo-<first seq>-<last seq>-<time>.log`
//! ([`Store::archived_redo_logs`] lists them for backup). At open, the archived logs
//! holding records past the database's checkpoint are replayed before `redo.log`; a
//! damaged archived log stops the open with a message saying what to do.
//!
//! # Limitations
//! - A damaged record in the middle of `redo.log` (good records after it) is detected by
//!   its checksum, logged at ERROR with its offset, the file preserved aside
//!   (`redo.log.corrupt-<offset>-<ms>`) and replay stops there
//!   ([`RecoveryReport::corrupt_log`]); the store then opens (records after the damage
//!   that the database missed are lost unless restored from backup). With
//!   [`redo::refuse_damaged_log`] on, as the mailbox server should set it, the open
//!   fails instead, the file untouched, with a message naming the two ways on (an
//!   offline restore, or `truncate` at the damage).
//! - Blob bytes go through the [`BlobStore`] trait ([`FileBlobStore`] is the file
//!   volume; [`Store::open_with_blob_store`] takes any other).
//! - The metadata seam is [`db::Db`]: one code path over sqlx's `Any` driver, with the
//!   statements rewritten per engine (`docs/decisions/2026-12-04-store-backends.md`).
//!   LIMITATION: SQLite is one file (no shards); volumes, HSM, `zmblobchk` and mailbox
//!   export/import/replace read the local SQLite file only.
//! - Volumes (`volume` table, [`VolumeAdmin`]), gzip compression above a volume's
//!   threshold and HSM ([`hsm`]) live in [`VolumeBlobStore`], which [`Store::open`]
//!   uses; [`blobchk`] checks blobs against items. See `docs/decisions/2026-12-04-volumes.md`.
//! - LIMITATION: no `\Recent`; deleting a tag leaves no tombstone (SOAP sync will need
//!   one); no domain aggregate quota (the caller would sum [`Mailbox::quota_usage`]
//!   over a domain's accounts). Folder counters (`Folder::messages`, `size`) count
//!   messages only.
//! - LIMITATION: a message arriving before the one it references is not back-threaded.
//! - A blob written just before a crash, whose redo record never made it, stays on disk
//!   unreferenced until [`Store::sweep_orphan_blobs`] removes it (after a grace period).

#![warn(missing_docs)]

#[macro_use]
mod rows;

mod acl;
mod apply;
mod apply_batch;
mod apply_contacts;
mod apply_dumpster;
mod apply_items;
mod apply_messages;
mod apply_tags;
mod blob;
mod blob_layout;
pub mod blobchk;
mod cal_parse;
mod calendar;
mod contact_flags;
mod contacts;
mod conversations;
pub mod db;
mod dialect;
mod documents;
mod draft_replace;
mod dumpster;
mod dumpster_items;
mod error;
mod flag_group;
mod flag_list;
mod folder_attrs;
mod folder_color;
mod folder_view;
mod group_commit;
pub mod hsm;
mod import;
mod item_tags;
mod item_types;
mod lifecycle;
mod link_rename;
mod mailbox;
mod messages;
mod parse;
mod quota;
mod recovery;
pub mod redo;
mod replace;
pub mod retention;
mod row_copy;
mod schema;
mod shared_with;
mod store;
mod tags;
mod thread;
pub mod transfer;
mod types;
mod vcard;
pub mod volume;
pub mod volume_blobs;

pub use acl::{Accessor, Grant, GranteeType, Rights};
pub use blob::digest_of as blob_digest;
pub use blob::{BlobStore, FileBlobStore};
pub use dumpster_items::DumpsterEntry;
pub use error::StoreError;
pub use flag_list::FlagEntry;
pub use folder_attrs::{FolderAttrs, MAX_FEED_SEEN};
pub use folder_color::FolderColor;
pub use import::ImportMessage;
pub use item_types::{
    CalInstance, CalItem, Contact, ContactCard, ContactMember, Conversation, Document,
    DumpsterItem, MailboxSettings, MemberKind, Mountpoint, PurgePolicy, PurgeReport, QuotaWarning,
    Revision, SearchFolder, SweepReport,
};
pub use lifecycle::ORPHAN_GRACE;
pub use mailbox::Mailbox;
pub use redo::{ArchivedLog, RedoStats};
pub use retention::{Policy, PolicyKind, RetentionPolicy};
pub use store::Store;
pub use thread::{ThreadingAlgorithm, normalize_subject};
pub use types::{
    DeliveryTarget, Folder, MessageMeta, RecoveryReport, StoreConfig, StoreOptions, Tag, Tombstone,
};
pub use volume::{Volume, VolumeAdmin, VolumeSpec, VolumeType};
pub use volume_blobs::{BlobLocation, VolumeBlobStore};
