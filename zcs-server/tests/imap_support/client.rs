//! The test server's start-up and a raw line/literal IMAP client over a TcpStream, with
//! the sample messages the tests append.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use zcs_server::imap::{ImapBackend, ImapConfig, serve};

use super::MemBackend;

/// A running server for one test.
pub struct Server {
    pub addr: SocketAddr,
    pub backend: Arc<MemBackend>,
    pub shutdown: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A configuration suited to tests: no login delay, small limits.
pub fn test_config() -> ImapConfig {
    ImapConfig {
        hostname: "imap.test".into(),
        auth_failure_delay: Duration::ZERO,
        idle_poll_interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(2),
        ..ImapConfig::default()
    }
}

/// Starts `serve` on 127.0.0.1:0 with the in-memory backend.
pub async fn start(config: ImapConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = MemBackend::new();
    let (tx, rx) = watch::channel(false);
    let dyn_backend: Arc<dyn ImapBackend> = backend.clone();
    let task = tokio::spawn(serve(listener, config, dyn_backend, rx));
    Server {
        addr,
        backend,
        shutdown: tx,
        task,
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// A raw IMAP client: sends lines, reads responses with their literals.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
}

impl Client {
    /// Connects and returns the client with the greeting line.
    pub async fn connect(addr: SocketAddr) -> (Client, String) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (r, w) = stream.into_split();
        let mut client = Client {
            reader: BufReader::new(r),
            writer: Some(w),
        };
        let greeting = client.read_text().await.expect("greeting");
        (client, greeting)
    }

    /// Connects and logs in as alice.
    pub async fn login(addr: SocketAddr) -> Client {
        let (mut c, _) = Client::connect(addr).await;
        let (_, done) = c
            .cmd("l0", "LOGIN alice@example.com \"s3cret \\\"pw\\\"\"")
            .await;
        assert!(done.starts_with("l0 OK"), "{done}");
        c
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("writer not taken");
        writer.write_all(bytes).await.unwrap();
    }

    /// Takes the write half, e.g. to write from another task.
    pub fn take_writer(&mut self) -> OwnedWriteHalf {
        self.writer.take().expect("writer not taken")
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Reads one response, literals included; `None` at end of stream.
    pub async fn read(&mut self) -> Option<Vec<u8>> {
        tokio::time::timeout(WAIT, self.read_inner())
            .await
            .expect("response in time")
    }

    async fn read_inner(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line).await.ok()?;
            if n == 0 {
                return if out.is_empty() { None } else { Some(out) };
            }
            out.extend_from_slice(&line);
            let trimmed = line.strip_suffix(b"\r\n").unwrap_or(&line);
            let Some(open) = trimmed.iter().rposition(|&b| b == b'{') else {
                return Some(out);
            };
            let Some(len) = trimmed
                .strip_suffix(b"}")
                .and_then(|t| std::str::from_utf8(&t[open + 1..]).ok())
                .and_then(|t| t.parse::<usize>().ok())
            else {
                return Some(out);
            };
            let mut data = vec![0; len];
            self.reader.read_exact(&mut data).await.ok()?;
            out.extend_from_slice(&data);
        }
    }

    /// Reads one response as (lossy) text without the final CRLF.
    pub async fn read_text(&mut self) -> Option<String> {
        self.read()
            .await
            .map(|r| String::from_utf8_lossy(r.strip_suffix(b"\r\n").unwrap_or(&r)).into_owned())
    }

    /// Sends `tag command` and reads until the tagged reply: (untagged responses, tagged
    /// line).
    pub async fn cmd(&mut self, tag: &str, command: &str) -> (Vec<String>, String) {
        self.send(&format!("{tag} {command}")).await;
        self.until_tagged(tag).await
    }

    /// Reads responses until the one tagged `tag`.
    pub async fn until_tagged(&mut self, tag: &str) -> (Vec<String>, String) {
        let mut untagged = Vec::new();
        loop {
            let text = self.read_text().await.expect("connection open");
            if text.starts_with(&format!("{tag} ")) {
                return (untagged, text);
            }
            untagged.push(text);
        }
    }

    /// Like `cmd`, but returns raw responses (for byte-exact checks).
    pub async fn cmd_raw(&mut self, tag: &str, command: &str) -> (Vec<Vec<u8>>, String) {
        self.send(&format!("{tag} {command}")).await;
        let mut untagged = Vec::new();
        loop {
            let raw = self.read().await.expect("connection open");
            if raw.starts_with(format!("{tag} ").as_bytes()) {
                return (
                    untagged,
                    String::from_utf8_lossy(&raw).trim_end().to_string(),
                );
            }
            untagged.push(raw);
        }
    }
}

/// A two-part message with an attached message, CRLF line ends.
pub const MIXED: &[u8] = b"From: Alice Example <alice@example.com>\r\n\
To: Bob <bob@example.org>, carol@example.net\r\n\
Cc: \"Dave, D.\" <dave@example.com>\r\n\
Subject: Quarterly report \"draft\"\r\n\
Date: Tue, 7 Feb 2023 10:00:00 +0100\r\n\
Message-ID: <mixed-1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\
\r\n\
--XYZ\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Numbers are up. Caf\xc3\xa9 budget pending.\r\n\
--XYZ\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: Erin <erin@example.com>\r\n\
Subject: inner note\r\n\
\r\n\
forwarded zebra text\r\n\
--XYZ--\r\n";

/// A plain message with the given subject and body.
pub fn plain(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n\
Date: Mon, 2 Jan 2023 09:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
