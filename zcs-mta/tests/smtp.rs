//! SMTP listener over a real loopback socket: transactions, pipelining, BDAT, replies to
//! bad input, and the exact bytes handed to `LocalDelivery`.

mod common;

use common::{Client, assert_reply, check_trace, config, start};
use zcs_mta::Protocol;

const BODY: &[u8] = b"From: a@x.test\r\nSubject: hi\r\n\r\nline one\r\n.leading dot\r\n\
..two dots\r\n.\tdot tab\r\nbare\nlf\r\n\r\nlast line\r\n";

/// Dot-stuffs `body` the way a client must (RFC 5321 §4.5.2).
fn stuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at_line_start = true;
    for (i, &b) in body.iter().enumerate() {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n' && i > 0 && body[i - 1] == b'\r';
    }
    out
}

#[tokio::test]
async fn full_transaction_keeps_bytes_exactly() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert_eq!(greeting, "220 mx.test ESMTP zcs ready\r\n");

    let ehlo = c.cmd("EHLO client.example").await;
    assert_reply(&ehlo, "250-mx.test\r\n");
    for ext in [
        "PIPELINING",
        "SIZE 10240000",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "DSN",
    ] {
        assert!(
            ehlo.contains(&format!("250-{ext}\r\n")),
            "{ext} missing in {ehlo}"
        );
    }
    assert!(ehlo.ends_with("250 SMTPUTF8\r\n"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"));

    assert_reply(
        &c.cmd("MAIL FROM:<Sender@X.test> SIZE=300 BODY=8BITMIME")
            .await,
        "250 2.1.0",
    );
    assert_reply(&c.cmd("RCPT TO:<User@Mx.Test>").await, "250 2.1.5");
    assert_eq!(
        c.cmd("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    c.send(&stuff(BODY)).await;
    let done = c.cmd(".").await;
    assert_reply(&done, "250 2.0.0 Ok: queued as ");

    let messages = server.recorder.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(done.contains(&m.id));
    assert_eq!(m.mail_from, "Sender@X.test");
    assert_eq!(m.recipients.len(), 1);
    assert_eq!(m.recipients[0].address, "User@Mx.Test");
    assert_eq!(m.recipients[0].canonical, "user@mx.test");
    assert_eq!(m.helo, "client.example");
    assert_eq!(m.protocol, Protocol::Smtp);
    assert_eq!(m.remote_ip.to_string(), "127.0.0.1");
    assert_eq!(check_trace(m, "client.example", "ESMTP"), BODY);

    assert_reply(&c.cmd("QUIT").await, "221 2.0.0");
    c.expect_closed().await;
}

#[tokio::test]
async fn pipelined_transactions() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let mut wire = b"EHLO pipe.example\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\n\
RCPT TO:<unknown@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
        .to_vec();
    c.send(&wire).await;
    assert_reply(&c.reply().await, "250-mx.test");
    assert_reply(&c.reply().await, "250 2.1.0");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "550 5.1.1 <unknown@x.test>");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "354");

    // The message, a whole second transaction and QUIT in one write.
    wire = b"one\r\n.\r\nMAIL FROM:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nBDAT 5 LAST\r\n\
two\r\nRSET\r\nQUIT\r\n"
        .to_vec();
    c.send(&wire).await;
    assert_reply(&c.reply().await, "250 2.0.0 Ok: queued as");
    assert_reply(&c.reply().await, "250 2.1.0");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "250 2.0.0 Ok: queued as");
    assert_reply(&c.reply().await, "250 2.0.0");
    assert_reply(&c.reply().await, "221");
    c.expect_closed().await;

    let messages = server.recorder.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].mail_from, "");
    let rcpts: Vec<_> = messages[0]
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(rcpts, ["a@x.test", "b@x.test"]);
    assert_eq!(messages[0].content(), b"one\r\n");
    assert_eq!(messages[1].content(), b"two\r\n");
}

#[tokio::test]
async fn unknown_and_failing_recipients() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    assert_eq!(
        c.cmd("RCPT TO:<unknown@x.test>").await,
        "550 5.1.1 <unknown@x.test>: Recipient address rejected: User unknown\r\n"
    );
    assert_eq!(
        c.cmd("RCPT TO:<tempfail@x.test>").await,
        "451 4.4.3 <tempfail@x.test>: directory unavailable\r\n"
    );
    assert_reply(
        &c.cmd("RCPT TO:<permfail@x.test>").await,
        "550 5.7.1 <permfail@x.test>",
    );
    assert_reply(&c.cmd("DATA").await, "554 5.5.1");
    assert_reply(&c.cmd("RCPT TO:<Postmaster>").await, "250 2.1.5");
    c.send(b"BDAT 3 LAST\r\nabc").await;
    assert_reply(&c.reply().await, "250 2.0.0 Ok: queued as");
    let messages = server.recorder.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].recipients[0].address, "Postmaster");
    assert_eq!(messages[0].content(), b"abc");
}

/// Sends one message to `rcpts` and returns the reply after the end of data.
async fn send_to(c: &mut Client, rcpts: &[&str]) -> String {
    assert_reply(&c.cmd("MAIL FROM:<s@x.test>").await, "250");
    for r in rcpts {
        assert_reply(&c.cmd(&format!("RCPT TO:<{r}>")).await, "250");
    }
    assert_reply(&c.cmd("DATA").await, "354");
    c.send(b"Subject: t\r\n\r\nbody\r\n").await;
    c.cmd(".").await
}

