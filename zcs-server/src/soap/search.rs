//! urn:zimbraMail SearchRequest. Mail (`types=message`, `conversation`) is searched by
//! [`crate::search::search`], contacts, appointments and tasks (`types=contact`,
//! `appointment`, `task`) by [`crate::search::search_items`]; this module reads the
//! request (query, sortBy, offset/limit, `cursor`, `fetch`, `calExpandInstStart`/
//! `calExpandInstEnd`) and shapes the hits as Zimbra does: `m` elements for messages,
//! `c` elements (with the matching messages inside) for conversations, `cn`, `appt` and
//! `task` for the rest, each with its sort value in `sf` (shapes in `hits`). The target
//! account's mailbox is searched, or the owner's when the query names one of its
//! mountpoints (`mountpoint`). Message dates (`date:`, `before:`, `after:`, ...)
//! compare the message's `Date` header, as Zimbra's item date of delivered mail is.
//!
//! Dates resolve in the request's `<tz id= [stdoff=]>` zone, else the account's
//! `zimbraPrefTimeZoneId`, else UTC ([`crate::search::zone`]): `date:-1day`, `day:`,
//! `today` are the user's days.

use zcs_core::{ItemId, ServiceError, ServiceResult};
use zcs_index::query::{self, Query};
use zcs_store::{Mailbox, MessageMeta};

use super::contacts::TagLabels;
use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::response;
use crate::search::{
    ItemHit, ItemKind, ItemParams, SearchParams, search, search_items, wildcard_info, zone,
};
use zcs_index::WildcardInfo;

/// Most hits one page may hold (Zimbra's cap).
const MAX_LIMIT: i64 = 1000;
/// Hits per page when the request names no limit (Zimbra's default).
const DEFAULT_LIMIT: i64 = 10;

mod browse;
mod conv;
pub(super) mod delayed_index;
pub(crate) mod fragment;
mod hits;
mod mountpoint;
mod scope;

pub(crate) use hits::{add_senders, message_hit};

/// Routes SearchRequest, SearchConvRequest (`conv`) and BrowseRequest (`browse`); `None`
/// for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "SearchRequest" => Some(search_request(ctx, req).await),
        "SearchConvRequest" => Some(conv::search_conv(ctx, req).await),
        "BrowseRequest" => Some(browse::browse(ctx, req).await),
        _ => None,
    }
}

/// Which hits `fetch=` expands with their headers and body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fetch {
    None,
    /// `1`/`first`: the first hit.
    First,
    /// `all`/`hits`: every hit.
    All,
    /// `u`/`unread`: unread hits; `u1`: the unread ones, or the first when none is.
    Unread {
        or_first: bool,
    },
    /// An item id: that hit.
    Item(ItemId),
}

fn parse_fetch(v: Option<&str>) -> Fetch {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "0" | "none" | "false") => Fetch::None,
        Some("1" | "first" | "true") => Fetch::First,
        Some("all" | "hits" | "!") => Fetch::All,
        Some("u" | "unread") => Fetch::Unread { or_first: false },
        Some("u1" | "unread-first" | "u!") => Fetch::Unread { or_first: true },
        Some(other) => other
            .parse::<i32>()
            .map_or(Fetch::None, |id| Fetch::Item(ItemId(id))),
    }
}

impl Fetch {
    /// Whether the hit at `pos` of `page` is expanded.
    fn wants(self, pos: usize, page: &[MessageMeta]) -> bool {
        let m = &page[pos];
        let unread = |m: &MessageMeta| m.flags.contains(zcs_core::Flags::UNREAD);
        match self {
            Fetch::None => false,
            Fetch::First => pos == 0,
            Fetch::All => true,
            Fetch::Unread { or_first } => {
                unread(m) || (or_first && pos == 0 && !page.iter().any(unread))
            }
            Fetch::Item(id) => m.id == id,
        }
    }
}

