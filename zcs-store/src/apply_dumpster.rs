//! Applying the dumpster ops of items other than messages (contacts, appointments and
//! tasks, documents): the row moves whole into `dumpster_row` (its columns as JSON)
//! and comes back whole on recovery; a document keeps its revisions (and so its blobs)
//! while it is in the dumpster, and loses them when it is purged from there.
//!
//! Runs inside the caller's transaction, for the live path and replay alike. A missing
//! row is skipped (replay over a partly applied state converges).

use serde_json::{Map, Value};
use sqlx::{Column, Row};
use zcs_core::{ItemKind, MailboxId};

use crate::apply::touch_folder;
use crate::apply_items::delete_item_keeping;
use crate::db::DbConn;
use crate::error::{DbContext, StoreError};

/// The tables whose items may enter the dumpster, with the column naming the folder.
pub(crate) const DUMPSTER_TABLES: &[(&str, &str)] = &[
    ("contact", "folder_id"),
    ("cal_item", "folder_id"),
    ("document", "folder_id"),
];

/// The integer columns of those tables that may hold NULL (a NULL is bound with its
/// column's type: PostgreSQL refuses a text NULL in a BIGINT column).
const NULLABLE_INTEGERS: &[&str] = &["start_ms", "end_ms"];

/// A row read whole: column names and values, in table order.
type RowData = Vec<(String, Value)>;

async fn read_row(
    conn: &mut DbConn,
    table: &str,
    mb: MailboxId,
    id: i32,
) -> Result<Option<RowData>, StoreError> {
    // Table names come from DUMPSTER_TABLES, never from input.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM {table} WHERE mailbox_id = ? AND id = ?"
    )))
    .bind(mb.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db("read item row")?;
    let Some(row) = row else { return Ok(None) };
    let mut out = Vec::new();
    for (i, col) in row.columns().iter().enumerate() {
        let value = match row.try_get::<Option<i64>, _>(i) {
            Ok(v) => v.map_or(Value::Null, Value::from),
            Err(_) => row
                .try_get::<Option<String>, _>(i)
                .db("read item column")?
                .map_or(Value::Null, Value::from),
        };
        out.push((col.name().to_ascii_lowercase(), value));
    }
    Ok(Some(out))
}

/// The key of a dumpster row's JSON that holds the item's tag names: not a column
/// name (those are lower-case identifiers).
const TAGS_KEY: &str = "@tags";

