//! Appointments and tasks in Zimbra's archive form (ArchiveFormatter with metadata, the
//! default): an item is two entries, `<folder>/<id, 10 digits>-<subject>.appt` (or
//! `.task`) after its `.appt.meta`. The `.meta` is the item's row as JSON (type 11 or
//! 15) whose `metadata` is the calendar item's bencoded dictionary: `u` the UID, `aps`
//! and `ape` the first start and last end (ms), `nc` the number of components and
//! `inv0`, `inv1`, ... one per invite (`u`, `n` summary, `st`/`et` start and end, `l`
//! location, `it` item type, `mid` the invite's part, ...). The `.appt` entry is the
//! item's blob: a `multipart/digest` whose `message/rfc822` parts, each with an `invId`
//! header, hold an invite message whose `text/calendar` part is the iCalendar.
//!
//! This module writes that form for our exports (the iCalendar kept whole inside the
//! digest) and reads it back: the iCalendar of the digest's parts when there is one,
//! else a VCALENDAR rebuilt from the invites in the metadata. With `meta=0` Zimbra
//! writes an appointment as plain `.ics` and a task as `.task` holding iCalendar text;
//! [`calendars_in`] reads those too.
// LIMITATION: a VCALENDAR rebuilt from metadata alone (an archive without the blob)
// carries the UID, summary, location, start, end, status and recurrence id only; its
// recurrence rules, attendees and alarms are left out.

use std::fmt::Write as _;

use mail_parser::MimeHeaders;

use super::meta::{Ben, bdecode, kind};

/// The `.meta` our export writes before an appointment's or task's `.appt`/`.task`
/// entry, in the folder at `folder_path`.
pub fn cal_meta(item: &zcs_store::CalItem, folder_path: &str) -> Vec<u8> {
    let task = item.kind == zcs_core::ItemKind::Task;
    let path = if folder_path.ends_with('/') {
        folder_path.to_string()
    } else {
        format!("{folder_path}/")
    };
    let start = item.start_ms.unwrap_or(0);
    let end = item.end_ms.unwrap_or(start);
    let kind = if task { kind::TASK } else { kind::APPOINTMENT };
    let mut inv = Dict::default();
    inv.int("it", kind);
    inv.str("u", &item.uid);
    inv.int("mid", i64::from(item.id.0));
    inv.int("comp", 0);
    inv.str("n", &item.summary);
    if let Some(s) = item.start_ms {
        inv.str("st", &utc_stamp(s));
    }
    if let Some(e) = item.end_ms {
        inv.str("et", &utc_stamp(e));
    }
    inv.str("mthd", "PUBLISH");
    let mut md = Dict::default();
    md.str("u", &item.uid);
    md.int("aps", start);
    md.int("ape", end);
    md.int("nc", 1);
    md.raw("inv0", &inv.finish());
    md.int("v", 10);
    serde_json::json!({
        "type": kind, "id": item.id.0, "Path": path, "subject": item.summary,
        "date": start / 1000, "flags": item.flags.0, "FlagStr": item.flags.to_soap(),
        "TagNames": "", "unread": 0, "metadata": md.finish(), "Ver": 10,
    })
    .to_string()
    .into_bytes()
}

/// The `.appt`/`.task` entry our export writes: a `multipart/digest` (RFC 2046 §5.1.5)
/// with one `message/rfc822` part (`invId` header, as Zimbra's blob) whose body is the
/// VCALENDAR as a `text/calendar` message (RFC 6047 §2.4).
pub fn cal_blob(item: &zcs_store::CalItem) -> Vec<u8> {
    let boundary = format!("=_zcs_digest_{}", item.id.0);
    let subject: String = item
        .summary
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: message/rfc822\r\ninvId: {id}\r\n\r\n\
         MIME-Version: 1.0\r\nSubject: {subject}\r\n\
         Content-Type: text/calendar; charset=utf-8; method=PUBLISH\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n",
        id = item.id.0,
    );
    out.push_str(&item.ical);
    if !item.ical.ends_with('\n') {
        out.push_str("\r\n");
    }
    let _ = write!(out, "--{boundary}--\r\n");
    out.into_bytes()
}

/// The VCALENDARs an archive entry holds: the entry itself when it is iCalendar text,
/// else every `text/calendar` part of the MIME message it is (nested messages
/// included), else every `BEGIN:VCALENDAR` ... `END:VCALENDAR` span in it.
pub fn calendars_in(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if starts_with_ignore_case(trimmed, "BEGIN:VCALENDAR") {
        return vec![trimmed.to_string()];
    }
    let mut found = Vec::new();
    if let Some(msg) = mail_parser::MessageParser::default().parse(data) {
        calendar_parts(&msg, &mut found, 0);
    }
    if found.is_empty() {
        found = spans(&text);
    }
    found
}

