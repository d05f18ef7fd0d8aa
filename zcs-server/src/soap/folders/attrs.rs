//! Folder attributes on the SOAP side: Zimbra's folder flag characters (`#` checked,
//! `b` exclude from free/busy, `*` subscribed, `i` no inherit, `y` sync folder, `~`
//! sync) to and from the store's flag bits, and writing flags, `url` and a calendar
//! mountpoint's `reminder` into a GetFolder tree. The attributes live in the store
//! ([`zcs_store::FolderAttrs`], with redo records, so backups and replay keep them).
//!
//! Also the one-time import of what earlier versions kept beside the store: JSON files
//! under `<home>/data/folder-attrs/` (one per account, folder id to flags, url,
//! reminder and imported feed items). The first folder request of a server process
//! reads them into the store and renames the directory to `folder-attrs.imported`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::sync::OnceCell;
use zcs_core::{Flags, ItemId, ZimbraId};
use zcs_store::{FolderAttrs, Store, StoreError};

use super::super::element::Element;

/// The folder flags Zimbra lets a client set on a folder (Zimbra's flag characters),
/// in the order GetFolder writes them; other characters in an `f=` value are ignored,
/// as Zimbra's flag parser does.
pub(crate) const FOLDER_FLAGS: &str = "#b*iy~";

/// The store flag bit of folder flag character `c`, `None` for another character.
pub(crate) fn flag_bit(c: char) -> Option<u32> {
    let bits = Flags::from_soap(&c.to_string()).0 & FolderAttrs::FLAG_MASK;
    (bits != 0 && FOLDER_FLAGS.contains(c)).then_some(bits)
}

/// The folder flags of an `f=` value (other characters ignored).
pub(crate) fn parse_flags(f: &str) -> Flags {
    Flags(f.chars().filter_map(flag_bit).fold(0, |acc, b| acc | b))
}

/// The folder flag characters of `flags`, in [`FOLDER_FLAGS`] order.
pub(crate) fn flags_text(flags: Flags) -> String {
    FOLDER_FLAGS
        .chars()
        .filter(|c| flag_bit(*c).is_some_and(|b| flags.contains(b)))
        .collect()
}

/// Adds `f` (flags) and `url` to every `folder` and `link` of a GetFolder tree of
/// `mb`, and `reminder="1"` to calendar mountpoints that have it, as Zimbra writes
/// them. Runs before ids are qualified with an owner.
///
/// # Errors
/// Store faults.
pub(crate) async fn annotate(
    mb: &zcs_store::Mailbox,
    tree: &mut Element,
) -> Result<(), StoreError> {
    let attrs = mb.all_folder_attrs().await?;
    if !attrs.is_empty() {
        annotate_with(&attrs, tree);
    }
    Ok(())
}

