//! Dumpster, purge and blob lifetime through the public API: hard deletes into the
//! dumpster and back, lifetimes (message, trash, junk, dumpster, legal hold), blobs
//! freed with their last reference, the orphan sweep, mailbox deletion.

mod common;

use std::time::{Duration, SystemTime};

use common::{count_blob_files, simple_message, temp_store};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{BlobStore, FileBlobStore, MailboxSettings, PurgePolicy};

const DAY: i64 = 86_400_000;

fn dumpster_on() -> MailboxSettings {
    MailboxSettings {
        dumpster_enabled: true,
        ..MailboxSettings::default()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn hard_delete_goes_to_the_dumpster_and_comes_back() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(dumpster_on());
    let sub = mb
        .create_folder(ItemId(folder::INBOX), "sub")
        .await
        .unwrap();
    let m = mb
        .append(sub.id, &simple_message(1), Flags(Flags::UNREAD), 5)
        .await
        .unwrap();
    mb.delete_items(&[m.id]).await.unwrap();
    assert!(mb.messages(sub.id).await.unwrap().is_empty());
    assert_eq!(count_blob_files(&cfg.blob_root), 1, "kept for the dumpster");
    let d = mb.dumpster_items().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].id, m.id);
    assert_eq!(d[0].folder, sub.id);
    assert_eq!(d[0].subject, "message 1");

    let back = mb.recover_from_dumpster(&[m.id], None).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id, m.id);
    assert_eq!(back[0].folder, sub.id);
    assert!(back[0].imap_uid > m.imap_uid, "a new UID in the folder");
    assert!(back[0].flags.contains(Flags::UNREAD));
    assert_eq!(mb.folder(sub.id).await.unwrap().unread, 1);
    assert!(mb.dumpster_items().await.unwrap().is_empty());
    assert_eq!(mb.read_message(m.id).await.unwrap(), simple_message(1));

    // Folder gone: recovery lands in Inbox. Then purge from the dumpster frees the blob.
    mb.delete_items(&[m.id]).await.unwrap();
    mb.delete_folder(sub.id).await.unwrap();
    let back = mb.recover_from_dumpster(&[m.id], None).await.unwrap();
    assert_eq!(back[0].folder, ItemId(folder::INBOX));
    mb.delete_items(&[m.id]).await.unwrap();
    mb.purge_dumpster(&[m.id]).await.unwrap();
    assert!(mb.dumpster_items().await.unwrap().is_empty());
    assert_eq!(count_blob_files(&cfg.blob_root), 0);

    // Without the dumpster a hard delete is final.
    let plain = mb.with_settings(MailboxSettings::default());
    let m = plain
        .append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 5)
        .await
        .unwrap();
    plain.delete_items(&[m.id]).await.unwrap();
    assert!(plain.dumpster_items().await.unwrap().is_empty());
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
}

#[tokio::test]
async fn blobs_go_with_their_last_reference() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(dumpster_on());
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 5)
        .await
        .unwrap();
    let copy = mb.copy(&[m.id], ItemId(folder::SENT)).await.unwrap();
    mb.delete_items(&[m.id]).await.unwrap();
    mb.purge_dumpster(&[m.id]).await.unwrap();
    assert_eq!(
        count_blob_files(&cfg.blob_root),
        1,
        "the copy still uses it"
    );
    mb.delete_items(&[copy[0].id]).await.unwrap();
    assert_eq!(
        count_blob_files(&cfg.blob_root),
        1,
        "the dumpster still uses it"
    );
    mb.purge_dumpster(&[copy[0].id]).await.unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
}

