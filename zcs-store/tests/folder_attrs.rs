//! Folder attributes and contact dates (schema version 5) on SQLite, MariaDB
//! (`ZCS_TEST_MYSQL_URL`) and PostgreSQL (`ZCS_TEST_POSTGRES_URL`): folder flags, url
//! and a mountpoint's reminder set, read back and kept across a reopen; a user
//! folder's view changed and a system folder's refused; the feed items a folder
//! remembers; a contact's item date, change date and revision through create, modify,
//! move and tagging; and a version 4 database migrated in place.

mod common;

use std::time::Duration;

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{FolderAttrs, Store, StoreConfig, StoreError, StoreOptions};

use common::engines::run;

conformance!(
    attributes_are_kept,
    views_change_on_user_folders_only,
    feed_items_are_remembered,
    contacts_carry_their_dates,
    version_4_migrates_on_every_engine,
);

async fn reopen(store: Store, cfg: &StoreConfig, url: &str) -> Store {
    store.close().await;
    Store::open_url(url, cfg.clone(), StoreOptions::default())
        .await
        .unwrap()
}

async fn attributes_are_kept(store: Store, cfg: StoreConfig, url: String) {
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let cal = ItemId(folder::CALENDAR);
    let feed = mb
        .create_folder(ItemId(folder::USER_ROOT), "feed")
        .await
        .unwrap();
    let mp = mb
        .create_mountpoint(
            ItemId(folder::USER_ROOT),
            "shared",
            ZimbraId::new(),
            ItemId(300),
            "appointment",
        )
        .await
        .unwrap();
    assert!(mb.all_folder_attrs().await.unwrap().is_empty());
    assert!(mb.folder_attrs(cal).await.unwrap().is_default());

    let before = mb.change_number().await.unwrap().0;
    // Bits other than the six folder flags are dropped.
    let a = mb
        .set_folder_flags(cal, Flags(Flags::CHECKED | Flags::UNREAD | Flags::SYNC))
        .await
        .unwrap();
    assert_eq!(a.flags, Flags(Flags::CHECKED | Flags::SYNC));
    assert!(mb.change_number().await.unwrap().0 > before);
    assert!(mb.folder(cal).await.unwrap().modseq > before);
    // The same value again logs nothing.
    let now = mb.change_number().await.unwrap().0;
    mb.set_folder_flags(cal, Flags(Flags::CHECKED | Flags::SYNC))
        .await
        .unwrap();
    assert_eq!(mb.change_number().await.unwrap().0, now);

    mb.set_folder_url(feed.id, "  http://127.0.0.1/rss  ")
        .await
        .unwrap();
    mb.update_folder_attrs(feed.id, |a| {
        a.flags = Flags(Flags::EXCLUDE_FREEBUSY);
    })
    .await
    .unwrap();
    mb.set_mountpoint_reminder(mp.id, true).await.unwrap();
    mb.set_folder_flags(mp.id, Flags(Flags::CHECKED))
        .await
        .unwrap();
    let long = format!("http://127.0.0.1/{}", "x".repeat(5000));
    assert!(matches!(
        mb.set_folder_url(feed.id, &long).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        mb.set_folder_flags(ItemId(99_999), Flags(Flags::CHECKED))
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));

    let want_feed = FolderAttrs {
        flags: Flags(Flags::EXCLUDE_FREEBUSY),
        url: "http://127.0.0.1/rss".into(),
        reminder: false,
    };
    let want_mp = FolderAttrs {
        flags: Flags(Flags::CHECKED),
        url: String::new(),
        reminder: true,
    };
    let store = reopen(store, &cfg, &url).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.folder_attrs(feed.id).await.unwrap(), want_feed);
    assert_eq!(mb.folder_attrs(mp.id).await.unwrap(), want_mp);
    let all = mb.all_folder_attrs().await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all.get(&feed.id), Some(&want_feed));
    // Clearing everything takes the folder out of the listing.
    mb.update_folder_attrs(feed.id, |a| *a = FolderAttrs::default())
        .await
        .unwrap();
    assert!(!mb.all_folder_attrs().await.unwrap().contains_key(&feed.id));
    // A deleted folder takes its attributes with it.
    mb.delete_folder(feed.id).await.unwrap();
    assert!(mb.folder_attrs(feed.id).await.is_err());
    store.close().await;
}

async fn views_change_on_user_folders_only(store: Store, cfg: StoreConfig, url: String) {
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), "things")
        .await
        .unwrap();
    assert_eq!(f.view, "message");
    let before = mb.change_number().await.unwrap().0;
    mb.set_folder_view(f.id, "Appointment").await.unwrap();
    let after = mb.folder(f.id).await.unwrap();
    assert_eq!(after.view, "appointment");
    assert!(after.modseq > before);
    assert!(matches!(
        mb.set_folder_view(f.id, "bogus").await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        mb.set_folder_view(ItemId(folder::INBOX), "contact").await,
        Err(StoreError::ImmutableFolder(_))
    ));
    assert!(matches!(
        mb.set_folder_view(ItemId(99_999), "contact").await,
        Err(StoreError::NoSuchFolder(_))
    ));
    // A calendar folder now takes appointments.
    mb.save_cal_item(
        f.id,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:v1\r\nSUMMARY:x\r\n\
         DTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .await
    .unwrap();
    let store = reopen(store, &cfg, &url).await;
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.folder(f.id).await.unwrap().view, "appointment");
    store.close().await;
}

