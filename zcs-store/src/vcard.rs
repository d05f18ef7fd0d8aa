//! vCard (RFC 6350, and 3.0 as RFC 2426) to and from Zimbra contact attributes, with
//! calcard. Pure: no I/O, never panics on any input.
//!
//! The mapping follows Zimbra's names: `FN` is `fullName`, `N` is
//! `lastName;firstName;middleName;namePrefix;nameSuffix`, `EMAIL` is `email`, `email2`,
//! ..., `TEL` by TYPE is `workPhone`, `homePhone`, `mobilePhone`, `workFax`,
//! `otherPhone`, `ORG` is `company;department`, `TITLE` is `jobTitle`, `NOTE` is
//! `notes`, `URL` is `homeURL`/`workURL`, `ADR` by TYPE is `home*`/`work*`, `BDAY` is
//! `birthday`, `NICKNAME` is `nickname`, `UID` is `vcardUID`. A `KIND:group` card is a
//! contact group whose `MEMBER:mailto:` values are inline members.
//!
//! LIMITATION: photos, custom `X-` properties and GAL member references are not
//! carried across.

use calcard::vcard::{
    VCard, VCardEntry, VCardKind, VCardParameter, VCardParameterName, VCardParameterValue,
    VCardProperty, VCardValue,
};
use calcard::{Entry, Parser};

use crate::item_types::{Contact, MemberKind};

/// A contact read from a vCard: its Zimbra fields and group members (kind, value).
pub(crate) type ParsedCard = (Vec<(String, String)>, Vec<(u8, String)>);

/// The most vCards read from one import.
const MAX_CARDS: usize = 10_000;

/// Every vCard in `text`, in order; a card calcard cannot read is skipped (and counted
/// in the second value).
pub(crate) fn parse_vcards(text: &str) -> (Vec<ParsedCard>, usize) {
    let mut parser = Parser::new(text);
    let mut cards = Vec::new();
    let mut bad = 0;
    while cards.len() < MAX_CARDS {
        match parser.entry() {
            Entry::VCard(card) => cards.push(fields_of(&card)),
            Entry::Eof => break,
            Entry::ICalendar(_) | Entry::InvalidLine(_) => bad += 1,
            _ => {
                bad += 1;
                break;
            }
        }
    }
    (cards, bad)
}

/// The values of an entry, one string per `;`-separated component.
fn components(e: &VCardEntry) -> Vec<String> {
    e.values
        .iter()
        .map(|v| match v {
            VCardValue::Component(parts) => parts.join(","),
            other => other.as_text().map(str::to_string).unwrap_or_default(),
        })
        .collect()
}

/// The lower-cased TYPE parameter values of an entry.
fn types(e: &VCardEntry) -> Vec<String> {
    e.params
        .iter()
        .filter(|p| p.name == VCardParameterName::Type)
        .filter_map(|p| p.value.as_text().map(|t| t.to_ascii_lowercase()))
        .collect()
}

fn fields_of(card: &VCard) -> ParsedCard {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut members = Vec::new();
    let mut emails = 0;
    let put = |fields: &mut Vec<(String, String)>, k: &str, v: &str| {
        let v = v.trim();
        if !v.is_empty() && !fields.iter().any(|(f, _)| f == k) {
            fields.push((k.to_string(), v.to_string()));
        }
    };
    for e in &card.entries {
        let vals = components(e);
        let first = vals.first().map(String::as_str).unwrap_or_default();
        let t = types(e);
        let has = |x: &str| t.iter().any(|y| y == x);
        match &e.name {
            VCardProperty::Fn => put(&mut fields, "fullName", first),
            VCardProperty::N => {
                for (i, k) in [
                    "lastName",
                    "firstName",
                    "middleName",
                    "namePrefix",
                    "nameSuffix",
                ]
                .iter()
                .enumerate()
                {
                    if let Some(v) = vals.get(i) {
                        put(&mut fields, k, v);
                    }
                }
            }
            VCardProperty::Nickname => put(&mut fields, "nickname", first),
            VCardProperty::Email => {
                emails += 1;
                let k = if emails == 1 {
                    "email".to_string()
                } else {
                    format!("email{emails}")
                };
                put(&mut fields, &k, first);
            }
            VCardProperty::Tel => {
                let k = if has("fax") {
                    "workFax"
                } else if has("cell") {
                    "mobilePhone"
                } else if has("home") {
                    "homePhone"
                } else if has("work") {
                    "workPhone"
                } else {
                    "otherPhone"
                };
                put(&mut fields, k, first);
            }
            VCardProperty::Org => {
                put(&mut fields, "company", first);
                if let Some(d) = vals.get(1) {
                    put(&mut fields, "department", d);
                }
            }
            VCardProperty::Title => put(&mut fields, "jobTitle", first),
            VCardProperty::Note => put(&mut fields, "notes", first),
            VCardProperty::Url => {
                let k = if has("work") { "workURL" } else { "homeURL" };
                put(&mut fields, k, first);
            }
            VCardProperty::Adr => {
                let p = if has("work") { "work" } else { "home" };
                // RFC 6350 §6.3.1: pobox;ext;street;locality;region;code;country
                for (i, k) in ["Street", "City", "State", "PostalCode", "Country"]
                    .iter()
                    .enumerate()
                {
                    if let Some(v) = vals.get(i + 2) {
                        put(&mut fields, &format!("{p}{k}"), v);
                    }
                }
            }
            VCardProperty::Bday => {
                let v = e.values.first().map(bday_text).unwrap_or_default();
                put(&mut fields, "birthday", &v);
            }
            VCardProperty::Uid => put(&mut fields, "vcardUID", first),
            VCardProperty::Kind if first.eq_ignore_ascii_case("group") => {
                put(&mut fields, "type", "group");
            }
            VCardProperty::Kind
                if e.values
                    .iter()
                    .any(|v| matches!(v, VCardValue::Kind(VCardKind::Group))) =>
            {
                put(&mut fields, "type", "group");
            }
            VCardProperty::Member => {
                let m = first.trim();
                let addr = m
                    .strip_prefix("mailto:")
                    .or_else(|| m.strip_prefix("MAILTO:"));
                if let Some(addr) = addr.filter(|a| !a.is_empty()) {
                    members.push((MemberKind::Inline.code(), addr.to_string()));
                }
            }
            _ => {}
        }
    }
    if !fields.iter().any(|(k, _)| k == "type") && !members.is_empty() {
        fields.push(("type".into(), "group".into()));
    }
    if let Some(pos) = fields.iter().position(|(k, _)| k == "type")
        && fields[pos].1 == "group"
        && !fields.iter().any(|(k, _)| k == "nickname")
        && let Some(full) = fields.iter().find(|(k, _)| k == "fullName").cloned()
    {
        // Zimbra names a group by its nickname.
        fields.push(("nickname".into(), full.1));
    }
    (fields, members)
}

