//! The restore journal: the accounts a restore has put in maintenance
//! (`zimbraAccountStatus: maintenance`) while their mailbox is being replaced, one
//! file per account under `<backup target>/restore-journal/`, with the status to put
//! back when the account is whole again.
//!
//! A restore killed midway leaves the account in maintenance (no login, no delivery:
//! it never looks complete) and its journal file; the next restore of that account
//! finds the file, restores it again from scratch and puts back the status it had
//! before the first attempt, not "maintenance". Each file also records what was asked
//! (the backed-up account and the point in time), so a server starting after such a
//! crash can finish the restore by itself ([`crate::resume`]).
//!
//! Beside the per-account files, `<backup target>/restore-run.json` ([`Run`]) records
//! the whole run while it lasts: the accounts it set out to restore, in order, those
//! already whole, and the request with its scope (`-br`, `-skipDeletedAccounts`,
//! `-sys`). A run cut off by a crash thus says which accounts it never reached (they
//! were not touched and keep their state), and resuming repeats the same scope.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::error::BackupError;
use crate::redo_io::RestoreScope;

/// The status an account is held in while it is restored.
pub const MAINTENANCE: &str = "maintenance";

/// One account being restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The restored account's `zimbraId`.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// `zimbraAccountStatus` to put back when done.
    pub previous_status: String,
    /// The full session restored from.
    pub label: String,
    /// When the restore of this account started (ms since the epoch).
    pub started_ms: i64,
    /// The backed-up account's `zimbraId` (differs from `account_id` for a restore into
    /// a new prefixed account); empty in journals written before it was recorded.
    #[serde(default)]
    pub source_id: String,
    /// What the interrupted restore was asked to do; `None` in older journals (the
    /// account is then restored from `label` alone).
    #[serde(default)]
    pub request: Option<Request>,
}

/// The options of an interrupted restore that decide its result, so that finishing it
/// later gives what the first attempt would have given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `-lb`.
    pub label: Option<String>,
    /// `-restoreToTime` (ms since the epoch).
    pub to_time_ms: Option<i64>,
    /// `-restoreToRedoSeq`.
    pub to_seq: Option<u64>,
    /// `-restoreToIncrLabel`.
    pub to_incr_label: Option<String>,
    /// `-rf`.
    pub full_only: bool,
    /// `--skipDeletes`.
    pub skip_deletes: bool,
    /// `--ignoreRedoErrors`.
    pub ignore_redo_errors: bool,
    /// `-ca -pre`.
    pub prefix: Option<String>,
    /// `-ra`.
    pub restore_directory: bool,
    /// `--excludeSearchIndex`.
    pub exclude_search_index: bool,
    /// `-br`: only the backup's redo records, not the server's own logs. `false` in
    /// journals written before the scope was recorded (the default scope).
    #[serde(default)]
    pub backed_up_only: bool,
    /// `-skipDeletedAccounts`.
    #[serde(default)]
    pub skip_deleted_accounts: bool,
    /// `-sys`.
    #[serde(default)]
    pub system: bool,
}

impl Request {
    /// The parts of `opts` and `scope` a resumed restore must repeat.
    pub fn of(opts: &crate::RestoreOptions, scope: &RestoreScope) -> Request {
        Request {
            backed_up_only: !scope.server_redo,
            skip_deleted_accounts: scope.skip_deleted_accounts,
            system: scope.system,
            label: opts.label.clone(),
            to_time_ms: opts.to_time_ms,
            to_seq: opts.to_seq,
            to_incr_label: opts.to_incr_label.clone(),
            full_only: opts.full_only,
            skip_deletes: opts.skip_deletes,
            ignore_redo_errors: opts.ignore_redo_errors,
            prefix: opts.prefix.clone(),
            restore_directory: opts.restore_directory,
            exclude_search_index: opts.exclude_search_index,
        }
    }

    /// Restore options repeating this request for the one account `source`.
    pub fn options(&self, source: &str) -> crate::RestoreOptions {
        crate::RestoreOptions {
            accounts: vec![source.to_string()],
            label: self.label.clone(),
            to_time_ms: self.to_time_ms,
            to_seq: self.to_seq,
            to_incr_label: self.to_incr_label.clone(),
            full_only: self.full_only,
            skip_deletes: self.skip_deletes,
            ignore_redo_errors: self.ignore_redo_errors,
            prefix: self.prefix.clone(),
            restore_directory: self.restore_directory,
            exclude_search_index: self.exclude_search_index,
            quiet: true,
            ..crate::RestoreOptions::default()
        }
    }

