//! `directory-bench`: the directory figures issue 3 asks for, printed, never asserted.
//!
//! 1. Authentication from the entry cache: `Provisioning::authenticate` over a cached
//!    directory, every account logged in once to warm the cache, then timed logins
//!    (p50/p99, cache hit rate).
//! 2. GAL autocomplete: `Provisioning::search_gal` with `autocomplete` over a domain of
//!    N accounts (100,000 by default), timed per typed prefix (p50/p99).
//! 3. With `--bin-dir DIR`: `zmprov -l -f FILE` creating `--batch` accounts (10,000 by
//!    default) in a fresh zcs home made by `DIR/zcs-server init` (SQLite directory), the
//!    whole process timed from spawn to exit.
//!
//! It touches nothing but its own temporary directory and the database `--db` names
//! (an in-memory SQLite one by default). With a database that already holds the
//! domains of an earlier run (`--db sqlite:///tmp/x.db?mode=rwc`, MariaDB, PostgreSQL),
//! parts 1 and 2 reuse its entries instead of loading them again. The load average is
//! printed before each part: figures taken on a busy machine are upper bounds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zcs_core::Attrs;
use zcs_directory::provisioning::{GalRequest, GalType};
use zcs_directory::{AuthContext, AuthRegistry, CacheSettings, Provisioning, open_directory};

/// Time cached logins, GAL autocomplete and `zmprov -f` account creation.
#[derive(Parser)]
#[command(name = "directory-bench")]
struct Args {
    /// Directory database URL for parts 1 and 2.
    #[arg(long, default_value = "sqlite::memory:")]
    db: String,
    /// Accounts logging in (part 1).
    #[arg(long, default_value_t = 1_000)]
    auth_accounts: usize,
    /// Timed logins (part 1).
    #[arg(long, default_value_t = 20_000)]
    logins: usize,
    /// GAL entries (part 2); 0 skips the part.
    #[arg(long, default_value_t = 100_000)]
    gal_entries: usize,
    /// Runs of each autocomplete prefix (part 2).
    #[arg(short = 'r', long, default_value_t = 50)]
    runs: usize,
    /// Directory holding `zcs-server` and `zmprov`; without it part 3 is skipped.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Accounts the `zmprov -f` batch creates (part 3).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
];

/// What users type into an address field: short and long prefixes, a full address, and
/// a prefix nothing matches.
const PREFIXES: &[&str] = &[
    "j",
    "ma",
    "smi",
    "john",
    "garcia",
    "elizabeth t",
    "u12345",
    "u99999@gal.example",
    "zzq",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The 1-, 5- and 15-minute load averages, for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Whether `domain` exists and already holds at least `n` addresses (a reused database).
async fn loaded(prov: &Provisioning, domain: &str, n: usize) -> Result<bool, BoxError> {
    let key = zcs_directory::EntryKey::Name(domain.to_string());
    if prov
        .directory()
        .get_entry(zcs_core::EntryKind::Domain, &key)
        .await?
        .is_none()
    {
        prov.create_domain(domain, Attrs::new()).await?;
        return Ok(false);
    }
    let have = prov.directory().count_addresses_in_domain(domain).await?;
    Ok(usize::try_from(have).unwrap_or(usize::MAX) >= n)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Part 1: cached logins.
async fn bench_auth(prov: &Provisioning, args: &Args) -> Result<(), BoxError> {
    println!("auth: load average {}", load_average());
    let reuse = loaded(prov, "auth.example", args.auth_accounts).await?;
    let t = Instant::now();
    for i in (0..args.auth_accounts).filter(|_| !reuse) {
        let name = format!("a{i}@auth.example");
        prov.create_account(&name, Some("Secret-pass-1"), Attrs::new())
            .await?;
    }
    println!(
        "auth: {} {} accounts in {:.1} s",
        if reuse { "reused" } else { "created" },
        args.auth_accounts,
        t.elapsed().as_secs_f64()
    );
    let ctx = AuthContext {
        protocol: "imap".into(),
        remote_ip: None,
    };
    // Warm-up: the first login of each account reads it (and its domain, COS, config)
    // into the cache and writes zimbraLastLogonTimestamp once.
    let t = Instant::now();
    for i in 0..args.auth_accounts {
        prov.authenticate(&format!("a{i}@auth.example"), "Secret-pass-1", &ctx)
            .await?;
    }
    println!(
        "auth: first (cold) login of each account: {:.1} s total",
        t.elapsed().as_secs_f64()
    );
    let before = prov.cache().map(|c| c.stats()).unwrap_or_default();
    let mut rng = StdRng::seed_from_u64(3);
    let mut times = Vec::with_capacity(args.logins);
    let mut refused = 0usize;
    for _ in 0..args.logins {
        let i = rng.gen_range(0..args.auth_accounts);
        let name = format!("a{i}@auth.example");
        let t = Instant::now();
        if prov
            .authenticate(&name, "Secret-pass-1", &ctx)
            .await
            .is_err()
        {
            refused += 1;
        }
        times.push(t.elapsed());
    }
    let after = prov.cache().map(|c| c.stats()).unwrap_or_default();
    times.sort();
    let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
    println!(
        "auth: {} cached logins: p50 {}, p99 {}, max {} ({} refused; cache {} hits, {} misses)",
        args.logins,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0)),
        refused,
        hits,
        misses
    );
    Ok(())
}

