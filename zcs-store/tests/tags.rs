//! Tags through the public API: ids from 64, case-insensitive unique names, tagging
//! and untagging with change numbers, rename and delete reaching tagged messages,
//! copy and delete keeping `tagged_item` straight, and redo replay of all of it.

mod common;

use common::{simple_message, temp_store};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ZimbraId, folder};
use zcs_store::{Store, StoreError};

const INBOX: ItemId = ItemId(folder::INBOX);

#[tokio::test]
async fn create_rename_delete_tags() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let c0 = mb.change_number().await.unwrap().0;
    let work = mb.create_tag("Work", 5).await.unwrap();
    assert_eq!(work.id, ItemId(64));
    assert_eq!((work.name.as_str(), work.color), ("Work", 5));
    assert_eq!(work.modseq, c0 + 1);
    assert_eq!(mb.change_number().await.unwrap().0, c0 + 1);
    let home = mb.create_tag("home", 0).await.unwrap();
    assert_eq!(home.id, ItemId(65));

    // Unique regardless of case, including non-ASCII.
    let err = mb.create_tag("WORK", 0).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    mb.create_tag("Über", 0).await.unwrap();
    assert!(mb.create_tag("über", 0).await.is_err());
    for bad in ["", "a/b", "a:b", "\\Seen"] {
        let e: ServiceError = mb.create_tag(bad, 0).await.unwrap_err().into();
        assert_eq!(e.code, FaultCode::InvalidName, "{bad:?}");
    }

    assert_eq!(
        mb.tag_by_name("WORK").await.unwrap().map(|t| t.id),
        Some(work.id)
    );
    let renamed = mb.rename_tag(work.id, "Job").await.unwrap();
    assert_eq!(renamed.name, "Job");
    assert!(mb.tag_by_name("work").await.unwrap().is_none());
    assert!(mb.rename_tag(work.id, "HOME").await.is_err());
    // A change of case only is a rename.
    assert_eq!(mb.rename_tag(home.id, "Home").await.unwrap().name, "Home");

    mb.delete_tag(home.id).await.unwrap();
    let e: ServiceError = mb.tag(home.id).await.unwrap_err().into();
    assert_eq!(e.code, FaultCode::NoSuchTag);
    assert!(mb.delete_tag(home.id).await.is_err());
    // Ids are not reused.
    assert_eq!(mb.create_tag("again", 0).await.unwrap().id, ItemId(67));
    let names: Vec<String> = mb
        .tags()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["Job", "Über", "again"]);
}

#[tokio::test]
async fn tagging_messages_bumps_change_numbers() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let a = mb
        .append(INBOX, &simple_message(1), Flags(Flags::UNREAD), 1)
        .await
        .unwrap();
    let b = mb
        .append(INBOX, &simple_message(2), Flags(0), 2)
        .await
        .unwrap();
    let work = mb.create_tag("Work", 0).await.unwrap();
    let before = mb.change_number().await.unwrap().0;

    let out = mb
        .set_tag(&[a.id, b.id, a.id], work.id, true)
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|m| m.tags == vec!["Work"] && m.modseq == before + 1)
    );
    assert_eq!(mb.folder(INBOX).await.unwrap().modseq, before + 1);
    let t = mb.tag(work.id).await.unwrap();
    assert_eq!((t.messages, t.unread), (2, 1));

    // Tagging again changes nothing and logs nothing.
    mb.set_tag(&[a.id], work.id, true).await.unwrap();
    assert_eq!(mb.change_number().await.unwrap().0, before + 1);

    // By name, creating on first use; several tags in one change.
    let out = mb
        .set_tags_by_name(&[a.id], &["$Label1".into(), "work".into()], true, true)
        .await
        .unwrap();
    assert_eq!(out[0].tags, vec!["Work", "$Label1"]);
    let now = mb.change_number().await.unwrap().0;
    assert_eq!(now, before + 3, "one CreateTag and one SetTags");
    assert_eq!(out[0].modseq, now);
    let e = mb
        .set_tags_by_name(&[a.id], &["nope".into()], true, false)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NoSuchTag(_)), "{e}");
    // Removing an unknown name is a no-op.
    mb.set_tags_by_name(&[a.id], &["nope".into()], false, false)
        .await
        .unwrap();
    assert!(mb.tag_by_name("nope").await.unwrap().is_none());

    let changed = mb.messages_changed_since(INBOX, before + 1).await.unwrap();
    assert_eq!(changed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);

    // Rename and delete reach the messages, with a change number.
    mb.rename_tag(work.id, "Job").await.unwrap();
    let m = mb.message(b.id).await.unwrap();
    assert_eq!(m.tags, vec!["Job"]);
    assert_eq!(m.modseq, mb.change_number().await.unwrap().0);
    mb.delete_tag(work.id).await.unwrap();
    assert_eq!(mb.message(a.id).await.unwrap().tags, vec!["$Label1"]);
    assert!(mb.message(b.id).await.unwrap().tags.is_empty());

    // Untag; a missing message changes nothing.
    let l1 = mb.tag_by_name("$label1").await.unwrap().unwrap();
    assert!(
        mb.set_tag(&[a.id, ItemId(9999)], l1.id, false)
            .await
            .is_err()
    );
    assert_eq!(mb.message(a.id).await.unwrap().tags, vec!["$Label1"]);
    mb.set_tag(&[a.id], l1.id, false).await.unwrap();
    assert!(mb.message(a.id).await.unwrap().tags.is_empty());
    assert!(mb.set_tag(&[a.id], ItemId(500), true).await.is_err());
}

