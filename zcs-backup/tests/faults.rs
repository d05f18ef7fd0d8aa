//! Backups under stress: a disk that fills up mid-session (through the space seam of
//! `BackupOptions::space_limit`), a session left `.incomplete` by a killed backup,
//! blobs compressed or kept on a secondary volume (backed up and restored
//! byte-identical), `--exclude-blobs`/`--exclude-hsm-blobs`, and `zmbackup -del`.

use std::path::Path;
use std::sync::Arc;

use zcs_backup::{BackupError, BackupOptions, BackupPaths, RestoreOptions, catalog, restore};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, ZimbraId, folder};
use zcs_directory::{Directory, SqlDirectory};
use zcs_store::{Store, StoreConfig, VolumeAdmin, VolumeBlobStore, VolumeSpec, VolumeType};

struct Home {
    paths: BackupPaths,
    store: Store,
    dir: Arc<dyn Directory>,
}

async fn home(root: &Path) -> Home {
    let paths = BackupPaths::for_home(root);
    let store = Store::open(StoreConfig {
        db_path: paths.db.clone(),
        blob_root: paths.store.clone(),
        redo_dir: paths.redolog.clone(),
    })
    .await
    .unwrap();
    std::fs::create_dir_all(root.join("conf")).unwrap();
    let dir: Arc<dyn Directory> = Arc::new(
        SqlDirectory::open_sqlite(&root.join("conf/directory.db"))
            .await
            .unwrap(),
    );
    Home { paths, store, dir }
}

fn quiet() -> BackupOptions {
    BackupOptions {
        quiet: true,
        ..BackupOptions::default()
    }
}

/// A message big enough to be compressed (over the 4096-byte default threshold).
fn big(n: u32) -> Vec<u8> {
    let mut m = format!("Subject: big {n}\r\n\r\n").into_bytes();
    for i in 0..400 {
        m.extend_from_slice(format!("line {i} of message {n}, compressible text\r\n").as_bytes());
    }
    m
}

async fn account(h: &Home, name: &str) -> ZimbraId {
    if h.dir
        .get_entry(
            EntryKind::Domain,
            &zcs_directory::EntryKey::Name("f.test".into()),
        )
        .await
        .unwrap()
        .is_none()
    {
        h.dir
            .create_entry(EntryKind::Domain, "f.test", Attrs::new())
            .await
            .unwrap();
    }
    h.dir
        .create_entry(EntryKind::Account, name, Attrs::new())
        .await
        .unwrap()
        .id
}

async fn inbox(store: &Store, id: ZimbraId) -> Vec<Vec<u8>> {
    let mb = store.mailbox(id).await.unwrap();
    let mut out = Vec::new();
    for m in mb.messages(ItemId(folder::INBOX)).await.unwrap() {
        out.push(mb.read_message(m.id).await.unwrap());
    }
    out.sort();
    out
}

