//! `zmbackupabort` (a backup or a restore), `zmschedulebackup` and `zmplayredo`
//! (replaying a copied redo log directory into this store).

use std::sync::Arc;

use clap::Parser;
use zcs_store::Store;

use crate::BackupPaths;
use crate::cli::parse_time;
use crate::error::BackupError;

/// `zmschedulebackup`, given its raw args: see [`crate::schedule::command`].
///
/// # Errors
/// Bad usage or cron time; the schedule file cannot be written.
pub fn schedule(conf: &std::path::Path, args: &[String]) -> Result<String, BackupError> {
    crate::schedule::command(conf, args)
}

/// Runs `zmbackupabort`: raises the flag a running backup checks between accounts.
///
/// # Errors
/// The flag cannot be written.
pub fn abort(paths: &BackupPaths, label: Option<&str>) -> Result<String, BackupError> {
    let flag = crate::backup::abort_flag(&paths.target);
    crate::catalog::write_synced(&flag, label.unwrap_or("all").as_bytes())?;
    Ok(format!(
        "abort requested for {}\n",
        label.unwrap_or("the running backup")
    ))
}

/// Runs `zmbackupabort -r`: raises the flag a running restore checks between accounts
/// (see [`crate::journal::request_restore_abort`]).
///
/// # Errors
/// The flag cannot be written.
pub fn abort_restore(paths: &BackupPaths) -> Result<String, BackupError> {
    crate::journal::request_restore_abort(&paths.target)?;
    Ok(
        "abort requested for the running restore: it stops after the account in \
        progress\n"
            .into(),
    )
}

/// `zmplayredo --logdir <dir> [--fromSeq n] [--toSeq n] [--fromTime t] [--toTime t]
/// [--mailboxId n] [-m mailbox=zimbraId]` (spec 06 §3.9).
#[derive(Parser, Debug)]
#[command(name = "zmplayredo", about = "Replay redo logs into mailboxes")]
pub struct PlayRedoArgs {
    /// The redo log directory to read (a copy of a lost server's `redolog/`).
    #[arg(long = "logdir")]
    pub logdir: std::path::PathBuf,
    /// Replay records after this sequence.
    #[arg(long = "fromSeq", default_value_t = 0)]
    pub from_seq: u64,
    /// Up to and including this sequence.
    #[arg(long = "toSeq")]
    pub to_seq: Option<u64>,
    /// From this time on (records logged at or after it; the zmbackupquery formats,
    /// and Zimbra's `YYYY/MM/DD hh:mm:ss:mmm`).
    #[arg(long = "fromTime")]
    pub from_time: Option<String>,
    /// Up to this time (inclusive).
    #[arg(long = "toTime")]
    pub to_time: Option<String>,
    /// Only this mailbox (its id in the logs).
    #[arg(long = "mailboxId")]
    pub mailbox_id: Option<i64>,
    /// Stop at the first record that fails (otherwise failures are counted).
    #[arg(long = "stopOnError")]
    pub stop_on_error: bool,
    /// Mailbox id in the logs mapped to an account: `<mailbox id>=<zimbraId>`; without
    /// it, a mailbox's account is the one its CreateMailbox record names, or this
    /// store's mailbox with the same id.
    #[arg(short = 'm', long = "map")]
    pub map: Vec<String>,
}

