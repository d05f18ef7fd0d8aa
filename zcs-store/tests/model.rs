//! Model-based property test of the `Mailbox` API: random sequences of deliver, copy,
//! move, flag, tag, delete and expunge run against the store and against a simple
//! in-memory model, and after every step the store must agree with the model:
//! - each folder holds the model's messages, in UID order, with the model's flags and
//!   tags, and its message and unread counts match;
//! - UIDs only grow: a message entering a folder gets a UID above every UID that folder
//!   handed out before (RFC 3501 §2.3.1.1);
//! - the change number (MODSEQ) never goes back, moves forward on every effective
//!   change, and every message the step changed carries the new value (RFC 7162 §3.1);
//! - every message that left a folder has a tombstone since the step began, in its old
//!   folder, marked moved or deleted.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::simple_message;
use proptest::prelude::*;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{Mailbox, Store, StoreConfig};

#[derive(Clone, Debug)]
enum Op {
    Deliver(u8, bool),
    Copy(usize, u8),
    Move(usize, u8),
    Flag(usize, u32, bool),
    Tag(usize, u8, bool),
    Delete(usize),
    MarkDeleted(usize),
    Expunge(u8),
}

/// Flags the steps toggle (Zimbra bits that IMAP shows).
const FLAG_BITS: [u32; 4] = [Flags::UNREAD, Flags::FLAGGED, Flags::ANSWERED, Flags::DRAFT];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, any::<bool>()).prop_map(|(f, unread)| Op::Deliver(f, unread)),
        1 => (0..40usize, 0..3u8).prop_map(|(i, f)| Op::Copy(i, f)),
        2 => (0..40usize, 0..3u8).prop_map(|(i, f)| Op::Move(i, f)),
        2 => (0..40usize, 0..4usize, any::<bool>())
            .prop_map(|(i, b, on)| Op::Flag(i, FLAG_BITS[b], on)),
        2 => (0..40usize, 0..2u8, any::<bool>()).prop_map(|(i, t, on)| Op::Tag(i, t, on)),
        1 => (0..40usize).prop_map(Op::Delete),
        1 => (0..40usize).prop_map(Op::MarkDeleted),
        1 => (0..3u8).prop_map(Op::Expunge),
    ]
}

/// One message as the model knows it.
#[derive(Clone, Debug, PartialEq)]
struct Msg {
    folder: i32,
    uid: u32,
    flags: u32,
    tags: BTreeSet<String>,
}

/// The model: live messages by id, and the highest UID each folder handed out.
#[derive(Default)]
struct Model {
    msgs: BTreeMap<i32, Msg>,
    max_uid: HashMap<i32, u32>,
}

impl Model {
    /// The `i`-th live message (wrapping), if any.
    fn pick(&self, i: usize) -> Option<i32> {
        let n = self.msgs.len();
        (n > 0).then(|| *self.msgs.keys().nth(i % n).expect("index below length"))
    }
}

/// What one step expects beyond the model's new state.
#[derive(Default)]
struct Expect {
    /// The change number must move forward.
    effective: bool,
    /// Messages whose modseq must equal the new change number.
    changed: Vec<i32>,
    /// (id, old folder, moved) tombstones that must exist since the step began.
    left: Vec<(i32, i32, bool)>,
}

async fn step(mb: &Mailbox, m: &mut Model, folders: &[i32], n: usize, op: &Op) -> Expect {
    let mut ex = Expect::default();
    match op {
        Op::Deliver(f, unread) => {
            let f = folders[*f as usize];
            let flags = if *unread { Flags::UNREAD } else { 0 };
            let meta = mb
                .append(
                    ItemId(f),
                    &simple_message(10_000 + n),
                    Flags(flags),
                    n as i64,
                )
                .await
                .unwrap();
            m.msgs.insert(
                meta.id.0,
                Msg {
                    folder: f,
                    uid: meta.imap_uid,
                    flags,
                    tags: BTreeSet::new(),
                },
            );
            ex.effective = true;
            ex.changed.push(meta.id.0);
        }
        Op::Copy(i, f) => {
            let (Some(id), f) = (m.pick(*i), folders[*f as usize]) else {
                return ex;
            };
            let copies = mb.copy(&[ItemId(id)], ItemId(f)).await.unwrap();
            assert_eq!(copies.len(), 1);
            let src = m.msgs[&id].clone();
            let c = &copies[0];
            assert_ne!(c.id.0, id, "a copy is a new item");
            m.msgs.insert(
                c.id.0,
                Msg {
                    folder: f,
                    uid: c.imap_uid,
                    ..src
                },
            );
            ex.effective = true;
            ex.changed.push(c.id.0);
        }
        Op::Move(i, f) => {
            let (Some(id), f) = (m.pick(*i), folders[*f as usize]) else {
                return ex;
            };
            let old = m.msgs[&id].folder;
            let moved = mb.move_items(&[ItemId(id)], ItemId(f)).await.unwrap();
            if old == f {
                return ex;
            }
            let e = m.msgs.get_mut(&id).expect("picked");
            e.folder = f;
            e.uid = moved[0].imap_uid;
            ex.effective = true;
            ex.changed.push(id);
            ex.left.push((id, old, true));
        }
        Op::Flag(i, bit, on) => {
            let Some(id) = m.pick(*i) else { return ex };
            mb.set_flags(&[ItemId(id)], *bit, *on).await.unwrap();
            let e = m.msgs.get_mut(&id).expect("picked");
            let new = if *on { e.flags | bit } else { e.flags & !bit };
            if new != e.flags {
                e.flags = new;
                ex.effective = true;
                ex.changed.push(id);
            }
        }
        Op::MarkDeleted(i) => {
            let Some(id) = m.pick(*i) else { return ex };
            mb.set_flags(&[ItemId(id)], Flags::DELETED, true)
                .await
                .unwrap();
            let e = m.msgs.get_mut(&id).expect("picked");
            if e.flags & Flags::DELETED == 0 {
                e.flags |= Flags::DELETED;
                ex.effective = true;
                ex.changed.push(id);
            }
        }
        Op::Tag(i, t, on) => {
            let Some(id) = m.pick(*i) else { return ex };
            let name = format!("T{t}");
            mb.set_tags_by_name(&[ItemId(id)], std::slice::from_ref(&name), *on, true)
                .await
                .unwrap();
            let e = m.msgs.get_mut(&id).expect("picked");
            let changed = if *on {
                e.tags.insert(name)
            } else {
                e.tags.remove(&name)
            };
            if changed {
                ex.effective = true;
                ex.changed.push(id);
            }
        }
        Op::Delete(i) => {
            let Some(id) = m.pick(*i) else { return ex };
            mb.delete_items(&[ItemId(id)]).await.unwrap();
            let old = m.msgs.remove(&id).expect("picked");
            ex.effective = true;
            ex.left.push((id, old.folder, false));
        }
        Op::Expunge(f) => {
            // IMAP EXPUNGE: the folder's messages flagged \Deleted go.
            let f = folders[*f as usize];
            let ids: Vec<i32> = m
                .msgs
                .iter()
                .filter(|(_, e)| e.folder == f && e.flags & Flags::DELETED != 0)
                .map(|(id, _)| *id)
                .collect();
            if ids.is_empty() {
                return ex;
            }
            let items: Vec<ItemId> = ids.iter().map(|i| ItemId(*i)).collect();
            mb.delete_items(&items).await.unwrap();
            for id in ids {
                m.msgs.remove(&id);
                ex.effective = true;
                ex.left.push((id, f, false));
            }
        }
    }
    ex
}

