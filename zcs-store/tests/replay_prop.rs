//! Property: any random sequence of mailbox operations (appends, replies that thread,
//! flags, tags, copies, moves, deletes, dumpster deletes, recoveries and purges, folder
//! and tag changes, contacts, calendar items, documents, grants), with a tiny redo
//! rollover, leaves a state that replaying the redo log onto an empty database
//! reproduces exactly.

mod common;

use common::simple_message;
use proptest::prelude::*;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Mailbox, MessageMeta, Store, StoreConfig, StoreOptions, Tag};

#[derive(Clone, Debug)]
enum Op {
    Append(usize, u8),
    Flag(usize, bool),
    Tag(usize, u8, bool),
    Copy(usize),
    Move(usize),
    Delete(usize),
    NewFolder,
    RenameTag(u8),
    DeleteTag(u8),
    Reply(usize),
    DumpsterDelete(usize),
    Recover(usize),
    PurgeDumpster(usize),
    Contact(u8),
    DeleteContact(usize),
    Cal(u8),
    Doc(u8),
    Grant(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..50usize, 0..4u8).prop_map(|(n, t)| Op::Append(n, t)),
        1 => (0..20usize, any::<bool>()).prop_map(|(i, on)| Op::Flag(i, on)),
        2 => (0..20usize, 0..4u8, any::<bool>()).prop_map(|(i, t, on)| Op::Tag(i, t, on)),
        1 => (0..20usize).prop_map(Op::Copy),
        1 => (0..20usize).prop_map(Op::Move),
        1 => (0..20usize).prop_map(Op::Delete),
        1 => Just(Op::NewFolder),
        1 => (0..4u8).prop_map(Op::RenameTag),
        1 => (0..4u8).prop_map(Op::DeleteTag),
        2 => (0..20usize).prop_map(Op::Reply),
        1 => (0..20usize).prop_map(Op::DumpsterDelete),
        1 => (0..20usize).prop_map(Op::Recover),
        1 => (0..20usize).prop_map(Op::PurgeDumpster),
        1 => (0..6u8).prop_map(Op::Contact),
        1 => (0..20usize).prop_map(Op::DeleteContact),
        1 => (0..3u8).prop_map(Op::Cal),
        1 => (0..3u8).prop_map(Op::Doc),
        1 => (0..4u8).prop_map(Op::Grant),
    ]
}

