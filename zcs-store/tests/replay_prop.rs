//! Property: any random sequence of mailbox operations (appends, flags, tags, copies,
//! moves, deletes, folder and tag changes), with a tiny redo rollover, leaves a state
//! that replaying the redo log onto an empty database reproduces exactly.

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
    ]
}

async fn state(mb: &Mailbox) -> (i64, Vec<MessageMeta>, Vec<Tag>, Vec<zcs_store::Folder>) {
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
        }
    }
    let want = state(&mb).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open_with(cfg, opts).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(state(&mb).await, want);
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
