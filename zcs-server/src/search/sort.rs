//! Result orders (`SearchRequest sortBy`, the query's `sort:`), the sort itself, and
//! the sort values cursors carry.

use std::borrow::Borrow;
use std::cmp::Ordering;

use zcs_core::{Flags, ItemId};
use zcs_index::query::{IsFlag, Query};
use zcs_store::MessageMeta;

/// Result orders of `SearchRequest`'s `sortBy` (and the query's `sort:`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortBy {
    /// Newest first (Zimbra's default).
    #[default]
    DateDesc,
    DateAsc,
    SubjAsc,
    SubjDesc,
    /// By sender (`nameAsc`).
    NameAsc,
    NameDesc,
    /// By recipients (`rcptAsc`).
    RcptAsc,
    RcptDesc,
    SizeAsc,
    SizeDesc,
    /// Messages without attachments first (`attachAsc`).
    AttachAsc,
    AttachDesc,
    /// Unflagged first (`flagAsc`).
    FlagAsc,
    FlagDesc,
    /// Low priority first (`priorityAsc`).
    PriorityAsc,
    PriorityDesc,
    /// Unread first (`readAsc`).
    ReadAsc,
    ReadDesc,
    IdAsc,
    IdDesc,
    /// `none`: item id order, cheapest.
    None,
    /// Tasks by due date, none first (`taskDueAsc`); see [`SortBy::is_task`].
    TaskDueAsc,
    TaskDueDesc,
    /// Tasks by status: needs action, in progress, waiting, deferred, completed.
    TaskStatusAsc,
    TaskStatusDesc,
    /// Tasks by percent complete.
    TaskPercCompletedAsc,
    TaskPercCompletedDesc,
    /// Most recently viewed first. LIMITATION: views are not recorded, so this is the
    /// date order, newest first.
    RecentlyViewed,
}

impl SortBy {
    /// Every order with its Zimbra spelling: the names Zimbra's `SortBy.of` accepts.
    /// Other names (`score`, `durAsc`, `nameLocalizedAsc`, ...) are no order: a
    /// request's `sortBy` falls back to `dateDesc` and a query's `sort:` is a fault, as
    /// in Zimbra.
    pub const ALL: [(SortBy, &'static str); 28] = [
        (SortBy::DateDesc, "dateDesc"),
        (SortBy::DateAsc, "dateAsc"),
        (SortBy::SubjAsc, "subjAsc"),
        (SortBy::SubjDesc, "subjDesc"),
        (SortBy::NameAsc, "nameAsc"),
        (SortBy::NameDesc, "nameDesc"),
        (SortBy::RcptAsc, "rcptAsc"),
        (SortBy::RcptDesc, "rcptDesc"),
        (SortBy::SizeAsc, "sizeAsc"),
        (SortBy::SizeDesc, "sizeDesc"),
        (SortBy::AttachAsc, "attachAsc"),
        (SortBy::AttachDesc, "attachDesc"),
        (SortBy::FlagAsc, "flagAsc"),
        (SortBy::FlagDesc, "flagDesc"),
        (SortBy::PriorityAsc, "priorityAsc"),
        (SortBy::PriorityDesc, "priorityDesc"),
        (SortBy::ReadAsc, "readAsc"),
        (SortBy::ReadDesc, "readDesc"),
        (SortBy::IdAsc, "idAsc"),
        (SortBy::IdDesc, "idDesc"),
        (SortBy::None, "none"),
        (SortBy::TaskDueAsc, "taskDueAsc"),
        (SortBy::TaskDueDesc, "taskDueDesc"),
        (SortBy::TaskStatusAsc, "taskStatusAsc"),
        (SortBy::TaskStatusDesc, "taskStatusDesc"),
        (SortBy::TaskPercCompletedAsc, "taskPercCompletedAsc"),
        (SortBy::TaskPercCompletedDesc, "taskPercCompletedDesc"),
        (SortBy::RecentlyViewed, "recentlyViewed"),
    ];

    /// Parses a Zimbra sort name, case-insensitively; `None` for names we do not know.
    pub fn parse(name: &str) -> Option<SortBy> {
        SortBy::ALL
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(name))
            .map(|(o, _)| *o)
    }