/// A display name for a dumpster listing: a document's name, a calendar item's
/// summary, a contact's full name, file-as or e-mail address.
fn display_name(table: &str, row: &RowData) -> String {
    let get = |k: &str| {
        row.iter()
            .find(|(c, _)| c == k)
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    match table {
        "document" => get("name"),
        "cal_item" => get("summary"),
        _ => {
            let fields: Vec<(String, String)> =
                serde_json::from_str(&get("fields")).unwrap_or_default();
            ["fullName", "fileAs", "firstName", "email"]
                .iter()
                .find_map(|k| fields.iter().find(|(f, v)| f == k && !v.is_empty()))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
    }
}

/// Moves item `id` into the dumpster: its row into `dumpster_row`, then the usual
/// delete (tombstone, folder counters) without releasing a document's revisions.
pub(crate) async fn to_dumpster(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    for (table, folder_col) in DUMPSTER_TABLES {
        let Some(row) = read_row(conn, table, mb, id).await? else {
            continue;
        };
        let get_i = |k: &str| {
            row.iter()
                .find(|(c, _)| c == k)
                .and_then(|(_, v)| v.as_i64())
                .unwrap_or(0)
        };
        let kind = match *table {
            "contact" => ItemKind::Contact as i64,
            "document" => ItemKind::Document as i64,
            _ => get_i("type"),
        };
        let mut data: Map<String, Value> = row.iter().cloned().collect();
        // Its tags go with it (by name, under a key no column can have).
        let tags = crate::apply_tags::item_tag_names(conn, mb, id).await?;
        if !tags.is_empty() {
            data.insert(TAGS_KEY.into(), Value::from(tags));
        }
        sqlx::query(
            "INSERT OR REPLACE INTO dumpster_row (mailbox_id, id, type, tbl, folder_id, name,
                row_data, deleted_change, deleted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(mb.0)
        .bind(id)
        .bind(kind)
        .bind(*table)
        .bind(get_i(folder_col))
        .bind(display_name(table, &row))
        .bind(Value::Object(data).to_string())
        .bind(change)
        .bind(ts)
        .execute(&mut *conn)
        .await
        .db("stash item in dumpster")?;
        delete_item_keeping(conn, mb, id, change, ts, true).await?;
        return Ok(());
    }
    tracing::warn!(
        mailbox = mb.0,
        item = id,
        "dumpster delete of a missing item skipped"
    );
    Ok(())
}

/// Puts item `id` back from the dumpster into `folder` with modseq `change`, with the
/// tags it had that still exist.
pub(crate) async fn recover(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
    folder: i32,
    change: i64,
    ts: i64,
) -> Result<(), StoreError> {
    let found: Option<(String, String)> =
        sqlx::query_as("SELECT tbl, row_data FROM dumpster_row WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("read dumpster row")?;
    let Some((table, data)) = found else {
        tracing::warn!(
            mailbox = mb.0,
            item = id,
            "recovery of an item not in the dumpster skipped"
        );
        return Ok(());
    };
    let Some((table, folder_col)) = DUMPSTER_TABLES.iter().find(|(t, _)| *t == table) else {
        return Err(StoreError::Corrupt(format!(
            "dumpster row {id} names table {table:?}"
        )));
    };
    let Ok(Value::Object(mut cols)) = serde_json::from_str::<Value>(&data) else {
        return Err(StoreError::Corrupt(format!(
            "dumpster row {id} is not JSON"
        )));
    };
    let tags: Vec<String> = match cols.remove(TAGS_KEY) {
        Some(Value::Array(names)) => names
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let names: Vec<&String> = cols.keys().collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; names.len()].join(", ")
    );
    // Column names come from a row this store wrote; they are checked to be plain
    // identifiers before they reach SQL.
    if !names
        .iter()
        .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        return Err(StoreError::Corrupt(format!(
            "dumpster row {id} has a bad column name"
        )));
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (name, value) in &cols {
        q = match name.as_str() {
            "mailbox_id" => q.bind(Some(mb.0)),
            "modseq" => q.bind(Some(change)),
            n if n == *folder_col => q.bind(Some(i64::from(folder))),
            _ => match value {
                Value::Number(n) => q.bind(n.as_i64()),
                Value::String(s) => q.bind(Some(s.clone())),
                _ if NULLABLE_INTEGERS.contains(&name.as_str()) => q.bind(None::<i64>),
                _ => q.bind(None::<String>),
            },
        };
    }
    q.execute(&mut *conn).await.db("recover item row")?;
    sqlx::query("DELETE FROM dumpster_row WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("remove dumpster row")?;
    touch_folder(conn, mb, folder, change).await?;
    crate::apply_tags::restore_item_tags(conn, mb, id, &tags, change, ts).await
}

/// Removes item `id` from the dumpster for good; returns the blob digests released
/// (a document's revisions).
pub(crate) async fn purge(
    conn: &mut DbConn,
    mb: MailboxId,
    id: i32,
) -> Result<Vec<String>, StoreError> {
    let table: Option<String> =
        sqlx::query_scalar("SELECT tbl FROM dumpster_row WHERE mailbox_id = ? AND id = ?")
            .bind(mb.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .db("read dumpster row")?;
    let Some(table) = table else {
        return Ok(Vec::new());
    };
    sqlx::query("DELETE FROM dumpster_row WHERE mailbox_id = ? AND id = ?")
        .bind(mb.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .db("purge dumpster row")?;
    if table != "document" {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "DELETE FROM revision WHERE mailbox_id = ? AND item_id = ? RETURNING blob_digest",
    )
    .bind(mb.0)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .db("delete revisions")
}