/// Nesting of messages inside messages followed before giving up.
const MAX_NESTING: usize = 8;

fn calendar_parts(msg: &mail_parser::Message<'_>, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    for part in &msg.parts {
        if let Some(inner) = part.message() {
            calendar_parts(inner, out, depth + 1);
            continue;
        }
        let is_cal = part.is_content_type("text", "calendar");
        if is_cal {
            let mut body = String::from_utf8_lossy(part.contents()).into_owned();
            if body.to_ascii_uppercase().contains("BEGIN:VCALENDAR") {
                // The line break before a MIME boundary belongs to the boundary (RFC 2046
                // §5.1.1), but every iCalendar line ends with one (RFC 5545 §3.1).
                if !body.ends_with('\n') {
                    body.push_str("\r\n");
                }
                out.push(body);
            }
        }
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Each `BEGIN:VCALENDAR` ... `END:VCALENDAR` span of `text`.
fn spans(text: &str) -> Vec<String> {
    let upper = text.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(b) = upper[from..].find("BEGIN:VCALENDAR") {
        let start = from + b;
        let Some(e) = upper[start..].find("END:VCALENDAR") else {
            break;
        };
        let end = start + e + "END:VCALENDAR".len();
        out.push(format!("{}\r\n", &text[start..end]));
        from = end;
    }
    out
}

/// A VCALENDAR (RFC 5545 §3.4) rebuilt from a calendar item's `.meta` when its blob is
/// missing: one VEVENT or VTODO per invite of the metadata. `None` when the metadata
/// holds no UID.
pub fn calendar_from_meta(meta_json: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(meta_json).ok()?;
    let o = v.as_object()?;
    let task = o.get("type").and_then(serde_json::Value::as_i64) == Some(kind::TASK);
    let md = bdecode(o.get("metadata")?.as_str()?)?;
    let uid = text(&md, "u")?;
    let comp = if task { "VTODO" } else { "VEVENT" };
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//archive//EN\r\n");
    let count = md.get("nc").and_then(Ben::int).unwrap_or(1).clamp(0, 100);
    let mut written = 0;
    for n in 0..count {
        let Some(inv) = md.get(&format!("inv{n}")) else {
            continue;
        };
        let _ = write!(out, "BEGIN:{comp}\r\n");
        line(
            &mut out,
            "UID",
            &text(inv, "u").unwrap_or_else(|| uid.clone()),
        );
        for (key, prop) in [("n", "SUMMARY"), ("l", "LOCATION"), ("status", "STATUS")] {
            if let Some(t) = text(inv, key).filter(|t| !t.is_empty()) {
                line(&mut out, prop, &t);
            }
        }
        for (key, prop) in [("st", "DTSTART"), ("et", "DTEND"), ("dts", "DTSTAMP")] {
            if let Some(t) = text(inv, key).filter(|t| !t.is_empty()) {
                let prop = if task && prop == "DTEND" { "DUE" } else { prop };
                date_line(&mut out, prop, &t);
            }
        }
        if let Some(Ben::Dict(rid)) = inv.get("rid")
            && let Some(Ben::Str(dt)) = rid.get("rid").or_else(|| rid.get("dt"))
        {
            date_line(&mut out, "RECURRENCE-ID", dt);
        }
        let _ = write!(out, "END:{comp}\r\n");
        written += 1;
    }
    if written == 0 {
        let _ = write!(out, "BEGIN:{comp}\r\n");
        line(&mut out, "UID", &uid);
        if let Some(s) = o.get("subject").and_then(serde_json::Value::as_str) {
            line(&mut out, "SUMMARY", s);
        }
        if let Some(ms) = md.get("aps").and_then(Ben::int).filter(|m| *m > 0) {
            line(&mut out, "DTSTART", &utc_stamp(ms));
        }
        let _ = write!(out, "END:{comp}\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    Some(out)
}

fn text(b: &Ben, key: &str) -> Option<String> {
    match b.get(key)? {
        Ben::Str(s) => Some(s.clone()),
        Ben::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A content line with its value escaped (RFC 5545 §3.3.11); folding is left to the
/// store's parser, which accepts long lines.
fn line(out: &mut String, name: &str, value: &str) {
    let v = value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n");
    let _ = write!(out, "{name}:{v}\r\n");
}

/// A date property from Zimbra's ParsedDateTime text: `20260110T100000Z`, a bare date,
/// or `TZID="Zone":20260110T100000` (the zone kept as a TZID parameter).
fn date_line(out: &mut String, name: &str, value: &str) {
    let (params, dt) = match value.rsplit_once(':') {
        Some((p, d)) => (p, d),
        None => ("", value),
    };
    let dt: String = dt
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    if dt.is_empty() {
        return;
    }
    let tz = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("TZID="))
        .map(|z| z.trim_matches('"'))
        .filter(|z| !z.is_empty() && !z.contains(['\r', '\n', ':', ';', '"']));
    let date_only = dt.len() == 8;
    match (tz, date_only) {
        (_, true) => {
            let _ = write!(out, "{name};VALUE=DATE:{dt}\r\n");
        }
        (Some(z), false) => {
            let _ = write!(out, "{name};TZID={z}:{dt}\r\n");
        }
        (None, false) => {
            let _ = write!(out, "{name}:{dt}\r\n");
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` of a time in ms (RFC 5545 §3.3.5, UTC form).
fn utc_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// A bencoded dictionary being written (keys must come sorted: callers add them in
/// order through [`Dict::finish`], which sorts).
#[derive(Default)]
struct Dict {
    entries: Vec<(String, String)>,
}

impl Dict {
    fn str(&mut self, k: &str, v: &str) {
        self.entries.push((k.into(), format!("{}:{v}", v.len())));
    }

    fn int(&mut self, k: &str, v: i64) {
        self.entries.push((k.into(), format!("i{v}e")));
    }

    fn raw(&mut self, k: &str, encoded: &str) {
        self.entries.push((k.into(), encoded.into()));
    }

    fn finish(mut self) -> String {
        self.entries.sort();
        let mut out = String::from("d");
        for (k, v) in self.entries {
            let _ = write!(out, "{}:{k}{v}", k.len());
        }
        out.push('e');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zcs_core::{Flags, ItemId, ItemKind};

    const ICAL: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u-1\r\n\
        SUMMARY:Plan; review\r\nDTSTART:20260110T100000Z\r\nDTEND:20260110T110000Z\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    fn item() -> zcs_store::CalItem {
        zcs_store::CalItem {
            id: ItemId(300),
            kind: ItemKind::Appointment,
            folder: ItemId(10),
            flags: Flags(0),
            uid: "u-1".into(),
            summary: "Plan; review".into(),
            start_ms: Some(1_768_039_200_000),
            end_ms: Some(1_768_042_800_000),
            recurring: false,
            organizer: String::new(),
            attendees: Vec::new(),
            ical: ICAL.into(),
            modseq: 1,
        }
    }

    #[test]
    fn our_blob_and_meta_read_back() {
        let it = item();
        let blob = cal_blob(&it);
        assert_eq!(calendars_in(&blob), vec![ICAL.to_string()]);
        let meta = cal_meta(&it, "/Calendar");
        let m = super::super::meta::parse_meta(&meta).expect("meta");
        assert_eq!((m.kind, m.path.as_str()), (kind::APPOINTMENT, "/Calendar/"));
        let rebuilt = calendar_from_meta(&meta).expect("rebuilt");
        assert!(rebuilt.contains("UID:u-1\r\n"), "{rebuilt}");
        assert!(rebuilt.contains("SUMMARY:Plan\\; review\r\n"), "{rebuilt}");
        assert!(
            rebuilt.contains("DTSTART:20260110T100000Z\r\n"),
            "{rebuilt}"
        );
    }

    #[test]
    fn zimbra_metadata_with_a_zone_and_a_task() {
        let mut inv = Dict::default();
        inv.str("n", "Todo");
        inv.str("st", "TZID=\"Europe/Paris\":20260110T090000");
        inv.str("u", "t-1");
        let mut md = Dict::default();
        md.str("u", "t-1");
        md.int("aps", 0);
        md.int("nc", 1);
        md.raw("inv0", &inv.finish());
        let md = md.finish();
        let meta = serde_json::json!({"type": 15, "metadata": md}).to_string();
        let cal = calendar_from_meta(meta.as_bytes()).expect("cal");
        assert!(cal.contains("BEGIN:VTODO\r\n"), "{cal}");
        assert!(
            cal.contains("DTSTART;TZID=Europe/Paris:20260110T090000\r\n"),
            "{cal}"
        );
        assert!(calendar_from_meta(b"{\"type\":11,\"metadata\":\"de\"}").is_none());
    }

    #[test]
    fn plain_ics_and_embedded_spans() {
        assert_eq!(calendars_in(ICAL.as_bytes()).len(), 1);
        let junk = format!("garbage\r\n{ICAL}more");
        assert_eq!(calendars_in(junk.as_bytes()).len(), 1);
        assert!(calendars_in(b"nothing here").is_empty());
    }

    proptest! {
        #[test]
        fn readers_never_panic(
            b in proptest::collection::vec(any::<u8>(), 0..400),
            s in ".{0,80}",
        ) {
            let _ = calendars_in(&b);
            let _ = calendar_from_meta(&b);
            let meta = serde_json::json!({"type": 11, "metadata": s}).to_string();
            let _ = calendar_from_meta(meta.as_bytes());
            let mut out = String::new();
            date_line(&mut out, "DTSTART", &s);
        }
    }
}
