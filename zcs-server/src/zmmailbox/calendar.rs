//! `zmmailbox`'s appointment commands (spec/06 §3.1, Zimbra's "appointment" help
//! topic): `getAppointmentSummaries gaps {start} {end} [folder]`, the instances of
//! appointments and tasks in a time range (`GetApptSummariesRequest`), printed as a
//! JSON list with one object per instance. Start and end are Zimbra's date specs
//! ([`date_spec`]): `12/25/2026`, `2026/12/25`, milliseconds, or an offset from now
//! such as `+1day`, `-2weeks`, `+60mi`.
//!
//! Zimbra's tool has no other appointment command: calendars are created with
//! `createFolder -V appointment` and filled by posting an .ics to the REST URL
//! (`postRestURL`); free/busy is asked through the SOAP API, not this tool.

use chrono::{DateTime, Days, Local, Months, NaiveDate, TimeZone};
use serde_json::{Map, Value, json};

use super::{MAIL, Outcome, folder_id, list, local_id};
use crate::search::remote::{Remote, text};

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = concat!(
    "  getAppointmentSummaries(gaps) [opts] {start-date-spec} {end-date-spec} ",
    "[{folder-path}]\n",
    "    -v/--verbose                 verbose output\n",
    "\n",
    "  date specs: mm/dd/yyyy or yyyy/mm/dd (local midnight), milliseconds since 1970,\n",
    "  or an offset from now: [+|p|-|m]N[unit] (m before N subtracts), the unit's first\n",
    "  letter choosing it: mi(nutes), h(ours), d(ays, the default), w(eeks), m(onths),\n",
    "  y(ears); e.g. 1day, +1day, p1day, +60mi, +1week, +6mon, -1year\n",
);

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    session: &Remote,
    mailbox: &str,
    cmd: &str,
    args: &[String],
) -> Option<Result<Outcome, String>> {
    match cmd {
        "getAppointmentSummaries" | "gaps" => Some(summaries(session, mailbox, args).await),
        _ => None,
    }
}

