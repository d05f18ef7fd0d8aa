//! The pure parts of SORT and THREAD (RFC 5256): the sort fields of a message, base
//! subjects (§2.1), ordering (§3) and the two threading algorithms (§3), plus the
//! `i;unicode-casemap` folding used for comparisons (I18NLEVEL=1, RFC 5255 §4).
//!
//! Nothing here does I/O; the session gathers [`SortFields`] and calls in.

use std::cmp::Ordering;
use std::collections::HashMap;

use mail_parser::{HeaderValue, MessageParser};

use crate::imap::parser::{SortCriterion, SortKey};

/// What SORT and THREAD need of one message.
#[derive(Clone, Debug, Default)]
pub(crate) struct SortFields {
    /// Sequence number (or UID) the result names.
    pub num: u32,
    /// Position in the mailbox, the final tie-break (RFC 5256 §3).
    pub seq: u32,
    pub arrival_ms: i64,
    /// The Date: header in UTC, or the arrival time when absent or invalid.
    pub date_ms: i64,
    pub size: u64,
    pub subject: String,
    /// Whether the subject had a reply/forward marker (RFC 5256 §2.1 step 6).
    pub is_reply: bool,
    /// addr-mailbox of the first address (RFC 5256 §3), case-folded.
    pub from: String,
    pub to: String,
    pub cc: String,
    /// RFC 5957: display name of the first address, else its address.
    pub display_from: String,
    pub display_to: String,
    pub message_id: Option<String>,
    /// References, else the first In-Reply-To id (RFC 5256 §3 REFERENCES step 1).
    pub references: Vec<String>,
}

/// RFC 5255 §4.3 `i;unicode-casemap`, approximated: Unicode lower-casing.
///
/// LIMITATION: the canonical decomposition step is not applied (no normalisation
/// tables in the workspace), so precomposed and decomposed forms compare unequal.
pub(crate) fn casemap(text: &str) -> String {
    text.to_lowercase()
}

fn first_mailbox(v: Option<&mail_parser::Address<'_>>) -> (String, String) {
    let Some(addr) = v.and_then(|a| a.first()) else {
        return (String::new(), String::new());
    };
    let address = addr.address().unwrap_or_default();
    let local = address.split('@').next().unwrap_or_default();
    let display = addr
        .name()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(address);
    (casemap(local), casemap(display.trim()))
}

fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

impl SortFields {
    /// Reads the fields from a message header.
    pub(crate) fn from_header(
        num: u32,
        seq: u32,
        arrival_ms: i64,
        size: u64,
        header: &[u8],
    ) -> Self {
        let mut f = SortFields {
            num,
            seq,
            arrival_ms,
            date_ms: arrival_ms,
            size,
            ..SortFields::default()
        };
        let Some(msg) = MessageParser::new().parse_headers(header) else {
            return f;
        };
        if let Some(d) = msg.date().filter(|d| d.is_valid()) {
            f.date_ms = d.to_timestamp().saturating_mul(1000);
        }
        let (subject, is_reply) = base_subject(msg.subject().unwrap_or_default());
        f.subject = subject;
        f.is_reply = is_reply;
        (f.from, f.display_from) = first_mailbox(msg.from());
        (f.to, f.display_to) = first_mailbox(msg.to());
        (f.cc, _) = first_mailbox(msg.cc());
        f.message_id = msg.message_id().map(str::to_string);
        f.references = id_list(msg.references());
        if f.references.is_empty() {
            f.references = id_list(msg.in_reply_to()).into_iter().take(1).collect();
        }
        f
    }
}

/// RFC 5256 §2.1: the base subject (case-folded) and whether reply/forward markers
/// were removed.
pub(crate) fn base_subject(subject: &str) -> (String, bool) {
    // Step 1: whitespace runs become one space (decoding was done by the parser).
    let mut s: String = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut reply = false;
    loop {
        // Step 2: trailing "(fwd)" and whitespace.
        loop {
            let t = s.trim_end();
            let cut = t.len().saturating_sub(5);
            if t.len() >= 5 && t.is_char_boundary(cut) && t[cut..].eq_ignore_ascii_case("(fwd)") {
                s = t[..t.len() - 5].to_string();
                reply = true;
            } else {
                s = t.to_string();
                break;
            }
        }
        // Steps 3-5: leading blobs and "re:"/"fw:"/"fwd:" markers.
        loop {
            let before = s.clone();
            s = s.trim_start().to_string();
            if let Some(rest) = strip_refwd(&s) {
                s = rest;
                reply = true;
            } else if let Some(rest) = strip_blob(&s)
                && !rest.trim().is_empty()
            {
                s = rest;
            }
            if s == before {
                break;
            }
        }
        // Step 6: "[fwd: ... ]" wrapper.
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("[fwd:") && s.ends_with(']') && s.len() >= 6 {
            s = s[5..s.len() - 1].to_string();
            reply = true;
            continue;
        }
        break;
    }
    (casemap(s.trim()), reply)
}

