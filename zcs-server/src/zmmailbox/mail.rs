//! `zmmailbox`'s message, conversation and item commands (spec/06 §3.1; topics
//! `message`, `conversation`, `item`): `addMessage am`, `getMessage gm`,
//! `deleteMessage dm`, `moveMessage mm`, `markMessageRead mmr`, `flagMessage fm`,
//! `tagMessage tm`, `markMessageSpam mms`; `getConversation gc`, `deleteConversation
//! dc`, `moveConversation mc`, `markConversationRead mcr`, `flagConversation fc`,
//! `tagConversation tc`, `markConversationSpam mcs`; `deleteItem di`, `moveItem mi`,
//! `markItemRead mir`, `flagItem fi`, `tagItem ti`, `modifyItemFlags mif`,
//! `recoverItem ri`, `dumpsterDeleteItem ddi`; and `tagContact tct`. Each is the
//! Msg/Conv/Item/ContactAction request Zimbra's client sends. Id lists take `#N` and
//! `#N-M` for the numbers of the last listing.

use serde_json::{Value, json};

use super::search::{Col, numbered};
use super::{Cx, MAIL, Outcome, Shell, folder, folder_id, human_size, list, local_id, tag_id};
use crate::search::remote::{first, text};

/// Runs the command of `cx` when it is one of this module's; `None` otherwise.
pub(super) async fn run(cx: &Cx<'_>, shell: &mut Shell) -> Option<Result<Outcome, String>> {
    let (request, what) = match cx.cmd.name {
        "addMessage" => return Some(add(cx).await),
        "getMessage" => return Some(get_message(cx, shell).await),
        "getConversation" => return Some(get_conversation(cx, shell).await),
        "tagContact" => ("ContactActionRequest", Kind::Tag),
        "deleteMessage" => ("MsgActionRequest", Kind::Op("delete")),
        "deleteConversation" => ("ConvActionRequest", Kind::Op("delete")),
        "deleteItem" => ("ItemActionRequest", Kind::Op("delete")),
        "dumpsterDeleteItem" => ("ItemActionRequest", Kind::Op("dumpsterdelete")),
        "moveMessage" => ("MsgActionRequest", Kind::Move("move")),
        "moveConversation" => ("ConvActionRequest", Kind::Move("move")),
        "moveItem" => ("ItemActionRequest", Kind::Move("move")),
        "recoverItem" => ("ItemActionRequest", Kind::Move("recover")),
        "markMessageRead" => ("MsgActionRequest", Kind::Toggle("read")),
        "markConversationRead" => ("ConvActionRequest", Kind::Toggle("read")),
        "markItemRead" => ("ItemActionRequest", Kind::Toggle("read")),
        "flagMessage" => ("MsgActionRequest", Kind::Toggle("flag")),
        "flagConversation" => ("ConvActionRequest", Kind::Toggle("flag")),
        "flagItem" => ("ItemActionRequest", Kind::Toggle("flag")),
        "tagMessage" => ("MsgActionRequest", Kind::Tag),
        "tagConversation" => ("ConvActionRequest", Kind::Tag),
        "tagItem" => ("ItemActionRequest", Kind::Tag),
        "markMessageSpam" => ("MsgActionRequest", Kind::Spam),
        "markConversationSpam" => ("ConvActionRequest", Kind::Spam),
        "modifyItemFlags" => ("ItemActionRequest", Kind::Flags),
        _ => return None,
    };
    Some(action(cx, shell, request, what).await)
}

