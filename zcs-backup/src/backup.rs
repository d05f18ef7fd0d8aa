//! Taking backups while the server runs: full sessions (a consistent copy of the store
//! database, the selected accounts' blobs and directory entries) and incremental ones
//! (the redo records since the previous session, with the blobs they bring).
//!
//! Consistency without the server's lock: the database copy is one SQLite snapshot
//! (`VACUUM INTO`), blobs are immutable files named by content, archived redo logs are
//! immutable and the current one is read up to its last whole record. No mailbox is put
//! in maintenance: the snapshot needs no pause. A session is built in
//! `sessions_tmp/<label>` and renamed into `sessions/` only when whole; a failure
//! removes it (`backup/session.rs`). Incremental sessions are in `backup/incremental.rs`,
//! blob placement in `backup/blobs.rs`.
//!
//! Around a session: the `zimbraBackupMinFreeSpace` check before it starts
//! ([`space`]), the choice of an auto-grouped run's accounts ([`grouped`]), the
//! archived redo logs it makes unnecessary removed after it ([`archive`]), and the
//! report mail ([`report`], sent by [`crate::commands::backup`]).

pub mod archive;
mod blobs;
pub mod grouped;
mod incremental;
pub mod report;
mod session;
pub mod space;

pub use incremental::incremental_backup;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use zcs_core::{Entry, EntryKind};
use zcs_directory::Directory;
use zcs_store::FileBlobStore;
use zcs_store::transfer;

use crate::BackupPaths;
use crate::blobcopy;
use crate::catalog::{self, AccountRecord, Catalog, SessionKind};
use crate::error::{BackupError, StoreStep};
use crate::progress::Progress;
use crate::zipblobs::{BlobPackaging, Packed, ZipPacker};
use blobs::{Budget, LiveBlobs, Placed, Sink, place_blob};
use session::{Building, ensure_space};

/// Which accounts and how.
#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    /// Account names or ids; empty means all (`-a all`).
    pub accounts: Vec<String>,
    /// The server name written in the catalog (`-s`).
    pub server: String,
    /// Auto-grouped mode (`zimbraBackupMode: Auto-Grouped`): a full backup takes one
    /// group of the accounts, see [`grouped::select`]; incrementals are refused.
    /// `None`: standard mode.
    pub auto_grouped: Option<grouped::AutoGrouped>,
    /// `zimbraBackupMinFreeSpace` (`NN%` or a size; `0` or `None`: no check): a
    /// session is not started when the target has less free space.
    pub min_free_space: Option<String>,
    /// `backup_archived_redolog_keep_time`: archived redo logs younger than this are
    /// kept after a backup covers them (`None`: 3600 s), see [`archive`].
    pub archive_keep: Option<std::time::Duration>,
    /// No progress output.
    pub quiet: bool,
    /// `--exclude-blobs` (`zimbraBackupSkipBlobs`): no blobs in the session; a restore
    /// then needs the blobs still on the server's volumes.
    pub exclude_blobs: bool,
    /// `--exclude-hsm-blobs` (`zimbraBackupSkipHsmBlobs`): leave out blobs kept on
    /// secondary (HSM) volumes.
    pub exclude_hsm_blobs: bool,
    /// `--exclude-search-index` (`zimbraBackupSkipSearchIndex`): no `sys/index/` in
    /// the session; restores from it reindex.
    pub exclude_search_index: bool,
    /// How blobs are kept: individual files (default, `--noZip`), or zip files per
    /// account (`--zipStore`, `-z`), see [`crate::zipblobs`].
    pub packaging: BlobPackaging,
    /// Test seam for "disk full": the bytes the session may write before every write
    /// fails with `ENOSPC`, as a full backup disk would. `None` in production.
    pub space_limit: Option<u64>,
}

/// What a backup did.
#[derive(Clone, Debug)]
pub struct BackupReport {
    /// The session label.
    pub label: String,
    /// Full or incremental.
    pub kind: SessionKind,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, ms since the epoch.
    pub ended_ms: i64,
    /// Redo sequences the session covers: above `.0`, up to and including `.1`.
    pub redo_range: (u64, u64),
    /// Archived redo log files removed after the session (see [`archive`]).
    pub pruned_redo_logs: Vec<String>,
    /// Its directory.
    pub dir: PathBuf,
    /// Accounts in it.
    pub accounts: usize,
    /// Blob files placed (linked or copied).
    pub blobs: u64,
    /// Redo records in it (incremental).
    pub redo_records: u64,
}

