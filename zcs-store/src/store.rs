//! [`Store`]: opening (with crash recovery), mailbox lookup and lazy creation, delivery to
//! many recipients, mailbox deletion; and the write path every change takes.
//!
//! The write path ([`Inner::log_and_apply`]): the caller holds its mailbox's lock and
//! has decided every id and change number; the op goes to the redo log (fsynced, shared
//! with concurrent callers), then one short SQLite transaction applies it. Transactions
//! are serialized by one async mutex because SQLite has one writer; the slow part (the
//! fsync) happens outside it, so many mailboxes deliver concurrently.
//!
//! Every public call that changes something runs in a spawned task, so a caller that
//! drops its future (a client hanging up) never leaves a logged op unapplied while the
//! mailbox lock moves on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::Mutex as AsyncMutex;
use zcs_core::{ItemId, MailboxId, ZimbraId};

use crate::apply::{self, Applied};
use crate::blob::{BlobStore, Blobs};
use crate::db::Db;
use crate::error::{DbContext, StoreError};
use crate::item_types::MailboxSettings;
use crate::mailbox::Mailbox;
use crate::redo::log::{RedoFile, RedoLog};
use crate::redo::{RedoOp, RedoRecord};
use crate::schema;
use crate::types::{DeliveryTarget, MessageMeta, RecoveryReport, StoreConfig, StoreOptions};

/// A mailbox store: SQLite metadata, a blob volume and a redo log. Cheap to clone; all
/// clones share one store. `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    redo_dir: std::path::PathBuf,
    pub pool: crate::db::Db,
    pub blobs: Arc<Blobs>,
    redo: RedoLog,
    /// Serializes write transactions (SQLite has one writer).
    pub db_write: AsyncMutex<()>,
    /// Serializes mailbox creation (mailbox ids and the one-mailbox-per-account rule).
    create: AsyncMutex<()>,
    /// One lock per mailbox: ids and change numbers are decided under it.
    locks: Mutex<HashMap<i64, Arc<AsyncMutex<()>>>>,
    seqs: Mutex<SeqTracker>,
    report: RecoveryReport,
    /// Accounts whose mailbox is in maintenance mode (in memory, as in Zimbra).
    pub maintenance: Mutex<HashSet<ZimbraId>>,
    /// Deliveries waiting to be committed as a group (`crate::group_commit`).
    pub groups: crate::group_commit::Groups,
    /// Flag changes waiting to be committed as a group (`crate::flag_group`).
    pub flag_groups: crate::flag_group::FlagGroups,
    /// Recent folders' flag listings (`crate::flag_list`).
    pub flag_cache: crate::flag_list::FlagCache,
    /// Accounts' mailbox ids as found ([`Inner::mailbox_id`]).
    mailbox_ids: Mutex<MailboxIds>,
}

/// Known account-to-mailbox ids. A mailbox keeps its id for its whole life (a restore
/// over it keeps it too), so only deleting it makes an entry wrong; each deletion
/// bumps `generation`, and a look-up that began before a deletion does not cache what
/// it read.
#[derive(Debug, Default)]
struct MailboxIds {
    ids: HashMap<ZimbraId, MailboxId>,
    generation: u64,
}

/// Mailbox ids kept at most (the map is emptied beyond; each entry is 24 bytes).
const MAILBOX_IDS_MAX: usize = 100_000;

/// Tracks which logged sequences are in the database, to compute the checkpoint: the
/// highest sequence at or below which all records are applied (or aborted).
#[derive(Debug, Default)]
struct SeqTracker {
    done_through: u64,
    done_above: BTreeSet<u64>,
}

impl SeqTracker {
    fn complete(&mut self, seq: u64) {
        if seq <= self.done_through {
            return;
        }
        self.done_above.insert(seq);
        while self.done_above.remove(&(self.done_through + 1)) {
            self.done_through += 1;
        }
    }
}

impl Store {
    /// Opens the store with the default [`StoreOptions`]; see [`Store::open_with`].
    ///
    /// # Errors
    /// As [`Store::open_with`].
    pub async fn open(cfg: StoreConfig) -> Result<Store, StoreError> {
        Store::open_with(cfg, StoreOptions::default()).await
    }

