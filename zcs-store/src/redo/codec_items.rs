//! The redo payloads of the item kinds beyond messages and folders: dumpster moves,
//! contacts, calendar items, documents, mountpoints and search folders, and folder
//! grants, and a message's content rewritten in place. Pure code beside `super::codec`,
//! which frames them; decoding never panics.
//!
//! Each record carries everything replay needs (ids, change numbers, the whole
//! contact field map or iCalendar text), so replay reproduces the original rows.

use super::codec::{DecodeError, RedoOp};
use super::wire::{Reader, len_u32, put_i32, put_i64, put_ids, put_str, put_u32, put_u64};

/// A contact or contact group, whole (`RedoOp::PutContact`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The contact's item id (new, or the contact being replaced).
    pub id: i32,
    /// The address book folder holding it.
    pub folder: i32,
    /// Zimbra flag bits.
    pub flags: u32,
    /// Zimbra contact attributes (`firstName`, `email`, `type`=`group`, ...), in order.
    pub fields: Vec<(String, String)>,
    /// Group members: (kind `C` contact ref, `G` GAL ref, `I` inline address; value).
    pub members: Vec<(u8, String)>,
}

/// An appointment or task, whole (`RedoOp::PutCalItem`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalItemRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The item id (new, or the item being replaced).
    pub id: i32,
    /// The calendar or task folder holding it.
    pub folder: i32,
    /// `zcs_core::ItemKind` code: 11 appointment, 15 task.
    pub kind: u8,
    /// Zimbra flag bits.
    pub flags: u32,
    /// The whole VCALENDAR text.
    pub ical: String,
}

/// One saved document revision (`RedoOp::SaveDocument`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The document's item id.
    pub id: i32,
    /// The folder holding it (Briefcase 16 or a document folder).
    pub folder: i32,
    /// The document's name (unique in its folder).
    pub name: String,
    /// MIME type of the content.
    pub content_type: String,
    /// The revision number saved (1 for a new document).
    pub version: i32,
    /// Size of the revision's blob.
    pub size: u64,
    /// The revision's blob digest.
    pub digest: String,
    /// Who saved it (an account name or id, as the caller gives it).
    pub author: String,
    /// Older revisions removed by this save (`zimbraNotebookMaxRevisions`).
    pub drop_versions: Vec<i32>,
}

/// A mountpoint or search folder (`RedoOp::CreateLink`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The new item's id.
    pub id: i32,
    /// `zcs_core::ItemKind` code: 13 mountpoint, 2 search folder.
    pub kind: u8,
    /// The folder it sits in.
    pub parent: i32,
    /// Its name (unique among the parent's children).
    pub name: String,
    /// Mountpoint: the owner's zimbraId (empty for search folders).
    pub owner: String,
    /// Mountpoint: the folder id in the owner's mailbox (0 for search folders).
    pub remote_id: i32,
    /// Default view (mountpoints) or empty.
    pub view: String,
    /// Search folder: the query (empty for mountpoints).
    pub query: String,
    /// Search folder: the item types searched (`conversation`, `message`, ...).
    pub types: String,
    /// Search folder: the sort order (`dateDesc`, ...).
    pub sort: String,
}

/// A grant on a folder (`RedoOp::SetGrant`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The folder granted on.
    pub folder: i32,
    /// Grantee type code (see `crate::GranteeType::code`).
    pub grantee_type: u8,
    /// The grantee: a zimbraId, a domain name, a guest address, or empty.
    pub grantee: String,
    /// Rights letters (`rwidaxp`); empty revokes the grant.
    pub rights: String,
    /// Guest password or access key (empty when none).
    pub secret: String,
}

/// A message's content rewritten in place (`RedoOp::ReplaceMessage`, a draft saved
/// again): the new blob and its header summary; id, folder, tags and conversation stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplaceMessageRecord {
    /// The change number the op takes.
    pub change: i64,
    /// The message's item id (kept).
    pub id: i32,
    /// The message's new IMAP UID (an id taken from the mailbox's sequence).
    pub uid: i32,
    /// Zimbra flag bits after the rewrite.
    pub flags: u32,
    /// The new internal date (ms since the epoch).
    pub date_ms: i64,
    /// Size of the new blob.
    pub size: u64,
    /// The new blob's item digest.
    pub digest: String,
    /// The new header summary, as `CreateMessage` carries it.
    pub subject: String,
    /// The new sender summary.
    pub sender: String,
    /// The new recipients summary.
    pub recipients: String,
    /// The new Message-ID, if any.
    pub message_id: Option<String>,
}