/// The abort flag `zmbackupabort` writes.
pub fn abort_flag(target: &Path) -> PathBuf {
    target.join("abort")
}

fn check_abort(target: &Path, label: &str) -> Result<(), BackupError> {
    if abort_flag(target).exists() {
        return Err(BackupError::Aborted(label.to_string()));
    }
    Ok(())
}

fn account_entries(entries: &[Entry]) -> impl Iterator<Item = &Entry> {
    entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource))
}

fn selected<'a>(entries: &'a [Entry], wanted: &[String]) -> Result<Vec<&'a Entry>, BackupError> {
    if wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case("all")) {
        return Ok(account_entries(entries).collect());
    }
    wanted
        .iter()
        .map(|w| {
            account_entries(entries)
                .find(|e| e.name.eq_ignore_ascii_case(w) || e.id.to_string() == *w)
                .ok_or_else(|| BackupError::Invalid(format!("no such account: {w}")))
        })
        .collect()
}

/// When each account was last in a full session (end ms) and that session's redo
/// checkpoint, for auto-grouped runs.
fn last_fulls(target: &Path) -> std::collections::HashMap<String, (i64, u64)> {
    let mut out = std::collections::HashMap::new();
    for s in catalog::list_sessions(target).unwrap_or_default() {
        if s.catalog.kind == SessionKind::Full {
            for a in &s.catalog.accounts {
                out.insert(a.id.clone(), (s.catalog.ended_ms, s.catalog.redo_to));
            }
        }
    }
    out
}

/// Takes a full backup of the selected accounts (`zmbackup -f`).
///
/// Steps: free-space check (database plus the volume, an upper bound); the database
/// snapshot into `sys/mailbox.db`; the whole directory into `sys/directory.json`; per
/// account its entry and mailbox record in `accounts/…/account.json` and its blobs
/// (each stored once per session). `zmbackupabort` is honoured between accounts.
///
/// # Errors
/// Any failing step; the partial session is removed and nothing looks complete.
pub async fn full_backup(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    opts: &BackupOptions,
) -> Result<BackupReport, BackupError> {
    let started = Utc::now();
    preflight(paths, opts)?;
    let res = full_backup_inner(paths, dir, opts, started).await;
    res.map_err(|e| disk_full(e, paths, catalog::label(SessionKind::Full, started)))
}

/// The `zimbraBackupMinFreeSpace` check, before anything is written.
fn preflight(paths: &BackupPaths, opts: &BackupOptions) -> Result<(), BackupError> {
    if let Some(spec) = opts
        .min_free_space
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        space::check_min_free(&paths.target, spec, space::MinFree::parse(spec)?)?;
    }
    Ok(())
}

/// Removes the archived redo logs a completed session covers (see [`archive`]); a
/// failure is logged, never the backup's failure.
fn prune_after(paths: &BackupPaths, opts: &BackupOptions, covered: u64) -> Vec<String> {
    let keep = opts
        .archive_keep
        .unwrap_or(std::time::Duration::from_secs(archive::DEFAULT_KEEP_SECS));
    match archive::prune_archive(&paths.redolog, covered, keep, std::time::SystemTime::now()) {
        Ok(p) => p.removed,
        Err(e) => {
            tracing::warn!(error = %e, "archived redo logs not pruned");
            Vec::new()
        }
    }
}

