//! The search evaluator: runs a query in Zimbra's grammar against one mailbox. Text
//! parts of the plan go to the full-text index; item state (folders, flags, tags, dates,
//! sizes, ids, conversations, change numbers) is read from the store's metadata at
//! search time, so a flag change or a move is visible at once, never waiting for the
//! index. Then the matches are sorted and one page is cut out.
//!
//! This module answers "which items, in which order". Shaping them into SOAP or IMAP
//! replies is the front end's business. Its parts: `sort` (orders and cursors),
//! `snapshot` (the cached metadata), `eval` (plans compiled into per-message checks),
//! `items` (contacts, appointments and tasks, matched in memory) and `multi`
//! (several mailboxes at once).

mod eval;
mod idset;
pub mod items;
mod multi;
pub mod remote;
mod snapshot;
mod sort;
pub mod zone;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, folder};
use zcs_index::query::{self, Plan, Query};
use zcs_index::{IndexBackend, IndexError, QueryParseError, WildcardInfo};
use zcs_store::{Mailbox, MessageMeta, StoreError};

pub use items::{
    ItemHit, ItemKind, ItemParams, ItemResults, cal_has_attachment, cal_priority, search_items,
};
pub use multi::{
    MailboxHit, MailboxScope, resolve_scopes, search_mailboxes, searchable_by_default,
};
pub use sort::{SortBy, effective_sort};

use eval::{Context, compile, names_folder, rewrite_me};
use idset::IdSet;
use snapshot::metadata;
use sort::cursor_position;

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text does not follow the grammar (`mail.QUERY_PARSE_ERROR`).
    #[error("query parse error: {0}")]
    Parse(#[from] QueryParseError),
    /// Reading the mailbox's metadata failed.
    #[error("search: read mailbox: {0}")]
    Store(#[from] StoreError),
    /// The full-text index failed.
    #[error("search: index: {0}")]
    Index(#[from] IndexError),
    /// The blocking index task could not run to its end.
    #[error("search: index task: {0}")]
    Task(String),
    /// A `sort:` clause names no order (`service.PARSE_ERROR`, Zimbra's
    /// `INVALID_SORTBY`).
    #[error("INVALID_SORTBY: {0}")]
    BadSort(String),
    /// A task order (`taskDueAsc`, ...) met a hit that is not a task
    /// (`service.FAILURE`, as Zimbra).
    #[error("Invalid hit type, can only task-sort Tasks")]
    TaskSortOfOther,
}

impl SearchError {
    /// The Zimbra fault code this error is reported as.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            SearchError::Parse(_) => FaultCode::QueryParseError,
            SearchError::Store(e) => e.fault_code(),
            SearchError::Index(_) | SearchError::Task(_) => FaultCode::Failure,
            SearchError::BadSort(_) => FaultCode::ParseError,
            SearchError::TaskSortOfOther => FaultCode::Failure,
        }
    }
}

impl From<SearchError> for ServiceError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Parse(p) => ServiceError::new(FaultCode::QueryParseError, p.to_string()),
            SearchError::Store(s) => s.into(),
            e @ (SearchError::BadSort(_) | SearchError::TaskSortOfOther) => {
                ServiceError::new(e.fault_code(), e.to_string())
            }
            other => {
                tracing::warn!(error = %other, "search failed");
                ServiceError::failure("search failed")
            }
        }
    }
}

