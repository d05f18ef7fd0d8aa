//! Thousands of mailboxes on one index: every mailbox shares one set of segment files,
//! so the open file handles stay bounded however many mailboxes are added, each
//! mailbox sees only its own mail, and deleting or rebuilding one leaves the others
//! alone. In a file of its own: it counts the process's open files.

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::parse;
use zcs_index::{IndexBackend, IndexDocument, TantivyIndex};

const MAILBOXES: i64 = 2_000;

/// Open file descriptors of this process (Linux), `None` elsewhere.
fn open_files() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

fn doc(mailbox: i64, item: i32) -> IndexDocument {
    let mut d = IndexDocument::new(ItemId(item), "message");
    d.subject = format!("report for owner{mailbox}");
    d.content = format!("shared words and token{mailbox}x{item}");
    d.from = format!("user{mailbox}@example.com");
    d.date_ms = i64::from(item);
    d.size = 100;
    d
}

fn hits(index: &TantivyIndex, mailbox: i64, text: &str) -> Vec<i32> {
    let q = parse(text).expect("query");
    let mut ids: Vec<i32> = index
        .search(MailboxId(mailbox), &q, 100)
        .expect("search")
        .into_iter()
        .map(|i| i.0)
        .collect();
    ids.sort();
    ids
}

#[test]
fn thousands_of_mailboxes_share_one_set_of_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = TantivyIndex::open(dir.path()).expect("index");
    let before = open_files();
    // As the indexer does: rounds of 16 mailboxes, one commit per round.
    for round in (1..=MAILBOXES).collect::<Vec<_>>().chunks(16) {
        for &m in round {
            index
                .index(MailboxId(m), vec![doc(m, 257), doc(m, 258)])
                .expect("add");
        }
        index.commit().expect("commit");
    }
    if let (Some(before), Some(after)) = (before, open_files()) {
        // A file (or more) per mailbox would be thousands; segments merge as they grow.
        assert!(
            after < before + 200,
            "{MAILBOXES} mailboxes: {before} open files before, {after} after"
        );
    } else {
        eprintln!("/proc/self/fd unreadable: open files not counted");
    }
    for m in [1, 777, MAILBOXES] {
        assert_eq!(index.doc_count(MailboxId(m)).expect("count"), 2);
        assert_eq!(hits(&index, m, "shared"), [257, 258]);
        assert_eq!(hits(&index, m, &format!("token{m}x258")), [258]);
        assert!(hits(&index, m, &format!("token{}x258", m % MAILBOXES + 1)).is_empty());
        assert_eq!(hits(&index, m, &format!("from:user{m}")), [257, 258]);
    }

    // Deleting one mailbox and rebuilding another touch nothing else.
    index.delete_mailbox(MailboxId(5)).expect("delete");
    index.delete_mailbox(MailboxId(6)).expect("delete");
    index
        .index(MailboxId(6), vec![doc(6, 300)])
        .expect("re-add");
    index.commit().expect("commit");
    assert_eq!(index.doc_count(MailboxId(5)).expect("count"), 0);
    assert!(hits(&index, 5, "shared").is_empty());
    assert_eq!(hits(&index, 6, "shared"), [300]);
    for m in [4, 7, 1_999] {
        assert_eq!(hits(&index, m, "shared"), [257, 258], "mailbox {m}");
    }
}
