//! `zmsoap [-z | -a NAME -p PASS | -m NAME -p PASS] [-t TYPE] [-e PATH] [--json] PATH...`:
//! one SOAP request written on the command line, sent to the running server of this
//! home, its response printed (the admin guide's `zmsoap`, spec/06 §3). Paths build the
//! request element in an XPath-like way: the first path names the request
//! (`GetAccountInfoRequest/account=user1` makes `<account>user1</account>` inside it),
//! each later path continues from the element the previous one ended on (`@by=name`
//! sets an attribute there, `..` climbs to the parent, a leading `/` starts again at
//! the request); with `-e PATH` every relative path starts at that element instead.
//! The request's namespace comes from `-t` (`admin` by default, `mail` when `-m` is
//! given, `account`). Requests go to the admin
//! port, which answers every namespace: `-z` as the home's administrator, `-a` as the
//! named admin, `-m` alone as that mailbox with its password; with `-z` or `-a` plus
//! `-m`, mail and account requests act on the mailbox (the header's `account`).

use std::io::Write;
use std::process::ExitCode;

use std::net::SocketAddr;

use clap::Parser;
use zcs_server::home::Home;
use zcs_server::search::remote::Remote;
use zcs_server::soap::element::Element;
use zcs_server::soap::{json, xml};

/// One SOAP request from the command line.
#[derive(Parser)]
#[command(name = "zmsoap", disable_help_flag = true)]
struct Args {
    /// Usage.
    #[arg(short = 'h', long = "help")]
    help: bool,
    /// Authenticate as the home's administrator.
    #[arg(short = 'z', long = "zadmin")]
    zadmin: bool,
    /// Admin account to authenticate as.
    #[arg(short = 'a', long = "admin")]
    admin: Option<String>,
    /// Mailbox the mail and account requests are for.
    #[arg(short = 'm', long = "mailbox")]
    mailbox: Option<String>,
    /// Target account (non-admin sessions): requests act on it.
    #[arg(long = "target")]
    target: Option<String>,
    /// Password.
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// File holding the password.
    #[arg(short = 'P', long = "passfile")]
    passfile: Option<std::path::PathBuf>,
    /// Root element path: relative paths start there.
    #[arg(short = 'e', long = "element")]
    element: Option<String>,
    /// Request type: mail, account or admin.
    #[arg(short = 't', long = "type")]
    kind: Option<String>,
    /// Server URL (only this home's server is reached; accepted for compatibility).
    #[arg(short = 'u', long = "url")]
    url: Option<String>,
    /// Print the request before sending it.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Print the request only; send nothing.
    #[arg(short = 'n', long = "no-op")]
    no_op: bool,
    /// Print the response as JSON (each child element an array of objects, text as
    /// `_content`).
    #[arg(long = "json")]
    json: bool,
    /// The request paths.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    paths: Vec<String>,
}

const USAGE: &str = "usage: zmsoap [options] <path1> [<path2> ...]\n\
  -h/--help              this text\n\
  -z/--zadmin            authenticate as this home's administrator\n\
  -a/--admin NAME        admin account to authenticate as (-p/-P)\n\
  -m/--mailbox NAME      mailbox the mail and account requests are for\n\
  --target NAME          account a non-admin session acts on\n\
  -p/--password PASS     password\n\
  -P/--passfile FILE     read the password from a file\n\
  -e/--element PATH      root element path for relative paths\n\
  -t/--type TYPE         mail, account or admin (default admin; mail with -m)\n\
  -u/--url URL           accepted; this home's server is used\n\
  -v/--verbose           print the request too\n\
  -n/--no-op             print the request, send nothing\n\
  --json                 print the response as JSON\n\
paths: Elem/Child=text adds elements, @attr=value sets an attribute, .. climbs,\n\
  a leading / restarts at the request element";

/// Why a path could not be applied.
#[derive(Debug, PartialEq, Eq)]
struct PathError(String);

/// One element being built: its name, attributes, text and children, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<Node>,
}

impl Node {
    fn named(name: &str) -> Node {
        Node {
            name: name.to_string(),
            ..Node::default()
        }
    }

    /// The node at `path` (child indexes from this node).
    fn at(&mut self, path: &[usize]) -> &mut Node {
        let mut n = self;
        for &i in path {
            n = &mut n.children[i];
        }
        n
    }
}

