//! Property tests for the attribute value parsers, multi-value edits and inheritance.

use proptest::prelude::*;

use zcs_core::attrs::value::{
    format_bool, format_duration_ms, format_size, format_time, parse_bool, parse_duration_ms,
    parse_size, parse_time,
};
use zcs_core::attrs::{ATTRS, apply_edits, lookup, resolve, validate, validate_value};
use zcs_core::{AttrEdit, Attrs, EntryKind};

proptest! {
    #[test]
    fn duration_parser_never_panics(s in ".{0,40}") {
        let _ = parse_duration_ms(&s);
    }

    #[test]
    fn durations_round_trip(ms in any::<u64>()) {
        prop_assert_eq!(parse_duration_ms(&format_duration_ms(ms)), Ok(ms));
    }

    #[test]
    fn duration_units_scale(n in 0u64..1_000_000, unit in prop::sample::select(
        vec![("", 1000u64), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
             ("d", 86_400_000)])) {
        prop_assert_eq!(parse_duration_ms(&format!("{n}{}", unit.0)), Ok(n * unit.1));
    }

    #[test]
    fn size_parser_never_panics(s in ".{0,40}") {
        let _ = parse_size(&s);
    }

    #[test]
    fn sizes_round_trip(bytes in 0u64..=(i64::MAX as u64)) {
        prop_assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
    }

    #[test]
    fn size_units_are_case_insensitive(
        n in 0u64..1_000_000,
        unit in "[bB]|[kK][bB]?|[mM][bB]?|[gG][bB]?",
    ) {
        let scale = match unit.to_ascii_lowercase().as_str() {
            "b" => 1u64,
            "k" | "kb" => 1 << 10,
            "m" | "mb" => 1 << 20,
            _ => 1 << 30,
        };
        prop_assert_eq!(parse_size(&format!("{n}{unit}")), Ok(n * scale));
    }

    #[test]
    fn booleans(s in ".{0,8}") {
        let expected = if s.eq_ignore_ascii_case("true") {
            Some(true)
        } else if s.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        };
        prop_assert_eq!(parse_bool(&s).ok(), expected);
    }

    #[test]
    fn booleans_round_trip(b in any::<bool>()) {
        prop_assert_eq!(parse_bool(format_bool(b)), Ok(b));
    }

    #[test]
    fn time_parser_never_panics(s in "[0-9Z+.,-]{0,24}|.{0,24}") {
        let _ = parse_time(&s);
    }

    #[test]
    fn times_round_trip(ms in -62_167_219_200_000i64..253_402_300_799_999) {
        prop_assert_eq!(parse_time(&format_time(ms)), Ok(ms));
    }

    #[test]
    fn validation_never_panics(i in 0..ATTRS.len(), s in ".{0,30}") {
        let _ = validate_value(&ATTRS[i], &s);
    }
}

/// Small pools so sequences revisit the same names (in several spellings) and values.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "zimbraMailAlias",
        "ZIMBRAMAILALIAS",
        "zimbramailalias",
        "zimbraMtaRestriction",
        "zimbraMTARestriction",
        "displayName",
    ])
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a@x.com", "b@x.com", "c@y.org", ""]).prop_map(str::to_string)
}

fn edit() -> impl Strategy<Value = AttrEdit> {
    prop_oneof![
        (name(), prop::collection::vec(value(), 0..3)).prop_map(|(n, v)| AttrEdit::Replace(n, v)),
        (name(), value()).prop_map(|(n, v)| AttrEdit::Add(n, v)),
        (name(), value()).prop_map(|(n, v)| AttrEdit::Remove(n, v)),
    ]
}

proptest! {
    #[test]
    fn edits_keep_the_attrs_invariants(edits in prop::collection::vec(edit(), 0..20)) {
        let mut a = Attrs::new();
        for e in &edits {
            a.apply(e);
            // No attribute is ever left holding zero values.
            for (n, values) in a.iter() {
                prop_assert!(!values.is_empty(), "{} has no values", n);
            }
            // Names compare case-insensitively.
            let n = e.name();
            prop_assert_eq!(a.get_all(n), a.get_all(&n.to_ascii_uppercase()));
            prop_assert_eq!(a.contains(n), !a.get_all(&n.to_ascii_lowercase()).is_empty());
        }
    }

    #[test]
    fn add_then_remove_of_an_absent_value_restores(
        edits in prop::collection::vec(edit(), 0..10),
        n in name(),
        v in "[a-z]{1,6}@z\\.net",
    ) {
        let mut a = Attrs::new();
        for e in &edits {
            a.apply(e);
        }
        let before = a.clone();
        prop_assume!(!a.get_all(&n).contains(&v));
        a.apply(&AttrEdit::Add(n.clone(), v.clone()));
        prop_assert!(a.get_all(&n).contains(&v));
        a.apply(&AttrEdit::Remove(n.to_ascii_uppercase(), v.clone()));
        prop_assert_eq!(a, before);
    }

    #[test]
    fn registry_edits_never_break_cardinality(
        edits in prop::collection::vec(
            prop_oneof![
                (prop::sample::select(vec!["zimbraMailQuota", "zimbramailquota"]),
                 prop::sample::select(vec!["0", "10MB", "5", "x"]))
                    .prop_map(|(n, v)| AttrEdit::Add(n.to_string(), v.to_string())),
                (prop::sample::select(vec!["zimbraMailQuota", "zimbraMailAlias"]),
                 prop::collection::vec(prop::sample::select(vec!["1", "a@x.com", ""]), 0..3))
                    .prop_map(|(n, v)| AttrEdit::Replace(
                        n.to_string(), v.into_iter().map(str::to_string).collect())),
            ],
            0..8,
        ),
    ) {
        let mut a = Attrs::new();
        for e in &edits {
            let before = a.clone();
            if apply_edits(EntryKind::Account, &mut a, std::slice::from_ref(e)).is_err() {
                prop_assert_eq!(&a, &before, "a refused edit changes nothing");
            }
            for (n, values) in a.iter() {
                let def = lookup(n).expect("only registry names are stored");
                prop_assert_eq!(n, def.name, "stored under the canonical spelling");
                prop_assert!(validate(def, values).is_ok(), "{} {:?}", n, values);
            }
        }
    }

    #[test]
    fn first_entry_in_the_chain_wins(
        layers in prop::collection::vec(prop::option::of(prop::collection::vec(
            "[0-9]{1,4}", 1..3)), 0..5),
        spelling in prop::sample::select(vec!["zimbraMtaRestriction", "ZIMBRAmtarestriction"]),
    ) {
        let entries: Vec<Attrs> = layers
            .iter()
            .map(|l| {
                let mut a = Attrs::new();
                if let Some(values) = l {
                    a.set(spelling, values.clone());
                }
                a
            })
            .collect();
        let chain: Vec<&Attrs> = entries.iter().collect();
        let expected: Vec<String> = match layers.iter().flatten().next() {
            Some(values) => values.clone(),
            None => lookup("zimbraMtaRestriction")
                .expect("known")
                .default
                .iter()
                .map(|v| v.to_string())
                .collect(),
        };
        prop_assert_eq!(resolve("zimbraMtaRestriction", &chain), expected);
    }
}
