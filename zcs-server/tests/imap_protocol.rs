//! End-to-end tests of the IMAP front end: `serve` on 127.0.0.1:0 with the in-memory
//! backend of `imap_support`, driven by a raw TCP client.

mod imap_support;

use std::time::Duration;

use imap_support::{Client, MIXED, PASSWORD, USER, plain, start, test_config};
use zcs_core::Flags;

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
    assert_eq!(untagged, vec!["* NAMESPACE ((\"\" \"/\")) NIL NIL"]);
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
            "* LIST (\\HasNoChildren) \"/\" \"Drafts\"",
            "* LIST (\\HasNoChildren) \"/\" \"INBOX/Receipts\"",
            "* LIST (\\HasNoChildren) \"/\" \"Junk\"",
            "* LIST (\\HasChildren) \"/\" \"Projets\"",
            "* LIST (\\HasChildren) \"/\" \"Projets/Entw&APw-rfe\"",
            "* LIST (\\HasNoChildren) \"/\" \"Projets/Entw&APw-rfe/2024\"",
            "* LIST (\\HasNoChildren) \"/\" \"Sent\"",
            "* LIST (\\HasNoChildren) \"/\" \"Trash\"",
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
    let (untagged, _) = c.cmd("l6", "LSUB \"\" *").await;
    assert_eq!(untagged.len(), 9);
    assert!(untagged[0].starts_with("* LSUB () \"/\" INBOX"));
    let (_, done) = c.cmd("l7", "SUBSCRIBE Sent").await;
    assert!(done.starts_with("l7 OK"));

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
async fn select_examine_and_fetch_every_item() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    alice.deliver(INBOX, MIXED);
    alice.deliver_with(INBOX, &plain("second", "hello"), 0, 1_600_000_000_000);
    let mut c = Client::login(server.addr).await;

    let (untagged, done) = c.cmd("e1", "EXAMINE INBOX").await;
    assert!(untagged.contains(&"* OK [PERMANENTFLAGS ()] Read-only mailbox".to_string()));
    assert_eq!(done, "e1 OK [READ-ONLY] EXAMINE completed");
    let (_, done) = c.cmd("e2", "STORE 1 +FLAGS (\\Flagged)").await;
    assert!(done.starts_with("e2 NO"), "{done}");
    c.cmd("e3", "FETCH 1 BODY[TEXT]").await;
    assert!(
        alice.flags_of(INBOX, 1).unwrap() & Flags::UNREAD != 0,
        "EXAMINE must not set \\Seen"
    );

    let (untagged, done) = c.cmd("s1", "SELECT INBOX").await;
    assert_eq!(
        untagged,
        vec![
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] \
Flags permitted",
            "* 2 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 1] First unseen message",
            "* OK [UIDVALIDITY 1002] UIDs valid",
            "* OK [UIDNEXT 3] Predicted next UID",
        ]
    );
    assert_eq!(done, "s1 OK [READ-WRITE] SELECT completed");

    let (untagged, _) = c
        .cmd("f1", "FETCH 1:2 (UID FLAGS INTERNALDATE RFC822.SIZE)")
        .await;
    assert_eq!(
        untagged,
        vec![
            format!(
                "* 1 FETCH (UID 1 FLAGS () INTERNALDATE \"14-Nov-2023 22:13:20 +0000\" \
RFC822.SIZE {})",
                MIXED.len()
            ),
            "* 2 FETCH (UID 2 FLAGS (\\Seen) INTERNALDATE \"13-Sep-2020 12:26:40 +0000\" \
RFC822.SIZE 150)"
                .to_string(),
        ]
    );

    let (untagged, _) = c.cmd("f2", "FETCH 1 (ENVELOPE)").await;
    assert_eq!(
        untagged[0],
        "* 1 FETCH (ENVELOPE (\"Tue, 7 Feb 2023 10:00:00 +0100\" \"Quarterly report \\\"draft\\\"\" \
((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Alice Example\" NIL \"alice\" \"example.com\")) \
((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Bob\" NIL \"bob\" \"example.org\")\
(NIL NIL \"carol\" \"example.net\")) ((\"Dave, D.\" NIL \"dave\" \"example.com\")) NIL NIL \
\"<mixed-1@example.com>\"))"
    );

    let (untagged, _) = c.cmd("f3", "FETCH 1 BODYSTRUCTURE").await;
    let bs = &untagged[0];
    assert!(
        bs.starts_with(
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"8BIT\" 37 1 \
NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 74 (NIL \"inner note\" \
((\"Erin\" NIL \"erin\" \"example.com\"))"
        ),
        "{bs}"
    );
    assert!(
        bs.ends_with(" \"MIXED\" (\"BOUNDARY\" \"XYZ\") NIL NIL NIL))"),
        "{bs}"
    );
    let (untagged, _) = c.cmd("f4", "FETCH 2 BODY").await;
    assert_eq!(
        untagged[0],
        "* 2 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 7 1))"
    );

    // BODY.PEEK[] is byte-identical and leaves \Seen alone.
    let (raw, done) = c.cmd_raw("f5", "FETCH 1 BODY.PEEK[]").await;
    assert!(done.starts_with("f5 OK"));
    let mut expected = format!("* 1 FETCH (BODY[] {{{}}}\r\n", MIXED.len()).into_bytes();
    expected.extend_from_slice(MIXED);
    expected.extend_from_slice(b")\r\n");
    assert_eq!(raw, vec![expected]);
    assert!(alice.flags_of(INBOX, 1).unwrap() & Flags::UNREAD != 0);

    let section = |name: &str, data: &[u8]| {
        let mut v = format!("* 1 FETCH ({name} {{{}}}\r\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b")\r\n");
        v
    };
    let header_end = MIXED.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "BODY.PEEK[HEADER]",
            "BODY[HEADER]",
            MIXED[..header_end].to_vec(),
        ),
        (
            "BODY.PEEK[TEXT]",
            "BODY[TEXT]",
            MIXED[header_end..].to_vec(),
        ),
        (
            "BODY.PEEK[HEADER.FIELDS (subject message-id)]",
            "BODY[HEADER.FIELDS (subject message-id)]",
            b"Subject: Quarterly report \"draft\"\r\nMessage-ID: <mixed-1@example.com>\r\n\r\n"
                .to_vec(),
        ),
        (
            "BODY.PEEK[HEADER.FIELDS.NOT (From To Cc Subject Date Message-ID)]",
            "BODY[HEADER.FIELDS.NOT (From To Cc Subject Date Message-ID)]",
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
                .to_vec(),
        ),
        (
            "BODY.PEEK[1]",
            "BODY[1]",
            "Numbers are up. Café budget pending.".as_bytes().to_vec(),
        ),
        (
            "BODY.PEEK[1.MIME]",
            "BODY[1.MIME]",
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                .to_vec(),
        ),
        (
            "BODY.PEEK[2.1]",
            "BODY[2.1]",
            b"forwarded zebra text".to_vec(),
        ),
        (
            "BODY.PEEK[2.HEADER]",
            "BODY[2.HEADER]",
            b"From: Erin <erin@example.com>\r\nSubject: inner note\r\n\r\n".to_vec(),
        ),
        (
            "BODY.PEEK[2.TEXT]",
            "BODY[2.TEXT]",
            b"forwarded zebra text".to_vec(),
        ),
        ("BODY.PEEK[1]<8.7>", "BODY[1]<8>", b"are up.".to_vec()),
        ("BODY.PEEK[]<5000.10>", "BODY[]<5000>", Vec::new()),
        ("BODY.PEEK[9]", "BODY[9]", Vec::new()),
        (
            "RFC822.HEADER",
            "RFC822.HEADER",
            MIXED[..header_end].to_vec(),
        ),
    ];
    for (i, (ask, name, data)) in cases.into_iter().enumerate() {
        let (raw, done) = c
            .cmd_raw(&format!("g{i}"), &format!("FETCH 1 ({ask})"))
            .await;
        assert!(done.contains("OK"), "{ask}: {done}");
        assert_eq!(raw, vec![section(name, &data)], "{ask}");
    }
    assert!(
        alice.flags_of(INBOX, 1).unwrap() & Flags::UNREAD != 0,
        "PEEK must not set \\Seen"
    );

    // Without PEEK, \Seen is set and FLAGS reported.
    let (raw, _) = c.cmd_raw("h1", "FETCH 1 BODY[1]").await;
    let text = String::from_utf8_lossy(&raw[0]).into_owned();
    assert!(
        text.starts_with("* 1 FETCH (BODY[1] {37}\r\n") && text.ends_with(" FLAGS (\\Seen))\r\n"),
        "{text}"
    );
    assert_eq!(alice.flags_of(INBOX, 1).unwrap() & Flags::UNREAD, 0);
    let (raw, _) = c.cmd_raw("h2", "FETCH 1 RFC822.TEXT").await;
    assert!(raw[0].starts_with(b"* 1 FETCH (RFC822.TEXT {"));
    let (raw, _) = c.cmd_raw("h3", "FETCH 2 RFC822").await;
    assert!(
        raw[0].ends_with(b"hello\r\n)\r\n"),
        "{:?}",
        String::from_utf8_lossy(&raw[0])
    );

    let (untagged, _) = c.cmd("m1", "FETCH 2 FAST").await;
    assert!(
        untagged[0].starts_with("* 2 FETCH (FLAGS (\\Seen) INTERNALDATE"),
        "{}",
        untagged[0]
    );
    let (untagged, _) = c.cmd("m2", "FETCH 2 ALL").await;
    assert!(untagged[0].contains(" ENVELOPE (") && !untagged[0].contains(" BODY ("));
    let (untagged, _) = c.cmd("m3", "FETCH 2 FULL").await;
    assert!(untagged[0].contains(" ENVELOPE (") && untagged[0].contains(" BODY ("));
    let (_, done) = c.cmd("m4", "FETCH 3 FLAGS").await;
    assert!(done.starts_with("m4 BAD"), "{done}");
    let (untagged, done) = c.cmd("m5", "FETCH 2:* UID").await;
    assert_eq!(untagged, vec!["* 2 FETCH (UID 2)"]);
    assert!(done.starts_with("m5 OK"));
    let (untagged, _) = c.cmd("m6", "FETCH *:1 UID").await;
    assert_eq!(untagged.len(), 2);
    let (_, done) = c.cmd("m7", "FETCH 1 (BODY[HEADER.FIELDS])").await;
    assert!(done.starts_with("m7 BAD"), "{done}");

    let (_, done) = c.cmd("u1", "UNSELECT").await;
    assert_eq!(done, "u1 OK UNSELECT completed");
    let (_, done) = c.cmd("u2", "FETCH 1 FLAGS").await;
    assert!(done.starts_with("u2 BAD"), "{done}");
    let (_, done) = c.cmd("u3", "SELECT Nowhere").await;
    assert!(done.starts_with("u3 NO [NONEXISTENT]"), "{done}");
}

