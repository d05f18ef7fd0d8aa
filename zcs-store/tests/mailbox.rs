//! Mailbox behaviour through the public API: lazy creation, folders, append/read,
//! flags and change numbers, copy/move/delete with blob reference counting, reopen.

mod common;

use common::{corpus_messages, count_blob_files, simple_message, temp_store};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ZimbraId, folder};
use zcs_store::{Store, StoreError};

#[tokio::test]
async fn mailbox_is_created_lazily_with_system_folders() {
    let (store, _dir, _) = temp_store().await;
    let acct = ZimbraId::new();
    assert!(store.find_mailbox(acct).await.unwrap().is_none());

    let mb = store.mailbox(acct).await.unwrap();
    assert_eq!(mb.account(), acct);
    let again = store.mailbox(acct).await.unwrap();
    assert_eq!(again.id(), mb.id());
    assert_eq!(
        store.find_mailbox(acct).await.unwrap().unwrap().id(),
        mb.id()
    );

    let folders = mb.folders().await.unwrap();
    let mut ids: Vec<i32> = folders.iter().map(|f| f.id.0).collect();
    ids.sort();
    let mut want: Vec<i32> = folder::SYSTEM_FOLDERS
        .iter()
        .map(|(id, _, _)| *id)
        .collect();
    want.sort();
    assert_eq!(ids, want);
    let inbox = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(inbox.name, "Inbox");
    assert_eq!(inbox.path, "/Inbox");
    assert_eq!(inbox.parent, ItemId(folder::USER_ROOT));
    assert_eq!(inbox.view, "message");
    assert_eq!(inbox.uid_next, 257);
    assert_ne!(inbox.uid_validity, 0);
    let root = mb.folder(ItemId(folder::USER_ROOT)).await.unwrap();
    assert_eq!(root.path, "/");
    assert_eq!(
        mb.folder(ItemId(folder::CONTACTS)).await.unwrap().view,
        "contact"
    );

    // First user item is 257, and a second account gets its own mailbox id.
    let m = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1000)
        .await
        .unwrap();
    assert_eq!(m.id, ItemId(257));
    assert_eq!(m.imap_uid, 257);
    let other = store.mailbox(ZimbraId::new()).await.unwrap();
    assert_ne!(other.id(), mb.id());
}

#[tokio::test]
async fn append_and_read_corpus_byte_identical() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let corpus = corpus_messages();
    assert!(corpus.len() > 60, "corpus too small: {}", corpus.len());

    let mut metas = Vec::new();
    for (i, (name, raw)) in corpus.iter().enumerate() {
        let m = mb
            .append(
                ItemId(folder::INBOX),
                raw,
                Flags(Flags::UNREAD),
                1_000 + i as i64,
            )
            .await
            .unwrap_or_else(|e| panic!("append {name}: {e}"));
        assert_eq!(m.size, raw.len() as u64);
        assert_eq!(m.blob_digest, zcs_store::blob_digest(raw));
        assert_eq!(m.blob_digest.len(), 44);
        assert_eq!(m.internal_date_ms, 1_000 + i as i64);
        metas.push(m);
    }
    for ((name, raw), m) in corpus.iter().zip(&metas) {
        assert_eq!(&mb.read_message(m.id).await.unwrap(), raw, "{name}");
    }

    // Header summaries come from mail-parser; msg_01 is a plain message.
    let first = &metas[0];
    assert!(corpus[0].0.ends_with("msg_01.txt"));
    assert!(!first.sender.is_empty());
    assert!(first.sender.contains('@'), "{}", first.sender);

    let listed = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(listed.len(), corpus.len());
    assert!(listed.windows(2).all(|w| w[0].imap_uid < w[1].imap_uid));
    let inbox = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(inbox.messages as usize, corpus.len());
    assert_eq!(inbox.unread as usize, corpus.len());
    let total: u64 = corpus.iter().map(|(_, r)| r.len() as u64).sum();
    assert_eq!(inbox.size, total);
    assert_eq!(
        mb.size_and_count().await.unwrap(),
        (total, corpus.len() as u64)
    );

    let distinct: std::collections::HashSet<_> = corpus.iter().map(|(_, r)| r).collect();
    assert_eq!(count_blob_files(&cfg.blob_root), distinct.len());
}

