//! The attribute registry: every `zimbra*` attribute zcs knows (plus the standard LDAP
//! attributes entries carry), with its type, cardinality, the entry kinds it applies to,
//! its default, how it inherits and whether a change needs a restart. Lookups are
//! case-insensitive and follow the guide's misspellings listed in `aliases.tsv`.
//!
//! The table itself is data (`attrs.tsv`), turned into `table.rs` by
//! `tools/gen_attrs.py`. Parsing values lives in [`value`], checking them in
//! [`validate`], inheritance in [`inherit`] and `zmprov desc` output in [`describe`].
//! Storing entries is not this module's business: that is zcs-directory's.

mod describe;
pub mod inherit;
#[rustfmt::skip]
mod table;
pub mod validate;
pub mod value;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::entry::EntryKind;

pub use describe::describe;
pub use inherit::{Scope, chain_kinds, resolve, resolve_def};
pub use table::ATTRS;
pub use validate::{
    ValidationError, apply_edits, normalize, validate, validate_edits, validate_edits_for,
    validate_value,
};

/// The type of an attribute's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    /// Any text (Zimbra's string, astring, cstring, ostring, regex and cs_emailp);
    /// [`AttrMeta::max_len`] may bound its length.
    String,
    /// A 32-bit signed integer, optionally bounded.
    Integer,
    /// A 64-bit signed integer, optionally bounded.
    Long,
    /// `TRUE` or `FALSE` (any case on input, upper case when normalized).
    Boolean,
    /// `30d`, `2h`, `10m`, `60s`, `500ms`; a bare number is seconds.
    Duration,
    /// GeneralizedTime, `20261204162400Z`.
    Time,
    /// A size in bytes; `10MB`-style suffixes are accepted on input.
    Size,
    /// One of a fixed set of values, compared case-sensitively as Zimbra does.
    Enum(&'static [&'static str]),
    /// A bare address, `user@domain`.
    Email,
    /// An address that may carry a display name, `Name <user@domain>`.
    EmailPattern,
    /// A UUID, the form every `zimbraId` takes.
    Id,
    /// A TCP port, 0 to 65535.
    Port,
    /// A COS, named by id or by name.
    Cos,
    /// A domain name.
    Domain,
    /// An LDAP distinguished name.
    Dn,
    /// A telephone number.
    PhoneNumber,
    /// Binary data, base64 encoded.
    Binary,
}

/// How many values an attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    Single,
    Multi,
}

/// Where an unset value comes from. The chain starts at the entry the attribute is read
/// on; see [`chain_kinds`] for the exact chain each kind of entry follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inherit {
    /// Only the entry itself.
    None,
    /// Account -> its COS (or the domain's default COS) -> nothing; the COS value.
    AccountCos,
    /// Account -> COS -> global config.
    AccountCosGlobal,
    /// Account -> domain -> global config.
    AccountDomainGlobal,
    /// Server -> global config.
    ServerGlobal,
    /// Domain -> global config.
    DomainGlobal,
    /// Account -> COS -> domain -> global config (Zimbra's `accountCosDomainInherited`,
    /// e.g. `zimbraPrefTimeZoneId`: a domain value applies only when neither the
    /// account nor its COS has one).
    AccountCosDomainGlobal,
}

/// One attribute's definition.
#[derive(Clone, Copy, Debug)]
pub struct AttrDef {
    /// Canonical spelling.
    pub name: &'static str,
    pub ty: AttrType,
    pub cardinality: Cardinality,
    /// The entry kinds the attribute may be set on.
    pub on: &'static [EntryKind],
    /// Default values, applied where the chain ends without a value.
    pub default: &'static [&'static str],
    pub inherit: Inherit,
    pub requires_restart: bool,
    /// Lowest and highest allowed value for integer, long, size and duration types,
    /// in the type's base unit (bytes, milliseconds).
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// A one-line description, for `zmprov desc`.
    pub desc: &'static str,
}

impl AttrDef {
    /// Whether the attribute may be set on an entry of `kind`.
    pub fn applies_to(&self, kind: EntryKind) -> bool {
        self.on.contains(&kind)
    }

    /// Whether the attribute holds several values.
    pub fn is_multi(&self) -> bool {
        self.cardinality == Cardinality::Multi
    }

    /// The rest of what the registry knows about this attribute, or `None` for a
    /// definition that does not come from [`ATTRS`].
    pub fn meta(&self) -> Option<&'static AttrMeta> {
        // A reference into ATTRS finds its row by address; a copy by name.
        let base = ATTRS.as_ptr() as usize;
        let size = std::mem::size_of::<AttrDef>();
        let at = self as *const AttrDef as usize;
        let by_address = at
            .checked_sub(base)
            .filter(|off| off.is_multiple_of(size))
            .map(|off| off / size)
            .filter(|&i| i < ATTRS.len() && ATTRS[i].name == self.name);
        by_address
            .or_else(|| index_of(self.name))
            .map(|i| &table::META[i])
    }
}