    /// Opens the store, creating directories, the database file and the schema when
    /// missing, then recovers: cuts a torn redo tail at the last good record (WARN log);
    /// a damaged record with good ones after it is logged at ERROR with its offset, the
    /// file is preserved aside and replay stops there
    /// ([`RecoveryReport::corrupt_log`]); then re-applies, with their original ids, the
    /// redo records the database missed, reading the archived logs that hold any
    /// (oldest first) before `redo.log`.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when the redo log is locked by another open store;
    /// [`StoreError::Corrupt`] when an archived redo log needed for recovery is
    /// damaged; I/O and database errors as they come.
    pub async fn open_with(cfg: StoreConfig, opts: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(&cfg.blob_root)
            .map_err(|e| StoreError::io("create blob root", &cfg.blob_root, e))?;
        // Volumes: the `volume` table (volume 1 is `blob_root` on first open) and the
        // backend over its message volumes (see `crate::volume`).
        crate::volume::VolumeAdmin::open(&cfg.db_path, &cfg.blob_root).await?;
        let volume = Arc::new(crate::volume_blobs::VolumeBlobStore::open(&cfg.db_path)?);
        Store::open_with_blob_store(cfg, opts, volume).await
    }

    /// As [`Store::open_with`], with message bytes kept by `blob_store` instead of the
    /// file volume at `cfg.blob_root` (which is then unused).
    ///
    /// # Errors
    /// As [`Store::open_with`].
    pub async fn open_with_blob_store(
        cfg: StoreConfig,
        opts: StoreOptions,
        blob_store: Arc<dyn BlobStore>,
    ) -> Result<Store, StoreError> {
        Store::open_on(cfg, opts, blob_store, None).await
    }

    /// Opens the store with its metadata (mailboxes, items, folders, tags, change log)
    /// in the database `url` names, choosing the engine by scheme
    /// ([`crate::db::Backend::from_url`]):
    /// - empty, or `sqlite:` without a path: the SQLite file `cfg.db_path`, exactly as
    ///   [`Store::open_with`];
    /// - `sqlite:///path/mailbox.sqlite`: that SQLite file instead of `cfg.db_path`;
    /// - `mysql://user:pass@host:3306/db` (or `mariadb://`), `postgres://user@host/db`:
    ///   the server's database, which must exist; the schema is created or migrated.
    ///
    /// Blobs stay on the volumes of `cfg.blob_root` and the redo log in `cfg.redo_dir`.
    /// The volume table lives with the metadata; its mirror file
    /// ([`crate::volume::mirror_path`]) stays beside `cfg.db_path` on this host.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] for an unknown scheme; otherwise as
    /// [`Store::open_with`], plus the server's connection errors.
    pub async fn open_url(
        url: &str,
        mut cfg: StoreConfig,
        opts: StoreOptions,
    ) -> Result<Store, StoreError> {
        let url = url.trim();
        let backend = if url.is_empty() {
            crate::db::Backend::Sqlite
        } else {
            crate::db::Backend::from_url(url).ok_or_else(|| {
                StoreError::InvalidRequest(format!(
                    "unsupported metadata store URL {:?}",
                    crate::db::redact_url(url)
                ))
            })?
        };
        if backend == crate::db::Backend::Sqlite {
            if let Some(path) = crate::db::sqlite_path(url) {
                cfg.db_path = path;
            }
            return Store::open_with(cfg, opts).await;
        }
        std::fs::create_dir_all(&cfg.blob_root)
            .map_err(|e| StoreError::io("create blob root", &cfg.blob_root, e))?;
        let db = Db::open_url(url).await?;
        schema::ensure(&db).await?;
        crate::volume::VolumeAdmin::open_on(db.clone(), &cfg.db_path, &cfg.blob_root).await?;
        let volume = Arc::new(crate::volume_blobs::VolumeBlobStore::open(&cfg.db_path)?);
        tracing::info!(backend = %db.backend(), "store metadata on a database server");
        Store::open_on(cfg, opts, volume, Some(db)).await
    }

