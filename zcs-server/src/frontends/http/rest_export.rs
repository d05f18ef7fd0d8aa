//! The REST folder exports (Zimbra's UserServlet formatters) once `rest` has found the
//! folder and checked the caller may read it: `rss` (RSS 2.0), `atom` (RFC 4287), `json`,
//! `vcf` (vCard 3.0, RFC 2426), `csv` (contacts, `rest_csv`), `ics` (RFC 5545, with
//! `start=`/`end=` narrowing it to the items with an instance in the range), `ifb`
//! (free/busy as a VFREEBUSY, RFC 5545 §3.6.4) and the archives `zip`, `tgz`, `tar`
//! (`rest_archive_export`).
//!
//! Times in `start=`/`end=` are milliseconds since the epoch, a date (`2024-01-31`,
//! `2024/01/31`, `01/31/2024`) or relative to now (`-2week`, `+1month`, `p3d`, `m1h`),
//! as Zimbra's date specifiers.
//!
//! `query=` (Zimbra's search syntax) narrows an export to the matching messages,
//! contacts, appointments and tasks ([`Keep`]), inside what the folder export would have
//! written anyway: a search never widens what the caller may read.
//!
//! `ifb` reads, as Zimbra's IfbFormatter, every calendar of the account that is not
//! excluded from free/busy (folder flag `b`), or only the calendar `fb_cal=` names.
// LIMITATION: `query=` does not narrow documents in an archive or free/busy; `ifb` needs
// read access on the folder in the URL, where Zimbra answers anyone.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::response::Response;
use zcs_core::Entry;
use zcs_store::{Folder, Mailbox};

use super::csv_formats;
use super::rest::{Access, MAX_EXPORT_ITEMS, RestError, json, message_json, respond, store_err};
use super::rest_csv::{self, ExportCard};

const DAY_MS: i64 = 86_400_000;

/// The items a `query=` matched, or every item when there is no query.
#[derive(Debug, Default)]
pub(super) struct Keep(Option<std::collections::HashSet<zcs_core::ItemId>>);

impl Keep {
    /// Whether the export writes item `id`.
    pub(super) fn has(&self, id: zcs_core::ItemId) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(&id))
    }

    /// The items of `mb` that `query` (Zimbra's search syntax) matches: messages anywhere
    /// (Trash and Junk included), contacts, appointments and tasks.
    ///
    /// # Errors
    /// `BadRequest` for a query that does not parse; store or index failures.
    pub(super) async fn search(
        svc: &crate::soap::SoapService,
        mb: &Mailbox,
        query: &str,
    ) -> Result<Keep, RestError> {
        use crate::search::{ItemParams, SearchError, SearchParams};
        let fail = |e: SearchError| match e {
            SearchError::Parse(_) => RestError::BadRequest(format!("bad query: {e}")),
            other => {
                tracing::error!(error = %other, "REST export search failed");
                RestError::Failure
            }
        };
        let q = zcs_index::query::parse(query)
            .map_err(|e| RestError::BadRequest(format!("bad query: {e}")))?;
        let params = SearchParams {
            limit: MAX_EXPORT_ITEMS,
            include_trash: true,
            include_junk: true,
            count_total: false,
            ..SearchParams::default()
        };
        let mail = crate::search::search(mb, &svc.index, &q, &params)
            .await
            .map_err(fail)?;
        let mut ids: std::collections::HashSet<_> = mail.hits.iter().map(|m| m.id).collect();
        let params = ItemParams {
            kinds: vec![
                crate::search::ItemKind::Contact,
                crate::search::ItemKind::Appointment,
                crate::search::ItemKind::Task,
            ],
            limit: MAX_EXPORT_ITEMS,
            ..ItemParams::default()
        };
        let items = crate::search::search_items(mb, &q, &params)
            .await
            .map_err(fail)?;
        ids.extend(items.hits.iter().map(|h| h.id()));
        Ok(Keep(Some(ids)))
    }
}

