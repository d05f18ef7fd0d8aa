//! `TantivyIndex`: the [`IndexBackend`] on tantivy. One index holds every mailbox of the
//! server (a `mailbox` field filters each search), so thousands of mailboxes share one
//! set of segment files instead of needing a directory and file handles each.
//!
//! Writes go through one `IndexWriter` behind a mutex; searches use a reader that is
//! reloaded after each commit, so a commit's documents are visible when it returns.

mod collect;
mod expand;
mod schema;
mod translate;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query as TQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, Term};
use zcs_core::{ItemId, MailboxId};

use crate::backend::{BrowseBy, BrowseTerm, IndexBackend, IndexDocument, SearchOrder};
use crate::error::IndexError;
use crate::query::{Query, TextField};
use crate::substring::WordMatch;
use crate::tokenizer::{INDEX_TOKENIZER, TokenMode, ZcsTokenizer};
use crate::wildcard::{MAX_WILDCARD_TERMS, WildcardInfo};
use schema::{Fields, build_schema, key};

/// Tuning of the index writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexOptions {
    /// Memory the writer may buffer before flushing a segment, shared by its threads
    /// (tantivy needs at least 15 MB per thread).
    pub writer_heap_bytes: usize,
    /// Indexing threads.
    pub writer_threads: usize,
    /// The most index terms one wildcard query term may expand to
    /// ([`crate::wildcard::MAX_WILDCARD_TERMS`] by default, local config
    /// `zimbra_index_wildcard_max_terms_expanded` in the server); a wider wildcard is
    /// searched with its first words in dictionary order, as Zimbra does. Counted over
    /// every mailbox sharing the index.
    pub wildcard_max_terms: usize,
}

impl Default for IndexOptions {
    /// 50 MB and one thread: modest, and enough for a message a second many times over;
    /// wildcards capped at [`MAX_WILDCARD_TERMS`] terms.
    fn default() -> Self {
        IndexOptions {
            writer_heap_bytes: 50_000_000,
            writer_threads: 1,
            wildcard_max_terms: MAX_WILDCARD_TERMS,
        }
    }
}

/// The tantivy-backed index shared by all mailboxes of a server.
pub struct TantivyIndex {
    index: Index,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    fields: Fields,
    wildcard_max_terms: usize,
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed,
    /// with [`IndexOptions::default`].
    ///
    /// # Errors
    /// [`IndexError::Open`] when the directory cannot be used; [`IndexError::Tantivy`]
    /// when the index there is corrupt, has another schema, or is locked by another
    /// writer (one `TantivyIndex` per directory per machine).
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, IndexOptions::default())
    }

    /// As [`TantivyIndex::open`], with explicit writer tuning.
    pub fn open_with(dir: &Path, options: IndexOptions) -> Result<Self, IndexError> {
        let open_err = |message: String| IndexError::Open {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        let directory = MmapDirectory::open(dir).map_err(|e| open_err(e.to_string()))?;
        let index = Index::open_or_create(directory, build_schema())
            .map_err(IndexError::tantivy("open"))?;
        tracing::info!(path = %dir.display(), "index opened");
        Self::from_index(index, options)
    }

    /// A fresh index held in memory only (tests, tools); nothing survives a drop.
    pub fn in_memory() -> Result<Self, IndexError> {
        Self::from_index(
            Index::create_in_ram(build_schema()),
            IndexOptions::default(),
        )
    }

    fn from_index(index: Index, options: IndexOptions) -> Result<Self, IndexError> {
        index
            .tokenizers()
            .register(INDEX_TOKENIZER, ZcsTokenizer::new(TokenMode::Index));
        let fields = Fields::resolve(&index.schema())?;
        let writer = index
            .writer_with_num_threads(options.writer_threads.max(1), options.writer_heap_bytes)
            .map_err(IndexError::tantivy("open writer"))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(IndexError::tantivy("open reader"))?;
        Ok(TantivyIndex {
            index,
            writer: Mutex::new(writer),
            reader,
            fields,
            wildcard_max_terms: options.wildcard_max_terms,
        })
    }

    /// Commits like [`IndexBackend::commit`] and records `payload` with the commit
    /// (for instance the change numbers the index now covers, so indexing can resume
    /// from there after a crash). Costs an fsync.
    pub fn commit_with_payload(&self, payload: &str) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        let mut prepared = writer
            .prepare_commit()
            .map_err(IndexError::tantivy("prepare commit"))?;
        prepared.set_payload(payload);
        prepared.commit().map_err(IndexError::tantivy("commit"))?;
        drop(writer);
        self.reload()
    }

    /// The payload of the last commit, if it carried one.
    pub fn last_commit_payload(&self) -> Result<Option<String>, IndexError> {
        let metas = self
            .index
            .load_metas()
            .map_err(IndexError::tantivy("read commit"))?;
        Ok(metas.payload)
    }

    fn reload(&self) -> Result<(), IndexError> {
        self.reader.reload().map_err(IndexError::tantivy("reload"))
    }

    fn mailbox_filter(&self, mailbox: MailboxId) -> TermQuery {
        TermQuery::new(
            Term::from_field_i64(self.fields.mailbox, mailbox.0),
            IndexRecordOption::Basic,
        )
    }
}