fn annotate_with(attrs: &HashMap<ItemId, FolderAttrs>, el: &mut Element) {
    let is_link = el.name == "link";
    if (el.name == "folder" || is_link)
        && let Some(a) = el
            .attr("id")
            .and_then(|id| id.parse::<i32>().ok())
            .and_then(|id| attrs.get(&ItemId(id)))
    {
        let flags = flags_text(a.flags);
        if !flags.is_empty() {
            el.set("f", flags);
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

/// One folder's entry in an earlier version's JSON file.
#[derive(Debug, Default, Deserialize)]
struct Legacy {
    #[serde(default)]
    flags: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    reminder: bool,
    #[serde(default)]
    seen: Vec<String>,
}

/// Imports the JSON files of `<home>/data/folder-attrs/` into `store`, once per
/// process, when the server runs from a zcs home. Failures are logged: the directory
/// then stays and the next process tries again.
pub(crate) async fn import_once(store: &Store) {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        let Some(dir) = legacy_dir() else { return };
        if !dir.is_dir() {
            return;
        }
        match import_dir(store, &dir).await {
            Ok(n) => tracing::info!(folders = n, "folder attributes imported into the store"),
            Err(e) => tracing::warn!(error = %e, "folder attributes not imported"),
        }
    })
    .await;
}

/// `<home>/data/folder-attrs`, when the server runs from a zcs home.
fn legacy_dir() -> Option<PathBuf> {
    let home = crate::home::Home::from_env().ok()?;
    if !home.conf().is_dir() {
        return None;
    }
    Some(home.root().join("data").join("folder-attrs"))
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImportError {
    /// Reading the directory or renaming it failed.
    #[error("folder attribute files: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed (not a missing folder: those are skipped).
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Imports every `<account id>.json` of `dir` into the account's mailbox (accounts
/// without one, unreadable files and folders that no longer exist are skipped with a
/// warning), then renames `dir` to `<dir>.imported`. Returns how many folders were
/// imported.
///
/// # Errors
/// [`ImportError`] for directory or store failures; `dir` is left in place.
pub(crate) async fn import_dir(store: &Store, dir: &Path) -> Result<usize, ImportError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut n = 0;
    for path in files {
        let Some(account) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<ZimbraId>().ok())
        else {
            tracing::warn!(file = %path.display(), "folder attribute file not named by an account");
            continue;
        };
        let map: BTreeMap<i32, Legacy> = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "folder attribute file bad");
                continue;
            }
        };
        let Some(mb) = store.find_mailbox(account).await? else {
            tracing::warn!(account = %account, "folder attributes of no mailbox skipped");
            continue;
        };
        for (id, legacy) in map {
            match import_folder(&mb, ItemId(id), legacy).await {
                Ok(()) => n += 1,
                Err(StoreError::NoSuchFolder(_)) => {
                    tracing::warn!(account = %account, folder = id, "missing folder skipped");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut done = dir.as_os_str().to_owned();
    done.push(".imported");
    std::fs::rename(dir, PathBuf::from(done))?;
    Ok(n)
}

async fn import_folder(
    mb: &zcs_store::Mailbox,
    id: ItemId,
    legacy: Legacy,
) -> Result<(), StoreError> {
    let flags = parse_flags(&legacy.flags);
    let url = legacy.url;
    let reminder = legacy.reminder;
    mb.update_folder_attrs(id, move |a| {
        a.flags = flags;
        a.url = url;
        a.reminder = reminder;
    })
    .await?;
    if !legacy.seen.is_empty() {
        match mb.mark_feed_seen(id, legacy.seen, true).await {
            // A mountpoint has no feed list.
            Ok(_) | Err(StoreError::NoSuchFolder(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::folder;

    #[test]
    fn flags_keep_zimbra_order_and_drop_unknown() {
        assert_eq!(flags_text(parse_flags("b#ub#")), "#b");
        assert_eq!(flags_text(parse_flags("~y*i")), "*iy~");
        assert_eq!(parse_flags("uf!"), Flags(0));
        assert_eq!(flag_bit('#'), Some(Flags::CHECKED));
        assert_eq!(flag_bit('u'), None);
    }

    #[tokio::test]
    async fn json_files_are_imported_once_and_the_directory_renamed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(zcs_store::StoreConfig::under(tmp.path().join("store")))
            .await
            .unwrap();
        let acct = ZimbraId::new();
        let mb = store.mailbox(acct).await.unwrap();
        let feed = mb
            .create_folder(ItemId(folder::USER_ROOT), "feed")
            .await
            .unwrap();
        let dir = tmp.path().join("folder-attrs");
        std::fs::create_dir_all(&dir).unwrap();
        let body = format!(
            r##"{{"{}": {{"flags": "b#", "url": "http://127.0.0.1/f", "seen": ["a", "b"]}},
                 "{}": {{"flags": "#"}}, "99999": {{"flags": "#"}}}}"##,
            feed.id.0,
            folder::CALENDAR
        );
        std::fs::write(dir.join(format!("{acct}.json")), body).unwrap();
        std::fs::write(dir.join("junk.json"), "{").unwrap();
        std::fs::write(dir.join(format!("{}.json", ZimbraId::new())), "{}").unwrap();

        assert_eq!(import_dir(&store, &dir).await.unwrap(), 2);
        assert!(!dir.exists());
        assert!(tmp.path().join("folder-attrs.imported").is_dir());
        let a = mb.folder_attrs(feed.id).await.unwrap();
        assert_eq!(flags_text(a.flags), "#b");
        assert_eq!(a.url, "http://127.0.0.1/f");
        assert_eq!(mb.feed_seen(feed.id).await.unwrap(), vec!["a", "b"]);
        let cal = mb.folder_attrs(ItemId(folder::CALENDAR)).await.unwrap();
        assert_eq!(cal.flags, Flags(Flags::CHECKED));

        let mut tree = Element::new("folder");
        tree.set("id", feed.id.0.to_string());
        annotate(&mb, &mut tree).await.unwrap();
        assert_eq!(tree.attr("f"), Some("#b"));
        assert_eq!(tree.attr("url"), Some("http://127.0.0.1/f"));
        store.close().await;
    }
}
