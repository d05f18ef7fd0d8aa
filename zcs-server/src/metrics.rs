//! The server's statistics: counters the front ends bump, gauges sampled from the
//! process and the subsystems, written every interval as zmstat-style CSV files under
//! `log/zmstat/` and rendered in the Prometheus text format for a `/metrics` endpoint.
//!
//! Counters are process-wide ([`counters`]) so any module can count without plumbing;
//! each is a fixed name with a small, fixed label set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The process-wide counters.
pub fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(Counters::default)
}

/// The process-wide gauges of open sessions by protocol (`imap`, `pop3`, `soap`).
pub fn sessions() -> &'static Sessions {
    static SESSIONS: OnceLock<Sessions> = OnceLock::new();
    SESSIONS.get_or_init(Sessions::default)
}

/// Sessions open now, by protocol.
#[derive(Default, Debug)]
pub struct Sessions {
    open: Mutex<BTreeMap<&'static str, u64>>,
}

impl Sessions {
    /// Counts one session of `proto` until the returned guard is dropped.
    pub fn open(&'static self, proto: &'static str) -> SessionGuard {
        if let Ok(mut m) = self.open.lock() {
            *m.entry(proto).or_insert(0) += 1;
        }
        SessionGuard {
            sessions: self,
            proto,
        }
    }

    /// Sessions of `proto` open now.
    pub fn get(&self, proto: &str) -> u64 {
        self.open
            .lock()
            .ok()
            .and_then(|m| m.get(proto).copied())
            .unwrap_or(0)
    }
}

/// One open session; see [`Sessions::open`].
#[derive(Debug)]
pub struct SessionGuard {
    sessions: &'static Sessions,
    proto: &'static str,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.sessions.open.lock()
            && let Some(n) = m.get_mut(self.proto)
        {
            *n = n.saturating_sub(1);
        }
    }
}

/// Database files this process holds open: with SQLite, one per pooled connection
/// (zmstat's `db_conn_count`).
pub fn open_database_files() -> u64 {
    let Ok(dir) = fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .filter(|t| t.extension().is_some_and(|x| x == "db"))
        .count() as u64
}

/// The file whose presence tells the server to stop writing statistics
/// (`zmstatctl stop`); `zmstatctl start` removes it.
pub fn stopped_flag(home: &crate::home::Home) -> PathBuf {
    home.root().join("data").join("zmstat.stopped")
}

/// A counter's identity: metric name and label pairs.
type Key = (String, Vec<(String, String)>);

/// Monotonic counters keyed by metric name and label pairs.
#[derive(Default, Debug)]
pub struct Counters {
    values: Mutex<BTreeMap<Key, u64>>,
}

/// One counter's help text, for the Prometheus rendering.
const HELP: &[(&str, &str)] = &[
    ("zcs_logins_total", "Protocol logins by protocol and result"),
    ("zcs_deliveries_total", "Recipient deliveries by result"),
    (
        "zcs_delivered_bytes_total",
        "Bytes of messages delivered to mailboxes",
    ),
];

impl Counters {
    /// Adds `by` to the counter `name` with `labels`.
    pub fn add(&self, name: &str, labels: &[(&str, &str)], by: u64) {
        let key = (
            name.to_string(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        if let Ok(mut values) = self.values.lock() {
            *values.entry(key).or_insert(0) += by;
        }
    }

    /// Adds one.
    pub fn inc(&self, name: &str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1);
    }

    /// The current value (0 when never counted).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let key = (
            name.to_string(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        );
        self.values
            .lock()
            .ok()
            .and_then(|v| v.get(&key).copied())
            .unwrap_or(0)
    }

    /// The sum over every label set of `name`.
    pub fn total(&self, name: &str) -> u64 {
        self.values
            .lock()
            .map(|v| {
                v.iter()
                    .filter(|((n, _), _)| n == name)
                    .map(|(_, c)| c)
                    .sum()
            })
            .unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<(Key, u64)> {
        self.values
            .lock()
            .map(|v| v.iter().map(|(k, c)| (k.clone(), *c)).collect())
            .unwrap_or_default()
    }
}

/// What the process looks like right now, from `/proc/self`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub rss_bytes: u64,
    pub cpu_user_seconds: f64,
    pub cpu_system_seconds: f64,
    pub threads: u64,
    pub open_fds: u64,
}

/// Reads [`ProcessSample`]; fields that cannot be read stay 0.
pub fn sample_process() -> ProcessSample {
    let mut s = ProcessSample::default();
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let mut parts = line.split_whitespace();
            match parts.next() {
                Some("VmRSS:") => {
                    s.rss_bytes = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0) * 1024;
                }
                Some("Threads:") => {
                    s.threads = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0)
                }
                _ => {}
            }
        }
    }
    if let Ok(stat) = fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        if let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // SAFETY: sysconf has no preconditions.
            let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
            let at = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            s.cpu_user_seconds = at(11) / ticks;
            s.cpu_system_seconds = at(12) / ticks;
        }
    }
    s.open_fds = fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    s
}