impl IndexBackend for TantivyIndex {
    fn doc_count(&self, mailbox: MailboxId) -> Result<usize, IndexError> {
        let searcher = self.reader.searcher();
        searcher
            .search(&self.mailbox_filter(mailbox), &Count)
            .map_err(IndexError::tantivy("count"))
    }

    fn index(&self, mailbox: MailboxId, docs: Vec<IndexDocument>) -> Result<(), IndexError> {
        let count = docs.len();
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        for doc in &docs {
            // Replacing: the delete only reaches documents added before it.
            writer.delete_term(Term::from_field_text(
                self.fields.key,
                &key(mailbox, doc.item),
            ));
            writer
                .add_document(self.fields.document(mailbox, doc))
                .map_err(IndexError::tantivy("add document"))?;
        }
        tracing::debug!(mailbox = mailbox.0, count, "documents queued for indexing");
        Ok(())
    }

    fn delete(&self, mailbox: MailboxId, items: &[ItemId]) -> Result<(), IndexError> {
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        for &item in items {
            writer.delete_term(Term::from_field_text(self.fields.key, &key(mailbox, item)));
        }
        tracing::debug!(
            mailbox = mailbox.0,
            count = items.len(),
            "documents deleted"
        );
        Ok(())
    }

    fn delete_mailbox(&self, mailbox: MailboxId) -> Result<(), IndexError> {
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer.delete_term(Term::from_field_i64(self.fields.mailbox, mailbox.0));
        tracing::info!(mailbox = mailbox.0, "mailbox index deleted");
        Ok(())
    }

