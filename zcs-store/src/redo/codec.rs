//! The redo log byte format: a file header, then length-prefixed, CRC-32-checked records.
//!
//! Pure code, no I/O; decoding never panics on any input, which makes
//! [`decode_records`] and [`decode_log`] direct fuzz targets.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! header  (16 bytes)  "ZCSREDO" | version u8 | first sequence u64 (the sequence the
//!                     file's first record has, written when a rollover starts the
//!                     file; 0 when unknown)
//! record  (repeated)  marker u32 = 0x5A52_4543 ("CERZ" on disk)
//!                     body length u32 | CRC-32 (IEEE) of the body u32
//!                     body: version u8 | op code u8 | sequence u64 | timestamp ms i64
//!                           | mailbox id i64 | op payload
//! ```
//!
//! Between records, a file may hold blob frames (a new message's blob bytes, no
//! sequence; format and reader in `super::blob_frame`); [`decode_records`] lists them in
//! [`Decoded::blobs`].
//!
//! Strings are a u32 byte length and UTF-8 bytes; an optional string is a u8 tag (0/1)
//! and the string; lists are a u32 count and the elements. Sequence numbers grow by one
//! per record across the whole log (and, once rollover exists, across files), so a
//! reader can tell where the database stopped and an archive where it starts.

use zcs_core::{MailboxId, ZimbraId};

use super::wire::{Reader, len_u32, put_i32, put_i64, put_ids, put_str, put_u32, put_u64};

/// The first seven bytes of a redo log file.
pub const FILE_MAGIC: &[u8; 7] = b"ZCSREDO";
/// The format version written in the file header and in every record body.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// The largest record body accepted; anything longer is treated as corruption.
pub const MAX_RECORD_LEN: u32 = 16 << 20;

const RECORD_MARKER: u32 = 0x5A52_4543;
const FRAME_LEN: usize = 12;

