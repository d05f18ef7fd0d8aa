//! Folder attributes the store does not keep yet: Zimbra's folder flags (`#` checked,
//! `b` exclude from free/busy, `*` subscribed, `i` no inherit, `y` sync folder, `~`
//! sync), the feed or remote calendar `url`, the `reminder` flag of a calendar
//! mountpoint, and the feed items already imported by a sync.
//!
//! Kept per account in a process-wide map, saved as one JSON file per account under
//! `<home>/data/folder-attrs/` when the server runs from a zcs home (its `conf`
//! directory exists), so they survive a restart.
// LIMITATION: these attributes are outside the store and its redo log: a restore from
// backup or redo replay does not bring them back, and a deleted folder's entry stays
// (harmless: item ids are never reused). They belong in the store's folder rows; the
// store needs set/get calls for folder flags, url and mountpoint reminder.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use zcs_core::{ItemId, ZimbraId};

use super::super::element::Element;

/// The folder flags Zimbra lets a client set on a folder (Zimbra's flag characters);
/// other characters in an `f=` value are ignored, as Zimbra's flag parser does.
pub(crate) const FOLDER_FLAGS: &str = "#b*iy~";

/// How many imported feed item ids a folder remembers (the oldest are forgotten).
const MAX_SEEN: usize = 2000;

/// What the store does not keep for one folder or mountpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FolderAttrs {
    /// Zimbra flag characters, each at most once, in [`FOLDER_FLAGS`] order.
    #[serde(default)]
    pub flags: String,
    /// The feed or remote calendar URL (`url` in GetFolder); empty for none.
    #[serde(default)]
    pub url: String,
    /// EnableSharedReminder on a mountpoint.
    #[serde(default)]
    pub reminder: bool,
    /// Ids (guid or link) of feed items already imported into the folder.
    #[serde(default)]
    pub seen: Vec<String>,
}

impl FolderAttrs {
    /// Whether this is what a folder has when nothing was set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == FolderAttrs::default()
    }

    /// Sets (`on`) or clears flag character `c`.
    pub(crate) fn set_flag(&mut self, c: char, on: bool) {
        let mut have: Vec<char> = self.flags.chars().filter(|f| *f != c).collect();
        if on {
            have.push(c);
        }
        self.flags = normalize_flags(&have.into_iter().collect::<String>());
    }

    /// Remembers feed item `id` as imported; `false` when it already was.
    pub(crate) fn mark_seen(&mut self, id: &str) -> bool {
        if self.seen.iter().any(|s| s == id) {
            return false;
        }
        self.seen.push(id.to_string());
        if self.seen.len() > MAX_SEEN {
            let extra = self.seen.len() - MAX_SEEN;
            self.seen.drain(..extra);
        }
        true
    }
}

/// The folder flag characters of `f`, deduplicated in [`FOLDER_FLAGS`] order.
pub(crate) fn normalize_flags(f: &str) -> String {
    FOLDER_FLAGS.chars().filter(|c| f.contains(*c)).collect()
}

type AccountAttrs = BTreeMap<i32, FolderAttrs>;

fn cache() -> &'static Mutex<HashMap<ZimbraId, AccountAttrs>> {
    static CACHE: OnceLock<Mutex<HashMap<ZimbraId, AccountAttrs>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The file holding `account`'s attributes, when the server runs from a zcs home.
fn file_of(account: ZimbraId) -> Option<PathBuf> {
    let home = crate::home::Home::from_env().ok()?;
    if !home.conf().is_dir() {
        return None;
    }
    Some(
        home.root()
            .join("data")
            .join("folder-attrs")
            .join(format!("{account}.json")),
    )
}

/// Loads `account`'s map into the cache (once).
fn load(map: &mut HashMap<ZimbraId, AccountAttrs>, account: ZimbraId) -> &mut AccountAttrs {
    map.entry(account).or_insert_with(|| {
        file_of(account)
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    })
}

/// Writes `attrs` to `account`'s file (atomically: a temporary file renamed).
fn save(account: ZimbraId, attrs: &AccountAttrs) {
    let Some(path) = file_of(account) else {
        return;
    };
    let result = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec(attrs).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        tracing::warn!(account = %account, error = %e, "folder attributes not saved");
    }
}

/// The attributes of folder `id` of `account` (the default when none were set).
pub(crate) fn get(account: ZimbraId, id: ItemId) -> FolderAttrs {
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    load(&mut map, account)
        .get(&id.0)
        .cloned()
        .unwrap_or_default()
}

/// Every folder of `account` with attributes, by id.
pub(crate) fn all(account: ZimbraId) -> HashMap<i32, FolderAttrs> {
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    load(&mut map, account)
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect()
}

/// Changes folder `id` of `account` with `f` and saves the account's attributes.
pub(crate) fn update<R>(account: ZimbraId, id: ItemId, f: impl FnOnce(&mut FolderAttrs) -> R) -> R {
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    let attrs = load(&mut map, account);
    let entry = attrs.entry(id.0).or_default();
    let out = f(entry);
    if entry.is_empty() {
        attrs.remove(&id.0);
    }
    let snapshot = attrs.clone();
    drop(map);
    save(account, &snapshot);
    out
}

/// Adds `f` (flags) and `url` to every `folder` and `link` of a GetFolder tree of
/// `account`'s mailbox, and `reminder="1"` to calendar mountpoints that have it, as
/// Zimbra writes them. Runs before ids are qualified with an owner.
pub(crate) fn annotate(account: ZimbraId, tree: &mut Element) {
    let attrs = all(account);
    if !attrs.is_empty() {
        annotate_with(&attrs, tree);
    }
}

fn annotate_with(attrs: &HashMap<i32, FolderAttrs>, el: &mut Element) {
    let is_link = el.name == "link";
    if (el.name == "folder" || is_link)
        && let Some(a) = el
            .attr("id")
            .and_then(|id| id.parse::<i32>().ok())
            .and_then(|id| attrs.get(&id))
    {
        let a = a.clone();
        if !a.flags.is_empty() {
            el.set("f", a.flags.clone());
        }
        if !a.url.is_empty() {
            el.set("url", a.url.clone());
        }
        if is_link && a.reminder && el.attr("view") == Some("appointment") {
            el.set("reminder", "1");
        }
    }
    for kid in &mut el.children {
        annotate_with(attrs, kid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_zimbra_order_and_drop_unknown() {
        assert_eq!(normalize_flags("b#ub#"), "#b");
        let mut a = FolderAttrs::default();
        a.set_flag('b', true);
        a.set_flag('#', true);
        assert_eq!(a.flags, "#b");
        a.set_flag('#', false);
        assert_eq!(a.flags, "b");
        a.set_flag('b', false);
        assert!(a.is_empty());
    }

    #[test]
    fn seen_is_bounded() {
        let mut a = FolderAttrs::default();
        assert!(a.mark_seen("x"));
        assert!(!a.mark_seen("x"));
        for i in 0..MAX_SEEN + 5 {
            a.mark_seen(&i.to_string());
        }
        assert_eq!(a.seen.len(), MAX_SEEN);
    }

    #[test]
    fn update_and_read_back() {
        let acct = ZimbraId::new();
        update(acct, ItemId(300), |a| a.url = "http://127.0.0.1/x".into());
        assert_eq!(get(acct, ItemId(300)).url, "http://127.0.0.1/x");
        assert!(all(acct).contains_key(&300));
        update(acct, ItemId(300), |a| a.url.clear());
        assert!(all(acct).is_empty());
    }
}