    /// Whether this is one of the task orders, which only tasks can be sorted by:
    /// Zimbra faults (`service.FAILURE`) when another kind of hit meets one. Messages
    /// are otherwise ordered by date in the order's direction (Zimbra's key for them).
    pub fn is_task(self) -> bool {
        use SortBy as S;
        matches!(
            self,
            S::TaskDueAsc
                | S::TaskDueDesc
                | S::TaskStatusAsc
                | S::TaskStatusDesc
                | S::TaskPercCompletedAsc
                | S::TaskPercCompletedDesc
        )
    }

    /// Whether the order runs from small to large values.
    pub fn is_ascending(self) -> bool {
        ascending(self)
    }

    /// The Zimbra spelling (what `SearchResponse sortBy=` echoes).
    pub fn as_str(self) -> &'static str {
        SortBy::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("dateDesc", |(_, s)| s)
    }
}

/// The order a search runs in, as Zimbra chooses it: the query's `sort:` clause when
/// it has one; else the request's `sortBy` (`dateDesc` when it names no order; and
/// `dateDesc` for `readAsc`/`readDesc` when the query asks for `is:unread`, where
/// every hit would tie); else `default`.
///
/// # Errors
/// The clause's text when a `sort:` clause names no order (Zimbra answers
/// `service.PARSE_ERROR`, `INVALID_SORTBY`).
pub fn effective_sort(
    query: &Query,
    requested: Option<&str>,
    default: SortBy,
) -> Result<SortBy, String> {
    if let Some(clause) = query.sort() {
        return SortBy::parse(clause).ok_or_else(|| clause.to_string());
    }
    let Some(name) = requested else {
        return Ok(default);
    };
    let sort = SortBy::parse(name).unwrap_or_default();
    if matches!(sort, SortBy::ReadAsc | SortBy::ReadDesc) && asks_unread(query) {
        return Ok(SortBy::DateDesc);
    }
    Ok(sort)
}

/// Whether `is:unread` appears anywhere in `q` (Zimbra looks at the query text).
fn asks_unread(q: &Query) -> bool {
    match q {
        Query::Is(IsFlag::Unread) => true,
        Query::And(v) | Query::Or(v) => v.iter().any(asks_unread),
        Query::Not(c) => asks_unread(c),
        _ => false,
    }
}

/// Sorts matches; ties break on item id in the same direction, so pages are stable.
#[cfg(test)]
pub(super) fn sort_messages(v: &mut [&MessageMeta], sort: SortBy) {
    v.sort_by(|a, b| compare(a, b, sort));
}

/// The rank of a message's priority: high 2, normal 1, low 0.
fn priority_rank(m: &MessageMeta) -> u8 {
    if m.flags.contains(Flags::URGENT) {
        2
    } else if m.flags.contains(Flags::BULK) {
        0
    } else {
        1
    }
}

