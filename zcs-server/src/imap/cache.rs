//! The process's cache of message summaries: the header block of a message and its
//! rendered BODY / BODYSTRUCTURE, so FETCH ENVELOPE, BODYSTRUCTURE and header fields,
//! and the header keys of SORT, THREAD and SEARCH, do not read and parse the whole
//! message again each time a client asks (RFC 3501 §6.4.5 items that depend only on
//! the header or on the MIME structure).
//!
//! Entries are keyed by the backend's [`ContentKey`] (equal keys always mean
//! byte-identical messages, so an entry never goes stale) plus the message size as a
//! second guard. The cache is bounded in bytes and evicts in insertion order.
//!
//! LIMITATION: eviction is first-in first-out, not least-recently-used, and the budget
//! ([`DEFAULT_BUDGET`]) is fixed, not a setting.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::backend::ContentKey;
use super::mime;

/// Bytes of summaries the process keeps (headers and structures together).
pub(crate) const DEFAULT_BUDGET: usize = 32 * 1024 * 1024;

/// Per-entry bookkeeping counted against the budget besides the bytes themselves.
const OVERHEAD: usize = 96;

/// What the cache knows of one message.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// The header block, its ending blank line included (as `mime::split_header`).
    pub(crate) header: Vec<u8>,
    /// The rendered `BODY` and `BODYSTRUCTURE` values, once the whole message was read.
    pub(crate) structure: Option<(Vec<u8>, Vec<u8>)>,
}

impl Summary {
    /// The summary of a whole message: its header and both structure renderings.
    pub(crate) fn of_message(raw: &[u8]) -> Summary {
        let parsed = mime::parse_message(raw);
        let mut body = Vec::new();
        mime::write_body_structure(&mut body, &parsed, false);
        let mut extended = Vec::new();
        mime::write_body_structure(&mut extended, &parsed, true);
        Summary {
            header: mime::split_header(raw).0.to_vec(),
            structure: Some((body, extended)),
        }
    }

    fn cost(&self) -> usize {
        OVERHEAD
            + self.header.len()
            + self
                .structure
                .as_ref()
                .map_or(0, |(a, b)| a.len() + b.len())
    }
}

type Key = (ContentKey, u64);

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Arc<Summary>>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// A bounded map from message content to its [`Summary`], shared by sessions.
pub(crate) struct SummaryCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl Default for SummaryCache {
    fn default() -> Self {
        SummaryCache::new(DEFAULT_BUDGET)
    }
}

/// The process's summary cache, shared by every IMAP listener and connection (content
/// keys are unique on the server, so sharing is safe).
pub(crate) fn global() -> &'static SummaryCache {
    static CACHE: std::sync::OnceLock<SummaryCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(SummaryCache::default)
}

impl SummaryCache {
    /// An empty cache holding at most about `budget` bytes.
    pub(crate) fn new(budget: usize) -> SummaryCache {
        SummaryCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The summary of the message `key` of `size` bytes, if cached.
    pub(crate) fn get(&self, key: &ContentKey, size: u64) -> Option<Arc<Summary>> {
        self.lock().map.get(&(key.clone(), size)).cloned()
    }

    /// Stores a summary, replacing one with less in it; evicts the oldest entries to
    /// stay within the budget. A summary larger than the whole budget is not kept.
    pub(crate) fn put(&self, key: ContentKey, size: u64, summary: Summary) -> Arc<Summary> {
        let summary = Arc::new(summary);
        let cost = summary.cost();
        if cost > self.budget {
            return summary;
        }
        let mut inner = self.lock();
        let key = (key, size);
        if let Some(old) = inner.map.get(&key) {
            if old.structure.is_some() || summary.structure.is_none() {
                return old.clone();
            }
            let old_cost = old.cost();
            inner.bytes = inner.bytes.saturating_sub(old_cost);
            inner.map.remove(&key);
            inner.order.retain(|k| k != &key);
        }
        while inner.bytes + cost > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.map.remove(&oldest) {
                inner.bytes = inner.bytes.saturating_sub(gone.cost());
            }
        }
        inner.bytes += cost;
        inner.order.push_back(key.clone());
        inner.map.insert(key, summary.clone());
        summary
    }

    /// Entries and bytes held (for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.map.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: i64) -> ContentKey {
        ContentKey {
            scope: Arc::from("acct"),
            item: n,
        }
    }

    #[test]
    fn keeps_to_its_budget_and_evicts_the_oldest() {
        let cache = SummaryCache::new(10 * (OVERHEAD + 100));
        for n in 0..20 {
            let s = Summary {
                header: vec![b'x'; 100],
                structure: None,
            };
            cache.put(key(n), 100, s);
        }
        let (entries, bytes) = cache.usage();
        assert_eq!(entries, 10);
        assert!(bytes <= 10 * (OVERHEAD + 100));
        assert!(cache.get(&key(0), 100).is_none());
        assert!(cache.get(&key(19), 100).is_some());
        // The size is part of the key.
        assert!(cache.get(&key(19), 101).is_none());
    }

    #[test]
    fn a_fuller_summary_replaces_a_header_only_one() {
        let cache = SummaryCache::new(1 << 20);
        let raw = b"Subject: hi\r\n\r\nbody\r\n";
        let header_only = Summary {
            header: mime::split_header(raw).0.to_vec(),
            structure: None,
        };
        cache.put(key(1), raw.len() as u64, header_only);
        assert!(
            cache
                .get(&key(1), raw.len() as u64)
                .is_some_and(|s| s.structure.is_none())
        );
        cache.put(key(1), raw.len() as u64, Summary::of_message(raw));
        let got = cache.get(&key(1), raw.len() as u64).expect("cached");
        assert!(got.structure.is_some());
        assert_eq!(got.header, b"Subject: hi\r\n\r\n");
        assert_eq!(cache.usage().0, 1);
    }

    #[test]
    fn a_summary_over_the_budget_is_not_kept() {
        let cache = SummaryCache::new(50);
        cache.put(
            key(1),
            1,
            Summary {
                header: vec![0; 100],
                structure: None,
            },
        );
        assert_eq!(cache.usage().0, 0);
    }
}
