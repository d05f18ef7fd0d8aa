//! Delivery: single-instance blobs across recipients, per-target results, and many
//! concurrent deliveries into shared mailboxes.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use common::{count_blob_files, simple_message, temp_store};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ZimbraId, folder};
use zcs_store::DeliveryTarget;

fn inbox_target(account: ZimbraId) -> DeliveryTarget {
    DeliveryTarget {
        account,
        folder: ItemId(folder::INBOX),
        flags: Flags(Flags::UNREAD),
        quota: 0,
    }
}

#[tokio::test]
async fn one_blob_for_three_recipients() {
    let (store, _dir, cfg) = temp_store().await;
    let accounts = [ZimbraId::new(), ZimbraId::new(), ZimbraId::new()];
    let targets: Vec<_> = accounts.iter().map(|a| inbox_target(*a)).collect();
    let raw = common::corpus_messages().swap_remove(0).1;

    let results = store
        .deliver(&targets, &raw, 1_700_000_000_000)
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(count_blob_files(&cfg.blob_root), 1);

    let mut mailbox_ids = HashSet::new();
    for (acct, res) in accounts.iter().zip(results) {
        let meta = res.unwrap();
        assert_eq!(meta.id, ItemId(257));
        assert_eq!(meta.folder, ItemId(folder::INBOX));
        assert!(meta.flags.contains(Flags::UNREAD));
        assert_eq!(meta.internal_date_ms, 1_700_000_000_000);
        let mb = store
            .find_mailbox(*acct)
            .await
            .unwrap()
            .expect("created by delivery");
        mailbox_ids.insert(mb.id());
        assert_eq!(mb.read_message(meta.id).await.unwrap(), raw);
        assert_eq!(mb.folder(ItemId(folder::INBOX)).await.unwrap().unread, 1);
    }
    assert_eq!(mailbox_ids.len(), 3);

    // The same content again, to one of them: still one file.
    store
        .deliver(&targets[..1], &raw, 1)
        .await
        .unwrap()
        .into_iter()
        .for_each(|r| {
            r.unwrap();
        });
    assert_eq!(count_blob_files(&cfg.blob_root), 1);

    // Removing all but one reference keeps the file; removing the last removes it.
    for (i, acct) in accounts.iter().enumerate() {
        let mb = store.find_mailbox(*acct).await.unwrap().unwrap();
        let ids: Vec<ItemId> = mb
            .messages(ItemId(folder::INBOX))
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        mb.delete_items(&ids).await.unwrap();
        let want = if i + 1 < accounts.len() { 1 } else { 0 };
        assert_eq!(count_blob_files(&cfg.blob_root), want);
    }
}

#[tokio::test]
async fn targets_fail_independently() {
    let (store, _dir, cfg) = temp_store().await;
    let good = ZimbraId::new();
    let bad = DeliveryTarget {
        account: ZimbraId::new(),
        folder: ItemId(4000),
        flags: Flags(0),
        quota: 0,
    };
    let res = store
        .deliver(&[bad.clone(), inbox_target(good)], &simple_message(1), 5)
        .await
        .unwrap();
    let err = res[0].as_ref().unwrap_err();
    assert_eq!(err.fault_code(), FaultCode::NoSuchFolder);
    assert!(res[1].is_ok());
    assert_eq!(count_blob_files(&cfg.blob_root), 1);

    // When every target fails, no blob is left behind.
    let res = store.deliver(&[bad], &simple_message(2), 5).await.unwrap();
    let err = res.into_iter().next().unwrap().unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::NoSuchFolder);
    assert_eq!(count_blob_files(&cfg.blob_root), 1);
    assert!(
        store
            .deliver(&[], &simple_message(3), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_never_collide() {
    let (store, _dir, cfg) = temp_store().await;
    let accounts: Arc<Vec<ZimbraId>> = Arc::new((0..5).map(|_| ZimbraId::new()).collect());
    const TASKS: usize = 8;
    const PER_TASK: usize = 15;

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        let accounts = accounts.clone();
        handles.push(tokio::spawn(async move {
            let mut delivered: Vec<(usize, ZimbraId, ItemId)> = Vec::new();
            for i in 0..PER_TASK {
                let n = t * PER_TASK + i;
                // Each message goes to 1-3 accounts, overlapping across tasks.
                let picks: Vec<ZimbraId> = (0..1 + n % 3)
                    .map(|k| accounts[(n + k * 2) % accounts.len()])
                    .collect();
                let targets: Vec<_> = picks.iter().map(|a| inbox_target(*a)).collect();
                let res = store
                    .deliver(&targets, &simple_message(n), n as i64)
                    .await
                    .unwrap();
                for (a, r) in picks.iter().zip(res) {
                    delivered.push((n, *a, r.unwrap().id));
                }
            }
            delivered
        }));
    }
    let mut per_account: HashMap<ZimbraId, Vec<(usize, ItemId)>> = HashMap::new();
    for h in handles {
        for (n, a, id) in h.await.unwrap() {
            per_account.entry(a).or_default().push((n, id));
        }
    }

    assert_eq!(count_blob_files(&cfg.blob_root), TASKS * PER_TASK);
    for (acct, items) in per_account {
        let mb = store.find_mailbox(acct).await.unwrap().unwrap();
        let listed = mb.messages(ItemId(folder::INBOX)).await.unwrap();
        assert_eq!(listed.len(), items.len());
        // Ids are unique and dense from 257; change numbers are one per item plus the
        // mailbox's creation.
        let mut ids: Vec<i32> = items.iter().map(|(_, id)| id.0).collect();
        ids.sort();
        assert_eq!(ids, (257..257 + items.len() as i32).collect::<Vec<_>>());
        assert_eq!(mb.change_number().await.unwrap().0, 1 + items.len() as i64);
        for (n, id) in items {
            assert_eq!(mb.read_message(id).await.unwrap(), simple_message(n));
        }
        let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
        assert_eq!(f.messages as usize, listed.len());
        assert_eq!(f.uid_next as usize, 257 + listed.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_the_last_reference_races_safely_with_a_new_delivery() {
    let (store, _dir, _cfg) = temp_store().await;
    let a = store.mailbox(ZimbraId::new()).await.unwrap();
    let b = store.mailbox(ZimbraId::new()).await.unwrap();
    let raw = simple_message(42);
    let inbox = ItemId(folder::INBOX);

    for _ in 0..20 {
        let first = a.append(inbox, &raw, Flags(0), 1).await.unwrap();
        let ids = [first.id];
        let (del, add) = tokio::join!(a.delete_items(&ids), b.append(inbox, &raw, Flags(0), 2));
        del.unwrap();
        let kept = add.unwrap();
        // Whatever the interleaving, the surviving item's blob is readable.
        assert_eq!(b.read_message(kept.id).await.unwrap(), raw);
        b.delete_items(&[kept.id]).await.unwrap();
    }
}
