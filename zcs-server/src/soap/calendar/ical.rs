//! The conversion between Zimbra's SOAP invite (`m > inv > comp` with `s`, `e`,
//! `dur`, `or`, `at`, `recur`) and the VCALENDAR text (RFC 5545) the store keeps, both
//! ways. No I/O: the handlers in `calendar` call it.

use zcs_core::{ServiceError, ServiceResult};
use zcs_store::CalItem;

use super::super::element::{AttrKind, Element};

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub(super) fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, quoted when it holds `:;,` (RFC 5545 §3.2); quotes dropped.
pub(super) fn param(v: &str) -> String {
    let v: String = v.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    if v.contains([':', ';', ',']) {
        format!("\"{v}\"")
    } else {
        v
    }
}

/// A date or date-time from `d="YYYYMMDD[THHMMSS[Z]]"`, checked.
pub(super) fn ical_date(d: &str) -> ServiceResult<String> {
    let d = d.trim();
    let bad = || ServiceError::invalid_request(format!("invalid date: {d}"));
    let (date, time) = match d.split_once('T') {
        Some((a, b)) => (a, Some(b)),
        None => (d, None),
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if let Some(t) = time {
        let digits = t.strip_suffix('Z').unwrap_or(t);
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    Ok(d.to_string())
}

fn date_prop(name: &str, el: &Element, all_day: bool) -> ServiceResult<String> {
    let d = ical_date(el.req("d")?)?;
    let mut line = name.to_string();
    if all_day || !d.contains('T') {
        line.push_str(";VALUE=DATE");
        let day = d.split('T').next().unwrap_or(&d).to_string();
        return Ok(format!("{line}:{day}"));
    }
    if let Some(tz) = el.attr("tz").filter(|t| !t.is_empty())
        && !d.ends_with('Z')
    {
        line.push_str(&format!(";TZID={}", param(tz)));
    }
    Ok(format!("{line}:{d}"))
}

fn duration(el: &Element) -> ServiceResult<String> {
    let n = |k: &str| el.int_attr(k, 0);
    let mut s = String::new();
    if el.bool_attr("neg", false)? {
        s.push('-');
    }
    s.push('P');
    let (w, d, h, m, sec) = (n("w")?, n("d")?, n("h")?, n("m")?, n("s")?);
    if w > 0 {
        s.push_str(&format!("{w}W"));
    }
    if d > 0 {
        s.push_str(&format!("{d}D"));
    }
    if h > 0 || m > 0 || sec > 0 || (w == 0 && d == 0) {
        s.push('T');
        if h > 0 {
            s.push_str(&format!("{h}H"));
        }
        if m > 0 {
            s.push_str(&format!("{m}M"));
        }
        if sec > 0 || (h == 0 && m == 0) {
            s.push_str(&format!("{sec}S"));
        }
    }
    Ok(s)
}

const FREQS: [(&str, &str); 7] = [
    ("SEC", "SECONDLY"),
    ("MIN", "MINUTELY"),
    ("HOU", "HOURLY"),
    ("DAI", "DAILY"),
    ("WEE", "WEEKLY"),
    ("MON", "MONTHLY"),
    ("YEA", "YEARLY"),
];

/// `recur > add > rule freq=` with interval, count, until, byday, bymonthday,
/// bymonth as an RRULE (RFC 5545 §3.3.10).
fn rrules(recur: &Element) -> ServiceResult<Vec<String>> {
    let mut out = Vec::new();
    for add in recur.children_named("add") {
        for rule in add.children_named("rule") {
            let f = rule.req("freq")?.to_ascii_uppercase();
            let freq = FREQS
                .iter()
                .find(|(short, long)| f == *short || f == *long)
                .map(|(_, long)| *long)
                .ok_or_else(|| ServiceError::invalid_request(format!("invalid freq: {f}")))?;
            let mut r = format!("FREQ={freq}");
            if let Some(i) = rule.child("interval").and_then(|i| i.attr("ival")) {
                let n: u32 = i
                    .trim()
                    .parse()
                    .map_err(|_| ServiceError::invalid_request(format!("invalid interval: {i}")))?;
                r.push_str(&format!(";INTERVAL={n}"));
            }
            if let Some(c) = rule.child("count").and_then(|c| c.attr("num")) {
                let n: u32 = c
                    .trim()
                    .parse()
                    .map_err(|_| ServiceError::invalid_request(format!("invalid count: {c}")))?;
                r.push_str(&format!(";COUNT={n}"));
            }
            if let Some(u) = rule.child("until").and_then(|u| u.attr("d")) {
                r.push_str(&format!(";UNTIL={}", ical_date(u)?));
            }
            let days: Vec<String> = rule
                .children_named("byday")
                .flat_map(|b| b.children_named("wkday"))
                .filter_map(|w| {
                    let day = w.attr("day")?.trim().to_ascii_uppercase();
                    let ord = w.attr("ordwk").unwrap_or("").trim();
                    (day.len() == 2 && day.bytes().all(|b| b.is_ascii_alphabetic()))
                        .then(|| format!("{ord}{day}"))
                })
                .collect();
            if !days.is_empty() {
                r.push_str(&format!(";BYDAY={}", days.join(",")));
            }
            for (child, attr, key) in [
                ("bymonthday", "modaylist", "BYMONTHDAY"),
                ("bymonth", "molist", "BYMONTH"),
                ("bysetpos", "poslist", "BYSETPOS"),
                ("byyearday", "yrdaylist", "BYYEARDAY"),
            ] {
                if let Some(v) = rule.child(child).and_then(|c| c.attr(attr)) {
                    let ok = v
                        .split(',')
                        .all(|n| n.trim().trim_start_matches('-').parse::<u32>().is_ok());
                    if !ok {
                        return Err(ServiceError::invalid_request(format!(
                            "invalid {child}: {v}"
                        )));
                    }
                    r.push_str(&format!(";{key}={}", v.replace(' ', "")));
                }
            }
            out.push(format!("RRULE:{r}"));
        }
    }
    Ok(out)
}

fn map_code(v: &str, table: &[(&str, &str)]) -> Option<String> {
    table
        .iter()
        .find(|(short, long)| v.eq_ignore_ascii_case(short) || v.eq_ignore_ascii_case(long))
        .map(|(_, long)| long.to_string())
}

const STATUS: [(&str, &str); 7] = [
    ("TENT", "TENTATIVE"),
    ("CONF", "CONFIRMED"),
    ("CANC", "CANCELLED"),
    ("NEED", "NEEDS-ACTION"),
    ("COMP", "COMPLETED"),
    ("INPR", "IN-PROCESS"),
    ("DEFERRED", "X-ZIMBRA-DEFERRED"),
];
const ROLES: [(&str, &str); 4] = [
    ("REQ", "REQ-PARTICIPANT"),
    ("OPT", "OPT-PARTICIPANT"),
    ("NON", "NON-PARTICIPANT"),
    ("CHA", "CHAIR"),
];
const PTST: [(&str, &str); 7] = [
    ("NE", "NEEDS-ACTION"),
    ("AC", "ACCEPTED"),
    ("DE", "DECLINED"),
    ("TE", "TENTATIVE"),
    ("DG", "DELEGATED"),
    ("CO", "COMPLETED"),
    ("IN", "IN-PROCESS"),
];
const CLASS: [(&str, &str); 3] = [
    ("PUB", "PUBLIC"),
    ("PRI", "PRIVATE"),
    ("CON", "CONFIDENTIAL"),
];

/// A file attached to an appointment or task (an upload named by `<attach aid=>`),
/// kept inline in its VCALENDAR.
pub(super) struct Attached<'a> {
    /// The client's file name, if it gave one.
    pub name: Option<&'a str>,
    /// The declared content type.
    pub content_type: &'a str,
    pub data: &'a [u8],
}

/// The ATTACH property of an inline file (RFC 5545 §3.8.1.1: `ENCODING=BASE64;
/// VALUE=BINARY`, its type in `FMTTYPE`, its name in `X-FILENAME`). A content type
/// that is not a plain `type/subtype` token becomes `application/octet-stream`.
fn attach_line(a: &Attached<'_>) -> String {
    use base64::Engine as _;
    let ct = a.content_type.trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let ct = match ct.split_once('/') {
        Some((t, s)) if token(t) && token(s) => ct.to_ascii_lowercase(),
        _ => "application/octet-stream".to_string(),
    };
    let name = a
        .name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| format!(";X-FILENAME={}", param(n)))
        .unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD.encode(a.data);
    format!("ATTACH;FMTTYPE={ct};ENCODING=BASE64;VALUE=BINARY{name}:{data}")
}

