//! Restoring accounts from backup sessions: pick the full session and the incrementals
//! after it, put back the directory entries, import each mailbox from the full
//! session's database copy, then replay that mailbox's redo records from the
//! incrementals up to the requested point in time (label, time or redo sequence).
//!
//! Works on an open [`Store`]: offline (the command holds the home lock) or, once the
//! server exposes it, inside the server. Quota never applies to a restore.

use std::path::PathBuf;
use std::sync::Arc;

use zcs_core::{Entry, EntryKind, ZimbraId};
use zcs_directory::{Directory, EntryKey};
use zcs_store::redo::{RedoOp, RedoRecord};
use zcs_store::{BlobStore, Store};

use crate::backup::AccountFile;
use crate::catalog::{self, Session, SessionKind};
use crate::error::{BackupError, StoreStep};
use crate::progress::Progress;
use crate::zipblobs::SessionBlobs;
use crate::{BackupPaths, redo_io};

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
    catalog::read_json(&session.dir.join("sys").join("directory.json"))
}

/// Restores accounts into `store` and `dir` from the backups under `paths.target`.
///
/// Per account: the directory entry (created when missing, or a new prefixed account),
/// then the mailbox: wiped and imported from the full session, then the account's
/// redo records from the incrementals replayed up to the point in time. An account
/// created after the full session starts from an empty mailbox and its records.
///
/// # Errors
/// No fitting session; with `continue_on_error` unset, the first account that fails
/// (accounts before it stay restored).
pub async fn restore(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
) -> Result<RestoreReport, BackupError> {
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
    let last = chain.incrs.last().unwrap_or(&chain.full);
    let entries = directory_of(last)?;
    let all =
        opts.accounts.is_empty() || opts.accounts.iter().any(|a| a.eq_ignore_ascii_case("all"));

    let mut records: Vec<RedoRecord> = Vec::new();
    for s in &chain.incrs {
        records.extend(redo_io::read_records(
            &s.dir.join("redo").join("records.log"),
        )?);
    }
    records.sort_by_key(|r| r.seq);
    records.dedup_by_key(|r| r.seq);
    let aborted: std::collections::HashSet<u64> = records
        .iter()
        .filter_map(|r| match r.op {
            RedoOp::Abort { seq } => Some(seq),
            _ => None,
        })
        .collect();
    records.retain(|r| {
        !aborted.contains(&r.seq)
            && opts.to_seq.is_none_or(|s| r.seq <= s)
            && opts.to_time_ms.is_none_or(|t| r.timestamp_ms <= t)
    });

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

    let targets: Vec<&Entry> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Account | EntryKind::CalendarResource))
        .filter(|e| {
            all || opts
                .accounts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&e.name) || *a == e.id.to_string())
        })
        .collect();
    if !all && targets.len() < opts.accounts.len() {
        return Err(BackupError::Invalid(format!(
            "some accounts are not in backup {}: {}",
            last.catalog.label,
            opts.accounts.join(" ")
        )));
    }

    let mut session_dirs = vec![chain.full.dir.as_path()];
    session_dirs.extend(chain.incrs.iter().map(|s| s.dir.as_path()));
    let blobs: Arc<dyn BlobStore> = Arc::new(SessionBlobs::open(&session_dirs)?);
    let db_copy = chain.full.dir.join("sys").join("mailbox.db");

    let mut progress = Progress::new("zmrestore", targets.len() as u64, opts.quiet);
    for entry in targets {
        let res = restore_one(
            store,
            dir,
            opts,
            &chain,
            &db_copy,
            &records,
            entry,
            blobs.clone(),
        )
        .await;
        match res {
            Ok((name, applied, failed)) => {
                report.redo_applied += applied;
                report.redo_failed += failed;
                tracing::info!(account = entry.name, restored_as = name, "account restored");
                report.restored.push((entry.name.clone(), name));
            }
            Err(e) if opts.continue_on_error => {
                tracing::error!(account = entry.name, error = %e, "account not restored");
                report.failed.push((entry.name.clone(), e.to_string()));
            }
            Err(e) => return Err(e),
        }
        progress.step(&entry.name);
    }
    progress.finish();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn restore_one(
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
    chain: &Chain,
    db_copy: &std::path::Path,
    records: &[RedoRecord],
    entry: &Entry,
    blobs: Arc<dyn BlobStore>,
) -> Result<(String, u64, u64), BackupError> {
    let file: Option<AccountFile> = {
        let p: PathBuf =
            catalog::account_dir(&chain.full.dir, &entry.id.to_string()).join("account.json");
        if p.exists() {
            Some(catalog::read_json(&p)?)
        } else {
            None
        }
    };
    let source_entry = file.as_ref().map(|f| &f.entry).unwrap_or(entry);

    let target: Entry = match &opts.prefix {
        Some(prefix) => crate::directory::create_prefixed(dir, source_entry, prefix).await?,
        None => {
            let by_id = dir
                .get_entry(source_entry.kind, &EntryKey::Id(source_entry.id))
                .await
                .step("look up account")?;
            let by_name = dir
                .get_entry(
                    source_entry.kind,
                    &EntryKey::Name(source_entry.name.clone()),
                )
                .await
                .step("look up account")?;
            match (by_id, by_name) {
                // A new server made its own account of that name (the admin account of
                // a fresh install): the mailbox goes there, its entry stays.
                (None, Some(other)) => {
                    tracing::warn!(
                        account = other.name,
                        "account exists with another id; \
                        restoring the mailbox into it"
                    );
                    other
                }
                _ => {
                    crate::directory::restore_entry(dir, source_entry, opts.restore_directory)
                        .await?;
                    source_entry.clone()
                }
            }
        }
    };
    let target_id: ZimbraId = target.id;

    // The source mailbox: from the full session, or its creation in the redo records.
    let (source_mb, after) = match file
        .as_ref()
        .and_then(|f| f.record.mailbox.map(|m| (m, f.record.last_redo_seq)))
    {
        Some((mb, seq)) => {
            // Over a mailbox the account has: same id, new UIDVALIDITY (open IMAP
            // sessions see a renumbered mailbox); else a fresh import.
            store
                .replace_mailbox(target_id, db_copy, mb, blobs.clone())
                .await
                .step("import mailbox")?;
            (Some(mb), seq)
        }
        None => {
            store.delete_mailbox(target_id).await.step("wipe mailbox")?;
            let created = records.iter().find_map(|r| match &r.op {
                RedoOp::CreateMailbox { account, .. } if *account == entry.id => Some(r.mailbox.0),
                _ => None,
            });
            (created, 0)
        }
    };
    let Some(source_mb) = source_mb else {
        return Ok((target.name, 0, 0));
    };
    let mine: Vec<RedoRecord> = records
        .iter()
        .filter(|r| r.mailbox.0 == source_mb && r.seq > after)
        .cloned()
        .collect();
    if mine.is_empty() {
        if store
            .find_mailbox(target_id)
            .await
            .step("find mailbox")?
            .is_none()
        {
            store.mailbox(target_id).await.step("create mailbox")?;
        }
        return Ok((target.name, 0, 0));
    }
    let rep = store
        .replay_into(
            target_id,
            &mine,
            blobs,
            opts.skip_deletes,
            opts.ignore_redo_errors,
        )
        .await
        .step("replay redo records")?;
    Ok((target.name, rep.applied, rep.failed))
}
