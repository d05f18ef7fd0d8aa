//! The milter client against a small milter written here (Sendmail milter protocol v6 on
//! 127.0.0.1, port 0, or on a Unix-domain socket in a temporary directory): the
//! conversation's order, every verdict (refusals of MAIL and RCPT answered to those
//! commands), header/body/recipient edits, quarantine to hold, and the default action
//! when the milter is down or slow.
//! With `ZCS_TEST_MILTER` (OpenDKIM in verify mode from `.ci/setup.d/35-milter.sh`) a
//! message also goes through that real milter and comes back with its
//! `Authentication-Results` field.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{Sink, connect};
use common::{assert_reply, config, start};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use zcs_mta::Protocol;
use zcs_mta::milter::codec::{self, Command, Response, action, step};
use zcs_mta::milter::{DefaultAction, MilterAddress, MilterSettings};

type Log = Arc<Mutex<Vec<Command>>>;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn read_command(s: &mut impl Stream) -> Option<Command> {
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).await.ok()?;
    let len = codec::packet_len(prefix).ok()?;
    let mut packet = vec![0u8; len];
    s.read_exact(&mut packet).await.ok()?;
    codec::decode_command(&packet).ok()
}

async fn send(s: &mut impl Stream, r: Response) {
    s.write_all(&r.encode()).await.unwrap();
}

/// One milter session: answers `c` to everything (no reply to header fields, which it
/// negotiates away), refuses `MAIL FROM:<spammer@...>`, `RCPT TO:<blocked@...>` (for
/// good) and `RCPT TO:<later@...>` (for now), discards at `RCPT TO:<drop@...>`, and at
/// the end of body acts on a keyword of the body.
async fn milter_session(mut s: impl Stream, log: Log) {
    let mut body = Vec::new();
    while let Some(cmd) = read_command(&mut s).await {
        log.lock().unwrap().push(cmd.clone());
        match cmd {
            Command::OptNeg { .. } => {
                let r = Response::OptNeg {
                    version: 6,
                    actions: action::SUPPORTED,
                    protocol: step::NR_HEADER,
                };
                send(&mut s, r).await;
            }
            Command::Macro { .. } | Command::Header(..) | Command::Abort => {}
            Command::Quit => return,
            Command::Mail(args) if args[0].starts_with("<spammer") => {
                send(&mut s, Response::Reject).await;
            }
            Command::Rcpt(args) if args[0].starts_with("<blocked") => {
                let text = "550 5.7.1 recipient blocked by milter";
                send(&mut s, Response::ReplyCode(text.into())).await;
            }
            Command::Rcpt(args) if args[0].starts_with("<later") => {
                send(&mut s, Response::TempFail).await;
            }
            Command::Rcpt(args) if args[0].starts_with("<drop") => {
                send(&mut s, Response::Discard).await;
            }
            Command::Body(chunk) => {
                body.extend(chunk);
                send(&mut s, Response::Continue).await;
            }
            Command::EndOfBody => {
                let text = String::from_utf8_lossy(&body).to_string();
                let has = |k: &str| text.contains(k);
                if has("REJECTME") {
                    send(
                        &mut s,
                        Response::ReplyCode("554 5.7.1 milter says no".into()),
                    )
                    .await;
                } else if has("TEMPME") {
                    send(&mut s, Response::TempFail).await;
                } else if has("DISCARDME") {
                    send(&mut s, Response::Discard).await;
                } else if has("SLOWME") {
                    send(&mut s, Response::Progress).await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    send(&mut s, Response::Continue).await;
                } else if has("EDITME") {
                    for r in [
                        Response::AddHeader("X-Milter".into(), "seen".into()),
                        Response::ChangeHeader(1, "Subject".into(), "rewritten".into()),
                        Response::AddRcpt("<added@x.test>".into()),
                        Response::DelRcpt("<bob@x.test>".into()),
                        Response::ReplaceBody(b"replaced\r\n".to_vec()),
                        Response::Accept,
                    ] {
                        send(&mut s, r).await;
                    }
                } else if has("HOLDME") {
                    send(&mut s, Response::Quarantine("looks odd".into())).await;
                    send(&mut s, Response::Continue).await;
                } else {
                    send(&mut s, Response::Continue).await;
                }
                body.clear();
            }
            _ => send(&mut s, Response::Continue).await,
        }
    }
}

async fn test_milter() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(milter_session(s, l.clone()));
        }
    });
    (addr, log)
}

/// The same milter on a Unix-domain socket; its `unix:` address (keep the directory).
async fn unix_milter() -> (String, Log, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(milter_session(s, l.clone()));
        }
    });
    (format!("unix:{}", path.display()), log, dir)
}

