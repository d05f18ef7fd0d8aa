//! The name-prefix table of the SQL directory: GAL autocomplete in name order without
//! reading the matches it does not return.
//!
//! In charge of `directory_prefixes (domain, pfx, lower_name, entry_id, kind)`: for every
//! entry with an address-like name, one row per distinct *short prefix* of the value
//! keys ([`super::schema::value_key`]) of its name-like attributes ([`PREFIX_ATTRS`]):
//! the first 1 to [`PREFIX_CHARS`] characters of each key, trailing spaces removed. Its
//! primary key is ordered by domain, prefix, then entry name, so "the first 20 entries
//! of this domain, in name order, with a value starting with `jo`" is one range of the
//! key read in order and stopped early, however many entries match.
//!
//! Soundness (why a walk of these rows can stand in for a prefix test): if a value's
//! key starts with a lower-cased prefix `k`, the key's first `min(len k, PREFIX_CHARS)`
//! characters are `k`'s, and that cut (trailing spaces removed) is one of the rows
//! written for the value. So the rows of [`short_prefix`]`(k)` name a superset of the
//! entries passing the test; the search re-checks every one with the full filter.
//! Trailing spaces are removed because MariaDB's collation compares `a` and `a ` as
//! equal; without them no two stored prefixes of one entry can collide there.
//!
//! Rows are rewritten with the entry's attributes and name, in the same transaction.

use sqlx::AnyConnection;
use zcs_core::Entry;

use super::SqlDirectoryError;
use super::dialect::SqlBackend;
use super::schema::value_key;
use crate::names::{lower_name, split_address};

/// The longest prefix stored. Longer typed prefixes walk the rows of their first
/// `PREFIX_CHARS` characters and are checked against the full value.
pub const PREFIX_CHARS: usize = 3;

/// The attributes (lower-cased, every stored spelling) whose values get prefix rows: the
/// name and address attributes Zimbra's GAL autocomplete filters test with `%s*`.
pub const PREFIX_ATTRS: &[&str] = &[
    "cn",
    "commonname",
    "displayname",
    "gn",
    "givenname",
    "mail",
    "sn",
    "surname",
    "uid",
    "zimbramailalias",
    "zimbramaildeliveryaddress",
    "zimbraphoneticfirstname",
    "zimbraphoneticlastname",
];

/// Rows per multi-row `INSERT`.
const INSERT_CHUNK: usize = 64;

/// The stored short prefix standing for keys that start with `key` (already
/// lower-cased): its first [`PREFIX_CHARS`] characters, trailing spaces removed. `None`
/// when nothing is left (an empty or all-space key), which no row can stand for.
pub fn short_prefix(key: &str) -> Option<String> {
    let cut: String = key.chars().take(PREFIX_CHARS).collect();
    let cut = cut.trim_end_matches(' ');
    (!cut.is_empty()).then(|| cut.to_string())
}

/// Whether `name_lower` (a lower-cased attribute name) gets prefix rows.
pub fn is_prefix_attr(name_lower: &str) -> bool {
    PREFIX_ATTRS.contains(&name_lower)
}

