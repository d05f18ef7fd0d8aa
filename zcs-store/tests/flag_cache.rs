//! The cached flag listing (`Mailbox::message_flags`) stays exactly what the full rows
//! say after any sequence of changes: flags, tags (set, renamed, deleted), moves in and
//! out, copies, deletes, dumpster recovery, deliveries and bulk imports.

mod common;

use common::{simple_message, temp_store};
use proptest::prelude::*;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{FlagEntry, ImportMessage, Mailbox, MailboxSettings};

#[derive(Clone, Debug)]
enum Op {
    Append,
    Flag(usize, bool),
    Tag(usize, usize),
    RenameTag(usize),
    DeleteTag(usize),
    MoveOut(usize),
    MoveIn(usize),
    Copy(usize),
    Delete(usize),
    Recover,
    Import(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Append),
        (0..50usize, any::<bool>()).prop_map(|(i, on)| Op::Flag(i, on)),
        (0..50usize, 0..3usize).prop_map(|(i, t)| Op::Tag(i, t)),
        (0..3usize).prop_map(Op::RenameTag),
        (0..3usize).prop_map(Op::DeleteTag),
        (0..50usize).prop_map(Op::MoveOut),
        (0..50usize).prop_map(Op::MoveIn),
        (0..50usize).prop_map(Op::Copy),
        (0..50usize).prop_map(Op::Delete),
        Just(Op::Recover),
        (1..80usize).prop_map(Op::Import),
    ]
}

/// What the listing must be: derived from the full rows.
async fn expected(mb: &Mailbox, f: ItemId) -> Vec<FlagEntry> {
    mb.messages(f)
        .await
        .unwrap()
        .into_iter()
        .map(|m| FlagEntry {
            id: m.id,
            imap_uid: m.imap_uid,
            flags: m.flags,
            tags: m.tags,
            modseq: m.modseq,
        })
        .collect()
}

async fn nth(mb: &Mailbox, f: ItemId, i: usize) -> Option<ItemId> {
    let all = mb.messages(f).await.unwrap();
    (!all.is_empty()).then(|| all[i % all.len()].id)
}

async fn check(mb: &Mailbox, other: ItemId) {
    for f in [ItemId(folder::INBOX), other] {
        let want = expected(mb, f).await;
        assert_eq!(mb.message_flags(f).await.unwrap(), want);
        let unread: Vec<FlagEntry> = want
            .iter()
            .filter(|e| e.flags.contains(Flags::UNREAD))
            .cloned()
            .collect();
        assert_eq!(
            mb.messages_with_flags(f, Flags::UNREAD, true)
                .await
                .unwrap(),
            unread
        );
    }
}

async fn run(ops: Vec<Op>) {
    let (store, _dir, _cfg) = temp_store().await;
    let settings = MailboxSettings {
        dumpster_enabled: true,
        ..MailboxSettings::default()
    };
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(settings);
    let inbox = ItemId(folder::INBOX);
    let other = mb
        .create_folder(ItemId(folder::USER_ROOT), "other")
        .await
        .unwrap()
        .id;
    let mut n = 0;
    let mut tags = Vec::new();
    for name in ["a", "b", "c"] {
        tags.push(mb.create_tag(name, 0).await.unwrap().id);
    }
    for _ in 0..5 {
        n += 1;
        mb.append(inbox, &simple_message(n), Flags(Flags::UNREAD), 0)
            .await
            .unwrap();
    }
    check(&mb, other).await;
    for op in ops {
        match op {
            Op::Append => {
                n += 1;
                mb.append(inbox, &simple_message(n), Flags(Flags::UNREAD), 0)
                    .await
                    .unwrap();
            }
            Op::Flag(i, on) => {
                if let Some(id) = nth(&mb, inbox, i).await {
                    mb.set_flags(&[id], Flags::UNREAD | Flags::FLAGGED, on)
                        .await
                        .unwrap();
                }
            }
            Op::Tag(i, t) => {
                if let Some(id) = nth(&mb, inbox, i).await
                    && mb.tag(tags[t]).await.is_ok()
                {
                    mb.set_tag(&[id], tags[t], true).await.unwrap();
                }
            }
            Op::RenameTag(t) => {
                if let Ok(tag) = mb.tag(tags[t]).await {
                    let name = format!("{}x", tag.name);
                    mb.rename_tag(tags[t], &name).await.unwrap();
                }
            }
            Op::DeleteTag(t) => {
                if mb.tag(tags[t]).await.is_ok() {
                    mb.delete_tag(tags[t]).await.unwrap();
                }
            }
            Op::MoveOut(i) => {
                if let Some(id) = nth(&mb, inbox, i).await {
                    mb.move_items(&[id], other).await.unwrap();
                }
            }
            Op::MoveIn(i) => {
                if let Some(id) = nth(&mb, other, i).await {
                    mb.move_items(&[id], inbox).await.unwrap();
                }
            }
            Op::Copy(i) => {
                if let Some(id) = nth(&mb, inbox, i).await {
                    mb.copy(&[id], inbox).await.unwrap();
                }
            }
            Op::Delete(i) => {
                if let Some(id) = nth(&mb, inbox, i).await {
                    mb.delete_items(&[id]).await.unwrap();
                }
            }
            Op::Recover => {
                let ids: Vec<ItemId> = mb
                    .dumpster_items()
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.id)
                    .collect();
                mb.recover_from_dumpster(&ids, None).await.unwrap();
            }
            Op::Import(k) => {
                let msgs = (0..k)
                    .map(|j| ImportMessage {
                        raw: simple_message(n + 1 + j),
                        flags: Flags(if j % 2 == 0 { Flags::UNREAD } else { 0 }),
                        tags: Vec::new(),
                        internal_date_ms: 0,
                    })
                    .collect();
                n += k;
                mb.import_messages(inbox, msgs).await.unwrap();
            }
        }
        check(&mb, other).await;
    }
    store.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn cached_listing_matches_the_rows_after_any_changes(
        ops in prop::collection::vec(op(), 1..30)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(ops));
    }
}
