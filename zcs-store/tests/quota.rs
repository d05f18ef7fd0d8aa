//! Quotas (spec 02 §1.14, test ideas 44-45): deliveries, appends and copies past the
//! quota fail with `mail.QUOTA_EXCEEDED` and change nothing; 0 is unlimited; deletes,
//! moves and flag changes always work; a handle without quota (a restore) ignores it.

mod common;

use common::{simple_message, temp_store};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ZimbraId, folder};
use zcs_store::{DeliveryTarget, StoreError};

const INBOX: ItemId = ItemId(folder::INBOX);

fn target(account: ZimbraId, quota: u64) -> DeliveryTarget {
    DeliveryTarget {
        account,
        folder: INBOX,
        flags: Flags(Flags::UNREAD),
        quota,
    }
}

#[tokio::test]
async fn append_and_copy_stop_at_the_quota() {
    let (store, _dir, _) = temp_store().await;
    let raw = simple_message(1);
    let size = raw.len() as u64;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_quota(size * 2);
    assert_eq!(mb.quota(), size * 2);
    let a = mb.append(INBOX, &raw, Flags(0), 1).await.unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), size);
    let b = mb.append(INBOX, &raw, Flags(0), 2).await.unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), size * 2);

    let change = mb.change_number().await.unwrap();
    let err = mb.append(INBOX, &raw, Flags(0), 3).await.unwrap_err();
    assert!(
        matches!(err, StoreError::QuotaExceeded { quota, used, adding }
            if quota == size * 2 && used == size * 2 && adding == size),
        "{err}"
    );
    let e: ServiceError = err.into();
    assert_eq!(e.code, FaultCode::QuotaExceeded);
    assert_eq!(e.code.as_str(), "mail.QUOTA_EXCEEDED");
    assert!(mb.copy(&[a.id], INBOX).await.is_err());
    assert!(
        mb.append_tagged(INBOX, &raw, Flags(0), &["t".into()], 3)
            .await
            .is_err()
    );
    assert!(
        mb.tag_by_name("t").await.unwrap().is_none(),
        "nothing created"
    );
    assert_eq!(mb.change_number().await.unwrap(), change);
    assert_eq!(mb.messages(INBOX).await.unwrap().len(), 2);

    // What never adds bytes is never refused.
    let sub = mb
        .create_folder(ItemId(folder::USER_ROOT), "sub")
        .await
        .unwrap();
    mb.move_items(&[a.id], sub.id).await.unwrap();
    mb.set_flags(&[a.id], Flags::FLAGGED, true).await.unwrap();
    mb.set_tags_by_name(&[a.id], &["x".into()], true, true)
        .await
        .unwrap();
    mb.delete_items(&[b.id]).await.unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), size);
    // Freed space is usable again.
    mb.append(INBOX, &raw, Flags(0), 4).await.unwrap();

    // A handle without quota (a restore) ignores it.
    let unlimited = mb.with_quota(0);
    unlimited.append(INBOX, &raw, Flags(0), 5).await.unwrap();
    unlimited.copy(&[a.id], INBOX).await.unwrap();
    assert_eq!(mb.quota_usage().await.unwrap(), size * 4);
}

#[tokio::test]
async fn delivery_fails_only_the_targets_over_quota() {
    let (store, _dir, _) = temp_store().await;
    let raw = simple_message(1);
    let size = raw.len() as u64;
    let (full, roomy, unlimited) = (ZimbraId::new(), ZimbraId::new(), ZimbraId::new());
    let targets = [
        target(full, size),
        target(roomy, size * 10),
        target(unlimited, 0),
    ];
    let first = store.deliver(&targets, &raw, 1).await.unwrap();
    assert!(first.iter().all(|r| r.is_ok()));
    let second = store.deliver(&targets, &raw, 2).await.unwrap();
    assert!(matches!(second[0], Err(StoreError::QuotaExceeded { .. })));
    assert!(second[1].is_ok() && second[2].is_ok());
    let mb = store.find_mailbox(full).await.unwrap().unwrap();
    assert_eq!(mb.messages(INBOX).await.unwrap().len(), 1);
    // A message bigger than the whole quota is refused even in an empty mailbox.
    let tiny = store
        .deliver(&[target(ZimbraId::new(), 10)], &raw, 3)
        .await
        .unwrap();
    assert!(matches!(tiny[0], Err(StoreError::QuotaExceeded { .. })));
    // Exactly filling the quota is allowed.
    let exact = store
        .deliver(&[target(ZimbraId::new(), size)], &raw, 3)
        .await
        .unwrap();
    assert!(exact[0].is_ok());
}
