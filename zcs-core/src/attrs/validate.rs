//! Checking attribute values and edits against the registry: type, range, enum
//! membership, length, cardinality, the entry kinds an attribute applies to, and the few
//! per-attribute rules the spec adds (`zimbraAuthMech` forms, ...). Errors turn into
//! `account.INVALID_ATTR_NAME` or
//! `account.INVALID_ATTR_VALUE` service errors.
//!
//! Whether a caller may change an attribute at all (immutable attributes, preference
//! locks, delegated-admin rights) is not decided here.

use super::value::{
    check_base64, check_dn, check_domain_name, check_email, check_email_pattern, check_phone,
    check_range, is_uuid, parse_bool, parse_duration_ms, parse_integer, parse_size, parse_time,
};
use super::{AttrDef, AttrType, Cardinality, canonical, lookup};
use crate::entry::{AttrEdit, Attrs, EntryKind};
use crate::error::{FaultCode, ServiceError, ServiceResult};

/// Why an attribute name, value or edit was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The registry does not know the name.
    #[error("invalid attr name: {0}")]
    UnknownAttribute(String),
    /// The attribute exists but cannot be set on this kind of entry.
    #[error("attribute {name} cannot be set on a {kind}")]
    NotOnKind { name: String, kind: EntryKind },
    /// A single-valued attribute was given several values.
    #[error("attribute {name} is single-valued, got {count} values")]
    TooManyValues { name: String, count: usize },
    /// A value does not fit the attribute's type, range, values or length.
    #[error("invalid attr value for {name}: {reason}")]
    InvalidValue { name: String, reason: String },
    /// A duration that is not `digits` with an optional unit (Zimbra's wording, which
    /// clients match on).
    #[error(
        "{name} must be in valid duration format: {{digits}}{{time-unit}}. digits: 0-9, \
             time-unit: [hmsd]|ms. h - hours, m - minutes, s - seconds, d - days, \
             ms - milliseconds. If time unit is not specified, the default is s(seconds)."
    )]
    BadDuration { name: String },
    /// A numeric attribute given something that is not a number at all (Zimbra's
    /// wording, which the QA harness matches: `zimbraX must be a valid long: abc`).
    #[error("{name} must be a valid {kind}: {value}")]
    NotANumber {
        name: String,
        /// `integer` or `long`, Zimbra's type name.
        kind: &'static str,
        value: String,
    },
    /// A number Zimbra cannot even read (a duration past a 64-bit count): Zimbra fails
    /// the whole request with `service.FAILURE` rather than calling the value invalid.
    #[error("invalid attr value for {name}: number too large: {value}")]
    Unreadable { name: String, value: String },
    /// A value the attribute's own rule refuses as a bad request (Zimbra's attribute
    /// callbacks, e.g. a token lifetime of 0).
    #[error("{reason}")]
    Refused { reason: String },
}

impl ValidationError {
    /// The Zimbra fault code this error is reported with.
    pub fn code(&self) -> FaultCode {
        match self {
            ValidationError::UnknownAttribute(_) | ValidationError::NotOnKind { .. } => {
                FaultCode::InvalidAttrName
            }
            ValidationError::TooManyValues { .. }
            | ValidationError::InvalidValue { .. }
            | ValidationError::BadDuration { .. }
            | ValidationError::NotANumber { .. } => FaultCode::InvalidAttrValue,
            ValidationError::Unreadable { .. } => FaultCode::Failure,
            ValidationError::Refused { .. } => FaultCode::InvalidRequest,
        }
    }

    /// This error as a [`ServiceError`] (`account.INVALID_ATTR_NAME` or
    /// `account.INVALID_ATTR_VALUE`).
    pub fn into_service_error(self) -> ServiceError {
        ServiceError::new(self.code(), self.to_string())
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        e.into_service_error()
    }
}

/// Whether values of `name` must never appear in messages or logs (passwords, keys,
/// tokens, secrets).
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwordhistory",
        "privatekey",
        "secret",
        "token",
        "tokens",
        "tokenkey",
        "preauthkey",
    ]
    .iter()
    .any(|s| n.ends_with(s))
}

