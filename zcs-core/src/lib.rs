//! The zcs vocabulary shared by every other crate: ids, entry and item kinds, system
//! folders and flags, the attribute registry and the fault codes of `ServiceError`.
//!
//! This crate does no I/O and starts no runtime; it is pure data and validation.

pub mod attrs;
pub mod cron;
pub mod entry;
pub mod error;
pub mod ids;
pub mod item;

pub use entry::{AttrEdit, Attrs, Entry, EntryKind};
pub use error::{FaultCode, ServiceError, ServiceResult};
pub use ids::{ChangeNumber, ItemId, MailboxId, ZimbraId};
pub use item::{Flags, ItemKind, folder};
