//! Directory search pushed down to SQL: an LDAP filter becomes a `WHERE` clause over
//! `directory_attrs`, so a search reads only the candidate entries.
//!
//! In charge of translating a [`Filter`] into SQL that selects a superset of the
//! matching entries (exactly the matches when every part translates), with every value
//! bound as a parameter. Parts SQL cannot decide the same way as
//! [`crate::search::entry_matches`] (ordering comparisons, non-ASCII substrings) widen
//! the selection instead, and [`crate::search::finish`] re-checks every candidate.

use sqlx::AnyPool;
use zcs_core::{EntryKind, ServiceResult};

use super::SqlDirectoryError;
use super::dialect::SqlBackend;
use super::rows;
use crate::ldap::dit::required_classes;
use crate::names::lower_name;
use crate::provisioning::member_url::Filter;
use crate::search::{SearchQuery, SearchResults, attr_names, finish};

/// A translated filter part: `None` is "true" (no narrowing), with its bound values.
type Part = (Option<(String, Vec<String>)>, bool);

/// `?, ?, ?` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The condition that an attribute (any of its names) has a value satisfying `test`
/// (an SQL expression over `x.value` with one `?`).
fn has_value(attr: &str, test: &str, value: String) -> (String, Vec<String>) {
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
fn like_escape(s: &str) -> String {
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
fn kinds_with_class(class: &str) -> Vec<&'static str> {
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

/// Translates `f` (see [`Part`]); the flag says whether the SQL is exact.
fn translate(f: &Filter) -> Part {
    match f {
        Filter::And(items) => {
            let mut sql = Vec::new();
            let mut binds = Vec::new();
            let mut exact = true;
            for item in items {
                let (part, ex) = translate(item);
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
            for item in items {
                match translate(item) {
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
            match unbounded {
                Some(ex) => (None, ex),
                None => (Some((sql.join(" OR "), binds)), exact),
            }
        }
        Filter::Not(inner) => match translate(inner) {
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
            let pattern: Vec<String> = parts
                .iter()
                .map(|p| like_escape(&p.to_ascii_lowercase()))
                .collect();
            let pattern = pattern.join("%");
            if a.eq_ignore_ascii_case("zimbraId") {
                let sql = "LOWER(m.id) LIKE ? ESCAPE '!'".to_string();
                return (Some((sql, vec![pattern])), true);
            }
            let (sql, binds) = has_value(a, "LOWER(x.value) LIKE ? ESCAPE '!'", pattern);
            (Some((sql, binds)), true)
        }
        Filter::GreaterOrEqual(..) | Filter::LessOrEqual(..) => (None, false),
    }
}

/// Runs `q` against the SQL store.
///
/// # Errors
/// `service.FAILURE` when the database fails.
pub async fn search(
    pool: &AnyPool,
    b: SqlBackend,
    q: &SearchQuery,
) -> ServiceResult<SearchResults> {
    if q.kinds.is_empty() {
        return Ok(SearchResults::default());
    }
    let mut binds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
    let mut inner = format!(
        "SELECT m.id AS sid FROM directory_entries m WHERE m.kind IN ({})",
        marks(q.kinds.len())
    );
    if let Some(d) = &q.domain {
        inner.push_str(" AND m.domain = ?");
        binds.push(lower_name(d));
    }
    let (cond, exact) = match &q.filter {
        Some(f) => translate(f),
        None => (None, true),
    };
    if let Some((sql, b)) = cond {
        inner.push_str(&format!(" AND ({sql})"));
        binds.extend(b);
    }
    inner.push_str(" ORDER BY m.lower_name, m.id");
    if exact && q.sorted_by_name() && q.limit > 0 {
        // One more than the limit tells whether more matched.
        inner.push_str(&format!(" LIMIT {}", q.limit.saturating_add(1)));
    }
    let text = format!(
        "SELECT e.id, e.kind, e.name, a.name, a.value FROM ({inner}) sel \
         JOIN directory_entries e ON e.id = sel.sid \
         LEFT JOIN directory_attrs a ON a.entry_id = e.id \
         ORDER BY e.lower_name, e.id, a.name_lower, a.position"
    );
    let mut query = sqlx::query(b.sql_owned(text));
    for v in binds {
        query = query.bind(v);
    }
    let rows = query
        .fetch_all(pool)
        .await
        .map_err(SqlDirectoryError::db("search entries"))?;
    let candidates = rows::assemble(rows)?;
    Ok(finish(q, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::member_url::parse_filter;

    fn exactness(f: &str) -> (bool, bool) {
        let (part, exact) = translate(&parse_filter(f).expect("filter"));
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
        assert_eq!(exactness("(cn=é*)"), (false, false));
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape("a%b_c!d"), "a!%b!_c!!d");
    }
}
