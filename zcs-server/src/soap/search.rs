//! urn:zimbraMail SearchRequest. Mail (`types=message`, `conversation`) is searched by
//! [`crate::search::search`], contacts, appointments and tasks (`types=contact`,
//! `appointment`, `task`) by [`crate::search::search_items`]; this module reads the
//! request (query, sortBy, offset/limit, `cursor`, `fetch`, `calExpandInstStart`/
//! `calExpandInstEnd`) and shapes the hits as Zimbra does: `m` elements for messages,
//! `c` elements (with the matching messages inside) for conversations, `cn`, `appt` and
//! `task` for the rest, each with its sort value in `sf`. Only the target account's
//! mailbox is searched.
//!
//! Dates resolve in the request's `<tz id= [stdoff=]>` zone, else the account's
//! `zimbraPrefTimeZoneId`, else UTC ([`crate::search::zone`]): `date:-1day`, `day:`,
//! `today` are the user's days.

use mail_parser::MessageParser;
use zcs_core::{ItemId, ServiceError, ServiceResult};
use zcs_index::query::{self, Query};
use zcs_store::{Mailbox, MessageMeta};

use super::contacts::contact_element;
use super::context::{Ctx, store_fault};
use super::element::{AttrKind, Element};
use super::envelope::NS_MAIL;
use super::response;
use crate::search::{
    ConvHit, ItemHit, ItemKind, ItemParams, SearchParams, SearchResults, search, search_items, zone,
};

/// Most hits one page may hold (Zimbra's cap).
const MAX_LIMIT: i64 = 1000;
/// Hits per page when the request names no limit (Zimbra's default).
const DEFAULT_LIMIT: i64 = 10;

pub(crate) mod fragment;

/// Routes SearchRequest; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if name != "SearchRequest" {
        return None;
    }
    Some(search_request(ctx, req).await)
}

/// Splits `Name <addr>` into (address, personal name).
pub(crate) fn split_sender(s: &str) -> (String, Option<String>) {
    match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => {
            let name = s[..a].trim().trim_matches('"').to_string();
            (
                s[a + 1..b].trim().to_string(),
                (!name.is_empty()).then_some(name),
            )
        }
        _ => (s.trim().to_string(), None),
    }
}

/// A message hit: `<m id l f tn s d cid><e t="f"/><su/></m>`. Its fragment (`fr`) needs
/// the blob: callers add it with [`fragment::add_to_hit`].
pub(crate) fn message_hit(m: &MessageMeta) -> Element {
    let mut el = Element::new("m");
    el.set("id", m.id.0.to_string());
    el.set("l", m.folder.0.to_string());
    el.set("cid", m.conv.0.to_string());
    let flags = m.flags.to_soap();
    if !flags.is_empty() {
        el.set("f", flags);
    }
    if !m.tags.is_empty() {
        el.set("tn", m.tags.join(","));
    }
    el.set_num("s", m.size);
    el.set_num("d", m.internal_date_ms);
    el.set_num("rev", m.modseq);
    el.set_num("ms", m.modseq);
    if !m.sender.is_empty() {
        let (addr, name) = split_sender(&m.sender);
        let e = el.add_new("e");
        e.set("t", "f").set("a", addr.clone());
        e.set(
            "d",
            name.clone()
                .unwrap_or_else(|| addr.split('@').next().unwrap_or("").to_string()),
        );
        if let Some(n) = name {
            e.set("p", n);
        }
    }
    el.set_content("su", m.subject.clone(), AttrKind::Str);
    el
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
    let attrs = ctx.svc.prov.effective_account_attrs(account).await?;
    Ok(zone::now_in_zone(attrs.get("zimbraPrefTimeZoneId"), at))
}