/// One logged mailbox change. Every id, change number and UID is already decided, so
/// replaying the op reproduces the original state exactly (id-preserving replay).
///
/// Field names are shared across variants: `change` is the mailbox change number the op
/// takes (its MODSEQ), `id` an item id, `parent` and `folder` folder ids, `flags` Zimbra
/// flag bits, `date_ms` the IMAP internal date, `digest` the blob's item digest.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedoOp {
    /// A mailbox was created for `account`, with its system folders; the UIDVALIDITY of
    /// each system folder derives from `uid_validity_base`.
    CreateMailbox {
        account: ZimbraId,
        uid_validity_base: u32,
    },
    /// The mailbox and everything in it was deleted.
    DeleteMailbox,
    /// A user folder was created.
    CreateFolder {
        change: i64,
        id: i32,
        parent: i32,
        name: String,
        view: String,
        uid_validity: u32,
    },
    /// A folder was renamed and/or moved under another parent.
    RenameFolder {
        change: i64,
        id: i32,
        parent: i32,
        name: String,
    },
    /// A folder, its subfolders and all their messages were deleted.
    DeleteFolder { change: i64, id: i32 },
    /// A message was created (delivered or appended) from the blob named by `digest`.
    CreateMessage {
        change: i64,
        id: i32,
        folder: i32,
        flags: u32,
        date_ms: i64,
        size: u64,
        digest: String,
        subject: String,
        sender: String,
        recipients: String,
        message_id: Option<String>,
        /// Tag ids the message starts with (encoded after `message_id`; records written
        /// before tags existed end there and decode with none).
        tags: Vec<i32>,
        /// The conversation the message joins: a real conversation id, or `-id` for its
        /// own virtual conversation; 0 (records from before conversations) means `-id`.
        /// Encoded after `tags` only when not 0 or when `conv_promote` is not empty.
        conv: i32,
        /// When not empty, `conv` is a new conversation created by this op and these
        /// messages (until now alone in their virtual conversations) join it.
        conv_promote: Vec<i32>,
    },
    /// Items got these new flag values (only items whose flags changed are listed).
    SetFlags { change: i64, items: Vec<(i32, u32)> },
    /// Items were copied into `folder`: (source id, new id; the new id is also the UID).
    Copy {
        change: i64,
        folder: i32,
        items: Vec<(i32, i32)>,
    },
    /// Items were moved into `folder`: (id, new IMAP UID).
    Move {
        change: i64,
        folder: i32,
        items: Vec<(i32, i32)>,
    },
    /// Items were hard-deleted.
    Delete { change: i64, ids: Vec<i32> },
    /// The op logged with sequence `seq` was not applied (its database transaction
    /// failed); replay must skip it.
    Abort { seq: u64 },
    /// A tag was created (ids from 64, see `zcs_core::ItemId::FIRST_TAG_ID`).
    CreateTag {
        change: i64,
        id: i32,
        name: String,
        color: i32,
    },
    /// A tag was renamed; the items carrying it change with it.
    RenameTag { change: i64, id: i32, name: String },
    /// A tag was deleted and removed from every item carrying it.
    DeleteTag { change: i64, id: i32 },
    /// Items got these complete tag sets, by tag id (only items whose tags changed).
    SetTags {
        change: i64,
        items: Vec<(i32, Vec<i32>)>,
    },
    /// Messages were hard-deleted into the dumpster (`zimbraDumpsterEnabled`).
    DeleteToDumpster { change: i64, ids: Vec<i32> },
    /// Messages came back from the dumpster: (id, folder, new IMAP UID).
    RecoverFromDumpster {
        change: i64,
        items: Vec<(i32, i32, i32)>,
    },
    /// Messages were removed from the dumpster for good.
    PurgeDumpster { change: i64, ids: Vec<i32> },
    /// Items other than messages and folders (contacts, calendar items, documents,
    /// mountpoints, search folders) were deleted.
    DeleteItems { change: i64, ids: Vec<i32> },
    /// A contact or contact group was created or replaced whole.
    PutContact(super::codec_items::ContactRecord),
    /// An appointment or task was created or replaced whole.
    PutCalItem(super::codec_items::CalItemRecord),
    /// A document revision was saved (creating the document on its first revision).
    SaveDocument(super::codec_items::DocumentRecord),
    /// A mountpoint or search folder was created.
    CreateLink(super::codec_items::LinkRecord),
    /// A grant on a folder was set (empty rights revoke it).
    SetGrant(super::codec_items::GrantRecord),
    /// The mailbox's rows were replaced by mailbox `source_mailbox` of the full backup
    /// session `label` (a restore); the records after it continue from that state.
    /// Replay leaves the rows alone (a restore wrote them); a point-in-time restore
    /// reading this record starts the mailbox over from that session.
    RestoreMailbox {
        account: ZimbraId,
        label: String,
        source_mailbox: i64,
    },
    /// Items other than messages (contacts, calendar items, documents) were deleted
    /// into the dumpster (`zimbraDumpsterEnabled`); documents keep their revisions.
    DeleteItemsToDumpster { change: i64, ids: Vec<i32> },
    /// Items other than messages came back from the dumpster: (id, folder).
    RecoverItemsFromDumpster { change: i64, items: Vec<(i32, i32)> },
    /// A folder's retention policy was set (JSON, see `crate::retention`); empty
    /// clears it.
    SetRetentionPolicy {
        change: i64,
        folder: i32,
        policy: String,
    },
    /// A tag's colour changed (Zimbra's index 0-9, or an RGB value as the SOAP layer
    /// stores it); the items carrying the tag do not change.
    SetTagColor { change: i64, id: i32, color: i32 },
    /// A folder's colour changed: Zimbra's index 0-9 and an RGB value (`0xRRGGBB`, -1
    /// for none); the folder takes the change number, its items do not change.
    SetFolderColor {
        change: i64,
        id: i32,
        color: i32,
        rgb: i32,
    },
    /// A message's content was rewritten in place (a draft saved again): new blob,
    /// summary, flags, date and IMAP UID; id, folder, tags and conversation kept.
    ReplaceMessage(super::codec_items::ReplaceMessageRecord),
    /// A folder's, mountpoint's or search folder's attributes were set whole
    /// (`crate::folder_attrs`): its folder flag bits (Zimbra's `#`, `b`, `*`, `i`,
    /// `y`, `~`), its feed or remote calendar `url` (empty for none) and a calendar
    /// mountpoint's shared `reminder`; the folder takes the change number.
    SetFolderAttrs {
        change: i64,
        id: i32,
        flags: u32,
        url: String,
        reminder: bool,
    },
    /// A user folder's default view changed (Zimbra's SetFolderDefaultView).
    SetFolderView { change: i64, id: i32, view: String },
    /// Feed items a subscription sync imported into `folder`, by guid or link: added to
    /// the folder's remembered list (emptied first with `reset`). Not a change a client
    /// sees: no change number.
    FeedSeen {
        folder: i32,
        reset: bool,
        keys: Vec<String>,
    },
}

