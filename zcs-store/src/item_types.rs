//! The plain data of the item model beyond messages and folders: per-account settings
//! a mailbox handle carries, conversations, contacts, calendar items, documents,
//! mountpoints, search folders, grants, the dumpster and purge reports.

use zcs_core::{Flags, ItemId, ItemKind, ZimbraId};

use crate::thread::ThreadingAlgorithm;

/// Account settings a [`crate::Mailbox`] handle applies; the store does not read the
/// directory, the caller passes the account's effective values
/// ([`crate::Mailbox::with_settings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxSettings {
    /// `zimbraMailThreadingAlgorithm` (default `references`).
    pub threading: ThreadingAlgorithm,
    /// `zimbraDumpsterEnabled`: hard deletes of messages go to the dumpster.
    pub dumpster_enabled: bool,
    /// `zimbraContactMaxNumEntries`: most contacts across all address books; 0 is
    /// unlimited.
    pub contact_max_entries: u32,
    /// `zimbraNotebookMaxRevisions`: most revisions kept per document; 0 keeps all.
    pub notebook_max_revisions: u32,
}

impl Default for MailboxSettings {
    /// Zimbra's defaults: `references` threading, no dumpster, 10000 contacts, every
    /// revision kept.
    fn default() -> Self {
        MailboxSettings {
            threading: ThreadingAlgorithm::References,
            dumpster_enabled: false,
            contact_max_entries: 10_000,
            notebook_max_revisions: 0,
        }
    }
}

/// A conversation: its messages' union of flags and tags, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// Positive for a real conversation; `-id` of its only message for a virtual one.
    pub id: ItemId,
    /// The normalised subject (`Re:`/`Fwd:`/`[list]` prefixes stripped).
    pub subject: String,
    /// Number of messages (trash and junk included, as Zimbra counts).
    pub messages: u32,
    /// Number of unread messages.
    pub unread: u32,
    /// Union of the messages' flags ([`Flags::UNREAD`] when any is unread).
    pub flags: Flags,
    /// Union of the messages' tag names, sorted.
    pub tags: Vec<String>,
    /// Highest change number among the conversation and its messages.
    pub modseq: i64,
    /// Date of the newest message (ms).
    pub date_ms: i64,
}

impl Conversation {
    /// Whether this is a virtual conversation (one message, no conversation row).
    pub fn is_virtual(&self) -> bool {
        self.id.0 < 0
    }
}

/// How a contact group names a member (Zimbra's `m type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberKind {
    /// `C`: a contact item of this mailbox, by id.
    ContactRef,
    /// `G`: a GAL entry, by its GAL id.
    GalRef,
    /// `I`: an inline address.
    Inline,
}

impl MemberKind {
    /// The one-letter form (`C`, `G`, `I`).
    pub fn code(self) -> u8 {
        match self {
            MemberKind::ContactRef => b'C',
            MemberKind::GalRef => b'G',
            MemberKind::Inline => b'I',
        }
    }

    /// The kind for a one-letter form (any case).
    pub fn from_code(c: u8) -> Option<MemberKind> {
        match c.to_ascii_uppercase() {
            b'C' => Some(MemberKind::ContactRef),
            b'G' => Some(MemberKind::GalRef),
            b'I' => Some(MemberKind::Inline),
            _ => None,
        }
    }
}

/// One member of a contact group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContactMember {
    /// How `value` names the member.
    pub kind: MemberKind,
    /// A contact id, a GAL id or an address.
    pub value: String,
}

/// A contact's content as given to create or replace it: its fields and its group
/// members.
pub type ContactCard = (Vec<(String, String)>, Vec<ContactMember>);

/// A contact or contact group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The item id.
    pub id: ItemId,
    /// The address book folder (Contacts 7, Emailed Contacts 13 or a user one).
    pub folder: ItemId,
    /// Zimbra flag bits.
    pub flags: Flags,
    /// Zimbra contact attributes (`firstName`, `lastName`, `email`, `email2`,
    /// `company`, `type`=`group` for groups, ...), in the order given.
    pub fields: Vec<(String, String)>,
    /// Group members (empty for a plain contact).
    pub members: Vec<ContactMember>,
    /// Whether this is a contact group (`type` is `group`).
    pub is_group: bool,
    /// Change number of the last change (Zimbra's `ms`).
    pub modseq: i64,
    /// Change number of the last change of its fields or members (Zimbra's saved
    /// sequence, `rev`).
    pub revision: i64,
    /// Zimbra's item date (`d`), ms: when it was created, then when its fields or
    /// members last changed.
    pub date_ms: i64,
    /// When it last changed in any way (fields, folder, flags, tags), ms; Zimbra's
    /// change date (`md`, which SOAP writes in seconds).
    pub changed_ms: i64,
}