/// Runs `zmplayredo`.
///
/// # Errors
/// Unreadable logs; a record that fails to apply.
pub async fn play_redo(store: &Store, args: &PlayRedoArgs) -> Result<String, BackupError> {
    use zcs_store::redo::RedoOp;
    let to_time = args.to_time.as_deref().map(redo_time_arg).transpose()?;
    let from_time = args.from_time.as_deref().map(redo_time_arg).transpose()?;
    let records = crate::redo_io::records_after(&args.logdir, args.from_seq)?;
    let records: Vec<_> = records
        .into_iter()
        .filter(|r| args.to_seq.is_none_or(|s| r.seq <= s))
        .filter(|r| to_time.is_none_or(|t| r.timestamp_ms <= t))
        .filter(|r| from_time.is_none_or(|t| r.timestamp_ms >= t))
        .filter(|r| args.mailbox_id.is_none_or(|m| r.mailbox.0 == m))
        .collect();
    let mut map: std::collections::HashMap<i64, zcs_core::ZimbraId> = Default::default();
    for m in &args.map {
        let (mb, acct) = m
            .split_once('=')
            .ok_or_else(|| BackupError::Invalid(format!("bad --map {m:?}")))?;
        let mb: i64 = mb
            .parse()
            .map_err(|_| BackupError::Invalid(format!("bad --map {m:?}")))?;
        let acct = acct
            .parse()
            .map_err(|_| BackupError::Invalid(format!("bad --map {m:?}")))?;
        map.insert(mb, acct);
    }
    for r in &records {
        if let RedoOp::CreateMailbox { account, .. } = &r.op {
            map.entry(r.mailbox.0).or_insert(*account);
        }
    }
    let mut ids: Vec<i64> = records.iter().map(|r| r.mailbox.0).collect();
    ids.sort();
    ids.dedup();
    let live = zcs_store::transfer::snapshot_info(&store_db_hint(store))
        .await
        .ok();
    let blobs: Arc<dyn zcs_store::BlobStore> = Arc::new(zcs_store::FileBlobStore::new(
        args.logdir.join("..").join("store"),
    ));
    let mut out = String::new();
    for id in ids {
        let account = map.get(&id).copied().or_else(|| {
            live.as_ref()?
                .mailboxes
                .iter()
                .find(|m| m.id == id)
                .and_then(|m| m.account.parse().ok())
        });
        let Some(account) = account else {
            out.push_str(&format!(
                "mailbox {id}: no account known; skipped (use -m)\n"
            ));
            continue;
        };
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.mailbox.0 == id)
            .cloned()
            .collect();
        let rep = store
            .replay_into(account, &mine, blobs.clone(), false, !args.stop_on_error)
            .await
            .map_err(|source| BackupError::Store {
                step: "replay",
                source,
            })?;
        out.push_str(&format!(
            "mailbox {id} -> {account}: {} applied\n",
            rep.applied
        ));
    }
    Ok(out)
}

// LIMITATION: the store does not expose its database path; zmplayredo falls back to
// explicit -m mappings and CreateMailbox records when this path is not the store's.
fn store_db_hint(_store: &Store) -> std::path::PathBuf {
    std::env::var_os("ZCS_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
        .join("db")
        .join("mailbox.db")
}

/// A zmplayredo time: the zmbackupquery formats, or the guide's example form with a
/// colon before the milliseconds (`2008/10/17 08:00:00:000`).
fn redo_time_arg(text: &str) -> Result<i64, BackupError> {
    let t = text.trim();
    if let Some(ms) = parse_time(t) {
        return Ok(ms);
    }
    if let Some((head, millis)) = t.rsplit_once(':')
        && millis.len() == 3
        && millis.bytes().all(|b| b.is_ascii_digit())
        && let Some(ms) = parse_time(&format!("{head}.{millis}"))
    {
        return Ok(ms);
    }
    Err(BackupError::Invalid(format!("bad time {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zmplayredo_times_include_the_guides_colon_millis_form() {
        let a = redo_time_arg("2008/10/17 08:00:00:000").unwrap();
        assert_eq!(a, redo_time_arg("2008/10/17 08:00:00").unwrap());
        assert_eq!(redo_time_arg("2008/10/17 08:00:00:250").unwrap(), a + 250);
        assert_eq!(redo_time_arg("20081017.080000.250").unwrap(), a + 250);
        assert!(redo_time_arg("2008/10/17 08:00:00:2500").is_err());
        assert!(redo_time_arg("soon").is_err());
    }

    #[test]
    fn zmbackupabort_r_raises_the_restore_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = BackupPaths::for_home(tmp.path());
        abort_restore(&paths).unwrap();
        assert!(crate::journal::restore_abort_requested(&paths.target));
    }
}
