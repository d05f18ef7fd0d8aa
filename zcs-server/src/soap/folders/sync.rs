//! FolderAction `sync` and `import`: fetches a folder's feed or calendar address
//! ([`super::fetch`]) and imports what it holds, as Zimbra's feed manager does: an
//! iCalendar stream (RFC 5545) becomes appointments and tasks (one per UID, saved
//! again on each sync), an RSS 2.0 or Atom (RFC 4287) feed becomes one message per
//! item. A subscription sync skips feed items it imported before.

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult};
use zcs_store::{ImportMessage, Mailbox};

use super::super::context::store_fault;

/// `url` trimmed when empty or `http(s)://`; anything else (`file:`, `ftp:`, ...) is
/// refused, since the server fetches it.
///
/// # Errors
/// `service.INVALID_REQUEST` for another scheme or a malformed address.
pub(crate) fn check_url(url: &str) -> ServiceResult<String> {
    let url = url.trim();
    if !url.is_empty() {
        super::fetch::parse_url(url)?;
    }
    Ok(url.to_string())
}

/// Fetches `url` and imports it into folder `id`. With `subscription`, feed items seen
/// by an earlier sync of the folder are skipped. Returns how many items were imported.
///
/// # Errors
/// As [`super::fetch::get`]; `service.PARSE_ERROR` for a body that is neither a feed
/// nor a calendar; store faults.
pub(crate) async fn import_url(
    mb: &Mailbox,
    id: ItemId,
    url: &str,
    subscription: bool,
) -> ServiceResult<usize> {
    if url.is_empty() {
        return Ok(0);
    }
    let body = super::fetch::get(url).await?;
    let text = String::from_utf8_lossy(&body);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.len() >= 15 && text[..15].eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        let mut n = 0;
        for (uid, cal) in split_calendar(text) {
            // A fetched calendar only updates items of its own folder: an item with
            // the same UID elsewhere (the user's own appointment) is left alone and
            // the remote entry skipped, so a remote calendar cannot take it over.
            if !uid.is_empty()
                && let Some(old) = mb.cal_item_by_uid(&uid).await.map_err(store_fault)?
                && old.folder != id
            {
                continue;
            }
            mb.save_cal_item(id, &cal).await.map_err(store_fault)?;
            n += 1;
        }
        tracing::info!(folder = id.0, items = n, "calendar imported from url");
        return Ok(n);
    }
    let items = super::feed::parse(text).ok_or_else(|| {
        ServiceError::new(
            FaultCode::ParseError,
            format!("parse error: not a feed or calendar: {url}"),
        )
    })?;
    let now = chrono::Utc::now().timestamp_millis();
    // With a subscription, only the items the folder has not seen, each once; the
    // store remembers them in the same step.
    let mut unseen: Option<Vec<String>> = None;
    if subscription {
        let keys = items.items.iter().map(|i| i.key()).collect();
        unseen = Some(
            mb.mark_feed_seen(id, keys, false)
                .await
                .map_err(store_fault)?,
        );
    }
    let mut fresh = Vec::new();
    for item in &items.items {
        if let Some(unseen) = unseen.as_mut() {
            let key = item.key();
            // The store cuts keys longer than 1024 bytes.
            let same = |k: &String| *k == key || (key.len() > 1024 && key.starts_with(k.as_str()));
            let Some(at) = unseen.iter().position(same) else {
                continue;
            };
            unseen.remove(at);
        }
        let date = item.date_ms().unwrap_or(now);
        fresh.push(ImportMessage {
            raw: item.to_message(&items.title, date),
            flags: Flags(Flags::UNREAD),
            tags: Vec::new(),
            internal_date_ms: date,
        });
    }
    let n = fresh.len();
    if n > 0 {
        mb.import_messages(id, fresh).await.map_err(store_fault)?;
    }
    tracing::info!(folder = id.0, items = n, "feed imported from url");
    Ok(n)
}

/// The most top-level components read from one fetched calendar; the rest is ignored.
const MAX_COMPONENTS: usize = 20_000;