#[tokio::test]
async fn purge_applies_lifetimes_and_legal_hold() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let t = now_ms();
    let inbox = ItemId(folder::INBOX);
    let old = mb
        .append(inbox, &simple_message(1), Flags(0), t - 100 * DAY)
        .await
        .unwrap();
    let fresh = mb
        .append(inbox, &simple_message(2), Flags(0), t)
        .await
        .unwrap();
    let trashed = mb
        .append(inbox, &simple_message(3), Flags(0), t)
        .await
        .unwrap();
    let junk = mb
        .append(ItemId(folder::JUNK), &simple_message(4), Flags(0), t)
        .await
        .unwrap();
    mb.move_items(&[trashed.id], ItemId(folder::TRASH))
        .await
        .unwrap();
    let trash_sub = mb
        .create_folder(ItemId(folder::TRASH), "old")
        .await
        .unwrap();
    let in_sub = mb
        .append(trash_sub.id, &simple_message(5), Flags(0), t)
        .await
        .unwrap();

    // Nothing is due yet.
    let policy = PurgePolicy {
        message_lifetime_ms: 90 * DAY,
        trash_lifetime_ms: 30 * DAY,
        spam_lifetime_ms: 10 * DAY,
        dumpster_lifetime_ms: 30 * DAY,
        dumpster_enabled: true,
        dumpster_purge_enabled: true,
    };
    let r = mb.purge(t, policy).await.unwrap();
    assert_eq!(r.messages, vec![old.id], "only the 100-day-old message");
    assert!(r.to_dumpster);

    // Twenty days on: junk is due; then forty: trash (and its subfolder).
    let r = mb.purge(t + 20 * DAY, policy).await.unwrap();
    assert_eq!(r.messages, vec![junk.id]);
    let r = mb.purge(t + 40 * DAY, policy).await.unwrap();
    assert_eq!(r.messages, vec![trashed.id, in_sub.id]);
    // The first purge's dumpster items (deleted at real time ~t) are 40 days old now.
    let mut want = vec![old.id, junk.id, trashed.id, in_sub.id];
    want.sort();
    assert_eq!(r.dumpster_purged, want, "by id");
    assert!(mb.dumpster_items().await.unwrap().is_empty());
    assert_eq!(mb.message(fresh.id).await.unwrap().id, fresh.id);

    // Legal hold keeps the dumpster.
    let keep = mb
        .append(inbox, &simple_message(6), Flags(0), t)
        .await
        .unwrap();
    mb.with_settings(dumpster_on())
        .delete_items(&[keep.id])
        .await
        .unwrap();
    let hold = PurgePolicy {
        dumpster_purge_enabled: false,
        ..policy
    };
    let r = mb.purge(t + 400 * DAY, hold).await.unwrap();
    assert!(r.dumpster_purged.is_empty());
    assert_eq!(
        mb.dumpster_items().await.unwrap().len(),
        1 + r.messages.len()
    );

    // All zero: nothing happens.
    let r = mb
        .purge(t + 4000 * DAY, PurgePolicy::default())
        .await
        .unwrap();
    assert_eq!(r, zcs_store::PurgeReport::default());
}

#[tokio::test]
async fn orphan_sweep_removes_only_old_unreferenced_blobs() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let kept = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 5)
        .await
        .unwrap();
    let volume = FileBlobStore::new(cfg.blob_root.clone());
    let old = b"orphan written before a crash".to_vec();
    let young = b"orphan being written right now".to_vec();
    for raw in [&old, &young] {
        volume.put(&zcs_store::blob_digest(raw), raw).unwrap();
    }
    let long_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    for digest in [zcs_store::blob_digest(&old), kept.blob_digest.clone()] {
        let path = volume.path_for(&digest).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(long_ago).unwrap();
    }
    assert_eq!(count_blob_files(&cfg.blob_root), 3);

    let r = store.sweep_orphan_blobs().await.unwrap();
    assert_eq!(r.examined, 3);
    assert_eq!(r.removed, 1);
    assert_eq!(r.young, 1);
    assert!(!volume.contains(&zcs_store::blob_digest(&old)));
    assert!(volume.contains(&zcs_store::blob_digest(&young)));
    assert_eq!(mb.read_message(kept.id).await.unwrap(), simple_message(1));

    let r = store
        .sweep_orphan_blobs_older_than(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(r.removed, 1);
    assert_eq!(count_blob_files(&cfg.blob_root), 1);
}

