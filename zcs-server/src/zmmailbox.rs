//! `zmmailbox`'s commands: each mailbox command of Zimbra's CLI (admin guide appendix,
//! spec/06 §3.1) turned into the SOAP request the running server answers, and the
//! reply printed the way Zimbra's tool prints it (folder table, search listing, sizes).
//! The binary (`bin/zmmailbox.rs`) parses options, opens the session and feeds command
//! lines here, one at a time, from its arguments, a file (`-f`) or standard input.
//!
//! This file holds the shell: command lookup (long or short name, any case, from the
//! table in `help`), option parsing, `#N` references to the hits of the last listing,
//! and the misc commands (`help`, `selectMailbox sm`, `authenticate a`, `whoami`,
//! `noOp no`, `getMailboxSize gms`, `emptyDumpster`, `exit`). The families live
//! beside it: messages, conversations and items in `mail`, folders and tags in
//! `folders`, `search s`/`searchConv sc` in `search`, identities and signatures in
//! `account`, `getRestURL gru`/`postRestURL pru` in `rest`, contacts and folder grants
//! in `contacts`; the calendar, filter, right and admin families in their own modules.

mod account;
mod admin;
mod calendar;
mod contacts;
mod filter;
mod folders;
mod help;
mod mail;
mod rest;
mod rights;
mod search;

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::search::remote::{Remote, first, text};

pub use folders::{folder_table, tag_table};
pub use search::search_listing;

const MAIL: &str = "urn:zimbraMail";
const ACCOUNT: &str = "urn:zimbraAccount";

/// What a command line did: text to print, a new mailbox to act on (`sm`), or a new
/// login (`authenticate`).
#[derive(PartialEq, Eq)]
pub enum Outcome {
    /// Print this (may be empty).
    Print(String),
    /// Later commands act on this mailbox.
    Select(String),
    /// Log in again as `account` with `password` and open `mailbox` (none when empty).
    Login {
        /// The account to authenticate as.
        account: String,
        /// Its password (never printed).
        password: String,
        /// The mailbox to open.
        mailbox: String,
        /// An admin login (`adminAuthenticate`): the admin service's AuthRequest.
        admin: bool,
    },
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Print(s) => f.debug_tuple("Print").field(s).finish(),
            Outcome::Select(m) => f.debug_tuple("Select").field(m).finish(),
            Outcome::Login {
                account,
                mailbox,
                admin,
                ..
            } => f
                .debug_struct("Login")
                .field("account", account)
                .field("mailbox", mailbox)
                .field("admin", admin)
                .finish_non_exhaustive(),
        }
    }
}

/// What one session remembers between command lines: the ids behind the numbers of
/// the last listing (`#3`, `#1-4` in an id list) and the last searches, for `-n`, `-p`
/// and `-c`.
#[derive(Default)]
pub struct Shell {
    index: HashMap<usize, String>,
    search: Option<search::Paged>,
    conv: Option<search::ConvPaged>,
}

impl Shell {
    /// A shell with nothing remembered.
    pub fn new() -> Shell {
        Shell::default()
    }

    /// Forgets the listings and searches (another mailbox was opened).
    pub fn reset(&mut self) {
        *self = Shell::default();
    }

    /// An id list with `#N` and `#N-M` replaced by the ids listed under those numbers,
    /// and a trailing `{...}` (Zimbra's target constraint notation) dropped.
    fn ids(&self, list: &str) -> Result<String, String> {
        let list = match list.rfind('{') {
            Some(i) if list.ends_with('}') => &list[..i],
            _ => list,
        };
        let mut out = Vec::new();
        for t in list.split(',') {
            let Some(n) = t.strip_prefix('#').filter(|n| !n.is_empty()) else {
                out.push(t.to_string());
                continue;
            };
            let bad = || format!("zclient.CLIENT_ERROR: unknown index: {n}");
            let num = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
            let (from, to) = match n.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => (num(n)?, num(n)?),
            };
            for j in from..=to {
                out.push(self.index.get(&j).ok_or_else(bad)?.clone());
            }
        }
        Ok(out.join(","))
    }
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

/// One command line of a table command, ready to run: the session, the mailbox, the
/// command and its parsed arguments.
struct Cx<'a> {
    session: &'a Remote,
    mailbox: &'a str,
    cmd: &'static help::Cmd,
    p: Parsed,
}

