//! The maildrop lock (RFC 1939 §8): at most one POP3 session per account at a time,
//! so two clients never see different deletion marks for the same messages.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A table of locked accounts. Cloning gives a handle to the same table: every listener
/// that should exclude the others (plain and TLS POP3) must share one.
#[derive(Clone, Debug, Default)]
pub struct MaildropLocks {
    held: Arc<Mutex<HashSet<String>>>,
}

impl MaildropLocks {
    /// Locks `key`'s maildrop; `None` when another session holds it. The lock is
    /// released when the returned guard is dropped, however the session ends.
    pub fn try_lock(&self, key: &str) -> Option<MaildropGuard> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.to_string()) {
            return None;
        }
        Some(MaildropGuard {
            locks: self.clone(),
            key: key.to_string(),
        })
    }

    /// Whether `key` is locked now.
    pub fn is_locked(&self, key: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }
}

/// Holds one account's maildrop lock until dropped.
#[derive(Debug)]
pub struct MaildropGuard {
    locks: MaildropLocks,
    key: String,
}

impl Drop for MaildropGuard {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_key() {
        let locks = MaildropLocks::default();
        let other = locks.clone();
        let a = locks.try_lock("a").expect("free");
        assert!(other.try_lock("a").is_none());
        let b = other.try_lock("b").expect("free");
        drop(a);
        assert!(!locks.is_locked("a"));
        assert!(locks.try_lock("a").is_some());
        assert!(locks.is_locked("b"));
        drop(b);
        assert!(!locks.is_locked("b"));
    }
}
