//! `zmmailbox`'s search commands (spec/06 §3.1; topic `search`): `search s` and
//! `searchConv sc`, with Zimbra's paging (`-n` next page, `-p` previous, `-c` this
//! one again) over the last search of the session, and the numbered listing both
//! print (also used by `getConversation`): `num: N, more: B`, then one line per hit
//! whose number `#N` later commands accept in place of the id.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::mail::{display, sender};
use super::{Cx, MAIL, Outcome, Shell, list, local_id};
use crate::search::remote::text;

/// The last `search` of a session.
pub(super) struct Paged {
    req: Value,
    limit: usize,
    offset: usize,
    page: usize,
}

/// The last `searchConv` of a session.
pub(super) struct ConvPaged {
    req: Value,
    limit: usize,
    offset: usize,
    more: bool,
}

/// One text column of a numbered listing.
pub(super) struct Col {
    title: &'static str,
    width: usize,
    left: bool,
    gap: &'static str,
}

impl Col {
    /// A left-aligned column cut to `width`, two blanks after it.
    pub(super) fn left(title: &'static str, width: usize) -> Col {
        Col {
            title,
            width,
            left: true,
            gap: "  ",
        }
    }
}

fn cell(s: &str, c: &Col) -> String {
    let s: String = s.chars().take(c.width).collect();
    let w = c.width;
    if c.left {
        format!("{s:<w$}{}", c.gap)
    } else {
        format!("{s:>w$}{}", c.gap)
    }
}

/// Zimbra's numbered listing: a header and a dash line, then `N. id  cells  date`
/// (`MM/dd/yy HH:mm`, local time) per row, numbered from `first`; the number column
/// is as wide as `widest`. Remembers each number's id in `index`.
pub(super) fn numbered(
    index: &mut HashMap<usize, String>,
    first: usize,
    widest: usize,
    cols: &[Col],
    rows: Vec<(String, Vec<String>, i64)>,
) -> String {
    let w = widest.max(1).to_string().len();
    let idl = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:>w$}  {:>idl$}  ", "", "Id");
    for c in cols {
        out.push_str(&cell(c.title, c));
    }
    out.push_str(&format!("Date\n{:>w$}  {}  ", "", "-".repeat(idl)));
    for c in cols {
        out.push_str(&cell(&"-".repeat(c.width), c));
    }
    out.push_str(&"-".repeat(14));
    out.push('\n');
    for (i, (id, cells, ms)) in rows.into_iter().enumerate() {
        let n = first + i;
        out.push_str(&format!("{n:>w$}. {id:>idl$}  "));
        for (c, v) in cols.iter().zip(&cells) {
            out.push_str(&cell(v, c));
        }
        out.push_str(&date(ms));
        out.push('\n');
        index.insert(n, id);
    }
    out
}

/// `MM/dd/yy HH:mm` in local time.
fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%m/%d/%y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Runs `s` or `sc`; `None` for other commands.
pub(super) async fn run(cx: &Cx<'_>, shell: &mut Shell) -> Option<Result<Outcome, String>> {
    Some(match cx.cmd.name {
        "search" => search(cx, shell).await,
        "searchConv" => search_conv(cx, shell).await,
        _ => return None,
    })
}

/// `-l`: 1-1000, 25 when not given.
fn limit(cx: &Cx<'_>) -> Result<usize, String> {
    let l = cx.opt("limit").unwrap_or("25");
    match l.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        Ok(_) => Err("zclient.CLIENT_ERROR: limit must be 1-1000".into()),
        Err(_) => Err("zclient.CLIENT_ERROR: limit must be a number".into()),
    }
}

/// Which page `-c`/`-n`/`-p` ask for relative to the current one, if any.
fn paging(cx: &Cx<'_>) -> Option<i64> {
    if cx.p.flag(&["-c", "--current"]) {
        Some(0)
    } else if cx.p.flag(&["-n", "--next"]) {
        Some(1)
    } else if cx.p.flag(&["-p", "--previous"]) {
        Some(-1)
    } else {
        None
    }
}

