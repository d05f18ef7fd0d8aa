//! The fixture every backup test starts from: a zcs home on a temporary directory (the
//! store's database, blob volume and redo log, an SQLite directory under `conf/`, the
//! backup target beside them), with helpers to make accounts and read an inbox back.
//! Each test file takes what it needs, so some helpers go unused in some files.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use zcs_backup::{BackupOptions, BackupPaths};
use zcs_core::{Attrs, Entry, EntryKind, Flags, ItemId, ZimbraId, folder};
use zcs_directory::{Directory, EntryKey, SqlDirectory};
use zcs_store::{Mailbox, Store, StoreConfig};

/// A home's paths, its open store and directory.
pub struct Home {
    pub paths: BackupPaths,
    pub store: Store,
    pub dir: Arc<dyn Directory>,
}

/// Opens (creating) the home at `root`.
pub async fn home(root: &Path) -> Home {
    let paths = BackupPaths::for_home(root);
    let store = store_at(&paths).await;
    std::fs::create_dir_all(root.join("conf")).unwrap();
    let dir: Arc<dyn Directory> = Arc::new(
        SqlDirectory::open_sqlite(&root.join("conf/directory.db"))
            .await
            .unwrap(),
    );
    Home { paths, store, dir }
}

/// The store of `paths`.
pub async fn store_at(paths: &BackupPaths) -> Store {
    Store::open(StoreConfig {
        db_path: paths.db.clone(),
        blob_root: paths.store.clone(),
        redo_dir: paths.redolog.clone(),
    })
    .await
    .unwrap()
}

impl Home {
    /// Creates the account `name`, and its domain first when the directory lacks it.
    pub async fn account(&self, name: &str) -> ZimbraId {
        let domain = name.rsplit('@').next().unwrap_or(name);
        let key = EntryKey::Name(domain.into());
        if self
            .dir
            .get_entry(EntryKind::Domain, &key)
            .await
            .unwrap()
            .is_none()
        {
            self.dir
                .create_entry(EntryKind::Domain, domain, Attrs::new())
                .await
                .unwrap();
        }
        self.dir
            .create_entry(EntryKind::Account, name, Attrs::new())
            .await
            .unwrap()
            .id
    }

    /// The account entry `name`, which must exist.
    pub async fn entry(&self, name: &str) -> Entry {
        self.dir
            .get_entry(EntryKind::Account, &EntryKey::Name(name.into()))
            .await
            .unwrap()
            .unwrap()
    }

    /// The id of the account `name`, which must exist.
    pub async fn id_of(&self, name: &str) -> ZimbraId {
        self.entry(name).await.id
    }
}

/// Backup options with no progress output.
pub fn quiet() -> BackupOptions {
    BackupOptions {
        quiet: true,
        ..BackupOptions::default()
    }
}

/// Appends `make(n)` to `mb`'s inbox, unflagged and dated `date_ms`, for each `n` of
/// `ns`, in order.
pub async fn fill_inbox<T>(
    mb: &Mailbox,
    ns: impl IntoIterator<Item = T>,
    make: impl Fn(T) -> Vec<u8>,
    date_ms: i64,
) {
    for n in ns {
        mb.append(ItemId(folder::INBOX), &make(n), Flags(0), date_ms)
            .await
            .unwrap();
    }
}

/// Every message of `id`'s inbox, raw, sorted.
pub async fn inbox(store: &Store, id: ZimbraId) -> Vec<Vec<u8>> {
    let mb = store.mailbox(id).await.unwrap();
    let mut out = Vec::new();
    for m in mb.messages(ItemId(folder::INBOX)).await.unwrap() {
        out.push(mb.read_message(m.id).await.unwrap());
    }
    out.sort();
    out
}
