//! imap-bench: figures for the IMAP front end on the real store.
//!
//! Builds a throwaway home (SQLite directory and metadata, blob files, tantivy index)
//! under the temp directory, loads one account's Inbox with `--messages` messages,
//! starts the IMAP listener in this process on 127.0.0.1:0 (the production
//! `StoreImapBackend`), then measures over TCP:
//! - SELECT, FETCH 1:* (FLAGS), FETCH 1:* of the header fields a client's first sync
//!   asks for, header SEARCH, flag SEARCH and SORT on the full folder (`--rounds`
//!   times each; first run, min and median: the first run of a header command is the
//!   cold one, later ones are answered from the front end's summary cache);
//! - memory per idle authenticated connection: the server process's resident memory
//!   before and after `--idle` clients log in and stay idle, and again with them in
//!   IDLE on a small folder, after a warm-up batch. The clients run in a child process
//!   (this program again, with `--hold`), so the server has the whole descriptor limit
//!   for its sockets and the figure is the server's alone;
//! - with `--mixed N`, N clients each running a realistic mix for `--mixed-secs`
//!   (SELECT, FETCH 1:* (FLAGS), FETCH BODY[] of one message, STORE, SEARCH, APPEND,
//!   IDLE): throughput and p50/p99 per command. `--target host:port` runs only this
//!   mix against another server (e.g. Dovecot) holding the same account.
//!
//! Usage: `cargo run --release -p benches --bin imap-bench -- --messages 10000 --idle 10000
//! --mixed 100`

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

mod idle;
mod mixed;

use idle::{Wake, hold_in_child, idle_rounds, probe_wakes};
use mixed::mixed;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USER: &str = "bench@bench.test";
const PASSWORD: &str = "bench-password-1";
/// A second account, whose one IDLE session times wake-ups beside the held ones.
const PROBE: &str = "probe@bench.test";

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
    /// Clients of the mixed workload (0: not run).
    #[arg(long, default_value_t = 0)]
    mixed: usize,
    /// How long the mixed workload runs, seconds.
    #[arg(long, default_value_t = 20)]
    mixed_secs: u64,
    /// Run only the mixed workload, against this server (`host:port`), logging in as
    /// `--user`/`--password` (its INBOX should hold the bench messages).
    #[arg(long)]
    target: Option<std::net::SocketAddr>,
    #[arg(long, default_value = USER)]
    user: String,
    #[arg(long, default_value = PASSWORD)]
    password: String,
    /// Internal: be the client process holding `--hold` idle connections to `--target`
    /// (after sending `--then`), until stdin closes.
    #[arg(long, hide = true)]
    hold: Option<usize>,
    #[arg(long, hide = true, default_value = "")]
    then: String,
    /// Skip the second memory round (`--idle` clients in IDLE on a small folder).
    #[arg(long)]
    no_idle_round: bool,
    /// Skip the first memory round (`--idle` clients logged in, nothing selected).
    #[arg(long)]
    no_login_round: bool,
}

