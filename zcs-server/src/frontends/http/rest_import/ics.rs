//! `fmt=ics` import: one iCalendar stream (RFC 5545) split into one VCALENDAR per UID,
//! each with the stream's VTIMEZONEs, so every event or task is saved as its own item
//! (`Mailbox::save_cal_item`, which parses and checks it).

/// The most top-level components one import reads; the rest of a larger stream is
/// ignored (a year of a busy calendar is a few thousand).
pub const MAX_COMPONENTS: usize = 20_000;

/// The VCALENDARs of `text`, one per UID (components without a UID are dropped);
/// `(uid, vcalendar)` in the order the UIDs first appear. Each carries only the
/// VTIMEZONEs whose TZID its own components name (copying every zone into every piece
/// made a stream of many zones and many UIDs grow quadratically). At most
/// [`MAX_COMPONENTS`] components are read.
pub fn split_by_uid(text: &str) -> Vec<(String, String)> {
    let mut zones: Vec<(String, String)> = Vec::new();
    let mut by_uid: Vec<(String, String)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut depth = 0usize;
    let mut seen = 0usize;
    let mut current = String::new();
    let mut kind = String::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
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
                current.clear();
                kind = name.to_string();
            }
            depth += 1;
        }
        if depth == 0 {
            continue;
        }
        current.push_str(line);
        current.push_str("\r\n");
        if upper.starts_with("END:") {
            depth -= 1;
            if depth == 0 {
                if kind == "VTIMEZONE" {
                    if let Some(tzid) = tzid_of(&current) {
                        zones.push((tzid, current.clone()));
                    }
                } else if let Some(uid) = uid_of(&current) {
                    match index.get(&uid) {
                        Some(&i) => by_uid[i].1.push_str(&current),
                        None => {
                            index.insert(uid.clone(), by_uid.len());
                            by_uid.push((uid, current.clone()));
                        }
                    }
                }
            }
        }
    }
    by_uid
        .into_iter()
        .map(|(uid, body)| {
            let unfolded = body.replace("\r\n ", "").replace("\r\n\t", "");
            let used: String = zones
                .iter()
                .filter(|(tzid, _)| {
                    unfolded.contains(&format!("TZID={tzid}"))
                        || unfolded.contains(&format!("TZID=\"{tzid}\""))
                })
                .map(|(_, z)| z.as_str())
                .collect();
            let cal = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//zcs//REST import//EN\r\n\
                 {used}{body}END:VCALENDAR\r\n"
            );
            (uid, cal)
        })
        .collect()
}

/// The TZID of a VTIMEZONE's text (RFC 5545 §3.6.5).
fn tzid_of(zone: &str) -> Option<String> {
    let unfolded = zone.replace("\r\n ", "").replace("\r\n\t", "");
    unfolded.lines().find_map(|l| {
        let (name, v) = l.split_once(':')?;
        name.eq_ignore_ascii_case("TZID")
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The UID of a component's text (RFC 5545 §3.8.4.7), folded lines joined (§3.1).
fn uid_of(component: &str) -> Option<String> {
    let unfolded = component.replace("\r\n ", "").replace("\r\n\t", "");
    let mut depth = 0usize;
    for line in unfolded.lines() {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("BEGIN:") {
            depth += 1;
        } else if upper.starts_with("END:") {
            depth = depth.saturating_sub(1);
        } else if depth == 1 && (upper.starts_with("UID:") || upper.starts_with("UID;")) {
            let (_, v) = line.split_once(':')?;
            let v = v.trim();
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_calendar_per_uid_with_the_zones() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\n\
                    END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:one\r\n\
                    DTSTART;TZID=X:20300101T100000\r\nBEGIN:VALARM\r\n\
                    UID:inner\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n\
                    END:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240101T000000Z\r\n\
                    END:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\n\
                    END:VCALENDAR\r\n";
        let cals = split_by_uid(text);
        assert_eq!(cals.len(), 2);
        assert_eq!(cals[0].0, "a");
        assert_eq!(cals[0].1.matches("BEGIN:VEVENT").count(), 2);
        assert!(cals[0].1.contains("TZID:X"));
        // Attack review: only the zones a piece names are copied into it.
        assert!(!cals[1].1.contains("VTIMEZONE"));
        assert!(
            cals[1].1.starts_with("BEGIN:VCALENDAR") && cals[1].1.ends_with("END:VCALENDAR\r\n")
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = split_by_uid(&s);
        }
    }
}
