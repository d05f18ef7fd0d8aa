//! The server's logs as a Zimbra operator knows them: `log/mailbox.log` with Zimbra's
//! line layout and context fields, and `log/audit.log` with the security events (logins
//! and their failures, admin changes) alone. Both roll over at midnight UTC to
//! `<name>.YYYY-MM-DD` and files older than the retention are removed.
//!
//! A line reads
//! `2026-12-04 19:06:18,123 INFO  [imap] [name=u@example.com;ip=10.0.0.5;] imap - message k=v`:
//! time, level, the thread-like task label, the context gathered from the enclosing
//! spans (`name`, `aname`, `mid`, `ip`, `oip`, `port`, `ua`, `via`), the category, then the
//! message and its other fields. Values are escaped so client-supplied text cannot
//! forge a line (no control characters), and fields whose name says they hold a
//! secret are never written.
//!
//! Levels come from the local config key `zcs_log_level` (an `EnvFilter` directive such
//! as `info,imap=debug`); [`LogControl::reload`] applies a changed value at run time.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, Utc};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::account_loggers::{self, AccountLogger, ActiveLoggers};

/// Span fields that go into the bracketed context, in Zimbra's order.
const CONTEXT_KEYS: &[&str] = &["name", "aname", "mid", "ip", "oip", "port", "ua", "via"];

/// Days of rolled-over logs kept when the local config does not say.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Whether a field name says it holds a secret that must never reach a log.
pub fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "preauth", "cookie"]
        .iter()
        .any(|s| n.contains(s))
}

/// `text` with every control character (CR, LF, ESC, ...) and backslash written as an
/// escape, so one call writes exactly one line whatever a client sent.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The Zimbra log category of a tracing target.
pub fn category(target: &str) -> &'static str {
    let t = target;
    for (cat, prefixes) in crate::account_loggers::CATEGORIES {
        if prefixes.iter().any(|p| t.starts_with(p)) {
            return cat;
        }
    }
    if t.starts_with("zimbra.security") || t.starts_with("audit") {
        "security"
    } else if t.contains("::imap") || t.starts_with("imap") {
        "imap"
    } else if t.contains("::pop3") || t.starts_with("pop") {
        "pop"
    } else if t.contains("::soap") || t.contains("::frontends::http") {
        "soap"
    } else if t.starts_with("zcs_mta") || t.contains("::delivery") {
        "lmtp"
    } else if t.starts_with("zcs_store") {
        "mailbox"
    } else if t.starts_with("zcs_index") || t.contains("::indexer") {
        "index"
    } else if t.starts_with("zcs_directory") {
        "account"
    } else if t.contains("::tls") || t.contains("::certmgr") {
        "security"
    } else if t.starts_with("zcs_backup") {
        "backup"
    } else {
        "misc"
    }
}

/// A log file that rolls over at midnight UTC and prunes old days.
#[derive(Debug)]
pub struct DailyFile {
    path: PathBuf,
    retention_days: u32,
    state: Mutex<Option<(NaiveDate, File)>>,
}

impl DailyFile {
    /// A log at `path`; nothing is opened until the first line.
    pub fn new(path: PathBuf, retention_days: u32) -> DailyFile {
        DailyFile {
            path,
            retention_days,
            state: Mutex::new(None),
        }
    }

    fn rolled_name(&self, day: NaiveDate) -> PathBuf {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("zcs.log");
        self.path
            .with_file_name(format!("{name}.{}", day.format("%Y-%m-%d")))
    }

    /// Appends one line (a newline is added), rolling over first when the day changed.
    /// Errors are swallowed: logging must never stop the server.
    pub fn write_line(&self, today: NaiveDate, line: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let stale = match &*state {
            Some((day, _)) => *day != today,
            None => true,
        };
        if stale {
            // A file left by an earlier run belongs to the day it was last written.
            let written = fs::metadata(&self.path)
                .and_then(|m| m.modified())
                .ok()
                .map(|t| chrono::DateTime::<Utc>::from(t).date_naive());
            if let Some(day) = written.filter(|d| *d != today) {
                let _ = fs::rename(&self.path, self.rolled_name(day));
                self.prune(today);
            }
            *state = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok()
                .map(|f| (today, f));
        }
        if let Some((_, file)) = state.as_mut() {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            let _ = file.write_all(&bytes);
        }
    }

    /// Removes rolled-over files of this log older than the retention.
    fn prune(&self, today: NaiveDate) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let Some(prefix) = self.path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let prefix = format!("{prefix}.");
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(day) = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            else {
                continue;
            };
            if (today - day).num_days() > i64::from(self.retention_days) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Context fields a span carries, stored in its extensions.
#[derive(Default, Debug, Clone)]
struct SpanContext(Vec<(&'static str, String)>);

struct ContextVisitor<'a>(&'a mut SpanContext);

impl Visit for ContextVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if let Some(key) = CONTEXT_KEYS.iter().find(|k| **k == name) {
            self.0.0.retain(|(k, _)| k != key);
            self.0.0.push((key, value.to_string()));
        }
    }
}

