//! The production POP3 adapter (`pop3_backend::StorePop3Backend`) over a real SQLite
//! directory, store and index in a temporary directory, driven over TCP by a raw
//! client and, when python3 is installed, by Python's poplib (`tests/pop3_poplib.py`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use zcs_core::{AttrEdit, Attrs, Flags, ItemId, folder};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::TantivyIndex;
use zcs_server::pop3::{Pop3Config, serve};
use zcs_server::pop3_backend::StorePop3Backend;
use zcs_store::{Mailbox, Store, StoreConfig, StoreError};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "pop secret 1";

struct Fixture {
    _tmp: tempfile::TempDir,
    prov: Arc<Provisioning>,
    mailbox: Mailbox,
    addr: SocketAddr,
    _shutdown: watch::Sender<bool>,
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: bob@example.test\r\nTo: {USER}\r\nSubject: message {n}\r\n\r\n\
         line one\r\n.dot line\r\n.\r\nend {n}\r\n"
    )
    .into_bytes()
}

/// An account with three Inbox messages, one Junk message and one Inbox message
/// delivered in 1970; the POP3 listener on 127.0.0.1:0.
async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open directory");
    let prov = Arc::new(Provisioning::new(Arc::new(dir), AuthRegistry::new()));
    prov.create_domain("example.test", Attrs::new())
        .await
        .expect("domain");
    let account = prov
        .create_account(USER, Some(PASSWORD), Attrs::new())
        .await
        .expect("account");
    let store = Arc::new(
        Store::open(StoreConfig::under(tmp.path().join("store")))
            .await
            .expect("open store"),
    );
    let index = Arc::new(TantivyIndex::open(&tmp.path().join("index")).expect("open index"));
    let mailbox = store.mailbox(account.id).await.expect("mailbox");
    let now = chrono::Utc::now().timestamp_millis();
    for n in 1..=3 {
        mailbox
            .append(
                ItemId(folder::INBOX),
                &message(n),
                Flags(Flags::UNREAD),
                now,
            )
            .await
            .expect("append");
    }
    mailbox
        .append(ItemId(folder::JUNK), &message(4), Flags(Flags::UNREAD), now)
        .await
        .expect("append junk");
    mailbox
        .append(
            ItemId(folder::INBOX),
            &message(5),
            Flags(Flags::UNREAD),
            1000,
        )
        .await
        .expect("append old");
    let backend = Arc::new(StorePop3Backend::new(prov.clone(), store, index));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = watch::channel(false);
    let config = Pop3Config {
        auth_failure_delay: Duration::from_millis(10),
        // Every command re-checks the account, so changes below apply at once.
        account_check_interval: Duration::ZERO,
        ..Pop3Config::default()
    };
    tokio::spawn(serve(listener, config, backend, rx));
    Fixture {
        _tmp: tmp,
        prov,
        mailbox,
        addr,
        _shutdown: tx,
    }
}

struct Client {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut c = Client {
            r: BufReader::new(r),
            w,
        };
        assert!(c.line().await.starts_with("+OK zcs POP3 server ready"));
        c
    }

    async fn line(&mut self) -> String {
        let mut s = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.r.read_line(&mut s))
            .await
            .expect("reply within 10 s")
            .unwrap();
        s.trim_end_matches("\r\n").to_string()
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.line().await
    }

    async fn multi(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let l = self.line().await;
            if l == "." {
                return out;
            }
            out.push(l);
        }
    }

    async fn login(addr: SocketAddr) -> (Client, String) {
        let mut c = Client::connect(addr).await;
        c.cmd(&format!("USER {USER}")).await;
        let r = c.cmd(&format!("PASS {PASSWORD}")).await;
        (c, r)
    }
}

async fn set(prov: &Provisioning, attr: &str, value: &str) {
    prov.modify_account(USER, &[AttrEdit::Replace(attr.into(), vec![value.into()])])
        .await
        .expect("modify account");
}

