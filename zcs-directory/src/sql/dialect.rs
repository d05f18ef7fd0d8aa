//! The differences between the SQL engines the directory runs on, kept in one place.
//!
//! Every statement in [`super::rows`] and [`super::schema`] is written once, with `?`
//! placeholders, in SQL that SQLite, MariaDB and PostgreSQL all accept. This module
//! turns it into what each engine wants: `$1, $2, ...` placeholders for PostgreSQL,
//! the per-engine column types and table options of the DDL, and how a write transaction
//! starts and locks the entry it changes.

use std::borrow::Cow;

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

/// The SQL engine behind a [`super::SqlDirectory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlBackend {
    /// SQLite through a file: the embedded default.
    Sqlite,
    /// MariaDB (or MySQL) over the network.
    MySql,
    /// PostgreSQL over the network.
    Postgres,
}

impl SqlBackend {
    /// The engine a database URL names by its scheme: `sqlite:`, `mysql:` or `mariadb:`,
    /// `postgres:` or `postgresql:`. `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<SqlBackend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(SqlBackend::Sqlite),
            "mysql" | "mariadb" => Some(SqlBackend::MySql),
            "postgres" | "postgresql" => Some(SqlBackend::Postgres),
            _ => None,
        }
    }

    /// A short lower-case name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SqlBackend::Sqlite => "sqlite",
            SqlBackend::MySql => "mysql",
            SqlBackend::Postgres => "postgres",
        }
    }

    /// `text` with its `?` placeholders in this engine's syntax.
    ///
    /// The statements of this crate never hold a `?` inside a string literal, so every
    /// `?` is a placeholder.
    pub(crate) fn sql(self, text: &'static str) -> SqlStr {
        match self {
            SqlBackend::Postgres => AssertSqlSafe(numbered_placeholders(text)).into_sql_str(),
            SqlBackend::Sqlite | SqlBackend::MySql => SqlStr::from_static(text),
        }
    }

    /// A statement built at run time (only from this crate's fixed fragments and
    /// numbers; user input is always bound), with placeholders in this engine's syntax.
    pub(crate) fn sql_owned(self, text: String) -> SqlStr {
        match self {
            SqlBackend::Postgres => {
                let mut out = String::with_capacity(text.len() + 16);
                let mut n = 0u32;
                for c in text.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                AssertSqlSafe(out).into_sql_str()
            }
            SqlBackend::Sqlite | SqlBackend::MySql => AssertSqlSafe(text).into_sql_str(),
        }
    }

    /// The statement that opens a write transaction. SQLite takes the database write
    /// lock at once (`BEGIN IMMEDIATE`), so two writers queue instead of failing on a
    /// lock upgrade; the servers lock rows as they go (see [`SqlBackend::lock_suffix`]).
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            SqlBackend::Sqlite => "BEGIN IMMEDIATE",
            SqlBackend::MySql | SqlBackend::Postgres => "BEGIN",
        }
    }

    /// Whether a write transaction must lock the entry row it read before changing it.
    /// SQLite's `BEGIN IMMEDIATE` already excludes every other writer.
    pub(crate) fn locks_rows(self) -> bool {
        !matches!(self, SqlBackend::Sqlite)
    }

    /// `col` written so that SQLite's planner will not read the table through an index on
    /// it (its unary `+`), for queries whose rows must come from another index. SQLite
    /// has no statistics unless `ANALYZE` ran and would guess an equality on `domain`
    /// matches a handful of rows. MariaDB and PostgreSQL estimate from statistics and
    /// get the column as it is (PostgreSQL has no unary `+` on text).
    pub(crate) fn unindexed(self, col: &str) -> String {
        match self {
            SqlBackend::Sqlite => format!("+{col}"),
            SqlBackend::MySql | SqlBackend::Postgres => col.to_string(),
        }
    }

    /// The collation clause for key columns that listings sort by. PostgreSQL's
    /// database default may be a locale; `"C"` sorts by code point as SQLite's `BINARY`
    /// and MariaDB's `utf8mb4_bin` do, so every backend lists in the same order.
    pub(crate) fn key_collation(self) -> &'static str {
        match self {
            SqlBackend::Postgres => " COLLATE \"C\"",
            SqlBackend::Sqlite | SqlBackend::MySql => "",
        }
    }

    /// The DDL type of an attribute value: MariaDB's `TEXT` stops at 64 KiB, too small
    /// for certificates and zimlet configurations.
    pub(crate) fn long_text(self) -> &'static str {
        match self {
            SqlBackend::MySql => "MEDIUMTEXT",
            SqlBackend::Sqlite | SqlBackend::Postgres => "TEXT",
        }
    }

    /// Options after `CREATE TABLE (...)`. MariaDB gets InnoDB, utf8mb4 and a binary
    /// collation: keys are stored lower-cased already, and a case- or accent-folding
    /// collation would make `josé@x` and `jose@x` collide.
    pub(crate) fn table_options(self) -> &'static str {
        match self {
            SqlBackend::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            SqlBackend::Sqlite | SqlBackend::Postgres => "",
        }
    }
}

impl std::fmt::Display for SqlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rewrites `?` placeholders as `$1`, `$2`, ... (PostgreSQL).
fn numbered_placeholders(text: &'static str) -> Cow<'static, str> {
    if !text.contains('?') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0u32;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_backend() {
        assert_eq!(
            SqlBackend::from_url("sqlite:///tmp/x.db"),
            Some(SqlBackend::Sqlite)
        );
        assert_eq!(
            SqlBackend::from_url("MySQL://h/db"),
            Some(SqlBackend::MySql)
        );
        assert_eq!(
            SqlBackend::from_url("mariadb://h/db"),
            Some(SqlBackend::MySql)
        );
        assert_eq!(
            SqlBackend::from_url("postgresql://h/db"),
            Some(SqlBackend::Postgres)
        );
        assert_eq!(SqlBackend::from_url("ldap://h"), None);
        assert_eq!(SqlBackend::from_url("no scheme"), None);
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            numbered_placeholders("INSERT INTO t (a, b) VALUES (?, ?)"),
            "INSERT INTO t (a, b) VALUES ($1, $2)"
        );
        assert_eq!(numbered_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(
            SqlBackend::MySql.sql("SELECT ? + ?").as_str(),
            "SELECT ? + ?"
        );
        assert_eq!(
            SqlBackend::Postgres.sql("SELECT ? + ?").as_str(),
            "SELECT $1 + $2"
        );
    }
}
