//! What the store reads out of an appointment's or task's VCALENDAR (RFC 5545), with
//! calcard: UID, SUMMARY, the first instance's start and end, whether it recurs,
//! ORGANIZER and ATTENDEEs; and RRULE expansion for time-range queries.
//!
//! Pure and deterministic: replay parses the same text into the same columns. The
//! VCALENDAR itself is stored whole; nothing here rewrites it.

use calcard::common::timezone::Tz;
use calcard::icalendar::dates::TimeOrDelta;
use calcard::icalendar::{
    ICalendar, ICalendarComponentType, ICalendarProperty, ICalendarRecurrenceRule, ICalendarValue,
};

/// The most instances expanded from one recurrence rule (for the item's span and for
/// a time-range query). LIMITATION: an unbounded RRULE is expanded from its DTSTART up
/// to this many instances, so ranges beyond them find nothing.
pub(crate) const MAX_INSTANCES: usize = 5000;

/// The summary columns of a calendar item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CalSummary {
    pub uid: String,
    pub summary: String,
    /// Start of the first instance, ms since the epoch (floating times read as UTC).
    pub start_ms: Option<i64>,
    /// End of the last instance; `None` when open-ended (unbounded RRULE) or unknown.
    pub end_ms: Option<i64>,
    pub recurring: bool,
    /// ORGANIZER address without `mailto:`.
    pub organizer: String,
    /// ATTENDEE addresses without `mailto:`.
    pub attendees: Vec<String>,
    /// Whether the main component is a VTODO (a task) rather than a VEVENT.
    pub is_task: bool,
}

/// Parses `ical` and reads its summary from the first VEVENT or VTODO.
///
/// # Errors
/// A message saying why when the text is not a VCALENDAR, has no VEVENT/VTODO, or the
/// component has no UID.
pub(crate) fn summarize(ical: &str) -> Result<CalSummary, String> {
    let cal = ICalendar::parse(ical).map_err(|_| "not a VCALENDAR".to_string())?;
    let comp = cal
        .components
        .iter()
        .find(|c| {
            matches!(
                c.component_type,
                ICalendarComponentType::VEvent | ICalendarComponentType::VTodo
            )
        })
        .ok_or_else(|| "no VEVENT or VTODO".to_string())?;
    let uid = comp
        .uid()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| "no UID".to_string())?
        .to_string();
    let text = |p: &ICalendarProperty| {
        comp.property(p)
            .and_then(|e| e.values.first())
            .and_then(|v| v.as_text())
            .unwrap_or_default()
            .to_string()
    };
    let summary = text(&ICalendarProperty::Summary);
    let organizer = strip_mailto(&text(&ICalendarProperty::Organizer));
    let attendees = comp
        .properties(&ICalendarProperty::Attendee)
        .filter_map(|e| e.values.first().and_then(|v| v.as_text()))
        .map(strip_mailto)
        .collect();
    let recurring = comp.is_recurrent();

    let instances = instances_of(&cal);
    let start_ms = instances.iter().map(|(s, _)| *s).min();
    let bounded = !recurring || instances.len() < MAX_INSTANCES;
    let end_ms = if bounded {
        instances.iter().map(|(_, e)| *e).max()
    } else {
        None
    };
    Ok(CalSummary {
        uid,
        summary,
        start_ms,
        end_ms,
        recurring,
        organizer,
        attendees,
        is_task: comp.component_type == ICalendarComponentType::VTodo,
    })
}

/// Every instance (start, end in ms) of the calendar's events and tasks, recurrences
/// expanded up to [`MAX_INSTANCES`]; floating times are read as UTC. Unparsable text
/// has none.
pub(crate) fn instances(ical: &str) -> Vec<(i64, i64)> {
    match ICalendar::parse(ical) {
        Ok(cal) => instances_of(&cal),
        Err(_) => Vec::new(),
    }
}

/// The most components of one item whose RRULE is expanded; the rules of any further
/// components are ignored (those components count as their first instance only).
/// A series is one rule plus RECURRENCE-ID overrides, so real items stay far below.
const MAX_RULES: usize = 4;

