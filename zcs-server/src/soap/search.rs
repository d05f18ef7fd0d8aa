//! urn:zimbraMail SearchRequest for `types=message` (and `conversation`, answered with
//! one hit per message's conversation): the query in Zimbra's grammar is parsed and
//! planned by zcs-index; index parts go to the full-text index, the rest is checked
//! here against each message's metadata. Only the caller's mailbox is searched.

use std::collections::{HashMap, HashSet};

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_index::query::{self, Comparison, IsFlag, ItemSet, Plan, Query};
use zcs_store::{Folder, MessageMeta};

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::response;

/// Most hits one page may hold (Zimbra's cap).
const MAX_LIMIT: i64 = 1000;
/// Most index hits considered per index part.
const INDEX_LIMIT: usize = 100_000;

/// Routes SearchRequest; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if name != "SearchRequest" {
        return None;
    }
    Some(search(ctx, req).await)
}

fn cmp<T: PartialOrd>(op: Comparison, a: T, b: T) -> bool {
    match op {
        Comparison::Lt => a < b,
        Comparison::Le => a <= b,
        Comparison::Gt => a > b,
        Comparison::Ge => a >= b,
        _ => a == b,
    }
}

/// The folder ids a folder reference names (`in:inbox`, `in:/a/b`), with descendants
/// when `under`.
fn resolve_folders(name: &str, folders: &[Folder], under: bool, by_id: bool) -> HashSet<i32> {
    let mut roots = HashSet::new();
    if by_id {
        if let Ok(id) = name.split('/').next().unwrap_or("").parse::<i32>() {
            roots.insert(id);
        }
    } else if let Some(id) = query::system_folder_id(name) {
        roots.insert(id);
    } else {
        let path = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/{name}")
        };
        for f in folders {
            if f.path.eq_ignore_ascii_case(&path) {
                roots.insert(f.id.0);
            }
        }
    }
    if under {
        let mut grew = true;
        while grew {
            grew = false;
            for f in folders {
                if roots.contains(&f.parent.0) && roots.insert(f.id.0) {
                    grew = true;
                }
            }
        }
    }
    roots
}

/// The bit of a flag named in `tag:\\Name`.
fn flag_bit(name: &str) -> Option<u32> {
    Some(match name.to_ascii_lowercase().as_str() {
        "flagged" => Flags::FLAGGED,
        "unread" => Flags::UNREAD,
        "answered" => Flags::ANSWERED,
        "forwarded" => Flags::FORWARDED,
        "draft" => Flags::DRAFT,
        "sent" => Flags::SENT,
        _ => return None,
    })
}

/// Whether `m` satisfies one structured leaf.
// LIMITATION: is:tome/fromme and the other address states, priority:, has: objects,
// text ranges and conv-count are not evaluated here; they match nothing.
fn state(q: &Query, m: &MessageMeta, folders: &[Folder]) -> bool {
    let f = m.flags;
    match q {
        Query::In(n) => resolve_folders(n, folders, false, false).contains(&m.folder.0),
        Query::Under(n) => resolve_folders(n, folders, true, false).contains(&m.folder.0),
        Query::InId(n) => resolve_folders(n, folders, false, true).contains(&m.folder.0),
        Query::UnderId(n) => resolve_folders(n, folders, true, true).contains(&m.folder.0),
        Query::Is(flag) => match flag {
            IsFlag::Anywhere | IsFlag::Local => true,
            IsFlag::Unread => f.contains(Flags::UNREAD),
            IsFlag::Read => !f.contains(Flags::UNREAD),
            IsFlag::Flagged => f.contains(Flags::FLAGGED),
            IsFlag::Unflagged => !f.contains(Flags::FLAGGED),
            IsFlag::Draft => f.contains(Flags::DRAFT),
            IsFlag::Sent => f.contains(Flags::SENT),
            IsFlag::Received => !f.contains(Flags::SENT),
            IsFlag::Replied => f.contains(Flags::ANSWERED),
            IsFlag::Unreplied => !f.contains(Flags::ANSWERED),
            IsFlag::Forwarded => f.contains(Flags::FORWARDED),
            IsFlag::Unforwarded => !f.contains(Flags::FORWARDED),
            IsFlag::Solo => m.conv.0 < 0,
            _ => false,
        },
        Query::Tag(name) => match name.strip_prefix('\\') {
            Some(flag) => flag_bit(flag).is_some_and(|bit| f.contains(bit)),
            None => m.tags.iter().any(|t| t.eq_ignore_ascii_case(name)),
        },
        Query::Date { op, value, .. } => {
            let now = chrono::Utc::now().fixed_offset();
            value
                .bounds(*op, now)
                .is_some_and(|b| b.contains(m.internal_date_ms))
        }
        Query::Size { op, bytes } => cmp(*op, m.size, *bytes),
        Query::Item(set) => match set {
            ItemSet::All => true,
            ItemSet::None => false,
            ItemSet::Ids(ids) => ids.contains(&m.id),
            ItemSet::Range { from, to } => m.id >= *from && m.id <= *to,
        },
        Query::Message(id) => m.id == *id,
        Query::Conv(c) => m.conv.0 == *c,
        Query::Modseq { op, value } => cmp(*op, m.modseq, *value),
        _ => false,
    }
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

/// A message hit: `<m id l f tn s d cid><e t="f"/><su/><fr/></m>`.
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
    el.add_text("su", m.subject.clone());
    el.add_text("fr", m.subject.clone());
    el
}

