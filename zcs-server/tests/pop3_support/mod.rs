//! Test doubles for the POP3 integration tests: an in-memory `Pop3Backend` (test only,
//! not a store) and a raw line client over a TcpStream.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use zcs_core::ItemId;
use zcs_server::pop3::{
    Pop3AuthError, Pop3Backend, Pop3Config, Pop3Error, Pop3Maildrop, Pop3Message, Pop3Result, serve,
};

pub const USER: &str = "alice@example.com";
pub const ALIAS: &str = "al@example.com";
pub const PASSWORD: &str = "s3cret pw";
pub const DISABLED: &str = "nopop@example.com";

/// The messages every test account starts with: plain, dot lines, no final CRLF.
pub fn sample_messages() -> Vec<Vec<u8>> {
    vec![
        b"From: a@example.com\r\nSubject: one\r\n\r\nHello\r\n".to_vec(),
        b"Subject: dots\r\n\r\n.leading dot\r\n.\r\n..two\r\nlast\r\n".to_vec(),
        b"Subject: three\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\nno final line end".to_vec(),
    ]
}

/// One account's maildrop, shared by its sessions.
pub struct MemAccount {
    pub key: String,
    pub name: String,
    pub password: String,
    pub messages: Mutex<BTreeMap<i32, Vec<u8>>>,
    /// Every `delete` call, in order.
    pub deletes: Mutex<Vec<Vec<ItemId>>>,
}

impl MemAccount {
    pub fn ids(&self) -> Vec<i32> {
        self.messages.lock().unwrap().keys().copied().collect()
    }
}

/// The backend: accounts by login name (an alias maps to the same account).
pub struct MemBackend {
    pub accounts: BTreeMap<String, Arc<MemAccount>>,
    /// When set, logins answer `Unavailable`.
    pub down: AtomicBool,
}

impl MemBackend {
    pub fn new() -> Arc<MemBackend> {
        let mut messages = BTreeMap::new();
        for (i, m) in sample_messages().into_iter().enumerate() {
            messages.insert(300 + i as i32, m);
        }
        let alice = Arc::new(MemAccount {
            key: "id-alice".into(),
            name: USER.into(),
            password: PASSWORD.into(),
            messages: Mutex::new(messages),
            deletes: Mutex::new(Vec::new()),
        });
        let mut accounts = BTreeMap::new();
        accounts.insert(USER.to_string(), alice.clone());
        accounts.insert(ALIAS.to_string(), alice);
        Arc::new(MemBackend {
            accounts,
            down: AtomicBool::new(false),
        })
    }

    pub fn alice(&self) -> Arc<MemAccount> {
        self.accounts[USER].clone()
    }
}

struct MemMaildrop(Arc<MemAccount>);

#[async_trait]
impl Pop3Backend for MemBackend {
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _remote_ip: IpAddr,
    ) -> Result<Arc<dyn Pop3Maildrop>, Pop3AuthError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Pop3AuthError::Unavailable("test".into()));
        }
        match self.accounts.get(&user.to_ascii_lowercase()) {
            Some(a) if a.password == password => Ok(Arc::new(MemMaildrop(a.clone()))),
            _ => Err(Pop3AuthError::Failed),
        }
    }
}

#[async_trait]
impl Pop3Maildrop for MemMaildrop {
    fn account_key(&self) -> &str {
        &self.0.key
    }

    fn account_name(&self) -> &str {
        &self.0.name
    }

    async fn messages(&self) -> Pop3Result<Vec<Pop3Message>> {
        Ok(self
            .0
            .messages
            .lock()
            .unwrap()
            .iter()
            .map(|(id, raw)| Pop3Message {
                id: ItemId(*id),
                size: raw.len() as u64,
                uid: if *id == 302 {
                    // Breaks the RFC 1939 rules: the server must fall back to the id.
                    "bad uid".into()
                } else {
                    format!("{id}.uv1")
                },
            })
            .collect())
    }

    async fn read(&self, id: ItemId) -> Pop3Result<Vec<u8>> {
        self.0
            .messages
            .lock()
            .unwrap()
            .get(&id.0)
            .cloned()
            .ok_or(Pop3Error::NotFound)
    }

