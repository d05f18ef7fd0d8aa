//! `zmrestore` / `zmrestoreoffline` options ([`RestoreArgs`], down to the library's
//! [`RestoreOptions`] and [`RestoreScope`]) and `zmrestoreldap`.

use std::sync::Arc;

use clap::Parser;
use zcs_directory::Directory;
use zcs_store::Store;

use super::time_arg;
use crate::catalog;
use crate::error::BackupError;
use crate::redo_io::RestoreScope;
use crate::{BackupPaths, RestoreOptions};

/// `zmrestore` / `zmrestoreoffline` options.
#[derive(Parser, Debug)]
#[command(about = "Restore accounts from backups")]
pub struct RestoreArgs {
    /// Accounts (addresses or ids) or `all`.
    #[arg(short = 'a', long = "account", num_args = 1..)]
    pub accounts: Vec<String>,
    /// Full session to use, or incremental to stop at.
    #[arg(long = "label")]
    pub label: Option<String>,
    /// Replay until this time (YYYYMMDDHHMMSS and the other formats; GMT).
    #[arg(long = "restoreToTime")]
    pub to_time: Option<String>,
    /// Replay up to and including this redo sequence.
    #[arg(long = "restoreToRedoSeq")]
    pub to_seq: Option<u64>,
    /// Replay incrementals up to and including this label.
    #[arg(long = "restoreToIncrLabel")]
    pub to_incr: Option<String>,
    /// Replay only redo logs inside the backup (always the case here).
    #[arg(long = "backedupRedologsOnly")]
    pub backed_up_only: bool,
    /// Restore the full backup only.
    #[arg(long = "restorefullBackupOnly", alias = "restoreFullBackupOnly")]
    pub full_only: bool,
    /// Go on after an account fails.
    #[arg(short = 'c', long = "continueOnError")]
    pub continue_on_error: bool,
    /// Restore into new accounts named <prefix><name>.
    #[arg(long = "createAccount")]
    pub create: bool,
    /// Prefix for --createAccount.
    #[arg(long = "prefix")]
    pub prefix: Option<String>,
    /// Put the directory entry back too.
    #[arg(long = "restoreAccount")]
    pub restore_account: bool,
    /// Restore system data too (`-sys`, in the guide's disaster-recovery command).
    /// Accepted so that command runs as written: the store creates its own schema and
    /// a backup here carries no local config, so there is nothing more to put back.
    #[arg(long = "systemData")]
    pub system_data: bool,
    /// Do not replay deletes.
    #[arg(long = "skipDeletes")]
    pub skip_deletes: bool,
    /// Go on past redo records that fail.
    #[arg(long = "ignoreRedoErrors")]
    pub ignore_redo_errors: bool,
    /// Do not put the search index back (restored mail is reindexed).
    #[arg(long = "excludeSearchIndex", alias = "exclude-search-index")]
    pub exclude_search_index: bool,
    /// Server (must be this one).
    #[arg(short = 's', long = "server")]
    pub server: Option<String>,
    /// Leave out accounts deleted (or not existing) since the backup; always so with
    /// `-a all` (`--skipDeletedAccounts`, the guide also writes `-skipDeletedAccounts`).
    #[arg(long = "skipDeletedAccounts")]
    pub skip_deleted_accounts: bool,
    /// Backup target (default: `<zcs home>/backup`, or `zimbraBackupTarget`).
    #[arg(short = 't', long = "target")]
    pub target: Option<String>,
}

impl RestoreArgs {
    /// Parses `args` (without the program name) as the guide spells them.
    ///
    /// # Errors
    /// clap's usage error.
    pub fn parse_args(name: &str, args: Vec<String>) -> Result<RestoreArgs, clap::Error> {
        super::parse(name, args)
    }

    /// The scope these arguments ask for: `-br` replays only the backup's redo
    /// records (by default the server's own logs follow them); `-skipDeletedAccounts`;
    /// `-sys`.
    pub fn scope(&self) -> RestoreScope {
        RestoreScope {
            server_redo: !self.backed_up_only,
            skip_deleted_accounts: self.skip_deleted_accounts,
            system: self.system_data,
        }
    }

