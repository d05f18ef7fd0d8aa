//! The mixed workload of imap-bench: N clients each looping over a realistic command mix
//! (SELECT, FETCH, STORE, SEARCH, APPEND, IDLE) for a while; throughput and per-command
//! p50/p99.

use super::*;

/// Per-command latencies of the mixed workload.
type Latencies = std::collections::BTreeMap<&'static str, Vec<Duration>>;

/// One client of the mixed workload: logs in, then loops over a realistic mix until
/// `until`, recording each command's latency.
async fn mixed_client(
    addr: std::net::SocketAddr,
    user: String,
    password: String,
    seed: u64,
    until: Instant,
) -> Result<Latencies, BoxError> {
    let mut lat = Latencies::new();
    let mut c = Client::connect(addr).await?;
    c.cmd(&format!("LOGIN {user} {password}")).await?;
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n.max(1)
    };
    let mut exists = 1u64;
    while Instant::now() < until {
        let step: [(&'static str, String); 7] = [
            ("SELECT", "SELECT INBOX".to_string()),
            ("FETCH FLAGS", "FETCH 1:* (FLAGS)".to_string()),
            (
                "FETCH BODY[]",
                format!("FETCH {} BODY.PEEK[]", 1 + next(exists)),
            ),
            (
                "STORE",
                format!("STORE {} +FLAGS.SILENT (\\Flagged)", 1 + next(exists)),
            ),
            (
                "SEARCH",
                format!("SEARCH SUBJECT \"number {}\"", next(10_000)),
            ),
            ("APPEND", String::new()),
            ("IDLE", String::new()),
        ];
        for (name, command) in step {
            let t = Instant::now();
            match name {
                "APPEND" => {
                    let msg = message(10_000 + next(1_000_000) as usize);
                    c.append("INBOX", msg.as_bytes()).await?;
                }
                "IDLE" => c.idle(Duration::from_millis(100)).await?,
                _ => {
                    let (_, tagged, first) = c.cmd_first(&command).await?;
                    if name == "SELECT" {
                        exists = first.max(1);
                    }
                    let _ = tagged;
                }
            }
            lat.entry(name).or_default().push(t.elapsed());
        }
    }
    let _ = c.cmd("LOGOUT").await;
    Ok(lat)
}

/// Runs `clients` mixed clients for `secs` seconds and prints throughput and
/// latencies per command.
pub(super) async fn mixed(
    addr: std::net::SocketAddr,
    clients: usize,
    secs: u64,
    user: &str,
    password: &str,
) -> Result<(), BoxError> {
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (user, password) = (user.to_string(), password.to_string());
        tasks.push(tokio::spawn(mixed_client(
            addr, user, password, i as u64, until,
        )));
    }
    let mut all = Latencies::new();
    let mut failed = 0;
    for t in tasks {
        match t.await? {
            Ok(lat) => {
                for (k, v) in lat {
                    all.entry(k).or_default().extend(v);
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("mixed client failed: {e}");
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total: usize = all.values().map(Vec::len).sum();
    println!(
        "mixed workload: {clients} clients ({failed} failed), {elapsed:.1} s, {total} commands, \
         {:.0} commands/s",
        total as f64 / elapsed
    );
    println!("| command | count | p50 | p99 |");
    println!("|---|---|---|---|");
    for (name, mut v) in all {
        v.sort();
        let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        println!(
            "| {name} | {} | {:.1} ms | {:.1} ms |",
            v.len(),
            ms(p(0.50)),
            ms(p(0.99))
        );
    }
    Ok(())
}
