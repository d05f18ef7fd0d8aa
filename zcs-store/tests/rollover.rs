//! Redo log rollover: a tiny rollover size archives `redo.log` many times; the
//! archive names give contiguous sequence ranges; a lost or stale database is rebuilt
//! by replaying across archived files and the current one; archives wholly below the
//! checkpoint are not read; a damaged archive refuses the open.

mod common;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Mailbox, MessageMeta, Store, StoreConfig, StoreError, StoreOptions, Tag};

const INBOX: ItemId = ItemId(folder::INBOX);

fn tiny() -> StoreOptions {
    StoreOptions {
        redo_rollover_bytes: 2048,
    }
}

/// Messages, tags and change number of a mailbox.
async fn state(mb: &Mailbox) -> (i64, Vec<MessageMeta>, Vec<Tag>, usize) {
    let mut msgs = Vec::new();
    let folders = mb.folders().await.unwrap();
    for f in &folders {
        msgs.extend(mb.messages(f.id).await.unwrap());
    }
    (
        mb.change_number().await.unwrap().0,
        msgs,
        mb.tags().await.unwrap(),
        folders.len(),
    )
}

async fn work(mb: &Mailbox, from: usize, n: usize) {
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), &format!("f{from}"))
        .await
        .unwrap();
    for i in from..from + n {
        let m = mb
            .append_tagged(
                INBOX,
                &simple_message(i),
                Flags(0),
                &[format!("t{}", i % 3)],
                1,
            )
            .await
            .unwrap();
        if i % 2 == 0 {
            mb.move_items(&[m.id], f.id).await.unwrap();
        }
        if i % 5 == 0 {
            mb.delete_items(&[m.id]).await.unwrap();
        }
    }
}

fn remove_db(cfg: &StoreConfig) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test]
async fn default_rollover_is_zimbras() {
    assert_eq!(
        StoreOptions::default().redo_rollover_bytes,
        1_048_576 * 1024
    );
    assert_eq!(StoreOptions::with_rollover_kb(2).redo_rollover_bytes, 2048);
}

#[tokio::test]
async fn replay_across_archived_logs_rebuilds_a_lost_database() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    work(&mb, 0, 40).await;
    let want = state(&mb).await;
    let archived = store.archived_redo_logs().await.unwrap();
    assert!(archived.len() >= 5, "{archived:?}");
    // Contiguous, starting at the first record.
    assert_eq!(archived[0].first_seq, 1);
    for w in archived.windows(2) {
        assert_eq!(w[1].first_seq, w[0].last_seq + 1, "{archived:?}");
    }
    for a in &archived {
        let len = std::fs::metadata(&a.path).unwrap().len();
        assert!(len >= 2048, "rolled early: {len}");
        let name = a.path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(&format!("redo-{:020}-", a.first_seq)),
            "{name}"
        );
    }
    assert!(cfg.redo_dir.join("redo.log").exists());
    store.close().await;

    remove_db(&cfg);
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.archived_logs_read, archived.len(), "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.missing_blobs, 0, "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(state(&mb).await, want);
    // Sequences continue after the archives: more work, more archives, still contiguous.
    work(&mb, 100, 10).await;
    let more = store.archived_redo_logs().await.unwrap();
    for w in more.windows(2) {
        assert_eq!(w[1].first_seq, w[0].last_seq + 1, "{more:?}");
    }
    store.close().await;
}

#[tokio::test]
async fn a_stale_database_reads_only_the_archives_past_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    work(&store.mailbox(acct).await.unwrap(), 0, 20).await;
    store.close().await;
    let old = dir.path().join("old.sqlite");
    std::fs::copy(&cfg.db_path, &old).unwrap();

    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    assert_eq!(store.recovery_report().archived_logs_read, 0);
    let before = store.archived_redo_logs().await.unwrap().len();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    work(&mb, 50, 20).await;
    let want = state(&mb).await;
    let after = store.archived_redo_logs().await.unwrap().len();
    assert!(after > before + 2);
    store.close().await;

    remove_db(&cfg);
    std::fs::copy(&old, &cfg.db_path).unwrap();
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    let report = store.recovery_report().clone();
    assert!(report.replayed > 20, "{report:?}");
    assert!(
        report.archived_logs_read <= after - before + 1,
        "{report:?}"
    );
    assert!(
        report.archived_logs_read >= after - before - 1,
        "{report:?}"
    );
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(state(&mb).await, want);
    store.close().await;
}

#[tokio::test]
async fn a_damaged_archive_needed_for_recovery_refuses_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    work(&store.mailbox(ZimbraId::new()).await.unwrap(), 0, 30).await;
    let archived = store.archived_redo_logs().await.unwrap();
    store.close().await;
    assert!(archived.len() >= 2, "{archived:?}");
    let victim = &archived[1].path;
    let mut bytes = std::fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();

    // With the database intact the archive is not needed, and the store opens.
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    store.close().await;
    remove_db(&cfg);
    let err = match Store::open_with(cfg, tiny()).await {
        Ok(_) => panic!("opened over a damaged archive"),
        Err(e) => e,
    };
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("archived redo log") && text.contains("zmrestore"),
        "{text}"
    );
}

#[tokio::test]
async fn rollover_off_keeps_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let store = Store::open_with(
        cfg.clone(),
        StoreOptions {
            redo_rollover_bytes: 0,
        },
    )
    .await
    .unwrap();
    work(&store.mailbox(ZimbraId::new()).await.unwrap(), 0, 10).await;
    assert!(store.archived_redo_logs().await.unwrap().is_empty());
    store.close().await;
}

/// Spec 04 test idea 4: an archive on another file system (here a symlink into
/// `/dev/shm`, a tmpfs) refuses the open with a message naming both places; the same
/// archive symlinked within the redo log's file system is accepted.
#[tokio::test]
async fn archive_on_another_file_system_refuses_the_open() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    std::fs::create_dir_all(&cfg.redo_dir).unwrap();
    let archive = cfg.redo_dir.join("archive");

    let same = dir.path().join("archive-elsewhere-same-fs");
    std::fs::create_dir(&same).unwrap();
    std::os::unix::fs::symlink(&same, &archive).unwrap();
    let store = Store::open_with(cfg.clone(), tiny()).await.unwrap();
    store.close().await;
    std::fs::remove_file(&archive).unwrap();

    let dev = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("SKIPPED: no /dev/shm to stand for another file system");
        return;
    };
    if dev(other.path()) == dev(dir.path()) {
        eprintln!("SKIPPED: /dev/shm is on the test directory's file system here");
        return;
    }
    std::os::unix::fs::symlink(other.path(), &archive).unwrap();
    let err = match Store::open_with(cfg.clone(), tiny()).await {
        Ok(_) => panic!("opened with the archive on another file system"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(matches!(err, StoreError::Redo(_)), "{text}");
    assert!(
        text.contains("different file system") && text.contains(&*archive.to_string_lossy()),
        "{text}"
    );
}