    /// `paths` with the backup target `-t` names, if any.
    pub fn paths(&self, paths: &BackupPaths) -> BackupPaths {
        let mut p = paths.clone();
        if let Some(t) = self.target.as_ref().filter(|t| !t.is_empty()) {
            p.target = t.into();
        }
        p
    }

    /// Checks `-s` for an offline restore: it can only restore the server it runs on
    /// (`localhost`, or `this_host`, the home's `zimbra_server_hostname`).
    ///
    /// # Errors
    /// [`BackupError::Invalid`] naming the other server.
    pub fn check_local_server(&self, this_host: &str) -> Result<(), BackupError> {
        let Some(s) = self
            .server
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Ok(());
        };
        let local = ["localhost", "127.0.0.1", "::1", this_host.trim()];
        if local
            .iter()
            .any(|l| !l.is_empty() && l.eq_ignore_ascii_case(s))
        {
            return Ok(());
        }
        Err(BackupError::Invalid(format!(
            "-s {s}: an offline restore only restores this server ({}); run it on {s}",
            if this_host.trim().is_empty() {
                "localhost"
            } else {
                this_host.trim()
            }
        )))
    }
    /// The library options these arguments ask for.
    ///
    /// # Errors
    /// `-ca` without `-pre`, a bad time.
    pub fn options(&self) -> Result<RestoreOptions, BackupError> {
        if self.create && self.prefix.is_none() {
            return Err(BackupError::Invalid("-ca needs -pre <prefix>".into()));
        }
        let all = self.accounts.is_empty() || self.accounts.iter().any(|a| a == "all");
        Ok(RestoreOptions {
            accounts: self.accounts.clone(),
            label: self.label.clone(),
            to_time_ms: self.to_time.as_deref().map(time_arg).transpose()?,
            to_seq: self.to_seq,
            to_incr_label: self.to_incr.clone(),
            full_only: self.full_only,
            skip_deletes: self.skip_deletes,
            continue_on_error: self.continue_on_error,
            ignore_redo_errors: self.ignore_redo_errors,
            prefix: if self.create {
                self.prefix.clone()
            } else {
                None
            },
            restore_directory: self.restore_account || all,
            quiet: false,
            exclude_search_index: self.exclude_search_index,
            index_dir: None,
            drill_pause_ms: None,
        })
    }
}

/// Runs a restore and describes it.
///
/// # Errors
/// As [`crate::restore`]; accounts that failed under `-c` make it an error at the end.
pub async fn restore(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    args: &RestoreArgs,
) -> Result<String, BackupError> {
    let paths = args.paths(paths);
    let rep =
        crate::restore::restore_scoped(&paths, store, dir, &args.options()?, &args.scope(), None)
            .await?;
    crate::cli::restore_report(rep)
}

/// Runs a restore with `opts` and describes it (as [`restore`]).
///
/// # Errors
/// As [`restore`].
pub async fn restore_with(
    paths: &BackupPaths,
    store: &Store,
    dir: &Arc<dyn Directory>,
    opts: &RestoreOptions,
) -> Result<String, BackupError> {
    let rep = crate::restore(paths, store, dir, opts).await?;
    crate::cli::restore_report(rep)
}

/// `zmrestoreldap -lb <label> [-a account...] [-lbs]`.
#[derive(Parser, Debug)]
#[command(
    name = "zmrestoreldap",
    about = "Restore directory entries from a backup"
)]
pub struct RestoreLdapArgs {
    /// Session label.
    #[arg(long = "label")]
    pub label: Option<String>,
    /// List the session labels.
    #[arg(long = "listLabels")]
    pub list: bool,
    /// Only these accounts (default: every entry).
    #[arg(short = 'a', long = "account", num_args = 1..)]
    pub accounts: Vec<String>,
}

