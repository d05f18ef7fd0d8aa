//! A 10 MB command line without a newline: refused once, never buffered, and the server
//! keeps serving other connections meanwhile. Alone in its test binary so the memory
//! measurement sees no other test's allocations.

mod common;

use common::{Client, assert_reply, config, start};
use tokio::io::AsyncWriteExt;
use zcs_mta::Protocol;

/// Peak resident set size of this process in KiB (Linux `VmHWM`), if readable.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabyte_line_is_not_held() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut flood, _) = Client::connect(server.addr).await;
    let before = peak_rss_kib();

    // 10 MB of one line, written from a reused 64 KiB buffer so that the client side
    // does not hold 10 MB either.
    let chunk = vec![b'x'; 64 * 1024];
    let writer = tokio::spawn(async move {
        for _ in 0..160 {
            flood.stream.write_all(&chunk).await.unwrap();
        }
        flood
    });

    // Meanwhile another client is served normally.
    let (mut other, greeting) = Client::connect(server.addr).await;
    assert_reply(&greeting, "220");
    assert_reply(&other.cmd("EHLO other.example").await, "250");
    assert_reply(&other.cmd("NOOP").await, "250 2.0.0");

    // One refusal for the whole line, then the session goes on normally.
    let mut flood = writer.await.unwrap();
    flood.send(b"\r\nNOOP\r\n").await;
    assert_reply(&flood.reply().await, "500 5.5.2");
    assert_reply(&flood.reply().await, "250 2.0.0");

    // The server has read all 10 MB by now; the process peak barely moved.
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        let grown = after.saturating_sub(before);
        eprintln!("peak RSS grew by {grown} KiB");
        assert!(
            grown < 4 * 1024,
            "peak RSS grew by {grown} KiB while a 10 MB line arrived"
        );
    }
    assert_reply(&flood.cmd("QUIT").await, "221");
}
