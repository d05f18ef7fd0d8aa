//! Restoring accounts from backup sessions: pick the full session and the incrementals
//! after it, put back the directory entries, import each mailbox from the full
//! session's database copy, then replay that mailbox's redo records from the
//! incrementals and, as Zimbra does unless `-br` is given, from the server's own
//! archived and current redo logs, up to the requested point in time (label, time or
//! redo sequence). Mail delivered after the last backup therefore comes back.
//!
//! Works on an open [`Store`]: offline (the command holds the home lock) or inside the
//! server. Quota never applies to a restore.
//!
//! Safety: every file read is checked (catalog checksums, blob digests, redo CRCs)
//! and a damaged one is named. An account is held in maintenance from the moment its
//! mailbox is touched until its last record is replayed (see [`crate::journal`]): a
//! restore that dies midway never leaves an account that looks complete, and the next
//! run restores it again. An account that fails before its rows are replaced is put
//! back as it was. The row replacement is logged ([`RedoOp::RestoreMailbox`]) before
//! the replay, so incrementals carry it and a later point-in-time restore starts the
//! mailbox over from the session restored here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zcs_core::{AttrEdit, Entry, EntryKind, ItemId, ZimbraId};
use zcs_directory::{Directory, EntryKey};
use zcs_store::redo::{RedoOp, RedoRecord};
use zcs_store::{BlobStore, Store};

use crate::backup::AccountFile;
use crate::catalog::{self, Session, SessionKind};
use crate::error::{BackupError, StoreStep};
use crate::journal::{self, Journal, Pending};
use crate::progress::Progress;
use crate::redo_io::{RestoreScope, ServerLog, ServerRedo};
use crate::resume::ReleaseHook;
use crate::zipblobs::SessionBlobs;
use crate::{BackupPaths, redo_io};

mod account;
mod records;

use account::{import_one, replay_one, restore_index};
use records::{Records, deleted_since_backup, replays_server_redo};

/// What to restore and how (`zmrestore` / `zmrestoreoffline` options).
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Account names or ids; empty or `all` means every account in the backup.
    pub accounts: Vec<String>,
    /// `-lb`: the full session to use, or an incremental to stop at (inclusive).
    pub label: Option<String>,
    /// `-restoreToTime`: replay records logged at or before this time (ms since epoch).
    pub to_time_ms: Option<i64>,
    /// `-restoreToRedoSeq`: replay records up to and including this sequence.
    pub to_seq: Option<u64>,
    /// `-restoreToIncrLabel`: replay incrementals up to and including this one.
    pub to_incr_label: Option<String>,
    /// `-rf`: the full session only, no incrementals.
    pub full_only: bool,
    /// `--skipDeletes`: do not replay deletes.
    pub skip_deletes: bool,
    /// `-c`: go on with the next account after one fails.
    pub continue_on_error: bool,
    /// `--ignoreRedoErrors`: go on past a redo record that fails.
    pub ignore_redo_errors: bool,
    /// `-ca -pre <prefix>`: restore into new accounts named `<prefix><name>`.
    pub prefix: Option<String>,
    /// `-ra` or an `all` restore: put the directory entries back too (all kinds when
    /// every account is restored).
    pub restore_directory: bool,
    /// No progress output.
    pub quiet: bool,
    /// `--excludeSearchIndex`: do not put the index back; restored items are reindexed.
    pub exclude_search_index: bool,
    /// The live index directory this restore may rewrite to put the restored
    /// mailboxes' documents back: set only when no index writer holds it (the server
    /// is stopped). `None`: restored items are left unindexed for the server's indexer.
    pub index_dir: Option<PathBuf>,
    /// Fault-drill seam: wait this long after each account's rows are in place (the
    /// account in maintenance), so a drill can kill the restore there. `None` in
    /// production.
    pub drill_pause_ms: Option<u64>,
}

