//! IMAP substring SEARCH over the real store and index: FROM, TO, CC, SUBJECT, HEADER,
//! BODY and TEXT keep their substring meaning (RFC 3501 §6.4.4) whether the messages
//! are indexed (the index narrows, the server checks) or not yet (read and checked);
//! and the selected folder follows other sessions' flag changes, expunges and
//! arrivals from the change listing.

mod imap_support;

use std::sync::Arc;

use imap_support::Client;
use tokio::sync::watch;
use zcs_core::{Attrs, Flags, ItemId, folder};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};
use zcs_index::{IndexBackend, TantivyIndex};
use zcs_server::imap::{ImapBackend, serve};
use zcs_server::imap_backend::StoreImapBackend;
use zcs_server::indexer::Indexer;
use zcs_store::{Mailbox, Store};

const USER: &str = "sub@sub.test";
const PW: &str = "substring-secret-1";

struct World {
    addr: std::net::SocketAddr,
    mailbox: Mailbox,
    account: zcs_core::ZimbraId,
    indexer: Indexer,
    _shutdown: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let sql = SqlDirectory::open_sqlite(&dir.path().join("directory.db"))
        .await
        .expect("directory");
    let prov = Arc::new(Provisioning::new(
        Arc::new(sql),
        AuthRegistry::with_builtins(),
    ));
    prov.bootstrap().await.expect("bootstrap");
    prov.create_domain("sub.test", Attrs::new())
        .await
        .expect("domain");
    let account = prov
        .create_account(USER, Some(PW), Attrs::new())
        .await
        .expect("account")
        .id;
    let store = Arc::new(
        Store::open(zcs_store::StoreConfig::under(dir.path().join("store")))
            .await
            .expect("store"),
    );
    let index: Arc<dyn IndexBackend> =
        Arc::new(TantivyIndex::open(&dir.path().join("index")).expect("index"));
    let (indexer, _task) = Indexer::start(store.clone(), index.clone());
    let mailbox = store.mailbox(account).await.expect("mailbox");
    let backend: Arc<dyn ImapBackend> = Arc::new(StoreImapBackend::new(
        prov.clone(),
        store.clone(),
        index,
        indexer.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = watch::channel(false);
    let config = zcs_server::imap::ImapConfig {
        account_check_interval: std::time::Duration::ZERO,
        ..imap_support::test_config()
    };
    tokio::spawn(serve(listener, config, backend, rx));
    World {
        addr,
        mailbox,
        account,
        indexer,
        _shutdown: tx,
        _dir: dir,
    }
}

async fn login(w: &World) -> Client {
    let (mut c, _) = Client::connect(w.addr).await;
    let (_, done) = c.cmd("l", &format!("LOGIN {USER} {PW}")).await;
    assert!(done.starts_with("l OK"), "{done}");
    c
}

/// Appends straight to the store: the indexer is not told, so the message stays
/// unindexed until `index_all`.
async fn put(w: &World, from: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}\r\nTo: Team <team@sub.test>\r\nCc: boss@corp.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\n{body}\r\n"
    );
    w.mailbox
        .append(
            ItemId(folder::INBOX),
            raw.as_bytes(),
            Flags(Flags::UNREAD),
            0,
        )
        .await
        .expect("append");
}

