//! Crash recovery: replay of redo records a database missed (stale copy, lost file),
//! torn and corrupt log tails, aborted records in a hand-written log, and `kill -9` of
//! a process in the middle of appending.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::simple_message;
use zcs_core::{Flags, ItemId, MailboxId, ZimbraId, folder};
use zcs_store::redo::{self, RedoOp, RedoRecord};
use zcs_store::{Folder, Mailbox, MessageMeta, Store, StoreConfig};

/// Everything observable about a mailbox, for before/after comparisons.
#[derive(Debug, PartialEq)]
struct Snapshot {
    id: MailboxId,
    change: i64,
    folders: Vec<Folder>,
    messages: BTreeMap<i32, (MessageMeta, Vec<u8>)>,
    size_and_count: (u64, u64),
    tags: Vec<zcs_store::Tag>,
}

async fn snapshot(mb: &Mailbox) -> Snapshot {
    let folders = mb.folders().await.unwrap();
    let mut messages = BTreeMap::new();
    for f in &folders {
        for m in mb.messages(f.id).await.unwrap() {
            let raw = mb.read_message(m.id).await.unwrap();
            messages.insert(m.id.0, (m, raw));
        }
    }
    Snapshot {
        id: mb.id(),
        change: mb.change_number().await.unwrap().0,
        folders,
        messages,
        size_and_count: mb.size_and_count().await.unwrap(),
        tags: mb.tags().await.unwrap(),
    }
}

/// Runs a mix of every kind of change on `mb`.
async fn busy_work(mb: &Mailbox, seed: usize) {
    let inbox = ItemId(folder::INBOX);
    let root = ItemId(folder::USER_ROOT);
    let f = mb.create_folder(root, &format!("F{seed}")).await.unwrap();
    let sub = mb.create_folder(f.id, "sub").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..6 {
        let m = mb
            .append(
                inbox,
                &simple_message(seed * 100 + i),
                Flags(Flags::UNREAD),
                i as i64,
            )
            .await
            .unwrap();
        ids.push(m.id);
    }
    mb.set_flags(&ids[..3], Flags::UNREAD, false).await.unwrap();
    mb.replace_flags(&ids[3..4], Flags(Flags::FLAGGED))
        .await
        .unwrap();
    let work = mb.create_tag(&format!("Work{seed}"), 3).await.unwrap();
    mb.set_tag(&ids[..3], work.id, true).await.unwrap();
    mb.set_tags_by_name(&ids[1..2], &["$Label1".into(), "later".into()], true, true)
        .await
        .unwrap();
    mb.set_tag(&ids[2..3], work.id, false).await.unwrap();
    let gone_tag = mb.create_tag(&format!("Gone{seed}"), 0).await.unwrap();
    mb.set_tag(&ids[..1], gone_tag.id, true).await.unwrap();
    mb.delete_tag(gone_tag.id).await.unwrap();
    mb.rename_tag(work.id, &format!("Job{seed}")).await.unwrap();
    mb.append_tagged(
        inbox,
        &simple_message(seed * 100 + 60),
        Flags(0),
        &["new".into()],
        1,
    )
    .await
    .unwrap();
    mb.copy(&ids[..2], sub.id).await.unwrap();
    mb.move_items(&ids[2..4], f.id).await.unwrap();
    mb.delete_items(&ids[4..5]).await.unwrap();
    mb.rename_folder(sub.id, root, &format!("Moved{seed}"))
        .await
        .unwrap();
    let gone = mb
        .create_folder(root, &format!("Gone{seed}"))
        .await
        .unwrap();
    mb.append(gone.id, &simple_message(seed * 100 + 50), Flags(0), 9)
        .await
        .unwrap();
    mb.delete_folder(gone.id).await.unwrap();
}

fn copy_db(cfg: &StoreConfig, to: &Path) {
    std::fs::copy(&cfg.db_path, to).unwrap();
}

fn restore_db(cfg: &StoreConfig, from: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::copy(from, &cfg.db_path).unwrap();
}

