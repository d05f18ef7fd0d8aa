//! Validation of attribute names and values against the `zcs_core::attrs` registry,
//! before provisioning writes them: `account.INVALID_ATTR_NAME` for a name that may not be
//! set on the entry, `account.INVALID_ATTR_VALUE` for a value of the wrong type, outside
//! its range or enum, or several values for a single-valued attribute.
//!
//! Name policy: a name is accepted when the registry knows it (and lists the entry's
//! kind), or when it is in [`STANDARD_ATTRS`], the short list of standard LDAP attributes
//! (and attributes this crate itself maintains) that Zimbra entries carry. Every other
//! name is refused, as Zimbra refuses it. The registry is still growing, so a real
//! Zimbra attribute it does not list yet is refused too; the fix is to add it to the
//! registry, not here.

use chrono::NaiveDateTime;
use zcs_core::attrs::value::{parse_bool, parse_duration};
use zcs_core::attrs::{self, AttrDef, AttrType, Cardinality};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode, ServiceError, ServiceResult, ZimbraId};

use crate::names::{normalize_address, normalize_domain};

/// Attributes accepted on any entry without a registry definition (compared
/// case-insensitively): the LDAP `person`/`inetOrgPerson`/`organization` attributes
/// Zimbra entries use, plus the `zimbra*` attributes this crate writes and reads itself
/// (they move to the registry as it grows). Values are not type-checked.
pub const STANDARD_ATTRS: &[&str] = &[
    // LDAP (RFC 4519, RFC 2798)
    "objectClass",
    "cn",
    "sn",
    "givenName",
    "initials",
    "displayName",
    "mail",
    "uid",
    "userPassword",
    "description",
    "title",
    "telephoneNumber",
    "mobile",
    "homePhone",
    "pager",
    "facsimileTelephoneNumber",
    "street",
    "postalAddress",
    "postalCode",
    "l",
    "st",
    "c",
    "co",
    "company",
    "o",
    "ou",
    "physicalDeliveryOfficeName",
    "employeeNumber",
    "employeeType",
    "departmentNumber",
    "manager",
    "jpegPhoto",
    "dc",
    "memberURL",
    // zimbra* attributes this crate maintains itself
    "zimbraId",
    "zimbraCreateTimestamp",
    "zimbraMailDeliveryAddress",
    "zimbraMailHost",
    "zimbraMailTransport",
    "zimbraCOSId",
    "zimbraDomainDefaultCOSId",
    "zimbraDomainName",
    "zimbraDomainType",
    "zimbraDomainStatus",
    "zimbraDomainAliasTargetId",
    "zimbraAuthMech",
    "zimbraAuthFallbackToLocal",
    "zimbraDefaultDomainName",
    "zimbraServiceHostname",
    "zimbraPasswordModifiedTime",
    "zimbraPasswordMustChange",
    "zimbraIsAdminAccount",
    "zimbraMailStatus",
];

/// The fault for a refused name.
fn bad_name(name: &str, why: &str) -> ServiceError {
    ServiceError::new(
        FaultCode::InvalidAttrName,
        format!("invalid attr name: {name}: {why}"),
    )
}

/// The fault for a refused value. The value is not echoed: it may be a secret.
fn bad_value(name: &str, why: &str) -> ServiceError {
    ServiceError::new(
        FaultCode::InvalidAttrValue,
        format!("invalid attr value for {name}: {why}"),
    )
}

/// Whether `name` is in [`STANDARD_ATTRS`].
pub fn is_standard(name: &str) -> bool {
    STANDARD_ATTRS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Whether a definition applies to `kind`. Calendar resources are accounts in Zimbra's
/// schema, and dynamic groups take the attributes of distribution lists.
pub(crate) fn applies_to(def: &AttrDef, kind: EntryKind) -> bool {
    def.on.contains(&kind)
        || (kind == EntryKind::CalendarResource && def.on.contains(&EntryKind::Account))
        || (kind == EntryKind::DynamicGroup && def.on.contains(&EntryKind::DistributionList))
}

/// Checks that `name` may be set on an entry of `kind`; returns the registry definition
/// when there is one.
///
/// # Errors
/// `account.INVALID_ATTR_NAME` for an unknown name, or a registry name whose definition
/// does not list `kind`.
pub fn check_name(kind: EntryKind, name: &str) -> ServiceResult<Option<&'static AttrDef>> {
    match attrs::lookup(name) {
        Some(def) if applies_to(def, kind) => Ok(Some(def)),
        Some(_) if is_standard(name) => Ok(None),
        Some(_) => Err(bad_name(name, &format!("not allowed on a {kind}"))),
        None if is_standard(name) => Ok(None),
        None => Err(bad_name(name, "unknown attribute")),
    }
}

