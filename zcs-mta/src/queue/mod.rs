//! The durable mail queue: Postfix's five queues (incoming, active, deferred, hold,
//! corrupt) as directories of one-file-per-message, and the file operations on them.
//!
//! Every change is a write to a temporary file that is fsynced and renamed into place,
//! then the directory is fsynced, so a crash leaves each message whole in exactly one
//! queue. Concurrent writers into one directory share its fsync (group commit,
//! [`dirsync`]); each still returns only once its own entry is durable. Delivery
//! itself lives in [`QueueManager`]; the operator commands in [`cli`]. This module
//! never talks to the network.
//!
//! A deferred message's file modification time is the time of its next attempt (as in
//! Postfix), so a scan of the deferred queue reads only directory metadata.

pub mod cli;
mod dirsync;
pub mod file;
mod manager;
mod sink;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify as Wake;

pub use file::{DecodeError, Envelope, Notify, QueueFile, RcptState, Recipient, Ret};
pub use manager::{LocalDomainCheck, QueueManager, Transports};
pub use sink::{QueueSink, queue_envelope};

/// One of the five queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// New mail, not yet looked at by the manager.
    Incoming,
    /// Mail being delivered now; capped by [`QueueConfig::active_limit`].
    Active,
    /// Mail that failed temporarily; retried when its backoff ends.
    Deferred,
    /// Mail an operator put aside; never retried until released.
    Hold,
    /// Files that could not be read.
    Corrupt,
}

impl QueueName {
    /// Every queue, in Postfix's listing order.
    pub const ALL: [QueueName; 5] = [
        QueueName::Incoming,
        QueueName::Active,
        QueueName::Deferred,
        QueueName::Hold,
        QueueName::Corrupt,
    ];

