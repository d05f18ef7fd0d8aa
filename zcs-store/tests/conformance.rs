//! One conformance suite for the metadata backends: every body below runs against
//! SQLite (always), MariaDB (`ZCS_TEST_MYSQL_URL`) and PostgreSQL
//! (`ZCS_TEST_POSTGRES_URL`). A server test without its variable skips loudly. Each
//! server test works in a database of its own, created from the URL's server and
//! dropped at the end, so runs never collide.

mod common;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{DeliveryTarget, Store, StoreConfig, StoreError, StoreOptions};

use common::engines::run;

conformance!(
    mailbox_and_folders,
    append_flags_and_change_numbers,
    move_copy_delete_and_tombstones,
    tags_on_messages,
    delivery_to_many_and_reopen,
    conversations_and_dumpster,
    contacts_calendar_documents_and_links,
);

async fn mailbox_and_folders(store: Store, _cfg: StoreConfig, _url: String) {
    let acct = ZimbraId::new();
    assert!(store.find_mailbox(acct).await.unwrap().is_none());
    let mb = store.mailbox(acct).await.unwrap();
    assert_eq!(store.mailbox(acct).await.unwrap().id(), mb.id());
    let other = store.mailbox(ZimbraId::new()).await.unwrap();
    assert_ne!(other.id(), mb.id());

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
    assert_eq!((inbox.path.as_str(), inbox.uid_next), ("/Inbox", 257));

    let work = mb
        .create_folder(ItemId(folder::INBOX), "Work")
        .await
        .unwrap();
    assert_eq!(work.id, ItemId(257));
    assert_eq!(work.path, "/Inbox/Work");
    let sub = mb.create_folder(work.id, "Ünïcödé").await.unwrap();
    assert_eq!(sub.path, "/Inbox/Work/Ünïcödé");
    // Names are unique per parent.
    assert!(
        mb.create_folder(ItemId(folder::INBOX), "Work")
            .await
            .is_err()
    );
    mb.rename_folder(work.id, ItemId(folder::USER_ROOT), "Projects")
        .await
        .unwrap();
    let found = mb.folder_by_path("/Projects/Ünïcödé").await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(sub.id));
    mb.delete_folder(work.id).await.unwrap();
    assert!(mb.folder_by_path("/Projects").await.unwrap().is_none());
    assert!(matches!(
        mb.folder(sub.id).await,
        Err(StoreError::NoSuchFolder(_))
    ));
    store.delete_mailbox(acct).await.unwrap();
    assert!(store.find_mailbox(acct).await.unwrap().is_none());
}

async fn append_flags_and_change_numbers(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let start = mb.change_number().await.unwrap().0;
    let a = mb
        .append(
            ItemId(folder::INBOX),
            &simple_message(1),
            Flags(Flags::UNREAD),
            1_000,
        )
        .await
        .unwrap();
    let b = mb
        .append(ItemId(folder::INBOX), &simple_message(2), Flags(0), 2_000)
        .await
        .unwrap();
    assert_eq!((a.id, a.imap_uid), (ItemId(257), 257));
    assert_eq!((b.id, b.imap_uid), (ItemId(258), 258));
    assert!(b.modseq > a.modseq && a.modseq > start);
    assert_eq!(mb.read_message(a.id).await.unwrap(), simple_message(1));

    let inbox = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!((inbox.messages, inbox.unread, inbox.uid_next), (2, 1, 259));
    let (size, count) = mb.size_and_count().await.unwrap();
    assert_eq!(count, 2);
    assert_eq!(size, a.size + b.size);

    let before = mb.change_number().await.unwrap().0;
    let changed = mb
        .set_flags(&[a.id, b.id], Flags::FLAGGED, true)
        .await
        .unwrap();
    assert_eq!(changed.len(), 2);
    let after = mb.change_number().await.unwrap().0;
    assert!(after > before);
    let since = mb
        .messages_changed_since(ItemId(folder::INBOX), before)
        .await
        .unwrap();
    assert_eq!(since.len(), 2);
    mb.set_flags(&[a.id], Flags::UNREAD, false).await.unwrap();
    let msg = mb.message(a.id).await.unwrap();
    assert!(msg.flags.0 & Flags::FLAGGED != 0 && msg.flags.0 & Flags::UNREAD == 0);
    assert_eq!(mb.folder(ItemId(folder::INBOX)).await.unwrap().unread, 0);
    let listed = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    let uids: Vec<u32> = listed.iter().map(|m| m.imap_uid).collect();
    assert_eq!(uids, vec![257, 258]);
}

