//! End-to-end tests of the IMAP extensions beyond RFC 3501: MOVE (RFC 6851), ENABLE
//! (RFC 5161), LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819)
//! and XLIST, over the in-memory backend of `imap_support`.

mod imap_support;

use imap_support::{Client, plain, start, test_config};

const INBOX: i32 = 2;
const TRASH: i32 = 3;

#[tokio::test]
async fn capabilities_name_the_extensions() {
    let server = start(test_config()).await;
    let (mut c, greeting) = Client::connect(server.addr).await;
    for cap in [
        "ENABLE",
        "MOVE",
        "SPECIAL-USE",
        "XLIST",
        "LIST-EXTENDED",
        "LIST-STATUS",
        "ESEARCH",
        "WITHIN",
    ] {
        assert!(
            greeting.split([' ', ']']).any(|w| w == cap),
            "{cap}: {greeting}"
        );
    }
    let (_, done) = c.cmd("e0", "ENABLE CONDSTORE").await;
    assert!(done.starts_with("e0 BAD"), "{done}");
    c.cmd("l", "LOGIN alice@example.com \"s3cret \\\"pw\\\"\"")
        .await;
    let (untagged, _) = c.cmd("e1", "ENABLE CONDSTORE").await;
    assert_eq!(untagged, vec!["* ENABLED CONDSTORE"]);
    let (untagged, _) = c.cmd("e2", "ENABLE CONDSTORE QRESYNC").await;
    assert_eq!(untagged, vec!["* ENABLED QRESYNC"]);
}

#[tokio::test]
async fn move_and_uid_move_report_copyuid_and_expunge() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 1..=5 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;

    // RFC 6851 §4.3: COPYUID first, then EXPUNGE (highest first), then the tagged OK.
    let (untagged, done) = c.cmd("m1", "MOVE 2:3 Trash").await;
    assert_eq!(
        untagged,
        vec![
            "* OK [COPYUID 1003 2:3 1:2] Moved",
            "* 3 EXPUNGE",
            "* 2 EXPUNGE"
        ]
    );
    assert_eq!(done, "m1 OK MOVE completed");
    assert_eq!(alice.count(TRASH), 2);
    assert_eq!(alice.count(INBOX), 3);
    assert!(alice.raw_of(TRASH, 1).unwrap().starts_with(b"From: Bob"));

    let (untagged, done) = c.cmd("m2", "UID MOVE 5,1 Trash").await;
    assert_eq!(
        untagged,
        vec![
            "* OK [COPYUID 1003 1,5 3:4] Moved",
            "* 3 EXPUNGE",
            "* 1 EXPUNGE"
        ]
    );
    assert_eq!(done, "m2 OK UID MOVE completed");
    let (untagged, _) = c.cmd("f", "FETCH 1:* UID").await;
    assert_eq!(untagged, vec!["* 1 FETCH (UID 4)"]);

    // Errors and no-ops.
    let (_, done) = c.cmd("m3", "MOVE 1 Nowhere").await;
    assert_eq!(done, "m3 NO [TRYCREATE] No such mailbox");
    let (untagged, done) = c.cmd("m4", "UID MOVE 99 Trash").await;
    assert!(untagged.is_empty(), "{untagged:?}");
    assert_eq!(done, "m4 OK UID MOVE completed");
    let (untagged, done) = c.cmd("m5", "MOVE 1 INBOX").await;
    assert!(untagged.is_empty(), "{untagged:?}");
    assert!(done.starts_with("m5 OK"), "{done}");
    let (_, done) = c.cmd("m6", "MOVE 7 Trash").await;
    assert!(done.starts_with("m6 BAD"), "{done}");

    // Read-only mailboxes cannot lose messages.
    c.cmd("x", "EXAMINE INBOX").await;
    let (_, done) = c.cmd("m7", "MOVE 1 Trash").await;
    assert!(done.starts_with("m7 NO [READ-ONLY]"), "{done}");
    c.cmd("u", "UNSELECT").await;
    let (_, done) = c.cmd("m8", "MOVE 1 Trash").await;
    assert!(done.starts_with("m8 BAD"), "{done}");
}

