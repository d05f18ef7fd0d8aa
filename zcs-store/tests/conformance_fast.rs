//! Conformance for the fast paths and later item attributes, on SQLite (always), MariaDB
//! (`ZCS_TEST_MYSQL_URL`) and PostgreSQL (`ZCS_TEST_POSTGRES_URL`; skipped loudly when
//! unset): flag listings agree with full listings; a batch import stores what appending
//! the same messages one by one stores; contacts, appointments, tasks and documents take
//! tags as messages do; folders keep a colour.

mod common;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{FolderColor, ImportMessage, Store, StoreConfig, StoreError};

use common::engines::run;

conformance!(
    flag_listing_matches_messages,
    batch_import_matches_appends,
    tags_on_every_item_kind,
    folder_colours,
);

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

/// A small thread: message `i` replies to `i - 1` within each group of three, and
/// every fourth message repeats a subject an earlier batch message had.
fn threaded(i: usize) -> Vec<u8> {
    let group = i / 3;
    let (subject, refs) = if i.is_multiple_of(3) {
        (format!("Topic {group}"), String::new())
    } else {
        (
            format!("Re: Topic {group}"),
            format!("References: <m{}@example.com>\r\n", i - 1),
        )
    };
    format!(
        "From: a{i}@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <m{i}@example.com>\r\n{refs}Date: Sat, 5 Dec 2026 01:00:00 +0000\r\n\
         \r\nbody {i}\r\n"
    )
    .into_bytes()
}