fn remove_db(cfg: &StoreConfig) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test]
async fn stale_database_is_brought_forward_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let (a, b) = (ZimbraId::new(), ZimbraId::new());

    let store = Store::open(cfg.clone()).await.unwrap();
    busy_work(&store.mailbox(a).await.unwrap(), 1).await;
    store.close().await;
    let old = dir.path().join("old.sqlite");
    copy_db(&cfg, &old);

    // More changes the old copy will not have, including a whole new mailbox and a
    // deleted one.
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb_a = store.mailbox(a).await.unwrap();
    busy_work(&mb_a, 2).await;
    busy_work(&store.mailbox(b).await.unwrap(), 3).await;
    let doomed = ZimbraId::new();
    busy_work(&store.mailbox(doomed).await.unwrap(), 4).await;
    store.delete_mailbox(doomed).await.unwrap();
    let want_a = snapshot(&mb_a).await;
    let want_b = snapshot(&store.find_mailbox(b).await.unwrap().unwrap()).await;
    store.close().await;

    restore_db(&cfg, &old);
    let store = Store::open(cfg.clone()).await.unwrap();
    let report = store.recovery_report().clone();
    assert!(report.replayed > 20, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.missing_blobs, 0, "{report:?}");
    let got_a = snapshot(&store.find_mailbox(a).await.unwrap().unwrap()).await;
    let got_b = snapshot(&store.find_mailbox(b).await.unwrap().unwrap()).await;
    assert_eq!(got_a, want_a);
    assert_eq!(got_b, want_b);
    assert!(store.find_mailbox(doomed).await.unwrap().is_none());

    // New work after recovery continues the ids and the log.
    let mb = store.find_mailbox(a).await.unwrap().unwrap();
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(999), Flags(0), 1)
        .await
        .unwrap();
    assert!(m.id.0 > *want_a.messages.keys().max().unwrap());
    store.close().await;

    // Opening again replays nothing.
    let store = Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().replayed, 0);
    store.close().await;
}

#[tokio::test]
async fn lost_database_is_rebuilt_from_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let accounts = [ZimbraId::new(), ZimbraId::new()];
    let store = Store::open(cfg.clone()).await.unwrap();
    let mut want = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        let mb = store.mailbox(*a).await.unwrap();
        busy_work(&mb, i).await;
        want.push(snapshot(&mb).await);
    }
    store.close().await;

    remove_db(&cfg);
    let store = Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    for (a, w) in accounts.iter().zip(want) {
        let mb = store.find_mailbox(*a).await.unwrap().unwrap();
        assert_eq!(snapshot(&mb).await, w);
    }
}

#[tokio::test]
async fn replay_keeps_a_blob_deleted_then_delivered_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let inbox = ItemId(folder::INBOX);
    let raw = simple_message(5);
    let store = Store::open(cfg.clone()).await.unwrap();
    store.mailbox(acct).await.unwrap();
    store.close().await;
    let old = dir.path().join("old.sqlite");
    copy_db(&cfg, &old);

    // The content goes away with its only item, then comes back in a new one.
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let first = mb.append(inbox, &raw, Flags(0), 1).await.unwrap();
    mb.delete_items(&[first.id]).await.unwrap();
    assert_eq!(common::count_blob_files(&cfg.blob_root), 0);
    let second = mb.append(inbox, &raw, Flags(0), 2).await.unwrap();
    store.close().await;

    restore_db(&cfg, &old);
    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(store.recovery_report().missing_blobs, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.read_message(second.id).await.unwrap(), raw);
    assert!(mb.message(first.id).await.is_err());
}

#[tokio::test]
async fn torn_tail_is_cut_and_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let first = mb
        .append(inbox, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    store.close().await;
    let old = dir.path().join("old.sqlite");
    copy_db(&cfg, &old);

    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let second = mb
        .append(inbox, &simple_message(2), Flags(0), 2)
        .await
        .unwrap();
    let third = mb
        .append(inbox, &simple_message(3), Flags(0), 3)
        .await
        .unwrap();
    store.close().await;

    // Tear the last record (the third append) and go back to the old database: the
    // second append is replayed, the torn third is gone.
    let log = cfg.redo_dir.join("redo.log");
    let len = std::fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    restore_db(&cfg, &old);

    let store = Store::open(cfg.clone()).await.unwrap();
    let report = store.recovery_report().clone();
    assert!(report.torn_bytes_cut > 0, "{report:?}");
    assert_eq!(report.replayed, 1, "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let ids: Vec<ItemId> = mb
        .messages(inbox)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![first.id, second.id]);
    // The id of the lost record is handed out again: nothing references it.
    let again = mb
        .append(inbox, &simple_message(4), Flags(0), 4)
        .await
        .unwrap();
    assert_eq!(again.id, third.id);
    store.close().await;

    // Garbage after the last record is cut too, and nothing is lost.
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"\x00\x01garbage that is not a record")
        .unwrap();
    drop(f);
    let store = Store::open(cfg).await.unwrap();
    assert!(store.recovery_report().torn_bytes_cut > 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.messages(inbox).await.unwrap().len(), 3);
}