/// Checks one value of a registry attribute and returns its canonical form (`TRUE` /
/// `FALSE` for booleans, bytes for sizes, the enum's spelling, lower-cased addresses
/// and domains); an empty value (which clears) is returned as is.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` when the value does not parse as the type or lies
/// outside the definition's min/max.
pub fn check_value(def: &AttrDef, value: &str) -> ServiceResult<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let name = def.name;
    let ranged = |n: i64| -> ServiceResult<()> {
        if def.min.is_some_and(|m| n < m) || def.max.is_some_and(|m| n > m) {
            return Err(bad_value(name, "out of range"));
        }
        Ok(())
    };
    match def.ty {
        AttrType::String | AttrType::Dn | AttrType::Cos | AttrType::Binary => Ok(value.into()),
        AttrType::Integer => {
            let n: i32 = value
                .trim()
                .parse()
                .map_err(|_| bad_value(name, "not an integer"))?;
            ranged(n.into())?;
            Ok(n.to_string())
        }
        AttrType::Long => {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| bad_value(name, "not an integer"))?;
            ranged(n)?;
            Ok(n.to_string())
        }
        AttrType::Port => {
            let n: u16 = value
                .trim()
                .parse()
                .map_err(|_| bad_value(name, "not a port"))?;
            ranged(n.into())?;
            Ok(n.to_string())
        }
        AttrType::Boolean => {
            let b = parse_bool(value).map_err(|_| bad_value(name, "must be TRUE or FALSE"))?;
            Ok(if b { "TRUE" } else { "FALSE" }.to_string())
        }
        AttrType::Duration => {
            let d = parse_duration(value).map_err(|_| bad_value(name, "not a duration"))?;
            ranged(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))?;
            Ok(value.trim().to_string())
        }
        AttrType::Time => {
            parse_generalized_time(value)
                .ok_or_else(|| bad_value(name, "not a GeneralizedTime"))?;
            Ok(value.trim().to_string())
        }
        AttrType::Size => {
            let n = parse_size(value).ok_or_else(|| bad_value(name, "not a size"))?;
            ranged(n)?;
            Ok(n.to_string())
        }
        AttrType::Enum(allowed) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value.trim()))
            .map(|a| a.to_string())
            .ok_or_else(|| bad_value(name, &format!("must be one of {}", allowed.join(", ")))),
        AttrType::Email => normalize_address(value).map_err(|_| bad_value(name, "not an address")),
        AttrType::EmailPattern => {
            // `*` may stand for any part; the rest must still be address-shaped.
            let probe = value.replace('*', "x");
            normalize_address(&probe).map_err(|_| bad_value(name, "not an address pattern"))?;
            Ok(value.trim().to_lowercase())
        }
        AttrType::Id => value
            .trim()
            .parse::<ZimbraId>()
            .map(|id| id.to_string())
            .map_err(|_| bad_value(name, "not an id")),
        AttrType::Domain => normalize_domain(value).map_err(|_| bad_value(name, "not a domain")),
        AttrType::PhoneNumber => {
            let ok = value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().#*".contains(c) || c.is_ascii_alphabetic());
            if ok {
                Ok(value.into())
            } else {
                Err(bad_value(name, "not a phone number"))
            }
        }
    }
}

/// Parses a size in bytes: a number with an optional `B`, `K`/`KB`, `M`/`MB`, `G`/`GB`
/// or `T`/`TB` suffix (binary multiples, any case). `None` for anything else or an
/// overflow.
pub fn parse_size(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_uppercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult: i64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        "T" | "TB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parses LDAP GeneralizedTime as Zimbra writes it: `YYYYMMDDHHMMSSZ`, optionally with
/// `.fff` fractions before the `Z` (RFC 4517 §3.3.13, UTC form only).
pub fn parse_generalized_time(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim().strip_suffix('Z')?;
    let (main, frac) = t.split_once('.').unwrap_or((t, ""));
    if main.len() != 14 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S").ok()
}

/// GeneralizedTime for now, as Zimbra writes `zimbraCreateTimestamp`.
pub fn generalized_time_now() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%SZ").to_string()
}

