//! Rewriting the store's statements (SQLite dialect, `?` placeholders) for MariaDB and
//! PostgreSQL; the table of rewrites is in [`crate::db`].
//!
//! In charge of text only: it knows string literals (`'...'`, `''` inside) and quoted
//! identifiers (`"..."`) and rewrites nothing inside them. Keywords are matched as the
//! store writes them, in upper case.

use crate::db::Backend;

/// `sql` (SQLite dialect) as `backend` wants it. SQLite gets it back unchanged.
#[cfg(test)]
pub(crate) fn translate(backend: Backend, sql: &str) -> String {
    translate_with_order(backend, sql).0
}

/// As [`translate`], with the order MariaDB needs the arguments in when `sql` numbers
/// its placeholders (`?1`, `?2`, reused or out of order): position `i` of the rewritten
/// statement takes argument `order[i]` (0-based). `None` when the order is unchanged.
pub(crate) fn translate_with_order(backend: Backend, sql: &str) -> (String, Option<Vec<usize>>) {
    if backend == Backend::Sqlite {
        return (sql.to_string(), None);
    }
    let mut order = Vec::new();
    let s = tokens(backend, sql, &mut order);
    let identity = order.iter().enumerate().all(|(i, n)| i == *n);
    let order = (backend == Backend::MySql && !identity).then_some(order);
    let s = functions(backend, &s);
    let s = insert_or_ignore(backend, &s);
    let s = insert_or_replace(backend, &s);
    let s = match backend {
        Backend::MySql => on_conflict_mysql(&s),
        _ => s,
    };
    (s, order)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Placeholders, the reserved column `change`, and `excluded.c` (MariaDB).
fn tokens(backend: Backend, sql: &str, order: &mut Vec<usize>) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0u32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let end = literal_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '?' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let digits: String = chars[i + 1..j].iter().collect();
            let index = digits.parse::<usize>().map(|d| d.saturating_sub(1));
            order.push(index.unwrap_or(order.len()));
            match backend {
                Backend::Postgres => {
                    n += 1;
                    out.push('$');
                    if digits.is_empty() {
                        out.push_str(&n.to_string());
                    } else {
                        out.push_str(&digits);
                    }
                }
                _ => out.push('?'),
            }
            i = j;
            continue;
        }
        if is_ident(c) && (i == 0 || !is_ident(chars[i - 1])) {
            let mut j = i;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            if backend == Backend::MySql && word == "change" {
                out.push_str("`change`");
            } else if backend == Backend::MySql && word == "excluded" && chars.get(j) == Some(&'.')
            {
                let mut k = j + 1;
                while k < chars.len() && is_ident(chars[k]) {
                    k += 1;
                }
                let col: String = chars[j + 1..k].iter().collect();
                let col = if col == "change" {
                    "`change`".to_string()
                } else {
                    col
                };
                out.push_str(&format!("VALUES({col})"));
                i = k;
                continue;
            } else {
                out.push_str(&word);
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The index just past the literal or quoted identifier opening at `start`.
fn literal_end(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == q {
            if chars.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// Two-argument `MAX`/`MIN` become `GREATEST`/`LEAST`; `SUM(x)` is cast back to a
/// 64-bit integer (both servers return a decimal).
fn functions(backend: Backend, sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let end = literal_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if is_ident(c) && (i == 0 || !is_ident(chars[i - 1])) {
            let mut j = i;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            if matches!(word.as_str(), "MAX" | "MIN" | "SUM")
                && chars.get(j) == Some(&'(')
                && let Some(close) = matching_paren(&chars, j)
            {
                {
                    let inner: String = chars[j + 1..close].iter().collect();
                    let inner = functions(backend, &inner);
                    let two_args = has_top_level_comma(&inner);
                    match (word.as_str(), two_args) {
                        ("MAX", true) => out.push_str(&format!("GREATEST({inner})")),
                        ("MIN", true) => out.push_str(&format!("LEAST({inner})")),
                        ("SUM", _) => {
                            let ty = if backend == Backend::MySql {
                                "SIGNED"
                            } else {
                                "BIGINT"
                            };
                            out.push_str(&format!("CAST(SUM({inner}) AS {ty})"));
                        }
                        _ => out.push_str(&format!("{word}({inner})")),
                    }
                    i = close + 1;
                    continue;
                }
            }
            out.push_str(&word);
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn matching_paren(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' => {
                i = literal_end(chars, i);
                continue;
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn has_top_level_comma(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let mut depth = 0;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' => {
                i = literal_end(&chars, i);
                continue;
            }
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `INSERT OR IGNORE INTO`: `INSERT IGNORE INTO` (MariaDB), `... ON CONFLICT DO
/// NOTHING` (PostgreSQL, before any `RETURNING`).
fn insert_or_ignore(backend: Backend, sql: &str) -> String {
    const KW: &str = "INSERT OR IGNORE INTO";
    if !sql.contains(KW) {
        return sql.to_string();
    }
    match backend {
        Backend::MySql => sql.replace(KW, "INSERT IGNORE INTO"),
        _ => {
            let s = sql.replace(KW, "INSERT INTO");
            let s = s.trim_end().trim_end_matches(';').to_string();
            match s.rfind(" RETURNING ") {
                Some(at) => format!("{} ON CONFLICT DO NOTHING{}", &s[..at], &s[at..]),
                None => format!("{s} ON CONFLICT DO NOTHING"),
            }
        }
    }
}

/// The primary keys of the tables the store writes with `INSERT OR REPLACE` (their only
/// unique constraint, so replacing on it is SQLite's whole behaviour).
const REPLACE_KEYS: &[(&str, &[&str])] = &[
    ("dumpster_item", &["mailbox_id", "id"]),
    ("revision", &["mailbox_id", "item_id", "version"]),
    ("folder_link", &["mailbox_id", "id"]),
    (
        "acl",
        &["mailbox_id", "folder_id", "grantee_type", "grantee_id"],
    ),
    ("dumpster_row", &["mailbox_id", "id"]),
    ("retention_policy", &["mailbox_id", "folder_id"]),
];

/// `INSERT OR REPLACE INTO t (cols) ...`: `REPLACE INTO` (MariaDB); on PostgreSQL an
/// upsert on `t`'s primary key setting every other listed column.
fn insert_or_replace(backend: Backend, sql: &str) -> String {
    const KW: &str = "INSERT OR REPLACE INTO ";
    let Some(at) = sql.find(KW) else {
        return sql.to_string();
    };
    if backend == Backend::MySql {
        return sql.replace(KW, "REPLACE INTO ");
    }
    let rest = &sql[at + KW.len()..];
    let table = rest
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let Some(keys) = REPLACE_KEYS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, k)| *k)
    else {
        return sql.to_string();
    };
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return sql.to_string();
    };
    let set: Vec<String> = rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !keys.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "{}INSERT INTO {} ON CONFLICT ({}) DO UPDATE SET {}",
        &sql[..at],
        rest.trim_end(),
        keys.join(", "),
        set.join(", ")
    )
}

/// `ON CONFLICT (k) DO UPDATE SET` becomes `ON DUPLICATE KEY UPDATE` (MariaDB; the
/// `excluded.c` references were rewritten by [`tokens`]).
fn on_conflict_mysql(sql: &str) -> String {
    let Some(at) = sql.find("ON CONFLICT") else {
        return sql.to_string();
    };
    let rest = &sql[at..];
    let Some(set) = rest.find("DO UPDATE SET") else {
        return sql.to_string();
    };
    format!(
        "{}ON DUPLICATE KEY UPDATE{}",
        &sql[..at],
        &rest[set + "DO UPDATE SET".len()..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let pg = Backend::Postgres;
        assert_eq!(translate(pg, "a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(translate(pg, "a = ?2 AND b = ?1"), "a = $2 AND b = $1");
        assert_eq!(translate(pg, "a = '?' AND b = ?"), "a = '?' AND b = $1");
        assert_eq!(
            translate(Backend::MySql, "a = ?1 AND b = ?2"),
            "a = ? AND b = ?"
        );
        assert_eq!(translate(Backend::Sqlite, "a = ?1"), "a = ?1");
    }

    #[test]
    fn mariadb_argument_order() {
        let (s, order) = translate_with_order(Backend::MySql, "a = ?1 OR b = ?2 OR c = ?1");
        assert_eq!(s, "a = ? OR b = ? OR c = ?");
        assert_eq!(order, Some(vec![0, 1, 0]));
        assert_eq!(
            translate_with_order(Backend::MySql, "a = ? AND b = ?").1,
            None
        );
        assert_eq!(
            translate_with_order(Backend::Postgres, "a = ?1 OR b = ?1").1,
            None
        );
    }

    #[test]
    fn functions_and_words() {
        let my = Backend::MySql;
        assert_eq!(
            translate(my, "SET m = MAX(m, ?), n = (SELECT MAX(id) FROM t)"),
            "SET m = GREATEST(m, ?), n = (SELECT MAX(id) FROM t)"
        );
        assert_eq!(
            translate(Backend::Postgres, "SELECT COALESCE(SUM(size), 0) FROM t"),
            "SELECT COALESCE(CAST(SUM(size) AS BIGINT), 0) FROM t"
        );
        assert_eq!(
            translate(my, "SELECT change, created_change FROM tombstone"),
            "SELECT `change`, created_change FROM tombstone"
        );
    }

    #[test]
    fn upserts() {
        assert_eq!(
            translate(Backend::MySql, "INSERT OR IGNORE INTO t (a) VALUES (?)"),
            "INSERT IGNORE INTO t (a) VALUES (?)"
        );
        assert_eq!(
            translate(Backend::Postgres, "INSERT OR IGNORE INTO t (a) VALUES (?)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            translate(
                Backend::MySql,
                "INSERT INTO t (k, a) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET a = excluded.a"
            ),
            "INSERT INTO t (k, a) VALUES (?, ?) ON DUPLICATE KEY UPDATE a = VALUES(a)"
        );
        assert_eq!(
            translate(
                Backend::Postgres,
                "INSERT OR REPLACE INTO acl (mailbox_id, folder_id, grantee_type, grantee_id,\n \
                 rights) VALUES (?, ?, ?, ?, ?)"
            ),
            "INSERT INTO acl (mailbox_id, folder_id, grantee_type, grantee_id,\n rights) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mailbox_id, folder_id, grantee_type, \
             grantee_id) DO UPDATE SET rights = excluded.rights"
        );
        let pg = "INSERT INTO t (k, a) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET a = excluded.a";
        assert_eq!(
            translate(Backend::Postgres, pg),
            "INSERT INTO t (k, a) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET a = excluded.a"
        );
    }
}
