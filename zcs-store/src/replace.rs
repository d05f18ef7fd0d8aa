//! Restoring a mailbox over the one an account already has, while the server serves it:
//! the rows of a database copy replace the mailbox's rows in one transaction under the
//! mailbox's lock, keeping the mailbox id (so open sessions keep a valid handle), and
//! the mailbox gets a new UIDVALIDITY base so every IMAP client sees the change as a
//! new mailbox (RFC 3501 §2.3.1.1) instead of UIDs whose messages changed. Item ids
//! never go back: new items get ids above anything the live mailbox handed out.
//!
//! Also in charge of marking a restored mailbox's items indexed when the caller put
//! their index documents back itself. The first restore into a store without that
//! account's mailbox is [`Store::import_mailbox`]'s job.

use std::path::Path;
use std::sync::Arc;

// `Connection` gives `begin` on a plain SQLite pool connection; the store's own
// connection type has it built in.
#[allow(unused_imports)]
use sqlx::{Connection, Row};
use zcs_core::ZimbraId;

use crate::blob::BlobStore;
use crate::error::{DbContext, StoreError};
use crate::store::{Store, spawn};
use crate::transfer::{ImportReport, mailbox_blobs};

/// The tables holding per-mailbox rows (those [`Store::import_mailbox`] copies).
const TABLES: &[&str] = &[
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
];

impl Store {
    /// Replaces `account`'s mailbox by mailbox `source_mailbox` of the database copy
    /// `source_db`, blobs read from `blobs`. When the account has a mailbox, its id is
    /// kept, its rows are replaced in one transaction under its lock (concurrent
    /// changes wait; readers see the old or the new state, never a mix), item and
    /// change counters only go up and its UIDVALIDITY base changes. Without a
    /// mailbox this is [`Store::import_mailbox`]. Items are marked unindexed. Quota
    /// never applies; maintenance mode is cleared.
    ///
    /// LIMITATION: as for imports, the row copy is not a redo record.
    ///
    /// # Errors
    /// A blob the rows reference is missing from `blobs`; database errors.
    pub async fn replace_mailbox(
        &self,
        account: ZimbraId,
        source_db: &Path,
        source_mailbox: i64,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<ImportReport, StoreError> {
        let Some(id) = self.inner.mailbox_id(account).await? else {
            return self
                .import_mailbox(account, source_db, source_mailbox, blobs)
                .await;
        };
        let digests = mailbox_blobs(source_db, source_mailbox).await?;
        let store = self.clone();
        let copied = tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            for d in &digests {
                if !store.inner.blobs.exists(d) {
                    store.inner.blobs.write(d, &blobs.get(d)?)?;
                    n += 1;
                }
            }
            Ok::<u64, StoreError>(n)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("blob copy task failed: {e}")))??;
        let source = source_db
            .to_str()
            .ok_or_else(|| StoreError::InvalidRequest("database copy path is not UTF-8".into()))?
            .to_string();
        let inner = self.inner.clone();
        let rows = spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            let _w = inner.db_write.lock().await;
            let mut conn = inner.pool.acquire().await.db("acquire connection")?;
            sqlx::query("ATTACH DATABASE ? AS src")
                .bind(&source)
                .execute(&mut *conn)
                .await
                .db("attach database copy")?;
            let result: Result<u64, StoreError> = async {
                let mut tx = conn.begin().await.db("begin restore")?;
                let mut total = 0u64;
                for table in TABLES {
                    let mut cols = Vec::new();
                    for schema in ["main", "src"] {
                        // Schema and table names come from constants, never from input.
                        let names: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "PRAGMA {schema}.table_info({table})"
                        )))
                        .fetch_all(&mut *tx)
                        .await
                        .db("read table columns")?
                        .iter()
                        .filter_map(|r| r.try_get::<String, _>(1).ok())
                        .collect();
                        cols.push(names);
                    }
                    let shared: Vec<&String> =
                        cols[0].iter().filter(|c| cols[1].contains(c)).collect();
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM main.{table} WHERE mailbox_id = ?"
                    )))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .db("clear mailbox rows")?;
                    if shared.is_empty() {
                        continue;
                    }
                    let (list, select) = column_lists(&shared);
                    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO main.{table} ({list}) SELECT {select} FROM src.{table} \
                         WHERE mailbox_id = ?2"
                    )))
                    .bind(id.0)
                    .bind(source_mailbox)
                    .execute(&mut *tx)
                    .await
                    .db("copy mailbox rows")?;
                    total += done.rows_affected();
                }
                sqlx::query("UPDATE main.mail_item SET indexed = 0 WHERE mailbox_id = ?")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .db("mark restored items unindexed")?;
                // Folders keep their UIDVALIDITY in their row: move each restored one
                // by the same amount the base moves (never 0, never the old value).
                sqlx::query(FOLDER_VALIDITY)
                    .bind(id.0)
                    .bind(source_mailbox)
                    .execute(&mut *tx)
                    .await
                    .db("renumber folders")?;
                let res = sqlx::query(COUNTERS)
                    .bind(id.0)
                    .bind(source_mailbox)
                    .execute(&mut *tx)
                    .await
                    .db("update mailbox counters")?;
                if res.rows_affected() != 1 {
                    return Err(StoreError::NoSuchMailbox(format!(
                        "mailbox {source_mailbox} in the database copy"
                    )));
                }
                tx.commit().await.db("commit restore")?;
                Ok(total)
            }
            .await;
            let detach = sqlx::query("DETACH DATABASE src")
                .execute(&mut *conn)
                .await
                .db("detach database copy");
            let rows = result?;
            detach?;
            Ok(rows)
        })
        .await?;
        self.inner
            .maintenance
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&account);
        tracing::info!(%account, mailbox = id.0, rows, blobs = copied, "mailbox replaced");
        Ok(ImportReport {
            mailbox: id.0,
            rows,
            blobs_copied: copied,
        })
    }

    /// Marks every item of `account`'s mailbox indexed (`indexed = 1`): the caller
    /// has put their index documents back itself (a restore that carried the index),
    /// so the indexer does not parse them again. No-op without a mailbox.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mark_mailbox_indexed(&self, account: ZimbraId) -> Result<(), StoreError> {
        let Some(id) = self.inner.mailbox_id(account).await? else {
            return Ok(());
        };
        let inner = self.inner.clone();
        spawn(async move {
            let lock = inner.lock_for(id);
            let _guard = lock.lock().await;
            let _w = inner.db_write.lock().await;
            sqlx::query("UPDATE mail_item SET indexed = 1 WHERE mailbox_id = ?")
                .bind(id.0)
                .execute(&inner.pool)
                .await
                .db("mark items indexed")?;
            Ok(())
        })
        .await
    }
}

