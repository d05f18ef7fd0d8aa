//! Property tests: password hashing, name normalisation and attribute edits never panic
//! and keep their invariants for arbitrary input.

use proptest::prelude::*;
use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::names::{normalize_address, normalize_domain};
use zcs_directory::{password, validate};

fn edit() -> impl Strategy<Value = AttrEdit> {
    let name = prop_oneof![
        Just("zimbraMailAlias".to_string()),
        Just("zimbraAccountStatus".to_string()),
        Just("zimbraMailQuota".to_string()),
        Just("displayName".to_string()),
        Just("ZIMBRAMAILQUOTA".to_string()),
        ".{0,12}",
    ];
    let value = ".{0,16}";
    prop_oneof![
        (name.clone(), prop::collection::vec(value, 0..4))
            .prop_map(|(n, v)| AttrEdit::Replace(n, v)),
        (name.clone(), value).prop_map(|(n, v)| AttrEdit::Add(n, v)),
        (name, value).prop_map(|(n, v)| AttrEdit::Remove(n, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hash_verify_round_trip(pw in ".{0,40}", other in ".{0,40}") {
        let h = password::hash(&pw);
        prop_assert!(h.starts_with("{SSHA512}"), "scheme prefix");
        prop_assert!(password::verify(&pw, &h));
        if other != pw {
            prop_assert!(!password::verify(&other, &h));
        }
    }

    #[test]
    fn verify_never_panics(pw in ".{0,10}", stored in ".{0,80}") {
        let _ = password::verify(&pw, &stored);
        let _ = password::verify(&pw, &format!("{{SSHA512}}{stored}"));
    }

    #[test]
    fn edits_never_panic_and_respect_cardinality(edits in prop::collection::vec(edit(), 0..8)) {
        let mut attrs = Attrs::new();
        for e in &edits {
            attrs.apply(e);
        }
        for (_, values) in attrs.iter() {
            prop_assert!(!values.is_empty());
        }
        if let Ok(checked) = validate::check_edits(EntryKind::Account, &Attrs::new(), &edits) {
            let mut after = Attrs::new();
            for e in &checked {
                after.apply(e);
            }
            prop_assert!(after.get_all("zimbraAccountStatus").len() <= 1);
            prop_assert!(after.get_all("zimbraMailQuota").len() <= 1);
        }
    }

    #[test]
    fn address_normalisation_is_idempotent(addr in ".{0,30}") {
        if let Ok(n) = normalize_address(&addr) {
            prop_assert_eq!(normalize_address(&n).unwrap(), n.clone());
            prop_assert_eq!(n.to_lowercase(), n.clone());
            prop_assert_eq!(n.matches('@').count(), 1);
        }
    }

    #[test]
    fn well_formed_addresses_normalise_to_lower_case(
        local in "[A-Za-z0-9][A-Za-z0-9._+-]{0,10}[A-Za-z0-9]",
        domain in "[A-Za-z0-9]{1,8}(\\.[A-Za-z0-9]{1,8}){1,3}",
    ) {
        let addr = format!("{local}@{domain}");
        prop_assume!(!local.contains(".."));
        let n = normalize_address(&addr).unwrap();
        prop_assert_eq!(n, addr.to_lowercase());
        prop_assert_eq!(normalize_domain(&domain).unwrap(), domain.to_ascii_lowercase());
    }

    #[test]
    fn domain_normalisation_is_idempotent(d in ".{0,30}") {
        if let Ok(n) = normalize_domain(&d) {
            prop_assert_eq!(normalize_domain(&n).unwrap(), n.clone());
            prop_assert!(!n.is_empty());
        }
    }
}