#[tokio::test]
async fn flags_and_change_numbers() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let a = mb
        .append(inbox, &simple_message(1), Flags(Flags::UNREAD), 1)
        .await
        .unwrap();
    let b = mb
        .append(inbox, &simple_message(2), Flags(Flags::UNREAD), 2)
        .await
        .unwrap();
    let cn = mb.change_number().await.unwrap().0;
    assert_eq!(b.modseq, cn);
    assert!(a.modseq < b.modseq);

    // Mark a read: one new change number, only a gets it.
    let out = mb.set_flags(&[a.id], Flags::UNREAD, false).await.unwrap();
    assert_eq!(out.len(), 1);
    assert!(!out[0].flags.contains(Flags::UNREAD));
    assert_eq!(out[0].modseq, cn + 1);
    assert_eq!(mb.change_number().await.unwrap().0, cn + 1);
    assert_eq!(mb.message(b.id).await.unwrap().modseq, b.modseq);
    let f = mb.folder(inbox).await.unwrap();
    assert_eq!(f.unread, 1);
    assert_eq!(f.modseq, cn + 1);

    // Nothing changes: no bump.
    let out = mb.set_flags(&[a.id], Flags::UNREAD, false).await.unwrap();
    assert_eq!(out[0].modseq, cn + 1);
    assert_eq!(mb.change_number().await.unwrap().0, cn + 1);

    // Flag both; only b changes its unread state but both get \Flagged.
    let out = mb
        .set_flags(&[a.id, b.id, a.id], Flags::FLAGGED, true)
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|m| m.flags.contains(Flags::FLAGGED) && m.modseq == cn + 2)
    );

    let out = mb
        .replace_flags(&[b.id], Flags(Flags::ANSWERED))
        .await
        .unwrap();
    assert_eq!(out[0].flags, Flags(Flags::ANSWERED));
    assert_eq!(mb.folder(inbox).await.unwrap().unread, 0);
    assert_eq!(mb.change_number().await.unwrap().0, cn + 3);

    let changed = mb.messages_changed_since(inbox, cn + 2).await.unwrap();
    assert_eq!(changed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b.id]);
    assert_eq!(mb.messages_changed_since(inbox, 0).await.unwrap().len(), 2);

    let err = mb
        .set_flags(&[ItemId(9999)], Flags::FLAGGED, true)
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::NoSuchMsg);
}

#[tokio::test]
async fn copy_move_delete_and_blob_refcount() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    let raw = simple_message(7);
    let m = mb
        .append(inbox, &raw, Flags(Flags::UNREAD), 5)
        .await
        .unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 1);

    // Copy: a new item in Work sharing the blob.
    let copies = mb.copy(&[m.id], work.id).await.unwrap();
    assert_eq!(copies.len(), 1);
    let c = &copies[0];
    assert_ne!(c.id, m.id);
    assert_eq!(c.imap_uid, c.id.0 as u32);
    assert_eq!(c.folder, work.id);
    assert_eq!(c.blob_digest, m.blob_digest);
    assert_eq!(count_blob_files(&cfg.blob_root), 1);
    assert_eq!(mb.folder(work.id).await.unwrap().messages, 1);

    // Move the original into Work: same id, new UID above the copy's.
    let moved = mb.move_items(&[m.id], work.id).await.unwrap();
    assert_eq!(moved[0].id, m.id);
    assert_eq!(moved[0].folder, work.id);
    assert!(moved[0].imap_uid > c.imap_uid);
    assert_eq!(mb.folder(inbox).await.unwrap().messages, 0);
    let wf = mb.folder(work.id).await.unwrap();
    assert_eq!((wf.messages, wf.unread), (2, 2));
    let uids: Vec<u32> = mb
        .messages(work.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.imap_uid)
        .collect();
    assert_eq!(uids, vec![c.imap_uid, moved[0].imap_uid]);
    let tomb = mb.tombstones_since(0).await.unwrap();
    assert!(
        tomb.iter()
            .any(|t| t.moved && t.id == m.id && t.folder == inbox)
    );
    // Moving into the folder it is already in changes nothing.
    let cn = mb.change_number().await.unwrap();
    mb.move_items(&[m.id], work.id).await.unwrap();
    assert_eq!(mb.change_number().await.unwrap(), cn);

    // Delete one reference: the blob stays; delete the last: it goes.
    mb.delete_items(&[m.id]).await.unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 1);
    assert_eq!(mb.read_message(c.id).await.unwrap(), raw);
    let err = mb.message(m.id).await.unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::NoSuchMsg);
    let before = mb.change_number().await.unwrap().0;
    mb.delete_items(&[c.id, ItemId(12345)]).await.unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
    let tomb = mb.tombstones_since(before).await.unwrap();
    assert_eq!(tomb.len(), 1);
    assert_eq!(
        (tomb[0].id, tomb[0].moved, tomb[0].change),
        (c.id, false, before + 1)
    );
    assert_eq!(mb.size_and_count().await.unwrap(), (0, 0));
    // Deleting what is gone is a no-op.
    mb.delete_items(&[c.id]).await.unwrap();
    assert_eq!(mb.change_number().await.unwrap().0, before + 1);
}

