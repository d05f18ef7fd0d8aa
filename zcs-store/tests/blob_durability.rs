//! New messages' blob files are written without an fsync; their bytes are durable in the
//! redo log's blob frames. These tests stand in for a power cut by tearing the blob
//! files whose frames are in `redo.log` (the only ones the operating system may not have
//! written yet) after an unclean stop, and check that open rewrites them, that nothing
//! acknowledged is lost, that a deleted message's blob is not brought back, and that a
//! clean close spares the next open the check.

mod common;

use std::path::PathBuf;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{FileBlobStore, Store, StoreConfig};

const MARKER: &str = "redo.log.synced";

/// The blob files of every frame in `redo.log` (plain or compressed), as they would be
/// named on the store's primary volume.
fn framed_blob_files(cfg: &StoreConfig) -> Vec<PathBuf> {
    let bytes = std::fs::read(cfg.redo_dir.join("redo.log")).unwrap();
    let volume = FileBlobStore::new(cfg.blob_root.clone());
    zcs_store::redo::decode_log(&bytes)
        .blobs
        .iter()
        .flat_map(|f| {
            [
                volume.path_for(&f.digest).unwrap(),
                volume.compressed_path_for(&f.digest).unwrap(),
            ]
        })
        .filter(|p| p.exists())
        .collect()
}

/// What a power cut can do to files whose data was never synced: gone, empty, or with
/// garbage in them, in turn.
fn tear(files: &[PathBuf]) {
    for (i, p) in files.iter().enumerate() {
        match i % 3 {
            0 => std::fs::remove_file(p).unwrap(),
            1 => std::fs::File::create(p).unwrap().set_len(0).unwrap(),
            _ => {
                let mut b = std::fs::read(p).unwrap();
                let mid = b.len() / 2;
                b[mid] ^= 0xff;
                std::fs::write(p, b).unwrap();
            }
        }
    }
}

/// A clean close leaves the marker; an unclean stop does not: removing it after the
/// close makes the directory look like one left by a crash after the last append.
fn as_if_crashed(cfg: &StoreConfig) {
    let marker = cfg.redo_dir.join(MARKER);
    assert!(marker.exists(), "a clean close writes {MARKER}");
    std::fs::remove_file(marker).unwrap();
}

#[tokio::test]
async fn torn_blob_files_are_rewritten_from_the_redo_log() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..30 {
        let m = mb
            .append(ItemId(folder::INBOX), &simple_message(n), Flags(0), 1)
            .await
            .unwrap();
        ids.push((m.id, n));
    }
    // A message deleted before the stop: its blob must not come back.
    let gone = mb
        .append(ItemId(folder::INBOX), &simple_message(999), Flags(0), 1)
        .await
        .unwrap();
    mb.delete_items(&[gone.id]).await.unwrap();
    drop(mb);
    store.close().await;

    as_if_crashed(&cfg);
    let files = framed_blob_files(&cfg);
    assert_eq!(files.len(), 30, "one file per live message: {files:?}");
    tear(&files);

    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(store.recovery_report().blobs_restored, 30);
    assert_eq!(store.recovery_report().missing_blobs, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    for (id, n) in &ids {
        assert_eq!(mb.read_message(*id).await.unwrap(), simple_message(*n));
    }
    let volume = FileBlobStore::new(cfg.blob_root.clone());
    let gone_path = volume.path_for(&gone.blob_digest).unwrap();
    assert!(
        !gone_path.exists(),
        "a deleted message's blob stays deleted"
    );
    drop(mb);
    store.close().await;

    // A second unclean stop finds every file whole.
    as_if_crashed(&cfg);
    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(store.recovery_report().blobs_restored, 0);
    store.close().await;
}

#[tokio::test]
async fn a_clean_close_spares_the_next_open_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    drop(mb);
    store.close().await;
    assert!(cfg.redo_dir.join(MARKER).exists());

    // With the marker, open trusts the synced files and does not read them back, so
    // a file damaged after the close (not a crash) is not noticed here.
    tear(&framed_blob_files(&cfg)[..1]);
    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(store.recovery_report().blobs_restored, 0);
    assert!(
        !cfg.redo_dir.join(MARKER).exists(),
        "open takes the marker, so a later crash cannot lean on it"
    );
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert!(mb.read_message(m.id).await.is_err());
    drop(mb);
    store.close().await;

    // The marker no longer matches once the log grew: everything past it is checked.
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let m2 = mb
        .append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 1)
        .await
        .unwrap();
    drop(mb);
    store.close().await;
    as_if_crashed(&cfg);
    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(
        store.recovery_report().blobs_restored,
        1,
        "the first blob, torn while the marker vouched for it, is rewritten too"
    );
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.read_message(m.id).await.unwrap(), simple_message(1));
    assert_eq!(mb.read_message(m2.id).await.unwrap(), simple_message(2));
    drop(mb);
    store.close().await;
}

/// The child half of the kill tests (see `common::crash`).
#[test]
fn blob_crash_child_writer() {
    common::crash::child_appends_forever();
}

/// `kill -9` of a process appending, then every blob file it may not have synced torn.
#[tokio::test]
async fn kill_minus_nine_then_torn_blobs_loses_nothing_acknowledged() {
    kill_tear_and_check(None).await;
}

/// The same around rollovers: blobs named by archived logs were synced before the
/// rename, so only the current file's are torn, and all must come back.
#[tokio::test]
async fn kill_minus_nine_around_rollovers_then_torn_blobs_loses_nothing() {
    kill_tear_and_check(Some(8192)).await;
}

async fn kill_tear_and_check(rollover: Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let acked =
        common::crash::run_and_kill("blob_crash_child_writer", dir.path(), acct, rollover, 150);
    assert!(
        !cfg.redo_dir.join(MARKER).exists(),
        "a killed writer leaves no marker"
    );
    let files = framed_blob_files(&cfg);
    // Right after a rollover the fresh `redo.log` may hold no frame yet.
    assert!(rollover.is_some() || !files.is_empty());
    tear(&files);

    let store = Store::open(cfg.clone()).await.unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.failed, 0);
    assert_eq!(report.missing_blobs, 0);
    // A frame whose record a kill cut off may name a blob no row references: that
    // one is rewritten and removed again, and not counted.
    assert!(
        report.blobs_restored <= files.len()
            && report.blobs_restored >= files.len().saturating_sub(1),
        "{report:?}, {} files torn",
        files.len()
    );
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    for (id, n) in &acked {
        let raw = mb.read_message(ItemId(*id)).await.unwrap();
        assert_eq!(raw, simple_message(*n), "item {id}");
    }
    if rollover.is_some() {
        let archived = store.archived_redo_logs().await.unwrap();
        assert!(archived.len() > 2, "{archived:?}");
    }
    drop(mb);
    store.close().await;
}
