//! `soap-bench`: the SOAP/JSON API under load (issue 8's benchmark targets).
//!
//! It makes a private zcs home in a temporary directory with the real tools
//! (`zcs-server init`, `zmprov`), fills one account's mailbox with N synthetic messages
//! straight through the store's bulk import while the server is down (and indexes them,
//! as the server's indexer would), starts the server with `zmcontrol start` on free
//! loopback ports, then measures over plain HTTP/1.1 keep-alive connections:
//!
//! 1. the web client's first screen, `AuthRequest` + `GetInfoRequest` +
//!    `SearchRequest limit=25`, one after the other on one connection, N runs: p50/p99
//!    of each request and of the three together;
//! 2. a mixed load sent open-loop at a fixed rate over several connections (searches,
//!    GetMsg, GetInfo, GetFolder, MsgAction, NoOp), latency counted from each request's
//!    scheduled time so a stalled server cannot hide its queue: achieved rate, p50/p99
//!    overall and per request.
//!
//! It touches nothing but its own home and the loopback ports it picked, and stops its
//! server at the end (`zmcontrol stop`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use zcs_core::{Flags, ItemId, folder};
use zcs_server::home::Home;
use zcs_store::ImportMessage;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USER: &str = "soapbench@bench.test";
const PASSWORD: &str = "soap-bench-pw-1";

/// Time the SOAP API: first screen and a mixed load.
#[derive(Parser)]
#[command(name = "soap-bench")]
struct Args {
    /// Messages in the account's mailbox.
    #[arg(short = 'n', long, default_value_t = 100_000)]
    messages: usize,
    /// Runs of the first-screen sequence.
    #[arg(long, default_value_t = 300)]
    runs: usize,
    /// Requests per second of the mixed load.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Seconds of mixed load.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Connections of the mixed load.
    #[arg(short = 'c', long, default_value_t = 16)]
    connections: usize,
    /// Directory of the zcs binaries (default: this program's own directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Keep the home afterwards (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Reuse a home an earlier run kept (`--keep`) instead of making and filling one;
    /// it is kept again afterwards.
    #[arg(long)]
    home: Option<PathBuf>,
    /// Rounds of the in-process search timing (0 skips it): with the server down, the
    /// search evaluator is called directly, after a flag change and with nothing
    /// changed, to time the search path without HTTP or SOAP.
    #[arg(long, default_value_t = 100)]
    direct: usize,
}

/// Where a kept home records the HTTP port it was given.
const PORT_FILE: &str = "soap-bench.port";

