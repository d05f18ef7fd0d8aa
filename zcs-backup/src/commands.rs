//! The backup commands' argument parsing and bodies; the binaries in zcs-server open
//! the home, the directory and, for restores, the store, then call these. This file
//! holds the shared option parsing (Zimbra's one-dash multi-letter options) and
//! `zmbackup` with the backup settings it reads from the directory; `zmbackupquery` is
//! in [`query`], `zmrestore`/`zmrestoreoffline`/`zmrestoreldap` in [`restore`], and
//! `zmbackupabort`, `zmschedulebackup` and `zmplayredo` in [`tools`].

mod query;
mod restore;
mod tools;

pub use query::{QueryArgs, query};
pub use restore::{RestoreArgs, RestoreLdapArgs, restore, restore_ldap, restore_with};
pub use tools::{PlayRedoArgs, abort, abort_restore, play_redo, schedule};

use std::sync::Arc;

use clap::Parser;
use zcs_directory::Directory;

use crate::backup::report::{self, ReportSettings, Summary};
use crate::catalog::SessionKind;
use crate::cli::{normalize_args, parse_time};
use crate::error::BackupError;
use crate::{BackupOptions, BackupPaths};

/// Zimbra's one-dash multi-letter options, as long options.
pub const ALIASES: &[(&str, &str)] = &[
    ("-lb", "--label"),
    ("-br", "--backedupRedologsOnly"),
    ("-ca", "--createAccount"),
    ("-pre", "--prefix"),
    ("-ra", "--restoreAccount"),
    ("-rf", "--restorefullBackupOnly"),
    ("-restoreToTime", "--restoreToTime"),
    ("-restoreToRedoSeq", "--restoreToRedoSeq"),
    ("-restoreToIncrLabel", "--restoreToIncrLabel"),
    ("-skipDeletes", "--skipDeletes"),
    ("-del", "--delete"),
    ("-sync", "--sync"),
    ("-lbs", "--listLabels"),
    ("-sys", "--systemData"),
    ("-skipDeletedAccounts", "--skipDeletedAccounts"),
];

/// Parses `args` (without the program name) for `T` after rewriting [`ALIASES`].
///
/// # Errors
/// clap's usage error.
pub fn parse<T: Parser>(name: &str, args: Vec<String>) -> Result<T, clap::Error> {
    let mut all = vec![name.to_string()];
    all.extend(normalize_args(args, ALIASES));
    T::try_parse_from(all)
}