/// The shapes of the action commands.
enum Kind {
    /// `{ids}`: the operation as is.
    Op(&'static str),
    /// `{ids} {dest-folder-path}`.
    Move(&'static str),
    /// `{ids} [0|1*]`: the operation, negated (`!op`) by `0`.
    Toggle(&'static str),
    /// `{ids} {tag-name} [0|1*]`.
    Tag,
    /// `{ids} [0|1*] [{dest-folder-path}]`.
    Spam,
    /// `{ids} {flags}`: `update f=`.
    Flags,
}

/// Sends `request` with the action `kind` builds from the command's operands.
async fn action(cx: &Cx<'_>, shell: &Shell, request: &str, kind: Kind) -> Result<Outcome, String> {
    let ids = shell.ids(cx.arg(0)?)?;
    let toggled = |op: &str, i| {
        if cx.bool_arg(i, true) {
            op.to_string()
        } else {
            format!("!{op}")
        }
    };
    let mut a = match kind {
        Kind::Op(op) => json!({ "op": op }),
        Kind::Move(op) => {
            let l = folder_id(cx.session, cx.mailbox, cx.arg(1)?).await?;
            json!({ "op": op, "l": l })
        }
        Kind::Toggle(op) => json!({ "op": toggled(op, 1) }),
        Kind::Tag => {
            let tag = tag_id(cx, cx.arg(1)?).await?;
            json!({ "op": toggled("tag", 2), "tag": tag })
        }
        Kind::Spam => {
            let mut a = json!({ "op": toggled("spam", 1) });
            if let Some(dest) = cx.opt_arg(2) {
                a["l"] = json!(folder_id(cx.session, cx.mailbox, dest).await?);
            }
            a
        }
        Kind::Flags => json!({ "op": "update", "f": cx.arg(1)? }),
    };
    a["id"] = json!(ids);
    cx.call(request, MAIL, json!({ "action": a })).await?;
    Ok(Outcome::Print(String::new()))
}

/// `am {dest-folder-path} {file-or-dir}...`: one AddMsgRequest per file (a gzipped
/// file is unpacked), printing `id (file)` as Zimbra does; the received date is `-d`,
/// else the message's own Date header.
async fn add(cx: &Cx<'_>) -> Result<Outcome, String> {
    let dest = folder_id(cx.session, cx.mailbox, cx.arg(0)?).await?;
    cx.arg(1)?;
    let validate = !cx.p.flag(&["--noValidation"]);
    let mut out = Vec::new();
    for file in message_files(&cx.p.rest[1..])? {
        let raw = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let raw = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut plain)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            plain
        } else {
            raw
        };
        if validate && !looks_like_message(&raw) {
            return Err(format!(
                "zclient.CLIENT_ERROR: {} does not contain a valid RFC 822 message",
                file.display()
            ));
        }
        let date = match cx.opt("date") {
            Some(d) => d.to_string(),
            None => mail_parser::MessageParser::default()
                .parse_headers(&raw)
                .and_then(|m| m.date().map(|d| d.to_timestamp() * 1000))
                .unwrap_or(0)
                .to_string(),
        };
        // The request carries the message as JSON text: bytes that are not UTF-8
        // (8-bit legacy charsets) would be replaced, so they are refused instead.
        let content = String::from_utf8(raw).map_err(|_| {
            format!(
                "{}: not UTF-8 (8-bit legacy charset); nothing added: deliver it over \
                 LMTP/SMTP or IMAP APPEND, which keep its bytes",
                file.display()
            )
        })?;
        let mut m = json!({ "l": dest, "content": content, "d": date });
        if let Some(f) = cx.opt("flags") {
            m["f"] = json!(f);
        }
        if let Some(t) = cx.opt("tags") {
            m["tn"] = json!(t);
        }
        let r = cx.call("AddMsgRequest", MAIL, json!({ "m": m })).await?;
        out.push(format!(
            "{} ({})",
            local_id(&first(&r["m"])["id"]),
            file.display()
        ));
    }
    Ok(Outcome::Print(out.join("\n")))
}

/// Whether `raw` starts with a header field (RFC 5322 §2.2), as a message must.
fn looks_like_message(raw: &[u8]) -> bool {
    let line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    match line.iter().position(|b| *b == b':') {
        Some(i) if i > 0 => line[..i].iter().all(|b| (33..=126).contains(b)),
        _ => false,
    }
}

/// The files `am` adds: each file named, and every file inside a named directory.
fn message_files(names: &[String]) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = Vec::new();
    for n in names {
        let p = std::path::PathBuf::from(n);
        if p.is_dir() {
            let mut inside: Vec<_> = std::fs::read_dir(&p)
                .map_err(|e| format!("{n}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            out.extend(inside);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Zimbra's flag letters and the names its tool prints for them.
const FLAG_NAMES: [(char, &str); 12] = [
    ('u', "UNREAD"),
    ('f', "FLAGGED"),
    ('!', "HIGH_PRIORITY"),
    ('?', "LOW_PRIORITY"),
    ('a', "ATTACHED"),
    ('r', "REPLIED"),
    ('s', "FROM_ME"),
    ('w', "FORWARDED"),
    ('d', "DRAFT"),
    ('x', "DELETED"),
    ('n', "NOTIFIED"),
    ('t', "NOTE"),
];

/// Flag letters as names, `, ` between them.
fn flag_names(f: &str) -> String {
    f.chars()
        .map(|c| {
            FLAG_NAMES
                .iter()
                .find(|(l, _)| *l == c)
                .map_or(c.to_string(), |(_, n)| n.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An address as `Personal <address>` or `<address>`.
fn full_address(e: &Value) -> String {
    match text(&e["p"]) {
        p if p.is_empty() => format!("<{}>", text(&e["a"])),
        p => format!("{p} <{}>", text(&e["a"])),
    }
}

/// The addresses of type `t` of an item, folded as Zimbra folds a header: `, `
/// between them, a new line (indented one space) before one that would pass column 76.
fn address_header(name: &str, addrs: &[Value], t: &str) -> Option<String> {
    let mut out = String::new();
    let mut col = name.len() + 2;
    for e in addrs
        .iter()
        .filter(|e| text(&e["t"]).eq_ignore_ascii_case(t))
    {
        let a = full_address(e);
        if !out.is_empty() {
            out.push(',');
            col += 1;
            if col > 76 {
                out.push('\n');
                col = 1;
            }
            out.push(' ');
            col += 1;
        }
        if col > 20 && col + a.len() > 76 {
            out.push_str("\n ");
            col = 1;
        }
        col += a.len();
        out.push_str(&a);
    }
    (!out.is_empty()).then(|| format!("{name}: {out}"))
}

/// A date in ms as an RFC 5322 §3.3 date in local time.
fn rfc822_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%a, %-d %b %Y %H:%M:%S %z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The text of the first body part of a message's MIME tree.
fn body(mp: &Value) -> Option<String> {
    for part in list(mp) {
        let is_body = matches!(text(&part["body"]).as_str(), "1" | "true");
        if is_body && !part["content"].is_null() {
            return Some(text(&part["content"]));
        }
        if let Some(b) = body(&part["mp"]) {
            return Some(b);
        }
    }
    None
}

/// `gm {msg-id}`: the message marked read and shown as Zimbra's tool shows it (ids,
/// folder, subject, addresses, date, tags, flags, size, then the body); `-v` prints
/// the whole reply.
async fn get_message(cx: &Cx<'_>, shell: &Shell) -> Result<Outcome, String> {
    let id = shell.ids(cx.arg(0)?)?;
    let r = cx
        .call(
            "GetMsgRequest",
            MAIL,
            json!({ "m": { "id": id, "read": "1" } }),
        )
        .await?;
    let m = first(&r["m"]);
    if cx.verbose() {
        return Ok(Outcome::Print(
            serde_json::to_string_pretty(&m).unwrap_or_default(),
        ));
    }
    let folder_id = local_id(&m["l"]);
    let path = match folder(cx.session, cx.mailbox, &folder_id).await {
        Ok(f) => text(&f["absFolderPath"]),
        Err(_) => folder_id,
    };
    let addrs = list(&m["e"]);
    let mut out = vec![
        format!("Id: {}", local_id(&m["id"])),
        format!("Conversation-Id: {}", local_id(&m["cid"])),
        format!("Folder: {path}"),
        format!("Subject: {}", text(&m["su"])),
    ];
    for (name, t) in [("From", "f"), ("To", "t"), ("Cc", "c")] {
        out.extend(address_header(name, &addrs, t));
    }
    out.push(format!(
        "Date: {}",
        rfc822_date(text(&m["d"]).parse().unwrap_or(0))
    ));
    if !text(&m["tn"]).is_empty() {
        out.push(format!("Tags: {}", text(&m["tn"]).replace(',', ", ")));
    }
    if !text(&m["f"]).is_empty() {
        out.push(format!("Flags: {}", flag_names(&text(&m["f"]))));
    }
    out.push(format!(
        "Size: {}",
        human_size(text(&m["s"]).parse().unwrap_or(0))
    ));
    out.push(String::new());
    if let Some(b) = body(&m["mp"]).or_else(|| Some(text(&m["fr"])).filter(|f| !f.is_empty())) {
        out.push(b);
    }
    Ok(Outcome::Print(out.join("\n")))
}

/// `gc {conv-id}`: subject, id, tags, flags and message count, then one numbered line
/// per message (sender, fragment, date); `-v` prints the whole reply.
async fn get_conversation(cx: &Cx<'_>, shell: &mut Shell) -> Result<Outcome, String> {
    let id = shell.ids(cx.arg(0)?)?;
    let r = cx
        .call("GetConvRequest", MAIL, json!({ "c": { "id": id } }))
        .await?;
    let c = first(&r["c"]);
    if cx.verbose() {
        return Ok(Outcome::Print(
            serde_json::to_string_pretty(&c).unwrap_or_default(),
        ));
    }
    let msgs = list(&c["m"]);
    let mut out = format!(
        "\nSubject: {}\nId: {}\n",
        text(&c["su"]),
        local_id(&c["id"])
    );
    if !text(&c["tn"]).is_empty() {
        out.push_str(&format!("Tags: {}\n", text(&c["tn"]).replace(',', ", ")));
    }
    if !text(&c["f"]).is_empty() {
        out.push_str(&format!("Flags: {}\n", flag_names(&text(&c["f"]))));
    }
    out.push_str(&format!("Num-Messages: {}\n", msgs.len()));
    if msgs.is_empty() {
        return Ok(Outcome::Print(out));
    }
    out.push('\n');
    let rows = msgs
        .iter()
        .map(|m| {
            (
                local_id(&m["id"]),
                vec![sender(m), text(&m["fr"])],
                text(&m["d"]).parse().unwrap_or(0),
            )
        })
        .collect();
    let cols = [Col::left("Sender", 15), Col::left("Fragment", 50)];
    shell.index.clear();
    // Zimbra sizes the number column for one more than the count.
    out.push_str(&numbered(&mut shell.index, 1, msgs.len() + 1, &cols, rows));
    Ok(Outcome::Print(out))
}

/// A hit's sender as Zimbra's tool shows it: its display name, else its personal
/// name, else its address; `<none>` when it has none.
pub(super) fn sender(hit: &Value) -> String {
    list(&hit["e"])
        .into_iter()
        .find(|e| text(&e["t"]) == "f")
        .map(|e| display(&e))
        .unwrap_or_else(|| "<none>".into())
}

/// An address's short display form (`d`, else `p`, else `a`).
pub(super) fn display(e: &Value) -> String {
    ["d", "p", "a"]
        .iter()
        .map(|k| text(&e[*k]))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_as_names() {
        assert_eq!(flag_names("uf"), "UNREAD, FLAGGED");
        assert_eq!(flag_names("sZ"), "FROM_ME, Z");
        assert_eq!(flag_names(""), "");
    }

    #[test]
    fn address_headers_fold_like_zimbras() {
        let addrs = vec![
            json!({"t": "f", "a": "carol@remote.test", "p": "Carol"}),
            json!({"t": "t", "a": "alice@mbox.test"}),
        ];
        assert_eq!(
            address_header("From", &addrs, "f").unwrap(),
            "From: Carol <carol@remote.test>"
        );
        assert_eq!(
            address_header("To", &addrs, "t").unwrap(),
            "To: <alice@mbox.test>"
        );
        assert_eq!(address_header("Cc", &addrs, "c"), None);
        let many: Vec<Value> = (0..6)
            .map(|i| json!({"t": "t", "a": format!("someone{i}@example.com")}))
            .collect();
        let h = address_header("To", &many, "t").unwrap();
        assert!(
            h.lines().count() > 1 && h.lines().all(|l| l.len() <= 78),
            "{h}"
        );
    }

    #[test]
    fn bodies_come_from_the_body_part() {
        let mp = json!([{"ct": "multipart/alternative", "mp": [
            {"ct": "text/plain", "body": true, "content": "hello"},
            {"ct": "text/html"}]}]);
        assert_eq!(body(&mp).as_deref(), Some("hello"));
        assert_eq!(body(&json!(null)), None);
    }

    #[test]
    fn messages_start_with_a_header() {
        assert!(looks_like_message(b"Subject: x\r\n\r\nbody"));
        assert!(!looks_like_message(b"just some text\n"));
        assert!(!looks_like_message(b": empty name\n"));
        assert!(!looks_like_message(b""));
    }

    #[test]
    fn senders_prefer_the_display_name() {
        let hit = json!({"e": [{"t": "t", "a": "x@y"},
            {"t": "f", "a": "carol@remote.test", "p": "Carol Jones", "d": "Carol"}]});
        assert_eq!(sender(&hit), "Carol");
        assert_eq!(sender(&json!({})), "<none>");
    }
}
