//! Contacts as CSV, for ImportContactsRequest and ExportContactsRequest (`ct="csv"`):
//! reading a CSV document (RFC 4180, with the leniency Zimbra's `ContactCSV` shows: blank
//! lines skipped, spaces around quoted fields ignored) and mapping its header row to
//! Zimbra contact attributes, and writing contacts back in Zimbra's own `zimbra-csv`
//! layout (a header of attribute names, one row per contact).

use std::collections::BTreeSet;

/// Why a CSV document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    /// A quoted field runs to the end of the document.
    #[error("unterminated quoted field in line {0}")]
    Unterminated(usize),
    /// Text follows a closing quote in the same field.
    #[error("unexpected character after a quoted field in line {0}")]
    AfterQuote(usize),
    /// The document has no header row.
    #[error("no header row")]
    NoHeader,
}

/// Reads `text` into rows of fields (RFC 4180 §2). Lines holding only whitespace are
/// skipped; whitespace around a quoted field is dropped, inside it kept.
///
/// # Errors
/// [`CsvError`] for an unterminated quote or text after a closing quote.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut after_quote = false;
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                row.push(finish(&mut field, quoted));
                quoted = false;
                after_quote = false;
            }
            '\r' => {}
            '\n' => {
                row.push(finish(&mut field, quoted));
                push_row(&mut rows, std::mem::take(&mut row));
                quoted = false;
                after_quote = false;
                line += 1;
            }
            '"' if !quoted && field.trim().is_empty() => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            c if after_quote && c.is_whitespace() => {}
            _ if after_quote => return Err(CsvError::AfterQuote(line)),
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError::Unterminated(line));
    }
    if quoted || !field.is_empty() || !row.is_empty() {
        row.push(finish(&mut field, quoted));
        push_row(&mut rows, row);
    }
    Ok(rows)
}

fn finish(field: &mut String, quoted: bool) -> String {
    let f = std::mem::take(field);
    if quoted { f } else { f.trim().to_string() }
}

fn push_row(rows: &mut Vec<Vec<String>>, row: Vec<String>) {
    if row.iter().all(|f| f.trim().is_empty()) && row.len() <= 1 {
        return;
    }
    rows.push(row);
}

/// Header names of the CSV layouts Zimbra reads (Outlook, Thunderbird, Yahoo, Gmail) and
/// the contact attribute each one fills. Names are compared without case.
const HEADER_MAP: &[(&str, &str)] = &[
    ("first name", "firstName"),
    ("given name", "firstName"),
    ("first", "firstName"),
    ("middle name", "middleName"),
    ("additional name", "middleName"),
    ("middle", "middleName"),
    ("last name", "lastName"),
    ("family name", "lastName"),
    ("last", "lastName"),
    ("name", "fullName"),
    ("display name", "fullName"),
    ("nickname", "nickname"),
    ("title", "namePrefix"),
    ("name prefix", "namePrefix"),
    ("suffix", "nameSuffix"),
    ("name suffix", "nameSuffix"),
    ("initials", "initials"),
    ("e-mail address", "email"),
    ("email address", "email"),
    ("primary email", "email"),
    ("e-mail 1 - value", "email"),
    ("email", "email"),
    ("e-mail 2 address", "email2"),
    ("secondary email", "email2"),
    ("alternate email 1", "email2"),
    ("e-mail 2 - value", "email2"),
    ("e-mail 3 address", "email3"),
    ("alternate email 2", "email3"),
    ("e-mail 3 - value", "email3"),
    ("company", "company"),
    ("organization 1 - name", "company"),
    ("job title", "jobTitle"),
    ("organization 1 - title", "jobTitle"),
    ("department", "department"),
    ("business phone", "workPhone"),
    ("work phone", "workPhone"),
    ("work", "workPhone"),
    ("business phone 2", "workPhone2"),
    ("business fax", "workFax"),
    ("fax number", "workFax"),
    ("fax", "workFax"),
    ("business street", "workStreet"),
    ("work address", "workStreet"),
    ("business city", "workCity"),
    ("work city", "workCity"),
    ("business state", "workState"),
    ("work state", "workState"),
    ("business postal code", "workPostalCode"),
    ("work zip", "workPostalCode"),
    ("business country", "workCountry"),
    ("work country", "workCountry"),
    ("web page", "workURL"),
    ("web page 1", "workURL"),
    ("business web page", "workURL"),
    ("home phone", "homePhone"),
    ("home", "homePhone"),
    ("home phone 2", "homePhone2"),
    ("home fax", "homeFax"),
    ("home street", "homeStreet"),
    ("home address", "homeStreet"),
    ("home city", "homeCity"),
    ("home state", "homeState"),
    ("home postal code", "homePostalCode"),
    ("home zipcode", "homePostalCode"),
    ("home zip", "homePostalCode"),
    ("home country", "homeCountry"),
    ("personal web page", "homeURL"),
    ("web page 2", "homeURL"),
    ("other phone", "otherPhone"),
    ("other fax", "otherFax"),
    ("other street", "otherStreet"),
    ("other city", "otherCity"),
    ("other state", "otherState"),
    ("other postal code", "otherPostalCode"),
    ("other country", "otherCountry"),
    ("mobile phone", "mobilePhone"),
    ("mobile number", "mobilePhone"),
    ("mobile", "mobilePhone"),
    ("cellular number", "mobilePhone"),
    ("pager", "pager"),
    ("pager number", "pager"),
    ("car phone", "carPhone"),
    ("callback", "callbackPhone"),
    ("company main phone", "companyPhone"),
    ("assistant's phone", "assistantPhone"),
    ("birthday", "birthday"),
    ("anniversary", "anniversary"),
    ("notes", "notes"),
    ("comments", "notes"),
];