/// The VCALENDAR for invite `m` (its `inv > comp`), with `uid` and `attached` files.
pub(super) fn to_ical(
    m: &Element,
    uid: &str,
    task: bool,
    organizer: &str,
    attached: &[Attached<'_>],
) -> ServiceResult<String> {
    let inv = m
        .child("inv")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: inv"))?;
    let comp = inv.child("comp").unwrap_or(inv);
    let all_day = comp.bool_attr("allDay", false)?;
    let kind = if task { "VTODO" } else { "VEVENT" };
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//zcs//SOAP//EN".to_string(),
        format!("BEGIN:{kind}"),
        format!("UID:{}", esc(uid)),
        format!("DTSTAMP:{now}"),
    ];
    let name = comp
        .attr("name")
        .or_else(|| m.attr("su"))
        .unwrap_or("")
        .to_string();
    lines.push(format!("SUMMARY:{}", esc(&name)));
    if let Some(loc) = comp.attr("loc").filter(|l| !l.is_empty()) {
        lines.push(format!("LOCATION:{}", esc(loc)));
    }
    if let Some(s) = comp.child("s") {
        lines.push(date_prop("DTSTART", s, all_day)?);
    } else if !task {
        return Err(ServiceError::invalid_request("missing required element: s"));
    }
    if let Some(e) = comp.child("e") {
        lines.push(date_prop(if task { "DUE" } else { "DTEND" }, e, all_day)?);
    } else if let Some(d) = comp.child("dur") {
        lines.push(format!("DURATION:{}", duration(d)?));
    }
    if let Some(st) = comp.attr("status").and_then(|s| map_code(s, &STATUS)) {
        lines.push(format!("STATUS:{st}"));
    }
    if let Some(c) = comp.attr("class").and_then(|s| map_code(s, &CLASS)) {
        lines.push(format!("CLASS:{c}"));
    }
    match comp.attr("transp") {
        Some("T") => lines.push("TRANSP:TRANSPARENT".into()),
        Some("O") => lines.push("TRANSP:OPAQUE".into()),
        _ => {}
    }
    if let Some(fb) = comp.attr("fb").filter(|f| ["F", "B", "T", "O"].contains(f)) {
        lines.push(format!("X-MICROSOFT-CDO-INTENDEDSTATUS:{}", fb_long(fb)));
    }
    if let Some(p) = comp
        .attr("priority")
        .and_then(|p| p.trim().parse::<u8>().ok())
    {
        lines.push(format!("PRIORITY:{}", p.min(9)));
    }
    if let Some(p) = comp
        .attr("percentComplete")
        .and_then(|p| p.trim().parse::<u8>().ok())
    {
        lines.push(format!("PERCENT-COMPLETE:{}", p.min(100)));
    }
    let or = comp
        .child("or")
        .and_then(|o| o.attr("a").or(o.attr("url")))
        .unwrap_or(organizer);
    let or_cn = comp.child("or").and_then(|o| o.attr("d"));
    let has_attendees = comp.child("at").is_some();
    if has_attendees || comp.child("or").is_some() {
        let cn = or_cn
            .map(|c| format!(";CN={}", param(c)))
            .unwrap_or_default();
        lines.push(format!("ORGANIZER{cn}:mailto:{}", esc(or)));
    }
    for at in comp.children_named("at") {
        let a = at.attr("a").or(at.attr("url")).unwrap_or("").trim();
        if a.is_empty() {
            continue;
        }
        let mut l = "ATTENDEE".to_string();
        if let Some(cn) = at.attr("d") {
            l.push_str(&format!(";CN={}", param(cn)));
        }
        let role = at.attr("role").and_then(|r| map_code(r, &ROLES));
        l.push_str(&format!(
            ";ROLE={}",
            role.unwrap_or_else(|| "REQ-PARTICIPANT".into())
        ));
        let ptst = at.attr("ptst").and_then(|r| map_code(r, &PTST));
        l.push_str(&format!(
            ";PARTSTAT={}",
            ptst.unwrap_or_else(|| "NEEDS-ACTION".into())
        ));
        if at.bool_attr("rsvp", false)? {
            l.push_str(";RSVP=TRUE");
        }
        if let Some(cu) = at.attr("cutype") {
            l.push_str(&format!(";CUTYPE={}", param(cu)));
        }
        lines.push(format!("{l}:mailto:{}", esc(a)));
    }
    if let Some(r) = comp.child("recur") {
        lines.extend(rrules(r)?);
    }
    let desc = comp
        .child("desc")
        .map(|d| d.text().to_string())
        .or_else(|| body_text(m));
    if let Some(d) = desc.filter(|d| !d.is_empty()) {
        lines.push(format!("DESCRIPTION:{}", esc(&d)));
    }
    lines.extend(attached.iter().map(attach_line));
    // LIMITATION: alarms, exceptions (CreateAppointmentException) and the request's
    // `tz` definitions (VTIMEZONE) are not kept; TZID names are passed on. Attachments
    // are kept only from uploads (`aid`), not from other messages' parts (`mp`, `m`).
    lines.push(format!("END:{kind}"));
    lines.push("END:VCALENDAR".into());
    Ok(fold(&lines))
}