fn invalid(def: &AttrDef, value: &str, why: impl std::fmt::Display) -> ValidationError {
    let reason = if is_secret(def.name) {
        format!("{why}")
    } else {
        format!("{why} ({value:?})")
    };
    ValidationError::InvalidValue {
        name: def.name.to_string(),
        reason,
    }
}

/// Checks one value of `def`: its type, bounds, enum membership (case-sensitive, as
/// Zimbra compares), string length and the attribute's own rule if it has one. The
/// empty string is not a value (it clears the attribute) and is refused here.
///
/// # Errors
/// [`ValidationError::InvalidValue`], whose message leaves out values of secret
/// attributes.
pub fn validate_value(def: &AttrDef, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(invalid(def, value, "empty value"));
    }
    if let Some(kind) = not_a_number(def, value) {
        return Err(ValidationError::NotANumber {
            name: def.name.to_string(),
            kind,
            value: if is_secret(def.name) {
                String::new()
            } else {
                value.to_string()
            },
        });
    }
    let (lo, hi) = (def.min, def.max);
    let checked = match def.ty {
        AttrType::String => Ok(()),
        AttrType::Integer => {
            let lo = Some(lo.unwrap_or(i64::from(i32::MIN)).max(i64::from(i32::MIN)));
            let hi = Some(hi.unwrap_or(i64::from(i32::MAX)).min(i64::from(i32::MAX)));
            parse_integer(value, lo, hi).and_then(|_| ldap_integer(value))
        }
        AttrType::Long => parse_integer(value, lo, hi).and_then(|_| ldap_integer(value)),
        AttrType::Port => parse_integer(value, Some(lo.unwrap_or(0)), Some(hi.unwrap_or(65535)))
            .and_then(|_| ldap_integer(value)),
        AttrType::Boolean => parse_bool(value).map(drop),
        AttrType::Duration => return check_duration(def, value),
        AttrType::Time => parse_time(value).map(drop),
        // Zimbra's `long` without a floor (zimbraMailQuota) takes negative numbers too.
        AttrType::Size if value.starts_with('-') && lo.is_none() => {
            parse_integer(value, lo, hi).and_then(|_| ldap_integer(value))
        }
        AttrType::Size => parse_size(value).and_then(|b| {
            ldap_integer(value.trim().trim_end_matches(|c: char| !c.is_ascii_digit()))?;
            check_range(i64::try_from(b).unwrap_or(i64::MAX), lo, hi)
                .map_err(|e| format!("{e} bytes"))
        }),
        AttrType::Enum(allowed) => {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(format!("must be one of {}", allowed.join(", ")))
            }
        }
        AttrType::Email => check_email(value),
        AttrType::EmailPattern => check_email_pattern(value),
        AttrType::Id => {
            if is_uuid(value) {
                Ok(())
            } else {
                Err("not a valid id".to_string())
            }
        }
        AttrType::Cos => {
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                Err("not a COS id or name".to_string())
            } else {
                Ok(())
            }
        }
        AttrType::Domain => check_domain_name(value),
        AttrType::Dn => check_dn(value),
        AttrType::PhoneNumber => check_phone(value),
        AttrType::Binary => check_base64(value),
    };
    checked.map_err(|e| invalid(def, value, e))?;

    if let Some(max_len) = def.meta().and_then(|m| m.max_len) {
        let len = value.chars().count();
        if len > max_len as usize {
            return Err(invalid(
                def,
                value,
                format!("longer than {max_len} characters"),
            ));
        }
    }
    special_rule(def, value).map_err(|e| match def.name {
        // Zimbra's AuthMech callback refuses a bad mechanism as a bad request.
        "zimbraAuthMech" | "zimbraAuthMechAdmin" => ValidationError::Refused {
            reason: format!("invalid value for {}: {e}", def.name),
        },
        _ => invalid(def, value, e),
    })
}

