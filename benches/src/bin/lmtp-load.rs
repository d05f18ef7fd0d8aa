//! `lmtp-load`: a load generator for an LMTP listener (RFC 2033). Opens N concurrent
//! connections, sends messages of a given size to the given recipients in a loop, and
//! prints messages per second and the p50/p99/max latency of one transaction (MAIL FROM
//! to the last per-recipient reply).
//!
//! With `--corpus DIR` the messages are the corpus files of 10-100 KiB that look like
//! messages, taken in turn, each made unique by an `X-Bench-Seq` header (and marked with
//! an `X-Bench: lmtpbenchmark` header a search can count); with `--spread` each message
//! goes to one recipient of the `-r` list in turn instead of to all of them.
//!
//! It only talks to the address it is given; point it at a server on loopback.

use std::sync::Arc;
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
    /// Deliver the corpus messages of 10-100 KiB under this directory instead of
    /// synthetic ones of `--size` bytes.
    #[arg(long)]
    corpus: Option<std::path::PathBuf>,
    /// One recipient per message, taken from the `-r` list in turn.
    #[arg(long)]
    spread: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(match &args.corpus {
        Some(dir) => {
            let found = corpus(dir);
            if found.is_empty() {
                return Err(format!("no message of 10-100 KiB under {}", dir.display()).into());
            }
            found
        }
        None => vec![message_body(args.size).into_bytes()],
    });
    let avg = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let args = args.clone();
        let body = bodies.clone();
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
        "connections={} messages={} size={}B (average; {} distinct) recipients={}{} failures={}",
        args.connections,
        delivered,
        avg,
        bodies.len(),
        args.rcpt.len(),
        if args.spread {
            " (one each, in turn)"
        } else {
            ""
        },
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

/// Every file of 10-100 KiB under `dir` that starts like a message, bare LFs made CRLF
/// and dot-stuffed for DATA (RFC 5321 §4.5.2), in a stable order.
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
                out.push(for_data(&b));
            }
        }
    }
    out.sort();
    out
}

/// CRLF line ends, a leading dot doubled, and a final CRLF; the message's own
/// `Message-ID` is left out (each delivery gets a unique one, so no server's
/// Message-ID de-duplication can drop a copy).
fn for_data(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let (mut in_header, mut skipping) = (true, false);
    for line in raw.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if in_header {
            if line.is_empty() {
                in_header = false;
            } else if skipping && matches!(line.first(), Some(b' ' | b'\t')) {
                continue;
            } else {
                skipping = line.len() > 11 && line[..11].eq_ignore_ascii_case(b"message-id:");
                if skipping {
                    continue;
                }
            }
        }
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    while out.ends_with(b"\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    out
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
    bodies: &[Vec<u8>],
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
        let seq = conn * args.messages + i;
        let rcpts: &[String] = if args.spread {
            std::slice::from_ref(&args.rcpt[seq % args.rcpt.len()])
        } else {
            &args.rcpt
        };
        let mut cmd = format!("MAIL FROM:<{}>\r\n", args.from);
        for r in rcpts {
            cmd.push_str(&format!("RCPT TO:<{r}>\r\n"));
        }
        cmd.push_str("DATA\r\n");
        write.write_all(cmd.as_bytes()).await?;
        let mut ok = expect(&mut read, "MAIL").await?;
        for _ in rcpts {
            ok &= expect(&mut read, "RCPT").await?;
        }
        expect(&mut read, "DATA").await?;
        let body = &bodies[seq % bodies.len()];
        let mut data = if args.corpus.is_some() {
            format!(
                "Message-ID: <{conn}.{i}@lmtp-load>\r\nX-Bench-Seq: {conn}.{i}\r\n\
                 X-Bench: lmtpbenchmark\r\n"
            )
            .into_bytes()
        } else {
            format!("Message-ID: <{conn}.{i}@lmtp-load>\r\n").into_bytes()
        };
        data.extend_from_slice(body);
        data.extend_from_slice(b".\r\n");
        write.write_all(&data).await?;
        for _ in rcpts {
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
