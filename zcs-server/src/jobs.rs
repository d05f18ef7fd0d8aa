//! The scheduler of the jobs Zimbra keeps in the `zimbra` user's crontab and in mailboxd's
//! timers, run by the server itself: the mailbox purge timer (`purge_job`), and on crontab times
//! the status and queue log lines, the disk-usage alerts and log pruning (`disklog`), the
//! orphan-blob sweep, the certificate expiry warning, spam training, HSM (`hsm_job`) and DMARC
//! aggregate reports. A job still running when its next time comes is skipped that time; a
//! nightly run missed while the server was down is caught up at the next start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Timelike;
use tokio::sync::watch;

use crate::cron::CronSpec;
use crate::frontends::Context;

/// What a job does when its time comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    StatusLog,
    QueueLog,
    DiskCheck,
    PruneLogs,
    SweepBlobs,
    CertExpiry,
    IntegrityReport,
    TableMaintenance,
    /// `zmtrainsa`: teach the training mailboxes to spamd.
    SpamTrain,
    /// `zmtrainsa --cleanup`: empty the trained messages.
    SpamTrainCleanup,
    /// An HSM session (`zmhsm -t`), on the `zcs_hsm_schedule` time.
    Hsm,
    /// DMARC aggregate reports (RFC 7489 §7.2) for each finished day, when
    /// `zcs_dmarc_report_enabled` is TRUE.
    DmarcReports,
}

/// The crontab jobs, with Zimbra's times where Zimbra has the job, and whether a run
/// missed while the server was down is made up at the next start (daily and weekly
/// jobs are; the frequent ones just run at their next time).
pub const CRONTAB: &[(&str, &str, JobKind, bool)] = &[
    ("zmstatuslog", "*/2 * * * *", JobKind::StatusLog, false),
    (
        "zmqueuelog",
        "0,10,20,30,40,50 * * * *",
        JobKind::QueueLog,
        false,
    ),
    ("zmdisklog", "*/10 * * * *", JobKind::DiskCheck, false),
    ("prune logs", "30 2 * * *", JobKind::PruneLogs, true),
    (
        "sweep orphan blobs",
        "15 3 * * *",
        JobKind::SweepBlobs,
        true,
    ),
    ("certificate expiry", "0 6 * * *", JobKind::CertExpiry, true),
    (
        "zmmaintaintables",
        "30 1 * * 7",
        JobKind::TableMaintenance,
        true,
    ),
    (
        "zmdbintegrityreport",
        "0 23 * * 7",
        JobKind::IntegrityReport,
        true,
    ),
    ("zmtrainsa", "0 23 * * *", JobKind::SpamTrain, true),
    (
        "zmtrainsa --cleanup",
        "45 23 * * *",
        JobKind::SpamTrainCleanup,
        true,
    ),
    ("dmarc reports", "15 0 * * *", JobKind::DmarcReports, true),
];

/// The jobs this server runs: [`CRONTAB`] plus the HSM session when
/// `zcs_hsm_schedule` names a time (name, cron text, kind, catch up after a restart).
pub fn schedule(
    lc: &crate::localconfig::LocalConfig,
) -> Vec<(&'static str, String, JobKind, bool)> {
    let mut jobs: Vec<_> = CRONTAB
        .iter()
        .map(|(n, s, k, c)| (*n, s.to_string(), *k, *c))
        .collect();
    if let Some(hsm) = lc.get("zcs_hsm_schedule").filter(|s| !s.trim().is_empty()) {
        jobs.push(("zmhsm", hsm, JobKind::Hsm, true));
    }
    jobs
}

/// The last time each job ran, kept in `data/jobs.state` (`name<TAB>unix seconds` per
/// line) so a restart knows what it missed.
fn state_path(ctx: &Context) -> PathBuf {
    ctx.home.root().join("data").join("jobs.state")
}

fn read_state(path: &Path) -> std::collections::HashMap<String, i64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (name, t) = l.split_once('\t')?;
            Some((name.to_string(), t.trim().parse().ok()?))
        })
        .collect()
}