/// Builds the request from `paths`, relative paths starting at `root_path` when given.
fn build(paths: &[String], root_path: Option<&str>) -> Result<Node, PathError> {
    let mut words = paths.iter().map(String::as_str);
    let first = match root_path {
        Some(p) => p,
        None => words
            .next()
            .ok_or_else(|| PathError("no request path given".into()))?,
    };
    let (head, rest) = match first.trim_start_matches('/').split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (first.trim_start_matches('/'), None),
    };
    let (name, text) = split_value(head);
    if name.is_empty() || name.starts_with('@') || name == ".." {
        return Err(PathError(format!(
            "the first path must name the request: {first}"
        )));
    }
    let mut root = Node::named(name);
    root.text = text.map(str::to_string);
    let mut cur: Vec<usize> = Vec::new();
    if let Some(r) = rest {
        apply(&mut root, &mut cur, r)?;
    }
    // With -e every relative path starts at that element; without, each continues
    // from where the previous one ended. A leading `/` starts at the request.
    let base = root_path.map(|_| cur.clone());
    for w in words {
        if let Some(abs) = w.strip_prefix('/') {
            cur.clear();
            apply(&mut root, &mut cur, abs)?;
        } else {
            if let Some(b) = &base {
                cur = b.clone();
            }
            apply(&mut root, &mut cur, w)?;
        }
    }
    Ok(root)
}

/// `name=value` split at the first `=`.
fn split_value(step: &str) -> (&str, Option<&str>) {
    match step.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (step, None),
    }
}

/// Applies one path's steps from the element at `cur`, leaving `cur` on the last one.
fn apply(root: &mut Node, cur: &mut Vec<usize>, path: &str) -> Result<(), PathError> {
    let steps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, step) in steps.iter().enumerate() {
        if *step == ".." {
            cur.pop()
                .ok_or_else(|| PathError(format!("{path}: .. above the request")))?;
            continue;
        }
        if let Some(attr) = step.strip_prefix('@') {
            if i + 1 != steps.len() {
                return Err(PathError(format!("{path}: an attribute ends a path")));
            }
            let (n, v) = split_value(attr);
            if n.is_empty() {
                return Err(PathError(format!("{path}: attribute without a name")));
            }
            root.at(cur)
                .attrs
                .push((n.to_string(), v.unwrap_or("").to_string()));
            continue;
        }
        let (n, v) = split_value(step);
        if n.is_empty() {
            // `=text` sets the current element's text.
            root.at(cur).text = v.map(str::to_string);
            continue;
        }
        let mut child = Node::named(n);
        child.text = v.map(str::to_string);
        let parent = root.at(cur);
        parent.children.push(child);
        cur.push(parent.children.len() - 1);
    }
    Ok(())
}

/// The namespace of a request type.
fn namespace(kind: &str) -> Option<&'static str> {
    match kind.to_ascii_lowercase().as_str() {
        "admin" => Some("urn:zimbraAdmin"),
        "mail" => Some("urn:zimbraMail"),
        "account" => Some("urn:zimbraAccount"),
        _ => None,
    }
}

/// Appends `text` XML-escaped (attribute-safe).
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Writes the request being built as indented XML, `ns` on its root.
fn write_node(n: &Node, ns: Option<&str>, depth: usize, out: &mut String) {
    let attrs: Vec<(&str, &str)> = n
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let kids: Vec<Kid<'_>> = n.children.iter().map(Kid::Node).collect();
    write_element(&n.name, ns, &attrs, n.text.as_deref(), &kids, depth, out);
}

/// Writes a response element as indented XML, `ns` on its root.
fn write_response(e: &Element, ns: Option<&str>, depth: usize, out: &mut String) {
    let attrs: Vec<(&str, &str)> = e
        .attrs
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect();
    let kids: Vec<Kid<'_>> = e.children.iter().map(Kid::Element).collect();
    write_element(&e.name, ns, &attrs, e.text.as_deref(), &kids, depth, out);
}