    /// The scope of the restore this request repeats.
    pub fn scope(&self) -> RestoreScope {
        RestoreScope {
            server_redo: !self.backed_up_only,
            skip_deleted_accounts: self.skip_deleted_accounts,
            system: self.system,
        }
    }
}

/// One restore run, recorded in `<backup target>/restore-run.json` from the moment
/// its accounts are chosen until it ends (whatever its outcome); left behind only by
/// a run that was killed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// When the run started (ms since the epoch).
    pub started_ms: i64,
    /// The full session it restores from.
    pub label: String,
    /// The accounts it set out to restore (names in the backup), in order.
    pub accounts: Vec<String>,
    /// Those already whole.
    pub done: Vec<String>,
    /// What was asked, scope included.
    pub request: Request,
}

impl Run {
    /// The accounts the run never finished, in order: those it was restoring when cut
    /// off (also in the per-account journal) and those it never reached.
    pub fn unfinished(&self) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|a| !self.done.contains(a))
            .cloned()
            .collect()
    }
}

/// The run file of a backup target.
fn run_file(target: &Path) -> PathBuf {
    target.join("restore-run.json")
}

/// The flag `zmbackupabort -r` raises: a running restore stops after the account in
/// progress and reports the accounts it did not restore.
pub fn restore_abort_flag(target: &Path) -> PathBuf {
    target.join("abort-restore")
}

/// Asks the running restore of `target` to stop after its current account.
///
/// # Errors
/// The flag cannot be written.
pub fn request_restore_abort(target: &Path) -> Result<(), BackupError> {
    catalog::write_synced(&restore_abort_flag(target), b"abort")
}

/// Whether a restore abort was asked for (checked between accounts).
pub fn restore_abort_requested(target: &Path) -> bool {
    restore_abort_flag(target).exists()
}

/// Lowers the flag (a restore starting, or one that stopped for it).
pub fn clear_restore_abort(target: &Path) {
    let _ = std::fs::remove_file(restore_abort_flag(target));
}

/// The journal directory of a backup target.
pub struct Journal {
    dir: PathBuf,
    run: PathBuf,
}

impl Journal {
    /// The journal of `target` (`<target>/restore-journal`, `<target>/restore-run.json`).
    pub fn open(target: &Path) -> Journal {
        Journal {
            dir: target.join("restore-journal"),
            run: run_file(target),
        }
    }

    /// The run a killed restore left behind, if any.
    pub fn run(&self) -> Option<Run> {
        catalog::read_json(&self.run).ok()
    }

