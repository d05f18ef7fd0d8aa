//! Directory search pushed down to SQL: an LDAP filter becomes a `WHERE` clause over
//! `directory_attrs` ([`super::translate`]), so a search reads only the candidate
//! entries.
//!
//! In charge of choosing how the database finds the candidates. With a *driver* (the
//! value-index range scans of the filter's equality and prefix tests; an OR has one when
//! each branch has one, an AND when any part has one) the search reads only the entries
//! it names; without one it reads every entry of the kinds (and domain). One more plan
//! serves the GAL's common case, a short prefix that matches thousands of a domain's
//! entries with a small limit: when a bounded count of the driver's rows in the domain
//! exceeds [`DENSE_ROWS`], the domain is read in name order a page at a time (the
//! `directory_entries_by_domain_name` index) and each page checked with the filter,
//! stopping once the limit is reached, which with that many matches comes after a few
//! pages. [`crate::search::finish`] re-checks every candidate.
//!
//! GAL autocomplete goes first through the name-prefix table ([`super::prefixes`]) when
//! every test of the driver is on a name-like attribute and they share one short
//! prefix: one page of that prefix's rows in name order, checked with the filter,
//! usually holds the limit (a typed `j` or `smi` matches nearly every row it walks), so
//! the answer costs a few small queries whatever the directory size. When the page does
//! not hold enough (a long prefix rarer than its first characters), the plans above
//! decide, the dense one walking the prefix rows rather than the whole domain.

use sqlx::AnyPool;
use zcs_core::ServiceResult;

use super::SqlDirectoryError;
use super::dialect::SqlBackend;
use super::rows;
use super::translate::{Branch, Translated, marks, translate, union};
use crate::names::lower_name;
use crate::search::{SearchQuery, SearchResults, finish};

/// Driver rows (counted up to this many plus one) above which a limited GAL-style search
/// in one domain pages through the domain in name order instead (see the module doc).
const DENSE_ROWS: usize = 1_500;

/// The first page of that name-order scan; later pages double up to [`MAX_PAGE`].
const FIRST_PAGE: usize = 128;

/// The rows of `directory_prefixes` read first for a search with a short prefix, before
/// deciding between the value index and a longer name-order walk.
const PROBE_PAGE: usize = 256;

/// The largest page of the name-order scan.
const MAX_PAGE: usize = 2_048;

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
    let t = match &q.filter {
        Some(f) => translate(f, b),
        None => Translated {
            cond: None,
            exact: true,
            driver: None,
            prefix: None,
        },
    };
    let limited = t.exact && q.sorted_by_name() && q.limit > 0;
    if let (Some(domain), Some(branches), true) = (&q.domain, &t.driver, limited) {
        let domain = lower_name(domain);
        let by_prefix = t.prefix.as_deref().map(Pages::Prefix);
        // A first page of the prefix rows settles most autocompletes: short prefixes
        // match nearly every row they walk.
        if let Some(pages) = by_prefix
            && let Some(ids) = scan_in_name_order(pool, b, q, &t, &domain, pages, true).await?
        {
            let candidates = load_ids(pool, b, &ids).await?;
            return Ok(finish(q, candidates));
        }
        if dense(pool, b, branches, &domain).await? {
            let pages = by_prefix.unwrap_or(Pages::Domain);
            let ids = scan_in_name_order(pool, b, q, &t, &domain, pages, false)
                .await?
                .unwrap_or_default();
            let candidates = load_ids(pool, b, &ids).await?;
            return Ok(finish(q, candidates));
        }
    }

    let mut binds: Vec<String> = Vec::new();
    let mut inner = "SELECT m.id AS sid FROM directory_entries m WHERE ".to_string();
    let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
    match &t.driver {
        Some(branches) => {
            // The driver's entries are read by id; `kind` and `domain` must not tempt the
            // planner into reading the domain through their indexes instead.
            let (sql, db) = union(branches, "", false);
            inner.push_str(&format!(
                "m.id IN ({sql}) AND {} IN ({})",
                b.unindexed("m.kind"),
                marks(kinds.len())
            ));
            binds.extend(db);
            binds.extend(kinds);
            if let Some(d) = &q.domain {
                inner.push_str(&format!(" AND {} = ?", b.unindexed("m.domain")));
                binds.push(lower_name(d));
            }
        }
        None => {
            inner.push_str(&format!("m.kind IN ({})", marks(kinds.len())));
            binds.extend(kinds);
            if let Some(d) = &q.domain {
                inner.push_str(" AND m.domain = ?");
                binds.push(lower_name(d));
            }
        }
    }
    if let Some((sql, b)) = &t.cond {
        inner.push_str(&format!(" AND ({sql})"));
        binds.extend(b.iter().cloned());
    }
    inner.push_str(" ORDER BY m.lower_name, m.id");
    if limited {
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

/// Whether the driver has more than [`DENSE_ROWS`] rows in `domain`, counting no
/// further than that.
async fn dense(
    pool: &AnyPool,
    b: SqlBackend,
    branches: &[Branch],
    domain: &str,
) -> ServiceResult<bool> {
    // A correlated lookup rather than a join, so the scan starts from the value index
    // and stops at the limit instead of reading the domain first.
    let in_domain = " AND (SELECT m.domain FROM directory_entries m WHERE m.id = x.entry_id) = ?";
    let mut sql = Vec::with_capacity(branches.len());
    let mut binds = Vec::new();
    for (s, bs) in branches {
        sql.push(format!(
            "SELECT x.entry_id FROM directory_attrs x WHERE {s}{in_domain}"
        ));
        binds.extend(bs.iter().cloned());
        binds.push(domain.to_string());
    }
    let text = format!(
        "SELECT COUNT(*) FROM ({} LIMIT {}) probe",
        sql.join(" UNION ALL "),
        DENSE_ROWS + 1
    );
    let mut query = sqlx::query_scalar::<_, i64>(b.sql_owned(text));
    for v in binds {
        query = query.bind(v);
    }
    let n = query
        .fetch_one(pool)
        .await
        .map_err(SqlDirectoryError::db("count search candidates"))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX) > DENSE_ROWS)
}

