//! Admin requests of backup and restore, run inside the server so that they work while
//! it serves mail: RestoreRequest (what `zmrestore` sends when the server runs: the
//! restore writes through the server's own store, so no second process opens the
//! database), BackupRequest and BackupQueryRequest.
//!
//! After a restore, every restored account's IMAP sessions are woken through the change
//! bus (they see the mailbox's new UIDVALIDITY and say BYE, RFC 3501 §2.3.1.1), its old
//! index documents are dropped and the indexer is asked to index the restored items.

use zcs_backup::cli::{paths_from, restore_from_attrs};
use zcs_backup::{BackupOptions, BackupPaths, catalog};
use zcs_core::{ServiceError, ServiceResult};

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
/// [restoreToRedoSeq] [restoreToIncrLabel] [includeIncrementals] [continue]
/// [ignoreRedoErrors] [skipDeletes] [target]><account name="…"/>…</restore>`:
/// `<RestoreResponse status="ok|err"><account name="…" restoredAs="…"/>…`.
async fn restore(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("restore")
        .ok_or_else(|| ServiceError::invalid_request("missing restore element"))?;
    let opts = restore_from_attrs(|k| spec.attr(k), account_names(spec)).map_err(backup_error)?;
    let paths = paths(Some(spec))?;
    let svc = ctx.svc;
    let dir = svc.prov.directory();
    let rep = zcs_backup::restore(&paths, &svc.store, dir, &opts)
        .await
        .map_err(backup_error)?;
    let mut resp = Element::with_ns("RestoreResponse", NS_ADMIN);
    resp.set("status", if rep.failed.is_empty() { "ok" } else { "err" });
    resp.set("label", rep.full_label.clone());
    resp.set_num("redoApplied", rep.redo_applied);
    resp.set_num("redoFailed", rep.redo_failed);
    for (from, to) in &rep.restored {
        let restored = svc.prov.find_account(to).await?;
        if let Some(acct) = &restored {
            // The restored rows replaced the old ones: drop the old documents and
            // index what is there now; wake its sessions.
            if let Ok(Some(mb)) = svc.store.find_mailbox(acct.id).await
                && let Err(e) = svc.index.delete_mailbox(mb.id())
            {
                tracing::warn!(account = to, error = %e, "old index documents not dropped");
            }
            svc.indexer.reconcile(acct.id);
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

/// `<BackupRequest><backup method="full|incremental" [target]><account name="all"/>
/// </backup>`: `<BackupResponse><backup label="…"/>`. Runs synchronously.
async fn backup(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("backup")
        .ok_or_else(|| ServiceError::invalid_request("missing backup element"))?;
    let paths = paths(Some(spec))?;
    let opts = BackupOptions {
        accounts: account_names(spec),
        server: ctx.svc.hostname.clone(),
        quiet: true,
        ..BackupOptions::default()
    };
    let dir = ctx.svc.prov.directory();
    let rep = match spec.attr("method").unwrap_or("full") {
        "full" => zcs_backup::full_backup(&paths, dir, &opts).await,
        "incremental" => zcs_backup::incremental_backup(&paths, dir, &opts).await,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown backup method {other:?}"
            )));
        }
    }
    .map_err(backup_error)?;
    let mut resp = Element::with_ns("BackupResponse", NS_ADMIN);
    resp.add_new("backup").set("label", rep.label);
    Ok(resp)
}

/// `<BackupQueryRequest [target]/>`: `<BackupQueryResponse><backup label type
/// start end redoFrom redoTo accounts/>…`, oldest first.
fn query(req: &Element) -> ServiceResult<Element> {
    let paths = paths(Some(req))?;
    let mut resp = Element::with_ns("BackupQueryResponse", NS_ADMIN);
    for s in catalog::list_sessions(&paths.target).map_err(backup_error)? {
        let c = &s.catalog;
        let b = resp.add_new("backup");
        b.set("label", c.label.clone());
        b.set("type", c.kind.prefix());
        b.set_num("start", c.started_ms);
        b.set_num("end", c.ended_ms);
        b.set_num("redoFrom", c.redo_from);
        b.set_num("redoTo", c.redo_to);
        b.set_num("accounts", c.accounts.len());
    }
    Ok(resp)
}
