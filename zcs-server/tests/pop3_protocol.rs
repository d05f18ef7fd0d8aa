//! End-to-end tests of the POP3 front end: `serve` on 127.0.0.1:0 with the in-memory
//! backend of `pop3_support`, driven by a raw TCP client.

mod pop3_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use pop3_support::{ALIAS, Client, PASSWORD, USER, sample_messages, start, test_config, unstuff};
use zcs_core::ItemId;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn greeting_and_capabilities() {
    let server = start(test_config()).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert!(
        greeting.starts_with("+OK zcs POP3 server ready <") && greeting.ends_with("@pop.test>"),
        "{greeting}"
    );
    assert_eq!(c.cmd("CAPA").await, "+OK Capability list follows");
    let caps = c.multi().await;
    for cap in [
        "TOP",
        "UIDL",
        "USER",
        "SASL PLAIN",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "IMPLEMENTATION zcs",
    ] {
        assert!(caps.iter().any(|c| c == cap), "{cap} missing from {caps:?}");
    }
    assert!(!caps.iter().any(|c| c.starts_with("EXPIRE") || c == "STLS"));
    assert_eq!(c.cmd("AUTH").await, "+OK mechanisms follow");
    assert_eq!(c.multi().await, vec!["PLAIN"]);
    // Maildrop commands need a login.
    assert!(c.cmd("STAT").await.starts_with("-ERR"));
    assert!(c.cmd("PASS x").await.starts_with("-ERR"));
    assert!(c.cmd("APOP a b").await.starts_with("-ERR"));
    assert!(c.cmd("QUIT").await.starts_with("+OK"));
    assert!(c.line().await.is_none());
}

#[tokio::test]
async fn cleartext_disabled_hides_user_and_sasl() {
    let server = start(pop3_support::test_config_without_cleartext()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("CAPA").await;
    let caps = c.multi().await;
    assert!(!caps.iter().any(|c| c == "USER" || c.starts_with("SASL")));
    assert!(c.cmd(&format!("USER {USER}")).await.starts_with("-ERR"));
    assert!(c.cmd("AUTH PLAIN =").await.starts_with("-ERR"));
}

#[tokio::test]
async fn failed_logins_look_the_same_and_end_the_connection() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    assert!(c.cmd("USER nobody@example.com").await.starts_with("+OK"));
    let unknown = c.cmd("PASS whatever").await;
    assert!(c.cmd(&format!("USER {USER}")).await.starts_with("+OK"));
    let wrong = c.cmd("PASS wrong").await;
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, "-ERR [AUTH] invalid user name or password");
    let third = c
        .cmd(&format!("AUTH PLAIN {}", b64(&format!("\0{USER}\0nope"))))
        .await;
    assert_eq!(third, wrong);
    assert!(
        c.line()
            .await
            .unwrap()
            .starts_with("-ERR too many failed logins")
    );
    assert!(c.line().await.is_none());

    // A directory outage is not an authentication failure.
    server.backend.down.store(true, Ordering::SeqCst);
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd(&format!("USER {USER}")).await;
    assert!(
        c.cmd(&format!("PASS {PASSWORD}"))
            .await
            .starts_with("-ERR [SYS/TEMP]")
    );
}

#[tokio::test]
async fn auth_plain_initial_response_and_continuation() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let r = c
        .cmd(&format!(
            "AUTH PLAIN {}",
            b64(&format!("\0{USER}\0{PASSWORD}"))
        ))
        .await;
    assert_eq!(r, "+OK maildrop has 3 messages (144 octets)");
    assert!(c.cmd("QUIT").await.starts_with("+OK"));

    let (mut c, _) = Client::connect(server.addr).await;
    assert_eq!(c.cmd("auth plain").await, "+ ");
    assert!(
        c.cmd("*")
            .await
            .starts_with("-ERR authentication cancelled")
    );
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    assert!(c.cmd("!!notbase64").await.starts_with("-ERR"));
    assert!(c.cmd("AUTH CRAM-MD5").await.starts_with("-ERR"));
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    // authzid equal to authcid is accepted.
    let r = c.cmd(&b64(&format!("{USER}\0{USER}\0{PASSWORD}"))).await;
    assert!(r.starts_with("+OK maildrop has 3"), "{r}");

    // Acting as another account is refused like a bad password.
    let (mut c, _) = Client::connect(server.addr).await;
    let r = c
        .cmd(&format!(
            "AUTH PLAIN {}",
            b64(&format!("bob\0{USER}\0{PASSWORD}"))
        ))
        .await;
    assert!(r.starts_with("-ERR [AUTH]"), "{r}");
}