#[tokio::test]
async fn store_flags_and_keywords() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 0..3 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let (untagged, done) = c.cmd("t1", "STORE 1:2 +FLAGS (\\Flagged \\Seen)").await;
    assert_eq!(
        untagged,
        vec![
            "* 1 FETCH (FLAGS (\\Seen \\Flagged))",
            "* 2 FETCH (FLAGS (\\Seen \\Flagged))"
        ]
    );
    assert_eq!(done, "t1 OK STORE completed");
    assert_eq!(
        alice.flags_of(INBOX, 1).unwrap() & (Flags::UNREAD | Flags::FLAGGED),
        Flags::FLAGGED
    );

    let (untagged, _) = c.cmd("t2", "STORE 2 -FLAGS \\Seen").await;
    assert_eq!(untagged, vec!["* 2 FETCH (FLAGS (\\Flagged))"]);
    let (untagged, _) = c
        .cmd("t3", "STORE 1 FLAGS (\\Answered $Forwarded Project)")
        .await;
    assert_eq!(
        untagged,
        vec![
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Project)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Project \\*)] \
Flags permitted",
            "* 1 FETCH (FLAGS (\\Answered $Forwarded Project))",
        ]
    );
    let (untagged, _) = c.cmd("t4", "STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    assert!(untagged.is_empty(), "{untagged:?}");
    let (untagged, _) = c.cmd("t5", "UID STORE 1 -FLAGS (Project)").await;
    assert_eq!(
        untagged,
        vec!["* 1 FETCH (UID 1 FLAGS (\\Answered $Forwarded))"]
    );
    let (_, done) = c.cmd("t6", "STORE 1 +FLAGS (\\Bogus)").await;
    assert!(done.starts_with("t6 BAD"), "{done}");
    let (untagged, _) = c.cmd("t7", "STORE 1 +FLAGS (\\Recent)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (FLAGS (\\Answered $Forwarded))"]);

    // A flag change by someone else is reported on NOOP.
    alice.flag_external(INBOX, 3, Flags::DRAFT, true);
    let (untagged, _) = c.cmd("n1", "NOOP").await;
    assert_eq!(untagged, vec!["* 3 FETCH (FLAGS (\\Deleted \\Draft))"]);
}