/// What to search and which page to return.
#[derive(Clone, Debug)]
pub struct SearchParams {
    /// The request's sort order; a `sort:` clause in the query overrides it. Unknown
    /// names fall back to `dateDesc` ([`effective_sort`]); a task order over
    /// matching messages is [`SearchError::TaskSortOfOther`].
    pub sort: Option<String>,
    /// Matches to skip (after sorting and conversation grouping).
    pub offset: usize,
    /// Most hits to return.
    pub limit: usize,
    /// Cursor paging: start after this item (a conversation id when grouping) when it
    /// is among the matches; this overrides `offset`.
    pub cursor: Option<ItemId>,
    /// The cursor item's sort value (`cursor sortVal=`, as [`SearchResults::sort_value`]
    /// printed it): when the cursor item no longer matches (deleted, moved, read), the
    /// page starts at the first match past this value in the order.
    pub cursor_sort_value: Option<String>,
    /// The account's own addresses (name and aliases), for `is:tome`, `is:fromme`, ...
    pub my_addresses: Vec<String>,
    /// Clock and zone relative dates (`-1d`, `today`) and calendar days resolve in.
    pub now: zone::Clock,
    /// Search Trash even when the query names no folder (`zimbraPrefIncludeTrashInSearch`).
    pub include_trash: bool,
    /// Search Junk even when the query names no folder (`zimbraPrefIncludeSpamInSearch`).
    pub include_junk: bool,
    /// Keep only the first hit of each conversation (`types=conversation`).
    pub group_by_conversation: bool,
    /// Count every match for [`SearchResults::total`]. When false (and there is no
    /// cursor or grouping) the walk stops at the first match past the page: `more`
    /// stays exact and `total` is only a lower bound, so a page of a large mailbox
    /// costs the matches before it instead of the whole mailbox. Zimbra's
    /// `SearchResponse` carries no total, only `more`.
    pub count_total: bool,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            sort: None,
            offset: 0,
            limit: 100,
            cursor: None,
            cursor_sort_value: None,
            my_addresses: Vec::new(),
            now: zone::utc_now(),
            include_trash: false,
            include_junk: false,
            group_by_conversation: false,
            count_total: true,
        }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchResults {
    /// The page, in order.
    pub hits: Vec<MessageMeta>,
    /// All matches (after grouping), for counts and `more`.
    pub total: usize,
    /// Whether matches remain past this page.
    pub more: bool,
    /// The order applied.
    pub sort: SortBy,
    /// Index of the first hit of the page among all matches.
    pub offset: usize,
    /// With `group_by_conversation`: the conversation each hit stands for, in the same
    /// order as `hits`; empty otherwise.
    pub convs: Vec<ConvHit>,
}

impl SearchResults {
    /// The value `m` is sorted on in this result's order (`sf=` of a hit, `sortVal=` of
    /// a cursor).
    pub fn sort_value(&self, m: &MessageMeta) -> String {
        sort::sort_value(m, self.sort)
    }
}

/// One conversation of a `types=conversation` search, as the metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvHit {
    /// The conversation id; negative (`-message id`) for a message alone in its own.
    pub id: ItemId,
    /// Its messages that match the query, in the result order.
    pub matched: Vec<MessageMeta>,
    /// All its messages outside Trash and Junk.
    pub messages: u32,
    /// How many of those are unread.
    pub unread: u32,
    /// Flags any of its messages carries.
    pub flags: Flags,
    /// Tags any of its messages carries, sorted.
    pub tags: Vec<String>,
    /// Date of its newest message (ms).
    pub date_ms: i64,
    /// The `From` (`Name <addr>`) of its messages outside Trash and Junk, oldest
    /// first, each address once; messages without a sender are left out.
    pub senders: Vec<String>,
}

/// The address of a `Name <addr>` (or bare address) sender, lower case.
fn sender_address(sender: &str) -> String {
    let s = match (sender.rfind('<'), sender.rfind('>')) {
        (Some(a), Some(b)) if a < b => &sender[a + 1..b],
        _ => sender,
    };
    s.trim().to_lowercase()
}

