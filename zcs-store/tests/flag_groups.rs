//! Grouped flag changes and grouped IMAP-style appends: concurrent `set_flags` and
//! untagged `append` calls on one mailbox share redo fsyncs, each caller gets its own
//! answer (a change naming a missing message fails alone and changes nothing), every
//! change that alters a flag has its own change number, and replaying the redo log alone
//! rebuilds the same rows.

mod common;

use std::collections::HashSet;

use common::{reopen_from_log_only, simple_message, temp_store};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Mailbox, StoreError};

const INBOX: ItemId = ItemId(folder::INBOX);

async fn rows(mb: &Mailbox) -> String {
    let f = mb.folder(INBOX).await.unwrap();
    let msgs = mb.messages(INBOX).await.unwrap();
    format!("{f:?} {:?} {msgs:?}", mb.change_number().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_and_flag_changes_group_and_replay_to_the_same_rows() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();

    // 80 concurrent untagged appends: one answer each, as a read gives it.
    let before = store.redo_stats();
    let mut tasks = Vec::new();
    for i in 0..80 {
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            let raw = simple_message(i);
            let meta = mb
                .append(INBOX, &raw, Flags(Flags::UNREAD), 1_000 + i as i64)
                .await
                .unwrap();
            (raw, meta)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (raw, meta) = t.await.unwrap();
        assert_eq!(mb.message(meta.id).await.unwrap(), meta);
        assert_eq!(mb.read_message(meta.id).await.unwrap(), raw);
        ids.push(meta.id);
    }
    let after = store.redo_stats();
    eprintln!("80 appends: {} fsyncs", after.syncs - before.syncs);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 80);

    // 160 concurrent flag changes: every message read and flagged, each id twice from
    // two tasks; a few changes also name a missing message and must fail alone.
    let change_before = mb.change_number().await.unwrap().0;
    let before = store.redo_stats();
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().chain(ids.iter()).enumerate() {
        let mb = mb.clone();
        let id = *id;
        tasks.push(tokio::spawn(async move {
            if n % 40 == 7 {
                let res = mb
                    .set_flags(&[id, ItemId(999_999)], Flags::FLAGGED, true)
                    .await;
                return (n, id, res);
            }
            let mask = if n < 80 {
                Flags::UNREAD
            } else {
                Flags::FLAGGED
            };
            let on = n >= 80;
            (n, id, mb.set_flags(&[id], mask, on).await)
        }));
    }
    let mut failed = HashSet::new();
    for t in tasks {
        let (n, id, res) = t.await.unwrap();
        if n % 40 == 7 {
            assert!(matches!(res, Err(StoreError::NoSuchMessage(_))), "{res:?}");
            failed.insert(n);
            continue;
        }
        let metas = res.unwrap();
        assert_eq!(metas.len(), 1);
        assert_eq!(metas[0].id, id);
        if n < 80 {
            assert!(!metas[0].flags.contains(Flags::UNREAD));
        } else {
            assert!(metas[0].flags.contains(Flags::FLAGGED));
        }
    }
    assert_eq!(failed.len(), 4);
    let after = store.redo_stats();
    let records = after.records - before.records;
    eprintln!(
        "156 flag changes: {records} records, {} fsyncs",
        after.syncs - before.syncs
    );

    // Each message: read unless its read change was one of the failed ones, flagged
    // unless its flag change was; every change that altered a flag has its own number.
    let mut modseqs = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let m = mb.message(*id).await.unwrap();
        assert_eq!(
            m.flags.contains(Flags::UNREAD),
            failed.contains(&i),
            "message {i}"
        );
        assert_eq!(
            m.flags.contains(Flags::FLAGGED),
            !failed.contains(&(i + 80)),
            "message {i}"
        );
        assert!(modseqs.insert(m.modseq), "modseq {} twice", m.modseq);
    }
    let changes = mb.change_number().await.unwrap().0 - change_before;
    assert_eq!(changes, 156, "one change number per effective flag change");
    let f = mb.folder(INBOX).await.unwrap();
    assert_eq!((f.messages, f.unread), (80, 2));

    let want = rows(&mb).await;
    let store = reopen_from_log_only(store, &cfg).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(rows(&mb).await, want);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_message_changed_twice_in_a_group_gets_both_changes_in_order() {
    let (store, _dir, _cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let m = mb
        .append(INBOX, &simple_message(1), Flags(0), 0)
        .await
        .unwrap();
    // Many tasks toggle different bits of one message at once: whatever the grouping,
    // every bit set ends set, and the change number rose once per effective change.
    let bits = [
        Flags::FLAGGED,
        Flags::ANSWERED,
        Flags::FORWARDED,
        Flags::DRAFT,
    ];
    let start = mb.change_number().await.unwrap().0;
    let mut tasks = Vec::new();
    for bit in bits {
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            mb.set_flags(&[m.id], bit, true).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let now = mb.message(m.id).await.unwrap();
    for bit in bits {
        assert!(now.flags.contains(bit), "{bit:#x} lost: {:?}", now.flags);
    }
    assert_eq!(mb.change_number().await.unwrap().0 - start, 4);
    store.close().await;
}