#[tokio::test]
async fn one_reply_for_all_recipients() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("HELO old.example").await;
    assert_reply(
        &send_to(&mut c, &["a@x.test", "b@x.test"]).await,
        "250 2.0.0",
    );
    let temp = send_to(&mut c, &["a@x.test", "deliverytemp@x.test"]).await;
    assert_eq!(temp, "451 4.2.2 Mailbox full\r\n");
    let perm = send_to(&mut c, &["deliveryperm1@x.test", "deliveryperm2@x.test"]).await;
    assert_eq!(perm, "554 5.2.1 mailbox disabled\r\n");
    let both = send_to(&mut c, &["deliveryperm@x.test", "deliverytemp@x.test"]).await;
    assert_reply(&both, "451 4.2.2");
    let part = send_to(&mut c, &["a@x.test", "deliveryperm@x.test"]).await;
    assert_reply(
        &part,
        "554 5.2.1 mailbox disabled (delivered to 1 of 2 recipients)",
    );

    // HELO (not EHLO) gives "with SMTP".
    let first = &server.recorder.messages()[0];
    assert_eq!(
        check_trace(first, "old.example", "SMTP"),
        b"Subject: t\r\n\r\nbody\r\n"
    );
}

#[tokio::test]
async fn sequence_and_syntax_errors() {
    let server = start(config(Protocol::Smtp)).await;
    // Fewer than 10 protocol errors per connection, so the error limit stays out of it.
    let (mut c, _) = Client::connect(server.addr).await;
    assert_reply(&c.cmd("MAIL FROM:<a@x.test>").await, "503 5.5.1");
    assert_reply(&c.cmd("LHLO x").await, "500 5.5.2");
    assert_reply(&c.cmd("EHLO").await, "501 5.5.4");
    c.cmd("EHLO c.example").await;
    assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "503 5.5.1");
    assert_reply(&c.cmd("DATA").await, "503 5.5.1");
    assert_reply(&c.cmd("FOO bar").await, "500 5.5.2");
    assert_reply(&c.cmd("MAIL FROM:a@x.test").await, "501 5.1.7");
    assert_reply(&c.cmd("STARTTLS").await, "502 5.5.1");
    assert_reply(&c.cmd("VRFY someone").await, "252 2.0.0");
    assert_reply(&c.cmd("HELP").await, "214 2.0.0");
    assert_reply(&c.cmd("NOOP").await, "250 2.0.0");

    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;
    assert_reply(&c.cmd("MAIL FROM:<a@x.test> FOO=1").await, "555 5.5.4");
    assert_reply(
        &c.cmd("MAIL FROM:<a@x.test> BODY=BINARYMIME").await,
        "555 5.5.4",
    );
    assert_reply(
        &c.cmd("MAIL FROM:<a@x.test> SIZE=10240001").await,
        "552 5.3.4",
    );
    assert_reply(&c.cmd("MAIL FROM:<ü@x.test>").await, "553 5.6.7");
    assert_reply(&c.cmd("MAIL FROM:<ü@x.test> SMTPUTF8").await, "250 2.1.0");
    assert_reply(&c.cmd("MAIL FROM:<b@x.test>").await, "503 5.5.1");
    assert_reply(&c.cmd("RCPT TO:<a@>").await, "501 5.1.3");
    assert_reply(&c.cmd("RCPT TO:<a@x.test> FOO=1").await, "555 5.5.4");
    assert_reply(&c.cmd("RCPT TO:<a@x.test> NOTIFY=BOGUS").await, "501 5.5.4");
    assert_reply(&c.cmd("RCPT TO:<a@x.test> NOTIFY=NEVER").await, "250 2.1.5");
    assert_reply(&c.cmd("RCPT TO:<\"q u\"@x.test>").await, "250 2.1.5");
    assert_reply(&c.cmd("RSET").await, "250 2.0.0");
    assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "503 5.5.1");
}

#[tokio::test]
async fn bdat_chunks_are_kept_raw() {
    let server = start(config(Protocol::Smtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("EHLO c.example").await;

    // BDAT without a transaction: refused, but its chunk is consumed.
    c.send(b"BDAT 8\r\nNOOP\r\n\r\n").await;
    assert_reply(&c.reply().await, "503 5.5.1");
    assert_reply(&c.cmd("NOOP").await, "250 2.0.0");

    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    let first = b"Subject: b\r\n\r\n.no unstuffing\r\n";
    c.send(format!("BDAT {}\r\n", first.len()).as_bytes()).await;
    c.send(first).await;
    assert_reply(
        &c.reply().await,
        &format!("250 2.0.0 {} octets received", first.len()),
    );
    assert_reply(&c.cmd("DATA").await, "503 5.5.1");
    c.send(b"BDAT 5 LAST\r\n.\r\nxy").await;
    assert_reply(&c.reply().await, "250 2.0.0 Ok: queued as");
    let messages = server.recorder.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].content(),
        b"Subject: b\r\n\r\n.no unstuffing\r\n.\r\nxy"
    );

    // An empty last chunk ends a message too.
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<r@x.test>").await;
    c.send(b"BDAT 2\r\nhiBDAT 0 LAST\r\n").await;
    assert_reply(&c.reply().await, "250 2.0.0 2 octets");
    assert_reply(&c.reply().await, "250 2.0.0 Ok: queued as");
    assert_eq!(server.recorder.messages()[1].content(), b"hi");
}
