//! The `.meta` files of a Zimbra archive export (ArchiveFormatter): one JSON object per
//! item with its row (`type`, `Path`, `name`, `flags`, `FlagStr`, `TagNames`, `date`,
//! `unread`, ...) and its encoded `metadata`, a bencoded dictionary (`vt` a folder's
//! view, `c` a colour index, `rgb`, `fld` a contact's fields). This module reads them,
//! and writes the same form for our own exports so import and export agree.

use std::collections::BTreeMap;

/// Zimbra's item type numbers (MailItem.Type) the importer acts on.
pub mod kind {
    pub const FOLDER: i64 = 1;
    pub const TAG: i64 = 3;
    pub const MESSAGE: i64 = 5;
    pub const CONTACT: i64 = 6;
    pub const DOCUMENT: i64 = 8;
    pub const APPOINTMENT: i64 = 11;
    pub const WIKI: i64 = 14;
    pub const TASK: i64 = 15;
}

/// A decoded bencode value (the `metadata` column's encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ben {
    Int(i64),
    Str(String),
    List(Vec<Ben>),
    Dict(BTreeMap<String, Ben>),
}

/// Deepest nesting read; deeper input is refused instead of recursing on.
const MAX_DEPTH: usize = 32;

/// Decodes one bencode value from the start of `s`; `None` when malformed.
pub fn bdecode(s: &str) -> Option<Ben> {
    let mut pos = 0;
    let v = value(s.as_bytes(), &mut pos, 0)?;
    Some(v)
}

fn value(b: &[u8], pos: &mut usize, depth: usize) -> Option<Ben> {
    if depth > MAX_DEPTH {
        return None;
    }
    match *b.get(*pos)? {
        b'i' => {
            let end = *pos + b[*pos..].iter().position(|c| *c == b'e')?;
            let n = std::str::from_utf8(&b[*pos + 1..end]).ok()?.parse().ok()?;
            *pos = end + 1;
            Some(Ben::Int(n))
        }
        b'l' | b'd' => {
            let dict = b[*pos] == b'd';
            *pos += 1;
            let mut list = Vec::new();
            let mut map = BTreeMap::new();
            loop {
                if *b.get(*pos)? == b'e' {
                    *pos += 1;
                    break;
                }
                if dict {
                    let Ben::Str(k) = value(b, pos, depth + 1)? else {
                        return None;
                    };
                    let v = value(b, pos, depth + 1)?;
                    map.insert(k, v);
                } else {
                    list.push(value(b, pos, depth + 1)?);
                }
            }
            Some(if dict {
                Ben::Dict(map)
            } else {
                Ben::List(list)
            })
        }
        b'0'..=b'9' => {
            let colon = *pos + b[*pos..].iter().position(|c| *c == b':')?;
            let len: usize = std::str::from_utf8(&b[*pos..colon]).ok()?.parse().ok()?;
            let start = colon + 1;
            let end = start.checked_add(len)?;
            let text = String::from_utf8_lossy(b.get(start..end)?).into_owned();
            *pos = end;
            Some(Ben::Str(text))
        }
        _ => None,
    }
}

impl Ben {
    /// The value of `key` in a dictionary; `None` for a missing key or another kind.
    pub fn get(&self, key: &str) -> Option<&Ben> {
        match self {
            Ben::Dict(m) => m.get(key),
            _ => None,
        }
    }

    /// An integer, or a string holding one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Ben::Int(n) => Some(*n),
            Ben::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// One item's `.meta`, as far as the importer uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemMeta {
    /// Zimbra's item type ([`kind`]).
    pub kind: i64,
    /// The item's id in the mailbox it was exported from.
    pub id: i64,
    /// A folder's own path (`/Inbox/Sub`), or the folder an item is in (`/Inbox/`).
    pub path: String,
    pub name: String,
    /// Zimbra's flag bits (the `flags` column, unread not included).
    pub flags: u32,
    /// The SOAP flag letters (`FlagStr`).
    pub flag_str: String,
    pub unread: bool,
    /// Tag names (`TagNames`, `:`-separated in Zimbra's exports).
    pub tags: Vec<String>,
    /// The item's date, seconds since the epoch (a message's received date).
    pub date: i64,
    /// A folder's view by Zimbra's type number (`vt`), 0 when none.
    pub view: i64,
    /// A colour index (`c`), and an RGB colour (`rgb`, `#rrggbb`).
    pub color: Option<i64>,
    pub rgb: Option<String>,
    /// A contact's fields (`fld`).
    pub fields: Vec<(String, String)>,
    /// A document's content type (`ct`, as our exports write it), empty when absent.
    pub content_type: String,
}