fn settings(addr: &str, default_action: DefaultAction) -> MilterSettings {
    MilterSettings {
        milters: vec![MilterAddress { addr: addr.into() }],
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(2),
        content_timeout: Duration::from_millis(700),
        default_action,
    }
}

/// Sends one message from `from` to `rcpts` with `body`; the final reply (or the first
/// refusal) and the sink.
async fn run(
    milters: MilterSettings,
    from: &str,
    rcpts: &[&str],
    body: &str,
) -> (String, Arc<Sink>) {
    let mut cfg = config(Protocol::Smtp);
    cfg.milters = milters;
    let sink = Arc::new(Sink::default());
    cfg.sink = Some(sink.clone());
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    assert_reply(&c.cmd("EHLO client.x.test").await, "250");
    // A refusal of MAIL or RCPT (by a milter or its default action) ends the run.
    let mail = c.cmd(&format!("MAIL FROM:<{from}>")).await;
    if !mail.starts_with("250") {
        return (mail, sink);
    }
    for r in rcpts {
        let reply = c.cmd(&format!("RCPT TO:<{r}>")).await;
        if !reply.starts_with("250") {
            return (reply, sink);
        }
    }
    let msg = format!("Subject: hello\r\nFrom: <{from}>\r\n\r\n{body}\r\n.\r\n");
    let reply = c.data(&msg).await;
    (reply, sink)
}

#[tokio::test]
async fn conversation_order_and_edits() {
    let (addr, log) = test_milter().await;
    let s = settings(&addr, DefaultAction::TempFail);
    let (reply, sink) = run(s, "joe@x.test", &["alice@x.test", "bob@x.test"], "EDITME").await;
    assert_reply(&reply, "250");
    let got = sink.all();
    assert_eq!(got.len(), 1);
    let (m, env) = &got[0];
    let rcpts: Vec<&str> = m.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(rcpts, ["alice@x.test", "added@x.test"]);
    assert_eq!(env.recipients.len(), 2);
    let content = String::from_utf8_lossy(m.content()).to_string();
    assert!(content.contains("Subject: rewritten\r\n"), "{content}");
    assert!(content.contains("X-Milter: seen\r\n"), "{content}");
    assert!(content.ends_with("\r\n\r\nreplaced\r\n"), "{content}");
    assert!(env.hold.is_none());

    // Give the milter a moment to log the Quit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let kinds: Vec<char> = log
        .lock()
        .unwrap()
        .iter()
        .map(|c| char::from(c.encode()[4]))
        .collect();
    let text: String = kinds.into_iter().collect();
    assert_eq!(text, "ODCHDMDRDRTLLNBDEQ", "commands the milter saw");
    let seen = log.lock().unwrap().clone();
    assert!(seen.contains(&Command::Helo("client.x.test".into())));
    assert!(seen.contains(&Command::Mail(vec!["<joe@x.test>".into()])));
    assert!(seen.contains(&Command::Header("Subject".into(), "hello".into())));
}

#[tokio::test]
async fn verdicts() {
    let (addr, _) = test_milter().await;
    let s = || settings(&addr, DefaultAction::TempFail);
    let (reply, sink) = run(s(), "joe@x.test", &["a@x.test"], "REJECTME").await;
    assert_reply(&reply, "554 5.7.1");
    assert!(reply.contains("milter says no"), "{reply}");
    assert!(sink.all().is_empty());

    let (reply, sink) = run(s(), "joe@x.test", &["a@x.test"], "TEMPME").await;
    assert_reply(&reply, "451 4.7.1");
    assert!(sink.all().is_empty());

    let (reply, sink) = run(s(), "joe@x.test", &["a@x.test"], "DISCARDME").await;
    assert_reply(&reply, "250");
    assert!(sink.all().is_empty());

    let (reply, sink) = run(s(), "joe@x.test", &["a@x.test"], "HOLDME").await;
    assert_reply(&reply, "250");
    assert_eq!(sink.all()[0].1.hold.as_deref(), Some("looks odd"));

    let (reply, sink) = run(s(), "joe@x.test", &["a@x.test"], "plain").await;
    assert_reply(&reply, "250");
    assert_eq!(sink.all().len(), 1);
    assert!(!String::from_utf8_lossy(sink.all()[0].0.content()).contains("X-Milter"));
}