async fn index_all(w: &World) {
    w.indexer.notify(w.account);
    for _ in 0..200 {
        if w.mailbox.unindexed(10).await.expect("unindexed").is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("indexer did not catch up");
}

async fn search(c: &mut Client, key: &str) -> String {
    let (untagged, done) = c.cmd("s", &format!("SEARCH {key}")).await;
    assert!(done.starts_with("s OK"), "SEARCH {key}: {done}");
    assert_eq!(untagged.len(), 1, "{untagged:?}");
    untagged[0].clone()
}

const CASES: &[(&str, &str)] = &[
    // Inside a word, across words, case-insensitively.
    ("SUBJECT \"umber 42\"", "* SEARCH 1 2"),
    ("SUBJECT \"report number 4242\"", "* SEARCH 1"),
    ("SUBJECT ROADMAP", "* SEARCH 3 4"),
    ("SUBJECT oadma", "* SEARCH 3 4"),
    ("HEADER Subject 4242", "* SEARCH 1"),
    // An address prefix does not match a longer local part.
    ("FROM user17@", "* SEARCH 1"),
    ("FROM user17", "* SEARCH 1 2"),
    ("FROM \"Sender 17\"", "* SEARCH 1 2"),
    ("FROM corp3.exam", "* SEARCH 1 2"),
    ("TO team@", "* SEARCH 1 2 3 4"),
    ("CC boss", "* SEARCH 1 2 3 4"),
    ("CC nobody", "* SEARCH"),
    // Bodies: substrings, phrases across a line break.
    ("BODY w1234", "* SEARCH 1 2"),
    ("BODY w12345", "* SEARCH 2"),
    ("BODY \"quarterly numbers\"", "* SEARCH 1 3"),
    ("BODY \"numbers quarterly\"", "* SEARCH"),
    ("TEXT roadmap", "* SEARCH 3 4"),
    ("TEXT \"team@sub\"", "* SEARCH 1 2 3 4"),
    // Combined with flags and negation.
    ("NOT SUBJECT roadmap", "* SEARCH 1 2"),
    ("OR FROM user170 BODY quarterly", "* SEARCH 1 2 3"),
    ("SUBJECT roadmap UNSEEN", "* SEARCH 3 4"),
    ("FLAGGED SUBJECT roadmap", "* SEARCH"),
];

#[tokio::test]
async fn substring_search_means_the_same_before_and_after_indexing() {
    let w = world().await;
    put(
        &w,
        "\"Sender 17\" <user17@corp3.example>",
        "Report number 4242",
        "the quarterly numbers: w1234 here",
    )
    .await;
    put(
        &w,
        "\"Sender 170\" <user170@corp3.example>",
        "Report number 42 ",
        "w12345 only",
    )
    .await;
    put(
        &w,
        "Jo <jo@mail.test>",
        "Roadmap review",
        "quarterly\r\nnumbers and the roadmap",
    )
    .await;
    put(&w, "x@y.test", "Re: roadmaps", "see attached").await;

    let mut c = login(&w).await;
    c.cmd("x", "SELECT INBOX").await;
    // Nothing is indexed yet: every message is read and checked.
    assert!(!w.mailbox.unindexed(10).await.expect("list").is_empty());
    for (key, want) in CASES {
        assert_eq!(search(&mut c, key).await, *want, "unindexed: SEARCH {key}");
    }
    index_all(&w).await;
    for (key, want) in CASES {
        assert_eq!(search(&mut c, key).await, *want, "indexed: SEARCH {key}");
    }
    // Keys the index does not hold still work (the header is read).
    assert_eq!(search(&mut c, "HEADER Message-ID 4242").await, "* SEARCH 1");
    assert_eq!(search(&mut c, "BCC anyone").await, "* SEARCH");
}

#[tokio::test]
async fn the_selected_folder_follows_other_sessions_without_listing_it() {
    let w = world().await;
    for i in 0..5 {
        put(&w, "a@b.test", &format!("msg {i}"), "body").await;
    }
    let mut a = login(&w).await;
    let mut b = login(&w).await;
    a.cmd("x", "SELECT INBOX").await;
    b.cmd("x", "SELECT INBOX").await;

    // A flag change only.
    b.cmd("f", "STORE 2 +FLAGS.SILENT (\\Flagged)").await;
    let (untagged, _) = a.cmd("n", "NOOP").await;
    assert_eq!(untagged, vec!["* 2 FETCH (FLAGS (\\Flagged))"]);
    let (untagged, _) = a.cmd("n", "NOOP").await;
    assert!(untagged.is_empty(), "{untagged:?}");

    // One message leaves and one arrives between two looks: the count alone would not
    // tell, the UID listing does.
    b.cmd("d", "STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("e", "EXPUNGE").await;
    put(&w, "a@b.test", "msg 5", "body").await;
    let (untagged, _) = a.cmd("n", "NOOP").await;
    assert_eq!(
        untagged,
        vec!["* 3 EXPUNGE", "* 5 EXISTS", "* 1 RECENT"],
        "{untagged:?}"
    );
    assert_eq!(search(&mut a, "FLAGGED").await, "* SEARCH 2");
    let (untagged, _) = a.cmd("f", "FETCH 1:* (FLAGS)").await;
    assert_eq!(
        untagged,
        vec![
            "* 1 FETCH (FLAGS ())",
            "* 2 FETCH (FLAGS (\\Flagged))",
            "* 3 FETCH (FLAGS ())",
            "* 4 FETCH (FLAGS ())",
            "* 5 FETCH (FLAGS (\\Recent))",
        ]
    );

    // A removal alone: the count tells, the UID listing says which.
    b.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("e", "EXPUNGE").await;
    let (untagged, _) = a.cmd("n", "NOOP").await;
    assert_eq!(untagged, vec!["* 1 EXPUNGE"]);
    assert_eq!(search(&mut a, "ALL").await, "* SEARCH 1 2 3 4");
}