/// calcard walks up to 100,000 periods of a rule looking for its next instance, so a
/// rule that can never match (February 30th) costs that much work at every expansion.
/// Before expanding, the rules that cannot match any date are dropped ("no more
/// instances" after DTSTART, as Zimbra does with a rule that yields nothing) and only
/// [`MAX_RULES`] rules per item are kept. LIMITATION: a rule that can match but very
/// rarely, or one whose impossibility needs BYDAY/BYSETPOS reasoning, is still walked
/// by calcard; the store runs the expansion off the async workers.
fn bounded(cal: &ICalendar) -> Option<ICalendar> {
    let is_rule = |e: &calcard::icalendar::ICalendarEntry| e.name == ICalendarProperty::Rrule;
    let needs = cal
        .components
        .iter()
        .filter(|c| c.entries.iter().any(is_rule))
        .enumerate()
        .any(|(i, c)| i >= MAX_RULES || c.entries.iter().any(impossible_entry));
    if !needs {
        return None;
    }
    let mut cal = cal.clone();
    let mut kept = 0;
    for c in &mut cal.components {
        if !c.entries.iter().any(is_rule) {
            continue;
        }
        if kept >= MAX_RULES {
            c.entries.retain(|e| !is_rule(e));
            continue;
        }
        c.entries.retain(|e| !is_rule(e) || !impossible_entry(e));
        if c.entries.iter().any(is_rule) {
            kept += 1;
        }
    }
    Some(cal)
}

fn impossible_entry(e: &calcard::icalendar::ICalendarEntry) -> bool {
    e.name == ICalendarProperty::Rrule
        && e.values.iter().any(|v| match v {
            ICalendarValue::RecurrenceRule(r) => impossible(r),
            _ => false,
        })
}

