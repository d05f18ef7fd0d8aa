//! `gal_autocomplete`: parts 1 and 2 of `benches/src/bin/directory-bench.rs` (cached
//! logins, GAL autocomplete over a large domain) built from this crate alone, with the
//! same data, seeds and prefixes, for measuring while the rest of the workspace does not
//! build. Prints figures, asserts nothing.
//!
//! `cargo run --release -p zcs-directory --example gal_autocomplete -- [ENTRIES] [RUNS]
//! [AUTH_ACCOUNTS] [LOGINS] [DB_URL]` (defaults 100000 20 200 5000 sqlite::memory:).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zcs_core::Attrs;
use zcs_directory::provisioning::{GalRequest, GalType};
use zcs_directory::{AuthContext, AuthRegistry, CacheSettings, Provisioning, open_directory};

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

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn arg(i: usize, default: &str) -> String {
    std::env::args()
        .nth(i)
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let entries: usize = arg(1, "100000").parse()?;
    let runs: usize = arg(2, "20").parse()?;
    let auth_accounts: usize = arg(3, "200").parse()?;
    let logins: usize = arg(4, "5000").parse()?;
    let db = arg(5, "sqlite::memory:");
    let prov = Provisioning::new(open_directory(&db).await?, AuthRegistry::with_builtins())
        .with_cache(CacheSettings::new().with_max_entries(auth_accounts.max(10_000)));
    prov.bootstrap().await?;

    prov.create_domain("auth.example", Attrs::new()).await?;
    for i in 0..auth_accounts {
        let name = format!("a{i}@auth.example");
        prov.create_account(&name, Some("Secret-pass-1"), Attrs::new())
            .await?;
    }
    let ctx = AuthContext {
        protocol: "imap".into(),
        remote_ip: None,
    };
    for i in 0..auth_accounts {
        prov.authenticate(&format!("a{i}@auth.example"), "Secret-pass-1", &ctx)
            .await?;
    }
    println!("auth: load average {}", load_average());
    let mut rng = StdRng::seed_from_u64(3);
    let mut times = Vec::with_capacity(logins);
    for _ in 0..logins {
        let name = format!("a{}@auth.example", rng.gen_range(0..auth_accounts));
        let t = Instant::now();
        prov.authenticate(&name, "Secret-pass-1", &ctx).await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "auth: {logins} cached logins over {auth_accounts} accounts: p50 {}, p99 {}, max {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0))
    );

    prov.create_domain("gal.example", Attrs::new()).await?;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(11);
    for i in 0..entries {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let mut attrs = Attrs::new();
        attrs.set_one("givenName", first);
        attrs.set_one("sn", last);
        attrs.set_one("displayName", format!("{first} {last}"));
        prov.create_account(&format!("u{i}@gal.example"), None, attrs)
            .await?;
    }
    println!(
        "gal: loaded {entries} entries in {:.1} s",
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
        let mut times = Vec::with_capacity(runs);
        let (mut hits, mut more) = (0, false);
        for _ in 0..runs {
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
        "gal: autocomplete over {entries} entries, all prefixes: p50 {}, p99 {}",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
    println!("load average at the end {}", load_average());
    Ok(())
}
