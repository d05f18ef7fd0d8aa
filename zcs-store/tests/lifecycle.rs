//! Mailbox lifecycle through the public API: maintenance mode, quota warnings, and a
//! redo log damaged in the middle (detected, preserved aside, replay stopped there).

mod common;

use common::{simple_message, temp_store};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ZimbraId, folder};
use zcs_store::{DeliveryTarget, Store, StoreConfig, StoreError};

#[tokio::test]
async fn maintenance_mode_refuses_reads_changes_and_deliveries() {
    let (store, _dir, _) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();

    store.set_maintenance(acct, true).await.unwrap();
    assert!(store.in_maintenance(acct));
    let err = mb
        .append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Maintenance(_)), "{err}");
    let svc: ServiceError = err.into();
    assert_eq!(svc.code, FaultCode::MaintenanceModeMail);
    assert_eq!(svc.code.as_str(), "mail.MAINTENANCE");
    assert!(matches!(
        mb.message(m.id).await,
        Err(StoreError::Maintenance(_))
    ));
    assert!(matches!(
        mb.folders().await,
        Err(StoreError::Maintenance(_))
    ));
    assert!(matches!(
        mb.messages(ItemId(folder::INBOX)).await,
        Err(StoreError::Maintenance(_))
    ));
    assert!(matches!(
        mb.delete_items(&[m.id]).await,
        Err(StoreError::Maintenance(_))
    ));
    let out = store
        .deliver(
            &[DeliveryTarget {
                account: acct,
                folder: ItemId(folder::INBOX),
                flags: Flags(0),
                quota: 0,
            }],
            &simple_message(3),
            1,
        )
        .await
        .unwrap();
    assert!(matches!(out[0], Err(StoreError::Maintenance(_))));
    // Other mailboxes are unaffected.
    let other = store.mailbox(ZimbraId::new()).await.unwrap();
    other
        .append(ItemId(folder::INBOX), &simple_message(4), Flags(0), 1)
        .await
        .unwrap();

    store.set_maintenance(acct, false).await.unwrap();
    assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 1);
    mb.append(ItemId(folder::INBOX), &simple_message(5), Flags(0), 1)
        .await
        .unwrap();

    // Deletion works in maintenance and clears it.
    store.set_maintenance(acct, true).await.unwrap();
    store.delete_mailbox(acct).await.unwrap();
    assert!(!store.in_maintenance(acct));
    assert!(store.find_mailbox(acct).await.unwrap().is_none());
}

#[tokio::test]
async fn quota_warning_is_reported_once_per_crossing_or_interval() {
    let (store, _dir, _) = temp_store().await;
    let raw = simple_message(1);
    let size = raw.len() as u64;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_quota(size * 10);
    let inbox = ItemId(folder::INBOX);
    // No quota, no warning.
    assert_eq!(
        store
            .mailbox(ZimbraId::new())
            .await
            .unwrap()
            .quota_warning(1, 90, 0)
            .await
            .unwrap(),
        None
    );

    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            mb.append(inbox, &simple_message(i), Flags(0), 1)
                .await
                .unwrap()
                .id,
        );
    }
    assert_eq!(mb.quota_warning(1000, 90, 0).await.unwrap(), None, "80%");
    ids.push(
        mb.append(inbox, &simple_message(8), Flags(0), 1)
            .await
            .unwrap()
            .id,
    );
    let w = mb
        .quota_warning(1000, 90, 0)
        .await
        .unwrap()
        .expect("90% crossed");
    assert_eq!(w.percent, 90);
    assert_eq!(w.quota, size * 10);
    assert!(w.used >= size * 9);
    // Once per crossing with no interval.
    assert_eq!(mb.quota_warning(2000, 90, 0).await.unwrap(), None);
    // With an interval, again once it has passed.
    assert_eq!(mb.quota_warning(1500, 90, 1000).await.unwrap(), None);
    assert!(mb.quota_warning(2000, 90, 1000).await.unwrap().is_some());
    // Dropping below re-arms it.
    mb.delete_items(&ids[..3]).await.unwrap();
    assert_eq!(mb.quota_warning(3000, 90, 0).await.unwrap(), None);
    for i in 20..23 {
        mb.append(inbox, &simple_message(i), Flags(0), 1)
            .await
            .unwrap();
    }
    assert!(mb.quota_warning(4000, 90, 0).await.unwrap().is_some());
}

#[tokio::test]
async fn redo_damage_in_the_middle_stops_replay_and_is_preserved() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            mb.append(ItemId(folder::INBOX), &simple_message(i), Flags(0), 1)
                .await
                .unwrap()
                .id,
        );
    }
    store.close().await;

    // Lose the database and damage one byte of the third message's record.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let log = cfg.redo_dir.join("redo.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let needle = b"message 2";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("subject in the record");
    bytes[at] ^= 0x20;
    std::fs::write(&log, &bytes).unwrap();

    let store = Store::open(cfg.clone()).await.unwrap();
    let report = store.recovery_report().clone();
    let (offset, aside) = report.corrupt_log.clone().expect("damage reported");
    assert!(offset > 16 && (offset as usize) < at, "{report:?}");
    assert_eq!(std::fs::read(&aside).unwrap(), bytes, "preserved whole");
    assert!(aside.starts_with(&cfg.redo_dir));
    // Replay stopped at the damage: the first two messages are back, not the rest.
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let got: Vec<ItemId> = mb
        .messages(ItemId(folder::INBOX))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(got, ids[..2].to_vec());
    // The store takes new changes after the cut.
    mb.append(ItemId(folder::INBOX), &simple_message(9), Flags(0), 1)
        .await
        .unwrap();
    store.close().await;
    let store = Store::open(cfg).await.unwrap();
    assert!(store.recovery_report().corrupt_log.is_none());
    store.close().await;
}