#[tokio::test]
async fn folder_create_rename_delete() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let inbox = ItemId(folder::INBOX);

    let sub = mb.create_folder(inbox, "sub").await.unwrap();
    assert_eq!(sub.id, ItemId(257));
    assert_eq!(sub.path, "/Inbox/sub");
    assert_eq!(sub.parent, inbox);
    let deep = mb.create_folder(sub.id, "deep").await.unwrap();
    assert_eq!(deep.path, "/Inbox/sub/deep");
    assert_ne!(deep.uid_validity, sub.uid_validity);

    // Lookups by path: every name in any case (Zimbra's getFolderByPath).
    let found = mb.folder_by_path("/INBOX/sub").await.unwrap().unwrap();
    assert_eq!(found.id, sub.id);
    assert_eq!(
        mb.folder_by_path("inbox/sub/deep")
            .await
            .unwrap()
            .unwrap()
            .id,
        deep.id
    );
    let found = mb.folder_by_path("/Inbox/SUB").await.unwrap().unwrap();
    assert_eq!(found.id, sub.id);
    assert!(mb.folder_by_path("/nope").await.unwrap().is_none());
    assert_eq!(
        mb.folder_by_path("Trash").await.unwrap().unwrap().id.0,
        folder::TRASH
    );

    // Duplicates and bad names.
    let dup = mb.create_folder(inbox, "sub").await.unwrap_err();
    assert_eq!(ServiceError::from(dup).code, FaultCode::AlreadyExists);
    let dup = mb.create_folder(root, "inbox").await.unwrap_err();
    assert!(matches!(dup, StoreError::AlreadyExists { .. }));
    // Another case of a sibling's name is the same name (Zimbra's findSubfolder).
    let dup = mb.create_folder(inbox, "Sub").await.unwrap_err();
    assert_eq!(ServiceError::from(dup).code, FaultCode::AlreadyExists);
    let bad = mb.create_folder(inbox, "a/b").await.unwrap_err();
    assert_eq!(ServiceError::from(bad).code, FaultCode::InvalidName);
    let missing = mb.create_folder(ItemId(4242), "x").await.unwrap_err();
    assert_eq!(ServiceError::from(missing).code, FaultCode::NoSuchFolder);

    // Rename and move; paths of children follow.
    let renamed = mb.rename_folder(sub.id, root, "Projects").await.unwrap();
    assert_eq!(renamed.path, "/Projects");
    // The move freed the name under Inbox, in every case.
    assert!(mb.create_folder(inbox, "Sub").await.is_ok());
    assert_eq!(renamed.uid_validity, sub.uid_validity);
    assert_eq!(mb.folder(deep.id).await.unwrap().path, "/Projects/deep");
    let err = mb.rename_folder(sub.id, deep.id, "x").await.unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::CannotContain);
    let err = mb.rename_folder(sub.id, root, "Trash").await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }));
    let err = mb.rename_folder(inbox, root, "Other").await.unwrap_err();
    assert!(matches!(err, StoreError::ImmutableFolder(_)));
    assert!(mb.delete_folder(ItemId(folder::TRASH)).await.is_err());

    // Delete a subtree with messages: everything and the blobs go.
    let m1 = mb
        .append(deep.id, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    mb.append(sub.id, &simple_message(2), Flags(0), 2)
        .await
        .unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 2);
    mb.delete_folder(sub.id).await.unwrap();
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
    assert!(mb.folder(deep.id).await.is_err());
    assert!(mb.message(m1.id).await.is_err());
    let names: Vec<String> = mb
        .folders()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert!(
        !names.iter().any(|p| p.starts_with("/Projects")),
        "{names:?}"
    );
    assert!(names.contains(&"/Inbox/Sub".to_string()));
    // A re-created folder of the same name gets a new UIDVALIDITY.
    let again = mb.create_folder(root, "Projects").await.unwrap();
    assert_ne!(again.uid_validity, sub.uid_validity);
}