/// The distinct short prefixes of the entry's name-like values, sorted.
pub fn entry_prefixes(e: &Entry) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, values) in e.attrs.iter() {
        if !is_prefix_attr(&name.to_ascii_lowercase()) {
            continue;
        }
        for v in values {
            let key = value_key(v);
            for n in 1..=PREFIX_CHARS {
                let cut: String = key.chars().take(n).collect();
                if let Some(p) = short_prefix(&cut) {
                    out.push(p);
                }
                if cut.chars().count() < n {
                    break;
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Replaces the entry's prefix rows with those of its current name and attributes
/// (none for a name without a domain).
///
/// # Errors
/// A database failure.
pub async fn write(
    conn: &mut AnyConnection,
    b: SqlBackend,
    e: &Entry,
) -> Result<(), SqlDirectoryError> {
    clear(conn, b, &e.id.to_string()).await?;
    insert(conn, b, e).await
}

/// Writes the prefix rows of an entry that has none yet (a new entry).
///
/// # Errors
/// A database failure.
pub async fn insert(
    conn: &mut AnyConnection,
    b: SqlBackend,
    e: &Entry,
) -> Result<(), SqlDirectoryError> {
    let id = e.id.to_string();
    let Some((_, domain)) = split_address(&e.name) else {
        return Ok(());
    };
    let domain = lower_name(domain);
    let lower = lower_name(&e.name);
    let prefixes = entry_prefixes(e);
    for chunk in prefixes.chunks(INSERT_CHUNK) {
        let rows = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let text = format!(
            "INSERT INTO directory_prefixes (domain, pfx, lower_name, entry_id, kind) \
             VALUES {rows}"
        );
        let mut q = sqlx::query(b.sql_owned(text));
        for p in chunk {
            q = q
                .bind(domain.clone())
                .bind(p.clone())
                .bind(lower.clone())
                .bind(id.clone())
                .bind(e.kind.as_str());
        }
        q.execute(&mut *conn)
            .await
            .map_err(SqlDirectoryError::db("write name prefixes"))?;
    }
    Ok(())
}

/// Deletes the prefix rows of the entry with `id`.
///
/// # Errors
/// A database failure.
pub async fn clear(
    conn: &mut AnyConnection,
    b: SqlBackend,
    id: &str,
) -> Result<(), SqlDirectoryError> {
    sqlx::query(b.sql("DELETE FROM directory_prefixes WHERE entry_id = ?"))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("clear name prefixes"))?;
    Ok(())
}

/// The DDL of the table and its entry index.
pub fn ddl(b: SqlBackend) -> [String; 2] {
    let opts = b.table_options();
    let key = b.key_collation();
    [
        format!(
            "CREATE TABLE IF NOT EXISTS directory_prefixes (
        domain VARCHAR(255){key} NOT NULL,
        pfx VARCHAR(16){key} NOT NULL,
        lower_name VARCHAR(320){key} NOT NULL,
        entry_id VARCHAR(36) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        PRIMARY KEY (domain, pfx, lower_name, entry_id, kind)
    ){opts}"
        ),
        "CREATE INDEX IF NOT EXISTS directory_prefixes_by_entry
        ON directory_prefixes (entry_id)"
            .to_string(),
    ]
}

/// Fills the table from the stored attributes (upgrade from schema version 2), in SQL:
/// the keys are stored already, and `SUBSTR` and `RTRIM` count characters and strip
/// spaces alike on every engine, giving the rows [`write`] would have written.
///
/// # Errors
/// A database failure.
pub async fn backfill(conn: &mut AnyConnection, b: SqlBackend) -> Result<(), SqlDirectoryError> {
    let names = PREFIX_ATTRS
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let parts: Vec<String> = (1..=PREFIX_CHARS)
        .map(|n| {
            format!(
                "SELECT m.domain, RTRIM(SUBSTR(x.value_key, 1, {n})) AS pfx, m.lower_name, \
                 m.id, m.kind FROM directory_attrs x \
                 JOIN directory_entries m ON m.id = x.entry_id \
                 WHERE m.domain IS NOT NULL AND x.name_lower IN ({names}) \
                 AND x.value_key IS NOT NULL"
            )
        })
        .collect();
    let text = format!(
        "INSERT INTO directory_prefixes (domain, pfx, lower_name, entry_id, kind) \
         SELECT domain, pfx, lower_name, id, kind FROM ({}) u WHERE pfx <> ''",
        parts.join(" UNION ")
    );
    let done = sqlx::query(b.sql_owned(text))
        .execute(&mut *conn)
        .await
        .map_err(SqlDirectoryError::db("fill name prefixes"))?;
    tracing::info!(
        rows = done.rows_affected(),
        "directory name prefixes filled"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    #[test]
    fn short_prefixes_cut_and_trim() {
        assert_eq!(short_prefix("john").as_deref(), Some("joh"));
        assert_eq!(short_prefix("j").as_deref(), Some("j"));
        assert_eq!(short_prefix("a b").as_deref(), Some("a b"));
        assert_eq!(short_prefix("a bc").as_deref(), Some("a b"));
        assert_eq!(short_prefix("ab ").as_deref(), Some("ab"));
        assert_eq!(short_prefix("   "), None);
        assert_eq!(short_prefix(""), None);
        assert_eq!(short_prefix("éüö€").as_deref(), Some("éüö"));
    }

    #[test]
    fn entries_get_each_short_prefix_once() {
        let mut attrs = Attrs::new();
        attrs.set_one("givenName", "Jo");
        attrs.set_one("displayName", "Jo Smith");
        attrs.set_one("zimbraQuota", "12345");
        let e = Entry {
            kind: EntryKind::Account,
            id: ZimbraId::new(),
            name: "jo@x.test".into(),
            attrs,
        };
        assert_eq!(entry_prefixes(&e), ["j", "jo"]);
    }

    proptest::proptest! {
        /// Every value starting with a typed prefix has a row for that prefix's short
        /// prefix (the soundness the search relies on).
        #[test]
        fn a_matching_value_has_the_rows_of_its_prefix(
            v in "[ a-zA-Zé]{0,8}", cut in 1usize..8,
        ) {
            let key = value_key(&v);
            let typed: String = key.chars().take(cut).collect();
            proptest::prop_assume!(typed.chars().count() == cut);
            let mut attrs = Attrs::new();
            attrs.set_one("cn", v.clone());
            let e = Entry {
                kind: EntryKind::Account,
                id: ZimbraId::new(),
                name: "x@y.test".into(),
                attrs,
            };
            if let Some(p) = short_prefix(&typed) {
                proptest::prop_assert!(entry_prefixes(&e).contains(&p));
            }
        }
    }
}