/// Encodes the payload of the ops this module owns; the codec calls it for every op it
/// does not encode itself.
pub(super) fn encode_item_op(op: &RedoOp, b: &mut Vec<u8>) {
    match op {
        RedoOp::DeleteToDumpster { change, ids }
        | RedoOp::PurgeDumpster { change, ids }
        | RedoOp::DeleteItems { change, ids } => {
            put_i64(b, *change);
            put_ids(b, ids);
        }
        RedoOp::RecoverFromDumpster { change, items } => {
            put_i64(b, *change);
            put_u32(b, len_u32(items.len()));
            for (id, folder, uid) in items {
                put_i32(b, *id);
                put_i32(b, *folder);
                put_i32(b, *uid);
            }
        }
        RedoOp::PutContact(c) => {
            put_i64(b, c.change);
            put_i32(b, c.id);
            put_i32(b, c.folder);
            put_u32(b, c.flags);
            put_u32(b, len_u32(c.fields.len()));
            for (k, v) in &c.fields {
                put_str(b, k);
                put_str(b, v);
            }
            put_u32(b, len_u32(c.members.len()));
            for (k, v) in &c.members {
                b.push(*k);
                put_str(b, v);
            }
        }
        RedoOp::PutCalItem(c) => {
            put_i64(b, c.change);
            put_i32(b, c.id);
            put_i32(b, c.folder);
            b.push(c.kind);
            put_u32(b, c.flags);
            put_str(b, &c.ical);
        }
        RedoOp::SaveDocument(d) => {
            put_i64(b, d.change);
            put_i32(b, d.id);
            put_i32(b, d.folder);
            put_str(b, &d.name);
            put_str(b, &d.content_type);
            put_i32(b, d.version);
            put_u64(b, d.size);
            put_str(b, &d.digest);
            put_str(b, &d.author);
            put_ids(b, &d.drop_versions);
        }
        RedoOp::CreateLink(l) => {
            put_i64(b, l.change);
            put_i32(b, l.id);
            b.push(l.kind);
            put_i32(b, l.parent);
            put_str(b, &l.name);
            put_str(b, &l.owner);
            put_i32(b, l.remote_id);
            put_str(b, &l.view);
            put_str(b, &l.query);
            put_str(b, &l.types);
            put_str(b, &l.sort);
        }
        RedoOp::SetGrant(g) => {
            put_i64(b, g.change);
            put_i32(b, g.folder);
            b.push(g.grantee_type);
            put_str(b, &g.grantee);
            put_str(b, &g.rights);
            put_str(b, &g.secret);
        }
        RedoOp::RestoreMailbox {
            account,
            label,
            source_mailbox,
        } => {
            put_str(b, &account.to_string());
            put_str(b, label);
            put_i64(b, *source_mailbox);
        }
        RedoOp::DeleteItemsToDumpster { change, ids } => {
            put_i64(b, *change);
            put_ids(b, ids);
        }
        RedoOp::RecoverItemsFromDumpster { change, items } => {
            put_i64(b, *change);
            put_u32(b, len_u32(items.len()));
            for (id, folder) in items {
                put_i32(b, *id);
                put_i32(b, *folder);
            }
        }
        RedoOp::SetRetentionPolicy {
            change,
            folder,
            policy,
        } => {
            put_i64(b, *change);
            put_i32(b, *folder);
            put_str(b, policy);
        }
        RedoOp::SetTagColor { change, id, color } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_i32(b, *color);
        }
        RedoOp::SetFolderColor {
            change,
            id,
            color,
            rgb,
        } => {
            put_i64(b, *change);
            put_i32(b, *id);
            put_i32(b, *color);
            put_i32(b, *rgb);
        }
        RedoOp::ReplaceMessage(m) => {
            put_i64(b, m.change);
            put_i32(b, m.id);
            put_i32(b, m.uid);
            put_u32(b, m.flags);
            put_i64(b, m.date_ms);
            put_u64(b, m.size);
            put_str(b, &m.digest);
            put_str(b, &m.subject);
            put_str(b, &m.sender);
            put_str(b, &m.recipients);
            match &m.message_id {
                None => b.push(0),
                Some(v) => {
                    b.push(1);
                    put_str(b, v);
                }
            }
        }
        // The codec encodes every other op itself.
        other => super::codec_folder::encode_folder_op(other, b),
    }
}