    /// The directory name (`incoming`, `active`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Incoming => "incoming",
            QueueName::Active => "active",
            QueueName::Deferred => "deferred",
            QueueName::Hold => "hold",
            QueueName::Corrupt => "corrupt",
        }
    }

    /// Parses a directory name; `None` for anything else.
    pub fn parse(name: &str) -> Option<QueueName> {
        QueueName::ALL
            .into_iter()
            .find(|q| q.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A queue id: 1 to 32 upper-case hex digits, also the file name. Postfix-like.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(String);

impl QueueId {
    /// Validates an id given by an operator or found on disk; `None` if it is not 1-32
    /// hex digits (so an id can never name a path outside its queue).
    pub fn parse(s: &str) -> Option<QueueId> {
        let ok = (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| QueueId(s.to_ascii_uppercase()))
    }

    /// A fresh id: microseconds since the epoch, then a per-process counter and the
    /// process id, all hex. Unique unless two processes share a pid within a microsecond.
    pub fn generate() -> QueueId {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFFF;
        let pid = u64::from(std::process::id()) & 0xFFFF;
        QueueId(format!("{micros:013X}{n:03X}{pid:04X}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Queue and retry settings. Names follow Postfix's `main.cf` parameters, which Zimbra
/// exposes as `zimbraMta*` / localconfig `postfix_*` settings.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// `minimal_backoff_time` (300 s): the first retry delay; it doubles per attempt.
    pub minimal_backoff: Duration,
    /// `maximal_backoff_time` (4000 s): the cap on the retry delay.
    pub maximal_backoff: Duration,
    /// `maximal_queue_lifetime` (5 days): a message older than this bounces.
    pub maximal_queue_lifetime: Duration,
    /// `bounce_queue_lifetime` (5 days): the same for messages from the null sender
    /// (our own DSNs), which are then dropped, never bounced.
    pub bounce_queue_lifetime: Duration,
    /// `delay_warning_time` (off): send one delay DSN once a message is this old.
    pub delay_warning_time: Option<Duration>,
    /// `queue_run_delay` (300 s): how often the whole deferred queue is scanned.
    pub queue_run_delay: Duration,
    /// How often the manager looks at the incoming queue and the flush trigger (1 s).
    pub poll_interval: Duration,
    /// `qmgr_message_active_limit` (20000): messages delivered at once.
    pub active_limit: usize,
    /// `default_destination_concurrency_limit` (20): deliveries at once per domain.
    pub destination_concurrency_limit: usize,
    /// This host's name, for `Reporting-MTA` and the DSN sender `MAILER-DAEMON@host`.
    pub hostname: String,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            minimal_backoff: Duration::from_secs(300),
            maximal_backoff: Duration::from_secs(4000),
            maximal_queue_lifetime: Duration::from_secs(5 * 86400),
            bounce_queue_lifetime: Duration::from_secs(5 * 86400),
            delay_warning_time: None,
            queue_run_delay: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            active_limit: 20000,
            destination_concurrency_limit: 20,
            hostname: "localhost".into(),
        }
    }
}

impl QueueConfig {
    /// The delay before attempt `attempts + 1`: `minimal_backoff * 2^(attempts-1)`,
    /// capped at `maximal_backoff` (Postfix doubles the same way).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let shift = attempts.saturating_sub(1).min(31);
        self.minimal_backoff
            .saturating_mul(1u32 << shift)
            .min(self.maximal_backoff)
    }
}

/// Queue I/O failures, each naming the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A file system operation failed.
    #[error("{step} {path}: {source}")]
    Io {
        /// What we were doing.
        step: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A queue file could not be parsed.
    #[error("{path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: DecodeError,
    },
    /// No message with this id in the queues searched.
    #[error("no message {0} in the queue")]
    NotFound(String),
}

fn io_err<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> QueueError + 'a {
    move |source| QueueError::Io {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// Name of the file whose presence asks the manager to retry the deferred queue now.
const FLUSH_TRIGGER: &str = "flush";

/// A handle on the queue directory. Cheap to clone; every clone shares one wake-up
/// signal so an enqueue wakes the manager at once.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    config: QueueConfig,
    wake: Wake,
    /// Shared directory fsyncs of concurrent writers ([`dirsync`]).
    dirs: dirsync::DirSyncs,
}

impl Queue {
    /// Opens (creating if needed) the queue under `dir` for the server: creates the five
    /// queue directories and `tmp`, removes half-written temporary files (their enqueue
    /// never returned), and moves every message left in `active` by a crash back to
    /// `incoming` so it is tried again. Use only in the process that runs the manager.
    ///
    /// # Errors
    /// A directory that cannot be created or read.
    pub fn open(dir: impl Into<PathBuf>, config: QueueConfig) -> Result<Queue, QueueError> {
        let queue = Queue::open_admin(dir, config)?;
        let tmp = queue.inner.root.join("tmp");
        for entry in fs::read_dir(&tmp).map_err(io_err("read", &tmp))? {
            let entry = entry.map_err(io_err("read", &tmp))?;
            let _ = fs::remove_file(entry.path());
        }

        let active = queue.dir(QueueName::Active);
        let mut recovered = 0;
        for id in queue.list(QueueName::Active)? {
            if queue.move_to(&id, QueueName::Active, QueueName::Incoming)? {
                recovered += 1;
            }
        }
        if recovered > 0 {
            tracing::info!(count = recovered, dir = %active.display(),
                "queue: moved messages left active by a crash back to incoming");
        }
        Ok(queue)
    }

    /// Opens the queue for an operator command while the server may be running: creates
    /// missing directories but moves and removes nothing.
    ///
    /// # Errors
    /// A directory that cannot be created.
    pub fn open_admin(dir: impl Into<PathBuf>, config: QueueConfig) -> Result<Queue, QueueError> {
        let root = dir.into();
        let names = QueueName::ALL.iter().map(|q| q.as_str()).chain(["tmp"]);
        for name in names {
            let path = root.join(name);
            fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        }
        Ok(Queue {
            inner: Arc::new(Inner {
                root,
                config,
                wake: Wake::new(),
                dirs: dirsync::DirSyncs::default(),
            }),
        })
    }

    /// The queue directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The settings this queue was opened with.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// The directory of one queue.
    pub fn dir(&self, queue: QueueName) -> PathBuf {
        self.inner.root.join(queue.as_str())
    }

    /// The file of one message in one queue (it may not exist).
    pub fn path(&self, queue: QueueName, id: &QueueId) -> PathBuf {
        self.dir(queue).join(id.as_str())
    }

    /// Queues a message into `incoming` and wakes the manager. Returns only once the
    /// file and its directory are fsynced: after `Ok` the message survives a crash.
    /// Recipient states are reset to pending. Runs the blocking I/O off the runtime.
    ///
    /// # Errors
    /// Any write, fsync or rename failure (nothing is left in the queue then).
    pub async fn enqueue(&self, envelope: Envelope, message: &[u8]) -> Result<QueueId, QueueError> {
        let queue = self.clone();
        let message = message.to_vec();
        let id = tokio::task::spawn_blocking(move || queue.enqueue_blocking(envelope, message))
            .await
            .map_err(|e| QueueError::Io {
                step: "enqueue",
                path: self.inner.root.clone(),
                source: io::Error::other(e.to_string()),
            })??;
        Ok(id)
    }

    /// [`Queue::enqueue`] for callers outside an async runtime. Blocks on fsync.
    ///
    /// # Errors
    /// As [`Queue::enqueue`].
    pub fn enqueue_blocking(
        &self,
        mut envelope: Envelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        for r in &mut envelope.recipients {
            r.state = RcptState::Pending;
        }
        let id = QueueId::generate();
        let file = QueueFile {
            id: id.as_str().to_string(),
            arrival: unix_now_ms(),
            attempts: 0,
            warned: false,
            envelope,
            message,
        };
        self.write(QueueName::Incoming, &file, None)?;
        tracing::info!(qid = %id, from = %file.envelope.sender,
            nrcpt = file.envelope.recipients.len(), size = file.message.len(), "queue: queued");
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// Writes the message straight into the `hold` queue (a milter's quarantine): it
    /// waits there for `release` and is never tried on its own. `reason` is logged.
    ///
    /// # Errors
    /// As [`Queue::enqueue`].
    pub async fn enqueue_held(
        &self,
        mut envelope: Envelope,
        message: &[u8],
        reason: &str,
    ) -> Result<QueueId, QueueError> {
        for r in &mut envelope.recipients {
            r.state = RcptState::Pending;
        }
        let id = QueueId::generate();
        let file = QueueFile {
            id: id.as_str().to_string(),
            arrival: unix_now_ms(),
            attempts: 0,
            warned: false,
            envelope,
            message: message.to_vec(),
        };
        let queue = self.clone();
        tokio::task::spawn_blocking(move || queue.write(QueueName::Hold, &file, None))
            .await
            .map_err(|e| QueueError::Io {
                step: "hold",
                path: self.inner.root.clone(),
                source: io::Error::other(e.to_string()),
            })??;
        tracing::info!(qid = %id, reason, "queue: message held");
        Ok(id)
    }

    /// Writes `file` as `queue/<id>` through a fsynced temporary file and a rename, then
    /// fsyncs the directory. `mtime`, when given, becomes the file's modification time
    /// (the next attempt time in `deferred`).
    ///
    /// # Errors
    /// Any write, fsync or rename failure.
    pub fn write(
        &self,
        queue: QueueName,
        file: &QueueFile,
        mtime: Option<SystemTime>,
    ) -> Result<(), QueueError> {
        let id = QueueId::parse(&file.id).ok_or_else(|| QueueError::NotFound(file.id.clone()))?;
        let tmp = self
            .inner
            .root
            .join("tmp")
            .join(format!("{id}.{}", QueueId::generate()));
        let target = self.path(queue, &id);
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io_err("create", &tmp))?;
            f.write_all(&file::encode(file))
                .map_err(io_err("write", &tmp))?;
            if let Some(mtime) = mtime {
                f.set_modified(mtime).map_err(io_err("set mtime", &tmp))?;
            }
            f.sync_all().map_err(io_err("fsync", &tmp))?;
            fs::rename(&tmp, &target).map_err(io_err("rename", &target))?;
            self.sync_dir(queue)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// The ids in one queue, sorted. Files whose names are not ids are ignored.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn list(&self, queue: QueueName) -> Result<Vec<QueueId>, QueueError> {
        let dir = self.dir(queue);
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))? {
            let Ok(entry) = entry else { continue };
            if let Some(id) = entry.file_name().to_str().and_then(QueueId::parse) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Reads and parses one message.
    ///
    /// # Errors
    /// `NotFound` if the file is gone, `Corrupt` if it cannot be parsed, `Io` otherwise.
    pub fn read(&self, queue: QueueName, id: &QueueId) -> Result<QueueFile, QueueError> {
        let path = self.path(queue, id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(QueueError::NotFound(id.to_string()));
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        file::decode(&bytes).map_err(|source| QueueError::Corrupt { path, source })
    }

    /// The queue that holds `id` now, if any (searched in [`QueueName::ALL`] order).
    pub fn find(&self, id: &QueueId) -> Option<QueueName> {
        QueueName::ALL
            .into_iter()
            .find(|q| self.path(*q, id).exists())
    }

    /// Moves a message between queues by rename and fsyncs the target directory.
    /// Returns `false` if the message was no longer in `from` (another process moved or
    /// deleted it), which is not an error.
    ///
    /// # Errors
    /// Any other rename or fsync failure.
    pub fn move_to(
        &self,
        id: &QueueId,
        from: QueueName,
        to: QueueName,
    ) -> Result<bool, QueueError> {
        let source = self.path(from, id);
        let target = self.path(to, id);
        match fs::rename(&source, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("rename", &source)(e)),
        }
        self.sync_dir(to)?;
        Ok(true)
    }

    /// Deletes a message. Returns `false` if it was already gone.
    ///
    /// # Errors
    /// Any other unlink or fsync failure.
    pub fn delete(&self, queue: QueueName, id: &QueueId) -> Result<bool, QueueError> {
        let path = self.path(queue, id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("unlink", &path)(e)),
        }
        self.sync_dir(queue)?;
        Ok(true)
    }

    /// Makes every deferred message due now and asks a running manager (through a
    /// trigger file it polls) to scan the deferred queue at once. Returns how many
    /// messages were made due.
    ///
    /// # Errors
    /// The trigger file cannot be written.
    pub fn flush(&self) -> Result<usize, QueueError> {
        let now = SystemTime::now();
        let mut count = 0;
        for id in self.list(QueueName::Deferred)? {
            let path = self.path(QueueName::Deferred, &id);
            if let Ok(f) = OpenOptions::new().write(true).open(&path)
                && f.set_modified(now).is_ok()
            {
                count += 1;
            }
        }
        let trigger = self.inner.root.join(FLUSH_TRIGGER);
        File::create(&trigger).map_err(io_err("create", &trigger))?;
        self.inner.wake.notify_one();
        Ok(count)
    }

    /// Consumes a pending flush request; true if there was one.
    pub(crate) fn take_flush_request(&self) -> bool {
        fs::remove_file(self.inner.root.join(FLUSH_TRIGGER)).is_ok()
    }

    /// Waits until an enqueue or flush in this process signals, or `timeout` passes.
    pub(crate) async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.inner.wake.notified()).await;
    }

    /// Deferred messages whose next attempt time (their mtime) has come.
    pub(crate) fn due_deferred(&self) -> Result<Vec<QueueId>, QueueError> {
        let now = SystemTime::now();
        let mut due = Vec::new();
        for id in self.list(QueueName::Deferred)? {
            let Ok(meta) = fs::metadata(self.path(QueueName::Deferred, &id)) else {
                continue;
            };
            if meta.modified().map(|m| m <= now).unwrap_or(true) {
                due.push(id);
            }
        }
        Ok(due)
    }
}

/// Fsyncs a directory so that a rename or unlink in it is durable.
impl Queue {
    /// Makes `queue`'s directory entries as of this call durable; concurrent callers
    /// share one fsync of the directory ([`dirsync`]).
    fn sync_dir(&self, queue: QueueName) -> Result<(), QueueError> {
        let dir = self.dir(queue);
        self.inner.dirs.sync(&dir).map_err(io_err("fsync", &dir))
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = QueueConfig::default();
        assert_eq!(c.backoff(1), Duration::from_secs(300));
        assert_eq!(c.backoff(2), Duration::from_secs(600));
        assert_eq!(c.backoff(4), Duration::from_secs(2400));
        assert_eq!(c.backoff(5), Duration::from_secs(4000));
        assert_eq!(c.backoff(u32::MAX), Duration::from_secs(4000));
    }

    #[test]
    fn ids_are_hex_and_unique() {
        let a = QueueId::generate();
        let b = QueueId::generate();
        assert_ne!(a, b);
        assert!(QueueId::parse(a.as_str()).is_some());
        assert!(QueueId::parse("../etc").is_none());
        assert!(QueueId::parse("").is_none());
    }
}
