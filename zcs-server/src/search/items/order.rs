//! The order of contact, appointment and task hits (`SearchRequest sortBy` over
//! `types=contact|appointment|task`), after Zimbra's comparators:
//! - names (`nameAsc`/`nameDesc`, and `subjAsc`/`subjDesc`) compare as a collator
//!   does: letters first without case or accents (`Émile` between `Elise` and `Fred`),
//!   then accents, then case; a contact's name is its file-as name, an appointment's or
//!   task's its summary. This is locale-independent, where Zimbra's localized contact
//!   sort takes the account's locale.
//! - dates: a calendar item's first instance in the window (else its start; none last),
//!   a contact's id (its creation order);
//! - the task orders: due date (none first), status (needs action, in progress,
//!   waiting, deferred, completed; an unknown or missing status counts as deferred, as
//!   in Zimbra), percent complete (none is 0);
//! - anything else: item id.
//!
//! Ties break on item id in the order's direction.

use std::cmp::Ordering;

use zcs_store::CalItem;

use super::{ItemHit, contact_name, ical_prop};
use crate::search::SearchError;
use crate::search::SortBy;

/// The value an item is ordered on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// Collation levels: base letters, then accents, then case.
    Text(String, String, String),
    Number(i64),
}

/// A collation key for `name`: folded (no case, no accents), lower-cased, as written.
fn name_key(name: &str) -> Key {
    Key::Text(
        zcs_index::fold::fold(name),
        name.to_lowercase(),
        name.to_string(),
    )
}

/// The key of `h` under `sort`, or `None` when the order cannot sort it (a task order
/// meeting a contact or appointment).
fn key(h: &ItemHit, sort: SortBy) -> Option<Key> {
    use SortBy as S;
    let task = |h: &ItemHit| match h {
        ItemHit::Cal(c, _) if c.kind == zcs_core::ItemKind::Task => Some(c.clone()),
        _ => None,
    };
    Some(match sort {
        S::NameAsc | S::NameDesc | S::SubjAsc | S::SubjDesc => match h {
            ItemHit::Contact(c) => name_key(&contact_name(c)),
            ItemHit::Cal(c, _) => name_key(&c.summary),
        },
        S::DateAsc | S::DateDesc | S::RecentlyViewed => match h {
            ItemHit::Cal(c, inst) => {
                Key::Number(inst.first().map(|i| i.0).or(c.start_ms).unwrap_or(i64::MAX))
            }
            ItemHit::Contact(c) => Key::Number(i64::from(c.id.0)),
        },
        S::TaskDueAsc | S::TaskDueDesc => Key::Number(due_ms(&task(h)?)),
        S::TaskStatusAsc | S::TaskStatusDesc => Key::Number(status_rank(&task(h)?)),
        S::TaskPercCompletedAsc | S::TaskPercCompletedDesc => {
            Key::Number(percent_complete(&task(h)?))
        }
        _ => Key::Number(i64::from(h.id().0)),
    })
}

/// Sorts `v` by `sort`.
///
/// # Errors
/// [`SearchError::TaskSortOfOther`] when `sort` is a task order and `v` holds something
/// other than a task (Zimbra's `service.FAILURE`).
pub(super) fn sort_items(v: &mut [ItemHit], sort: SortBy) -> Result<(), SearchError> {
    let mut keyed = Vec::with_capacity(v.len());
    for h in v.iter() {
        keyed.push((key(h, sort).ok_or(SearchError::TaskSortOfOther)?, h.id()));
    }
    let mut perm: Vec<usize> = (0..v.len()).collect();
    let asc = sort.is_ascending();
    perm.sort_by(|&a, &b| {
        let o: Ordering = keyed[a].cmp(&keyed[b]);
        if asc { o } else { o.reverse() }
    });
    let sorted: Vec<ItemHit> = perm.iter().map(|&i| v[i].clone()).collect();
    for (slot, h) in v.iter_mut().zip(sorted) {
        *slot = h;
    }
    Ok(())
}

/// A task's DUE (ms; a date alone is its midnight, times are read as UTC), else the
/// end the store worked out, else 0.
pub(crate) fn due_ms(c: &CalItem) -> i64 {
    parse_ical_time(&ical_prop(&c.ical, "DUE"))
        .or(c.end_ms)
        .unwrap_or(0)
}

/// `YYYYMMDD` or `YYYYMMDDTHHMMSS[Z]` in ms (RFC 5545 §3.3.4, §3.3.5); a TZID is not
/// applied (the time is read as UTC, as the store reads floating times).
fn parse_ical_time(v: &str) -> Option<i64> {
    let v = v.trim().trim_end_matches('Z');
    let (date, time) = v.split_once('T').unwrap_or((v, "000000"));
    let d = chrono::NaiveDate::parse_from_str(date, "%Y%m%d").ok()?;
    let t = chrono::NaiveTime::parse_from_str(time, "%H%M%S").ok()?;
    Some(d.and_time(t).and_utc().timestamp_millis())
}