/// `zmbackup {-f | -i | -del spec} [-a all|account...] [-s server] [--exclude-blobs]
/// [--exclude-hsm-blobs] [--exclude-search-index]`.
#[derive(Parser, Debug)]
#[command(name = "zmbackup", about = "Full or incremental backup of this server")]
pub struct BackupArgs {
    /// Full backup.
    #[arg(short = 'f', long = "fullBackup")]
    pub full: bool,
    /// Incremental backup (redo logs since the last backup).
    #[arg(short = 'i', long = "incrementalBackup")]
    pub incremental: bool,
    /// Accounts (addresses) or `all`.
    #[arg(short = 'a', long = "account", num_args = 1..)]
    pub accounts: Vec<String>,
    /// Server name for the catalog.
    #[arg(short = 's', long = "server", default_value = "")]
    pub server: String,
    /// Auto-grouped: back up 1/N of the accounts, least recently backed up first
    /// (`zimbraBackupAutoGroupedNumGroups`).
    #[arg(long = "autoGroupedNumGroups", default_value_t = 0)]
    pub groups: u32,
    /// Run synchronously (always the case here).
    #[arg(long = "sync")]
    pub sync: bool,
    /// Delete sessions older than a label, `N{d|m|y}` or a date (`-del`).
    #[arg(long = "delete")]
    pub delete: Option<String>,
    /// Leave blobs out (as `zimbraBackupSkipBlobs`).
    #[arg(long = "exclude-blobs", alias = "excludeBlobs")]
    pub exclude_blobs: bool,
    /// Leave out blobs on secondary (HSM) volumes (as `zimbraBackupSkipHsmBlobs`).
    #[arg(long = "exclude-hsm-blobs", alias = "excludeHsmBlobs")]
    pub exclude_hsm_blobs: bool,
    /// Leave the search index out (as `zimbraBackupSkipSearchIndex`).
    #[arg(long = "exclude-search-index", alias = "excludeSearchIndex")]
    pub exclude_search_index: bool,
    /// Blobs in deflate-compressed zip files, one per account (ignored with
    /// `--zipStore`).
    #[arg(short = 'z', long = "zip")]
    pub zip: bool,
    /// Blobs in uncompressed zip files, one per account.
    #[arg(long = "zipStore")]
    pub zip_store: bool,
    /// Blobs as individual files (the default here: hard-linked from the volumes when
    /// the target shares their file system).
    #[arg(short = 'n', long = "noZip", conflicts_with_all = ["zip", "zip_store"])]
    pub no_zip: bool,
    /// Blobs in, whatever `zimbraBackupSkipBlobs` says.
    #[arg(long = "includeBlobs", conflicts_with = "exclude_blobs")]
    pub include_blobs: bool,
    /// Secondary-volume blobs in, whatever `zimbraBackupSkipHsmBlobs` says.
    #[arg(long = "includeHsmBlobs", conflicts_with = "exclude_hsm_blobs")]
    pub include_hsm_blobs: bool,
    /// The search index in, whatever `zimbraBackupSkipSearchIndex` says.
    #[arg(long = "includeSearchIndex", conflicts_with = "exclude_search_index")]
    pub include_search_index: bool,
    /// Another backup target than `<zcs home>/backup` (full backups; an incremental
    /// goes where its full is).
    #[arg(short = 't', long = "target")]
    pub target: Option<String>,
    /// Mail a report to the administrator: accepted; the report goes to the log.
    #[arg(long = "mail-report")]
    pub mail_report: bool,
}

impl BackupArgs {
    /// The blob packaging asked for: `--zipStore` wins over `-z`; files by default.
    pub fn packaging(&self) -> crate::BlobPackaging {
        if self.zip_store {
            crate::BlobPackaging::ZipStore
        } else if self.zip {
            crate::BlobPackaging::Zip
        } else {
            crate::BlobPackaging::Files
        }
    }
}

/// The backup settings of a server: its server entry's attributes over the global
/// config's, over the attribute defaults (spec 04 §2.1: every backup attribute is
/// global and per server, the server's winning).
pub struct BackupConfig {
    global: zcs_core::Attrs,
    server: Option<zcs_core::Attrs>,
}

impl BackupConfig {
    /// Reads the global config and the server entry named `server` (none when empty
    /// or missing). A directory that cannot be read gives the defaults.
    pub async fn load(dir: &Arc<dyn Directory>, server: &str) -> BackupConfig {
        use zcs_core::EntryKind;
        let global = dir
            .list_entries(EntryKind::GlobalConfig, None)
            .await
            .ok()
            .and_then(|all| all.into_iter().next())
            .map(|g| g.attrs)
            .unwrap_or_default();
        let server = if server.trim().is_empty() {
            None
        } else {
            dir.get_entry(
                EntryKind::Server,
                &zcs_directory::EntryKey::Name(server.trim().to_string()),
            )
            .await
            .ok()
            .flatten()
            .map(|e| e.attrs)
        };
        BackupConfig { global, server }
    }

    /// The effective values of `attr`.
    pub fn get(&self, attr: &str) -> Vec<String> {
        match &self.server {
            Some(s) => zcs_core::attrs::Scope::server(s, Some(&self.global)).get(attr),
            None => zcs_core::attrs::Scope::global(&self.global).get(attr),
        }
    }

    /// The first effective value of `attr`.
    pub fn get_one(&self, attr: &str) -> Option<String> {
        self.get(attr).into_iter().next()
    }