/// Zimbra's attribute flags, as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AttrFlags(pub u16);

impl AttrFlags {
    /// Returned by `GetInfo` to the account's own client.
    pub const ACCOUNT_INFO: AttrFlags = AttrFlags(1);
    /// Returned by `GetDomainInfo` before login.
    pub const DOMAIN_INFO: AttrFlags = AttrFlags(1 << 1);
    /// A domain admin may change it.
    pub const DOMAIN_ADMIN_MODIFIABLE: AttrFlags = AttrFlags(1 << 2);
    /// Unset on an account: the COS value applies.
    pub const ACCOUNT_INHERITED: AttrFlags = AttrFlags(1 << 3);
    /// Unset on a domain: the global config value applies.
    pub const DOMAIN_INHERITED: AttrFlags = AttrFlags(1 << 4);
    /// Unset on a server: the global config value applies.
    pub const SERVER_INHERITED: AttrFlags = AttrFlags(1 << 5);
    /// Unset on an account: the COS value, then the domain value applies.
    pub const ACCOUNT_COS_DOMAIN_INHERITED: AttrFlags = AttrFlags(1 << 6);
    /// Values may hold internationalized domain names.
    pub const IDN: AttrFlags = AttrFlags(1 << 7);
    /// An always-on cluster's value wins over the server's.
    pub const SERVER_PREFER_ALWAYS_ON: AttrFlags = AttrFlags(1 << 8);
    /// Kept in ephemeral storage rather than the directory.
    pub const EPHEMERAL: AttrFlags = AttrFlags(1 << 9);
    /// Ephemeral values that expire.
    pub const EXPIRABLE: AttrFlags = AttrFlags(1 << 10);
    /// Ephemeral values with a dynamic key part.
    pub const DYNAMIC: AttrFlags = AttrFlags(1 << 11);

    const NAMES: &'static [(AttrFlags, &'static str)] = &[
        (Self::ACCOUNT_INFO, "accountInfo"),
        (Self::DOMAIN_INFO, "domainInfo"),
        (Self::DOMAIN_ADMIN_MODIFIABLE, "domainAdminModifiable"),
        (Self::ACCOUNT_INHERITED, "accountInherited"),
        (Self::DOMAIN_INHERITED, "domainInherited"),
        (Self::SERVER_INHERITED, "serverInherited"),
        (
            Self::ACCOUNT_COS_DOMAIN_INHERITED,
            "accountCosDomainInherited",
        ),
        (Self::IDN, "idn"),
        (Self::SERVER_PREFER_ALWAYS_ON, "serverPreferAlwaysOn"),
        (Self::EPHEMERAL, "ephemeral"),
        (Self::EXPIRABLE, "expirable"),
        (Self::DYNAMIC, "dynamic"),
    ];

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: AttrFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the set flags, in Zimbra's spelling and a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
    }
}

/// What the registry knows about an attribute beyond [`AttrDef`]: mostly what
/// `zmprov desc` prints.
#[derive(Clone, Copy, Debug)]
pub struct AttrMeta {
    /// Zimbra's attribute number (the last part of its OID); `None` for attributes that
    /// are not Zimbra's own.
    pub id: Option<u32>,
    /// Zimbra's name for the value type (`string`, `astring`, `gentime`, ...).
    pub zimbra_type: &'static str,
    /// Entry kinds that must carry the attribute.
    pub required_in: &'static [EntryKind],
    /// The value a fresh global config entry starts with.
    pub global_config_value: &'static [&'static str],
    /// The value the `default` COS starts with.
    pub default_cos_value: &'static [&'static str],
    pub flags: AttrFlags,
    /// Server types that must restart for a change to take effect (`mailbox`, `mta`,
    /// `nginxproxy`, ...); empty when none.
    pub restart: &'static [&'static str],
    /// Zimbra version that introduced the attribute; empty when unknown.
    pub since: &'static str,
    /// Zimbra version that deprecated it; empty when it is current.
    pub deprecated_since: &'static str,
    /// Maintained by the server; clients and admins should not change it.
    pub immutable: bool,
    /// Longest allowed value, in characters, for string-like types.
    pub max_len: Option<u32>,
}

/// Lower-cased name (attribute or alias) -> index into [`ATTRS`], built once.
fn index() -> &'static HashMap<String, usize> {
    static INDEX: OnceLock<HashMap<String, usize>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: HashMap<String, usize> = ATTRS
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.to_ascii_lowercase(), i))
            .collect();
        for (alias, target) in table::ALIASES {
            if let Some(&i) = map.get(&target.to_ascii_lowercase()) {
                map.insert(alias.to_ascii_lowercase(), i);
            }
        }
        map
    })
}