#[tokio::test]
async fn reopen_sees_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = zcs_store::StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let (mid, fid, cn) = {
        let store = Store::open(cfg.clone()).await.unwrap();
        let mb = store.mailbox(acct).await.unwrap();
        let f = mb
            .create_folder(ItemId(folder::USER_ROOT), "Keep")
            .await
            .unwrap();
        let m = mb
            .append(f.id, &simple_message(3), Flags(Flags::UNREAD), 77)
            .await
            .unwrap();
        mb.set_flags(&[m.id], Flags::FLAGGED, true).await.unwrap();
        let cn = mb.change_number().await.unwrap();
        store.close().await;
        (m.id, f.id, cn)
    };
    let store = Store::open(cfg).await.unwrap();
    assert_eq!(store.recovery_report().replayed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(mb.change_number().await.unwrap(), cn);
    let m = mb.message(mid).await.unwrap();
    assert_eq!(m.folder, fid);
    assert!(m.flags.contains(Flags::FLAGGED | Flags::UNREAD));
    assert_eq!(m.internal_date_ms, 77);
    assert_eq!(mb.read_message(mid).await.unwrap(), simple_message(3));
    assert_eq!(mb.folder_by_path("/Keep").await.unwrap().unwrap().id, fid);
    // Ids continue where they stopped.
    let n = mb
        .append(fid, &simple_message(4), Flags(0), 1)
        .await
        .unwrap();
    assert_eq!(n.id.0, mid.0 + 1);
}

#[tokio::test]
async fn indexer_bookkeeping_and_mailbox_delete() {
    let (store, _dir, cfg) = temp_store().await;
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let a = mb
        .append(inbox, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let b = mb
        .append(inbox, &simple_message(2), Flags(0), 2)
        .await
        .unwrap();
    assert_eq!(mb.unindexed(10).await.unwrap(), vec![a.id, b.id]);
    assert_eq!(
        store.unindexed(10).await.unwrap(),
        vec![(acct, a.id), (acct, b.id)]
    );
    mb.mark_indexed(&[a.id]).await.unwrap();
    assert_eq!(mb.unindexed(10).await.unwrap(), vec![b.id]);
    assert_eq!(mb.unindexed(0).await.unwrap(), vec![]);

    let old_id = mb.id();
    store.delete_mailbox(acct).await.unwrap();
    assert!(store.find_mailbox(acct).await.unwrap().is_none());
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
    let err = mb.folders().await.unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::NoSuchMailbox);
    let fresh = store.mailbox(acct).await.unwrap();
    assert!(fresh.id() > old_id, "mailbox ids are never reused");
    store.delete_mailbox(ZimbraId::new()).await.unwrap();
}

#[tokio::test]
async fn messages_cannot_go_into_the_hidden_root() {
    let (store, _dir, cfg) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let err = mb
        .append(ItemId(folder::ROOT), &simple_message(1), Flags(0), 1)
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::CannotContain);
    let err = mb
        .append(ItemId(999), &simple_message(1), Flags(0), 1)
        .await
        .unwrap_err();
    assert_eq!(ServiceError::from(err).code, FaultCode::NoSuchFolder);
    // A refused append leaves no blob behind.
    assert_eq!(count_blob_files(&cfg.blob_root), 0);
    // USER_ROOT takes messages, as Zimbra's AddMsg into folder 1 does.
    mb.append(ItemId(folder::USER_ROOT), &simple_message(2), Flags(0), 2)
        .await
        .expect("USER_ROOT holds messages");
}
