//! Connection floods against the IMAP and POP3 listeners: one client address holding
//! idle unauthenticated connections cannot take the slots another address needs, and
//! idle unauthenticated connections are dropped after the short login timeout.

#[path = "pop3_support/mod.rs"]
mod pop3_support;

mod imap_support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

const WAIT: Duration = Duration::from_secs(10);

/// Connects to `server` from the loopback address `from` (Linux routes all of
/// 127.0.0.0/8 to lo, so 127.0.0.2 is another client address on this host).
async fn connect_from(from: &str, server: SocketAddr) -> BufReader<TcpStream> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("addr"))
        .expect("bind source address");
    BufReader::new(socket.connect(server).await.expect("connect"))
}

/// The next line, `None` at end of stream.
async fn line(c: &mut BufReader<TcpStream>) -> Option<String> {
    let mut s = String::new();
    match tokio::time::timeout(WAIT, c.read_line(&mut s)).await {
        Ok(Ok(0)) | Ok(Err(_)) => None,
        Ok(Ok(_)) => Some(s.trim_end().to_string()),
        Err(_) => panic!("no line within {WAIT:?}"),
    }
}

#[tokio::test]
async fn imap_one_address_cannot_take_every_slot() {
    let config = zcs_server::imap::ImapConfig {
        max_connections: 6,
        max_connections_per_ip: 3,
        ..imap_support::test_config()
    };
    let server = imap_support::start(config).await;
    let mut flood = Vec::new();
    for _ in 0..3 {
        let mut c = connect_from("127.0.0.1", server.addr).await;
        assert!(line(&mut c).await.expect("greeting").starts_with("* OK"));
        flood.push(c);
    }
    // The flooding address gets no more.
    for _ in 0..5 {
        let mut c = connect_from("127.0.0.1", server.addr).await;
        assert_eq!(
            line(&mut c).await.as_deref(),
            Some("* BYE Too many connections")
        );
        assert_eq!(line(&mut c).await, None);
    }
    // Another address is still served and can log in.
    let mut other = connect_from("127.0.0.2", server.addr).await;
    assert!(
        line(&mut other)
            .await
            .expect("greeting")
            .starts_with("* OK")
    );
    other
        .write_all(b"a LOGIN alice@example.com \"s3cret \\\"pw\\\"\"\r\n")
        .await
        .expect("write");
    let reply = line(&mut other).await.expect("login reply");
    assert!(reply.starts_with("a OK"), "{reply}");
    // A flooding connection that goes away gives its slot back.
    drop(flood.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut c = connect_from("127.0.0.1", server.addr).await;
        if line(&mut c).await.is_some_and(|l| l.starts_with("* OK")) {
            again = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the freed slot is usable again");
}

#[tokio::test]
async fn imap_idle_unauthenticated_clients_are_dropped_soon() {
    let config = zcs_server::imap::ImapConfig {
        login_timeout: Duration::from_millis(300),
        ..imap_support::test_config()
    };
    let server = imap_support::start(config).await;
    let mut idle = connect_from("127.0.0.1", server.addr).await;
    assert!(line(&mut idle).await.expect("greeting").starts_with("* OK"));
    let mut logged_in = imap_support::Client::login(server.addr).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        line(&mut idle).await.as_deref(),
        Some("* BYE Autologout; idle for too long")
    );
    assert_eq!(line(&mut idle).await, None);
    // A logged-in client keeps the long (30 minute) timeout.
    let (_, done) = logged_in.cmd("n", "NOOP").await;
    assert!(done.starts_with("n OK"), "{done}");
}

#[tokio::test]
async fn pop3_one_address_cannot_take_every_slot_and_idle_logins_end() {
    let config = zcs_server::pop3::Pop3Config {
        max_connections: 6,
        max_connections_per_ip: 3,
        login_timeout: Duration::from_millis(400),
        ..pop3_support::test_config()
    };
    let server = pop3_support::start(config).await;
    let mut flood = Vec::new();
    for _ in 0..3 {
        let mut c = connect_from("127.0.0.1", server.addr).await;
        assert!(line(&mut c).await.expect("greeting").starts_with("+OK"));
        flood.push(c);
    }
    let mut refused = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(
        line(&mut refused).await.as_deref(),
        Some("-ERR [SYS/TEMP] too many connections")
    );
    let mut other = connect_from("127.0.0.2", server.addr).await;
    assert!(line(&mut other).await.expect("greeting").starts_with("+OK"));
    // Logged in, the session outlives the login timeout.
    let user = format!("USER {}\r\n", pop3_support::USER);
    other.write_all(user.as_bytes()).await.expect("write");
    assert!(line(&mut other).await.expect("USER").starts_with("+OK"));
    let pass = format!("PASS {}\r\n", pop3_support::PASSWORD);
    other.write_all(pass.as_bytes()).await.expect("write");
    assert!(line(&mut other).await.expect("PASS").starts_with("+OK"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    for c in &mut flood {
        assert_eq!(
            line(c).await.as_deref(),
            Some("-ERR autologout; idle for too long")
        );
        assert_eq!(line(c).await, None);
    }
    other.write_all(b"NOOP\r\n").await.expect("write");
    assert!(line(&mut other).await.expect("NOOP").starts_with("+OK"));
}
