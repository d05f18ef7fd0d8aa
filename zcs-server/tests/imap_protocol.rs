//! End-to-end tests of the IMAP front end: `serve` on 127.0.0.1:0 with the in-memory
//! backend of `imap_support`, driven by a raw TCP client.

mod imap_support;

use std::time::Duration;

use imap_support::{Client, MIXED, PASSWORD, USER, plain, start, test_config};

const INBOX: i32 = 2;

#[tokio::test]
async fn greeting_capability_and_login() {
    let server = start(test_config()).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID IDLE NAMESPACE")
            && greeting.contains("zcs IMAP4rev1 server ready"),
        "{greeting}"
    );
    let (untagged, done) = c.cmd("a1", "CAPABILITY").await;
    assert_eq!(untagged.len(), 1);
    assert!(untagged[0].contains("AUTH=PLAIN") && untagged[0].contains("UIDPLUS"));
    assert_eq!(done, "a1 OK CAPABILITY completed");

    // Commands that need a login are refused.
    let (_, done) = c.cmd("a2", "SELECT INBOX").await;
    assert!(done.starts_with("a2 BAD"), "{done}");
    let (_, done) = c.cmd("a3", "LIST \"\" *").await;
    assert!(done.starts_with("a3 BAD"), "{done}");

    // Wrong password and unknown user look the same.
    let (_, done) = c.cmd("a4", "LOGIN alice@example.com wrong").await;
    assert_eq!(done, "a4 NO [AUTHENTICATIONFAILED] Authentication failed");
    let (_, done) = c.cmd("a5", "LOGIN nobody@example.com wrong").await;
    assert_eq!(done, "a5 NO [AUTHENTICATIONFAILED] Authentication failed");

    // The password as a synchronising literal.
    c.send(&format!("a6 LOGIN {USER} {{{}}}", PASSWORD.len()))
        .await;
    let cont = c.read_text().await.unwrap();
    assert!(cont.starts_with("+ "), "{cont}");
    c.send(PASSWORD).await;
    let (_, done) = c.until_tagged("a6").await;
    assert!(done.starts_with("a6 OK [CAPABILITY IMAP4rev1"), "{done}");
    let (_, done) = c.cmd("a7", "LOGIN again x").await;
    assert!(done.starts_with("a7 BAD"), "{done}");

    let (untagged, done) = c.cmd("a8", "ID (\"name\" \"test\" \"version\" NIL)").await;
    assert!(
        untagged[0].starts_with("* ID (\"name\" \"zcs\""),
        "{untagged:?}"
    );
    assert!(done.starts_with("a8 OK"));
    let (untagged, _) = c.cmd("a9", "NAMESPACE").await;
    assert_eq!(
        untagged,
        vec!["* NAMESPACE ((\"\" \"/\")) ((\"/home/\" \"/\")) NIL"]
    );
    let (untagged, done) = c.cmd("a10", "LOGOUT").await;
    assert!(untagged[0].starts_with("* BYE"));
    assert_eq!(done, "a10 OK LOGOUT completed");
    assert!(c.read().await.is_none());
}

#[tokio::test]
async fn authenticate_plain_with_and_without_initial_response() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let server = start(test_config()).await;

    let (mut c, _) = Client::connect(server.addr).await;
    c.send("p1 AUTHENTICATE PLAIN").await;
    assert_eq!(c.read_text().await.unwrap(), "+ ");
    c.send(&b64(&format!("\0{USER}\0{PASSWORD}"))).await;
    let (_, done) = c.until_tagged("p1").await;
    assert!(done.starts_with("p1 OK"), "{done}");

    let (mut c, _) = Client::connect(server.addr).await;
    let (_, done) = c
        .cmd(
            "p2",
            &format!(
                "AUTHENTICATE PLAIN {}",
                b64(&format!("{USER}\0{USER}\0{PASSWORD}"))
            ),
        )
        .await;
    assert!(done.starts_with("p2 OK"), "{done}");

    let (mut c, _) = Client::connect(server.addr).await;
    let (_, done) = c
        .cmd(
            "p3",
            &format!(
                "AUTHENTICATE PLAIN {}",
                b64("other\0bob@example.com\0bobpw")
            ),
        )
        .await;
    assert!(done.starts_with("p3 NO [AUTHENTICATIONFAILED]"), "{done}");
    c.send("p4 AUTHENTICATE PLAIN").await;
    assert_eq!(c.read_text().await.unwrap(), "+ ");
    c.send("*").await;
    let (_, done) = c.until_tagged("p4").await;
    assert!(done.starts_with("p4 BAD"), "{done}");
    let (_, done) = c.cmd("p5", "AUTHENTICATE CRAM-MD5").await;
    assert!(done.starts_with("p5 NO"), "{done}");
    let (_, done) = c.cmd("p6", "LOGIN down@example.com x").await;
    assert!(done.starts_with("p6 NO [UNAVAILABLE]"), "{done}");
}