/// How `a` and `b` compare under `sort`, ties broken by item id in the same direction.
pub(super) fn compare(a: &MessageMeta, b: &MessageMeta, sort: SortBy) -> Ordering {
    use SortBy as S;
    let lower = |s: &str| s.to_lowercase();
    let bit = |m: &MessageMeta, b: u32| m.flags.contains(b);
    let (o, asc) = match sort {
        S::DateDesc | S::DateAsc => (
            a.internal_date_ms.cmp(&b.internal_date_ms),
            sort == S::DateAsc,
        ),
        S::SubjAsc | S::SubjDesc => (
            lower(&a.subject).cmp(&lower(&b.subject)),
            sort == S::SubjAsc,
        ),
        S::NameAsc | S::NameDesc => (lower(&a.sender).cmp(&lower(&b.sender)), sort == S::NameAsc),
        S::RcptAsc | S::RcptDesc => (
            lower(&a.recipients).cmp(&lower(&b.recipients)),
            sort == S::RcptAsc,
        ),
        S::SizeAsc | S::SizeDesc => (a.size.cmp(&b.size), sort == S::SizeAsc),
        S::AttachAsc | S::AttachDesc => (
            bit(a, Flags::ATTACHED).cmp(&bit(b, Flags::ATTACHED)),
            sort == S::AttachAsc,
        ),
        S::FlagAsc | S::FlagDesc => (
            bit(a, Flags::FLAGGED).cmp(&bit(b, Flags::FLAGGED)),
            sort == S::FlagAsc,
        ),
        S::PriorityAsc | S::PriorityDesc => (
            priority_rank(a).cmp(&priority_rank(b)),
            sort == S::PriorityAsc,
        ),
        // Read sorts unread first when ascending.
        S::ReadAsc | S::ReadDesc => (
            bit(b, Flags::UNREAD).cmp(&bit(a, Flags::UNREAD)),
            sort == S::ReadAsc,
        ),
        S::IdAsc | S::None => (Ordering::Equal, true),
        S::IdDesc => (Ordering::Equal, false),
        // Zimbra's key of the task orders is the date; messages meet them only on the
        // way to a fault, or when nothing matches.
        S::TaskDueAsc | S::TaskStatusAsc | S::TaskPercCompletedAsc => {
            (a.internal_date_ms.cmp(&b.internal_date_ms), true)
        }
        S::TaskDueDesc | S::TaskStatusDesc | S::TaskPercCompletedDesc | S::RecentlyViewed => {
            (a.internal_date_ms.cmp(&b.internal_date_ms), false)
        }
    };
    let o = o.then(a.id.cmp(&b.id));
    if asc { o } else { o.reverse() }
}

/// The ascending twin of `sort` (the same key, small values first) and whether `sort`
/// itself runs the other way. Every descending order is exactly its ascending twin
/// reversed, ties included, so one permutation serves both.
pub(super) fn ascending_twin(sort: SortBy) -> (SortBy, bool) {
    use SortBy as S;
    match sort {
        S::DateDesc => (S::DateAsc, true),
        S::SubjDesc => (S::SubjAsc, true),
        S::NameDesc => (S::NameAsc, true),
        S::RcptDesc => (S::RcptAsc, true),
        S::SizeDesc => (S::SizeAsc, true),
        S::AttachDesc => (S::AttachAsc, true),
        S::FlagDesc => (S::FlagAsc, true),
        S::PriorityDesc => (S::PriorityAsc, true),
        S::ReadDesc => (S::ReadAsc, true),
        S::IdDesc => (S::IdAsc, true),
        S::None => (S::IdAsc, false),
        S::TaskDueAsc | S::TaskStatusAsc | S::TaskPercCompletedAsc => (S::DateAsc, false),
        S::TaskDueDesc | S::TaskStatusDesc | S::TaskPercCompletedDesc | S::RecentlyViewed => {
            (S::DateAsc, true)
        }
        other => (other, false),
    }
}

/// Positions of `messages` in the ascending order `sort` (one of the twins
/// [`ascending_twin`] returns). Text keys are lower-cased once per message, not per
/// comparison.
pub(super) fn permutation<M: Borrow<MessageMeta>>(messages: &[M], sort: SortBy) -> Vec<u32> {
    use SortBy as S;
    let mut perm: Vec<u32> = (0..messages.len() as u32).collect();
    let at = |i: &u32| messages[*i as usize].borrow();
    match sort {
        S::SubjAsc | S::NameAsc | S::RcptAsc => {
            let text = |m: &MessageMeta| match sort {
                S::SubjAsc => m.subject.to_lowercase(),
                S::NameAsc => m.sender.to_lowercase(),
                _ => m.recipients.to_lowercase(),
            };
            perm.sort_by_cached_key(|i| (text(at(i)), at(i).id));
        }
        _ => perm.sort_unstable_by(|a, b| compare(at(a), at(b), sort)),
    }
    perm
}