/// Part 2: GAL autocomplete over a large domain.
async fn bench_gal(prov: &Provisioning, args: &Args) -> Result<(), BoxError> {
    let reuse = loaded(prov, "gal.example", args.gal_entries).await?;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(11);
    for i in (0..args.gal_entries).filter(|_| !reuse) {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let mut attrs = Attrs::new();
        attrs.set_one("givenName", first);
        attrs.set_one("sn", last);
        attrs.set_one("displayName", format!("{first} {last}"));
        prov.create_account(&format!("u{i}@gal.example"), None, attrs)
            .await?;
        if (i + 1) % 20_000 == 0 {
            println!(
                "gal: {} entries loaded ({:.0} s)",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "gal: {} {} entries in {:.1} s",
        if reuse { "reused" } else { "loaded" },
        args.gal_entries,
        t.elapsed().as_secs_f64()
    );
    println!("gal: load average {}", load_average());
    println!("| prefix | hits | more | p50 | p99 |\n|---|---|---|---|---|");
    let mut all = Vec::new();
    for prefix in PREFIXES {
        let req = GalRequest {
            text: (*prefix).to_string(),
            gal_type: GalType::All,
            autocomplete: true,
            limit: Some(20),
        };
        let mut times = Vec::with_capacity(args.runs);
        let mut hits = 0;
        let mut more = false;
        for _ in 0..args.runs {
            let t = Instant::now();
            let r = prov.search_gal("gal.example", &req).await?;
            times.push(t.elapsed());
            hits = r.entries.len();
            more = r.more;
        }
        all.extend_from_slice(&times);
        times.sort();
        println!(
            "| `{prefix}` | {hits} | {more} | {} | {} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }
    all.sort();
    println!(
        "gal: autocomplete over {} entries, all prefixes: p50 {}, p99 {}",
        args.gal_entries,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
    Ok(())
}

/// Runs `bin` with `ZCS_HOME=home`, failing with its stderr when it fails.
fn run(bin: &Path, home: &Path, args: &[&str]) -> Result<(), BoxError> {
    let out = Command::new(bin)
        .env("ZCS_HOME", home)
        .args(args)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{} {args:?} exited {}: {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// Part 3: `zmprov -l -f` creating accounts in a fresh home.
fn bench_zmprov_batch(bin_dir: &Path, n: usize, tmp: &Path) -> Result<(), BoxError> {
    let home = tmp.join("home");
    std::fs::create_dir_all(&home)?;
    run(&bin_dir.join("zcs-server"), &home, &["init"])?;
    let zmprov = bin_dir.join("zmprov");
    run(&zmprov, &home, &["-l", "cd", "example.com"])?;
    let batch = tmp.join("batch.zmp");
    let mut text = String::with_capacity(n * 40);
    for i in 0..n {
        text.push_str(&format!("ca user{i}@example.com Secret-pass-1\n"));
    }
    std::fs::write(&batch, text)?;
    let batch_arg = batch.to_string_lossy().into_owned();
    let t = Instant::now();
    let out = Command::new(&zmprov)
        .env("ZCS_HOME", &home)
        .env("RUST_LOG", "warn")
        .args(["-l", "-f", &batch_arg])
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    let created = String::from_utf8_lossy(&out.stdout).lines().count();
    println!(
        "zmprov -l -f: {n} `ca` lines in {secs:.1} s ({:.0} accounts/s), exit {}, \
         {created} ids printed",
        n as f64 / secs,
        out.status
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let tmp = std::env::temp_dir().join(format!("zcs-directory-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;

    let dir = open_directory(&args.db).await?;
    let prov = Provisioning::new(dir, AuthRegistry::with_builtins())
        .with_cache(CacheSettings::new().with_max_entries(args.auth_accounts.max(10_000)));
    prov.bootstrap().await?;

    if args.auth_accounts > 0 {
        bench_auth(&prov, &args).await?;
    }
    if args.gal_entries > 0 {
        bench_gal(&prov, &args).await?;
    }
    if let Some(bin_dir) = &args.bin_dir {
        bench_zmprov_batch(bin_dir, args.batch, &tmp)?;
    }
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}