#[tokio::test]
async fn too_many_auth_failures_close_the_connection() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    for i in 0..2 {
        let (_, done) = c
            .cmd(&format!("f{i}"), "LOGIN alice@example.com nope")
            .await;
        assert!(done.contains("NO [AUTHENTICATIONFAILED]"));
    }
    c.send("f9 LOGIN alice@example.com nope").await;
    assert!(c.read_text().await.unwrap().starts_with("f9 NO"));
    assert!(c.read_text().await.unwrap().starts_with("* BYE"));
    assert!(c.read().await.is_none());
}

#[tokio::test]
async fn list_lsub_create_rename_delete_status() {
    let server = start(test_config()).await;
    let mut c = Client::login(server.addr).await;

    let (untagged, done) = c.cmd("l1", "LIST \"\" \"\"").await;
    assert_eq!(untagged, vec!["* LIST (\\Noselect) \"/\" \"\""]);
    assert!(done.starts_with("l1 OK"));

    let (_, done) = c.cmd("c1", "CREATE \"Projets/Entw&APw-rfe/2024\"").await;
    assert_eq!(done, "c1 OK CREATE completed");
    let (_, done) = c.cmd("c2", "CREATE INBOX/Receipts").await;
    assert_eq!(done, "c2 OK CREATE completed");
    let (_, done) = c.cmd("c3", "CREATE inbox/receipts").await;
    assert!(done.starts_with("c3 NO [ALREADYEXISTS]"), "{done}");
    let (_, done) = c.cmd("c4", "CREATE \"a//b\"").await;
    assert!(done.starts_with("c4 NO"), "{done}");
    let (_, done) = c.cmd("c5", "CREATE \"bad&name\"").await;
    assert!(done.starts_with("c5 BAD"), "{done}");

    let (untagged, _) = c.cmd("l2", "LIST \"\" *").await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"",
            "* LIST (\\HasNoChildren) \"/\" \"INBOX/Receipts\"",
            "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"",
            "* LIST (\\HasChildren) \"/\" \"Projets\"",
            "* LIST (\\HasChildren) \"/\" \"Projets/Entw&APw-rfe\"",
            "* LIST (\\HasNoChildren) \"/\" \"Projets/Entw&APw-rfe/2024\"",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"",
        ]
    );
    let (untagged, _) = c.cmd("l3", "LIST \"\" %").await;
    assert_eq!(untagged.len(), 6, "{untagged:?}");
    let (untagged, _) = c.cmd("l4", "LIST Projets/ %").await;
    assert_eq!(
        untagged,
        vec!["* LIST (\\HasChildren) \"/\" \"Projets/Entw&APw-rfe\""]
    );
    let (untagged, _) = c.cmd("l5", "LIST \"\" inbox").await;
    assert_eq!(untagged, vec!["* LIST (\\HasChildren) \"/\" INBOX"]);
    // Subscriptions are stored: nothing until SUBSCRIBE.
    let (untagged, _) = c.cmd("l6", "LSUB \"\" *").await;
    assert!(untagged.is_empty(), "{untagged:?}");
    let (_, done) = c.cmd("l7", "SUBSCRIBE Sent").await;
    assert!(done.starts_with("l7 OK"));
    c.cmd("l7b", "SUBSCRIBE INBOX").await;
    let (untagged, _) = c.cmd("l7c", "LSUB \"\" *").await;
    assert_eq!(untagged.len(), 2, "{untagged:?}");
    assert!(untagged[0].starts_with("* LSUB () \"/\" INBOX"));

    let (_, done) = c
        .cmd("r1", "RENAME \"Projets/Entw&APw-rfe\" Archive/Drafts2")
        .await;
    assert_eq!(done, "r1 OK RENAME completed");
    let (untagged, _) = c.cmd("l8", "LIST \"\" Archive/*").await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasChildren) \"/\" \"Archive/Drafts2\"",
            "* LIST (\\HasNoChildren) \"/\" \"Archive/Drafts2/2024\"",
        ]
    );
    let (_, done) = c.cmd("r2", "RENAME INBOX Old").await;
    assert!(done.starts_with("r2 NO"), "{done}");
    let (_, done) = c.cmd("r3", "RENAME Nope Other").await;
    assert!(done.starts_with("r3 NO [NONEXISTENT]"), "{done}");
    let (_, done) = c.cmd("r4", "RENAME Archive Archive/x").await;
    assert!(done.starts_with("r4 NO"), "{done}");

    let (_, done) = c.cmd("d1", "DELETE Archive/Drafts2").await;
    assert!(done.starts_with("d1 NO [CANNOT]"), "{done}");
    let (_, done) = c.cmd("d2", "DELETE Archive/Drafts2/2024").await;
    assert_eq!(done, "d2 OK DELETE completed");
    let (_, done) = c.cmd("d3", "DELETE Trash").await;
    assert!(done.starts_with("d3 NO"), "{done}");
    let (_, done) = c.cmd("d4", "DELETE Contacts").await;
    assert!(done.starts_with("d4 NO [NONEXISTENT]"), "{done}");

    server.backend.alice.deliver(INBOX, &plain("one", "x"));
    server
        .backend
        .alice
        .deliver_with(INBOX, &plain("two", "y"), 0, 0);
    let (untagged, done) = c
        .cmd(
            "s1",
            "STATUS inbox (MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)",
        )
        .await;
    assert_eq!(
        untagged,
        vec!["* STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDNEXT 3 UIDVALIDITY 1002 RECENT 0)"]
    );
    assert!(done.starts_with("s1 OK"));
    let (_, done) = c.cmd("s2", "STATUS Calendar (MESSAGES)").await;
    assert!(done.starts_with("s2 NO"), "{done}");
}

