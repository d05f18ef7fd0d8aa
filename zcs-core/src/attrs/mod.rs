//! The attribute registry: every `zimbra*` attribute zcs knows, with its type,
//! cardinality, the entry kinds it applies to, its default, how it inherits and whether
//! a change needs a restart. Lookups are case-insensitive.

mod table;
pub mod value;

use crate::entry::EntryKind;

pub use table::ATTRS;

/// The type of an attribute's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    String,
    /// A signed integer, optionally bounded.
    Integer,
    Long,
    Boolean,
    /// `30d`, `2h`, `10m`, `60s`, `500ms`; a bare number is seconds.
    Duration,
    /// GeneralizedTime, `20261204162400Z`.
    Time,
    /// A size in bytes; `10MB`-style suffixes are accepted on input.
    Size,
    /// One of a fixed set of values.
    Enum(&'static [&'static str]),
    Email,
    EmailPattern,
    Id,
    Port,
    Cos,
    Domain,
    Dn,
    PhoneNumber,
    Binary,
}

/// How many values an attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    Single,
    Multi,
}

/// Where an unset value comes from.
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

/// The definition of `name`, compared case-insensitively.
///
/// Cost: a binary search over the table.
pub fn lookup(name: &str) -> Option<&'static AttrDef> {
    let lower = name.to_ascii_lowercase();
    table::sorted_index()
        .binary_search_by(|&i| ATTRS[i].name.to_ascii_lowercase().cmp(&lower))
        .ok()
        .map(|pos| &ATTRS[table::sorted_index()[pos]])
}

/// The canonical spelling of `name`, or `name` itself when the registry does not know
/// it.
pub fn canonical(name: &str) -> &str {
    lookup(name).map(|d| d.name).unwrap_or(name)
}
