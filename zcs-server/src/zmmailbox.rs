//! `zmmailbox`'s commands: each mailbox command of Zimbra's CLI (admin guide appendix,
//! spec/06 §3.1) turned into the SOAP request the running server answers, and the
//! reply printed the way Zimbra's tool prints it (folder table, search listing, sizes).
//! The binary (`bin/zmmailbox.rs`) parses options, opens the session and feeds command
//! lines here, one at a time, from its arguments, a file (`-f`) or standard input.
//!
//! Commands (long and short names): `createFolder cf`, `createSearchFolder csf`,
//! `createTag ct`, `deleteFolder df`, `deleteTag dt`, `emptyFolder ef`, `getAllFolders
//! gaf`, `getAllTags gat`, `getFolder gf`, `getMailboxSize gms`, `addMessage am`,
//! `getMessage gm`, `deleteMessage dm`, `moveMessage mm`, `markMessageRead mmr`,
//! `search s` (with `--dumpster`), `dumpsterDeleteItem`, `emptyDumpster`,
//! `selectMailbox sm`, `help`; contacts and folder grants in `contacts` (`cct`, `dct`,
//! `mct`, `mcta`, `fct`, `gact`, `gct`, `gfg`, `mfg`).
//!
//! LIMITATION: `getRestURL gru` and `postRestURL pru` are not offered (fetch the REST URL
//! with curl and the account's token instead), nor the calendar, filter, right and
//! conversation command families.

mod admin;
mod calendar;
mod contacts;
mod filter;
mod mail;
mod rest;
mod rights;

use serde_json::{Value, json};

use crate::search::remote::{Remote, first, text};

const MAIL: &str = "urn:zimbraMail";
const ACCOUNT: &str = "urn:zimbraAccount";

/// What a command line did: text to print, or a new mailbox to act on (`sm`).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Print this (may be empty).
    Print(String),
    /// Later commands act on this mailbox.
    Select(String),
}

/// Splits a command line into words: blanks separate, double or single quotes group,
/// a backslash escapes the next character.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("control characters are not allowed in a command".into());
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                cur.push(chars.next().ok_or("a backslash ends the line")?);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Options and operands of one command: `-x value` pairs for the options in `with_value`,
/// bare flags for the rest, operands in order.
struct Parsed {
    opts: Vec<(String, Option<String>)>,
    rest: Vec<String>,
}

impl Parsed {
    fn new(args: &[String], with_value: &[&str]) -> Result<Parsed, String> {
        let mut opts = Vec::new();
        let mut rest = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a.starts_with('-') && a.len() > 1 && rest.is_empty() {
                if with_value.contains(&a.as_str()) {
                    let v = it
                        .next()
                        .ok_or_else(|| format!("option {a} needs a value"))?;
                    opts.push((a.clone(), Some(v.clone())));
                } else {
                    opts.push((a.clone(), None));
                }
            } else {
                rest.push(a.clone());
            }
        }
        Ok(Parsed { opts, rest })
    }

    fn opt(&self, names: &[&str]) -> Option<&str> {
        self.opts
            .iter()
            .find(|(n, _)| names.contains(&n.as_str()))
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|(n, _)| names.contains(&n.as_str()))
    }

    fn operand(&self, i: usize, what: &str) -> Result<&str, String> {
        self.rest
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing {what}"))
    }
}