#[tokio::test]
async fn garbage_gets_bad_and_too_much_closes() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    c.send("").await;
    assert!(c.read_text().await.unwrap().starts_with("* BAD"));
    c.send_raw(b"\x00\xff\xfe garbage\r\n").await;
    assert!(c.read_text().await.unwrap().starts_with("* BAD"));
    c.send("t1 FROBNICATE").await;
    assert!(c.read_text().await.unwrap().starts_with("t1 BAD"));
    c.send("t2 FETCH").await;
    assert!(c.read_text().await.unwrap().starts_with("t2 BAD"));
    let (_, done) = c.cmd("t3", "NOOP").await;
    assert_eq!(done, "t3 OK NOOP completed");
    for i in 0..20 {
        c.send(&format!("g{i} (((")).await;
    }
    let mut bads = 0;
    loop {
        match c.read_text().await {
            Some(line) if line.contains(" BAD ") => bads += 1,
            Some(line) => {
                assert!(line.starts_with("* BYE"), "{line}");
                break;
            }
            None => panic!("closed without BYE"),
        }
    }
    assert_eq!(bads, 6);
    assert!(c.read().await.is_none());
}

#[tokio::test]
async fn ten_megabyte_line_is_refused_and_closed() {
    let server = start(test_config()).await;
    let (mut c, _) = Client::connect(server.addr).await;
    let mut writer = c.take_writer();
    let writer_task = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..10 {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    assert_eq!(c.read_text().await.unwrap(), "* BAD line too long");
    assert!(c.read_text().await.unwrap().starts_with("* BYE"));
    assert!(c.read().await.is_none());
    let _ = writer_task.await;
    // The server still serves others.
    let mut other = Client::login(server.addr).await;
    let (_, done) = other.cmd("n", "NOOP").await;
    assert!(done.starts_with("n OK"));
}

#[tokio::test]
async fn abrupt_disconnects_are_quiet() {
    let server = start(test_config()).await;
    for partial in [
        &b"a1 LOGIN {10}\r\nabc"[..],
        b"a1 NOO",
        b"a1 APPEND INBOX {50+}\r\nxx",
    ] {
        let mut c = Client::login(server.addr).await;
        c.send_raw(partial).await;
        drop(c);
    }
    let mut c = Client::login(server.addr).await;
    c.send("i IDLE").await;
    assert_eq!(c.read_text().await.unwrap(), "+ idling");
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = Client::login(server.addr).await;
    let (_, done) = c.cmd("n", "NOOP").await;
    assert!(done.starts_with("n OK"));
    assert!(!server.task.is_finished());
}

#[tokio::test]
async fn autologout_and_shutdown_say_bye() {
    let mut config = test_config();
    config.idle_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let (mut c, _) = Client::connect(server.addr).await;
    assert_eq!(
        c.read_text().await.unwrap(),
        "* BYE Autologout; idle for too long"
    );
    assert!(c.read().await.is_none());

    let server = start(test_config()).await;
    let mut idle = Client::login(server.addr).await;
    idle.cmd("s", "SELECT INBOX").await;
    idle.send("i IDLE").await;
    assert_eq!(idle.read_text().await.unwrap(), "+ idling");
    let mut c = Client::login(server.addr).await;
    server.shutdown.send(true).unwrap();
    assert_eq!(c.read_text().await.unwrap(), "* BYE Server shutting down");
    assert_eq!(
        idle.read_text().await.unwrap(),
        "* BYE Server shutting down"
    );
    let result = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    assert!(matches!(result, Ok(Ok(Ok(())))));
}

#[tokio::test]
async fn another_accounts_items_are_invisible() {
    let server = start(test_config()).await;
    server.backend.bob.deliver(INBOX, &plain("bob-secret", "x"));
    let mut c = Client::login(server.addr).await;
    let (untagged, _) = c.cmd("s", "SELECT INBOX").await;
    assert!(untagged.contains(&"* 0 EXISTS".to_string()));
    let (_, done) = c.cmd("f", "UID FETCH 1 BODY[]").await;
    assert_eq!(done, "f OK UID FETCH completed");
    let (_, done) = c.cmd("f2", "FETCH 1 BODY[]").await;
    assert!(done.starts_with("f2 BAD"));
}

/// Python's imaplib, an independent client, against the server (skipped when python3 is
/// not installed).
#[tokio::test]
async fn python_imaplib_client_works() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not available; skipping");
        return;
    }
    let server = start(test_config()).await;
    server.backend.alice.deliver(INBOX, MIXED);
    let script = r#"