fn record_run(path: &Path, name: &str, at: i64) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Ok(_guard) = LOCK.lock() else { return };
    let mut state = read_state(path);
    state.insert(name.to_string(), at);
    let mut text: Vec<String> = state.iter().map(|(n, t)| format!("{n}\t{t}")).collect();
    text.sort();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text.join("\n") + "\n").is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// The latest minute at or before `now` (and after `after`) that `spec` names, looking
/// back at most `horizon` minutes.
pub fn last_scheduled<Tz: chrono::TimeZone>(
    spec: &CronSpec,
    now: chrono::DateTime<Tz>,
    after: chrono::DateTime<Tz>,
    horizon: i64,
) -> Option<chrono::DateTime<Tz>> {
    let mut t = now.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..horizon {
        if t <= after {
            return None;
        }
        if spec.matches(&t) {
            return Some(t);
        }
        t -= chrono::Duration::minutes(1);
    }
    None
}

/// Whether a catch-up job missed a run: one of its times fell between its last run
/// and now (a job never run before has missed nothing; it starts from now).
pub fn missed_run<Tz: chrono::TimeZone>(
    spec: &CronSpec,
    last_run: Option<chrono::DateTime<Tz>>,
    now: chrono::DateTime<Tz>,
) -> bool {
    match last_run {
        // Eight days covers the weekly jobs.
        Some(last) => last_scheduled(spec, now, last, 8 * 24 * 60).is_some(),
        None => false,
    }
}
/// Runs the purge timer and the crontab until shutdown.
pub async fn run(ctx: Arc<Context>, shutdown: watch::Receiver<bool>) {
    // One "still running" flag per job, shared by the crontab and by requests, so a job
    // asked for during its nightly run waits for the next request instead of overlapping.
    let running: Running = schedule(&ctx.subs.lc)
        .into_iter()
        .map(|(name, ..)| (name, Arc::new(AtomicBool::new(false))))
        .collect();
    let running = Arc::new(running);
    let purge = tokio::spawn(crate::purge_job::purge_loop(ctx.clone(), shutdown.clone()));
    let requests = tokio::spawn(request_loop(ctx.clone(), running.clone(), shutdown.clone()));
    crontab_loop(ctx, running, shutdown).await;
    let _ = purge.await;
    let _ = requests.await;
}

/// Where tools drop requests to run a job now (`zmtrainsa`): one empty file per
/// request, named for the job with spaces as `_`.
pub fn request_dir(home: &crate::home::Home) -> PathBuf {
    home.root().join("data").join("job-requests")
}

/// Asks the running server to run the job `name` (a [`CRONTAB`] name, or `zmhsm`)
/// within about a second.
///
/// # Errors
/// The request file cannot be written.
pub fn request(home: &crate::home::Home, name: &str) -> std::io::Result<()> {
    let dir = request_dir(home);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name.replace(' ', "_")), b"")
}

/// Each job's "a run is going" flag, by job name.
type Running = std::collections::HashMap<&'static str, Arc<AtomicBool>>;

/// Runs the jobs tools asked for (see [`request`]), checking once a second. A job whose
/// scheduled or requested run is still going is not started twice.
async fn request_loop(
    ctx: Arc<Context>,
    running: Arc<Running>,
    mut shutdown: watch::Receiver<bool>,
) {
    let dir = request_dir(&ctx.home);
    let jobs = schedule(&ctx.subs.lc);
    let state = state_path(&ctx);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let _ = std::fs::remove_file(e.path());
            let Some((name, _, kind, _)) = jobs.iter().find(|(n, ..)| n.replace(' ', "_") == file)
            else {
                tracing::warn!(request = %file, "no such job requested");
                continue;
            };
            match running.get(name) {
                Some(flag) => spawn_job(&ctx, name, *kind, flag, &state, "requested job ran"),
                None => tracing::warn!(job = name, "job has no run flag; not started"),
            }
        }
    }
}

