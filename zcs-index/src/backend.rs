//! The `IndexBackend` seam: what the server asks of a full-text index (add, replace,
//! delete, commit, search), and the document it hands over. The index never reads the
//! store; callers extract documents (see `extract`) and pass them in.

use zcs_core::{ItemId, MailboxId};

use crate::error::IndexError;
use crate::query::{Query, TextField};
use crate::substring::WordMatch;
use crate::wildcard::WildcardInfo;

/// The indexable face of one item. Text fields are raw text; the backend tokenises them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDocument {
    /// The item this document describes; (mailbox, item) is the document's key.
    pub item: ItemId,
    /// Item kind, `"message"` for mail (kept for future contact/document indexing).
    pub kind: String,
    /// Decoded Subject header.
    pub subject: String,
    /// Sender names and addresses as text, e.g. `"Jo Brown" <jb@example.com>`.
    pub from: String,
    /// Recipients, in the same form as `from`.
    pub to: String,
    /// Copied recipients, in the same form as `from`.
    pub cc: String,
    /// All readable text: text parts, the text of HTML parts, nested messages.
    pub content: String,
    /// File names of attachments.
    pub filenames: Vec<String>,
    /// MIME types of attachments (`application/pdf`), lower-case.
    pub attachment_types: Vec<String>,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// Envelope sender as the MTA recorded it (`X-Envelope-From`), for `envfrom:`.
    pub env_from: String,
    /// Envelope recipients as the MTA recorded them (`X-Envelope-To`), for `envto:`.
    pub env_to: String,
    /// Document metadata of the attachments (PDF document information, Office and
    /// OpenDocument properties), for `author:`, `title:`, `keywords:`, `company:` and
    /// `metadata:`.
    pub metadata: DocMetadata,
    /// The message's sent date (its `Date` header) in epoch milliseconds, 0 when it
    /// has none that can be read: message date terms (`date:`, `after:`, ...) compare
    /// it, and it orders results newest first.
    pub date_ms: i64,
    /// Size in bytes.
    pub size: u64,
}

impl IndexDocument {
    /// An empty document for `item` of `kind` (`"message"`), to be filled in.
    pub fn new(item: ItemId, kind: &str) -> Self {
        IndexDocument {
            item,
            kind: kind.to_string(),
            subject: String::new(),
            from: String::new(),
            to: String::new(),
            cc: String::new(),
            content: String::new(),
            filenames: Vec::new(),
            attachment_types: Vec::new(),
            message_id: None,
            env_from: String::new(),
            env_to: String::new(),
            metadata: DocMetadata::default(),
            date_ms: 0,
            size: 0,
        }
    }
}

/// Metadata of the documents attached to an item, each value the attachments' values
/// joined by line breaks (empty when none has one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocMetadata {
    /// Authors (`author:`).
    pub author: String,
    /// Titles (`title:`).
    pub title: String,
    /// Keywords and subjects (`keywords:`).
    pub keywords: String,
    /// Companies (`company:`).
    pub company: String,
}

impl DocMetadata {
    /// Adds the values of one more document, skipping blank ones.
    pub fn merge(&mut self, other: &DocMetadata) {
        for (into, from) in [
            (&mut self.author, &other.author),
            (&mut self.title, &other.title),
            (&mut self.keywords, &other.keywords),
            (&mut self.company, &other.company),
        ] {
            let from = from.trim();
            if from.is_empty() {
                continue;
            }
            if !into.is_empty() {
                into.push('\n');
            }
            into.push_str(from);
        }
    }

    /// Whether no value is set.
    pub fn is_empty(&self) -> bool {
        self.author.is_empty()
            && self.title.is_empty()
            && self.keywords.is_empty()
            && self.company.is_empty()
    }
}

/// Order of search results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchOrder {
    /// Newest `date_ms` first (Zimbra's default `dateDesc`).
    #[default]
    DateDesc,
    /// Oldest first (`dateAsc`).
    DateAsc,
    /// Best text match first.
    Relevance,
}

/// What BrowseRequest lists (`browseBy=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowseBy {
    /// Domains of the senders and recipients (`From`, `To`, `Cc`).
    Domains,
    /// Attachment MIME types and their major types (`application/pdf`, `application`).
    Attachments,
    /// Objects found in the text (`url`, `phone`).
    Objects,
}

/// One value BrowseRequest lists, with the number of the mailbox's items holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowseTerm {
    /// The domain, type or object.
    pub text: String,
    /// How many of the mailbox's items hold it.
    pub freq: u64,
    /// For a domain, the headers it appears in: `f`, `t`, `c` in that order.
    pub headers: String,
}

/// A full-text index shared by many mailboxes. Implementations are safe to call from
/// many threads; writes are serialised internally.
pub trait IndexBackend: Send + Sync {
    /// Adds or replaces documents (keyed by mailbox and item). They become visible to
    /// `search` after the next `commit`.
    fn index(&self, mailbox: MailboxId, docs: Vec<IndexDocument>) -> Result<(), IndexError>;

