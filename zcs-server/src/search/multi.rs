//! Several mailboxes searched with one query (discovery, `zmmboxsearch`,
//! `SearchMultipleMailboxesRequest`), merged into one order.

use std::sync::Arc;

use zcs_index::IndexBackend;
use zcs_index::query::Query;
use zcs_store::{Mailbox, MessageMeta};

use super::sort::{SortBy, sort_messages};
use super::{SearchError, SearchParams, search};

/// One mailbox of a cross-mailbox search: who it belongs to and its handle.
#[derive(Clone)]
pub struct MailboxScope {
    /// The account's name, for reports.
    pub account: String,
    /// The account's mailbox.
    pub mailbox: Mailbox,
    /// The account's addresses, for `is:tome` and its kin.
    pub addresses: Vec<String>,
}

/// One hit of a cross-mailbox search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxHit {
    /// Index of the account in the scopes given.
    pub scope: usize,
    /// The message.
    pub message: MessageMeta,
}

/// Runs `query` over several mailboxes (discovery, `zmmboxsearch`) and merges the
/// results in one order; `params.offset`/`limit` page the merged list and
/// `params.my_addresses` is replaced by each scope's own addresses. Each mailbox is
/// searched alone, so no mailbox's index or metadata ever answers for another's.
/// Costs one [`search`] per mailbox, each asked for `offset + limit` hits.
///
/// # Errors
/// The first mailbox that fails stops the search, as [`search`].
pub async fn search_mailboxes(
    scopes: &[MailboxScope],
    index: &Arc<dyn IndexBackend>,
    query: &Query,
    params: &SearchParams,
) -> Result<(Vec<MailboxHit>, usize), SearchError> {
    let mut all: Vec<(usize, MessageMeta)> = Vec::new();
    let mut total = 0;
    let mut sort = SortBy::default();
    for (i, scope) in scopes.iter().enumerate() {
        let p = SearchParams {
            offset: 0,
            limit: params.offset.saturating_add(params.limit),
            cursor: None,
            my_addresses: scope.addresses.clone(),
            group_by_conversation: false,
            ..params.clone()
        };
        let r = search(&scope.mailbox, index, query, &p).await?;
        total += r.total;
        sort = r.sort;
        all.extend(r.hits.into_iter().map(|m| (i, m)));
    }
    let mut refs: Vec<&MessageMeta> = all.iter().map(|(_, m)| m).collect();
    sort_messages(&mut refs, sort);
    // Map the sorted references back to their scopes by address.
    let page: Vec<MailboxHit> = refs
        .iter()
        .skip(params.offset)
        .take(params.limit)
        .filter_map(|m| {
            all.iter()
                .find(|(_, x)| std::ptr::eq(x, *m))
                .map(|(scope, x)| MailboxHit {
                    scope: *scope,
                    message: x.clone(),
                })
        })
        .collect();
    Ok((page, total))
}
