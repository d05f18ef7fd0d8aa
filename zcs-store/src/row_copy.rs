//! The one row copy behind mailbox import and restore: every per-mailbox row of one
//! mailbox in a database copy (an SQLite file, as backups keep it) goes into a mailbox
//! of this store, whichever engine holds its metadata (SQLite, MariaDB, PostgreSQL).
//!
//! In charge of: the list of per-mailbox tables, the columns both sides share (an older
//! copy may lack columns added since; they take their defaults), reading the copy in
//! batches by `rowid` and writing multi-row inserts through the metadata seam, marking
//! the copied items unindexed, and the mailbox counters after the copy — taken from the
//! copy for a first import ([`CopyMode::Import`]), moved only forward with a new
//! UIDVALIDITY for a restore over a live mailbox ([`CopyMode::Replace`]). The caller
//! holds the mailbox lock and the store's write lock; blobs are the caller's.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Row, SqliteConnection};
use zcs_core::MailboxId;

use crate::db::{Backend, Db, DbConn};
use crate::error::{DbContext, StoreError};

/// The tables holding per-mailbox rows, keyed by `mailbox_id`.
pub(crate) const MAILBOX_TABLES: &[&str] = &[
    "folder",
    "mail_item",
    "tombstone",
    "tag",
    "tagged_item",
    "conversation",
    "dumpster_item",
    "contact",
    "cal_item",
    "document",
    "revision",
    "folder_link",
    "acl",
    "dumpster_row",
    "retention_policy",
];

/// Rows per insert statement (at most a few thousand bound values, under every
/// engine's limit).
const BATCH_ROWS: i64 = 200;

/// What the counters of the target mailbox become after the copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CopyMode {
    /// A new (empty) mailbox: counters come from the copy; the change counter never
    /// goes back.
    Import,
    /// A live mailbox restored in place: item, change and tag counters only go up and
    /// the UIDVALIDITY base (and every folder's UIDVALIDITY) moves past every value a
    /// client can have seen, so IMAP clients resynchronise (RFC 3501 §2.3.1.1).
    Replace,
}

/// Opens the SQLite file at `path` (read-only when asked) with a 30 s busy timeout.
pub(crate) async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection, StoreError> {
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .db("parse sqlite options")?
        .filename(path)
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(30));
    SqliteConnection::connect_with(&opts)
        .await
        .db("open database copy")
}

/// One column of the copy: its name and whether it holds integers (else text).
struct Column {
    name: String,
    integer: bool,
}

/// Counters of a `mailbox` row.
#[derive(Clone, Copy)]
struct Counters {
    item: i64,
    change: i64,
    uid_validity_base: i64,
    tag: i64,
}

const COUNTERS_SQL: &str = "SELECT item_id_checkpoint, change_checkpoint, uid_validity_base,
    tag_id_checkpoint FROM mailbox WHERE id = ?";

/// Replaces every per-mailbox row of mailbox `to` in `pool` by the rows of mailbox
/// `from` in the database copy at `source`, in one transaction, and sets the counters
/// as `mode` says. Returns the rows copied.
///
/// # Errors
/// [`StoreError::NoSuchMailbox`] when the copy has no mailbox `from` or this store no
/// mailbox `to`; database errors (the transaction is rolled back).
pub(crate) async fn copy_mailbox(
    pool: &Db,
    source: &Path,
    from: i64,
    to: MailboxId,
    mode: CopyMode,
) -> Result<u64, StoreError> {
    let mut src = connect(source, true).await?;
    let result = copy_from(pool, &mut src, from, to, mode).await;
    src.close().await.ok();
    result
}

async fn copy_from(
    pool: &Db,
    src: &mut SqliteConnection,
    from: i64,
    to: MailboxId,
    mode: CopyMode,
) -> Result<u64, StoreError> {
    let copied: Option<(i64, i64, i64, i64)> = sqlx::query_as(COUNTERS_SQL)
        .bind(from)
        .fetch_optional(&mut *src)
        .await
        .db("read copy mailbox")?;
    let s = copied
        .map(|(item, change, uid_validity_base, tag)| Counters {
            item,
            change,
            uid_validity_base,
            tag,
        })
        .ok_or_else(|| StoreError::NoSuchMailbox(format!("mailbox {from} in the database copy")))?;
    let mut tx = pool.begin().await.db("begin mailbox copy")?;
    let live: Option<(i64, i64, i64, i64)> = sqlx::query_as(COUNTERS_SQL)
        .bind(to.0)
        .fetch_optional(&mut *tx)
        .await
        .db("read mailbox counters")?;
    let m = live
        .map(|(item, change, uid_validity_base, tag)| Counters {
            item,
            change,
            uid_validity_base,
            tag,
        })
        .ok_or_else(|| StoreError::NoSuchMailbox(format!("mailbox {}", to.0)))?;

    let mut total = 0u64;
    for table in MAILBOX_TABLES {
        total += copy_table(&mut tx, src, table, from, to).await?;
    }
    sqlx::query("UPDATE mail_item SET indexed = 0 WHERE mailbox_id = ?")
        .bind(to.0)
        .execute(&mut *tx)
        .await
        .db("mark copied items unindexed")?;
    // A copy written before schema version 4 has no lower-cased folder names.
    crate::schema::fill_folder_lnames(&mut tx, Some(to)).await?;
    let after = match mode {
        CopyMode::Import => Counters {
            change: m.change.max(s.change),
            ..s
        },
        CopyMode::Replace => {
            // Folders keep their UIDVALIDITY in their row: each moves by the amount the
            // base moves, modulo 2^31 - 1, plus one so it is never 0.
            let shift = m.change.max(s.change) + 7919;
            sqlx::query(
                "UPDATE folder SET uid_validity = (uid_validity + ?2) % 2147483647 + 1
                 WHERE mailbox_id = ?1",
            )
            .bind(to.0)
            .bind(shift)
            .execute(&mut *tx)
            .await
            .db("renumber folders")?;
            Counters {
                item: m.item.max(s.item),
                change: m.change.max(s.change) + 1,
                uid_validity_base: (m.uid_validity_base + shift) % 2_147_483_647,
                tag: m.tag.max(s.tag),
            }
        }
    };
    sqlx::query(
        "UPDATE mailbox SET item_id_checkpoint = ?2, change_checkpoint = ?3,
            uid_validity_base = ?4, tag_id_checkpoint = ?5 WHERE id = ?1",
    )
    .bind(to.0)
    .bind(after.item)
    .bind(after.change)
    .bind(after.uid_validity_base)
    .bind(after.tag)
    .execute(&mut *tx)
    .await
    .db("set mailbox counters")?;
    tx.commit().await.db("commit mailbox copy")?;
    Ok(total)
}

