//! Row-level reads and writes of the SQL directory, each inside the caller's transaction.
//! The caller decides transaction boundaries and turns "not found" into faults.
//!
//! Statements are written once with `?` placeholders and passed through
//! [`SqlBackend::sql`]; reads of whole entries are one joined query, so they see one
//! consistent state on every engine without a transaction.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};
use zcs_core::{Attrs, Entry, EntryKind, ZimbraId};

use super::SqlDirectoryError;
use super::dialect::SqlBackend;
use super::schema::value_key;
use crate::directory::{A_MAIL_ALIAS, exists_fault};
use crate::names::{lower_name, split_address};
use zcs_core::ServiceError;

type Result<T> = std::result::Result<T, SqlDirectoryError>;

/// The domain column for a name: the lower-cased part after the last `@`, if any.
fn domain_of(name: &str) -> Option<String> {
    split_address(name).map(|(_, d)| lower_name(d))
}

/// Parses a stored kind.
fn parse_kind(id: &str, kind: &str) -> Result<EntryKind> {
    kind.parse().map_err(|_| SqlDirectoryError::Corrupt {
        id: id.to_string(),
        reason: format!("unknown kind {kind:?}"),
    })
}

/// Parses a stored id.
fn parse_id(id: &str) -> Result<ZimbraId> {
    id.parse().map_err(|_| SqlDirectoryError::Corrupt {
        id: id.to_string(),
        reason: "malformed id".to_string(),
    })
}

/// Inserts the entry row (not its attributes). A unique violation is returned as the
/// raw sqlx error so the caller can name the right "exists" fault.
pub async fn insert_entry(conn: &mut AnyConnection, b: SqlBackend, e: &Entry) -> sqlx::Result<()> {
    sqlx::query(b.sql(
        "INSERT INTO directory_entries (id, kind, name, lower_name, domain)
         VALUES (?, ?, ?, ?, ?)",
    ))
    .bind(e.id.to_string())
    .bind(e.kind.as_str())
    .bind(&e.name)
    .bind(lower_name(&e.name))
    .bind(domain_of(&e.name))
    .execute(conn)
    .await?;
    Ok(())
}

/// Updates the entry row's name columns; unique violations come back raw as in
/// [`insert_entry`].
pub async fn update_name(conn: &mut AnyConnection, b: SqlBackend, e: &Entry) -> sqlx::Result<()> {
    sqlx::query(
        b.sql("UPDATE directory_entries SET name = ?, lower_name = ?, domain = ? WHERE id = ?"),
    )
    .bind(&e.name)
    .bind(lower_name(&e.name))
    .bind(domain_of(&e.name))
    .bind(e.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces every stored attribute value of the entry with `e.attrs`, each with its
/// search key ([`value_key`]).
pub async fn write_attrs(conn: &mut AnyConnection, b: SqlBackend, e: &Entry) -> Result<()> {
    let id = e.id.to_string();
    sqlx::query(b.sql("DELETE FROM directory_attrs WHERE entry_id = ?"))
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("clear attributes"))?;
    for (name, values) in e.attrs.iter() {
        let lower = name.to_ascii_lowercase();
        for (pos, value) in values.iter().enumerate() {
            sqlx::query(b.sql(
                "INSERT INTO directory_attrs
                 (entry_id, name_lower, name, position, value, value_key)
                 VALUES (?, ?, ?, ?, ?, ?)",
            ))
            .bind(&id)
            .bind(&lower)
            .bind(name)
            .bind(i64::try_from(pos).unwrap_or(i64::MAX))
            .bind(value)
            .bind(value_key(value))
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("write attribute"))?;
        }
    }
    Ok(())
}