/// Messages and kilobytes waiting in the MTA queue directory (every queue but
/// `corrupt`), as zmstat's `mtaqueue.csv` reports them.
pub fn sample_queue(queue_dir: &Path) -> (u64, u64) {
    let mut count = 0;
    let mut bytes = 0;
    for queue in ["incoming", "active", "deferred", "hold"] {
        if let Ok(entries) = fs::read_dir(queue_dir.join(queue)) {
            for e in entries.flatten() {
                if let Ok(m) = e.metadata()
                    && m.is_file()
                {
                    count += 1;
                    bytes += m.len();
                }
            }
        }
    }
    (count, bytes / 1024)
}

/// Gauges the server reads from its subsystems at each sample.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub process: ProcessSample,
    pub redo_records: u64,
    pub redo_syncs: u64,
    pub queue_requests: u64,
    pub queue_kbytes: u64,
    /// IMAP sessions open now.
    pub imap_conn: u64,
    /// POP3 sessions open now.
    pub pop_conn: u64,
    /// SOAP sessions open now.
    pub soap_sessions: u64,
    /// Database connections (open database files).
    pub db_conn_count: u64,
}

/// The Prometheus text exposition (format 0.0.4) of every counter and `gauges`.
pub fn render_prometheus(counters: &Counters, gauges: &Gauges) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for ((name, labels), value) in counters.snapshot() {
        if name != last {
            let help = HELP
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, h)| *h)
                .unwrap_or("zcs counter");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            last = name.clone();
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
    let g = gauges;
    for (name, help, value) in [
        (
            "zcs_process_resident_memory_bytes",
            "Resident memory",
            g.process.rss_bytes as f64,
        ),
        (
            "zcs_process_cpu_user_seconds_total",
            "User CPU time",
            g.process.cpu_user_seconds,
        ),
        (
            "zcs_process_cpu_system_seconds_total",
            "System CPU time",
            g.process.cpu_system_seconds,
        ),
        ("zcs_process_threads", "Threads", g.process.threads as f64),
        (
            "zcs_process_open_fds",
            "Open file descriptors",
            g.process.open_fds as f64,
        ),
        (
            "zcs_redo_records_total",
            "Redo log records written",
            g.redo_records as f64,
        ),
        (
            "zcs_redo_syncs_total",
            "Redo log fsync batches",
            g.redo_syncs as f64,
        ),
        (
            "zcs_mta_queue_requests",
            "Messages in the MTA queue",
            g.queue_requests as f64,
        ),
        (
            "zcs_mta_queue_kbytes",
            "Kilobytes in the MTA queue",
            g.queue_kbytes as f64,
        ),
        (
            "zcs_imap_sessions",
            "IMAP sessions open",
            g.imap_conn as f64,
        ),
        ("zcs_pop3_sessions", "POP3 sessions open", g.pop_conn as f64),
        (
            "zcs_soap_sessions",
            "SOAP sessions open",
            g.soap_sessions as f64,
        ),
        (
            "zcs_db_connections",
            "Database connections open",
            g.db_conn_count as f64,
        ),
    ] {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    out
}

/// Appends one row to a CSV file of `dir`, writing the header first when the file is new.
fn append_csv(dir: &Path, file: &str, header: &str, row: &str) {
    let path = dir.join(file);
    let new = !path.exists();
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(&path) {
        let mut text = String::new();
        if new {
            text.push_str(header);
            text.push('\n');
        }
        text.push_str(row);
        text.push('\n');
        let _ = f.write_all(text.as_bytes());
    }
}

/// Writes one sample as zmstat does: `log/zmstat/` holds today's `proc.csv`,
/// `mailboxd.csv` and `mtaqueue.csv`, and each earlier day moves to its own
/// `YYYY-MM-DD` directory.
pub fn write_zmstat(
    dir: &Path,
    counters: &Counters,
    gauges: &Gauges,
    now: chrono::DateTime<chrono::Utc>,
) {
    let _ = fs::create_dir_all(dir);
    rotate_day(dir, now.date_naive());
    let ts = now.format("%m/%d/%Y %H:%M:%S").to_string();
    let p = &gauges.process;
    append_csv(
        dir,
        "proc.csv",
        "timestamp, rss_kb, cpu_user_s, cpu_sys_s, threads, open_fds",
        &format!(
            "{ts}, {}, {:.2}, {:.2}, {}, {}",
            p.rss_bytes / 1024,
            p.cpu_user_seconds,
            p.cpu_system_seconds,
            p.threads,
            p.open_fds
        ),
    );
    let logins = |proto: &str, result: &str| {
        counters.get(
            "zcs_logins_total",
            &[("protocol", proto), ("result", result)],
        )
    };
    append_csv(
        dir,
        "mailboxd.csv",
        "timestamp, lmtp_rcvd_msgs, lmtp_rcvd_bytes, imap_logins, imap_login_failures, \
         pop_logins, pop_login_failures, redo_records, redo_syncs, heap_used, heap_free, \
         imap_conn, soap_sessions, pop_conn, db_conn_count",
        // There is no managed heap: heap_used is the resident size and heap_free 0.
        &format!(
            "{ts}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}, {}, {}, {}",
            counters.get("zcs_deliveries_total", &[("result", "delivered")]),
            counters.total("zcs_delivered_bytes_total"),
            logins("imap", "success"),
            logins("imap", "failure"),
            logins("pop3", "success"),
            logins("pop3", "failure"),
            gauges.redo_records,
            gauges.redo_syncs,
            p.rss_bytes,
            gauges.imap_conn,
            gauges.soap_sessions,
            gauges.pop_conn,
            gauges.db_conn_count
        ),
    );
    append_csv(
        dir,
        "mtaqueue.csv",
        "timestamp, KBytes, requests",
        &format!("{ts}, {}, {}", gauges.queue_kbytes, gauges.queue_requests),
    );
}

