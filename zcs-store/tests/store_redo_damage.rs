//! A current redo log damaged in the middle refuses the open when
//! `zcs_store::redo::refuse_damaged_log` is on (what the mailbox server sets; issue 4:
//! "damage in the middle refuses to start with a message that says what to do"), and
//! following the message's second way out (cutting the file at the damage) starts the
//! store again. A torn tail is still cut and opened. Its own test binary: the switch
//! is process-wide, and every test here turns it on.

mod common;

use std::io::Write;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Store, StoreConfig, StoreError};

fn remove_db(cfg: &StoreConfig) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn kept_copies(cfg: &StoreConfig) -> usize {
    std::fs::read_dir(&cfg.redo_dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("redo.log.corrupt-")
        })
        .count()
}

/// The `truncate -s <offset> <path>` the message asks for, as (offset, path).
fn truncate_advice(msg: &str) -> (u64, String) {
    let at = msg
        .find("truncate -s ")
        .expect("the message says how to cut")
        + 12;
    let mut words = msg[at..].split_whitespace();
    let offset = words.next().unwrap().parse().unwrap();
    let path = words
        .next()
        .unwrap()
        .trim_end_matches([',', '`'])
        .to_string();
    (offset, path)
}

#[tokio::test]
async fn middle_damage_refuses_the_open_until_the_operator_cuts_the_log() {
    zcs_store::redo::refuse_damaged_log(true);
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = mb
            .append(ItemId(folder::INBOX), &simple_message(i), Flags(0), 1)
            .await
            .unwrap();
        ids.push(m.id);
    }
    store.close().await;

    // The database is lost and the third message's record is damaged.
    remove_db(&cfg);
    let log = cfg.redo_dir.join("redo.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let needle = b"message 2";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("subject in the record");
    bytes[at] ^= 0x20;
    std::fs::write(&log, &bytes).unwrap();

    for attempt in 0..2 {
        let err = match Store::open(cfg.clone()).await {
            Err(e) => e,
            Ok(_) => panic!("attempt {attempt}: a damaged log must refuse the open"),
        };
        let StoreError::Corrupt(msg) = &err else {
            panic!("not Corrupt: {err:?}");
        };
        assert!(msg.contains("zmrestoreoffline"), "{msg}");
        let (offset, path) = truncate_advice(msg);
        assert!(offset > 16 && (offset as usize) < at, "{msg}");
        assert_eq!(path, log.display().to_string());
        assert_eq!(std::fs::read(&log).unwrap(), bytes, "the log is untouched");
        assert_eq!(kept_copies(&cfg), 1, "one copy kept, however many attempts");
    }

    // The operator accepts the loss: cut at the damage, as the message says.
    let msg = match Store::open(cfg.clone()).await {
        Err(StoreError::Corrupt(m)) => m,
        _ => panic!("still refused"),
    };
    let (offset, _) = truncate_advice(&msg);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(offset)
        .unwrap();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let got: Vec<ItemId> = mb
        .messages(ItemId(folder::INBOX))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        got,
        ids[..2].to_vec(),
        "what came before the damage is back"
    );
    mb.append(ItemId(folder::INBOX), &simple_message(9), Flags(0), 1)
        .await
        .unwrap();
    store.close().await;
    let store = Store::open(cfg).await.unwrap();
    assert!(store.recovery_report().corrupt_log.is_none());
    store.close().await;
}

#[tokio::test]
async fn a_torn_tail_still_opens_when_refusing() {
    zcs_store::redo::refuse_damaged_log(true);
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    for i in 0..3 {
        mb.append(ItemId(folder::INBOX), &simple_message(i), Flags(0), 1)
            .await
            .unwrap();
    }
    store.close().await;
    let log = cfg.redo_dir.join("redo.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"\x00\x01half a record").unwrap();
    drop(f);
    let store = Store::open(cfg.clone()).await.unwrap();
    assert!(store.recovery_report().torn_bytes_cut > 0);
    assert!(store.recovery_report().corrupt_log.is_none());
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 3);
    store.close().await;
    assert_eq!(kept_copies(&cfg), 0);
}
