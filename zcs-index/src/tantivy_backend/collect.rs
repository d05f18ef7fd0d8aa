//! A tantivy collector that gathers the item ids of every matching document, unordered
//! and unscored: the cheapest way to hand a whole hit set to a caller that orders and
//! filters on its own metadata. It reads the `item` fast field a block of documents at
//! a time and keeps no heap, so its cost is the posting walk plus one column read per
//! hit.

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::schema;

/// Collects the `item` fast field of every hit.
pub(crate) struct ItemIds;

/// The per-segment half of [`ItemIds`].
pub(crate) struct SegmentItemIds {
    column: Arc<dyn ColumnValues<i64>>,
    ids: Vec<i32>,
    buf: Vec<i64>,
}

impl Collector for ItemIds {
    type Fruit = Vec<i32>;
    type Child = SegmentItemIds;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentItemIds> {
        let column = reader
            .fast_fields()
            .i64(schema::ITEM)?
            .first_or_default_col(0);
        Ok(SegmentItemIds {
            column,
            ids: Vec::new(),
            buf: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<i32>>) -> tantivy::Result<Vec<i32>> {
        let mut out = Vec::with_capacity(fruits.iter().map(Vec::len).sum());
        for f in fruits {
            out.extend(f);
        }
        Ok(out)
    }
}

impl SegmentItemIds {
    fn push(&mut self, v: i64) {
        // Item ids are i32 in the store; anything else is not ours and is skipped.
        if let Ok(id) = i32::try_from(v)
            && id != 0
        {
            self.ids.push(id);
        }
    }
}

impl SegmentCollector for SegmentItemIds {
    type Fruit = Vec<i32>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let v = self.column.get_val(doc);
        self.push(v);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.buf.resize(docs.len(), 0);
        self.column.get_vals(docs, &mut self.buf);
        for i in 0..docs.len() {
            let v = self.buf[i];
            self.push(v);
        }
    }

    fn harvest(self) -> Vec<i32> {
        self.ids
    }
}
