//! The indexing pipeline end to end on a real store and tantivy index: mail stored while
//! no indexer ran is found once it starts (the crash catch-up), new mail is searchable
//! within a second, `reIndexMailbox` start/status/cancel and `verifyIndex` on one
//! mailbox without touching another, and a damaged index detected, logged as Zimbra
//! logs it (`Possibly corrupt index`) and rebuilt from the store.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_index::query::parse;
use zcs_index::{IndexBackend, IndexDocument, TantivyIndex};
use zcs_server::indexer::{Indexer, ReindexState};
use zcs_store::{Mailbox, Store, StoreConfig};

/// Log lines of this test binary (every test shares the process's subscriber).
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(|| Capture)
        .try_init();
}

fn logged(text: &str) -> bool {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|p| p.into_inner())).contains(text)
}

struct World {
    _dir: tempfile::TempDir,
    index_dir: std::path::PathBuf,
    store: Arc<Store>,
    index: Arc<dyn IndexBackend>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open(StoreConfig::under(dir.path().join("store")))
            .await
            .expect("store"),
    );
    let index_dir = dir.path().join("index");
    let index: Arc<dyn IndexBackend> = Arc::new(TantivyIndex::open(&index_dir).expect("index"));
    World {
        _dir: dir,
        index_dir,
        store,
        index,
    }
}

async fn put(mb: &Mailbox, subject: &str, body: &str) -> ItemId {
    let raw = format!("From: a@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n");
    mb.append(ItemId(folder::INBOX), raw.as_bytes(), Flags::default(), 0)
        .await
        .expect("append")
        .id
}

fn hits(index: &Arc<dyn IndexBackend>, mb: &Mailbox, text: &str) -> Vec<ItemId> {
    let mut ids = index
        .search(mb.id(), &parse(text).expect("query"), 10_000)
        .expect("search");
    ids.sort();
    ids
}

/// As [`hits`], `None` when the search fails (a damaged index may).
fn try_hits(index: &Arc<dyn IndexBackend>, mb: &Mailbox, text: &str) -> Option<usize> {
    index
        .search(mb.id(), &parse(text).expect("query"), 10_000)
        .ok()
        .map(|ids| ids.len())
}