fn fb_long(fb: &str) -> &'static str {
    match fb {
        "F" => "FREE",
        "T" => "TENTATIVE",
        "O" => "OOF",
        _ => "BUSY",
    }
}

/// The text/plain body of the invite's `mp`, if any.
fn body_text(m: &Element) -> Option<String> {
    let mut stack = vec![m.child("mp")?];
    while let Some(mp) = stack.pop() {
        // A part without `ct` is text/plain, as Zimbra reads it.
        if mp
            .attr("ct")
            .is_none_or(|c| c.eq_ignore_ascii_case("text/plain"))
            && let Some(c) = mp.attr("content")
        {
            return Some(c.to_string());
        }
        stack.extend(mp.children_named("mp"));
    }
    None
}

/// Joins content lines with CRLF, folding at 75 octets (RFC 5545 §3.1).
pub(super) fn fold(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        let mut len = 0;
        for c in l.chars() {
            if len + c.len_utf8() > 75 {
                out.push_str("\r\n ");
                len = 1;
            }
            out.push(c);
            len += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    out
}

// ---- VCALENDAR -> SOAP ----------------------------------------------------------------

/// One unfolded content line: name, parameters, value.
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn param(&self, n: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    }
}

fn unesc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The properties of the first VEVENT/VTODO of `ical` (sub-components skipped).
fn component_props(ical: &str) -> Vec<Prop> {
    let unfolded = ical
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "");
    let mut out = Vec::new();
    let mut depth = 0;
    let mut inside = false;
    for line in unfolded.lines() {
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" || upper == "BEGIN:VTODO" {
            if !inside && out.is_empty() {
                inside = true;
                depth = 0;
            }
            continue;
        }
        if !inside {
            continue;
        }
        if upper.starts_with("BEGIN:") {
            depth += 1;
            continue;
        }
        if upper.starts_with("END:") {
            if depth == 0 {
                break;
            }
            depth -= 1;
            continue;
        }
        if depth > 0 {
            continue;
        }
        let Some((head, value)) = split_value(line) else {
            continue;
        };
        let mut parts = head.split(';');
        let name = parts.next().unwrap_or("").to_ascii_uppercase();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_ascii_uppercase(), v.trim_matches('"').to_string()))
            .collect();
        out.push(Prop {
            name,
            params,
            value: value.to_string(),
        });
    }
    out
}