/// Writes only what an edit changed between `old` and `new`, the attributes of entry `id`
/// before and after it, and returns the lower-cased names of the attributes that changed.
///
/// An attribute whose values are equal is not touched. One whose new values are its old
/// values less some, followed by new ones (what `+attr` and `-attr` edits make) loses
/// the removed rows and gains the appended ones after its last stored position, so a
/// login that records one token id on an account with hundreds writes one row, not the
/// whole entry. Any other change (a reorder, a replace, duplicate values, rows that do
/// not match what was read) rewrites that attribute's rows.
///
/// # Errors
/// A database failure.
pub async fn write_changed_attrs(
    conn: &mut AnyConnection,
    b: SqlBackend,
    id: ZimbraId,
    old: &Attrs,
    new: &Attrs,
) -> Result<Vec<String>> {
    let id = id.to_string();
    // Attrs keep an attribute's first spelling across edits, so the name as either side
    // spells it is the one to store.
    let mut names: Vec<(String, &str)> = Vec::new();
    for (name, _) in old.iter().chain(new.iter()) {
        let lower = name.to_ascii_lowercase();
        if !names.iter().any(|(l, _)| *l == lower) {
            names.push((lower, name));
        }
    }
    let mut changed = Vec::new();
    for (lower, name) in names {
        let (before, after) = (old.get_all(&lower), new.get_all(&lower));
        if before == after {
            continue;
        }
        let rows = AttrRows {
            id: &id,
            lower: &lower,
            name,
        };
        let patched = match append_only(before, after) {
            Some((removed, appended)) => {
                rows.patch(conn, b, before.len(), &removed, appended)
                    .await?
            }
            None => false,
        };
        if !patched {
            rows.rewrite(conn, b, after).await?;
        }
        changed.push(lower);
    }
    Ok(changed)
}

/// When `after` is `before` less some values, then new values: the indexes into
/// `before` that went and the values appended. `None` for any other change, or when
/// either side repeats a value.
fn append_only<'a>(before: &[String], after: &'a [String]) -> Option<(Vec<usize>, &'a [String])> {
    use std::collections::HashSet;
    let old: HashSet<&String> = before.iter().collect();
    let new: HashSet<&String> = after.iter().collect();
    if old.len() != before.len() || new.len() != after.len() {
        return None;
    }
    let kept = before.iter().filter(|v| new.contains(v)).count();
    let in_order = before
        .iter()
        .filter(|v| new.contains(v))
        .zip(after)
        .all(|(a, b)| a == b);
    if !in_order {
        return None;
    }
    let removed = (0..before.len())
        .filter(|&i| !new.contains(&before[i]))
        .collect();
    Some((removed, &after[kept..]))
}

/// The stored rows of one attribute of one entry: entry id, lower-cased name, and the
/// spelling the rows keep.
struct AttrRows<'a> {
    id: &'a str,
    lower: &'a str,
    name: &'a str,
}