async fn full_backup_inner(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    opts: &BackupOptions,
    started: chrono::DateTime<Utc>,
) -> Result<BackupReport, BackupError> {
    let label = catalog::label(SessionKind::Full, started);
    std::fs::create_dir_all(&paths.target)
        .map_err(|e| BackupError::io("create backup target", &paths.target, e))?;
    let _ = std::fs::remove_file(abort_flag(&paths.target));
    let db_size = std::fs::metadata(&paths.db).map(|m| m.len()).unwrap_or(0);
    // Blobs are hard-linked when the target shares the volume's file system; the
    // database copy always takes its size.
    ensure_space(&paths.target, db_size + (1 << 20))?;
    tracing::info!(label, "full backup started");

    let building = Building::start(&paths.target, &label)?;
    let sys = building.tmp.join("sys");
    std::fs::create_dir_all(&sys).map_err(|e| BackupError::io("create", &sys, e))?;
    let db_copy = sys.join("mailbox.db");
    let snap = transfer::snapshot_database(&paths.db, &db_copy)
        .await
        .step("copy the store database")?;
    let entries = export_directory(dir, &sys).await?;
    let budget = Budget::new(opts.space_limit);
    // After the database copy: every item it marks indexed was committed to the index
    // before, so the index copy holds it.
    let index = !opts.exclude_search_index
        && crate::index_copy::snapshot(
            &paths.index,
            &crate::index_copy::session_index(&building.tmp),
            |n, p| budget.charge(n, p),
        )?;

    let mut accounts: Vec<&Entry> = selected(&entries, &opts.accounts)?;
    let last = last_fulls(&paths.target);
    if let Some(policy) = &opts.auto_grouped {
        let candidates: Vec<grouped::Candidate> = accounts
            .iter()
            .map(|e| grouped::Candidate {
                id: e.id.to_string(),
                last_full_ms: last.get(&e.id.to_string()).map(|(t, _)| *t),
            })
            .collect();
        let picked = grouped::select(&candidates, policy, started.timestamp_millis());
        accounts = picked
            .iter()
            .filter_map(|id| accounts.iter().find(|e| e.id.to_string() == *id).copied())
            .collect();
        tracing::info!(
            label,
            group = accounts.len(),
            of = candidates.len(),
            "auto-grouped backup: this run's group"
        );
    }

    let live = LiveBlobs::open(paths);
    let blobs_dir = FileBlobStore::new(building.tmp.join("blobs"));
    budget.charge(
        std::fs::metadata(&db_copy).map(|m| m.len()).unwrap_or(0),
        &db_copy,
    )?;
    let mut progress = Progress::new(
        &format!("zmbackup {label}"),
        accounts.len() as u64,
        opts.quiet,
    );
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    let mut placed = 0u64;
    let mut packed = Packed::new();
    for entry in &accounts {
        check_abort(&paths.target, &label)?;
        let id = entry.id.to_string();
        let mailbox = snap.mailboxes.iter().find(|m| m.account == id);
        let mut blobs = 0;
        let adir = catalog::account_dir(&building.tmp, &id);
        let mut packer = ZipPacker::new(&adir.join("blobs"), opts.packaging);
        if let Some(mb) = mailbox.filter(|_| !opts.exclude_blobs) {
            let digests = transfer::mailbox_blobs(&db_copy, mb.id)
                .await
                .step("list blobs")?;
            // Files: several copied at once (each digest once: the list is distinct);
            // zips are written by one writer.
            let outcomes = match opts.packaging {
                BlobPackaging::Files => {
                    blobcopy::parallel_map(&digests, blobcopy::copy_threads(), |d| {
                        place_blob(&live, Sink::Files(&blobs_dir), d, opts, &budget)
                    })?
                }
                _ => {
                    let mut out = Vec::with_capacity(digests.len());
                    for d in &digests {
                        let sink = Sink::Zip(&mut packer, &mut packed);
                        out.push(place_blob(&live, sink, d, opts, &budget)?);
                    }
                    out
                }
            };
            for (d, outcome) in digests.iter().zip(outcomes) {
                match outcome {
                    Placed::Stored => {
                        placed += 1;
                        blobs += 1;
                    }
                    Placed::Skipped => {}
                    Placed::Gone => warnings.push(format!(
                        "{}: blob {d} deleted during the backup",
                        entry.name
                    )),
                }
            }
        }
        let rec = AccountRecord {
            id: id.clone(),
            name: entry.name.clone(),
            mailbox: mailbox.map(|m| m.id),
            last_redo_seq: mailbox.map(|m| m.last_redo_seq).unwrap_or(0),
            blobs,
        };
        packer.finish()?;
        budget.charge(4096, &adir)?;
        catalog::write_json(
            &adir.join("account.json"),
            &AccountFile {
                entry: (*entry).clone(),
                record: rec.clone(),
            },
        )?;
        records.push(rec);
        progress.step(&entry.name);
        drill_pause().await;
    }
    progress.finish();

    let cat = Catalog {
        label: label.clone(),
        kind: SessionKind::Full,
        status: "completed".into(),
        server: opts.server.clone(),
        started_ms: started.timestamp_millis(),
        ended_ms: Utc::now().timestamp_millis(),
        accounts: records,
        redo_to: snap.redo_checkpoint,
        redo_from: 0,
        redo_records: 0,
        warnings,
        excludes: excludes(opts),
        index,
        all_accounts: opts.auto_grouped.is_none()
            && (opts.accounts.is_empty() || opts.accounts.iter().any(|a| a == "all")),
        checksums: Default::default(),
    };
    let n = cat.accounts.len();
    crate::layout::write_session_files(&building.tmp, paths, &cat, &entries)?;
    let dest = building.commit(&cat)?;
    tracing::info!(label, accounts = n, blobs = placed, "full backup completed");
    refresh_accounts_xml(&paths.target);
    // Archived redo the backups no longer need: in standard mode what the chain of
    // sessions holds without a gap (archive::covered_by_sessions); in auto-grouped
    // mode, up to the oldest checkpoint any account's last full backup has (an account
    // never backed up keeps everything).
    let covered = if opts.auto_grouped.is_some() {
        account_entries(&entries)
            .map(|e| {
                let id = e.id.to_string();
                if cat.accounts.iter().any(|a| a.id == id) {
                    Some(cat.redo_to)
                } else {
                    last.get(&id).map(|(_, seq)| *seq)
                }
            })
            .try_fold(u64::MAX, |m, s| s.map(|s| m.min(s)))
    } else {
        catalog::list_sessions(&paths.target)
            .ok()
            .and_then(|all| archive::covered_by_sessions(&all))
    };
    let pruned = covered
        .map(|c| prune_after(paths, opts, c))
        .unwrap_or_default();
    Ok(BackupReport {
        label,
        kind: SessionKind::Full,
        started_ms: cat.started_ms,
        ended_ms: cat.ended_ms,
        redo_range: (0, cat.redo_to),
        pruned_redo_logs: pruned,
        dir: dest,
        accounts: n,
        blobs: placed,
        redo_records: 0,
    })
}

