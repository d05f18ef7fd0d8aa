//! LDAP filters translated into SQL for the directory search ([`super::search`]): a
//! [`Filter`] becomes a `WHERE` condition over `directory_attrs` that selects a superset
//! of the matching entries (exactly the matches when every part translates), with every
//! value bound as a parameter. Parts SQL cannot decide the same way as
//! [`crate::search::entry_matches`] (ordering comparisons, non-ASCII substrings) widen
//! the selection instead, and [`crate::search::finish`] re-checks every candidate.
//!
//! Also in charge of the filter's *driver*: equality and prefix tests (`(mail=a@b)`,
//! `(cn=ab*)`) give range scans of the `directory_attrs_by_key` index on lower-cased
//! values (see [`super::schema::value_key`]) whose union is a superset of the entries
//! passing the test, and of the short name prefix ([`super::prefixes`]) standing for
//! them. Choosing a plan from these is [`super::search`]'s business.

use zcs_core::EntryKind;

use super::dialect::SqlBackend;
use super::prefixes;
use super::schema::{VALUE_KEY_CHARS, value_key};
use crate::ldap::dit::required_classes;
use crate::provisioning::member_url::Filter;
use crate::search::attr_names;

/// A translated filter part: `None` is "true" (no narrowing), with its bound values.
pub(super) type Part = (Option<(String, Vec<String>)>, bool);

/// `?, ?, ?` for `n` values.
pub(super) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The condition that an attribute (any of its names) has a value satisfying `test`
/// (an SQL expression over `x.value` with one `?`).
pub(super) fn has_value(attr: &str, test: &str, value: String) -> (String, Vec<String>) {
    let names = attr_names(attr);
    let sql = format!(
        "EXISTS (SELECT 1 FROM directory_attrs x WHERE x.entry_id = m.id \
         AND x.name_lower IN ({}) AND {test})",
        marks(names.len())
    );
    let mut binds = names;
    binds.push(value);
    (sql, binds)
}

/// Escapes `%`, `_` and the escape character `!` for a `LIKE ... ESCAPE '!'` pattern.
pub(super) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// The kinds whose implied object classes include `class`.
pub(super) fn kinds_with_class(class: &str) -> Vec<&'static str> {
    EntryKind::ALL
        .iter()
        .filter(|k| {
            required_classes(**k)
                .iter()
                .any(|c| c.eq_ignore_ascii_case(class))
        })
        .map(|k| k.as_str())
        .collect()
}

/// One range scan of the value index: `WHERE` conditions over `directory_attrs x` with
/// their bound values; its `x.entry_id`s are a superset of the entries passing one test.
pub(super) type Branch = (String, Vec<String>);

/// A translated filter: the condition (see [`Part`]), whether it is exact, and the
/// index branches whose union is a superset of the matches, when there are such.
pub(super) struct Translated {
    pub(super) cond: Option<(String, Vec<String>)>,
    pub(super) exact: bool,
    pub(super) driver: Option<Vec<Branch>>,
    /// The short prefix whose `directory_prefixes` rows name a superset of the driver's
    /// entries, when there is one.
    pub(super) prefix: Option<String>,
}

/// The string just above every string that starts with `prefix` in code point order
/// (its last character plus one), or `None` when there is none.
pub(super) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let mut next = u32::from(last) + 1;
    if (0xD800..=0xDFFF).contains(&next) {
        next = 0xE000;
    }
    chars.push(char::from_u32(next)?);
    Some(chars.into_iter().collect())
}

/// How the value index decides one attribute test: every value's key equal to a key, or
/// in the range of keys starting with a prefix (`[prefix, end)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum KeyTest {
    Equal(String),
    Prefix(String, String),
}

impl KeyTest {
    /// The SQL over `x.value_key` and its bound values.
    fn sql(&self) -> (&'static str, Vec<String>) {
        match self {
            KeyTest::Equal(k) => ("x.value_key = ?", vec![k.clone()]),
            KeyTest::Prefix(k, end) => (
                "x.value_key >= ? AND x.value_key < ?",
                vec![k.clone(), end.clone()],
            ),
        }
    }
}

