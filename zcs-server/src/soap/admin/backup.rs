//! Admin requests of backup and restore, run inside the server so that they work while
//! it serves mail: RestoreRequest (what `zmrestore` sends when the server runs: the
//! restore writes through the server's own store, so no second process opens the
//! database), BackupRequest and BackupQueryRequest, with Zimbra's element and attribute
//! names; and [`resume_restores`], which a starting server runs to finish restores a
//! crash cut off.
//!
//! Each restored account is reindexed while it is still in maintenance (its old index
//! documents dropped, every restored item indexed and committed), so search is complete
//! the moment it can be used again. Afterwards its IMAP sessions are woken through the
//! change bus (they see the mailbox's new UIDVALIDITY and say BYE, RFC 3501 §2.3.1.1).

use std::sync::Arc;

use zcs_backup::cli::{paths_from, restore_from_attrs};
use zcs_backup::request::{self, BackupAction};
use zcs_backup::resume::HookFuture;
use zcs_backup::{BackupPaths, ReleaseHook, catalog};
use zcs_core::{ItemId, ServiceError, ServiceResult, ZimbraId};
use zcs_directory::Directory;
use zcs_index::{IndexBackend, document_from_message};
use zcs_store::Store;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use crate::home::Home;
use crate::localconfig::LocalConfig;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "RestoreRequest" | "BackupRequest" | "BackupQueryRequest"
    ) {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(match name {
        "RestoreRequest" => restore(ctx, req).await,
        "BackupRequest" => backup(ctx, req).await,
        _ => query(req),
    })
}

/// The backup paths of the home this server runs in (`ZCS_HOME`), local config keys
/// over the default layout; a `target` attribute names another backup target.
fn paths(el: Option<&Element>) -> ServiceResult<BackupPaths> {
    let home = Home::from_env().map_err(|e| ServiceError::failure(format!("zcs home: {e}")))?;
    let lc = LocalConfig::load(&home)
        .map_err(|e| ServiceError::failure(format!("load local config: {e}")))?;
    let mut p = paths_from(home.root(), |k| lc.get(k));
    if let Some(t) = el.and_then(|e| e.attr("target")).filter(|t| !t.is_empty()) {
        p.target = t.into();
    }
    Ok(p)
}

fn backup_error(e: zcs_backup::BackupError) -> ServiceError {
    match e {
        zcs_backup::BackupError::Invalid(m) => ServiceError::invalid_request(m),
        other => ServiceError::failure(other.to_string()),
    }
}

fn account_names(el: &Element) -> Vec<String> {
    el.children_named("account")
        .filter_map(|a| a.attr("name"))
        .map(str::to_string)
        .collect()
}

/// `<RestoreRequest><restore method="ra|mb|ca" [prefix] [label] [restoreToTime]
/// [restoreToRedoSeq] [restoreToIncrLabel] [includeIncrementals] [replayRedo] [continue]
/// [ignoreRedoErrors] [skipDeleteOps] [skipDeletedAccounts] [searchIndex] [target]>
/// <account name="…"/>…</restore>`: `<RestoreResponse status="ok|err" label redoApplied
/// redoFailed serverRedoRecords [serverRedoSkipped] [localConfigRestored]><account
/// name="…" restoredAs="…"/>… <skipped name="…"/>… <aborted name="…"/>… <redoDamaged
/// file="…"/>…`. `replayRedo` (default 1) replays the server's own redo logs after the
/// backup's records; 0 is `zmrestore -br`. `aborted`: accounts `zmbackupabort -r` kept
/// from being restored; `redoDamaged`: damaged redo logs set aside since the backup.
async fn restore(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("restore")
        .ok_or_else(|| ServiceError::invalid_request("missing restore element"))?;
    let (opts, scope) =
        restore_from_attrs(|k| spec.attr(k), account_names(spec)).map_err(backup_error)?;
    let paths = paths(Some(spec))?;
    let svc = ctx.svc;
    let dir = svc.prov.directory();
    let hook = Reindex {
        store: svc.store.clone(),
        index: svc.index.clone(),
    };
    let rep =
        zcs_backup::restore::restore_scoped(&paths, &svc.store, dir, &opts, &scope, Some(&hook))
            .await
            .map_err(backup_error)?;
    let mut resp = Element::with_ns("RestoreResponse", NS_ADMIN);
    let whole = rep.failed.is_empty() && rep.aborted.is_empty();
    resp.set("status", if whole { "ok" } else { "err" });
    resp.set("label", rep.full_label.clone());
    resp.set_num("redoApplied", rep.redo_applied);
    resp.set_num("redoFailed", rep.redo_failed);
    resp.set_num("serverRedoRecords", rep.server_records);
    if let Some(why) = &rep.server_redo_skipped {
        resp.set("serverRedoSkipped", why.clone());
    }
    if let Some(p) = &rep.localconfig_restored {
        resp.set("localConfigRestored", p.display().to_string());
    }
    for name in &rep.skipped_deleted {
        resp.add_new("skipped").set("name", name.clone());
    }
    for name in &rep.aborted {
        resp.add_new("aborted").set("name", name.clone());
    }
    for d in &rep.server_redo_damaged {
        resp.add_new("redoDamaged").set("file", d.clone());
    }
    for (from, to) in &rep.restored {
        let restored = svc.prov.find_account(to).await?;
        if let Some(acct) = &restored {
            crate::notify::publish(acct.id);
        }
        let a = resp.add_new("account");
        a.set("name", from.clone());
        a.set("restoredAs", to.clone());
        if let Some(acct) = restored {
            a.set("id", acct.id.to_string());
        }
    }
    for (name, why) in &rep.failed {
        let a = resp.add_new("account");
        a.set("name", name.clone());
        a.set("error", why.clone());
    }
    Ok(resp)
}