fn index_of(name: &str) -> Option<usize> {
    index().get(&name.to_ascii_lowercase()).copied()
}

/// The definition of `name`, compared case-insensitively. Guide spellings listed in
/// `aliases.tsv` (`zimbraInboundSmtpHostname`, `zimbraDefaultDomain`, ...) find the
/// attribute they stand for.
///
/// Cost: one hash lookup after lower-casing `name`.
pub fn lookup(name: &str) -> Option<&'static AttrDef> {
    index_of(name).map(|i| &ATTRS[i])
}

/// The canonical spelling of `name`, or `name` itself when the registry does not know
/// it.
pub fn canonical(name: &str) -> &str {
    lookup(name).map(|d| d.name).unwrap_or(name)
}

/// The extra facts about `name` (see [`AttrMeta`]), if the registry knows it.
pub fn meta(name: &str) -> Option<&'static AttrMeta> {
    index_of(name).map(|i| &table::META[i])
}

/// The canonical name an alias stands for, if `name` is one of the guide spellings in
/// `aliases.tsv` (compared case-insensitively).
pub fn alias_target(name: &str) -> Option<&'static str> {
    table::ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// Every (alias, canonical name) pair the lookups follow.
pub fn aliases() -> &'static [(&'static str, &'static str)] {
    table::ALIASES
}

/// The attributes that may be set on `kind`, in case-insensitive name order (what
/// `zmprov desc <entry-type>` lists).
pub fn attrs_for(kind: EntryKind) -> impl Iterator<Item = &'static AttrDef> {
    ATTRS.iter().filter(move |d| d.applies_to(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_keeps_canonical_spelling() {
        let d = lookup("ZIMBRAMAILQUOTA").expect("known");
        assert_eq!(d.name, "zimbraMailQuota");
        assert_eq!(
            canonical("zimbraspamisspamaccount"),
            "zimbraSpamIsSpamAccount"
        );
        assert_eq!(canonical("zimbraVirtualHostName"), "zimbraVirtualHostname");
        assert_eq!(canonical("noSuchThing"), "noSuchThing");
        assert!(lookup("noSuchThing").is_none());
    }

    #[test]
    fn aliases_resolve_to_their_target() {
        assert_eq!(
            canonical("zimbraInboundSmtpHostname"),
            "zimbraDNSCheckHostname"
        );
        assert_eq!(canonical("zimbradefaultdomain"), "zimbraDefaultDomainName");
        assert_eq!(
            alias_target("zimbraAliasTarget"),
            Some("zimbraAliasTargetId")
        );
        assert_eq!(alias_target("zimbraMailQuota"), None);
    }

    #[test]
    fn bind_ports_have_proxied_defaults_and_need_a_restart() {
        for (name, port) in [
            ("zimbraImapBindPort", "7143"),
            ("zimbraImapSSLBindPort", "7993"),
            ("zimbraPop3BindPort", "7110"),
            ("zimbraPop3SSLBindPort", "7995"),
            ("zimbraLmtpBindPort", "7025"),
            ("zimbraSmtpPort", "25"),
            ("zimbraMailPort", "8080"),
            ("zimbraMailSSLPort", "8443"),
            ("zimbraAdminPort", "7071"),
        ] {
            let d = lookup(name).expect(name);
            assert_eq!(d.ty, AttrType::Port, "{name}");
            assert_eq!(d.default, &[port], "{name}");
            assert_eq!(d.inherit, Inherit::ServerGlobal, "{name}");
        }
        assert!(
            lookup("zimbraImapBindPort")
                .expect("known")
                .requires_restart
        );
    }

    #[test]
    fn meta_carries_zimbra_facts() {
        let m = meta("zimbraImapBindPort").expect("known");
        assert_eq!(m.id, Some(180));
        assert_eq!(m.restart, &["mailbox"]);
        assert!(m.flags.contains(AttrFlags::SERVER_INHERITED));
        assert_eq!(m.flags.names().collect::<Vec<_>>(), vec!["serverInherited"]);
        let d = lookup("zimbraMailQuota").expect("known");
        assert_eq!(d.meta().map(|m| m.default_cos_value), Some(&["0"][..]));
        let copy = *d;
        assert_eq!(
            copy.meta().map(|m| m.id),
            Some(Some(16)),
            "a copy finds its row by name"
        );
    }

    #[test]
    fn attrs_for_a_kind_are_those_that_apply() {
        assert!(attrs_for(EntryKind::Server).any(|d| d.name == "zimbraImapBindPort"));
        assert!(attrs_for(EntryKind::Server).all(|d| d.applies_to(EntryKind::Server)));
        assert!(!attrs_for(EntryKind::Cos).any(|d| d.name == "zimbraImapBindPort"));
    }
}
