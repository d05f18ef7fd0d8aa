//! Plans compiled into per-message checks: folder names resolved to ids, index parts
//! replaced by their hit sets, dates turned into bounds, once per search; then each
//! message of the snapshot is tested cheaply.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use zcs_core::{Flags, ItemId};
use zcs_index::query::{
    self, Comparison, DateBounds, DateField, IsFlag, ItemSet, Plan, Priority, Query, RangeField,
    TextField,
};
use zcs_store::{Folder, MessageMeta};

use super::idset::IdSet;
use super::snapshot::ConvStats;

/// Replaces `is:tome`, `is:fromme` and the other address states by text terms over the
/// account's addresses, so the index answers them. With no address they match nothing.
pub(super) fn rewrite_me(q: &Query, me: &[String]) -> Query {
    match q {
        Query::And(v) => Query::And(v.iter().map(|c| rewrite_me(c, me)).collect()),
        Query::Or(v) => Query::Or(v.iter().map(|c| rewrite_me(c, me)).collect()),
        Query::Not(c) => Query::Not(Box::new(rewrite_me(c, me))),
        Query::Is(flag) => {
            let field = match flag {
                IsFlag::ToMe => TextField::To,
                IsFlag::FromMe => TextField::From,
                IsFlag::CcMe => TextField::Cc,
                IsFlag::ToFromMe => TextField::ToFrom,
                IsFlag::ToCcMe => TextField::ToCc,
                IsFlag::FromCcMe => TextField::FromCc,
                IsFlag::ToFromCcMe => TextField::ToFromCc,
                _ => return q.clone(),
            };
            let mut terms: Vec<Query> = me
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| Query::Term {
                    field: field.clone(),
                    value: a.trim().to_string(),
                    phrase: false,
                    wildcard: false,
                })
                .collect();
            match terms.len() {
                0 => Query::Item(ItemSet::None),
                1 => terms.pop().unwrap_or(Query::Item(ItemSet::None)),
                _ => Query::Or(terms),
            }
        }
        other => other.clone(),
    }
}

/// Whether the query asks for a folder (or `is:anywhere`), which lifts the Trash/Junk
/// rule. A negated folder (`-in:sent`) does not: it only narrows.
pub(super) fn names_folder(q: &Query) -> bool {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().any(names_folder),
        Query::Not(_) => false,
        Query::In(_) | Query::Under(_) | Query::InId(_) | Query::UnderId(_) => true,
        Query::Is(IsFlag::Anywhere) => true,
        _ => false,
    }
}

/// What the checks need beyond one message: folders, conversation sizes and dates.
pub(super) struct Context<'a> {
    folders: &'a [Folder],
    /// Per conversation: message count, first and last date.
    convs: &'a ConvStats,
    now: super::zone::Clock,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        folders: &'a [Folder],
        convs: &'a ConvStats,
        now: super::zone::Clock,
    ) -> Self {
        Context {
            folders,
            convs,
            now,
        }
    }

    /// The folder ids a folder term names, with descendants when `under`.
    fn resolve(&self, name: &str, under: bool, by_id: bool) -> HashSet<ItemId> {
        let mut roots = HashSet::new();
        if by_id {
            // `inid:2` or `inid:"2/sub/path"`: the id, then a path below it.
            let mut parts = name.splitn(2, '/');
            if let Some(id) = parts.next().and_then(|s| s.trim().parse::<i32>().ok()) {
                match parts.next().filter(|p| !p.is_empty()) {
                    None => {
                        roots.insert(ItemId(id));
                    }
                    Some(rest) => roots.extend(self.by_path_below(ItemId(id), rest)),
                }
            }
        } else if let Some(id) = query::system_folder_id(name) {
            roots.insert(ItemId(id));
        } else {
            let path = if name.starts_with('/') {
                name.to_string()
            } else {
                format!("/{name}")
            };
            let path = path.trim_end_matches('/');
            roots.extend(
                self.folders
                    .iter()
                    .filter(|f| same_path(&f.path, path))
                    .map(|f| f.id),
            );
        }
        if under {
            let mut grew = true;
            while grew {
                grew = false;
                for f in self.folders {
                    if roots.contains(&f.parent) && roots.insert(f.id) {
                        grew = true;
                    }
                }
            }
        }
        roots
    }

    fn by_path_below(&self, base: ItemId, rest: &str) -> Option<ItemId> {
        let base_path = &self.folders.iter().find(|f| f.id == base)?.path;
        let full = format!("{}/{}", base_path.trim_end_matches('/'), rest);
        self.folders
            .iter()
            .find(|f| same_path(&f.path, &full))
            .map(|f| f.id)
    }
}

