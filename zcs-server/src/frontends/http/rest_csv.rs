//! Contacts as CSV for the REST `fmt=csv` export and import (Zimbra's CsvFormatter):
//! reading a CSV document (RFC 4180 with the leniency Zimbra's reader has: `,` or `;`
//! as separator, found in the header row; CR, LF or CRLF line ends; blank lines skipped;
//! a byte-order mark dropped), turning its rows into contact attributes through a layout
//! of [`super::csv_formats`] (`csvfmt=`, else guessed from the header), and writing
//! contacts in a layout (by default `zimbra-csv`: every attribute, sorted, as header).
//!
//! Bad input never panics: a document that cannot be read is a [`CsvError`]; values the
//! store would refuse (an attribute name with control characters, a value over 64 KiB)
//! are dropped from their contact rather than failing the import.

use std::collections::{BTreeSet, HashMap};

use super::csv_formats::{self, Column, Kind, Layout};

/// Most columns a header may have (Zimbra's limit on a contact's fields).
pub const MAX_COLUMNS: usize = 500;
/// Longest column name (Zimbra's longest contact attribute name).
pub const MAX_NAME_LEN: usize = 100;
/// Longest value kept (the store's limit on a contact attribute).
const MAX_VALUE_LEN: usize = 64 * 1024;

/// Why a CSV document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("no column name definitions")]
    NoHeader,
    #[error("too many columns: {0}")]
    TooManyColumns(usize),
    #[error("missing column name for column[{0}]")]
    MissingName(usize),
    #[error("invalid format - header field {0} is too long")]
    NameTooLong(usize),
    #[error("invalid format - header field {0} holds control characters")]
    ControlInName(usize),
    #[error("end of stream reached while parsing a quoted field started at line {0}")]
    Unterminated(usize),
}

/// A read CSV document: its header and rows (`None` for a blank field) and separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub sep: char,
}

/// Reads `text`. The separator is the first `,` or `;` outside quotes in the header
/// row (`,` when there is none). A quoted field may hold separators, line ends and
/// doubled quotes; text after its closing quote is kept as part of it.
///
/// # Errors
/// [`CsvError`] for no header, a header with an empty or too long name, a name with
/// control characters, or too many columns, or a quoted field left open.
pub fn parse(text: &str) -> Result<Document, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sep: Option<char> = None;
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut row: Vec<Option<String>> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut started = false;
    let mut line = 1usize;
    let mut quote_line = 1usize;
    let mut chars = text.chars().peekable();
    // A blank field, quoted or not, is `None` (Zimbra's reader).
    let end_field = |field: &mut String, row: &mut Vec<Option<String>>| {
        let f = std::mem::take(field);
        row.push((!f.is_empty()).then_some(f));
    };
    while let Some(ch) = chars.next() {
        if in_quotes {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        let is_sep = match sep {
            Some(s) => ch == s,
            None if ch == ',' || ch == ';' => {
                sep = Some(ch);
                true
            }
            None => false,
        };
        if is_sep {
            end_field(&mut field, &mut row);
            quoted = false;
            started = true;
            continue;
        }
        match ch {
            '\r' | '\n' => {
                if ch == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line += 1;
                if started || !field.is_empty() || quoted {
                    end_field(&mut field, &mut row);
                    rows.push(std::mem::take(&mut row));
                }
                quoted = false;
                started = false;
                // The separator is decided by the header row only.
                if sep.is_none() && !rows.is_empty() {
                    sep = Some(',');
                }
            }
            '"' if field.is_empty() && !quoted => {
                quoted = true;
                in_quotes = true;
                started = true;
                quote_line = line;
            }
            c => {
                started = true;
                field.push(c);
            }
        }
    }
    if in_quotes {
        return Err(CsvError::Unterminated(quote_line));
    }
    if started || !field.is_empty() {
        end_field(&mut field, &mut row);
        rows.push(row);
    }
    let mut rows = rows.into_iter();
    let header_row = rows.next().ok_or(CsvError::NoHeader)?;
    if header_row.len() > MAX_COLUMNS {
        return Err(CsvError::TooManyColumns(header_row.len()));
    }
    let mut header = Vec::with_capacity(header_row.len());
    for (i, h) in header_row.into_iter().enumerate() {
        let h = h.unwrap_or_default();
        if h.trim().is_empty() {
            return Err(CsvError::MissingName(i));
        }
        if h.chars().count() > MAX_NAME_LEN {
            return Err(CsvError::NameTooLong(i + 1));
        }
        // A binary file is not a CSV document; no contact attribute holds these.
        if h.chars().any(|c| c.is_control() && c != '\t') {
            return Err(CsvError::ControlInName(i + 1));
        }
        header.push(h);
    }
    Ok(Document {
        header,
        rows: rows.collect(),
        sep: sep.unwrap_or(','),
    })
}

