//! Validation of attribute names and values before provisioning writes them:
//! `account.INVALID_ATTR_NAME` for a name that may not be set on the entry,
//! `account.INVALID_ATTR_VALUE` for a value of the wrong type, outside its range or enum,
//! or several values for a single-valued attribute.
//!
//! Value rules are `zcs_core::attrs`'s (`validate_value`, `normalize`); this module adds
//! the name policy and the directory's own canonical forms. Name policy: a name the
//! registry knows is accepted when its definition lists the entry's kind (calendar
//! resources take account attributes, dynamic groups take list attributes). A name the
//! registry does not know is accepted only when it is in [`STANDARD_ATTRS`], a short list
//! of standard LDAP attributes Zimbra entries carry, and its values are then not
//! type-checked. Every other name is refused, as Zimbra refuses it; the fix for a real
//! Zimbra attribute the registry lacks is to add it to the registry, not here.

use zcs_core::attrs::{self, AttrDef, AttrType, Cardinality};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode, ServiceError, ServiceResult};

use crate::names::normalize_address;

/// Names accepted without a registry definition (compared case-insensitively): the
/// LDAP `person` / `inetOrgPerson` / `organization` attributes (RFC 4519, RFC 2798) that
/// Zimbra entries may carry. The registry lists most of them itself, and its definition
/// wins when it does.
pub const STANDARD_ATTRS: &[&str] = &[
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
];

/// The fault for a refused name.
fn bad_name(name: &str, why: &str) -> ServiceError {
    ServiceError::new(
        FaultCode::InvalidAttrName,
        format!("invalid attr name: {name}: {why}"),
    )
}

/// Whether `name` is in [`STANDARD_ATTRS`].
pub fn is_standard(name: &str) -> bool {
    STANDARD_ATTRS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Whether a definition applies to `kind`. Calendar resources are accounts in Zimbra's
/// schema, and dynamic groups take the attributes of distribution lists.
pub(crate) fn applies_to(def: &AttrDef, kind: EntryKind) -> bool {
    def.applies_to(kind)
        || (kind == EntryKind::CalendarResource && def.applies_to(EntryKind::Account))
        || (kind == EntryKind::DynamicGroup && def.applies_to(EntryKind::DistributionList))
}

/// Checks that `name` may be set on an entry of `kind`; returns the registry definition
/// when there is one.
///
/// # Errors
/// `account.INVALID_ATTR_NAME` for a name neither the registry nor [`STANDARD_ATTRS`]
/// knows, or a registry name whose definition does not list `kind`.
pub fn check_name(kind: EntryKind, name: &str) -> ServiceResult<Option<&'static AttrDef>> {
    match attrs::lookup(name) {
        Some(def) if applies_to(def, kind) => Ok(Some(def)),
        Some(def) => Err(bad_name(def.name, &format!("not allowed on a {kind}"))),
        None if is_standard(name) => Ok(None),
        None => Err(bad_name(name, "unknown attribute")),
    }
}

/// Checks one value of a registry attribute and returns the form the directory stores:
/// `zcs_core::attrs::normalize`'s (booleans `TRUE`/`FALSE`, sizes in bytes), with
/// addresses also lower-cased. An empty value (which clears) is returned as is.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` when the registry refuses the value.
pub fn check_value(def: &AttrDef, value: &str) -> ServiceResult<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    attrs::validate_value(def, value)?;
    let stored = attrs::normalize(def, value);
    if def.ty == AttrType::Email {
        return Ok(normalize_address(&stored).unwrap_or(stored));
    }
    Ok(stored)
}

/// The stored form of a value being removed: normalised like [`check_value`] when it is
/// valid, as given otherwise (removing a value that is no longer valid must work).
fn removal_form(def: Option<&AttrDef>, value: &str) -> String {
    match def {
        Some(d) => check_value(d, value).unwrap_or_else(|_| value.to_string()),
        None => value.to_string(),
    }
}

/// Validates and canonicalises `edits` for an existing entry of `kind` whose current
/// attributes are `current`: checks every name and value, refuses attributes the
/// registry marks immutable (`zimbraId`, `mail`, `uid`, `zimbraMailAlias`, ... which
/// change only through their own operations: rename, add alias), then checks that no
/// single-valued attribute ends up with more than one value. Returns the edits with
/// canonical names and values.
///
/// # Errors
/// `account.INVALID_ATTR_NAME` or `account.INVALID_ATTR_VALUE` for the first offending
/// edit, `service.INVALID_REQUEST` for an immutable attribute; nothing is applied.
pub fn check_edits(
    kind: EntryKind,
    current: &Attrs,
    edits: &[AttrEdit],
) -> ServiceResult<Vec<AttrEdit>> {
    canonical_edits(kind, current, edits, false)
}