/// `*WSP [blob] ("re" / "fw" / "fwd") *WSP [blob] ":"`, removed.
fn strip_refwd(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let prefix = ["re", "fwd", "fw"].iter().find(|p| lower.starts_with(*p))?;
    let after = s[prefix.len()..].trim_start();
    let after = strip_blob(after).unwrap_or_else(|| after.to_string());
    after.strip_prefix(':').map(str::to_string)
}

/// A leading `[...]` blob (no brackets inside), removed along with following spaces.
fn strip_blob(s: &str) -> Option<String> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find(']')?;
    if inner[..end].contains('[') {
        return None;
    }
    Some(inner[end + 1..].trim_start().to_string())
}

fn compare(a: &SortFields, b: &SortFields, key: SortKey) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival_ms.cmp(&b.arrival_ms),
        SortKey::Cc => a.cc.cmp(&b.cc),
        SortKey::Date => a.date_ms.cmp(&b.date_ms),
        SortKey::From => a.from.cmp(&b.from),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => a.subject.cmp(&b.subject),
        SortKey::To => a.to.cmp(&b.to),
        SortKey::DisplayFrom => a.display_from.cmp(&b.display_from),
        SortKey::DisplayTo => a.display_to.cmp(&b.display_to),
    }
}

/// RFC 5256 §3: orders by each criterion in turn, then by sequence number.
pub(crate) fn sort(msgs: &mut [SortFields], criteria: &[SortCriterion]) {
    msgs.sort_by(|a, b| {
        for c in criteria {
            let o = compare(a, b, c.key);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.seq.cmp(&b.seq)
    });
}

/// A thread tree node: a message (index into the input) or an empty container.
#[derive(Clone, Debug, Default)]
struct Node {
    msg: Option<usize>,
    children: Vec<usize>,
    parent: Option<usize>,
}

/// Renders thread trees as RFC 5256 §4 `thread-list`s.
fn render(nodes: &[Node], msgs: &[SortFields], id: usize, out: &mut String) {
    let mut cur = id;
    let mut first = true;
    loop {
        let n = &nodes[cur];
        if let Some(m) = n.msg {
            if !first {
                out.push(' ');
            }
            out.push_str(&msgs[m].num.to_string());
            first = false;
        }
        match n.children.len() {
            0 => return,
            1 if n.msg.is_some() => cur = n.children[0],
            _ => {
                if !first {
                    out.push(' ');
                }
                for &c in &n.children {
                    out.push('(');
                    render(nodes, msgs, c, out);
                    out.push(')');
                }
                return;
            }
        }
    }
}

/// The date a node sorts by: its message's, or its first child's (RFC 5256 §3).
fn node_date(nodes: &[Node], msgs: &[SortFields], id: usize) -> (i64, u32) {
    let mut cur = id;
    for _ in 0..nodes.len() {
        if let Some(m) = nodes[cur].msg {
            return (msgs[m].date_ms, msgs[m].seq);
        }
        match nodes[cur].children.first() {
            Some(&c) => cur = c,
            None => break,
        }
    }
    (i64::MAX, u32::MAX)
}

fn sort_children(nodes: &mut [Node], msgs: &[SortFields], ids: &mut [usize]) {
    let snapshot: Vec<(i64, u32)> = ids.iter().map(|&i| node_date(nodes, msgs, i)).collect();
    let mut pairs: Vec<(usize, (i64, u32))> = ids.iter().copied().zip(snapshot).collect();
    pairs.sort_by_key(|&(_, k)| k);
    for (slot, (id, _)) in ids.iter_mut().zip(pairs) {
        *slot = id;
    }
}

/// THREAD=ORDEREDSUBJECT (RFC 5256 §3): messages grouped by base subject, each group
/// by date; the first is the parent of the rest; threads ordered by their first date.
pub(crate) fn thread_ordered_subject(msgs: &[SortFields]) -> String {
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    order.sort_by_key(|&i| (msgs[i].date_ms, msgs[i].seq));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_subject: HashMap<&str, usize> = HashMap::new();
    for i in order {
        match by_subject.get(msgs[i].subject.as_str()) {
            Some(&g) => groups[g].push(i),
            None => {
                by_subject.insert(&msgs[i].subject, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    let mut out = String::new();
    for g in groups {
        out.push('(');
        out.push_str(&msgs[g[0]].num.to_string());
        match g.len() {
            1 => {}
            2 => out.push_str(&format!(" {}", msgs[g[1]].num)),
            _ => {
                out.push(' ');
                for &i in &g[1..] {
                    out.push_str(&format!("({})", msgs[i].num));
                }
            }
        }
        out.push(')');
    }
    out
}

/// Whether `a` is `b` or one of its ancestors.
fn is_ancestor(nodes: &[Node], a: usize, b: usize) -> bool {
    let mut cur = Some(b);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == a {
            return true;
        }
        steps += 1;
        if steps > nodes.len() {
            return true;
        }
        cur = nodes[c].parent;
    }
    false
}

fn link(nodes: &mut [Node], parent: usize, child: usize) {
    if let Some(old) = nodes[child].parent {
        nodes[old].children.retain(|&c| c != child);
    }
    nodes[child].parent = Some(parent);
    nodes[parent].children.push(child);
}

/// THREAD=REFERENCES (RFC 5256 §3): parent/child links from Message-ID, References
/// and In-Reply-To, empty containers pruned, root threads with the same base subject
/// merged, siblings ordered by date.
///
/// LIMITATION: subject merging (step 5) only makes a reply-subject root a child of
/// the first non-reply root with that base subject, or joins roots under a dummy when
/// neither is a reply; it does not re-merge roots that are themselves dummies.
pub(crate) fn thread_references(msgs: &[SortFields]) -> String {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut get = |nodes: &mut Vec<Node>, id: &str| -> usize {
        *by_id.entry(id.to_string()).or_insert_with(|| {
            nodes.push(Node::default());
            nodes.len() - 1
        })
    };
    for (i, m) in msgs.iter().enumerate() {
        // Step 1A: a duplicate or missing Message-ID gets a unique one.
        let own = match &m.message_id {
            Some(id) => {
                let n = get(&mut nodes, id);
                if nodes[n].msg.is_some() {
                    nodes.push(Node::default());
                    nodes.len() - 1
                } else {
                    n
                }
            }
            None => {
                nodes.push(Node::default());
                nodes.len() - 1
            }
        };
        nodes[own].msg = Some(i);
        // Step 1B: link the references in order, never creating a loop.
        let mut prev: Option<usize> = None;
        for r in m.references.iter().take(256) {
            let n = get(&mut nodes, r);
            if let Some(p) = prev
                && n != p
                && nodes[n].parent.is_none()
                && !is_ancestor(&nodes, n, p)
            {
                link(&mut nodes, p, n);
            }
            prev = Some(n);
        }
        // Step 1C: the last reference is the parent.
        match prev {
            Some(p) if p != own && !is_ancestor(&nodes, own, p) => link(&mut nodes, p, own),
            _ => {
                if let Some(old) = nodes[own].parent.take() {
                    nodes[old].children.retain(|&c| c != own);
                }
            }
        }
    }
    // Steps 2-4: roots, then prune empty containers.
    let mut roots: Vec<usize> = (0..nodes.len())
        .filter(|&n| nodes[n].parent.is_none())
        .collect();
    let mut stack: Vec<usize> = roots.clone();
    while let Some(n) = stack.pop() {
        let kids = nodes[n].children.clone();
        for k in kids {
            if nodes[k].msg.is_none() {
                // Promote the empty container's children to its parent.
                let grand = nodes[k].children.clone();
                for g in &grand {
                    link(&mut nodes, n, *g);
                }
                nodes[n].children.retain(|&c| c != k);
                nodes[k].parent = None;
                nodes[k].children.clear();
                stack.push(n);
            } else {
                stack.push(k);
            }
        }
    }
    let mut top = Vec::new();
    for r in roots.drain(..) {
        if nodes[r].msg.is_some() {
            top.push(r);
        } else if nodes[r].children.len() == 1 {
            let only = nodes[r].children[0];
            nodes[only].parent = None;
            top.push(only);
        } else if !nodes[r].children.is_empty() {
            top.push(r);
        }
    }
    // Step 5: merge roots by base subject.
    let subject_of = |nodes: &[Node], n: usize| -> Option<(String, bool)> {
        let mut cur = n;
        for _ in 0..nodes.len() {
            if let Some(m) = nodes[cur].msg {
                return Some((msgs[m].subject.clone(), msgs[m].is_reply));
            }
            cur = *nodes[cur].children.first()?;
        }
        None
    };
    let mut by_subject: HashMap<String, usize> = HashMap::new();
    let mut merged = Vec::new();
    for r in top {
        let Some((subject, reply)) = subject_of(&nodes, r) else {
            merged.push(r);
            continue;
        };
        if subject.is_empty() {
            merged.push(r);
            continue;
        }
        match by_subject.get(&subject).copied() {
            Some(first) if reply && nodes[first].msg.is_some() => link(&mut nodes, first, r),
            Some(first) if nodes[first].msg.is_none() => link(&mut nodes, first, r),
            Some(first) => {
                // Neither is a reply of the other: both under a new empty container.
                nodes.push(Node::default());
                let dummy = nodes.len() - 1;
                link(&mut nodes, dummy, first);
                link(&mut nodes, dummy, r);
                if let Some(slot) = merged.iter_mut().find(|x| **x == first) {
                    *slot = dummy;
                }
                by_subject.insert(subject, dummy);
            }
            None => {
                by_subject.insert(subject, r);
                merged.push(r);
            }
        }
    }
    // Step 6: sort siblings, then the roots.
    for n in 0..nodes.len() {
        let mut kids = std::mem::take(&mut nodes[n].children);
        sort_children(&mut nodes, msgs, &mut kids);
        nodes[n].children = kids;
    }
    sort_children(&mut nodes, msgs, &mut merged);
    let mut out = String::new();
    for r in merged {
        out.push('(');
        render(&nodes, msgs, r, &mut out);
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(num: u32, date: i64, subject: &str, id: &str, refs: &[&str]) -> SortFields {
        let (subject, is_reply) = base_subject(subject);
        SortFields {
            num,
            seq: num,
            date_ms: date,
            subject,
            is_reply,
            message_id: Some(id.to_string()),
            references: refs.iter().map(|r| r.to_string()).collect(),
            ..SortFields::default()
        }
    }

    #[test]
    fn base_subjects() {
        assert_eq!(
            base_subject("Re: Fwd: [list] Hello  World (fwd)").0,
            "hello world"
        );
        assert!(base_subject("RE: x").1);
        assert_eq!(base_subject("[fwd: Re: lunch]"), ("lunch".into(), true));
        assert_eq!(base_subject("[only blob]").0, "[only blob]");
        assert_eq!(base_subject("Re[2]: deal").0, "deal");
        assert_eq!(base_subject("").0, "");
    }

    #[test]
    fn sorts_with_reverse_and_ties() {
        let mut v = vec![
            m(1, 30, "b", "1", &[]),
            m(2, 10, "a", "2", &[]),
            m(3, 30, "a", "3", &[]),
        ];
        sort(
            &mut v,
            &[SortCriterion {
                reverse: true,
                key: SortKey::Date,
            }],
        );
        let nums: Vec<u32> = v.iter().map(|f| f.num).collect();
        assert_eq!(nums, vec![1, 3, 2]);
        sort(
            &mut v,
            &[SortCriterion {
                reverse: false,
                key: SortKey::Subject,
            }],
        );
        let nums: Vec<u32> = v.iter().map(|f| f.num).collect();
        assert_eq!(nums, vec![2, 3, 1]);
    }

    #[test]
    fn threads() {
        let v = vec![
            m(1, 10, "hello", "a", &[]),
            m(2, 20, "Re: hello", "b", &["a"]),
            m(3, 30, "Re: hello", "c", &["a"]),
            m(4, 40, "other", "d", &[]),
            m(5, 50, "Re: hello", "e", &["a", "b"]),
        ];
        assert_eq!(thread_ordered_subject(&v), "(1 (2)(3)(5))(4)");
        assert_eq!(thread_references(&v), "(1 (2 5)(3))(4)");
        // A reply whose parent is missing joins by subject.
        let v = vec![m(1, 10, "x", "a", &[]), m(2, 20, "Re: x", "b", &["zz"])];
        assert_eq!(thread_references(&v), "(1 2)");
        // Loops and self references do not hang.
        let v = vec![
            m(1, 10, "p", "a", &["b"]),
            m(2, 20, "q", "b", &["a"]),
            m(3, 5, "r", "c", &["c"]),
        ];
        let out = thread_references(&v);
        assert!(
            out.contains('1') && out.contains('2') && out.contains('3'),
            "{out}"
        );
    }

    proptest! {
        #[test]
        fn threading_covers_every_message_once(
            refs in proptest::collection::vec(
                (0u8..8, proptest::collection::vec(0u8..8, 0..4)),
                0..12,
            )
        ) {
            let v: Vec<SortFields> = refs.iter().enumerate().map(|(i, (id, r))| {
                let r: Vec<String> = r.iter().map(|x| x.to_string()).collect();
                let rr: Vec<&str> = r.iter().map(String::as_str).collect();
                m(i as u32 + 1, i64::from(*id), if i % 2 == 0 { "s" } else { "Re: s" },
                  &id.to_string(), &rr)
            }).collect();
            for out in [thread_references(&v), thread_ordered_subject(&v)] {
                let mut nums: Vec<u32> = out
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect();
                nums.sort_unstable();
                let want: Vec<u32> = (1..=v.len() as u32).collect();
                prop_assert_eq!(nums, want, "{}", out);
            }
        }

        #[test]
        fn base_subject_never_panics(s in "\\PC{0,40}") {
            let _ = base_subject(&s);
        }
    }
}
