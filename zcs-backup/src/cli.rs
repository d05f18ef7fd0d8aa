//! Command-line plumbing shared by the backup commands: Zimbra's multi-letter options
//! with one dash (`-lb`, `-restoreToTime`) rewritten to long options clap parses, the
//! time formats `zmrestore` and `zmbackupquery` accept, where a home's backup paths are
//! (local config keys over the default layout), how a command ends (its output or
//! `tool: error` and exit 1), the offline restore both `zmrestore` and
//! `zmrestoreoffline` run (arguments: [`crate::commands::RestoreArgs`]) and its report, and
//! restore options as the attributes of an admin `RestoreRequest` (so the online
//! restore the server runs means what the command line said).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone};
use zcs_directory::Directory;
use zcs_store::{Store, StoreConfig};

use crate::commands::RestoreArgs;
use crate::error::BackupError;
use crate::redo_io::RestoreScope;
use crate::{BackupPaths, RestoreOptions, RestoreReport};

/// Rewrites each argument equal to a single-dash alias in `aliases` (`("-lb",
/// "--label")`) to its long form; everything else is left alone.
pub fn normalize_args(
    args: impl IntoIterator<Item = String>,
    aliases: &[(&str, &str)],
) -> Vec<String> {
    args.into_iter()
        .map(|a| {
            aliases
                .iter()
                .find(|(short, _)| *short == a)
                .map(|(_, long)| long.to_string())
                .unwrap_or(a)
        })
        .collect()
}

/// Parses a restore or query time in the local time zone (labels are GMT; the guide's
/// times are local), in the nine formats `zmbackupquery` documents:
/// `2008/12/16 12:19:23`, `2008/12/16 12:19:23 257`, `2008/12/16 12:19:23.257`,
/// `2008/12/16-12:19:23-257`, `2008/12/16-12:19:23`, `20081216.121923.257`,
/// `20081216.121923`, `20081216121923257`, `20081216121923`. Returns ms since the
/// epoch; a local time a DST change skips gives `None`, one it repeats the earlier.
pub fn parse_time(text: &str) -> Option<i64> {
    naive_time(text).and_then(local_ms)
}