/// A plan with its leaves resolved once, ready to test each message cheaply.
pub(super) enum Node {
    Always,
    Never,
    Hits(Arc<IdSet>),
    Folders(IdSet),
    FlagSet(u32),
    FlagClear(u32),
    Tag(String),
    Date(DateBounds, DateKey),
    Size(Comparison, u64),
    Ids(HashSet<ItemId>),
    IdRange(ItemId, ItemId),
    Conv(i32),
    ConvCount(Comparison, u32),
    Solo,
    Priority(Priority),
    Modseq(Comparison, i64),
    Range(RangeField, Comparison, String),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// Which date of a message a date term compares.
#[derive(Clone, Copy)]
pub(super) enum DateKey {
    Item,
    ConvStart,
    ConvEnd,
}

pub(super) fn compile(plan: &Plan, hits: &HashMap<String, Arc<IdSet>>, ctx: &Context<'_>) -> Node {
    match plan {
        Plan::All => Node::Always,
        Plan::Index(q) => hits
            .get(&q.to_string())
            .map_or(Node::Never, |s| Node::Hits(s.clone())),
        Plan::State(q) => compile_state(q, ctx),
        Plan::And(v) => Node::And(v.iter().map(|p| compile(p, hits, ctx)).collect()),
        Plan::Or(v) => Node::Or(v.iter().map(|p| compile(p, hits, ctx)).collect()),
        Plan::Not(p) => Node::Not(Box::new(compile(p, hits, ctx))),
    }
}

/// The flag bit a `tag:\Name` names.
pub(super) fn flag_bit(name: &str) -> Option<u32> {
    Some(match name.to_ascii_lowercase().as_str() {
        "flagged" => Flags::FLAGGED,
        "unread" => Flags::UNREAD,
        "answered" | "replied" => Flags::ANSWERED,
        "forwarded" => Flags::FORWARDED,
        "draft" => Flags::DRAFT,
        "sent" => Flags::SENT,
        "attached" => Flags::ATTACHED,
        "urgent" => Flags::URGENT,
        "bulk" => Flags::BULK,
        "invite" => Flags::INVITE,
        "notified" => Flags::NOTIFIED,
        "deleted" => Flags::DELETED,
        _ => return None,
    })
}

fn compile_state(q: &Query, ctx: &Context<'_>) -> Node {
    match q {
        Query::In(n) => Node::Folders(IdSet::from_ids(ctx.resolve(n, false, false))),
        Query::Under(n) => Node::Folders(IdSet::from_ids(ctx.resolve(n, true, false))),
        Query::InId(n) => Node::Folders(IdSet::from_ids(ctx.resolve(n, false, true))),
        Query::UnderId(n) => Node::Folders(IdSet::from_ids(ctx.resolve(n, true, true))),
        Query::Is(flag) => match flag {
            IsFlag::Anywhere | IsFlag::Local => Node::Always,
            // LIMITATION: no mounted (remote) folders exist yet, so is:remote is empty.
            IsFlag::Remote => Node::Never,
            IsFlag::Unread => Node::FlagSet(Flags::UNREAD),
            IsFlag::Read => Node::FlagClear(Flags::UNREAD),
            IsFlag::Flagged => Node::FlagSet(Flags::FLAGGED),
            IsFlag::Unflagged => Node::FlagClear(Flags::FLAGGED),
            IsFlag::Draft => Node::FlagSet(Flags::DRAFT),
            IsFlag::Sent => Node::FlagSet(Flags::SENT),
            IsFlag::Received => Node::FlagClear(Flags::SENT),
            IsFlag::Replied => Node::FlagSet(Flags::ANSWERED),
            IsFlag::Unreplied => Node::FlagClear(Flags::ANSWERED),
            IsFlag::Forwarded => Node::FlagSet(Flags::FORWARDED),
            IsFlag::Unforwarded => Node::FlagClear(Flags::FORWARDED),
            IsFlag::Invite => Node::FlagSet(Flags::INVITE),
            IsFlag::Solo => Node::Solo,
            // The address states were rewritten to text terms before planning.
            _ => Node::Never,
        },
        Query::Tag(name) => match name.strip_prefix('\\') {
            Some(flag) => flag_bit(flag).map_or(Node::Never, Node::FlagSet),
            None => Node::Tag(name.to_lowercase()),
        },
        Query::Priority(p) => Node::Priority(*p),
        Query::Date { field, op, value } => {
            let key = match field {
                DateField::ConvStart => DateKey::ConvStart,
                DateField::ConvEnd => DateKey::ConvEnd,
                // Messages are not appointments.
                DateField::ApptStart | DateField::ApptEnd => return Node::Never,
                // LIMITATION: the store keeps no per-item change time, so mdate: compares
                // the item date; week:/month:/year: with a calendar day select that day.
                _ => DateKey::Item,
            };
            value
                .bounds(*op, &ctx.now)
                .map_or(Node::Never, |b| Node::Date(b, key))
        }
        Query::Size { op, bytes } => Node::Size(*op, *bytes),
        Query::Item(set) => match set {
            ItemSet::All => Node::Always,
            ItemSet::None => Node::Never,
            ItemSet::Ids(ids) => Node::Ids(ids.iter().copied().collect()),
            ItemSet::Range { from, to } => Node::IdRange(*from, *to),
        },
        Query::Message(id) => Node::Ids(HashSet::from([*id])),
        Query::Conv(c) => Node::Conv(*c),
        Query::ConvCount { op, count } => Node::ConvCount(*op, *count),
        Query::ConvMinM(n) => Node::ConvCount(Comparison::Ge, *n),
        Query::ConvMaxM(n) => Node::ConvCount(Comparison::Le, *n),
        Query::Modseq { op, value } => Node::Modseq(*op, *value),
        Query::TextRange { field, op, value } => Node::Range(*field, *op, value.to_lowercase()),
        // `my:` was never implemented by Zimbra; index leaves never reach here.
        _ => Node::Never,
    }
}

/// Whether tag `t` is the tag named `lower` (already lower-cased), ignoring case.
pub(super) fn same_tag(t: &str, lower: &str) -> bool {
    if t.is_ascii() {
        t.eq_ignore_ascii_case(lower)
    } else {
        t.to_lowercase() == lower
    }
}

fn cmp<T: PartialOrd>(op: Comparison, a: T, b: T) -> bool {
    match op {
        Comparison::Eq => a == b,
        Comparison::Lt => a < b,
        Comparison::Le => a <= b,
        Comparison::Gt => a > b,
        Comparison::Ge => a >= b,
    }
}

impl Node {
    pub(super) fn matches(&self, m: &MessageMeta, ctx: &Context<'_>) -> bool {
        let conv = || ctx.convs.get(&m.conv).copied().unwrap_or((1, 0, 0));
        match self {
            Node::Always => true,
            Node::Never => false,
            Node::Hits(s) => s.contains(m.id),
            Node::Ids(s) => s.contains(&m.id),
            Node::Folders(s) => s.contains(m.folder),
            Node::FlagSet(bit) => m.flags.contains(*bit),
            Node::FlagClear(bit) => !m.flags.contains(*bit),
            Node::Tag(name) => m.tags.iter().any(|t| same_tag(t, name)),
            Node::Date(b, DateKey::Item) => b.contains(m.internal_date_ms),
            Node::Date(b, DateKey::ConvStart) => b.contains(conv().1),
            Node::Date(b, DateKey::ConvEnd) => b.contains(conv().2),
            Node::Size(op, bytes) => cmp(*op, m.size, *bytes),
            Node::IdRange(a, b) => m.id >= *a && m.id <= *b,
            Node::Conv(c) => m.conv.0 == *c,
            Node::ConvCount(op, n) => cmp(*op, conv().0, *n),
            Node::Solo => m.conv.0 < 0 || conv().0 <= 1,
            // Zimbra keeps priority as flags: URGENT is high, BULK is low.
            Node::Priority(Priority::High) => m.flags.contains(Flags::URGENT),
            Node::Priority(Priority::Low) => m.flags.contains(Flags::BULK),
            Node::Priority(Priority::Normal) => {
                !m.flags.contains(Flags::URGENT) && !m.flags.contains(Flags::BULK)
            }
            Node::Modseq(op, v) => cmp(*op, m.modseq, *v),
            Node::Range(RangeField::Subject, op, v) => cmp(*op, &m.subject.to_lowercase(), v),
            Node::Range(RangeField::From, op, v) => cmp(*op, &m.sender.to_lowercase(), v),
            Node::And(v) => v.iter().all(|n| n.matches(m, ctx)),
            Node::Or(v) => v.iter().any(|n| n.matches(m, ctx)),
            Node::Not(n) => !n.matches(m, ctx),
        }
    }
}

/// Whether two folder paths name the same folder: compared without case, Unicode
/// included, as the store's folder names are (`folder.lname`, Zimbra's
/// `Folder.findSubfolder`).
pub(crate) fn same_path(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!a.is_ascii() || !b.is_ascii()) && a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_states_become_text_terms() {
        let me = vec!["me@x.test".to_string(), "alias@x.test".to_string()];
        let q = rewrite_me(&query::parse("is:tome foo").unwrap(), &me);
        assert_eq!(
            q.to_string(),
            "(to:me@x.test OR to:alias@x.test) foo",
            "{q:?}"
        );
        let q = rewrite_me(&query::parse("-is:fromme").unwrap(), &[]);
        assert_eq!(q, Query::Not(Box::new(Query::Item(ItemSet::None))));
        assert!(names_folder(&query::parse("a (b or in:x)").unwrap()));
        assert!(!names_folder(&query::parse("a is:unread").unwrap()));
        assert!(!names_folder(&query::parse("a -in:sent").unwrap()));
    }

    #[test]
    fn folder_paths_compare_without_case_unicode_included() {
        assert!(same_path("/Inbox/Work", "/inbox/WORK"));
        assert!(same_path("/Über", "/über"));
        assert!(!same_path("/Über", "/uber"));
    }
}
