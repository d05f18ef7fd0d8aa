//! Finishing restores that did not finish: the hook a running server gives a restore to
//! settle each account before it leaves maintenance, and [`resume_interrupted`], which a
//! starting server (or an operator) runs to complete every restore the journal says was
//! cut off by a crash, repeating what was asked.
//!
//! A restore cannot be rolled back once an account's rows were replaced (the old rows
//! are gone), so resuming always finishes: the account is restored again from scratch
//! from the recorded session and point in time, then released with the status it had
//! before the first attempt. A resume that fails leaves the account in maintenance,
//! never looking complete, and says why.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use zcs_core::ZimbraId;
use zcs_directory::Directory;
use zcs_store::Store;

use crate::BackupPaths;
use crate::error::BackupError;
use crate::journal::Journal;
use crate::redo_io::RestoreScope;
use crate::restore::{RestoreOptions, RestoreReport, restore_scoped};

/// A boxed future, as [`ReleaseHook`] returns.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Work done on a restored account while it is still in maintenance.
pub trait ReleaseHook: Send + Sync {
    /// Called once `account`'s mailbox is whole (rows imported, redo records replayed)
    /// and before it leaves maintenance. An error fails the account's restore and keeps
    /// it in maintenance.
    fn before_release(&self, account: ZimbraId) -> HookFuture<'_>;
}

/// What [`resume_interrupted`] did.
#[derive(Clone, Debug, Default)]
pub struct ResumeReport {
    /// Accounts restored whole now: (backed-up name, restored name).
    pub finished: Vec<(String, String)>,
    /// Accounts still in maintenance, with why.
    pub failed: Vec<(String, String)>,
    /// Accounts the killed run set out to restore but never reached (untouched: they
    /// keep the state they had; restore them again if they were wanted).
    pub not_reached: Vec<String>,
}

/// Finishes every restore the journal of `paths.target` lists as interrupted, one
/// account at a time, with the options recorded when it started (journals written
/// before options were recorded: a full-session restore of the account from the
/// recorded label), scope included (`-br`, `-skipDeletedAccounts`, `-sys`). `hook` is
/// called as in [`crate::restore_with_hook`]. Accounts a killed run never reached are
/// reported in [`ResumeReport::not_reached`], not restored.
///
/// LIMITATION: only the journal of `paths.target` is read; a restore from another
/// backup target (`-t`) is finished by running it again.
pub async fn resume_interrupted(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    hook: Option<&dyn ReleaseHook>,
) -> ResumeReport {
    let mut out = ResumeReport::default();
    let journal = Journal::open(&paths.target);
    let pending = journal.pending();
    if let Some(run) = journal.run() {
        out.not_reached = run
            .unfinished()
            .into_iter()
            .filter(|a| !pending.iter().any(|p| &p.name == a))
            .collect();
        if !out.not_reached.is_empty() {
            tracing::warn!(
                accounts = out.not_reached.join(" "),
                label = run.label,
                "a restore was killed before it reached these accounts; they were not \
                 restored (run it again for them)"
            );
        }
        // Each account below records its own run; this one is accounted for.
        if let Err(e) = journal.end_run() {
            tracing::warn!(error = %e, "restore run file not removed");
        }
    }
    for p in pending {
        let source = if p.source_id.is_empty() {
            p.account_id.clone()
        } else {
            p.source_id.clone()
        };
        let (opts, scope) = match &p.request {
            Some(r) => (r.options(&source), r.scope()),
            None => (
                RestoreOptions {
                    accounts: vec![source.clone()],
                    label: Some(p.label.clone()),
                    full_only: true,
                    quiet: true,
                    ..RestoreOptions::default()
                },
                RestoreScope::default(),
            ),
        };
        tracing::warn!(
            account = p.name,
            label = p.label,
            "finishing a restore interrupted by a crash"
        );
        let res: Result<RestoreReport, BackupError> =
            restore_scoped(paths, store, dir, &opts, &scope, hook).await;
        match res {
            Ok(rep) if rep.failed.is_empty() => {
                tracing::info!(account = p.name, "interrupted restore finished");
                out.finished.extend(rep.restored);
            }
            Ok(rep) => out.failed.extend(rep.failed),
            Err(e) => {
                tracing::error!(account = p.name, error = %e,
                    "interrupted restore not finished; the account stays in maintenance");
                out.failed.push((p.name.clone(), e.to_string()));
            }
        }
    }
    out
}