/// The wall-clock time `text` names, in any of [`parse_time`]'s formats.
fn naive_time(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    let formats = [
        "%Y%m%d%H%M%S%3f",
        "%Y%m%d%H%M%S",
        "%Y%m%d.%H%M%S%.3f",
        "%Y%m%d.%H%M%S",
        "%Y/%m/%d %H:%M:%S%.3f",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S %3f",
        "%Y/%m/%d-%H:%M:%S-%3f",
        "%Y/%m/%d-%H:%M:%S",
    ];
    formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

/// A local wall-clock time as ms since the epoch (the earlier of two when a DST change
/// repeats it).
pub(crate) fn local_ms(n: NaiveDateTime) -> Option<i64> {
    chrono::Local
        .from_local_datetime(&n)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The backup paths of the zcs home at `root`, each overridable by a local config key
/// (`zcs_store_db`, `zcs_store_volume`, `zcs_redolog_directory`, `zimbraBackupTarget`);
/// `lookup` reads the local config (an empty value counts as unset).
pub fn paths_from(root: &Path, lookup: impl Fn(&str) -> Option<String>) -> BackupPaths {
    let dflt = BackupPaths::for_home(root);
    let path = |key: &str, d: std::path::PathBuf| {
        lookup(key)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or(d)
    };
    BackupPaths {
        db: path("zcs_store_db", dflt.db),
        store: path("zcs_store_volume", dflt.store),
        redolog: path("zcs_redolog_directory", dflt.redolog),
        target: path("zimbraBackupTarget", dflt.target),
        index: dflt.index,
        conf: dflt.conf,
    }
}

/// Ends a command: prints its output and succeeds, or prints `tool: error` on stderr
/// and exits 1.
pub fn finish(tool: &str, res: Result<String, String>) -> ExitCode {
    match res {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{tool}: {e}");
            ExitCode::from(1)
        }
    }
}

/// The offline restore: opens the store itself (the caller holds the home's lock, so
/// no server runs), restores as `cmd` says, closes the store.
///
/// # Errors
/// The store does not open; as [`restore_report`].
pub async fn restore_offline(
    paths: &BackupPaths,
    dir: &Arc<dyn Directory>,
    cmd: &RestoreArgs,
) -> Result<String, String> {
    let paths = cmd.paths(paths);
    let store = Store::open(StoreConfig {
        db_path: paths.db.clone(),
        blob_root: paths.store.clone(),
        redo_dir: paths.redolog.clone(),
    })
    .await
    .map_err(|e| format!("open store: {e}"))?;
    // The server is stopped: this restore may rewrite the index directory.
    let out = match cmd.options() {
        Ok(mut opts) => {
            opts.index_dir = Some(paths.index.clone());
            // Fault drills hold the restore with an account in maintenance.
            opts.drill_pause_ms = std::env::var("ZCS_RESTORE_DRILL_PAUSE_MS")
                .ok()
                .and_then(|v| v.parse().ok());
            crate::restore::restore_scoped(&paths, &store, dir, &opts, &cmd.scope(), None)
                .await
                .and_then(restore_report)
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    store.close().await;
    out
}

/// What a restore did, as the commands print it.
///
/// # Errors
/// Accounts failed (under `-c`): the same text, as an error.
pub fn restore_report(rep: RestoreReport) -> Result<String, BackupError> {
    let mut out = format!(
        "restored from {} {}\n",
        rep.full_label,
        rep.incr_labels.join(" ")
    );
    for a in &rep.resumed {
        out.push_str(&format!(
            "{a}: an earlier restore was interrupted; restored again\n"
        ));
    }
    for a in &rep.skipped_deleted {
        out.push_str(&format!("skipped {a}: deleted since the backup\n"));
    }
    for (from, to) in &rep.restored {
        out.push_str(&format!("restored {from} as {to}\n"));
    }
    out.push_str(&format!(
        "redo records replayed: {} (failed {})\n",
        rep.redo_applied, rep.redo_failed
    ));
    out.push_str(&format!(
        "records from the server's redo logs: {}\n",
        rep.server_records
    ));
    if let Some(why) = &rep.server_redo_skipped {
        out.push_str(&format!(
            "the server's redo logs were not replayed: {why}\n"
        ));
    }
    for d in &rep.server_redo_damaged {
        out.push_str(&format!(
            "WARNING: the server's redo log was damaged: {d}\n"
        ));
    }
    if let Some(p) = &rep.localconfig_restored {
        out.push_str(&format!(
            "local config of the backup written to {} (compare it with the live one and \
             swap by hand)\n",
            p.display()
        ));
    }
    if !rep.index_restored.is_empty() {
        out.push_str(&format!(
            "search index restored for: {}\n",
            rep.index_restored.join(" ")
        ));
    }
    for (a, why) in &rep.failed {
        out.push_str(&format!("FAILED {a}: {why}\n"));
    }
    if !rep.aborted.is_empty() {
        out.push_str(&format!(
            "restore aborted by zmbackupabort -r; not restored: {}\n",
            rep.aborted.join(" ")
        ));
    }
    if !rep.failed.is_empty() || !rep.aborted.is_empty() {
        return Err(BackupError::Invalid(out));
    }
    Ok(out)
}

/// `opts` and `scope` as the attributes of a `RestoreRequest`'s `restore` element
/// (Zimbra's names: `method` `ra`/`mb`/`ca`, `prefix`, `label`, `restoreToTime` in ms,
/// `restoreToRedoSeq`, `restoreToIncrLabel`, `includeIncrementals`, `replayRedo`,
/// `continue`, `ignoreRedoErrors`, `skipDeleteOps`, `skipDeletedAccounts`, `sysData`
/// (`-sys`; name from memory), `searchIndex`). Accounts travel as `account name=` children.
pub fn restore_attrs(opts: &RestoreOptions, scope: &RestoreScope) -> Vec<(&'static str, String)> {
    let method = match (&opts.prefix, opts.restore_directory) {
        (Some(_), _) => "ca",
        (None, true) => "ra",
        (None, false) => "mb",
    };
    let mut out = vec![("method", method.to_string())];
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    put("prefix", opts.prefix.clone());
    put("label", opts.label.clone());
    put("restoreToTime", opts.to_time_ms.map(|t| t.to_string()));
    put("restoreToRedoSeq", opts.to_seq.map(|t| t.to_string()));
    put("restoreToIncrLabel", opts.to_incr_label.clone());
    let flag = |b: bool| Some(if b { "1" } else { "0" }.to_string());
    put("includeIncrementals", flag(!opts.full_only));
    put("replayRedo", flag(scope.server_redo));
    put("continue", flag(opts.continue_on_error));
    put("ignoreRedoErrors", flag(opts.ignore_redo_errors));
    put("skipDeleteOps", flag(opts.skip_deletes));
    put("skipDeletedAccounts", flag(scope.skip_deleted_accounts));
    put("sysData", flag(scope.system));
    let index = if opts.exclude_search_index {
        "exclude"
    } else {
        "include"
    };
    put("searchIndex", Some(index.to_string()));
    out
}

/// The options and scope a `restore` element's attributes (read through `attr`) and
/// account names ask for; the reverse of [`restore_attrs`]. `skipDeletes` and
/// `excludeSearchIndex="1"` (what earlier versions of `zmrestore` sent) are read too.
///
/// # Errors
/// An unknown method or `searchIndex` value, `ca` without a prefix, a number that
/// does not parse.
pub fn restore_from_attrs<'a>(
    attr: impl Fn(&str) -> Option<&'a str>,
    accounts: Vec<String>,
) -> Result<(RestoreOptions, RestoreScope), BackupError> {
    let flag = |k: &str, d: bool| {
        attr(k).map_or(d, |v| matches!(v.trim(), "1" | "true" | "TRUE" | "True"))
    };
    let num = |k: &str| -> Result<Option<i64>, BackupError> {
        attr(k)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| BackupError::Invalid(format!("bad {k} {v:?}")))
            })
            .transpose()
    };
    let method = attr("method").unwrap_or("ra");
    let prefix = attr("prefix").map(str::to_string);
    let prefix = match method {
        "ca" if prefix.as_deref().is_none_or(str::is_empty) => {
            return Err(BackupError::Invalid("method ca needs a prefix".into()));
        }
        "ca" => prefix,
        "ra" | "mb" | "replace" => None,
        other => {
            return Err(BackupError::Invalid(format!(
                "unknown restore method {other:?}"
            )));
        }
    };
    let all = accounts.is_empty() || accounts.iter().any(|a| a.eq_ignore_ascii_case("all"));
    let exclude_search_index = match attr("searchIndex").map(str::trim) {
        None | Some("") => flag("excludeSearchIndex", false),
        Some(v) if v.eq_ignore_ascii_case("include") => false,
        Some(v) if v.eq_ignore_ascii_case("exclude") => true,
        Some(other) => {
            return Err(BackupError::Invalid(format!(
                "searchIndex must be include or exclude (got {other:?})"
            )));
        }
    };
    let scope = RestoreScope {
        server_redo: flag("replayRedo", true),
        skip_deleted_accounts: flag("skipDeletedAccounts", false),
        system: flag("sysData", false),
    };
    let opts = RestoreOptions {
        accounts,
        label: attr("label").map(str::to_string),
        to_time_ms: num("restoreToTime")?,
        to_seq: num("restoreToRedoSeq")?.map(|s| s.max(0) as u64),
        to_incr_label: attr("restoreToIncrLabel").map(str::to_string),
        full_only: !flag("includeIncrementals", true),
        skip_deletes: flag("skipDeleteOps", false) || flag("skipDeletes", false),
        continue_on_error: flag("continue", false),
        ignore_redo_errors: flag("ignoreRedoErrors", false),
        restore_directory: method == "ra" || (all && prefix.is_none()),
        prefix,
        quiet: true,
        exclude_search_index,
        index_dir: None,
        drill_pause_ms: None,
    };
    Ok((opts, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_become_long_options() {
        let out = normalize_args(
            ["-a", "all", "-lb", "x"].map(String::from),
            &[("-lb", "--label")],
        );
        assert_eq!(out, ["-a", "all", "--label", "x"]);
    }

    /// Spec 04 idea 17: all nine documented formats name the same instant, read in
    /// the local time zone.
    #[test]
    fn times_parse_in_each_of_the_nine_formats_as_local_time() {
        let want = parse_time("20081216121923").unwrap();
        let local = chrono::NaiveDate::from_ymd_opt(2008, 12, 16)
            .and_then(|d| d.and_hms_opt(12, 19, 23))
            .unwrap();
        assert_eq!(Some(want), local_ms(local));
        for t in [
            "2008/12/16 12:19:23",
            "2008/12/16-12:19:23",
            "20081216.121923",
            "20081216121923",
        ] {
            assert_eq!(parse_time(t), Some(want), "{t}");
        }
        for t in [
            "2008/12/16 12:19:23 257",
            "2008/12/16 12:19:23.257",
            "2008/12/16-12:19:23-257",
            "20081216.121923.257",
            "20081216121923257",
        ] {
            assert_eq!(parse_time(t), Some(want + 257), "{t}");
        }
        assert_eq!(parse_time(" 2008/12/16 12:19:23 "), Some(want));
        assert_eq!(parse_time("nonsense"), None);
        assert_eq!(parse_time("2008/13/16 12:19:23"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking(s in "\\PC{0,40}") {
            let _ = parse_time(&s);
        }
    }

    #[test]
    fn restore_options_survive_the_request_attributes() {
        let opts = RestoreOptions {
            accounts: vec!["a@x.test".into()],
            label: Some("full-20070712.155951.123".into()),
            to_time_ms: Some(1_234_567),
            to_seq: Some(42),
            full_only: true,
            continue_on_error: true,
            prefix: Some("new_".into()),
            quiet: true,
            ..RestoreOptions::default()
        };
        let scope = RestoreScope {
            server_redo: false,
            skip_deleted_accounts: true,
            system: true,
        };
        let attrs = restore_attrs(&opts, &scope);
        let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        let (back, back_scope) = restore_from_attrs(get, opts.accounts.clone()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{opts:?}"));
        assert_eq!(back_scope, scope);
        // Zimbra's defaults: the server's redo logs are replayed.
        let (_, dflt) = restore_from_attrs(|_| None, vec![]).unwrap();
        assert_eq!(dflt, RestoreScope::default());
        let old = |k: &str| (k == "skipDeletes").then_some("1");
        assert!(restore_from_attrs(old, vec![]).unwrap().0.skip_deletes);
        assert!(restore_from_attrs(|k| (k == "method").then_some("zz"), vec![]).is_err());
        assert!(restore_from_attrs(|k| (k == "method").then_some("ca"), vec![]).is_err());
    }

    #[test]
    fn local_config_overrides_the_layout() {
        let p = paths_from(Path::new("/h"), |k| {
            (k == "zimbraBackupTarget").then(|| "/b".to_string())
        });
        assert_eq!(p.target, Path::new("/b"));
        assert_eq!(p.db, Path::new("/h/db/mailbox.db"));
    }
}