/// Writes `folder` in `fmt`.
///
/// # Errors
/// `BadRequest` for an unknown format or range; store failures.
pub(super) async fn export(
    mb: &Mailbox,
    access: &Access,
    owner: &Entry,
    folder: &Folder,
    fmt: &str,
    query: &HashMap<String, String>,
    keep: &Keep,
) -> Result<Response, RestError> {
    match fmt {
        "rss" => {
            let mut msgs = mb.messages(folder.id).await.map_err(store_err)?;
            msgs.retain(|m| keep.has(m.id));
            msgs.sort_by_key(|m| std::cmp::Reverse(m.internal_date_ms));
            msgs.truncate(MAX_EXPORT_ITEMS);
            let body = rss(owner, folder, &msgs);
            Ok(respond(
                body.into_bytes(),
                "application/rss+xml; charset=utf-8",
                None,
            ))
        }
        "atom" => atom(mb, folder, query, keep).await,
        "json" => json_export(mb, folder, keep).await,
        "vcf" => {
            let mut out = String::new();
            for c in mb
                .contacts(folder.id)
                .await
                .map_err(store_err)?
                .iter()
                .filter(|c| keep.has(c.id))
                .take(MAX_EXPORT_ITEMS)
            {
                out.push_str(&mb.export_vcard(c.id).await.map_err(store_err)?);
            }
            Ok(respond(
                out.into_bytes(),
                "text/x-vcard; charset=utf-8",
                None,
            ))
        }
        "csv" => csv(mb, folder, query, keep).await,
        "ics" => ics(mb, folder, query, keep).await,
        "ifb" => ifb(mb, owner, query).await,
        "zip" | "tgz" | "tar" => {
            super::rest_archive_export::archive(mb, access, folder, fmt, query, keep).await
        }
        other => Err(RestError::BadRequest(format!("unsupported fmt: {other}"))),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// RSS 2.0 of a folder's messages, newest first.
fn rss(owner: &Entry, folder: &Folder, msgs: &[zcs_store::MessageMeta]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n",
    );
    let _ = writeln!(out, "<title>Zimbra: {}</title>", esc(&folder.name));
    let _ = writeln!(
        out,
        "<description>{}: {}</description>",
        esc(&owner.name),
        esc(&folder.path)
    );
    for m in msgs {
        let date = chrono::DateTime::from_timestamp_millis(m.internal_date_ms)
            .map(|d| d.to_rfc2822())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<item><title>{}</title><author>{}</author><pubDate>{}</pubDate>\
             <guid isPermaLink=\"false\">{}</guid></item>",
            esc(&m.subject),
            esc(&m.sender),
            date,
            m.id.0
        );
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// An Atom feed (RFC 4287 §4.1.1) of a folder: its messages newest first, and the
/// instances of its appointments and tasks in `start=`..`end=` (a week either side of
/// now by default, as Zimbra's AtomFormatter).
async fn atom(
    mb: &Mailbox,
    folder: &Folder,
    query: &HashMap<String, String>,
    keep: &Keep,
) -> Result<Response, RestError> {
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = range(query, now - 7 * DAY_MS, now + 7 * DAY_MS)?;
    let mut msgs = mb.messages(folder.id).await.map_err(store_err)?;
    msgs.retain(|m| keep.has(m.id));
    msgs.sort_by_key(|m| std::cmp::Reverse(m.internal_date_ms));
    msgs.truncate(MAX_EXPORT_ITEMS);
    let updated = msgs.first().map_or(now, |m| m.internal_date_ms);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    let _ = writeln!(out, "<title>Zimbra {}</title>", esc(&folder.path));
    out.push_str("<generator>zcs</generator>\n");
    let _ = writeln!(out, "<id>urn:zcs:folder:{}:{}</id>", mb.id().0, folder.id.0);
    let _ = writeln!(out, "<updated>{}</updated>", iso(updated));
    for m in &msgs {
        let _ = writeln!(
            out,
            "<entry><id>urn:zcs:item:{}:{}</id><title>{}</title><updated>{}</updated>\
             <author><name>{}</name><email>{}</email></author></entry>",
            mb.id().0,
            m.id.0,
            esc(&m.subject),
            iso(m.internal_date_ms),
            esc(&m.sender),
            esc(&m.sender)
        );
    }
    if matches!(folder.view.as_str(), "appointment" | "task") {
        let items = mb.cal_items(folder.id).await.map_err(store_err)?;
        let by_id: HashMap<_, _> = items
            .iter()
            .filter(|c| keep.has(c.id))
            .map(|c| (c.id, c))
            .collect();
        let insts = mb
            .cal_instances(Some(folder.id), start, end)
            .await
            .map_err(store_err)?;
        for inst in insts.iter().take(MAX_EXPORT_ITEMS) {
            let Some(c) = by_id.get(&inst.item) else {
                continue;
            };
            let _ = write!(
                out,
                "<entry><id>urn:zcs:item:{}:{}:{}</id><title>{}</title><updated>{}</updated>",
                mb.id().0,
                c.id.0,
                inst.start_ms,
                esc(&c.summary),
                iso(inst.start_ms)
            );
            if !c.organizer.is_empty() {
                let _ = write!(
                    out,
                    "<author><name>{0}</name><email>{0}</email></author>",
                    esc(&c.organizer)
                );
            }
            out.push_str("</entry>\n");
        }
    }
    out.push_str("</feed>\n");
    Ok(respond(
        out.into_bytes(),
        "application/atom+xml; charset=utf-8",
        None,
    ))
}

async fn json_export(mb: &Mailbox, folder: &Folder, keep: &Keep) -> Result<Response, RestError> {
    let msgs = mb.messages(folder.id).await.map_err(store_err)?;
    let m: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| keep.has(m.id))
        .take(MAX_EXPORT_ITEMS)
        .map(message_json)
        .collect();
    let cards = mb.contacts(folder.id).await.map_err(store_err)?;
    let cn: Vec<serde_json::Value> = cards
        .iter()
        .filter(|c| keep.has(c.id))
        .take(MAX_EXPORT_ITEMS)
        .map(|c| {
            let attrs: serde_json::Map<String, serde_json::Value> = c
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::json!({"id": c.id.0.to_string(), "l": c.folder.0.to_string(),
                "_attrs": attrs})
        })
        .collect();
    let mut v = serde_json::Map::new();
    if !m.is_empty() {
        v.insert("m".into(), m.into());
    }
    if !cn.is_empty() {
        v.insert("cn".into(), cn.into());
    }
    Ok(json(serde_json::Value::Object(v)))
}

/// The contacts of `folder` as CSV: `csvfmt=` picks the layout (Zimbra's `zimbra-csv`
/// by default) in the language of `csvlocale=` when it has one, `csvsep=` the
/// separator (else the layout's for `csvlocale=`). A group
/// is written with its members' addresses in `dlist`, as Zimbra writes them.
async fn csv(
    mb: &Mailbox,
    folder: &Folder,
    query: &HashMap<String, String>,
    keep: &Keep,
) -> Result<Response, RestError> {
    let locale = query.get("csvlocale").map(String::as_str);
    let layout = csv_formats::by_name_locale(query.get("csvfmt").map(String::as_str), locale);
    let sep = query
        .get("csvsep")
        .and_then(|s| s.chars().next())
        .filter(|c| !c.is_control() && *c != '"')
        .unwrap_or_else(|| csv_formats::default_separator(layout, locale));
    let mut list = mb.contacts(folder.id).await.map_err(store_err)?;
    list.retain(|c| keep.has(c.id));
    list.truncate(MAX_EXPORT_ITEMS);
    let ids: Vec<_> = list.iter().map(|c| c.id).collect();
    let tags = mb.items_tags(&ids).await.map_err(store_err)?;
    let fields: Vec<Vec<(String, String)>> = list
        .iter()
        .map(|c| {
            let mut f = c.fields.clone();
            if c.is_group && !c.members.is_empty() && !f.iter().any(|(k, _)| k == "dlist") {
                let dlist: Vec<&str> = c.members.iter().map(|m| m.value.as_str()).collect();
                f.push(("dlist".into(), dlist.join(", ")));
            }
            f
        })
        .collect();
    let none = Vec::new();
    let cards: Vec<ExportCard<'_>> = list
        .iter()
        .zip(&fields)
        .map(|(c, f)| ExportCard {
            fields: f,
            tags: tags.get(&c.id).unwrap_or(&none),
        })
        .collect();
    let text = rest_csv::export(&cards, layout, sep);
    let name = if folder.name.is_empty() {
        "contacts".to_string()
    } else {
        super::rest::safe_name(&folder.name)
    };
    Ok(respond(
        text.into_bytes(),
        "text/csv; charset=utf-8",
        Some(&format!("{name}.csv")),
    ))
}

/// Parses one of Zimbra's date specifiers (see the module doc) relative to `now`.
pub(super) fn date_spec(s: &str, now: i64) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let ymd = |y: &str, m: &str, d: &str| {
        let date =
            chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
    };
    let parts: Vec<&str> = s.split(['/', '-']).collect();
    if let [a, b, c] = parts.as_slice()
        && a.chars().all(|ch| ch.is_ascii_digit())
        && !a.is_empty()
    {
        return if a.len() == 4 {
            ymd(a, b, c)
        } else {
            ymd(c, a, b)
        };
    }
    let lower = s.to_ascii_lowercase();
    let (sign, rest) = match lower.as_bytes().first()? {
        b'+' | b'p' => (1, &lower[1..]),
        b'-' | b'm' => (-1, &lower[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    let unit = rest[digits.len()..].trim_end_matches('s');
    let ms = match unit {
        "mi" | "minute" => 60_000,
        "h" | "hour" => 3_600_000,
        "d" | "day" => DAY_MS,
        "w" | "week" => 7 * DAY_MS,
        "m" | "month" => 30 * DAY_MS,
        "y" | "year" => 365 * DAY_MS,
        _ => return None,
    };
    now.checked_add(sign * n.checked_mul(ms)?)
}

/// `start=`/`end=` from the query, each defaulting as given.
pub(super) fn range(
    query: &HashMap<String, String>,
    default_start: i64,
    default_end: i64,
) -> Result<(i64, i64), RestError> {
    let now = chrono::Utc::now().timestamp_millis();
    let get = |k: &str, default: i64| match query.get(k) {
        None => Ok(default),
        Some(v) => date_spec(v, now).ok_or_else(|| RestError::BadRequest(format!("bad {k}: {v}"))),
    };
    let start = get("start", default_start)?;
    let end = get("end", default_end)?;
    if end < start {
        return Err(RestError::BadRequest(
            "end time must be after start time".into(),
        ));
    }
    Ok((start, end))
}

/// The appointments and tasks of `folder` as one VCALENDAR; with `start=` or `end=`,
/// only those with an instance in the range (Zimbra's IcsFormatter).
async fn ics(
    mb: &Mailbox,
    folder: &Folder,
    query: &HashMap<String, String>,
    keep: &Keep,
) -> Result<Response, RestError> {
    let mut items = mb.cal_items(folder.id).await.map_err(store_err)?;
    items.retain(|c| keep.has(c.id));
    if query.contains_key("start") || query.contains_key("end") {
        let (start, end) = range(query, i64::MIN / 2, i64::MAX / 2)?;
        let hits: std::collections::HashSet<_> = mb
            .cal_instances(Some(folder.id), start, end)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|i| i.item)
            .collect();
        items.retain(|c| hits.contains(&c.id));
    }
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:zcs\r\n");
    let mut zones = std::collections::HashSet::new();
    for c in items.iter().take(MAX_EXPORT_ITEMS) {
        out.push_str(&ical_components(&c.ical, &mut zones));
    }
    out.push_str("END:VCALENDAR\r\n");
    Ok(respond(
        out.into_bytes(),
        "text/calendar; charset=utf-8",
        None,
    ))
}

/// The calendars whose appointments count as busy time: the one `fb_cal=` names (a
/// calendar of the account), else every calendar folder not excluded from free/busy.
async fn busy_calendars(
    mb: &Mailbox,
    query: &HashMap<String, String>,
) -> Result<Vec<zcs_core::ItemId>, RestError> {
    let folders = mb.folders().await.map_err(store_err)?;
    let calendars = folders.iter().filter(|f| f.view == "appointment");
    if let Some(id) = query
        .get("fb_cal")
        .and_then(|v| v.trim().parse::<i32>().ok())
    {
        let id = zcs_core::ItemId(id);
        return Ok(calendars.filter(|f| f.id == id).map(|f| f.id).collect());
    }
    let attrs = mb.all_folder_attrs().await.map_err(store_err)?;
    let excluded = |id: &zcs_core::ItemId| {
        attrs
            .get(id)
            .is_some_and(|a| a.flags.contains(zcs_core::Flags::EXCLUDE_FREEBUSY))
    };
    Ok(calendars.map(|f| f.id).filter(|id| !excluded(id)).collect())
}

/// The owner's busy time for `start=`..`end=` (a month back to two ahead by default, as
/// Zimbra's IfbFormatter) across [`busy_calendars`] as a VFREEBUSY (`fbfmt=event`: one
/// VEVENT per busy span instead).
async fn ifb(
    mb: &Mailbox,
    owner: &Entry,
    query: &HashMap<String, String>,
) -> Result<Response, RestError> {
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = range(query, now - 31 * DAY_MS, now + 62 * DAY_MS)?;
    if (end - start) / DAY_MS > 366 {
        return Err(RestError::BadRequest("requested range is too large".into()));
    }
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for cal in busy_calendars(mb, query).await? {
        let hits = mb
            .cal_instances(Some(cal), start, end)
            .await
            .map_err(store_err)?;
        spans.extend(
            hits.into_iter()
                .map(|i| (i.start_ms.max(start), i.end_ms.min(end)))
                .filter(|(s, e)| e > s),
        );
    }
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let utc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default()
    };
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:zcs\r\n");
    let as_events = query
        .get("fbfmt")
        .is_some_and(|f| f.eq_ignore_ascii_case("event"));
    if as_events {
        for (i, (s, e)) in merged.iter().enumerate() {
            let _ = write!(
                out,
                "BEGIN:VEVENT\r\nUID:fb-{i}-{s}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n\
                 SUMMARY:BUSY\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n",
                utc(now),
                utc(*s),
                utc(*e)
            );
        }
    } else {
        out.push_str("METHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n");
        let _ = write!(
            out,
            "ORGANIZER:mailto:{}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n",
            owner.name,
            utc(now),
            utc(start),
            utc(end)
        );
        for (s, e) in &merged {
            let _ = write!(out, "FREEBUSY;FBTYPE=BUSY:{}/{}\r\n", utc(*s), utc(*e));
        }
        out.push_str("END:VFREEBUSY\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    Ok(respond(
        out.into_bytes(),
        "text/calendar; charset=utf-8",
        None,
    ))
}

/// The components of a VCALENDAR text, without the calendar wrapper; a VTIMEZONE whose
/// TZID is in `zones` already is left out (one per TZID in a whole export).
pub(super) fn ical_components(ical: &str, zones: &mut std::collections::HashSet<String>) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut skip = false;
    for line in ical.lines() {
        let l = line.trim_end_matches('\r');
        let upper = l.to_ascii_uppercase();
        if upper == "BEGIN:VCALENDAR" || upper == "END:VCALENDAR" {
            continue;
        }
        if upper.starts_with("BEGIN:") {
            if depth == 0 {
                current.clear();
                skip = false;
            }
            depth += 1;
        }
        if depth == 0 {
            continue;
        }
        if depth == 1
            && upper.starts_with("TZID")
            && current.to_ascii_uppercase().starts_with("BEGIN:VTIMEZONE")
        {
            let id = l.split_once(':').map_or("", |(_, v)| v).trim().to_string();
            skip = !zones.insert(id);
        }
        current.push_str(l);
        current.push_str("\r\n");
        if upper.starts_with("END:") {
            depth -= 1;
            if depth == 0 && !skip {
                out.push_str(&current);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_components_keep_one_zone_per_tzid() {
        let c = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\n\
                 END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let mut zones = std::collections::HashSet::new();
        assert_eq!(
            ical_components(c, &mut zones),
            "BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\n"
        );
        assert_eq!(
            ical_components(c, &mut zones),
            "BEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\n"
        );
    }

    #[test]
    fn date_specifiers() {
        let now = 1_700_000_000_000;
        assert_eq!(date_spec("1234", now), Some(1234));
        assert_eq!(date_spec("2024-01-31", now), Some(1_706_659_200_000));
        assert_eq!(date_spec("2024/01/31", now), Some(1_706_659_200_000));
        assert_eq!(date_spec("01/31/2024", now), Some(1_706_659_200_000));
        assert_eq!(date_spec("-2week", now), Some(now - 14 * DAY_MS));
        assert_eq!(date_spec("p3d", now), Some(now + 3 * DAY_MS));
        assert_eq!(date_spec("+1months", now), Some(now + 30 * DAY_MS));
        for bad in [
            "",
            "x",
            "+",
            "+5parsecs",
            "2024-13-40",
            "+99999999999999999year",
        ] {
            assert_eq!(date_spec(bad, now), None, "{bad}");
        }
    }
}
