//! Bringing a snapshot forward by a change set instead of reading the mailbox again:
//! unchanged rows are shared with the old snapshot, conversation dates are patched
//! (recomputed only for the conversations that lost their first or last message), and
//! each order already built is patched by dropping the changed rows and inserting them
//! again by binary search. The result equals [`Snapshot::new`] over the same rows; the
//! property test at the bottom holds it to that.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use zcs_core::{ItemId, folder};
use zcs_store::{Folder, MessageMeta};

use super::{ConvStats, Snapshot, conv_add};
use crate::search::sort::{SortBy, compare};

/// What changed in a mailbox since a snapshot's change number.
pub(in crate::search) struct Delta {
    /// Every folder as it is now.
    pub(in crate::search) folders: Vec<Folder>,
    /// Items that left a folder since (deleted or moved out); a moved message is also
    /// in `changed`, which wins.
    pub(in crate::search) gone: HashSet<ItemId>,
    /// Messages added or changed since (flags, tags, folder, conversation), as they are
    /// now.
    pub(in crate::search) changed: Vec<MessageMeta>,
}

/// `remap` value of an old position whose row does not carry over as is.
const DROPPED: u32 = u32::MAX;

/// Removes `m` from its conversation's count; notes the conversation in `recheck` when
/// `m` held its first or last date (only a pass over its members can tell the new one).
fn conv_remove(convs: &mut ConvStats, recheck: &mut HashSet<ItemId>, m: &MessageMeta) {
    if let Some(e) = convs.get_mut(&m.conv) {
        e.0 = e.0.saturating_sub(1);
        if e.0 == 0 {
            convs.remove(&m.conv);
        } else if m.internal_date_ms == e.1 || m.internal_date_ms == e.2 {
            recheck.insert(m.conv);
        }
    }
}

/// Moves one message in or out of the per-folder counts.
fn count(counts: &mut HashMap<ItemId, u32>, folder: ItemId, add: bool) {
    let n = counts.entry(folder).or_default();
    if add {
        *n += 1;
    } else {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(&folder);
        }
    }
}

/// `kept` (ascending under `sort`) with the positions `dirty` inserted where they
/// belong: the dirty ones are sorted, then each found by binary search past the last.
fn patch_order(
    messages: &[Arc<MessageMeta>],
    sort: SortBy,
    kept: Vec<u32>,
    dirty: &[u32],
) -> Vec<u32> {
    if dirty.is_empty() {
        return kept;
    }
    let at = |i: u32| &*messages[i as usize];
    let mut ins = dirty.to_vec();
    ins.sort_unstable_by(|&a, &b| compare(at(a), at(b), sort));
    let mut out = Vec::with_capacity(kept.len() + ins.len());
    let mut start = 0;
    for d in ins {
        let step =
            kept[start..].partition_point(|&k| compare(at(k), at(d), sort) == Ordering::Less);
        out.extend_from_slice(&kept[start..start + step]);
        out.push(d);
        start += step;
    }
    out.extend_from_slice(&kept[start..]);
    out
}

/// The next snapshot's rows and tallies while a change set is merged in.
struct Next {
    messages: Vec<Arc<MessageMeta>>,
    /// Positions (in `messages`) of rows added or changed: to be placed in every order.
    dirty: Vec<u32>,
    counts: HashMap<ItemId, u32>,
    convs: Arc<ConvStats>,
    /// Conversations whose first or last date must be found again.
    recheck: HashSet<ItemId>,
}

impl Next {
    /// Takes `new` in place of `old` (or as a new row).
    fn put(&mut self, old: Option<&MessageMeta>, new: MessageMeta) {
        // A flag, tag or folder change leaves the conversation's tallies as they are.
        let same_conv =
            old.is_some_and(|o| o.conv == new.conv && o.internal_date_ms == new.internal_date_ms);
        if let Some(o) = old {
            count(&mut self.counts, o.folder, false);
            if !same_conv {
                conv_remove(Arc::make_mut(&mut self.convs), &mut self.recheck, o);
            }
        }
        count(&mut self.counts, new.folder, true);
        if !same_conv {
            conv_add(Arc::make_mut(&mut self.convs), &new);
        }
        self.dirty.push(self.messages.len() as u32);
        self.messages.push(Arc::new(new));
    }

    /// Leaves `old` out.
    fn remove(&mut self, old: &MessageMeta) {
        count(&mut self.counts, old.folder, false);
        conv_remove(Arc::make_mut(&mut self.convs), &mut self.recheck, old);
    }
}