#[tokio::test]
async fn move_is_seen_by_another_session() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 1..=3 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut mover = Client::login(server.addr).await;
    let mut watcher = Client::login(server.addr).await;
    mover.cmd("s", "SELECT INBOX").await;
    watcher.cmd("s", "SELECT INBOX").await;
    mover.cmd("m", "MOVE 2 Trash").await;
    let (untagged, _) = watcher.cmd("n", "NOOP").await;
    assert_eq!(untagged, vec!["* 2 EXPUNGE"]);
    let (untagged, _) = watcher.cmd("t", "STATUS Trash (MESSAGES UIDNEXT)").await;
    assert_eq!(untagged, vec!["* STATUS \"Trash\" (MESSAGES 1 UIDNEXT 2)"]);
}

#[tokio::test]
async fn special_use_xlist_and_extended_list() {
    let server = start(test_config()).await;
    server
        .backend
        .alice
        .deliver(INBOX, &plain("one", "unread message"));
    let mut c = Client::login(server.addr).await;
    c.cmd("c", "CREATE Work/2024").await;

    // RFC 6154 §3: the SPECIAL-USE selection option lists only special-use mailboxes.
    let (untagged, done) = c.cmd("l1", "LIST (SPECIAL-USE) \"\" *").await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"",
            "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"",
        ]
    );
    assert_eq!(done, "l1 OK LIST completed");
    let (untagged, _) = c
        .cmd("l2", "LIST \"\" (Sent Work) RETURN (SPECIAL-USE)")
        .await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"",
            "* LIST (\\HasChildren) \"/\" \"Work\"",
        ]
    );

    // XLIST speaks Gmail's attribute names.
    let (untagged, done) = c.cmd("x1", "XLIST \"\" %").await;
    assert!(
        untagged.contains(&"* XLIST (\\HasNoChildren \\Inbox) \"/\" INBOX".to_string()),
        "{untagged:?}"
    );
    assert!(untagged.contains(&"* XLIST (\\HasNoChildren \\Spam) \"/\" \"Junk\"".to_string()));
    assert_eq!(done, "x1 OK XLIST completed");

    // LIST-STATUS (RFC 5819): a STATUS line after each selectable mailbox.
    let (untagged, _) = c
        .cmd(
            "l3",
            "LIST \"\" (INBOX Work/%) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))",
        )
        .await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* STATUS INBOX (MESSAGES 1 UNSEEN 1)",
            "* LIST (\\HasNoChildren) \"/\" \"Work/2024\"",
            "* STATUS \"Work/2024\" (MESSAGES 0 UNSEEN 0)",
        ]
    );

    // SUBSCRIBED selection and return options (subscriptions are stored).
    c.cmd("l3a", "SUBSCRIBE Work").await;
    c.cmd("l3b", "SUBSCRIBE Work/2024").await;
    let (untagged, _) = c
        .cmd("l4", "LIST (SUBSCRIBED) \"\" Work* RETURN (CHILDREN)")
        .await;
    assert_eq!(
        untagged,
        vec![
            "* LIST (\\HasChildren \\Subscribed) \"/\" \"Work\"",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/2024\"",
        ]
    );
    let (_, done) = c.cmd("l5", "LIST (RECURSIVEMATCH) \"\" *").await;
    assert!(done.starts_with("l5 BAD"), "{done}");
    let (_, done) = c.cmd("l6", "LIST (BOGUS) \"\" *").await;
    assert!(done.starts_with("l6 BAD"), "{done}");
    let (untagged, _) = c.cmd("l7", "LIST () \"\" \"\"").await;
    assert_eq!(untagged, vec!["* LIST (\\Noselect) \"/\" \"\""]);
}