/// The kinds a `types=` list asks for: (mail?, conversations?, item kinds).
fn parse_types(types: &str) -> (bool, bool, Vec<ItemKind>) {
    let mut mail = false;
    let mut conv = false;
    let mut items = Vec::new();
    for t in types.split(',').map(|t| t.trim().to_ascii_lowercase()) {
        match t.as_str() {
            "message" => mail = true,
            "conversation" => {
                mail = true;
                conv = true;
            }
            "contact" => items.push(ItemKind::Contact),
            "appointment" => items.push(ItemKind::Appointment),
            "task" => items.push(ItemKind::Task),
            _ => {}
        }
    }
    // Conversations win when both are asked for, as in Zimbra's grouping.
    (mail, conv, items)
}

/// The clock a search's dates resolve in: the request's `<tz>` (an `id` this server
/// knows, else its `stdoff` in minutes), else the account's `zimbraPrefTimeZoneId`
/// (inherited from its COS), else UTC.
async fn search_now(
    ctx: &mut Ctx<'_>,
    account: &zcs_core::Entry,
    req: &Element,
) -> ServiceResult<zone::Clock> {
    let at = chrono::Utc::now();
    if let Some(tz) = req.child("tz") {
        if let Some(id) = tz.attr("id").filter(|id| zone::known_zone(id)) {
            return Ok(zone::now_in_zone(Some(id), at));
        }
        if let Some(off) = tz.attr("stdoff").and_then(|v| v.trim().parse::<i32>().ok()) {
            return Ok(zone::now_at_offset(off, at));
        }
    }
    // One attribute along its chain, not every effective attribute (see Ctx::mailbox).
    let inherited = ctx.svc.prov.account_context(account).await?;
    let tz = inherited.scope().get("zimbraPrefTimeZoneId");
    Ok(zone::now_in_zone(tz.first().map(String::as_str), at))
}

/// Passes `e` on; when the index failed (not the query or the store), logs it as
/// Zimbra does (`Possibly corrupt index`) and has the indexer check the index files,
/// which rebuilds the index from the store when they are damaged.
fn index_trouble(ctx: &Ctx<'_>, e: crate::search::SearchError) -> crate::search::SearchError {
    use crate::search::SearchError;
    if matches!(e, SearchError::Index(_) | SearchError::Task(_)) {
        tracing::warn!(error = %e, "Possibly corrupt index; checking the index files");
        ctx.svc.indexer.check_index();
    }
    e
}