impl Snapshot {
    /// This snapshot brought to `change` by `delta`, sharing every unchanged row.
    ///
    /// `None` when the change set cannot be trusted and the mailbox must be read whole:
    /// a folder was replaced (its UIDVALIDITY changed, as after a restore), a folder
    /// holding messages is gone, or a folder's message count disagrees with the store's
    /// (tombstones pruned, a change landing between the reads).
    pub(in crate::search) fn apply(&self, change: i64, delta: Delta) -> Option<Snapshot> {
        let Delta {
            folders,
            gone,
            changed,
        } = delta;
        for f in &folders {
            let replaced = self
                .folders
                .iter()
                .any(|o| o.id == f.id && o.uid_validity != f.uid_validity);
            if replaced {
                return None;
            }
        }
        // By id: `None` for a row that left, the new row for one added or changed.
        let mut edits: BTreeMap<ItemId, Option<MessageMeta>> = BTreeMap::new();
        for id in gone {
            edits.insert(id, None);
        }
        for m in changed {
            if m.folder.0 == folder::ROOT || m.folder.0 == folder::USER_ROOT {
                continue;
            }
            let newer = match edits.get(&m.id) {
                Some(Some(have)) => m.modseq >= have.modseq,
                _ => true,
            };
            if newer {
                edits.insert(m.id, Some(m));
            }
        }

        let old = &self.messages;
        let mut next = Next {
            messages: Vec::with_capacity(old.len() + edits.len()),
            dirty: Vec::new(),
            counts: self.counts.clone(),
            convs: self.convs.clone(),
            recheck: HashSet::new(),
        };
        let mut remap = vec![DROPPED; old.len()];
        // Walked by position and compared in place: a peekable iterator would move each
        // (large) edit out and back once per old row.
        let mut edits: Vec<(ItemId, Option<MessageMeta>)> = edits.into_iter().collect();
        let mut k = 0;
        for (p, m) in old.iter().enumerate() {
            while k < edits.len() && edits[k].0 < m.id {
                if let Some(new) = edits[k].1.take() {
                    next.put(None, new);
                }
                k += 1;
            }
            if k < edits.len() && edits[k].0 == m.id {
                match edits[k].1.take() {
                    Some(new) => next.put(Some(m), new),
                    None => next.remove(m),
                }
                k += 1;
            } else {
                remap[p] = next.messages.len() as u32;
                next.messages.push(m.clone());
            }
        }
        for (_, e) in edits.drain(k..) {
            if let Some(new) = e {
                next.put(None, new);
            }
        }
        let Next {
            messages,
            dirty,
            counts,
            mut convs,
            recheck,
        } = next;

        if !recheck.is_empty() {
            let c = Arc::make_mut(&mut convs);
            for id in &recheck {
                c.remove(id);
            }
            for m in messages.iter().filter(|m| recheck.contains(&m.conv)) {
                conv_add(c, m);
            }
        }

        let store_count = |id: ItemId| folders.iter().find(|f| f.id == id).map(|f| f.messages);
        let agrees = counts.iter().all(|(id, n)| store_count(*id) == Some(*n))
            && folders.iter().all(|f| {
                f.id.0 == folder::ROOT
                    || f.id.0 == folder::USER_ROOT
                    || counts.get(&f.id).copied().unwrap_or(0) == f.messages
            });
        if !agrees {
            return None;
        }

        let orders = self
            .built_orders()
            .into_iter()
            .map(|(sort, perm)| {
                let kept: Vec<u32> = perm
                    .iter()
                    .map(|&p| remap[p as usize])
                    .filter(|&q| q != DROPPED)
                    .collect();
                (sort, Arc::new(patch_order(&messages, sort, kept, &dirty)))
            })
            .collect();
        Some(Snapshot {
            change,
            folders,
            messages,
            counts,
            convs,
            orders: Mutex::new(orders),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::sort::ascending_twin;
    use proptest::prelude::*;
    use zcs_core::Flags;

    fn folder(id: i32, messages: u32) -> Folder {
        Folder {
            id: ItemId(id),
            parent: ItemId(folder::USER_ROOT),
            name: format!("f{id}"),
            path: format!("/f{id}"),
            view: "message".into(),
            uid_validity: 1,
            uid_next: 1,
            modseq: 0,
            messages,
            unread: 0,
            size: 0,
        }
    }

    /// A message from a few small numbers, so equal keys (dates, subjects, flags) are
    /// common and ties are exercised.
    fn msg(id: i32, folder: i32, date: i64, subj: u8, flags: u32, conv: i32) -> MessageMeta {
        MessageMeta {
            id: ItemId(id),
            folder: ItemId(folder),
            imap_uid: id as u32,
            flags: Flags(flags),
            tags: Vec::new(),
            internal_date_ms: date,
            size: u64::from(subj) * 7 % 5,
            modseq: 0,
            blob_digest: String::new(),
            subject: ["a", "B", "b", "\u{e9}t\u{e9}", ""][usize::from(subj) % 5].into(),
            sender: format!("S{}", id % 3),
            recipients: format!("r{}", date % 4),
            message_id: None,
            conv: if conv == 0 { ItemId(-id) } else { ItemId(conv) },
        }
    }

    /// Folders with the counts of `rows`.
    fn folders_for(rows: &[MessageMeta]) -> Vec<Folder> {
        [2, 3, 4, 5]
            .iter()
            .map(|&id| folder(id, rows.iter().filter(|m| m.folder.0 == id).count() as u32))
            .collect()
    }

    type Row = (u8, i64, u8, u32, i32);

    fn row() -> impl Strategy<Value = Row> {
        (0u8..4, 0i64..6, 0u8..5, 0u32..4, 0i32..3)
    }

    fn build(id: i32, (f, date, subj, flag, conv): Row) -> MessageMeta {
        let flags = [
            0,
            Flags::UNREAD,
            Flags::FLAGGED | Flags::URGENT,
            Flags::BULK,
        ][flag as usize];
        msg(id, 2 + i32::from(f), date, subj, flags, conv)
    }

    fn assert_same(got: &Snapshot, want: &Snapshot) {
        let rows = |s: &Snapshot| s.messages.iter().map(|m| (**m).clone()).collect::<Vec<_>>();
        assert_eq!(rows(got), rows(want));
        assert_eq!(got.convs, want.convs);
        assert_eq!(got.counts, want.counts);
        for (sort, _) in SortBy::ALL {
            let (a, ra) = got.order(sort);
            let (b, rb) = want.order(sort);
            assert_eq!((a, ra), (b, rb), "{sort:?}");
        }
        assert_eq!(got.built_orders().len(), want.built_orders().len());
    }

    proptest! {
        /// A snapshot brought forward by any change set (rows changed in every field
        /// that orders or groups, rows deleted, rows added below and above the old ids)
        /// equals a snapshot built fresh from the resulting rows, in every order.
        #[test]
        fn applying_a_delta_equals_a_rebuild(
            start in proptest::collection::vec(proptest::option::of(row()), 0..40),
            edits in proptest::collection::vec((0i32..50, proptest::option::of(row())), 0..12),
            built in proptest::collection::vec(0usize..21, 0..4),
        ) {
            let mut rows: BTreeMap<ItemId, MessageMeta> = BTreeMap::new();
            for (i, r) in start.iter().enumerate() {
                if let Some(r) = r {
                    let m = build(i as i32 + 5, *r);
                    rows.insert(m.id, m);
                }
            }
            let old_rows: Vec<MessageMeta> = rows.values().cloned().collect();
            let old = Snapshot::new(1, folders_for(&old_rows), old_rows);
            for &b in &built {
                old.order(SortBy::ALL[b].0);
            }
            let mut gone = HashSet::new();
            let mut changed = Vec::new();
            for (id, e) in edits {
                let id = ItemId(id);
                match e {
                    Some(r) => {
                        let mut m = build(id.0, r);
                        m.modseq = 2;
                        rows.insert(id, m.clone());
                        changed.retain(|c: &MessageMeta| c.id != id);
                        changed.push(m);
                    }
                    None => {
                        rows.remove(&id);
                        changed.retain(|c: &MessageMeta| c.id != id);
                        gone.insert(id);
                    }
                }
            }
            let new_rows: Vec<MessageMeta> = rows.values().cloned().collect();
            let folders = folders_for(&new_rows);
            let got = old
                .apply(2, Delta { folders: folders.clone(), gone, changed })
                .expect("a consistent change set applies");
            let want = Snapshot::new(2, folders, new_rows);
            for &b in &built {
                want.order(SortBy::ALL[b].0);
            }
            assert_same(&got, &want);
        }
    }

    #[test]
    fn a_moved_message_is_both_gone_and_changed() {
        let old = Snapshot::new(1, folders_for(&[]), Vec::new());
        let rows = vec![msg(7, 2, 1, 0, 0, 0), msg(8, 2, 2, 0, 0, 0)];
        let old = old
            .apply(
                2,
                Delta {
                    folders: folders_for(&rows),
                    gone: HashSet::new(),
                    changed: rows,
                },
            )
            .expect("applies");
        let moved = msg(7, 3, 1, 0, 0, 0);
        let new = old
            .apply(
                3,
                Delta {
                    folders: folders_for(&[moved.clone(), msg(8, 2, 2, 0, 0, 0)]),
                    gone: [ItemId(7)].into_iter().collect(),
                    changed: vec![moved],
                },
            )
            .expect("applies");
        assert_eq!(new.messages[0].folder, ItemId(3));
        assert_eq!(new.messages.len(), 2);
        let (twin, _) = ascending_twin(SortBy::DateDesc);
        assert_eq!(*new.order(twin).0, vec![0, 1]);
    }

    #[test]
    fn counts_that_disagree_or_a_replaced_folder_force_a_whole_read() {
        let rows = vec![msg(7, 2, 1, 0, 0, 0)];
        let old = Snapshot::new(1, folders_for(&rows), rows.clone());
        let wrong = Delta {
            folders: folders_for(&[]),
            gone: HashSet::new(),
            changed: Vec::new(),
        };
        assert!(old.apply(2, wrong).is_none());
        let mut replaced = folders_for(&rows);
        replaced[0].uid_validity = 9;
        let delta = Delta {
            folders: replaced,
            gone: HashSet::new(),
            changed: Vec::new(),
        };
        assert!(old.apply(2, delta).is_none());
        // A folder holding messages vanished without tombstones for them.
        let delta = Delta {
            folders: folders_for(&[])[1..].to_vec(),
            gone: HashSet::new(),
            changed: Vec::new(),
        };
        assert!(old.apply(2, delta).is_none());
    }
}