fn sort_key(sort: &str) -> (&'static str, bool) {
    let s = sort.to_ascii_lowercase();
    let asc = s.ends_with("asc");
    let field = if s.starts_with("subj") {
        "subj"
    } else if s.starts_with("name") {
        "name"
    } else if s.starts_with("size") {
        "size"
    } else if s.starts_with("id") {
        "id"
    } else {
        "date"
    };
    (field, asc)
}

async fn search(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let mb = ctx.mailbox().await?;
    let text = req.attr("query").unwrap_or("").trim().to_string();
    let types = req
        .attr("types")
        .unwrap_or("conversation")
        .to_ascii_lowercase();
    if !types
        .split(',')
        .any(|t| matches!(t.trim(), "message" | "conversation"))
    {
        // LIMITATION: contacts, appointments, tasks and documents are not searched.
        let mut resp = response("SearchResponse", NS_MAIL);
        resp.set("sortBy", req.attr("sortBy").unwrap_or("dateDesc"));
        resp.set_num("offset", 0).set_bool("more", false);
        return Ok(resp);
    }
    let conversations = !types.contains("message");
    let limit = req.int_attr("limit", 10)?.clamp(1, MAX_LIMIT) as usize;
    let offset = req.int_attr("offset", 0)?.max(0) as usize;

    let parsed = if text.is_empty() {
        Query::In("inbox".into())
    } else {
        query::parse(&text)
            .map_err(|e| ServiceError::new(FaultCode::QueryParseError, e.to_string()))?
    };
    let sort_by = parsed
        .sort()
        .map(str::to_string)
        .or_else(|| req.attr("sortBy").map(str::to_string))
        .unwrap_or_else(|| "dateDesc".into());
    let plan = query::plan(&parsed);

    // Index parts: one search each, run off the async threads.
    let mut index_hits: HashMap<String, HashSet<ItemId>> = HashMap::new();
    for q in plan.index_queries() {
        let key = format!("{q:?}");
        if index_hits.contains_key(&key) {
            continue;
        }
        let (index, mailbox, q2) = (ctx.svc.index.clone(), mb.id(), q.clone());
        let ids = tokio::task::spawn_blocking(move || index.search(mailbox, &q2, INDEX_LIMIT))
            .await
            .map_err(|e| ServiceError::failure(format!("search task: {e}")))?
            .map_err(|e| {
                tracing::warn!(error = %e, "index search failed");
                ServiceError::failure("search failed")
            })?;
        index_hits.insert(key, ids.into_iter().collect());
    }

    let folders = mb.folders().await.map_err(store_fault)?;
    let mut matched = Vec::new();
    for f in &folders {
        if f.id.0 == folder::ROOT {
            continue;
        }
        for m in mb.messages(f.id).await.map_err(store_fault)? {
            // Trash and Junk are searched only when the query names them (Zimbra's
            // default excludes them).
            if matches!(plan, Plan::All) && matches!(m.folder.0, folder::TRASH | folder::JUNK) {
                continue;
            }
            let ok = plan.matches(
                &mut |q| {
                    index_hits
                        .get(&format!("{q:?}"))
                        .is_some_and(|s| s.contains(&m.id))
                },
                &mut |q| state(q, &m, &folders),
            );
            if ok {
                matched.push(m);
            }
        }
    }

    let (field, asc) = sort_key(&sort_by);
    matched.sort_by(|a, b| {
        let o = match field {
            "subj" => a.subject.to_lowercase().cmp(&b.subject.to_lowercase()),
            "name" => a.sender.to_lowercase().cmp(&b.sender.to_lowercase()),
            "size" => a.size.cmp(&b.size),
            "id" => a.id.cmp(&b.id),
            _ => a.internal_date_ms.cmp(&b.internal_date_ms),
        }
        .then(a.id.cmp(&b.id));
        if asc { o } else { o.reverse() }
    });
    if conversations {
        // LIMITATION: conversation hits are the newest message of each conversation in
        // the `m` shape inside a `c` element, without the conversation's own counts.
        let mut seen = HashSet::new();
        matched.retain(|m| seen.insert(m.conv.0));
    }

    let total = matched.len();
    let mut resp = response("SearchResponse", NS_MAIL);
    resp.set("sortBy", sort_by.clone());
    resp.set_num("offset", offset);
    resp.set_bool("more", offset + limit < total);
    for m in matched.iter().skip(offset).take(limit) {
        if conversations {
            let mut c = Element::new("c");
            c.set("id", m.conv.0.to_string());
            c.set_num("n", 1).set_num("d", m.internal_date_ms);
            let flags = m.flags.to_soap();
            if !flags.is_empty() {
                c.set("f", flags);
            }
            c.add_text("su", m.subject.clone());
            c.add_text("fr", m.subject.clone());
            let mut inner = Element::new("m");
            inner.set("id", m.id.0.to_string());
            inner.set("l", m.folder.0.to_string());
            c.add(inner);
            resp.add(c);
        } else {
            resp.add(message_hit(m));
        }
    }
    ctx.note_change(&mb).await;
    Ok(resp)
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
        assert_eq!(sort_key("subjAsc"), ("subj", true));
        assert_eq!(sort_key("dateDesc"), ("date", false));
    }
}