/// Zimbra's type name (`integer` or `long`) when `def` is numeric and `value` is not a
/// number at all (`abcd`, `5.5`), which Zimbra refuses before any range check. A size
/// with a memory unit (`10MB`) and a number out of range are not caught here.
fn not_a_number(def: &AttrDef, value: &str) -> Option<&'static str> {
    let kind = match def.ty {
        AttrType::Integer | AttrType::Port => "integer",
        AttrType::Long => "long",
        AttrType::Size => "long",
        _ => return None,
    };
    let t = value.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let numeric = match def.ty {
        // A size is digits, then optionally a unit: only a missing number or a
        // fraction makes it not a number.
        AttrType::Size => {
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            end > 0 && !digits[end..].starts_with(['.', ','])
        }
        _ => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
    };
    (!numeric).then_some(kind)
}

/// Zimbra stores integer, long and port attributes with LDAP's INTEGER syntax (RFC 4517
/// §3.3.16: `"0"`, or digits without a leading zero, optionally after `-`), so the
/// directory refuses `007`, `+7` and `-0` even though they read as numbers.
fn ldap_integer(text: &str) -> Result<(), String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let canonical = (digits == "0" && !text.starts_with('-')) || !digits.starts_with('0');
    if all_digits && canonical {
        Ok(())
    } else {
        Err("not an LDAP integer (no sign other than -, no leading zeros)".to_string())
    }
}

/// Attributes whose durations must be above zero (Zimbra's `PositiveTimeInterval`
/// callback, which answers `service.INVALID_REQUEST`).
const POSITIVE_INTERVALS: &[&str] = &[
    "zimbraAuthTokenLifetime",
    "zimbraAdminAuthTokenLifetime",
    "zimbraTwoFactorAuthTokenLifetime",
    "zimbraTwoFactorAuthEnablementTokenLifetime",
    "zimbraTwoFactorAuthTrustedDeviceTokenLifetime",
];

/// A duration value, as Zimbra's `AttributeInfo.checkValue` sees it: `digits[unit]`,
/// a number too large for a 64-bit count fails the request, then the bounds.
fn check_duration(def: &AttrDef, value: &str) -> Result<(), ValidationError> {
    let t = value.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::BadDuration {
            name: def.name.to_string(),
        });
    }
    if digits.parse::<i64>().is_err() {
        return Err(ValidationError::Unreadable {
            name: def.name.to_string(),
            value: if is_secret(def.name) {
                String::new()
            } else {
                value.to_string()
            },
        });
    }
    let ms = parse_duration_ms(value).map_err(|_| ValidationError::BadDuration {
        name: def.name.to_string(),
    })?;
    if ms == 0 && POSITIVE_INTERVALS.contains(&def.name) {
        return Err(ValidationError::Refused {
            reason: format!("cannot set {} less than or equal to 0", def.name),
        });
    }
    check_range(i64::try_from(ms).unwrap_or(i64::MAX), def.min, def.max)
        .map_err(|e| invalid(def, value, format!("{e} ms")))?;
    special_rule(def, value).map_err(|e| invalid(def, value, e))
}

/// The shortest message lifetime purging honours: a `zimbraMailMessageLifetime` under
/// 30 days is accepted (as Zimbra accepts it) but purges as 30 days, so a typo never
/// deletes recent mail (spec 02 §1.11).
pub const MESSAGE_LIFETIME_FLOOR_MS: u64 = 30 * 86_400_000;

/// The lifetime purging uses for a `zimbraMailMessageLifetime` of `ms`: 0 (keep
/// forever) stays 0, anything shorter than [`MESSAGE_LIFETIME_FLOOR_MS`] becomes it.
pub fn purge_message_lifetime_ms(ms: u64) -> u64 {
    if ms == 0 {
        0
    } else {
        ms.max(MESSAGE_LIFETIME_FLOOR_MS)
    }
}

