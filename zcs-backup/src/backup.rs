//! Taking backups while the server runs: full sessions (a consistent copy of the store
//! database, the selected accounts' blobs and directory entries) and incremental ones
//! (the redo records since the previous session, with the blobs they bring).
//!
//! Consistency without the server's lock: the database copy is one SQLite snapshot
//! (`VACUUM INTO`), blobs are immutable files named by content, archived redo logs are
//! immutable and the current one is read up to its last whole record. No mailbox is put
//! in maintenance: the snapshot needs no pause. A session is built in
//! `<label>.incomplete` and renamed into place only when whole; a failure removes it.
//!
//! Around a session: the `zimbraBackupMinFreeSpace` check before it starts
//! ([`space`]), the choice of an auto-grouped run's accounts ([`grouped`]), the
//! archived redo logs it makes unnecessary removed after it ([`archive`]), and the
//! report mail ([`report`], sent by [`crate::commands::backup`]).

pub mod archive;
pub mod grouped;
pub mod report;
pub mod space;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use zcs_core::{Entry, EntryKind};
use zcs_directory::Directory;
use zcs_store::transfer;
use zcs_store::{FileBlobStore, VolumeType};

use crate::blobcopy::{self, CopyError};
use crate::catalog::{self, AccountRecord, Catalog, INCOMPLETE, SessionKind};
use crate::error::{BackupError, StoreStep};
use crate::progress::Progress;
use crate::zipblobs::{BlobPackaging, Packed, ZipPacker};
use crate::{BackupPaths, redo_io};

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

/// Charges the bytes a session writes against [`BackupOptions::space_limit`].
#[derive(Debug, Default)]
struct Budget {
    limit: Option<u64>,
    used: std::sync::atomic::AtomicU64,
}

impl Budget {
    fn new(limit: Option<u64>) -> Budget {
        Budget {
            limit,
            used: Default::default(),
        }
    }

    /// Records `n` more bytes; `ENOSPC` once past the limit.
    fn charge(&self, n: u64, path: &Path) -> Result<(), BackupError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let used = self.used.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        if used > limit {
            return Err(BackupError::io(
                "write",
                path,
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ));
        }
        Ok(())
    }

    /// Whether blobs must be copied (a limited "disk" is another file system).
    fn limited(&self) -> bool {
        self.limit.is_some()
    }
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