/// [`check_edits`], with immutable attributes allowed when `creating`.
fn canonical_edits(
    kind: EntryKind,
    current: &Attrs,
    edits: &[AttrEdit],
    creating: bool,
) -> ServiceResult<Vec<AttrEdit>> {
    let mut out = Vec::with_capacity(edits.len());
    for edit in edits {
        let name = edit.name();
        let def = check_name(kind, name)?;
        if !creating && def.and_then(AttrDef::meta).is_some_and(|m| m.immutable) {
            // Zimbra's AttributeManager wording, which clients and the QA harness match.
            return Err(ServiceError::invalid_request(format!(
                "{} is immutable",
                def.map_or(name, |d| d.name)
            )));
        }
        let canon = def.map_or_else(|| name.to_string(), |d| d.name.to_string());
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
                AttrEdit::Replace(canon, values)
            }
            AttrEdit::Add(_, v) if v.is_empty() => {
                return Err(ServiceError::new(
                    FaultCode::InvalidAttrValue,
                    format!("invalid attr value for {canon}: empty value"),
                ));
            }
            AttrEdit::Add(_, v) => AttrEdit::Add(canon, fix(v)?),
            AttrEdit::Remove(_, v) => AttrEdit::Remove(canon, removal_form(def, v)),
        });
    }

    let mut after = current.clone();
    for edit in &out {
        after.apply(edit);
    }
    if !creating {
        check_structural_class(current, &after)?;
    }
    for edit in &out {
        let Some(def) = attrs::lookup(edit.name()) else {
            continue;
        };
        let required = def.meta().is_some_and(|m| {
            m.required_in.contains(&kind)
                || (kind == EntryKind::CalendarResource
                    && m.required_in.contains(&EntryKind::Account))
        });
        if required && after.get_all(def.name).is_empty() {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrValue,
                format!(
                    "invalid attr value for {}: required, cannot be removed",
                    def.name
                ),
            ));
        }
        if def.cardinality == Cardinality::Single && after.get_all(def.name).len() > 1 {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrValue,
                format!(
                    "invalid attr value for {}: single-valued attribute given several values",
                    def.name
                ),
            ));
        }
    }
    Ok(out)
}

/// The structural object classes of the entries zcs writes (and of the LDAP classes they
/// derive from): what kind of thing an entry is. Every other class is auxiliary.
const STRUCTURAL_CLASSES: &[&str] = &[
    "person",
    "organizationalPerson",
    "inetOrgPerson",
    "zimbraDistributionList",
    "groupOfURLs",
    "groupOfNames",
    "zimbraCOS",
    "zimbraServer",
    "zimbraGlobalConfig",
    "zimbraAlias",
    "organization",
    "organizationalUnit",
    "organizationalRole",
    "zimbraZimletEntry",
    "zimbraMimeEntry",
    "zimbraXMPPComponent",
];