/// Raises this process's open-file limit to its hard limit (and the hard limit to
/// 65,536 when allowed), so `--idle` connections fit; returns the soft limit in force.
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let want = lim.rlim_max.max(65_536);
        let wider = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wider) == 0 {
            return want;
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
            return lim.rlim_cur;
        }
        let _ = libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
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

    /// Runs a command; returns the bytes received, the tagged line and the number of
    /// the first `* <n> EXISTS` seen (0 if none).
    async fn cmd_first(&mut self, command: &str) -> Result<(usize, String, u64), BoxError> {
        self.n += 1;
        let tag = format!("b{}", self.n);
        self.w
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await?;
        let (mut total, mut exists) = (0, 0);
        loop {
            let (line, bytes) = self.line().await?;
            total += bytes;
            if let Some(n) = line
                .strip_prefix("* ")
                .and_then(|l| l.strip_suffix(" EXISTS"))
                .and_then(|n| n.parse().ok())
            {
                exists = n;
            }
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                if !rest.starts_with("OK") {
                    return Err(format!("{command}: {line}").into());
                }
                return Ok((total, line, exists));
            }
        }
    }

    /// APPEND with a synchronising literal (every server has those).
    async fn append(&mut self, mailbox: &str, msg: &[u8]) -> Result<(), BoxError> {
        self.n += 1;
        let tag = format!("b{}", self.n);
        self.w
            .write_all(format!("{tag} APPEND {mailbox} {{{}}}\r\n", msg.len()).as_bytes())
            .await?;
        let (line, _) = self.line().await?;
        if !line.starts_with('+') {
            return Err(format!("APPEND: {line}").into());
        }
        self.w.write_all(msg).await?;
        self.w.write_all(b"\r\n").await?;
        loop {
            let (line, _) = self.line().await?;
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                if !rest.starts_with("OK") {
                    return Err(format!("APPEND: {line}").into());
                }
                return Ok(());
            }
        }
    }

    /// IDLE for `wait`, then DONE (RFC 2177).
    async fn idle(&mut self, wait: Duration) -> Result<(), BoxError> {
        self.n += 1;
        let tag = format!("b{}", self.n);
        self.w
            .write_all(format!("{tag} IDLE\r\n").as_bytes())
            .await?;
        loop {
            let (line, _) = self.line().await?;
            if line.starts_with('+') {
                break;
            }
        }
        tokio::time::sleep(wait).await;
        self.w.write_all(b"DONE\r\n").await?;
        loop {
            let (line, _) = self.line().await?;
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                if !rest.starts_with("OK") {
                    return Err(format!("IDLE: {line}").into());
                }
                return Ok(());
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let nofile = raise_nofile();
    if let (Some(count), Some(addr)) = (args.hold, args.target) {
        return hold_in_child(addr, count, &args.then).await;
    }
    if let Some(addr) = args.target {
        return mixed(
            addr,
            args.mixed.max(1),
            args.mixed_secs,
            &args.user,
            &args.password,
        )
        .await;
    }
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
    let probe = prov
        .create_account(PROBE, Some(PASSWORD), Attrs::new())
        .await?;
    let wake = Wake {
        mb: mb.clone(),
        small: small.id,
        account: account.id,
        probe_mb: store.mailbox(probe.id).await?,
        probe_account: probe.id,
    };

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
        "FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
        "UID SEARCH UNSEEN",
        "UID SEARCH SUBJECT \"number 4242\"",
        "UID SORT (DATE) UTF-8 ALL",
        "UID SORT (SUBJECT) UTF-8 ALL",
    ];
    println!("| command | first | min | median | bytes |");
    println!("|---|---|---|---|---|");
    for command in commands {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.rounds {
            let t = Instant::now();
            let (n, _) = c.cmd(command).await?;
            times.push(t.elapsed());
            bytes = n;
        }
        let first = times[0];
        times.sort();
        println!(
            "| `{command}` | {:.1} ms | {:.1} ms | {:.1} ms | {bytes} |",
            ms(first),
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
    c.cmd("LOGOUT").await?;
    println!("open-file limit of the bench process: {nofile}");

    let quiet = probe_wakes(addr, &wake, 10).await?;
    println!(
        "IDLE wake of a probe session, no other connection: {}",
        summary(quiet)
    );
    if args.idle > 0 {
        idle_rounds(
            addr,
            args.idle,
            (!args.no_login_round, !args.no_idle_round),
            &wake,
        )
        .await?;
    }
    if args.mixed > 0 {
        mixed(addr, args.mixed, args.mixed_secs, USER, PASSWORD).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// "min / median / max" of some latencies, in milliseconds.
fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) => format!(
            "min {:.2} ms, median {:.2} ms, max {:.2} ms over {}",
            ms(*lo),
            ms(v[v.len() / 2]),
            ms(*hi),
            v.len()
        ),
        _ => "no samples".into(),
    }
}