fn ensure_space(target: &Path, need: u64) -> Result<(), BackupError> {
    let free = space::fs_space(target)?.free;
    if free < need {
        return Err(BackupError::NoSpace {
            path: target.to_path_buf(),
            need,
            free,
        });
    }
    Ok(())
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The file in an `.incomplete` session naming the process writing it.
const OWNER_FILE: &str = "owner.pid";

/// Removes `.incomplete` sessions whose writer is gone (killed, or the machine went
/// down mid-backup): nothing can finish them, and they would only take space.
fn remove_stale(sessions: &Path) {
    for dir in catalog::incomplete_sessions(sessions.parent().unwrap_or(sessions)) {
        let owner: Option<i32> = std::fs::read_to_string(dir.join(OWNER_FILE))
            .ok()
            .and_then(|t| t.trim().parse().ok());
        // SAFETY: signal 0 only asks whether the process exists.
        let alive = owner.is_some_and(|pid| pid > 0 && unsafe { libc::kill(pid, 0) } == 0);
        if !alive {
            tracing::warn!(session = %dir.display(), "removing a backup session left incomplete");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// A session under construction; removed on drop unless committed.
struct Building {
    tmp: PathBuf,
    done: bool,
}

impl Building {
    fn start(target: &Path, label: &str) -> Result<Building, BackupError> {
        let sessions = catalog::sessions_dir(target);
        remove_stale(&sessions);
        let tmp = sessions.join(format!("{label}{INCOMPLETE}"));
        std::fs::create_dir_all(&tmp).map_err(|e| BackupError::io("create session", &tmp, e))?;
        catalog::write_synced(
            &tmp.join(OWNER_FILE),
            std::process::id().to_string().as_bytes(),
        )?;
        Ok(Building { tmp, done: false })
    }

    fn commit(mut self, cat: &Catalog) -> Result<PathBuf, BackupError> {
        // Every blob, index file and database copy on disk before the catalog says the
        // session is whole (blobs are not fsynced one by one).
        blobcopy::sync_tree(&self.tmp)?;
        let mut cat = cat.clone();
        cat.checksums = catalog::checksum_files(&self.tmp)?;
        let bytes = serde_json::to_vec_pretty(&cat)
            .map_err(|e| BackupError::Invalid(format!("encode the catalog: {e}")))?;
        catalog::write_synced(&self.tmp.join(catalog::CATALOG_FILE), &bytes)?;
        catalog::write_synced(
            &self.tmp.join(catalog::CATALOG_SUM),
            catalog::sha256_hex(&bytes).as_bytes(),
        )?;
        let dest = self.tmp.parent().unwrap_or(Path::new(".")).join(&cat.label);
        std::fs::rename(&self.tmp, &dest)
            .map_err(|e| BackupError::io("finish session", &dest, e))?;
        if let Some(parent) = dest.parent()
            && let Ok(d) = std::fs::File::open(parent)
        {
            let _ = d.sync_all();
        }
        self.done = true;
        Ok(dest)
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        if !self.done {
            tracing::warn!(session = %self.tmp.display(), "backup failed; session removed");
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Where live blobs are: every message volume of the store (primary and secondary,
/// plain or gzip), falling back to the default volume root.
struct LiveBlobs {
    volumes: Option<zcs_store::VolumeBlobStore>,
    fallback: FileBlobStore,
}

impl LiveBlobs {
    fn open(paths: &BackupPaths) -> LiveBlobs {
        LiveBlobs {
            volumes: zcs_store::VolumeBlobStore::open(&paths.db).ok(),
            fallback: FileBlobStore::new(paths.store.clone()),
        }
    }

    /// The file holding `digest`, whether it is gzip, and whether it is on a secondary
    /// (HSM) volume; `None` when no volume holds it.
    fn locate(&self, digest: &str) -> Result<Option<(PathBuf, bool, bool)>, BackupError> {
        if let Some(v) = &self.volumes
            && let Some(loc) = v.locate(digest).step("locate blob")?
        {
            let secondary = v
                .volumes()
                .iter()
                .any(|vol| vol.id == loc.volume_id && vol.kind == VolumeType::SecondaryMessage);
            return Ok(Some((loc.path, loc.compressed, secondary)));
        }
        for (path, gz) in [
            (self.fallback.path_for(digest).step("name blob")?, false),
            (
                self.fallback
                    .compressed_path_for(digest)
                    .step("name blob")?,
                true,
            ),
        ] {
            if path.is_file() {
                return Ok(Some((path, gz, false)));
            }
        }
        Ok(None)
    }
}

/// What happened to one blob.
enum Placed {
    /// In the session (or already there).
    Stored,
    /// Left out on purpose (`--exclude-hsm-blobs`).
    Skipped,
    /// No volume holds it any more (deleted since the snapshot).
    Gone,
}

/// Where a session puts blobs: the blob directory, or a zip and the digests already
/// packed in this session.
enum Sink<'a> {
    Files(&'a FileBlobStore),
    Zip(&'a mut ZipPacker, &'a mut Packed),
}

/// Places the blob `digest` into the session: into its blob directory exactly as the
/// volume stores it (a gzip file stays gzip, so the bytes are the volume's; a hard link
/// when both are on one file system, else a copy), or its raw bytes into a zip.
fn place_blob(
    live: &LiveBlobs,
    sink: Sink<'_>,
    digest: &str,
    opts: &BackupOptions,
    budget: &Budget,
) -> Result<Placed, BackupError> {
    let Some((src, gz, secondary)) = live.locate(digest)? else {
        return Ok(Placed::Gone);
    };
    if secondary && opts.exclude_hsm_blobs {
        return Ok(Placed::Skipped);
    }
    let dest = match sink {
        Sink::Files(d) => d,
        Sink::Zip(packer, packed) => {
            if packed.contains(digest) {
                return Ok(Placed::Stored);
            }
            let raw = match read_volume_blob(&src, gz) {
                Ok(raw) => raw,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Placed::Gone),
                Err(e) => return Err(BackupError::io("read blob", &src, e)),
            };
            budget.charge(raw.len() as u64, &src)?;
            packer.add(digest, &raw)?;
            packed.insert(digest.to_string());
            return Ok(Placed::Stored);
        }
    };
    let dst = if gz {
        dest.compressed_path_for(digest)
    } else {
        dest.path_for(digest)
    }
    .step("name blob")?;
    if dst.exists() {
        return Ok(Placed::Stored);
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(|e| BackupError::io("create", parent, e))?;
    }
    if budget.limited() || std::fs::hard_link(&src, &dst).is_err() {
        match blobcopy::copy_file(&src, &dst, |n| budget.charge(n, &dst)) {
            Ok(_) => {}
            Err(CopyError::Read(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Placed::Gone);
            }
            // Another account of this session placed it meanwhile.
            Err(CopyError::Write(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(CopyError::Read(e)) => return Err(BackupError::io("read blob", &src, e)),
            Err(CopyError::Write(e)) => {
                let _ = std::fs::remove_file(&dst);
                return Err(BackupError::io("copy blob", &dst, e));
            }
            Err(CopyError::Budget(e)) => return Err(e),
        }
    }
    Ok(Placed::Stored)
}

/// The raw bytes of a volume's blob file (gunzipped when `gz`).
fn read_volume_blob(path: &Path, gz: bool) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let bytes = std::fs::read(path)?;
    if !gz {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut out)?;
    Ok(out)
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
    let dest = building.commit(&cat)?;
    tracing::info!(label, accounts = n, blobs = placed, "full backup completed");
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

/// Takes an incremental backup (`zmbackup -i`): the redo records logged since the
/// previous session (full or incremental) with the blobs they bring, and the directory.
///
/// # Errors
/// [`BackupError::Invalid`] when there is no full backup yet, or when the server's redo
/// sequence is below the last session's (a restored or rebuilt server: take a full
/// backup); any failing step (the partial session is removed).
pub async fn incremental_backup(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    opts: &BackupOptions,
) -> Result<BackupReport, BackupError> {
    let started = Utc::now();
    if opts.auto_grouped.is_some() {
        return Err(BackupError::Invalid(
            "incremental backups are not available in auto-grouped mode \
             (zimbraBackupMode Auto-Grouped): run zmbackup -f"
                .into(),
        ));
    }
    preflight(paths, opts)?;
    let res = incremental_backup_inner(paths, dir, opts, started).await;
    res.map_err(|e| disk_full(e, paths, catalog::label(SessionKind::Incremental, started)))
}

async fn incremental_backup_inner(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    opts: &BackupOptions,
    started: chrono::DateTime<Utc>,
) -> Result<BackupReport, BackupError> {
    let label = catalog::label(SessionKind::Incremental, started);
    let _ = std::fs::remove_file(abort_flag(&paths.target));
    let sessions = catalog::list_sessions(&paths.target)?;
    let full_at = sessions
        .iter()
        .rposition(|s| s.catalog.kind == SessionKind::Full)
        .ok_or_else(|| BackupError::Invalid("no full backup yet: run zmbackup -f first".into()))?;
    let prev = sessions.last().map(|s| s.catalog.redo_to).unwrap_or(0);
    let _ = full_at;
    let live = transfer::snapshot_info(&paths.db)
        .await
        .step("read the store state")?;
    if live.redo_high_seq < prev {
        return Err(BackupError::Invalid(format!(
            "the store's redo sequence ({}) is below the last backup's ({prev}): \
             this server was restored or rebuilt; run a full backup (zmbackup -f)",
            live.redo_high_seq
        )));
    }
    ensure_space(&paths.target, dir_size(&paths.redolog) + (1 << 20))?;
    tracing::info!(label, after = prev, "incremental backup started");

    let building = Building::start(&paths.target, &label)?;
    let sys = building.tmp.join("sys");
    let entries = export_directory(dir, &sys).await?;
    let records = redo_io::records_after(&paths.redolog, prev)?;
    let mut progress = Progress::new(&format!("zmbackup {label}"), records.len() as u64, true);
    let live_blobs = LiveBlobs::open(paths);
    let blobs_dir = FileBlobStore::new(building.tmp.join("blobs"));
    let budget = Budget::new(opts.space_limit);
    let mut placed = 0;
    let mut warnings = Vec::new();
    let mut packer = ZipPacker::new(&building.tmp.join("blobs"), opts.packaging);
    let mut packed = Packed::new();
    for (i, r) in records.iter().enumerate() {
        if i % 1000 == 0 {
            check_abort(&paths.target, &label)?;
        }
        if let Some(d) = transfer::op_blob(&r.op).filter(|_| !opts.exclude_blobs) {
            let sink = match opts.packaging {
                BlobPackaging::Files => Sink::Files(&blobs_dir),
                _ => Sink::Zip(&mut packer, &mut packed),
            };
            match place_blob(&live_blobs, sink, d, opts, &budget)? {
                Placed::Stored => placed += 1,
                Placed::Skipped => {}
                Placed::Gone => {
                    warnings.push(format!("redo {}: blob {d} already deleted", r.seq));
                }
            }
        }
        progress.step("record");
    }
    packer.finish()?;
    redo_io::write_records(&building.tmp.join("redo").join("records.log"), &records)?;
    let redo_to = records.last().map(|r| r.seq).unwrap_or(prev);
    let cat = Catalog {
        label: label.clone(),
        kind: SessionKind::Incremental,
        status: "completed".into(),
        server: opts.server.clone(),
        started_ms: started.timestamp_millis(),
        ended_ms: Utc::now().timestamp_millis(),
        accounts: account_entries(&entries)
            .map(|e| AccountRecord {
                id: e.id.to_string(),
                name: e.name.clone(),
                mailbox: None,
                last_redo_seq: 0,
                blobs: 0,
            })
            .collect(),
        redo_to,
        redo_from: prev,
        redo_records: records.len() as u64,
        warnings,
        excludes: excludes(opts),
        index: false,
        all_accounts: false,
        checksums: Default::default(),
    };
    let n = cat.accounts.len();
    let dest = building.commit(&cat)?;
    tracing::info!(
        label,
        records = records.len(),
        "incremental backup completed"
    );
    // What the chain of sessions holds without a gap.
    let pruned = catalog::list_sessions(&paths.target)
        .ok()
        .and_then(|all| archive::covered_by_sessions(&all))
        .map(|c| prune_after(paths, opts, c))
        .unwrap_or_default();
    Ok(BackupReport {
        label,
        kind: SessionKind::Incremental,
        started_ms: cat.started_ms,
        ended_ms: cat.ended_ms,
        redo_range: (cat.redo_from, cat.redo_to),
        pruned_redo_logs: pruned,
        dir: dest,
        accounts: n,
        blobs: placed,
        redo_records: records.len() as u64,
    })
}
