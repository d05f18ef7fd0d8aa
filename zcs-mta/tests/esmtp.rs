//! STARTTLS, implicit TLS, AUTH, submission mode and DSN parameters over real loopback
//! sockets, with a rustls client.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::wire::{FakeAuth, Sink, Wire, connect, server_name, tls_pair};
use common::{assert_reply, config, start};
use tokio::net::TcpStream;
use zcs_mta::Protocol;

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

#[tokio::test]
async fn starttls_auth_and_submission() {
    let (acceptor, connector) = tls_pair();
    let mut cfg = config(Protocol::Smtp);
    cfg.tls = Some(acceptor);
    cfg.authenticator = Some(Arc::new(FakeAuth));
    cfg.submission = true;
    cfg.auth_failure_delay = Duration::from_millis(50);
    let server = start(cfg).await;

    let (mut c, _) = connect(server.addr).await;
    let ehlo = c.cmd("EHLO client.x.test").await;
    assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "no AUTH on cleartext: {ehlo}");
    let plain = b64("\0joe@x.test\0secret");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {plain}")).await, "538 5.7.11");
    assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "530 5.7.0");

    // RFC 3207 §6: the NOOP pipelined behind STARTTLS must be thrown away.
    c.send(b"STARTTLS\r\nNOOP\r\n").await;
    assert_reply(&c.reply().await, "220 2.0.0");
    let tls = connector.connect(server_name(), c.stream).await.unwrap();
    let mut c = Wire::new(tls);
    let ehlo = c.cmd("EHLO client.x.test").await;
    assert!(
        ehlo.starts_with("250-mx.test\r\n"),
        "no reply to the NOOP: {ehlo}"
    );
    assert!(ehlo.contains("250-AUTH PLAIN LOGIN\r\n"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_reply(&c.cmd("STARTTLS").await, "503 5.5.1");

    assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "530 5.7.0");
    let wrong = b64("\0joe@x.test\0guess");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {wrong}")).await, "535 5.7.8");
    assert_reply(&c.cmd("AUTH CRAM-MD5").await, "504 5.5.4");
    // PLAIN without an initial response, then cancelled.
    assert_eq!(c.cmd("AUTH PLAIN").await, "334 \r\n");
    assert_reply(&c.cmd("*").await, "501 5.0.0");
    assert_reply(&c.cmd("AUTH PLAIN").await, "334 ");
    assert_reply(&c.cmd("not base64!").await, "501 5.5.2");
    let down = b64("\0down@x.test\0pw");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {down}")).await, "454 4.7.0");

    // LOGIN, step by step.
    assert_eq!(c.cmd("AUTH LOGIN").await, "334 VXNlcm5hbWU6\r\n");
    assert_eq!(c.cmd(&b64("joe@x.test")).await, "334 UGFzc3dvcmQ6\r\n");
    assert_reply(&c.cmd(&b64("secret")).await, "235 2.7.0");
    assert_reply(&c.cmd("AUTH LOGIN").await, "503 5.5.1");

    // Sender ownership (reject_sender_login_mismatch).
    assert_reply(&c.cmd("MAIL FROM:<boss@x.test>").await, "553 5.7.1");
    assert_reply(&c.cmd("MAIL FROM:<Joseph@x.test>").await, "250 2.1.0");
    assert_reply(&c.cmd("RCPT TO:<ann@x.test>").await, "250 2.1.5");
    let done = c.data("Subject: hi\r\n\r\nover TLS\r\n").await;
    assert_reply(&done, "250 2.0.0");
    assert_reply(&c.cmd("QUIT").await, "221");

    let got = server.recorder.messages();
    assert_eq!(got.len(), 1);
    // Authenticated mail without them gets Date and Message-ID (RFC 5322 §3.6).
    let content = String::from_utf8_lossy(got[0].content()).into_owned();
    assert!(content.starts_with("Date: "), "{content}");
    assert!(content.contains("\r\nMessage-ID: <"), "{content}");
    assert!(
        content.ends_with(">\r\nSubject: hi\r\n\r\nover TLS\r\n"),
        "{content}"
    );
}