fn free_port() -> Result<u16, BoxError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Runs one zcs tool in `home`; its stdout, or an error with its stderr.
fn tool(bins: &Path, home: &Path, name: &str, args: &[&str]) -> Result<String, BoxError> {
    let out = Command::new(bins.join(name))
        .args(args)
        .env("ZCS_HOME", home)
        .env_remove("RUST_LOG")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{name} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A home with private ports and one account; returns the HTTP port.
fn make_home(bins: &Path, home: &Path) -> Result<u16, BoxError> {
    tool(bins, home, "zcs-server", &["init"])?;
    tool(bins, home, "zmschedulebackup", &["-F"])?;
    let (sub, smtps) = (free_port()?, free_port()?);
    tool(
        bins,
        home,
        "zmlocalconfig",
        &[
            "-e",
            "zcs_bind_address=127.0.0.1",
            &format!("zcs_smtp_submission_port={sub}"),
            &format!("zcs_smtps_port={smtps}"),
        ],
    )?;
    let host = tool(
        bins,
        home,
        "zmlocalconfig",
        &["-m", "nokey", "zimbra_server_hostname"],
    )?;
    let http = free_port()?;
    let mut args = vec!["ms".to_string(), host.trim().to_string()];
    for attr in [
        "zimbraSmtpPort",
        "zimbraLmtpBindPort",
        "zimbraImapBindPort",
        "zimbraPop3BindPort",
        "zimbraImapSSLBindPort",
        "zimbraPop3SSLBindPort",
        "zimbraMailSSLPort",
        "zimbraAdminPort",
    ] {
        args.push(attr.into());
        args.push(free_port()?.to_string());
    }
    args.push("zimbraMailPort".into());
    args.push(http.to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    tool(bins, home, "zmprov", &refs)?;
    tool(bins, home, "zmprov", &["cd", "bench.test"])?;
    tool(bins, home, "zmprov", &["ca", USER, PASSWORD])?;
    std::fs::write(home.join(PORT_FILE), http.to_string())?;
    Ok(http)
}

fn filler(rng: &mut StdRng, n: usize) -> String {
    const WORDS: [&str; 16] = [
        "budget", "meeting", "travel", "report", "roadmap", "review", "team", "plan", "numbers",
        "launch", "invoice", "summary", "draft", "notes", "schedule", "update",
    ];
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.3) {
                format!("w{}", rng.gen_range(0..20_000))
            } else {
                WORDS[rng.gen_range(0..WORDS.len())].to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn message(rng: &mut StdRng, i: usize) -> Vec<u8> {
    let from = rng.gen_range(0..200);
    let subject = filler(rng, 4);
    let len = rng.gen_range(50..400);
    let body = filler(rng, len);
    format!(
        "From: User {from} <user{from}@corp{}.example>\r\nTo: {USER}\r\n\
         Subject: {subject}\r\nMessage-ID: <s{i}@bench.test>\r\n\r\n{body}\r\n",
        from % 7
    )
    .into_bytes()
}

/// Fills the account's mailbox through the store (server down) and indexes it.
async fn fill(home: &Path, n: usize) -> Result<(), BoxError> {
    let subs = zcs_server::server::open(&Home::at(home)).await?;
    let account = subs.prov.get_account(USER).await?;
    let mb = subs.store.mailbox(account.id).await?;
    let mut rng = StdRng::seed_from_u64(11);
    let t = Instant::now();
    let start_ms: i64 = 1_600_000_000_000;
    let mut done = 0;
    while done < n {
        let batch: Vec<ImportMessage> = (done..n.min(done + 2_000))
            .map(|i| ImportMessage {
                raw: message(&mut rng, i),
                flags: Flags(if rng.gen_bool(0.2) { Flags::UNREAD } else { 0 }),
                tags: Vec::new(),
                internal_date_ms: start_ms + i as i64 * 60_000,
            })
            .collect();
        done += batch.len();
        mb.import_messages(ItemId(folder::INBOX), batch).await?;
    }
    let stored = t.elapsed();
    let t = Instant::now();
    let (indexer, task) = zcs_server::indexer::Indexer::start(subs.store.clone(), subs.index);
    indexer.notify(account.id);
    while !mb.unindexed(1).await?.is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(indexer);
    task.join(Duration::from_secs(60)).await;
    println!(
        "filled {n} messages: store {:.1} s, index {:.1} s",
        stored.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The search evaluator called in-process (server down), `rounds` times each: a search
/// right after a flag change (the snapshot brought forward), the same search with
/// nothing changed (the cached snapshot), and the flag change itself.
async fn direct(home: &Path, rounds: usize) -> Result<(), BoxError> {
    use zcs_server::search::{SearchParams, search_text};
    let subs = zcs_server::server::open(&Home::at(home)).await?;
    let account = subs.prov.get_account(USER).await?;
    let mb = subs.store.mailbox(account.id).await?;
    let params = SearchParams {
        limit: 25,
        ..SearchParams::default()
    };
    let first = search_text(&mb, &subs.index, "in:inbox", &params).await?;
    let ids: Vec<ItemId> = first.hits.iter().map(|m| m.id).collect();
    if ids.is_empty() {
        return Err("the direct search found no messages".into());
    }
    let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (i, query) in ["in:inbox", "is:unread", "budget"]
        .iter()
        .cycle()
        .take(rounds * 3)
        .enumerate()
    {
        let id = ids[i % ids.len()];
        let t = Instant::now();
        mb.set_flags(&[id], Flags::UNREAD, i % 2 == 0).await?;
        times.entry("flag change").or_default().push(t.elapsed());
        let t = Instant::now();
        search_text(&mb, &subs.index, query, &params).await?;
        let label = match *query {
            "in:inbox" => "in:inbox after a change",
            "is:unread" => "is:unread after a change",
            _ => "budget after a change",
        };
        times.entry(label).or_default().push(t.elapsed());
        let t = Instant::now();
        search_text(&mb, &subs.index, query, &params).await?;
        let label = match *query {
            "in:inbox" => "in:inbox unchanged",
            "is:unread" => "is:unread unchanged",
            _ => "budget unchanged",
        };
        times.entry(label).or_default().push(t.elapsed());
    }
    // Leave the flags as the fill made them for the HTTP runs.
    for &id in &ids {
        mb.set_flags(&[id], Flags::UNREAD, false).await?;
    }
    println!("\nIn-process search, {rounds} rounds per query, limit 25:\n");
    println!("| step | n | p50 | p99 | max |\n|---|---|---|---|---|");
    for (k, v) in times {
        row(k, v);
    }
    subs.store.close().await;
    Ok(())
}

/// One keep-alive HTTP/1.1 connection posting JSON envelopes.
struct Conn {
    io: BufReader<TcpStream>,
    token: String,
}

impl Conn {
    async fn open(port: u16) -> Result<Conn, BoxError> {
        let s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            io: BufReader::new(s),
            token: String::new(),
        })
    }

    /// Posts `name` with `body` (JSON members of the request element); returns the
    /// HTTP status and the response body.
    async fn call(&mut self, name: &str, ns: &str, body: &str) -> Result<(u16, String), BoxError> {
        let ctx = if self.token.is_empty() {
            String::from(r#"{"_jsns":"urn:zimbra"}"#)
        } else {
            format!(
                r#"{{"_jsns":"urn:zimbra","authToken":{{"_content":"{}"}}}}"#,
                self.token
            )
        };
        let sep = if body.is_empty() { "" } else { "," };
        let doc = format!(
            r#"{{"Header":{{"context":{ctx}}},"Body":{{"{name}":{{"_jsns":"{ns}"{sep}{body}}}}}}}"#
        );
        let req = format!(
            "POST /service/soap HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{doc}",
            doc.len()
        );
        self.io.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                return Err("connection closed in headers".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse::<usize>().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.to_ascii_lowercase().contains("chunked");
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.io.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                self.io.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..size]);
            }
        } else {
            let mut buf = vec![0; length.unwrap_or(0)];
            self.io.read_exact(&mut buf).await?;
            out = buf;
        }
        Ok((status, String::from_utf8_lossy(&out).into_owned()))
    }

    async fn auth(&mut self) -> Result<(), BoxError> {
        self.token.clear();
        let body =
            format!(r#""account":{{"by":"name","_content":"{USER}"}},"password":"{PASSWORD}""#);
        let (status, text) = self.call("AuthRequest", "urn:zimbraAccount", &body).await?;
        let key = r#""authToken":[{"_content":""#;
        let at = text
            .find(key)
            .filter(|_| status == 200)
            .ok_or_else(|| format!("auth failed: {status} {text}"))?;
        let rest = &text[at + key.len()..];
        self.token = rest[..rest.find('"').unwrap_or(rest.len())].to_string();
        Ok(())
    }
}

/// The message ids a SearchResponse names.
fn message_ids(text: &str) -> Vec<u64> {
    text.match_indices(r#""id":""#)
        .filter_map(|(i, m)| {
            let rest = &text[i + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn row(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
        times.len(),
        pct(&times, 0.5),
        pct(&times, 0.99),
        pct(&times, 1.0)
    );
}

const SEARCH: &str =
    r#""query":"in:inbox","types":"message","limit":25,"sortBy":"dateDesc","fetch":"0""#;

async fn first_screen(port: u16, runs: usize) -> Result<Vec<u64>, BoxError> {
    let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut ids = Vec::new();
    let mut conn = Conn::open(port).await?;
    for _ in 0..runs {
        let t0 = Instant::now();
        conn.auth().await?;
        let t1 = Instant::now();
        let (s, _) = conn.call("GetInfoRequest", "urn:zimbraAccount", "").await?;
        let t2 = Instant::now();
        let (s2, text) = conn.call("SearchRequest", "urn:zimbraMail", SEARCH).await?;
        let t3 = Instant::now();
        if s != 200 || s2 != 200 {
            return Err(format!("first screen failed: {s} {s2}").into());
        }
        if ids.is_empty() {
            ids = message_ids(&text);
        }
        times.entry("AuthRequest").or_default().push(t1 - t0);
        times.entry("GetInfoRequest").or_default().push(t2 - t1);
        times
            .entry("SearchRequest limit=25")
            .or_default()
            .push(t3 - t2);
        times.entry("all three").or_default().push(t3 - t0);
    }
    println!("\nFirst screen, {runs} runs on one connection:\n");
    println!("| request | n | p50 | p99 | max |\n|---|---|---|---|---|");
    for (k, v) in times {
        row(k, v);
    }
    Ok(ids)
}

const QUERIES: [&str; 6] = [
    "budget",
    "from:user17",
    "subject:roadmap",
    "is:unread",
    "budget meeting -travel",
    "in:inbox",
];

/// One request of the mix, by a die roll: its label and the call.
fn pick(rng: &mut StdRng, ids: &[u64]) -> (&'static str, &'static str, &'static str, String) {
    let id = ids[rng.gen_range(0..ids.len())];
    match rng.gen_range(0..100) {
        0..35 => {
            let q = QUERIES[rng.gen_range(0..QUERIES.len())];
            let body = format!(r#""query":"{q}","types":"message","limit":25"#);
            ("Search", "SearchRequest", "urn:zimbraMail", body)
        }
        35..60 => (
            "GetMsg",
            "GetMsgRequest",
            "urn:zimbraMail",
            format!(r#""m":{{"id":"{id}"}}"#),
        ),
        60..70 => (
            "GetInfo",
            "GetInfoRequest",
            "urn:zimbraAccount",
            String::new(),
        ),
        70..80 => (
            "GetFolder",
            "GetFolderRequest",
            "urn:zimbraMail",
            String::new(),
        ),
        80..90 => {
            let op = if rng.gen_bool(0.5) { "read" } else { "!read" };
            let body = format!(r#""action":{{"op":"{op}","id":"{id}"}}"#);
            ("MsgAction", "MsgActionRequest", "urn:zimbraMail", body)
        }
        _ => ("NoOp", "NoOpRequest", "urn:zimbraMail", String::new()),
    }
}

async fn mixed(args: &Args, port: u16, ids: Arc<Vec<u64>>) -> Result<(), BoxError> {
    let per_conn = f64::from(args.rate) / args.connections as f64;
    let interval = Duration::from_secs_f64(1.0 / per_conn);
    let total = Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await?;
            conn.auth().await?;
            let mut rng = StdRng::seed_from_u64(100 + c as u64);
            let mut out: Vec<(&'static str, Duration, bool)> = Vec::new();
            // Staggered starts so the connections do not send in lockstep.
            let start = Instant::now() + interval.mul_f64(c as f64 / 16.0);
            let mut k = 0u32;
            loop {
                let due = start + interval * k;
                if due.duration_since(start) >= total {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let (label, name, ns, body) = pick(&mut rng, &ids);
                let (status, _) = conn.call(name, ns, &body).await?;
                out.push((label, due.elapsed(), status == 200));
                k += 1;
            }
            Ok::<_, BoxError>(out)
        }));
    }
    let t = Instant::now();
    let mut all: Vec<(&'static str, Duration, bool)> = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let secs = t.elapsed().as_secs_f64();
    let failed = all.iter().filter(|(_, _, ok)| !ok).count();
    println!(
        "\nMixed load: {} requests in {secs:.1} s over {} connections, offered {} req/s, \
         achieved {:.0} req/s, {failed} faults:\n",
        all.len(),
        args.connections,
        args.rate,
        all.len() as f64 / secs
    );
    println!("| request | n | p50 | p99 | max |\n|---|---|---|---|---|");
    row("all", all.iter().map(|(_, d, _)| *d).collect());
    let mut by: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (label, d, _) in all {
        by.entry(label).or_default().push(d);
    }
    for (k, v) in by {
        row(k, v);
    }
    Ok(())
}

async fn wait_port(port: u16) -> Result<(), BoxError> {
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("server did not open its HTTP port".into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let bins = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .ok_or("no binary directory")?
            .to_path_buf(),
    };
    let (home, port, keep) = match &args.home {
        Some(h) => {
            let port = std::fs::read_to_string(h.join(PORT_FILE))?.trim().parse()?;
            (h.clone(), port, true)
        }
        None => {
            let home = std::env::temp_dir().join(format!("zcs-soap-bench-{}", std::process::id()));
            let port = make_home(&bins, &home)?;
            fill(&home, args.messages).await?;
            (home, port, args.keep)
        }
    };
    if args.direct > 0 {
        direct(&home, args.direct).await?;
    }
    tool(&bins, &home, "zmcontrol", &["start"])?;
    let result = async {
        wait_port(port).await?;
        // Let the start-up reconcile and caches settle before timing.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ids = first_screen(port, args.runs).await?;
        if ids.is_empty() {
            return Err::<(), BoxError>("the search found no messages".into());
        }
        mixed(&args, port, Arc::new(ids)).await
    }
    .await;
    let stopped = tool(&bins, &home, "zmcontrol", &["stop"]);
    if keep {
        println!("home kept at {}", home.display());
    } else {
        let _ = std::fs::remove_dir_all(&home);
    }
    result?;
    stopped?;
    Ok(())
}
