//! The metadata database: connection settings and the schema, created at start.
//!
//! The schema borrows Zimbra's names where they exist (`mailbox.item_id_checkpoint`,
//! `change_checkpoint`, `mail_item.imap_id`, `mod_metadata`, `blob_digest`, `tag_names`,
//! `tombstone`) but is one SQLite file, not Zimbra's per-group MySQL databases.
//!
//! Migrations: version 1 (no tags) gains `mailbox.tag_id_checkpoint`; the tag tables
//! are created when missing. Version 3 adds the item model beyond messages (see
//! `ITEM_SCHEMA`) and the columns in `ADDED_COLUMNS` and `ADDED_ITEM_COLUMNS`, added to
//! older files in place; indexes added since are `CREATE INDEX IF NOT EXISTS`, so an
//! older database gains them at its next start. Version 4 adds `folder.lname`, the
//! lower-cased folder name, filled for existing rows by [`fill_folder_lnames`]
//! (Unicode lower-casing in Rust, so the three engines agree). Version 5 adds the
//! folder attributes (`folder.flags`, `url`, `reminder`, `feed_seen` and the same but
//! `feed_seen` on `folder_link`, see `crate::folder_attrs`) and the contact dates
//! (`contact.change_date`, `mod_content`), all columns with defaults that read as
//! "nothing set" and, for contacts, as the creation date and last change number.
//! The same statements build the schema on SQLite, MariaDB and PostgreSQL: [`ddl`]
//! maps the types, and the migrations check columns through each engine's own means.
//! LIMITATION: SQLite is one file (no shards yet).

use std::path::Path;

use sqlx::AssertSqlSafe;

use crate::db::{Backend, Db, DbConn};
use crate::error::{DbContext, StoreError};

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = 5;

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
    // Covers flag listings (`crate::flag_list`) as well as folder listings by UID.
    "CREATE INDEX IF NOT EXISTS mail_item_flags
        ON mail_item (mailbox_id, folder_id, imap_id, id, flags, mod_metadata)",
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
    // Folder colour (`crate::folder_color`): Zimbra's index 0-9, and 0xRRGGBB or -1.
    ("folder", "color", "INTEGER NOT NULL DEFAULT 0"),
    ("folder", "rgb", "INTEGER NOT NULL DEFAULT -1"),
    // The lower-cased name (version 4): folder names are unique per parent without
    // regard to case, as Zimbra's `Folder.findSubfolder` compares them.
    ("folder", "lname", "TEXT NOT NULL DEFAULT ''"),
    // Folder attributes (version 5, `crate::folder_attrs`): Zimbra's folder flag bits,
    // the feed or remote calendar URL, a calendar mountpoint's shared reminder, and the
    // feed items a subscription sync imported (a JSON array of guids or links).
    ("folder", "flags", "INTEGER NOT NULL DEFAULT 0"),
    ("folder", "url", "TEXT NOT NULL DEFAULT ''"),
    ("folder", "reminder", "INTEGER NOT NULL DEFAULT 0"),
    ("folder", "feed_seen", "TEXT NOT NULL DEFAULT ''"),
];

/// Columns added to the tables of [`ITEM_SCHEMA`], after it has run: (table, column,
/// declaration). Mountpoints and search folders have a colour as folders do
/// (`crate::folder_color`).
const ADDED_ITEM_COLUMNS: &[(&str, &str, &str)] = &[
    ("folder_link", "color", "INTEGER NOT NULL DEFAULT 0"),
    ("folder_link", "rgb", "INTEGER NOT NULL DEFAULT -1"),
    // Folder attributes of mountpoints and search folders (version 5).
    ("folder_link", "flags", "INTEGER NOT NULL DEFAULT 0"),
    ("folder_link", "url", "TEXT NOT NULL DEFAULT ''"),
    ("folder_link", "reminder", "INTEGER NOT NULL DEFAULT 0"),
    // Contact dates (version 5): `date` is Zimbra's item date (creation, then each
    // content change, ms); `change_date` the last change of any kind (ms, 0 on older
    // rows: read as `date`); `mod_content` the change number of the last content
    // change (0 on older rows: read as `modseq`).
    ("contact", "change_date", "INTEGER NOT NULL DEFAULT 0"),
    ("contact", "mod_content", "INTEGER NOT NULL DEFAULT 0"),
];