impl RedoOp {
    /// The op code written on disk.
    pub fn code(&self) -> u8 {
        match self {
            RedoOp::CreateMailbox { .. } => 1,
            RedoOp::DeleteMailbox => 2,
            RedoOp::CreateFolder { .. } => 3,
            RedoOp::RenameFolder { .. } => 4,
            RedoOp::DeleteFolder { .. } => 5,
            RedoOp::CreateMessage { .. } => 6,
            RedoOp::SetFlags { .. } => 7,
            RedoOp::Copy { .. } => 8,
            RedoOp::Move { .. } => 9,
            RedoOp::Delete { .. } => 10,
            RedoOp::Abort { .. } => 11,
            RedoOp::CreateTag { .. } => 12,
            RedoOp::RenameTag { .. } => 13,
            RedoOp::DeleteTag { .. } => 14,
            RedoOp::SetTags { .. } => 15,
            RedoOp::DeleteToDumpster { .. } => 16,
            RedoOp::RecoverFromDumpster { .. } => 17,
            RedoOp::PurgeDumpster { .. } => 18,
            RedoOp::DeleteItems { .. } => 19,
            RedoOp::PutContact(_) => 20,
            RedoOp::PutCalItem(_) => 21,
            RedoOp::SaveDocument(_) => 22,
            RedoOp::CreateLink(_) => 23,
            RedoOp::SetGrant(_) => 24,
            RedoOp::RestoreMailbox { .. } => 25,
            RedoOp::DeleteItemsToDumpster { .. } => 26,
            RedoOp::RecoverItemsFromDumpster { .. } => 27,
            RedoOp::SetRetentionPolicy { .. } => 28,
            RedoOp::SetTagColor { .. } => 29,
            RedoOp::SetFolderColor { .. } => 30,
            RedoOp::ReplaceMessage(_) => 31,
            RedoOp::SetFolderAttrs { .. } => 32,
            RedoOp::SetFolderView { .. } => 33,
            RedoOp::FeedSeen { .. } => 34,
        }
    }
}

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedoRecord {
    /// Position in the log; strictly increasing by one.
    pub seq: u64,
    /// When the change was made (ms since the epoch).
    pub timestamp_ms: i64,
    /// The mailbox changed.
    pub mailbox: MailboxId,
    /// What changed.
    pub op: RedoOp,
}

/// Why decoding stopped before the end of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends inside a record (a torn write) or inside the header.
    #[error("truncated")]
    Truncated,
    /// The file header is not a zcs redo log header.
    #[error("bad file header")]
    BadHeader,
    /// A record does not start with the record marker.
    #[error("bad record marker")]
    BadMarker,
    /// A record claims a body longer than [`MAX_RECORD_LEN`].
    #[error("record length {0} too large")]
    TooLong(u32),
    /// The body does not match its CRC-32.
    #[error("checksum mismatch")]
    Checksum,
    /// A format version this code does not know.
    #[error("unknown version {0}")]
    UnknownVersion(u8),
    /// An op code this code does not know.
    #[error("unknown op code {0}")]
    UnknownOp(u8),
    /// The body is well framed but its payload is malformed.
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
}