import imaplib, sys
host, port = sys.argv[1], int(sys.argv[2])
m = imaplib.IMAP4(host, port)
assert 'IDLE' in m.capabilities and 'UIDPLUS' in m.capabilities, m.capabilities
typ, _ = m.login('alice@example.com', 's3cret "pw"')
assert typ == 'OK'
typ, boxes = m.list()
assert typ == 'OK' and any(b'INBOX' in b for b in boxes), boxes
typ, _ = m.create('Reports/2024')
assert typ == 'OK'
typ, data = m.select('INBOX')
assert typ == 'OK' and data == [b'1'], data
typ, data = m.fetch('1', '(BODY.PEEK[] BODYSTRUCTURE ENVELOPE FLAGS)')
assert typ == 'OK', data
body = data[0][1]
assert body.startswith(b'From: Alice Example') and body.endswith(b'--XYZ--\r\n'), body[-20:]
assert b'BODYSTRUCTURE' in data[0][0] or b'BODYSTRUCTURE' in data[1], data
typ, _ = m.append('INBOX', '(\\Flagged)', imaplib.Time2Internaldate(1700000000),
                  b'Subject: from python\r\n\r\nhi there\r\n')
assert typ == 'OK'
typ, data = m.search(None, 'FLAGGED')
assert data == [b'2'], data
typ, data = m.search('UTF-8', 'TEXT', 'zebra')
assert data == [b'1'], data
typ, data = m.store('1', '+FLAGS', '(\\Deleted)')
assert typ == 'OK', data
typ, data = m.uid('COPY', '2', 'Reports/2024')
assert typ == 'OK', data
typ, data = m.expunge()
assert data == [b'1'], data
typ, data = m.uid('FETCH', '1:*', '(UID FLAGS RFC822.SIZE)')
assert typ == 'OK' and len(data) == 1 and b'UID 2' in data[0], data
typ, data = m.status('Reports/2024', '(MESSAGES)')
assert typ == 'OK' and b'MESSAGES 1' in data[0], data
m.close()
m.logout()
print('imaplib ok')
"#;
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("imaplib ok"),
        "{stdout}\n{stderr}"
    );
}