/// Rules for single attributes that their type alone does not express.
fn special_rule(def: &AttrDef, value: &str) -> Result<(), String> {
    let zimbra_type = def.meta().map(|m| m.zimbra_type).unwrap_or("");
    match def.name {
        // spec 01 §1.12: zimbra, ldap, ad, kerberos5 or custom:<handler>.
        "zimbraAuthMech" | "zimbraAuthMechAdmin" => match value {
            "zimbra" | "ldap" | "ad" | "kerberos5" => Ok(()),
            v if v.strip_prefix("custom:").is_some_and(|h| !h.is_empty()) => Ok(()),
            _ => Err("must be zimbra, ldap, ad, kerberos5 or custom:NAME".to_string()),
        },
        // Zimbra's regex type for catch-all addresses: ^@[A-Za-z0-9-.]+$
        "zimbraMailCatchAllAddress"
        | "zimbraMailCatchAllCanonicalAddress"
        | "zimbraMailCatchAllForwardingAddress" => match value.strip_prefix('@') {
            Some(d)
                if !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)) =>
            {
                Ok(())
            }
            _ => Err("must be @domain".to_string()),
        },
        // spec 04 §3: `xd` or `xw`, at least 1.
        "zimbraBackupAutoGroupedInterval" => {
            let n = value.strip_suffix(['d', 'w']).unwrap_or("");
            match n.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(()),
                _ => Err("must be Nd or Nw".to_string()),
            }
        }
        // spec 04 §3: a percentage `NN%` or a size.
        "zimbraBackupMinFreeSpace" => match value.strip_suffix('%') {
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= 100 => Ok(()),
                _ => Err("must be 0% to 100% or a size".to_string()),
            },
            None => parse_size(value).map(drop),
        },
        // cosId:max (spec 02 §1.3.6).
        "zimbraDomainCOSMaxAccounts" => match value.rsplit_once(':') {
            Some((id, n)) if is_uuid(id) && n.parse::<u32>().is_ok() => Ok(()),
            _ => Err("must be cosId:max".to_string()),
        },
        "zimbraDomainFeatureMaxAccounts" => match value.rsplit_once(':') {
            Some((f, n)) if !f.is_empty() && n.parse::<u32>().is_ok() => Ok(()),
            _ => Err("must be feature:max".to_string()),
        },
        // Zimbra's cs_emailp: comma-separated addresses, display names allowed.
        _ if zimbra_type == "cs_emailp" => value
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .try_for_each(check_email_pattern),
        _ => Ok(()),
    }
}

/// Checks the full set of values `def` is about to hold: at most one for a
/// single-valued attribute, and each value valid. Empty strings are ignored (they mean
/// "clear", as in `zmprov ma x attr ''`).
///
/// # Errors
/// [`ValidationError::TooManyValues`] or [`ValidationError::InvalidValue`].
pub fn validate(def: &AttrDef, values: &[String]) -> Result<(), ValidationError> {
    let present: Vec<&String> = values.iter().filter(|v| !v.is_empty()).collect();
    if def.cardinality == Cardinality::Single && present.len() > 1 {
        return Err(ValidationError::TooManyValues {
            name: def.name.to_string(),
            count: present.len(),
        });
    }
    present.into_iter().try_for_each(|v| validate_value(def, v))
}

/// The stored form of a valid value: booleans in upper case (`TRUE`), sizes in bytes
/// (`100M` -> `104857600`); other values unchanged. A value that does not parse is
/// returned unchanged.
pub fn normalize(def: &AttrDef, value: &str) -> String {
    match def.ty {
        AttrType::Boolean => parse_bool(value)
            .map(|b| super::value::format_bool(b).to_string())
            .unwrap_or_else(|_| value.to_string()),
        AttrType::Size => parse_size(value)
            .map(|b| b.to_string())
            .unwrap_or_else(|_| value.to_string()),
        _ => value.to_string(),
    }
}

fn def_for(name: &str) -> Result<&'static AttrDef, ValidationError> {
    lookup(name).ok_or_else(|| ValidationError::UnknownAttribute(name.to_string()))
}

fn check_edit(edit: &AttrEdit, kind: Option<EntryKind>) -> Result<(), ValidationError> {
    let def = def_for(edit.name())?;
    if let Some(kind) = kind.filter(|k| !def.applies_to(*k)) {
        return Err(ValidationError::NotOnKind {
            name: def.name.to_string(),
            kind,
        });
    }
    match edit {
        AttrEdit::Replace(_, values) => validate(def, values),
        AttrEdit::Add(_, value) => validate_value(def, value),
        // Removing a value that would not be valid today must stay possible.
        AttrEdit::Remove(_, _) => Ok(()),
    }
}

