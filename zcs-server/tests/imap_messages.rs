//! End-to-end tests of the IMAP message commands (SELECT, FETCH, STORE, SEARCH, EXPUNGE,
//! APPEND, UID commands, IDLE) against `serve` on 127.0.0.1:0 with the in-memory backend
//! of `imap_support`, driven by a raw TCP client.

mod imap_support;

use imap_support::{Client, MIXED, plain, start, test_config};
use zcs_core::Flags;

const INBOX: i32 = 2;

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
            "* OK [HIGHESTMODSEQ 2] Highest",
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
        "* 1 FETCH (ENVELOPE (\"Tue, 7 Feb 2023 10:00:00 +0100\" \
\"Quarterly report \\\"draft\\\"\" \
((\"Alice Example\" NIL \"alice\" \"example.com\")) \
((\"Alice Example\" NIL \"alice\" \"example.com\")) \
((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Bob\" NIL \"bob\" \"example.org\")\
(NIL NIL \"carol\" \"example.net\")) ((\"Dave, D.\" NIL \"dave\" \"example.com\")) NIL NIL \
\"<mixed-1@example.com>\"))"
    );

    let (untagged, _) = c.cmd("f3", "FETCH 1 BODYSTRUCTURE").await;
    let bs = &untagged[0];
    assert!(
        bs.starts_with(
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \
\"8BIT\" 37 1 NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 74 (NIL \"inner note\" \
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
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \
Project \\*)] Flags permitted",
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

/// RFC 7888 §4: a non-synchronising literal over the limit is refused as soon as it
/// is announced, without reading the announced bytes, and the connection is closed
/// (its input can no longer be framed).
#[tokio::test]
async fn oversized_non_synchronising_literals_are_refused_at_once() {
    let mut config = test_config();
    config.max_literal = 4096;
    let server = start(config).await;
    for (tag, announce, expect) in [
        // 10 GB announced, a few bytes sent: the answer comes at once.
        (
            "a5",
            "APPEND INBOX {10000000000+}",
            "a5 NO [TOOBIG] Message too big",
        ),
        ("b1", "LOGIN {100000+}", "b1 BAD [TOOBIG] Literal too big"),
    ] {
        let mut c = Client::login(server.addr).await;
        let started = std::time::Instant::now();
        c.send_raw(format!("{tag} {announce}\r\nxxxxxxxx").as_bytes())
            .await;
        let done = c.read_text().await.expect("tagged reply");
        assert_eq!(done, expect);
        let bye = c.read_text().await.expect("BYE");
        assert!(bye.starts_with("* BYE"), "{bye}");
        assert_eq!(c.read_text().await, None, "closed after the refusal");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "refusal took {:?}",
            started.elapsed()
        );
    }
    // Within the limit, LITERAL+ works as before on a connection that stays open.
    let mut c = Client::login(server.addr).await;
    let (_, done) = c.cmd("c1", "APPEND INBOX {3+}\r\nabc").await;
    assert!(done.starts_with("c1 OK"), "{done}");
    let (_, done) = c.cmd("c2", "NOOP").await;
    assert_eq!(done, "c2 OK NOOP completed");
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
async fn keywords_are_not_kept_when_the_backend_cannot_store_them() {
    let server = start(test_config()).await;
    server.backend.bob.deliver(INBOX, &plain("m1", "x"));
    let (mut c, _) = Client::connect(server.addr).await;
    let (_, done) = c.cmd("l", "LOGIN bob@example.com bobpw").await;
    assert!(done.starts_with("l OK"));
    let (untagged, _) = c.cmd("s", "SELECT INBOX").await;
    assert!(
        untagged.contains(
            &"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)] \
Flags permitted"
                .to_string()
        ),
        "{untagged:?}"
    );
    let (untagged, done) = c.cmd("t", "STORE 1 +FLAGS (\\Flagged Work)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (FLAGS (\\Flagged))"]);
    assert_eq!(done, "t OK STORE completed");
    let (untagged, done) = c.cmd("t2", "STORE 1 FLAGS (Work)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (FLAGS ())"]);
    assert_eq!(done, "t2 OK STORE completed");
    let (_, done) = c.cmd("a", "APPEND INBOX (Work \\Seen) {3+}\r\nabc").await;
    assert!(done.starts_with("a OK [APPENDUID 1002 2]"), "{done}");
    assert_eq!(server.backend.bob.flags_of(INBOX, 2), Some(0));
}

