//! End-to-end tests of the IMAP message commands (SELECT, FETCH, STORE, SEARCH, EXPUNGE,
//! UID commands, IDLE) against `serve` on 127.0.0.1:0 with the in-memory backend of
//! `imap_support`, driven by a raw TCP client. APPEND and literals: `imap_append.rs`.

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