/// Collects an event's message and its other fields.
#[derive(Default)]
struct EventVisitor {
    message: String,
    fields: String,
    context: SpanContext,
}

impl Visit for EventVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "message" {
            self.message = escape(value);
        } else if is_secret_field(name) {
            // Never written, not even masked: its presence is not interesting either.
        } else if CONTEXT_KEYS.contains(&name) {
            ContextVisitor(&mut self.context).record_str(field, value);
        } else {
            let _ = write!(self.fields, " {name}={}", escape(value));
        }
    }
}

/// The layer that writes `mailbox.log` and `audit.log`.
pub struct ZimbraLogLayer {
    mailbox: Arc<DailyFile>,
    audit: Arc<DailyFile>,
    active: Arc<ActiveLoggers>,
}

impl ZimbraLogLayer {
    /// Logs into `dir` (the home's `log/`), keeping `retention_days` of old files.
    pub fn new(dir: &Path, retention_days: u32) -> ZimbraLogLayer {
        ZimbraLogLayer {
            mailbox: Arc::new(DailyFile::new(dir.join("mailbox.log"), retention_days)),
            audit: Arc::new(DailyFile::new(dir.join("audit.log"), retention_days)),
            active: Arc::new(ActiveLoggers::default()),
        }
    }

    /// The same layer keeping raised lines only for the accounts in `active`.
    pub fn with_account_loggers(mut self, active: Arc<ActiveLoggers>) -> ZimbraLogLayer {
        self.active = active;
        self
    }
}

fn level_word(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN ",
        Level::INFO => "INFO ",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

impl<S> Layer<S> for ZimbraLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanContext::default();
        attrs.record(&mut ContextVisitor(&mut fields));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanContext>() {
            values.record(&mut ContextVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let mut visitor = EventVisitor::default();
        event.record(&mut visitor);
        // Context from the outermost span in, then the event's own context fields.
        let mut context: Vec<(&'static str, String)> = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanContext>() {
                    for (k, v) in &fields.0 {
                        context.retain(|(key, _)| key != k);
                        context.push((k, v.clone()));
                    }
                }
            }
        }
        for (k, v) in visitor.context.0 {
            context.retain(|(key, _)| *key != k);
            context.push((k, v));
        }
        let mut bracket = String::new();
        for key in CONTEXT_KEYS {
            if let Some((_, v)) = context.iter().find(|(k, _)| k == key) {
                let _ = write!(bracket, "{key}={};", escape(v));
            }
        }
        let meta = event.metadata();
        let cat = category(meta.target());
        let account = context
            .iter()
            .find(|(k, _)| *k == "name")
            .map(|(_, v)| v.as_str());
        if !self.active.keeps(account, cat, meta.level()) {
            return;
        }
        let task = ctx
            .event_scope(event)
            .and_then(|s| s.from_root().next().map(|span| span.name().to_string()))
            .unwrap_or_else(|| cat.to_string());
        let now = Utc::now();
        let line = format!(
            "{} {} [{task}] [{bracket}] {cat} - {}{}",
            now.format("%Y-%m-%d %H:%M:%S,%3f"),
            level_word(meta.level()),
            visitor.message,
            visitor.fields
        );
        let today = now.date_naive();
        self.mailbox.write_line(today, &line);
        if cat == "security" && *meta.level() <= Level::INFO {
            self.audit.write_line(today, &line);
        }
    }
}

/// The handle that changes log levels while the server runs.
#[derive(Clone)]
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
    active: Arc<ActiveLoggers>,
}

impl std::fmt::Debug for LogControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogControl")
    }
}

impl LogControl {
    /// Applies a new level directive (EnvFilter syntax, e.g. `info,zcs_server::imap=debug`).
    ///
    /// # Errors
    /// The directive does not parse; the old levels stay.
    pub fn reload(&self, directive: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(directive).map_err(|e| e.to_string())?;
        self.handle.reload(filter).map_err(|e| e.to_string())
    }

    /// Applies the server's level `base` with `loggers` in force: their categories are
    /// let through at their levels, and the log layer keeps those lines for their
    /// accounts only.
    ///
    /// # Errors
    /// `base` does not parse; nothing changes.
    pub fn apply(&self, base: &str, loggers: Vec<AccountLogger>) -> Result<(), String> {
        let base_filter = EnvFilter::try_new(base).map_err(|e| e.to_string())?;
        let base_max = base_filter.max_level_hint().unwrap_or(LevelFilter::TRACE);
        let raised = account_loggers::directive(base, &loggers);
        self.active.set(loggers, base_max);
        self.reload(&raised)
    }
}

