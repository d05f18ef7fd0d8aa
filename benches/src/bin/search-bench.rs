//! `search-bench`: builds one mailbox of N synthetic messages (store plus tantivy index,
//! in a temporary directory) and times twenty typical Zimbra queries through the search
//! evaluator (`zcs_server::search`), printing p50/p99 per query. It also prints the time
//! of the index part alone, to tell index cost from metadata cost, the time of the
//! first (cold) search that reads the mailbox's metadata, and the index size against
//! the blob bytes.
//!
//! With `--export DIR` it also writes the same messages as a Maildir (`DIR/cur`, with
//! the flags the store got) and the queries as IMAP SEARCH keys (`DIR/queries.tsv`),
//! for `benches/dovecot/compare.sh`; `--export-only` writes them and stops.
//!
//! It touches nothing but its own temporary directory (and `--export`'s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_index::{IndexBackend, IndexOptions, TantivyIndex, document_from_message, query};
use zcs_server::search::{SearchParams, search};
use zcs_store::{Store, StoreConfig};

/// Time typical queries over one mailbox of synthetic mail.
#[derive(Parser)]
#[command(name = "search-bench")]
struct Args {
    /// Messages in the mailbox.
    #[arg(short = 'n', long, default_value_t = 10_000)]
    messages: usize,
    /// Runs of each query.
    #[arg(short = 'r', long, default_value_t = 50)]
    runs: usize,
    /// Concurrent appends while loading.
    #[arg(short = 'c', long, default_value_t = 32)]
    concurrency: usize,
    /// Also write the messages as a Maildir and the queries as IMAP SEARCH keys here.
    #[arg(long)]
    export: Option<std::path::PathBuf>,
    /// With `--export`: write the Maildir and stop (no store, index or timings), for
    /// `benches/dovecot/compare.sh`, whose servers load the messages themselves.
    #[arg(long)]
    export_only: bool,
}