/// One VCALENDAR per UID of `text`, `(uid, vcalendar)` ("" for a component without a
/// UID, which stays alone), each with only the time zones its components name by TZID
/// (every zone in every piece grew quadratically); at most [`MAX_COMPONENTS`] are read.
pub(crate) fn split_calendar(text: &str) -> Vec<(String, String)> {
    let unfolded = text.replace("\r\n", "\n");
    let unfolded = unfolded.replace("\n ", "").replace("\n\t", "");
    let mut zones: Vec<(String, String)> = Vec::new();
    let mut comps: Vec<(String, String)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut depth = 0usize;
    let mut seen = 0usize;
    let (mut cur, mut kind) = (String::new(), String::new());
    for line in unfolded.lines() {
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VCALENDAR" || upper == "END:VCALENDAR" {
            continue;
        }
        if let Some(name) = upper.strip_prefix("BEGIN:") {
            if depth == 0 {
                if seen >= MAX_COMPONENTS {
                    break;
                }
                seen += 1;
                cur.clear();
                kind = name.trim().to_string();
            }
            depth += 1;
        }
        if depth == 0 {
            continue;
        }
        cur.push_str(line);
        cur.push_str("\r\n");
        if upper.starts_with("END:") {
            depth -= 1;
            if depth == 0 {
                if kind == "VTIMEZONE" {
                    let tzid = cur.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("TZID").then(|| v.trim().to_string())
                    });
                    if let Some(tzid) = tzid.filter(|t| !t.is_empty()) {
                        zones.push((tzid, cur.clone()));
                    }
                } else if kind == "VEVENT" || kind == "VTODO" {
                    let uid = uid_of(&cur);
                    match index.get(&uid).filter(|_| !uid.is_empty()) {
                        Some(&i) => comps[i].1.push_str(&cur),
                        None => {
                            index.insert(uid.clone(), comps.len());
                            comps.push((uid, cur.clone()));
                        }
                    }
                }
            }
        }
    }
    comps
        .into_iter()
        .map(|(uid, body)| {
            let used: String = zones
                .iter()
                .filter(|(tzid, _)| {
                    body.contains(&format!("TZID={tzid}"))
                        || body.contains(&format!("TZID=\"{tzid}\""))
                })
                .map(|(_, z)| z.as_str())
                .collect();
            let cal = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//feed sync//EN\r\n\
                 {used}{body}END:VCALENDAR\r\n"
            );
            (uid, cal)
        })
        .collect()
}

/// The UID property of a top-level component (RFC 5545 §3.8.4.7), not of a nested one.
fn uid_of(comp: &str) -> String {
    let mut depth = 0usize;
    for line in comp.lines() {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("BEGIN:") {
            depth += 1;
        } else if upper.starts_with("END:") {
            depth = depth.saturating_sub(1);
        } else if depth == 1 && (upper.starts_with("UID:") || upper.starts_with("UID;")) {
            return line
                .split_once(':')
                .map(|(_, v)| v.trim())
                .unwrap_or("")
                .to_string();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_http_urls_are_taken() {
        assert_eq!(check_url(" ").expect("empty"), "");
        assert!(check_url("http://127.0.0.1:1/a.ics").is_ok());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("webcal://h/x").is_err());
    }

    #[test]
    fn calendar_splits_by_uid_with_zones() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n\
                   BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=X:20300101T100000\r\n\
                   BEGIN:VALARM\r\nUID:inner\r\nEND:VALARM\r\n\
                   END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\n\
                   BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let cals = split_calendar(ics);
        assert_eq!(cals.len(), 2);
        assert_eq!((cals[0].0.as_str(), cals[1].0.as_str()), ("a", "b"));
        assert!(cals[0].1.contains("TZID:X") && cals[0].1.matches("BEGIN:VEVENT").count() == 2);
        assert!(cals[1].1.contains("UID:b"));
        // Attack review: a piece carries only the zones it names.
        assert!(!cals[1].1.contains("VTIMEZONE"));
    }

    proptest! {
        #[test]
        fn splitter_never_panics(s in ".{0,300}") {
            let _ = split_calendar(&s);
        }
    }
}
