//! Directory search: an LDAP filter (RFC 4515) over entries of some kinds, optionally in
//! one domain, with the attributes to return, a sort key and a size limit.
//!
//! In charge of the search contract every backend shares ([`SearchQuery`],
//! [`SearchResults`]), of the in-memory evaluation that decides the final answer
//! ([`entry_matches`], [`finish`]), and of the fallback the [`crate::Directory`] trait
//! gives backends that push nothing down (list the kinds, then filter). Backends that
//! push the filter down (SQL `WHERE`, a slapd search) may return a superset of
//! candidates: [`finish`] re-checks each one, so every backend answers the same.
//!
//! Semantics (the same on every backend):
//! - Attribute names compare case-insensitively; `gn` is `givenName`, `sn` `surname`,
//!   `cn` `commonName` (LDAP's short names).
//! - `zimbraId` is the entry's id; `objectClass` holds the stored classes plus the ones
//!   the entry's kind implies (`zimbraAccount` for accounts and calendar resources,
//!   `zimbraCalendarResource`, `zimbraDistributionList`, `zimbraGroup`, ...), so
//!   Zimbra's GAL filters work on SQL too.
//! - Values compare ignoring case; `>=`/`<=` compare as integers when both sides are.

use zcs_core::{Attrs, Entry, EntryKind};

use crate::ldap::dit::required_classes;
use crate::names::lower_name;
use crate::provisioning::member_url::Filter;

/// LDAP's short attribute names and the long names they stand for (RFC 4519).
pub const ATTR_ALIASES: &[(&str, &str)] =
    &[("gn", "givenName"), ("sn", "surname"), ("cn", "commonName")];

/// Every name `attr` is stored under, lower-cased (`gn` gives `gn` and `givenname`).
pub fn attr_names(attr: &str) -> Vec<String> {
    let lower = attr.to_ascii_lowercase();
    let mut out = vec![lower.clone()];
    for (short, long) in ATTR_ALIASES {
        if short.eq_ignore_ascii_case(&lower) {
            out.push(long.to_ascii_lowercase());
        } else if long.eq_ignore_ascii_case(&lower) {
            out.push((*short).to_string());
        }
    }
    out
}

/// What to search for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The entry kinds searched; empty searches none.
    pub kinds: Vec<EntryKind>,
    /// Only entries whose name is `something@domain` (compared ignoring case).
    pub domain: Option<String>,
    /// The filter; `None` matches every entry of the kinds.
    pub filter: Option<Filter>,
    /// Attributes to return (any case); `None` returns all. The entry's name and id are
    /// always returned.
    pub attrs: Option<Vec<String>>,
    /// Attribute to sort by (its first value, ignoring case); `None` sorts by name.
    pub sort_by: Option<String>,
    /// Ascending (default) or descending order.
    pub ascending: bool,
    /// Most entries returned; 0 means no limit.
    pub limit: usize,
}

impl SearchQuery {
    /// Every entry of `kinds`, sorted by name, all attributes, no limit.
    pub fn new(kinds: &[EntryKind]) -> Self {
        SearchQuery {
            kinds: kinds.to_vec(),
            domain: None,
            filter: None,
            attrs: None,
            sort_by: None,
            ascending: true,
            limit: 0,
        }
    }

    /// Limits the search to one domain.
    pub fn in_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the filter.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets the size limit (0 = none).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Sets the attributes returned.
    pub fn returning(mut self, attrs: Vec<String>) -> Self {
        self.attrs = Some(attrs);
        self
    }

    /// Sets the sort key and order.
    pub fn sorted_by(mut self, attr: Option<String>, ascending: bool) -> Self {
        self.sort_by = attr;
        self.ascending = ascending;
        self
    }

    /// Whether the order is by name ascending, the order backends keep natively.
    pub fn sorted_by_name(&self) -> bool {
        self.ascending
            && self
                .sort_by
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("name"))
    }
}

/// What a search found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResults {
    /// The entries, in the requested order, at most `limit` of them, with the requested
    /// attributes only.
    pub entries: Vec<Entry>,
    /// Whether more entries matched than `limit` allowed.
    pub more: bool,
}