/// Runs `zmrestoreldap`: creates missing entries and resets the attributes of
/// existing ones to the backed-up values.
///
/// # Errors
/// No such label; a damaged session.
pub async fn restore_ldap(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    args: &RestoreLdapArgs,
) -> Result<String, BackupError> {
    let sessions = catalog::list_sessions(&paths.target)?;
    if args.list {
        return Ok(sessions
            .iter()
            .map(|s| format!("{}\n", s.catalog.label))
            .collect());
    }
    let session = match &args.label {
        Some(l) => sessions.iter().find(|s| &s.catalog.label == l),
        None => sessions.last(),
    }
    .ok_or_else(|| BackupError::Invalid("no such backup session".into()))?;
    let entries: Vec<zcs_core::Entry> =
        catalog::read_json(&session.dir.join("sys").join("directory.json"))?;
    let mut written = 0;
    let mut remap = std::collections::HashMap::new();
    let mut out = String::new();
    for e in &entries {
        if !args.accounts.is_empty()
            && !args
                .accounts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&e.name))
        {
            continue;
        }
        match crate::directory::restore_entry_or_recreate(dir, e, &remap).await {
            Ok((w, new_id)) => {
                written += u32::from(w);
                if let Some(new) = new_id {
                    out.push_str(&format!(
                        "{} {} was deleted; recreated with id {new}\n",
                        e.kind, e.name
                    ));
                    remap.insert(e.id, new);
                }
            }
            Err(err) => {
                tracing::warn!(kind = %e.kind, name = e.name, error = %err,
                    "entry not restored");
                out.push_str(&format!("{} {} not restored: {err}\n", e.kind, e.name));
            }
        }
    }
    out.push_str(&format!(
        "{written} entries restored from {}\n",
        session.catalog.label
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_guides_disaster_recovery_command_parses() {
        let a = RestoreArgs::parse_args("zmrestoreoffline", words("-sys -a all -c -br")).unwrap();
        assert!(a.system_data && a.continue_on_error && a.backed_up_only);
        assert_eq!(a.accounts, vec!["all"]);
        let a = RestoreArgs::parse_args("zmrestore", words("-a u@x.test -ca -pre r_ -lb full-1"))
            .unwrap();
        assert!(a.create && !a.system_data);
        assert_eq!(a.prefix.as_deref(), Some("r_"));
        assert_eq!(a.label.as_deref(), Some("full-1"));
    }

    #[test]
    fn skip_deleted_accounts_and_target_are_restore_options() {
        let c = RestoreArgs::parse_args(
            "zmrestore",
            words("-a all -br -skipDeletedAccounts -t /b -restoreToRedoSeq 7"),
        )
        .unwrap();
        assert!(c.backed_up_only && c.skip_deleted_accounts);
        assert_eq!(c.to_seq, Some(7));
        assert_eq!(
            c.scope(),
            RestoreScope {
                server_redo: false,
                skip_deleted_accounts: true,
                system: false,
            }
        );
        let p = c.paths(&BackupPaths::for_home(Path::new("/h")));
        assert_eq!(p.target, Path::new("/b"));
        let c = RestoreArgs::parse_args("zmrestore", words("-a u@x.test --skipDeletedAccounts"))
            .unwrap();
        assert!(c.skip_deleted_accounts);
        assert_eq!(
            c.paths(&BackupPaths::for_home(Path::new("/h"))).target,
            Path::new("/h/backup")
        );
        let c = RestoreArgs::parse_args("zmrestore", words("-a u@x.test")).unwrap();
        assert_eq!(c.scope(), RestoreScope::default());
        assert!(RestoreArgs::parse_args("zmrestore", words("-a x --nonsense")).is_err());
    }

    #[test]
    fn an_offline_restore_refuses_another_server() {
        let with = |s: &str| RestoreArgs::parse_args("zmrestoreoffline", words(s)).unwrap();
        assert!(with("-a all").check_local_server("mail.x.test").is_ok());
        assert!(
            with("-a all -s localhost")
                .check_local_server("mail.x.test")
                .is_ok()
        );
        assert!(
            with("-a all -s MAIL.x.test")
                .check_local_server("mail.x.test")
                .is_ok()
        );
        let e = with("-a all -s other.x.test")
            .check_local_server("mail.x.test")
            .unwrap_err();
        assert!(e.to_string().contains("other.x.test"), "{e}");
    }
}