fn reply_to(n: usize, parent: &str) -> Vec<u8> {
    format!(
        "From: r@example.com\r\nSubject: Re: reply {n}\r\nMessage-ID: <re{n}@example.com>\r\n\
         In-Reply-To: <{parent}>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

fn event(n: u8) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//p//EN\r\nBEGIN:VEVENT\r\n\
         UID:e{n}@x\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T100000Z\r\n\
         DURATION:PT1H\r\nSUMMARY:E{n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Everything beyond folders, messages and tags, for comparison.
type Items = (
    Vec<zcs_store::Conversation>,
    Vec<zcs_store::DumpsterItem>,
    Vec<zcs_store::Contact>,
    Vec<zcs_store::CalItem>,
    Vec<(zcs_store::Document, Vec<zcs_store::Revision>)>,
    Vec<zcs_store::Grant>,
);

async fn items(mb: &Mailbox, msgs: &[MessageMeta]) -> Items {
    let mut convs: Vec<ItemId> = msgs.iter().map(|m| m.conv).collect();
    convs.sort();
    convs.dedup();
    let mut conversations = Vec::new();
    for c in convs {
        conversations.push(mb.conversation(c).await.unwrap());
    }
    let mut docs = Vec::new();
    for d in mb.documents(ItemId(folder::BRIEFCASE)).await.unwrap() {
        let revs = mb.document_revisions(d.id).await.unwrap();
        docs.push((d, revs));
    }
    (
        conversations,
        mb.dumpster_items().await.unwrap(),
        mb.contacts(ItemId(folder::CONTACTS)).await.unwrap(),
        mb.cal_items(ItemId(folder::CALENDAR)).await.unwrap(),
        docs,
        mb.grants(ItemId(folder::INBOX)).await.unwrap(),
    )
}

type State = (i64, Vec<MessageMeta>, Vec<Tag>, Vec<zcs_store::Folder>);

async fn state(mb: &Mailbox) -> State {
    let folders = mb.folders().await.unwrap();
    let mut msgs = Vec::new();
    for f in &folders {
        msgs.extend(mb.messages(f.id).await.unwrap());
    }
    (
        mb.change_number().await.unwrap().0,
        msgs,
        mb.tags().await.unwrap(),
        folders,
    )
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let opts = StoreOptions {
        redo_rollover_bytes: 1500,
    };
    let acct = ZimbraId::new();
    let store = Store::open_with(cfg.clone(), opts).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let dumpster = mb.with_settings(zcs_store::MailboxSettings {
        dumpster_enabled: true,
        notebook_max_revisions: 2,
        ..zcs_store::MailboxSettings::default()
    });
    let mut folders = vec![ItemId(folder::INBOX)];
    let mut renames = 0;
    for op in ops {
        let ids: Vec<ItemId> = state(&mb).await.1.iter().map(|m| m.id).collect();
        let pick = |i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
        let fold = folders[ids.len() % folders.len()];
        match op {
            Op::Append(n, t) => {
                let tags = if t == 0 {
                    vec![]
                } else {
                    vec![format!("t{t}")]
                };
                mb.append_tagged(fold, &simple_message(n), Flags(0), &tags, 1)
                    .await
                    .unwrap();
            }
            Op::Flag(i, on) => {
                if let Some(id) = pick(i) {
                    mb.set_flags(&[id], Flags::FLAGGED, on).await.unwrap();
                }
            }
            Op::Tag(i, t, on) => {
                if let Some(id) = pick(i) {
                    mb.set_tags_by_name(&[id], &[format!("t{t}")], on, true)
                        .await
                        .unwrap();
                }
            }
            Op::Copy(i) => {
                if let Some(id) = pick(i) {
                    mb.copy(&[id], fold).await.unwrap();
                }
            }
            Op::Move(i) => {
                if let Some(id) = pick(i) {
                    mb.move_items(&[id], fold).await.unwrap();
                }
            }
            Op::Delete(i) => {
                if let Some(id) = pick(i) {
                    mb.delete_items(&[id]).await.unwrap();
                }
            }
            Op::NewFolder => {
                let f = mb
                    .create_folder(ItemId(folder::USER_ROOT), &format!("f{}", folders.len()))
                    .await
                    .unwrap();
                folders.push(f.id);
            }
            Op::RenameTag(t) => {
                if let Some(tag) = mb.tag_by_name(&format!("t{t}")).await.unwrap() {
                    renames += 1;
                    mb.rename_tag(tag.id, &format!("r{renames}")).await.unwrap();
                }
            }
            Op::DeleteTag(t) => {
                if let Some(tag) = mb.tag_by_name(&format!("t{t}")).await.unwrap() {
                    mb.delete_tag(tag.id).await.unwrap();
                }
            }
            Op::Reply(i) => {
                if let Some(id) = pick(i) {
                    let parent = mb.message(id).await.unwrap().message_id.unwrap_or_default();
                    mb.append(fold, &reply_to(i, &parent), Flags(0), 2)
                        .await
                        .unwrap();
                }
            }
            Op::DumpsterDelete(i) => {
                if let Some(id) = pick(i) {
                    dumpster.delete_items(&[id]).await.unwrap();
                }
            }
            Op::Recover(i) | Op::PurgeDumpster(i) => {
                let d = mb.dumpster_items().await.unwrap();
                if !d.is_empty() {
                    let id = d[i % d.len()].id;
                    if matches!(op, Op::Recover(_)) {
                        dumpster.recover_from_dumpster(&[id], None).await.unwrap();
                    } else {
                        dumpster.purge_dumpster(&[id]).await.unwrap();
                    }
                }
            }
            Op::Contact(n) => {
                mb.create_contact(
                    ItemId(folder::CONTACTS),
                    vec![("email".into(), format!("c{n}@x"))],
                    Vec::new(),
                )
                .await
                .unwrap();
            }
            Op::DeleteContact(i) => {
                let c = mb.contacts(ItemId(folder::CONTACTS)).await.unwrap();
                if !c.is_empty() {
                    mb.delete_items(&[c[i % c.len()].id]).await.unwrap();
                }
            }
            Op::Cal(n) => {
                mb.save_cal_item(ItemId(folder::CALENDAR), &event(n))
                    .await
                    .unwrap();
            }
            Op::Doc(n) => {
                dumpster
                    .save_document(
                        ItemId(folder::BRIEFCASE),
                        &format!("d{n}"),
                        "text/plain",
                        format!("doc {n} {}", ids.len()).as_bytes(),
                        "me",
                    )
                    .await
                    .unwrap();
            }
            Op::Grant(t) => {
                let rights =
                    zcs_store::Rights::parse(["", "r", "rw", "rwidx"][t as usize]).unwrap();
                mb.grant(
                    ItemId(folder::INBOX),
                    zcs_store::GranteeType::User,
                    "u1",
                    rights,
                    "",
                )
                .await
                .unwrap();
            }
        }
    }
    let want = state(&mb).await;
    let want_items = items(&mb, &want.1).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open_with(cfg, opts).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let got = state(&mb).await;
    assert_eq!(got, want);
    assert_eq!(items(&mb, &got.1).await, want_items);
    store.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn replay_onto_an_empty_database_reproduces_the_state(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(ops));
    }
}
