//! Conformance for the fast paths and later item attributes, on SQLite (always), MariaDB
//! (`ZCS_TEST_MYSQL_URL`) and PostgreSQL (`ZCS_TEST_POSTGRES_URL`; skipped loudly when
//! unset): flag listings agree with full listings.

mod common;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{Store, StoreConfig, StoreError};

use common::engines::run;

conformance!(flag_listing_matches_messages);

async fn flag_listing_matches_messages(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    assert!(mb.message_flags(inbox).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..12u32 {
        let flags = match i % 3 {
            0 => Flags::UNREAD,
            1 => Flags::FLAGGED,
            _ => Flags::UNREAD | Flags::FLAGGED,
        };
        let m = mb
            .append(
                inbox,
                &simple_message(i as usize),
                Flags(flags),
                1_000 + i64::from(i),
            )
            .await
            .unwrap();
        ids.push(m.id);
    }
    mb.set_tags_by_name(
        &ids[2..4],
        &["Work".to_string(), "$Label1".to_string()],
        true,
        true,
    )
    .await
    .unwrap();
    // A message elsewhere stays out of the Inbox listing.
    mb.append(ItemId(folder::SENT), &simple_message(99), Flags(0), 9)
        .await
        .unwrap();
    let full = mb.messages(inbox).await.unwrap();
    let fast = mb.message_flags(inbox).await.unwrap();
    assert_eq!(fast.len(), full.len());
    for (f, m) in fast.iter().zip(&full) {
        assert_eq!(
            (f.id, f.imap_uid, f.flags, &f.tags, f.modseq),
            (m.id, m.imap_uid, m.flags, &m.tags, m.modseq)
        );
    }
    assert_eq!(fast[2].tags.len(), 2);
    let flagged = mb
        .messages_with_flags(inbox, Flags::FLAGGED, true)
        .await
        .unwrap();
    assert_eq!(flagged.len(), 8);
    assert!(flagged.windows(2).all(|w| w[0].imap_uid < w[1].imap_uid));
    let seen = mb
        .messages_with_flags(inbox, Flags::UNREAD, false)
        .await
        .unwrap();
    let want: Vec<ItemId> = full
        .iter()
        .filter(|m| m.flags.0 & Flags::UNREAD == 0)
        .map(|m| m.id)
        .collect();
    assert_eq!(seen.iter().map(|e| e.id).collect::<Vec<_>>(), want);
    assert!(matches!(
        mb.message_flags(ItemId(9999)).await,
        Err(StoreError::NoSuchFolder(_))
    ));
}
