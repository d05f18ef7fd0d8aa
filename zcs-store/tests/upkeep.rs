//! Database upkeep the scheduled jobs run: the integrity report finds a sound database
//! sound, and statistics refresh on a populated one.

mod common;

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::DeliveryTarget;

#[tokio::test]
async fn integrity_check_and_analyze_on_a_populated_store() {
    let (store, _dir, _cfg) = common::temp_store().await;
    let account = ZimbraId::new();
    let targets = [DeliveryTarget {
        account,
        folder: ItemId(folder::INBOX),
        flags: Flags(Flags::UNREAD),
        quota: 0,
    }];
    for n in 0..5 {
        store
            .deliver(&targets, &common::simple_message(n), 1_700_000_000_000)
            .await
            .expect("deliver");
    }
    assert!(store.integrity_check().await.expect("check").is_empty());
    store.analyze().await.expect("analyze");
    assert!(
        store
            .integrity_check()
            .await
            .expect("check again")
            .is_empty()
    );
}