/// The commands `help` lists, with their arguments.
pub const HELP: &str = "\
  addMessage(am)             [opts] {dest-folder-path} {filename-or-dir} [...]
                               -F flags  -T tags  -d date(ms)
  createContact(cct)         [opts] [attr1 value1 [attr2 value2...]]   -f folder  -T tags
  createFolder(cf)           [opts] {folder-path}      -V view  -c color
  createSearchFolder(csf)    [opts] {folder-path} {query}   -t types
  createTag(ct)              [opts] {tag-name}         -c color
  deleteContact(dct)         {contact-ids}
  deleteFolder(df)           {folder-path}
  deleteMessage(dm)          {msg-ids}
  deleteTag(dt)              {tag-name}
  dumpsterDeleteItem         {item-ids}
  emptyDumpster
  emptyFolder(ef)            {folder-path}
  flagContact(fct)           {contact-ids} [0|1]
  getAllContacts(gact)       [opts] [attr1 [attr2...]]   -f folder
  getAllFolders(gaf)
  getAllTags(gat)
  getContacts(gct)           {contact-ids} [attr1 [attr2...]]
  getFolder(gf)              {folder-path}
  getFolderGrant(gfg)        {folder-path}
  getMailboxSize(gms)
  getMessage(gm)             {msg-id}
  markMessageRead(mmr)       {msg-ids} [0|1]
  modifyContactAttrs(mcta)   [opts] {contact-id} [attr1 value1...]   -r replace
  modifyFolderGrant(mfg)     {folder-path} {account|group|domain {name}|all|public|
                               guest {email} [{password}]} {permissions|none}
  moveContact(mct)           {contact-ids} {dest-folder-path}
  moveMessage(mm)            {msg-ids} {dest-folder-path}
  search(s)                  [opts] {query}   -t types  -l limit  -o offset  --dumpster
  selectMailbox(sm)          {account-name}
  exit, quit
";

/// The whole help: this file's commands, then each command family's own lines.
pub fn help_text() -> String {
    [
        HELP,
        mail::HELP,
        rest::HELP,
        calendar::HELP,
        filter::HELP,
        rights::HELP,
        admin::HELP,
    ]
    .concat()
}

