//! Mail item kinds, the fixed system folder ids and Zimbra's item flag bits.

use serde::{Deserialize, Serialize};

/// The kind of a mailbox item, with Zimbra's numeric type codes (`mail_item.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum ItemKind {
    Folder = 1,
    SearchFolder = 2,
    Tag = 3,
    Conversation = 4,
    Message = 5,
    Contact = 6,
    Document = 8,
    Note = 9,
    Flag = 10,
    Appointment = 11,
    VirtualConversation = 12,
    Mountpoint = 13,
    Task = 15,
    Chat = 16,
    Comment = 17,
    Link = 18,
}

impl ItemKind {
    /// Zimbra's numeric type code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The kind for a numeric type code; `None` for codes Zimbra deprecated (7 invite,
    /// 14 wiki) or never used.
    pub fn from_code(code: u8) -> Option<Self> {
        use ItemKind::*;
        Some(match code {
            1 => Folder,
            2 => SearchFolder,
            3 => Tag,
            4 => Conversation,
            5 => Message,
            6 => Contact,
            8 => Document,
            9 => Note,
            10 => Flag,
            11 => Appointment,
            12 => VirtualConversation,
            13 => Mountpoint,
            15 => Task,
            16 => Chat,
            17 => Comment,
            18 => Link,
            _ => return None,
        })
    }
}

/// The fixed ids of the system folders every mailbox has.
pub mod folder {
    /// The root of the user-visible folder tree (Zimbra's USER_ROOT).
    pub const USER_ROOT: i32 = 1;
    pub const INBOX: i32 = 2;
    pub const TRASH: i32 = 3;
    pub const JUNK: i32 = 4;
    pub const SENT: i32 = 5;
    pub const DRAFTS: i32 = 6;
    pub const CONTACTS: i32 = 7;
    pub const TAGS: i32 = 8;
    pub const CONVERSATIONS: i32 = 9;
    pub const CALENDAR: i32 = 10;
    /// The hidden root above USER_ROOT.
    pub const ROOT: i32 = 11;
    pub const NOTEBOOK: i32 = 12;
    pub const EMAILED_CONTACTS: i32 = 13;
    pub const CHATS: i32 = 14;
    pub const TASKS: i32 = 15;
    pub const BRIEFCASE: i32 = 16;

    /// The user-visible system folders created with every mailbox: id, name and the
    /// default view (`message`, `contact`, `appointment`, `task`, `document`).
    pub const SYSTEM_FOLDERS: &[(i32, &str, &str)] = &[
        (INBOX, "Inbox", "message"),
        (TRASH, "Trash", "message"),
        (JUNK, "Junk", "message"),
        (SENT, "Sent", "message"),
        (DRAFTS, "Drafts", "message"),
        (CONTACTS, "Contacts", "contact"),
        (CALENDAR, "Calendar", "appointment"),
        (EMAILED_CONTACTS, "Emailed Contacts", "contact"),
        (CHATS, "Chats", "message"),
        (TASKS, "Tasks", "task"),
        (BRIEFCASE, "Briefcase", "document"),
    ];
}

/// Zimbra's item flags as a bit set: flag id `-n` is bit `1 << (n - 1)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags(pub u32);

/// One row of the flag table: bit, IMAP name (if IMAP shows it) and SOAP letter.
pub struct FlagInfo {
    pub bit: u32,
    pub imap: Option<&'static str>,
    pub soap: Option<char>,
}

impl Flags {
    pub const SENT: u32 = 1;
    pub const ATTACHED: u32 = 1 << 1;
    pub const ANSWERED: u32 = 1 << 2;
    pub const FORWARDED: u32 = 1 << 3;
    pub const COPIED: u32 = 1 << 4;
    pub const FLAGGED: u32 = 1 << 5;
    pub const DRAFT: u32 = 1 << 6;
    pub const DELETED: u32 = 1 << 7;
    pub const NOTIFIED: u32 = 1 << 8;
    pub const UNREAD: u32 = 1 << 9;
    pub const URGENT: u32 = 1 << 10;
    pub const BULK: u32 = 1 << 11;
    pub const VERSIONED: u32 = 1 << 12;
    pub const POPPED: u32 = 1 << 14;
    pub const NOTE: u32 = 1 << 15;
    pub const PRIORITY: u32 = 1 << 16;
    pub const POST: u32 = 1 << 17;
    pub const MUTED: u32 = 1 << 18;
    pub const SUBSCRIBED: u32 = 1 << 19;
    pub const EXCLUDE_FREEBUSY: u32 = 1 << 20;
    pub const CHECKED: u32 = 1 << 21;
    pub const NO_INHERIT: u32 = 1 << 22;
    pub const INVITE: u32 = 1 << 23;
    pub const SYNC_FOLDER: u32 = 1 << 24;
    pub const SYNC: u32 = 1 << 25;
    pub const NO_INFERIORS: u32 = 1 << 26;
    pub const ARCHIVED: u32 = 1 << 27;
    pub const GLOBAL: u32 = 1 << 28;
    pub const IN_DUMPSTER: u32 = 1 << 29;

