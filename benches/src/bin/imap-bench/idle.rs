//! The idle-connection figures of imap-bench: many logged-in (and IDLE) connections held
//! by a child process, the server's resident memory with them open, and how fast an
//! IDLE session wakes when a message arrives while they are held.

use super::*;

/// Logs in on a bare socket and returns it, holding no buffer.
async fn idle_login(addr: std::net::SocketAddr, then: &str) -> Result<TcpStream, BoxError> {
    idle_login_as(addr, USER, PASSWORD, then).await
}

async fn idle_login_as(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    then: &str,
) -> Result<TcpStream, BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    let script = format!("a LOGIN {user} {password}\r\n{then}");
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

/// The child side of the connection figure: opens `count` connections, says
/// `ready <n>` on stdout, and holds them until stdin closes.
pub(super) async fn hold_in_child(
    addr: std::net::SocketAddr,
    count: usize,
    then: &str,
) -> Result<(), BoxError> {
    let mut held = hold_idle(addr, count, then).await?;
    println!("ready {}", held.len());
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    loop {
        let mut line = String::new();
        if stdin.read_line(&mut line).await.unwrap_or(0) == 0 {
            break;
        }
        if line.trim() == "arm" {
            held = wake_all(held).await;
        }
    }
    drop(held);
    Ok(())
}

/// Microseconds since the Unix epoch (comparable across this program's processes).
fn epoch_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The child side of the wake figure: every held connection waits (30 s at most) for
/// an `EXISTS` line; prints `armed`, then once all are done
/// `woke <count> <min> <p50> <p99> <max>` (arrival times, epoch microseconds).
async fn wake_all(held: Vec<TcpStream>) -> Vec<TcpStream> {
    let mut tasks = Vec::with_capacity(held.len());
    for mut s in held {
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 512];
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut at = None;
            while at.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, s.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => {
                        seen.extend_from_slice(&buf[..n]);
                        if seen.windows(6).any(|w| w == b"EXISTS") {
                            at = Some(epoch_us());
                        }
                    }
                    _ => break,
                }
            }
            (s, at)
        }));
    }
    println!("armed");
    let mut held = Vec::with_capacity(tasks.len());
    let mut times = Vec::new();
    for t in tasks {
        if let Ok((s, at)) = t.await {
            held.push(s);
            times.extend(at);
        }
    }
    times.sort_unstable();
    let p = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "woke {} {} {} {} {}",
        times.len(),
        p(0.0),
        p(0.5),
        p(0.99),
        times.last().copied().unwrap_or(0)
    );
    held
}

/// Holds `count` idle connections from a child process; returns it (they close when
/// it is dropped or killed) and how long the logins took.
async fn hold_from_child(
    addr: std::net::SocketAddr,
    count: usize,
    then: &str,
) -> Result<(Holder, Duration), BoxError> {
    let t = Instant::now();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--target", &addr.to_string(), "--hold", &count.to_string()])
        .args(["--then", then])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let out = child.stdout.take().ok_or("no child stdout")?;
    let mut out = tokio::io::BufReader::new(out);
    let mut line = String::new();
    out.read_line(&mut line).await?;
    if !line.starts_with("ready") {
        return Err(format!("client process failed: {line:?}").into());
    }
    Ok((Holder { child, out }, t.elapsed()))
}

/// A client process holding connections, and its output.
struct Holder {
    child: tokio::process::Child,
    out: tokio::io::BufReader<tokio::process::ChildStdout>,
}

impl Holder {
    /// Tells the holder to watch every connection for `EXISTS`; returns once it is.
    async fn arm(&mut self) -> Result<(), BoxError> {
        let stdin = self.child.stdin.as_mut().ok_or("no child stdin")?;
        stdin.write_all(b"arm\n").await?;
        stdin.flush().await?;
        let mut line = String::new();
        self.out.read_line(&mut line).await?;
        if line.trim() != "armed" {
            return Err(format!("holder: {line:?}").into());
        }
        Ok(())
    }

    /// The holder's `woke` line as (count, min, p50, p99, max) epoch microseconds.
    async fn woke(&mut self) -> Result<[u64; 5], BoxError> {
        let mut line = String::new();
        self.out.read_line(&mut line).await?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|n| n.parse().ok())
            .collect();
        <[u64; 5]>::try_from(v).map_err(|_| format!("holder: {line:?}").into())
    }
}