/// Moves today's CSV files into a directory named for the day and time now
/// (`zmstatctl rotate`); the next sample starts new files with their headers. Returns
/// the directory.
///
/// # Errors
/// The directory cannot be made or a file cannot be moved.
pub fn rotate_now(dir: &Path, now: chrono::DateTime<chrono::Local>) -> std::io::Result<PathBuf> {
    let archive = dir.join(now.format("%Y-%m-%d-%H%M%S").to_string());
    fs::create_dir_all(&archive)?;
    for e in fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "csv") {
            fs::rename(&p, archive.join(e.file_name()))?;
        }
    }
    Ok(archive)
}

/// Moves yesterday's CSV files into a directory named for their day.
fn rotate_day(dir: &Path, today: chrono::NaiveDate) {
    let marker = dir.join(".day");
    let day = fs::read_to_string(&marker).ok();
    let today_text = today.format("%Y-%m-%d").to_string();
    match day {
        Some(d) if d.trim() == today_text => {}
        Some(d) => {
            let archive: PathBuf = dir.join(d.trim());
            if fs::create_dir_all(&archive).is_ok()
                && let Ok(entries) = fs::read_dir(dir)
            {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "csv") {
                        let _ = fs::rename(&p, archive.join(e.file_name()));
                    }
                }
            }
            let _ = fs::write(&marker, &today_text);
        }
        None => {
            let _ = fs::write(&marker, &today_text);
        }
    }
}

/// How often zmstat samples (Zimbra's default interval is 30 s).
pub const ZMSTAT_INTERVAL: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_render() {
        let c = Counters::default();
        c.inc(
            "zcs_logins_total",
            &[("protocol", "imap"), ("result", "success")],
        );
        c.inc(
            "zcs_logins_total",
            &[("protocol", "imap"), ("result", "success")],
        );
        c.inc(
            "zcs_logins_total",
            &[("protocol", "pop3"), ("result", "fail\"ure")],
        );
        assert_eq!(
            c.get(
                "zcs_logins_total",
                &[("protocol", "imap"), ("result", "success")]
            ),
            2
        );
        assert_eq!(c.total("zcs_logins_total"), 3);
        let text = render_prometheus(&c, &Gauges::default());
        assert!(
            text.contains("zcs_logins_total{protocol=\"imap\",result=\"success\"} 2"),
            "{text}"
        );
        assert!(text.contains("result=\"fail\\\"ure\""), "{text}");
        assert_eq!(text.matches("# TYPE zcs_logins_total counter").count(), 1);
        assert!(text.contains("# TYPE zcs_process_threads gauge"));
    }

    #[test]
    fn the_process_sample_is_plausible() {
        let s = sample_process();
        assert!(
            s.rss_bytes > 0 && s.threads >= 1 && s.open_fds >= 1,
            "{s:?}"
        );
    }

    #[test]
    fn zmstat_files_get_headers_once_and_rotate_daily() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Counters::default();
        let g = Gauges::default();
        let t1 = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .expect("t")
            .to_utc();
        let t2 = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:30Z")
            .expect("t")
            .to_utc();
        let t3 = chrono::DateTime::parse_from_rfc3339("2026-12-04T00:00:10Z")
            .expect("t")
            .to_utc();
        write_zmstat(dir.path(), &c, &g, t1);
        write_zmstat(dir.path(), &c, &g, t2);
        let text = fs::read_to_string(dir.path().join("mtaqueue.csv")).expect("csv");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.starts_with("timestamp, KBytes, requests\n12/03/2026 10:00:00, 0, 0"));
        write_zmstat(dir.path(), &c, &g, t3);
        assert!(dir.path().join("2026-12-03/proc.csv").is_file());
        let today = fs::read_to_string(dir.path().join("proc.csv")).expect("csv");
        assert_eq!(today.lines().count(), 2);
    }

    #[test]
    fn queue_sample_counts_waiting_messages() {
        let dir = tempfile::tempdir().expect("tempdir");
        for q in ["incoming", "deferred", "corrupt"] {
            fs::create_dir_all(dir.path().join(q)).expect("mkdir");
            fs::write(dir.path().join(q).join("A1"), vec![0u8; 4096]).expect("write");
        }
        assert_eq!(sample_queue(dir.path()), (2, 8));
    }
}
