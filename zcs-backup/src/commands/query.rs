//! `zmbackupquery`: the sessions on a backup target, filtered by label, type, start
//! time and account, including the damaged and unfinished ones.

use clap::Parser;

use super::time_arg;
use crate::BackupPaths;
use crate::catalog::{self, SessionKind};
use crate::error::BackupError;

/// `zmbackupquery [-a account] [-lb label] [--type full|incremental] [-v]`.
#[derive(Parser, Debug)]
#[command(name = "zmbackupquery", about = "List backup sessions")]
pub struct QueryArgs {
    /// Only sessions holding these accounts.
    #[arg(short = 'a', long = "account", num_args = 1..)]
    pub accounts: Vec<String>,
    /// Only this session.
    #[arg(long = "label")]
    pub label: Option<String>,
    /// `full` or `incremental`.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Sessions starting at or after this time.
    #[arg(long = "from")]
    pub from: Option<String>,
    /// Sessions starting at or before this time.
    #[arg(long = "to")]
    pub to: Option<String>,
    /// List accounts too.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

/// Runs `zmbackupquery`: one block per session (label, type, status, times, accounts).
/// A session whose catalog is missing or damaged is listed with `Status:  invalid` and
/// the reason (never an error: the other sessions are still listed).
///
/// # Errors
/// The sessions directory cannot be read; a time that does not parse.
pub fn query(paths: &BackupPaths, args: &QueryArgs) -> Result<String, BackupError> {
    let from = args.from.as_deref().map(time_arg).transpose()?;
    let to = args.to.as_deref().map(time_arg).transpose()?;
    let mut out = String::new();
    let (sessions, invalid) = catalog::scan_sessions(&paths.target)?;
    for s in sessions {
        let c = &s.catalog;
        let kind = match c.kind {
            SessionKind::Full => "full",
            SessionKind::Incremental => "incremental",
        };
        if args.label.as_ref().is_some_and(|l| *l != c.label)
            || args
                .kind
                .as_ref()
                .is_some_and(|k| !kind.starts_with(k.as_str()))
            || from.is_some_and(|f| c.started_ms < f)
            || to.is_some_and(|t| c.started_ms > t)
            || (!args.accounts.is_empty()
                && !args.accounts.iter().any(|a| {
                    c.accounts
                        .iter()
                        .any(|r| r.name.eq_ignore_ascii_case(a) || r.id == *a)
                }))
        {
            continue;
        }
        out.push_str(&format!(
            "Label:   {}\nType:    {kind}\nStatus:  {}\nStarted: {}\nEnded:   {}\n\
             Redo:    {}..{} ({} records)\nAccounts: {}\n",
            c.label,
            c.status,
            fmt_ms(c.started_ms),
            fmt_ms(c.ended_ms),
            c.redo_from,
            c.redo_to,
            c.redo_records,
            c.accounts.len()
        ));
        if args.verbose {
            for a in &c.accounts {
                out.push_str(&format!("  {} {}\n", a.name, a.id));
            }
            for w in &c.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
        }
        out.push('\n');
    }
    for bad in invalid {
        let kind = if bad.name.starts_with(SessionKind::Incremental.prefix()) {
            "incremental"
        } else {
            "full"
        };
        let started = catalog::label_time(&bad.name).map(|t| t.timestamp_millis());
        if args.label.as_ref().is_some_and(|l| *l != bad.name)
            || args
                .kind
                .as_ref()
                .is_some_and(|k| !kind.starts_with(k.as_str()))
            || from.is_some_and(|f| started.is_some_and(|s| s < f))
            || to.is_some_and(|t| started.is_some_and(|s| s > t))
        {
            continue;
        }
        out.push_str(&format!(
            "Label:   {}\nType:    {kind}\nStatus:  invalid ({})\n\n",
            bad.name,
            bad.reason.replace('\n', " ")
        ));
    }
    for p in catalog::incomplete_sessions(&paths.target) {
        out.push_str(&format!(
            "Incomplete (running or failed): {}\n",
            p.display()
        ));
    }
    Ok(out)
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y/%m/%d %H:%M:%S.%3f GMT").to_string())
        .unwrap_or_default()
}