/// What a restore did.
#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    /// The full session used.
    pub full_label: String,
    /// The incrementals replayed.
    pub incr_labels: Vec<String>,
    /// Accounts restored: (original name, restored name).
    pub restored: Vec<(String, String)>,
    /// Accounts that failed, with why.
    pub failed: Vec<(String, String)>,
    /// Redo records applied over all accounts.
    pub redo_applied: u64,
    /// Redo records that failed and were skipped (`--ignoreRedoErrors`).
    pub redo_failed: u64,
    /// Directory entries written.
    pub entries_written: u64,
    /// Accounts whose search index came back from the backup (no reindex needed).
    pub index_restored: Vec<String>,
    /// Accounts an interrupted restore had left in maintenance, restored again now.
    pub resumed: Vec<String>,
    /// Accounts left alone because they were deleted since the backup
    /// (`-skipDeletedAccounts`, implied by `-a all`).
    pub skipped_deleted: Vec<String>,
    /// Records read from the server's own redo logs (after the backup chain), over
    /// all accounts; 0 with `-br` or a point inside the backup.
    pub server_records: u64,
    /// Why the server's redo logs were not replayed although asked (another server's
    /// history, as after a disaster recovery onto a new server).
    pub server_redo_skipped: Option<String>,
    /// Accounts not restored because `zmbackupabort -r` stopped the restore (checked
    /// between accounts; the accounts before the stop are restored whole).
    pub aborted: Vec<String>,
    /// Damaged current redo logs the store set aside since the backup (spec 04 §1.8):
    /// the records after the damage are lost to this restore. One line per file.
    pub server_redo_damaged: Vec<String>,
    /// With `-sys`: where the backed-up local config was written
    /// (`conf/localconfig.toml.restore`; the live file is left alone).
    pub localconfig_restored: Option<PathBuf>,
}

/// The sessions a restore reads: one full and the incrementals after it.
pub struct Chain {
    /// The full session.
    pub full: Session,
    /// Incrementals after it, oldest first.
    pub incrs: Vec<Session>,
}

/// Chooses the sessions for `opts` among the completed sessions on `target`.
///
/// # Errors
/// [`BackupError::Invalid`] when no full session fits.
pub fn choose_chain(target: &std::path::Path, opts: &RestoreOptions) -> Result<Chain, BackupError> {
    let sessions = catalog::list_sessions(target)?;
    let stop_label = opts.to_incr_label.clone().or_else(|| {
        opts.label
            .clone()
            .filter(|l| l.starts_with(SessionKind::Incremental.prefix()))
    });
    let end = match &stop_label {
        Some(l) => sessions
            .iter()
            .position(|s| &s.catalog.label == l)
            .ok_or_else(|| BackupError::Invalid(format!("no such backup label: {l}")))?,
        None => sessions.len().saturating_sub(1),
    };
    let full_idx = match opts.label.as_ref().filter(|l| l.starts_with("full")) {
        Some(l) => sessions
            .iter()
            .position(|s| &s.catalog.label == l)
            .ok_or_else(|| BackupError::Invalid(format!("no such backup label: {l}")))?,
        None => sessions
            .iter()
            .enumerate()
            .take(end + 1)
            .filter(|(_, s)| s.catalog.kind == SessionKind::Full)
            .filter(|(_, s)| opts.to_time_ms.is_none_or(|t| s.catalog.ended_ms <= t))
            .filter(|(_, s)| opts.to_seq.is_none_or(|q| s.catalog.redo_to <= q))
            .map(|(i, _)| i)
            .next_back()
            .ok_or_else(|| BackupError::Invalid("no full backup to restore from".into()))?,
    };
    let mut incrs = Vec::new();
    if !opts.full_only {
        for s in sessions.iter().skip(full_idx + 1) {
            if s.catalog.kind == SessionKind::Full {
                if stop_label.is_none() && opts.to_time_ms.is_none() && opts.to_seq.is_none() {
                    break;
                }
                continue;
            }
            incrs.push(s.clone());
            if stop_label.as_deref() == Some(s.catalog.label.as_str()) {
                break;
            }
        }
    }
    Ok(Chain {
        full: sessions[full_idx].clone(),
        incrs,
    })
}

fn directory_of(session: &Session) -> Result<Vec<Entry>, BackupError> {
    catalog::verify_file(session, "sys/directory.json")?;
    catalog::read_json(&session.dir.join("sys").join("directory.json"))
}