/// Milliseconds since the epoch for Zimbra's date spec `spec`, offsets counted from
/// `now`; `None` when `spec` is not one.
///
/// Absolute days (`mm/dd/yyyy`, `yyyy/mm/dd`, `-` may replace `/`) are midnight local
/// time; a bare number is milliseconds; `[+|p|-|m]N[unit]` adds (or with `-`/`m`
/// subtracts) N units, where the unit's first letter picks it (`mi...` minutes, `m...`
/// months, `h` hours, `d` days, `w` weeks, `y` years) and no unit means days.
pub fn date_spec(spec: &str, now: DateTime<Local>) -> Option<i64> {
    let s = spec.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    if let Some(ms) = absolute(s) {
        return Some(ms);
    }
    // [mp+-]?([0-9]+)([mhdwy][a-z]*)?
    let (sign, rest) = match s.chars().next()? {
        '+' | 'p' => (1, &s[1..]),
        '-' | 'm' => (-1, &s[1..]),
        _ => (1, s),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u32 = rest[..digits].parse().ok()?;
    let unit = &rest[digits..];
    if !unit.is_empty()
        && (!unit.bytes().all(|b| b.is_ascii_lowercase()) || !"mhdwy".contains(&unit[..1]))
    {
        return None;
    }
    let minus = sign < 0;
    let when = match unit.as_bytes() {
        [b'm', b'i', ..] => {
            let d = chrono::Duration::minutes(i64::from(n));
            if minus {
                now.checked_sub_signed(d)
            } else {
                now.checked_add_signed(d)
            }
        }
        [b'm', ..] => {
            let m = Months::new(n);
            if minus {
                now.checked_sub_months(m)
            } else {
                now.checked_add_months(m)
            }
        }
        [b'y', ..] => {
            let m = Months::new(n.checked_mul(12)?);
            if minus {
                now.checked_sub_months(m)
            } else {
                now.checked_add_months(m)
            }
        }
        [b'h', ..] => {
            let d = chrono::Duration::hours(i64::from(n));
            if minus {
                now.checked_sub_signed(d)
            } else {
                now.checked_add_signed(d)
            }
        }
        [b'w', ..] => {
            let d = Days::new(u64::from(n) * 7);
            if minus {
                now.checked_sub_days(d)
            } else {
                now.checked_add_days(d)
            }
        }
        _ => {
            let d = Days::new(u64::from(n));
            if minus {
                now.checked_sub_days(d)
            } else {
                now.checked_add_days(d)
            }
        }
    }?;
    Some(when.timestamp_millis())
}

/// `yyyy/mm/dd` or `mm/dd/yyyy` (either separator) as local midnight.
fn absolute(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split(['/', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |p: &str, max_len: usize| {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let (y, m, d) = if a.len() == 4 {
        (num(a, 4)?, num(b, 2)?, num(c, 2)?)
    } else if c.len() == 4 {
        (num(c, 4)?, num(a, 2)?, num(b, 2)?)
    } else {
        return None;
    };
    let day = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let local = Local
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    Some(local.timestamp_millis())
}

/// Each field of an instance as printed (`startTime`, ...), and where the server puts
/// it: on the `inst` element, else on its appointment.
const FIELDS: &[(&str, &str)] = &[
    ("folderId", "l"),
    ("tags", "t"),
    ("flags", "f"),
    ("name", "name"),
    ("location", "loc"),
    ("inviteId", "invId"),
    ("inviteComponentNumber", "compNum"),
    ("freeBusyActual", "fba"),
    ("transparency", "transp"),
    ("status", "status"),
    ("class", "class"),
    ("participantStatus", "ptst"),
    ("allDay", "allDay"),
    ("recurring", "recur"),
    ("isOrganizer", "isOrg"),
    ("duration", "dur"),
    ("startTime", "s"),
    ("exception", "ex"),
    ("recurrenceId", "ridZ"),
    ("fragment", "fr"),
];

/// The instances of a `GetApptSummariesResponse`, one JSON object each, in start
/// order (`id`, `isTask`, then [`FIELDS`] present on the instance or its item).
pub fn instances(resp: &Value) -> Vec<Value> {
    let mut out: Vec<(i64, Value)> = Vec::new();
    for (key, task) in [("appt", false), ("task", true)] {
        for item in list(&resp[key]) {
            let insts = match list(&item["inst"]) {
                i if i.is_empty() => vec![json!({})],
                i => i,
            };
            for inst in insts {
                let mut o = Map::new();
                o.insert("id".into(), json!(local_id(&item["id"])));
                for (name, attr) in FIELDS {
                    let v = match &inst[*attr] {
                        Value::Null => &item[*attr],
                        v => v,
                    };
                    if !v.is_null() {
                        o.insert((*name).into(), json!(text(v)));
                    }
                }
                o.insert("isTask".into(), json!(task));
                let start = text(&inst["s"]).parse().unwrap_or(0);
                out.push((start, Value::Object(o)));
            }
        }
    }
    out.sort_by_key(|(s, _)| *s);
    out.into_iter().map(|(_, v)| v).collect()
}

/// `gaps {start} {end} [folder]`.
async fn summaries(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    // Date specs start with `-` (`-1day`): only `-v` is an option here.
    let rest: Vec<&String> = args
        .iter()
        .filter(|a| !matches!(a.as_str(), "-v" | "--verbose"))
        .collect();
    let now = Local::now();
    let spec = |i: usize, what: &str| -> Result<i64, String> {
        let s = rest.get(i).ok_or_else(|| format!("missing {what}"))?;
        date_spec(s, now).ok_or_else(|| format!("invalid date spec: {s}"))
    };
    let start = spec(0, "start date spec")?;
    let end = spec(1, "end date spec")?;
    if rest.len() > 3 {
        return Err("too many arguments".into());
    }
    let mut req = json!({ "s": start, "e": end });
    if let Some(f) = rest.get(2) {
        let id = if f.bytes().all(|b| b.is_ascii_digit()) {
            f.to_string()
        } else {
            folder_id(session, mailbox, f).await?
        };
        req["l"] = json!(id);
    }
    let r = session
        .request(Some(mailbox), "GetApptSummariesRequest", MAIL, req)
        .await?;
    let items: Vec<String> = instances(&r)
        .iter()
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
        .collect();
    Ok(Outcome::Print(format!("[{}]", items.join(",\n"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2026, 1, 31, 12, 0, 0)
            .earliest()
            .expect("a local time")
    }

    #[test]
    fn absolute_and_millisecond_specs() {
        let xmas = Local
            .with_ymd_and_hms(2026, 12, 25, 0, 0, 0)
            .earliest()
            .expect("time")
            .timestamp_millis();
        assert_eq!(date_spec("12/25/2026", now()), Some(xmas));
        assert_eq!(date_spec("2026/12/25", now()), Some(xmas));
        assert_eq!(date_spec("2026-12-25", now()), Some(xmas));
        assert_eq!(date_spec("1132276598000", now()), Some(1_132_276_598_000));
        assert_eq!(date_spec("13/45/2026", now()), None);
        assert_eq!(date_spec("tomorrow", now()), None);
        assert_eq!(date_spec("", now()), None);
    }

    #[test]
    fn relative_specs_count_from_now() {
        let n = now();
        let day = 86_400_000;
        let base = n.timestamp_millis();
        assert_eq!(date_spec("1day", n), Some(base + day));
        assert_eq!(date_spec("+1day", n), Some(base + day));
        assert_eq!(date_spec("p1day", n), Some(base + day));
        assert_eq!(date_spec("-1d", n), Some(base - day));
        assert_eq!(date_spec("m2d", n), Some(base - 2 * day));
        assert_eq!(date_spec("+60mi", n), Some(base + 3_600_000));
        assert_eq!(date_spec("+2h", n), Some(base + 7_200_000));
        assert_eq!(date_spec("+5", n), Some(base + 5 * day));
        let feb = n.checked_add_months(Months::new(1)).expect("month");
        assert_eq!(date_spec("+1mon", n), Some(feb.timestamp_millis()));
        assert!(date_spec("+1year", n).is_some_and(|y| y > base + 364 * day));
        assert_eq!(date_spec("+1Day", n), None);
        assert_eq!(date_spec("+1x", n), None);
    }

    #[test]
    fn instances_take_item_fields_unless_the_instance_has_its_own() {
        let resp = json!({"appt": [{"id": "u:300", "name": "standup", "l": "10",
            "recur": true, "dur": 900000, "loc": "room 1",
            "inst": [{"s": 2000}, {"s": 1000, "ex": true, "name": "moved"}]}],
            "task": [{"id": "301", "name": "todo", "inst": [{"s": 1500}]}]});
        let v = instances(&resp);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0]["name"], "moved");
        assert_eq!(v[0]["startTime"], "1000");
        assert_eq!(v[0]["exception"], "true");
        assert_eq!(v[0]["id"], "300");
        assert_eq!(v[0]["location"], "room 1");
        assert_eq!(v[1]["isTask"], true);
        assert_eq!(v[2]["name"], "standup");
        assert!(instances(&json!({})).is_empty());
    }

    proptest! {
        #[test]
        fn date_specs_never_panic(s in "[-+pmiwdhy/0-9a-z]{0,16}") {
            let _ = date_spec(&s, now());
        }

        #[test]
        fn days_move_by_whole_days(n in 0u32..5000) {
            let d = date_spec(&format!("+{n}d"), now()).expect("spec");
            let back = date_spec(&format!("-{n}d"), now()).expect("spec");
            prop_assert!(d >= back);
        }
    }
}