impl Contact {
    /// The value of field `name`, if set.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An appointment or task, its VCALENDAR kept whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalItem {
    /// The item id.
    pub id: ItemId,
    /// [`ItemKind::Appointment`] or [`ItemKind::Task`].
    pub kind: ItemKind,
    /// The calendar or task folder.
    pub folder: ItemId,
    /// Zimbra flag bits.
    pub flags: Flags,
    /// The iCalendar UID (unique per mailbox).
    pub uid: String,
    /// SUMMARY.
    pub summary: String,
    /// Start of the first instance (ms), when it has one.
    pub start_ms: Option<i64>,
    /// End of the last instance (ms); `None` when open-ended or unknown.
    pub end_ms: Option<i64>,
    /// Whether it has an RRULE or RDATE.
    pub recurring: bool,
    /// ORGANIZER address.
    pub organizer: String,
    /// ATTENDEE addresses.
    pub attendees: Vec<String>,
    /// The VCALENDAR text as stored.
    pub ical: String,
    /// Change number of the last change.
    pub modseq: i64,
}

/// One occurrence of a calendar item in a time range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalInstance {
    /// The calendar item.
    pub item: ItemId,
    /// Instance start (ms).
    pub start_ms: i64,
    /// Instance end (ms).
    pub end_ms: i64,
}

/// A document in the Briefcase (or another document folder), at its current revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The item id.
    pub id: ItemId,
    /// The folder holding it.
    pub folder: ItemId,
    /// Its name (unique in the folder).
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Current revision number (from 1).
    pub version: i32,
    /// Size of the current revision.
    pub size: u64,
    /// Blob digest of the current revision.
    pub blob_digest: String,
    /// Who saved the current revision.
    pub author: String,
    /// Change number of the last change.
    pub modseq: i64,
}

/// One kept revision of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// Revision number.
    pub version: i32,
    /// Size of its content.
    pub size: u64,
    /// Its blob digest.
    pub blob_digest: String,
    /// Who saved it.
    pub author: String,
    /// When it was saved (ms).
    pub date_ms: i64,
}

/// A mountpoint: a folder-like item showing another account's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mountpoint {
    /// The item id.
    pub id: ItemId,
    /// The folder it sits in.
    pub parent: ItemId,
    /// Its name.
    pub name: String,
    /// The owner of the shared folder.
    pub owner: ZimbraId,
    /// The shared folder's id in the owner's mailbox.
    pub remote_id: ItemId,
    /// Default view of the shared folder.
    pub view: String,
    /// Its colour (CreateMountpoint's `color`/`rgb`, FolderAction `color`).
    pub color: crate::FolderColor,
    /// Change number of its creation.
    pub modseq: i64,
}

/// A saved search shown as a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchFolder {
    /// The item id.
    pub id: ItemId,
    /// The folder it sits in.
    pub parent: ItemId,
    /// Its name.
    pub name: String,
    /// The search query (Zimbra query grammar).
    pub query: String,
    /// Item types searched (`conversation`, `message`, ...; comma-separated).
    pub types: String,
    /// Sort order (`dateDesc`, ...).
    pub sort_by: String,
    /// Its colour, as a folder's.
    pub color: crate::FolderColor,
    /// Change number of its creation.
    pub modseq: i64,
}

/// A hard-deleted message held in the dumpster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpsterItem {
    /// The message's id (kept in the dumpster and on recovery).
    pub id: ItemId,
    /// The folder it was deleted from.
    pub folder: ItemId,
    /// Size in bytes.
    pub size: u64,
    /// Decoded subject.
    pub subject: String,
    /// Sender as stored.
    pub sender: String,
    /// Internal date (ms).
    pub date_ms: i64,
    /// When it was deleted (ms).
    pub deleted_ms: i64,
    /// Change number of the deletion.
    pub deleted_change: i64,
    /// Blob digest.
    pub blob_digest: String,
}

/// The lifetimes [`crate::Mailbox::purge`] applies, in ms; 0 means never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgePolicy {
    /// `zimbraMailMessageLifetime`: any message older than this (by internal date).
    pub message_lifetime_ms: i64,
    /// `zimbraMailTrashLifetime`: messages in Trash since longer than this (counted
    /// from the last change, which is the move into Trash).
    pub trash_lifetime_ms: i64,
    /// `zimbraMailSpamLifetime`: messages in Junk since longer than this.
    pub spam_lifetime_ms: i64,
    /// `zimbraMailDumpsterLifetime`: dumpster items deleted longer ago than this.
    pub dumpster_lifetime_ms: i64,
    /// `zimbraDumpsterEnabled`: purged messages go to the dumpster.
    pub dumpster_enabled: bool,
    /// `zimbraDumpsterPurgeEnabled`: false is legal hold (the dumpster is never purged).
    pub dumpster_purge_enabled: bool,
}

/// What [`crate::Mailbox::purge`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Messages removed from folders (into the dumpster when it is enabled).
    pub messages: Vec<ItemId>,
    /// Contacts, calendar items and documents removed from Trash and Junk (into the
    /// dumpster likewise).
    pub items: Vec<ItemId>,
    /// Whether those went to the dumpster.
    pub to_dumpster: bool,
    /// Dumpster items removed for good.
    pub dumpster_purged: Vec<ItemId>,
}

/// What [`crate::Store::sweep_orphan_blobs`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Blobs listed.
    pub examined: usize,
    /// Unreferenced blobs older than the grace period, removed.
    pub removed: usize,
    /// Unreferenced blobs younger than the grace period, left alone.
    pub young: usize,
}

/// A quota warning to send (`zimbraQuotaWarnPercent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaWarning {
    /// Bytes used.
    pub used: u64,
    /// The quota in bytes.
    pub quota: u64,
    /// The percentage crossed.
    pub percent: u32,
}