/// Checks a batch of edits without knowing the entry: every name must be known
/// (`account.INVALID_ATTR_NAME`), replacements must respect cardinality and types, added
/// values must be valid (`account.INVALID_ATTR_VALUE`). Cardinality after `+attr` edits
/// depends on the entry's current values; [`apply_edits`] checks that.
///
/// # Errors
/// The first failing edit, as a [`ServiceError`].
pub fn validate_edits(edits: &[AttrEdit]) -> ServiceResult<()> {
    edits
        .iter()
        .try_for_each(|e| check_edit(e, None))
        .map_err(ServiceError::from)
}

/// [`validate_edits`], and also refuses attributes that cannot be set on an entry of
/// `kind` (`account.INVALID_ATTR_NAME`).
///
/// # Errors
/// The first failing edit, as a [`ServiceError`].
pub fn validate_edits_for(kind: EntryKind, edits: &[AttrEdit]) -> ServiceResult<()> {
    edits
        .iter()
        .try_for_each(|e| check_edit(e, Some(kind)))
        .map_err(ServiceError::from)
}

/// Validates `edits` for an entry of `kind` and applies them to `attrs`, all or nothing:
/// names are stored in their canonical spelling, booleans and sizes in their stored form
/// ([`normalize`]), and a single-valued attribute may not end up with two values.
///
/// # Errors
/// The first invalid edit or the first attribute left with too many values; `attrs` is
/// then unchanged.
pub fn apply_edits(kind: EntryKind, attrs: &mut Attrs, edits: &[AttrEdit]) -> ServiceResult<()> {
    validate_edits_for(kind, edits)?;
    let mut next = attrs.clone();
    for edit in edits {
        let def = def_for(edit.name())?;
        let name = canonical(edit.name());
        let stored = match edit {
            AttrEdit::Replace(_, values) => AttrEdit::Replace(
                name.to_string(),
                values.iter().map(|v| normalize(def, v)).collect(),
            ),
            AttrEdit::Add(_, v) => AttrEdit::Add(name.to_string(), normalize(def, v)),
            AttrEdit::Remove(_, v) => AttrEdit::Remove(name.to_string(), normalize(def, v)),
        };
        // An entry written before canonical spelling was enforced may hold the alias.
        if !name.eq_ignore_ascii_case(edit.name()) && next.contains(edit.name()) {
            let old = next.get_all(edit.name()).to_vec();
            next.set(edit.name(), Vec::new());
            next.set(name, old);
        }
        next.apply(&stored);
        if def.cardinality == Cardinality::Single && next.get_all(name).len() > 1 {
            return Err(ValidationError::TooManyValues {
                name: def.name.to_string(),
                count: next.get_all(name).len(),
            }
            .into());
        }
    }
    *attrs = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn def(name: &str) -> &'static AttrDef {
        lookup(name).expect("known attribute")
    }

    #[test]
    fn types_are_checked() {
        assert!(validate(def("zimbraMailQuota"), &s(&["104857600"])).is_ok());
        assert!(validate(def("zimbraMailQuota"), &s(&["100M"])).is_ok());
        assert!(validate(def("zimbraMailQuota"), &s(&["lots"])).is_err());
        assert!(validate(def("zimbraFeatureMailEnabled"), &s(&["true"])).is_ok());
        assert!(validate(def("zimbraFeatureMailEnabled"), &s(&["1"])).is_err());
        assert!(validate(def("zimbraMailTrashLifetime"), &s(&["30d"])).is_ok());
        assert!(validate(def("zimbraMailTrashLifetime"), &s(&["30 days"])).is_err());
        assert!(validate(def("zimbraImapBindPort"), &s(&["70000"])).is_err());
        assert!(
            validate(
                def("zimbraCOSId"),
                &s(&["513e02e-9abc-4acf-863a-6dccf38252e3"])
            )
            .is_err()
        );
        assert!(validate(def("zimbraPrefCalendarFirstDayOfWeek"), &s(&["7"])).is_err());
        assert!(validate(def("zimbraMailAlias"), &s(&["a@x.com", "b@x.com"])).is_ok());
        assert!(validate(def("zimbraMailAlias"), &s(&["not an address"])).is_err());
    }

    #[test]
    fn numbers_follow_ldap_integer_syntax() {
        // RFC 4517 §3.3.16: no leading zeros, no plus sign, no negative zero.
        for bad in ["0034323", "+5", "-0", "007"] {
            let e = validate_value(def("zimbraContactMaxNumEntries"), bad).unwrap_err();
            assert_eq!(e.code(), FaultCode::InvalidAttrValue, "{bad}");
        }
        assert!(validate_value(def("zimbraContactMaxNumEntries"), "0").is_ok());
        assert!(validate_value(def("zimbraContactMaxNumEntries"), "34323").is_ok());
        assert!(validate_value(def("zimbraMailQuota"), "0034323").is_err());
        assert!(validate_value(def("zimbraMailQuota"), "10MB").is_ok());
        // Zimbra's long without a floor takes negative numbers.
        assert!(validate_value(def("zimbraMailQuota"), "-1326").is_ok());
        assert!(validate_value(def("zimbraImapBindPort"), "0143").is_err());
    }

    #[test]
    fn durations_fail_like_zimbra() {
        let poll = def("zimbraPrefMailPollingInterval");
        let e = validate_value(poll, "12345678901234567890").unwrap_err();
        assert_eq!(e.code(), FaultCode::Failure);
        let e = validate_value(poll, "some text").unwrap_err();
        assert_eq!(e.code(), FaultCode::InvalidAttrValue);
        assert!(
            e.to_string()
                .starts_with("zimbraPrefMailPollingInterval must be in valid duration format")
        );
        assert!(validate_value(poll, "-1").is_err());
        assert!(validate_value(poll, "0").is_ok());
        let life = def("zimbraAuthTokenLifetime");
        let e = validate_value(life, "0").unwrap_err();
        assert_eq!(e.code(), FaultCode::InvalidRequest);
        assert!(validate_value(life, "2d").is_ok());
    }

    #[test]
    fn enums_are_case_sensitive() {
        let d = def("zimbraAccountStatus");
        assert!(validate(d, &s(&["locked"])).is_ok());
        let e = validate(d, &s(&["Locked"])).unwrap_err();
        assert_eq!(e.code(), FaultCode::InvalidAttrValue);
        assert!(e.to_string().contains("active"));
    }

    #[test]
    fn single_valued_refuses_two_values_but_clearing_is_fine() {
        let d = def("zimbraMailQuota");
        let e = validate(d, &s(&["1", "2"])).unwrap_err();
        assert!(matches!(e, ValidationError::TooManyValues { count: 2, .. }));
        assert!(validate(d, &s(&[""])).is_ok());
    }

    #[test]
    fn special_rules() {
        let life = def("zimbraMailMessageLifetime");
        assert!(validate(life, &s(&["0"])).is_ok());
        assert!(validate(life, &s(&["30d"])).is_ok());
        // Zimbra accepts less and purges after 30 days at the earliest
        // (`MESSAGE_LIFETIME_FLOOR_MS`).
        assert!(validate(life, &s(&["29d"])).is_ok());
        assert_eq!(purge_message_lifetime_ms(0), 0);
        assert_eq!(
            purge_message_lifetime_ms(86_400_000),
            MESSAGE_LIFETIME_FLOOR_MS
        );
        assert_eq!(purge_message_lifetime_ms(u64::MAX), u64::MAX);
        let mech = def("zimbraAuthMech");
        for ok in ["zimbra", "ldap", "ad", "kerberos5", "custom:sample"] {
            assert!(validate(mech, &s(&[ok])).is_ok(), "{ok}");
        }
        let e = validate(mech, &s(&["custom:"])).unwrap_err();
        assert_eq!(e.code(), FaultCode::InvalidRequest);
        assert!(validate(def("zimbraBackupMinFreeSpace"), &s(&["25%"])).is_ok());
        assert!(validate(def("zimbraBackupMinFreeSpace"), &s(&["300MB"])).is_ok());
        assert!(validate(def("zimbraBackupMinFreeSpace"), &s(&["120%"])).is_err());
        let fwd = def("zimbraPrefMailForwardingAddress");
        assert!(validate(fwd, &s(&["a@x.com, Bo <b@y.org>"])).is_ok());
        assert!(validate(fwd, &s(&["a@x.com, nobody"])).is_err());
    }

    #[test]
    fn non_numbers_get_zimbras_wording() {
        // MTA-Message-Size-Modify.xml matches these texts exactly.
        let size = def("zimbraMtaMaxMessageSize");
        for bad in ["5.5", "abcd", ""] {
            let Err(e) = validate_value(size, bad) else {
                panic!("{bad:?} accepted");
            };
            if !bad.is_empty() {
                assert_eq!(
                    e.to_string(),
                    format!("zimbraMtaMaxMessageSize must be a valid long: {bad}")
                );
                assert_eq!(e.code(), FaultCode::InvalidAttrValue);
            }
        }
        assert!(validate_value(size, "10240000").is_ok());
        let int = def("zimbraMtaMaxUse");
        let e = validate_value(int, "x1").unwrap_err();
        assert_eq!(e.to_string(), "zimbraMtaMaxUse must be a valid integer: x1");
        // Out of range is not "not a number".
        assert!(
            !validate_value(int, "0")
                .unwrap_err()
                .to_string()
                .contains("valid integer")
        );
    }

    #[test]
    fn secret_values_stay_out_of_messages() {
        let d = def("zimbraSSLPrivateKey");
        assert!(is_secret(d.name));
        let e = validate_value(def("zimbraAutoProvLdapAdminBindPassword"), "").unwrap_err();
        assert!(!e.to_string().contains("\"\""));
        let e = validate_value(def("zimbraMailQuota"), "hunter2").unwrap_err();
        assert!(e.to_string().contains("hunter2"));
    }

    #[test]
    fn edits_report_zimbra_fault_codes() {
        let bad_name = vec![AttrEdit::Replace("zimbraNoSuchAttr".into(), s(&["1"]))];
        let e = validate_edits(&bad_name).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
        let bad_value = vec![AttrEdit::Add("zimbraMailAlias".into(), "nope".into())];
        assert_eq!(
            validate_edits(&bad_value).unwrap_err().code,
            FaultCode::InvalidAttrValue
        );
        let wrong_kind = vec![AttrEdit::Replace("zimbraImapBindPort".into(), s(&["143"]))];
        assert!(validate_edits(&wrong_kind).is_ok());
        let e = validate_edits_for(EntryKind::Account, &wrong_kind).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrName);
        let removal = vec![AttrEdit::Remove(
            "zimbraMailAlias".into(),
            "legacy junk".into(),
        )];
        assert!(validate_edits(&removal).is_ok());
    }

    #[test]
    fn apply_edits_is_all_or_nothing_and_canonical() {
        let mut a = Attrs::new();
        let edits = AttrEdit::parse_pairs(&s(&[
            "zimbramailquota",
            "100M",
            "zimbraFeatureMailEnabled",
            "false",
            "+zimbraMailAlias",
            "a@x.com",
        ]))
        .unwrap();
        apply_edits(EntryKind::Account, &mut a, &edits).unwrap();
        assert_eq!(a.get("zimbraMailQuota"), Some("104857600"));
        assert_eq!(a.get("zimbraFeatureMailEnabled"), Some("FALSE"));
        assert!(a.iter().any(|(n, _)| n == "zimbraMailQuota"));

        let before = a.clone();
        let two = vec![AttrEdit::Add("zimbraMailQuota".into(), "5".into())];
        let e = apply_edits(EntryKind::Account, &mut a, &two).unwrap_err();
        assert_eq!(e.code, FaultCode::InvalidAttrValue);
        assert_eq!(a, before);

        let mixed = vec![
            AttrEdit::Replace("zimbraMailQuota".into(), s(&["1"])),
            AttrEdit::Replace("zimbraAccountStatus".into(), s(&["bogus"])),
        ];
        assert!(apply_edits(EntryKind::Account, &mut a, &mixed).is_err());
        assert_eq!(a, before);
    }
}