#[tokio::test]
async fn hand_written_log_replays_with_its_ids_and_skips_aborted_records() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    std::fs::create_dir_all(&cfg.redo_dir).unwrap();
    let acct = ZimbraId::new();
    let raw = simple_message(1);
    let digest = zcs_store::blob_digest(&raw);
    let msg = |change, id| RedoOp::CreateMessage {
        change,
        id,
        folder: folder::INBOX,
        flags: Flags::UNREAD,
        date_ms: 10,
        size: raw.len() as u64,
        digest: digest.clone(),
        subject: "message 1".into(),
        sender: "s@example.com".into(),
        recipients: "r@example.com".into(),
        message_id: None,
        tags: Vec::new(),
        conv: 0,
        conv_promote: Vec::new(),
    };
    let ops = [
        RedoOp::CreateMailbox {
            account: acct,
            uid_validity_base: 1000,
        },
        msg(2, 300),
        msg(3, 301),
        RedoOp::Abort { seq: 3 },
    ];
    let mut buf = redo::encode_file_header().to_vec();
    for (i, op) in ops.into_iter().enumerate() {
        let rec = RedoRecord {
            seq: i as u64 + 1,
            timestamp_ms: 0,
            mailbox: MailboxId(7),
            op,
        };
        redo::encode_record(&rec, &mut buf);
    }
    std::fs::write(cfg.redo_dir.join("redo.log"), &buf).unwrap();

    let store = Store::open(cfg).await.unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.records_in_log, 4);
    assert_eq!(report.replayed, 2, "{report:?}");
    assert_eq!(report.skipped, 2, "{report:?}");
    assert_eq!(report.missing_blobs, 1, "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.id(), MailboxId(7));
    let msgs = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].id, msgs[0].imap_uid, msgs[0].modseq),
        (ItemId(300), 300, 2)
    );
    assert_eq!(
        mb.folder(ItemId(folder::INBOX)).await.unwrap().uid_validity,
        1001
    );
    // The next id and mailbox continue past the replayed ones.
    let next = mb
        .create_folder(ItemId(folder::USER_ROOT), "n")
        .await
        .unwrap();
    assert_eq!(next.id, ItemId(301));
    assert_eq!(mb.change_number().await.unwrap().0, 3);
    let other = store.mailbox(ZimbraId::new()).await.unwrap();
    assert_eq!(other.id(), MailboxId(8));
}

/// The child half of the kill tests (see `common::crash`).
#[test]
fn crash_child_writer() {
    common::crash::child_appends_forever();
}

#[tokio::test]
async fn kill_minus_nine_loses_nothing_acknowledged() {
    kill_and_check(None).await;
}

/// The same with a redo log that rolls over every few records, so kills land around
/// rollovers too, and the lost database is rebuilt across archived files.
#[tokio::test]
async fn kill_minus_nine_during_rollovers_loses_nothing_acknowledged() {
    kill_and_check(Some(4096)).await;
}

async fn kill_and_check(rollover: Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let acct = ZimbraId::new();
    let acked = common::crash::run_and_kill("crash_child_writer", dir.path(), acct, rollover, 120);

    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    for (id, n) in &acked {
        let raw = mb.read_message(ItemId(*id)).await.unwrap();
        assert_eq!(raw, simple_message(*n), "item {id}");
    }
    let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    let listed = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(f.messages as usize, listed.len());
    assert!(listed.len() >= acked.len());
    if rollover.is_none() {
        return;
    }
    // Rebuild from the redo log alone, across the archive.
    let archived = store.archived_redo_logs().await.unwrap();
    assert!(archived.len() > 3, "{archived:?}");
    store.close().await;
    let cfg = StoreConfig::under(dir.path());
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let again = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(again, listed);
}
