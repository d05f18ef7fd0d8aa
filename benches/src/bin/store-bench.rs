//! `store-bench`: the store's own figures, in process, on a store in a temporary
//! directory (SQLite metadata by default, or `--url` for MariaDB/PostgreSQL):
//! - `deliver`: durable delivery (blob fsync, redo fsync, metadata commit) of real
//!   corpus messages of 10-100 KiB, each made unique, from `--conns` concurrent tasks
//!   to four mailboxes — the store part of LMTP delivery, without the protocol or
//!   indexing;
//! - `import`: `-n` messages into one mailbox's Inbox from `-c` concurrent tasks, in
//!   batches of `--batch` through `Mailbox::import_messages` (what `zmmailbox
//!   addMessage` over a directory does), or one `Mailbox::append` each with `--batch 0`
//!   (an IMAP APPEND loop);
//! - `flags`: listing UID, flags, tags and MODSEQ of every message of that folder
//!   (`Mailbox::message_flags`, what IMAP `FETCH 1:* (UID FLAGS)` needs): the first
//!   listing (read from the database), then `--runs` times unchanged (from the store's
//!   listing cache) and `--runs` times after a change (one flag set and one message
//!   appended before each: the cache brought up to date), p50 and p99; then the full
//!   rows (`Mailbox::messages`) for comparison.
//!
//! It touches nothing but its temporary directory (and the database `--url` names).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::{DeliveryTarget, ImportMessage, Store, StoreConfig, StoreOptions};

/// Time the store's delivery, bulk import and flag listing.
#[derive(Parser)]
#[command(name = "store-bench")]
struct Args {
    /// Messages imported into one mailbox (and listed).
    #[arg(short = 'n', long, default_value_t = 100_000)]
    messages: usize,
    /// Concurrent import tasks.
    #[arg(short = 'c', long, default_value_t = 32)]
    concurrency: usize,
    /// Messages per `import_messages` call (0: one `append` per message).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Corpus deliveries (0 skips the delivery phase).
    #[arg(long, default_value_t = 2_000)]
    deliveries: usize,
    /// Concurrent delivery tasks (LMTP connections).
    #[arg(long, default_value_t = 16)]
    conns: usize,
    /// Mailboxes the deliveries go to, round robin (1: every delivery into one mailbox,
    /// as `lmtp-load -r` to one recipient).
    #[arg(long, default_value_t = 4)]
    accounts: usize,
    /// Runs of the flag listing.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// The corpus directory (messages of 10-100 KiB are taken from it).
    #[arg(long, default_value = "/work/shared/corpus")]
    corpus: PathBuf,
    /// Metadata database URL (empty: SQLite in the temporary directory). The database
    /// must exist and be empty.
    #[arg(long, default_value = "")]
    url: String,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Every corpus file of 10-100 KiB that starts like a message.
fn corpus(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p)
                && (10 * 1024..=100 * 1024).contains(&b.len())
                && b.iter().take(200).any(|c| *c == b':')
            {
                out.push(b);
            }
        }
    }
    out.sort();
    out
}