#[tokio::test]
async fn cleartext_auth_when_allowed_and_auth_at_mail() {
    let mut cfg = config(Protocol::Smtp);
    cfg.authenticator = Some(Arc::new(FakeAuth));
    cfg.require_tls_for_auth = false;
    cfg.auth_failure_delay = Duration::ZERO;
    cfg.limits.max_errors = 3;
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    assert_reply(&c.cmd("AUTH PLAIN").await, "503 5.5.1"); // EHLO first
    let ehlo = c.cmd("EHLO c.x.test").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    // MAIL's AUTH= parameter is accepted (RFC 4954 §5).
    assert_reply(&c.cmd("MAIL FROM:<a@y.test> AUTH=<>").await, "250 2.1.0");
    assert_reply(&c.cmd("RSET").await, "250");
    // Failed logins count towards the error limit and end the session.
    let wrong = b64("\0joe@x.test\0no");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {wrong}")).await, "535 5.7.8");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {wrong}")).await, "535 5.7.8");
    assert_reply(&c.reply().await, "421 4.7.0");
    assert!(c.closed().await);
}

#[tokio::test]
async fn implicit_tls() {
    let (acceptor, connector) = tls_pair();
    let mut cfg = config(Protocol::Smtp);
    cfg.tls = Some(acceptor);
    cfg.implicit_tls = true;
    cfg.authenticator = Some(Arc::new(FakeAuth));
    let server = start(cfg).await;

    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let tls = connector.connect(server_name(), tcp).await.unwrap();
    let mut c = Wire::new(tls);
    assert_eq!(c.reply().await, "220 mx.test ESMTP zcs ready\r\n");
    let ehlo = c.cmd("EHLO c.x.test").await;
    assert!(
        ehlo.contains("AUTH PLAIN LOGIN") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    let plain = b64("joe@x.test\0joe@x.test\0secret");
    assert_reply(&c.cmd(&format!("AUTH PLAIN {plain}")).await, "235 2.7.0");

    // A client that speaks cleartext to the TLS port gets no greeting (at most a TLS
    // alert) and is dropped.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"EHLO x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut rest);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap()
        .ok();
    assert!(!String::from_utf8_lossy(&rest).contains("220"), "{rest:?}");
}

#[tokio::test]
async fn dsn_parameters_reach_the_envelope() {
    let sink = Arc::new(Sink::default());
    let mut cfg = config(Protocol::Smtp);
    cfg.sink = Some(sink.clone());
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO c.x.test").await;
    let mail = "MAIL FROM:<a@y.test> RET=HDRS ENVID=Q+2BZ BODY=8BITMIME";
    assert_reply(&c.cmd(mail).await, "250 2.1.0");
    let rcpt = "RCPT TO:<b@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40x.test";
    assert_reply(&c.cmd(rcpt).await, "250 2.1.5");
    assert_reply(&c.cmd("RCPT TO:<c@x.test>").await, "250 2.1.5");
    assert_reply(&c.data("Subject: dsn\r\n\r\nx\r\n").await, "250 2.0.0");

    let got = sink.all();
    assert_eq!(got.len(), 1);
    let (message, env) = &got[0];
    assert_eq!(message.recipients.len(), 2);
    assert_eq!(env.ret, Some(zcs_mta::envelope::DsnRet::Headers));
    assert_eq!(env.envid.as_deref(), Some("Q+Z"));
    assert_eq!(env.body, zcs_mta::Body::EightBitMime);
    assert_eq!(env.recipients.len(), 2);
    let n = env.recipients[0].params.notify.unwrap();
    assert!(n.success && n.failure && !n.delay && !n.never);
    assert_eq!(
        env.recipients[0].params.orcpt,
        Some(("rfc822".into(), "b@x.test".into()))
    );
    assert_eq!(env.recipients[1].params, Default::default());
    assert!(!env.recipients[0].relay && env.authenticated.is_none() && !env.tls);
    // Nothing went to LocalDelivery::deliver.
    assert!(server.recorder.messages().is_empty());
}

#[tokio::test]
async fn lmtp_offers_no_auth() {
    let mut cfg = config(Protocol::Lmtp);
    cfg.authenticator = Some(Arc::new(FakeAuth));
    cfg.require_tls_for_auth = false;
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    let lhlo = c.cmd("LHLO c.x.test").await;
    assert!(!lhlo.contains("AUTH") && lhlo.contains("DSN"), "{lhlo}");
    assert_reply(&c.cmd("AUTH PLAIN AGEAYg==").await, "502 5.5.1");
}