/// The value `m` is ordered on under `sort`: a number for dates, sizes and flags, the
/// lower-cased text for subjects and addresses.
pub(super) fn sort_value(m: &MessageMeta, sort: SortBy) -> String {
    use SortBy as S;
    match sort {
        S::DateDesc | S::DateAsc | S::RecentlyViewed => m.internal_date_ms.to_string(),
        S::TaskDueAsc
        | S::TaskDueDesc
        | S::TaskStatusAsc
        | S::TaskStatusDesc
        | S::TaskPercCompletedAsc
        | S::TaskPercCompletedDesc => m.internal_date_ms.to_string(),
        S::SubjAsc | S::SubjDesc => m.subject.to_lowercase(),
        S::NameAsc | S::NameDesc => m.sender.to_lowercase(),
        S::RcptAsc | S::RcptDesc => m.recipients.to_lowercase(),
        S::SizeAsc | S::SizeDesc => m.size.to_string(),
        S::AttachAsc | S::AttachDesc => u8::from(m.flags.contains(Flags::ATTACHED)).to_string(),
        S::FlagAsc | S::FlagDesc => u8::from(m.flags.contains(Flags::FLAGGED)).to_string(),
        S::PriorityAsc | S::PriorityDesc => priority_rank(m).to_string(),
        S::ReadAsc | S::ReadDesc => u8::from(!m.flags.contains(Flags::UNREAD)).to_string(),
        S::IdAsc | S::IdDesc | S::None => m.id.0.to_string(),
    }
}

/// Whether the order runs from small to large values.
fn ascending(sort: SortBy) -> bool {
    use SortBy as S;
    !matches!(
        sort,
        S::DateDesc
            | S::SubjDesc
            | S::NameDesc
            | S::RcptDesc
            | S::SizeDesc
            | S::AttachDesc
            | S::FlagDesc
            | S::PriorityDesc
            | S::ReadDesc
            | S::IdDesc
            | S::TaskDueDesc
            | S::TaskStatusDesc
            | S::TaskPercCompletedDesc
            | S::RecentlyViewed
    )
}