    /// The engine holding this store's metadata.
    pub fn backend(&self) -> crate::db::Backend {
        self.inner.pool.backend()
    }

    /// The metadata database this store runs on (a handle sharing its pool), for the
    /// volume table, HSM and blob checks run inside the process that holds the store.
    /// Writes through it bypass the redo log: callers only read, or write tables the
    /// redo log does not cover (`volume`).
    pub fn metadata_db(&self) -> Db {
        self.inner.pool.clone()
    }

    /// Opens on `db`, or on the SQLite file `cfg.db_path` when `None`.
    async fn open_on(
        cfg: StoreConfig,
        opts: StoreOptions,
        blob_store: Arc<dyn BlobStore>,
        db: Option<Db>,
    ) -> Result<Store, StoreError> {
        let redo_dir = cfg.redo_dir.clone();
        let mut opened = tokio::task::spawn_blocking(move || RedoFile::open(&redo_dir))
            .await
            .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;
        let pool = match db {
            Some(db) => db,
            None => schema::open_pool(&cfg.db_path).await?,
        };
        let blobs = Arc::new(Blobs::with_backend(blob_store));
        // New messages' blob files are not fsynced (their frames in redo.log are): after
        // an unclean stop, rewrite any torn or missing one before anything reads it.
        let (log_bytes, frames) = (
            std::mem::take(&mut opened.bytes),
            std::mem::take(&mut opened.unsynced_frames),
        );
        let checker = blobs.clone();
        let restored = tokio::task::spawn_blocking(move || {
            crate::recovery::restore_logged_blobs(&checker, &log_bytes, &frames)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;

        let checkpoint: i64 =
            sqlx::query_scalar("SELECT redo_checkpoint FROM store_state WHERE id = 1")
                .fetch_one(&pool)
                .await
                .db("read redo checkpoint")?;
        let redo_dir = cfg.redo_dir.clone();
        let after = checkpoint.max(0) as u64;
        let archived = tokio::task::spawn_blocking(move || {
            crate::redo::archive::records_after(&redo_dir, after)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;
        let mut records = archived.records;
        // The current file continues the archive; anything it repeats (it cannot, as
        // rollover renames) would be replayed once only.
        let archived_high = records.last().map(|r| r.seq).unwrap_or(0);
        records.extend(opened.records.into_iter().filter(|r| r.seq > archived_high));

        let mut report = RecoveryReport {
            records_in_log: records.len(),
            archived_logs_read: archived.files,
            torn_bytes_cut: opened.cut.as_ref().map(|(n, _)| *n).unwrap_or(0),
            corrupt_log: opened.corrupt.clone(),
            ..RecoveryReport::default()
        };
        let last_seq = crate::recovery::replay(&pool, &blobs, &records, &mut report).await?;
        drop(records);
        report.blobs_restored = crate::recovery::keep_referenced(&pool, &blobs, restored).await;
        let redo = RedoLog::start(opened.file, last_seq + 1, opts.redo_rollover_bytes)?;
        // New messages' blobs ride in the redo log (see `redo::blob_frame`).
        let reader = blobs.clone();
        redo.set_blob_source(Arc::new(move |digest: &str| reader.read(digest).ok()));
        let syncer = blobs.clone();
        redo.set_volume_sync(Arc::new(move || syncer.sync()));
        if report.replayed > 0
            || report.blobs_restored > 0
            || report.failed > 0
            || report.torn_bytes_cut > 0
            || report.corrupt_log.is_some()
        {
            tracing::info!(?report, "store recovered from the redo log");
        }

        Ok(Store {
            inner: Arc::new(Inner {
                redo_dir: cfg.redo_dir.clone(),
                pool,
                blobs,
                redo,
                db_write: AsyncMutex::new(()),
                create: AsyncMutex::new(()),
                locks: Mutex::new(HashMap::new()),
                seqs: Mutex::new(SeqTracker {
                    done_through: last_seq,
                    done_above: BTreeSet::new(),
                }),
                report,
                maintenance: Mutex::new(HashSet::new()),
                groups: Default::default(),
                flag_groups: Default::default(),
                flag_cache: Default::default(),
                mailbox_ids: Default::default(),
            }),
        })
    }

    /// The archived redo logs (`redolog/archive`), by sequence: what incremental backup
    /// collects and point-in-time restore replays.
    pub async fn archived_redo_logs(&self) -> Result<Vec<crate::redo::ArchivedLog>, StoreError> {
        let dir = self.inner.redo_dir.clone();
        tokio::task::spawn_blocking(move || crate::redo::archive::list(&dir))
            .await
            .map_err(|e| StoreError::Internal(format!("list task failed: {e}")))?
    }

    /// Counters of the redo log writer (records and fsyncs since open).
    pub fn redo_stats(&self) -> crate::redo::RedoStats {
        self.inner.redo.stats()
    }

    /// What recovery found and did when this store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The account's mailbox, created on first use with the system folders
    /// (`zcs_core::folder::SYSTEM_FOLDERS` under USER_ROOT 1, under the hidden ROOT 11);
    /// the first user item gets id 257. Creation is logged and durable on return.
    pub async fn mailbox(&self, account: ZimbraId) -> Result<Mailbox, StoreError> {
        if let Some(mb) = self.find_mailbox(account).await? {
            return Ok(mb);
        }
        let inner = self.inner.clone();
        spawn(async move {
            let _guard = inner.create.lock().await;
            if let Some(id) = inner.mailbox_id(account).await? {
                return Ok(Mailbox::new(inner.clone(), id, account));
            }
            let id: i64 =
                sqlx::query_scalar("SELECT next_mailbox_id FROM store_state WHERE id = 1")
                    .fetch_one(&inner.pool)
                    .await
                    .db("read next mailbox id")?;
            let id = MailboxId(id);
            let base = (chrono::Utc::now().timestamp() as u64 & 0x7fff_ffff) as u32;
            let op = RedoOp::CreateMailbox {
                account,
                uid_validity_base: base,
            };
            inner.log_and_apply(id, op).await?;
            tracing::info!(%account, mailbox = id.0, "mailbox created");
            Ok(Mailbox::new(inner.clone(), id, account))
        })
        .await
    }

    /// The account's mailbox if it has one; never creates.
    pub async fn find_mailbox(&self, account: ZimbraId) -> Result<Option<Mailbox>, StoreError> {
        Ok(self
            .inner
            .mailbox_id(account)
            .await?
            .map(|id| Mailbox::new(self.inner.clone(), id, account)))
    }

    /// Delivers one message to many local recipients. The blob is written once
    /// (single-instance) and one message item is created per target, in the target
    /// account's mailbox (created when missing). Targets are independent: the inner
    /// results say which succeeded; a target whose mailbox would go past its
    /// [`DeliveryTarget::quota`] fails with [`StoreError::QuotaExceeded`]. Returns once
    /// every created item is durable.
    ///
    /// Group commit: concurrent deliveries into one mailbox (from any number of callers)
    /// are committed together, one redo fsync and one transaction for all of them,
    /// each caller answered once its own message is durable (`group_commit` module).
    /// Callers need nothing special: more concurrent calls make bigger groups.
    ///
    /// Every target is threaded with the default settings
    /// ([`Store::deliver_with_settings`] takes each account's).
    ///
    /// # Errors
    /// The outer error is for failures before any target was tried (the blob write).
    pub async fn deliver(
        &self,
        targets: &[DeliveryTarget],
        raw: &[u8],
        received_ms: i64,
    ) -> Result<Vec<Result<MessageMeta, StoreError>>, StoreError> {
        let with: Vec<(DeliveryTarget, MailboxSettings)> = targets
            .iter()
            .map(|t| (t.clone(), MailboxSettings::default()))
            .collect();
        self.deliver_with_settings(&with, raw, received_ms).await
    }

    /// [`Store::deliver`] with each target's account settings
    /// (`zimbraMailThreadingAlgorithm` decides the conversation the new message joins).
    ///
    /// # Errors
    /// As [`Store::deliver`].
    pub async fn deliver_with_settings(
        &self,
        targets: &[(DeliveryTarget, MailboxSettings)],
        raw: &[u8],
        received_ms: i64,
    ) -> Result<Vec<Result<MessageMeta, StoreError>>, StoreError> {
        let store = self.clone();
        let targets = targets.to_vec();
        let raw = raw.to_vec();
        spawn(async move {
            let prepared = crate::messages::prepare_blob(&store.inner, raw).await?;
            let mut tasks = Vec::with_capacity(targets.len());
            for (t, settings) in targets {
                let store = store.clone();
                let prepared = prepared.clone();
                tasks.push(tokio::spawn(async move {
                    let mb = store
                        .mailbox(t.account)
                        .await?
                        .with_quota(t.quota)
                        .with_settings(settings);
                    crate::group_commit::deliver(&mb, t.folder, &prepared, t.flags, received_ms)
                        .await
                }));
            }
            let mut out = Vec::with_capacity(tasks.len());
            for t in tasks {
                out.push(t.await.unwrap_or_else(|e| {
                    Err(StoreError::Internal(format!("delivery task failed: {e}")))
                }));
            }
            let digest = prepared.digest.clone();
            drop(prepared);
            if out.iter().all(|r| r.is_err()) {
                store.inner.release_blobs(vec![digest]).await;
            }
            Ok(out)
        })
        .await
    }

    /// Deletes the account's mailbox and everything in it (no-op when it has none):
    /// messages, conversations, contacts, calendar items, documents and revisions,
    /// links, grants, the dumpster and tombstones, in one logged change; then the blobs
    /// nothing else references. Crash-safe: before the change commits, replay redoes
    /// it; after, blobs left behind are orphans [`Store::sweep_orphan_blobs`] removes.
    /// Works in maintenance mode and clears it. Its id is never reused.
    pub async fn delete_mailbox(&self, account: ZimbraId) -> Result<(), StoreError> {
        let Some(mb) = self.find_mailbox(account).await? else {
            return Ok(());
        };
        let inner = self.inner.clone();
        spawn(async move {
            let lock = inner.lock_for(mb.id());
            let _guard = lock.lock().await;
            if inner.mailbox_id(account).await? != Some(mb.id()) {
                return Ok(());
            }
            inner.forget_mailbox_id(account);
            let deleted = inner.log_and_apply(mb.id(), RedoOp::DeleteMailbox).await;
            inner.forget_mailbox_id(account);
            deleted?;
            inner.flag_cache.forget_mailbox(mb.id().0);
            if let Ok(mut m) = inner.maintenance.lock() {
                m.remove(&account);
            }
            if let Ok(mut locks) = inner.locks.lock() {
                locks.remove(&mb.id().0);
            }
            tracing::info!(%account, mailbox = mb.id().0, "mailbox deleted");
            Ok(())
        })
        .await
    }

    /// Accounts' items not yet indexed, across all mailboxes, oldest first; `limit` caps
    /// the answer. The indexer's crash-safe catch-up at start.
    pub async fn unindexed(&self, limit: usize) -> Result<Vec<(ZimbraId, ItemId)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.account_id, i.id FROM mail_item i JOIN mailbox m ON m.id = i.mailbox_id
             WHERE i.indexed = 0 ORDER BY i.mailbox_id, i.id LIMIT ?",
        )
        .bind(limit.min(i64::MAX as usize) as i64)
        .fetch_all(&self.inner.pool)
        .await
        .db("list unindexed items")?;
        rows.into_iter()
            .map(|(a, id)| {
                let acct = a
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("bad account id {a:?}")))?;
                Ok((acct, ItemId(id as i32)))
            })
            .collect()
    }

