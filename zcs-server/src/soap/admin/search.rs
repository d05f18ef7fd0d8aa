//! Admin search across mailboxes (discovery, spec/05 §1.2), served on the admin port to
//! global admins only:
//!
//! - `SearchMultipleMailboxesRequest query= [sortBy] [limit] [offset]` with the
//!   mailboxes as `<mbx name=|id=/>` or `<account by="name|id">…</account>` children
//!   (none, or `*`, means every account except system accounts and those flagged
//!   `zimbraExcludeFromCMBSearch`). The answer holds one page of `<m>` hits merged in
//!   one order, each carrying its account (`acct`, `acctId`), with `total`, `more`,
//!   `offset` and `sortBy`. This is what `zmmboxsearch` asks a running server.
//! - The cross-mailbox search tasks (`CreateXMbxSearchRequest`,
//!   `GetXMbxSearchesListRequest`, `AbortXMbxSearchRequest`,
//!   `DeleteXMbxSearchRequest`) in [`xmbx`]: hits are copied into a folder of a target
//!   mailbox, in the background, with their source named in `X-Zimbra-Source`.
//!
//! LIMITATION: delegated admins holding a "search mail" right are refused; only global
//! admins (`zimbraIsAdminAccount`) may search other mailboxes. Only urn:zimbraAdmin is
//! routed here (Zimbra's console sends the task requests in urn:zimbraXMbxSearch).

mod xmbx;

use zcs_core::{ServiceError, ServiceResult};
use zcs_index::query;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::super::search::message_hit;
use crate::search::{SearchParams, resolve_scopes, search_mailboxes};

/// Hits per page when the request names no limit (`zmmboxsearch`'s default).
const DEFAULT_LIMIT: i64 = 25;
/// Most hits one page may hold.
const MAX_LIMIT: i64 = 1000;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "SearchMultipleMailboxesRequest"
            | "CreateXMbxSearchRequest"
            | "GetXMbxSearchesListRequest"
            | "AbortXMbxSearchRequest"
            | "DeleteXMbxSearchRequest"
    ) {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(match name {
        "SearchMultipleMailboxesRequest" => search_multiple(ctx, req).await,
        "CreateXMbxSearchRequest" => xmbx::create(ctx, req).await,
        "GetXMbxSearchesListRequest" => Ok(xmbx::list()),
        "AbortXMbxSearchRequest" => xmbx::abort(req),
        _ => xmbx::delete(req),
    })
}

/// The accounts a request names: `<mbx name|id>`, `<account by>text</account>` and
/// `<account name|id>` children; `*` when there is none.
pub(super) fn mailbox_keys(el: &Element) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for c in el.children_named("mbx").chain(el.children_named("account")) {
        let key = c
            .attr("name")
            .or_else(|| c.attr("id"))
            .map(str::to_string)
            .unwrap_or_else(|| c.text().trim().to_string());
        if !key.is_empty() {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        keys.push("*".into());
    }
    keys
}

/// `SearchMultipleMailboxesRequest` → `SearchMultipleMailboxesResponse`.
async fn search_multiple(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let text = req.req("query")?.trim().to_string();
    let q = query::parse(&text).map_err(crate::search::SearchError::Parse)?;
    let limit = req.int_attr("limit", DEFAULT_LIMIT)?;
    let limit = if limit <= 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    } as usize;
    let offset = req.int_attr("offset", 0)?.max(0) as usize;
    let svc = ctx.svc;
    let scopes = resolve_scopes(&svc.prov, &svc.store, &mailbox_keys(req)).await?;
    let params = SearchParams {
        sort: req.attr("sortBy").map(str::to_string),
        offset,
        limit,
        // Discovery looks everywhere, Trash and Junk included.
        include_trash: true,
        include_junk: true,
        ..SearchParams::default()
    };
    let (hits, total) = search_mailboxes(&scopes, &svc.index, &q, &params)
        .await
        .map_err(ServiceError::from)?;
    let admin = ctx.admin().await?.account.name;
    tracing::info!(target: "zimbra.security", cmd = "SearchMultipleMailboxes", admin = %admin,
        mailboxes = scopes.len(), hits = total, "cross-mailbox search");

    let mut resp = response("SearchMultipleMailboxesResponse", NS_ADMIN);
    // As the search applies it: the query's `sort:` over the request's sortBy.
    let sort = q
        .sort()
        .or(params.sort.as_deref())
        .and_then(crate::search::SortBy::parse)
        .unwrap_or_default();
    resp.set("sortBy", sort.as_str());
    resp.set_num("offset", offset);
    resp.set_num("total", total);
    resp.set_bool("more", offset + hits.len() < total);
    for h in &hits {
        let scope = &scopes[h.scope];
        let mut el = message_hit(&h.message);
        super::super::search::fragment::add_to_hit(&scope.mailbox, &h.message, &mut el).await;
        el.set("acct", scope.account.clone());
        el.set("acctId", scope.account_id.to_string());
        resp.add(el);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_keys_are_read_from_every_spelling() {
        let mut req = Element::new("SearchMultipleMailboxesRequest");
        req.add_new("mbx").set("name", "a@x.test");
        req.add_new("mbx").set("id", "1234");
        req.add_text("account", "b@x.test");
        assert_eq!(mailbox_keys(&req), vec!["a@x.test", "1234", "b@x.test"]);
        assert_eq!(mailbox_keys(&Element::new("X")), vec!["*"]);
    }
}