/// What a name-order scan reads a page at a time.
#[derive(Clone, Copy, Debug)]
enum Pages<'a> {
    /// Every entry of the domain (`directory_entries_by_domain_name`).
    Domain,
    /// The entries with a `directory_prefixes` row of this short prefix.
    Prefix(&'a str),
}

/// The ids of the first `q.limit + 1` entries of `domain` in name order that are of the
/// query's kinds and pass the translated filter, reading `pages` a page at a time. A
/// `probe` reads one page of [`PROBE_PAGE`] rows only and gives `None` when that page
/// was full and did not find enough.
async fn scan_in_name_order(
    pool: &AnyPool,
    b: SqlBackend,
    q: &SearchQuery,
    t: &Translated,
    domain: &str,
    pages: Pages<'_>,
    probe: bool,
) -> ServiceResult<Option<Vec<String>>> {
    let want = q.limit.saturating_add(1);
    let mut found: Vec<String> = Vec::new();
    let mut from = String::new();
    // Ids already read whose name is `from` (the next page starts at that name again).
    let mut seen_at_from: Vec<String> = Vec::new();
    let mut page = if probe { PROBE_PAGE } else { FIRST_PAGE };
    loop {
        let rows: Vec<(String, String, String)> = match pages {
            Pages::Domain => {
                let text = format!(
                    "SELECT m.id, m.kind, m.lower_name FROM directory_entries m \
                     WHERE m.domain = ? AND m.lower_name >= ? \
                     ORDER BY m.lower_name, m.id LIMIT {page}"
                );
                sqlx::query_as(b.sql_owned(text))
                    .bind(domain)
                    .bind(&from)
                    .fetch_all(pool)
                    .await
            }
            Pages::Prefix(pfx) => {
                let text = format!(
                    "SELECT p.entry_id, p.kind, p.lower_name FROM directory_prefixes p \
                     WHERE p.domain = ? AND p.pfx = ? AND p.lower_name >= ? \
                     ORDER BY p.lower_name, p.entry_id LIMIT {page}"
                );
                sqlx::query_as(b.sql_owned(text))
                    .bind(domain)
                    .bind(pfx)
                    .bind(&from)
                    .fetch_all(pool)
                    .await
            }
        }
        .map_err(SqlDirectoryError::db("page through domain"))?;
        let full = rows.len() == page;
        let mut ids = Vec::with_capacity(rows.len());
        for (id, kind, lower) in rows {
            if lower == from && seen_at_from.contains(&id) {
                continue;
            }
            if lower != from {
                from = lower;
                seen_at_from.clear();
            }
            seen_at_from.push(id.clone());
            if q.kinds.iter().any(|k| k.as_str() == kind) {
                ids.push(id);
            }
        }
        if !ids.is_empty() {
            found.extend(check_ids(pool, b, &ids, t.cond.as_ref()).await?);
        }
        if found.len() >= want || !full {
            found.truncate(want);
            return Ok(Some(found));
        }
        if probe {
            return Ok(None);
        }
        page = (page * 2).min(MAX_PAGE);
    }
}

/// Those of `ids` (in name order) whose entries pass `cond`, in name order.
async fn check_ids(
    pool: &AnyPool,
    b: SqlBackend,
    ids: &[String],
    cond: Option<&(String, Vec<String>)>,
) -> ServiceResult<Vec<String>> {
    let Some((sql, cb)) = cond else {
        return Ok(ids.to_vec());
    };
    let text = format!(
        "SELECT m.id FROM directory_entries m WHERE m.id IN ({}) AND ({sql}) \
         ORDER BY m.lower_name, m.id",
        marks(ids.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(b.sql_owned(text));
    for id in ids {
        query = query.bind(id.clone());
    }
    for v in cb {
        query = query.bind(v.clone());
    }
    Ok(query
        .fetch_all(pool)
        .await
        .map_err(SqlDirectoryError::db("check search candidates"))?)
}

/// The entries with `ids`, with all their attributes.
async fn load_ids(
    pool: &AnyPool,
    b: SqlBackend,
    ids: &[String],
) -> ServiceResult<Vec<zcs_core::Entry>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "SELECT e.id, e.kind, e.name, a.name, a.value FROM directory_entries e \
         LEFT JOIN directory_attrs a ON a.entry_id = e.id WHERE e.id IN ({}) \
         ORDER BY e.lower_name, e.id, a.name_lower, a.position",
        marks(ids.len())
    );
    let mut query = sqlx::query(b.sql_owned(text));
    for id in ids {
        query = query.bind(id.clone());
    }
    let rows = query
        .fetch_all(pool)
        .await
        .map_err(SqlDirectoryError::db("read search hits"))?;
    Ok(rows::assemble(rows)?)
}