fn bday_text(v: &VCardValue) -> String {
    match v {
        VCardValue::PartialDateTime(d) => match (d.year, d.month, d.day) {
            (Some(y), Some(m), Some(dd)) => format!("{y:04}-{m:02}-{dd:02}"),
            (None, Some(m), Some(dd)) => format!("--{m:02}-{dd:02}"),
            _ => String::new(),
        },
        other => other.as_text().unwrap_or_default().to_string(),
    }
}

fn text_entry(name: VCardProperty, v: &str) -> VCardEntry {
    VCardEntry::new(name).with_value(v.to_string())
}

fn typed(name: VCardProperty, ty: &str, values: Vec<VCardValue>) -> VCardEntry {
    VCardEntry::new(name)
        .with_param(VCardParameter {
            name: VCardParameterName::Type,
            value: VCardParameterValue::Text(ty.to_string()),
        })
        .with_values(values)
}

/// The contact as one vCard 3.0 (`BEGIN:VCARD` ... `END:VCARD`, CRLF lines).
pub(crate) fn to_vcard(c: &Contact) -> String {
    let f = |k: &str| c.field(k).unwrap_or_default().to_string();
    let mut entries = Vec::new();
    let full = {
        let full = f("fullName");
        if !full.is_empty() {
            full
        } else {
            let joined = [f("firstName"), f("lastName")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if joined.is_empty() {
                [f("nickname"), f("email"), f("company")]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or_default()
            } else {
                joined
            }
        }
    };
    entries.push(text_entry(VCardProperty::Fn, &full));
    let n: Vec<VCardValue> = [
        "lastName",
        "firstName",
        "middleName",
        "namePrefix",
        "nameSuffix",
    ]
    .iter()
    .map(|k| VCardValue::Text(f(k)))
    .collect();
    entries.push(VCardEntry::new(VCardProperty::N).with_values(n));
    for (k, prop) in [
        ("nickname", VCardProperty::Nickname),
        ("jobTitle", VCardProperty::Title),
        ("notes", VCardProperty::Note),
        ("birthday", VCardProperty::Bday),
        ("vcardUID", VCardProperty::Uid),
    ] {
        let v = f(k);
        if !v.is_empty() {
            entries.push(text_entry(prop, &v));
        }
    }
    let mut emails: Vec<(u32, String)> = c
        .fields
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("email")?;
            let idx = if n.is_empty() { 1 } else { n.parse().ok()? };
            Some((idx, v.clone()))
        })
        .collect();
    emails.sort();
    for (_, e) in emails {
        entries.push(text_entry(VCardProperty::Email, &e));
    }
    for (k, ty) in [
        ("workPhone", "WORK"),
        ("homePhone", "HOME"),
        ("mobilePhone", "CELL"),
        ("workFax", "FAX"),
        ("otherPhone", "VOICE"),
    ] {
        let v = f(k);
        if !v.is_empty() {
            entries.push(typed(VCardProperty::Tel, ty, vec![VCardValue::Text(v)]));
        }
    }
    if !f("company").is_empty() || !f("department").is_empty() {
        let org = vec![
            VCardValue::Text(f("company")),
            VCardValue::Text(f("department")),
        ];
        entries.push(VCardEntry::new(VCardProperty::Org).with_values(org));
    }
    for (k, ty) in [("homeURL", "HOME"), ("workURL", "WORK")] {
        let v = f(k);
        if !v.is_empty() {
            entries.push(typed(VCardProperty::Url, ty, vec![VCardValue::Text(v)]));
        }
    }
    for (p, ty) in [("home", "HOME"), ("work", "WORK")] {
        let parts: Vec<String> = ["Street", "City", "State", "PostalCode", "Country"]
            .iter()
            .map(|k| f(&format!("{p}{k}")))
            .collect();
        if parts.iter().any(|s| !s.is_empty()) {
            let mut vals = vec![
                VCardValue::Text(String::new()),
                VCardValue::Text(String::new()),
            ];
            vals.extend(parts.into_iter().map(VCardValue::Text));
            entries.push(typed(VCardProperty::Adr, ty, vals));
        }
    }
    if c.is_group {
        entries.push(text_entry(VCardProperty::Kind, "group"));
        for m in c.members.iter().filter(|m| m.kind == MemberKind::Inline) {
            entries.push(text_entry(
                VCardProperty::Member,
                &format!("mailto:{}", m.value),
            ));
        }
    }
    let card = VCard { entries };
    let mut out = String::new();
    let _ = card.write_to(&mut out, calcard::vcard::VCardVersion::V3_0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item_types::ContactMember;
    use proptest::prelude::*;
    use zcs_core::{Flags, ItemId};

    fn contact(fields: &[(&str, &str)]) -> Contact {
        Contact {
            id: ItemId(300),
            folder: ItemId(7),
            flags: Flags(0),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            members: Vec::new(),
            is_group: false,
            modseq: 1,
            revision: 1,
            date_ms: 0,
            changed_ms: 0,
        }
    }

    #[test]
    fn reads_a_vcard() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Doe\r\nN:Doe;Jane;;;\r\n\
            EMAIL;TYPE=INTERNET:jane@example.com\r\nEMAIL:jd@example.org\r\n\
            TEL;TYPE=CELL:+1 555 0100\r\nORG:Example Inc.;Sales\r\nTITLE:Boss\r\n\
            ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA\r\nEND:VCARD\r\n";
        let (cards, bad) = parse_vcards(text);
        assert_eq!(bad, 0);
        assert_eq!(cards.len(), 1);
        let c = contact(
            &cards[0]
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        assert_eq!(c.field("firstName"), Some("Jane"));
        assert_eq!(c.field("lastName"), Some("Doe"));
        assert_eq!(c.field("email"), Some("jane@example.com"));
        assert_eq!(c.field("email2"), Some("jd@example.org"));
        assert_eq!(c.field("mobilePhone"), Some("+1 555 0100"));
        assert_eq!(c.field("company"), Some("Example Inc."));
        assert_eq!(c.field("department"), Some("Sales"));
        assert_eq!(c.field("jobTitle"), Some("Boss"));
        assert_eq!(c.field("workCity"), Some("Springfield"));
    }

    #[test]
    fn export_then_import_keeps_the_fields() {
        let c = contact(&[
            ("firstName", "Jane"),
            ("lastName", "Doe"),
            ("email", "jane@example.com"),
            ("email2", "jd@example.org"),
            ("company", "Example; Inc."),
            ("workPhone", "+1 555 0101"),
            ("homeCity", "Paris"),
            ("notes", "line1\nline2, with comma"),
        ]);
        let text = to_vcard(&c);
        assert!(text.starts_with("BEGIN:VCARD\r\n"), "{text}");
        let (cards, _) = parse_vcards(&text);
        assert_eq!(cards.len(), 1, "{text}");
        let back = contact(
            &cards[0]
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        for (k, v) in &c.fields {
            assert_eq!(back.field(k), Some(v.as_str()), "{k} in {text}");
        }
        assert_eq!(back.field("fullName"), Some("Jane Doe"));
    }

    #[test]
    fn groups_round_trip_inline_members() {
        let mut g = contact(&[("type", "group"), ("nickname", "Team")]);
        g.is_group = true;
        g.members = vec![ContactMember {
            kind: MemberKind::Inline,
            value: "a@example.com".into(),
        }];
        let (cards, _) = parse_vcards(&to_vcard(&g));
        let (fields, members) = &cards[0];
        assert!(fields.contains(&("type".into(), "group".into())));
        assert_eq!(members, &vec![(b'I', "a@example.com".to_string())]);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,400}") {
            let _ = parse_vcards(&s);
            let _ = parse_vcards(&format!("BEGIN:VCARD\r\nVERSION:3.0\r\n{s}\r\nEND:VCARD\r\n"));
        }
    }
}
