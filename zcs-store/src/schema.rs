//! The metadata database: connection settings and the schema, created at start.
//!
//! The schema borrows Zimbra's names where they exist (`mailbox.item_id_checkpoint`,
//! `change_checkpoint`, `mail_item.imap_id`, `mod_metadata`, `blob_digest`, `tag_names`,
//! `tombstone`) but is one SQLite file, not Zimbra's per-group MySQL databases.
//!
//! Migrations: version 1 (no tags) gains `mailbox.tag_id_checkpoint`; the tag tables
//! are created when missing. Version 3 adds the item model beyond messages (see
//! `ITEM_SCHEMA`) and the columns in `ADDED_COLUMNS`, added to older files in place.
//! LIMITATION: only SQLite, one file (no shards yet).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{DbContext, StoreError};

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = 3;

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
    // Blob volumes (Zimbra's `volume`): type 1 primaryMessage, 2 secondaryMessage,
    // 10 index; `current` marks the volume new data of its type goes to;
    // `follows_config` marks the default volume whose path is the configured blob root.
    "CREATE TABLE IF NOT EXISTS volume (
        id INTEGER PRIMARY KEY,
        type INTEGER NOT NULL,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        compress INTEGER NOT NULL DEFAULT 0,
        compression_threshold INTEGER NOT NULL DEFAULT 4096,
        current INTEGER NOT NULL DEFAULT 0,
        follows_config INTEGER NOT NULL DEFAULT 0
    )",
];

/// Columns added after version 2: (table, column, declaration). Added when missing, so
/// new and old files end up alike. `mail_item.conv_id` is the conversation id, `-id`
/// for a message alone in its virtual conversation (0 on rows from before version 3,
/// read as `-id`); `norm_subject` is the subject threading compares.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("mail_item", "conv_id", "INTEGER NOT NULL DEFAULT 0"),
    ("mail_item", "norm_subject", "TEXT NOT NULL DEFAULT ''"),
    (
        "mailbox",
        "quota_last_warn_ms",
        "INTEGER NOT NULL DEFAULT 0",
    ),
];

/// The item model beyond messages and folders (schema version 3).
const ITEM_SCHEMA: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS mail_item_msgid ON mail_item (mailbox_id, message_id)",
    "CREATE INDEX IF NOT EXISTS mail_item_subject ON mail_item (mailbox_id, norm_subject)",
    "CREATE INDEX IF NOT EXISTS mail_item_conv ON mail_item (mailbox_id, conv_id)",
    // Real conversations (two messages or more once); virtual ones have no row.
    "CREATE TABLE IF NOT EXISTS conversation (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        subject TEXT NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    // Zimbra's mail_item_dumpster: hard-deleted messages kept for recovery.
    "CREATE TABLE IF NOT EXISTS dumpster_item (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        imap_id INTEGER NOT NULL,
        date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob_digest TEXT NOT NULL,
        flags INTEGER NOT NULL,
        tag_names TEXT NOT NULL,
        subject TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL,
        message_id TEXT,
        norm_subject TEXT NOT NULL,
        deleted_change INTEGER NOT NULL,
        deleted_ms INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE INDEX IF NOT EXISTS dumpster_blob ON dumpster_item (blob_digest)",
    // fields and members are JSON arrays of pairs.
    "CREATE TABLE IF NOT EXISTS contact (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        flags INTEGER NOT NULL,
        fields TEXT NOT NULL,
        members TEXT NOT NULL,
        is_group INTEGER NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        date INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE INDEX IF NOT EXISTS contact_folder ON contact (mailbox_id, folder_id)",
    // Zimbra's appointment table folded into the item: the VCALENDAR is kept whole.
    "CREATE TABLE IF NOT EXISTS cal_item (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        flags INTEGER NOT NULL,
        uid TEXT NOT NULL,
        ical TEXT NOT NULL,
        summary TEXT NOT NULL,
        start_ms INTEGER,
        end_ms INTEGER,
        recurring INTEGER NOT NULL,
        organizer TEXT NOT NULL,
        attendees TEXT NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        date INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS cal_item_uid ON cal_item (mailbox_id, uid)",
    "CREATE INDEX IF NOT EXISTS cal_item_range ON cal_item (mailbox_id, start_ms)",
    "CREATE TABLE IF NOT EXISTS document (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        version INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob_digest TEXT NOT NULL,
        author TEXT NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        date INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS document_name ON document (mailbox_id, folder_id, name)",
    // Zimbra's revision table: one row per kept revision, each with its blob.
    "CREATE TABLE IF NOT EXISTS revision (
        mailbox_id INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob_digest TEXT NOT NULL,
        author TEXT NOT NULL,
        date INTEGER NOT NULL,
        change INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, item_id, version)
    )",
    "CREATE INDEX IF NOT EXISTS revision_blob ON revision (blob_digest)",
    // Mountpoints (type 13) and search folders (type 2).
    "CREATE TABLE IF NOT EXISTS folder_link (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        parent_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        remote_id INTEGER NOT NULL,
        view TEXT NOT NULL,
        query TEXT NOT NULL,
        types TEXT NOT NULL,
        sort_by TEXT NOT NULL,
        created_change INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    "CREATE TABLE IF NOT EXISTS acl (
        mailbox_id INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        grantee_type INTEGER NOT NULL,
        grantee_id TEXT NOT NULL,
        rights TEXT NOT NULL,
        secret TEXT NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, folder_id, grantee_type, grantee_id)
    )",
];

/// Adds the columns of [`ADDED_COLUMNS`] a file lacks.
async fn add_missing_columns(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    for (table, column, decl) in ADDED_COLUMNS {
        let has: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
                .bind(table)
                .bind(column)
                .fetch_one(&mut *conn)
                .await
                .db("inspect schema")?;
        if has == 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} ADD COLUMN {column} {decl}"
            )))
            .execute(&mut *conn)
            .await
            .db("migrate schema to 3")?;
        }
    }
    Ok(())
}

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
    add_missing_columns(&mut tx).await?;
    for stmt in ITEM_SCHEMA {
        sqlx::query(*stmt)
            .execute(&mut *tx)
            .await
            .db("create item schema")?;
    }
    sqlx::query("UPDATE store_state SET schema_version = ? WHERE id = 1")
        .bind(SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .db("record schema version")?;
    tx.commit().await.db("commit schema")?;
    Ok(pool)
}
