//! Backups under stress: a disk that fills up mid-session (through the space seam of
//! `BackupOptions::space_limit`), a session left `.incomplete` by a killed backup,
//! blobs compressed or kept on a secondary volume (backed up and restored
//! byte-identical), `--exclude-blobs`/`--exclude-hsm-blobs`, a restore killed midway
//! (the account stays in maintenance; the rerun finishes it) and damaged backups (a
//! truncated blob, a flipped byte in account metadata or in the catalog, an account
//! missing from the catalog: each named, the rest restored with `-c`).

mod common;

use std::path::Path;

use common::*;

use zcs_backup::{BackupError, BackupOptions, BackupPaths, RestoreOptions, catalog, restore};
use zcs_core::{EntryKind, Flags, ItemId, folder};
use zcs_store::{VolumeAdmin, VolumeBlobStore, VolumeSpec, VolumeType};

/// A message big enough to be compressed (over the 4096-byte default threshold).
fn big(n: u32) -> Vec<u8> {
    let mut m = format!("Subject: big {n}\r\n\r\n").into_bytes();
    for i in 0..400 {
        m.extend_from_slice(format!("line {i} of message {n}, compressible text\r\n").as_bytes());
    }
    m
}

#[tokio::test]
async fn disk_full_mid_backup_fails_cleanly_and_keeps_earlier_backups() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("u@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..6, big, 1).await;
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
    // The earlier backup restores (with the message only the server's redo log holds),
    // and the next backup works.
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
    assert_eq!(inbox(&h.store, new_id).await.len(), 7);
    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_killed_backup_leaves_nothing_the_next_one_trips_on() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("u@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(ItemId(folder::INBOX), &big(1), Flags(0), 1)
        .await
        .unwrap();
    // What `kill -9` mid-backup leaves: a session under sessions_tmp/ whose writer is
    // gone (spec 04 test idea 12), and one as older versions named it.
    let legacy = catalog::sessions_dir(&h.paths.target).join("full-20191231.000000.000.incomplete");
    std::fs::create_dir_all(&legacy).unwrap();
    let stale = catalog::tmp_sessions_dir(&h.paths.target).join("full-20200101.000000.000");
    std::fs::create_dir_all(stale.join("sys")).unwrap();
    std::fs::write(stale.join("owner.pid"), "999999999").unwrap();
    std::fs::write(stale.join("sys/mailbox.db"), b"half").unwrap();
    let rep = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert!(!stale.exists(), "the dead session was not cleaned up");
    assert!(
        !legacy.exists(),
        "the dead legacy session was not cleaned up"
    );
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
    let id = h.account("v@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..4, big, 1).await;
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

fn status(e: &zcs_core::Entry) -> String {
    e.attrs
        .get("zimbraAccountStatus")
        .unwrap_or("active")
        .to_string()
}

#[tokio::test]
async fn a_killed_restore_leaves_the_account_in_maintenance_and_the_rerun_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("k@f.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..3, big, 1).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    fill_inbox(&mb, 3..5, big, 1).await;
    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // A change after the backup: only the server's redo log holds it.
    mb.append(ItemId(folder::INBOX), &big(9), Flags(0), 1)
        .await
        .unwrap();

    // The restore stops for good after the rows are in, before the replay.
    let opts = RestoreOptions {
        accounts: vec!["k@f.test".into()],
        quiet: true,
        ..RestoreOptions::default()
    };
    let (paths, store, dir) = (h.paths.clone(), h.store.clone(), h.dir.clone());
    let held = RestoreOptions {
        drill_pause_ms: Some(30_000),
        ..opts.clone()
    };
    let task = tokio::spawn(async move { restore(&paths, &store, &dir, &held).await });
    let journal = zcs_backup::journal::Journal::open(&h.paths.target);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while journal.pending().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    // Half-restored (the full's rows, not the incremental's): never looks complete.
    let e = h.entry("k@f.test").await;
    assert_eq!(status(&e), "maintenance");
    let pending = journal.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].previous_status, "active");

    // The rerun restores it whole and puts its status back.
    let rep = restore(&h.paths, &h.store, &h.dir, &opts).await.unwrap();
    assert_eq!(rep.resumed, vec!["k@f.test".to_string()]);
    assert_eq!(status(&h.entry("k@f.test").await), "active");
    assert!(journal.pending().is_empty());
    let want: Vec<Vec<u8>> = {
        let mut v: Vec<Vec<u8>> = (0..5).chain([9]).map(big).collect();
        v.sort();
        v
    };
    assert_eq!(inbox(&h.store, id).await, want);
}

/// Files of a session to damage.
fn session_file(dir: &Path, rel: &str) -> std::path::PathBuf {
    dir.join(rel)
}

#[tokio::test]
async fn a_damaged_backup_is_named_and_continue_on_error_restores_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let mut ids = Vec::new();
    for (i, name) in ["blob@f.test", "meta@f.test", "cat@f.test", "ok@f.test"]
        .iter()
        .enumerate()
    {
        let id = h.account(name).await;
        let mb = h.store.mailbox(id).await.unwrap();
        mb.append(ItemId(folder::INBOX), &big(100 + i as u32), Flags(0), 1)
            .await
            .unwrap();
        ids.push(id);
    }
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // 1. A truncated blob.
    let blob = zcs_store::FileBlobStore::new(full.dir.join("blobs"))
        .path_for(&zcs_store::blob_digest(&big(100)))
        .unwrap();
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    // 2. A flipped byte in an account's metadata (still valid JSON).
    let meta = catalog::account_dir(&full.dir, &ids[1].to_string()).join("account.json");
    let mut text = std::fs::read(&meta).unwrap();
    let at = text
        .windows(4)
        .position(|w| w == b"meta")
        .expect("the name is in the file");
    text[at] = b'n';
    std::fs::write(&meta, &text).unwrap();
    // 3. An account missing from the catalog (rewritten with a valid checksum, as a
    //    buggy writer would leave it).
    let mut cat = catalog::read_catalog(&full.dir).unwrap();
    cat.accounts.retain(|a| a.name != "cat@f.test");
    let json = serde_json::to_vec_pretty(&cat).unwrap();
    std::fs::write(session_file(&full.dir, catalog::CATALOG_FILE), &json).unwrap();
    std::fs::write(
        session_file(&full.dir, catalog::CATALOG_SUM),
        catalog::sha256_hex(&json),
    )
    .unwrap();

    // The live accounts have moved on since; a failed restore must not touch them.
    for id in &ids {
        let mb = h.store.mailbox(*id).await.unwrap();
        mb.append(ItemId(folder::INBOX), &big(200), Flags(0), 1)
            .await
            .unwrap();
    }
    let one = |name: &str| RestoreOptions {
        accounts: vec![name.to_string()],
        quiet: true,
        ..RestoreOptions::default()
    };
    let err = restore(&h.paths, &h.store, &h.dir, &one("meta@f.test"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("account.json is damaged"), "{err}");
    let err = restore(&h.paths, &h.store, &h.dir, &one("cat@f.test"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing from its catalog"), "{err}");
    // In place, the damaged blob is not needed (the volume still has it).
    restore(&h.paths, &h.store, &h.dir, &one("blob@f.test"))
        .await
        .unwrap();
    // The message after the backup comes back from the server's redo log.
    let mut want = vec![big(100), big(200)];
    want.sort();
    assert_eq!(inbox(&h.store, ids[0]).await, want);
    // The failed ones were not touched: still two messages, still active.
    for (id, name) in ids
        .iter()
        .zip(["blob@f.test", "meta@f.test", "cat@f.test"])
        .skip(1)
    {
        assert_eq!(inbox(&h.store, *id).await.len(), 2, "{name}");
        assert_eq!(status(&h.entry(name).await), "active", "{name}");
    }

    // Onto a new server, where the blob must come from the backup. Without -c the
    // restore stops at the first damaged account; with -c the healthy one is restored
    // and each failure is listed with its reason.
    let h2 = home(&tmp.path().join("b")).await;
    let paths2 = BackupPaths {
        target: h.paths.target.clone(),
        ..h2.paths.clone()
    };
    let all = RestoreOptions {
        accounts: vec!["all".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    assert!(restore(&paths2, &h2.store, &h2.dir, &all).await.is_err());
    let rep = restore(
        &paths2,
        &h2.store,
        &h2.dir,
        &RestoreOptions {
            continue_on_error: true,
            ..all.clone()
        },
    )
    .await
    .unwrap();
    let mut failed: Vec<&str> = rep.failed.iter().map(|(n, _)| n.as_str()).collect();
    failed.sort();
    assert_eq!(failed, vec!["blob@f.test", "cat@f.test", "meta@f.test"]);
    let why = &rep
        .failed
        .iter()
        .find(|(n, _)| n == "blob@f.test")
        .unwrap()
        .1;
    assert!(
        why.contains("damaged") && why.contains(&zcs_store::blob_digest(&big(100))),
        "{why}"
    );
    assert_eq!(rep.restored.len(), 1);
    assert_eq!(rep.restored[0].0, "ok@f.test");
    assert_eq!(inbox(&h2.store, ids[3]).await, vec![big(103)]);
    // The account whose rows could not be copied is not left in maintenance.
    assert_eq!(status(&h2.entry("blob@f.test").await), "active");
    assert!(
        zcs_backup::journal::Journal::open(&h.paths.target)
            .pending()
            .is_empty()
    );

    // 4. A flipped byte in the catalog itself: named, nothing restored.
    let mut bytes = std::fs::read(session_file(&full.dir, catalog::CATALOG_FILE)).unwrap();
    let at = bytes.iter().position(|b| *b == b'c').unwrap();
    bytes[at] = b'C';
    std::fs::write(session_file(&full.dir, catalog::CATALOG_FILE), &bytes).unwrap();
    let err = restore(&h.paths, &h.store, &h.dir, &one("ok@f.test"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("session.json is damaged"), "{err}");
}