/// The value-index test for values of `attr` equal to `value` (`prefix` false) or
/// starting with it (`prefix` true), ignoring case, with the names `attr` is stored
/// under. A superset of the values passing the test; exact for a prefix shorter than
/// [`VALUE_KEY_CHARS`]. `None` for the virtual attributes, which have no rows, and for
/// an empty prefix.
pub(super) fn key_test(attr: &str, value: &str, prefix: bool) -> Option<(Vec<String>, KeyTest)> {
    if attr.eq_ignore_ascii_case("zimbraId") || attr.eq_ignore_ascii_case("objectClass") {
        return None;
    }
    let key = value_key(value);
    if !prefix || key.chars().count() >= VALUE_KEY_CHARS {
        // A key cut at the maximum length equals the cut of every value it stands for.
        return Some((attr_names(attr), KeyTest::Equal(key)));
    }
    let end = prefix_end(&key)?;
    Some((attr_names(attr), KeyTest::Prefix(key, end)))
}

/// The value-index test of a filter item that is one: an equality, or a substring
/// with a leading part.
pub(super) fn item_key_test(f: &Filter) -> Option<(Vec<String>, KeyTest)> {
    match f {
        Filter::Equal(a, v) => key_test(a, v, false),
        Filter::Substring(a, parts) => {
            let first = parts.first().filter(|p| !p.is_empty())?;
            key_test(a, first, true)
        }
        _ => None,
    }
}

// LIMITATION: a prefix holding a space (`(cn=big r*)`) is tested on the value index as
// written, so a stored value with a run of spaces there (`big  room`) is not selected,
// though the in-memory matcher would take it.
// LIMITATION: MariaDB's utf8mb4_bin collation ignores trailing spaces in comparisons, so
// there a prefix ending in a space (`(cn=ab *)`) also selects `ab`; the final check drops
// it, but a limited search may then return fewer entries than its limit.
/// The exact value-index test of a pure prefix (`(cn=ab*)`): the same answer as
/// [`crate::search::entry_matches`], which compares lower-cased (Unicode) values, for
/// any characters.
pub(super) fn exact_prefix(f: &Filter) -> Option<(Vec<String>, KeyTest)> {
    match f {
        Filter::Substring(_, parts) if parts.len() == 2 && parts[1].is_empty() => {
            item_key_test(f).filter(|(_, t)| matches!(t, KeyTest::Prefix(..)))
        }
        _ => None,
    }
}

/// Adds `names` under `test` to `groups`, merging with a group of the same test.
pub(super) fn merge_into(
    groups: &mut Vec<(KeyTest, Vec<String>)>,
    names: Vec<String>,
    test: KeyTest,
) {
    match groups.iter_mut().find(|(t, _)| *t == test) {
        Some((_, all)) => {
            for n in names {
                if !all.contains(&n) {
                    all.push(n);
                }
            }
        }
        None => groups.push((test, names)),
    }
}

/// An index branch from names and a key test.
pub(super) fn branch_of(names: Vec<String>, test: &KeyTest) -> Branch {
    let (ksql, kb) = test.sql();
    let sql = format!("x.name_lower IN ({}) AND {ksql}", marks(names.len()));
    let mut binds = names;
    binds.extend(kb);
    (sql, binds)
}

/// The condition that an entry has a value under one of `names` passing `test`, reading
/// the entry's own attribute rows (on SQLite, one range of the primary key rather than
/// one probe per name).
pub(super) fn key_exists(
    b: SqlBackend,
    names: Vec<String>,
    test: &KeyTest,
) -> (String, Vec<String>) {
    let (ksql, kb) = test.sql();
    let sql = format!(
        "EXISTS (SELECT 1 FROM directory_attrs x WHERE x.entry_id = m.id \
         AND {} IN ({}) AND {ksql})",
        b.unindexed("x.name_lower"),
        marks(names.len())
    );
    let mut binds = names;
    binds.extend(kb);
    (sql, binds)
}