/// The queries timed: Zimbra query text and the nearest IMAP SEARCH (RFC 9051 §6.4.4)
/// for the Dovecot comparison (`-` when IMAP has no equivalent).
const QUERIES: [(&str, &str); 20] = [
    ("budget", "TEXT budget"),
    ("\"quarterly numbers\"", "BODY \"quarterly numbers\""),
    ("from:user17", "FROM user17@"),
    ("from:corp3.example", "FROM corp3.example"),
    ("in:inbox is:unread", "UNSEEN"),
    (
        "after:09/20/2020 before:10/20/2020",
        "SINCE 21-Sep-2020 BEFORE 20-Oct-2020",
    ),
    (
        "budget meeting -travel",
        "TEXT budget TEXT meeting NOT TEXT travel",
    ),
    ("subject:roadmap", "SUBJECT roadmap"),
    ("is:flagged in:work", "FLAGGED"),
    ("w1234 OR w4321", "OR TEXT w1234 TEXT w4321"),
    ("budg*", "-"),
    (
        "budget in:inbox is:unread sort:subjAsc",
        "UNSEEN TEXT budget",
    ),
    ("budget sort:dateAsc", "TEXT budget"),
    ("from:user17 budget", "FROM user17@ TEXT budget"),
    ("subject:\"roadmap review\"", "SUBJECT \"roadmap review\""),
    ("larger:2kb", "LARGER 2048"),
    ("in:work budget", "TEXT budget"),
    ("is:unread sort:sizeDesc", "UNSEEN"),
    (
        "before:01/01/2021 meeting",
        "BEFORE 1-Jan-2021 TEXT meeting",
    ),
    (
        "\"quarterly numbers\" OR w77",
        "OR BODY \"quarterly numbers\" TEXT w77",
    ),
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WORDS: &[&str] = &[
    "budget",
    "meeting",
    "schedule",
    "project",
    "release",
    "invoice",
    "travel",
    "review",
    "design",
    "server",
    "customer",
    "contract",
    "quarter",
    "report",
    "launch",
    "support",
    "holiday",
    "training",
    "network",
    "backup",
    "security",
    "policy",
    "update",
    "draft",
    "planning",
    "hiring",
    "office",
    "lunch",
    "deadline",
    "feedback",
    "roadmap",
    "migration",
];

fn filler(rng: &mut StdRng, n: usize) -> String {
    // A long tail of rarer words beside the common ones, as real mail has.
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

fn message(rng: &mut StdRng, i: usize) -> String {
    let from = rng.gen_range(0..200);
    let subject = filler(rng, 4);
    let len = rng.gen_range(50..400);
    let body = filler(rng, len);
    let phrase = if i.is_multiple_of(50) {
        "the quarterly numbers look fine. "
    } else {
        ""
    };
    format!(
        "From: User {from} <user{from}@corp{}.example>\r\nTo: me@bench.test\r\n\
         Subject: {subject}\r\nMessage-ID: <m{i}@bench.test>\r\n\r\n{phrase}{body}\r\n",
        from % 7
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Bytes of the files directly in `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Writes the messages as a Maildir (`out/cur`, `out/new`, `out/tmp`; file names carry
/// the IMAP flags and the date as mtime is left to the loader) and `out/queries.tsv`.
fn export(out: &std::path::Path, raws: &[(String, u32, ItemId, i64)]) -> Result<(), BoxError> {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(out.join(sub))?;
    }
    for (i, (raw, flags, folder, date)) in raws.iter().enumerate() {
        let mut f = String::new();
        if flags & Flags::FLAGGED != 0 {
            f.push('F');
        }
        if flags & Flags::UNREAD == 0 {
            f.push('S');
        }
        // The folder rides in the name so a loader can file Work messages apart.
        let box_name = if folder.0 == folder::INBOX {
            "inbox"
        } else {
            "work"
        };
        let name = format!("{}.M{i}.{box_name}:2,{f}", date / 1000);
        std::fs::write(out.join("cur").join(name), raw)?;
    }
    let mut tsv = String::new();
    for (z, imap) in QUERIES {
        tsv.push_str(&format!("{z}\t{imap}\n"));
    }
    std::fs::write(out.join("queries.tsv"), tsv)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("zcs-search-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Arc::new(Store::open(StoreConfig::under(&dir)).await?);
    let index = Arc::new(TantivyIndex::open_with(
        &dir.join("index"),
        IndexOptions::default(),
    )?);
    let dyn_index: Arc<dyn IndexBackend> = index.clone();
    let mb = store.mailbox(ZimbraId::new()).await?;
    let work = mb.create_folder(ItemId(folder::USER_ROOT), "Work").await?;

    // Load: concurrent appends (the store's group commit shares fsyncs), then the index
    // in batches with one commit at the end.
    let start_ms: i64 = 1_600_000_000_000;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let mut raws = Vec::with_capacity(args.messages);
    for i in 0..args.messages {
        let flags = if rng.gen_bool(0.2) { Flags::UNREAD } else { 0 }
            | if rng.gen_bool(0.05) {
                Flags::FLAGGED
            } else {
                0
            };
        let folder = if rng.gen_bool(0.8) {
            ItemId(folder::INBOX)
        } else {
            work.id
        };
        let date = start_ms + (i as i64) * 3_600_000;
        raws.push((message(&mut rng, i), flags, folder, date));
    }
    if let (Some(out), true) = (&args.export, args.export_only) {
        export(out, &raws)?;
        println!("exported a Maildir and queries.tsv to {}", out.display());
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let raws = Arc::new(raws);
    let raws_kept = raws.clone();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let (mb, raws, n) = (mb.clone(), raws.clone(), args.concurrency);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for (raw, flags, folder, date) in raws.iter().skip(w).step_by(n) {
                let m = mb
                    .append(*folder, raw.as_bytes(), Flags(*flags), *date)
                    .await?;
                out.push((m.id, raw.clone(), *date));
            }
            Ok::<_, zcs_store::StoreError>(out)
        }));
    }
    let mut appended = Vec::new();
    for task in tasks {
        appended.extend(task.await??);
    }
    let store_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let idx = dyn_index.clone();
    let id = mb.id();
    tokio::task::spawn_blocking(move || -> Result<(), zcs_index::IndexError> {
        for chunk in appended.chunks(1000) {
            let docs = chunk
                .iter()
                .map(|(item, raw, date)| {
                    let mut d = document_from_message(*item, raw.as_bytes());
                    d.date_ms = *date;
                    d
                })
                .collect();
            idx.index(id, docs)?;
        }
        idx.commit()
    })
    .await??;
    let index_secs = t.elapsed().as_secs_f64();
    println!(
        "loaded {} messages: store {:.1} s ({:.0} msg/s), index {:.1} s ({:.0} msg/s)",
        args.messages,
        store_secs,
        args.messages as f64 / store_secs,
        index_secs,
        args.messages as f64 / index_secs
    );

    let raws = raws_kept;
    let index_bytes = dir_bytes(&dir.join("index"));
    let blob_bytes: u64 = raws.iter().map(|(raw, ..)| raw.len() as u64).sum();
    println!(
        "index {:.1} MB for {:.1} MB of messages ({:.1}%)",
        index_bytes as f64 / 1e6,
        blob_bytes as f64 / 1e6,
        100.0 * index_bytes as f64 / blob_bytes as f64
    );
    if let Some(out) = &args.export {
        export(out, &raws)?;
        println!("exported a Maildir and queries.tsv to {}", out.display());
    }

    let params = SearchParams {
        limit: 100,
        my_addresses: vec!["me@bench.test".into()],
        ..SearchParams::default()
    };
    // The first search reads the mailbox's metadata into the snapshot every later search
    // of the same change number reuses; timed apart, as it is paid once per change.
    let t = Instant::now();
    search(&mb, &dyn_index, &query::parse("in:inbox")?, &params).await?;
    println!(
        "cold first search (metadata snapshot read): {}",
        ms(t.elapsed())
    );
    println!(
        "| query | hits | p50 | p99 | index-only p50 | index-only p99 |\n|---|---|---|---|---|---|"
    );
    for (text, _) in QUERIES {
        let q = query::parse(text)?;
        let mut full = Vec::with_capacity(args.runs);
        let mut hits = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            let r = search(&mb, &dyn_index, &q, &params).await?;
            full.push(t.elapsed());
            hits = r.total;
        }
        let mut only = Vec::with_capacity(args.runs);
        let plan = query::plan(&q);
        for _ in 0..args.runs {
            let t = Instant::now();
            for iq in plan.index_queries() {
                index.matching_items(mb.id(), iq)?;
            }
            only.push(t.elapsed());
        }
        full.sort();
        only.sort();
        println!(
            "| `{text}` | {hits} | {} | {} | {} | {} |",
            ms(percentile(&full, 0.5)),
            ms(percentile(&full, 0.99)),
            ms(percentile(&only, 0.5)),
            ms(percentile(&only, 0.99)),
        );
    }

    // A change (one new message, one flag) makes the next search bring the snapshot up
    // to date; timed over a few rounds.
    let mut after = Vec::new();
    let q = query::parse("budget")?;
    for i in 0..10 {
        let m = mb
            .append(
                ItemId(folder::INBOX),
                message(&mut rng, args.messages + i).as_bytes(),
                Flags(0),
                start_ms,
            )
            .await?;
        mb.set_flags(&[m.id], Flags::FLAGGED, true).await?;
        let t = Instant::now();
        search(&mb, &dyn_index, &q, &params).await?;
        after.push(t.elapsed());
    }
    after.sort();
    println!(
        "first search after a change (new message + flag; snapshot refreshed): p50 {}, max {}",
        ms(percentile(&after, 0.5)),
        ms(percentile(&after, 1.0))
    );

    store.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