async fn batch_import_matches_appends(store: Store, _cfg: StoreConfig, _url: String) {
    let inbox = ItemId(folder::INBOX);
    let one = store.mailbox(ZimbraId::new()).await.unwrap();
    let batch = store.mailbox(ZimbraId::new()).await.unwrap();
    let msgs: Vec<ImportMessage> = (0..20)
        .map(|i| ImportMessage {
            raw: threaded(i),
            flags: Flags(if i.is_multiple_of(2) {
                Flags::UNREAD
            } else {
                0
            }),
            tags: if i.is_multiple_of(5) {
                vec!["Imported".into()]
            } else {
                Vec::new()
            },
            internal_date_ms: 1_000 + i as i64,
        })
        .collect();
    // The first three one by one in both, so the batch threads onto stored messages.
    for m in &msgs[..3] {
        for mb in [&one, &batch] {
            mb.append_tagged(inbox, &m.raw, m.flags, &m.tags, m.internal_date_ms)
                .await
                .unwrap();
        }
    }
    let mut want_ids = Vec::new();
    for m in &msgs[3..] {
        let meta = one
            .append_tagged(inbox, &m.raw, m.flags, &m.tags, m.internal_date_ms)
            .await
            .unwrap();
        want_ids.push(meta.id);
    }
    let ids = batch
        .import_messages(inbox, msgs[3..].to_vec())
        .await
        .unwrap();
    assert_eq!(ids, want_ids);
    let key = |m: &zcs_store::MessageMeta| {
        (
            m.id,
            m.imap_uid,
            m.flags,
            m.tags.clone(),
            m.modseq,
            m.conv,
            m.subject.clone(),
            m.blob_digest.clone(),
        )
    };
    let a: Vec<_> = one.messages(inbox).await.unwrap().iter().map(key).collect();
    let b: Vec<_> = batch
        .messages(inbox)
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(a, b);
    assert!(a.iter().any(|k| k.5.0 > 0), "some messages thread");
    assert_eq!(
        one.change_number().await.unwrap(),
        batch.change_number().await.unwrap()
    );
    assert_eq!(
        one.folder(inbox).await.unwrap().uid_next,
        batch.folder(inbox).await.unwrap().uid_next
    );
    let c = batch.conversation(a[4].5).await.unwrap();
    assert!(c.messages >= 2, "{c:?}");
    // All or nothing: over quota, nothing of the batch is stored.
    let before = batch.messages(inbox).await.unwrap().len();
    let small = batch.with_quota(1);
    assert!(matches!(
        small.import_messages(inbox, msgs[..2].to_vec()).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    assert!(matches!(
        batch
            .import_messages(ItemId(9999), msgs[..2].to_vec())
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));
    assert_eq!(batch.messages(inbox).await.unwrap().len(), before);
    assert!(
        batch
            .import_messages(inbox, Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
}

fn vcal(uid: &str, component: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\nBEGIN:{component}\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
         SUMMARY:Item {uid}\r\nEND:{component}\r\nEND:VCALENDAR\r\n"
    )
}

async fn tags_on_every_item_kind(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let contact = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "c@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();
    let appt = mb
        .save_cal_item(ItemId(folder::CALENDAR), &vcal("a@example.com", "VEVENT"))
        .await
        .unwrap();
    let task = mb
        .save_cal_item(ItemId(folder::TASKS), &vcal("t@example.com", "VTODO"))
        .await
        .unwrap();
    let doc = mb
        .save_document(
            ItemId(folder::BRIEFCASE),
            "d.txt",
            "text/plain",
            b"doc",
            "me",
        )
        .await
        .unwrap();
    let msg = mb
        .append(ItemId(folder::INBOX), &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let all = [contact.id, appt.id, task.id, doc.id, msg.id];
    assert!(mb.item_tags(contact.id).await.unwrap().is_empty());
    let before = mb.change_number().await.unwrap();
    mb.tag_items_by_name(&all, &["Project".to_string()], true, true)
        .await
        .unwrap();
    // One tag creation, one tagging change.
    assert_eq!(mb.change_number().await.unwrap().0, before.0 + 2);
    let project = mb.tag_by_name("project").await.unwrap().unwrap();
    for id in all {
        assert_eq!(mb.item_tags(id).await.unwrap(), vec!["Project".to_string()]);
    }
    assert_eq!(
        mb.message(msg.id).await.unwrap().tags,
        vec!["Project".to_string()]
    );
    // The tagged items and their folders take the change number.
    let c = mb.contact(contact.id).await.unwrap();
    assert!(c.modseq > contact.modseq);
    assert!(mb.cal_item(task.id).await.unwrap().modseq > task.modseq);
    let mut tagged = mb.tagged_items(project.id).await.unwrap();
    tagged.sort();
    let mut want = all.to_vec();
    want.sort();
    assert_eq!(tagged, want);
    // Tagging again changes nothing and logs nothing.
    let now = mb.change_number().await.unwrap();
    mb.tag_items(&[contact.id], project.id, true).await.unwrap();
    assert_eq!(mb.change_number().await.unwrap(), now);
    // A rename shows on every kind; removal and deletion clean up.
    mb.rename_tag(project.id, "Renamed").await.unwrap();
    assert_eq!(
        mb.item_tags(appt.id).await.unwrap(),
        vec!["Renamed".to_string()]
    );
    mb.tag_items(&[appt.id], project.id, false).await.unwrap();
    assert!(mb.item_tags(appt.id).await.unwrap().is_empty());
    let map = mb.items_tags(&all).await.unwrap();
    assert_eq!(map.len(), 4);
    assert!(!map.contains_key(&appt.id));
    mb.delete_items(&[contact.id]).await.unwrap();
    assert_eq!(mb.tagged_items(project.id).await.unwrap().len(), 3);
    assert!(matches!(
        mb.item_tags(contact.id).await,
        Err(StoreError::NoSuchItem(_))
    ));
    assert!(matches!(
        mb.tag_items(&[task.id, ItemId(9999)], project.id, true)
            .await,
        Err(StoreError::NoSuchItem(_))
    ));
    assert!(matches!(
        mb.tag_items(&[task.id], ItemId(99), true).await,
        Err(StoreError::NoSuchTag(_))
    ));
    mb.delete_tag(project.id).await.unwrap();
    assert!(mb.item_tags(task.id).await.unwrap().is_empty());
    assert!(mb.items_tags(&all).await.unwrap().is_empty());
}

async fn folder_colours(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let work = mb.create_folder(inbox, "Work").await.unwrap();
    assert!(mb.folder_color(work.id).await.unwrap().is_default());
    assert!(mb.folder_colors().await.unwrap().is_empty());
    let msg = mb
        .append(work.id, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let before = mb.change_number().await.unwrap();
    let got = mb
        .set_folder_color(work.id, FolderColor::index(4))
        .await
        .unwrap();
    assert_eq!(got, FolderColor::index(4));
    assert_eq!(mb.change_number().await.unwrap().0, before.0 + 1);
    assert_eq!(
        mb.folder(work.id).await.unwrap().modseq,
        before.0 + 1,
        "the folder takes the change number"
    );
    assert_eq!(mb.message(msg.id).await.unwrap().modseq, msg.modseq);
    // The same colour again logs nothing.
    mb.set_folder_color(work.id, FolderColor::index(4))
        .await
        .unwrap();
    assert_eq!(mb.change_number().await.unwrap().0, before.0 + 1);
    let rgb = FolderColor::from_rgb_hex("#12AB7f").unwrap();
    mb.set_folder_color(inbox, rgb).await.unwrap();
    let colours = mb.folder_colors().await.unwrap();
    assert_eq!(colours.len(), 2);
    assert_eq!(colours[&inbox].rgb_hex().as_deref(), Some("#12AB7F"));
    assert_eq!(colours[&work.id], FolderColor::index(4));
    // Back to the default: gone from the map.
    mb.set_folder_color(work.id, FolderColor::default())
        .await
        .unwrap();
    assert_eq!(mb.folder_colors().await.unwrap().len(), 1);
    assert!(matches!(
        mb.set_folder_color(work.id, FolderColor::index(10)).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        mb.set_folder_color(ItemId(9999), FolderColor::index(1))
            .await,
        Err(StoreError::NoSuchFolder(_))
    ));
}