/// The item model beyond messages and folders (schema version 3).
const ITEM_SCHEMA: &[&str] = &[
    // Folder look-ups by name without case (`rows::child_named`) and subtree walks by
    // parent. Not unique: the redo log may hold records written before version 4 that
    // put two names differing only in case side by side, and replay must take them;
    // new clashes are refused before they are logged (`rows::name_taken`), and
    // `folder_name` still refuses an exact duplicate.
    "CREATE INDEX IF NOT EXISTS folder_lname ON folder (mailbox_id, parent_id, lname)",
    "CREATE INDEX IF NOT EXISTS mail_item_msgid ON mail_item (mailbox_id, message_id)",
    // The mailbox's change set since a change number (`Mailbox::messages_changed_after`,
    // the search snapshot's refresh) reads only the changed rows.
    "CREATE INDEX IF NOT EXISTS mail_item_modseq ON mail_item (mailbox_id, mod_metadata)",
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
    // Items other than messages deleted into the dumpster: the row of `tbl` as JSON
    // (column to value), put back whole on recovery. Documents keep their revisions.
    "CREATE TABLE IF NOT EXISTS dumpster_row (
        mailbox_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        tbl TEXT NOT NULL,
        folder_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        row_data TEXT NOT NULL,
        deleted_change INTEGER NOT NULL,
        deleted_ms INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, id)
    )",
    // Zimbra's folder RetentionPolicy, as JSON (see `crate::retention`).
    "CREATE TABLE IF NOT EXISTS retention_policy (
        mailbox_id INTEGER NOT NULL,
        folder_id INTEGER NOT NULL,
        policy TEXT NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, folder_id)
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

/// Text columns MariaDB must hold as `VARCHAR` because a key or index covers them
/// whole: (table, column). Names and ids are short (folder and tag names are at most
/// 128 characters in Zimbra, digests 44).
const MYSQL_KEY_COLUMNS: &[(&str, &str)] = &[
    ("mailbox", "account_id"),
    ("deleted_mailbox", "account_id"),
    ("folder", "name"),
    ("folder", "lname"),
    ("mail_item", "blob_digest"),
    ("tag", "lname"),
    ("volume", "name"),
    ("dumpster_item", "blob_digest"),
    ("cal_item", "uid"),
    ("document", "name"),
    ("document", "blob_digest"),
    ("revision", "blob_digest"),
    ("acl", "grantee_id"),
];

/// Long text columns MariaDB indexes by a prefix of this many characters.
const MYSQL_INDEX_PREFIX: &[&str] = &["message_id", "norm_subject"];

/// A DDL statement of this file (SQLite's types) in `backend`'s types: 64-bit
/// `BIGINT` for `INTEGER` on the servers; on MariaDB `VARCHAR(255)` for key text,
/// `MEDIUMTEXT` for other text (its `TEXT` stops at 64 KiB), InnoDB with utf8mb4 and a
/// binary collation, prefix lengths on long indexed text and no partial indexes.
pub(crate) fn ddl(backend: Backend, stmt: &str) -> String {
    match backend {
        Backend::Sqlite => stmt.to_string(),
        Backend::Postgres => replace_word(stmt, "INTEGER", "BIGINT"),
        Backend::MySql => {
            let s = replace_word(stmt, "INTEGER", "BIGINT");
            let trimmed = s.trim_start();
            if let Some(rest) = trimmed.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
                let table = rest.split_whitespace().next().unwrap_or("");
                let mut out = String::with_capacity(s.len() + 64);
                for line in s.lines() {
                    let col = line.split_whitespace().next().unwrap_or("");
                    let key = MYSQL_KEY_COLUMNS.contains(&(table, col));
                    if key {
                        out.push_str(&replace_word(line, "TEXT", "VARCHAR(255)"));
                    } else {
                        out.push_str(&replace_word(line, "TEXT", "MEDIUMTEXT"));
                    }
                    out.push('\n');
                }
                let out = out.trim_end().to_string();
                format!("{out} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
            } else if trimmed.starts_with("CREATE ") && trimmed.contains(" INDEX ") {
                let s = match s.find(" WHERE ") {
                    Some(at) => s[..at].to_string(),
                    None => s,
                };
                let mut s = s;
                for col in MYSQL_INDEX_PREFIX {
                    s = replace_word(&s, col, &format!("{col}(191)"));
                }
                s
            } else if let Some(rest) = trimmed.strip_prefix("ALTER TABLE ") {
                // `ALTER TABLE t ADD COLUMN IF NOT EXISTS c ...`: key columns stay short.
                let mut words = rest.split_whitespace();
                let table = words.next().unwrap_or("");
                let column = words.nth(5).unwrap_or("");
                if MYSQL_KEY_COLUMNS.contains(&(table, column)) {
                    replace_word(&s, "TEXT", "VARCHAR(255)")
                } else {
                    replace_word(&s, "TEXT", "MEDIUMTEXT")
                }
            } else {
                s
            }
        }
    }
}

