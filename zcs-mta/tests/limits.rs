//! Limits and hostile clients: oversize messages, garbage, error limit, too many
//! recipients and connections, abrupt disconnects, idle timeout and shutdown.

mod common;

use std::time::Duration;

use common::{Client, assert_reply, config, start};
use tokio::io::AsyncWriteExt;
use zcs_mta::Protocol;

#[tokio::test]
async fn oversize_data_is_refused_and_session_survives() {
    let mut cfg = config(Protocol::Smtp);
    cfg.max_message_size = 1000;
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let ehlo = c.cmd("EHLO c.example").await;
    assert!(ehlo.contains("250-SIZE 1000\r\n"), "{ehlo}");
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    assert_reply(&c.cmd("DATA").await, "354");
    for _ in 0..50 {
        c.send(&[b'y'; 998]).await;
        c.send(b"\r\n").await;
    }
    assert_reply(&c.cmd(".").await, "552 5.3.4");
    assert_reply(&c.cmd("NOOP").await, "250 2.0.0");

    // The transaction is over; a fresh one at the limit goes through.
    assert_reply(&c.cmd("RCPT TO:<r@x.test>").await, "503 5.5.1");
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.cmd("DATA").await;
    c.send(&[b'z'; 998]).await;
    assert_reply(&c.cmd("\r\n.").await, "250 2.0.0");
    assert_eq!(server.recorder.messages().len(), 1);
    assert_eq!(server.recorder.messages()[0].content().len(), 1000);
}

#[tokio::test]
async fn oversize_bdat_is_refused_before_its_chunk() {
    let mut cfg = config(Protocol::Smtp);
    cfg.max_message_size = 10;
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.send(b"BDAT 8\r\n12345678BDAT 8\r\n12345678BDAT 1 LAST\r\n9")
        .await;
    assert_reply(&c.reply().await, "250 2.0.0 8 octets");
    // The second chunk would pass the limit: refused without reading, then closed
    // (its octets would otherwise be read as commands).
    assert_reply(&c.reply().await, "552 5.3.4");
    c.expect_closed().await;
    assert!(server.recorder.messages().is_empty());
}

#[tokio::test]
async fn impossible_bdat_size_is_refused_at_once() {
    for protocol in [Protocol::Smtp, Protocol::Lmtp] {
        let mut cfg = config(protocol);
        cfg.max_message_size = 1000;
        let server = start(cfg).await;
        let (mut c, _) = Client::connect(server.addr).await;
        let hello = match protocol {
            Protocol::Smtp => "EHLO c.example",
            Protocol::Lmtp => "LHLO c.example",
        };
        c.cmd(hello).await;
        c.cmd("MAIL FROM:<s@x.test>").await;
        c.cmd("RCPT TO:<r@x.test>").await;
        c.cmd("RCPT TO:<q@x.test>").await;
        // No chunk octets follow: the reply must come without them.
        let reply = tokio::time::timeout(
            Duration::from_secs(5),
            c.cmd("BDAT 18446744073709551615 LAST"),
        )
        .await
        .expect("a reply before any chunk octet");
        assert_reply(&reply, "552 5.3.4");
        if protocol == Protocol::Lmtp {
            // RFC 2033 §4.2: one reply per recipient.
            assert_reply(&c.reply().await, "552 5.3.4");
        }
        c.expect_closed().await;
        // The listener is fine.
        let (mut c, _) = Client::connect(server.addr).await;
        assert_reply(&c.cmd("NOOP").await, "250");
        assert!(server.recorder.messages().is_empty());
    }
}

#[tokio::test]
async fn unreadable_bdat_size_closes_before_its_chunk_is_read_as_commands() {
    for size in ["99999999999999999999999", "-1", "12x"] {
        let server = start(config(Protocol::Smtp)).await;
        let (mut c, _) = Client::connect(server.addr).await;
        c.cmd("EHLO c.example").await;
        c.cmd("MAIL FROM:<s@x.test>").await;
        c.cmd("RCPT TO:<r@x.test>").await;
        // The "chunk" is a whole transaction; none of it may run.
        let smuggled = format!(
            "BDAT {size} LAST\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<r@x.test>\r\n\
             DATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\n"
        );
        c.send(smuggled.as_bytes()).await;
        assert_reply(&c.reply().await, "501 5.5.4");
        c.expect_closed().await;
        assert!(server.recorder.messages().is_empty(), "{size}");
    }
}

