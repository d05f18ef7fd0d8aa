//! Stored IMAP subscriptions (RFC 3501 §6.3.6): per account, the set of subscribed
//! IMAP names, kept in memory and, when a directory is given, in one small file per
//! account (`<dir>/<account key>`, one name per line, replaced atomically on change).
//!
//! It knows nothing about the store; the backend keys it by account id.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

/// Most names one account may subscribe to; more are refused.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// Subscription sets of every account of a server.
#[derive(Default)]
pub struct Subscriptions {
    dir: Option<PathBuf>,
    loaded: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl Subscriptions {
    /// Subscriptions persisted under `dir` (created on first write); `None` keeps them
    /// in memory only (tests).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Subscriptions {
            dir,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    fn file(&self, account: &str) -> Option<PathBuf> {
        // Account keys are ids (UUIDs); anything else is refused as a file name.
        if account.is_empty()
            || !account
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        self.dir.as_ref().map(|d| d.join(account))
    }

    fn read(&self, account: &str) -> BTreeSet<String> {
        let Some(path) = self.file(account) else {
            return BTreeSet::new();
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            Err(_) => BTreeSet::new(),
        }
    }

    fn with<T>(&self, account: &str, f: impl FnOnce(&mut BTreeSet<String>) -> T) -> T {
        let mut map = match self.loaded.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !map.contains_key(account) {
            let set = self.read(account);
            map.insert(account.to_string(), set);
        }
        let set = map.get_mut(account).expect("inserted above");
        f(set)
    }

    /// The names `account` subscribed to, sorted.
    pub fn list(&self, account: &str) -> Vec<String> {
        self.with(account, |s| s.iter().cloned().collect())
    }

    /// Adds or removes `name`; writes the account's file when it changed.
    ///
    /// # Errors
    /// The file could not be written, or the set is full (`InvalidInput`).
    pub fn set(&self, account: &str, name: &str, on: bool) -> io::Result<()> {
        if name.contains(['\r', '\n']) || name.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad mailbox name",
            ));
        }
        let snapshot = self.with(account, |s| {
            let changed = if on {
                if s.len() >= MAX_SUBSCRIPTIONS && !s.contains(name) {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many"));
                }
                s.insert(name.to_string())
            } else {
                s.remove(name)
            };
            Ok(changed.then(|| s.iter().cloned().collect::<Vec<_>>().join("\n")))
        })?;
        let (Some(text), Some(path)) = (snapshot, self.file(account)) else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{text}\n"))?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let subs = Subscriptions::new(Some(dir.path().join("subs")));
        subs.set("a-1", "INBOX", true).unwrap();
        subs.set("a-1", "Entw\u{fc}rfe & co", true).unwrap();
        subs.set("a-1", "gone", false).unwrap();
        subs.set("b-2", "Sent", true).unwrap();
        assert!(subs.set("a-1", "x\ny", true).is_err());
        let again = Subscriptions::new(Some(dir.path().join("subs")));
        assert_eq!(again.list("a-1"), vec!["Entw\u{fc}rfe & co", "INBOX"]);
        assert_eq!(again.list("b-2"), vec!["Sent"]);
        again.set("a-1", "INBOX", false).unwrap();
        assert_eq!(
            Subscriptions::new(Some(dir.path().join("subs")))
                .list("a-1")
                .len(),
            1
        );
        // A key that is not an id is kept in memory only.
        subs.set("../x", "INBOX", true).unwrap();
        assert!(!dir.path().join("x").exists());
    }
}