/// `text` with every whole-word `word` replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before_ok = rest[..at].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = &rest[at + word.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !is_ident(c));
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Runs one DDL statement of this file on `conn`'s engine.
async fn run_ddl(conn: &mut DbConn, stmt: &str, step: &'static str) -> Result<(), StoreError> {
    let text = ddl(conn.backend(), stmt);
    sqlx::query(AssertSqlSafe(text))
        .execute(&mut *conn)
        .await
        .db(step)?;
    Ok(())
}

/// Adds the columns of `columns` (table, column, declaration) a database lacks.
async fn add_missing_columns(
    conn: &mut DbConn,
    columns: &[(&str, &str, &str)],
) -> Result<(), StoreError> {
    for (table, column, decl) in columns {
        if conn.backend() != Backend::Sqlite {
            // MariaDB and PostgreSQL both know `ADD COLUMN IF NOT EXISTS`.
            let stmt = format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {decl}");
            run_ddl(conn, &stmt, "migrate schema to 3").await?;
            continue;
        }
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

/// Indexes earlier versions created that a wider one now covers: `mail_item_folder`
/// (`mailbox_id, folder_id, imap_id`) is a prefix of `mail_item_flags`. Dropping it
/// spares every insert one index update.
async fn drop_replaced_indexes(conn: &mut DbConn) -> Result<(), StoreError> {
    let stmt = match conn.backend() {
        Backend::MySql => "DROP INDEX IF EXISTS mail_item_folder ON mail_item",
        _ => "DROP INDEX IF EXISTS mail_item_folder",
    };
    sqlx::query(stmt)
        .execute(&mut *conn)
        .await
        .db("drop replaced index")?;
    Ok(())
}

/// Brings a version 1 SQLite database (no tags) to version 2. The servers never held
/// version 1.
async fn migrate_v1(conn: &mut DbConn) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
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

/// The `lname` a folder named `name` carries: Rust's Unicode lower-casing, which
/// agrees with Java's `String.toLowerCase` (what Zimbra uses) except for
/// locale-specific rules (Turkish and Lithuanian dotted i) that Java applies only under
/// those default locales.
pub(crate) fn folder_lname(name: &str) -> String {
    name.to_lowercase()
}

/// Sets `folder.lname` from `name` on every folder row (of `mailbox` only, when given)
/// whose `lname` is not already [`folder_lname`] of its name: the version 4 migration,
/// and mailbox copies from a database written before it. Computed here rather than with
/// SQL `LOWER`, which SQLite applies to ASCII only.
pub(crate) async fn fill_folder_lnames(
    conn: &mut DbConn,
    mailbox: Option<zcs_core::MailboxId>,
) -> Result<u64, StoreError> {
    let rows: Vec<(i64, i64, String, String)> = match mailbox {
        Some(mb) => {
            sqlx::query_as("SELECT mailbox_id, id, name, lname FROM folder WHERE mailbox_id = ?")
                .bind(mb.0)
                .fetch_all(&mut *conn)
                .await
        }
        None => {
            sqlx::query_as("SELECT mailbox_id, id, name, lname FROM folder")
                .fetch_all(&mut *conn)
                .await
        }
    }
    .db("read folder names")?;
    let mut filled = 0;
    for (mb, id, name, lname) in rows {
        let want = folder_lname(&name);
        if want == lname {
            continue;
        }
        sqlx::query("UPDATE folder SET lname = ? WHERE mailbox_id = ? AND id = ?")
            .bind(want)
            .bind(mb)
            .bind(id)
            .execute(&mut *conn)
            .await
            .db("fill folder lname")?;
        filled += 1;
    }
    if filled > 0 {
        tracing::info!(folders = filled, "filled lower-cased folder names");
    }
    Ok(filled)
}

/// Opens (creating when missing) the SQLite file at `path` (see [`Db::open_sqlite`])
/// and creates or migrates the schema.
pub(crate) async fn open_pool(path: &Path) -> Result<Db, StoreError> {
    let db = Db::open_sqlite(path).await?;
    ensure(&db).await?;
    Ok(db)
}

/// Creates the schema when missing and migrates an older one, on any engine: the
/// migrations are the version steps below, run in one transaction (MariaDB commits each
/// DDL statement by itself; every step is idempotent, so a cut run is resumed).
///
/// # Errors
/// [`StoreError::Corrupt`] when the database was written by a newer schema.
pub(crate) async fn ensure(db: &Db) -> Result<(), StoreError> {
    let mut tx = db.begin().await.db("begin schema")?;
    for stmt in SCHEMA {
        run_ddl(&mut tx, stmt, "create schema").await?;
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
    add_missing_columns(&mut tx, ADDED_COLUMNS).await?;
    drop_replaced_indexes(&mut tx).await?;
    for stmt in ITEM_SCHEMA {
        run_ddl(&mut tx, stmt, "create item schema").await?;
    }
    add_missing_columns(&mut tx, ADDED_ITEM_COLUMNS).await?;
    if version < 4 {
        fill_folder_lnames(&mut tx, None).await?;
    }
    sqlx::query("UPDATE store_state SET schema_version = ? WHERE id = 1")
        .bind(SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .db("record schema version")?;
    tx.commit().await.db("commit schema")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan SQLite picks for `sql` (the `detail` column of each step).
    async fn plan(db: &Db, sql: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .bind(1_i64)
                .bind(5_i64)
                .fetch_all(db)
                .await
                .expect("explain");
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    #[tokio::test]
    async fn change_set_reads_use_the_modseq_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = open_pool(&dir.path().join("meta.db")).await.expect("open");
        let p = plan(&db, crate::rows::MESSAGES_CHANGED_AFTER).await;
        assert!(
            p.contains("USING INDEX mail_item_modseq (mailbox_id=? AND mod_metadata>?)"),
            "{p}"
        );
        // Read in index order: no sort step.
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        db.close().await;
    }

    #[test]
    fn mariadb_ddl_types() {
        let t = ddl(
            Backend::MySql,
            "CREATE TABLE IF NOT EXISTS tag (\n    mailbox_id INTEGER NOT NULL,\n    \
             lname TEXT NOT NULL,\n    name TEXT NOT NULL\n)",
        );
        assert!(t.contains("mailbox_id BIGINT NOT NULL"), "{t}");
        assert!(t.contains("lname VARCHAR(255) NOT NULL"), "{t}");
        assert!(t.contains("name MEDIUMTEXT NOT NULL"), "{t}");
        assert!(t.ends_with("COLLATE=utf8mb4_bin"), "{t}");
        let i = ddl(
            Backend::MySql,
            "CREATE INDEX IF NOT EXISTS m ON mail_item (mailbox_id, message_id) WHERE x = 0",
        );
        assert_eq!(
            i,
            "CREATE INDEX IF NOT EXISTS m ON mail_item (mailbox_id, message_id(191))"
        );
        // Added key columns stay short enough to index whole; others take MEDIUMTEXT.
        let a = ddl(
            Backend::MySql,
            "ALTER TABLE folder ADD COLUMN IF NOT EXISTS lname TEXT NOT NULL DEFAULT ''",
        );
        assert!(a.ends_with("lname VARCHAR(255) NOT NULL DEFAULT ''"), "{a}");
        let a = ddl(
            Backend::MySql,
            "ALTER TABLE mail_item ADD COLUMN IF NOT EXISTS norm_subject TEXT NOT NULL",
        );
        assert!(a.ends_with("norm_subject MEDIUMTEXT NOT NULL"), "{a}");
        assert_eq!(folder_lname("ÄrChiv ÜBER Straße"), "ärchiv über straße");
        assert_eq!(
            ddl(Backend::Postgres, "a INTEGER NOT NULL, b INTEGERS"),
            "a BIGINT NOT NULL, b INTEGERS"
        );
    }
}