#[tokio::test]
async fn too_many_recipients() {
    let mut cfg = config(Protocol::Smtp);
    cfg.max_recipients = 2;
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<b@x.test>").await, "250");
    assert_reply(&c.cmd("RCPT TO:<c@x.test>").await, "452 4.5.3");
}

#[tokio::test]
async fn garbage_hits_the_error_limit() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let mut garbage: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    garbage.extend_from_slice(b"\r\n\0\0\xff\r\nhello there\r\n");
    for _ in 0..10 {
        garbage.extend_from_slice(b"\x01\x02 nonsense\r\n");
    }
    c.send(&garbage).await;
    let mut replies = Vec::new();
    loop {
        let r = c.reply().await;
        let done = r.starts_with("421");
        replies.push(r);
        if done {
            break;
        }
    }
    assert_eq!(replies.len(), 11, "{replies:?}");
    assert!(
        replies[..10].iter().all(|r| r.starts_with('5')),
        "{replies:?}"
    );
    assert_reply(&replies[10], "421 4.7.0");
    c.expect_closed().await;

    // The server itself is fine.
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert_reply(&greeting, "220");
    assert_reply(&c.cmd("NOOP").await, "250");
}

#[tokio::test]
async fn long_command_line_is_refused() {
    let mut cfg = config(Protocol::Smtp);
    cfg.max_line_length = 512;
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let line = format!("NOOP {}", "a".repeat(600));
    assert_reply(&c.cmd(&line).await, "500 5.5.2");
    let line = format!("NOOP {}", "a".repeat(500));
    assert_reply(&c.cmd(&line).await, "250 2.0.0");
}

#[tokio::test]
async fn abrupt_disconnect_mid_data_delivers_nothing() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.cmd("DATA").await;
    c.send(b"Subject: cut\r\n\r\nhalf a message\r\n.").await;
    drop(c);

    // Same for BDAT cut inside a chunk.
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.send(b"BDAT 100 LAST\r\nonly a little").await;
    c.stream.shutdown().await.unwrap();
    drop(c);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    assert_reply(&c.cmd("NOOP").await, "250");
    assert!(server.recorder.messages().is_empty());
}

#[tokio::test]
async fn idle_timeout_closes_with_421() {
    let mut cfg = config(Protocol::Smtp);
    cfg.idle_timeout = Duration::from_millis(300);
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    assert_reply(&c.reply().await, "421 4.4.2");
    c.expect_closed().await;

    // Also while reading DATA; nothing is delivered.
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.cmd("DATA").await;
    c.send(b"partial\r\n").await;
    assert_reply(&c.reply().await, "421 4.4.2");
    c.expect_closed().await;
    assert!(server.recorder.messages().is_empty());
}

#[tokio::test]
async fn connection_limit() {
    let mut cfg = config(Protocol::Smtp);
    cfg.max_connections = 1;
    let server = start(cfg).await;
    let (mut first, greeting) = Client::connect(server.addr).await;
    assert_reply(&greeting, "220");
    let (mut second, refused) = Client::connect(server.addr).await;
    assert_reply(&refused, "421 4.7.0");
    second.expect_closed().await;
    first.cmd("QUIT").await;
    first.expect_closed().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_third, greeting) = Client::connect(server.addr).await;
    assert_reply(&greeting, "220");
}