/// The values of `attr` on `entry` under this module's semantics (aliases, virtual
/// `zimbraId` and `objectClass`).
pub fn entry_values(entry: &Entry, attr: &str) -> Vec<String> {
    if attr.eq_ignore_ascii_case("zimbraId") {
        return vec![entry.id.to_string()];
    }
    let names = attr_names(attr);
    let mut out: Vec<String> = entry
        .attrs
        .iter()
        .filter(|(n, _)| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect();
    if attr.eq_ignore_ascii_case("objectClass") {
        for c in required_classes(entry.kind) {
            if !out.iter().any(|v| v.eq_ignore_ascii_case(c)) {
                out.push((*c).to_string());
            }
        }
    }
    out
}

/// Whether `entry` matches `filter` under this module's semantics.
pub fn entry_matches(filter: &Filter, entry: &Entry) -> bool {
    filter.matches_with(&|a: &str| entry_values(entry, a))
}

/// Whether `entry` belongs to the query's kinds and domain and matches its filter.
pub fn accepts(q: &SearchQuery, entry: &Entry) -> bool {
    if !q.kinds.contains(&entry.kind) {
        return false;
    }
    if let Some(d) = &q.domain {
        let d = lower_name(d);
        if entry.domain().is_none_or(|ed| lower_name(ed) != d) {
            return false;
        }
    }
    q.filter.as_ref().is_none_or(|f| entry_matches(f, entry))
}

/// The sort key of an entry: the first value of the sort attribute (or the name),
/// lower-cased, then the id so the order is total.
fn sort_key(q: &SearchQuery, e: &Entry) -> (String, String) {
    let primary = match q.sort_by.as_deref() {
        None => lower_name(&e.name),
        Some(a) if a.eq_ignore_ascii_case("name") => lower_name(&e.name),
        Some(a) => entry_values(e, a)
            .into_iter()
            .next()
            .unwrap_or_default()
            .to_lowercase(),
    };
    (primary, e.id.to_string())
}

/// Keeps only the requested attributes of `attrs`.
pub fn project(attrs: &Attrs, only: Option<&[String]>) -> Attrs {
    let Some(only) = only else {
        return attrs.clone();
    };
    let mut out = Attrs::new();
    for (name, values) in attrs.iter() {
        if only
            .iter()
            .any(|o| attr_names(o).iter().any(|x| x.eq_ignore_ascii_case(name)))
        {
            out.set(name, values.to_vec());
        }
    }
    out
}

/// The answer to `q` from `candidates` (a superset of the matches, in any order, each
/// entry at most once): re-checks every candidate, sorts, cuts at the limit and keeps
/// the requested attributes.
pub fn finish(q: &SearchQuery, candidates: Vec<Entry>) -> SearchResults {
    let mut hits: Vec<Entry> = candidates.into_iter().filter(|e| accepts(q, e)).collect();
    hits.sort_by_cached_key(|e| sort_key(q, e));
    if !q.ascending {
        hits.reverse();
    }
    let more = q.limit > 0 && hits.len() > q.limit;
    if more {
        hits.truncate(q.limit);
    }
    for e in &mut hits {
        e.attrs = project(&e.attrs, q.attrs.as_deref());
    }
    SearchResults {
        entries: hits,
        more,
    }
}

/// Writes `f` as an RFC 4515 filter string, escaping every assertion value.
pub fn filter_string(f: &Filter) -> String {
    use crate::ldap::escape::filter_value;
    match f {
        Filter::And(items) => format!("(&{})", items.iter().map(filter_string).collect::<String>()),
        Filter::Or(items) => format!("(|{})", items.iter().map(filter_string).collect::<String>()),
        Filter::Not(inner) => format!("(!{})", filter_string(inner)),
        Filter::Equal(a, v) => format!("({a}={})", filter_value(v)),
        Filter::Present(a) => format!("({a}=*)"),
        Filter::Substring(a, parts) => {
            // RFC 4515 has no empty `any` part (`a**b`): drop them; nothing left at all
            // is a presence test.
            let last = parts.len().saturating_sub(1);
            let body: Vec<String> = parts
                .iter()
                .enumerate()
                .filter(|(i, p)| *i == 0 || *i == last || !p.is_empty())
                .map(|(_, p)| filter_value(p))
                .collect();
            if body.iter().all(String::is_empty) {
                format!("({a}=*)")
            } else {
                format!("({a}={})", body.join("*"))
            }
        }
        Filter::GreaterOrEqual(a, v) => format!("({a}>={})", filter_value(v)),
        Filter::LessOrEqual(a, v) => format!("({a}<={})", filter_value(v)),
    }
}

/// Substitutes `%s` in a Zimbra filter template (`zimbraGalLdapFilterDef`) with `value`
/// escaped for a filter (RFC 4515 §3), so metacharacters in user input never change the
/// filter's structure.
pub fn expand_template(template: &str, value: &str) -> String {
    template.replace("%s", &crate::ldap::escape::filter_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::member_url::parse_filter;
    use zcs_core::ZimbraId;

    fn entry(kind: EntryKind, name: &str, pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = Attrs::new();
        for (n, v) in pairs {
            attrs.add(n, *v);
        }
        Entry {
            kind,
            id: ZimbraId::new(),
            name: name.into(),
            attrs,
        }
    }

    #[test]
    fn virtual_object_class_and_aliases() {
        let e = entry(
            EntryKind::CalendarResource,
            "room@x.test",
            &[("givenName", "Big"), ("zimbraAccountStatus", "active")],
        );
        for (f, want) in [
            ("(objectClass=zimbraAccount)", true),
            ("(objectclass=zimbraCalendarResource)", true),
            ("(!(objectclass=zimbraCalendarResource))", false),
            ("(gn=bi*)", true),
            ("(givenName=BIG)", true),
            ("(objectClass=zimbraDistributionList)", false),
        ] {
            assert_eq!(entry_matches(&parse_filter(f).unwrap(), &e), want, "{f}");
        }
    }

    #[test]
    fn finish_sorts_limits_and_projects() {
        let q = SearchQuery::new(&[EntryKind::Account])
            .in_domain("x.test")
            .with_filter(parse_filter("(sn=*)").unwrap())
            .with_limit(2)
            .returning(vec!["SN".into()])
            .sorted_by(Some("sn".into()), false);
        let c = vec![
            entry(EntryKind::Account, "a@x.test", &[("sn", "b"), ("cn", "A")]),
            entry(EntryKind::Account, "b@x.test", &[("sn", "c")]),
            entry(EntryKind::Account, "c@x.test", &[("sn", "a")]),
            entry(EntryKind::Account, "d@y.test", &[("sn", "z")]),
            entry(EntryKind::Account, "e@x.test", &[]),
        ];
        let r = finish(&q, c);
        let names: Vec<&str> = r.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["b@x.test", "a@x.test"]);
        assert!(r.more);
        assert!(r.entries[1].attrs.get("cn").is_none());
        assert_eq!(r.entries[1].attrs.get("sn"), Some("b"));
    }

    #[test]
    fn templates_escape_metacharacters() {
        let f = expand_template("(|(cn=%s*)(mail=%s*))", "*)(uid=*");
        let parsed = parse_filter(&f).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(vec![
                Filter::Substring("cn".into(), vec!["*)(uid=*".into(), String::new()]),
                Filter::Substring("mail".into(), vec!["*)(uid=*".into(), String::new()]),
            ])
        );
        assert_eq!(parse_filter(&filter_string(&parsed)).unwrap(), parsed);
        let empty = parse_filter("(cn=**)").unwrap();
        assert_eq!(filter_string(&empty), "(cn=*)");
        let mid = parse_filter("(cn=a**b)").unwrap();
        assert_eq!(filter_string(&mid), "(cn=a*b)");
        assert!(ldap3::parse_filter(filter_string(&empty)).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn filter_strings_round_trip(v in "\\PC{1,12}", a in "[a-zA-Z][a-zA-Z0-9]{0,8}") {
            // Substring parts are read with insignificant spaces dropped.
            let part = crate::provisioning::member_url::squeeze_spaces(&v);
            let mut filters = vec![
                Filter::Equal(a.clone(), v.clone()),
                Filter::Not(Box::new(Filter::Present(a.clone()))),
            ];
            if !part.is_empty() {
                filters.push(Filter::Substring(a.clone(), vec![part, String::new()]));
            }
            for f in filters {
                let text = filter_string(&f);
                proptest::prop_assert_eq!(parse_filter(&text).unwrap(), f);
            }
        }
    }
}
