//! End-to-end tests of CONDSTORE and QRESYNC (RFC 7162) over the in-memory backend of
//! `imap_support`, whose change numbers go up by one per change, so every MODSEQ below
//! is predictable.

mod imap_support;

use imap_support::{Client, plain, start, test_config};
use zcs_core::Flags;

const INBOX: i32 = 2;

#[tokio::test]
async fn condstore_modseq_fetch_store_search_status() {
    let server = start(test_config()).await;
    let alice = server.backend.alice.clone();
    for i in 1..=3 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    let (caps, _) = c.cmd("c", "CAPABILITY").await;
    assert!(caps[0].contains(" CONDSTORE ") && caps[0].contains(" QRESYNC "));

    let (untagged, done) = c.cmd("s", "SELECT INBOX (CONDSTORE)").await;
    assert!(
        untagged.contains(&"* OK [HIGHESTMODSEQ 3] Highest".to_string()),
        "{untagged:?}"
    );
    assert_eq!(done, "s OK [READ-WRITE] SELECT completed");
    let (untagged, _) = c.cmd("f1", "FETCH 1:* (FLAGS MODSEQ)").await;
    assert_eq!(
        untagged,
        vec![
            "* 1 FETCH (FLAGS () MODSEQ (1))",
            "* 2 FETCH (FLAGS () MODSEQ (2))",
            "* 3 FETCH (FLAGS () MODSEQ (3))",
        ]
    );

    // STORE reports the new MODSEQ once CONDSTORE is on.
    let (untagged, _) = c.cmd("t1", "STORE 1 +FLAGS (\\Flagged)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (FLAGS (\\Flagged) MODSEQ (4))"]);

    // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone.
    alice.flag_external(INBOX, 2, Flags::FLAGGED, true);
    let (untagged, done) = c
        .cmd("t2", "STORE 2 (UNCHANGEDSINCE 4) +FLAGS (\\Seen)")
        .await;
    assert_eq!(untagged, vec!["* 2 FETCH (FLAGS (\\Flagged) MODSEQ (5))"]);
    assert_eq!(done, "t2 OK [MODIFIED 2] STORE completed");
    assert_eq!(
        alice.flags_of(INBOX, 2),
        Some(Flags::UNREAD | Flags::FLAGGED)
    );
    // A silent conditional STORE still reports the MODSEQ.
    let (untagged, done) = c
        .cmd(
            "t3",
            "UID STORE 3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Seen)",
        )
        .await;
    assert_eq!(untagged, vec!["* 3 FETCH (UID 3 MODSEQ (6))"]);
    assert_eq!(done, "t3 OK UID STORE completed");

    // CHANGEDSINCE keeps only later changes and adds MODSEQ.
    let (untagged, _) = c.cmd("f2", "FETCH 1:* (FLAGS) (CHANGEDSINCE 4)").await;
    assert_eq!(
        untagged,
        vec![
            "* 2 FETCH (FLAGS (\\Flagged) MODSEQ (5))",
            "* 3 FETCH (FLAGS (\\Seen) MODSEQ (6))",
        ]
    );
    let (untagged, _) = c.cmd("q1", "SEARCH MODSEQ 5").await;
    assert_eq!(untagged, vec!["* SEARCH 2 3 (MODSEQ 6)"]);
    let (untagged, _) = c
        .cmd(
            "q2",
            "UID SEARCH MODSEQ \"/flags/\\\\draft\" all 6 UNFLAGGED",
        )
        .await;
    assert_eq!(untagged, vec!["* SEARCH 3 (MODSEQ 6)"]);
    let (untagged, _) = c.cmd("q3", "SEARCH MODSEQ 7").await;
    assert_eq!(untagged, vec!["* SEARCH"]);
    let (untagged, _) = c.cmd("st", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)").await;
    assert_eq!(
        untagged,
        vec!["* STATUS INBOX (HIGHESTMODSEQ 6 MESSAGES 3)"]
    );

    // Changes made elsewhere arrive with their MODSEQ.
    alice.flag_external(INBOX, 1, Flags::DELETED, true);
    let (untagged, _) = c.cmd("n", "NOOP").await;
    assert_eq!(
        untagged,
        vec!["* 1 FETCH (FLAGS (\\Flagged \\Deleted) MODSEQ (7))"]
    );
}

#[tokio::test]
async fn fetch_modseq_turns_condstore_on_mid_session() {
    let server = start(test_config()).await;
    server.backend.alice.deliver(INBOX, &plain("a", "x"));
    let mut c = Client::login(server.addr).await;
    let (untagged, _) = c.cmd("s", "SELECT INBOX").await;
    // HIGHESTMODSEQ is always sent (RFC 7162 §3.1.2.1).
    assert!(untagged.contains(&"* OK [HIGHESTMODSEQ 1] Highest".to_string()));
    let (untagged, _) = c.cmd("t", "STORE 1 +FLAGS (\\Seen)").await;
    assert_eq!(untagged, vec!["* 1 FETCH (FLAGS (\\Seen))"]);
    let (untagged, _) = c.cmd("f", "FETCH 1 (MODSEQ)").await;
    assert_eq!(
        untagged,
        vec!["* OK [HIGHESTMODSEQ 2] Highest", "* 1 FETCH (MODSEQ (2))"]
    );
    let (_, done) = c
        .cmd("v", "UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)")
        .await;
    assert!(done.starts_with("v BAD"), "{done}");
    let (_, done) = c.cmd("q", "SELECT INBOX (QRESYNC (1002 1))").await;
    assert!(done.starts_with("q BAD"), "{done}");
}

