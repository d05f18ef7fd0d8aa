//! Several mailboxes searched with one query (discovery, `zmmboxsearch`,
//! `SearchMultipleMailboxesRequest`, cross-mailbox search tasks), merged into one order,
//! and the choice of which accounts such a search covers.

use std::sync::Arc;

use zcs_core::{Entry, ServiceError, ZimbraId};
use zcs_directory::Provisioning;
use zcs_index::IndexBackend;
use zcs_index::query::Query;
use zcs_store::{Mailbox, MessageMeta, Store};

use super::sort::{SortBy, compare};
use super::{SearchError, SearchParams, search};

/// One mailbox of a cross-mailbox search: who it belongs to and its handle.
#[derive(Clone)]
pub struct MailboxScope {
    /// The account's name, for reports.
    pub account: String,
    /// The account's zimbraId (what hits and copies are labelled with).
    pub account_id: ZimbraId,
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

/// Whether a cross-mailbox search over "every account" covers `account`: not a
/// system account or system resource (archives, spam training, ...) and not flagged
/// `zimbraExcludeFromCMBSearch` (spec/05 §1.2).
pub fn searchable_by_default(account: &Entry) -> bool {
    let on = |name: &str| {
        account
            .attrs
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    !on("zimbraIsSystemAccount")
        && !on("zimbraIsSystemResource")
        && !on("zimbraExcludeFromCMBSearch")
}

/// The mailboxes named by `keys` (account names, aliases or zimbraIds; `*` for every
/// account [`searchable_by_default`] admits), in the order given, each once. A named
/// account is searched even when it is excluded from "every account".
///
/// # Errors
/// `account.NO_SUCH_ACCOUNT` for a key that names no account; `service.INVALID_REQUEST`
/// when no key is given; a store fault when a mailbox cannot be opened.
pub async fn resolve_scopes(
    prov: &Provisioning,
    store: &Store,
    keys: &[String],
) -> Result<Vec<MailboxScope>, ServiceError> {
    let mut accounts: Vec<Entry> = Vec::new();
    let keys: Vec<&str> = keys
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(ServiceError::invalid_request("no mailbox to search"));
    }
    for key in keys {
        if key == "*" {
            accounts.extend(
                prov.all_accounts(None)
                    .await?
                    .into_iter()
                    .filter(searchable_by_default),
            );
        } else {
            accounts.push(prov.get_account(key).await?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    accounts.retain(|a| seen.insert(a.id));
    let mut scopes = Vec::with_capacity(accounts.len());
    for account in accounts {
        let mailbox = store
            .mailbox(account.id)
            .await
            .map_err(ServiceError::from)?;
        let mut addresses = vec![account.name.clone()];
        addresses.extend(account.attrs.get_all("zimbraMailAlias").iter().cloned());
        scopes.push(MailboxScope {
            account: account.name.clone(),
            account_id: account.id,
            mailbox,
            addresses,
        });
    }
    Ok(scopes)
}

/// Runs `query` over several mailboxes (discovery, `zmmboxsearch`) and merges the
/// results in one order; `params.offset`/`limit` page the merged list and
/// `params.my_addresses` is replaced by each scope's own addresses. Each mailbox is
/// searched alone, so no mailbox's index or metadata ever answers for another's.
/// Returns the page and the number of matches over all mailboxes. Costs one [`search`]
/// per mailbox, each asked for `offset + limit` hits.
///
/// # Errors
/// The first mailbox that fails stops the search, as [`search`].
pub async fn search_mailboxes(
    scopes: &[MailboxScope],
    index: &Arc<dyn IndexBackend>,
    query: &Query,
    params: &SearchParams,
) -> Result<(Vec<MailboxHit>, usize), SearchError> {
    let mut all: Vec<MailboxHit> = Vec::new();
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
        all.extend(
            r.hits
                .into_iter()
                .map(|message| MailboxHit { scope: i, message }),
        );
    }
    // Equal keys (same date and item id in two mailboxes) keep the scopes' order.
    all.sort_by(|a, b| compare(&a.message, &b.message, sort).then(a.scope.cmp(&b.scope)));
    let page = all
        .into_iter()
        .skip(params.offset)
        .take(params.limit)
        .collect();
    Ok((page, total))
}