/// The conversations of `page`, each with its matches and counts over `all`. One pass
/// over `matched` and one over `all`, whatever the page size.
fn conversations(
    page: &[MessageMeta],
    matched: &[&MessageMeta],
    all: &[Arc<MessageMeta>],
) -> Vec<ConvHit> {
    let wanted: HashSet<ItemId> = page.iter().map(|m| m.conv).collect();
    let mut matches: HashMap<ItemId, Vec<MessageMeta>> = HashMap::new();
    for m in matched.iter().filter(|m| wanted.contains(&m.conv)) {
        matches.entry(m.conv).or_default().push((*m).clone());
    }
    let mut members: HashMap<ItemId, Vec<&MessageMeta>> = HashMap::new();
    for m in all.iter().filter(|m| wanted.contains(&m.conv)) {
        if m.folder.0 != folder::TRASH && m.folder.0 != folder::JUNK {
            members.entry(m.conv).or_default().push(m);
        }
    }
    page.iter()
        .map(|hit| {
            let mut c = ConvHit {
                id: if hit.conv.0 <= 0 {
                    ItemId(-hit.id.0.abs())
                } else {
                    hit.conv
                },
                matched: matches.get(&hit.conv).cloned().unwrap_or_default(),
                messages: 0,
                unread: 0,
                flags: Flags(0),
                tags: Vec::new(),
                date_ms: hit.internal_date_ms,
                senders: Vec::new(),
            };
            let mut by_date: Vec<&&MessageMeta> =
                members.get(&hit.conv).into_iter().flatten().collect();
            by_date.sort_by_key(|m| (m.internal_date_ms, m.id.0));
            let mut seen = HashSet::new();
            for m in &by_date {
                let addr = sender_address(&m.sender);
                if !addr.is_empty() && seen.insert(addr) {
                    c.senders.push(m.sender.clone());
                }
            }
            for m in members.get(&hit.conv).into_iter().flatten() {
                c.messages += 1;
                if m.flags.contains(Flags::UNREAD) {
                    c.unread += 1;
                }
                c.flags = Flags(c.flags.0 | m.flags.0);
                c.tags.extend(m.tags.iter().cloned());
                c.date_ms = c.date_ms.max(m.internal_date_ms);
            }
            c.messages = c.messages.max(1);
            c.tags.sort();
            c.tags.dedup();
            c
        })
        .collect()
}

/// Parses `text` and runs it with [`search`].
///
/// # Errors
/// [`SearchError::Parse`] with the position for bad query text; otherwise as [`search`].
pub async fn search_text(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    text: &str,
    params: &SearchParams,
) -> Result<SearchResults, SearchError> {
    let q = query::parse(text)?;
    search(mailbox, index, &q, params).await
}