/// Runs one command (`words[0]` and its arguments) against `mailbox` over `session`.
///
/// # Errors
/// A usage message, or the server's fault as `code: reason`.
pub async fn run(session: &Remote, mailbox: &str, words: &[String]) -> Result<Outcome, String> {
    let Some((cmd, args)) = words.split_first() else {
        return Ok(Outcome::Print(String::new()));
    };
    let mb = Some(mailbox);
    let call = |name: &'static str, ns: &'static str, body: Value| async move {
        session.request(mb, name, ns, body).await
    };
    let print = |s: String| Ok(Outcome::Print(s));
    match cmd.as_str() {
        "help" | "?" => print(help_text()),
        "selectMailbox" | "sm" => {
            let p = Parsed::new(args, &[])?;
            Ok(Outcome::Select(p.operand(0, "account name")?.to_string()))
        }
        "getAllFolders" | "gaf" => {
            let r = call("GetFolderRequest", MAIL, json!({})).await?;
            print(folder_table(&r))
        }
        "getFolder" | "gf" => {
            let p = Parsed::new(args, &[])?;
            let f = folder(session, mailbox, p.operand(0, "folder path")?).await?;
            print(serde_json::to_string_pretty(&f).unwrap_or_default())
        }
        "createFolder" | "cf" => {
            let p = Parsed::new(args, &["-V", "--view", "-c", "--color", "-F", "--flags"])?;
            let (parent, name) = split_path(p.operand(0, "folder path")?)?;
            let parent_id = folder_id(session, mailbox, &parent).await?;
            let mut spec = json!({ "name": name, "l": parent_id });
            if let Some(v) = p.opt(&["-V", "--view"]) {
                spec["view"] = json!(v);
            }
            if let Some(c) = p.opt(&["-c", "--color"]) {
                spec["color"] = json!(c);
            }
            if let Some(f) = p.opt(&["-F", "--flags"]) {
                spec["f"] = json!(f);
            }
            let r = call("CreateFolderRequest", MAIL, json!({ "folder": spec })).await?;
            print(local_id(&first(&r["folder"])["id"]))
        }
        "createSearchFolder" | "csf" => {
            let p = Parsed::new(args, &["-t", "--types", "-s", "--sort"])?;
            let (parent, name) = split_path(p.operand(0, "folder path")?)?;
            let query = p.operand(1, "query")?;
            let parent_id = folder_id(session, mailbox, &parent).await?;
            let mut spec = json!({ "name": name, "l": parent_id, "query": query });
            if let Some(t) = p.opt(&["-t", "--types"]) {
                spec["types"] = json!(t);
            }
            let r = call("CreateSearchFolderRequest", MAIL, json!({ "search": spec })).await?;
            print(local_id(&first(&r["search"])["id"]))
        }
        "deleteFolder" | "df" | "emptyFolder" | "ef" => {
            let p = Parsed::new(args, &[])?;
            let id = folder_id(session, mailbox, p.operand(0, "folder path")?).await?;
            let op = if matches!(cmd.as_str(), "deleteFolder" | "df") {
                "delete"
            } else {
                "empty"
            };
            call(
                "FolderActionRequest",
                MAIL,
                json!({ "action": { "op": op, "id": id } }),
            )
            .await?;
            print(String::new())
        }
        "createTag" | "ct" => {
            let p = Parsed::new(args, &["-c", "--color"])?;
            let mut spec = json!({ "name": p.operand(0, "tag name")? });
            if let Some(c) = p.opt(&["-c", "--color"]) {
                spec["color"] = json!(c);
            }
            let r = call("CreateTagRequest", MAIL, json!({ "tag": spec })).await?;
            print(local_id(&first(&r["tag"])["id"]))
        }
        "getAllTags" | "gat" => {
            let r = call("GetTagRequest", MAIL, json!({})).await?;
            print(tag_table(&r))
        }
        "deleteTag" | "dt" => {
            let p = Parsed::new(args, &[])?;
            let name = p.operand(0, "tag name")?;
            let r = call("GetTagRequest", MAIL, json!({})).await?;
            let id = list(&r["tag"])
                .into_iter()
                .find(|t| text(&t["name"]) == name)
                .map(|t| local_id(&t["id"]))
                .ok_or_else(|| format!("mail.NO_SUCH_TAG: no such tag: {name}"))?;
            call(
                "TagActionRequest",
                MAIL,
                json!({ "action": { "op": "delete", "id": id } }),
            )
            .await?;
            print(String::new())
        }
        "getMailboxSize" | "gms" => {
            let r = call("GetInfoRequest", ACCOUNT, json!({ "sections": "mbox" })).await?;
            let used: u64 = text(&r["used"]).parse().unwrap_or(0);
            print(human_size(used))
        }
        "addMessage" | "am" => {
            let p = Parsed::new(args, &["-F", "--flags", "-T", "--tags", "-d", "--date"])?;
            let dest = folder_id(session, mailbox, p.operand(0, "folder path")?).await?;
            if p.rest.len() < 2 {
                return Err("missing file or directory".into());
            }
            let mut ids = Vec::new();
            for file in message_files(&p.rest[1..])? {
                let raw = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                // The request carries the message as JSON text: bytes that are not UTF-8
                // (8-bit legacy charsets) would be replaced, so they are refused instead.
                let text = String::from_utf8(raw).map_err(|_| {
                    format!(
                        "{}: not UTF-8 (8-bit legacy charset); nothing added: deliver it over \
                         LMTP/SMTP or IMAP APPEND, which keep its bytes",
                        file.display()
                    )
                })?;
                let mut m = json!({ "l": dest, "content": text });
                if let Some(f) = p.opt(&["-F", "--flags"]) {
                    m["f"] = json!(f);
                }
                if let Some(t) = p.opt(&["-T", "--tags"]) {
                    m["tn"] = json!(t);
                }
                if let Some(d) = p.opt(&["-d", "--date"]) {
                    m["d"] = json!(d);
                }
                let r = call("AddMsgRequest", MAIL, json!({ "m": m })).await?;
                ids.push(local_id(&first(&r["m"])["id"]));
            }
            print(ids.join("\n"))
        }
        "getMessage" | "gm" => {
            let p = Parsed::new(args, &[])?;
            let id = p.operand(0, "message id")?;
            let r = call(
                "GetMsgRequest",
                MAIL,
                json!({ "m": { "id": id, "raw": "1" } }),
            )
            .await?;
            print(text(&first(&r["m"])["content"]))
        }
        "deleteMessage" | "dm" => {
            let p = Parsed::new(args, &[])?;
            msg_action(
                session,
                mailbox,
                p.operand(0, "message ids")?,
                json!({"op": "delete"}),
            )
            .await
        }
        "moveMessage" | "mm" => {
            let p = Parsed::new(args, &[])?;
            let dest = folder_id(session, mailbox, p.operand(1, "folder path")?).await?;
            let action = json!({ "op": "move", "l": dest });
            msg_action(session, mailbox, p.operand(0, "message ids")?, action).await
        }
        "markMessageRead" | "mmr" => {
            let p = Parsed::new(args, &[])?;
            let op = match p.rest.get(1).map(String::as_str) {
                None | Some("1") => "read",
                Some("0") => "!read",
                Some(other) => return Err(format!("expected 0 or 1, not {other}")),
            };
            msg_action(
                session,
                mailbox,
                p.operand(0, "message ids")?,
                json!({ "op": op }),
            )
            .await
        }
        "search" | "s" => {
            let p = Parsed::new(
                args,
                &[
                    "-t", "--types", "-l", "--limit", "-o", "--offset", "-s", "--sort",
                ],
            )?;
            if p.rest.is_empty() {
                return Err("missing query".into());
            }
            let query = p.rest.join(" ");
            let dumpster = p.flag(&["--dumpster"]);
            let types = p.opt(&["-t", "--types"]).unwrap_or(if dumpster {
                "message"
            } else {
                "conversation"
            });
            let mut req = json!({
                "query": query, "types": types,
                "limit": p.opt(&["-l", "--limit"]).unwrap_or("25"),
                "offset": p.opt(&["-o", "--offset"]).unwrap_or("0"),
            });
            if let Some(s) = p.opt(&["-s", "--sort"]) {
                req["sortBy"] = json!(s);
            }
            if dumpster {
                req["inDumpster"] = json!("1");
            }
            let r = call("SearchRequest", MAIL, req).await?;
            print(search_listing(&r))
        }
        "dumpsterDeleteItem" => {
            let p = Parsed::new(args, &[])?;
            let ids = p.operand(0, "item ids")?;
            call(
                "ItemActionRequest",
                MAIL,
                json!({ "action": { "op": "dumpsterdelete", "id": ids } }),
            )
            .await?;
            print(String::new())
        }
        "emptyDumpster" => {
            // Page through the dumpster and delete what it holds, every kind.
            let mut removed = 0usize;
            loop {
                let r = call(
                    "SearchRequest",
                    MAIL,
                    json!({ "query": "", "inDumpster": "1", "limit": "500",
                            "types": "message,contact,appointment,task,document" }),
                )
                .await?;
                let ids: Vec<String> = ["m", "cn", "appt", "task", "doc"]
                    .iter()
                    .flat_map(|k| list(&r[*k]))
                    .map(|i| local_id(&i["id"]))
                    .filter(|i| !i.is_empty())
                    .collect();
                if ids.is_empty() {
                    break;
                }
                removed += ids.len();
                call(
                    "ItemActionRequest",
                    MAIL,
                    json!({ "action": { "op": "dumpsterdelete", "id": ids.join(",") } }),
                )
                .await?;
            }
            print(format!("{removed} items removed from the dumpster"))
        }
        other => {
            if let Some(r) = contacts::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = mail::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = rest::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = calendar::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = filter::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = rights::run(session, mailbox, other, args).await {
                return r;
            }
            if let Some(r) = admin::run(session, mailbox, other, args).await {
                return r;
            }
            Err(format!("unknown command: {other} (try help)"))
        }
    }
}