/// A stream of random, mostly malformed commands never kills the session or the server.
#[tokio::test]
async fn random_command_stream_is_survivable() {
    use rand::{Rng, SeedableRng};
    let mut config = test_config();
    config.max_bad_commands = 100_000;
    let server = start(config).await;
    for i in 0..5 {
        server
            .backend
            .alice
            .deliver(2, &plain(&format!("m{i}"), "body"));
    }
    let verbs = [
        "FETCH",
        "UID FETCH",
        "STORE",
        "UID STORE",
        "SEARCH",
        "UID SEARCH",
        "LIST",
        "LSUB",
        "SELECT",
        "EXAMINE",
        "STATUS",
        "COPY",
        "UID COPY",
        "EXPUNGE",
        "UID EXPUNGE",
        "CREATE",
        "RENAME",
        "DELETE",
        "APPEND",
        "NOOP",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "ID",
        "NAMESPACE",
        "CAPABILITY",
        "AUTHENTICATE",
        "LOGIN",
        "SUBSCRIBE",
        "IDLE",
        "DONE",
        "",
    ];
    let args = [
        "1",
        "1:*",
        "*",
        "2,4:*",
        "(",
        ")",
        "BODY[",
        "]",
        "BODY.PEEK[1.2.MIME]",
        "\"",
        "INBOX",
        "FLAGS",
        "+FLAGS",
        "(\\Seen)",
        "<0.5>",
        "NOT",
        "OR",
        "ALL",
        "HEADER",
        "{3+}\r\nabc",
        "\"a b\"",
        "NIL",
        "CHARSET",
        "UTF-8",
        "(FLAGS UID)",
        "BODYSTRUCTURE",
        "ENVELOPE",
        "\"17-Jul-1996 02:44:25 -0700\"",
        "Trash",
        "x/y",
        "%",
        "&Jjo-",
        "&",
        "\\Deleted",
        "(MESSAGES UNSEEN)",
        "SINCE 1-Jan-2000",
        "0",
        "4294967296",
        "BODY[HEADER.FIELDS (A)]",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_204);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    for n in 0..600 {
        let mut line = format!("r{n} {}", verbs[rng.gen_range(0..verbs.len())]).into_bytes();
        for _ in 0..rng.gen_range(0..6) {
            line.extend_from_slice(b" ");
            if rng.gen_bool(0.2) {
                for _ in 0..rng.gen_range(1..12) {
                    let b: u8 = rng.r#gen();
                    if b != b'\r' && b != b'\n' {
                        line.push(b);
                    }
                }
            } else {
                line.extend_from_slice(args[rng.gen_range(0..args.len())].as_bytes());
            }
        }
        while line.last() == Some(&b'}') {
            line.pop();
        }
        line.extend_from_slice(b"\r\n");
        c.send_raw(&line).await;
    }
    c.send("DONE").await;
    let (seen, done) = c.cmd("zz", "NOOP").await;
    assert!(done.starts_with("zz OK"), "{done}");
    let tagged = seen.iter().filter(|l| l.starts_with('r')).count();
    assert!(tagged > 400, "only {tagged} tagged replies");
    assert!(!server.task.is_finished());
}
