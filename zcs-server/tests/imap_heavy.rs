//! Heavy commands on large folders do not stall other sessions: SORT, THREAD and
//! header SEARCH parse headers on blocking workers, so a NOOP on another connection is
//! answered while they run. Uses the in-memory backend of `imap_support` on a
//! single-threaded runtime, where any CPU work done on the runtime thread would hold
//! every other connection.

mod imap_support;

use std::time::{Duration, Instant};

use imap_support::{Client, start, test_config};

const INBOX: i32 = 2;

/// A message whose headers give the sort and thread code something to chew on.
fn message(i: usize) -> Vec<u8> {
    format!(
        "From: \"Sender {i}\" <s{i}@example.org>\r\nTo: alice@example.com, \
         \"Team {i}\" <team{}@example.net>\r\nCc: cc{}@example.com\r\n\
         Subject: Re: [list] Fwd: topic {}\r\nDate: Mon, {} Jan 2023 09:{:02}:00 +0000\r\n\
         Message-ID: <m{i}@example.org>\r\nReferences: <m{}@example.org>\r\n\r\nbody {i}\r\n",
        i % 97,
        i % 13,
        i % 501,
        1 + i % 28,
        i % 60,
        i / 2
    )
    .into_bytes()
}

/// Sends `tag command` on `a`, then a NOOP on `b` shortly after; returns how long the
/// NOOP took and whether it was answered before `a`'s command completed.
async fn noop_during(a: &mut Client, b: &mut Client, tag: &str, command: &str) -> Duration {
    let started = Instant::now();
    a.send(&format!("{tag} {command}")).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let noop_sent = Instant::now();
    let (_, done) = b.cmd("n", "NOOP").await;
    let noop_took = noop_sent.elapsed();
    let noop_at = started.elapsed();
    assert!(done.starts_with("n OK"), "{done}");
    let (untagged, done) = a.until_tagged(tag).await;
    let heavy_took = started.elapsed();
    assert!(done.starts_with(&format!("{tag} OK")), "{done}");
    assert!(!untagged.is_empty(), "{command}: no result line");
    eprintln!("{command}: {heavy_took:?}; NOOP answered after {noop_took:?}");
    assert!(
        noop_at < heavy_took,
        "{command}: NOOP ({noop_at:?}) waited for the command ({heavy_took:?})"
    );
    noop_took
}

#[tokio::test(flavor = "current_thread")]
async fn noop_answers_while_sort_thread_and_search_run() {
    let server = start(test_config()).await;
    let n = 20_000;
    for i in 0..n {
        server.backend.alice.deliver(INBOX, &message(i));
    }
    let mut a = Client::login(server.addr).await;
    let mut b = Client::login(server.addr).await;
    let (untagged, done) = a.cmd("s", "SELECT INBOX").await;
    assert!(done.starts_with("s OK"), "{done}");
    assert!(untagged.contains(&format!("* {n} EXISTS")), "{untagged:?}");

    for (tag, command) in [
        ("t1", "SORT (SUBJECT REVERSE DATE) UTF-8 ALL"),
        ("t2", "THREAD REFERENCES UTF-8 ALL"),
        ("t3", "UID SEARCH HEADER Subject \"topic 5\""),
    ] {
        let took = noop_during(&mut a, &mut b, tag, command).await;
        assert!(
            took < Duration::from_millis(500),
            "{command}: NOOP took {took:?}"
        );
    }
}

/// Several sessions sorting at once all finish (the worker slots are shared fairly,
/// chunk by chunk) and agree on the result.
#[tokio::test]
async fn concurrent_sorts_finish_with_the_same_answer() {
    let server = start(test_config()).await;
    for i in 0..3_000 {
        server.backend.alice.deliver(INBOX, &message(i));
    }
    let mut clients = Vec::new();
    for _ in 0..6 {
        let mut c = Client::login(server.addr).await;
        c.cmd("s", "SELECT INBOX").await;
        clients.push(c);
    }
    let mut tasks = Vec::new();
    for mut c in clients {
        tasks.push(tokio::spawn(async move {
            let (untagged, done) = c.cmd("x", "SORT (FROM SUBJECT) UTF-8 ALL").await;
            assert!(done.starts_with("x OK"), "{done}");
            untagged
                .into_iter()
                .find(|l| l.starts_with("* SORT"))
                .expect("SORT line")
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("client task"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(answers[0].split(' ').count(), 2 + 3_000);
}

/// The summary cache: ENVELOPE, BODYSTRUCTURE and header fields fetched a second time,
/// and SORT/SEARCH over messages already summarised, do not read the messages again,
/// and answer exactly as from the message itself (including on a new connection).
#[tokio::test]
async fn headers_and_structure_are_not_reparsed() {
    let server = start(test_config()).await;
    let alice = &server.backend.alice;
    for i in 0..50 {
        let mut raw = message(i);
        if i % 2 == 0 {
            raw = format!(
                "Subject: multi {i}\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                 --b\r\nContent-Type: text/plain\r\n\r\nhello {i}\r\n\
                 --b\r\nContent-Type: application/pdf; name=x.pdf\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n"
            )
            .into_bytes();
        }
        alice.deliver(INBOX, &raw);
    }
    let items = "(UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY \
                 BODY.PEEK[HEADER.FIELDS (From Subject Date)] RFC822.HEADER)";
    let mut c = Client::login(server.addr).await;
    c.cmd("s", "SELECT INBOX").await;
    let before = alice.reads.load(std::sync::atomic::Ordering::Relaxed);
    let (first, done) = c.cmd("f1", &format!("FETCH 1:* {items}")).await;
    assert!(done.starts_with("f1 OK"), "{done}");
    assert_eq!(first.len(), 50);
    let after_first = alice.reads.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(after_first - before, 50, "each message read once");

    let (second, _) = c.cmd("f2", &format!("FETCH 1:* {items}")).await;
    assert_eq!(second, first, "the cache answers exactly as the message");
    let (sorted, _) = c.cmd("o", "SORT (SUBJECT FROM) UTF-8 ALL").await;
    let (found, _) = c.cmd("h", "SEARCH SUBJECT multi").await;
    assert_eq!(found[0].split(' ').count(), 2 + 25, "{found:?}");
    // Another connection shares the cache.
    let mut d = Client::login(server.addr).await;
    d.cmd("s", "EXAMINE INBOX").await;
    let (third, _) = d.cmd("f3", &format!("FETCH 1:* {items}")).await;
    assert_eq!(third, first);
    assert_eq!(
        alice.reads.load(std::sync::atomic::Ordering::Relaxed),
        after_first,
        "nothing read again"
    );
    // A body still comes from the message.
    let (body, _) = c.cmd("b", "FETCH 2 BODY.PEEK[TEXT]").await;
    assert!(
        body[0].contains("hello 1") || body[0].contains("body 1"),
        "{body:?}"
    );
    assert!(!sorted.is_empty());
}