/// A contact's attributes being gathered: the first value for a name (compared without
/// case) wins, empty values and names are not kept (Zimbra's rules).
#[derive(Default)]
struct Gather {
    fields: Vec<(String, String)>,
    tags: Vec<String>,
}

impl Gather {
    fn put(&mut self, key: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        let key = key.trim();
        if key.is_empty()
            || v.is_empty()
            || v.len() > MAX_VALUE_LEN
            || key.len() > MAX_NAME_LEN
            || key.chars().any(char::is_control)
        {
            return;
        }
        if self.fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return;
        }
        self.fields.push((key.to_string(), v.to_string()));
    }
}

/// One contact read from a CSV row: its attributes and tag names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvContact {
    pub fields: Vec<(String, String)>,
    pub tags: Vec<String>,
}

/// The contacts of a read document in `layout` (`None`: guessed from the header).
/// Rows giving no attribute, or only one that is blank, are left out.
pub fn contacts(doc: &Document, layout: Option<&'static Layout>) -> Vec<CsvContact> {
    let layout = layout.unwrap_or_else(|| csv_formats::guess(&doc.header));
    doc.rows
        .iter()
        .filter_map(|row| {
            let g = to_contact(doc, row, layout);
            let blank = g.fields.len() == 1 && g.fields[0].1.trim().is_empty();
            (!g.fields.is_empty() && !blank).then_some(CsvContact {
                fields: g.fields,
                tags: g.tags,
            })
        })
        .collect()
}

fn to_contact(doc: &Document, row: &[Option<String>], layout: &Layout) -> Gather {
    let mut g = Gather::default();
    let value = |i: usize| row.get(i).and_then(Option::as_deref);
    if layout.all_fields {
        for (i, name) in doc.header.iter().enumerate() {
            g.put(name, value(i));
        }
        return g;
    }
    let mut unseen: Vec<&Column> = layout.columns.iter().collect();
    let mut pending: Vec<(&Column, HashMap<String, String>)> = Vec::new();
    for (i, name) in doc.header.iter().enumerate() {
        let lc = name.to_lowercase();
        let v = value(i);
        let hit = unseen.iter().position(|c| match c.kind {
            Kind::Multi => c.header_names().any(|n| n.to_lowercase() == lc),
            _ => c.first_name().to_lowercase() == lc,
        });
        let Some(pos) = hit else {
            if layout.name == csv_formats::GMAIL.name {
                gmail_pair(doc, row, name, &mut g);
            } else {
                g.put(name, v);
            }
            continue;
        };
        let col = unseen[pos];
        match col.kind {
            Kind::Simple => {
                if !col.field.is_empty() {
                    g.put(col.field, v);
                }
                unseen.remove(pos);
            }
            Kind::Name => {
                add_name(v, col.field, doc.sep, &mut g);
                unseen.remove(pos);
            }
            Kind::Date => {
                add_date(v, col.field, layout.date_order, &mut g);
                unseen.remove(pos);
            }
            Kind::Tag => {
                if let Some(v) = v {
                    g.tags.extend(
                        v.split([',', ';'])
                            .map(str::trim)
                            .filter(|t| !t.is_empty() && *t != "*")
                            .map(str::to_string),
                    );
                }
            }
            Kind::Multi => {
                let slot = match pending.iter().position(|(c, _)| std::ptr::eq(*c, col)) {
                    Some(p) => p,
                    None => {
                        pending.push((col, HashMap::new()));
                        pending.len() - 1
                    }
                };
                if let Some(v) = v {
                    pending[slot].1.insert(lc, v.to_string());
                } else {
                    pending[slot].1.entry(lc).or_default();
                }
                if pending[slot].1.len() >= col.header_names().count() {
                    let (c, parts) = pending.remove(slot);
                    add_multi(c, &parts, &mut g);
                    unseen.remove(pos);
                }
            }
        }
    }
    for (c, parts) in pending {
        add_multi(c, &parts, &mut g);
    }
    g
}

