//! The attribute table. Sorted access goes through [`sorted_index`].

use std::sync::OnceLock;

use super::{AttrDef, AttrType, Cardinality, Inherit};
use crate::entry::EntryKind::{self, *};

const ACCT: &[EntryKind] = &[Account, Cos];
const SERVER: &[EntryKind] = &[Server, GlobalConfig];

const fn def(
    name: &'static str,
    ty: AttrType,
    cardinality: Cardinality,
    on: &'static [EntryKind],
    default: &'static [&'static str],
    inherit: Inherit,
    requires_restart: bool,
    desc: &'static str,
) -> AttrDef {
    AttrDef {
        name,
        ty,
        cardinality,
        on,
        default,
        inherit,
        requires_restart,
        min: None,
        max: None,
        desc,
    }
}

use Cardinality::{Multi, Single};

/// Every attribute zcs knows.
pub static ATTRS: &[AttrDef] = &[
    def(
        "zimbraAccountStatus",
        AttrType::Enum(&["active", "maintenance", "locked", "closed", "lockout", "pending"]),
        Single,
        &[Account],
        &["active"],
        Inherit::None,
        false,
        "account status",
    ),
    def(
        "zimbraMailAlias",
        AttrType::Email,
        Multi,
        &[Account, DistributionList],
        &[],
        Inherit::None,
        false,
        "addresses that deliver to this entry",
    ),
    def(
        "zimbraMailQuota",
        AttrType::Size,
        Single,
        ACCT,
        &["0"],
        Inherit::AccountCos,
        false,
        "mailbox quota in bytes; 0 is unlimited",
    ),
    def(
        "zimbraImapBindPort",
        AttrType::Port,
        Single,
        SERVER,
        &["7143"],
        Inherit::ServerGlobal,
        true,
        "port the IMAP server listens on",
    ),
    def(
        "zimbraLmtpBindPort",
        AttrType::Port,
        Single,
        SERVER,
        &["7025"],
        Inherit::ServerGlobal,
        true,
        "port the LMTP server listens on",
    ),
    def(
        "zimbraSmtpPort",
        AttrType::Port,
        Single,
        &[Server, GlobalConfig, Domain],
        &["25"],
        Inherit::ServerGlobal,
        true,
        "SMTP port",
    ),
];

/// Indexes into [`ATTRS`] ordered by lower-cased name, built once.
pub(super) fn sorted_index() -> &'static [usize] {
    static INDEX: OnceLock<Vec<usize>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut idx: Vec<usize> = (0..ATTRS.len()).collect();
        idx.sort_by_key(|&i| ATTRS[i].name.to_ascii_lowercase());
        idx
    })
}