#[tokio::test]
async fn deleting_a_mailbox_removes_every_item_and_blob() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store
        .mailbox(acct)
        .await
        .unwrap()
        .with_settings(dumpster_on());
    let a = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 5)
        .await
        .unwrap();
    mb.append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 5)
        .await
        .unwrap();
    mb.delete_items(&[a.id]).await.unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        "a.txt",
        "text/plain",
        b"doc v1",
        "me",
    )
    .await
    .unwrap();
    mb.create_contact(
        ItemId(folder::CONTACTS),
        vec![("email".into(), "x@y".into())],
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 3);

    store.delete_mailbox(acct).await.unwrap();
    assert!(store.find_mailbox(acct).await.unwrap().is_none());
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
    // A new mailbox for the account starts empty.
    let again = store.mailbox(acct).await.unwrap();
    assert_ne!(again.id(), mb.id());
    assert_eq!(again.contact_count().await.unwrap(), 0);
    assert!(again.dumpster_items().await.unwrap().is_empty());
    assert!(again.tombstones_since(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn tags_come_back_with_recovered_items() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store
        .mailbox(acct)
        .await
        .unwrap()
        .with_settings(dumpster_on());
    let work = mb.create_tag("Work", 0).await.unwrap();
    let gone = mb.create_tag("Gone", 0).await.unwrap();
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 5)
        .await
        .unwrap();
    mb.set_tag(&[m.id], work.id, true).await.unwrap();
    mb.set_tag(&[m.id], gone.id, true).await.unwrap();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "a@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    mb.tag_items(&[c.id], work.id, true).await.unwrap();
    mb.delete_items(&[m.id, c.id]).await.unwrap();
    // A tag deleted while the items are in the dumpster does not come back.
    mb.delete_tag(gone.id).await.unwrap();

    let back = mb.recover_from_dumpster(&[m.id], None).await.unwrap();
    assert_eq!(back[0].tags, vec!["Work".to_string()]);
    assert_eq!(
        mb.message(m.id).await.unwrap().tags,
        vec!["Work".to_string()]
    );
    assert_eq!(mb.tagged_items(work.id).await.unwrap(), vec![m.id]);
    mb.recover_items_from_dumpster(&[c.id], None).await.unwrap();
    assert_eq!(mb.item_tags(c.id).await.unwrap(), vec!["Work".to_string()]);

    // Replay from the redo log alone gives the same tags.
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = zcs_store::Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(
        mb.message(m.id).await.unwrap().tags,
        vec!["Work".to_string()]
    );
    assert_eq!(mb.item_tags(c.id).await.unwrap(), vec!["Work".to_string()]);
    store.close().await;
}

#[tokio::test]
async fn trash_lifetime_purges_contacts_and_documents_too() {
    let (store, _dir, _cfg) = temp_store().await;
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(dumpster_on());
    let trash = ItemId(folder::TRASH);
    let card = |e: &str| vec![("email".to_string(), e.to_string())];
    // Moved into Trash now; created in Trash now; still in Contacts.
    let moved = mb
        .create_contact(ItemId(folder::CONTACTS), card("a@example.com"), Vec::new())
        .await
        .unwrap();
    mb.move_contact(moved.id, trash).await.unwrap();
    let doc = mb
        .save_document(trash, "notes.txt", "text/plain", b"notes", "me")
        .await
        .unwrap();
    let kept = mb
        .create_contact(ItemId(folder::CONTACTS), card("b@example.com"), Vec::new())
        .await
        .unwrap();
    let policy = PurgePolicy {
        trash_lifetime_ms: 30 * DAY,
        dumpster_enabled: true,
        dumpster_purge_enabled: true,
        ..PurgePolicy::default()
    };
    // Not yet 30 days: nothing goes.
    let r = mb.purge(now_ms() + 29 * DAY, policy).await.unwrap();
    assert!(r.items.is_empty(), "{r:?}");
    let r = mb.purge(now_ms() + 31 * DAY, policy).await.unwrap();
    let mut want = vec![moved.id, doc.id];
    want.sort();
    assert_eq!(r.items, want);
    assert!(r.messages.is_empty());
    assert!(mb.contact(moved.id).await.is_err());
    assert!(mb.contact(kept.id).await.is_ok());
    // Into the dumpster, from where they come back.
    let in_dumpster: Vec<ItemId> = mb
        .dumpster_entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(want.iter().all(|i| in_dumpster.contains(i)));
    // Without a Trash lifetime nothing of the kind is purged.
    let none = PurgePolicy {
        trash_lifetime_ms: 0,
        ..policy
    };
    let r = mb.purge(now_ms() + 400 * DAY, none).await.unwrap();
    assert!(r.items.is_empty());
    store.close().await;
}