/// The value-index tests whose union drives `f`: see [`Translated`]. Tests of an OR
/// with the same key (the GAL's one prefix on nine attributes) become one test over all
/// their names.
pub(super) fn driver_tests(f: &Filter) -> Option<Vec<(Vec<String>, KeyTest)>> {
    if let Some(t) = item_key_test(f) {
        return Some(vec![t]);
    }
    match f {
        Filter::Or(items) if !items.is_empty() => {
            let mut groups: Vec<(KeyTest, Vec<String>)> = Vec::new();
            let mut other = Vec::new();
            for item in items {
                match item_key_test(item) {
                    Some((names, test)) => merge_into(&mut groups, names, test),
                    None => other.extend(driver_tests(item)?),
                }
            }
            let mut all: Vec<(Vec<String>, KeyTest)> =
                groups.into_iter().map(|(t, names)| (names, t)).collect();
            all.extend(other);
            Some(all)
        }
        // The narrowest part: fewest branches.
        Filter::And(items) => items.iter().filter_map(driver_tests).min_by_key(Vec::len),
        _ => None,
    }
}

/// The driver of `f` as index branches.
#[cfg(test)]
fn driver(f: &Filter) -> Option<Vec<Branch>> {
    driver_tests(f).map(|tests| tests.iter().map(|(n, t)| branch_of(n.clone(), t)).collect())
}

/// The short prefix (see [`super::prefixes`]) whose rows name a superset of the entries
/// passing every one of `tests`: all of them on name-like attributes and sharing it.
pub(super) fn common_prefix(tests: &[(Vec<String>, KeyTest)]) -> Option<String> {
    let mut common: Option<String> = None;
    for (names, test) in tests {
        if !names.iter().all(|n| prefixes::is_prefix_attr(n)) {
            return None;
        }
        let key = match test {
            KeyTest::Equal(k) | KeyTest::Prefix(k, _) => k,
        };
        let p = prefixes::short_prefix(key)?;
        match &common {
            Some(c) if *c != p => return None,
            Some(_) => {}
            None => common = Some(p),
        }
    }
    common
}

/// Translates `f`: condition, exactness, driver and name prefix.
pub(super) fn translate(f: &Filter, b: SqlBackend) -> Translated {
    let (cond, exact) = condition(f, b);
    let tests = driver_tests(f);
    Translated {
        cond,
        exact,
        driver: tests
            .as_ref()
            .map(|ts| ts.iter().map(|(n, t)| branch_of(n.clone(), t)).collect()),
        prefix: tests.as_deref().and_then(common_prefix),
    }
}