/// The result of decoding a run of records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The records decoded, in order.
    pub records: Vec<RedoRecord>,
    /// How many input bytes the good records (plus the header, for [`decode_log`])
    /// cover; a torn or corrupt tail starts here.
    pub valid_len: usize,
    /// Why decoding stopped early, or `None` when the input ended on a record boundary.
    pub stop: Option<DecodeError>,
    /// The blob frames met among the records (see `super::blob_frame`), with ranges
    /// into the decoded input.
    pub blobs: Vec<super::blob_frame::BlobFrame>,
}

/// The 16-byte file header, with no first sequence recorded (0).
pub fn encode_file_header() -> [u8; FILE_HEADER_LEN] {
    encode_file_header_from(0)
}

/// The 16-byte file header of a file whose first record will have sequence
/// `first_seq` (written when a rollover starts a new file; 0 means unknown).
pub fn encode_file_header_from(first_seq: u64) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..7].copy_from_slice(FILE_MAGIC);
    h[7] = FORMAT_VERSION;
    h[8..].copy_from_slice(&first_seq.to_le_bytes());
    h
}

/// Appends the framed encoding of `rec` to `out`.
pub fn encode_record(rec: &RedoRecord, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(64);
    body.push(FORMAT_VERSION);
    body.push(rec.op.code());
    put_u64(&mut body, rec.seq);
    put_i64(&mut body, rec.timestamp_ms);
    put_i64(&mut body, rec.mailbox.0);
    encode_payload(&rec.op, &mut body);

    out.extend_from_slice(&RECORD_MARKER.to_le_bytes());
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
}

fn encode_payload(op: &RedoOp, b: &mut Vec<u8>) {
    match op {
        RedoOp::CreateMailbox {
            account,
            uid_validity_base,
        } => {
            put_str(b, &account.to_string());
            put_u32(b, *uid_validity_base);
        }
        RedoOp::DeleteMailbox => {}
        RedoOp::CreateFolder {
            change,
            id,
            parent,
            name,
            view,
            uid_validity,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_i32(b, *parent);
            put_str(b, name);
            put_str(b, view);
            put_u32(b, *uid_validity);
        }
        RedoOp::RenameFolder {
            change,
            id,
            parent,
            name,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_i32(b, *parent);
            put_str(b, name);
        }
        RedoOp::DeleteFolder { change, id } => {
            put_i64(b, *change);
            put_i32(b, *id);
        }
        RedoOp::CreateMessage {
            change,
            id,
            folder,
            flags,
            date_ms,
            size,
            digest,
            subject,
            sender,
            recipients,
            message_id,
            tags,
            conv,
            conv_promote,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_i32(b, *folder);
            put_u32(b, *flags);
            put_i64(b, *date_ms);
            put_u64(b, *size);
            put_str(b, digest);
            put_str(b, subject);
            put_str(b, sender);
            put_str(b, recipients);
            match message_id {
                None => b.push(0),
                Some(m) => {
                    b.push(1);
                    put_str(b, m);
                }
            }
            put_ids(b, tags);
            if *conv != 0 || !conv_promote.is_empty() {
                put_i32(b, *conv);
                put_ids(b, conv_promote);
            }
        }
        RedoOp::SetFlags { change, items } => {
            put_i64(b, *change);
            put_u32(b, len_u32(items.len()));
            for (id, flags) in items {
                put_i32(b, *id);
                put_u32(b, *flags);
            }
        }
        RedoOp::Copy {
            change,
            folder,
            items,
        }
        | RedoOp::Move {
            change,
            folder,
            items,
        } => {
            put_i64(b, *change);
            put_i32(b, *folder);
            put_u32(b, len_u32(items.len()));
            for (a, c) in items {
                put_i32(b, *a);
                put_i32(b, *c);
            }
        }
        RedoOp::Delete { change, ids } => {
            put_i64(b, *change);
            put_u32(b, len_u32(ids.len()));
            for id in ids {
                put_i32(b, *id);
            }
        }
        RedoOp::Abort { seq } => put_u64(b, *seq),
        RedoOp::CreateTag {
            change,
            id,
            name,
            color,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_str(b, name);
            put_i32(b, *color);
        }
        RedoOp::RenameTag { change, id, name } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_str(b, name);
        }
        RedoOp::DeleteTag { change, id } => {
            put_i64(b, *change);
            put_i32(b, *id);
        }
        RedoOp::SetTags { change, items } => {
            put_i64(b, *change);
            put_u32(b, len_u32(items.len()));
            for (id, tags) in items {
                put_i32(b, *id);
                put_ids(b, tags);
            }
        }
        other => super::codec_items::encode_item_op(other, b),
    }
}