/// Ends a client process and waits for its connections to close.
async fn release(mut holder: Holder) {
    drop(holder.child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(30), holder.child.wait()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// The memory figures: `idle` logged-in connections, then (`in_idle`) as many in IDLE
/// on a 10-message folder.
pub(super) async fn idle_rounds(
    addr: std::net::SocketAddr,
    idle: usize,
    (logged_in, in_idle): (bool, bool),
    wake: &Wake,
) -> Result<(), BoxError> {
    // Warm-up: the first logins grow pools and caches once (directory connections,
    // runtime workers), which is not per-connection memory.
    release(
        hold_from_child(addr, 200.min(idle), "i SELECT Small\r\nd IDLE\r\n")
            .await?
            .0,
    )
    .await;
    if logged_in {
        let before = rss();
        let (child, took) = hold_from_child(addr, idle, "").await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss();
        println!(
            "{} idle authenticated connections (logged in in {:.1} s): server RSS {:.1} -> \
             {:.1} MiB, {:.1} KiB per connection",
            idle,
            took.as_secs_f64(),
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / 1024.0 / idle.max(1) as f64
        );
        let held = probe_wakes(addr, wake, 10).await?;
        println!(
            "IDLE wake of a probe session (another account) beside them: {}",
            summary(held)
        );
        release(child).await;
    }
    if !in_idle {
        return Ok(());
    }

    let before = rss();
    let (mut child, took) = hold_from_child(addr, idle, "i SELECT Small\r\nd IDLE\r\n").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss();
    println!(
        "{} connections in IDLE on a 10-message folder (in IDLE after {:.1} s): server RSS \
         {:.1} -> {:.1} MiB, {:.1} KiB per connection",
        idle,
        took.as_secs_f64(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1024.0 / idle.max(1) as f64
    );
    let held = probe_wakes(addr, wake, 10).await?;
    println!(
        "IDLE wake of a probe session (another account) beside them: {}",
        summary(held)
    );
    // One message into the folder all of them watch: every session wakes.
    child.arm().await?;
    wake.mb
        .append(wake.small, message(1_000_001).as_bytes(), Flags(0), 0)
        .await?;
    let t0 = epoch_us();
    zcs_server::notify::publish(wake.account);
    let [n, lo, p50, p99, hi] = child.woke().await?;
    let ms_after = |t: u64| t.saturating_sub(t0) as f64 / 1000.0;
    println!(
        "one change to their folder: {n} of {idle} sessions reported EXISTS within 30 s; \
         after the change: first {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms",
        ms_after(lo),
        ms_after(p50),
        ms_after(p99),
        ms_after(hi)
    );
    release(child).await;
    Ok(())
}

/// What the wake figures need: the bench account's mailbox and the folder its IDLE
/// clients watch, and a second account whose one probe session is timed.
pub(super) struct Wake {
    pub(super) mb: zcs_store::Mailbox,
    pub(super) small: ItemId,
    pub(super) account: zcs_core::ZimbraId,
    pub(super) probe_mb: zcs_store::Mailbox,
    pub(super) probe_account: zcs_core::ZimbraId,
}

/// Times `rounds` IDLE wake-ups of one session of the probe account: each round appends
/// a message to its Inbox through the store, announces it as every front end does
/// (`notify::publish`), and waits for the `* n EXISTS` line.
pub(super) async fn probe_wakes(
    addr: std::net::SocketAddr,
    wake: &Wake,
    rounds: usize,
) -> Result<Vec<Duration>, BoxError> {
    let mut c = Client::connect(addr).await?;
    c.cmd(&format!("LOGIN {PROBE} {PASSWORD}")).await?;
    c.cmd("SELECT INBOX").await?;
    c.w.write_all(b"w IDLE\r\n").await?;
    while !c.line().await?.0.starts_with('+') {}
    let mut out = Vec::with_capacity(rounds);
    for i in 0..rounds {
        wake.probe_mb
            .append(
                ItemId(folder::INBOX),
                message(2_000_000 + i).as_bytes(),
                Flags(0),
                0,
            )
            .await?;
        let t = Instant::now();
        zcs_server::notify::publish(wake.probe_account);
        while !c.line().await?.0.ends_with("EXISTS") {}
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.w.write_all(b"DONE\r\n").await?;
    while !c.line().await?.0.starts_with("w ") {}
    c.cmd("LOGOUT").await?;
    Ok(out)
}
