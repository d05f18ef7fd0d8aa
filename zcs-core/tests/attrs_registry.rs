//! Whole-table checks on the attribute registry: unique names, defaults that pass their
//! own validation, and coverage of every `zimbra*` name the spec digests use.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use zcs_core::attrs::{self, ATTRS, AttrType, Cardinality, describe, lookup, validate};

/// Names in the spec that look like attributes but are not, with the reason.
const NOT_ATTRIBUTES: &[(&str, &str)] = &[
    ("zimbraAccount", "object class"),
    ("zimbraAlias", "object class"),
    ("zimbraCalendarResource", "object class"),
    ("zimbraDataSource", "object class"),
    ("zimbraDistributionList", "object class"),
    ("zimbraDomain", "object class"),
    ("zimbraGlobalConfig", "object class"),
    ("zimbraGroup", "object class"),
    ("zimbraIdentity", "object class"),
    ("zimbraMailRecipient", "object class"),
    ("zimbraServer", "object class"),
    ("zimbraSignature", "object class"),
    ("zimbraZimletEntry", "object class"),
    ("zimbraAdmin", "the admin console web application"),
    ("zimbramon", "a directory under /opt/zimbra"),
    ("zimbradladmin", "a delegated-admin group name"),
    ("zimbradomainadmins", "a delegated-admin group name"),
    ("zimbraAttr", "placeholder in `externalAttr=zimbraAttr`"),
    (
        "zimbraAccountAttrName",
        "placeholder in the zmarchiveconfig grammar",
    ),
    ("zimbraPref", "prefix in `zimbraPref*`"),
    ("zimbraSkin", "prefix in `zimbraSkin*`"),
    ("zimbraSMIMELdap", "prefix in `zimbraSMIMELdap*`"),
    (
        "zimbraNewMailNotification",
        "prefix in `zimbraNewMailNotification{Subject,From,Body}`",
    ),
    (
        "zimbraAuthMet",
        "guide typo for zimbraAuthMech (spec 01 §7)",
    ),
    (
        "zimbralmap",
        "guide typo: lower-case L for zimbraImap (spec 01 §7)",
    ),
    (
        "zimbralmapCleartextLoginEnabled",
        "guide typo for zimbraImapCleartextLoginEnabled",
    ),
    (
        "zimbraServerEnable",
        "malformed guide recipe for +zimbraServiceEnabled (spec 06 §7)",
    ),
];

fn spec_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec");
    dir.is_dir().then_some(dir)
}

fn spec_names(dir: &PathBuf) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("read spec dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read spec file");
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(pos) = text[i..].find("zimbra") {
            let start = i + pos;
            let mut end = start + "zimbra".len();
            while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
                end += 1;
            }
            // Same as `grep -o 'zimbra[A-Za-z0-9]+'`: no word boundary before.
            if end > start + "zimbra".len() {
                names.insert(text[start..end].to_string());
            }
            i = end;
        }
    }
    names
}

#[test]
fn every_spec_name_is_known() {
    let Some(dir) = spec_dir() else {
        println!("skipping: spec directory not found next to the repository");
        return;
    };
    let skip: HashSet<&str> = NOT_ATTRIBUTES.iter().map(|(n, _)| *n).collect();
    let names = spec_names(&dir);
    assert!(names.len() > 300, "found only {} names", names.len());
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !skip.contains(n.as_str()) && lookup(n).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "spec names missing from the registry: {missing:?}"
    );
    for (n, why) in NOT_ATTRIBUTES {
        assert!(
            lookup(n).is_none(),
            "{n} is listed as not an attribute ({why})"
        );
    }
}

#[test]
fn names_are_unique_case_insensitively() {
    let mut seen = HashSet::new();
    for d in ATTRS {
        assert!(
            seen.insert(d.name.to_ascii_lowercase()),
            "duplicate {}",
            d.name
        );
    }
    for (alias, target) in attrs::aliases() {
        assert!(
            !seen.contains(&alias.to_ascii_lowercase()),
            "alias {alias} shadows an attribute"
        );
        assert_eq!(lookup(alias).map(|d| d.name), Some(*target));
    }
    let sorted: Vec<String> = ATTRS.iter().map(|d| d.name.to_ascii_lowercase()).collect();
    let mut again = sorted.clone();
    again.sort();
    assert_eq!(sorted, again, "ATTRS is sorted by lower-cased name");
}

#[test]
fn every_default_validates_against_its_own_type() {
    let mut failures = Vec::new();
    for d in ATTRS {
        let meta = d.meta().expect("every table entry has meta");
        for (what, values) in [
            ("default", d.default),
            ("globalConfigValue", meta.global_config_value),
            ("defaultCOSValue", meta.default_cos_value),
        ] {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            if let Err(e) = validate(d, &values) {
                failures.push(format!("{} {what} {values:?}: {e}", d.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "defaults that fail validation:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_entry_is_well_formed() {
    for d in ATTRS {
        assert!(!d.on.is_empty(), "{} applies to nothing", d.name);
        assert!(!d.desc.is_empty(), "{} has no description", d.name);
        if d.cardinality == Cardinality::Single {
            assert!(d.default.len() <= 1, "{} has several defaults", d.name);
        }
        if let (Some(lo), Some(hi)) = (d.min, d.max) {
            assert!(lo <= hi, "{} min above max", d.name);
        }
        if let AttrType::Enum(values) = d.ty {
            assert!(!values.is_empty(), "{} has no enum values", d.name);
        }
        let meta = d.meta().expect("meta");
        assert_eq!(d.requires_restart, !meta.restart.is_empty(), "{}", d.name);
        assert!(describe(d).starts_with(d.name), "{}", d.name);
    }
}

#[test]
fn standard_ldap_attributes_are_present() {
    for n in [
        "cn",
        "sn",
        "givenName",
        "displayName",
        "mail",
        "uid",
        "userPassword",
        "description",
        "telephoneNumber",
        "objectClass",
    ] {
        let d = lookup(n).unwrap_or_else(|| panic!("{n} missing"));
        assert_eq!(d.name, n);
    }
    assert!(lookup("objectClass").expect("known").is_multi());
}

#[test]
fn key_categories_have_the_right_shape() {
    let d = lookup("zimbraAccountStatus").expect("known");
    assert_eq!(d.default, &["active"]);
    for name in [
        "zimbraMailTrashLifetime",
        "zimbraMailSpamLifetime",
        "zimbraMailDumpsterLifetime",
    ] {
        let d = lookup(name).expect(name);
        assert_eq!(d.ty, AttrType::Duration, "{name}");
        assert_eq!(d.default, &["30d"], "{name}");
    }
    let features: Vec<_> = ATTRS
        .iter()
        .filter(|d| d.name.starts_with("zimbraFeature") && d.name.ends_with("Enabled"))
        .collect();
    assert!(features.len() > 100);
    let odd: Vec<_> = features
        .iter()
        .filter(|d| d.ty != AttrType::Boolean)
        .map(|d| d.name)
        .collect();
    // The one upstream oddity: a list of social networks, despite its name.
    assert_eq!(odd, vec!["zimbraFeatureSocialFiltersEnabled"]);
    let quota = lookup("zimbraMailQuota").expect("known");
    assert_eq!(quota.ty, AttrType::Size);
    let lockout = lookup("zimbraPasswordLockoutMaxFailures").expect("known");
    assert_eq!(lockout.default, &["10"]);
}
