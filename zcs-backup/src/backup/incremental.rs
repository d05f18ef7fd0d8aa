//! Incremental sessions (`zmbackup -i`): the redo records logged since the previous
//! session, the blobs they bring and the directory; and, as Zimbra does, a full copy
//! of every account that has a mailbox but no full backup in the current chain (left
//! out of the last full by `-a`, or created since): its rows in the session's own
//! `sys/mailbox.db`, its blobs and `account.json`, so it is restorable from this
//! session on even though the redo records before it are in no session.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use zcs_core::Entry;
use zcs_directory::Directory;
use zcs_store::FileBlobStore;
use zcs_store::transfer;

use super::blobs::{Budget, LiveBlobs, Placed, Sink, place_blob};
use super::session::{Building, dir_size, ensure_space};
use super::{
    AccountFile, BackupOptions, BackupReport, abort_flag, account_entries, archive, check_abort,
    disk_full, excludes, export_directory, preflight, prune_after,
};
use crate::catalog::{self, AccountRecord, Catalog, SessionKind};
use crate::error::{BackupError, StoreStep};
use crate::progress::Progress;
use crate::zipblobs::{BlobPackaging, Packed, ZipPacker};
use crate::{BackupPaths, redo_io};

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

    // Accounts with a mailbox and no full copy since the last full session.
    let covered: HashSet<String> = sessions[full_at..]
        .iter()
        .flat_map(|s| s.catalog.accounts.iter())
        .filter(|a| a.mailbox.is_some())
        .map(|a| a.id.clone())
        .collect();
    let uncovered: Vec<&Entry> = account_entries(&entries)
        .filter(|e| !covered.contains(&e.id.to_string()))
        .filter(|e| live.mailboxes.iter().any(|m| m.account == e.id.to_string()))
        .collect();
    let mut dumped: HashMap<String, AccountRecord> = HashMap::new();
    if !uncovered.is_empty() {
        let db_copy = sys.join("mailbox.db");
        let snap = transfer::snapshot_database(&paths.db, &db_copy)
            .await
            .step("copy the store database")?;
        budget.charge(
            std::fs::metadata(&db_copy).map(|m| m.len()).unwrap_or(0),
            &db_copy,
        )?;
        for entry in uncovered {
            check_abort(&paths.target, &label)?;
            let id = entry.id.to_string();
            let Some(mb) = snap.mailboxes.iter().find(|m| m.account == id) else {
                continue;
            };
            let adir = catalog::account_dir(&building.tmp, &id);
            let mut own_zip = ZipPacker::new(&adir.join("blobs"), opts.packaging);
            let mut own_packed = Packed::new();
            let mut blobs = 0;
            if !opts.exclude_blobs {
                let digests = transfer::mailbox_blobs(&db_copy, mb.id)
                    .await
                    .step("list blobs")?;
                for d in &digests {
                    let sink = match opts.packaging {
                        BlobPackaging::Files => Sink::Files(&blobs_dir),
                        _ => Sink::Zip(&mut own_zip, &mut own_packed),
                    };
                    match place_blob(&live_blobs, sink, d, opts, &budget)? {
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
            own_zip.finish()?;
            let rec = AccountRecord {
                id: id.clone(),
                name: entry.name.clone(),
                mailbox: Some(mb.id),
                last_redo_seq: mb.last_redo_seq,
                blobs,
            };
            catalog::write_json(
                &adir.join("account.json"),
                &AccountFile {
                    entry: entry.clone(),
                    record: rec.clone(),
                },
            )?;
            tracing::info!(
                label,
                account = entry.name,
                "no full backup of this account yet: copied whole in the incremental"
            );
            dumped.insert(id, rec);
        }
    }

    let redo_to = records.last().map(|r| r.seq).unwrap_or(prev);
    let cat = Catalog {
        label: label.clone(),
        kind: SessionKind::Incremental,
        status: "completed".into(),
        server: opts.server.clone(),
        started_ms: started.timestamp_millis(),
        ended_ms: Utc::now().timestamp_millis(),
        accounts: account_entries(&entries)
            .map(|e| {
                dumped
                    .remove(&e.id.to_string())
                    .unwrap_or_else(|| AccountRecord {
                        id: e.id.to_string(),
                        name: e.name.clone(),
                        mailbox: None,
                        last_redo_seq: 0,
                        blobs: 0,
                    })
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
    crate::layout::write_session_files(&building.tmp, paths, &cat, &entries)?;
    let dest = building.commit(&cat)?;
    super::refresh_accounts_xml(&paths.target);
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