async fn feed_items_are_remembered(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), "news")
        .await
        .unwrap();
    let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let change = mb.change_number().await.unwrap().0;
    let fresh = mb
        .mark_feed_seen(f.id, keys(&["a", "b", "a"]), false)
        .await
        .unwrap();
    assert_eq!(fresh, keys(&["a", "b"]));
    // Not a change clients see.
    assert_eq!(mb.change_number().await.unwrap().0, change);
    let fresh = mb
        .mark_feed_seen(f.id, keys(&["b", "c"]), false)
        .await
        .unwrap();
    assert_eq!(fresh, keys(&["c"]));
    assert_eq!(mb.feed_seen(f.id).await.unwrap(), keys(&["a", "b", "c"]));
    // A reset forgets the earlier ones.
    let fresh = mb.mark_feed_seen(f.id, keys(&["a"]), true).await.unwrap();
    assert_eq!(fresh, keys(&["a"]));
    assert_eq!(mb.feed_seen(f.id).await.unwrap(), keys(&["a"]));
    // Bounded: the oldest go.
    let many: Vec<String> = (0..zcs_store::MAX_FEED_SEEN + 10)
        .map(|i| format!("https://127.0.0.1/item/{i}"))
        .collect();
    mb.mark_feed_seen(f.id, many.clone(), false).await.unwrap();
    let seen = mb.feed_seen(f.id).await.unwrap();
    assert_eq!(seen.len(), zcs_store::MAX_FEED_SEEN);
    assert_eq!(seen.last(), many.last());
    assert!(!seen.contains(&"a".to_string()));
    assert!(matches!(
        mb.mark_feed_seen(ItemId(99_999), keys(&["x"]), false).await,
        Err(StoreError::NoSuchFolder(_))
    ));
}

async fn contacts_carry_their_dates(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let t0 = chrono::Utc::now().timestamp_millis();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "a@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(c.date_ms >= t0 && c.date_ms <= chrono::Utc::now().timestamp_millis());
    assert_eq!(c.changed_ms, c.date_ms);
    assert_eq!(c.revision, c.modseq);
    let pause = || tokio::time::sleep(Duration::from_millis(5));

    // A move changes the change date only.
    pause().await;
    let book = mb
        .create_folder_with_view(ItemId(folder::USER_ROOT), "book", Some("contact"))
        .await
        .unwrap();
    let moved = mb.move_contact(c.id, book.id).await.unwrap();
    assert_eq!((moved.date_ms, moved.revision), (c.date_ms, c.revision));
    assert!(moved.changed_ms > c.changed_ms);
    assert!(moved.modseq > c.modseq);

    // New fields: the item date and revision move too.
    pause().await;
    let edited = mb
        .modify_contact(
            c.id,
            vec![("email".into(), "b@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(edited.date_ms > moved.date_ms);
    assert_eq!(edited.changed_ms, edited.date_ms);
    assert_eq!(edited.revision, edited.modseq);

    // Flags and tags: the change date only.
    pause().await;
    let flagged = mb
        .set_contact_flags(c.id, Flags(Flags::FLAGGED))
        .await
        .unwrap();
    assert_eq!(
        (flagged.date_ms, flagged.revision),
        (edited.date_ms, edited.revision)
    );
    assert!(flagged.changed_ms > edited.changed_ms);
    pause().await;
    mb.tag_items_by_name(&[c.id], &["vip".to_string()], true, true)
        .await
        .unwrap();
    let tagged = mb.contact(c.id).await.unwrap();
    assert!(tagged.changed_ms > flagged.changed_ms);
    assert_eq!(tagged.date_ms, edited.date_ms);
    let listed = mb.contacts(book.id).await.unwrap();
    assert_eq!(listed, vec![tagged]);
}

/// A version 4 database (no folder attribute columns, no contact dates) opens as
/// version 5: old folders have no attributes, old contacts read their creation date
/// as change date and their change number as revision.
async fn version_4_migrates_on_every_engine(store: Store, cfg: StoreConfig, url: String) {
    use sqlx::Connection;
    let backend = store.backend();
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), "old")
        .await
        .unwrap();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "old@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    store.close().await;
    let url_now = if backend == Backend::Sqlite {
        format!("sqlite://{}", cfg.db_path.display())
    } else {
        url.clone()
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url_now).await.unwrap();
    for sql in [
        "ALTER TABLE folder DROP COLUMN flags",
        "ALTER TABLE folder DROP COLUMN url",
        "ALTER TABLE folder DROP COLUMN reminder",
        "ALTER TABLE folder DROP COLUMN feed_seen",
        "ALTER TABLE folder_link DROP COLUMN flags",
        "ALTER TABLE folder_link DROP COLUMN url",
        "ALTER TABLE folder_link DROP COLUMN reminder",
        "ALTER TABLE contact DROP COLUMN change_date",
        "ALTER TABLE contact DROP COLUMN mod_content",
        "UPDATE store_state SET schema_version = 4",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let store = Store::open_url(&url, cfg, StoreOptions::default())
        .await
        .unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert!(mb.folder_attrs(f.id).await.unwrap().is_default());
    let old = mb.contact(c.id).await.unwrap();
    assert_eq!(old, c);
    mb.set_folder_flags(f.id, Flags(Flags::CHECKED))
        .await
        .unwrap();
    assert_eq!(
        mb.folder_attrs(f.id).await.unwrap().flags,
        Flags(Flags::CHECKED)
    );
    // A move of an old contact keeps its last change number as its revision.
    let moved = mb.move_contact(c.id, ItemId(folder::TRASH)).await.unwrap();
    assert_eq!(moved.revision, c.modseq);
    store.close().await;
}
