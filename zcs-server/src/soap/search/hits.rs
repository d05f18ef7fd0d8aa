//! The shapes of SearchRequest hits, as Zimbra writes them: `m` for a message, `c` for a
//! conversation (with its matching messages inside), `cn` for a contact, `appt`/`task`
//! for calendar items; a message expanded by `fetch=` with its addresses and MIME
//! parts; the `header` elements a request asks for with `<header n=>`.

use mail_parser::MessageParser;
use zcs_core::ServiceResult;
use zcs_index::query::Priority;
use zcs_store::{Mailbox, MessageMeta};

use super::super::context::store_fault;
use super::super::element::{AttrKind, Element};
use crate::search::{ConvHit, ItemHit, SearchResults};

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

/// A conversation hit: `<c id n u f tn d sf><m id l f s d sf/>...<e/><su/></c>`; the
/// fragment of its first message is added by the caller.
pub(super) fn conv_hit(r: &SearchResults, c: &ConvHit, first: &MessageMeta) -> Element {
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
    if c.senders.is_empty() {
        add_senders(&mut el, std::iter::once(first.sender.as_str()));
    } else {
        add_senders(&mut el, c.senders.iter().map(String::as_str));
    }
    el.set_content("su", first.subject.clone(), AttrKind::Str);
    el
}

/// Most senders a conversation lists: its first and its latest ones, as Zimbra's
/// sender list keeps them.
const MAX_SENDERS: usize = 4;

/// Adds a conversation's participants as `e t="f"` elements: each distinct sender of
/// `senders` (oldest first; `Name <addr>` or a bare address), the first one and the
/// latest when there are more than [`MAX_SENDERS`]. Empty senders are skipped.
pub(crate) fn add_senders<'a>(el: &mut Element, senders: impl Iterator<Item = &'a str>) {
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<(String, Option<String>)> = senders
        .filter(|s| !s.trim().is_empty())
        .map(split_sender)
        .filter(|(addr, _)| !addr.is_empty() && seen.insert(addr.to_lowercase()))
        .collect();
    let shown: Vec<&(String, Option<String>)> = if distinct.len() > MAX_SENDERS {
        let latest = &distinct[distinct.len() - (MAX_SENDERS - 1)..];
        std::iter::once(&distinct[0]).chain(latest).collect()
    } else {
        distinct.iter().collect()
    };
    for (addr, name) in shown {
        let e = el.add_new("e");
        e.set("t", "f").set("a", addr.clone());
        e.set(
            "d",
            name.clone()
                .unwrap_or_else(|| addr.split('@').next().unwrap_or("").to_string()),
        );
        if let Some(n) = name {
            e.set("p", n.clone());
        }
    }
}

/// Adds what `fetch=` asks for to a message hit: its To/Cc addresses, Message-ID and
/// its `mp` tree as GetMsg shows it (the body part with `body="1"` and `content`).
pub(super) async fn expand(mb: &Mailbox, m: &MessageMeta, el: &mut Element) -> ServiceResult<()> {
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
    super::super::mail::add_mime_parts(&raw, el);
    Ok(())
}

/// A contact (`cn`), appointment (`appt`) or task (`task`) hit.
pub(super) fn item_element(h: &ItemHit, labels: &super::super::contacts::TagLabels) -> Element {
    match h {
        ItemHit::Contact(c) => {
            let mut el = super::super::contacts::contact_element(c, None, true);
            labels.label(&mut el, c.id);
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
            // The invite's id, as CreateAppointment/CreateTask answered it.
            el.set("invId", format!("{}-{}", c.id.0, c.id.0));
            el.set("l", c.folder.0.to_string());
            // Zimbra flags a high- or low-priority calendar item `!` or `?`, and one
            // with a file `a` (after `s`, in flag order).
            let mut f = c.flags.to_soap();
            if crate::search::cal_has_attachment(c) && !f.contains('a') {
                f.insert(usize::from(f.starts_with('s')), 'a');
            }
            match crate::search::cal_priority(c) {
                Priority::High if !f.contains('!') => f.push('!'),
                Priority::Low if !f.contains('?') => f.push('?'),
                _ => {}
            }
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

/// Adds `<header n=>value</header>` to a message hit for each header `names` asks for
/// that the message has (every occurrence, unfolded, in message order).
pub(super) async fn add_headers(
    mb: &Mailbox,
    m: &MessageMeta,
    names: &[String],
    el: &mut Element,
) -> ServiceResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let raw = mb.read_message(m.id).await.map_err(store_fault)?;
    for (name, value) in header_values(&raw, names) {
        el.add_new("header").set("n", name).set_text(value);
    }
    Ok(())
}

/// The values of the headers named `names` (any case) in `raw`'s top-level header
/// block, unfolded and trimmed, in message order, each with the name as asked.
fn header_values(raw: &[u8], names: &[String]) -> Vec<(String, String)> {
    let Some(p) = MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in p.headers() {
        let Some(asked) = names.iter().find(|n| n.eq_ignore_ascii_case(h.name())) else {
            continue;
        };
        let start = h.offset_start() as usize;
        let end = (h.offset_end() as usize).min(raw.len());
        let Some(bytes) = raw.get(start..end) else {
            continue;
        };
        let value: String = String::from_utf8_lossy(bytes)
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push((asked.clone(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_senders_are_distinct_and_capped() {
        let mut el = Element::new("c");
        let senders = [
            "A <a@x.test>",
            "",
            "b@x.test",
            "A again <A@x.test>",
            "c@x.test",
            "d@x.test",
            "e@x.test",
        ];
        add_senders(&mut el, senders.into_iter());
        let addrs: Vec<&str> = el.children_named("e").filter_map(|e| e.attr("a")).collect();
        assert_eq!(addrs, ["a@x.test", "c@x.test", "d@x.test", "e@x.test"]);
        assert!(el.children_named("e").all(|e| e.attr("d") != Some("")));
    }

    #[test]
    fn sender_split() {
        assert_eq!(
            split_sender("\"Bob B\" <bob@x.test>"),
            ("bob@x.test".to_string(), Some("Bob B".to_string()))
        );
        assert_eq!(split_sender("bob@x.test"), ("bob@x.test".to_string(), None));
    }

    #[test]
    fn asked_headers_are_read_unfolded() {
        let raw = b"From: Ann <a@x.test>\r\nTo: b@x.test,\r\n c@x.test\r\nSubject: s\r\n\r\nbody";
        let names = vec!["to".to_string(), "From".to_string()];
        assert_eq!(
            header_values(raw, &names),
            vec![
                ("From".to_string(), "Ann <a@x.test>".to_string()),
                ("to".to_string(), "b@x.test, c@x.test".to_string()),
            ]
        );
        assert!(header_values(raw, &["X-None".to_string()]).is_empty());
    }
}