#[tokio::test]
async fn inbox_listing_retrieval_and_delete_at_quit() {
    let f = fixture().await;
    let inbox = f.mailbox.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(inbox.len(), 4);

    let (mut c, r) = Client::login(f.addr).await;
    assert!(r.starts_with("+OK maildrop has 4 messages"), "{r}");
    c.cmd("UIDL").await;
    let uidls = c.multi().await;
    let want: Vec<String> = inbox
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} {}.{}", i + 1, m.id.0, m.blob_digest))
        .collect();
    assert_eq!(uidls, want);
    assert_eq!(
        c.cmd("RETR 2").await,
        format!("+OK {} octets", message(2).len())
    );
    let body = c.multi().await;
    assert!(body.contains(&"..dot line".to_string()) && body.contains(&"..".to_string()));
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    // A second session on the account is refused while this one holds the maildrop.
    let (_, second) = Client::login(f.addr).await;
    assert!(second.starts_with("-ERR [IN-USE]"), "{second}");
    assert!(c.cmd("QUIT").await.contains("1 messages deleted"));

    let gone = f.mailbox.message(inbox[0].id).await;
    assert!(
        matches!(gone, Err(StoreError::NoSuchMessage(_))),
        "{gone:?}"
    );
    let (mut c, r) = Client::login(f.addr).await;
    assert!(r.starts_with("+OK maildrop has 3 messages"), "{r}");
    // A dropped connection applies nothing.
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        f.mailbox
            .messages(ItemId(folder::INBOX))
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn account_settings_shape_the_maildrop() {
    let f = fixture().await;

    set(&f.prov, "zimbraPrefPop3DownloadSince", "20000101000000Z").await;
    set(&f.prov, "zimbraPrefPop3IncludeSpam", "TRUE").await;
    let (mut c, r) = Client::login(f.addr).await;
    // Three recent Inbox messages and the Junk one; the 1970 message is hidden.
    assert!(r.starts_with("+OK maildrop has 4 messages"), "{r}");
    c.cmd("TOP 4 0").await;
    assert!(c.multi().await.contains(&"Subject: message 4".to_string()));
    c.cmd("QUIT").await;

    set(&f.prov, "zimbraPrefPop3DeleteOption", "trash").await;
    let (mut c, _) = Client::login(f.addr).await;
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    assert!(c.cmd("QUIT").await.starts_with("+OK"));
    assert_eq!(
        f.mailbox
            .messages(ItemId(folder::TRASH))
            .await
            .unwrap()
            .len(),
        1
    );

    set(&f.prov, "zimbraPrefPop3DeleteOption", "read").await;
    let (mut c, _) = Client::login(f.addr).await;
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    assert!(c.cmd("QUIT").await.starts_with("+OK"));
    let inbox = f.mailbox.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(inbox.len(), 3);
    assert_eq!(
        inbox
            .iter()
            .filter(|m| m.flags.0 & Flags::UNREAD != 0)
            .count(),
        2
    );

    for attr in ["zimbraPop3Enabled", "zimbraPrefPop3Enabled"] {
        set(&f.prov, attr, "FALSE").await;
        let (_, r) = Client::login(f.addr).await;
        assert_eq!(r, "-ERR [AUTH] invalid user name or password", "{attr}");
        set(&f.prov, attr, "TRUE").await;
    }
    let (_, r) = Client::login(f.addr).await;
    assert!(r.starts_with("+OK"), "{r}");
}

/// A session whose account is locked, closed, put in maintenance, loses POP3 or is
/// deleted mid-session gets `-ERR [SYS/PERM]` at its next command and is closed; its
/// deletion marks are never applied.
#[tokio::test]
async fn account_changes_end_open_sessions() {
    let f = fixture().await;
    let changes: [(&str, &str, &str); 5] = [
        ("zimbraAccountStatus", "locked", "active"),
        ("zimbraAccountStatus", "closed", "active"),
        ("zimbraAccountStatus", "maintenance", "active"),
        ("zimbraPop3Enabled", "FALSE", "TRUE"),
        ("zimbraPrefPop3Enabled", "FALSE", "TRUE"),
    ];
    for (attr, bad, good) in changes {
        let (mut c, r) = Client::login(f.addr).await;
        assert!(r.starts_with("+OK maildrop has 4 messages"), "{attr}: {r}");
        assert!(c.cmd("DELE 1").await.starts_with("+OK"));
        set(&f.prov, attr, bad).await;
        let r = c.cmd("QUIT").await;
        assert_eq!(
            r, "-ERR [SYS/PERM] account is no longer available",
            "{attr}"
        );
        let mut rest = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), c.r.read_line(&mut rest))
            .await
            .expect("closed in time")
            .unwrap_or(0);
        assert_eq!(n, 0, "{attr}: connection closed, got {rest:?}");
        set(&f.prov, attr, good).await;
        assert_eq!(
            f.mailbox
                .messages(ItemId(folder::INBOX))
                .await
                .unwrap()
                .len(),
            4,
            "{attr}: no deletion applied"
        );
    }
    // A command other than QUIT is refused the same way.
    let (mut c, _) = Client::login(f.addr).await;
    assert!(c.cmd("STAT").await.starts_with("+OK 4"));
    f.prov.delete_account(USER).await.expect("delete account");
    assert_eq!(
        c.cmd("STAT").await,
        "-ERR [SYS/PERM] account is no longer available"
    );
}

#[tokio::test]
async fn python_poplib_drains_the_maildrop() {
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 not found; skipping the poplib test");
        return;
    }
    let f = fixture().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pop3_poplib.py");
    let out = tokio::process::Command::new("python3")
        .args([script, &f.addr.port().to_string(), USER, PASSWORD, "4"])
        .output()
        .await
        .expect("run python3");
    assert!(
        out.status.success(),
        "poplib script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    assert!(
        f.mailbox
            .messages(ItemId(folder::INBOX))
            .await
            .unwrap()
            .is_empty()
    );
}