/// Google's typed columns (`Phone 1 - Value` beside `Phone 1 - Type`); the type
/// columns themselves and unknown parts are not kept.
fn gmail_pair(doc: &Document, row: &[Option<String>], name: &str, g: &mut Gather) {
    let Some((prefix, _)) = name.rsplit_once(" - ") else {
        let i = doc.header.iter().position(|h| h == name);
        g.put(name, i.and_then(|i| row.get(i)).and_then(Option::as_deref));
        return;
    };
    if name.ends_with(" - Type") {
        return;
    }
    let type_col = format!("{prefix} - Type");
    let at = |h: &str| {
        doc.header
            .iter()
            .position(|x| x == h)
            .and_then(|i| row.get(i))
            .and_then(Option::as_deref)
    };
    let kind = at(&type_col).unwrap_or("");
    if let Some(field) = csv_formats::gmail_typed(name, kind) {
        // Google separates several values of one entry with " ::: ".
        let v = at(name).map(|v| v.split(" ::: ").next().unwrap_or(v));
        g.put(field, v);
    }
}

/// A whole name into the attributes of `fields` (`first,middle,last` or `first,last`):
/// `Brown, James` (by the document's separator) or `James [Middle] Brown`.
fn add_name(value: Option<&str>, fields: &str, sep: char, g: &mut Gather) {
    let Some(value) = value else { return };
    let names: Vec<&str> = fields.split(',').collect();
    let (first, middle, last) = match names.as_slice() {
        [f, l] => (*f, None, *l),
        [f, m, l] => (*f, Some(*m), *l),
        [f, ..] => {
            g.put(f, Some(value));
            return;
        }
        [] => return,
    };
    if let Some((l, f)) = value.split_once(sep).filter(|(l, _)| !l.is_empty()) {
        g.put(last, Some(l.trim()));
        g.put(first, Some(f.trim()));
        return;
    }
    let mut words = value.splitn(2, ' ');
    let f = words.next().unwrap_or("");
    let Some(rest) = words.next() else {
        g.put(first, Some(value));
        return;
    };
    g.put(first, Some(f.trim()));
    let rest = match (middle, rest.split_once(' ')) {
        (Some(m), Some((mid, tail))) if !mid.is_empty() => {
            g.put(m, Some(mid.trim()));
            tail
        }
        _ => rest,
    };
    if !rest.is_empty() {
        g.put(last, Some(rest.trim()));
    }
}

/// `yyyy-mm-dd` for a valid date, `None` otherwise; unless `lenient`, a day of 12 or
/// less is refused (it could be a month in another order).
fn ymd(y: i64, m: i64, d: i64, lenient: bool) -> Option<String> {
    if !(1600..=4500).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let first = if lenient { 1 } else { 13 };
    if d < first || d > 31 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m as u32, d as u32)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// A date column: stored as `yyyy-mm-dd` when the order of its three numbers can be