async fn search(cx: &Cx<'_>, shell: &mut Shell) -> Result<Outcome, String> {
    if let Some(step) = paging(cx) {
        let Some(p) = shell.search.as_ref() else {
            return Ok(Outcome::Print(String::new()));
        };
        if step < 0 && p.page == 0 {
            return Ok(Outcome::Print(String::new()));
        }
        let page = (p.page as i64 + step).max(0) as usize;
        let offset = p.offset + page * p.limit;
        let mut req = p.req.clone();
        req["offset"] = json!(offset.to_string());
        let r = cx.call("SearchRequest", MAIL, req).await?;
        if hit_count(&r) == 0 && step != 0 {
            return Ok(Outcome::Print(String::new()));
        }
        if let Some(p) = shell.search.as_mut() {
            p.page = page;
        }
        return Ok(Outcome::Print(shown(cx, &r, offset, &mut shell.index)));
    }
    if cx.p.rest.is_empty() {
        return Err(cx.usage());
    }
    let limit = limit(cx)?;
    let offset: usize = cx
        .opt("offset")
        .unwrap_or("0")
        .parse()
        .map_err(|_| "zclient.CLIENT_ERROR: offset must be a number".to_string())?;
    let dumpster = cx.p.flag(&["--dumpster"]);
    let mut req = json!({
        "query": cx.p.rest.join(" "),
        "types": cx.opt("types").unwrap_or("conversation"),
        "sortBy": cx.opt("sort").unwrap_or("dateDesc"),
        "limit": limit.to_string(),
        "offset": offset.to_string(),
    });
    if dumpster {
        req["inDumpster"] = json!("1");
    }
    let r = cx.call("SearchRequest", MAIL, req.clone()).await?;
    shell.index.clear();
    shell.search = Some(Paged {
        req,
        limit,
        offset,
        page: 0,
    });
    Ok(Outcome::Print(shown(cx, &r, offset, &mut shell.index)))
}

/// `sc {conv-id} {query}`: the conversation's messages that match, paged by offset.
async fn search_conv(cx: &Cx<'_>, shell: &mut Shell) -> Result<Outcome, String> {
    if let Some(step) = paging(cx) {
        let Some(p) = shell.conv.as_ref() else {
            return Ok(Outcome::Print(String::new()));
        };
        let offset = match step {
            1 if !p.more => return Ok(Outcome::Print(String::new())),
            -1 if p.offset == 0 => return Ok(Outcome::Print(String::new())),
            1 => p.offset + p.limit,
            -1 => p.offset.saturating_sub(p.limit),
            _ => p.offset,
        };
        let mut req = p.req.clone();
        req["offset"] = json!(offset.to_string());
        let r = cx.call("SearchConvRequest", MAIL, req).await?;
        if let Some(p) = shell.conv.as_mut() {
            p.offset = offset;
            p.more = more(&r);
        }
        return Ok(Outcome::Print(conv_shown(cx, &r, offset, &mut shell.index)));
    }
    if cx.p.rest.len() != 2 {
        return Err(cx.usage());
    }
    let limit = limit(cx)?;
    let cid = shell.ids(cx.arg(0)?)?;
    let mut req = json!({
        "cid": cid,
        "query": cx.arg(1)?,
        "sortBy": cx.opt("sort").unwrap_or("dateDesc"),
        "limit": limit.to_string(),
        "offset": "0",
    });
    if let Some(t) = cx.opt("types") {
        req["types"] = json!(t);
    }
    let r = cx.call("SearchConvRequest", MAIL, req.clone()).await?;
    shell.index.clear();
    shell.conv = Some(ConvPaged {
        req,
        limit,
        offset: 0,
        more: more(&r),
    });
    Ok(Outcome::Print(conv_shown(cx, &r, 0, &mut shell.index)))
}

fn more(r: &Value) -> bool {
    matches!(text(&r["more"]).as_str(), "1" | "true")
}

/// The hit kinds of a search reply, with the type Zimbra's listing shows.
const KINDS: [(&str, &str); 6] = [
    ("c", "conv"),
    ("m", "mess"),
    ("cn", "cont"),
    ("appt", "appo"),
    ("task", "task"),
    ("doc", "doc"),
];

fn hit_count(r: &Value) -> usize {
    KINDS.iter().map(|(k, _)| list(&r[*k]).len()).sum()
}

fn shown(cx: &Cx<'_>, r: &Value, offset: usize, index: &mut HashMap<usize, String>) -> String {
    if cx.verbose() {
        return serde_json::to_string_pretty(r).unwrap_or_default();
    }
    listing(r, offset, index)
}

fn conv_shown(cx: &Cx<'_>, r: &Value, offset: usize, index: &mut HashMap<usize, String>) -> String {
    if cx.verbose() {
        return serde_json::to_string_pretty(r).unwrap_or_default();
    }
    let hits = list(&r["m"]);
    let mut out = format!("num: {}, more: {}\n", hits.len(), more(r));
    if hits.is_empty() {
        return out;
    }
    let rows: Vec<_> = hits
        .iter()
        .map(|h| {
            (
                local_id(&h["id"]),
                vec![sender(h), text(&h["su"])],
                text(&h["d"]).parse().unwrap_or(0),
            )
        })
        .collect();
    let cols = [Col::left("From", 20), Col::left("Subject", 50)];
    out.push('\n');
    out.push_str(&numbered(
        index,
        offset + 1,
        offset + rows.len(),
        &cols,
        rows,
    ));
    out
}