#[tokio::test]
async fn shutdown_lets_messages_finish_then_returns() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut idle, _) = Client::connect(server.addr).await;
    idle.cmd("EHLO idle.example").await;
    let (mut busy, _) = Client::connect(server.addr).await;
    busy.cmd("EHLO busy.example").await;
    busy.cmd("MAIL FROM:<s@x.test>").await;
    busy.cmd("RCPT TO:<r@x.test>").await;
    busy.cmd("DATA").await;
    busy.send(b"first half\r\n").await;

    server.shutdown.send(true).unwrap();
    assert_reply(&idle.reply().await, "421 4.3.2");
    idle.expect_closed().await;

    // The message in flight is finished and delivered, then the session is told to go.
    assert_reply(&busy.cmd("second half\r\n.").await, "250 2.0.0");
    assert_reply(&busy.reply().await, "421 4.3.2");
    busy.expect_closed().await;
    assert_eq!(
        server.recorder.messages()[0].content(),
        b"first half\r\nsecond half\r\n"
    );

    let result = tokio::time::timeout(Duration::from_secs(10), server.handle)
        .await
        .expect("serve did not return after shutdown");
    result.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn shutdown_grace_bounds_stuck_sessions() {
    let mut cfg = config(Protocol::Smtp);
    cfg.shutdown_grace = Duration::from_millis(300);
    let server = start(cfg).await;
    let (mut stuck, _) = Client::connect(server.addr).await;
    stuck.cmd("EHLO c.example").await;
    stuck.cmd("MAIL FROM:<s@x.test>").await;
    stuck.cmd("RCPT TO:<r@x.test>").await;
    stuck.cmd("DATA").await;
    server.shutdown.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.handle)
        .await
        .expect("serve did not return within the grace")
        .unwrap()
        .unwrap();
    assert!(server.recorder.messages().is_empty());
}

/// Settings the test swaps at run time, as a reload does.
struct Swappable(std::sync::Mutex<std::sync::Arc<zcs_mta::ListenerConfig>>);

#[async_trait::async_trait]
impl zcs_mta::ConfigSource for Swappable {
    async fn current(&self) -> std::sync::Arc<zcs_mta::ListenerConfig> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn per_client_limits_follow_a_reload() {
    use std::sync::Arc;
    let mut cfg = config(Protocol::Smtp);
    cfg.limits.max_connections_per_ip = 1;
    let source = Arc::new(Swappable(std::sync::Mutex::new(Arc::new(cfg.clone()))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Arc::new(common::Recorder::default());
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(zcs_mta::serve_with(listener, source.clone(), recorder, rx));

    let (_first, greeting) = Client::connect(addr).await;
    assert_reply(&greeting, "220");
    let (_second, refused) = Client::connect(addr).await;
    assert_reply(&refused, "421 4.7.0");

    // Reload: two per client, and one message per minute.
    cfg.limits.max_connections_per_ip = 2;
    cfg.limits.messages_per_minute_per_ip = 1;
    *source.0.lock().unwrap() = Arc::new(cfg);
    let (mut third, greeting) = Client::connect(addr).await;
    assert_reply(&greeting, "220");
    third.cmd("EHLO c.example").await;
    assert_reply(&third.cmd("MAIL FROM:<s@x.test>").await, "250");
    assert_reply(&third.cmd("RSET").await, "250");
    assert_reply(&third.cmd("MAIL FROM:<s@x.test>").await, "450 4.7.1");
}

#[tokio::test]
async fn connection_cap_follows_a_reload() {
    use std::sync::Arc;
    let mut cfg = config(Protocol::Smtp);
    cfg.max_connections = 1;
    let source = Arc::new(Swappable(std::sync::Mutex::new(Arc::new(cfg.clone()))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Arc::new(common::Recorder::default());
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(zcs_mta::serve_with(listener, source.clone(), recorder, rx));

    let (_first, greeting) = Client::connect(addr).await;
    assert_reply(&greeting, "220");
    let (_second, refused) = Client::connect(addr).await;
    assert_reply(&refused, "421 4.7.0");

    // Reload with a higher cap: a second session is let in without a restart.
    cfg.max_connections = 2;
    *source.0.lock().unwrap() = Arc::new(cfg.clone());
    let (mut second, greeting) = Client::connect(addr).await;
    assert_reply(&greeting, "220");
    let (_third, refused) = Client::connect(addr).await;
    assert_reply(&refused, "421 4.7.0");

    // Lowered again: the running sessions go on, a new one waits for room.
    cfg.max_connections = 1;
    *source.0.lock().unwrap() = Arc::new(cfg);
    assert_reply(&second.cmd("NOOP").await, "250");
    second.cmd("QUIT").await;
    second.expect_closed().await;
    let (_fourth, refused) = Client::connect(addr).await;
    assert_reply(&refused, "421 4.7.0");
}