async fn check(mb: &Mailbox, m: &mut Model, folders: &[i32], before: i64, ex: &Expect, op: &Op) {
    let now = mb.change_number().await.unwrap().0;
    assert!(now >= before, "{op:?}: change number went back");
    if ex.effective {
        assert!(
            now > before,
            "{op:?}: an effective change kept the change number"
        );
    }
    for f in folders {
        let got = mb.messages(ItemId(*f)).await.unwrap();
        let want: Vec<(&i32, &Msg)> = {
            let mut w: Vec<_> = m.msgs.iter().filter(|(_, e)| e.folder == *f).collect();
            w.sort_by_key(|(_, e)| e.uid);
            w
        };
        assert_eq!(got.len(), want.len(), "{op:?}: folder {f} count");
        let mut last_uid = 0;
        for (g, (id, e)) in got.iter().zip(&want) {
            assert_eq!(g.id.0, **id, "{op:?}: folder {f} order");
            assert!(g.imap_uid > last_uid, "{op:?}: UIDs ascending");
            last_uid = g.imap_uid;
            assert_eq!(g.imap_uid, e.uid, "{op:?}: UID of {id}");
            assert_eq!(g.flags.0, e.flags, "{op:?}: flags of {id}");
            let tags: BTreeSet<String> = g.tags.iter().cloned().collect();
            assert_eq!(tags, e.tags, "{op:?}: tags of {id}");
            assert!(g.modseq <= now, "{op:?}: modseq above the change number");
            if ex.changed.contains(id) {
                assert_eq!(g.modseq, now, "{op:?}: modseq of changed {id}");
            }
        }
        // The highest UID the folder handed out so far (checked in `run`).
        let max = m.max_uid.entry(*f).or_insert(0);
        *max = (*max).max(want.iter().map(|(_, e)| e.uid).max().unwrap_or(0));
        let fo = mb.folder(ItemId(*f)).await.unwrap();
        let unread = want
            .iter()
            .filter(|(_, e)| e.flags & Flags::UNREAD != 0)
            .count();
        assert_eq!(
            fo.messages as usize,
            want.len(),
            "{op:?}: folder {f} messages"
        );
        assert_eq!(fo.unread as usize, unread, "{op:?}: folder {f} unread");
        assert!(fo.uid_next > last_uid, "{op:?}: UIDNEXT above every UID");
    }
    let tombs = mb.tombstones_since(before).await.unwrap();
    for (id, old, moved) in &ex.left {
        assert!(
            tombs.iter().any(|t| t.id.0 == *id
                && t.folder.0 == *old
                && t.moved == *moved
                && t.change > before),
            "{op:?}: tombstone for {id} leaving {old} (moved {moved}) in {tombs:?}"
        );
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let a = mb
        .create_folder(ItemId(folder::USER_ROOT), "A")
        .await
        .unwrap();
    let b = mb.create_folder(a.id, "B").await.unwrap();
    let folders = [folder::INBOX, a.id.0, b.id.0];
    let mut model = Model::default();
    for (n, op) in ops.iter().enumerate() {
        // Max UIDs before the step: anything entering a folder must go above them.
        let before_max: HashMap<i32, u32> = model.max_uid.clone();
        let before = mb.change_number().await.unwrap().0;
        let ex = step(&mb, &mut model, &folders, n, op).await;
        for id in &ex.changed {
            if let Some(e) = model.msgs.get(id) {
                let old_max = before_max.get(&e.folder).copied().unwrap_or(0);
                if matches!(op, Op::Deliver(..) | Op::Copy(..) | Op::Move(..)) {
                    assert!(e.uid > old_max, "{op:?}: UID {} not above {old_max}", e.uid);
                }
            }
        }
        check(&mb, &mut model, &folders, before, &ex, op).await;
    }
    store.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mailbox_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(ops));
    }
}