/// told (or the layout's order settles it), else as written, quoted with `'` when it
/// starts with a digit (as Zimbra keeps an unreadable date from passing for one).
fn add_date(value: Option<&str>, field: &str, order: Option<&str>, g: &mut Gather) {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return;
    };
    let mut parts: Vec<&str> = v.split('/').collect();
    if parts.len() != 3 {
        parts = v.split('-').collect();
    }
    // German exports write day.month.year.
    if parts.len() != 3 {
        parts = v.split('.').collect();
    }
    let nums: Option<Vec<i64>> = parts.iter().map(|p| p.trim().parse().ok()).collect();
    let in_order = |n: &[i64], lenient: bool| {
        let o = order?;
        ymd(n[o.find('y')?], n[o.find('m')?], n[o.find('d')?], lenient)
    };
    let found = nums.filter(|n| n.len() == 3).and_then(|n| {
        let (a, b, c) = (n[0], n[1], n[2]);
        // A layout's own order first (a localized export's 01.02.1980 is 1 February).
        in_order(&n, false)
            .or_else(|| ymd(a, b, c, false))
            .or_else(|| ymd(c, a, b, false))
            .or_else(|| ymd(c, b, a, false))
            .or_else(|| ymd(b, c, a, false))
            .or_else(|| ymd(a, c, b, false))
            .or_else(|| ymd(b, a, c, false))
            .or_else(|| (a > 31).then(|| ymd(a, b, c, true)).flatten())
            .or_else(|| in_order(&n, true))
    });
    match found {
        Some(d) => g.put(field, Some(&d)),
        None if v.starts_with(|c: char| c.is_ascii_digit()) => {
            g.put(field, Some(&format!("'{v}'")))
        }
        None => g.put(field, Some(v)),
    }
}