    /// Stops taking changes, waits for the redo writer to finish and closes the
    /// database. Later calls on this store (or its clones) fail with
    /// [`StoreError::Closed`] or a database error. Needed before re-opening the same
    /// paths in one process.
    pub async fn close(&self) {
        self.inner.redo.close().await;
        self.inner.pool.close().await;
    }
}

impl Inner {
    /// Whether `account`'s mailbox is in maintenance mode.
    pub(crate) fn in_maintenance(&self, account: ZimbraId) -> bool {
        self.maintenance
            .lock()
            .map(|m| m.contains(&account))
            .unwrap_or(false)
    }

    /// `account`'s mailbox id, if it has a mailbox. Every delivery, session and request
    /// asks, so found ids are kept in memory (see [`MailboxIds`]).
    pub(crate) async fn mailbox_id(
        &self,
        account: ZimbraId,
    ) -> Result<Option<MailboxId>, StoreError> {
        let generation = {
            let known = self.mailbox_ids.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(id) = known.ids.get(&account) {
                return Ok(Some(*id));
            }
            known.generation
        };
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM mailbox WHERE account_id = ?")
            .bind(account.to_string())
            .fetch_optional(&self.pool)
            .await
            .db("look up mailbox")?;
        let id = id.map(MailboxId);
        if let Some(found) = id {
            let mut known = self.mailbox_ids.lock().unwrap_or_else(|p| p.into_inner());
            if known.generation == generation {
                if known.ids.len() >= MAILBOX_IDS_MAX {
                    known.ids.clear();
                }
                known.ids.insert(account, found);
            }
        }
        Ok(id)
    }

