//! imap-bench: figures for the IMAP front end on the real store.
//!
//! Builds a throwaway home (SQLite directory and metadata, blob files, tantivy index)
//! under the temp directory, loads one account's Inbox with `--messages` messages,
//! starts the IMAP listener in this process on 127.0.0.1:0 (the production
//! `StoreImapBackend`), then measures over TCP:
//! - SELECT, FETCH 1:* (FLAGS), FETCH 1:* of the header fields a client's first sync
//!   asks for, header SEARCH, flag SEARCH and SORT on the full folder (`--rounds`
//!   times each; min and median);
//! - memory per idle authenticated connection: the process's resident memory before
//!   and after `--idle` clients log in and stay idle, and again with them in IDLE on a
//!   small folder, after a warm-up batch. The clients live in this process too (a bare socket each, no
//!   buffers), so the figure slightly over-counts the server's share.
//!
//! Usage: `cargo run --release -p benches --bin imap-bench -- --messages 10000 --idle 4000`

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use zcs_core::{Attrs, Flags, ItemId, folder};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_server::imap::{ImapBackend, ImapConfig, serve};
use zcs_server::imap_backend::StoreImapBackend;
use zcs_server::indexer::Indexer;
use zcs_store::{Store, StoreConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USER: &str = "bench@bench.test";
const PASSWORD: &str = "bench-password-1";

#[derive(Parser)]
#[command(about = "IMAP front-end benchmark on the real store")]
struct Args {
    /// Messages in the Inbox.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Idle authenticated connections to hold for the memory figure (each uses two
    /// file descriptors in this process).
    #[arg(long, default_value_t = 2_000)]
    idle: usize,
    /// Times each timed command runs.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Concurrent appends while loading.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// A deterministic message of about 1.5 KB.
fn message(i: usize) -> String {
    let body: String = (0..20)
        .map(|l| format!("Line {l} of message {i}: the quick brown fox jumps over it.\r\n"))
        .collect();
    format!(
        "From: \"Sender {s}\" <sender{s}@example.org>\r\nTo: {USER}\r\n\
         Subject: Report {t} number {i}\r\nDate: Mon, 2 Jan 2023 {h:02}:{m:02}:00 +0000\r\n\
         Message-ID: <bench-{i}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        s = i % 211,
        t = i % 97,
        h = (i / 60) % 24,
        m = i % 60
    )
}

/// The resident set size of this process, bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A client that reads whole responses (literals included).
struct Client {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    n: u64,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Result<Client, BoxError> {
        let (r, w) = TcpStream::connect(addr).await?.into_split();
        let mut c = Client {
            r: BufReader::with_capacity(256 * 1024, r),
            w,
            n: 0,
        };
        c.line().await?;
        Ok(c)
    }

    /// One response line with its literals; returns the first line.
    async fn line(&mut self) -> Result<(String, usize), BoxError> {
        let mut first = None;
        let mut bytes = 0;
        loop {
            let mut line = Vec::new();
            let n = self.r.read_until(b'\n', &mut line).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            bytes += n;
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            let literal = text
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok());
            first.get_or_insert(text);
            match literal {
                Some(len) => {
                    let mut buf = vec![0; len];
                    self.r.read_exact(&mut buf).await?;
                    bytes += len;
                }
                None => return Ok((first.unwrap_or_default(), bytes)),
            }
        }
    }

    /// Runs a command; returns the bytes received and the tagged line.
    async fn cmd(&mut self, command: &str) -> Result<(usize, String), BoxError> {
        self.n += 1;
        let tag = format!("b{}", self.n);
        self.w
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await?;
        let mut total = 0;
        loop {
            let (line, bytes) = self.line().await?;
            total += bytes;
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                if !rest.starts_with("OK") {
                    return Err(format!("{command}: {line}").into());
                }
                return Ok((total, line));
            }
        }
    }
}

/// Logs in on a bare socket and returns it, holding no buffer.
async fn idle_login(addr: std::net::SocketAddr, then: &str) -> Result<TcpStream, BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    let script = format!("a LOGIN {USER} {PASSWORD}\r\n{then}");
    s.write_all(script.as_bytes()).await?;
    let want: &[u8] = if then.is_empty() {
        b"a OK"
    } else {
        b"+ idling"
    };
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err("closed during login".into());
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(want.len()).any(|w| w == want) {
            return Ok(s);
        }
        if seen.windows(4).any(|w| w == b"a NO") {
            return Err(String::from_utf8_lossy(&seen).into_owned().into());
        }
    }
}

