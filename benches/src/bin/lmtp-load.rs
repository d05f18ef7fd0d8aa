//! `lmtp-load`: a load generator for an LMTP listener (RFC 2033). Opens N concurrent
//! connections, sends messages of a given size to the given recipients in a loop, and
//! prints messages per second and the p50/p99/max latency of one transaction (MAIL FROM
//! to the last per-recipient reply).
//!
//! It only talks to the address it is given; point it at a server on loopback.

use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Drive an LMTP server with concurrent deliveries and report throughput and latency.
#[derive(Parser, Clone)]
#[command(name = "lmtp-load")]
struct Args {
    /// LMTP server address.
    #[arg(long, default_value = "127.0.0.1:7025")]
    addr: String,
    /// Concurrent connections.
    #[arg(short = 'c', long, default_value_t = 8)]
    connections: usize,
    /// Messages per connection.
    #[arg(short = 'n', long, default_value_t = 200)]
    messages: usize,
    /// Approximate message size in bytes.
    #[arg(short = 's', long, default_value_t = 4096)]
    size: usize,
    /// Recipient address (repeat for several recipients per message).
    #[arg(short = 'r', long = "rcpt", required = true)]
    rcpt: Vec<String>,
    /// Envelope sender.
    #[arg(long, default_value = "load@bench.test")]
    from: String,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let body = message_body(args.size);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let args = args.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            run_connection(conn, &args, &body).await
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0usize;
    for task in tasks {
        match task.await? {
            Ok((lat, failed)) => {
                latencies.extend(lat);
                failures += failed;
            }
            Err(e) => {
                eprintln!("connection failed: {e}");
                failures += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[idx]
    };
    let delivered = latencies.len();
    println!(
        "connections={} messages={} size={}B recipients={} failures={}",
        args.connections,
        delivered,
        args.size,
        args.rcpt.len(),
        failures
    );
    println!(
        "throughput={:.1} msg/s elapsed={:.2}s",
        delivered as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "latency p50={:.1}ms p99={:.1}ms max={:.1}ms",
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    Ok(())
}

fn message_body(size: usize) -> String {
    let mut body = String::from("Subject: lmtp-load\r\nFrom: load@bench.test\r\n\r\n");
    let line = "The quick brown fox jumps over the lazy dog 0123456789.\r\n";
    while body.len() < size {
        body.push_str(line);
    }
    body
}

async fn run_connection(
    conn: usize,
    args: &Args,
    body: &str,
) -> Result<(Vec<Duration>, usize), BoxError> {
    let stream = TcpStream::connect(&args.addr).await?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    expect(&mut read, "greeting").await?;
    write.write_all(b"LHLO lmtp-load.test\r\n").await?;
    expect(&mut read, "LHLO").await?;

    let mut latencies = Vec::with_capacity(args.messages);
    let mut failures = 0;
    for i in 0..args.messages {
        let t0 = Instant::now();
        let mut cmd = format!("MAIL FROM:<{}>\r\n", args.from);
        for r in &args.rcpt {
            cmd.push_str(&format!("RCPT TO:<{r}>\r\n"));
        }
        cmd.push_str("DATA\r\n");
        write.write_all(cmd.as_bytes()).await?;
        let mut ok = expect(&mut read, "MAIL").await?;
        for _ in &args.rcpt {
            ok &= expect(&mut read, "RCPT").await?;
        }
        expect(&mut read, "DATA").await?;
        let data = format!("Message-ID: <{conn}.{i}@lmtp-load>\r\n{body}.\r\n");
        write.write_all(data.as_bytes()).await?;
        for _ in &args.rcpt {
            ok &= expect(&mut read, "delivery").await?;
        }
        if ok {
            latencies.push(t0.elapsed());
        } else {
            failures += 1;
        }
    }
    write.write_all(b"QUIT\r\n").await?;
    Ok((latencies, failures))
}

/// Reads one (possibly multi-line) reply; true for 2xx/3xx.
async fn expect(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    what: &str,
) -> Result<bool, BoxError> {
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Err(format!("connection closed waiting for {what} reply").into());
        }
        if line.len() < 4 {
            return Err(format!("short reply to {what}: {line:?}").into());
        }
        if line.as_bytes()[3] == b'-' {
            continue;
        }
        let ok = matches!(line.as_bytes()[0], b'2' | b'3');
        if !ok {
            eprintln!("{what}: {}", line.trim_end());
        }
        return Ok(ok);
    }
}
