//! Replay of the item model: every new kind of change (conversations, dumpster, contacts,
//! calendar items, documents, mountpoints, search folders, grants) is rebuilt from the
//! redo log alone, and brought forward onto a stale database, to the same state.

mod common;

use std::path::Path;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{
    CalItem, Contact, ContactMember, Conversation, Document, DumpsterItem, Grant, GranteeType,
    Mailbox, MailboxSettings, MemberKind, MessageMeta, Mountpoint, Revision, Rights, SearchFolder,
    Store, StoreConfig, Tombstone,
};

#[derive(Debug, PartialEq)]
struct Snapshot {
    messages: Vec<MessageMeta>,
    conversations: Vec<Conversation>,
    contacts: Vec<Contact>,
    cal: Vec<CalItem>,
    docs: Vec<(Document, Vec<Revision>)>,
    mountpoints: Vec<Mountpoint>,
    searches: Vec<SearchFolder>,
    grants: Vec<Grant>,
    dumpster: Vec<DumpsterItem>,
    tombstones: Vec<Tombstone>,
    change: i64,
}

async fn snapshot(mb: &Mailbox) -> Snapshot {
    let mut messages = Vec::new();
    for f in mb.folders().await.unwrap() {
        messages.extend(mb.messages(f.id).await.unwrap());
    }
    let mut convs: Vec<ItemId> = messages.iter().map(|m| m.conv).collect();
    convs.sort();
    convs.dedup();
    let mut conversations = Vec::new();
    for c in convs {
        conversations.push(mb.conversation(c).await.unwrap());
    }
    let mut contacts = mb.contacts(ItemId(folder::CONTACTS)).await.unwrap();
    contacts.extend(mb.contacts(ItemId(folder::EMAILED_CONTACTS)).await.unwrap());
    let mut cal = mb.cal_items(ItemId(folder::CALENDAR)).await.unwrap();
    cal.extend(mb.cal_items(ItemId(folder::TASKS)).await.unwrap());
    let mut docs = Vec::new();
    for d in mb.documents(ItemId(folder::BRIEFCASE)).await.unwrap() {
        let revs = mb.document_revisions(d.id).await.unwrap();
        docs.push((d, revs));
    }
    Snapshot {
        messages,
        conversations,
        contacts,
        cal,
        docs,
        mountpoints: mb.mountpoints().await.unwrap(),
        searches: mb.search_folders().await.unwrap(),
        grants: mb.grants(ItemId(folder::CALENDAR)).await.unwrap(),
        dumpster: mb.dumpster_items().await.unwrap(),
        tombstones: mb.tombstones_since(0).await.unwrap(),
        change: mb.change_number().await.unwrap().0,
    }
}

fn threaded(subject: &str, id: &str, parent: Option<&str>) -> Vec<u8> {
    let refs = parent
        .map(|p| format!("In-Reply-To: <{p}>\r\nReferences: <{p}>\r\n"))
        .unwrap_or_default();
    format!("From: a@x\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{refs}\r\nbody\r\n")
        .into_bytes()
}

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//t//EN\r\nBEGIN:VEVENT\r\n\
    UID:r1@x\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
    DTEND:20261210T110000Z\r\nSUMMARY:Sync\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n\
    END:VEVENT\r\nEND:VCALENDAR\r\n";