async fn msg_action(
    session: &Remote,
    mailbox: &str,
    ids: &str,
    mut action: Value,
) -> Result<Outcome, String> {
    action["id"] = json!(ids);
    session
        .request(
            Some(mailbox),
            "MsgActionRequest",
            MAIL,
            json!({ "action": action }),
        )
        .await?;
    Ok(Outcome::Print(String::new()))
}

/// The folder at `path` (`GetFolderRequest <folder path=>`).
async fn folder(session: &Remote, mailbox: &str, path: &str) -> Result<Value, String> {
    let r = session
        .request(
            Some(mailbox),
            "GetFolderRequest",
            MAIL,
            json!({ "folder": { "path": path } }),
        )
        .await?;
    let f = first(&r["folder"]);
    let f = if f.is_null() { first(&r["search"]) } else { f };
    if f.is_null() {
        return Err(format!("mail.NO_SUCH_FOLDER: no such folder path: {path}"));
    }
    Ok(f)
}

/// The id of the folder at `path`, local to the mailbox: acting for another account the
/// server qualifies ids (`<zimbraId>:<id>`), requests on that mailbox take the bare id.
async fn folder_id(session: &Remote, mailbox: &str, path: &str) -> Result<String, String> {
    Ok(local_id(&folder(session, mailbox, path).await?["id"]))
}