#[tokio::test]
async fn stat_list_uidl_retr_top() {
    let server = start(test_config()).await;
    let msgs = sample_messages();
    let mut c = Client::login(server.addr).await;
    let total: usize = msgs.iter().map(Vec::len).sum();
    assert_eq!(c.cmd("STAT").await, format!("+OK 3 {total}"));
    assert!(c.cmd("LIST").await.starts_with("+OK 3 messages"));
    let list = c.multi().await;
    let want: Vec<String> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} {}", i + 1, m.len()))
        .collect();
    assert_eq!(list, want);
    assert_eq!(c.cmd("LIST 2").await, format!("+OK 2 {}", msgs[1].len()));
    assert!(c.cmd("LIST 4").await.starts_with("-ERR no such message"));
    assert!(c.cmd("LIST 0").await.starts_with("-ERR no such message"));
    assert!(c.cmd("UIDL").await.starts_with("+OK"));
    // The third message's backend uid is invalid: the item id stands in.
    assert_eq!(c.multi().await, vec!["1 300.uv1", "2 301.uv1", "3 302"]);
    assert_eq!(c.cmd("UIDL 2").await, "+OK 2 301.uv1");

    for (i, m) in msgs.iter().enumerate() {
        let status = c.cmd(&format!("RETR {}", i + 1)).await;
        assert_eq!(status, format!("+OK {} octets", m.len()));
        let body = c.multi_raw().await;
        let mut want = m.clone();
        if !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        assert_eq!(unstuff(&body), want, "message {}", i + 1);
    }
    // Dot-stuffing on the wire.
    c.cmd("RETR 2").await;
    assert_eq!(
        c.multi_raw().await,
        b"Subject: dots\r\n\r\n..leading dot\r\n..\r\n...two\r\nlast\r\n"
    );

    assert!(c.cmd("TOP 3 0").await.starts_with("+OK"));
    assert_eq!(c.multi().await, vec!["Subject: three", "X: y", ""]);
    c.cmd("TOP 3 2").await;
    assert_eq!(
        c.multi().await,
        vec!["Subject: three", "X: y", "", "l1", "l2"]
    );
    c.cmd("TOP 3 100").await;
    assert_eq!(c.multi().await.last().unwrap(), "no final line end");
    assert!(c.cmd("TOP 9 1").await.starts_with("-ERR"));
    assert!(c.cmd("TOP 1").await.starts_with("-ERR"));
    assert_eq!(c.cmd("NOOP").await, "+OK");
    // Login commands are refused once logged in.
    assert!(c.cmd("USER x").await.starts_with("-ERR"));
    assert!(c.cmd("QUIT").await.starts_with("+OK"));
    assert!(server.backend.alice().deletes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn deletes_apply_only_at_quit() {
    let server = start(test_config()).await;
    let alice = server.backend.alice();

    // DELE then RSET: nothing deleted.
    let mut c = Client::login(server.addr).await;
    assert_eq!(c.cmd("DELE 1").await, "+OK message 1 deleted");
    assert!(
        c.cmd("DELE 1")
            .await
            .starts_with("-ERR message 1 already deleted")
    );
    assert!(c.cmd("RETR 1").await.starts_with("-ERR"));
    assert!(c.cmd("LIST 1").await.starts_with("-ERR"));
    assert!(c.cmd("STAT").await.starts_with("+OK 2 "));
    assert!(
        c.cmd("RSET")
            .await
            .starts_with("+OK maildrop has 3 messages")
    );
    assert!(c.cmd("STAT").await.starts_with("+OK 3 "));
    c.cmd("QUIT").await;
    assert!(alice.deletes.lock().unwrap().is_empty());

    // DELE then an abrupt disconnect: nothing deleted.
    let mut c = Client::login(server.addr).await;
    assert!(c.cmd("DELE 2").await.starts_with("+OK"));
    drop(c);
    // The lock is free again once the server saw the disconnect.
    let mut c = loop {
        let mut c = Client::login_raw(server.addr).await;
        if c.1.starts_with("+OK") {
            break c.0;
        }
        assert!(c.1.starts_with("-ERR [IN-USE]"), "{}", c.1);
        c.0.cmd("QUIT").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(alice.deletes.lock().unwrap().is_empty());
    assert_eq!(alice.ids(), vec![300, 301, 302]);

    // DELE then QUIT: applied.
    assert!(c.cmd("DELE 2").await.starts_with("+OK"));
    assert!(c.cmd("DELE 3").await.starts_with("+OK"));
    let bye = c.cmd("QUIT").await;
    assert!(
        bye.starts_with("+OK") && bye.contains("2 messages deleted"),
        "{bye}"
    );
    assert!(c.line().await.is_none());
    assert_eq!(
        *alice.deletes.lock().unwrap(),
        vec![vec![ItemId(301), ItemId(302)]]
    );
    let mut c = Client::login(server.addr).await;
    assert_eq!(
        c.cmd("STAT").await,
        format!("+OK 1 {}", sample_messages()[0].len())
    );
}

#[tokio::test]
async fn second_session_gets_in_use() {
    let server = start(test_config()).await;
    let mut first = Client::login(server.addr).await;
    let (mut second, _) = Client::connect(server.addr).await;
    second.cmd(&format!("USER {ALIAS}")).await;
    let r = second.cmd(&format!("PASS {PASSWORD}")).await;
    assert!(r.starts_with("-ERR [IN-USE]"), "{r}");
    // Still in AUTHORIZATION.
    assert!(second.cmd("STAT").await.starts_with("-ERR"));
    first.cmd("QUIT").await;
    assert!(first.line().await.is_none());
    second.cmd(&format!("USER {USER}")).await;
    let r = second.cmd(&format!("PASS {PASSWORD}")).await;
    assert!(r.starts_with("+OK"), "{r}");
}

#[tokio::test]
async fn pipelined_commands_are_all_answered() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let mut batch = format!("USER {USER}\r\nPASS {PASSWORD}\r\n");
    for _ in 0..500 {
        batch.push_str("STAT\r\nLIST 1\r\nNOOP\r\n");
    }
    batch.push_str("QUIT\r\n");
    c.send_raw(batch.as_bytes()).await;
    assert!(c.line().await.unwrap().starts_with("+OK"));
    assert!(c.line().await.unwrap().starts_with("+OK maildrop"));
    for _ in 0..500 {
        assert!(c.line().await.unwrap().starts_with("+OK 3 "));
        assert!(c.line().await.unwrap().starts_with("+OK 1 "));
        assert_eq!(c.line().await.unwrap(), "+OK");
    }
    assert!(c.line().await.unwrap().contains("signing off"));
    assert!(c.line().await.is_none());
}

#[tokio::test]
async fn long_lines_and_garbage() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    // 10 MB without a line end is dropped as it arrives, then refused.
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..10 {
        c.send_raw(&chunk).await;
    }
    c.send_raw(b"\r\n").await;
    assert_eq!(c.line().await.unwrap(), "-ERR line too long");
    // The connection still works.
    assert!(c.cmd("CAPA").await.starts_with("+OK"));
    c.multi().await;
    c.send_raw(b"\xff\xfe\x00garbage\r\n").await;
    assert!(c.line().await.unwrap().starts_with("-ERR"));
    // Too many errors close the connection.
    let mut closed = false;
    for _ in 0..20 {
        c.send("FOO").await;
        match c.line().await {
            Some(l) if l.starts_with("-ERR too many errors") => {
                closed = c.line().await.is_none();
                break;
            }
            Some(l) => assert_eq!(l, "-ERR unknown command"),
            None => break,
        }
    }
    assert!(closed);
}

