//! CPU-heavy work of SEARCH, SORT and THREAD kept off the async runtime threads.
//!
//! Parsing the headers of a large folder, evaluating search keys over it, sorting and
//! threading can take seconds on 100,000 messages. Run on the runtime's worker threads,
//! that would stall every other session scheduled there (their NOOPs, IDLE wake-ups and
//! FETCHes). The session therefore reads message headers asynchronously, a chunk at a
//! time, and hands each chunk to [`run`], which runs it on tokio's blocking pool behind a
//! process-wide semaphore: at most [`slots`] such jobs run at once, whatever the number
//! of clients, and a long command releases its slot between chunks so several big SORTs
//! take turns instead of queueing behind each other. Headers already in the
//! listener's summary cache (`crate::imap::cache`) are not read again.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use super::Fail;
use crate::imap::backend::{BackendError, ImapSession};
use crate::imap::cache::{self, Summary};
use crate::imap::mime;

/// Messages handled per blocking job (and headers held in memory at once).
pub(crate) const CHUNK: usize = 512;

/// How many heavy jobs may run at once: the machine's parallelism, at least 2, at
/// most 16.
pub(crate) fn slots() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(2)
        .clamp(2, 16)
}

fn semaphore() -> &'static Arc<Semaphore> {
    static SEM: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SEM.get_or_init(|| Arc::new(Semaphore::new(slots())))
}

/// Runs `job` on a blocking thread once a heavy-work slot is free, and returns its
/// result. A panic in `job` becomes a backend failure (tagged `NO [SERVERBUG]`), never
/// a crash of the session.
pub(crate) async fn run<T, F>(job: F) -> Result<T, Fail>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let permit = semaphore()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Fail::Backend(BackendError::Other("worker pool closed".into())))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .map_err(|e| {
        tracing::error!(proto = "imap", error = %e, "heavy task failed");
        Fail::Backend(BackendError::Other("worker task failed".into()))
    })
}

/// The header bytes of each message of `msgs` (id and size): from the summary cache
/// when there, else read through the backend (which keeps blob I/O off the runtime)
/// and remembered; `None` for a message that vanished meanwhile.
pub(crate) async fn read_headers(
    account: &Arc<dyn ImapSession>,
    msgs: impl Iterator<Item = (zcs_core::ItemId, u64)>,
) -> Result<Vec<Option<Vec<u8>>>, Fail> {
    let cache = cache::global();
    let mut out = Vec::new();
    for (id, size) in msgs {
        let key = account.content_key(id);
        if let Some(hit) = key.as_ref().and_then(|k| cache.get(k, size)) {
            out.push(Some(hit.header.clone()));
            continue;
        }
        match account.read_message(id).await {
            Ok(raw) => {
                let header = mime::split_header(&raw).0.to_vec();
                if let Some(key) = key {
                    let summary = Summary {
                        header: header.clone(),
                        structure: None,
                    };
                    cache.put(key, size, summary);
                }
                out.push(Some(header));
            }
            Err(BackendError::NotFound) => out.push(None),
            Err(e) => return Err(Fail::Backend(e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn runs_off_the_runtime_thread() {
        let here = std::thread::current().id();
        let there = match run(move || std::thread::current().id()).await {
            Ok(id) => id,
            Err(_) => panic!("job failed"),
        };
        assert_ne!(here, there);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_is_an_error() {
        let r = run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(r, Err(Fail::Backend(_))));
    }

    #[test]
    fn slot_count_is_bounded() {
        let n = slots();
        assert!((2..=16).contains(&n));
    }
}