/// Parses a `.meta` file; `None` when it is not a JSON object with a `type`.
pub fn parse_meta(data: &[u8]) -> Option<ItemMeta> {
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let o = v.as_object()?;
    let s = |k: &str| o.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let n = |k: &str| {
        o.get(k)
            .and_then(|x| {
                x.as_i64()
                    .or_else(|| x.as_str().and_then(|t| t.parse().ok()))
            })
            .unwrap_or(0)
    };
    let md = bdecode(&s("metadata"));
    let mdi = |k: &str| md.as_ref().and_then(|m| m.get(k)).and_then(Ben::int);
    let fields = match md.as_ref().and_then(|m| m.get("fld")) {
        Some(Ben::Dict(f)) => f
            .iter()
            .filter_map(|(k, v)| match v {
                Ben::Str(t) => Some((k.clone(), t.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let tags = s("TagNames")
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    Some(ItemMeta {
        kind: o.get("type")?.as_i64()?,
        id: n("id"),
        path: s("Path"),
        name: s("name"),
        flags: u32::try_from(n("flags")).unwrap_or(0),
        flag_str: s("FlagStr"),
        unread: n("unread") > 0 || s("FlagStr").contains('u'),
        tags,
        date: n("date"),
        view: mdi("vt").unwrap_or(0),
        color: mdi("c"),
        rgb: md
            .as_ref()
            .and_then(|m| m.get("rgb"))
            .and_then(|r| match r {
                Ben::Str(t) => Some(t.clone()),
                _ => None,
            }),
        fields,
        content_type: s("ct"),
    })
}

/// Zimbra's folder view name for a type number (`vt`), `None` for none.
pub fn view_name(vt: i64) -> Option<&'static str> {
    Some(match vt {
        kind::MESSAGE => "message",
        4 => "conversation",
        kind::CONTACT => "contact",
        kind::DOCUMENT => "document",
        kind::APPOINTMENT => "appointment",
        kind::WIKI => "wiki",
        kind::TASK => "task",
        16 => "chat",
        _ => return None,
    })
}

/// The type number of a view name (inverse of [`view_name`]), 0 when none.
pub fn view_number(view: &str) -> i64 {
    (1..=16).find(|n| view_name(*n) == Some(view)).unwrap_or(0)
}

fn bstr(out: &mut String, s: &str) {
    out.push_str(&format!("{}:{s}", s.len()));
}

/// The `.meta` our export writes for a folder (the fields Zimbra's carries that we use).
pub fn folder_meta(id: i32, path: &str, name: &str, view: &str, color: u8) -> Vec<u8> {
    let mut md = String::from("d");
    if color != 0 {
        bstr(&mut md, "c");
        md.push_str(&format!("i{color}e"));
    }
    let vt = view_number(view);
    if vt != 0 {
        bstr(&mut md, "vt");
        md.push_str(&format!("i{vt}e"));
    }
    md.push('e');
    serde_json::json!({
        "type": kind::FOLDER, "id": id, "Path": path, "name": name, "subject": name,
        "metadata": md, "flags": 0, "FlagStr": "", "TagNames": "", "unread": 0,
    })
    .to_string()
    .into_bytes()
}

/// The `.meta` our export writes for a message in the folder at `folder_path`.
pub fn message_meta(m: &zcs_store::MessageMeta, folder_path: &str, tags: &[String]) -> Vec<u8> {
    let unread = m.flags.contains(zcs_core::Flags::UNREAD);
    let flags = m.flags.with(zcs_core::Flags::UNREAD, false);
    let path = if folder_path.ends_with('/') {
        folder_path.to_string()
    } else {
        format!("{folder_path}/")
    };
    serde_json::json!({
        "type": kind::MESSAGE, "id": m.id.0, "Path": path, "subject": m.subject,
        "sender": m.sender, "date": m.internal_date_ms / 1000, "size": m.size,
        "flags": flags.0, "FlagStr": m.flags.to_soap(), "unread": i32::from(unread),
        "TagNames": tags.join(":"), "metadata": "d1:vi10ee",
    })
    .to_string()
    .into_bytes()
}

/// The `.meta` our export writes beside a contact's `.vcf`: its exact fields (`fld`),
/// so an import recreates it field for field and can tell it is already there.
pub fn contact_meta(id: i32, folder_path: &str, fields: &[(String, String)]) -> Vec<u8> {
    let path = if folder_path.ends_with('/') {
        folder_path.to_string()
    } else {
        format!("{folder_path}/")
    };
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    let mut md = String::from("d3:fldd");
    for (k, v) in sorted {
        bstr(&mut md, k);
        bstr(&mut md, v);
    }
    md.push_str("e1:vi10ee");
    serde_json::json!({
        "type": kind::CONTACT, "id": id, "Path": path, "metadata": md, "flags": 0,
        "FlagStr": "", "TagNames": "", "unread": 0,
    })
    .to_string()
    .into_bytes()
}

/// The `.meta` our export writes for a document (Briefcase file) named `name` in the
/// folder at `folder_path`: its name and content type (`ct`, ours) travel with it.
pub fn document_meta(
    id: i32,
    folder_path: &str,
    name: &str,
    content_type: &str,
    date_s: i64,
) -> Vec<u8> {
    let path = if folder_path.ends_with('/') {
        folder_path.to_string()
    } else {
        format!("{folder_path}/")
    };
    serde_json::json!({
        "type": kind::DOCUMENT, "id": id, "Path": path, "name": name, "subject": name,
        "ct": content_type, "date": date_s, "flags": 0, "FlagStr": "", "TagNames": "",
        "unread": 0, "metadata": "d1:vi10ee",
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_zimbra_folder_and_message() {
        let f = concat!(
            r##"{"date":1482410022,"Path":"/SubCalendar1","metadata":"d1:ci2e3:das5:fa"##,
            r##"lse4:mseqi63e4:unxti323e1:vi10e2:vti11ee","FlagStr":"#","unread":0,"fl"##,
            r##"ags":2097152,"TagNames":"","type":1,"name":"SubCalendar1","id":265}"##,
        )
        .as_bytes();
        let m = parse_meta(f).expect("meta");
        assert_eq!((m.kind, m.view, m.color), (1, 11, Some(2)));
        assert_eq!(view_name(m.view), Some("appointment"));
        let msg = concat!(
            r#"{"date":1249412989,"Path":"/Inbox/","metadata":"d1:f3:abc1:vi10ee","Fl"#,
            r#"agStr":"fu","unread":1,"flags":32,"TagNames":"A:B","type":5,"id":314}"#,
        )
        .as_bytes();
        let m = parse_meta(msg).expect("meta");
        assert_eq!(m.tags, vec!["A".to_string(), "B".to_string()]);
        assert!(m.unread);
        assert_eq!(
            (m.flags, m.date, m.path.as_str()),
            (32, 1_249_412_989, "/Inbox/")
        );
        let c = concat!(
            r#"{"type":6,"Path":"/Contacts/","metadata":"d3:fldd5:email3:a@b9:firstNa"#,
            r#"me3:fooe1:vi10ee"}"#,
        )
        .as_bytes();
        let m = parse_meta(c).expect("meta");
        assert_eq!(m.fields.len(), 2);
        assert!(parse_meta(b"[1]").is_none());
    }

    #[test]
    fn our_folder_meta_reads_back() {
        let m = parse_meta(&folder_meta(300, "/Work/Cal", "Cal", "appointment", 3)).expect("m");
        assert_eq!((m.kind, m.view, m.color), (1, 11, Some(3)));
        assert_eq!(m.path, "/Work/Cal");
        let d = parse_meta(&document_meta(
            400,
            "/Briefcase",
            "a b.txt",
            "text/plain",
            9,
        ));
        let d = d.expect("doc meta");
        assert_eq!((d.kind, d.name.as_str()), (kind::DOCUMENT, "a b.txt"));
        assert_eq!(
            (d.content_type.as_str(), d.path.as_str()),
            ("text/plain", "/Briefcase/")
        );
        let fields = vec![
            ("notes".to_string(), "é:1\n2".to_string()),
            ("email".to_string(), "a@b".to_string()),
        ];
        let c = parse_meta(&contact_meta(5, "/Contacts", &fields)).expect("contact meta");
        let mut want = fields.clone();
        want.sort();
        assert_eq!((c.kind, c.fields), (kind::CONTACT, want));
    }

    proptest! {
        #[test]
        fn bencode_never_panics(s in "\\PC{0,200}") {
            let _ = bdecode(&s);
        }

        #[test]
        fn meta_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_meta(&b);
        }
    }
}
