//! Identifiers: the directory's `zimbraId`, mailbox and item ids, change numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A directory entry's `zimbraId`: a UUID that is never reused, even after the entry
/// is deleted and its name is taken by a new entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ZimbraId(Uuid);

impl ZimbraId {
    /// A fresh random id (UUID v4).
    pub fn new() -> Self {
        ZimbraId(Uuid::new_v4())
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for ZimbraId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ZimbraId {
    /// Zimbra's spelling: lower-case hyphenated UUID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl FromStr for ZimbraId {
    type Err = uuid::Error;

    /// Accepts the hyphenated form in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(ZimbraId)
    }
}

/// The numeric id of a mailbox on one server (`mailbox.id` in Zimbra's schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MailboxId(pub i64);

impl fmt::Display for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The id of an item inside one mailbox. System folders use fixed ids below 256
/// (see [`crate::folder`]); user items start at [`ItemId::FIRST_USER_ID`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId(pub i32);

impl ItemId {
    /// The first id handed to a user-created item (Zimbra's FIRST_USER_ID is 256, and
    /// the first item created gets the next id, 257).
    pub const FIRST_USER_ID: i32 = 257;
    /// The first id handed to a user tag.
    pub const FIRST_TAG_ID: i32 = 64;
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A mailbox change number: bumped by every change, it is IMAP's MODSEQ and the SOAP
/// API's sync token.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ChangeNumber(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zimbra_id_round_trips_and_is_lower_case() {
        let id = ZimbraId::new();
        let text = id.to_string();
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<ZimbraId>().unwrap(), id);
        assert_eq!(text.to_uppercase().parse::<ZimbraId>().unwrap(), id);
        assert!("not-a-uuid".parse::<ZimbraId>().is_err());
    }
}