/// Copies one table's rows of mailbox `from` into mailbox `to` (after deleting the
/// rows `to` had). Returns the rows copied.
async fn copy_table(
    tx: &mut DbConn,
    src: &mut SqliteConnection,
    table: &str,
    from: i64,
    to: MailboxId,
) -> Result<u64, StoreError> {
    // Table names come from MAILBOX_TABLES, never from input.
    sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE mailbox_id = ?"
    )))
    .bind(to.0)
    .execute(&mut *tx)
    .await
    .db("clear mailbox rows")?;
    let backend = tx.backend();
    let target = target_columns(tx, table).await?;
    let cols: Vec<Column> = source_columns(src, table)
        .await?
        .into_iter()
        .filter(|c| target.contains(&c.name))
        .collect();
    if cols.is_empty() || !cols.iter().any(|c| c.name == "mailbox_id") {
        return Ok(0);
    }
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    let select = format!(
        "SELECT rowid, {} FROM {table} WHERE mailbox_id = ? AND rowid > ? \
         ORDER BY rowid LIMIT {BATCH_ROWS}",
        names.join(", ")
    );
    let one_row = format!("({})", vec!["?"; cols.len()].join(", "));
    let mut after = i64::MIN;
    let mut total = 0u64;
    loop {
        let rows: Vec<SqliteRow> = sqlx::query(AssertSqlSafe(select.clone()))
            .bind(from)
            .bind(after)
            .fetch_all(&mut *src)
            .await
            .db("read copy rows")?;
        let Some(last) = rows.last() else { break };
        after = last.try_get::<i64, _>(0).db("read copy rowid")?;
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            vec![one_row.as_str(); rows.len()].join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(insert));
        for row in &rows {
            for (i, c) in cols.iter().enumerate() {
                q = if c.name == "mailbox_id" {
                    q.bind(Some(to.0))
                } else if c.integer {
                    q.bind(row.try_get::<Option<i64>, _>(i + 1).db("read copy value")?)
                } else {
                    let text: Option<String> = row.try_get(i + 1).db("read copy value")?;
                    q.bind(text.map(|t| for_engine(backend, t)))
                };
            }
        }
        let done = q.execute(&mut *tx).await.db("copy mailbox rows")?;
        total += done.rows_affected();
        if (rows.len() as i64) < BATCH_ROWS {
            break;
        }
    }
    Ok(total)
}

/// Text from the copy as `backend` stores it: PostgreSQL text cannot hold NUL, which
/// SQLite copies use between tag names (`tag_names`); there it is U+0001, as
/// `apply_tags::join_tags` writes it.
fn for_engine(backend: Backend, text: String) -> String {
    if backend == Backend::Postgres && text.contains('\0') {
        text.replace('\0', "\u{1}")
    } else {
        text
    }
}

/// The columns of `table` in the copy with their affinity; empty when the copy has no
/// such table (an older schema).
async fn source_columns(
    src: &mut SqliteConnection,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!("PRAGMA table_info({table})")))
        .fetch_all(&mut *src)
        .await
        .db("read copy columns")?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.try_get(1).ok()?;
            let ty: String = r.try_get(2).unwrap_or_default();
            Some(Column {
                name,
                integer: ty.to_ascii_uppercase().contains("INT"),
            })
        })
        .collect())
}

/// The column names of `table` in this store's database, on its engine.
async fn target_columns(conn: &mut DbConn, table: &str) -> Result<Vec<String>, StoreError> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            let rows = sqlx::query(AssertSqlSafe(format!("PRAGMA table_info({table})")))
                .fetch_all(&mut *conn)
                .await
                .db("read table columns")?;
            return Ok(rows.iter().filter_map(|r| r.try_get(1).ok()).collect());
        }
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?"
        }
        Backend::MySql => {
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
    };
    sqlx::query_scalar(sql)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .db("read table columns")
}