    async fn delete(&self, ids: &[ItemId]) -> Pop3Result<()> {
        let mut msgs = self.0.messages.lock().unwrap();
        for id in ids {
            msgs.remove(&id.0);
        }
        self.0.deletes.lock().unwrap().push(ids.to_vec());
        Ok(())
    }
}

/// A running listener.
pub struct Server {
    pub addr: SocketAddr,
    pub backend: Arc<MemBackend>,
    pub shutdown: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Settings with short delays for tests.
pub fn test_config() -> Pop3Config {
    Pop3Config {
        hostname: "pop.test".into(),
        auth_failure_delay: Duration::from_millis(10),
        shutdown_grace: Duration::from_secs(2),
        ..Pop3Config::default()
    }
}

/// [`test_config`] with USER/PASS and AUTH PLAIN switched off.
pub fn test_config_without_cleartext() -> Pop3Config {
    Pop3Config {
        cleartext_login: false,
        ..test_config()
    }
}

/// Starts `serve` on 127.0.0.1:0 with a fresh in-memory backend.
pub async fn start(config: Pop3Config) -> Server {
    start_with(config, MemBackend::new()).await
}

/// Starts `serve` on 127.0.0.1:0 with `backend`.
pub async fn start_with(config: Pop3Config, backend: Arc<MemBackend>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, config, backend.clone(), rx));
    Server {
        addr,
        backend,
        shutdown: tx,
        task,
    }
}

/// A raw POP3 client.
pub struct Client {
    pub r: BufReader<OwnedReadHalf>,
    pub w: OwnedWriteHalf,
}

impl Client {
    /// Connects and returns the greeting line.
    pub async fn connect(addr: SocketAddr) -> (Client, String) {
        let s = TcpStream::connect(addr).await.unwrap();
        let (r, w) = s.into_split();
        let mut c = Client {
            r: BufReader::new(r),
            w,
        };
        let greeting = c.line().await.expect("greeting");
        (c, greeting)
    }

    /// Connects and logs in as alice.
    pub async fn login(addr: SocketAddr) -> Client {
        let (mut c, _) = Client::connect(addr).await;
        assert!(c.cmd(&format!("USER {USER}")).await.starts_with("+OK"));
        let r = c.cmd(&format!("PASS {PASSWORD}")).await;
        assert!(r.starts_with("+OK"), "{r}");
        c
    }

    /// Connects and tries to log in as alice; returns the client and the PASS reply.
    pub async fn login_raw(addr: SocketAddr) -> (Client, String) {
        let (mut c, _) = Client::connect(addr).await;
        c.cmd(&format!("USER {USER}")).await;
        let r = c.cmd(&format!("PASS {PASSWORD}")).await;
        (c, r)
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }

    /// Reads one raw line with its CRLF; `None` at end of stream (or after 10 s).
    pub async fn raw_line(&mut self) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.r.read_until(b'\n', &mut buf))
            .await
            .expect("server answered within 10 s")
            .ok()?;
        (n > 0).then_some(buf)
    }

    /// Reads one line without its CRLF.
    pub async fn line(&mut self) -> Option<String> {
        let raw = self.raw_line().await?;
        let s = String::from_utf8(raw).unwrap();
        Some(s.trim_end_matches("\r\n").to_string())
    }

    /// Sends a command and returns its status line.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(line).await;
        self.line().await.expect("a reply")
    }

    /// Reads a multi-line body up to the `.` line, as raw bytes (dot-stuffing kept).
    pub async fn multi_raw(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line = self.raw_line().await.expect("multi-line body");
            if line == b".\r\n" {
                return out;
            }
            out.extend_from_slice(&line);
        }
    }

    /// Reads a multi-line body as lines, dot-stuffing undone.
    pub async fn multi(&mut self) -> Vec<String> {
        let raw = self.multi_raw().await;
        String::from_utf8(raw)
            .unwrap()
            .split_terminator("\r\n")
            .map(|l| l.strip_prefix('.').unwrap_or(l).to_string())
            .collect()
    }
}

/// Undoes dot-stuffing of a multi-line body read with [`Client::multi_raw`].
pub fn unstuff(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in raw.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}