/// Spec 01 §6 idea 3: an edit may add or remove auxiliary object classes, never change
/// the structural ones (an account does not become a list). Entries stored without any
/// `objectClass` have nothing to compare and pass.
///
/// # Errors
/// `service.INVALID_REQUEST` naming the classes that would change.
fn check_structural_class(current: &Attrs, after: &Attrs) -> ServiceResult<()> {
    let structural = |a: &Attrs| {
        let mut v: Vec<String> = a
            .get_all("objectClass")
            .iter()
            .filter(|c| STRUCTURAL_CLASSES.iter().any(|s| s.eq_ignore_ascii_case(c)))
            .map(|c| {
                // inetOrgPerson derives from organizationalPerson and person: listing a
                // superclass beside it (as migrated entries do) is the same class.
                let c = c.to_ascii_lowercase();
                match c.as_str() {
                    "person" | "organizationalperson" => "inetorgperson".to_string(),
                    _ => c,
                }
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if current.get_all("objectClass").is_empty() {
        return Ok(());
    }
    let (before, now) = (structural(current), structural(after));
    if before == now {
        return Ok(());
    }
    Err(ServiceError::invalid_request(format!(
        "the structural object class cannot be changed ({} -> {})",
        before.join(","),
        if now.is_empty() {
            "none".to_string()
        } else {
            now.join(",")
        }
    )))
}

/// Validates the attributes given at creation, as replacements of nothing, and returns
/// them in stored form. Immutable attributes may be given here.
///
/// # Errors
/// As [`check_edits`].
pub fn check_attrs(kind: EntryKind, attrs: &Attrs) -> ServiceResult<Attrs> {
    let edits: Vec<AttrEdit> = attrs
        .iter()
        .map(|(n, v)| AttrEdit::Replace(n.to_string(), v.to_vec()))
        .collect();
    let edits = canonical_edits(kind, &Attrs::new(), &edits, true)?;
    let mut out = Attrs::new();
    for e in &edits {
        out.apply(e);
    }
    Ok(out)
}

/// GeneralizedTime for now, as Zimbra writes `zimbraCreateTimestamp`.
pub fn generalized_time_now() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%SZ").to_string()
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
        assert!(check_name(EntryKind::CalendarResource, "zimbraAccountStatus").is_ok());
        assert!(check_name(EntryKind::Account, "DISPLAYNAME").is_ok());
        let e = check_name(EntryKind::Account, "zimbraNoSuchThing").unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
        let e = check_name(EntryKind::Domain, "zimbraAccountStatus").unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
    }

    #[test]
    fn values_are_checked_and_stored_canonically() {
        let def = |n: &str| attrs::lookup(n).unwrap();
        assert_eq!(
            check_value(def("zimbraAccountStatus"), "locked").unwrap(),
            "locked"
        );
        assert!(check_value(def("zimbraAccountStatus"), "sleepy").is_err());
        let quota = def("zimbraMailQuota");
        assert_eq!(check_value(quota, "100M").unwrap(), (100 << 20).to_string());
        assert!(check_value(quota, "lots").is_err());
        assert!(check_value(def("zimbraImapBindPort"), "70000").is_err());
        assert_eq!(
            check_value(def("zimbraMailAlias"), "A@B.Test").unwrap(),
            "a@b.test"
        );
    }

    #[test]
    fn single_valued_attrs_refuse_many() {
        let edits = vec![AttrEdit::Replace(
            "zimbraAccountStatus".into(),
            vec!["active".into(), "locked".into()],
        )];
        let e = check_edits(EntryKind::Account, &Attrs::new(), &edits).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrValue);
        let mut cur = Attrs::new();
        cur.set_one("zimbraAccountStatus", "active");
        let add = [AttrEdit::Add("zimbraAccountStatus".into(), "locked".into())];
        assert!(check_edits(EntryKind::Account, &cur, &add).is_err());
    }

    #[test]
    fn immutable_attrs_are_refused_in_zimbras_words() {
        // Resource-Modify.xml matches "<name> is immutable".
        let edits = [AttrEdit::Replace(
            "zimbramaildeliveryaddress".into(),
            vec!["x@y.test".into()],
        )];
        let e = check_edits(EntryKind::CalendarResource, &Attrs::new(), &edits).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidRequest);
        assert!(
            e.message.contains("zimbraMailDeliveryAddress is immutable"),
            "{}",
            e.message
        );
    }

    #[test]
    fn timestamps_are_generalized_time() {
        let now = generalized_time_now();
        assert!(attrs::value::parse_time(&now).is_ok());
    }

    #[test]
    fn structural_classes_stay_auxiliary_ones_move() {
        let mut account = Attrs::new();
        account.set(
            "objectClass",
            vec![
                "inetOrgPerson".into(),
                "zimbraAccount".into(),
                "amavisAccount".into(),
            ],
        );
        let edit = |e: AttrEdit| check_edits(EntryKind::Account, &account, &[e]);
        // Auxiliary classes come and go.
        assert!(
            edit(AttrEdit::Remove(
                "objectClass".into(),
                "amavisAccount".into()
            ))
            .is_ok()
        );
        assert!(
            edit(AttrEdit::Add(
                "objectclass".into(),
                "zimbraMailRecipient".into()
            ))
            .is_ok()
        );
        // A superclass of inetOrgPerson beside it is the same structural class.
        let sup = AttrEdit::Add("objectClass".into(), "organizationalPerson".into());
        assert!(edit(sup).is_ok());
        // The structural class does not change: not removed, not joined by another kind's.
        for bad in [
            AttrEdit::Remove("objectClass".into(), "inetOrgPerson".into()),
            AttrEdit::Add("objectClass".into(), "zimbraDistributionList".into()),
            AttrEdit::Replace("objectClass".into(), vec!["zimbraDistributionList".into()]),
        ] {
            let err = edit(bad.clone()).expect_err("refused");
            assert_eq!(err.code, FaultCode::InvalidRequest, "{bad:?}");
        }
        // Nothing stored to compare with: a creation's classes are the creator's.
        assert!(
            check_edits(
                EntryKind::Cos,
                &Attrs::new(),
                &[AttrEdit::Add("objectClass".into(), "zimbraCOS".into())]
            )
            .is_ok()
        );
    }
}