#[tokio::test]
async fn large_and_eight_bit_messages_round_trip() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    let mut big = b"Subject: =?utf-8?b?w6ljaGFudGlsbG9u?= \"quoted\" back\\slash\r\n\
From: \"J\xc3\xb6rg \\\"Q\\\" M\xc3\xbcller\" <jorg@example.de>\r\n\r\n"
        .to_vec();
    for i in 0..40_000u32 {
        big.extend_from_slice(format!("line {i} é€\r\n").as_bytes());
    }
    alice.deliver(INBOX, &big);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    let (raw, _) = c.cmd_raw("f1", "FETCH 1 BODY.PEEK[]").await;
    let mut expected = format!("* 1 FETCH (BODY[] {{{}}}\r\n", big.len()).into_bytes();
    expected.extend_from_slice(&big);
    expected.extend_from_slice(b")\r\n");
    assert!(raw.len() == 1 && raw[0] == expected, "BODY[] differs");

    let (raw, _) = c
        .cmd_raw("f2", "FETCH 1 (BODY.PEEK[TEXT]<100000.50> ENVELOPE)")
        .await;
    let text = String::from_utf8_lossy(&raw[0]).into_owned();
    let header_len = big.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let slice = &big[header_len + 100_000..header_len + 100_050];
    assert!(raw[0].windows(slice.len()).any(|w| w == slice), "{text}");
    // 8-bit and quoted-special content: the subject is quoted with escapes, the
    // 8-bit display name goes as a literal.
    assert!(
        text.contains("\"=?utf-8?b?w6ljaGFudGlsbG9u?= \\\"quoted\\\" back\\\\slash\""),
        "{text}"
    );
    let name: &[u8] = b"{17}\r\nJ\xc3\xb6rg \"Q\" M\xc3\xbcller NIL \"jorg\" \"example.de\")";
    assert!(raw[0].windows(name.len()).any(|w| w == name), "{text}");

    // A 1 MB APPEND through a synchronising literal comes back identical.
    let payload: Vec<u8> = (0..1_000_000u32)
        .map(|i| {
            if i % 80 == 79 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    message.extend_from_slice(&payload);
    c.send(&format!("a1 APPEND INBOX {{{}}}", message.len()))
        .await;
    assert!(c.read_text().await.unwrap().starts_with("+ "));
    c.send_raw(&message).await;
    c.send("").await;
    let (_, done) = c.until_tagged("a1").await;
    assert!(done.starts_with("a1 OK [APPENDUID 1002 2]"), "{done}");
    let (raw, _) = c.cmd_raw("f3", "UID FETCH 2 BODY.PEEK[TEXT]").await;
    let mut expected =
        format!("* 2 FETCH (UID 2 BODY[TEXT] {{{}}}\r\n", payload.len()).into_bytes();
    expected.extend_from_slice(&payload);
    expected.extend_from_slice(b")\r\n");
    assert!(raw[0] == expected, "BODY[TEXT] differs");
}

/// Checks that `data` is one well-formed sequence of IMAP response tokens: balanced
/// parentheses, quoted strings with only `\"` and `\\` escapes and no 8-bit or CR/LF,
/// literals whose length is right. Returns an error text otherwise.
fn check_syntax(data: &[u8]) -> Result<(), String> {
    let mut depth = 0i32;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ) at {i}"));
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match data.get(i) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            if !matches!(data.get(i + 1), Some(b'"' | b'\\')) {
                                return Err(format!("bad escape at {i}"));
                            }
                            i += 1;
                        }
                        Some(&b) if b >= 0x80 || b == b'\r' || b == b'\n' || b == 0 => {
                            return Err(format!("byte {b:#x} in quoted string at {i}"));
                        }
                        Some(_) => {}
                    }
                    i += 1;
                }
            }
            b'{' => {
                let close = data[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("bad literal")?;
                let n: usize = std::str::from_utf8(&data[i + 1..i + close])
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|e| format!("literal length: {e}"))?;
                if data.get(i + close + 1..i + close + 3) != Some(b"\r\n") {
                    return Err("literal without CRLF".into());
                }
                i += close + 3 + n;
                if i > data.len() {
                    return Err("literal runs past the response".into());
                }
                continue;
            }
            b'\r' | b'\n' if i + 2 < data.len() => {
                return Err(format!("line break inside a response at {i}"));
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses ({depth})"));
    }
    Ok(())
}

/// Every corpus message goes through FETCH (ENVELOPE, BODYSTRUCTURE, sections) with
/// well-formed responses, and BODY[] returns it unchanged.
#[tokio::test]
async fn corpus_messages_fetch_cleanly() {
    let mut files = Vec::new();
    let mut stack = vec![
        std::path::PathBuf::from("/work/shared/corpus/python-email"),
        std::path::PathBuf::from("/work/shared/corpus/zimbra-qa"),
    ];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            None | Some("txt" | "eml" | "msg" | "mime")
        ) {
            files.push(path);
        }
    }
    if files.is_empty() {
        eprintln!("corpus not present; skipping");
        return;
    }
    files.sort();
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    let mut raws = Vec::new();
    for f in files {
        let raw = std::fs::read(&f).unwrap();
        if raw.len() > 4 << 20 {
            continue;
        }
        alice.deliver(INBOX, &raw);
        raws.push((f, raw));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    let (responses, done) = c
        .cmd_raw(
            "f",
            "FETCH 1:* (UID ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] \
BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1] BODY.PEEK[]<0.50> BODY.PEEK[])",
        )
        .await;
    assert_eq!(done, "f OK FETCH completed");
    assert_eq!(responses.len(), raws.len());
    for (resp, (path, raw)) in responses.iter().zip(&raws) {
        if let Err(why) = check_syntax(resp) {
            panic!("{}: {why}", path.display());
        }
        let tail = format!("BODY[] {{{}}}\r\n", raw.len()).into_bytes();
        let at = resp
            .windows(tail.len())
            .rposition(|w| w == tail.as_slice())
            .expect("BODY[] present");
        let body = &resp[at + tail.len()..resp.len() - 3];
        assert!(body == raw.as_slice(), "{}", path.display());
    }
    eprintln!("fetched {} corpus messages", raws.len());
}