#[tokio::test]
async fn idle_session_is_logged_out_without_update() {
    let config = zcs_server::pop3::Pop3Config {
        idle_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let server = start(config).await;
    let mut c = Client::login(server.addr).await;
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    let line = c.line().await.unwrap();
    assert!(line.starts_with("-ERR autologout"), "{line}");
    assert!(c.line().await.is_none());
    assert!(server.backend.alice().deletes.lock().unwrap().is_empty());
    assert_eq!(server.backend.alice().ids().len(), 3);
}

#[tokio::test]
async fn shutdown_closes_sessions_without_update() {
    let server = start(test_config()).await;
    let mut c = Client::login(server.addr).await;
    assert!(c.cmd("DELE 1").await.starts_with("+OK"));
    server.shutdown.send(true).unwrap();
    let line = c.line().await.unwrap();
    assert_eq!(line, "-ERR [SYS/TEMP] server shutting down");
    assert!(c.line().await.is_none());
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("listener stops")
        .unwrap()
        .unwrap();
    assert!(server.backend.alice().deletes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn too_many_connections_are_refused() {
    let config = zcs_server::pop3::Pop3Config {
        max_connections: 1,
        ..test_config()
    };
    let server = start(config).await;
    let (_first, greeting) = Client::connect(server.addr).await;
    assert!(greeting.starts_with("+OK"));
    let (mut second, greeting) = Client::connect(server.addr).await;
    assert_eq!(greeting, "-ERR [SYS/TEMP] too many connections");
    assert!(second.line().await.is_none());
}

#[tokio::test]
async fn large_message_is_streamed_exactly() {
    let server = start(test_config()).await;
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..100_000 {
        big.extend_from_slice(format!(".line {i} with a leading dot\r\n").as_bytes());
    }
    server
        .backend
        .alice()
        .messages
        .lock()
        .unwrap()
        .insert(400, big.clone());
    let mut c = Client::login(server.addr).await;
    assert_eq!(c.cmd("RETR 4").await, format!("+OK {} octets", big.len()));
    assert_eq!(unstuff(&c.multi_raw().await), big);
    assert!(c.cmd("TOP 4 3").await.starts_with("+OK"));
    assert_eq!(c.multi().await.len(), 5);
}
