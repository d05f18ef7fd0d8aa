//! Fixture for the SOAP integration tests: a real SQLite directory, store and index in
//! a temporary directory, the user and admin routers on 127.0.0.1:0, and a minimal
//! HTTP/1.1 client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zcs_core::Attrs;
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::TantivyIndex;
use zcs_server::frontends::http::{router, serve_plain};
use zcs_server::indexer::Indexer;
use zcs_server::soap::SoapService;
use zcs_store::{Store, StoreConfig};

pub const ALICE: &str = "alice@example.test";
pub const BOB: &str = "bob@example.test";
pub const ADMIN: &str = "admin@example.test";
pub const PASSWORD: &str = "test123456";

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub prov: Arc<Provisioning>,
    pub store: Arc<Store>,
    pub user: SocketAddr,
    pub admin: SocketAddr,
    pub svc: Arc<SoapService>,
    pub shutdown_rx: watch::Receiver<bool>,
    _shutdown: watch::Sender<bool>,
}

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    /// The Zimbra fault code in an XML or JSON fault.
    pub fn fault_code(&self) -> Option<String> {
        if self.body.starts_with('{') {
            return self.json()["Body"]["Fault"]["Detail"]["Error"]["Code"]
                .as_str()
                .map(str::to_string);
        }
        let start = self.body.find("<Code>")? + 6;
        let end = self.body[start..].find("</Code>")? + start;
        Some(self.body[start..end].to_string())
    }
}

pub async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(
        Arc::new(dir),
        AuthRegistry::with_builtins(),
    ));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("example.test", Attrs::new())
        .await
        .expect("domain");
    for u in [ALICE, BOB] {
        prov.create_account(u, Some(PASSWORD), Attrs::new())
            .await
            .expect("account");
    }
    let mut admin_attrs = Attrs::new();
    admin_attrs.set_one("zimbraIsAdminAccount", "TRUE");
    prov.create_account(ADMIN, Some(PASSWORD), admin_attrs)
        .await
        .expect("admin");
    let store = Arc::new(
        Store::open(StoreConfig::under(tmp.path().join("store")))
            .await
            .expect("open store"),
    );
    let index = Arc::new(TantivyIndex::open(&tmp.path().join("index")).expect("open index"));
    let (indexer, _task) = Indexer::start(store.clone(), index.clone());
    let svc = Arc::new(SoapService::new(
        prov.clone(),
        store.clone(),
        index,
        indexer,
        None,
        "mail.example.test",
    ));
    let (tx, rx) = watch::channel(false);
    let user_l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin_l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let user = user_l.local_addr().expect("addr");
    let admin = admin_l.local_addr().expect("addr");
    tokio::spawn(serve_plain(user_l, router(svc.clone(), false), rx.clone()));
    tokio::spawn(serve_plain(admin_l, router(svc.clone(), true), rx.clone()));
    Fixture {
        svc,
        shutdown_rx: rx,
        _tmp: tmp,
        prov,
        store,
        user,
        admin,
        _shutdown: tx,
    }
}

/// POSTs `body` to `path` with optional extra header lines; reads the whole reply.
pub async fn post(addr: SocketAddr, path: &str, body: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("headers");
    let status = head[9..12].parse().expect("status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers: head.to_string(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A SOAP 1.2 envelope around `body` with an optional token.
pub fn soap12(token: Option<&str>, body: &str) -> String {
    let ctx = match token {
        Some(t) => format!("<context xmlns=\"urn:zimbra\"><authToken>{t}</authToken></context>"),
        None => "<context xmlns=\"urn:zimbra\"/>".into(),
    };
    format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">\
         <soap:Header>{ctx}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

/// A JSON envelope around `body` (a `{"XRequest":{...}}` object text).
pub fn json_env(token: Option<&str>, body: &str) -> String {
    let ctx = match token {
        Some(t) => format!("{{\"_jsns\":\"urn:zimbra\",\"authToken\":{{\"_content\":\"{t}\"}}}}"),
        None => "{\"_jsns\":\"urn:zimbra\"}".into(),
    };
    format!("{{\"Header\":{{\"context\":{ctx}}},\"Body\":{body}}}")
}

/// The text of the first `<tag>` element in an XML body.
pub fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_string())
}

/// Logs in over JSON on the user port; returns the token.
pub async fn login(f: &Fixture, user: &str) -> String {
    let body = format!(
        "{{\"AuthRequest\":{{\"_jsns\":\"urn:zimbraAccount\",\"account\":{{\"by\":\"name\",\
         \"_content\":\"{user}\"}},\"password\":{{\"_content\":\"{PASSWORD}\"}}}}}}"
    );
    let r = post(f.user, "/service/soap", &json_env(None, &body), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["Body"]["AuthResponse"]["authToken"][0]["_content"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Logs in as the admin on the admin port; returns the token.
pub async fn admin_login(f: &Fixture) -> String {
    let body = format!(
        "<AuthRequest xmlns=\"urn:zimbraAdmin\"><name>{ADMIN}</name>\
         <password>{PASSWORD}</password></AuthRequest>"
    );
    let r = post(f.admin, "/service/admin/soap", &soap12(None, &body), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    xml_text(&r.body, "authToken").expect("token")
}

/// The mailbox of account `name` in the fixture's store.
pub async fn mailbox(f: &Fixture, name: &str) -> zcs_store::Mailbox {
    let a = f.prov.get_account(name).await.expect("account");
    f.store.mailbox(a.id).await.expect("mailbox")
}

/// Sends a raw request (`head` without the blank line) with `body`; returns the reply.
pub async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.expect("read");
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let status = head[9..12].parse().expect("status");
    (status, head, all[split + 4..].to_vec())
}