    fn commit(&self) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer.commit().map_err(IndexError::tantivy("commit"))?;
        drop(writer);
        self.reload()
    }

    fn verify_files(&self) -> Result<Vec<String>, IndexError> {
        let mut damaged: Vec<String> = self
            .index
            .validate_checksum()
            .map_err(IndexError::tantivy("verify"))?
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        damaged.sort();
        Ok(damaged)
    }

    fn clear(&self) -> Result<(), IndexError> {
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer
            .delete_all_documents()
            .map_err(IndexError::tantivy("clear"))?;
        tracing::warn!("every index document removed; the index is rebuilt from the store");
        Ok(())
    }

    fn search_ordered(
        &self,
        mailbox: MailboxId,
        query: &Query,
        limit: usize,
        order: SearchOrder,
    ) -> Result<Vec<ItemId>, IndexError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        // TopDocs allocates for `limit` up front: never ask for more than the mailbox
        // has documents (its term's document frequency, deleted ones included; O(1)).
        let in_mailbox = searcher
            .doc_freq(&Term::from_field_i64(self.fields.mailbox, mailbox.0))
            .map_err(IndexError::tantivy("count mailbox"))?;
        if in_mailbox == 0 {
            return Ok(Vec::new());
        }
        let limit = limit.min(usize::try_from(in_mailbox).unwrap_or(usize::MAX));
        let q = self.mailbox_query(&searcher, mailbox, query)?;

        let addresses = guarded(|| {
            let step = IndexError::tantivy("search");
            let top = TopDocs::with_limit(limit);
            let addresses: Vec<DocAddress> = match order {
                SearchOrder::Relevance => searcher
                    .search(&q, &top.order_by_score())
                    .map_err(step)?
                    .into_iter()
                    .map(|(_, a)| a)
                    .collect(),
                SearchOrder::DateDesc | SearchOrder::DateAsc => {
                    let dir = if order == SearchOrder::DateAsc {
                        Order::Asc
                    } else {
                        Order::Desc
                    };
                    searcher
                        .search(&q, &top.order_by_fast_field::<i64>(schema::DATE, dir))
                        .map_err(step)?
                        .into_iter()
                        .map(|(_, a)| a)
                        .collect()
                }
            };
            Ok(addresses)
        })?;

        let mut columns = HashMap::new();
        let mut items = Vec::with_capacity(addresses.len());
        for addr in addresses {
            let column = match columns.entry(addr.segment_ord) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .i64(schema::ITEM)
                        .map_err(IndexError::tantivy("read item ids"))?,
                ),
            };
            let id = column
                .first(addr.doc_id)
                .and_then(|v| i32::try_from(v).ok());
            if let Some(id) = id {
                items.push(ItemId(id));
            }
        }
        Ok(items)
    }
    fn matching_items(&self, mailbox: MailboxId, query: &Query) -> Result<Vec<ItemId>, IndexError> {
        let searcher = self.reader.searcher();
        let q = self.mailbox_query(&searcher, mailbox, query)?;
        let ids = guarded(|| {
            searcher
                .search(&q, &collect::ItemIds)
                .map_err(IndexError::tantivy("search"))
        })?;
        Ok(ids.into_iter().map(ItemId).collect())
    }

    fn items_with_words(
        &self,
        mailbox: MailboxId,
        fields: &[TextField],
        words: &[WordMatch],
    ) -> Result<Vec<ItemId>, IndexError> {
        let searcher = self.reader.searcher();
        let filter: Box<dyn TQuery> = Box::new(ConstScoreQuery::new(
            Box::new(self.mailbox_filter(mailbox)),
            0.0,
        ));
        let mut clauses = vec![(Occur::Must, filter)];
        if let Some(text) = translate::words_query(fields, words, &self.fields)? {
            clauses.push((Occur::Must, text));
        }
        let q = BooleanQuery::new(clauses);
        let ids = guarded(|| {
            searcher
                .search(&q, &collect::ItemIds)
                .map_err(IndexError::tantivy("search"))
        })?;
        Ok(ids.into_iter().map(ItemId).collect())
    }
    fn browse(
        &self,
        mailbox: MailboxId,
        by: BrowseBy,
        max: usize,
    ) -> Result<Vec<BrowseTerm>, IndexError> {
        let searcher = self.reader.searcher();
        let mine = Term::from_field_i64(self.fields.mailbox, mailbox.0);
        let count = |field, text: &str| {
            let term = Term::from_field_text(field, text);
            expand::count_in_mailbox(&searcher, &term, &mine, u64::MAX).map_err(|e| {
                IndexError::Tantivy {
                    step: "read postings",
                    source: e.into(),
                }
            })
        };
        let mut out: Vec<BrowseTerm> = Vec::new();
        match by {
            BrowseBy::Attachments | BrowseBy::Objects => {
                let field = if by == BrowseBy::Objects {
                    self.fields.objects
                } else {
                    self.fields.attachment
                };
                for text in expand::terms_with_prefix(&searcher, field, "")? {
                    // `any` and `none` are markers, not types.
                    if by == BrowseBy::Attachments && (text == "any" || text == "none") {
                        continue;
                    }
                    let freq = count(field, &text)?;
                    if freq > 0 {
                        out.push(BrowseTerm {
                            text,
                            freq,
                            headers: String::new(),
                        });
                    }
                }
            }
            BrowseBy::Domains => {
                // Addresses are indexed with their `@domain` too (see the tokenizer).
                // LIMITATION: the dictionaries are shared by every mailbox, so this
                // reads every `@domain` term of the server and counts each in this
                // mailbox: cost grows with the server's number of domains.
                // LIMITATION: the count is the largest of the three headers' counts,
                // not the number of distinct items.
                let mut by_domain: std::collections::BTreeMap<String, (u64, String)> =
                    std::collections::BTreeMap::new();
                for (field, flag) in [
                    (self.fields.from, 'f'),
                    (self.fields.to, 't'),
                    (self.fields.cc, 'c'),
                ] {
                    for text in expand::terms_with_prefix(&searcher, field, "@")? {
                        let freq = count(field, &text)?;
                        if freq == 0 || text.len() < 2 {
                            continue;
                        }
                        let e = by_domain.entry(text[1..].to_string()).or_default();
                        e.0 = e.0.max(freq);
                        e.1.push(flag);
                    }
                }
                out.extend(
                    by_domain
                        .into_iter()
                        .map(|(text, (freq, headers))| BrowseTerm {
                            text,
                            freq,
                            headers,
                        }),
                );
            }
        }
        out.sort_by(|a, b| b.freq.cmp(&a.freq).then_with(|| a.text.cmp(&b.text)));
        out.truncate(max);
        Ok(out)
    }

    fn wildcard_info(
        &self,
        mailbox: MailboxId,
        query: &Query,
    ) -> Result<Vec<WildcardInfo>, IndexError> {
        let searcher = self.reader.searcher();
        let term = Term::from_field_i64(self.fields.mailbox, mailbox.0);
        let mut out = Vec::new();
        self.collect_wildcards(&searcher, &term, query, &mut out)?;
        Ok(out)
    }
}