/// Compares two sort values: as numbers when both are, else as text.
fn compare_values(a: &str, b: &str) -> Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Where a page that continues after `cursor` starts in `matched` (sorted by `sort`):
/// just past the cursor item (or its conversation, when `by_conv`) when it is there;
/// else past every match whose sort value comes before or at `cursor_value`, ties broken
/// by item id; else at the start.
pub(super) fn cursor_position(
    matched: &[&MessageMeta],
    cursor: ItemId,
    cursor_value: Option<&str>,
    sort: SortBy,
    by_conv: bool,
) -> usize {
    let is_cursor = |m: &MessageMeta| {
        m.id == cursor || (by_conv && (m.conv == cursor || ItemId(-m.id.0) == cursor))
    };
    if let Some(p) = matched.iter().position(|m| is_cursor(m)) {
        return p + 1;
    }
    let Some(value) = cursor_value else {
        return 0;
    };
    let asc = ascending(sort);
    matched
        .iter()
        .position(|m| {
            let o = compare_values(&sort_value(m, sort), value).then(m.id.cmp(&cursor));
            if asc {
                o == Ordering::Greater
            } else {
                o == Ordering::Less
            }
        })
        .unwrap_or(matched.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_names_round_trip() {
        for (s, name) in SortBy::ALL {
            assert_eq!(SortBy::parse(name), Some(s));
            assert_eq!(SortBy::parse(&name.to_uppercase()), Some(s));
            assert_eq!(s.as_str(), name);
        }
        assert_eq!(SortBy::parse("bogus"), None);
        // Not orders in Zimbra's server either: they fall back (or fault in `sort:`).
        for name in [
            "score",
            "durAsc",
            "nameLocalizedAsc",
            "nameLocalizedDesc",
            "",
        ] {
            assert_eq!(SortBy::parse(name), None, "{name}");
        }
        assert!(SortBy::TaskDueDesc.is_task() && !SortBy::DateDesc.is_task());
        assert!(SortBy::TaskStatusAsc.is_ascending() && !SortBy::RecentlyViewed.is_ascending());
    }

    #[test]
    fn the_effective_sort_is_zimbras() {
        let q = |t: &str| zcs_index::query::parse(t).expect("query");
        let d = SortBy::NameAsc;
        assert_eq!(effective_sort(&q("x"), None, d), Ok(d));
        assert_eq!(
            effective_sort(&q("x"), Some("subjAsc"), d),
            Ok(SortBy::SubjAsc)
        );
        // An unknown request order is the default of Zimbra's server, not the caller's.
        assert_eq!(
            effective_sort(&q("x"), Some("score"), d),
            Ok(SortBy::DateDesc)
        );
        assert_eq!(
            effective_sort(&q("x"), Some("bogus"), d),
            Ok(SortBy::DateDesc)
        );
        // The query's clause wins; an unknown one is an error.
        let sorted = q("x sort:sizeAsc");
        assert_eq!(
            effective_sort(&sorted, Some("subjAsc"), d),
            Ok(SortBy::SizeAsc)
        );
        assert_eq!(
            effective_sort(&q("x sort:score"), None, d),
            Err("score".to_string())
        );
        // Reading order with is:unread is the date order.
        let unread = q("in:inbox is:unread");
        assert_eq!(
            effective_sort(&unread, Some("readAsc"), d),
            Ok(SortBy::DateDesc)
        );
        assert_eq!(
            effective_sort(&q("-is:unread"), Some("readDesc"), d),
            Ok(SortBy::DateDesc)
        );
        assert_eq!(
            effective_sort(&q("is:read"), Some("readDesc"), d),
            Ok(SortBy::ReadDesc)
        );
        assert_eq!(
            effective_sort(&q("is:unread sort:readAsc"), None, d),
            Ok(SortBy::ReadAsc)
        );
    }

    #[test]
    fn cursor_resumes_past_a_vanished_item() {
        let msg = |id: i32, date: i64| MessageMeta {
            id: ItemId(id),
            folder: ItemId(2),
            imap_uid: 0,
            flags: Flags(0),
            tags: Vec::new(),
            internal_date_ms: date,
            size: 0,
            modseq: 0,
            blob_digest: String::new(),
            subject: String::new(),
            sender: String::new(),
            recipients: String::new(),
            message_id: None,
            conv: ItemId(-id),
        };
        let all = [msg(5, 500), msg(4, 400), msg(3, 300), msg(2, 200)];
        let refs: Vec<&MessageMeta> = all.iter().collect();
        let s = SortBy::DateDesc;
        assert_eq!(cursor_position(&refs, ItemId(4), None, s, false), 2);
        // Item 4 is gone: resume after its date.
        let gone: Vec<&MessageMeta> = refs.iter().copied().filter(|m| m.id.0 != 4).collect();
        assert_eq!(cursor_position(&gone, ItemId(4), Some("400"), s, false), 1);
        assert_eq!(cursor_position(&gone, ItemId(4), None, s, false), 0);
        assert_eq!(sort_value(&all[0], SortBy::SizeAsc), "0");
    }

    #[test]
    fn permutations_match_the_full_sort_in_both_directions() {
        let msg = |id: i32, date: i64, subject: &str, flags: u32| MessageMeta {
            id: ItemId(id),
            folder: ItemId(2),
            imap_uid: 0,
            flags: Flags(flags),
            tags: Vec::new(),
            internal_date_ms: date,
            size: (id % 3) as u64,
            modseq: 0,
            blob_digest: String::new(),
            subject: subject.into(),
            sender: format!("S{}", id % 2),
            recipients: String::new(),
            message_id: None,
            conv: ItemId(-id),
        };
        let all = [
            msg(7, 100, "b", Flags::UNREAD),
            msg(3, 100, "B", 0),
            msg(9, 50, "a", Flags::FLAGGED | Flags::URGENT),
            msg(1, 300, "\u{e9}t\u{e9}", Flags::BULK),
            msg(5, 50, "A", Flags::UNREAD | Flags::ATTACHED),
        ];
        for (sort, _) in SortBy::ALL {
            let mut want: Vec<&MessageMeta> = all.iter().collect();
            sort_messages(&mut want, sort);
            let (twin, rev) = ascending_twin(sort);
            let perm = permutation(&all, twin);
            let mut got: Vec<&MessageMeta> = perm.iter().map(|&i| &all[i as usize]).collect();
            if rev {
                got.reverse();
            }
            let ids = |v: &[&MessageMeta]| v.iter().map(|m| m.id.0).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "{sort:?}");
        }
    }
}