    /// Forgets `account`'s mailbox id (its mailbox was deleted).
    pub(crate) fn forget_mailbox_id(&self, account: ZimbraId) {
        let mut known = self.mailbox_ids.lock().unwrap_or_else(|p| p.into_inner());
        known.ids.remove(&account);
        known.generation += 1;
    }

    /// The lock serializing changes to `mailbox`.
    pub(crate) fn lock_for(&self, mailbox: MailboxId) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(mailbox.0).or_default().clone()
    }

    /// Logs `op` (durably) and applies it in one transaction. The caller holds the
    /// mailbox's lock and has validated the op. When the transaction fails, an Abort
    /// record is logged so replay skips the op, and the error is returned.
    pub(crate) async fn log_and_apply(
        &self,
        mailbox: MailboxId,
        op: RedoOp,
    ) -> Result<(), StoreError> {
        let timestamp_ms = chrono::Utc::now().timestamp_millis();
        let seq = self.redo.append(mailbox, timestamp_ms, op.clone()).await?;
        let rec = RedoRecord {
            seq,
            timestamp_ms,
            mailbox,
            op,
        };
        match self.apply_live(&rec).await {
            Ok(applied) => {
                self.complete(seq);
                self.release_blobs(applied.released).await;
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    mailbox = mailbox.0,
                    seq,
                    error = %e,
                    "change failed after logging; logging an abort"
                );
                match self
                    .redo
                    .append(mailbox, timestamp_ms, RedoOp::Abort { seq })
                    .await
                {
                    Ok(abort_seq) => self.complete(abort_seq),
                    Err(e2) => tracing::error!(seq, error = %e2, "could not log the abort"),
                }
                self.complete(seq);
                Err(e)
            }
        }
    }

    /// [`Inner::log_and_apply`] for several ops of one mailbox: logged together (one
    /// group fsync) and applied in order in one transaction. When the transaction fails,
    /// every record is aborted and none is applied.
    pub(crate) async fn log_and_apply_many(
        &self,
        mailbox: MailboxId,
        ops: Vec<RedoOp>,
    ) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let timestamp_ms = chrono::Utc::now().timestamp_millis();
        let seqs = self
            .redo
            .append_many(mailbox, timestamp_ms, ops.clone())
            .await?;
        let recs: Vec<RedoRecord> = seqs
            .iter()
            .zip(ops)
            .map(|(seq, op)| RedoRecord {
                seq: *seq,
                timestamp_ms,
                mailbox,
                op,
            })
            .collect();
        let res = async {
            let _w = self.db_write.lock().await;
            let checkpoint = self.seqs.lock().map(|s| s.done_through).unwrap_or(0);
            let mut tx = self.pool.begin().await.db("begin change")?;
            let applied = crate::apply_batch::apply_many(&mut tx, &recs, checkpoint).await?;
            tx.commit().await.db("commit change")?;
            Ok::<_, StoreError>(applied.released)
        }
        .await;
        match res {
            Ok(released) => {
                for seq in &seqs {
                    self.complete(*seq);
                }
                self.release_blobs(released).await;
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    mailbox = mailbox.0,
                    records = seqs.len(),
                    error = %e,
                    "batch failed after logging; logging aborts"
                );
                let aborts = seqs.iter().map(|seq| RedoOp::Abort { seq: *seq }).collect();
                match self.redo.append_many(mailbox, timestamp_ms, aborts).await {
                    Ok(done) => done.into_iter().for_each(|s| self.complete(s)),
                    Err(e2) => tracing::error!(error = %e2, "could not log the aborts"),
                }
                for seq in &seqs {
                    self.complete(*seq);
                }
                Err(e)
            }
        }
    }

    async fn apply_live(&self, rec: &RedoRecord) -> Result<Applied, StoreError> {
        let _w = self.db_write.lock().await;
        let checkpoint = self.seqs.lock().map(|s| s.done_through).unwrap_or(0);
        let mut tx = self.pool.begin().await.db("begin change")?;
        let applied = apply::apply(&mut tx, rec, checkpoint).await?;
        tx.commit().await.db("commit change")?;
        Ok(applied)
    }

    fn complete(&self, seq: u64) {
        if let Ok(mut s) = self.seqs.lock() {
            s.complete(seq);
        }
    }

    /// Removes the blobs among `digests` that no item references any more (and that no
    /// write in progress has pinned). Failures are logged: an orphaned blob wastes space
    /// but loses nothing.
    ///
    /// Runs under the database write lock, so no item referencing a digest can commit
    /// between the reference count and the removal; a writer that pinned the digest
    /// before the count keeps the file, one that pins after the removal writes it anew.
    pub(crate) async fn release_blobs(&self, digests: Vec<String>) {
        if digests.is_empty() {
            return;
        }
        let _w = self.db_write.lock().await;
        release_blobs(&self.pool, &self.blobs, digests).await;
    }
}