/// Installs the process's logging: `mailbox.log`/`audit.log` under `log_dir` (when
/// given) and human-readable lines on standard error, filtered by `directive`
/// (`RUST_LOG` wins when set). Returns the handle that changes levels later.
pub fn init(log_dir: Option<&Path>, directive: &str, retention_days: u32) -> Option<LogControl> {
    init_with(log_dir, directive, retention_days, true)
}

/// [`init`] for command-line tools: `stderr` false keeps log lines off the terminal, so
/// a tool's output stays exactly what it prints (its audit lines still reach
/// `audit.log`).
pub fn init_with(
    log_dir: Option<&Path>,
    directive: &str,
    retention_days: u32,
    stderr: bool,
) -> Option<LogControl> {
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let active = Arc::new(ActiveLoggers::default());
    active.set(
        Vec::new(),
        filter.max_level_hint().unwrap_or(LevelFilter::TRACE),
    );
    let (filter, handle) = reload::Layer::new(filter);
    // A tool run where no home exists yet must not create one just to hold its log.
    let log_dir = log_dir.filter(|d| stderr || d.exists() || d.parent().is_some_and(Path::exists));
    let zimbra = log_dir.map(|dir| {
        let _ = fs::create_dir_all(dir);
        ZimbraLogLayer::new(dir, retention_days).with_account_loggers(active.clone())
    });
    let stderr_active = active.clone();
    let stderr = stderr.then(|| {
        // Lines raised for an account logger stay in mailbox.log.
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .with_filter(tracing_subscriber::filter::filter_fn(move |meta| {
                stderr_active.keeps(None, category(meta.target()), meta.level())
            }))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(zimbra)
        .with(stderr)
        .with(crate::authwatch::layer())
        .try_init()
        .ok()
        .map(|()| LogControl { handle, active })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn escape_keeps_one_line() {
        assert_eq!(escape("a\r\nb\u{1b}[31m\\"), "a\\r\\nb\\u{1b}[31m\\\\");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn categories_follow_targets() {
        assert_eq!(category("zcs_server::imap::session"), "imap");
        assert_eq!(category("zcs_server::pop3::session"), "pop");
        assert_eq!(category("zcs_mta::session"), "lmtp");
        assert_eq!(category("zimbra.security"), "security");
        assert_eq!(category("zcs_store::store"), "mailbox");
        assert_eq!(category("other"), "misc");
    }

    #[test]
    fn lines_carry_context_escape_input_and_drop_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = ZimbraLogLayer::new(dir.path(), 30);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("ImapSession", ip = "10.0.0.5", name = tracing::field::Empty);
            let _g = span.enter();
            span.record("name", "u@example.test");
            tracing::info!(target: "zimbra.security", cmd = "Auth", password = "hunter2",
                account = "evil\r\n2026-01-01 00:00:00,000 INFO forged", "authentication failed");
            tracing::debug!(target: "zcs_server::imap", "not security");
        });
        let text = fs::read_to_string(dir.path().join("mailbox.log")).expect("mailbox.log");
        let audit = fs::read_to_string(dir.path().join("audit.log")).expect("audit.log");
        assert_eq!(audit.lines().count(), 1, "{audit}");
        let line = audit.lines().next().expect("line");
        assert!(
            line.contains(
                "[ImapSession] [name=u@example.test;ip=10.0.0.5;] security - authentication failed"
            ),
            "{line}"
        );
        assert!(line.contains("account=evil\\r\\n2026"), "{line}");
        assert!(!text.contains("hunter2") && !audit.contains("hunter2"));
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn rolls_over_by_day_and_prunes_old_days() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailbox.log");
        let old = dir.path().join("mailbox.log.2000-01-01");
        fs::write(&old, "ancient\n").expect("write");
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        let log = DailyFile::new(path.clone(), 30);
        log.write_line(day(3), "first day");
        drop(log);
        // A restart on a later day finds yesterday's file and rolls it over.
        let stamp =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_299_200);
        File::options()
            .write(true)
            .open(&path)
            .expect("open")
            .set_modified(stamp)
            .expect("mtime");
        let log = DailyFile::new(path.clone(), 30);
        log.write_line(day(4), "second day");
        assert_eq!(fs::read_to_string(&path).expect("read"), "second day\n");
        let rolled: Vec<_> = fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            rolled
                .iter()
                .any(|n| n.starts_with("mailbox.log.2026-12-03")),
            "{rolled:?}"
        );
        assert!(!old.exists(), "old file pruned");
    }
}