/// Decodes the payload of op `code` when this module owns it.
pub(super) fn decode_item_op(code: u8, r: &mut Reader<'_>) -> Result<RedoOp, DecodeError> {
    Ok(match code {
        16 => RedoOp::DeleteToDumpster {
            change: r.i64()?,
            ids: r.ids()?,
        },
        17 => {
            let change = r.i64()?;
            let n = r.count(12)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((r.i32()?, r.i32()?, r.i32()?));
            }
            RedoOp::RecoverFromDumpster { change, items }
        }
        18 => RedoOp::PurgeDumpster {
            change: r.i64()?,
            ids: r.ids()?,
        },
        19 => RedoOp::DeleteItems {
            change: r.i64()?,
            ids: r.ids()?,
        },
        20 => {
            let change = r.i64()?;
            let id = r.i32()?;
            let folder = r.i32()?;
            let flags = r.u32()?;
            let n = r.count(8)?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                fields.push((r.string()?, r.string()?));
            }
            let n = r.count(5)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push((r.u8()?, r.string()?));
            }
            RedoOp::PutContact(ContactRecord {
                change,
                id,
                folder,
                flags,
                fields,
                members,
            })
        }
        21 => RedoOp::PutCalItem(CalItemRecord {
            change: r.i64()?,
            id: r.i32()?,
            folder: r.i32()?,
            kind: r.u8()?,
            flags: r.u32()?,
            ical: r.string()?,
        }),
        22 => RedoOp::SaveDocument(DocumentRecord {
            change: r.i64()?,
            id: r.i32()?,
            folder: r.i32()?,
            name: r.string()?,
            content_type: r.string()?,
            version: r.i32()?,
            size: r.u64()?,
            digest: r.string()?,
            author: r.string()?,
            drop_versions: r.ids()?,
        }),
        23 => RedoOp::CreateLink(LinkRecord {
            change: r.i64()?,
            id: r.i32()?,
            kind: r.u8()?,
            parent: r.i32()?,
            name: r.string()?,
            owner: r.string()?,
            remote_id: r.i32()?,
            view: r.string()?,
            query: r.string()?,
            types: r.string()?,
            sort: r.string()?,
        }),
        24 => RedoOp::SetGrant(GrantRecord {
            change: r.i64()?,
            folder: r.i32()?,
            grantee_type: r.u8()?,
            grantee: r.string()?,
            rights: r.string()?,
            secret: r.string()?,
        }),
        25 => RedoOp::RestoreMailbox {
            account: r
                .string()?
                .parse()
                .map_err(|_| DecodeError::Malformed("account id"))?,
            label: r.string()?,
            source_mailbox: r.i64()?,
        },
        26 => RedoOp::DeleteItemsToDumpster {
            change: r.i64()?,
            ids: r.ids()?,
        },
        27 => {
            let change = r.i64()?;
            let n = r.count(8)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((r.i32()?, r.i32()?));
            }
            RedoOp::RecoverItemsFromDumpster { change, items }
        }
        28 => RedoOp::SetRetentionPolicy {
            change: r.i64()?,
            folder: r.i32()?,
            policy: r.string()?,
        },
        29 => RedoOp::SetTagColor {
            change: r.i64()?,
            id: r.i32()?,
            color: r.i32()?,
        },
        30 => RedoOp::SetFolderColor {
            change: r.i64()?,
            id: r.i32()?,
            color: r.i32()?,
            rgb: r.i32()?,
        },
        31 => RedoOp::ReplaceMessage(ReplaceMessageRecord {
            change: r.i64()?,
            id: r.i32()?,
            uid: r.i32()?,
            flags: r.u32()?,
            date_ms: r.i64()?,
            size: r.u64()?,
            digest: r.string()?,
            subject: r.string()?,
            sender: r.string()?,
            recipients: r.string()?,
            message_id: match r.u8()? {
                0 => None,
                1 => Some(r.string()?),
                _ => return Err(DecodeError::Malformed("option tag")),
            },
        }),
        other => super::codec_folder::decode_folder_op(other, r)?,
    })
}