#[tokio::test]
async fn search_keys_and_full_text() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    alice.deliver(INBOX, MIXED); // 1: unseen, big, from alice, 2023-02-07
    alice.deliver_with(
        INBOX,
        &plain("lunch plans", "pizza on friday"),
        Flags::FLAGGED,
        1_600_000_000_000,
    );
    alice.deliver_with(
        INBOX,
        &plain("=?utf-8?q?R=C3=A9sum=C3=A9?=", "zebra crossing"),
        0,
        1_700_000_000_000,
    );
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let search = |expect: &str| format!("* SEARCH{expect}");
    let cases = [
        ("ALL", " 1 2 3"),
        ("FLAGGED", " 2"),
        ("UNFLAGGED", " 1 3"),
        ("SEEN", " 2 3"),
        ("UNSEEN", " 1"),
        ("NOT SEEN", " 1"),
        ("OR FLAGGED UNSEEN", " 1 2"),
        ("(SEEN UNFLAGGED)", " 3"),
        ("FROM alice", " 1"),
        ("FROM \"BOB\"", " 2 3"),
        ("TO carol@example.net", " 1"),
        ("CC dave", " 1"),
        ("SUBJECT lunch", " 2"),
        ("SUBJECT \"résumé\"", " 3"),
        ("SUBJECT {8+}\r\nRÉSUMÉ", " 3"),
        ("HEADER Message-ID mixed-1", " 1"),
        ("HEADER X-Missing \"\"", ""),
        ("LARGER 500", " 1"),
        ("SMALLER 500", " 2 3"),
        ("SINCE 1-Jan-2023", " 1 3"),
        ("BEFORE 14-Sep-2020", " 2"),
        ("ON 13-Sep-2020", " 2"),
        ("SENTBEFORE 3-Jan-2023", " 2 3"),
        ("SENTON 7-Feb-2023", " 1"),
        ("SENTSINCE 2-Jan-2023", " 1 2 3"),
        ("2:*", " 2 3"),
        ("UID 1,3", " 1 3"),
        ("NEW", ""),
        ("OLD", " 1 2 3"),
        ("RECENT", ""),
        ("ANSWERED", ""),
        ("UNDELETED UNDRAFT UNANSWERED", " 1 2 3"),
        ("KEYWORD Project", ""),
        ("UNKEYWORD Project", " 1 2 3"),
        ("CHARSET UTF-8 TEXT zebra", " 1 3"),
        ("BODY zebra", " 1 3"),
        ("BODY Quarterly", ""),
        ("TEXT Quarterly", " 1"),
        ("NOT TEXT pizza", " 1 3"),
    ];
    for (i, (query, expect)) in cases.iter().enumerate() {
        let (untagged, done) = c.cmd(&format!("q{i}"), &format!("SEARCH {query}")).await;
        assert_eq!(untagged, vec![search(expect)], "SEARCH {query}");
        assert!(done.contains("OK SEARCH completed"), "{done}");
    }
    assert!(
        alice
            .text_searches
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 5
    );

    let (untagged, _) = c.cmd("u1", "UID SEARCH FLAGGED").await;
    assert_eq!(untagged, vec!["* SEARCH 2"]);
    let (_, done) = c.cmd("b1", "SEARCH CHARSET KOI8-R ALL").await;
    assert_eq!(
        done,
        "b1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"
    );
    let (_, done) = c.cmd("b2", "SEARCH FOO").await;
    assert!(done.starts_with("b2 BAD"), "{done}");
    let (_, done) = c
        .cmd(
            "b3",
            &format!("SEARCH {}ALL{}", "(".repeat(40), ")".repeat(40)),
        )
        .await;
    assert!(done.starts_with("b3 BAD"), "{done}");
}

