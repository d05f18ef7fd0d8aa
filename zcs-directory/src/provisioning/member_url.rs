//! The `memberURL` of a dynamic group: an LDAP URL (RFC 4516) whose filter (RFC 4515)
//! says which accounts are members, evaluated here against directory entries so that
//! dynamic groups work on every backend.
//!
//! Supported subset: `ldap:///<base>??<scope>?<filter>` with an empty host; the base, when
//! given, limits members to the domain its `dc=` components name; the scope is accepted
//! and treated as `sub`. Filters: `&`, `|`, `!`, equality, presence (`attr=*`),
//! substrings (`a*b*c`), and `>=` / `<=` compared as integers when both sides are, else
//! as text. Attribute names and values compare case-insensitively (the Zimbra attributes
//! used in filters are case-ignore strings); `\XX` escapes are decoded.

use zcs_core::{Entry, ServiceError, ServiceResult};

/// Deepest filter nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A parsed search filter (RFC 4515 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Equal(String, String),
    Present(String),
    /// `attr=initial*any*...*final`; empty strings where a part is missing.
    Substring(String, Vec<String>),
    GreaterOrEqual(String, String),
    LessOrEqual(String, String),
}

/// A parsed `memberURL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberUrl {
    /// The domain the base DN's `dc=` components name, lower-cased; `None` for the
    /// whole directory.
    pub domain: Option<String>,
    pub filter: Filter,
}

fn bad(why: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        zcs_core::FaultCode::InvalidAttrValue,
        format!("invalid memberURL: {why}"),
    )
}

/// Parses a `memberURL` value.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` for a URL that is not `ldap:///...`, names a host, or
/// whose filter does not parse.
pub fn parse_member_url(url: &str) -> ServiceResult<MemberUrl> {
    let url = url.trim();
    let rest = url
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("ldap://"))
        .map(|_| &url[7..])
        .ok_or_else(|| bad("must start with ldap://"))?;
    let Some(rest) = rest.strip_prefix('/') else {
        return Err(bad("only ldap:/// (this directory) is supported"));
    };
    // RFC 4516 §2: dn ? attributes ? scope ? filter ? extensions
    let mut parts = rest.splitn(5, '?');
    let base = percent_decode(parts.next().unwrap_or(""));
    let _attrs = parts.next();
    let scope = parts.next().unwrap_or("").to_ascii_lowercase();
    if !matches!(scope.as_str(), "" | "sub" | "one" | "base") {
        return Err(bad(format!("unknown scope {scope:?}")));
    }
    let filter_text = percent_decode(parts.next().unwrap_or(""));
    let filter = if filter_text.trim().is_empty() {
        Filter::Present("objectClass".into())
    } else {
        parse_filter(filter_text.trim())?
    };
    let dcs: Vec<String> = base
        .split(',')
        .filter_map(|rdn| {
            let (a, v) = rdn.split_once('=')?;
            a.trim()
                .eq_ignore_ascii_case("dc")
                .then(|| v.trim().to_ascii_lowercase())
        })
        .collect();
    let domain = (!dcs.is_empty()).then(|| dcs.join("."));
    Ok(MemberUrl { domain, filter })
}