/// One search hit as (id, [type, from, subject], date).
fn row(kind: &str, short: &str, h: &Value) -> (String, Vec<String>, i64) {
    const FROM_LEN: usize = 20;
    let ms = |k: &str| text(&h[k]).parse::<i64>().unwrap_or(0);
    let (kind_shown, from, subject, when) = match kind {
        "c" => {
            let mut from = list(&h["e"])
                .iter()
                .map(display)
                .collect::<Vec<_>>()
                .join(", ");
            let n: usize = text(&h["n"]).parse().unwrap_or(1);
            if n > 1 {
                let count = format!(" ({n})");
                let room = FROM_LEN.saturating_sub(count.len());
                from = from.chars().take(room).collect::<String>() + &count;
            }
            (short.to_string(), from, text(&h["su"]), ms("d"))
        }
        "cn" => {
            let attrs = &h["_attrs"];
            let email = ["email", "email2", "email3"]
                .iter()
                .map(|k| text(&attrs[*k]))
                .find(|e| !e.is_empty())
                .unwrap_or_else(|| "<none>".into());
            (short.to_string(), email, text(&h["fileAsStr"]), ms("d"))
        }
        "appt" | "task" => (short.to_string(), "<na>".into(), text(&h["name"]), ms("d")),
        "doc" => (
            short.to_string(),
            text(&h["leb"]),
            text(&h["name"]),
            ms("md"),
        ),
        _ => (short.to_string(), sender(h), text(&h["su"]), ms("d")),
    };
    (local_id(&h["id"]), vec![kind_shown, from, subject], when)
}

/// The listing of a search reply, numbered from `offset + 1`.
fn listing(r: &Value, offset: usize, index: &mut HashMap<usize, String>) -> String {
    let mut rows = Vec::new();
    for (key, short) in KINDS {
        for h in list(&r[key]) {
            rows.push(row(key, short, &h));
        }
    }
    let mut out = format!("num: {}, more: {}\n", rows.len(), more(r));
    if rows.is_empty() {
        return out;
    }
    let cols = [
        Col {
            title: "Type",
            width: 4,
            left: false,
            gap: "   ",
        },
        Col::left("From", 20),
        Col::left("Subject", 50),
    ];
    out.push('\n');
    let last = offset + rows.len();
    out.push_str(&numbered(index, offset + 1, last, &cols, rows));
    out
}

/// `s`'s listing of a search reply (numbered from 1): `num: N, more: B`, a blank line,
/// then one numbered line per hit with its id, type, sender, subject and date.
pub fn search_listing(resp: &Value) -> String {
    listing(resp, 0, &mut HashMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_listing_numbers_hits_in_zimbras_columns() {
        let resp = json!({"more": false, "m": [{"id": "258", "d": 0, "su": "beta walrus",
            "e": [{"t": "f", "a": "carol@remote.test", "p": "Carol"}]}]});
        let s = search_listing(&resp);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "num: 1, more: false");
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            format!("     Id  Type   {:<20}  {:<50}  Date", "From", "Subject")
        );
        assert!(lines[3].starts_with("   ----  ----   ----"), "{s}");
        assert!(lines[4].starts_with("1.  258  mess   Carol"), "{s}");
        assert!(lines[4].contains("beta walrus"), "{s}");
        assert_eq!(search_listing(&json!({})), "num: 0, more: false\n");
    }

    #[test]
    fn conversation_hits_show_their_message_count() {
        let (_, cells, _) = row(
            "c",
            "conv",
            &json!({"id": "-300", "n": 3, "su": "s",
                "e": [{"a": "averyveryverylongname@example.com"}]}),
        );
        assert_eq!(cells[0], "conv");
        assert_eq!(cells[1], "averyveryverylon (3)");
    }

    #[test]
    fn numbers_are_remembered_and_columns_widen() {
        let mut index = HashMap::new();
        let rows = (0..10)
            .map(|i| (format!("{}", 1000 + i), vec!["x".to_string()], 0))
            .collect();
        let out = numbered(&mut index, 1, 10, &[Col::left("A", 3)], rows);
        assert_eq!(index.get(&10).map(String::as_str), Some("1009"));
        let last = out.lines().last().unwrap();
        assert!(last.starts_with("10. 1009  x    "), "{out}");
        assert!(out.lines().nth(2).unwrap().starts_with(" 1. 1000"), "{out}");
    }
}