impl AttrRows<'_> {
    /// Deletes the rows at the `removed` indexes and appends `appended` after the last
    /// stored position. Returns false, having written nothing, when the stored rows are
    /// not the `expected` count the caller read (the caller then rewrites them).
    async fn patch(
        &self,
        conn: &mut AnyConnection,
        b: SqlBackend,
        expected: usize,
        removed: &[usize],
        appended: &[String],
    ) -> Result<bool> {
        if removed.is_empty() {
            return self.append(conn, b, expected, appended).await;
        }
        let positions: Vec<i64> = sqlx::query_scalar(b.sql(
            "SELECT position FROM directory_attrs WHERE entry_id = ? AND name_lower = ?
             ORDER BY position",
        ))
        .bind(self.id)
        .bind(self.lower)
        .fetch_all(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("read attribute positions"))?;
        if positions.len() != expected {
            return Ok(false);
        }
        for &i in removed {
            sqlx::query(b.sql(
                "DELETE FROM directory_attrs WHERE entry_id = ? AND name_lower = ? \
                 AND position = ?",
            ))
            .bind(self.id)
            .bind(self.lower)
            .bind(positions[i])
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("remove attribute value"))?;
        }
        let next = positions.last().map_or(0, |p| p + 1);
        self.insert(conn, b, next, appended).await?;
        Ok(true)
    }

    /// The append-only case of [`Self::patch`]: reads the row count and last position
    /// (one row, however many values the attribute holds) instead of every position.
    async fn append(
        &self,
        conn: &mut AnyConnection,
        b: SqlBackend,
        expected: usize,
        appended: &[String],
    ) -> Result<bool> {
        let (count, last): (i64, Option<i64>) = sqlx::query_as(b.sql(
            "SELECT COUNT(*), MAX(position) FROM directory_attrs \
             WHERE entry_id = ? AND name_lower = ?",
        ))
        .bind(self.id)
        .bind(self.lower)
        .fetch_one(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("read attribute positions"))?;
        if usize::try_from(count).ok() != Some(expected) {
            return Ok(false);
        }
        let next = last.map_or(0, |p| p + 1);
        self.insert(conn, b, next, appended).await?;
        Ok(true)
    }

    /// Replaces every row with `values` at positions from 0.
    async fn rewrite(
        &self,
        conn: &mut AnyConnection,
        b: SqlBackend,
        values: &[String],
    ) -> Result<()> {
        sqlx::query(b.sql("DELETE FROM directory_attrs WHERE entry_id = ? AND name_lower = ?"))
            .bind(self.id)
            .bind(self.lower)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("clear attribute"))?;
        self.insert(conn, b, 0, values).await
    }

    /// Inserts `values` at positions `first`, `first + 1`, ...
    async fn insert(
        &self,
        conn: &mut AnyConnection,
        b: SqlBackend,
        first: i64,
        values: &[String],
    ) -> Result<()> {
        for (pos, value) in (first..).zip(values) {
            sqlx::query(b.sql(
                "INSERT INTO directory_attrs
                 (entry_id, name_lower, name, position, value, value_key)
                 VALUES (?, ?, ?, ?, ?, ?)",
            ))
            .bind(self.id)
            .bind(self.lower)
            .bind(self.name)
            .bind(pos)
            .bind(value)
            .bind(value_key(value))
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("write attribute"))?;
        }
        Ok(())
    }
}

/// Rebuilds the entry's rows in the address index from its name and `zimbraMailAlias`.
///
/// # Errors
/// The kind's "exists" fault naming the first address another entry holds.
pub async fn write_addresses(
    conn: &mut AnyConnection,
    b: SqlBackend,
    e: &Entry,
) -> std::result::Result<(), ServiceError> {
    let id = e.id.to_string();
    sqlx::query(b.sql("DELETE FROM directory_addresses WHERE entry_id = ?"))
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("clear addresses"))?;

    let mut addrs: Vec<String> = vec![lower_name(&e.name)];
    for alias in e.attrs.get_all(A_MAIL_ALIAS) {
        let a = lower_name(alias);
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    for addr in addrs {
        let domain = domain_of(&addr).unwrap_or_default();
        let res = sqlx::query(
            b.sql("INSERT INTO directory_addresses (address, domain, entry_id) VALUES (?, ?, ?)"),
        )
        .bind(&addr)
        .bind(domain)
        .bind(&id)
        .execute(&mut *conn)
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(exists_fault(e.kind, &addr));
            }
            Err(err) => {
                return Err(SqlDirectoryError::db("write address")(err).into());
            }
        }
    }
    Ok(())
}

/// Deletes the entry of `kind` with `id` and everything hanging off it. Returns whether
/// a row was deleted.
pub async fn delete(
    conn: &mut AnyConnection,
    b: SqlBackend,
    kind: EntryKind,
    id: ZimbraId,
) -> Result<bool> {
    let id = id.to_string();
    // Explicit deletes so the result does not depend on foreign keys being enforced.
    for stmt in [
        "DELETE FROM directory_addresses WHERE entry_id = ?",
        "DELETE FROM directory_prefixes WHERE entry_id = ?",
        "DELETE FROM directory_attrs WHERE entry_id = ?",
    ] {
        sqlx::query(b.sql(stmt))
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("delete entry data"))?;
    }
    let done = sqlx::query(b.sql("DELETE FROM directory_entries WHERE id = ? AND kind = ?"))
        .bind(&id)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("delete entry"))?;
    Ok(done.rows_affected() > 0)
}