#[tokio::test]
async fn esearch_returns_min_max_count_all() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 1..=5 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    c.cmd("t", "STORE 2,4:5 +FLAGS (\\Seen)").await;
    let (untagged, done) = c.cmd("e1", "SEARCH RETURN (MIN MAX COUNT ALL) SEEN").await;
    assert_eq!(
        untagged,
        vec!["* ESEARCH (TAG \"e1\") MIN 2 MAX 5 COUNT 3 ALL 2,4:5"]
    );
    assert_eq!(done, "e1 OK SEARCH completed");
    let (untagged, _) = c.cmd("e2", "UID SEARCH RETURN () UNSEEN").await;
    assert_eq!(untagged, vec!["* ESEARCH (TAG \"e2\") UID ALL 1,3"]);
    let (untagged, _) = c.cmd("e3", "SEARCH RETURN (MIN COUNT) DELETED").await;
    assert_eq!(untagged, vec!["* ESEARCH (TAG \"e3\") COUNT 0"]);
    let (untagged, _) = c.cmd("e4", "SEARCH RETURN (COUNT) MODSEQ 7").await;
    assert_eq!(
        untagged,
        vec![
            "* OK [HIGHESTMODSEQ 8] Highest",
            "* ESEARCH (TAG \"e4\") COUNT 2 MODSEQ 8"
        ]
    );
    // SEARCHRES (RFC 5182): SAVE alone answers nothing; unknown options are BAD.
    let (untagged, done) = c.cmd("e5", "SEARCH RETURN (SAVE) ALL").await;
    assert!(untagged.is_empty() && done.starts_with("e5 OK"), "{done}");
    let (_, done) = c.cmd("e6", "SEARCH RETURN (PARTIAL) ALL").await;
    assert!(done.starts_with("e6 BAD"), "{done}");
}

#[tokio::test]
async fn within_older_and_younger() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    alice.deliver_with(INBOX, &plain("old", "x"), 0, 1_700_000_000_000);
    alice.deliver_with(INBOX, &plain("new", "x"), 0, now - 10_000);
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    let (untagged, _) = c.cmd("w1", "SEARCH YOUNGER 3600").await;
    assert_eq!(untagged, vec!["* SEARCH 2"]);
    let (untagged, _) = c.cmd("w2", "UID SEARCH OLDER 3600").await;
    assert_eq!(untagged, vec!["* SEARCH 1"]);
    let (untagged, _) = c.cmd("w3", "SEARCH NOT OLDER 1 YOUNGER 1").await;
    assert_eq!(untagged, vec!["* SEARCH"]);
    let (_, done) = c.cmd("w4", "SEARCH OLDER 0").await;
    assert!(done.starts_with("w4 BAD"), "{done}");
}

#[tokio::test]
async fn enable_lists_only_known_extensions() {
    let server = start(test_config()).await;
    let mut c = Client::login(server.addr).await;
    let (untagged, done) = c.cmd("e1", "ENABLE X-UNKNOWN").await;
    assert_eq!(untagged, vec!["* ENABLED"]);
    assert_eq!(done, "e1 OK ENABLE completed");
}

/// imapclient (PyPI), the client the issue names, driving MOVE, SPECIAL-USE and
/// LIST-STATUS (skipped when python3 or imapclient is missing).
#[tokio::test]
async fn imapclient_moves_and_finds_special_folders() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import imapclient"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 with imapclient not available; skipping");
        return;
    }
    let server = start(test_config()).await;
    for i in 1..=3 {
        server
            .backend
            .alice
            .deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let script = r#"
import sys
from imapclient import IMAPClient
c = IMAPClient(sys.argv[1], port=int(sys.argv[2]), ssl=False)
c.login('alice@example.com', 's3cret "pw"')
caps = c.capabilities()
for cap in (b'MOVE', b'SPECIAL-USE', b'ENABLE', b'LIST-STATUS'):
    assert cap in caps, caps
assert c.find_special_folder(b'\\Sent') == 'Sent'
assert c.find_special_folder(b'\\Trash') == 'Trash'
folders = c.xlist_folders()
assert any(b'\\Inbox' in flags for flags, _, name in folders), folders
c.select_folder('INBOX')
uids = c.search()
assert uids == [1, 2, 3], uids
c.move([2, 3], 'Trash')
assert c.search() == [1]
st = c.folder_status('Trash', ['MESSAGES'])
assert st[b'MESSAGES'] == 2, st
c.logout()
print('imapclient ok')
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
        output.status.success() && stdout.contains("imapclient ok"),
        "{stdout}\n{stderr}"
    );
}