/// Longest a search waits for the indexer to reach the mailbox's newest messages.
const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits, at most [`INDEX_WAIT`], until every message of `mb` is indexed, as Zimbra
/// indexes a mailbox's deferred items before it searches: a message delivered or sent
/// just before the search is then found by its words. After the wait the search runs
/// on what is indexed (a mailbox being imported wholesale is not held up longer).
pub(super) async fn wait_for_index(ctx: &Ctx<'_>, mb: &Mailbox) {
    if ctx.svc.indexer.is_suppressed(mb.account()) {
        // Delayed indexing suppressed the mailbox: nothing will be indexed to wait for.
        return;
    }
    let deadline = std::time::Instant::now() + INDEX_WAIT;
    let mut asked = false;
    loop {
        match mb.unindexed(1).await {
            Ok(pending) if !pending.is_empty() => {}
            _ => return,
        }
        if !asked {
            ctx.svc.indexer.notify(mb.account());
            asked = true;
        }
        if std::time::Instant::now() >= deadline {
            tracing::debug!(account = %mb.account(), "searching before the index caught up");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// What one SearchRequest asks for, read once.
#[derive(Clone)]
struct Request {
    text: String,
    mail: bool,
    by_conv: bool,
    kinds: Vec<ItemKind>,
    offset: usize,
    limit: usize,
    now: zone::Clock,
    /// Headers to return on message hits (`<header n=>` children).
    headers: Vec<String>,
}

/// One part of the answer (mail or items): the hit elements of its page, whether more
/// follow, its order, and how many matched in all.
struct Part {
    hits: Vec<Element>,
    more: bool,
    sort: String,
    total: usize,
    /// How the query's wildcard terms expanded, for `<info>`.
    wildcards: Vec<WildcardInfo>,
}

/// Zimbra's query info, after the hits: `<info><wildcard str="foo*" expanded="1"
/// numExpanded="N"/></info>`, one `wildcard` per wildcard term expanded (`expanded` 0
/// when the expansion stopped at `zimbra_index_wildcard_max_terms_expanded`). Absent
/// when the query has no wildcard.
fn query_info(wildcards: &[WildcardInfo]) -> Option<Element> {
    if wildcards.is_empty() {
        return None;
    }
    let mut info = Element::new("info");
    for w in wildcards {
        info.add_new("wildcard")
            .set("str", w.pattern.clone())
            .set_bool("expanded", w.all)
            .set_num("numExpanded", w.expanded);
    }
    Some(info)
}

async fn search_request(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let own = ctx.mailbox().await?;
    let account = ctx.target_account().await?;
    let now = search_now(ctx, &account, req).await?;
    let text = req.attr("query").unwrap_or("").trim().to_string();
    let types = req.attr("types").unwrap_or("conversation").to_string();
    let (mail, by_conv, kinds) = parse_types(&types);
    let limit = req.int_attr("limit", DEFAULT_LIMIT)?;
    let limit = if limit <= 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    } as usize;
    let offset = req.int_attr("offset", 0)?.max(0) as usize;
    let headers = req
        .children_named("header")
        .filter_map(|h| h.attr("n"))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let r = Request {
        text,
        mail,
        by_conv,
        kinds,
        offset,
        limit,
        now,
        headers,
    };

    let parsed = if r.text.is_empty() {
        Query::In("inbox".into())
    } else {
        query::parse(&r.text).map_err(crate::search::SearchError::Parse)?
    };
    // Days and relative dates are the user's, in the request's zone: made absolute here,
    // as the index compares message dates without knowing the zone.
    let parsed = query::resolve_dates(&parsed, &r.now);
    // Whether the full-text index answers part of it (delayed indexing waits for one).
    let text_search = !query::plan(&parsed).index_queries().is_empty();
    // A search of one of the caller's mountpoints runs in the owner's mailbox; one
    // asking for remote items (`is:remote`) runs in each readable mountpoint too.
    let mut sources = Vec::new();
    match mountpoint::redirect(ctx, &own, &parsed).await? {
        Some(to) => sources.push((to.mb, to.query, Some(to.owner_id))),
        None => {
            let remotes = mountpoint::remote_scopes(ctx, &own, &parsed).await?;
            sources.push((own.clone(), parsed, None));
            sources.extend(
                remotes
                    .into_iter()
                    .map(|to| (to.mb, to.query, Some(to.owner_id))),
            );
        }
    }

    let mut resp = response("SearchResponse", NS_MAIL);
    if delayed_index::before_search(ctx.svc, &account, text_search).await? {
        // This search started the rebuild of a delayed index: no hits until it ends.
        resp.set("sortBy", echoed_sort(req));
        resp.set_num("offset", 0).set_bool("more", false);
        resp.set_bool("reIndexInProgress", true);
        return Ok(resp);
    }
    if !r.mail && r.kinds.is_empty() {
        // LIMITATION: documents, wiki pages and other types are not searched.
        resp.set("sortBy", echoed_sort(req));
        resp.set_num("offset", 0).set_bool("more", false);
        return Ok(resp);
    }
    let mut wildcards = Vec::new();
    let (sort, more, hits) = if sources.len() == 1 {
        let (mb, q, owner) = &sources[0];
        let parts = run_source(ctx, mb, &account, q, req, &r).await?;
        let more = parts.iter().any(|p| p.more);
        let sort = parts[0].sort.clone();
        wildcards.extend(parts.iter().flat_map(|p| p.wildcards.iter().cloned()));
        let hits = qualified(parts, owner.as_deref());
        (sort, more, hits)
    } else {
        // Several mailboxes: each gives its first offset+limit hits, listed one
        // mailbox after the other, and the page is cut from the whole list.
        // LIMITATION: hits of different mailboxes are not merged in one sort order.
        let window = Request {
            offset: 0,
            limit: r.offset + r.limit,
            ..r.clone()
        };
        let (mut all, mut more, mut sort) = (Vec::new(), false, None);
        for (mb, q, owner) in &sources {
            let parts = run_source(ctx, mb, &account, q, req, &window).await?;
            more |= parts.iter().any(|p| p.more);
            sort.get_or_insert_with(|| parts[0].sort.clone());
            if wildcards.is_empty() {
                wildcards.extend(parts.iter().flat_map(|p| p.wildcards.iter().cloned()));
            }
            all.extend(qualified(parts, owner.as_deref()));
        }
        more |= all.len() > r.offset + r.limit;
        let page = all.into_iter().skip(r.offset).take(r.limit).collect();
        (sort.unwrap_or_default(), more, page)
    };
    resp.set("sortBy", sort);
    resp.set_num("offset", r.offset);
    resp.set_bool("more", more);
    for el in hits {
        resp.add(el);
    }
    if let Some(info) = query_info(&wildcards) {
        resp.add(info);
    }
    ctx.note_change(&own).await;
    Ok(resp)
}

/// The hits of `parts` in order, their ids written `owner:id` for another mailbox.
fn qualified(parts: Vec<Part>, owner: Option<&str>) -> Vec<Element> {
    let mut out = Vec::new();
    for p in parts {
        for mut el in p.hits {
            if let Some(o) = owner {
                mountpoint::qualify_ids(&mut el, o);
            }
            out.push(el);
        }
    }
    out
}

/// One mailbox's answer: its mail part, then its items part, as the request's types
/// ask. With both, the page lists the mail first, then the items.
/// LIMITATION: the two are not interleaved in one sort order as Zimbra merges them.
async fn run_source(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    account: &zcs_core::Entry,
    parsed: &Query,
    req: &Element,
    r: &Request,
) -> ServiceResult<Vec<Part>> {
    let mut parts = Vec::new();
    let mut total_before = 0;
    if r.mail {
        let p = mail_part(ctx, mb, account, parsed, req, r).await?;
        total_before = p.total;
        parts.push(p);
    }
    if !r.kinds.is_empty() {
        let shown: usize = parts.iter().map(|p| p.hits.len()).sum();
        let offset = r.offset.saturating_sub(total_before);
        // A full page of mail still needs to know whether items follow it.
        let limit = r.limit.saturating_sub(shown).max(1);
        let mut p = item_part(mb, parsed, req, r, offset, limit).await?;
        if shown >= r.limit {
            p.more = p.total > offset;
            p.hits.clear();
        }
        parts.push(p);
    }
    Ok(parts)
}

/// Contacts, appointments and tasks: [`search_items`] and their hit elements.
async fn item_part(
    mb: &Mailbox,
    parsed: &Query,
    req: &Element,
    r: &Request,
    offset: usize,
    limit: usize,
) -> ServiceResult<Part> {
    let window = match (req.attr("calExpandInstStart"), req.attr("calExpandInstEnd")) {
        (Some(s), Some(e)) => Some((parse_ms(s)?, parse_ms(e)?)),
        _ => None,
    };
    let params = ItemParams {
        kinds: r.kinds.clone(),
        sort: req.attr("sortBy").map(str::to_string),
        offset,
        limit,
        window,
        now: r.now,
    };
    // An empty query over items means every item, not the Inbox.
    let q = if r.text.is_empty() {
        Query::Item(zcs_index::query::ItemSet::All)
    } else {
        parsed.clone()
    };
    let res = search_items(mb, &q, &params).await?;
    let contact_ids: Vec<ItemId> = res
        .hits
        .iter()
        .filter_map(|h| match h {
            ItemHit::Contact(c) => Some(c.id),
            ItemHit::Cal(..) => None,
        })
        .collect();
    let labels = TagLabels::load(mb, &contact_ids).await?;
    Ok(Part {
        hits: res
            .hits
            .iter()
            .map(|h| hits::item_element(h, &labels))
            .collect(),
        more: res.more,
        sort: res.sort,
        total: res.total,
        wildcards: res.wildcards,
    })
}

/// Messages or conversations: [`search`] and their hit elements.
async fn mail_part(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    account: &zcs_core::Entry,
    parsed: &Query,
    req: &Element,
    r: &Request,
) -> ServiceResult<Part> {
    let mut my_addresses = vec![account.name.clone()];
    my_addresses.extend(account.attrs.get_all("zimbraMailAlias").iter().cloned());
    let pref = |name: &str| {
        account
            .attrs
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    let cursor = req.child("cursor");
    let params = SearchParams {
        sort: req.attr("sortBy").map(str::to_string),
        offset: r.offset,
        limit: r.limit,
        cursor: cursor
            .and_then(|c| c.attr("id"))
            .and_then(|id| id.rsplit(':').next()?.trim().parse::<i32>().ok())
            .map(ItemId),
        cursor_sort_value: cursor.and_then(|c| c.attr("sortVal")).map(str::to_string),
        my_addresses,
        now: r.now,
        include_trash: pref("zimbraPrefIncludeTrashInSearch"),
        include_junk: pref("zimbraPrefIncludeSpamInSearch"),
        group_by_conversation: r.by_conv,
        // Only an items part after the mail needs the mail's full count (its offset).
        count_total: !r.kinds.is_empty(),
    };
    let folders = mb.folders().await.map_err(store_fault)?;
    let scoped = scope::default_scope(parsed, &folders, params.include_trash, params.include_junk);
    wait_for_index(ctx, mb).await;
    let res = search(mb, &ctx.svc.index, &scoped, &params)
        .await
        .map_err(|e| index_trouble(ctx, e))?;
    let wildcards = wildcard_info(mb, &ctx.svc.index, parsed)
        .await
        .map_err(|e| index_trouble(ctx, e))?;
    let fetch = parse_fetch(req.attr("fetch"));

    let mut out = Vec::with_capacity(res.hits.len());
    if r.by_conv {
        for (i, c) in res.convs.iter().enumerate() {
            let mut el = hits::conv_hit(&res, c, &res.hits[i]);
            fragment::add_to_hit(mb, &res.hits[i], &mut el).await;
            out.push(el);
        }
    } else {
        for (i, m) in res.hits.iter().enumerate() {
            let mut el = message_hit(m);
            el.set("sf", res.sort_value(m));
            fragment::add_to_hit(mb, m, &mut el).await;
            hits::add_headers(mb, m, &r.headers, &mut el).await?;
            if fetch.wants(i, &res.hits) {
                hits::expand(mb, m, &mut el).await?;
            }
            out.push(el);
        }
    }
    Ok(Part {
        hits: out,
        more: res.more,
        sort: res.sort.as_str().to_string(),
        total: res.total,
        wildcards,
    })
}

/// The order a response without hits names: the request's, when it is one, else
/// `dateDesc` (Zimbra echoes the order it used, never an unknown name).
fn echoed_sort(req: &Element) -> &'static str {
    req.attr("sortBy")
        .and_then(crate::search::SortBy::parse)
        .unwrap_or_default()
        .as_str()
}

fn parse_ms(v: &str) -> ServiceResult<i64> {
    v.trim()
        .parse()
        .map_err(|_| ServiceError::invalid_request(format!("not a time in ms: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_reported_in_query_info() {
        assert!(query_info(&[]).is_none());
        let info = query_info(&[
            WildcardInfo {
                pattern: "firstname01*".into(),
                expanded: 3,
                all: true,
            },
            WildcardInfo {
                pattern: "a*".into(),
                expanded: 20_000,
                all: false,
            },
        ])
        .expect("info");
        assert_eq!(info.name, "info");
        let w: Vec<&Element> = info.children_named("wildcard").collect();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].attr("str"), Some("firstname01*"));
        assert_eq!(w[0].attr("numExpanded"), Some("3"));
        assert_eq!(w[1].attr("numExpanded"), Some("20000"));
        assert_ne!(w[0].attr("expanded"), w[1].attr("expanded"));
    }

    #[test]
    fn fetch_and_types_are_read() {
        assert_eq!(parse_fetch(Some("1")), Fetch::First);
        assert_eq!(parse_fetch(Some("all")), Fetch::All);
        assert_eq!(parse_fetch(Some("u1")), Fetch::Unread { or_first: true });
        assert_eq!(parse_fetch(Some("257")), Fetch::Item(ItemId(257)));
        assert_eq!(parse_fetch(None), Fetch::None);
        assert_eq!(parse_types("message"), (true, false, vec![]));
        assert_eq!(parse_types("conversation"), (true, true, vec![]));
        assert_eq!(
            parse_types("appointment,task"),
            (false, false, vec![ItemKind::Appointment, ItemKind::Task])
        );
    }
}