impl TantivyIndex {
    /// [`IndexBackend::wildcard_info`] for the wildcard terms under `q`, appended to
    /// `out`.
    fn collect_wildcards(
        &self,
        searcher: &Searcher,
        mailbox: &Term,
        q: &Query,
        out: &mut Vec<WildcardInfo>,
    ) -> Result<(), IndexError> {
        match q {
            Query::And(v) | Query::Or(v) => {
                for c in v {
                    self.collect_wildcards(searcher, mailbox, c, out)?;
                }
            }
            Query::Not(c) => self.collect_wildcards(searcher, mailbox, c, out)?,
            Query::Term {
                field,
                value,
                phrase: false,
                wildcard: true,
            } => {
                let fields = translate::targets(field, &self.fields);
                if let Some(info) = expand::expansion_info(
                    searcher,
                    &fields,
                    value,
                    self.wildcard_max_terms,
                    mailbox,
                )? {
                    out.push(info);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The whole tantivy query of a search: the mailbox filter and the text part.
    fn mailbox_query(
        &self,
        searcher: &Searcher,
        mailbox: MailboxId,
        query: &Query,
    ) -> Result<BooleanQuery, IndexError> {
        let filter: Box<dyn TQuery> = Box::new(ConstScoreQuery::new(
            Box::new(self.mailbox_filter(mailbox)),
            0.0,
        ));
        let mut clauses = vec![(Occur::Must, filter)];
        if let Some(text) =
            translate::translate(query, &self.fields, searcher, self.wildcard_max_terms)?
        {
            clauses.push((Occur::Must, text));
        }
        Ok(BooleanQuery::new(clauses))
    }
}

/// Runs one tantivy search, turning a panic inside tantivy into a query error.
///
/// LIMITATION: tantivy 0.27 asserts inside its exclusion scorer when a negated phrase
/// matches no document (`-content:"two words"`); the panic is caught here and the query
/// answered as one the engine cannot run, never a crashed search.
fn guarded<T>(run: impl FnOnce() -> Result<T, IndexError>) -> Result<T, IndexError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err(IndexError::Query(
            "this query cannot be run by the search engine (a negated phrase); rephrase it".into(),
        )),
    }
}
