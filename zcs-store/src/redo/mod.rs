//! The redo log: every mailbox change, fully resolved (ids, change numbers, UIDs already
//! chosen), appended and fsynced before the change is acknowledged.
//!
//! [`codec`] owns the byte format (records and file header) and is pure; `log` owns the
//! file: opening and locking it, cutting a torn tail, the group-commit writer thread and
//! rollover; [`archive`] names, lists and reads the rolled-over files; [`blob_frame`]
//! carries new messages' blob bytes in the log and reads them back; `blob_sync` says
//! when the blob files those frames stand for are durable; `damage` keeps a log damaged
//! in the middle for the operator and decides whether an open refuses it
//! ([`refuse_damaged_log`]).
//! Replaying records into the database is `crate::apply`'s job, not this module's.

pub mod archive;
pub mod blob_frame;
pub(crate) mod blob_sync;
pub mod codec;
mod codec_folder;
pub mod codec_items;
mod damage;
pub(crate) mod log;
mod wire;

pub use archive::ArchivedLog;
pub use blob_frame::{BlobFrame, RedoBlob, collect_blobs, encode_blob_frame};
pub use codec_items::{
    CalItemRecord, ContactRecord, DocumentRecord, GrantRecord, LinkRecord, ReplaceMessageRecord,
};
pub use damage::refuse_damaged_log;
pub use log::RedoStats;

pub use codec::{
    DecodeError, Decoded, FILE_HEADER_LEN, FILE_MAGIC, FORMAT_VERSION, MAX_RECORD_LEN, RedoOp,
    RedoRecord, decode_log, decode_records, encode_file_header, encode_file_header_from,
    encode_record, next_valid_record,
};
