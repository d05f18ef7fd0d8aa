//! urn:zimbraMail SearchConvRequest: a search scoped to one conversation. Every message
//! of the conversation is listed, in the request's date order and cut to its
//! `offset`/`limit`; those matching the query are hits (with their sort value `sf`),
//! the others are listed plainly, as Zimbra's "misses". `fetch=` expands messages as
//! GetMsg shows them (`html=` prefers the HTML body, `max=` cuts it), `read="1"` marks
//! the expanded ones read first, and `nest="1"` puts the messages inside a `c` element
//! for the conversation.

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult};
use zcs_index::query::{self, Query};
use zcs_store::{Mailbox, MessageMeta, StoreError};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::mail::{BodyOptions, message_element_with};
use super::super::response;
use super::{DEFAULT_LIMIT, Fetch, MAX_LIMIT, fragment, hits, message_hit, scope};
use crate::search::{SearchParams, search};

/// `fetch=` read as Zimbra's `ExpandResults.valueOf` reads it: a known word, `0`/`1`,
/// or an item id; anything else (an empty or blank value, `1.0`, words) is refused.
fn parse_fetch_strict(v: Option<&str>) -> ServiceResult<Fetch> {
    let Some(raw) = v else {
        return Ok(Fetch::None);
    };
    let t = raw.trim().to_ascii_lowercase();
    let f = match t.as_str() {
        "0" | "none" | "false" => Fetch::None,
        "1" | "first" | "true" => Fetch::First,
        "all" | "hits" | "!" => Fetch::All,
        "u" | "unread" => Fetch::Unread { or_first: false },
        "u1" | "unread-first" | "u!" => Fetch::Unread { or_first: true },
        other => match other.rsplit(':').next().map(str::parse::<i32>) {
            Some(Ok(id)) if !other.is_empty() => Fetch::Item(ItemId(id)),
            _ => {
                return Err(ServiceError::invalid_request(format!(
                    "invalid fetch value: {raw}"
                )));
            }
        },
    };
    Ok(f)
}

/// A boolean attribute read exactly as Zimbra's `getAttributeBool` reads it: `1`,
/// `true`, `0`, `false` (any case), nothing else, not even with spaces around.
fn strict_bool(req: &Element, name: &str) -> ServiceResult<bool> {
    match req.attr(name) {
        None => Ok(false),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ServiceError::invalid_request(format!(
            "invalid boolean value for {name}: {v}"
        ))),
    }
}

/// The conversation id `cid=` names: `n`, `-n` (a message alone) or
/// `ownAccountId:n`.
fn parse_cid(text: &str, me: &str) -> ServiceResult<ItemId> {
    let t = text.trim();
    let (acct, local) = t.rsplit_once(':').unwrap_or((me, t));
    let n = local
        .trim()
        .parse::<i32>()
        .map_err(|_| ServiceError::invalid_request(format!("invalid conversation id: {t}")))?;
    // LIMITATION: a conversation of another mailbox (a mountpoint's) is not searched;
    // it is reported as not found.
    if n == 0 || !acct.eq_ignore_ascii_case(me) {
        return Err(no_such_conv(t));
    }
    Ok(ItemId(n))
}

fn no_such_conv(id: &str) -> ServiceError {
    ServiceError::new(FaultCode::NoSuchConv, format!("no such conversation: {id}"))
}

/// Whether the sort order asks for the oldest message first (`dateAsc`); any other
/// order lists the conversation newest first, as Zimbra's `getMessagesByConversation`.
fn oldest_first(sort: &str) -> bool {
    sort.eq_ignore_ascii_case("dateAsc")
}

/// Which listed messages are expanded: hits as SearchRequest expands them (`First` is
/// the first hit, `u1` the unread ones or else the first hit), misses only when
/// `fetch` names them (all, unread, or by id).
fn expanded(fetch: Fetch, listed: &[(MessageMeta, bool)]) -> Vec<bool> {
    let unread = |m: &MessageMeta| m.flags.contains(Flags::UNREAD);
    let first_hit = listed.iter().position(|(_, hit)| *hit);
    let any_unread = listed.iter().any(|(m, _)| unread(m));
    listed
        .iter()
        .enumerate()
        .map(|(i, (m, hit))| match fetch {
            Fetch::None => false,
            Fetch::All => true,
            Fetch::First => *hit && Some(i) == first_hit,
            Fetch::Unread { or_first } => {
                unread(m) || (or_first && !any_unread && Some(i) == first_hit)
            }
            Fetch::Item(id) => m.id == id,
        })
        .collect()
}