/// Every new kind of change, twice over (`round` varies names and content).
async fn work(mb: &Mailbox, round: usize) {
    let inbox = ItemId(folder::INBOX);
    let a = mb
        .append(
            inbox,
            &threaded("Plan", &format!("a{round}@x"), None),
            Flags(0),
            1,
        )
        .await
        .unwrap();
    let b = mb
        .append(
            inbox,
            &threaded(
                "Re: Plan",
                &format!("b{round}@x"),
                Some(&format!("a{round}@x")),
            ),
            Flags(Flags::UNREAD),
            2,
        )
        .await
        .unwrap();
    let c = mb
        .append(inbox, &simple_message(round * 10), Flags(0), 3)
        .await
        .unwrap();
    mb.delete_items(&[c.id]).await.unwrap();
    if round == 0 {
        mb.recover_from_dumpster(&[c.id], Some(ItemId(folder::SENT)))
            .await
            .unwrap();
    } else {
        mb.purge_dumpster(&[c.id]).await.unwrap();
        mb.delete_items(&[a.id]).await.unwrap();
    }
    let _ = b;

    let contact = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), format!("c{round}@x"))],
            vec![ContactMember {
                kind: MemberKind::Inline,
                value: "m@x".into(),
            }],
        )
        .await
        .unwrap();
    mb.modify_contact(
        contact.id,
        vec![("firstName".into(), format!("N{round}"))],
        Vec::new(),
    )
    .await
    .unwrap();
    mb.move_contact(contact.id, ItemId(folder::EMAILED_CONTACTS))
        .await
        .unwrap();
    let doomed = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "d@x".into())],
            vec![],
        )
        .await
        .unwrap();
    mb.delete_items(&[doomed.id]).await.unwrap();

    mb.save_cal_item(
        ItemId(folder::CALENDAR),
        &EVENT.replace("Sync", &format!("Sync{round}")),
    )
    .await
    .unwrap();
    let name = format!("doc{round}.txt");
    for v in 0..3 {
        mb.save_document(
            ItemId(folder::BRIEFCASE),
            &name,
            "text/plain",
            format!("{round}-{v}").as_bytes(),
            "me",
        )
        .await
        .unwrap();
    }
    mb.create_mountpoint(
        ItemId(folder::USER_ROOT),
        &format!("mp{round}"),
        ZimbraId::new(),
        ItemId(2),
        "message",
    )
    .await
    .unwrap();
    mb.create_search_folder(
        ItemId(folder::USER_ROOT),
        &format!("s{round}"),
        "is:unread",
        "",
        "",
    )
    .await
    .unwrap();
    mb.grant(
        ItemId(folder::CALENDAR),
        GranteeType::User,
        &format!("user-{round}"),
        Rights::parse("rw").unwrap(),
        "",
    )
    .await
    .unwrap();
    if round == 1 {
        mb.revoke(ItemId(folder::CALENDAR), GranteeType::User, "user-0")
            .await
            .unwrap();
    }
}

fn remove_db(cfg: &StoreConfig) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn settings() -> MailboxSettings {
    MailboxSettings {
        dumpster_enabled: true,
        notebook_max_revisions: 2,
        ..MailboxSettings::default()
    }
}

#[tokio::test]
async fn the_item_model_is_rebuilt_from_the_log_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap().with_settings(settings());
    work(&mb, 0).await;
    work(&mb, 1).await;
    let want = snapshot(&mb).await;
    assert_eq!(want.docs.len(), 2);
    assert_eq!(want.docs[0].1.len(), 2);
    assert_eq!(want.grants.len(), 1);
    store.close().await;

    remove_db(&cfg);
    let store = Store::open(cfg).await.unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.missing_blobs, 0, "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, want);
    store.close().await;
}

#[tokio::test]
async fn a_stale_database_is_brought_forward() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    work(
        &store.mailbox(acct).await.unwrap().with_settings(settings()),
        0,
    )
    .await;
    store.close().await;
    let old = dir.path().join("old.sqlite");
    std::fs::copy(&cfg.db_path, &old).unwrap();

    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap().with_settings(settings());
    work(&mb, 1).await;
    let want = snapshot(&mb).await;
    store.close().await;

    remove_db(&cfg);
    std::fs::copy(&old, &cfg.db_path).unwrap();
    let store = Store::open(cfg.clone()).await.unwrap();
    assert!(store.recovery_report().replayed > 10);
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, want);
    store.close().await;
    let _ = Path::new(&old);
}