    /// The flags an IMAP client sees and sets, in the order IMAP's FLAGS response
    /// lists them. `\Seen` is the inverse of [`Flags::UNREAD`] and is handled apart.
    pub const IMAP_SYSTEM: &[(u32, &'static str)] = &[
        (Self::ANSWERED, "\\Answered"),
        (Self::FLAGGED, "\\Flagged"),
        (Self::DELETED, "\\Deleted"),
        (Self::DRAFT, "\\Draft"),
        (Self::FORWARDED, "$Forwarded"),
    ];

    /// The SOAP letters of the flags the SOAP API shows (`f="ua"`).
    pub const SOAP_LETTERS: &[(u32, char)] = &[
        (Self::SENT, 's'),
        (Self::ATTACHED, 'a'),
        (Self::ANSWERED, 'r'),
        (Self::FORWARDED, 'w'),
        (Self::FLAGGED, 'f'),
        (Self::DRAFT, 'd'),
        (Self::DELETED, 'x'),
        (Self::NOTIFIED, 'n'),
        (Self::UNREAD, 'u'),
        (Self::URGENT, '!'),
        (Self::BULK, '?'),
        (Self::VERSIONED, '/'),
        (Self::POPPED, 'p'),
        (Self::NOTE, 't'),
        (Self::PRIORITY, '+'),
        (Self::POST, '^'),
        (Self::MUTED, '('),
        (Self::SUBSCRIBED, '*'),
        (Self::EXCLUDE_FREEBUSY, 'b'),
        (Self::CHECKED, '#'),
        (Self::NO_INHERIT, 'i'),
        (Self::INVITE, 'v'),
        (Self::SYNC_FOLDER, 'y'),
        (Self::SYNC, '~'),
        (Self::NO_INFERIORS, 'o'),
        (Self::ARCHIVED, '@'),
        (Self::GLOBAL, 'g'),
    ];

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// These flags with `mask` set or cleared.
    pub fn with(self, mask: u32, on: bool) -> Flags {
        if on {
            Flags(self.0 | mask)
        } else {
            Flags(self.0 & !mask)
        }
    }

    /// The SOAP `f` attribute: one letter per set flag, in table order.
    pub fn to_soap(self) -> String {
        Self::SOAP_LETTERS
            .iter()
            .filter(|(bit, _)| self.contains(*bit))
            .map(|(_, c)| *c)
            .collect()
    }

    /// Parses a SOAP `f` attribute; unknown letters are ignored, as Zimbra does.
    pub fn from_soap(text: &str) -> Flags {
        let mut bits = 0;
        for ch in text.chars() {
            if let Some((bit, _)) = Self::SOAP_LETTERS.iter().find(|(_, c)| *c == ch) {
                bits |= bit;
            }
        }
        Flags(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_follow_zimbra_ids() {
        // bit = 1 << (-id - 1): \Unread is id -10, \Flagged -6, \Deleted -8.
        assert_eq!(Flags::UNREAD, 1 << 9);
        assert_eq!(Flags::FLAGGED, 1 << 5);
        assert_eq!(Flags::DELETED, 1 << 7);
        assert_eq!(Flags::ARCHIVED, 1 << 27);
    }

    #[test]
    fn soap_letters_round_trip() {
        let f = Flags(Flags::UNREAD | Flags::FLAGGED | Flags::ATTACHED);
        assert_eq!(f.to_soap(), "afu");
        assert_eq!(Flags::from_soap("afu"), f);
        assert_eq!(Flags::from_soap("zz"), Flags(0));
    }

    #[test]
    fn item_kind_codes_round_trip() {
        for code in 0..=20u8 {
            if let Some(kind) = ItemKind::from_code(code) {
                assert_eq!(kind.code(), code);
            }
        }
        assert_eq!(ItemKind::from_code(7), None);
    }
}