/// An item id without the `<zimbraId>:` the server puts before ids of another account's
/// items (as seen by an admin acting for it).
fn local_id(v: &Value) -> String {
    text(v).rsplit(':').next().unwrap_or_default().to_string()
}

/// `/a/b/c` as (`/a/b`, `c`); a name without a slash lives under the root.
fn split_path(path: &str) -> Result<(String, String), String> {
    let path = path.trim_end_matches('/');
    let (parent, name) = match path.rsplit_once('/') {
        Some((p, n)) => (if p.is_empty() { "/" } else { p }, n),
        None => ("/", path),
    };
    if name.is_empty() {
        return Err("missing folder name".into());
    }
    Ok((parent.to_string(), name.to_string()))
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

/// A JSON child list as a vector (a lone object is a list of one).
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// `gaf`'s table: id, view, unread, message count and path of every folder, depth first.
pub fn folder_table(resp: &Value) -> String {
    fn walk(f: &Value, rows: &mut Vec<[String; 5]>) {
        let view = text(&f["view"]);
        let view = if view.is_empty() {
            "conv".to_string()
        } else {
            view.chars().take(4).collect()
        };
        let path = match text(&f["absFolderPath"]) {
            p if p.is_empty() => "/".to_string(),
            p => p,
        };
        rows.push([
            local_id(&f["id"]),
            view,
            text(&f["u"]).parse::<u64>().unwrap_or(0).to_string(),
            text(&f["n"]).parse::<u64>().unwrap_or(0).to_string(),
            path,
        ]);
        for kind in ["folder", "search", "link"] {
            for child in list(&f[kind]) {
                walk(&child, rows);
            }
        }
    }
    let mut rows = Vec::new();
    for f in list(&resp["folder"]) {
        walk(&f, &mut rows);
    }
    let mut out = format!(
        "{:>10}  {:<4}  {:>10}  {:>10}  Path\n{}  {}  {}  {}  {}\n",
        "Id",
        "View",
        "Unread",
        "Msg Count",
        "-".repeat(10),
        "-".repeat(4),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10)
    );
    for [id, view, unread, count, path] in rows {
        out.push_str(&format!(
            "{id:>10}  {view:<4}  {unread:>10}  {count:>10}  {path}\n"
        ));
    }
    out.trim_end().to_string()
}

/// `gat`'s table: id, unread count and name of every tag.
pub fn tag_table(resp: &Value) -> String {
    let mut out = format!(
        "{:>10}  {:>10}  Name\n{}  {}  {}\n",
        "Id",
        "Unread",
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10)
    );
    for t in list(&resp["tag"]) {
        let unread = text(&t["u"]).parse::<u64>().unwrap_or(0);
        out.push_str(&format!(
            "{:>10}  {unread:>10}  {}\n",
            local_id(&t["id"]),
            text(&t["name"])
        ));
    }
    out.trim_end().to_string()
}

