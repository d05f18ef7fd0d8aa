//! zcs store: mailboxes, items, blob volumes and the redo log.
//!
//! A [`Store`] keeps metadata in SQLite (sqlx, WAL mode), message bytes in a blob volume
//! and every change in a redo log. It is in charge of durability and ids; it does not
//! index, parse protocols or know accounts beyond their `zimbraId`.
//!
//! # Durability
//! A change is decided (ids, UIDs, change number) under its mailbox's lock, then:
//! 1. the blob, if any, is written to a temporary file, fsynced, renamed into place and
//!    its directory fsynced (see `blob` for the content-addressed layout);
//! 2. a redo record describing the change is appended and fsynced; concurrent callers
//!    share one fsync (group commit, see [`redo`]);
//! 3. one SQLite transaction applies it and records the record's sequence.
//!
//! When a call returns `Ok`, the change survives `kill -9` and power loss: SQLite runs
//! with `synchronous=NORMAL`, and [`Store::open`] re-applies any record past what the
//! database recorded, reusing the recorded ids.
//!
//! # Ids and IMAP
//! Mailboxes get ids from 1, never reused. Items (folders and messages) share one id
//! sequence per mailbox from 257; system folders have Zimbra's fixed ids. A message's
//! IMAP UID is the item id current when it entered its folder, so UIDs grow within a
//! folder and UIDNEXT is the mailbox's next item id. Every change bumps the mailbox's
//! change number by one; that number is IMAP's MODSEQ.
//!
//! # Blobs
//! Single-instance: one file per distinct content, `<blob_root>/<h0h1>/<h2h3>/<h>.msg`
//! with `h` the hex SHA-256; items carry the digest as SHA-256 in URL-safe base64 with
//! padding (44 characters, the width of Zimbra's `blob_digest`). A blob is removed when
//! no item references it.

mod apply;
mod blob;
mod error;
mod mailbox;
mod messages;
mod parse;
pub mod redo;
mod rows;
mod schema;
mod store;
mod types;

pub use blob::digest_of as blob_digest;
pub use error::StoreError;
pub use mailbox::Mailbox;
pub use store::Store;
pub use types::{DeliveryTarget, Folder, MessageMeta, RecoveryReport, StoreConfig, Tombstone};