/// Runs `query` over the messages of `mailbox`. Costs one read of the mailbox's change
/// number, a read of its message metadata (one query per folder) unless a snapshot at
/// that change number is cached, one unordered index search per text part of the plan
/// (off the async threads), and one pass over the mailbox's messages in the result
/// order (kept with the snapshot), testing each against bitmaps of the index hits and
/// folders: no sort at search time.
///
/// Semantics: AND/OR as written; NOT is taken over every message of the mailbox (so
/// `-foo` finds the messages without "foo", including ones the index has not seen).
/// Without a folder term (`in:`, `under:`, `inid:`, `underid:`, `is:anywhere`), Trash
/// and Junk are left out unless `params` includes them, as Zimbra does.
///
/// # Errors
/// [`SearchError::Store`] or [`SearchError::Index`] when reading fails.
pub async fn search(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    query: &Query,
    params: &SearchParams,
) -> Result<SearchResults, SearchError> {
    let sort = sort::effective_sort(query, params.sort.as_deref(), SortBy::DateDesc)
        .map_err(SearchError::BadSort)?;
    let rewritten = rewrite_me(query, &params.my_addresses);
    // Relative and calendar dates are read at the request's clock and zone, so the index
    // and the item-date fallback agree on the bounds (resolving twice is harmless).
    let rewritten = query::resolve_dates(&rewritten, &params.now);
    let plan = query::plan(&rewritten);

    let snapshot = metadata(mailbox).await?;
    let (folders, messages) = (&snapshot.folders, &snapshot.messages);

    let hits = run_index_parts(mailbox, index, &plan).await?;
    let ctx = Context::new(folders, &snapshot.convs, params.now);
    let node = compile(&plan, &hits, &ctx);

    let any_folder = names_folder(&rewritten);
    let visible = |m: &MessageMeta| {
        any_folder
            || (params.include_trash || m.folder.0 != folder::TRASH)
                && (params.include_junk || m.folder.0 != folder::JUNK)
    };
    let (order, reverse) = snapshot.order(sort);
    let in_order: Box<dyn Iterator<Item = &u32>> = if reverse {
        Box::new(order.iter().rev())
    } else {
        Box::new(order.iter())
    };
    let matches = in_order
        .map(|&i| &*messages[i as usize])
        .filter(|m| visible(m) && node.matches(m, &ctx));

    // Without cursor or grouping only the page is kept; the rest is only counted.
    if params.cursor.is_none() && !params.group_by_conversation {
        let mut total = 0;
        let mut hits = Vec::with_capacity(params.limit.min(1000));
        let enough = params.offset.saturating_add(params.limit);
        for m in matches {
            if total >= params.offset && hits.len() < params.limit {
                hits.push(m.clone());
            }
            total += 1;
            if !params.count_total && total > enough {
                break;
            }
        }
        if sort.is_task() && total > 0 {
            return Err(SearchError::TaskSortOfOther);
        }
        let offset = params.offset.min(total);
        return Ok(SearchResults {
            more: offset + hits.len() < total,
            hits,
            total,
            sort,
            offset,
            convs: Vec::new(),
        });
    }

    let mut matched: Vec<&MessageMeta> = matches.collect();
    let all_matched = if params.group_by_conversation {
        let all = matched.clone();
        let mut seen = HashSet::new();
        matched.retain(|m| seen.insert(m.conv));
        all
    } else {
        Vec::new()
    };

    let total = matched.len();
    if sort.is_task() && total > 0 {
        return Err(SearchError::TaskSortOfOther);
    }
    let offset = match params.cursor {
        Some(c) => cursor_position(
            &matched,
            c,
            params.cursor_sort_value.as_deref(),
            sort,
            params.group_by_conversation,
        ),
        None => params.offset,
    }
    .min(total);
    let hits: Vec<MessageMeta> = matched
        .iter()
        .skip(offset)
        .take(params.limit)
        .map(|m| (*m).clone())
        .collect();
    let convs = if params.group_by_conversation {
        conversations(&hits, &all_matched, messages)
    } else {
        Vec::new()
    };
    Ok(SearchResults {
        more: offset + hits.len() < total,
        hits,
        total,
        sort,
        offset,
        convs,
    })
}

/// How each wildcard term of `query` expanded in `mailbox`'s index
/// ([`IndexBackend::wildcard_info`]), for the response's query info; empty at no cost
/// when the query has no wildcard.
///
/// # Errors
/// [`SearchError::Index`] when the index cannot be read.
pub async fn wildcard_info(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    query: &Query,
) -> Result<Vec<WildcardInfo>, SearchError> {
    fn has_wildcard(q: &Query) -> bool {
        match q {
            Query::And(v) | Query::Or(v) => v.iter().any(has_wildcard),
            Query::Not(c) => has_wildcard(c),
            Query::Term {
                wildcard, phrase, ..
            } => *wildcard && !*phrase,
            _ => false,
        }
    }
    if !has_wildcard(query) {
        return Ok(Vec::new());
    }
    let (index, id, q) = (index.clone(), mailbox.id(), query.clone());
    Ok(
        tokio::task::spawn_blocking(move || index.wildcard_info(id, &q))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))??,
    )
}

/// Runs each distinct index query of `plan` for its whole hit set (unordered: the
/// snapshot gives the order), keyed by its printed form.
async fn run_index_parts(
    mailbox: &Mailbox,
    index: &Arc<dyn IndexBackend>,
    plan: &Plan,
) -> Result<HashMap<String, Arc<IdSet>>, SearchError> {
    let mut out = HashMap::new();
    for q in plan.index_queries() {
        let key = q.to_string();
        if out.contains_key(&key) {
            continue;
        }
        let (index, id, q) = (index.clone(), mailbox.id(), q.clone());
        let set =
            tokio::task::spawn_blocking(move || index.matching_items(id, &q).map(IdSet::from_ids))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))??;
        out.insert(key, Arc::new(set));
    }
    Ok(out)
}
