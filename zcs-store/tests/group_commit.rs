//! Grouped delivery commits: concurrent deliveries into one mailbox share redo fsyncs
//! and transactions, each gets its own correct answer, quotas hold across a group, and
//! replaying the redo log alone (record by record) rebuilds exactly the same rows.

mod common;

use common::{reopen_from_log_only, simple_message, temp_store};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{DeliveryTarget, ImportMessage, Mailbox, StoreError};

fn target(account: ZimbraId, quota: u64) -> DeliveryTarget {
    DeliveryTarget {
        account,
        folder: ItemId(folder::INBOX),
        flags: Flags(Flags::UNREAD),
        quota,
    }
}

/// A message of thread `t` (replies share the normalised subject and reference the
/// thread's first message).
fn threaded(n: usize, t: usize) -> Vec<u8> {
    format!(
        "From: s{n}@example.com\r\nTo: r@example.com\r\nSubject: Re: thread {t}\r\n\
         Message-ID: <g{n}@example.com>\r\nReferences: <g{t}@example.com>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

/// Everything a client can see of the Inbox: counters and every message row.
async fn snapshot(mb: &Mailbox) -> (String, String) {
    let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    let msgs = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    let mut convs = Vec::new();
    for m in &msgs {
        convs.push(mb.conversation(m.conv).await.map(|c| c.id).ok());
    }
    (
        format!("{f:?} {:?}", mb.change_number().await.unwrap()),
        format!("{msgs:?} {convs:?}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_share_fsyncs_and_replay_to_the_same_rows() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let before = store.redo_stats();
    let n = 120;
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        // A third of them thread with each other, by references and subject.
        let raw = if i % 3 == 0 {
            threaded(i, 0)
        } else {
            simple_message(i)
        };
        tasks.push(tokio::spawn(async move {
            let res = store.deliver(&[target(acct, 0)], &raw, i as i64).await;
            (raw, res)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (raw, res) = t.await.unwrap();
        let meta = res.unwrap().pop().unwrap().unwrap();
        // The answer is what a read of the message gives right after its own commit.
        let stored = mb.message(meta.id).await.unwrap();
        assert_eq!(meta.id, stored.id);
        assert_eq!(meta.imap_uid, stored.imap_uid);
        assert_eq!(meta.size, stored.size);
        assert_eq!(meta.blob_digest, stored.blob_digest);
        assert_eq!(meta.subject, stored.subject);
        assert_eq!(meta.sender, stored.sender);
        assert_eq!(meta.message_id, stored.message_id);
        assert_eq!(meta.internal_date_ms, stored.internal_date_ms);
        assert!(meta.modseq <= stored.modseq);
        assert_eq!(mb.read_message(meta.id).await.unwrap(), raw);
        ids.push(meta.id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!((f.messages, f.unread), (n as u32, n as u32));
    let after = store.redo_stats();
    let records = after.records - before.records;
    assert!(records >= n as u64, "{records} records for {n} deliveries");
    eprintln!(
        "{n} deliveries: {records} records, {} fsyncs",
        after.syncs - before.syncs
    );
    // Every threaded message ended in one real conversation.
    let convs: std::collections::HashSet<ItemId> = mb
        .messages(ItemId(folder::INBOX))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject == "Re: thread 0")
        .map(|m| m.conv)
        .collect();
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert!(convs.iter().all(|c| c.0 > 0));

    let want = snapshot(&mb).await;
    let store = reopen_from_log_only(store, &cfg).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, want);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_never_goes_past_the_quota() {
    let (store, _dir, _cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let size = simple_message(10).len() as u64;
    // Room for exactly five of these messages.
    let quota = size * 5 + size / 2;
    let mut tasks = Vec::new();
    for i in 10..30 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .deliver(&[target(acct, quota)], &simple_message(i), 0)
                .await
                .unwrap()
                .pop()
                .unwrap()
        }));
    }
    let (mut ok, mut over) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::QuotaExceeded { quota: q, .. }) => {
                assert_eq!(q, quota);
                over += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, over), (5, 15));
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert!(mb.quota_usage().await.unwrap() <= quota);
    assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 5);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_folder_fails_only_its_own_delivery() {
    let (store, _dir, _cfg) = temp_store().await;
    let acct = ZimbraId::new();
    store.mailbox(acct).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let mut t = target(acct, 0);
        if i % 4 == 0 {
            t.folder = ItemId(9999);
        }
        tasks.push(tokio::spawn(async move {
            store
                .deliver(&[t], &simple_message(i), 0)
                .await
                .unwrap()
                .pop()
                .unwrap()
        }));
    }
    let results: Vec<_> = futures_join(tasks).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 4);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::NoSuchFolder(_)))
    );
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.folder(ItemId(folder::INBOX)).await.unwrap().messages, 12);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_mode_answers_every_waiting_delivery() {
    let (store, _dir, _cfg) = temp_store().await;
    let acct = ZimbraId::new();
    store.mailbox(acct).await.unwrap();
    store.set_maintenance(acct, true).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .deliver(&[target(acct, 0)], &simple_message(i), 0)
                .await
                .unwrap()
                .pop()
                .unwrap()
        }));
    }
    for r in futures_join(tasks).await {
        assert!(matches!(r, Err(StoreError::Maintenance(_))), "{r:?}");
    }
    store.set_maintenance(acct, false).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.folder(ItemId(folder::INBOX)).await.unwrap().messages, 0);
    store.close().await;
}

#[tokio::test]
async fn bulk_import_replays_to_the_same_rows() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let tag = vec!["work".to_string()];
    // 300 messages: more than one multi-row insert, some tagged, some threaded.
    let msgs: Vec<ImportMessage> = (0..300)
        .map(|i| ImportMessage {
            raw: if i % 7 == 0 {
                threaded(i, 0)
            } else {
                simple_message(i)
            },
            flags: Flags(if i % 2 == 0 { Flags::UNREAD } else { 0 }),
            tags: if i % 5 == 0 { tag.clone() } else { Vec::new() },
            internal_date_ms: i as i64,
        })
        .collect();
    let ids = mb
        .import_messages(ItemId(folder::INBOX), msgs)
        .await
        .unwrap();
    assert_eq!(ids.len(), 300);
    let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!((f.messages, f.unread), (300, 150));
    let tagged = mb
        .message_flags(ItemId(folder::INBOX))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.tags == tag)
        .count();
    assert_eq!(tagged, 60);
    let want = snapshot(&mb).await;
    let store = reopen_from_log_only(store, &cfg).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, want);
    store.close().await;
}

async fn futures_join<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