/// Items indexed per commit while reindexing a restored mailbox.
const REINDEX_BATCH: usize = 200;

/// Reindexes a restored mailbox before it leaves maintenance: its old documents are
/// dropped, then every item the restore left unindexed is indexed and committed, batch
/// by batch, and marked indexed.
struct Reindex {
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
}

impl ReleaseHook for Reindex {
    fn before_release(&self, account: ZimbraId) -> HookFuture<'_> {
        Box::pin(reindex(&self.store, &self.index, account))
    }
}

async fn reindex(
    store: &Store,
    index: &Arc<dyn IndexBackend>,
    account: ZimbraId,
) -> Result<(), String> {
    let Some(mb) = store
        .find_mailbox(account)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let id = mb.id();
    let idx = index.clone();
    tokio::task::spawn_blocking(move || {
        idx.delete_mailbox(id)?;
        idx.commit()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("drop old index documents: {e}"))?;
    // Every message, not only those marked unindexed: a restore that put back the
    // backup's index marked them indexed, and their documents were just dropped.
    let mut all: Vec<ItemId> = Vec::new();
    for f in mb.folders().await.map_err(|e| e.to_string())? {
        let msgs = mb.messages(f.id).await.map_err(|e| e.to_string())?;
        all.extend(msgs.into_iter().map(|m| m.id));
    }
    all.sort_by_key(|i| i.0);
    all.dedup();
    for ids in all.chunks(REINDEX_BATCH) {
        let ids = ids.to_vec();
        let mut raws = Vec::with_capacity(ids.len());
        for item in &ids {
            // An item gone since it was listed has nothing to index.
            if let Ok(raw) = mb.read_message(*item).await {
                raws.push((*item, raw));
            }
        }
        let idx = index.clone();
        tokio::task::spawn_blocking(move || {
            let docs = raws
                .iter()
                .map(|(item, raw)| document_from_message(*item, raw))
                .collect();
            idx.index(id, docs)?;
            idx.commit()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("index restored items: {e}"))?;
        mb.mark_indexed(&ids).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Finishes the restores a crash cut off (the journal of the home's backup target):
/// each such account is restored again with the options first given, reindexed, and
/// released. The server runs this once at start, after its indexer; accounts whose
/// restore cannot be finished stay in maintenance with an error in the log.
pub(crate) async fn resume_restores(
    store: Arc<Store>,
    dir: Arc<dyn Directory>,
    index: Arc<dyn IndexBackend>,
) {
    let paths = match paths(None) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "interrupted restores not checked");
            return;
        }
    };
    let journal = zcs_backup::journal::Journal::open(&paths.target);
    if journal.pending().is_empty() && journal.run().is_none() {
        return;
    }
    let hook = Reindex {
        store: store.clone(),
        index,
    };
    let rep = zcs_backup::resume_interrupted(&paths, &store, &dir, Some(&hook)).await;
    for (from, to) in &rep.finished {
        tracing::info!(
            account = from,
            restored_as = to,
            "interrupted restore finished"
        );
        if let Ok(Some(e)) = dir
            .get_entry(
                zcs_core::EntryKind::Account,
                &zcs_directory::EntryKey::Name(to.clone()),
            )
            .await
        {
            crate::notify::publish(e.id);
        }
    }
    for (name, why) in &rep.failed {
        tracing::error!(
            account = name,
            error = why,
            "interrupted restore not finished"
        );
    }
    if !rep.not_reached.is_empty() {
        tracing::warn!(
            accounts = rep.not_reached.join(" "),
            "a killed restore never reached these accounts: not restored (they keep their \
             state; run the restore again for them)"
        );
    }
}

/// `<BackupRequest><backup method="full|incremental|abort|delete" [target] [zip]
/// [zipStore] [sync] [label] [before] [blobs] [secondaryBlobs] [searchIndex]>
/// <account name="all|…"/>…</backup>`: `<BackupResponse><backup label="…"/>` (none
/// for abort and delete). The backup runs before the answer, `sync` or not.
async fn backup(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("backup")
        .ok_or_else(|| ServiceError::invalid_request("missing backup element"))?;
    let paths = paths(Some(spec))?;
    let mut resp = Element::with_ns("BackupResponse", NS_ADMIN);
    let mut args = match request::backup_from_attrs(|k| spec.attr(k), account_names(spec))
        .map_err(backup_error)?
    {
        BackupAction::Abort(label) => {
            zcs_backup::commands::abort(&paths, label.as_deref()).map_err(backup_error)?;
            return Ok(resp);
        }
        BackupAction::Run(args) => args,
    };
    args.server = ctx.svc.hostname.clone();
    let dir = ctx.svc.prov.directory();
    let out = zcs_backup::commands::backup(&paths, dir, &args)
        .await
        .map_err(backup_error)?;
    if args.delete.is_none()
        && let Some(label) = out.lines().next()
    {
        resp.add_new("backup").set("label", label.trim());
    }
    Ok(resp)
}

/// `<BackupQueryRequest><query [target] [label] [type="full|incremental"] [from] [to]
/// [backupListOffset] [backupListCount] [accountListStatus]/></BackupQueryRequest>`
/// (the attributes may also sit on the request itself): `<BackupQueryResponse
/// totalSpace freeSpace [more]><backup label type aborted start end minRedoSeq
/// maxRedoSeq live><accounts total completionCount errorCount><account name
/// status/>…</accounts></backup>…`, newest first.
fn query(req: &Element) -> ServiceResult<Element> {
    let spec = req.child("query").unwrap_or(req);
    let paths = paths(Some(spec))?;
    let q = request::query_from_attrs(|k| spec.attr(k)).map_err(backup_error)?;
    let (sessions, more) = request::query(&paths.target, &q).map_err(backup_error)?;
    let mut resp = Element::with_ns("BackupQueryResponse", NS_ADMIN);
    if let Some((total, free)) = space(&paths.target) {
        resp.set_num("totalSpace", total);
        resp.set_num("freeSpace", free);
    }
    if more {
        resp.set("more", "1");
    }
    for s in sessions {
        let c = &s.catalog;
        let b = resp.add_new("backup");
        b.set("label", c.label.clone());
        b.set(
            "type",
            match c.kind {
                catalog::SessionKind::Full => "full",
                catalog::SessionKind::Incremental => "incremental",
            },
        );
        b.set("aborted", "0");
        b.set_num("start", c.started_ms);
        b.set_num("end", c.ended_ms);
        b.set_num("minRedoSeq", c.redo_from + 1);
        b.set_num("maxRedoSeq", c.redo_to);
        b.set("live", "1");
        let n = c.accounts.len();
        let accts = b.add_new("accounts");
        accts.set_num("total", n);
        accts.set_num("completionCount", n);
        accts.set_num("errorCount", 0);
        accts.set_num("notStartedCount", 0);
        accts.set_num("inProgressCount", 0);
        if q.list_accounts {
            for a in &c.accounts {
                let el = accts.add_new("account");
                el.set("name", a.name.clone());
                el.set("status", "COMPLETED");
            }
        }
    }
    Ok(resp)
}

/// Total and free bytes of the file system holding `path` (or its nearest existing
/// parent).
fn space(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let existing = path.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize as u64;
    Some((
        (st.f_blocks as u64).saturating_mul(frsize),
        (st.f_bavail as u64).saturating_mul(frsize),
    ))
}