impl Cx<'_> {
    /// Sends `name` in namespace `ns` for the open mailbox.
    async fn call(&self, name: &str, ns: &str, body: Value) -> Result<Value, String> {
        self.session
            .request(Some(self.mailbox), name, ns, body)
            .await
    }

    /// Operand `i`, or the command's usage when it is missing.
    fn arg(&self, i: usize) -> Result<&str, String> {
        self.p
            .rest
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| self.usage())
    }

    /// Operand `i` when given.
    fn opt_arg(&self, i: usize) -> Option<&str> {
        self.p.rest.get(i).map(String::as_str)
    }

    /// The usage error of this command.
    fn usage(&self) -> String {
        format!("usage:\n\n{}", help::usage(self.cmd).trim_end())
    }

    /// Whether `-v`/`--verbose` was given.
    fn verbose(&self) -> bool {
        self.p.flag(&["-v", "--verbose"])
    }

    /// The value of the option whose long name is `long` (`--long` or its short form).
    fn opt(&self, long: &str) -> Option<&str> {
        let short = self
            .cmd
            .opts
            .iter()
            .find(|o| o.1 == long)
            .and_then(|o| o.0)
            .map(|s| format!("-{s}"));
        let long = format!("--{long}");
        match &short {
            Some(s) => self.p.opt(&[s.as_str(), long.as_str()]),
            None => self.p.opt(&[long.as_str()]),
        }
    }

    /// Operand `i` read as Zimbra's `[0|1]`: only `1` is true; `default` when absent.
    fn bool_arg(&self, i: usize, default: bool) -> bool {
        self.opt_arg(i).map_or(default, |v| v == "1")
    }
}

/// The whole help (`-h`): every command, then each other family's own lines.
pub fn help_text() -> String {
    help::text(Some("commands"), &family_help())
}

/// The other modules' help lines, by topic.
fn family_help() -> [(&'static str, &'static str); 4] {
    [
        ("appointment", calendar::HELP),
        ("filter", filter::HELP),
        ("right", rights::HELP),
        ("admin", admin::HELP),
    ]
}

/// Runs one command (`words[0]` and its arguments) against `mailbox` over `session`,
/// with `shell` remembering listings and searches between calls.
///
/// # Errors
/// A usage message, or the server's fault as `code: reason`.
pub async fn run(
    session: &Remote,
    shell: &mut Shell,
    mailbox: &str,
    words: &[String],
) -> Result<Outcome, String> {
    let Some((word, args)) = words.split_first() else {
        return Ok(Outcome::Print(String::new()));
    };
    let Some(cmd) = help::lookup(word) else {
        return other_family(session, mailbox, word, args).await;
    };
    let valued = help::valued(cmd);
    let valued: Vec<&str> = valued.iter().map(String::as_str).collect();
    let cx = Cx {
        session,
        mailbox,
        cmd,
        p: Parsed::new(args, &valued)?,
    };
    if let Some(r) = misc(&cx, shell).await {
        return r;
    }
    if let Some(r) = contacts::run(session, mailbox, cmd.name, args).await {
        return r;
    }
    if let Some(r) = mail::run(&cx, shell).await {
        return r;
    }
    if let Some(r) = folders::run(&cx).await {
        return r;
    }
    if let Some(r) = search::run(&cx, shell).await {
        return r;
    }
    if let Some(r) = account::run(&cx).await {
        return r;
    }
    if let Some(r) = rest::run(&cx).await {
        return r;
    }
    other_family(session, mailbox, cmd.name, args).await
}

/// The calendar, filter, right and admin families, by the name as given.
async fn other_family(
    session: &Remote,
    mailbox: &str,
    word: &str,
    args: &[String],
) -> Result<Outcome, String> {
    if let Some(r) = calendar::run(session, mailbox, word, args).await {
        return r;
    }
    if let Some(r) = filter::run(session, mailbox, word, args).await {
        return r;
    }
    if let Some(r) = rights::run(session, mailbox, word, args).await {
        return r;
    }
    if let Some(r) = admin::run(session, mailbox, word, args).await {
        return r;
    }
    Err(format!(
        "zclient.CLIENT_ERROR: Unknown command: ({word}) Type: 'help commands' for a list"
    ))
}