/// A task's STATUS as Zimbra ranks it for sorting (RFC 5545 §3.8.1.11 values, and
/// Zimbra's own waiting/deferred extensions).
pub(crate) fn status_rank(c: &CalItem) -> i64 {
    match ical_prop(&c.ical, "STATUS")
        .trim()
        .to_ascii_uppercase()
        .as_str()
    {
        "NEEDS-ACTION" => 0,
        "IN-PROCESS" => 1,
        "X-ZIMBRA-STATUS-WAITING" | "X-ZIMBRA-WAITING" | "WAITING" => 2,
        "COMPLETED" => 4,
        _ => 3,
    }
}

/// A task's PERCENT-COMPLETE (RFC 5545 §3.8.1.8), 0 when absent or unreadable.
pub(crate) fn percent_complete(c: &CalItem) -> i64 {
    ical_prop(&c.ical, "PERCENT-COMPLETE")
        .trim()
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Flags, ItemId, ItemKind};

    fn task(id: i32, props: &str) -> ItemHit {
        ItemHit::Cal(
            CalItem {
                id: ItemId(id),
                kind: ItemKind::Task,
                folder: ItemId(15),
                flags: Flags(0),
                uid: format!("u{id}"),
                summary: format!("t{id}"),
                start_ms: None,
                end_ms: None,
                recurring: false,
                organizer: String::new(),
                attendees: Vec::new(),
                ical: format!(
                    "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\n{props}END:VTODO\r\nEND:VCALENDAR\r\n"
                ),
                modseq: 1,
            },
            Vec::new(),
        )
    }

    fn ids(v: &[ItemHit]) -> Vec<i32> {
        v.iter().map(|h| h.id().0).collect()
    }

    #[test]
    fn task_orders_follow_due_status_and_percent() {
        let mut v = vec![
            task(
                1,
                "DUE:20261210T100000Z\r\nSTATUS:COMPLETED\r\nPERCENT-COMPLETE:100\r\n",
            ),
            task(
                2,
                "DUE;VALUE=DATE:20261201\r\nSTATUS:IN-PROCESS\r\nPERCENT-COMPLETE:40\r\n",
            ),
            task(3, "STATUS:NEEDS-ACTION\r\n"),
            task(4, "DUE:20261205T000000\r\nPERCENT-COMPLETE:5\r\n"),
        ];
        sort_items(&mut v, SortBy::TaskDueAsc).expect("tasks");
        assert_eq!(ids(&v), [3, 2, 4, 1], "no due date first");
        sort_items(&mut v, SortBy::TaskDueDesc).expect("tasks");
        assert_eq!(ids(&v), [1, 4, 2, 3]);
        sort_items(&mut v, SortBy::TaskStatusAsc).expect("tasks");
        assert_eq!(ids(&v), [3, 2, 4, 1], "no status ranks as deferred");
        sort_items(&mut v, SortBy::TaskStatusDesc).expect("tasks");
        assert_eq!(ids(&v), [1, 4, 2, 3]);
        sort_items(&mut v, SortBy::TaskPercCompletedAsc).expect("tasks");
        assert_eq!(ids(&v), [3, 4, 2, 1]);
        sort_items(&mut v, SortBy::TaskPercCompletedDesc).expect("tasks");
        assert_eq!(ids(&v), [1, 2, 4, 3]);
    }

    #[test]
    fn a_task_order_refuses_other_items() {
        let mut v = vec![task(1, ""), task(2, "")];
        if let ItemHit::Cal(c, _) = &mut v[1] {
            c.kind = ItemKind::Appointment;
        }
        assert!(matches!(
            sort_items(&mut v, SortBy::TaskDueAsc),
            Err(SearchError::TaskSortOfOther)
        ));
        assert!(sort_items(&mut v, SortBy::NameAsc).is_ok());
    }

    #[test]
    fn names_collate_without_case_or_accents_first() {
        let mut v: Vec<ItemHit> = ["zoe", "Émile", "Fred", "elise", "Eve", "émile"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut t = task(i as i32 + 1, "");
                if let ItemHit::Cal(c, _) = &mut t {
                    c.summary = (*n).to_string();
                }
                t
            })
            .collect();
        sort_items(&mut v, SortBy::NameAsc).expect("names");
        let names: Vec<String> = v
            .iter()
            .map(|h| match h {
                ItemHit::Cal(c, _) => c.summary.clone(),
                ItemHit::Contact(_) => String::new(),
            })
            .collect();
        assert_eq!(names, ["elise", "Émile", "émile", "Eve", "Fred", "zoe"]);
        sort_items(&mut v, SortBy::NameDesc).expect("names");
        assert_eq!(ids(&v), [1, 3, 5, 6, 2, 4]);
        assert_eq!(parse_ical_time("20261201"), Some(1_796_083_200_000));
        assert_eq!(parse_ical_time("bogus"), None);
    }
}