#[tokio::test]
async fn expunge_reports_descending_sequence_numbers() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 1..=6 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    c.cmd("d", "STORE 2,4:5 +FLAGS.SILENT (\\Deleted)").await;
    let (untagged, done) = c.cmd("x1", "EXPUNGE").await;
    assert_eq!(untagged, vec!["* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE"]);
    assert_eq!(done, "x1 OK EXPUNGE completed");
    let (untagged, _) = c.cmd("f", "FETCH 1:* UID").await;
    assert_eq!(
        untagged,
        vec![
            "* 1 FETCH (UID 1)",
            "* 2 FETCH (UID 3)",
            "* 3 FETCH (UID 6)"
        ]
    );

    // UID EXPUNGE only removes the named \Deleted messages.
    c.cmd("d2", "STORE 1:3 +FLAGS.SILENT (\\Deleted)").await;
    let (untagged, _) = c.cmd("x2", "UID EXPUNGE 3:6").await;
    assert_eq!(untagged, vec!["* 3 EXPUNGE", "* 2 EXPUNGE"]);
    assert_eq!(alice.count(INBOX), 1);

    // A removal by someone else is held back during FETCH, reported on NOOP.
    alice.deliver(INBOX, &plain("m7", "x"));
    let (untagged, _) = c.cmd("n0", "NOOP").await;
    assert_eq!(untagged, vec!["* 2 EXISTS", "* 1 RECENT"]);
    alice.expunge_external(INBOX, 1);
    let (untagged, _) = c.cmd("f2", "FETCH 2 UID").await;
    assert_eq!(untagged, vec!["* 2 FETCH (UID 7)"]);
    let (untagged, _) = c.cmd("n1", "NOOP").await;
    assert_eq!(untagged, vec!["* 1 EXPUNGE"]);

    // CLOSE removes \Deleted messages silently.
    c.cmd("d3", "STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let (untagged, done) = c.cmd("c1", "CLOSE").await;
    assert!(untagged.is_empty(), "{untagged:?}");
    assert_eq!(done, "c1 OK CLOSE completed");
    assert_eq!(alice.count(INBOX), 0);
}

