//! Keeps the SQL directory's address index (`directory_addresses`: every name and alias
//! of an account, resource or list, one row each) in step with an entry's edits by
//! writing only the addresses that came or went, so adding the thousandth alias to an
//! account costs one row, not a thousand.

use std::collections::HashSet;

use sqlx::AnyConnection;
use zcs_core::{Attrs, Entry, ServiceError};

use super::SqlDirectoryError;
use super::dialect::SqlBackend;
use crate::directory::{A_MAIL_ALIAS, exists_fault};
use crate::names::{lower_name, split_address};

/// The lower-cased addresses an entry named `name` with `attrs` holds in the index: its
/// name first, then each `zimbraMailAlias` value once, in stored order.
pub fn address_set(name: &str, attrs: &Attrs) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(name)
        .chain(attrs.get_all(A_MAIL_ALIAS).iter().map(String::as_str))
        .map(lower_name)
        .filter(|a| seen.insert(a.clone()))
        .collect()
}

/// Moves `e`'s rows in the address index from `old` (what [`address_set`] gave before
/// the edit) to what `e` holds now: deletes the addresses that went and inserts the ones
/// that came, leaving the rest untouched. The caller holds the entry's row lock, so
/// `old` is what the index holds for it.
///
/// # Errors
/// The kind's "exists" fault naming the first new address another entry holds; a
/// database failure.
pub async fn update_addresses(
    conn: &mut AnyConnection,
    b: SqlBackend,
    e: &Entry,
    old: &[String],
) -> Result<(), ServiceError> {
    let id = e.id.to_string();
    let new = address_set(&e.name, &e.attrs);
    let old_set: HashSet<&str> = old.iter().map(String::as_str).collect();
    let new_set: HashSet<&str> = new.iter().map(String::as_str).collect();
    for gone in old.iter().filter(|a| !new_set.contains(a.as_str())) {
        sqlx::query(b.sql("DELETE FROM directory_addresses WHERE address = ? AND entry_id = ?"))
            .bind(gone)
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("remove address"))?;
    }
    for came in new.iter().filter(|a| !old_set.contains(a.as_str())) {
        let domain = split_address(came).map(|(_, d)| d).unwrap_or_default();
        let res = sqlx::query(
            b.sql("INSERT INTO directory_addresses (address, domain, entry_id) VALUES (?, ?, ?)"),
        )
        .bind(came)
        .bind(domain)
        .bind(&id)
        .execute(&mut *conn)
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(exists_fault(e.kind, came));
            }
            Err(err) => return Err(SqlDirectoryError::db("write address")(err).into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_first_then_each_alias_once_lower_cased() {
        let mut a = Attrs::new();
        a.set(
            A_MAIL_ALIAS,
            vec!["X@T.test".into(), "y@t.test".into(), "x@t.test".into()],
        );
        assert_eq!(
            address_set("Me@T.test", &a),
            ["me@t.test", "x@t.test", "y@t.test"]
        );
        assert_eq!(address_set("x@t.test", &a), ["x@t.test", "y@t.test"]);
    }
}