async fn move_copy_delete_and_tombstones(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let dest = mb
        .create_folder(ItemId(folder::USER_ROOT), "Dest")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..4usize {
        let m = mb
            .append(
                ItemId(folder::INBOX),
                &simple_message(i),
                Flags(0),
                1_000 + i as i64,
            )
            .await
            .unwrap();
        ids.push(m.id);
    }
    let cn = mb.change_number().await.unwrap().0;
    let moved = mb.move_items(&ids[..2], dest.id).await.unwrap();
    assert!(moved.iter().all(|m| m.folder == dest.id));
    // A moved message gets a new UID above the destination's UIDNEXT.
    assert!(moved.iter().all(|m| m.imap_uid > ids[3].0 as u32));
    let copies = mb.copy(&ids[2..3], dest.id).await.unwrap();
    assert_ne!(copies[0].id, ids[2]);
    assert_eq!(
        mb.read_message(copies[0].id).await.unwrap(),
        simple_message(2)
    );
    mb.delete_items(&[ids[3]]).await.unwrap();
    assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 1);
    assert_eq!(mb.messages(dest.id).await.unwrap().len(), 3);

    let tombs = mb.tombstones_since(cn).await.unwrap();
    let moved_out: Vec<ItemId> = tombs.iter().filter(|t| t.moved).map(|t| t.id).collect();
    let deleted: Vec<ItemId> = tombs.iter().filter(|t| !t.moved).map(|t| t.id).collect();
    assert_eq!(moved_out.len(), 2);
    assert_eq!(deleted, vec![ids[3]]);
    assert!(tombs.iter().all(|t| t.change > cn));
    assert!(matches!(
        mb.message(ids[3]).await,
        Err(StoreError::NoSuchMessage(_)) | Err(StoreError::NoSuchItem(_))
    ));
}

async fn tags_on_messages(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let red = mb.create_tag("Red", 6).await.unwrap();
    assert_eq!(red.id, ItemId(64));
    // Names are unique without regard to case.
    assert!(mb.create_tag("RED", 1).await.is_err());
    let m = mb
        .append_tagged(
            ItemId(folder::INBOX),
            &simple_message(7),
            Flags(0),
            &["Blue".to_string()],
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(m.tags, vec!["Blue".to_string()]);
    let tagged = mb.set_tag(&[m.id], red.id, true).await.unwrap();
    let mut names = tagged[0].tags.clone();
    names.sort();
    assert_eq!(names, vec!["Blue".to_string(), "Red".to_string()]);
    mb.rename_tag(red.id, "Crimson").await.unwrap();
    assert!(mb.tag_by_name("crimson").await.unwrap().is_some());
    // A colour change touches the tag only: its modseq moves, the message's does not.
    let before = mb.message(m.id).await.unwrap().modseq;
    let old = mb.tag(red.id).await.unwrap();
    let recolored = mb.set_tag_color(red.id, 0x0100_ff00).await.unwrap();
    assert_eq!(recolored.color, 0x0100_ff00);
    assert!(recolored.modseq > old.modseq);
    assert_eq!(mb.message(m.id).await.unwrap().modseq, before);
    assert_eq!(mb.set_tag_color(red.id, 3).await.unwrap().color, 3);
    let same = mb.set_tag_color(red.id, 3).await.unwrap();
    assert_eq!(same.modseq, mb.tag(red.id).await.unwrap().modseq);
    assert!(matches!(
        mb.set_tag_color(ItemId(200), 1).await,
        Err(StoreError::NoSuchTag(_))
    ));
    mb.set_tags_by_name(&[m.id], &["blue".to_string()], false, false)
        .await
        .unwrap();
    assert_eq!(
        mb.message(m.id).await.unwrap().tags,
        vec!["Crimson".to_string()]
    );
    mb.delete_tag(red.id).await.unwrap();
    assert!(mb.message(m.id).await.unwrap().tags.is_empty());
    assert_eq!(mb.tags().await.unwrap().len(), 1);
}

async fn delivery_to_many_and_reopen(store: Store, cfg: StoreConfig, url: String) {
    let accounts: Vec<ZimbraId> = (0..3).map(|_| ZimbraId::new()).collect();
    let targets: Vec<DeliveryTarget> = accounts
        .iter()
        .map(|a| DeliveryTarget {
            account: *a,
            folder: ItemId(folder::INBOX),
            flags: Flags(Flags::UNREAD),
            quota: 0,
        })
        .collect();
    let raw = simple_message(42);
    let results = store.deliver(&targets, &raw, 9_000).await.unwrap();
    assert_eq!(results.len(), 3);
    let first = results[0].as_ref().unwrap().clone();
    for r in &results {
        assert_eq!(r.as_ref().unwrap().blob_digest, first.blob_digest);
    }
    // Over quota: refused, the others unaffected.
    let tiny = DeliveryTarget {
        quota: 10,
        ..targets[0].clone()
    };
    let refused = store.deliver(&[tiny], &raw, 9_001).await.unwrap();
    assert!(matches!(refused[0], Err(StoreError::QuotaExceeded { .. })));

    // The metadata outlives the process: reopen over the same database.
    store.close().await;
    let again = Store::open_url(&url, cfg, StoreOptions::default())
        .await
        .unwrap();
    for a in &accounts {
        let mb = again
            .find_mailbox(*a)
            .await
            .unwrap()
            .expect("mailbox survives");
        assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 1);
    }
    again.close().await;
}