    /// Records that a run starts (fsynced), replacing a run file left behind.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn begin_run(&self, run: &Run) -> Result<(), BackupError> {
        catalog::write_json(&self.run, run)
    }

    /// Records that `name` is whole (a no-op without a run file).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn run_account_done(&self, name: &str) -> Result<(), BackupError> {
        let Some(mut run) = self.run() else {
            return Ok(());
        };
        if !run.done.iter().any(|d| d == name) {
            run.done.push(name.to_string());
        }
        catalog::write_json(&self.run, &run)
    }

    /// Records that the run ended (every account whole, failed or aborted, each said
    /// in its report).
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn end_run(&self) -> Result<(), BackupError> {
        match std::fs::remove_file(&self.run) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io("end restore run", &self.run, e)),
        }
    }

    fn file(&self, account_id: &str) -> PathBuf {
        self.dir.join(format!("{account_id}.json"))
    }

    /// Accounts whose restore started and never finished.
    pub fn pending(&self) -> Vec<Pending> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Pending> = rd
            .flatten()
            .filter_map(|e| catalog::read_json(&e.path()).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The unfinished restore of `account_id`, if any.
    pub fn get(&self, account_id: &str) -> Option<Pending> {
        catalog::read_json(&self.file(account_id)).ok()
    }

    /// Records that the restore of `p.account_id` starts (fsynced before the account
    /// is touched).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn begin(&self, p: &Pending) -> Result<(), BackupError> {
        catalog::write_json(&self.file(&p.account_id), p)
    }

    /// Records that the restore of `account_id` ended (the account is whole).
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn end(&self, account_id: &str) -> Result<(), BackupError> {
        let f = self.file(account_id);
        match std::fs::remove_file(&f) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io("end restore journal", f, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_get_end() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path());
        assert!(j.pending().is_empty());
        let p = Pending {
            account_id: "id1".into(),
            name: "a@x.test".into(),
            previous_status: "active".into(),
            label: "full-20070712.155951.123".into(),
            started_ms: 1,
            source_id: "id0".into(),
            request: Some(Request {
                to_seq: Some(7),
                prefix: Some("r_".into()),
                ..Request::default()
            }),
        };
        j.begin(&p).unwrap();
        assert_eq!(j.get("id1"), Some(p.clone()));
        assert_eq!(j.pending(), vec![p]);
        j.end("id1").unwrap();
        j.end("id1").unwrap();
        assert!(j.pending().is_empty());
    }

    #[test]
    fn older_journal_files_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path());
        std::fs::create_dir_all(tmp.path().join("restore-journal")).unwrap();
        std::fs::write(
            tmp.path().join("restore-journal/id1.json"),
            br#"{"account_id":"id1","name":"a@x.test","previous_status":"active",
                "label":"full-20070712.155951.123","started_ms":1}"#,
        )
        .unwrap();
        let p = j.get("id1").unwrap();
        assert_eq!(p.source_id, "");
        assert_eq!(p.request, None);
    }

    #[test]
    fn a_request_repeats_the_point_in_time() {
        let opts = crate::RestoreOptions {
            accounts: vec!["all".into()],
            to_time_ms: Some(5),
            full_only: true,
            prefix: Some("p_".into()),
            ..crate::RestoreOptions::default()
        };
        let scope = RestoreScope {
            server_redo: false,
            skip_deleted_accounts: true,
            system: true,
        };
        let req = Request::of(&opts, &scope);
        let again = req.options("a@x.test");
        assert_eq!(again.accounts, vec!["a@x.test".to_string()]);
        assert_eq!(again.to_time_ms, Some(5));
        assert!(again.full_only && again.quiet);
        assert_eq!(again.prefix.as_deref(), Some("p_"));
        assert_eq!(req.scope(), scope);
        // A journal from before the scope was recorded repeats the default scope.
        let old: Request = serde_json::from_str(
            r#"{"label":null,"to_time_ms":null,
            "to_seq":null,"to_incr_label":null,"full_only":false,"skip_deletes":false,
            "ignore_redo_errors":false,"prefix":null,"restore_directory":false,
            "exclude_search_index":false}"#,
        )
        .unwrap();
        assert_eq!(old.scope(), RestoreScope::default());
    }

    #[test]
    fn a_run_records_the_accounts_it_has_not_finished() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path());
        assert_eq!(j.run(), None);
        j.run_account_done("a@x.test").unwrap();
        assert_eq!(j.run(), None, "no run file, nothing recorded");
        let run = Run {
            started_ms: 1,
            label: "full-20070712.155951.123".into(),
            accounts: vec!["a@x.test".into(), "b@x.test".into(), "c@x.test".into()],
            request: Request {
                backed_up_only: true,
                ..Request::default()
            },
            ..Run::default()
        };
        j.begin_run(&run).unwrap();
        j.run_account_done("a@x.test").unwrap();
        j.run_account_done("a@x.test").unwrap();
        let back = j.run().unwrap();
        assert_eq!(back.done, vec!["a@x.test".to_string()]);
        assert_eq!(
            back.unfinished(),
            vec!["b@x.test".to_string(), "c@x.test".into()]
        );
        assert!(!back.request.scope().server_redo);
        assert!(j.pending().is_empty(), "the run file is not an account's");
        j.end_run().unwrap();
        j.end_run().unwrap();
        assert_eq!(j.run(), None);
    }

    #[test]
    fn the_restore_abort_flag_is_raised_and_lowered() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!restore_abort_requested(tmp.path()));
        request_restore_abort(tmp.path()).unwrap();
        assert!(restore_abort_requested(tmp.path()));
        clear_restore_abort(tmp.path());
        assert!(!restore_abort_requested(tmp.path()));
    }
}
