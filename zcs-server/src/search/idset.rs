//! A set of item ids as a bitmap: what the evaluator tests every message against
//! (index hits, folders), at one load and one mask per test instead of a hash lookup.
//! Item ids are small dense integers per mailbox, so the map stays compact.

use zcs_core::ItemId;

/// Item ids above this are kept out of the bitmap (and in a sorted side list), so one
/// stray huge id cannot make the map large.
const DENSE_LIMIT: i32 = 1 << 26;

/// A set of item ids.
#[derive(Clone, Debug, Default)]
pub(super) struct IdSet {
    words: Vec<u64>,
    /// Ids that do not fit the bitmap (negative, or at or above `DENSE_LIMIT`), sorted.
    sparse: Vec<i32>,
}

impl IdSet {
    /// The set of `ids`.
    pub(super) fn from_ids(ids: impl IntoIterator<Item = ItemId>) -> IdSet {
        let mut set = IdSet::default();
        for ItemId(id) in ids {
            if (0..DENSE_LIMIT).contains(&id) {
                let (w, b) = (id as usize / 64, id as usize % 64);
                if w >= set.words.len() {
                    set.words.resize(w + 1, 0);
                }
                set.words[w] |= 1 << b;
            } else {
                set.sparse.push(id);
            }
        }
        set.sparse.sort_unstable();
        set.sparse.dedup();
        set
    }

    /// Whether `id` is in the set.
    #[inline]
    pub(super) fn contains(&self, id: ItemId) -> bool {
        let id = id.0;
        if (0..DENSE_LIMIT).contains(&id) {
            self.words
                .get(id as usize / 64)
                .is_some_and(|w| w & (1 << (id as usize % 64)) != 0)
        } else {
            self.sparse.binary_search(&id).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn membership_is_exact(ids in proptest::collection::vec(any::<i32>(), 0..200),
                               probe in any::<i32>()) {
            let set = IdSet::from_ids(ids.iter().copied().map(ItemId));
            for &id in &ids {
                prop_assert!(set.contains(ItemId(id)));
            }
            prop_assert_eq!(set.contains(ItemId(probe)), ids.contains(&probe));
        }
    }

    #[test]
    fn small_ids() {
        let set = IdSet::from_ids([ItemId(2), ItemId(64), ItemId(257)]);
        assert!(set.contains(ItemId(64)) && set.contains(ItemId(2)));
        assert!(!set.contains(ItemId(3)) && !set.contains(ItemId(100_000)));
        assert!(!IdSet::default().contains(ItemId(0)));
    }
}