/// An account whose rows are in place (in maintenance), waiting for its replay.
struct Imported {
    /// The account's name in the backup.
    name: String,
    /// The account restored into.
    target: Entry,
    /// Its status once whole.
    final_status: String,
    /// Source mailbox of the chain (redo records are filed under it).
    source_mb: Option<i64>,
    /// The mailbox imported from the full session (for the index), when ids match.
    index_mb: Option<i64>,
    /// Records to replay.
    records: Vec<RedoRecord>,
}

/// Restores accounts into `store` and `dir` from the backups under `paths.target`.
///
/// Per account: the directory entry (created when missing, or a new prefixed account),
/// then the mailbox: wiped and imported from the full session, then the account's
/// redo records from the incrementals replayed up to the point in time. An account
/// created after the full session starts from an empty mailbox and its records. With
/// [`RestoreOptions::index_dir`] set and an index in the full session, the restored
/// mailboxes' index documents are put back too.
///
/// # Errors
/// No fitting session; a damaged session file shared by every account; with
/// `continue_on_error` unset, the first account that fails (accounts before it stay
/// restored; it is left in maintenance when its rows were already replaced).
pub async fn restore(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    restore_with_hook(paths, store, dir, opts, None).await
}

/// [`restore`], with `hook` called for each account once its mailbox is whole and
/// before it leaves maintenance (a running server reindexes it there, so search is
/// complete the moment the account can be used again).
///
/// # Errors
/// As [`restore`]; an account whose hook fails is failed and stays in maintenance.
pub async fn restore_with_hook(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
    hook: Option<&dyn ReleaseHook>,
) -> Result<RestoreReport, BackupError> {
    restore_scoped(paths, store, dir, opts, &RestoreScope::default(), hook).await
}