/// SearchConvRequest `cid= [query] [sortBy] [offset] [limit] [fetch] [read] [html]
/// [max] [nest] (header n=)*`.
pub(super) async fn search_conv(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let mb = ctx.mailbox().await?;
    let account = ctx.target_account().await?;
    let cid = parse_cid(req.req("cid")?, &account.id.to_string())?;
    let fetch = parse_fetch_strict(req.attr("fetch"))?;
    let mark_read = strict_bool(req, "read")?;
    let body = BodyOptions {
        html: strict_bool(req, "html")?,
        max: match req.int_attr("max", 0)? {
            n if n > 0 => Some(n as usize),
            _ => None,
        },
    };
    let nest = strict_bool(req, "nest")?;
    let limit = match req.int_attr("limit", DEFAULT_LIMIT)? {
        n if n <= 0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    } as usize;
    let offset = req.int_attr("offset", 0)?.max(0) as usize;
    let headers: Vec<String> = req
        .children_named("header")
        .filter_map(|h| h.attr("n"))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();

    let conv_fault = |e: StoreError| match e {
        StoreError::NoSuchItem(_) | StoreError::NoSuchMessage(_) => {
            no_such_conv(&cid.0.to_string())
        }
        other => store_fault(other),
    };
    let mut msgs = mb.conversation_messages(cid).await.map_err(conv_fault)?;
    let sort_name = req.attr("sortBy").unwrap_or("dateDesc").trim().to_string();
    msgs.sort_by_key(|m| (m.internal_date_ms, m.id.0));
    if !oldest_first(&sort_name) {
        msgs.reverse();
    }

    // The query's matches among the conversation's messages: `conv:cid (query)`, in
    // the default scope (Trash and Junk only when the query names them).
    let now = super::search_now(ctx, &account, req).await?;
    let text = req.attr("query").unwrap_or("").trim().to_string();
    let parsed = if text.is_empty() {
        Query::In("inbox".into())
    } else {
        query::parse(&text).map_err(crate::search::SearchError::Parse)?
    };
    let parsed = query::resolve_dates(&parsed, &now);
    let scoped_query = Query::And(vec![Query::Conv(cid.0), parsed]);
    let pref = |name: &str| {
        account
            .attrs
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    let mut my_addresses = vec![account.name.clone()];
    my_addresses.extend(account.attrs.get_all("zimbraMailAlias").iter().cloned());
    let params = SearchParams {
        sort: Some(sort_name.clone()),
        offset: 0,
        limit: msgs.len().max(1),
        cursor: None,
        cursor_sort_value: None,
        my_addresses,
        now,
        include_trash: pref("zimbraPrefIncludeTrashInSearch"),
        include_junk: pref("zimbraPrefIncludeSpamInSearch"),
        group_by_conversation: false,
        count_total: true,
    };
    let folders = mb.folders().await.map_err(store_fault)?;
    let scoped = scope::default_scope(
        &scoped_query,
        &folders,
        params.include_trash,
        params.include_junk,
    );
    super::wait_for_index(ctx, &mb).await;
    let res = search(&mb, &ctx.svc.index, &scoped, &params).await?;

    let more = offset + limit < msgs.len();
    let listed: Vec<(MessageMeta, bool)> = msgs
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|m| {
            let hit = res.hits.iter().any(|h| h.id == m.id);
            (m, hit)
        })
        .collect();
    let expand = expanded(fetch, &listed);

    let mut resp = response("SearchConvResponse", NS_MAIL);
    resp.set("sortBy", res.sort.as_str());
    resp.set_num("offset", offset);
    resp.set_bool("more", more);
    let mut elements = Vec::with_capacity(listed.len());
    for ((m, hit), wide) in listed.iter().zip(expand) {
        elements.push(listed_element(&mb, m, *hit, wide, mark_read, &body, &headers, &res).await?);
    }
    if nest {
        let conv = mb.conversation(cid).await.map_err(conv_fault)?;
        let mut c = super::super::conv::conv_element(&conv);
        for el in elements {
            c.add(el);
        }
        resp.add(c);
    } else {
        for el in elements {
            resp.add(el);
        }
    }
    ctx.note_change(&mb).await;
    Ok(resp)
}