/// Whether a rule's BYMONTH/BYMONTHDAY/BYYEARDAY/BYWEEKNO parts exclude every date of
/// every (leap or common) Gregorian year.
fn impossible(r: &ICalendarRecurrenceRule) -> bool {
    if r.rscale.is_some() {
        return false;
    }
    // Days in each month in a leap year (the most any year has).
    const LEN: [i32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let months: Vec<usize> = if r.bymonth.is_empty() {
        (1..=12).collect()
    } else {
        r.bymonth
            .iter()
            .filter(|m| !m.is_leap() && (1..=12).contains(&m.month()))
            .map(|m| usize::from(m.month()))
            .collect()
    };
    if months.is_empty() {
        return true;
    }
    if !r.bymonthday.is_empty()
        && !months.iter().any(|&m| {
            r.bymonthday
                .iter()
                .any(|&d| d != 0 && i32::from(d).abs() <= LEN[m - 1])
        })
    {
        return true;
    }
    // Ordinal ranges a month covers over common and leap years (1-based, inclusive).
    let span = |m: usize| {
        let before: i32 = LEN[..m - 1].iter().sum();
        let first = if m > 2 { before } else { before + 1 };
        (first, before + LEN[m - 1])
    };
    if !r.byyearday.is_empty() && !r.bymonth.is_empty() {
        let fits = months.iter().any(|&m| {
            let (lo, hi) = span(m);
            r.byyearday.iter().any(|&d| {
                let d = i32::from(d);
                // A negative day counts from the year's end (365 or 366 days).
                let (dlo, dhi) = if d < 0 { (366 + d, 367 + d) } else { (d, d) };
                dhi >= lo && dlo <= hi
            })
        });
        if !fits {
            return true;
        }
    }
    if !r.byweekno.is_empty() && !r.bymonth.is_empty() {
        let fits = months.iter().any(|&m| {
            let (lo, hi) = span(m);
            r.byweekno.iter().any(|&w| {
                let w = i32::from(w);
                // Week w of a year spans ordinals about 7w-9 ..= 7w+3 (ISO weeks start up
                // to three days before or after January 1st); negative weeks count back.
                let (wlo, whi) = if w < 0 {
                    (366 + 7 * w - 9, 367 + 7 * (w + 1) + 3)
                } else {
                    (7 * w - 9, 7 * w + 3)
                };
                // A week may reach into the previous or the next year.
                let overlaps = |a: i32, b: i32| b >= lo && a <= hi;
                overlaps(wlo, whi)
                    || overlaps(wlo + 365, whi + 366)
                    || overlaps(wlo - 366, whi - 365)
            })
        });
        if !fits {
            return true;
        }
    }
    false
}

fn instances_of(cal: &ICalendar) -> Vec<(i64, i64)> {
    let owned = bounded(cal);
    let cal = owned.as_ref().unwrap_or(cal);
    let expanded = cal.expand_dates(Tz::UTC, MAX_INSTANCES);
    expanded
        .events
        .iter()
        .map(|ev| {
            let start = ev.start.timestamp_millis();
            let end = match &ev.end {
                TimeOrDelta::Time(t) => t.timestamp_millis(),
                TimeOrDelta::Delta(d) => start.saturating_add(d.num_milliseconds()),
            };
            (start, end.max(start))
        })
        .collect()
}

fn strip_mailto(v: &str) -> String {
    match v.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => rest.to_string(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//test//EN\r\n\
        BEGIN:VEVENT\r\nUID:ev-1@example.com\r\nDTSTAMP:20261201T090000Z\r\n\
        DTSTART:20261210T100000Z\r\nDTEND:20261210T110000Z\r\nSUMMARY:Planning\r\n\
        ORGANIZER:mailto:alice@example.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reads_a_single_event() {
        let s = summarize(EVENT).unwrap();
        assert_eq!(s.uid, "ev-1@example.com");
        assert_eq!(s.summary, "Planning");
        assert_eq!(s.organizer, "alice@example.com");
        assert_eq!(s.attendees, vec!["bob@example.com"]);
        assert!(!s.recurring);
        assert!(!s.is_task);
        assert_eq!(s.start_ms, Some(1_796_896_800_000));
        assert_eq!(s.end_ms, Some(1_796_900_400_000));
    }

    #[test]
    fn weekly_rule_expands() {
        let ical = EVENT.replace(
            "SUMMARY:Planning",
            "SUMMARY:Weekly\r\nRRULE:FREQ=WEEKLY;COUNT=4",
        );
        let s = summarize(&ical).unwrap();
        assert!(s.recurring);
        let inst = instances(&ical);
        assert_eq!(inst.len(), 4);
        assert_eq!(s.end_ms, Some(1_796_900_400_000 + 3 * 7 * 86_400_000));
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(summarize("hello").is_err());
        assert!(summarize("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").is_err());
        let no_uid = EVENT.replace("UID:ev-1@example.com\r\n", "");
        assert!(summarize(&no_uid).is_err());
    }

    fn rule_event(uid: &str, rule: &str) -> String {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:20300101T100000Z\r\n\
             DTEND:20300101T110000Z\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"
        )
    }

    #[test]
    fn never_matching_rules_cost_nothing() {
        // Attack review: 8 such events made an 877-byte upload stall the server for
        // seconds, each rule walked 100,000 years by calcard.
        let rules = [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31,-31",
            "FREQ=MONTHLY;BYMONTH=2,4,6,9,11;BYMONTHDAY=31",
            "FREQ=YEARLY;BYMONTH=1;BYYEARDAY=60",
            "FREQ=YEARLY;BYMONTH=6;BYWEEKNO=1",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-30",
        ];
        let mut ical = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for i in 0..8 {
            ical.push_str(&rule_event("same", rules[i % rules.len()]));
        }
        ical.push_str("END:VCALENDAR\r\n");
        let t0 = std::time::Instant::now();
        let s = summarize(&ical).unwrap();
        let inst = instances(&ical);
        assert!(
            t0.elapsed() < std::time::Duration::from_millis(500),
            "{:?}",
            t0.elapsed()
        );
        assert!(s.recurring);
        assert_eq!(s.start_ms, inst.iter().map(|i| i.0).min());
        assert!(!inst.is_empty() && inst.len() <= 8, "{}", inst.len());
    }

    #[test]
    fn possible_rules_are_kept_and_extra_rules_ignored() {
        for rule in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",
            "FREQ=YEARLY;BYMONTH=3;BYYEARDAY=60;COUNT=2",
            "FREQ=YEARLY;BYMONTH=12;BYWEEKNO=1;COUNT=2",
            "FREQ=YEARLY;BYMONTH=12;BYYEARDAY=-1;COUNT=2",
        ] {
            let r = ICalendar::parse(format!(
                "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
                rule_event("x", rule)
            ))
            .unwrap();
            let rr = r.components.iter().find_map(|c| {
                c.entries.iter().find_map(|e| match e.values.first() {
                    Some(ICalendarValue::RecurrenceRule(r)) => Some(r.clone()),
                    _ => None,
                })
            });
            assert!(!impossible(&rr.unwrap()), "{rule}");
        }
        let mut ical = String::from("BEGIN:VCALENDAR\r\n");
        for i in 0..(MAX_RULES + 3) {
            ical.push_str(&rule_event(&format!("u{i}"), "FREQ=DAILY;COUNT=3"));
        }
        ical.push_str("END:VCALENDAR\r\n");
        assert_eq!(instances(&ical).len(), MAX_RULES * 3 + 3);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = summarize(&s);
            let _ = instances(&s);
        }
    }
}