/// The column list and the matching select list (the mailbox id bound as `?1`).
fn column_lists(shared: &[&String]) -> (String, String) {
    let list: Vec<String> = shared.iter().map(|c| format!("\"{c}\"")).collect();
    let select: Vec<String> = shared
        .iter()
        .map(|c| match c.as_str() {
            "mailbox_id" => "?1".to_string(),
            _ => format!("\"{c}\""),
        })
        .collect();
    (list.join(", "), select.join(", "))
}

/// New UIDVALIDITY of the restored folders: shifted by the amount [`COUNTERS`] moves
/// the base (run before it), modulo 2^31 - 1, plus one so it is never 0.
const FOLDER_VALIDITY: &str = "UPDATE main.folder SET
    uid_validity = (uid_validity + (SELECT MAX(m.change_checkpoint, s.change_checkpoint) + 7919
        FROM main.mailbox AS m, src.mailbox AS s WHERE m.id = ?1 AND s.id = ?2))
        % 2147483647 + 1
 WHERE mailbox_id = ?1";

/// Counters after a restore over a live mailbox: item, change and tag counters never
/// go back, and the UIDVALIDITY base moves past every value a client can have seen
/// (base + a folder's change number, which is at most the change counter).
const COUNTERS: &str = "UPDATE main.mailbox SET
    item_id_checkpoint = MAX(main.mailbox.item_id_checkpoint, s.item_id_checkpoint),
    change_checkpoint = MAX(main.mailbox.change_checkpoint, s.change_checkpoint) + 1,
    tag_id_checkpoint = MAX(main.mailbox.tag_id_checkpoint, s.tag_id_checkpoint),
    uid_validity_base = (main.mailbox.uid_validity_base
        + MAX(main.mailbox.change_checkpoint, s.change_checkpoint) + 7919) % 2147483647
 FROM (SELECT * FROM src.mailbox WHERE id = ?2) AS s WHERE main.mailbox.id = ?1";