#[tokio::test]
async fn append_with_literals_and_limits() {
    let mut config = test_config();
    config.max_literal = 4096;
    let server = start(config).await;
    let alice = &server.backend.alice;
    let mut c = Client::login(server.addr).await;
    let msg = plain("appended", "body with \"quotes\" and \\ backslash");

    c.send(&format!(
        "a1 APPEND Drafts (\\Seen \\Draft) \" 5-Mar-2024 10:11:12 +0200\" {{{}}}",
        msg.len()
    ))
    .await;
    assert!(c.read_text().await.unwrap().starts_with("+ "));
    c.send_raw(&msg).await;
    c.send("").await;
    let (_, done) = c.until_tagged("a1").await;
    assert_eq!(done, "a1 OK [APPENDUID 1006 1] APPEND completed");
    assert_eq!(alice.raw_of(6, 1).unwrap(), msg);
    assert_eq!(alice.flags_of(6, 1).unwrap(), Flags::DRAFT);

    // LITERAL+: no continuation.
    let mut line = format!("a2 APPEND INBOX {{{}+}}\r\n", msg.len()).into_bytes();
    line.extend_from_slice(&msg);
    line.extend_from_slice(b"\r\n");
    c.send_raw(&line).await;
    let (_, done) = c.until_tagged("a2").await;
    assert_eq!(done, "a2 OK [APPENDUID 1002 1] APPEND completed");
    assert_eq!(alice.flags_of(INBOX, 1).unwrap(), Flags::UNREAD);

    let (_, done) = c.cmd("a3", "APPEND Nowhere {3+}\r\nabc").await;
    assert_eq!(done, "a3 NO [TRYCREATE] No such mailbox");

    // Too big: refused before the data is sent (synchronising)...
    c.send("a4 APPEND INBOX {100000}").await;
    let done = c.read_text().await.unwrap();
    assert_eq!(done, "a4 NO [TOOBIG] Message too big");
    // ...or read and dropped (non-synchronising); the connection stays usable.
    let mut big = b"a5 APPEND INBOX {100000+}\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 100_000));
    big.extend_from_slice(b"\r\n");
    c.send_raw(&big).await;
    let done = c.read_text().await.unwrap();
    assert_eq!(done, "a5 NO [TOOBIG] Message too big");
    let (_, done) = c.cmd("a6", "NOOP").await;
    assert_eq!(done, "a6 OK NOOP completed");
    // Other commands may not carry big literals.
    c.send("a7 LOGIN {70000}").await;
    assert!(c.read_text().await.unwrap().starts_with("a7 BAD"));

    // The selected mailbox learns about its own appends.
    c.cmd("s", "SELECT INBOX").await;
    let (untagged, _) = c.cmd("a8", "APPEND INBOX {3+}\r\nabc").await;
    assert_eq!(untagged, vec!["* 2 EXISTS", "* 1 RECENT"]);
}