async fn conversations_and_dumpster(store: Store, _cfg: StoreConfig, _url: String) {
    let mb =
        store
            .mailbox(ZimbraId::new())
            .await
            .unwrap()
            .with_settings(zcs_store::MailboxSettings {
                dumpster_enabled: true,
                ..Default::default()
            });
    let first = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Plans\r\n\
        Message-ID: <p1@example.com>\r\n\r\nfirst\r\n";
    let reply = b"From: b@example.com\r\nTo: a@example.com\r\nSubject: Re: Plans\r\n\
        Message-ID: <p2@example.com>\r\nIn-Reply-To: <p1@example.com>\r\n\
        References: <p1@example.com>\r\n\r\nreply\r\n";
    let m1 = mb
        .append(ItemId(folder::INBOX), first, Flags(0), 1_000)
        .await
        .unwrap();
    let m2 = mb
        .append(ItemId(folder::INBOX), reply, Flags(0), 2_000)
        .await
        .unwrap();
    let m1 = mb.message(m1.id).await.unwrap();
    assert_eq!(m1.conv, m2.conv);
    assert!(m2.conv.0 > 0, "a real conversation once two messages join");
    let conv = mb.conversation(m2.conv).await.unwrap();
    assert_eq!(conv.messages, 2);

    mb.delete_items(&[m1.id]).await.unwrap();
    let dumped = mb.dumpster_items().await.unwrap();
    assert_eq!(dumped.len(), 1);
    assert_eq!(dumped[0].id, m1.id);
    mb.recover_from_dumpster(&[m1.id], Some(ItemId(folder::INBOX)))
        .await
        .unwrap();
    assert!(mb.dumpster_items().await.unwrap().is_empty());
    assert_eq!(mb.messages(ItemId(folder::INBOX)).await.unwrap().len(), 2);
}

async fn contacts_calendar_documents_and_links(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let c = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![
                ("firstName".to_string(), "Zoë".to_string()),
                ("email".to_string(), "zoe@example.com".to_string()),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    let back = mb.contact(c.id).await.unwrap();
    assert_eq!(back.fields, c.fields);
    assert_eq!(
        mb.contacts(ItemId(folder::CONTACTS)).await.unwrap().len(),
        1
    );
    assert_eq!(mb.contact_count().await.unwrap(), 1);

    let ical = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\n\
        BEGIN:VEVENT\r\nUID:conf-1@example.com\r\nDTSTAMP:20261201T090000Z\r\n\
        DTSTART:20261204T100000Z\r\nDTEND:20261204T110000Z\r\nSUMMARY:Review\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";
    let appt = mb
        .save_cal_item(ItemId(folder::CALENDAR), ical)
        .await
        .unwrap();
    assert_eq!(appt.summary, "Review");
    assert!(!appt.recurring);
    let found = mb.cal_item_by_uid("conf-1@example.com").await.unwrap();
    assert_eq!(found.map(|a| a.id), Some(appt.id));
    assert_eq!(
        mb.cal_items(ItemId(folder::CALENDAR)).await.unwrap().len(),
        1
    );

    let d1 = mb
        .save_document(
            ItemId(folder::BRIEFCASE),
            "notes.txt",
            "text/plain",
            b"one",
            "me",
        )
        .await
        .unwrap();
    let d2 = mb
        .save_document(
            ItemId(folder::BRIEFCASE),
            "notes.txt",
            "text/plain",
            b"two",
            "me",
        )
        .await
        .unwrap();
    assert_eq!(d1.id, d2.id);
    assert_eq!(d2.version, 2);
    assert_eq!(mb.read_document(d1.id, Some(1)).await.unwrap(), b"one");
    assert_eq!(mb.read_document(d1.id, None).await.unwrap(), b"two");
    assert_eq!(mb.document_revisions(d1.id).await.unwrap().len(), 2);

    let mp = mb
        .create_mountpoint(
            ItemId(folder::USER_ROOT),
            "Shared",
            ZimbraId::new(),
            ItemId(2),
            "message",
        )
        .await
        .unwrap();
    assert_eq!(mb.mountpoints().await.unwrap()[0].id, mp.id);
    mb.create_search_folder(
        ItemId(folder::USER_ROOT),
        "Unread",
        "is:unread",
        "message",
        "",
    )
    .await
    .unwrap();
    assert_eq!(mb.search_folders().await.unwrap().len(), 1);
    for id in [c.id, appt.id, d1.id, mp.id] {
        assert!(mb.item_kind(id).await.unwrap().is_some(), "kind of {id:?}");
    }
}