/// Decodes a whole redo log file: the header, then records.
///
/// An empty input is a valid empty log. A bad or short header stops at offset 0 with
/// [`DecodeError::BadHeader`] or [`DecodeError::Truncated`].
pub fn decode_log(bytes: &[u8]) -> Decoded {
    if bytes.is_empty() {
        return Decoded::default();
    }
    if bytes.len() < FILE_HEADER_LEN {
        let stop = if FILE_MAGIC.starts_with(&bytes[..bytes.len().min(7)]) {
            DecodeError::Truncated
        } else {
            DecodeError::BadHeader
        };
        return Decoded {
            stop: Some(stop),
            ..Decoded::default()
        };
    }
    if &bytes[..7] != FILE_MAGIC || bytes[7] != FORMAT_VERSION {
        return Decoded {
            stop: Some(DecodeError::BadHeader),
            ..Decoded::default()
        };
    }
    let mut out = decode_records(&bytes[FILE_HEADER_LEN..]);
    out.valid_len += FILE_HEADER_LEN;
    for b in &mut out.blobs {
        b.bytes = b.bytes.start + FILE_HEADER_LEN..b.bytes.end + FILE_HEADER_LEN;
    }
    out
}

/// Decodes records from `bytes` (which start at a record boundary) until the input ends
/// or a record is torn or corrupt. Never panics, whatever the input.
pub fn decode_records(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut pos = 0usize;
    while pos < bytes.len() {
        if super::blob_frame::starts_frame(&bytes[pos..]) {
            match super::blob_frame::decode_frame(&bytes[pos..]) {
                Ok((mut frame, used)) => {
                    frame.bytes = frame.bytes.start + pos..frame.bytes.end + pos;
                    out.blobs.push(frame);
                    pos += used;
                    out.valid_len = pos;
                    continue;
                }
                Err(e) => {
                    out.stop = Some(e);
                    break;
                }
            }
        }
        match decode_one(&bytes[pos..]) {
            Ok((rec, used)) => {
                out.records.push(rec);
                pos += used;
                out.valid_len = pos;
            }
            Err(e) => {
                out.stop = Some(e);
                break;
            }
        }
    }
    out
}