/// How many rows reference a blob digest: messages, dumpster items and document
/// revisions.
pub(crate) const BLOB_REFS: &str = "SELECT
    (SELECT COUNT(*) FROM mail_item WHERE blob_digest = ?1)
    + (SELECT COUNT(*) FROM dumpster_item WHERE blob_digest = ?1)
    + (SELECT COUNT(*) FROM revision WHERE blob_digest = ?1)";

/// Removes the blobs of `digests` that no row references any more (pinned blobs stay);
/// failures are logged, not returned.
pub(crate) async fn release_blobs(pool: &crate::db::Db, blobs: &Arc<Blobs>, digests: Vec<String>) {
    for d in digests {
        let refs: Result<i64, _> = sqlx::query_scalar(BLOB_REFS).bind(&d).fetch_one(pool).await;
        match refs {
            Ok(0) => {
                let blobs = blobs.clone();
                let res = tokio::task::spawn_blocking(move || blobs.remove_unless_pinned(&d)).await;
                if let Ok(Err(e)) = res {
                    tracing::warn!(error = %e, "could not remove an unreferenced blob");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not count blob references"),
        }
    }
}

/// Runs `fut` in its own task so it completes even if the caller's future is dropped.
pub(crate) async fn spawn<T, F>(fut: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
{
    tokio::spawn(fut)
        .await
        .map_err(|e| StoreError::Internal(format!("store task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_advances_only_over_contiguous_sequences() {
        let mut t = SeqTracker {
            done_through: 10,
            ..SeqTracker::default()
        };
        t.complete(12);
        assert_eq!(t.done_through, 10);
        t.complete(11);
        assert_eq!(t.done_through, 12);
        t.complete(5);
        assert_eq!(t.done_through, 12);
        t.complete(14);
        t.complete(13);
        assert_eq!(t.done_through, 14);
        assert!(t.done_above.is_empty());
    }
}