/// Translates `f` into a condition over `directory_entries m` (see [`Part`]); the flag
/// says whether the SQL is exact. Pure prefixes are decided on the value keys, those of
/// an OR sharing one prefix in a single test.
pub(super) fn condition(f: &Filter, b: SqlBackend) -> Part {
    if let Some((names, test)) = exact_prefix(f) {
        return (Some(key_exists(b, names, &test)), true);
    }
    match f {
        Filter::And(items) => {
            let mut sql = Vec::new();
            let mut binds = Vec::new();
            let mut exact = true;
            for item in items {
                let (part, ex) = condition(item, b);
                exact &= ex;
                if let Some((s, b)) = part {
                    sql.push(format!("({s})"));
                    binds.extend(b);
                }
            }
            if sql.is_empty() {
                (None, exact)
            } else {
                (Some((sql.join(" AND "), binds)), exact)
            }
        }
        Filter::Or(items) => {
            let mut sql = Vec::new();
            let mut binds = Vec::new();
            let mut exact = true;
            let mut unbounded = None;
            let mut groups: Vec<(KeyTest, Vec<String>)> = Vec::new();
            for item in items {
                if let Some((names, test)) = exact_prefix(item) {
                    merge_into(&mut groups, names, test);
                    continue;
                }
                match condition(item, b) {
                    (Some((s, b)), ex) => {
                        exact &= ex;
                        sql.push(format!("({s})"));
                        binds.extend(b);
                    }
                    // An exactly-true part makes the whole OR exactly true.
                    (None, true) => unbounded = Some(true),
                    (None, false) => unbounded = unbounded.or(Some(false)),
                }
            }
            for (test, names) in groups {
                let (s, bs) = key_exists(b, names, &test);
                sql.push(format!("({s})"));
                binds.extend(bs);
            }
            match unbounded {
                Some(ex) => (None, ex),
                None => (Some((sql.join(" OR "), binds)), exact),
            }
        }
        Filter::Not(inner) => match condition(inner, b) {
            (Some((s, b)), true) => (Some((format!("NOT ({s})"), b)), true),
            (None, true) => (Some(("1 = 0".into(), Vec::new())), true),
            _ => (None, false),
        },
        Filter::Present(a) => {
            if a.eq_ignore_ascii_case("zimbraId") || a.eq_ignore_ascii_case("objectClass") {
                return (None, true);
            }
            let names = attr_names(a);
            let sql = format!(
                "EXISTS (SELECT 1 FROM directory_attrs x WHERE x.entry_id = m.id \
                 AND x.name_lower IN ({}))",
                marks(names.len())
            );
            (Some((sql, names)), true)
        }
        Filter::Equal(a, v) => {
            let exact = v.is_ascii();
            let lowered = v.to_ascii_lowercase();
            if a.eq_ignore_ascii_case("zimbraId") {
                return (
                    Some(("LOWER(m.id) = LOWER(?)".into(), vec![lowered])),
                    exact,
                );
            }
            let (sql, binds) = has_value(a, "LOWER(x.value) = LOWER(?)", lowered.clone());
            if a.eq_ignore_ascii_case("objectClass") {
                let kinds = kinds_with_class(v);
                if !kinds.is_empty() {
                    let mut all: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
                    let sql = format!("m.kind IN ({}) OR {sql}", marks(kinds.len()));
                    all.extend(binds);
                    return (Some((sql, all)), exact);
                }
            }
            (Some((sql, binds)), exact)
        }
        Filter::Substring(a, parts) => {
            if !parts.iter().all(|p| p.is_ascii()) || a.eq_ignore_ascii_case("objectClass") {
                return (None, false);
            }
            // Runs of spaces in a value are insignificant (`squeeze_spaces`): a part with
            // a space selects a superset (`a%b`) and the final check decides.
            let spaced = parts.iter().any(|p| p.contains(' '));
            let pattern: Vec<String> = parts
                .iter()
                .map(|p| like_escape(&p.to_ascii_lowercase()).replace(' ', "%"))
                .collect();
            let pattern = pattern.join("%");
            if a.eq_ignore_ascii_case("zimbraId") {
                let sql = "LOWER(m.id) LIKE ? ESCAPE '!'".to_string();
                return (Some((sql, vec![pattern])), !spaced);
            }
            let (sql, binds) = has_value(a, "LOWER(x.value) LIKE ? ESCAPE '!'", pattern);
            (Some((sql, binds)), !spaced)
        }
        Filter::GreaterOrEqual(..) | Filter::LessOrEqual(..) => (None, false),
    }
}