/// Longest a search waits for the indexer to reach the mailbox's newest messages.
const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits, at most [`INDEX_WAIT`], until every message of `mb` is indexed, as Zimbra
/// indexes a mailbox's deferred items before it searches: a message delivered or sent
/// just before the search is then found by its words. After the wait the search runs
/// on what is indexed (a mailbox being imported wholesale is not held up longer).
async fn wait_for_index(ctx: &Ctx<'_>, mb: &Mailbox) {
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

async fn search_request(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let mb = ctx.mailbox().await?;
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

    let parsed = if text.is_empty() {
        Query::In("inbox".into())
    } else {
        query::parse(&text).map_err(crate::search::SearchError::Parse)?
    };

    if !mail && !kinds.is_empty() {
        let window = match (req.attr("calExpandInstStart"), req.attr("calExpandInstEnd")) {
            (Some(s), Some(e)) => Some((parse_ms(s)?, parse_ms(e)?)),
            _ => None,
        };
        let params = ItemParams {
            kinds,
            sort: req.attr("sortBy").map(str::to_string),
            offset,
            limit,
            window,
            now,
        };
        // An empty query over items means every item, not the Inbox.
        let q = if text.is_empty() {
            Query::Item(zcs_index::query::ItemSet::All)
        } else {
            parsed
        };
        let r = search_items(&mb, &q, &params).await?;
        let mut resp = response("SearchResponse", NS_MAIL);
        resp.set("sortBy", r.sort.clone());
        resp.set_num("offset", offset);
        resp.set_bool("more", r.more);
        for h in &r.hits {
            resp.add(item_element(h));
        }
        ctx.note_change(&mb).await;
        return Ok(resp);
    }
    if !mail {
        // LIMITATION: documents, wiki pages and other types are not searched.
        let mut resp = response("SearchResponse", NS_MAIL);
        resp.set("sortBy", req.attr("sortBy").unwrap_or("dateDesc"));
        resp.set_num("offset", 0).set_bool("more", false);
        return Ok(resp);
    }

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
        offset,
        limit,
        cursor: cursor
            .and_then(|c| c.attr("id"))
            .and_then(|id| id.rsplit(':').next()?.trim().parse::<i32>().ok())
            .map(ItemId),
        cursor_sort_value: cursor.and_then(|c| c.attr("sortVal")).map(str::to_string),
        my_addresses,
        now,
        include_trash: pref("zimbraPrefIncludeTrashInSearch"),
        include_junk: pref("zimbraPrefIncludeSpamInSearch"),
        group_by_conversation: by_conv,
    };
    wait_for_index(ctx, &mb).await;
    let r = search(&mb, &ctx.svc.index, &parsed, &params).await?;
    let fetch = parse_fetch(req.attr("fetch"));

    let mut resp = response("SearchResponse", NS_MAIL);
    resp.set("sortBy", r.sort.as_str());
    resp.set_num("offset", r.offset);
    resp.set_bool("more", r.more);
    if by_conv {
        for (i, c) in r.convs.iter().enumerate() {
            let mut el = conv_hit(&r, c, &r.hits[i]);
            fragment::add_to_hit(&mb, &r.hits[i], &mut el).await;
            resp.add(el);
        }
    } else {
        for (i, m) in r.hits.iter().enumerate() {
            let mut el = message_hit(m);
            el.set("sf", r.sort_value(m));
            fragment::add_to_hit(&mb, m, &mut el).await;
            if fetch.wants(i, &r.hits) {
                expand(&mb, m, &mut el).await?;
            }
            resp.add(el);
        }
    }
    ctx.note_change(&mb).await;
    Ok(resp)
}

fn parse_ms(v: &str) -> ServiceResult<i64> {
    v.trim()
        .parse()
        .map_err(|_| ServiceError::invalid_request(format!("not a time in ms: {v}")))
}