#[tokio::test]
async fn uid_fetch_store_copy() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 1..=4 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    alice.expunge_external(INBOX, 2);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let (untagged, _) = c.cmd("u1", "UID FETCH 2:* FLAGS").await;
    assert_eq!(
        untagged,
        vec!["* 2 FETCH (UID 3 FLAGS ())", "* 3 FETCH (UID 4 FLAGS ())"]
    );
    let (untagged, done) = c.cmd("u2", "UID FETCH 100:* UID").await;
    assert_eq!(untagged, vec!["* 3 FETCH (UID 4)"]);
    assert!(done.starts_with("u2 OK"));
    let (untagged, _) = c.cmd("u3", "UID FETCH 2 UID").await;
    assert!(untagged.is_empty());
    let (untagged, _) = c.cmd("u4", "UID STORE 3:4 +FLAGS (\\Seen)").await;
    assert_eq!(
        untagged,
        vec![
            "* 2 FETCH (UID 3 FLAGS (\\Seen))",
            "* 3 FETCH (UID 4 FLAGS (\\Seen))"
        ]
    );
    let (_, done) = c.cmd("u5", "UID COPY 1,3:4 Trash").await;
    assert_eq!(done, "u5 OK [COPYUID 1003 1,3:4 1:3] COPY completed");
    let (_, done) = c.cmd("u6", "COPY 1 Nowhere").await;
    assert_eq!(done, "u6 NO [TRYCREATE] No such mailbox");
    let (_, done) = c.cmd("u7", "COPY 2 Trash").await;
    assert_eq!(done, "u7 OK [COPYUID 1003 3 4] COPY completed");
    assert_eq!(alice.count(3), 4);
    let (untagged, _) = c.cmd("u8", "STATUS Trash (MESSAGES UNSEEN)").await;
    assert_eq!(untagged, vec!["* STATUS \"Trash\" (MESSAGES 4 UNSEEN 1)"]);
}

#[tokio::test]
async fn idle_reports_new_and_removed_messages() {
    let server = start(test_config()).await;
    let alice = server.backend.alice.clone();
    alice.deliver(INBOX, &plain("first", "x"));
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    c.send("i1 IDLE").await;
    assert_eq!(c.read_text().await.unwrap(), "+ idling");
    alice.deliver(INBOX, &plain("second", "y"));
    assert_eq!(c.read_text().await.unwrap(), "* 2 EXISTS");
    assert_eq!(c.read_text().await.unwrap(), "* 1 RECENT");
    alice.flag_external(INBOX, 1, Flags::FLAGGED, true);
    assert_eq!(
        c.read_text().await.unwrap(),
        "* 1 FETCH (FLAGS (\\Flagged))"
    );
    alice.expunge_external(INBOX, 1);
    assert_eq!(c.read_text().await.unwrap(), "* 1 EXPUNGE");
    c.send("DONE").await;
    assert_eq!(c.read_text().await.unwrap(), "i1 OK IDLE terminated");

    let (untagged, _) = c.cmd("f", "FETCH 1 (UID FLAGS)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (UID 2 FLAGS (\\Recent))"]);

    // A second session does not see the message as recent.
    let mut other = Client::login(server.addr).await;
    let (untagged, _) = other.cmd("s", "SELECT INBOX").await;
    assert!(untagged.contains(&"* 0 RECENT".to_string()), "{untagged:?}");

    // IDLE without a selected mailbox just waits for DONE.
    c.cmd("u", "UNSELECT").await;
    c.send("i2 IDLE").await;
    assert_eq!(c.read_text().await.unwrap(), "+ idling");
    c.send("done").await;
    assert_eq!(c.read_text().await.unwrap(), "i2 OK IDLE terminated");
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