/// One listed message: expanded as GetMsg shows it (marked read first when `mark_read`
/// and it is unread), else as a search hit with its fragment; hits carry `sf`.
#[allow(clippy::too_many_arguments)]
async fn listed_element(
    mb: &Mailbox,
    m: &MessageMeta,
    hit: bool,
    expand: bool,
    mark_read: bool,
    body: &BodyOptions,
    headers: &[String],
    res: &crate::search::SearchResults,
) -> ServiceResult<Element> {
    let mut el = if expand {
        if mark_read && m.flags.contains(Flags::UNREAD) {
            mb.set_flags(&[m.id], Flags::UNREAD, false)
                .await
                .map_err(store_fault)?;
        }
        message_element_with(mb, m.id, false, headers, body).await?
    } else {
        let mut el = message_hit(m);
        fragment::add_to_hit(mb, m, &mut el).await;
        hits::add_headers(mb, m, headers, &mut el).await?;
        el
    };
    if hit {
        el.set("sf", res.sort_value(m));
    }
    Ok(el)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_is_read_strictly() {
        assert_eq!(parse_fetch_strict(None).ok(), Some(Fetch::None));
        assert_eq!(parse_fetch_strict(Some(" 1")).ok(), Some(Fetch::First));
        assert_eq!(parse_fetch_strict(Some("1 ")).ok(), Some(Fetch::First));
        assert_eq!(
            parse_fetch_strict(Some("-12345")).ok(),
            Some(Fetch::Item(ItemId(-12345)))
        );
        assert_eq!(
            parse_fetch_strict(Some("u1")).ok(),
            Some(Fetch::Unread { or_first: true })
        );
        for bad in ["", "   ", "1.0", "some text", "//\\\\:''*^%!#"] {
            assert!(parse_fetch_strict(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn read_is_a_strict_boolean() {
        let mut el = Element::new("SearchConvRequest");
        assert!(!strict_bool(&el, "read").unwrap());
        for (v, want) in [("1", Some(true)), ("TRUE", Some(true)), ("0", Some(false))] {
            el.set("read", v);
            assert_eq!(strict_bool(&el, "read").ok(), want);
        }
        for bad in ["", " 1", "1 ", "8", "1.0", "-12345"] {
            el.set("read", bad);
            assert!(strict_bool(&el, "read").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn conversation_ids() {
        assert_eq!(parse_cid("257", "me").ok(), Some(ItemId(257)));
        assert_eq!(parse_cid("-260", "me").ok(), Some(ItemId(-260)));
        assert_eq!(parse_cid("ME:300", "me").ok(), Some(ItemId(300)));
        assert!(parse_cid("other:300", "me").is_err());
        assert!(parse_cid("0", "me").is_err());
        let code = |t: &str| parse_cid(t, "me").err().map(|e| e.code);
        assert_eq!(code("x"), Some(FaultCode::InvalidRequest));
        assert_eq!(code("other:300"), Some(FaultCode::NoSuchConv));
    }

    fn meta(id: i32, unread: bool) -> MessageMeta {
        MessageMeta {
            id: ItemId(id),
            folder: ItemId(2),
            imap_uid: id as u32,
            flags: Flags(if unread { Flags::UNREAD } else { 0 }),
            tags: Vec::new(),
            internal_date_ms: 0,
            size: 0,
            modseq: 1,
            blob_digest: String::new(),
            subject: String::new(),
            sender: String::new(),
            recipients: String::new(),
            message_id: None,
            conv: ItemId(300),
        }
    }

    #[test]
    fn expansion_follows_fetch() {
        let listed = vec![(meta(2, false), true), (meta(1, true), true)];
        assert_eq!(expanded(Fetch::First, &listed), [true, false]);
        assert_eq!(expanded(Fetch::None, &listed), [false, false]);
        assert_eq!(
            expanded(Fetch::Unread { or_first: true }, &listed),
            [false, true]
        );
        let read = vec![(meta(2, false), false), (meta(1, false), true)];
        assert_eq!(
            expanded(Fetch::Unread { or_first: true }, &read),
            [false, true]
        );
        assert_eq!(
            expanded(Fetch::Unread { or_first: false }, &read),
            [false, false]
        );
        assert_eq!(expanded(Fetch::Item(ItemId(2)), &read), [true, false]);
        assert_eq!(expanded(Fetch::All, &read), [true, true]);
    }
}