#[tokio::test]
async fn disk_full_mid_backup_fails_cleanly_and_keeps_earlier_backups() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = account(&h, "u@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    for n in 0..6 {
        mb.append(ItemId(folder::INBOX), &big(n), Flags(0), 1)
            .await
            .unwrap();
    }
    let first = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // The next session's disk holds the database copy and a blob or two, then fills.
    let db = std::fs::metadata(&h.paths.db).unwrap().len();
    let full = BackupOptions {
        space_limit: Some(db + 6000),
        ..quiet()
    };
    let err = zcs_backup::full_backup(&h.paths, &h.dir, &full)
        .await
        .unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("disk is full") && text.contains(&first.label),
        "{text}"
    );
    assert!(matches!(err, BackupError::DiskFull { .. }));
    // Nothing half-written is left, nothing new looks complete.
    assert!(catalog::incomplete_sessions(&h.paths.target).is_empty());
    let labels: Vec<String> = catalog::list_sessions(&h.paths.target)
        .unwrap()
        .into_iter()
        .map(|s| s.catalog.label)
        .collect();
    assert_eq!(labels, vec![first.label.clone()]);
    // An incremental on a full disk fails the same way.
    mb.append(ItemId(folder::INBOX), &big(99), Flags(0), 1)
        .await
        .unwrap();
    let incr = BackupOptions {
        space_limit: Some(10),
        ..quiet()
    };
    let err = zcs_backup::incremental_backup(&h.paths, &h.dir, &incr)
        .await
        .unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    // The earlier backup restores, and the next backup works.
    let ropts = RestoreOptions {
        accounts: vec!["u@f.test".into()],
        prefix: Some("r_".into()),
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore(&h.paths, &h.store, &h.dir, &ropts).await.unwrap();
    let new_id = h
        .dir
        .get_entry(
            EntryKind::Account,
            &zcs_directory::EntryKey::Name(rep.restored[0].1.clone()),
        )
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(inbox(&h.store, new_id).await.len(), 6);
    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_killed_backup_leaves_nothing_the_next_one_trips_on() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = account(&h, "u@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(ItemId(folder::INBOX), &big(1), Flags(0), 1)
        .await
        .unwrap();
    // What `kill -9` mid-backup leaves: an .incomplete session whose writer is gone.
    let stale = catalog::sessions_dir(&h.paths.target).join("full-20200101.000000.000.incomplete");
    std::fs::create_dir_all(stale.join("sys")).unwrap();
    std::fs::write(stale.join("owner.pid"), "999999999").unwrap();
    std::fs::write(stale.join("sys/mailbox.db"), b"half").unwrap();
    let rep = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert!(!stale.exists(), "the dead session was not cleaned up");
    assert_eq!(catalog::list_sessions(&h.paths.target).unwrap().len(), 1);
    assert!(rep.dir.join(catalog::CATALOG_FILE).exists());
}

#[tokio::test]
async fn compressed_and_secondary_volume_blobs_restore_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let h = home(&root).await;
    let admin = VolumeAdmin::open(&h.paths.db, &h.paths.store)
        .await
        .unwrap();
    // A compressing primary volume (made current) and a secondary (HSM) one.
    let zvol = admin
        .add(&VolumeSpec {
            name: Some("z".into()),
            kind: Some(VolumeType::PrimaryMessage),
            path: Some(root.join("store2")),
            compress: Some(true),
            compression_threshold: Some(1024),
        })
        .await
        .unwrap();
    admin.set_current(zvol.id).await.unwrap();
    let hsm = admin
        .add(&VolumeSpec {
            name: Some("hsm".into()),
            kind: Some(VolumeType::SecondaryMessage),
            path: Some(root.join("hsm")),
            compress: Some(false),
            compression_threshold: None,
        })
        .await
        .unwrap();
    let id = account(&h, "v@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    for n in 0..4 {
        mb.append(ItemId(folder::INBOX), &big(n), Flags(0), 1)
            .await
            .unwrap();
    }
    // Two of them move to the secondary volume.
    let vbs = VolumeBlobStore::open(&h.paths.db).unwrap();
    let moved: Vec<String> = [big(0), big(1)]
        .iter()
        .map(|m| zcs_store::blob_digest(m))
        .collect();
    for d in &moved {
        assert!(vbs.move_blob(d, &hsm).unwrap().is_some());
    }
    let gz = vbs
        .locate(&zcs_store::blob_digest(&big(2)))
        .unwrap()
        .unwrap();
    assert!(gz.compressed, "the test needs a compressed blob");
    let want = inbox(&h.store, id).await;

    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // The session keeps the gzip file as the volume stored it.
    let session_gz = zcs_store::FileBlobStore::new(full.dir.join("blobs"))
        .compressed_path_for(&zcs_store::blob_digest(&big(2)))
        .unwrap();
    assert_eq!(
        std::fs::read(&session_gz).unwrap(),
        std::fs::read(&gz.path).unwrap()
    );

    // Restored into a new home: every message byte-identical.
    let h2 = home(&tmp.path().join("b")).await;
    let paths2 = BackupPaths {
        target: h.paths.target.clone(),
        ..h2.paths.clone()
    };
    let ropts = RestoreOptions {
        accounts: vec!["all".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    restore(&paths2, &h2.store, &h2.dir, &ropts).await.unwrap();
    assert_eq!(inbox(&h2.store, id).await, want);

    // --exclude-hsm-blobs leaves the secondary volume's blobs out, --exclude-blobs all.
    let no_hsm = zcs_backup::full_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            exclude_hsm_blobs: true,
            ..quiet()
        },
    )
    .await
    .unwrap();
    assert_eq!(no_hsm.blobs, 2);
    let no_blobs = zcs_backup::full_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            exclude_blobs: true,
            ..quiet()
        },
    )
    .await
    .unwrap();
    assert_eq!(no_blobs.blobs, 0);
    let cat = catalog::read_catalog(&no_blobs.dir).unwrap();
    assert_eq!(cat.excludes, vec!["blobs".to_string()]);
    // A restore from it in place works while the blobs are still on the volumes.
    let in_place = RestoreOptions {
        accounts: vec!["v@f.test".into()],
        label: Some(no_blobs.label.clone()),
        quiet: true,
        ..RestoreOptions::default()
    };
    restore(&h.paths, &h.store, &h.dir, &in_place)
        .await
        .unwrap();
    assert_eq!(inbox(&h.store, id).await, want);
}