/// The offset (into `bytes`, which start at a record boundary) of the first whole,
/// checksum-valid record or blob frame starting after offset `from`, if any. A bad record followed
/// by
/// a good one is damage in the middle of a log, not a torn tail. Cost: a scan of the
/// rest of the input. Never panics.
pub fn next_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let marker = RECORD_MARKER.to_le_bytes();
    let mut pos = from.checked_add(1)?;
    while pos + FRAME_LEN <= bytes.len() {
        if bytes[pos..pos + 4] == marker && decode_one(&bytes[pos..]).is_ok() {
            return Some(pos);
        }
        if super::blob_frame::starts_frame(&bytes[pos..])
            && super::blob_frame::decode_frame(&bytes[pos..]).is_ok()
        {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

fn decode_one(bytes: &[u8]) -> Result<(RedoRecord, usize), DecodeError> {
    if bytes.len() < FRAME_LEN {
        if RECORD_MARKER
            .to_le_bytes()
            .starts_with(&bytes[..bytes.len().min(4)])
        {
            return Err(DecodeError::Truncated);
        }
        return Err(DecodeError::BadMarker);
    }
    let marker = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if marker != RECORD_MARKER {
        return Err(DecodeError::BadMarker);
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if len > MAX_RECORD_LEN {
        return Err(DecodeError::TooLong(len));
    }
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let end = FRAME_LEN + len as usize;
    let Some(body) = bytes.get(FRAME_LEN..end) else {
        return Err(DecodeError::Truncated);
    };
    if crc32fast::hash(body) != crc {
        return Err(DecodeError::Checksum);
    }
    Ok((decode_body(body)?, end))
}

fn decode_body(body: &[u8]) -> Result<RedoRecord, DecodeError> {
    let mut r = Reader { buf: body, pos: 0 };
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let code = r.u8()?;
    let seq = r.u64()?;
    let timestamp_ms = r.i64()?;
    let mailbox = MailboxId(r.i64()?);
    let op = match code {
        1 => RedoOp::CreateMailbox {
            account: r
                .string()?
                .parse()
                .map_err(|_| DecodeError::Malformed("account id"))?,
            uid_validity_base: r.u32()?,
        },
        2 => RedoOp::DeleteMailbox,
        3 => RedoOp::CreateFolder {
            change: r.i64()?,
            id: r.i32()?,
            parent: r.i32()?,
            name: r.string()?,
            view: r.string()?,
            uid_validity: r.u32()?,
        },
        4 => RedoOp::RenameFolder {
            change: r.i64()?,
            id: r.i32()?,
            parent: r.i32()?,
            name: r.string()?,
        },
        5 => RedoOp::DeleteFolder {
            change: r.i64()?,
            id: r.i32()?,
        },
        6 => create_message(&mut r)?,
        7 => {
            let change = r.i64()?;
            let n = r.count(8)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((r.i32()?, r.u32()?));
            }
            RedoOp::SetFlags { change, items }
        }
        8 | 9 => {
            let change = r.i64()?;
            let folder = r.i32()?;
            let n = r.count(8)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((r.i32()?, r.i32()?));
            }
            if code == 8 {
                RedoOp::Copy {
                    change,
                    folder,
                    items,
                }
            } else {
                RedoOp::Move {
                    change,
                    folder,
                    items,
                }
            }
        }
        10 => {
            let change = r.i64()?;
            let n = r.count(4)?;
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(r.i32()?);
            }
            RedoOp::Delete { change, ids }
        }
        11 => RedoOp::Abort { seq: r.u64()? },
        12 => RedoOp::CreateTag {
            change: r.i64()?,
            id: r.i32()?,
            name: r.string()?,
            color: r.i32()?,
        },
        13 => RedoOp::RenameTag {
            change: r.i64()?,
            id: r.i32()?,
            name: r.string()?,
        },
        14 => RedoOp::DeleteTag {
            change: r.i64()?,
            id: r.i32()?,
        },
        15 => {
            let change = r.i64()?;
            let n = r.count(8)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((r.i32()?, r.ids()?));
            }
            RedoOp::SetTags { change, items }
        }
        other => super::codec_items::decode_item_op(other, &mut r)?,
    };
    if r.pos != body.len() {
        return Err(DecodeError::Malformed("trailing bytes"));
    }
    Ok(RedoRecord {
        seq,
        timestamp_ms,
        mailbox,
        op,
    })
}

fn create_message(r: &mut Reader<'_>) -> Result<RedoOp, DecodeError> {
    let change = r.i64()?;
    let id = r.i32()?;
    let folder = r.i32()?;
    let flags = r.u32()?;
    let date_ms = r.i64()?;
    let size = r.u64()?;
    let digest = r.string()?;
    let subject = r.string()?;
    let sender = r.string()?;
    let recipients = r.string()?;
    let message_id = match r.u8()? {
        0 => None,
        1 => Some(r.string()?),
        _ => return Err(DecodeError::Malformed("option tag")),
    };
    // Older records end after message_id (before tags) or after tags (before the
    // conversation fields).
    let tags = if r.more() { r.ids()? } else { Vec::new() };
    let (conv, conv_promote) = if r.more() {
        (r.i32()?, r.ids()?)
    } else {
        (0, Vec::new())
    };
    Ok(RedoOp::CreateMessage {
        change,
        id,
        folder,
        flags,
        date_ms,
        size,
        digest,
        subject,
        sender,
        recipients,
        message_id,
        tags,
        conv,
        conv_promote,
    })
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