/// The misc commands.
async fn misc(cx: &Cx<'_>, shell: &mut Shell) -> Option<Result<Outcome, String>> {
    let print = |s: String| Ok(Outcome::Print(s));
    Some(match cx.cmd.name {
        "help" => print(
            help::text(cx.opt_arg(0), &family_help())
                .trim_end()
                .to_string(),
        ),
        "exit" => print(String::new()),
        "selectMailbox" => match cx.arg(0) {
            Ok(m) => {
                shell.reset();
                Ok(Outcome::Select(m.to_string()))
            }
            Err(e) => Err(e),
        },
        "authenticate" => match (cx.arg(0), cx.arg(1)) {
            (Ok(a), Ok(p)) => {
                shell.reset();
                Ok(Outcome::Login {
                    account: a.to_string(),
                    password: p.to_string(),
                    mailbox: cx.opt_arg(2).unwrap_or(a).to_string(),
                    admin: false,
                })
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        "noOp" => cx
            .call("NoOpRequest", MAIL, json!({}))
            .await
            .map(|_| Outcome::Print(String::new())),
        "getMailboxSize" => match mailbox_size(cx).await {
            Ok(used) if cx.verbose() => print(used.to_string()),
            Ok(used) => print(human_size(used)),
            Err(e) => Err(e),
        },
        "whoami" => whoami(cx).await,
        "emptyDumpster" => empty_dumpster(cx).await,
        _ => return None,
    })
}

async fn mailbox_size(cx: &Cx<'_>) -> Result<u64, String> {
    let r = cx
        .call("GetInfoRequest", ACCOUNT, json!({ "sections": "mbox" }))
        .await?;
    Ok(text(&r["used"]).parse().unwrap_or(0))
}

/// `whoami`: the open mailbox, its size, message and unread counts, and who the
/// session is authenticated as (`(admin)` when acting for another account).
async fn whoami(cx: &Cx<'_>) -> Result<Outcome, String> {
    let used = mailbox_size(cx).await?;
    let tree = cx.call("GetFolderRequest", MAIL, json!({})).await?;
    let (mut n, mut u) = (0u64, 0u64);
    fn walk(f: &Value, n: &mut u64, u: &mut u64) {
        *n += text(&f["n"]).parse::<u64>().unwrap_or(0);
        *u += text(&f["u"]).parse::<u64>().unwrap_or(0);
        for child in list(&f["folder"]) {
            walk(&child, n, u);
        }
    }
    for f in list(&tree["folder"]) {
        walk(&f, &mut n, &mut u);
    }
    let me = cx
        .session
        .request(
            None,
            "GetInfoRequest",
            ACCOUNT,
            json!({ "sections": "mbox" }),
        )
        .await?;
    let me = text(&me["name"]);
    let admin = if me.eq_ignore_ascii_case(cx.mailbox) {
        ""
    } else {
        " (admin)"
    };
    Ok(Outcome::Print(format!(
        "mailbox: {}, size: {}, messages: {n}, unread: {u}\nauthenticated as {me}{admin}",
        cx.mailbox,
        human_size(used)
    )))
}

/// `emptyDumpster`: pages through the dumpster and deletes what it holds, every kind.
async fn empty_dumpster(cx: &Cx<'_>) -> Result<Outcome, String> {
    let mut removed = 0usize;
    loop {
        let r = cx
            .call(
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
        cx.call(
            "ItemActionRequest",
            MAIL,
            json!({ "action": { "op": "dumpsterdelete", "id": ids.join(",") } }),
        )
        .await?;
    }
    Ok(Outcome::Print(format!(
        "{removed} items removed from the dumpster"
    )))
}

/// The folder at `path`, or with id `path` when it is a number (`GetFolderRequest
/// <folder path=|l=>`).
async fn folder(session: &Remote, mailbox: &str, path: &str) -> Result<Value, String> {
    let sel = if !path.is_empty() && path.bytes().all(|b| b.is_ascii_digit()) {
        json!({ "l": path })
    } else {
        json!({ "path": path })
    };
    let r = session
        .request(
            Some(mailbox),
            "GetFolderRequest",
            MAIL,
            json!({ "folder": sel }),
        )
        .await?;
    let mut f = first(&r["folder"]);
    for kind in ["search", "link"] {
        if f.is_null() {
            f = first(&r[kind]);
        }
    }
    if f.is_null() {
        return Err(format!("mail.NO_SUCH_FOLDER: no such folder path: {path}"));
    }
    Ok(f)
}

/// The id of the folder at `path` (or `path` itself when it is an id), local to the
/// mailbox: acting for another account the server qualifies ids (`<zimbraId>:<id>`),
/// requests on that mailbox take the bare id.
async fn folder_id(session: &Remote, mailbox: &str, path: &str) -> Result<String, String> {
    Ok(local_id(&folder(session, mailbox, path).await?["id"]))
}

/// The id of the tag named `name_or_id` (a name first, then an id).
async fn tag_id(cx: &Cx<'_>, name_or_id: &str) -> Result<String, String> {
    let r = cx.call("GetTagRequest", MAIL, json!({})).await?;
    let tags = list(&r["tag"]);
    tags.iter()
        .find(|t| text(&t["name"]) == name_or_id)
        .or_else(|| tags.iter().find(|t| local_id(&t["id"]) == name_or_id))
        .map(|t| local_id(&t["id"]))
        .ok_or_else(|| format!("zclient.CLIENT_ERROR: unknown tag: {name_or_id}"))
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

/// A JSON child list as a vector (a lone object is a list of one).
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
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

/// A color option as the request attribute Zimbra's client sends: a name (`blue`) or a
/// number as `color`, `#rrggbb` as `rgb`.
fn color_attr(c: &str) -> Result<(&'static str, String), String> {
    const NAMES: [&str; 10] = [
        "defaultcolor",
        "blue",
        "cyan",
        "green",
        "purple",
        "red",
        "yellow",
        "pink",
        "gray",
        "orange",
    ];
    let lower = c.to_ascii_lowercase();
    if let Some(i) = NAMES.iter().position(|n| *n == lower) {
        return Ok(("color", i.to_string()));
    }
    if lower.parse::<u8>().is_ok_and(|n| n < 10) {
        return Ok(("color", lower));
    }
    if lower.len() == 7
        && lower.starts_with('#')
        && lower[1..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(("rgb", lower));
    }
    Err(format!("zclient.CLIENT_ERROR: unknown color: {c}"))
}

/// A color number as its name (`gat` shows it so).
fn color_name(v: &Value) -> String {
    const NAMES: [&str; 10] = [
        "defaultColor",
        "blue",
        "cyan",
        "green",
        "purple",
        "red",
        "yellow",
        "pink",
        "gray",
        "orange",
    ];
    if !text(&v["rgb"]).is_empty() {
        return "rgbColor".into();
    }
    let n: usize = text(&v["color"]).parse().unwrap_or(0);
    NAMES.get(n).unwrap_or(&NAMES[0]).to_string()
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
    fn index_references_expand_to_listed_ids() {
        let mut sh = Shell::new();
        sh.index.insert(1, "257".into());
        sh.index.insert(2, "-300".into());
        sh.index.insert(3, "301".into());
        assert_eq!(sh.ids("#1").unwrap(), "257");
        assert_eq!(sh.ids("#1-3,400").unwrap(), "257,-300,301,400");
        assert_eq!(sh.ids("258{-t}").unwrap(), "258");
        assert!(sh.ids("#9").unwrap_err().contains("unknown index"));
        assert!(sh.ids("#x").is_err());
        assert!(sh.ids("#3-99999999999").is_err());
        sh.reset();
        assert!(sh.ids("#1").is_err());
    }

    #[test]
    fn colors_are_names_numbers_or_rgb() {
        assert_eq!(color_attr("Blue").unwrap(), ("color", "1".into()));
        assert_eq!(color_attr("9").unwrap(), ("color", "9".into()));
        assert_eq!(color_attr("#ff00AA").unwrap(), ("rgb", "#ff00aa".into()));
        assert!(color_attr("mauve").is_err());
        assert!(color_attr("#ff00zz").is_err());
        assert_eq!(color_name(&json!({"color": "5"})), "red");
        assert_eq!(color_name(&json!({})), "defaultColor");
        assert_eq!(color_name(&json!({"rgb": "#123456"})), "rgbColor");
    }

    #[test]
    fn sizes_print_in_zimbras_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.50 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.00 MB");
    }

    proptest::proptest! {
        #[test]
        fn id_lists_and_command_lines_never_panic(text in "\\PC{0,40}") {
            let mut sh = Shell::new();
            sh.index.insert(1, "257".into());
            if let Ok(ids) = sh.ids(&text) {
                proptest::prop_assert!(!ids.contains('#') || text.contains('#'));
            }
            let _ = color_attr(&text);
            if let Ok(words) = split_words(&text) {
                let _ = Parsed::new(&words, &["-l", "-t"]);
            }
        }

        #[test]
        fn plain_id_lists_pass_through(ids in proptest::collection::vec(1u32..100_000, 1..8)) {
            let list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            proptest::prop_assert_eq!(Shell::new().ids(&list).unwrap(), list);
        }
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let o = Outcome::Login {
            account: "a@x".into(),
            password: "s3cret".into(),
            mailbox: "a@x".into(),
            admin: true,
        };
        assert!(!format!("{o:?}").contains("s3cret"));
    }
}