#[tokio::test]
async fn qresync_vanished_and_resync_on_select() {
    let server = start(test_config()).await;
    let alice = server.backend.alice.clone();
    for i in 1..=4 {
        alice.deliver(INBOX, &plain(&format!("m{i}"), "x"));
    }
    let mut c = Client::login(server.addr).await;
    let (untagged, _) = c.cmd("e", "ENABLE QRESYNC").await;
    assert_eq!(untagged, vec!["* ENABLED QRESYNC"]);
    let (untagged, _) = c.cmd("s", "SELECT INBOX").await;
    assert!(untagged.contains(&"* OK [HIGHESTMODSEQ 4] Highest".to_string()));

    alice.expunge_external(INBOX, 2);
    alice.flag_external(INBOX, 3, Flags::FLAGGED, true);
    let (untagged, _) = c.cmd("n", "NOOP").await;
    assert_eq!(
        untagged,
        vec![
            "* VANISHED 2",
            "* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (6))"
        ]
    );

    // A client that last saw MODSEQ 4 resynchronises in its SELECT.
    let mut r = Client::login(server.addr).await;
    r.cmd("e", "ENABLE CONDSTORE QRESYNC").await;
    let (untagged, done) = r.cmd("s", "SELECT INBOX (QRESYNC (1002 4 1:4))").await;
    let tail: Vec<&str> = untagged
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        vec![
            "* VANISHED (EARLIER) 2",
            "* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (6))"
        ]
    );
    assert!(done.starts_with("s OK"), "{done}");
    let (untagged, _) = r
        .cmd("f", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)")
        .await;
    assert_eq!(
        untagged,
        vec![
            "* VANISHED (EARLIER) 2",
            "* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (6))"
        ]
    );
    // A stale UIDVALIDITY gets a plain SELECT.
    let (untagged, _) = r.cmd("s2", "SELECT INBOX (QRESYNC (999 4))").await;
    assert!(
        untagged
            .first()
            .is_some_and(|l| l.starts_with("* OK [CLOSED]"))
    );
    assert!(
        !untagged.iter().any(|l| l.contains("VANISHED")),
        "{untagged:?}"
    );

    // MOVE under QRESYNC reports VANISHED instead of EXPUNGE.
    let (untagged, _) = c.cmd("m", "UID MOVE 4 Trash").await;
    assert_eq!(
        untagged,
        vec!["* OK [COPYUID 1003 4 1] Moved", "* VANISHED 4"]
    );
}

#[tokio::test]
async fn qresync_without_backend_history_reports_missing_uids() {
    let server = start(test_config()).await;
    let bob = server.backend.bob.clone();
    for i in 1..=3 {
        bob.deliver(INBOX, &plain(&format!("b{i}"), "x"));
    }
    bob.expunge_external(INBOX, 2);
    let mut c = Client::connect(server.addr).await.0;
    c.cmd("l", "LOGIN bob@example.com bobpw").await;
    c.cmd("e", "ENABLE QRESYNC").await;
    let (untagged, _) = c.cmd("s", "SELECT INBOX (QRESYNC (1002 1 1:10))").await;
    assert!(
        untagged.contains(&"* VANISHED (EARLIER) 2".to_string()),
        "{untagged:?}"
    );
    assert!(untagged.contains(&"* 2 FETCH (UID 3 FLAGS () MODSEQ (3))".to_string()));
}

/// imapclient (PyPI) driving CONDSTORE (skipped when python3 or imapclient is missing).
#[tokio::test]
async fn imapclient_condstore() {
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
assert c.has_capability('CONDSTORE') and c.has_capability('QRESYNC')
assert c.enable('CONDSTORE') == [b'CONDSTORE']
info = c.select_folder('INBOX')
assert info[b'HIGHESTMODSEQ'] == 3, info
c.add_flags([2], [b'\\Flagged'])
changed = c.fetch([1, 2, 3], ['FLAGS'], modifiers=['CHANGEDSINCE 3'])
assert list(changed) == [2], changed
assert changed[2][b'MODSEQ'] == (4,), changed
st = c.folder_status('INBOX', [b'HIGHESTMODSEQ'])
assert st[b'HIGHESTMODSEQ'] == 4, st
c.logout()
print('imapclient condstore ok')
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
        output.status.success() && stdout.contains("imapclient condstore ok"),
        "{stdout}\n{stderr}"
    );
}