/// A conversation hit: `<c id n u f tn d sf><m id l f s d sf/>...<e/><su/></c>`; the
/// fragment of its first message is added by the caller.
fn conv_hit(r: &SearchResults, c: &ConvHit, first: &MessageMeta) -> Element {
    let mut el = Element::new("c");
    el.set("id", c.id.0.to_string());
    el.set_num("n", c.messages);
    el.set_num("u", c.unread);
    let flags = c.flags.to_soap();
    if !flags.is_empty() {
        el.set("f", flags);
    }
    if !c.tags.is_empty() {
        el.set("tn", c.tags.join(","));
    }
    el.set_num("d", c.date_ms);
    el.set("sf", r.sort_value(first));
    for m in &c.matched {
        let mut inner = Element::new("m");
        inner.set("id", m.id.0.to_string());
        inner.set("l", m.folder.0.to_string());
        let f = m.flags.to_soap();
        if !f.is_empty() {
            inner.set("f", f);
        }
        inner.set_num("s", m.size);
        inner.set_num("d", m.internal_date_ms);
        inner.set("sf", r.sort_value(m));
        el.add(inner);
    }
    if !first.sender.is_empty() {
        let (addr, name) = split_sender(&first.sender);
        let e = el.add_new("e");
        e.set("t", "f").set("a", addr.clone());
        e.set(
            "d",
            name.clone()
                .unwrap_or_else(|| addr.split('@').next().unwrap_or("").to_string()),
        );
        if let Some(n) = name {
            e.set("p", n);
        }
    }
    el.set_content("su", first.subject.clone(), AttrKind::Str);
    el
}

/// Adds what `fetch=` asks for to a message hit: its To/Cc addresses, Message-ID and
/// its `mp` tree as GetMsg shows it (the body part with `body="1"` and `content`).
async fn expand(mb: &Mailbox, m: &MessageMeta, el: &mut Element) -> ServiceResult<()> {
    let raw = mb.read_message(m.id).await.map_err(store_fault)?;
    let Some(p) = MessageParser::default().parse(&raw) else {
        return Ok(());
    };
    if let Some(mid) = p.message_id() {
        el.set_content("mid", format!("<{mid}>"), AttrKind::Str);
    }
    for (t, list) in [("t", p.to()), ("c", p.cc())] {
        for a in list.into_iter().flat_map(|l| l.iter()) {
            let e = el.add_new("e");
            e.set("t", t);
            if let Some(addr) = a.address() {
                e.set("a", addr.to_string());
            }
            if let Some(n) = a.name() {
                e.set("p", n.to_string());
            }
        }
    }
    super::mail::add_mime_parts(&raw, el);
    Ok(())
}

/// A contact (`cn`), appointment (`appt`) or task (`task`) hit.
fn item_element(h: &ItemHit) -> Element {
    match h {
        ItemHit::Contact(c) => {
            let mut el = contact_element(c, None, true);
            el.set("sf", c.id.0.to_string());
            el
        }
        ItemHit::Cal(c, inst) => {
            let name = if c.kind == zcs_core::ItemKind::Task {
                "task"
            } else {
                "appt"
            };
            let mut el = Element::new(name);
            el.set("id", c.id.0.to_string());
            el.set("l", c.folder.0.to_string());
            let f = c.flags.to_soap();
            if !f.is_empty() {
                el.set("f", f);
            }
            el.set("uid", c.uid.clone());
            el.set("name", c.summary.clone());
            if let Some(s) = c.start_ms {
                el.set_num("d", s);
                if let Some(e) = c.end_ms.filter(|_| !c.recurring) {
                    el.set_num("dur", e.saturating_sub(s));
                }
            }
            if c.recurring {
                el.set("recur", "1");
            }
            el.set_num("rev", c.modseq).set_num("ms", c.modseq);
            if !c.organizer.is_empty() {
                el.add_new("or").set("a", c.organizer.clone());
            }
            for (s, e) in inst {
                el.add_new("inst").set_num("s", *s).set_num("dur", e - s);
            }
            el
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_split() {
        assert_eq!(
            split_sender("\"Bob B\" <bob@x.test>"),
            ("bob@x.test".to_string(), Some("Bob B".to_string()))
        );
        assert_eq!(split_sender("bob@x.test"), ("bob@x.test".to_string(), None));
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