#[tokio::test]
async fn default_action_when_down_or_slow() {
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().to_string()
    };
    let (reply, sink) = run(
        settings(&dead, DefaultAction::TempFail),
        "j@x.test",
        &["a@x.test"],
        "x",
    )
    .await;
    assert_reply(&reply, "451 4.7.1");
    assert!(sink.all().is_empty());

    let (reply, sink) = run(
        settings(&dead, DefaultAction::Accept),
        "j@x.test",
        &["a@x.test"],
        "x",
    )
    .await;
    assert_reply(&reply, "250");
    assert_eq!(sink.all().len(), 1);

    let (reply, sink) = run(
        settings(&dead, DefaultAction::Reject),
        "j@x.test",
        &["a@x.test"],
        "x",
    )
    .await;
    assert_reply(&reply, "550");
    assert!(sink.all().is_empty());

    let (reply, sink) = run(
        settings(&dead, DefaultAction::Quarantine),
        "j@x.test",
        &["a@x.test"],
        "x",
    )
    .await;
    assert_reply(&reply, "250");
    assert!(sink.all()[0].1.hold.is_some());

    // The milter answers progress, then sleeps past the content timeout.
    let (addr, _) = test_milter().await;
    let (reply, sink) = run(
        settings(&addr, DefaultAction::TempFail),
        "j@x.test",
        &["a@x.test"],
        "SLOWME",
    )
    .await;
    assert_reply(&reply, "451 4.7.1");
    assert!(sink.all().is_empty());
}

/// A real milter on loopback, when CI starts one.
#[tokio::test]
async fn real_milter_accepts_a_plain_message() {
    let Ok(addr) = std::env::var("ZCS_TEST_MILTER") else {
        eprintln!("SKIP: ZCS_TEST_MILTER is not set (no real milter on loopback)");
        return;
    };
    let (reply, sink) = run(
        settings(&addr, DefaultAction::TempFail),
        "joe@x.test",
        &["a@x.test"],
        "hello",
    )
    .await;
    assert_reply(&reply, "250");
    let got = sink.all();
    assert_eq!(got.len(), 1);
    // .ci/setup.d/35-milter.sh runs OpenDKIM with AlwaysAddARHeader: its edit arrives.
    let content = String::from_utf8_lossy(got[0].0.content()).to_string();
    assert!(
        content.contains("Authentication-Results: zcs-ci"),
        "{content}"
    );
    assert!(content.contains("hello"), "{content}");
}

/// Refusals of MAIL and RCPT are answered to those commands, not at the end of data.
#[tokio::test]
async fn mail_and_rcpt_refused_at_their_command() {
    let (tcp, _) = test_milter().await;
    let (unix, log, _dir) = unix_milter().await;
    for addr in [tcp, unix] {
        let mut cfg = config(Protocol::Smtp);
        cfg.milters = settings(&addr, DefaultAction::TempFail);
        let sink = Arc::new(Sink::default());
        cfg.sink = Some(sink.clone());
        let server = start(cfg).await;
        let (mut c, _) = connect(server.addr).await;
        assert_reply(&c.cmd("EHLO client.x.test").await, "250");
        assert_reply(&c.cmd("MAIL FROM:<spammer@y.test>").await, "550 5.7.1");
        // No transaction was started.
        assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "503 5.5.1");
        assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
        let blocked = c.cmd("RCPT TO:<blocked@x.test>").await;
        assert_reply(&blocked, "550 5.7.1");
        assert!(blocked.contains("recipient blocked by milter"), "{blocked}");
        assert_reply(&c.cmd("RCPT TO:<later@x.test>").await, "451 4.7.1");
        assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "250");
        let reply = c.data("Subject: s\r\n\r\nplain\r\n").await;
        assert_reply(&reply, "250");
        let got = sink.all();
        assert_eq!(got.len(), 1, "{addr}");
        let rcpts: Vec<&str> = got[0]
            .0
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(rcpts, ["a@x.test"], "{addr}");

        // A discard at RCPT: every recipient accepted, the message dropped at the end.
        assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<a@x.test>").await, "250");
        assert_reply(&c.cmd("RCPT TO:<drop@x.test>").await, "250");
        assert_reply(&c.data("Subject: s\r\n\r\nplain\r\n").await, "250");
        assert_eq!(sink.all().len(), 1, "{addr}");
    }
    // The Unix-socket milter saw the whole conversation.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = log.lock().unwrap().clone();
    assert!(seen.contains(&Command::Rcpt(vec!["<a@x.test>".into()])));
    assert!(seen.contains(&Command::EndOfBody));
}

/// A milter that cannot be reached at MAIL: the default action answers MAIL.
#[tokio::test]
async fn default_action_answers_mail() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("unix:{}", dir.path().join("none.sock").display());
    let mut cfg = config(Protocol::Smtp);
    cfg.milters = settings(&dead, DefaultAction::TempFail);
    cfg.sink = Some(Arc::new(Sink::default()));
    let server = start(cfg).await;
    let (mut c, _) = connect(server.addr).await;
    c.cmd("EHLO client.x.test").await;
    assert_reply(&c.cmd("MAIL FROM:<joe@x.test>").await, "451 4.7.1");
}