/// Header columns that describe another column and carry no value of their own.
const IGNORED: &[&str] = &[
    "e-mail display name",
    "e-mail 2 display name",
    "e-mail 3 display name",
    "e-mail type",
    "e-mail 2 type",
    "e-mail 3 type",
    "business street 2",
    "business street 3",
    "home street 2",
    "home street 3",
    "other street 2",
    "other street 3",
];

/// The contact attribute a header column fills: a known layout's name, or the header
/// itself when it already reads as an attribute name (Zimbra's own `zimbra-csv`);
/// `None` for a column to ignore.
pub fn attribute_for(header: &str) -> Option<String> {
    let h = header.trim();
    let lower = h.to_ascii_lowercase();
    if IGNORED.contains(&lower.as_str()) {
        return None;
    }
    if let Some((_, attr)) = HEADER_MAP.iter().find(|(name, _)| *name == lower) {
        return Some((*attr).to_string());
    }
    let word = !h.is_empty()
        && h.len() <= 100
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    word.then(|| h.to_string())
}

/// Reads a CSV document into contacts' fields: the header row names the columns,
/// each later row is one contact with its non-empty values; rows with no value are
/// left out. Values of columns mapped to the same attribute are joined by a newline
/// (an address spread over `Business Street`, `Business Street 2`).
///
/// # Errors
/// [`CsvError`] when the document cannot be read or has no header.
pub fn contacts(text: &str) -> Result<Vec<Vec<(String, String)>>, CsvError> {
    let mut rows = parse(text)?.into_iter();
    let header = rows.next().ok_or(CsvError::NoHeader)?;
    let columns: Vec<Option<String>> = header.iter().map(|h| attribute_for(h)).collect();
    let mut out = Vec::new();
    for row in rows {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (i, value) in row.iter().enumerate() {
            let Some(Some(attr)) = columns.get(i) else {
                continue;
            };
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            match fields.iter_mut().find(|(k, _)| k == attr) {
                Some((_, prev)) => {
                    prev.push('\n');
                    prev.push_str(v);
                }
                None => fields.push((attr.clone(), v.to_string())),
            }
        }
        if !fields.is_empty() {
            out.push(fields);
        }
    }
    Ok(out)
}

fn quote(v: &str, out: &mut String) {
    out.push('"');
    out.push_str(&v.replace('"', "\"\""));
    out.push('"');
}

/// Writes contacts in Zimbra's `zimbra-csv` layout: a header of every attribute any
/// contact has (sorted), then one row per contact, every field quoted; lines end in
/// CRLF (RFC 4180 §2).
pub fn export<'a>(cards: impl IntoIterator<Item = &'a [(String, String)]> + Clone) -> String {
    let names: BTreeSet<&str> = cards
        .clone()
        .into_iter()
        .flat_map(|c| c.iter().map(|(k, _)| k.as_str()))
        .collect();
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(n, &mut out);
    }
    out.push_str("\r\n");
    for card in cards {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let v = card
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            quote(v, &mut out);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_header_and_rows() {
        let text = " \"First Name\",\"Last Name\",\"E-mail Address\",\"E-mail Type\",\"Notes\"\n\
            \"Ann\",\"Lee\",\"ann@x.test\",\"SMTP\",\"say \"\"hi\"\"\"\n\
            \"\",\"\",\"\",\"\",\"\"\n\
            \"Bo\",\"\",\"bo@x.test\",\"\",\"line1\nline2\"\n";
        let cards = contacts(text).expect("csv");
        assert_eq!(cards.len(), 2);
        assert_eq!(
            cards[0],
            vec![
                ("firstName".to_string(), "Ann".to_string()),
                ("lastName".to_string(), "Lee".to_string()),
                ("email".to_string(), "ann@x.test".to_string()),
                ("notes".to_string(), "say \"hi\"".to_string()),
            ]
        );
        assert_eq!(
            cards[1][2],
            ("notes".to_string(), "line1\nline2".to_string())
        );
    }

    #[test]
    fn header_only_gives_nothing_and_bad_quotes_are_errors() {
        assert_eq!(
            contacts("\"First Name\",\"Last Name\"").expect("csv").len(),
            0
        );
        assert!(matches!(
            contacts("\"First Name\",\"Last"),
            Err(CsvError::Unterminated(1))
        ));
        assert!(matches!(parse("\"a\"b,c"), Err(CsvError::AfterQuote(1))));
        assert_eq!(contacts(""), Err(CsvError::NoHeader));
    }

    #[test]
    fn zimbra_csv_round_trip() {
        let a = vec![
            ("lastName".to_string(), "O\"Neil".to_string()),
            ("email".to_string(), "o@x.test".to_string()),
        ];
        let b = vec![("firstName".to_string(), "Zed".to_string())];
        let text = export([a.as_slice(), b.as_slice()]);
        assert!(text.starts_with("\"email\",\"firstName\",\"lastName\"\r\n"));
        let back = contacts(&text).expect("csv");
        assert_eq!(back.len(), 2);
        assert!(back[0].contains(&("lastName".to_string(), "O\"Neil".to_string())));
        assert_eq!(back[1], b);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[\"a-c, \\n\\r]{0,200}") {
            let _ = contacts(&s);
        }

        #[test]
        fn export_reads_back(vals in proptest::collection::vec("[a-z\" ,]{1,12}", 1..5)) {
            let card: Vec<(String, String)> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("f{i}"), v.clone()))
                .collect();
            let back = contacts(&export([card.as_slice()])).expect("own output");
            let want: Vec<(String, String)> = card
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect();
            if want.is_empty() {
                proptest::prop_assert!(back.is_empty());
            } else {
                proptest::prop_assert_eq!(&back[0], &want);
            }
        }
    }
}
