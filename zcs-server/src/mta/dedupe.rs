//! Duplicate suppression at delivery, as Zimbra does it: a message whose `Message-ID`
//! was already delivered to the same mailbox is not stored again (a list reached twice,
//! a Cc and a Bcc, a client resending). The cache is in memory, per server:
//! `zimbraMessageIdDedupeCacheSize` entries (default 3000; 0 turns deduping off),
//! each remembered for `zimbraMessageIdDedupeCacheTimeout` (default 0: until pushed
//! out). An account opts out with `zimbraPrefMessageIdDedupingEnabled` FALSE.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zcs_core::ZimbraId;

use super::outbound::header_values;

/// The settings of the cache, from the global config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupeSettings {
    /// Most entries kept; 0 turns deduping off.
    pub capacity: usize,
    /// How long an entry counts; `None` = until pushed out.
    pub timeout: Option<Duration>,
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            capacity: 3000,
            timeout: None,
        }
    }
}

/// The `Message-ID` a message is known by: its first `Message-ID` field, trimmed;
/// `None` when it has none (such messages are never deduplicated).
pub fn message_id(data: &[u8]) -> Option<String> {
    header_values(data, "Message-ID")
        .into_iter()
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

type Key = (ZimbraId, String);

#[derive(Default)]
struct Inner {
    seen: HashMap<Key, Instant>,
    order: VecDeque<Key>,
}

/// Message ids delivered per mailbox.
#[derive(Default)]
pub struct DedupeCache {
    inner: Mutex<Inner>,
}

impl DedupeCache {
    /// An empty cache.
    pub fn new() -> Self {
        DedupeCache::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `id` was delivered to `account` and still counts under `settings`.
    pub fn is_duplicate(&self, account: ZimbraId, id: &str, settings: DedupeSettings) -> bool {
        if settings.capacity == 0 {
            return false;
        }
        let inner = self.lock();
        match inner.seen.get(&(account, id.to_string())) {
            Some(at) => settings.timeout.is_none_or(|t| at.elapsed() < t),
            None => false,
        }
    }

    /// Remembers that `id` was delivered to `account`, pushing out the oldest entries
    /// beyond the capacity.
    pub fn remember(&self, account: ZimbraId, id: &str, settings: DedupeSettings) {
        if settings.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        let key = (account, id.to_string());
        if inner.seen.insert(key.clone(), Instant::now()).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > settings.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.seen.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ids_and_capacity() {
        assert_eq!(
            message_id(b"Subject: x\r\nMessage-ID:  <a@b>\r\n\r\nbody"),
            Some("<a@b>".to_string())
        );
        assert_eq!(
            message_id(b"Subject: x\r\n\r\nMessage-ID: <no@body>\r\n"),
            None
        );
        let cache = DedupeCache::new();
        let a = ZimbraId::new();
        let b = ZimbraId::new();
        let small = DedupeSettings {
            capacity: 2,
            timeout: None,
        };
        cache.remember(a, "<1@x>", small);
        assert!(cache.is_duplicate(a, "<1@x>", small));
        assert!(!cache.is_duplicate(b, "<1@x>", small), "per mailbox");
        cache.remember(a, "<2@x>", small);
        cache.remember(a, "<3@x>", small);
        assert!(!cache.is_duplicate(a, "<1@x>", small), "pushed out");
        let off = DedupeSettings {
            capacity: 0,
            timeout: None,
        };
        assert!(!cache.is_duplicate(a, "<3@x>", off));
        let expired = DedupeSettings {
            capacity: 10,
            timeout: Some(Duration::ZERO),
        };
        assert!(!cache.is_duplicate(a, "<3@x>", expired));
    }

    proptest! {
        #[test]
        fn message_id_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = message_id(&data);
        }
    }
}