    /// Whether `attr` is TRUE.
    pub fn flag(&self, attr: &str) -> bool {
        self.get_one(attr)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("TRUE"))
    }

    /// `zimbraBackupMode` is `Auto-Grouped`: its settings; else `None`.
    ///
    /// # Errors
    /// A bad `zimbraBackupAutoGroupedInterval`.
    pub fn auto_grouped(&self) -> Result<Option<crate::backup::grouped::AutoGrouped>, BackupError> {
        let mode = self.get_one("zimbraBackupMode").unwrap_or_default();
        if !mode.trim().eq_ignore_ascii_case("Auto-Grouped") {
            return Ok(None);
        }
        let dflt = crate::backup::grouped::AutoGrouped::default();
        Ok(Some(crate::backup::grouped::AutoGrouped {
            groups: self
                .get_one("zimbraBackupAutoGroupedNumGroups")
                .and_then(|v| v.trim().parse().ok())
                .filter(|n| *n >= 1)
                .unwrap_or(dflt.groups),
            interval_ms: match self.get_one("zimbraBackupAutoGroupedInterval") {
                Some(v) => crate::backup::grouped::parse_interval(&v)?,
                None => dflt.interval_ms,
            },
            throttled: self.flag("zimbraBackupAutoGroupedThrottled"),
        }))
    }

    /// Who gets the backup report: `zimbraBackupReportEmailRecipients`; with none set
    /// and `mail_report` (`--mail-report`), `admin@` the default domain. The sender is
    /// `zimbraBackupReportEmailSender`, else the first recipient.
    pub fn report(&self, mail_report: bool) -> ReportSettings {
        let mut recipients: Vec<String> = self
            .get("zimbraBackupReportEmailRecipients")
            .iter()
            .flat_map(|v| v.split([',', ' ']))
            .map(str::trim)
            .filter(|v| v.contains('@'))
            .map(str::to_string)
            .collect();
        if recipients.is_empty()
            && mail_report
            && let Some(d) = self.get_one("zimbraDefaultDomainName")
        {
            recipients.push(format!("admin@{}", d.trim()));
        }
        let sender = self
            .get_one("zimbraBackupReportEmailSender")
            .filter(|s| s.contains('@'))
            .or_else(|| recipients.first().cloned())
            .unwrap_or_default();
        ReportSettings {
            recipients,
            sender,
            subject_prefix: self
                .get_one("zimbraBackupReportEmailSubjectPrefix")
                .unwrap_or_else(|| report::DEFAULT_SUBJECT_PREFIX.to_string()),
        }
    }
}

/// What a `zmbackup` run takes from its process rather than from its arguments.
#[derive(Clone, Debug, Default)]
pub struct BackupEnv {
    /// `backup_archived_redolog_keep_time` from the local config (`None`: 3600 s).
    pub archive_keep: Option<std::time::Duration>,
}

/// Runs `zmbackup`; returns the lines to print (the label first). As [`backup_with`]
/// with the default [`BackupEnv`].
///
/// # Errors
/// As [`backup_with`].
pub async fn backup(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    args: &BackupArgs,
) -> Result<String, BackupError> {
    backup_with(paths, dir, args, &BackupEnv::default()).await
}