/// Builds `Attrs` from (name, value) rows sorted by lower-cased name then position.
fn group_attrs(pairs: Vec<(String, String)>) -> Attrs {
    let mut attrs = Attrs::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for (name, value) in pairs {
        match &mut current {
            Some((n, values)) if n.eq_ignore_ascii_case(&name) => values.push(value),
            _ => {
                if let Some((n, values)) = current.take() {
                    attrs.set(&n, values);
                }
                current = Some((name, vec![value]));
            }
        }
    }
    if let Some((n, values)) = current {
        attrs.set(&n, values);
    }
    attrs
}

/// A query for entries with their attributes (`e.id, e.kind, e.name, a.name, a.value`,
/// one row per value), completed by a `WHERE ... ORDER BY` tail.
macro_rules! select_full {
    ($tail:literal) => {
        concat!(
            "SELECT e.id, e.kind, e.name, a.name, a.value
             FROM directory_entries e LEFT JOIN directory_attrs a ON a.entry_id = e.id ",
            $tail
        )
    };
}

/// The entry with `id`, of any kind.
pub async fn load_by_id<'c, E>(ex: E, b: SqlBackend, id: ZimbraId) -> Result<Option<Entry>>
where
    E: Executor<'c, Database = Any>,
{
    const SQL: &str = select_full!("WHERE e.id = ? ORDER BY a.name_lower, a.position");
    let rows = sqlx::query(b.sql(SQL))
        .bind(id.to_string())
        .fetch_all(ex)
        .await
        .map_err(SqlDirectoryError::db("read entry"))?;
    Ok(assemble(rows)?.into_iter().next())
}

/// The entry of `kind` whose lower-cased name is `lower`.
pub async fn load_by_name<'c, E>(
    ex: E,
    b: SqlBackend,
    kind: EntryKind,
    lower: &str,
) -> Result<Option<Entry>>
where
    E: Executor<'c, Database = Any>,
{
    const SQL: &str =
        select_full!("WHERE e.kind = ? AND e.lower_name = ? ORDER BY a.name_lower, a.position");
    let rows = sqlx::query(b.sql(SQL))
        .bind(kind.as_str())
        .bind(lower)
        .fetch_all(ex)
        .await
        .map_err(SqlDirectoryError::db("read entry"))?;
    Ok(assemble(rows)?.into_iter().next())
}

/// The entry owning the lower-cased address `addr` in the address index.
pub async fn load_by_address<'c, E>(ex: E, b: SqlBackend, addr: &str) -> Result<Option<Entry>>
where
    E: Executor<'c, Database = Any>,
{
    const SQL: &str = "SELECT e.id, e.kind, e.name, a.name, a.value
         FROM directory_addresses d
         JOIN directory_entries e ON e.id = d.entry_id
         LEFT JOIN directory_attrs a ON a.entry_id = e.id
         WHERE d.address = ? ORDER BY a.name_lower, a.position";
    let rows = sqlx::query(b.sql(SQL))
        .bind(addr)
        .fetch_all(ex)
        .await
        .map_err(SqlDirectoryError::db("read address"))?;
    Ok(assemble(rows)?.into_iter().next())
}