/// Polls `check` every 20 ms for up to `limit`.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test]
async fn mail_stored_while_no_indexer_ran_is_found_once_it_starts() {
    let w = world().await;
    let account = ZimbraId::new();
    let mb = w.store.mailbox(account).await.expect("mailbox");
    // As after a crash: stored, acknowledged, never indexed.
    let mut ids = Vec::new();
    for i in 0..250 {
        ids.push(put(&mb, &format!("note {i}"), &format!("catchup{i} pelican")).await);
    }
    // One message indexed and committed, but not marked (a crash between the two).
    let raw = mb.read_message(ids[0]).await.expect("read");
    w.index
        .index(
            mb.id(),
            vec![zcs_index::document_from_message(ids[0], &raw)],
        )
        .expect("index");
    w.index.commit().expect("commit");
    assert_eq!(mb.unindexed(1000).await.expect("unindexed").len(), 250);

    // At start the server queues every mailbox for a reconcile.
    let (indexer, task) = Indexer::start(w.store.clone(), w.index.clone());
    indexer.reconcile(account);
    assert!(
        eventually(Duration::from_secs(30), || hits(&w.index, &mb, "pelican")
            .len()
            == 250)
        .await
    );
    assert_eq!(hits(&w.index, &mb, "catchup249"), [ids[249]]);
    assert_eq!(
        w.index.doc_count(mb.id()).expect("count"),
        250,
        "no duplicates"
    );
    let mb2 = mb.clone();
    let marked = async move || mb2.unindexed(10).await.expect("unindexed").is_empty();
    let until = Instant::now() + Duration::from_secs(10);
    while !marked().await && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(mb.unindexed(10).await.expect("unindexed").is_empty());
    drop(indexer);
    task.join(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn new_mail_is_searchable_within_a_second() {
    let w = world().await;
    let account = ZimbraId::new();
    let mb = w.store.mailbox(account).await.expect("mailbox");
    let (indexer, task) = Indexer::start(w.store.clone(), w.index.clone());
    let mut took = Vec::new();
    for i in 0..5 {
        let word = format!("arrival{i}");
        // What delivery does once the store has the message: tell the indexer.
        put(&mb, "fresh", &word).await;
        let acked = Instant::now();
        indexer.notify(account);
        assert!(
            eventually(Duration::from_secs(5), || hits(&w.index, &mb, &word).len()
                == 1)
            .await,
            "{word} never found"
        );
        took.push(acked.elapsed());
        // Let the commit interval pass, as between two deliveries a moment apart.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    took.sort();
    eprintln!("searchable after {took:?}");
    // The median, so one stall of a loaded test machine does not decide.
    assert!(took[2] < Duration::from_secs(1), "{took:?}");
    drop(indexer);
    task.join(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn reindex_and_verify_one_mailbox_without_touching_another() {
    capture_logs();
    let w = world().await;
    let (a, b) = (ZimbraId::new(), ZimbraId::new());
    let mba = w.store.mailbox(a).await.expect("mailbox");
    let mbb = w.store.mailbox(b).await.expect("mailbox");
    for i in 0..450 {
        put(&mba, "a mail", &format!("alpha{i} heron")).await;
    }
    for i in 0..3 {
        put(&mbb, "b mail", &format!("beta{i} heron")).await;
    }
    let (indexer, task) = Indexer::start(w.store.clone(), w.index.clone());
    indexer.notify(a);
    indexer.notify(b);
    assert!(
        eventually(Duration::from_secs(30), || {
            hits(&w.index, &mba, "heron").len() == 450 && hits(&w.index, &mbb, "heron").len() == 3
        })
        .await
    );
    let sound = indexer.verify(a).await.expect("verify").expect("mailbox");
    let sound_pending = sound.pending;
    assert!(sound.is_sound(), "{sound:?}");
    assert!(sound_pending <= 450);

    // Lose a's documents behind the store's back and leave a stray one.
    w.index.delete_mailbox(mba.id()).expect("delete");
    let mut stray = IndexDocument::new(ItemId(99_999), "message");
    stray.content = "stray heron".into();
    w.index.index(mba.id(), vec![stray]).expect("stray");
    w.index.commit().expect("commit");
    let report = indexer.verify(a).await.expect("verify").expect("mailbox");
    assert!(!report.is_sound());
    assert_eq!(report.missing.len(), 450, "{:?}", report.extra);
    assert_eq!(report.extra, [ItemId(99_999)]);
    assert!(report.damaged_files.is_empty(), "{report:?}");
    assert!(logged("Possibly corrupt index"));
    assert!(
        indexer
            .verify(b)
            .await
            .expect("verify")
            .expect("mailbox")
            .is_sound()
    );
    assert_eq!(indexer.verify(ZimbraId::new()).await.expect("verify"), None);

    // Reindex: status moves to done with the counts, the stray document goes.
    assert!(indexer.reindex_status(a).is_none());
    assert!(indexer.reindex(a));
    let done = eventually(Duration::from_secs(30), || {
        indexer
            .reindex_status(a)
            .is_some_and(|p| p.state == ReindexState::Done)
    })
    .await;
    let progress = indexer.reindex_status(a).expect("status");
    assert!(done, "{progress:?}");
    assert_eq!(
        (progress.total, progress.done, progress.remaining()),
        (450, 450, 0)
    );
    assert!(
        indexer
            .verify(a)
            .await
            .expect("verify")
            .expect("mailbox")
            .is_sound()
    );
    assert_eq!(hits(&w.index, &mba, "heron").len(), 450);
    assert_eq!(hits(&w.index, &mba, "alpha77").len(), 1);
    assert_eq!(hits(&w.index, &mbb, "heron").len(), 3, "b untouched");
    assert!(indexer.reindex_status(b).is_none());

    // Cancel: a running reindex stops where it is; a new start runs to the end.
    assert!(indexer.reindex(a));
    assert!(!indexer.reindex(a), "one reindex at a time");
    if indexer.cancel_reindex(a) {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let p = indexer.reindex_status(a).expect("status");
        assert_eq!(p.state, ReindexState::Cancelled);
        assert!(p.done <= 450);
    }
    assert!(!indexer.cancel_reindex(a), "nothing running");
    assert!(!indexer.cancel_reindex(b));
    assert!(indexer.reindex(a));
    assert!(
        eventually(Duration::from_secs(30), || indexer
            .reindex_status(a)
            .is_some_and(|p| p.state == ReindexState::Done))
        .await
    );
    assert_eq!(w.index.doc_count(mba.id()).expect("count"), 450);
    drop(indexer);
    task.join(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_damaged_index_is_logged_and_rebuilt_from_the_store() {
    capture_logs();
    let w = world().await;
    let (a, b) = (ZimbraId::new(), ZimbraId::new());
    let mba = w.store.mailbox(a).await.expect("mailbox");
    let mbb = w.store.mailbox(b).await.expect("mailbox");
    for i in 0..40 {
        put(&mba, "a mail", &format!("gamma{i} osprey")).await;
        put(&mbb, "b mail", &format!("delta{i} osprey")).await;
    }
    let (indexer, task) = Indexer::start(w.store.clone(), w.index.clone());
    indexer.reconcile(a);
    indexer.reconcile(b);
    let complete = || {
        try_hits(&w.index, &mba, "osprey") == Some(40)
            && try_hits(&w.index, &mbb, "osprey") == Some(40)
    };
    assert!(eventually(Duration::from_secs(30), complete).await);

    // Tantivy may still be merging segments after the last commit; a merge finishing
    // after the damage would replace the damaged file and leave nothing to repair.
    // Wait until the index directory stops changing.
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(&w.index_dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        names
    };
    let mut last = listing();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = listing();
        if now == last {
            break;
        }
        last = now;
    }
    // A bad disk flips bytes in the middle of the largest segment file.
    let largest = std::fs::read_dir(&w.index_dir)
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "json" && e != "lock"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a segment file");
    {
        use std::io::{Seek as _, SeekFrom};
        let len = std::fs::metadata(&largest).expect("size").len();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&largest)
            .expect("open");
        file.seek(SeekFrom::Start(len / 2)).expect("seek");
        file.write_all(&[0xa5; 16]).expect("write");
    }
    let damaged = w.index.verify_files();
    assert!(
        damaged.as_ref().map_or(true, |d| !d.is_empty()),
        "{damaged:?}"
    );
    let report = indexer.verify(a).await.expect("verify").expect("mailbox");
    assert!(!report.damaged_files.is_empty(), "{report:?}");

    // What a failed search does: have the indexer check; it clears and rebuilds.
    indexer.check_index();
    assert!(
        eventually(Duration::from_secs(30), || {
            w.index.verify_files().is_ok_and(|d| d.is_empty()) && complete()
        })
        .await
    );
    assert!(logged(
        "Possibly corrupt index; rebuilding it from the store"
    ));
    assert_eq!(hits(&w.index, &mbb, "delta7").len(), 1);
    assert!(
        indexer
            .verify(a)
            .await
            .expect("verify")
            .expect("mailbox")
            .is_sound()
    );
    assert!(
        indexer
            .verify(b)
            .await
            .expect("verify")
            .expect("mailbox")
            .is_sound()
    );
    drop(indexer);
    task.join(Duration::from_secs(5)).await;
}
