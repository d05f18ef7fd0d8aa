//! LMTP listener (RFC 2033): LHLO, one reply per accepted recipient after DATA and after
//! BDAT LAST, including mixed outcomes and oversize messages.

mod common;

use common::{Client, assert_reply, check_trace, config, start};
use zcs_mta::Protocol;

#[tokio::test]
async fn per_recipient_replies_after_data() {
    let server = start(config(Protocol::Lmtp)).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert_reply(&greeting, "220 mx.test LMTP");
    assert_reply(&c.cmd("EHLO mta.example").await, "500 5.5.1");
    assert_reply(&c.cmd("MAIL FROM:<s@x.test>").await, "503 5.5.1");
    let lhlo = c.cmd("LHLO mta.example").await;
    assert_reply(&lhlo, "250-mx.test\r\n");
    assert!(lhlo.contains("PIPELINING") && lhlo.contains("ENHANCEDSTATUSCODES"));

    // Pipelined: MAIL, four RCPTs (one unknown), DATA.
    c.send(
        b"MAIL FROM:<s@x.test>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<deliverytemp@x.test>\r\n\
RCPT TO:<unknown@x.test>\r\nRCPT TO:<deliveryperm@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n",
    )
    .await;
    assert_reply(&c.reply().await, "250 2.1.0");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "550 5.1.1");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "250 2.1.5");
    assert_reply(&c.reply().await, "354");
    c.send(b"Subject: lmtp\r\n\r\n..x\r\n.\r\n").await;

    // Four accepted recipients: four replies, in RCPT order.
    let id = {
        let first = c.reply().await;
        assert_reply(&first, "250 2.1.5 <a@x.test> Delivered as ");
        first.trim_end().rsplit(' ').next().unwrap().to_string()
    };
    assert_eq!(
        c.reply().await,
        "451 4.2.2 <deliverytemp@x.test> Mailbox full\r\n"
    );
    assert_eq!(
        c.reply().await,
        "550 5.2.1 <deliveryperm@x.test> mailbox disabled\r\n"
    );
    assert_eq!(
        c.reply().await,
        format!("250 2.1.5 <c@x.test> Delivered as {id}\r\n")
    );
    assert_reply(&c.cmd("NOOP").await, "250 2.0.0");

    let messages = server.recorder.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.id, id);
    assert_eq!(m.protocol, Protocol::Lmtp);
    assert_eq!(m.recipients.len(), 4);
    // Only the Received field is added for LMTP: no Return-Path.
    assert_eq!(
        check_trace(m, "mta.example", "LMTP"),
        b"Subject: lmtp\r\n\r\n.x\r\n"
    );
    assert_reply(&c.cmd("QUIT").await, "221 2.0.0");
}

#[tokio::test]
async fn per_recipient_replies_after_bdat_last() {
    let server = start(config(Protocol::Lmtp)).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("LHLO mta.example").await;
    c.cmd("MAIL FROM:<> SMTPUTF8").await;
    assert_reply(&c.cmd("RCPT TO:<ä@x.test>").await, "250 2.1.5");
    assert_reply(&c.cmd("RCPT TO:<deliverytemp@x.test>").await, "250 2.1.5");
    c.send(b"BDAT 4\r\nab\r\n").await;
    assert_reply(&c.reply().await, "250 2.0.0 4 octets received");
    c.send(b"BDAT 2 LAST\r\ncd").await;
    assert_reply(&c.reply().await, "250 2.1.5 <ä@x.test>");
    assert_reply(&c.reply().await, "451 4.2.2 <deliverytemp@x.test>");
    let m = &server.recorder.messages()[0];
    assert!(m.smtputf8);
    assert_eq!(check_trace(m, "mta.example", "UTF8LMTP"), b"ab\r\ncd");
}

#[tokio::test]
async fn oversize_gets_one_552_per_recipient() {
    let mut cfg = config(Protocol::Lmtp);
    cfg.max_message_size = 100;
    let server = start(cfg).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.cmd("LHLO mta.example").await;
    c.cmd("MAIL FROM:<s@x.test>").await;
    c.cmd("RCPT TO:<a@x.test>").await;
    c.cmd("RCPT TO:<b@x.test>").await;
    assert_reply(&c.cmd("DATA").await, "354");
    c.send(&[b'x'; 500]).await;
    c.send(b"\r\n.\r\n").await;
    assert_reply(&c.reply().await, "552 5.3.4");
    assert_reply(&c.reply().await, "552 5.3.4");
    assert_reply(&c.cmd("NOOP").await, "250 2.0.0");
    assert!(server.recorder.messages().is_empty());
}