/// Splits a content line at the first `:` outside a quoted parameter value.
fn split_value(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some((&line[..i], &line[i + 1..])),
            _ => {}
        }
    }
    None
}

fn short_code(v: &str, table: &[(&'static str, &'static str)]) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, long)| v.eq_ignore_ascii_case(long))
        .map(|(short, _)| *short)
}

fn strip_mailto(v: &str) -> &str {
    match v.split_once(':') {
        Some((s, rest)) if s.eq_ignore_ascii_case("mailto") => rest,
        _ => v,
    }
}

/// The `comp` element of an item, read back from its VCALENDAR.
pub(super) fn comp_element(item: &CalItem) -> Element {
    let props = component_props(&item.ical);
    let mut comp = Element::new("comp");
    comp.set("uid", item.uid.clone());
    comp.set("name", item.summary.clone());
    comp.set_num("compNum", 0);
    comp.set_num("seq", 0);
    comp.set("calItemId", item.id.0.to_string());
    comp.set("apptId", item.id.0.to_string());
    let mut all_day = false;
    let mut is_org = true;
    for p in &props {
        match p.name.as_str() {
            "LOCATION" => {
                comp.set("loc", unesc(&p.value));
            }
            "STATUS" => {
                if let Some(s) = short_code(&p.value, &STATUS) {
                    comp.set("status", s);
                }
            }
            "CLASS" => {
                if let Some(s) = short_code(&p.value, &CLASS) {
                    comp.set("class", s);
                }
            }
            "TRANSP" => {
                let t = if p.value.eq_ignore_ascii_case("TRANSPARENT") {
                    "T"
                } else {
                    "O"
                };
                comp.set("transp", t);
            }
            "PRIORITY" => {
                comp.set("priority", p.value.clone());
            }
            "PERCENT-COMPLETE" => {
                comp.set("percentComplete", p.value.clone());
            }
            "DTSTART" | "DTEND" | "DUE" => {
                let tag = if p.name == "DTSTART" { "s" } else { "e" };
                let el = comp.add_new(tag);
                el.set("d", p.value.clone());
                if p.param("VALUE")
                    .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
                {
                    all_day = true;
                } else if let Some(tz) = p.param("TZID") {
                    el.set("tz", tz.to_string());
                } else if p.value.ends_with('Z') {
                    el.set("tz", "UTC");
                }
            }
            "ORGANIZER" => {
                let el = comp.add_new("or");
                let a = strip_mailto(&p.value).to_string();
                el.set("a", a.clone()).set("url", a);
                if let Some(cn) = p.param("CN") {
                    el.set("d", cn.to_string());
                }
            }
            "ATTENDEE" => {
                let el = comp.add_new("at");
                let a = strip_mailto(&p.value).to_string();
                el.set("a", a.clone()).set("url", a);
                if let Some(cn) = p.param("CN") {
                    el.set("d", cn.to_string());
                }
                if let Some(r) = p.param("ROLE").and_then(|r| short_code(r, &ROLES)) {
                    el.set("role", r);
                }
                if let Some(s) = p.param("PARTSTAT").and_then(|s| short_code(s, &PTST)) {
                    el.set("ptst", s);
                }
                if p.param("RSVP")
                    .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
                {
                    el.set("rsvp", "1");
                }
            }
            "DESCRIPTION" => {
                comp.add_text("desc", unesc(&p.value));
                comp.set_content(
                    "fr",
                    unesc(&p.value).chars().take(100).collect::<String>(),
                    AttrKind::Str,
                );
            }
            "RRULE" => {
                let recur = comp.add_new("recur");
                recur.add(rule_element(&p.value));
            }
            _ => {}
        }
    }
    if let Some(or) = comp.child("or").and_then(|o| o.attr("a")) {
        is_org = or.eq_ignore_ascii_case(&item.organizer) || item.organizer.is_empty();
    }
    comp.set_bool("allDay", all_day);
    comp.set_bool("isOrg", is_org);
    comp
}