async fn crontab_loop(
    ctx: Arc<Context>,
    running: Arc<Running>,
    mut shutdown: watch::Receiver<bool>,
) {
    let jobs: Vec<(&str, CronSpec, JobKind, bool, Arc<AtomicBool>)> = schedule(&ctx.subs.lc)
        .into_iter()
        .filter_map(
            |(name, spec, kind, catch_up)| match CronSpec::parse(&spec) {
                Ok(s) => {
                    let flag = running.get(name).cloned().unwrap_or_default();
                    Some((name, s, kind, catch_up, flag))
                }
                Err(e) => {
                    tracing::error!(job = name, error = %e, "bad schedule");
                    None
                }
            },
        )
        .collect();
    let state = state_path(&ctx);
    let last_runs = read_state(&state);
    let now = chrono::Local::now();
    for (name, spec, kind, catch_up, running) in &jobs {
        let last = last_runs
            .get(*name)
            .and_then(|t| chrono::DateTime::from_timestamp(*t, 0))
            .map(|t| t.with_timezone(&chrono::Local));
        if last.is_none() {
            // First start: nothing was missed; remember that the clock starts now.
            record_run(&state, name, now.timestamp());
        } else if *catch_up && missed_run(spec, last, now) {
            tracing::info!(job = name, "missed while the server was down; running now");
            spawn_job(&ctx, name, *kind, running, &state, "scheduled job ran");
        }
    }
    let backup_running = Arc::new(AtomicBool::new(false));
    loop {
        // Wake at the start of the next minute.
        let now = chrono::Local::now();
        let wait = 60 - u64::from(now.second()).min(59);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let now = chrono::Local::now();
        run_scheduled_backups(&ctx, &backup_running);
        for (name, spec, kind, _, running) in &jobs {
            if !spec.matches(&now) {
                continue;
            }
            spawn_job(&ctx, name, *kind, running, &state, "scheduled job ran");
        }
    }
}

/// Starts one run of a job unless its previous run is still going; logs when it ran
/// and how long it took, and records the run for catch-up after a restart.
fn spawn_job(
    ctx: &Arc<Context>,
    name: &'static str,
    kind: JobKind,
    running: &Arc<AtomicBool>,
    state: &Path,
    done: &'static str,
) {
    if running.swap(true, Ordering::SeqCst) {
        tracing::warn!(job = name, "previous run still going; skipped");
        return;
    }
    let (ctx, running, state) = (ctx.clone(), running.clone(), state.to_path_buf());
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let at = chrono::Utc::now().timestamp();
        run_job(&ctx, kind).await;
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(target: "zimbra.jobs", job = name, ms, "{done}");
        let _ = tokio::task::spawn_blocking(move || record_run(&state, name, at)).await;
        running.store(false, Ordering::SeqCst);
    });
}

/// Starts the backups `zmschedulebackup` scheduled for this minute (kept in
/// `conf/backup-schedule.json`), one at a time, each with the zmbackup options its entry
/// carries: full (`f`), incremental (`i`) or deletion of old sessions (`d`). A backup
/// still running when the next is due makes that one wait for its next time, as a
/// skipped cron run would.
fn run_scheduled_backups(ctx: &Arc<Context>, running: &Arc<AtomicBool>) {
    let due = match zcs_backup::schedule::due(&ctx.home.conf(), chrono::Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "backup schedule not readable");
            return;
        }
    };
    // A full backup wins over an incremental or a deletion due the same minute.
    let Some(entry) = ["f", "i", "d"]
        .iter()
        .find_map(|k| due.iter().find(|e| e.kind == *k).cloned())
    else {
        return;
    };
    if running.swap(true, Ordering::SeqCst) {
        tracing::warn!(kind = %entry.kind,
            "scheduled backup skipped: the last one is still running");
        return;
    }
    let (ctx, running) = (ctx.clone(), running.clone());
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let paths = zcs_backup::BackupPaths::for_home(ctx.home.root());
        let dir = ctx.subs.prov.directory().clone();
        let result = match entry.backup_args() {
            Ok(mut args) => {
                args.server = ctx.subs.hostname.clone();
                zcs_backup::commands::backup(&paths, &dir, &args).await
            }
            Err(e) => Err(e),
        };
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(out) => tracing::info!(target: "zimbra.jobs", job = "zmbackup",
                kind = %entry.kind, result = %out.trim(), ms, "scheduled backup done"),
            Err(e) => tracing::error!(target: "zimbra.jobs", job = "zmbackup",
                kind = %entry.kind, error = %e, ms, "scheduled backup failed"),
        }
        running.store(false, Ordering::SeqCst);
    });
}