/// Fault-drill seam: with `ZCS_BACKUP_DRILL_PAUSE_MS` set, a full backup waits that
/// long after each account, so a drill can kill the process mid-session. Unset in
/// production (no cost but one environment lookup per account).
async fn drill_pause() {
    if let Some(ms) = std::env::var("ZCS_BACKUP_DRILL_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000))).await;
    }
}

/// Rewrites `accounts.xml` after a session or a deletion; a failure is logged (the
/// sessions are whole; restores without `-lb` need the file, and the next backup
/// writes it again).
pub(crate) fn refresh_accounts_xml(target: &Path) {
    if let Err(e) = crate::layout::write_accounts_xml(target) {
        tracing::error!(error = %e, "accounts.xml not written; restores need -lb until \
            the next backup writes it");
    }
}

/// A write refused for space becomes [`BackupError::DiskFull`], naming the session
/// that failed and the latest one still complete.
fn disk_full(e: BackupError, paths: &BackupPaths, label: String) -> BackupError {
    if !e.is_disk_full() || matches!(e, BackupError::DiskFull { .. }) {
        return e;
    }
    let latest = catalog::list_sessions(&paths.target)
        .ok()
        .and_then(|s| s.last().map(|s| s.catalog.label.clone()))
        .unwrap_or_else(|| "none".into());
    tracing::error!(label, latest, error = %e, "backup failed: disk full");
    BackupError::DiskFull {
        label,
        latest,
        source: Box::new(e),
    }
}

/// What the catalog records of the options that leave things out.
fn excludes(opts: &BackupOptions) -> Vec<String> {
    [
        (opts.exclude_blobs, "blobs"),
        (opts.exclude_hsm_blobs, "hsm-blobs"),
        (opts.exclude_search_index, "search-index"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| n.to_string())
    .collect()
}

/// What `account.json` holds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AccountFile {
    /// The account's directory entry when backed up.
    pub entry: Entry,
    /// Its mailbox in the session.
    pub record: AccountRecord,
}

async fn export_directory(dir: &Arc<dyn Directory>, sys: &Path) -> Result<Vec<Entry>, BackupError> {
    let entries = crate::directory::export(dir).await?;
    catalog::write_json(&sys.join("directory.json"), &entries)?;
    Ok(entries)
}
