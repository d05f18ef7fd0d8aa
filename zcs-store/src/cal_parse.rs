//! What the store reads out of an appointment's or task's VCALENDAR (RFC 5545), with
//! calcard: UID, SUMMARY, the first instance's start and end, whether it recurs,
//! ORGANIZER and ATTENDEEs; and RRULE expansion for time-range queries.
//!
//! Pure and deterministic: replay parses the same text into the same columns. The
//! VCALENDAR itself is stored whole; nothing here rewrites it.

use calcard::common::timezone::Tz;
use calcard::icalendar::dates::TimeOrDelta;
use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarProperty};

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

fn instances_of(cal: &ICalendar) -> Vec<(i64, i64)> {
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

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = summarize(&s);
            let _ = instances(&s);
        }
    }
}