    /// Removes these items of `mailbox`; takes effect at the next `commit`. Unknown
    /// items are ignored.
    fn delete(&self, mailbox: MailboxId, items: &[ItemId]) -> Result<(), IndexError>;

    /// Removes every document of `mailbox`; takes effect at the next `commit`.
    fn delete_mailbox(&self, mailbox: MailboxId) -> Result<(), IndexError>;

    /// Makes everything indexed or deleted so far durable and searchable. Costs an fsync.
    fn commit(&self) -> Result<(), IndexError>;

    /// Checks the index's own files (checksums, every byte read once): the names of
    /// the damaged ones, empty when all are sound. A diagnostic for `verifyIndex`,
    /// slow on a large index. The default (a backend without files) finds nothing.
    ///
    /// # Errors
    /// [`IndexError`] when the files cannot be listed or read at all (itself a sign of
    /// damage).
    fn verify_files(&self) -> Result<Vec<String>, IndexError> {
        Ok(Vec::new())
    }

    /// Removes every document of every mailbox, without reading the old files (so it
    /// works on a damaged index); takes effect at the next `commit`, after which the
    /// old files are deleted. The caller then adds the documents again from the store.
    fn clear(&self) -> Result<(), IndexError>;

    /// Number of committed documents of `mailbox`; lets a caller notice an index that
    /// lost documents (a deleted or rebuilt volume) and re-add them. Costs a count
    /// query over the mailbox's postings.
    fn doc_count(&self, mailbox: MailboxId) -> Result<usize, IndexError>;

    /// Item ids in `mailbox` matching the text part of `query`, newest first, at most
    /// `limit`. Only index leaves are evaluated (text terms, `type:`, `attachment:`,
    /// `has:`, and message dates over [`IndexDocument::date_ms`]); structured leaves
    /// (`in:`, `is:`, `tag:`, `mdate:`, sizes, `sort:`) are the caller's and count as
    /// "no constraint", so the result is a superset the caller
    /// filters. Run each `Plan::Index` of `query::plan` to get exact sets. A query with
    /// no text part returns the mailbox's indexed items.
    fn search(
        &self,
        mailbox: MailboxId,
        query: &Query,
        limit: usize,
    ) -> Result<Vec<ItemId>, IndexError> {
        self.search_ordered(mailbox, query, limit, SearchOrder::DateDesc)
    }

    /// As [`IndexBackend::search`], in the given order.
    fn search_ordered(
        &self,
        mailbox: MailboxId,
        query: &Query,
        limit: usize,
        order: SearchOrder,
    ) -> Result<Vec<ItemId>, IndexError>;

    /// Every item of `mailbox` matching the index part of `query` (as
    /// [`IndexBackend::search`] reads it), in no particular order and without a limit:
    /// for a caller that filters and orders on its own metadata and only needs the set.
    /// Cheaper than an ordered search of the same size (no ranking, no heap). The
    /// default runs [`IndexBackend::search_ordered`] with the mailbox's document count.
    fn matching_items(&self, mailbox: MailboxId, query: &Query) -> Result<Vec<ItemId>, IndexError> {
        let limit = self.doc_count(mailbox)?;
        self.search_ordered(mailbox, query, limit, SearchOrder::DateDesc)
    }

    /// Every item of `mailbox` that has, for each of `words`, a token matching it in at
    /// least one of `fields` (text fields read as [`IndexBackend::search`] reads them:
    /// `Default` is the body and the main headers). Unordered, no limit. With the plan
    /// of [`crate::substring::substring_plan`], a superset of the items whose field
    /// contains the needle (IMAP's substring SEARCH). No words: every item.
    fn items_with_words(
        &self,
        mailbox: MailboxId,
        fields: &[TextField],
        words: &[WordMatch],
    ) -> Result<Vec<ItemId>, IndexError>;

    /// The values of `by` that `mailbox`'s items hold, most frequent first (ties by
    /// text), at most `max`. Values only other mailboxes hold are never listed. The
    /// default (a backend without term dictionaries) lists nothing.
    fn browse(
        &self,
        mailbox: MailboxId,
        by: BrowseBy,
        max: usize,
    ) -> Result<Vec<BrowseTerm>, IndexError> {
        let _ = (mailbox, by, max);
        Ok(Vec::new())
    }

    /// How each wildcard term of `query` (`foo*`, `*ouser`, `f?x`; phrases excluded)
    /// expands in `mailbox`, in query order, for the search's query info: the number of
    /// the mailbox's words it stood for and whether the expansion stopped at the term
    /// cap. `*` and patterns that can match a stop word (`th*`) are left out.
    /// The default (a backend without term dictionaries) reports nothing.
    fn wildcard_info(
        &self,
        mailbox: MailboxId,
        query: &Query,
    ) -> Result<Vec<WildcardInfo>, IndexError> {
        let _ = (mailbox, query);
        Ok(Vec::new())
    }
}