/// Validates and canonicalises `edits` for an entry of `kind` whose current attributes
/// are `current`: checks every name and value, then that no single-valued attribute ends
/// up with more than one value. Returns the edits with canonical names and values.
///
/// # Errors
/// `account.INVALID_ATTR_NAME` or `account.INVALID_ATTR_VALUE` for the first offending
/// edit; nothing is applied.
pub fn check_edits(
    kind: EntryKind,
    current: &Attrs,
    edits: &[AttrEdit],
) -> ServiceResult<Vec<AttrEdit>> {
    let mut out = Vec::with_capacity(edits.len());
    for edit in edits {
        let name = edit.name();
        let def = check_name(kind, name)?;
        let canon_name = def
            .map(|d| d.name.to_string())
            .unwrap_or_else(|| name.to_string());
        let fix = |v: &str| match def {
            Some(d) => check_value(d, v),
            None => Ok(v.to_string()),
        };
        out.push(match edit {
            AttrEdit::Replace(_, values) => {
                let values = values
                    .iter()
                    .map(|v| fix(v))
                    .collect::<ServiceResult<Vec<_>>>()?;
                AttrEdit::Replace(canon_name, values)
            }
            AttrEdit::Add(_, v) => {
                if v.is_empty() {
                    return Err(bad_value(name, "empty value"));
                }
                AttrEdit::Add(canon_name, fix(v)?)
            }
            AttrEdit::Remove(_, v) => AttrEdit::Remove(canon_name, fix(v).unwrap_or(v.clone())),
        });
    }

    let mut after = current.clone();
    for edit in &out {
        after.apply(edit);
    }
    for edit in &out {
        if let Some(def) = attrs::lookup(edit.name())
            && def.cardinality == Cardinality::Single
            && after.get_all(def.name).len() > 1
        {
            return Err(bad_value(
                def.name,
                "single-valued attribute given several values",
            ));
        }
    }
    Ok(out)
}

/// Validates the attributes given at creation, as replacements of nothing.
///
/// # Errors
/// As [`check_edits`].
pub fn check_attrs(kind: EntryKind, attrs: &Attrs) -> ServiceResult<Attrs> {
    let edits: Vec<AttrEdit> = attrs
        .iter()
        .map(|(n, v)| AttrEdit::Replace(n.to_string(), v.to_vec()))
        .collect();
    let edits = check_edits(kind, &Attrs::new(), &edits)?;
    let mut out = Attrs::new();
    for e in &edits {
        out.apply(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_registry_and_standard_list() {
        assert!(
            check_name(EntryKind::Account, "zimbraAccountStatus")
                .unwrap()
                .is_some()
        );
        assert!(
            check_name(EntryKind::Account, "DISPLAYNAME")
                .unwrap()
                .is_none()
        );
        let e = check_name(EntryKind::Account, "zimbraNoSuchThing").unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
        let e = check_name(EntryKind::Domain, "zimbraMailQuota").unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
    }

    #[test]
    fn values_are_canonicalised() {
        let status = attrs::lookup("zimbraAccountStatus").unwrap();
        assert_eq!(check_value(status, "Locked").unwrap(), "locked");
        assert!(check_value(status, "sleepy").is_err());
        let quota = attrs::lookup("zimbraMailQuota").unwrap();
        assert_eq!(check_value(quota, "100M").unwrap(), (100 << 20).to_string());
        assert!(check_value(quota, "lots").is_err());
        let port = attrs::lookup("zimbraImapBindPort").unwrap();
        assert!(check_value(port, "70000").is_err());
    }

    #[test]
    fn single_valued_attrs_refuse_many() {
        let edits = vec![AttrEdit::Replace(
            "zimbraAccountStatus".into(),
            vec!["active".into(), "locked".into()],
        )];
        let e = check_edits(EntryKind::Account, &Attrs::new(), &edits).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrValue);
    }

    #[test]
    fn generalized_time() {
        assert!(parse_generalized_time("20261204162400Z").is_some());
        assert!(parse_generalized_time("20261204162400.123Z").is_some());
        assert!(parse_generalized_time("20261304162400Z").is_none());
        assert!(parse_generalized_time("2026").is_none());
        assert!(parse_generalized_time(&generalized_time_now()).is_some());
    }
}
