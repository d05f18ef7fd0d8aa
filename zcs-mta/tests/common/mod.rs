//! Test doubles and a raw-socket client for the listener integration tests.
//!
//! `Recorder` is a `LocalDelivery` that keeps every delivered message in memory and
//! answers by the recipient's local part:
//! - RCPT: `unknown*` -> Unknown, `tempfail*` -> TempFail("4.4.3 ..."), `permfail*` ->
//!   PermFail("5.7.1 ..."), anything else -> Local(lower-cased address);
//! - delivery: `deliverytemp*` -> TempFail("4.2.2 Mailbox full"), `deliveryperm*` ->
//!   PermFail("5.2.1 ..."), anything else -> Delivered.

#![allow(dead_code)]

pub mod dns;
pub mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zcs_mta::{
    DeliveryOutcome, InboundMessage, ListenerConfig, LocalDelivery, Protocol, RecipientStatus,
};

/// How long a test waits for any one reply.
pub const REPLY_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Recorder {
    pub messages: Mutex<Vec<InboundMessage>>,
}

impl Recorder {
    pub fn messages(&self) -> Vec<InboundMessage> {
        self.messages.lock().unwrap().clone()
    }
}

fn local_part(address: &str) -> String {
    address.split('@').next().unwrap_or("").to_ascii_lowercase()
}

#[async_trait]
impl LocalDelivery for Recorder {
    async fn resolve_recipient(&self, address: &str) -> RecipientStatus {
        let local = local_part(address);
        if local.starts_with("unknown") {
            RecipientStatus::Unknown
        } else if local.starts_with("tempfail") {
            RecipientStatus::TempFail("4.4.3 directory unavailable".into())
        } else if local.starts_with("permfail") {
            RecipientStatus::PermFail("5.7.1 account closed".into())
        } else {
            RecipientStatus::Local(address.to_ascii_lowercase())
        }
    }

    async fn deliver(&self, message: &InboundMessage) -> Vec<DeliveryOutcome> {
        self.messages.lock().unwrap().push(message.clone());
        message
            .recipients
            .iter()
            .map(|r| {
                let local = local_part(&r.canonical);
                if local.starts_with("deliverytemp") {
                    DeliveryOutcome::TempFail("4.2.2 Mailbox full".into())
                } else if local.starts_with("deliveryperm") {
                    DeliveryOutcome::PermFail("5.2.1 mailbox disabled".into())
                } else {
                    DeliveryOutcome::Delivered
                }
            })
            .collect()
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub shutdown: watch::Sender<bool>,
    pub handle: JoinHandle<io::Result<()>>,
    pub recorder: Arc<Recorder>,
}

pub fn config(protocol: Protocol) -> ListenerConfig {
    ListenerConfig::new(protocol, "mx.test")
}

pub async fn start(config: ListenerConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Arc::new(Recorder::default());
    let (shutdown, rx) = watch::channel(false);
    let handle = tokio::spawn(zcs_mta::serve(listener, config, recorder.clone(), rx));
    Server {
        addr,
        shutdown,
        handle,
        recorder,
    }
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects and returns the client with the greeting already read.
    pub async fn connect(addr: SocketAddr) -> (Client, String) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut client = Client {
            stream,
            buf: Vec::new(),
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one complete reply (all lines of a multi-line one), CRLFs included.
    pub async fn reply(&mut self) -> String {
        tokio::time::timeout(REPLY_WAIT, self.read_reply())
            .await
            .expect("timed out waiting for a reply")
    }

    async fn read_reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let line = self.line().await.expect("connection closed before a reply");
            let last = line.as_bytes().get(3) == Some(&b' ') || line.len() < 6;
            reply.push_str(&line);
            if last {
                return reply;
            }
        }
    }

    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(String::from_utf8(line).unwrap());
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `line` plus CRLF and returns the reply.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Waits until the server closes the connection (no further reply expected).
    pub async fn expect_closed(&mut self) {
        let rest = tokio::time::timeout(REPLY_WAIT, async {
            let mut rest = Vec::new();
            let _ = self.stream.read_to_end(&mut rest).await;
            rest
        })
        .await
        .expect("server did not close the connection");
        assert!(
            self.buf.is_empty() && rest.is_empty(),
            "unexpected data: {rest:?}"
        );
    }
}

/// Asserts that `reply` starts with `prefix`.
#[track_caller]
pub fn assert_reply(reply: &str, prefix: &str) {
    assert!(
        reply.starts_with(prefix),
        "expected {prefix:?}, got {reply:?}"
    );
}

/// Checks the trace header of `message` against the documented layout and returns the
/// content after it.
pub fn check_trace(message: &InboundMessage, helo: &str, with: &str) -> Vec<u8> {
    let header = std::str::from_utf8(&message.data[..message.trace_len]).unwrap();
    let expected_start = format!(
        "Received: from {helo} ([127.0.0.1])\r\n\tby mx.test with {with} id {};\r\n\t",
        message.id
    );
    assert!(header.starts_with(&expected_start), "header was {header:?}");
    let date = header[expected_start.len()..].strip_suffix("\r\n").unwrap();
    assert!(!date.contains('\n'), "date line {date:?}");
    assert!(date.ends_with(" +0000"), "date {date:?}");
    message.content().to_vec()
}