/// Several columns into one attribute: a birthday from month, day and year; anything
/// else joined by newlines.
fn add_multi(col: &Column, parts: &HashMap<String, String>, g: &mut Gather) {
    let values: Vec<&str> = col
        .header_names()
        .filter_map(|n| parts.get(&n.to_lowercase()).map(String::as_str))
        .filter(|v| !v.is_empty())
        .collect();
    if col.field == "birthday" || col.field == "anniversary" {
        let nums: Vec<i64> = col
            .header_names()
            .map(|n| {
                parts
                    .get(&n.to_lowercase())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        if let [m, d, y] = nums.as_slice()
            && let Some(date) = ymd(*y, *m, *d, true)
        {
            g.put(col.field, Some(&date));
            return;
        }
        let joined = values.join("-");
        if joined.starts_with(|c: char| c.is_ascii_digit()) {
            g.put(col.field, Some(&format!("'{joined}'")));
        } else {
            g.put(col.field, Some(&joined));
        }
        return;
    }
    if !values.is_empty() {
        g.put(col.field, Some(&values.join("\n")));
    }
}

/// One contact to write: its attributes and tag names.
#[derive(Debug, Clone, Copy)]
pub struct ExportCard<'a> {
    pub fields: &'a [(String, String)],
    pub tags: &'a [String],
}

fn quote(v: &str, out: &mut String) {
    out.push('"');
    out.push_str(&v.replace('"', "\"\""));
    out.push('"');
}

/// Writes `cards` in `layout` with separator `sep`: a header row, then one row per
/// contact, every field quoted (`"` doubled), rows ended by CRLF. For `zimbra-csv`
/// the header is every attribute any card has, sorted; for the others it is the
/// layout's columns, a column with no attribute of its own written from the card's
/// attribute of the column's name, and the tag column from the card's tags.
pub fn export(cards: &[ExportCard<'_>], layout: &Layout, sep: char) -> String {
    let mut out = String::new();
    let get = |card: &ExportCard<'_>, k: &str| {
        card.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let row = |out: &mut String, values: Vec<String>| {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            quote(v, out);
        }
        out.push_str("\r\n");
    };
    if layout.all_fields {
        let names: BTreeSet<&str> = cards
            .iter()
            .flat_map(|c| c.fields.iter().map(|(k, _)| k.as_str()))
            .collect();
        row(&mut out, names.iter().map(|n| n.to_string()).collect());
        for card in cards {
            row(&mut out, names.iter().map(|n| get(card, n)).collect());
        }
        return out;
    }
    row(
        &mut out,
        layout
            .columns
            .iter()
            .map(|c| c.first_name().to_string())
            .collect(),
    );
    for card in cards {
        let values = layout
            .columns
            .iter()
            .map(|c| match c.kind {
                Kind::Tag => card.tags.join(&sep.to_string()),
                Kind::Name | Kind::Date | Kind::Simple | Kind::Multi if c.field.is_empty() => {
                    get(card, c.first_name())
                }
                Kind::Name => String::new(),
                _ => get(card, c.field),
            })
            .collect();
        row(&mut out, values);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontends::http::csv_formats::{OUTLOOK, THUNDERBIRD, ZIMBRA};
    use proptest::prelude::*;

    fn f(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn zimbra_layout_round_trip() {
        let a = f(&[
            ("lastName", "O\"Neil"),
            ("email", "o@x.test"),
            ("notes", "a,b\r\nc"),
        ]);
        let b = f(&[("firstName", "Zed")]);
        let tags = Vec::new();
        let cards = [
            ExportCard {
                fields: &a,
                tags: &tags,
            },
            ExportCard {
                fields: &b,
                tags: &tags,
            },
        ];
        let text = export(&cards, &ZIMBRA, ',');
        assert!(text.starts_with("\"email\",\"firstName\",\"lastName\",\"notes\"\r\n"));
        let doc = parse(&text).expect("own output");
        let back = contacts(&doc, None);
        assert_eq!(back.len(), 2);
        let mut got = back[0].fields.clone();
        got.sort();
        let mut want = a.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(back[1].fields, b);
        // csvsep=; reads back too (the separator is found in the header).
        let text = export(&cards, &ZIMBRA, ';');
        assert_eq!(contacts(&parse(&text).expect("csv"), None).len(), 2);
    }

    #[test]
    fn outlook_rows_map_to_attributes() {
        let text = "\u{feff}First Name,Last Name,E-mail Address,E-mail Type,Business Street,\
                    Business Street 2,Birthday,Name,Custom Thing,Categories\n\
                    Ann,Lee,ann@x.test,SMTP,1 Main St,Suite 2,12/25/1980,,v1,Friends\n\
                    \n\
                    ,,,,,,,\"Brown, James\",,\n\
                    \" \"\n";
        let doc = parse(text).expect("csv");
        assert_eq!(doc.header[0], "First Name");
        let cs = contacts(&doc, None);
        assert_eq!(cs.len(), 2, "{cs:?}");
        let get = |c: &CsvContact, k: &str| {
            c.fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(&cs[0], "firstName").as_deref(), Some("Ann"));
        assert_eq!(get(&cs[0], "email").as_deref(), Some("ann@x.test"));
        assert_eq!(
            get(&cs[0], "workStreet").as_deref(),
            Some("1 Main St\nSuite 2")
        );
        assert_eq!(get(&cs[0], "birthday").as_deref(), Some("1980-12-25"));
        assert_eq!(get(&cs[0], "Custom Thing").as_deref(), Some("v1"));
        assert_eq!(get(&cs[0], "E-mail Type"), None);
        assert_eq!(get(&cs[1], "lastName").as_deref(), Some("Brown"));
        assert_eq!(get(&cs[1], "firstName").as_deref(), Some("James"));
    }

    #[test]
    fn thunderbird_birthday_gmail_pairs_and_semicolons() {
        let text = "First Name;Last Name;Primary Email;Birth Month;Birth Day;Birth Year\r\n\
                    Bo;Ek;bo@x.test;3;4;1990\r\n";
        let doc = parse(text).expect("csv");
        assert_eq!(doc.sep, ';');
        let cs = contacts(&doc, Some(&THUNDERBIRD));
        assert!(
            cs[0]
                .fields
                .contains(&("birthday".into(), "1990-03-04".into()))
        );
        let text = "Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,\
                    E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value\n\
                    Cy Do,Cy,Do,* myContacts ::: Work,* Home,cy@x.test,Mobile,+1 555\n";
        let cs = contacts(&parse(text).expect("csv"), None);
        assert!(
            cs[0]
                .fields
                .contains(&("mobilePhone".into(), "+1 555".into()))
        );
        assert!(cs[0].fields.contains(&("email".into(), "cy@x.test".into())));
        assert!(cs[0].fields.contains(&("lastName".into(), "Do".into())));
        assert!(!cs[0].fields.iter().any(|(k, _)| k.contains("Type")));
    }

    #[test]
    fn other_layout_exports_its_columns_and_tags() {
        let a = f(&[
            ("firstName", "Ann"),
            ("email", "a@x.test"),
            ("workStreet", "1 St"),
        ]);
        let tags = vec!["Friends".to_string()];
        let text = export(
            &[ExportCard {
                fields: &a,
                tags: &tags,
            }],
            &OUTLOOK,
            ',',
        );
        let mut lines = text.split("\r\n");
        let header = lines.next().expect("header");
        assert!(header.starts_with("\"Title\",\"First Name\""));
        let back = contacts(&parse(&text).expect("csv"), Some(&OUTLOOK));
        assert!(
            back[0]
                .fields
                .contains(&("email".into(), "a@x.test".into()))
        );
        assert!(
            back[0]
                .fields
                .contains(&("workStreet".into(), "1 St".into()))
        );
    }

    #[test]
    fn hostile_documents_are_errors_not_panics() {
        assert_eq!(parse(""), Err(CsvError::NoHeader));
        assert_eq!(parse("\n\r\n"), Err(CsvError::NoHeader));
        assert_eq!(parse("a,,b\n1,2,3"), Err(CsvError::MissingName(1)));
        assert_eq!(parse("a,\"b\nc,d"), Err(CsvError::Unterminated(1)));
        let wide = vec!["c"; MAX_COLUMNS + 1].join(",");
        assert!(matches!(parse(&wide), Err(CsvError::TooManyColumns(_))));
        assert!(matches!(
            parse(&"n".repeat(MAX_NAME_LEN + 1)),
            Err(CsvError::NameTooLong(1))
        ));
        assert_eq!(parse("a,x\u{1}y\n"), Err(CsvError::ControlInName(2)));
        assert!(parse("\0\0\0").is_err());
        // Rows longer or shorter than the header, values past the store's limit: read,
        // the bad parts dropped.
        let big = "v".repeat(MAX_VALUE_LEN + 1);
        let text = format!("email,notes\na@x.test,{big},extra,extra\nb\n");
        let cs = contacts(&parse(&text).expect("csv"), Some(&ZIMBRA));
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].fields, f(&[("email", "a@x.test")]));
        // Dates that cannot be told apart stay as written.
        let mut g = Gather::default();
        add_date(Some("03/04/2004"), "birthday", None, &mut g);
        add_date(
            Some("99/99/99999999999999999999"),
            "anniversary",
            None,
            &mut g,
        );
        assert_eq!(g.fields[0].1, "'03/04/2004'");
        assert_eq!(g.fields.len(), 2);
    }

    proptest! {
        #[test]
        fn never_panics(s in "[\"a-c,; \\n\\r\u{feff}\u{1}é]{0,300}") {
            if let Ok(doc) = parse(&s) {
                for l in csv_formats::LAYOUTS {
                    let _ = contacts(&doc, Some(l));
                }
            }
        }

        #[test]
        fn any_text_never_panics(s in "\\PC{0,300}") {
            if let Ok(doc) = parse(&s) {
                let _ = contacts(&doc, None);
            }
        }

        #[test]
        fn export_reads_back(vals in proptest::collection::vec("[a-z\" ,;\\n]{1,12}", 1..5)) {
            let card: Vec<(String, String)> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("f{i}"), v.clone()))
                .collect();
            let tags = Vec::new();
            let text = export(&[ExportCard { fields: &card, tags: &tags }], &ZIMBRA, ',');
            let back = contacts(&parse(&text).expect("own output"), None);
            let blank = card.len() == 1 && card[0].1.trim().is_empty();
            if blank {
                prop_assert!(back.is_empty());
            } else {
                prop_assert_eq!(&back[0].fields, &card);
            }
        }
    }
}