/// Runs `zmbackup` with the settings of the server `args.server` (its entry over the
/// global config): the skip attributes unless `--include*` says otherwise,
/// `zimbraBackupMinFreeSpace`, `zimbraBackupMode` (auto-grouped: `-f` backs up this
/// run's group, `-i` is refused) and, after the backup whatever its outcome, the report
/// mail to `zimbraBackupReportEmailRecipients` (see [`report`]).
///
/// # Errors
/// As [`crate::full_backup`] / [`crate::incremental_backup`]; a bad backup attribute.
pub async fn backup_with(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    args: &BackupArgs,
    env: &BackupEnv,
) -> Result<String, BackupError> {
    let mut paths = paths.clone();
    if let Some(t) = args.target.as_ref().filter(|t| !t.is_empty()) {
        paths.target = t.into();
    }
    if let Some(spec) = &args.delete {
        let gone = crate::retention::delete_older(&paths.target, spec, chrono::Utc::now())?;
        crate::backup::refresh_accounts_xml(&paths.target);
        return Ok(gone.iter().map(|l| format!("deleted {l}\n")).collect());
    }
    let kind = match (args.full, args.incremental) {
        (true, false) => SessionKind::Full,
        (false, true) => SessionKind::Incremental,
        _ => {
            return Err(BackupError::Invalid(
                "exactly one of -f and -i is required".into(),
            ));
        }
    };
    let cfg = BackupConfig::load(dir, &args.server).await;
    let started = chrono::Utc::now();
    let result = run_backup(&paths, dir, args, env, &cfg, kind).await;
    let summary = summarize(&args.server, kind, started, &result);
    report::send(&summary, &cfg.report(args.mail_report)).await;
    result.map(|rep| format!("{}\n", rep.label))
}

async fn run_backup(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    args: &BackupArgs,
    env: &BackupEnv,
    cfg: &BackupConfig,
    kind: SessionKind,
) -> Result<crate::BackupReport, BackupError> {
    let skip = |given: bool, include: bool, attr: &str| given || (!include && cfg.flag(attr));
    let mut auto_grouped = cfg.auto_grouped()?;
    if args.groups > 0 {
        auto_grouped = Some(crate::backup::grouped::AutoGrouped {
            groups: args.groups,
            ..auto_grouped.unwrap_or_default()
        });
    }
    let opts = BackupOptions {
        accounts: args.accounts.clone(),
        server: args.server.clone(),
        auto_grouped,
        quiet: false,
        exclude_blobs: skip(
            args.exclude_blobs,
            args.include_blobs,
            "zimbraBackupSkipBlobs",
        ),
        exclude_hsm_blobs: skip(
            args.exclude_hsm_blobs,
            args.include_hsm_blobs,
            "zimbraBackupSkipHsmBlobs",
        ),
        exclude_search_index: skip(
            args.exclude_search_index,
            args.include_search_index,
            "zimbraBackupSkipSearchIndex",
        ),
        packaging: args.packaging(),
        space_limit: None,
        min_free_space: cfg.get_one("zimbraBackupMinFreeSpace"),
        archive_keep: env.archive_keep,
    };
    match kind {
        SessionKind::Full => crate::full_backup(paths, dir, &opts).await,
        SessionKind::Incremental => crate::incremental_backup(paths, dir, &opts).await,
    }
}

/// The report of a backup run that started at `started`.
fn summarize(
    server: &str,
    kind: SessionKind,
    started: chrono::DateTime<chrono::Utc>,
    result: &Result<crate::BackupReport, BackupError>,
) -> Summary {
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or(started);
    match result {
        Ok(rep) => Summary {
            server: server.to_string(),
            kind,
            label: Some(rep.label.clone()),
            status: "completed".into(),
            started: at(rep.started_ms),
            ended: at(rep.ended_ms),
            redo_range: Some(rep.redo_range),
            accounts: rep.accounts,
            error: None,
        },
        Err(e) => {
            let text = e.to_string();
            Summary {
                server: server.to_string(),
                kind,
                label: None,
                status: if text.starts_with("backup not started") {
                    "not started".into()
                } else {
                    "failed".into()
                },
                started,
                ended: chrono::Utc::now(),
                redo_range: None,
                accounts: 0,
                error: Some(text),
            }
        }
    }
}
/// A time argument in the zmbackupquery formats (see [`parse_time`]), as ms since the
/// epoch.
fn time_arg(text: &str) -> Result<i64, BackupError> {
    parse_time(text).ok_or_else(|| BackupError::Invalid(format!("bad time {text:?}")))
}