/// A child to write: one of the request's or one of the response's.
enum Kid<'a> {
    Node(&'a Node),
    Element(&'a Element),
}

/// Writes one element, two spaces of indent a level; text-only elements on one line.
fn write_element(
    name: &str,
    ns: Option<&str>,
    attrs: &[(&str, &str)],
    text: Option<&str>,
    kids: &[Kid<'_>],
    depth: usize,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    out.push_str(&pad);
    out.push('<');
    out.push_str(name);
    for (k, v) in ns.map(|n| ("xmlns", n)).iter().chain(attrs) {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape(v, out);
        out.push('"');
    }
    let text = text.filter(|t| !t.is_empty());
    if kids.is_empty() && text.is_none() {
        out.push_str("/>\n");
        return;
    }
    out.push('>');
    if kids.is_empty() {
        escape(text.unwrap_or(""), out);
        out.push_str(&format!("</{name}>\n"));
        return;
    }
    out.push('\n');
    if let Some(t) = text {
        out.push_str(&"  ".repeat(depth + 1));
        escape(t, out);
        out.push('\n');
    }
    for k in kids {
        match k {
            Kid::Node(n) => write_node(n, None, depth + 1, out),
            Kid::Element(e) => write_response(e, None, depth + 1, out),
        }
    }
    out.push_str(&format!("{pad}</{name}>\n"));
}

/// The request in a SOAP 1.2 envelope, with the token and the target account.
fn envelope(req: &Node, ns: &str, token: &str, target: Option<&str>) -> String {
    let mut env = String::from(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
         <soap:Header><context xmlns=\"urn:zimbra\"><authToken>",
    );
    escape(token, &mut env);
    env.push_str("</authToken>");
    if let Some(t) = target {
        env.push_str("<account by=\"name\">");
        escape(t, &mut env);
        env.push_str("</account>");
    }
    env.push_str("</context></soap:Header><soap:Body>");
    write_node(req, Some(ns), 0, &mut env);
    env.push_str("</soap:Body></soap:Envelope>");
    env
}

/// The response element of a reply envelope, or the fault as `code (reason)`.
fn response_of(reply: &str) -> Result<Element, String> {
    let root = xml::parse(reply).map_err(|e| format!("unreadable reply: {e}"))?;
    let body = root
        .child("Body")
        .and_then(|b| b.children.first())
        .ok_or("the reply has no body")?;
    if body.name != "Fault" {
        return Ok(body.clone());
    }
    let find = |path: &[&str]| {
        let mut e = Some(body);
        for p in path {
            e = e.and_then(|x| x.child(p));
        }
        e.and_then(|x| x.text.clone()).unwrap_or_default()
    };
    Err(format!(
        "{} ({})",
        find(&["Detail", "Error", "Code"]),
        find(&["Reason", "Text"])
    ))
}

/// The running server's admin listener, as it reported it.
fn admin_addr(home: &Home) -> Result<SocketAddr, String> {
    let mut addr = zcs_server::control::read_listeners(home)
        .into_iter()
        .find(|l| l.protocol == "admin" && l.error.is_none())
        .map(|l| l.addr)
        .ok_or("the server runs but reports no admin listener")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(addr)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args = Args::parse();
    if args.help || (args.paths.is_empty() && args.element.is_none()) {
        println!("{USAGE}");
        return if args.help {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let kind = args.kind.clone().unwrap_or_else(|| {
        if args.mailbox.is_some() {
            "mail"
        } else {
            "admin"
        }
        .into()
    });
    let ns = namespace(&kind).ok_or_else(|| format!("unknown request type: {kind}"))?;
    let req = build(&args.paths, args.element.as_deref()).map_err(|e| e.0)?;
    let mut shown = String::new();
    write_node(&req, Some(ns), 0, &mut shown);
    if args.verbose || args.no_op {
        print!("{shown}");
        if args.no_op {
            return Ok(());
        }
    }
    let home = Home::from_env().map_err(|e| e.to_string())?;
    if zcs_server::control::running_pid(&home).is_none() {
        return Err("the server is not running (start it with zmcontrol start)".into());
    }
    let password = match (&args.password, &args.passfile) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("{}: {e}", f.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        (None, None) => None,
    };
    let mut prov = None;
    let (session, target) = if args.zadmin {
        let p = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        let s = Remote::open(&home, &p).await?;
        prov = Some(p);
        (s, args.mailbox.clone())
    } else if let Some(admin) = &args.admin {
        let pass = password.ok_or("a password is needed (-p or -P) unless -z is given")?;
        let s = Remote::login(&home, admin, &pass, true).await?;
        (s, args.mailbox.clone())
    } else {
        let who = args
            .mailbox
            .clone()
            .ok_or("give -z, an admin (-a) or a mailbox (-m) and its password")?;
        let pass = password.ok_or("a password is needed (-p or -P) unless -z is given")?;
        let s = Remote::login(&home, &who, &pass, false).await?;
        (s, args.target.clone())
    };
    // Admin requests are the admin's own; mail and account requests act on the mailbox.
    let target = if ns == "urn:zimbraAdmin" {
        None
    } else {
        target
    };
    let env = envelope(&req, ns, session.token(), target.as_deref());
    let reply = match admin_addr(&home) {
        Ok(addr) => zcs_server::admin_client::post(&home, addr, session.token(), &env).await,
        Err(e) => Err(e),
    };
    session.close(prov.as_ref()).await;
    let resp = response_of(&reply?)?;
    let mut out = String::new();
    if args.json {
        let v = json::to_value(&resp, None);
        out.push_str(&serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?);
        out.push('\n');
    } else {
        write_response(&resp, resp.ns.as_deref(), 0, &mut out);
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(s: &[&str]) -> Vec<String> {
        s.iter().map(|p| p.to_string()).collect()
    }

    fn xml_of(words: &[&str], root: Option<&str>) -> String {
        let mut out = String::new();
        write_node(
            &build(&paths(words), root).expect("build"),
            None,
            0,
            &mut out,
        );
        out
    }

    #[test]
    fn paths_build_elements_attributes_and_text() {
        assert_eq!(
            xml_of(&["GetAccountInfoRequest/account=user1", "@by=name"], None),
            "<GetAccountInfoRequest>\n  <account by=\"name\">user1</account>\n\
             </GetAccountInfoRequest>\n"
        );
        assert_eq!(
            xml_of(
                &[
                    "SearchRequest",
                    "@types=message",
                    "query=in:inbox",
                    "../@limit=5"
                ],
                None
            ),
            "<SearchRequest types=\"message\" limit=\"5\">\n  <query>in:inbox</query>\n\
             </SearchRequest>\n"
        );
        // A leading slash starts again at the request.
        assert_eq!(
            xml_of(
                &["ModifyAccountRequest/a=v1", "@n=sn", "/a=v&2", "@n=cn"],
                None
            ),
            "<ModifyAccountRequest>\n  <a n=\"sn\">v1</a>\n  <a n=\"cn\">v&amp;2</a>\n\
             </ModifyAccountRequest>\n"
        );
    }

    #[test]
    fn the_element_option_is_the_root_of_relative_paths() {
        assert_eq!(
            xml_of(&["a=1", "b=2", "/c"], Some("GetFolderRequest/folder")),
            "<GetFolderRequest>\n  <folder>\n    <a>1</a>\n    <b>2</b>\n  </folder>\n\
             \x20 <c/>\n</GetFolderRequest>\n"
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(build(&[], None).is_err());
        assert!(build(&paths(&["@x=1"]), None).is_err());
        assert!(build(&paths(&["NoOpRequest", ".."]), None).is_err());
        assert!(build(&paths(&["NoOpRequest", "@=1"]), None).is_err());
        assert!(build(&paths(&["NoOpRequest", "@a=1/b"]), None).is_err());
        assert_eq!(namespace("MAIL"), Some("urn:zimbraMail"));
        assert_eq!(namespace("x"), None);
    }

    #[test]
    fn envelopes_and_replies() {
        let req = build(&paths(&["GetInfoRequest", "@sections=mbox"]), None).expect("build");
        let env = envelope(&req, "urn:zimbraAccount", "0_ab", Some("u@ex.test"));
        assert!(env.contains("<authToken>0_ab</authToken><account by=\"name\">u@ex.test"));
        assert!(env.contains("<GetInfoRequest xmlns=\"urn:zimbraAccount\" sections=\"mbox\"/>"));
        let ok = "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
                  <soap:Body><GetInfoResponse xmlns=\"urn:zimbraAccount\"><name>a&amp;b</name>\
                  <attrs><attr name=\"x\">1</attr></attrs></GetInfoResponse></soap:Body>\
                  </soap:Envelope>";
        let resp = response_of(ok).expect("response");
        let mut out = String::new();
        write_response(&resp, resp.ns.as_deref(), 0, &mut out);
        assert_eq!(
            out,
            "<GetInfoResponse xmlns=\"urn:zimbraAccount\">\n  <name>a&amp;b</name>\n  \
             <attrs>\n    <attr name=\"x\">1</attr>\n  </attrs>\n</GetInfoResponse>\n"
        );
        let fault = "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
                     <soap:Body><soap:Fault><soap:Reason><soap:Text>no such message: 9\
                     </soap:Text></soap:Reason><soap:Detail><Error xmlns=\"urn:zimbra\">\
                     <Code>mail.NO_SUCH_MSG</Code></Error></soap:Detail></soap:Fault>\
                     </soap:Body></soap:Envelope>";
        assert_eq!(
            response_of(fault).expect_err("fault"),
            "mail.NO_SUCH_MSG (no such message: 9)"
        );
        assert!(response_of("<x").is_err());
    }
}