/// Decodes `%XX` escapes of a URL part; malformed escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an RFC 4515 filter string.
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` for unbalanced parentheses, an empty component, nesting
/// deeper than 32, or trailing text.
pub fn parse_filter(text: &str) -> ServiceResult<Filter> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let f = parse_at(&chars, &mut pos, 0)?;
    if pos != chars.len() {
        return Err(bad("text after the filter"));
    }
    Ok(f)
}

fn parse_at(c: &[char], pos: &mut usize, depth: usize) -> ServiceResult<Filter> {
    if depth > MAX_DEPTH {
        return Err(bad("filter nested too deeply"));
    }
    while c.get(*pos).is_some_and(|ch| ch.is_whitespace()) {
        *pos += 1;
    }
    if c.get(*pos) != Some(&'(') {
        return Err(bad("expected '('"));
    }
    *pos += 1;
    let f = match c.get(*pos) {
        Some('&') | Some('|') => {
            let and = c[*pos] == '&';
            *pos += 1;
            let mut items = Vec::new();
            loop {
                while c.get(*pos).is_some_and(|ch| ch.is_whitespace()) {
                    *pos += 1;
                }
                match c.get(*pos) {
                    Some('(') => items.push(parse_at(c, pos, depth + 1)?),
                    Some(')') => break,
                    _ => return Err(bad("unterminated filter list")),
                }
            }
            if items.is_empty() {
                return Err(bad("empty filter list"));
            }
            if and {
                Filter::And(items)
            } else {
                Filter::Or(items)
            }
        }
        Some('!') => {
            *pos += 1;
            Filter::Not(Box::new(parse_at(c, pos, depth + 1)?))
        }
        _ => {
            let start = *pos;
            while c.get(*pos).is_some_and(|ch| *ch != ')' && *ch != '(') {
                *pos += 1;
            }
            if c.get(*pos) != Some(&')') {
                return Err(bad("unterminated item"));
            }
            item(&c[start..*pos].iter().collect::<String>())?
        }
    };
    while c.get(*pos).is_some_and(|ch| ch.is_whitespace()) {
        *pos += 1;
    }
    if c.get(*pos) != Some(&')') {
        return Err(bad("expected ')'"));
    }
    *pos += 1;
    Ok(f)
}

/// One `attr op value` item.
fn item(text: &str) -> ServiceResult<Filter> {
    // The operator is at the first `=`, with the character before it when that is
    // `>`, `<` or `~`: values may contain `=`, `>=` and the like.
    let Some(eq) = text.find('=') else {
        return Err(bad(format!("no operator in {text:?}")));
    };
    let value = &text[eq + 1..];
    let (attr, op) = match text[..eq].chars().last() {
        Some('>') => (&text[..eq - 1], ">="),
        Some('<') => (&text[..eq - 1], "<="),
        Some('~') => (&text[..eq - 1], "="),
        _ => (&text[..eq], "="),
    };
    let attr = attr.trim();
    if attr.is_empty()
        || !attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.')
    {
        return Err(bad(format!("bad attribute name {attr:?}")));
    }
    let attr = attr.to_string();
    Ok(match op {
        ">=" => Filter::GreaterOrEqual(attr, unescape(value)),
        "<=" => Filter::LessOrEqual(attr, unescape(value)),
        _ if value == "*" => Filter::Present(attr),
        _ if value.contains('*') => {
            // Spaces at either end of a part and runs of spaces are insignificant, as
            // OpenLDAP's caseIgnoreSubstringsMatch treats them (RFC 4518 §2.6.1):
            // `(cn=*  ab  *)` matches `ab`.
            let parts = value.split('*').map(|p| squeeze_spaces(&unescape(p)));
            Filter::Substring(attr, parts.collect())
        }
        _ => Filter::Equal(attr, unescape(value)),
    })
}

/// Decodes RFC 4515 `\XX` escapes.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(x) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Filter {
    /// Whether `entry` matches. `zimbraId` is the entry's id; every other attribute is
    /// read from its stored attributes.
    pub fn matches(&self, entry: &Entry) -> bool {
        let values = |attr: &str| -> Vec<String> {
            if attr.eq_ignore_ascii_case("zimbraId") {
                return vec![entry.id.to_string()];
            }
            entry
                .attrs
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(attr))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect()
        };
        self.matches_with(&values)
    }

    /// Whether the entry whose values of an attribute `values` returns matches: the
    /// caller decides which attributes exist (virtual ones, aliases such as `gn`).
    pub fn matches_with(&self, values: &dyn Fn(&str) -> Vec<String>) -> bool {
        match self {
            Filter::And(items) => items.iter().all(|f| f.matches_with(values)),
            Filter::Or(items) => items.iter().any(|f| f.matches_with(values)),
            Filter::Not(f) => !f.matches_with(values),
            Filter::Present(a) => !values(a).is_empty(),
            Filter::Equal(a, v) => values(a).iter().any(|x| x.eq_ignore_ascii_case(v)),
            Filter::Substring(a, parts) => values(a).iter().any(|x| substring_match(x, parts)),
            Filter::GreaterOrEqual(a, v) => values(a)
                .iter()
                .any(|x| compare(x, v) != std::cmp::Ordering::Less),
            Filter::LessOrEqual(a, v) => values(a)
                .iter()
                .any(|x| compare(x, v) != std::cmp::Ordering::Greater),
        }
    }
}

/// Integer comparison when both parse, else case-insensitive text comparison.
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// `text` without spaces at either end and with each run of spaces as one space: the
/// insignificant-space handling of OpenLDAP's string matching rules (RFC 4518 §2.6.1).
pub(crate) fn squeeze_spaces(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    words.join(" ")
}

/// `parts` is the value split at `*`: first must be a prefix, last a suffix, the ones
/// between must appear in order. Spaces in the value are insignificant as in the parts
/// ([`squeeze_spaces`]).
fn substring_match(value: &str, parts: &[String]) -> bool {
    let v = squeeze_spaces(value).to_lowercase();
    let parts: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return true;
    };
    if !v.starts_with(first.as_str()) {
        return false;
    }
    let mut at = first.len();
    for mid in &parts[1..parts.len() - 1] {
        match v[at..].find(mid.as_str()) {
            Some(i) => at += i + mid.len(),
            None => return false,
        }
    }
    parts.len() == 1 || (v.len() >= at + last.len() && v.ends_with(last.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = Attrs::new();
        for (n, v) in pairs {
            let mut all = attrs.get_all(n).to_vec();
            all.push((*v).to_string());
            attrs.set(n, all);
        }
        Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: "u@ex.test".into(),
            attrs,
        }
    }

    #[test]
    fn zimbra_examples_parse_and_match() {
        let e = entry(&[
            ("objectClass", "inetOrgPerson"),
            ("objectClass", "zimbraAccount"),
            ("zimbraAccountStatus", "active"),
            ("title", "Manager"),
        ]);
        for (url, want) in [
            ("ldap:///??sub?(objectClass=zimbraAccount)", true),
            (
                "ldap:///??sub?(&(objectClass=zimbraAccount)(zimbraAccountStatus=active))",
                true,
            ),
            (
                "ldap:///??sub?(&(objectClass=zimbraAccount)(title=manager))",
                true,
            ),
            ("ldap:///??sub?(zimbraIsDelegatedAdminAccount=TRUE)", false),
            ("ldap:///??sub?(!(zimbraAccountStatus=locked))", true),
            ("ldap:///??sub?(|(title=Boss)(title=Man*))", true),
            ("ldap:///??sub?(title=*ana*)", true),
            ("ldap:///??sub?(title=*x*)", false),
            ("ldap:///??sub?(title=*)", true),
            ("LDAP:///ou=people,dc=ex,dc=test??sub?(uid=*)", false),
            (
                "ldap:///??sub?(&(objectClass=zimbraAccount) (title=Manager) )",
                true,
            ),
        ] {
            let u = parse_member_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(u.filter.matches(&e), want, "{url}");
        }
        let u = parse_member_url("ldap:///ou=people,dc=Ex,dc=test??sub?(uid=*)").unwrap();
        assert_eq!(u.domain.as_deref(), Some("ex.test"));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "",
            "http:///??sub?(a=b)",
            "ldap://evil.example/??sub?(a=b)",
            "ldap:///??sub?(a=b",
            "ldap:///??sub?a=b",
            "ldap:///??sub?(&)",
            "ldap:///??sub?(a=b))",
            "ldap:///??weird?(a=b)",
        ] {
            assert!(parse_member_url(url).is_err(), "{url}");
        }
        let deep = format!("ldap:///??sub?{}(a=b){}", "(!".repeat(100), ")".repeat(100));
        assert!(parse_member_url(&deep).is_err());
    }

    #[test]
    fn escapes_decode() {
        assert_eq!(
            parse_filter("(cn=a\\2ab)").unwrap(),
            Filter::Equal("cn".into(), "a*b".into())
        );
    }

    #[test]
    fn substring_spaces_are_insignificant() {
        let f = parse_filter("(cn=*  searchdir  *)").unwrap();
        assert_eq!(
            f,
            Filter::Substring("cn".into(), vec!["".into(), "searchdir".into(), "".into()])
        );
        assert!(substring_match(
            "searchdir.1@x.test",
            &["".into(), "searchdir".into(), "".into()]
        ));
        assert!(substring_match("Big   Room", &["big r".into(), "".into()]));
        assert!(!substring_match("bigroom", &["big r".into(), "".into()]));
        assert_eq!(squeeze_spaces("  a   b  "), "a b");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,80}") {
            let _ = parse_filter(&s);
            let _ = parse_member_url(&format!("ldap:///??sub?{s}"));
            let _ = percent_decode(&s);
        }

        #[test]
        fn substring_matching_never_panics(
            v in "\\PC{0,20}",
            parts in proptest::collection::vec("\\PC{0,4}", 2..5),
        ) {
            let _ = substring_match(&v, &parts);
        }

        #[test]
        fn equality_round_trips(a in "[a-zA-Z][a-zA-Z0-9]{0,10}", v in "[a-zA-Z0-9@.]{1,12}") {
            let f = parse_filter(&format!("({a}={v})")).unwrap();
            proptest::prop_assert_eq!(f, Filter::Equal(a, v));
        }
    }
}