/// Runs one job now (the scheduler's work; also for tests and operators).
pub async fn run_job(ctx: &Context, kind: JobKind) {
    match kind {
        JobKind::StatusLog => status_log(ctx),
        JobKind::QueueLog => {
            let (requests, kbytes) = crate::metrics::sample_queue(&ctx.queue_dir());
            tracing::info!(target: "zimbra.zmqueuelog", requests, kbytes, "queue");
        }
        JobKind::DiskCheck => {
            for alert in crate::disklog::disk_alerts(ctx) {
                tracing::warn!(target: "zimbra.zmdisklog", "{alert}");
            }
        }
        JobKind::PruneLogs => {
            let days = ctx
                .subs
                .lc
                .get("zcs_log_retention_days")
                .and_then(|d| d.parse().ok())
                .unwrap_or(crate::logging::DEFAULT_RETENTION_DAYS);
            let removed =
                crate::disklog::prune_logs(&ctx.home.log(), days, std::time::SystemTime::now());
            tracing::info!(removed, days, "old logs pruned");
        }
        JobKind::SweepBlobs => match ctx.subs.store.sweep_orphan_blobs().await {
            Ok(r) => tracing::info!(examined = r.examined, removed = r.removed, "blob sweep"),
            Err(e) => tracing::warn!(error = %e, "blob sweep failed"),
        },
        JobKind::TableMaintenance => match ctx.subs.store.analyze().await {
            Ok(()) => tracing::info!("mailbox database statistics refreshed"),
            Err(e) => tracing::warn!(error = %e, "table maintenance failed"),
        },
        JobKind::IntegrityReport => {
            let off = ctx
                .subs
                .lc
                .get("zmdbintegrityreport_disabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
            if off {
                tracing::info!(
                    "database integrity report disabled by zmdbintegrityreport_disabled"
                );
                return;
            }
            match ctx.subs.store.integrity_check().await {
                Ok(problems) if problems.is_empty() => {
                    tracing::info!("database integrity report: no problems");
                }
                Ok(problems) => {
                    for p in problems.iter().take(20) {
                        tracing::error!(target: "zimbra.dbintegrity", "{p}");
                    }
                    tracing::error!(
                        count = problems.len(),
                        "database integrity report found problems"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "database integrity report failed"),
            }
        }
        JobKind::SpamTrain | JobKind::SpamTrainCleanup => {
            if !crate::spamtrain::is_training_host(ctx) {
                tracing::info!("spam training runs on another host (zmtrainsa_cleanup_host)");
                return;
            }
            let cleanup = kind == JobKind::SpamTrainCleanup;
            if let Err(e) = crate::spamtrain::run(ctx, cleanup).await {
                tracing::warn!(target: "zimbra.jobs", error = %e, "spam training not run");
            }
        }
        JobKind::Hsm => run_hsm(ctx).await,
        JobKind::DmarcReports => match crate::mta::dmarc::send_dmarc_reports(ctx).await {
            Ok(0) => tracing::debug!("no DMARC aggregate reports due"),
            Ok(n) => tracing::info!(reports = n, "DMARC aggregate reports queued"),
            Err(e) => tracing::warn!(error = %e, "DMARC aggregate reports not sent"),
        },
        JobKind::CertExpiry => {
            let (cert, _) = crate::tls::CertPaths::new(ctx.home.root()).active();
            match crate::certmgr::view(&cert) {
                Ok(s) => {
                    let left = s.days_left(chrono::Utc::now().timestamp());
                    if left < 30 {
                        tracing::warn!(target: "zimbra.security", days_left = left,
                            cert = %cert.display(),
                            "certificate expires soon; renew it with zmcertmgr");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "certificate not readable"),
            }
        }
    }
}

/// One scheduled HSM session with the policy in force; skipped quietly while the store
/// has no current secondary volume (nothing to move to).
async fn run_hsm(ctx: &Context) {
    let cfg = crate::hsm_job::store_config(&ctx.home, &ctx.subs.lc);
    if !crate::hsm_job::has_secondary(&cfg) {
        tracing::debug!("HSM: no current secondary volume; nothing to do");
        return;
    }
    let global = ctx
        .subs
        .prov
        .global_config()
        .await
        .unwrap_or_else(|_| ctx.global.clone());
    let server = ctx
        .subs
        .prov
        .get_server(&zcs_directory::EntryKey::Name(ctx.subs.hostname.clone()))
        .await
        .unwrap_or_else(|_| ctx.server.clone());
    let (policies, batch) = crate::hsm_job::policy(Some(&server), &global);
    match crate::hsm_job::run_session(&cfg, &policies, batch).await {
        Ok(st) => tracing::info!(target: "zimbra.jobs", moved = st.blobs_moved, "HSM session done"),
        Err(e) => tracing::warn!(target: "zimbra.jobs", error = %e, "HSM session failed"),
    }
}

fn status_log(ctx: &Context) {
    let listeners = crate::control::read_listeners(&ctx.home);
    for service in ["mailbox", "mta"] {
        let mine: Vec<_> = listeners.iter().filter(|l| l.service == service).collect();
        let up = !mine.is_empty() && mine.iter().all(|l| l.error.is_none());
        let word = if up { "Running" } else { "Stopped" };
        tracing::info!(target: "zimbra.zmstatuslog", service, "{service} {word}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crontab_line_parses() {
        for (name, spec, _, _) in CRONTAB {
            assert!(CronSpec::parse(spec).is_ok(), "{name}");
        }
    }

    fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("time")
            .to_utc()
    }

    #[test]
    fn a_restart_catches_up_a_missed_nightly_run_once() {
        let nightly = CronSpec::parse("30 2 * * *").expect("parse");
        // Ran on the 3rd at 02:30, down over the next night, back on the 5th at 09:00.
        let last = utc("2026-12-03T02:30:00Z");
        assert!(missed_run(
            &nightly,
            Some(last),
            utc("2026-12-05T09:00:00Z")
        ));
        // Back the same morning, before the next 02:30: nothing missed.
        assert!(!missed_run(
            &nightly,
            Some(last),
            utc("2026-12-04T02:29:00Z")
        ));
        // Once made up, the run is recorded and nothing is missed any more.
        assert!(!missed_run(
            &nightly,
            Some(utc("2026-12-05T09:00:00Z")),
            utc("2026-12-05T09:05:00Z")
        ));
        // Never run before: nothing to make up.
        assert!(!missed_run(&nightly, None, utc("2026-12-05T09:00:00Z")));
        let weekly = CronSpec::parse("0 23 * * 7").expect("parse");
        assert!(missed_run(
            &weekly,
            Some(utc("2026-11-29T23:00:00Z")),
            utc("2026-12-07T08:00:00Z")
        ));
        assert!(!missed_run(
            &weekly,
            Some(utc("2026-11-29T23:00:00Z")),
            utc("2026-12-06T22:00:00Z")
        ));
    }

    #[test]
    fn run_times_survive_in_the_state_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data/jobs.state");
        record_run(&path, "prune logs", 100);
        record_run(&path, "zmstatuslog", 200);
        record_run(&path, "prune logs", 300);
        let state = read_state(&path);
        assert_eq!(state.get("prune logs"), Some(&300));
        assert_eq!(state.get("zmstatuslog"), Some(&200));
    }
}