/// [`restore_with_hook`] with the settings of `scope`: whether the server's own redo
/// logs (`paths.redolog`: `archive/` then `redo.log`) are replayed after the backup's
/// records, and whether accounts deleted since the backup are left alone.
///
/// The server's records are read once before any account is touched and again as
/// each account enters maintenance, so mail delivered to it until then is replayed.
/// They are used only when they continue the backup chain's redo sequence (see
/// [`ServerRedo::open`]); another server's history (a new server after a disaster) is
/// left alone with a warning.
///
/// # Errors
/// As [`restore`]; the server's logs start after a gap above the backup's last
/// record (nothing replayed: use `-br` or take an incremental backup).
pub async fn restore_scoped(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
    scope: &RestoreScope,
    hook: Option<&dyn ReleaseHook>,
) -> Result<RestoreReport, BackupError> {
    if opts.label.is_none() && opts.to_incr_label.is_none() {
        // Zimbra: accounts.xml names each account's latest full backup; without it a
        // restore must be told which one (-lb).
        crate::layout::read_accounts_xml(&paths.target)?;
    }
    let chain = choose_chain(&paths.target, opts)?;
    let mut report = RestoreReport {
        full_label: chain.full.catalog.label.clone(),
        incr_labels: chain
            .incrs
            .iter()
            .map(|s| s.catalog.label.clone())
            .collect(),
        ..RestoreReport::default()
    };
    let journal = Journal::open(&paths.target);
    for p in journal.pending() {
        tracing::warn!(
            account = p.name,
            label = p.label,
            "an earlier restore of this account did not finish; it is in maintenance"
        );
    }
    let last = chain.incrs.last().unwrap_or(&chain.full);
    let entries = directory_of(last)?;
    let full_ids: HashSet<ZimbraId> = if std::ptr::eq(last, &chain.full) {
        entries.iter().map(|e| e.id).collect()
    } else {
        directory_of(&chain.full)?.iter().map(|e| e.id).collect()
    };
    catalog::verify_file(&chain.full, "sys/mailbox.db")?;
    let all =
        opts.accounts.is_empty() || opts.accounts.iter().any(|a| a.eq_ignore_ascii_case("all"));

    let mut records: Vec<RedoRecord> = Vec::new();
    for s in &chain.incrs {
        catalog::verify_file(s, "redo/records.log")?;
        records.extend(redo_io::read_records(
            &s.dir.join("redo").join("records.log"),
        )?);
    }
    records.sort_by_key(|r| r.seq);
    records.dedup_by_key(|r| r.seq);
    let mut server = None;
    if replays_server_redo(opts, scope) {
        let chain_end = last.catalog.redo_to;
        let backed_up = records.iter().rfind(|r| r.seq == chain_end);
        let witness = chain
            .full
            .catalog
            .accounts
            .iter()
            .find(|a| a.last_redo_seq == chain_end && chain_end > 0)
            .and_then(|a| a.mailbox);
        let ended = last.catalog.ended_ms;
        match ServerRedo::open(&paths.redolog, chain_end, ended, backed_up, witness)? {
            ServerLog::Continues(reader, live) => {
                report.server_records = live.len() as u64;
                records.extend(live);
                server = Some(reader);
            }
            ServerLog::Nothing => {}
            ServerLog::Foreign(why) => {
                tracing::warn!(reason = why, "the server's redo logs are not replayed");
                report.server_redo_skipped = Some(why);
            }
        }
    }
    if replays_server_redo(opts, scope) {
        for (path, offset) in redo_io::damaged_logs_since(&paths.redolog, last.catalog.ended_ms) {
            tracing::error!(file = %path.display(), offset,
                "the server's redo log was damaged after the backup: records after the \
                 damage are not replayed");
            report.server_redo_damaged.push(format!(
                "{} (damaged at byte {offset}: the records after it are lost to this restore)",
                path.display()
            ));
        }
    }
    let records = Records {
        all: Vec::new(),
        server,
        to_seq: opts.to_seq,
        to_time_ms: opts.to_time_ms,
    }
    .with(records);

    // Accounts deleted since the backup, judged before any entry is put back.
    let skip_deleted = all || scope.skip_deleted_accounts;
    let mut deleted: HashSet<ZimbraId> = HashSet::new();
    if skip_deleted && opts.prefix.is_none() {
        let accounts: Vec<&Entry> = entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource))
            .collect();
        deleted =
            deleted_since_backup(store, dir, &accounts, &chain, &records.all, scope.system).await?;
    }

    if all && opts.prefix.is_none() {
        for e in entries
            .iter()
            .filter(|e| !matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource))
        {
            match crate::directory::restore_entry(dir, e, opts.restore_directory).await {
                Ok(true) => report.entries_written += 1,
                Ok(false) => {}
                Err(err) => tracing::warn!(kind = %e.kind, name = e.name, error = %err,
                    "directory entry not restored"),
            }
        }
    }

    let mut targets: Vec<&Entry> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource))
        .filter(|e| {
            all || opts
                .accounts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&e.name) || *a == e.id.to_string())
        })
        .collect();
    let asked = targets.len();
    targets.retain(|e| {
        let gone = deleted.contains(&e.id);
        if gone {
            tracing::info!(account = e.name, "deleted since the backup; not restored");
            report.skipped_deleted.push(e.name.clone());
        }
        !gone
    });
    if !all && asked < opts.accounts.len() {
        return Err(BackupError::Invalid(format!(
            "some accounts are not in backup {}: {}",
            last.catalog.label,
            opts.accounts.join(" ")
        )));
    }

    // The run, recorded until it ends (a killed run leaves it: see journal::Run).
    journal.begin_run(&journal::Run {
        started_ms: chrono::Utc::now().timestamp_millis(),
        label: chain.full.catalog.label.clone(),
        accounts: targets.iter().map(|e| e.name.clone()).collect(),
        done: Vec::new(),
        request: journal::Request::of(opts, scope),
    })?;
    let _run = RunGuard(&journal);

    if scope.system {
        // -sys: the backed-up local config beside the live one, never over it.
        report.localconfig_restored = crate::layout::restore_localconfig(&last.dir, paths)?;
    }

    let mut session_dirs = vec![chain.full.dir.as_path()];
    session_dirs.extend(chain.incrs.iter().map(|s| s.dir.as_path()));
    let mut session_blobs = SessionBlobs::open(&session_dirs)?;
    if records.server.is_some() {
        // A lost blob volume (disaster recovery): the redo logs carry new messages' blobs.
        let n = session_blobs.add_redo_blobs(&paths.redolog, &records.all)?;
        if n > 0 {
            tracing::info!(
                blobs = n,
                "blobs not in the backup are read from the redo logs"
            );
        }
    }
    let blobs: Arc<dyn BlobStore> = Arc::new(session_blobs);
    let ctx = Ctx {
        store,
        dir,
        opts,
        chain: &chain,
        records: std::sync::Mutex::new(records),
        blobs,
        journal: &journal,
        scope,
        full_ids: &full_ids,
        target: &paths.target,
        hook,
    };

    // Phase 1: each account's rows, in maintenance from here on.
    let mut progress = Progress::new("zmrestore", targets.len() as u64, opts.quiet);
    let mut imported = Vec::new();
    if crate::journal::restore_abort_requested(&paths.target) {
        tracing::warn!("a zmbackupabort -r flag from before this restore was cleared");
        crate::journal::clear_restore_abort(&paths.target);
    }
    let mut targets = targets.into_iter();
    while let Some(entry) = targets.next() {
        if crate::journal::restore_abort_requested(&paths.target) {
            // zmbackupabort -r: stop between accounts; those imported are finished below.
            crate::journal::clear_restore_abort(&paths.target);
            report.aborted.push(entry.name.clone());
            report
                .aborted
                .extend(targets.by_ref().map(|e| e.name.clone()));
            tracing::warn!(
                not_restored = report.aborted.len(),
                "restore aborted by zmbackupabort -r between accounts"
            );
            break;
        }
        if journal.get(&entry.id.to_string()).is_some() {
            report.resumed.push(entry.name.clone());
        }
        match import_one(&ctx, entry).await {
            Ok(i) => {
                imported.push(i);
                if let Some(ms) = opts.drill_pause_ms {
                    tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000))).await;
                }
            }
            Err(e) if opts.continue_on_error => {
                tracing::error!(account = entry.name, error = %e, "account not restored");
                report.failed.push((entry.name.clone(), e.to_string()));
            }
            Err(e) => return Err(e),
        }
        progress.step(&entry.name);
    }

    // Phase 2: the index documents of the imported mailboxes, before any replay (the
    // replayed items are then left for the indexer).
    report.index_restored = restore_index(&ctx, &imported).await;

    // Phase 3: replay; each account leaves maintenance when whole.
    for i in imported {
        match replay_one(&ctx, &i).await {
            Ok((applied, failed)) => {
                report.redo_applied += applied;
                report.redo_failed += failed;
                tracing::info!(
                    account = i.name,
                    restored_as = i.target.name,
                    "account restored"
                );
                report
                    .restored
                    .push((i.name.clone(), i.target.name.clone()));
                if let Err(e) = journal.run_account_done(&i.name) {
                    tracing::warn!(account = i.name, error = %e, "restore run file not updated");
                }
            }
            Err(e) => {
                let e = BackupError::Invalid(format!(
                    "{e}; account {} left in maintenance: run the restore again",
                    i.target.name
                ));
                if !opts.continue_on_error {
                    return Err(e);
                }
                tracing::error!(account = i.name, error = %e, "account not restored");
                report.failed.push((i.name.clone(), e.to_string()));
            }
        }
    }
    progress.finish();
    Ok(report)
}

/// What every account's restore reads.
struct Ctx<'a> {
    store: &'a Store,
    dir: &'a Arc<dyn Directory>,
    opts: &'a RestoreOptions,
    chain: &'a Chain,
    records: std::sync::Mutex<Records>,
    blobs: Arc<dyn BlobStore>,
    journal: &'a Journal,
    scope: &'a RestoreScope,
    full_ids: &'a HashSet<ZimbraId>,
    target: &'a Path,
    hook: Option<&'a dyn ReleaseHook>,
}

/// Ends the run record when the restore returns, whatever its outcome; only a killed
/// restore leaves it.
struct RunGuard<'a>(&'a Journal);

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.end_run() {
            tracing::warn!(error = %e, "restore run file not removed");
        }
    }
}