/// Locks the entry row with `id` until the transaction ends, on engines that lock rows
/// (see [`SqlBackend::locks_rows`]); a no-op on SQLite, whose write transaction already
/// excludes other writers.
pub async fn lock_entry(conn: &mut AnyConnection, b: SqlBackend, id: ZimbraId) -> Result<()> {
    if !b.locks_rows() {
        return Ok(());
    }
    sqlx::query(b.sql("SELECT id FROM directory_entries WHERE id = ? FOR UPDATE"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(SqlDirectoryError::db("lock entry"))?;
    Ok(())
}

/// Every entry of `kind` (in `domain` when given), ordered by name, with attributes, in
/// one query.
pub async fn list<'c, E>(
    ex: E,
    b: SqlBackend,
    kind: EntryKind,
    domain: Option<&str>,
) -> Result<Vec<Entry>>
where
    E: Executor<'c, Database = Any>,
{
    const SQL_ALL: &str =
        select_full!("WHERE e.kind = ? ORDER BY e.lower_name, e.id, a.name_lower, a.position");
    const SQL_DOMAIN: &str = select_full!(
        "WHERE e.kind = ? AND e.domain = ?
         ORDER BY e.lower_name, e.id, a.name_lower, a.position"
    );
    let rows = match domain {
        None => {
            sqlx::query(b.sql(SQL_ALL))
                .bind(kind.as_str())
                .fetch_all(ex)
                .await
        }
        Some(d) => {
            sqlx::query(b.sql(SQL_DOMAIN))
                .bind(kind.as_str())
                .bind(d)
                .fetch_all(ex)
                .await
        }
    }
    .map_err(SqlDirectoryError::db("list entries"))?;
    assemble(rows)
}

/// Entries from rows of a `select_full!` query grouped by entry id (rows of one entry are
/// adjacent), in row order.
pub(super) fn assemble(rows: Vec<AnyRow>) -> Result<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String, String)> = None;
    for row in rows {
        let (id, kind, name) = columns(&row)?;
        let attr: Option<String> = row
            .try_get(3)
            .map_err(SqlDirectoryError::db("read attribute"))?;
        let value: Option<String> = row
            .try_get(4)
            .map_err(SqlDirectoryError::db("read attribute"))?;
        if current.as_ref().is_none_or(|(cid, _, _)| *cid != id) {
            if let Some(prev) = current.take() {
                out.push(build(prev, std::mem::take(&mut pairs))?);
            }
            current = Some((id, kind, name));
        }
        if let (Some(a), Some(v)) = (attr, value) {
            pairs.push((a, v));
        }
    }
    if let Some(prev) = current {
        out.push(build(prev, pairs)?);
    }
    Ok(out)
}

/// An entry from its (id, kind, name) columns and attribute rows.
fn build(
    (id, kind, name): (String, String, String),
    pairs: Vec<(String, String)>,
) -> Result<Entry> {
    Ok(Entry {
        kind: parse_kind(&id, &kind)?,
        id: parse_id(&id)?,
        name,
        attrs: group_attrs(pairs),
    })
}

/// The (id, kind, name) columns at positions 0..3.
fn columns(r: &AnyRow) -> Result<(String, String, String)> {
    let get = |i: usize| -> Result<String> {
        r.try_get::<String, _>(i)
            .map_err(SqlDirectoryError::db("read entry columns"))
    };
    Ok((get(0)?, get(1)?, get(2)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_keeps_order_and_spelling() {
        let a = group_attrs(vec![
            ("cn".into(), "x".into()),
            ("zimbraMailAlias".into(), "b@x".into()),
            ("zimbraMailAlias".into(), "a@x".into()),
        ]);
        assert_eq!(a.get_all("zimbramailalias"), ["b@x", "a@x"]);
        assert_eq!(a.iter().nth(1).unwrap().0, "zimbraMailAlias");
        assert_eq!(domain_of("U@Ex.COM").as_deref(), Some("ex.com"));
        assert_eq!(domain_of("cos"), None);
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn removals_and_appends_are_a_patch() {
        let (old, new) = (v(&["a", "b", "c"]), v(&["a", "c", "d", "e"]));
        let (removed, appended) = append_only(&old, &new).expect("patch");
        assert_eq!(removed, [1]);
        assert_eq!(appended, ["d", "e"]);
        let (removed, appended) = append_only(&old, &[]).expect("all removed");
        assert_eq!(removed, [0, 1, 2]);
        assert!(appended.is_empty());
        let (removed, appended) = append_only(&[], &old).expect("all new");
        assert!(removed.is_empty());
        assert_eq!(appended, old.as_slice());
    }

    #[test]
    fn reorders_and_repeats_are_rewrites() {
        let old = v(&["a", "b", "c"]);
        assert!(append_only(&old, &v(&["b", "a"])).is_none());
        assert!(append_only(&old, &v(&["a", "d", "c"])).is_none());
        assert!(append_only(&v(&["a", "a"]), &v(&["a"])).is_none());
        assert!(append_only(&old, &v(&["a", "b", "c", "c"])).is_none());
    }
}