/// `SELECT` of `x.entry_id` for each branch, joined by `UNION` (`all` keeps duplicates),
/// with the branches' bound values in order.
pub(super) fn union(branches: &[Branch], extra: &str, all: bool) -> (String, Vec<String>) {
    let mut parts = Vec::with_capacity(branches.len());
    let mut binds = Vec::new();
    for (sql, b) in branches {
        parts.push(format!(
            "SELECT x.entry_id FROM directory_attrs x WHERE {sql}{extra}"
        ));
        binds.extend(b.iter().cloned());
    }
    let glue = if all { " UNION ALL " } else { " UNION " };
    (parts.join(glue), binds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::member_url::parse_filter;

    fn exactness(f: &str) -> (bool, bool) {
        let (part, exact) = condition(&parse_filter(f).expect("filter"), SqlBackend::Sqlite);
        (part.is_some(), exact)
    }

    #[test]
    fn translation_is_exact_where_sql_decides_alike() {
        assert_eq!(exactness("(cn=ab*)"), (true, true));
        assert_eq!(
            exactness("(&(cn=ab*)(!(zimbraHideInGal=TRUE)))"),
            (true, true)
        );
        assert_eq!(exactness("(objectClass=zimbraAccount)"), (true, true));
        assert_eq!(exactness("(objectClass=*)"), (false, true));
        assert_eq!(exactness("(zimbraQuota>=5)"), (false, false));
        assert_eq!(exactness("(|(cn=a)(zimbraQuota>=5))"), (false, false));
        assert_eq!(exactness("(&(cn=a)(zimbraQuota>=5))"), (true, false));
        assert_eq!(exactness("(!(zimbraQuota>=5))"), (false, false));
        // Pure prefixes are decided on the lower-cased keys, for any characters.
        assert_eq!(exactness("(cn=é*)"), (true, true));
        assert_eq!(exactness("(cn=é*x)"), (false, false));
    }

    fn branches(f: &str) -> Option<usize> {
        driver(&parse_filter(f).expect("filter")).map(|d| d.len())
    }

    #[test]
    fn drivers_come_from_equality_and_prefix_tests() {
        assert_eq!(branches("(cn=ab*)"), Some(1));
        assert_eq!(branches("(mail=a@b.test)"), Some(1));
        assert_eq!(branches("(cn=*ab*)"), None);
        // One prefix on several attributes is one branch; different ones are not.
        assert_eq!(branches("(|(cn=a*)(sn=a*)(mail=a*))"), Some(1));
        assert_eq!(branches("(|(cn=a*)(sn=b*)(mail=a*))"), Some(2));
        assert_eq!(branches("(|(cn=a*)(sn=*a*))"), None);
        assert_eq!(
            branches("(&(|(cn=a*)(sn=a*))(objectClass=zimbraAccount)(!(zimbraHideInGal=TRUE)))"),
            Some(1)
        );
        assert_eq!(branches("(&(|(cn=a*)(sn=b*))(uid=x))"), Some(1));
        assert_eq!(branches("(objectClass=zimbraAccount)"), None);
        assert_eq!(branches("(zimbraId=abc)"), None);
        assert_eq!(branches("(!(cn=a*))"), None);
        assert_eq!(branches("(cn=*)"), None);
        // Aliases are searched under both names.
        let (names, test) = key_test("gn", "Jo", true).expect("test");
        assert_eq!(names, ["gn", "givenname"]);
        assert_eq!(test, KeyTest::Prefix("jo".into(), "jp".into()));
        let long = "a".repeat(VALUE_KEY_CHARS + 5);
        let (_, test) = key_test("cn", &long, true).expect("test");
        assert_eq!(test, KeyTest::Equal("a".repeat(VALUE_KEY_CHARS)));
    }

    fn gal_prefix(f: &str) -> Option<String> {
        driver_tests(&parse_filter(f).expect("filter")).and_then(|t| common_prefix(&t))
    }

    #[test]
    fn name_prefixes_stand_for_name_like_prefix_tests() {
        let gal = "(&(|(displayName=Smi*)(cn=smi*)(sn=SMITH*)(gn=smi*)(mail=smi*))\
                   (!(zimbraHideInGal=TRUE)))";
        assert_eq!(gal_prefix(gal).as_deref(), Some("smi"));
        assert_eq!(gal_prefix("(cn=j*)").as_deref(), Some("j"));
        assert_eq!(gal_prefix("(mail=ab@x.test)").as_deref(), Some("ab@"));
        // Different short prefixes, other attributes, no leading part: no prefix plan.
        assert_eq!(gal_prefix("(|(cn=ab*)(sn=cd*))"), None);
        assert_eq!(gal_prefix("(|(cn=ab*)(zimbraQuota=1*))"), None);
        assert_eq!(gal_prefix("(cn=*ab*)"), None);
        assert_eq!(gal_prefix("(cn=   *)"), None);
        // A trailing space is dropped, as in the stored rows.
        assert_eq!(gal_prefix("(cn=a b*)").as_deref(), Some("a b"));
        assert_eq!(gal_prefix("(cn=ab *)").as_deref(), Some("ab"));
    }

    #[test]
    fn prefix_ends_bound_the_prefix() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10ffff}"), None);
    }

    proptest::proptest! {
        #[test]
        fn values_with_a_prefix_fall_in_its_range(v in "\\PC{0,12}", cut in 1usize..6) {
            let key = value_key(&v);
            let prefix: String = key.chars().take(cut).collect();
            proptest::prop_assume!(!prefix.is_empty());
            if let Some(end) = prefix_end(&prefix) {
                proptest::prop_assert!(key.as_str() >= prefix.as_str());
                proptest::prop_assert!(key.as_str() < end.as_str());
            }
        }
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape("a%b_c!d"), "a!%b!_c!!d");
    }
}