#[tokio::test]
async fn append_copy_move_delete_keep_tags() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let sub = mb
        .create_folder(ItemId(folder::USER_ROOT), "sub")
        .await
        .unwrap();
    let m = mb
        .append_tagged(
            INBOX,
            &simple_message(1),
            Flags(0),
            &["Red".into(), "blue".into()],
            1,
        )
        .await
        .unwrap();
    assert_eq!(m.tags, vec!["Red", "blue"]);
    let red = mb.tag_by_name("red").await.unwrap().unwrap();
    // Existing names are matched in any case.
    let m2 = mb
        .append_tagged(INBOX, &simple_message(2), Flags(0), &["RED".into()], 2)
        .await
        .unwrap();
    assert_eq!(m2.tags, vec!["Red"]);
    assert_eq!(mb.tags().await.unwrap().len(), 2);
    assert!(
        mb.append_tagged(INBOX, &simple_message(3), Flags(0), &["a:b".into()], 3)
            .await
            .is_err()
    );

    let copies = mb.copy(&[m.id], sub.id).await.unwrap();
    assert_eq!(copies[0].tags, vec!["Red", "blue"]);
    assert_eq!(mb.tag(red.id).await.unwrap().messages, 3);
    let moved = mb.move_items(&[m2.id], sub.id).await.unwrap();
    assert_eq!(moved[0].tags, vec!["Red"]);
    mb.delete_items(&[m.id]).await.unwrap();
    assert_eq!(mb.tag(red.id).await.unwrap().messages, 2);
    mb.delete_folder(sub.id).await.unwrap();
    assert_eq!(mb.tag(red.id).await.unwrap().messages, 0);
}

#[tokio::test]
async fn tag_ids_run_from_64_to_255_then_take_item_ids() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    for i in 64..256 {
        assert_eq!(
            mb.create_tag(&format!("t{i}"), 0).await.unwrap().id,
            ItemId(i)
        );
    }
    let t = mb.create_tag("overflow", 0).await.unwrap();
    assert_eq!(t.id, ItemId(257));
    let m = mb
        .append(INBOX, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    assert_eq!(m.id, ItemId(258));
}

#[tokio::test]
async fn tags_survive_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = zcs_store::StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let m = mb
        .append_tagged(INBOX, &simple_message(1), Flags(0), &["x".into()], 1)
        .await
        .unwrap();
    mb.set_tags_by_name(&[m.id], &["y".into()], true, true)
        .await
        .unwrap();
    let x = mb.tag_by_name("x").await.unwrap().unwrap();
    assert_eq!(mb.set_tag_color(x.id, 7).await.unwrap().color, 7);
    let want_tags = mb.tags().await.unwrap();
    let want = mb.message(m.id).await.unwrap();
    store.close().await;

    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.tags().await.unwrap(), want_tags);
    assert_eq!(mb.message(m.id).await.unwrap(), want);
    // New tags continue after the replayed ids.
    assert_eq!(mb.create_tag("z", 0).await.unwrap().id, ItemId(66));
}

#[tokio::test]
async fn a_version_1_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = zcs_store::StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    store.mailbox(acct).await.unwrap();
    store.close().await;
    // Turn the file back into what version 1 wrote.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&cfg.db_path);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    for sql in [
        "ALTER TABLE mailbox DROP COLUMN tag_id_checkpoint",
        "DROP TABLE tag",
        "DROP TABLE tagged_item",
        "UPDATE store_state SET schema_version = 1",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(cfg).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.create_tag("t", 0).await.unwrap().id, ItemId(64));
}
