//! Blobs packed in zip files (`--zipStore`, `-z`): one zip per account, a blob shared by
//! two accounts stored once per session, incrementals in their own zip, and restores
//! reading zipped and unzipped sessions alike.

mod common;

use std::path::Path;

use common::*;

use zcs_backup::{BackupOptions, BackupPaths, BlobPackaging, RestoreOptions, restore};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, folder};

/// A home whose directory holds the test domain.
async fn zhome(root: &Path) -> Home {
    let h = home(root).await;
    h.dir
        .create_entry(EntryKind::Domain, "z.test", Attrs::new())
        .await
        .unwrap();
    h
}

fn msg(n: u32) -> Vec<u8> {
    let mut m = format!("Subject: zip {n}\r\n\r\n").into_bytes();
    for i in 0..200 {
        m.extend_from_slice(format!("line {i} of {n}, text that deflates well\r\n").as_bytes());
    }
    m
}

fn zips(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "zip") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn entries(zip: &Path) -> Vec<String> {
    let a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    a.file_names().map(str::to_string).collect()
}

#[tokio::test]
async fn zipped_sessions_store_shared_blobs_once_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let h = zhome(&tmp.path().join("a")).await;
    let a = h.account("a@z.test").await;
    let b = h.account("b@z.test").await;
    let (ma, mb) = (
        h.store.mailbox(a).await.unwrap(),
        h.store.mailbox(b).await.unwrap(),
    );
    fill_inbox(&ma, 0..3, msg, 1).await;
    // Message 0 reaches both accounts: one blob.
    mb.append(ItemId(folder::INBOX), &msg(0), Flags(0), 1)
        .await
        .unwrap();
    mb.append(ItemId(folder::INBOX), &msg(10), Flags(0), 1)
        .await
        .unwrap();
    let store_opts = BackupOptions {
        quiet: true,
        packaging: BlobPackaging::ZipStore,
        ..BackupOptions::default()
    };
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &store_opts)
        .await
        .unwrap();
    assert!(
        !full.dir.join("blobs").exists(),
        "no loose blobs in a zipped session"
    );
    let zs = zips(&full.dir.join("accounts"));
    assert_eq!(zs.len(), 2, "one zip per account: {zs:?}");
    let mut all: Vec<String> = zs.iter().flat_map(|z| entries(z)).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!((n, all.len()), (4, 4), "the shared blob is stored once");
    // --zipStore writes entries uncompressed.
    let mut arch = zip::ZipArchive::new(std::fs::File::open(&zs[0]).unwrap()).unwrap();
    assert_eq!(
        arch.by_index(0).unwrap().compression(),
        zip::CompressionMethod::Stored
    );

    // More mail, then a compressed incremental.
    ma.append(ItemId(folder::INBOX), &msg(20), Flags(0), 1)
        .await
        .unwrap();
    let incr = zcs_backup::incremental_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            packaging: BlobPackaging::Zip,
            ..store_opts.clone()
        },
    )
    .await
    .unwrap();
    let iz = zips(&incr.dir);
    assert_eq!(iz.len(), 1);
    let mut arch = zip::ZipArchive::new(std::fs::File::open(&iz[0]).unwrap()).unwrap();
    assert_eq!(
        arch.by_index(0).unwrap().compression(),
        zip::CompressionMethod::Deflated
    );
    // A plain (unzipped) incremental after it: restores read both kinds in one chain.
    mb.append(ItemId(folder::INBOX), &msg(30), Flags(0), 1)
        .await
        .unwrap();
    zcs_backup::incremental_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            quiet: true,
            ..BackupOptions::default()
        },
    )
    .await
    .unwrap();
    let want_a = inbox(&h.store, a).await;
    let want_b = inbox(&h.store, b).await;
    assert_eq!((want_a.len(), want_b.len()), (4, 3));

    let h2 = zhome(&tmp.path().join("b")).await;
    let paths2 = BackupPaths {
        target: h.paths.target.clone(),
        ..h2.paths.clone()
    };
    let rep = restore(
        &paths2,
        &h2.store,
        &h2.dir,
        &RestoreOptions {
            accounts: vec!["all".into()],
            restore_directory: true,
            quiet: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(rep.failed.is_empty(), "{:?}", rep.failed);
    assert_eq!(inbox(&h2.store, a).await, want_a);
    assert_eq!(inbox(&h2.store, b).await, want_b);
}

#[tokio::test]
async fn a_damaged_zip_fails_only_the_accounts_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let h = zhome(&tmp.path().join("a")).await;
    let a = h.account("a@z.test").await;
    let b = h.account("b@z.test").await;
    for (id, n) in [(a, 1), (b, 2)] {
        h.store
            .mailbox(id)
            .await
            .unwrap()
            .append(ItemId(folder::INBOX), &msg(n), Flags(0), 1)
            .await
            .unwrap();
    }
    let full = zcs_backup::full_backup(
        &h.paths,
        &h.dir,
        &BackupOptions {
            quiet: true,
            packaging: BlobPackaging::Zip,
            ..BackupOptions::default()
        },
    )
    .await
    .unwrap();
    let za = zcs_backup::catalog::account_dir(&full.dir, &a.to_string())
        .join("blobs")
        .join(zcs_backup::zipblobs::ZIP_NAME);
    let bytes = std::fs::read(&za).unwrap();
    std::fs::write(&za, &bytes[..bytes.len() / 2]).unwrap();

    let h2 = zhome(&tmp.path().join("b")).await;
    let paths2 = BackupPaths {
        target: h.paths.target.clone(),
        ..h2.paths.clone()
    };
    let rep = restore(
        &paths2,
        &h2.store,
        &h2.dir,
        &RestoreOptions {
            accounts: vec!["all".into()],
            restore_directory: true,
            continue_on_error: true,
            quiet: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.failed.len(), 1, "{:?}", rep.failed);
    assert_eq!(rep.failed[0].0, "a@z.test");
    assert!(
        rep.failed[0].1.contains("damaged") && rep.failed[0].1.contains("blobs-1.zip"),
        "{}",
        rep.failed[0].1
    );
    assert_eq!(inbox(&h2.store, b).await, vec![msg(2)]);
}