fn synthetic(i: usize) -> Vec<u8> {
    let body = "lorem ipsum dolor sit amet consectetur adipiscing elit ".repeat(30);
    format!(
        "From: sender{}@example.com\r\nTo: user@bench.test\r\nSubject: import {i}\r\n\
         Message-ID: <imp{i}@bench.test>\r\nDate: Sat, 5 Dec 2026 01:00:00 +0000\r\n\r\n{body}\r\n",
        i % 200
    )
    .into_bytes()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dir = tempfile_dir()?;
    let cfg = StoreConfig::under(&dir);
    let store = Store::open_url(&args.url, cfg, StoreOptions::default()).await?;
    println!("store-bench: metadata on {}", store.backend());

    if args.deliveries > 0 {
        let msgs = Arc::new(corpus(&args.corpus));
        if msgs.is_empty() {
            return Err("no corpus message of 10-100 KiB found".into());
        }
        let accounts: Arc<Vec<ZimbraId>> =
            Arc::new((0..args.accounts.max(1)).map(|_| ZimbraId::new()).collect());
        let redo_before = store.redo_stats();
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.conns.max(1) {
            let (store, msgs, accounts, next) =
                (store.clone(), msgs.clone(), accounts.clone(), next.clone());
            let total = args.deliveries;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut bytes = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let mut raw = format!("X-Bench-Seq: {i}\r\n").into_bytes();
                    raw.extend_from_slice(&msgs[i % msgs.len()]);
                    bytes += raw.len();
                    let target = DeliveryTarget {
                        account: accounts[i % accounts.len()],
                        folder: ItemId(folder::INBOX),
                        flags: Flags(Flags::UNREAD),
                        quota: 0,
                    };
                    let t = Instant::now();
                    let res = store.deliver(&[target], &raw, 0).await;
                    lat.push(t.elapsed());
                    if !matches!(res.as_deref(), Ok([Ok(_)])) {
                        eprintln!("delivery {i} failed: {res:?}");
                    }
                }
                (lat, bytes)
            }));
        }
        let mut lat = Vec::new();
        let mut bytes = 0;
        for t in tasks {
            let (l, b) = t.await?;
            lat.extend(l);
            bytes += b;
        }
        let secs = start.elapsed().as_secs_f64();
        lat.sort();
        let redo = store.redo_stats();
        println!(
            "deliver: {} corpus messages ({} distinct, avg {} KiB) over {} tasks into {} \
             mailboxes: {:.1} msg/s, p50 {}, p99 {} ({} redo records, {} redo fsyncs)",
            lat.len(),
            msgs.len(),
            bytes / lat.len().max(1) / 1024,
            args.conns,
            accounts.len(),
            lat.len() as f64 / secs,
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            redo.records - redo_before.records,
            redo.syncs - redo_before.syncs
        );
    }

    let mb = store.mailbox(ZimbraId::new()).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let batch = args.batch;
    for _ in 0..args.concurrency.max(1) {
        let (mb, next) = (mb.clone(), next.clone());
        let total = args.messages;
        tasks.push(tokio::spawn(async move {
            loop {
                let take = batch.max(1);
                let first = next.fetch_add(take, Ordering::Relaxed);
                if first >= total {
                    break;
                }
                let flags = |i: usize| {
                    Flags(if i.is_multiple_of(5) {
                        Flags::UNREAD
                    } else {
                        0
                    })
                };
                let range = first..(first + take).min(total);
                if batch == 0 {
                    let i = first;
                    if let Err(e) = mb
                        .append(ItemId(folder::INBOX), &synthetic(i), flags(i), i as i64)
                        .await
                    {
                        eprintln!("append {i} failed: {e}");
                    }
                    continue;
                }
                let msgs = range
                    .clone()
                    .map(|i| ImportMessage {
                        raw: synthetic(i),
                        flags: flags(i),
                        tags: Vec::new(),
                        internal_date_ms: i as i64,
                    })
                    .collect();
                if let Err(e) = mb.import_messages(ItemId(folder::INBOX), msgs).await {
                    eprintln!("import of {range:?} failed: {e}");
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "import: {} messages into one mailbox, {} tasks, batch {}: {:.1} msg/s ({:.1} s)",
        args.messages,
        args.concurrency,
        args.batch,
        args.messages as f64 / secs,
        secs
    );

    let t = Instant::now();
    let n = mb.message_flags(ItemId(folder::INBOX)).await?.len();
    println!(
        "flags: first listing of {n} messages (read from the database): {}",
        ms(t.elapsed())
    );
    let mut lat = Vec::new();
    let mut n = 0;
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        let entries = mb.message_flags(ItemId(folder::INBOX)).await?;
        let unread = entries
            .iter()
            .filter(|m| m.flags.0 & Flags::UNREAD != 0)
            .count();
        lat.push(t.elapsed());
        std::hint::black_box(unread);
        n = entries.len();
    }
    lat.sort();
    println!(
        "flags unchanged since the last listing: UID, flags, tags and MODSEQ of {n} \
         messages, {} runs: p50 {}, p99 {}",
        lat.len(),
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99))
    );
    // After a change: one flag set and one new message before each listing.
    let mut lat = Vec::new();
    for r in 0..args.runs.max(1) {
        let first = mb.message_flags(ItemId(folder::INBOX)).await?;
        if let Some(e) = first.get(r * 7 % first.len().max(1)) {
            mb.set_flags(&[e.id], Flags::FLAGGED, true).await?;
        }
        let raw = synthetic(args.messages + r);
        mb.append(ItemId(folder::INBOX), &raw, Flags(Flags::UNREAD), 0)
            .await?;
        let t = Instant::now();
        n = mb.message_flags(ItemId(folder::INBOX)).await?.len();
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "flags after a change (one flag set, one message appended before each), {} runs \
         of {n} messages: p50 {}, p99 {}",
        lat.len(),
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99))
    );
    let mut lat = Vec::new();
    for _ in 0..args.runs.clamp(1, 5) {
        let t = Instant::now();
        let flagged = mb
            .messages_with_flags(ItemId(folder::INBOX), Flags::UNREAD, true)
            .await?;
        lat.push(t.elapsed());
        n = flagged.len();
    }
    lat.sort();
    println!(
        "unread: the {n} unread messages (messages_with_flags), {} runs: p50 {}",
        lat.len(),
        ms(pct(&lat, 0.5))
    );
    let mut lat = Vec::new();
    for _ in 0..args.runs.clamp(1, 5) {
        let t = Instant::now();
        n = mb.messages(ItemId(folder::INBOX)).await?.len();
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "rows: full rows of {n} messages (messages), {} runs: p50 {}",
        lat.len(),
        ms(pct(&lat, 0.5))
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A fresh directory under the system temporary directory.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let p = std::env::temp_dir().join(format!(
        "store-bench-{}-{}",
        std::process::id(),
        chrono_like_stamp()
    ));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

fn chrono_like_stamp() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