/// An RRULE value as `add > rule freq=` with its parts.
fn rule_element(value: &str) -> Element {
    let mut add = Element::new("add");
    let rule = add.add_new("rule");
    for part in value.split(';') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                let short = FREQS
                    .iter()
                    .find(|(_, long)| v.eq_ignore_ascii_case(long))
                    .map(|(s, _)| *s)
                    .unwrap_or("DAI");
                rule.set("freq", short);
            }
            "INTERVAL" => {
                rule.add_new("interval").set("ival", v);
            }
            "COUNT" => {
                rule.add_new("count").set("num", v);
            }
            "UNTIL" => {
                rule.add_new("until").set("d", v);
            }
            "BYDAY" => {
                let by = rule.add_new("byday");
                for d in v.split(',') {
                    let split = d.len().saturating_sub(2);
                    let (ord, day) = d.split_at(split);
                    let w = by.add_new("wkday");
                    w.set("day", day);
                    if !ord.is_empty() {
                        w.set("ordwk", ord);
                    }
                }
            }
            "BYMONTHDAY" => {
                rule.add_new("bymonthday").set("modaylist", v);
            }
            "BYMONTH" => {
                rule.add_new("bymonth").set("molist", v);
            }
            _ => {}
        }
    }
    add
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{ItemId, ItemKind};

    fn invite() -> Element {
        let mut m = Element::new("m");
        m.set("su", "Planning");
        let inv = m.add_new("inv");
        let comp = inv.add_new("comp");
        comp.set("name", "Planning; Q1")
            .set("loc", "Room 1")
            .set("status", "CONF");
        comp.add_new("s").set("d", "20261210T100000Z");
        comp.add_new("e").set("d", "20261210T110000Z");
        comp.add_new("or").set("a", "alice@example.com");
        comp.add_new("at")
            .set("a", "bob@example.com")
            .set("role", "OPT")
            .set("ptst", "AC");
        let rule = comp.add_new("recur").add_new("add").add_new("rule");
        rule.set("freq", "WEE");
        rule.add_new("count").set("num", "3");
        m
    }

    #[test]
    fn body_is_the_plain_part_and_a_part_without_type_is_plain() {
        let mut m = Element::new("m");
        m.add_new("mp")
            .set("ct", "text/plain")
            .set("content", "typed");
        assert_eq!(body_text(&m).as_deref(), Some("typed"));
        let mut m = Element::new("m");
        m.add_new("mp")
            .set("content-type", "text/plain")
            .set("content", "untyped");
        assert_eq!(body_text(&m).as_deref(), Some("untyped"));
        let mut m = Element::new("m");
        m.add_new("mp")
            .set("ct", "text/html")
            .set("content", "<b>x</b>");
        assert_eq!(body_text(&m), None);
    }

    #[test]
    fn invite_round_trips_through_ical() {
        let ical = to_ical(&invite(), "u-1", false, "alice@example.com", &[]).expect("valid");
        assert!(ical.contains("SUMMARY:Planning\\; Q1\r\n"));
        assert!(ical.contains("RRULE:FREQ=WEEKLY;COUNT=3\r\n"));
        assert!(ical.contains("ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:bob"));
        let item = CalItem {
            id: ItemId(300),
            kind: ItemKind::Appointment,
            folder: ItemId(10),
            flags: zcs_core::Flags(0),
            uid: "u-1".into(),
            summary: "Planning; Q1".into(),
            start_ms: None,
            end_ms: None,
            recurring: true,
            organizer: "alice@example.com".into(),
            attendees: vec![],
            ical,
            modseq: 1,
        };
        let comp = comp_element(&item);
        assert_eq!(comp.attr("loc"), Some("Room 1"));
        assert_eq!(comp.attr("status"), Some("CONF"));
        assert_eq!(
            comp.child("s").and_then(|s| s.attr("d")),
            Some("20261210T100000Z")
        );
        let at = comp.child("at").expect("attendee");
        assert_eq!(at.attr("role"), Some("OPT"));
        assert_eq!(at.attr("ptst"), Some("AC"));
        let rule = comp
            .child("recur")
            .and_then(|r| r.child("add"))
            .and_then(|a| a.child("rule"))
            .expect("rule");
        assert_eq!(rule.attr("freq"), Some("WEE"));
    }

    #[test]
    fn bad_dates_and_rules_are_refused() {
        assert!(ical_date("2026121").is_err());
        assert!(ical_date("20261210T1000").is_err());
        assert!(ical_date("20261210").is_ok());
        let mut m = invite();
        m.children[0].children[0]
            .children
            .retain(|c| c.name != "recur");
        let rule = m.children[0].children[0]
            .add_new("recur")
            .add_new("add")
            .add_new("rule");
        rule.set("freq", "SOMETIMES");
        assert!(to_ical(&m, "u", false, "a@b", &[]).is_err());
    }

    #[test]
    fn attached_files_are_kept_inline() {
        use base64::Engine as _;
        let data = vec![b'z'; 300];
        let files = [
            Attached {
                name: Some("notes: q1.txt"),
                content_type: "Text/Plain",
                data: &data,
            },
            Attached {
                name: None,
                content_type: "bad type\r\nX-EVIL:1",
                data: b"x",
            },
        ];
        let ical = to_ical(&invite(), "u-1", true, "a@b", &files).expect("valid");
        assert!(ical.lines().all(|l| l.len() <= 75));
        let unfolded = ical.replace("\r\n ", "");
        let line = unfolded
            .lines()
            .find(|l| l.starts_with("ATTACH;FMTTYPE=text/plain;"))
            .expect("attach line");
        assert!(line.contains(";ENCODING=BASE64;VALUE=BINARY;X-FILENAME=\"notes: q1.txt\":"));
        let b64 = line.rsplit(':').next().expect("value");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        assert_eq!(decoded, data);
        assert!(unfolded.contains("ATTACH;FMTTYPE=application/octet-stream;"));
        assert!(!unfolded.contains("X-EVIL"));
    }

    #[test]
    fn long_lines_are_folded() {
        let text = fold(&[format!("DESCRIPTION:{}", "x".repeat(200))]);
        assert!(text.lines().all(|l| l.len() <= 75));
    }
}