/// `s`'s listing: `num: N, more: B`, then one numbered line per hit with its id, type,
/// sender, subject and date (local time, `MM/dd/yy HH:mm`).
pub fn search_listing(resp: &Value) -> String {
    let kinds = [
        ("c", "conv"),
        ("m", "mess"),
        ("cn", "cont"),
        ("appt", "appo"),
        ("task", "task"),
        ("doc", "docu"),
    ];
    let mut hits: Vec<(i64, [String; 5])> = Vec::new();
    for (key, short) in kinds {
        for h in list(&resp[key]) {
            let sender = list(&h["e"])
                .into_iter()
                .find(|e| text(&e["t"]) == "f")
                .map(|e| match text(&e["p"]) {
                    p if p.is_empty() => text(&e["a"]),
                    p => p,
                })
                .unwrap_or_else(|| text(&h["fileAsStr"]));
            let ms: i64 = text(&h["d"]).parse().unwrap_or(0);
            let date = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| {
                    d.with_timezone(&chrono::Local)
                        .format("%m/%d/%y %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            let subject = match text(&h["su"]) {
                s if s.is_empty() => text(&h["name"]),
                s => s,
            };
            let sort = text(&h["sf"]).parse().unwrap_or(i64::MAX);
            hits.push((
                sort,
                [local_id(&h["id"]), short.to_string(), sender, subject, date],
            ));
        }
    }
    let more = text(&resp["more"]);
    let more = if more == "1" || more == "true" {
        "true"
    } else {
        "false"
    };
    let mut out = format!("num: {}, more: {more}\n\n", hits.len());
    if hits.is_empty() {
        return out.trim_end().to_string();
    }
    out.push_str(&format!(
        "     {:>4}  {:<4}   {:<20}  {:<50}  Date\n     {}  {}   {}  {}  {}\n",
        "Id",
        "Type",
        "From",
        "Subject",
        "-".repeat(4),
        "-".repeat(4),
        "-".repeat(20),
        "-".repeat(50),
        "-".repeat(14)
    ));
    for (n, (_, [id, kind, from, subject, date])) in hits.into_iter().enumerate() {
        let from: String = from.chars().take(20).collect();
        let subject: String = subject.chars().take(50).collect();
        out.push_str(&format!(
            "{:<3} {id:>5}  {kind:<4}   {from:<20}  {subject:<50}  {date}\n",
            format!("{}.", n + 1)
        ));
    }
    out.trim_end().to_string()
}

/// A byte count as Zimbra's tool prints it: `512 B`, `1.50 KB`, `2.00 MB`, ...
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_blanks_and_group_by_quotes() {
        assert_eq!(
            split_words(r#"csf /unread "is:unread in:inbox" 'a b' c\ d"#).unwrap(),
            vec!["csf", "/unread", "is:unread in:inbox", "a b", "c d"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words(r#"s """#).unwrap(), vec!["s", ""]);
        assert!(split_words(r#"s "open"#).is_err());
        assert!(split_words("s \\").is_err());
        assert!(split_words("cf /\0nul").is_err());
    }

    #[test]
    fn paths_split_into_parent_and_name() {
        assert_eq!(
            split_path("/Archive").unwrap(),
            ("/".into(), "Archive".into())
        );
        assert_eq!(
            split_path("/Cal/Sub/").unwrap(),
            ("/Cal".into(), "Sub".into())
        );
        assert_eq!(split_path("Top").unwrap(), ("/".into(), "Top".into()));
        assert!(split_path("/").is_err());
    }

    #[test]
    fn options_come_before_operands() {
        let args: Vec<String> = ["-V", "appointment", "/Cal/Sub"].map(String::from).to_vec();
        let p = Parsed::new(&args, &["-V"]).unwrap();
        assert_eq!(p.opt(&["-V", "--view"]), Some("appointment"));
        assert_eq!(p.operand(0, "path").unwrap(), "/Cal/Sub");
        assert!(Parsed::new(&["-V".to_string()], &["-V"]).is_err());
        // A query that starts with a dash after the first operand stays an operand.
        let args: Vec<String> = ["x", "-travel"].map(String::from).to_vec();
        assert_eq!(Parsed::new(&args, &[]).unwrap().rest, args);
    }

    #[test]
    fn folder_table_lists_the_tree_depth_first() {
        let resp = json!({"folder": [{"id": "1", "absFolderPath": "/", "n": 0, "folder": [
            {"id": "2", "absFolderPath": "/Inbox", "view": "message", "u": 3, "n": 7},
            {"id": "257", "absFolderPath": "/Archive", "view": "message", "n": 0,
             "search": [{"id": "258", "absFolderPath": "/Archive/unread"}]}]}]});
        let t = folder_table(&resp);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "        Id  View      Unread   Msg Count  Path");
        assert_eq!(lines[2], "         1  conv           0           0  /");
        assert_eq!(lines[3], "         2  mess           3           7  /Inbox");
        assert!(lines[5].ends_with("/Archive/unread"), "{t}");
    }

    #[test]
    fn search_listing_numbers_hits() {
        let resp = json!({"more": false, "m": [{"id": "258", "d": 0, "su": "beta walrus",
            "e": [{"t": "f", "a": "carol@remote.test", "p": "Carol"}]}]});
        let s = search_listing(&resp);
        assert!(s.starts_with("num: 1, more: false\n\n"), "{s}");
        let last = s.lines().last().unwrap();
        assert!(last.starts_with("1.    258  mess   Carol"), "{last}");
        assert!(last.contains("beta walrus"), "{last}");
        assert_eq!(search_listing(&json!({})), "num: 0, more: false");
    }

    #[test]
    fn sizes_print_in_zimbras_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.50 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.00 MB");
    }
}