async fn hold_idle(
    addr: std::net::SocketAddr,
    count: usize,
    then: &str,
) -> Result<Vec<TcpStream>, BoxError> {
    let mut held = Vec::with_capacity(count);
    // A few at a time: logins hash passwords.
    for chunk in 0..count.div_ceil(50) {
        let n = 50.min(count - chunk * 50);
        let mut tasks = Vec::new();
        for _ in 0..n {
            let then = then.to_string();
            tasks.push(tokio::spawn(async move { idle_login(addr, &then).await }));
        }
        for t in tasks {
            held.push(t.await??);
        }
    }
    Ok(held)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("zcs-imap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sql = SqlDirectory::open_sqlite(&dir.join("directory.db")).await?;
    let prov = Arc::new(Provisioning::new(
        Arc::new(sql),
        AuthRegistry::with_builtins(),
    ));
    prov.bootstrap().await?;
    prov.create_domain("bench.test", Attrs::new()).await?;
    let account = prov
        .create_account(USER, Some(PASSWORD), Attrs::new())
        .await?;
    let store = Arc::new(Store::open(StoreConfig::under(dir.join("store"))).await?);
    let index: Arc<dyn IndexBackend> = Arc::new(TantivyIndex::open(&dir.join("index"))?);
    let (indexer, _task) = Indexer::start(store.clone(), index.clone());
    let mb = store.mailbox(account.id).await?;
    let small = mb.create_folder(ItemId(folder::USER_ROOT), "Small").await?;

    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let (mb, n, total) = (mb.clone(), args.concurrency, args.messages);
        tasks.push(tokio::spawn(async move {
            for i in (w..total).step_by(n) {
                let flags = if i % 5 == 0 { Flags::UNREAD } else { 0 };
                let date = 1_600_000_000_000 + i as i64 * 60_000;
                mb.append(
                    ItemId(folder::INBOX),
                    message(i).as_bytes(),
                    Flags(flags),
                    date,
                )
                .await?;
            }
            Ok::<_, zcs_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    for i in 0..10 {
        mb.append(small.id, message(i).as_bytes(), Flags(0), 0)
            .await?;
    }
    println!(
        "loaded {} messages in {:.1} s",
        args.messages,
        t.elapsed().as_secs_f64()
    );

    let backend: Arc<dyn ImapBackend> = Arc::new(StoreImapBackend::new(
        prov.clone(),
        store.clone(),
        index,
        indexer,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let config = ImapConfig {
        max_connections: args.idle + 100,
        max_connections_per_ip: 0,
        max_sessions_per_account: 0,
        auth_failure_delay: Duration::ZERO,
        ..ImapConfig::default()
    };
    tokio::spawn(serve(listener, config, backend, rx));

    let mut c = Client::connect(addr).await?;
    c.cmd(&format!("LOGIN {USER} {PASSWORD}")).await?;
    let header_fetch = "FETCH 1:* (UID RFC822.SIZE FLAGS INTERNALDATE \
        BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID References)])";
    let commands = [
        "SELECT INBOX",
        "FETCH 1:* (FLAGS)",
        header_fetch,
        "UID SEARCH UNSEEN",
        "UID SEARCH SUBJECT \"number 4242\"",
        "UID SORT (DATE) UTF-8 ALL",
        "UID SORT (SUBJECT) UTF-8 ALL",
    ];
    println!("| command | min | median | bytes |");
    println!("|---|---|---|---|");
    for command in commands {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.rounds {
            let t = Instant::now();
            let (n, _) = c.cmd(command).await?;
            times.push(t.elapsed());
            bytes = n;
        }
        times.sort();
        println!(
            "| `{command}` | {:.1} ms | {:.1} ms | {bytes} |",
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
    c.cmd("LOGOUT").await?;

    // Warm-up: the first logins grow pools and caches once (directory connections,
    // runtime workers), which is not per-connection memory.
    drop(hold_idle(addr, 200.min(args.idle), "i SELECT Small\r\nd IDLE\r\n").await?);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = rss();
    let t = Instant::now();
    let held = hold_idle(addr, args.idle, "").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss();
    println!(
        "{} idle authenticated connections (logged in in {:.1} s): RSS {:.1} -> {:.1} MiB, \
         {:.1} KiB per connection",
        held.len(),
        t.elapsed().as_secs_f64(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1024.0 / held.len().max(1) as f64
    );
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let before = rss();
    let held = hold_idle(addr, args.idle, "i SELECT Small\r\nd IDLE\r\n").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss();
    println!(
        "{} connections in IDLE on a 10-message folder: RSS {:.1} -> {:.1} MiB, \
         {:.1} KiB per connection",
        held.len(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1024.0 / held.len().max(1) as f64
    );
    drop(held);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
