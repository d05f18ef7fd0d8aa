//! The metadata database: connection settings and the schema, created at start.
//!
//! The schema borrows Zimbra's names where they exist (`mailbox.item_id_checkpoint`,
//! `change_checkpoint`, `mail_item.imap_id`, `mod_metadata`, `blob_digest`, `tag_names`,
//! `tombstone`) but is one SQLite file, not Zimbra's per-group MySQL databases.
//!
//! Migrations: version 1 (no tags) gains `mailbox.tag_id_checkpoint`; the tag tables
//! are created when missing. LIMITATION: only SQLite, one file (no shards yet).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{DbContext, StoreError};

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &[&str] = &[
    // One row: where the redo log and the database agree, and the mailbox id counter.
    // redo_checkpoint: every record with a sequence at or below it is in the database.
    // redo_high_seq: the highest sequence ever applied (the writer continues above it).
    "CREATE TABLE IF NOT EXISTS store_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        schema_version INTEGER NOT NULL,
        redo_checkpoint INTEGER NOT NULL,
        redo_high_seq INTEGER NOT NULL,
        next_mailbox_id INTEGER NOT NULL
    )",
    "INSERT OR IGNORE INTO store_state
        (id, schema_version, redo_checkpoint, redo_high_seq, next_mailbox_id)
        VALUES (1, 2, 0, 0, 1)",
    // last_redo_seq: the last redo record applied to this mailbox (replay skips older).
    "CREATE TABLE IF NOT EXISTS mailbox (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL UNIQUE,
        item_id_checkpoint INTEGER NOT NULL,
        change_checkpoint INTEGER NOT NULL,
        last_redo_seq INTEGER NOT NULL,
        uid_validity_base INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        tag_id_checkpoint INTEGER NOT NULL DEFAULT 63
    )",
    "CREATE TABLE IF NOT EXISTS deleted_mailbox (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        deleted_seq INTEGER NOT NULL,
        deleted_ms INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS folder (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        parent_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        view TEXT NOT NULL,
        uid_validity INTEGER NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        item_count INTEGER NOT NULL DEFAULT 0,
        unread_count INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS folder_name ON folder (mailbox_id, parent_id, name)",
    // date is the internal date in ms; unread mirrors the \\Unread flag bit.
    "CREATE TABLE IF NOT EXISTS mail_item (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        imap_id INTEGER NOT NULL,
        date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob_digest TEXT NOT NULL,
        flags INTEGER NOT NULL,
        unread INTEGER NOT NULL,
        tag_names TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        message_id TEXT,
        mod_metadata INTEGER NOT NULL,
        mod_content INTEGER NOT NULL,
        change_date INTEGER NOT NULL,
        indexed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE INDEX IF NOT EXISTS mail_item_folder ON mail_item (mailbox_id, folder_id, imap_id)",
    "CREATE INDEX IF NOT EXISTS mail_item_blob ON mail_item (blob_digest)",
    "CREATE INDEX IF NOT EXISTS mail_item_unindexed ON mail_item (mailbox_id, id)
        WHERE indexed = 0",
    // One row per item that left a folder: deleted (moved = 0) or moved out (moved = 1),
    // with the change number that did it; feeds IMAP VANISHED and SOAP sync deletes.
    "CREATE TABLE IF NOT EXISTS tombstone (
        mailbox_id INTEGER NOT NULL,
        change INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        imap_id INTEGER NOT NULL,
        moved INTEGER NOT NULL,
        date INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS tombstone_change ON tombstone (mailbox_id, change)",
    // Tags (Zimbra's `tag` and `tagged_item`); lname is the lower-cased name, which
    // makes names unique per mailbox without regard to case. mail_item.tag_names
    // mirrors each item's tag names for reads.
    "CREATE TABLE IF NOT EXISTS tag (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        name TEXT NOT NULL,
        lname TEXT NOT NULL,
        color INTEGER NOT NULL DEFAULT 0,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS tag_lname ON tag (mailbox_id, lname)",
    "CREATE TABLE IF NOT EXISTS tagged_item (
        mailbox_id INTEGER NOT NULL,
        tag_id INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, tag_id, item_id)
    )",
    "CREATE INDEX IF NOT EXISTS tagged_item_item ON tagged_item (mailbox_id, item_id)",
];

/// Brings a version 1 database (no tags) to version 2.
async fn migrate_v1(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    let has: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('mailbox') WHERE name = 'tag_id_checkpoint'",
    )
    .fetch_one(&mut *conn)
    .await
    .db("inspect schema")?;
    if has == 0 {
        sqlx::query("ALTER TABLE mailbox ADD COLUMN tag_id_checkpoint INTEGER NOT NULL DEFAULT 63")
            .execute(&mut *conn)
            .await
            .db("migrate schema to 2")?;
    }
    Ok(())
}

/// Opens (creating when missing) the SQLite file at `path` in WAL mode with
/// `synchronous=NORMAL` (the redo log, not the database, is what makes a change
/// durable) and creates the schema.
pub(crate) async fn open_pool(path: &Path) -> Result<SqlitePool, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::io("create database dir", parent, e))?;
    }
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .db("parse sqlite options")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .db("open database")?;

    let mut tx = pool.begin().await.db("begin schema")?;
    for stmt in SCHEMA {
        sqlx::query(*stmt)
            .execute(&mut *tx)
            .await
            .db("create schema")?;
    }
    let version: i64 = sqlx::query_scalar("SELECT schema_version FROM store_state WHERE id = 1")
        .fetch_one(&mut *tx)
        .await
        .db("read schema version")?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "database schema version {version} is newer than this code ({SCHEMA_VERSION})"
        )));
    }
    if version < 2 {
        migrate_v1(&mut tx).await?;
    }
    sqlx::query("UPDATE store_state SET schema_version = ? WHERE id = 1")
        .bind(SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .db("record schema version")?;
    tx.commit().await.db("commit schema")?;
    Ok(pool)
}
