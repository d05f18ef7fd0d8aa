//! The tantivy backend end to end: indexing and committing, searching by every text
//! field, mailbox isolation, replacement, deletion, reopening from disk, ordering.

use std::sync::Arc;

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::{Query, parse, plan};
use zcs_index::{
    IndexBackend, IndexDocument, IndexOptions, SearchOrder, TantivyIndex, document_from_message,
};

const A: MailboxId = MailboxId(1);
const B: MailboxId = MailboxId(2);

fn doc(item: i32, subject: &str, content: &str, date_ms: i64) -> IndexDocument {
    let mut d = IndexDocument::new(ItemId(item), "message");
    d.subject = subject.into();
    d.content = content.into();
    d.from = "\"Jo Brown\" <jb@zimbra.com>".into();
    d.to = "Alice <alice@example.com>, bob@mail.example.org".into();
    d.cc = "carol@example.net".into();
    d.message_id = Some(format!("<msg{item}@example.com>"));
    d.date_ms = date_ms;
    d.size = 1000;
    d
}

fn q(text: &str) -> Query {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn search(index: &TantivyIndex, mailbox: MailboxId, text: &str) -> Vec<i32> {
    let mut ids: Vec<i32> = index
        .search(mailbox, &q(text), 1000)
        .expect("search")
        .into_iter()
        .map(|i| i.0)
        .collect();
    ids.sort();
    ids
}

fn sample() -> TantivyIndex {
    let index = TantivyIndex::in_memory().expect("index");
    let mut pdf = doc(303, "Quarterly report", "numbers attached", 3_000);
    pdf.filenames = vec!["Q3-report.pdf".into()];
    pdf.attachment_types = vec!["application/pdf".into()];
    let mut img = doc(304, "Photos", "the beach at dusk", 4_000);
    img.attachment_types = vec!["image/jpeg; name=x.jpg".into()];
    img.from = "Dave <dave@photos.example.com>".into();
    index
        .index(
            A,
            vec![
                doc(
                    301,
                    "Lunch plans",
                    "Let us meet at the usual café tomorrow",
                    1_000,
                ),
                doc(
                    302,
                    "Server outage",
                    "The mail server crashed; e-mail delayed",
                    2_000,
                ),
                pdf,
                img,
                doc(305, "東京の会議", "会議は東京都庁で行います", 5_000),
            ],
        )
        .expect("index A");
    index
        .index(
            B,
            vec![doc(
                301,
                "Secret lunch",
                "mailbox B only words: zebra",
                1_500,
            )],
        )
        .expect("index B");
    index.commit().expect("commit");
    index
}

#[test]
fn documents_are_invisible_until_commit() {
    let index = TantivyIndex::in_memory().expect("index");
    index
        .index(A, vec![doc(257, "hello", "world", 1)])
        .expect("index");
    assert!(search(&index, A, "world").is_empty());
    index.commit().expect("commit");
    assert_eq!(search(&index, A, "world"), [257]);
}

#[test]
fn text_fields_are_searchable() {
    let index = sample();
    assert_eq!(search(&index, A, "content:crashed"), [302]);
    assert_eq!(search(&index, A, "crashed"), [302]);
    assert_eq!(search(&index, A, "CAFÉ"), [301]);
    assert_eq!(search(&index, A, "subject:outage"), [302]);
    assert!(search(&index, A, "content:outage").is_empty());
    assert_eq!(search(&index, A, "msgid:msg303@example.com"), [303]);
    assert_eq!(search(&index, A, "filename:q3-report.pdf"), [303]);
    assert_eq!(search(&index, A, "filename:pdf"), [303]);
    assert_eq!(search(&index, A, "cc:carol").len(), 5);
    assert_eq!(search(&index, A, "to:alice").len(), 5);
    assert_eq!(search(&index, A, "tofrom:dave"), [304]);
    assert_eq!(search(&index, A, "tocc:dave"), Vec::<i32>::new());
    // Bare words also look at subject and addresses.
    assert_eq!(search(&index, A, "quarterly"), [303]);
    assert_eq!(search(&index, A, "dave"), [304]);
}

#[test]
fn addresses_match_by_every_part() {
    let index = sample();
    for query in [
        "from:jb@zimbra.com",
        "from:jb",
        "from:zimbra.com",
        "from:@zimbra.com",
        "from:zimbra",
        "from:\"Jo Brown\"",
        "from:<jb@zimbra.com>",
    ] {
        assert_eq!(search(&index, A, query).len(), 4, "{query}");
    }
    for query in [
        "to:mail.example.org",
        "to:example.org",
        "to:bob",
        "tofromcc:example.net",
    ] {
        assert_eq!(search(&index, A, query).len(), 5, "{query}");
    }
    assert_eq!(search(&index, A, "from:photos.example.com"), [304]);
    assert_eq!(search(&index, A, "from:*.com").len(), 5);
    assert!(search(&index, A, "from:\"Brown Jo\"").is_empty());
}

#[test]
fn phrases_wildcards_and_booleans() {
    let index = sample();
    assert_eq!(search(&index, A, "\"usual café\""), [301]);
    assert!(search(&index, A, "\"café usual\"").is_empty());
    assert_eq!(search(&index, A, "\"mail server crashed\""), [302]);
    assert_eq!(search(&index, A, "e-mail"), [302]);
    assert_eq!(search(&index, A, "cras*"), [302]);
    assert_eq!(search(&index, A, "*ash*"), [302]);
    assert_eq!(search(&index, A, "subject:quart*"), [303]);
    assert_eq!(search(&index, A, "lunch OR outage"), [301, 302]);
    assert_eq!(search(&index, A, "lunch || outage"), [301, 302]);
    assert_eq!(search(&index, A, "meet tomorrow"), [301]);
    assert_eq!(search(&index, A, "meet AND outage"), Vec::<i32>::new());
    assert_eq!(search(&index, A, "(lunch or outage) -crashed"), [301]);
    assert_eq!(search(&index, A, "-crashed").len(), 4);
    assert_eq!(search(&index, A, "not crashed lunch"), [301]);
    // CJK: any two-character window, and longer runs as phrases.
    assert_eq!(search(&index, A, "東京"), [305]);
    assert_eq!(search(&index, A, "京都庁"), [305]);
    assert!(search(&index, A, "京会").is_empty());
}

#[test]
fn attachment_terms_use_the_index() {
    let index = sample();
    assert_eq!(search(&index, A, "has:attachment"), [303, 304]);
    assert_eq!(search(&index, A, "-has:attachment"), [301, 302, 305]);
    assert_eq!(search(&index, A, "type:pdf"), [303]);
    assert_eq!(search(&index, A, "attachment:application/pdf"), [303]);
    assert_eq!(search(&index, A, "attachment:image"), [304]);
    assert_eq!(search(&index, A, "attachment:image/*"), [304]);
    assert_eq!(search(&index, A, "type:jpeg"), [304]);
    assert_eq!(search(&index, A, "attachment:none"), [301, 302, 305]);
    assert!(search(&index, A, "has:phone").is_empty());
    assert!(search(&index, A, "author:anyone").is_empty());
}

#[test]
fn structured_terms_do_not_constrain_the_index() {
    let index = sample();
    assert_eq!(search(&index, A, "lunch in:inbox is:unread"), [301]);
    assert_eq!(search(&index, A, "in:inbox").len(), 5);
    assert_eq!(search(&index, A, "lunch or is:flagged").len(), 5);
    assert_eq!(search(&index, A, "sort:dateAsc").len(), 5);

    // The planner hands the index only the text part.
    let p = plan(&q("lunch -crashed in:inbox"));
    let text = p.index_queries();
    assert_eq!(text.len(), 1);
    let ids = index.search(A, text[0], 10).expect("search");
    assert_eq!(ids, [ItemId(301)]);
}

#[test]
fn message_dates_are_ranges_over_the_date_header() {
    let index = sample();
    // Dates 1,000 .. 5,000 ms: millisecond values select from their second on.
    assert_eq!(search(&index, A, "date:>=2000 date:<4000"), [302, 303]);
    assert_eq!(search(&index, A, "before:3000"), [301, 302]);
    assert_eq!(search(&index, A, "after:3000"), [304, 305]);
    assert_eq!(search(&index, A, "lunch date:<2000"), [301]);
    assert_eq!(search(&index, A, "-date:>=2000"), [301]);
    // Item dates are the caller's: mdate: does not constrain the index.
    assert_eq!(search(&index, A, "mdate:>4000").len(), 5);
    // A message without a Date header is recorded at the epoch.
    let mut undated = doc(306, "no date", "undated words", 0);
    undated.date_ms = 0;
    index.index(A, vec![undated]).expect("index");
    index.commit().expect("commit");
    let nd = zcs_index::query::no_date_header();
    assert_eq!(index.matching_items(A, &nd).expect("search"), [ItemId(306)]);
    // Relative dates left unresolved are read at the current time.
    assert_eq!(search(&index, A, "after:-1d").len(), 0);
    assert_eq!(search(&index, A, "before:-1d").len(), 6);
}

#[test]
fn mailboxes_are_isolated() {
    let index = sample();
    assert_eq!(search(&index, B, "zebra"), [301]);
    assert!(search(&index, A, "zebra").is_empty());
    assert_eq!(search(&index, B, "lunch"), [301]);
    assert_eq!(search(&index, A, "lunch"), [301]);
    assert!(search(&index, B, "crashed").is_empty());
    assert!(search(&index, MailboxId(99), "lunch").is_empty());
    assert_eq!(index.doc_count(A).expect("count"), 5);
    assert_eq!(index.doc_count(B).expect("count"), 1);
}

#[test]
fn reindexing_replaces_and_deletes_remove() {
    let index = sample();
    index
        .index(A, vec![doc(302, "Server back", "all fixed now", 2_000)])
        .expect("reindex");
    index.commit().expect("commit");
    assert!(search(&index, A, "crashed").is_empty());
    assert_eq!(search(&index, A, "fixed"), [302]);
    assert_eq!(index.doc_count(A).expect("count"), 5);

    index
        .delete(A, &[ItemId(301), ItemId(999)])
        .expect("delete");
    index.commit().expect("commit");
    assert!(search(&index, A, "lunch").is_empty());
    assert_eq!(
        search(&index, B, "lunch"),
        [301],
        "same item id in B survives"
    );

    index.delete_mailbox(A).expect("delete mailbox");
    index.commit().expect("commit");
    assert_eq!(index.doc_count(A).expect("count"), 0);
    assert_eq!(index.doc_count(B).expect("count"), 1);
}

#[test]
fn results_are_ordered_and_limited() {
    let index = sample();
    let all = q("from:jb OR from:dave");
    let newest = index.search(A, &all, 100).expect("search");
    assert_eq!(newest, [305, 304, 303, 302, 301].map(ItemId));
    let oldest = index
        .search_ordered(A, &all, 2, SearchOrder::DateAsc)
        .expect("search");
    assert_eq!(oldest, [301, 302].map(ItemId));
    assert_eq!(index.search(A, &all, 1).expect("search"), [ItemId(305)]);
    assert!(index.search(A, &all, 0).expect("search").is_empty());
    let best = index
        .search_ordered(
            A,
            &q("crashed OR lunch"),
            usize::MAX,
            SearchOrder::Relevance,
        )
        .expect("search");
    assert_eq!(best.len(), 2);
}

#[test]
fn index_survives_reopen_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    {
        let index = TantivyIndex::open(&path).expect("open");
        index
            .index(A, vec![doc(400, "persisted", "durable words", 9)])
            .expect("index");
        index.commit_with_payload("{\"1\":42}").expect("commit");
        index
            .index(A, vec![doc(401, "lost", "never committed", 10)])
            .expect("index");
    }
    let index = TantivyIndex::open_with(
        &path,
        IndexOptions {
            writer_heap_bytes: 40_000_000,
            writer_threads: 2,
            ..IndexOptions::default()
        },
    )
    .expect("reopen");
    assert_eq!(search(&index, A, "durable"), [400]);
    assert!(search(&index, A, "never").is_empty());
    assert_eq!(
        index.last_commit_payload().expect("payload").as_deref(),
        Some("{\"1\":42}")
    );
}

#[test]
fn second_writer_on_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = TantivyIndex::open(dir.path()).expect("open");
    assert!(TantivyIndex::open(dir.path()).is_err());
    drop(first);
    assert!(TantivyIndex::open(dir.path()).is_ok());
}

#[test]
fn concurrent_indexing_and_searching() {
    let index = Arc::new(TantivyIndex::in_memory().expect("index"));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                for n in 0..25 {
                    let item = 1000 + t * 100 + n;
                    let d = doc(
                        item,
                        "thread mail",
                        &format!("payload{t} common"),
                        i64::from(item),
                    );
                    index
                        .index(MailboxId(i64::from(t)), vec![d])
                        .expect("index");
                    if n % 10 == 0 {
                        index.commit().expect("commit");
                    }
                    let _ = index
                        .search(MailboxId(i64::from(t)), &q("common"), 5)
                        .expect("search");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("thread");
    }
    index.commit().expect("commit");
    for t in 0..4 {
        let m = MailboxId(t);
        assert_eq!(search(&index, m, "common").len(), 25);
        assert_eq!(search(&index, m, &format!("payload{t}")).len(), 25);
    }
}

#[test]
fn extracted_message_round_trip() {
    let raw = b"From: Eve <eve@example.com>\r\nTo: a@b.c\r\nSubject: Invoice 42\r\n\
Message-ID: <inv42@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Content-Type: text/html\r\n\r\n<p>Please <b>pay</b> by Friday</p>\r\n";
    let index = TantivyIndex::in_memory().expect("index");
    index
        .index(A, vec![document_from_message(ItemId(500), raw)])
        .expect("index");
    index.commit().expect("commit");
    for query in [
        "pay",
        "\"pay by friday\"",
        "subject:invoice",
        "from:eve",
        "msgid:inv42@example.com",
    ] {
        assert_eq!(search(&index, A, query), [500], "{query}");
    }
    assert!(search(&index, A, "p").is_empty(), "tags are not text");
}

/// `matching_items` (the unordered whole hit set the evaluator uses) finds exactly what
/// an ordered search finds, per mailbox, after replacements and deletes, and across
/// several segments.
#[test]
fn matching_items_is_the_whole_hit_set() {
    let index = sample();
    let all = |mb: MailboxId, text: &str| {
        let mut ids: Vec<i32> = index
            .matching_items(mb, &q(text))
            .expect("matching")
            .into_iter()
            .map(|i| i.0)
            .collect();
        ids.sort();
        ids
    };
    for text in [
        "report",
        "from:jb",
        "-lunch report",
        "has:attachment",
        "rep*",
        "nothing",
    ] {
        assert_eq!(all(A, text), search(&index, A, text), "{text}");
        assert_eq!(all(B, text), search(&index, B, text), "{text}");
    }
    // A second segment, a replaced document and a deleted one.
    index
        .index(A, vec![doc(310, "Another report", "more", 9_000)])
        .expect("index");
    index
        .index(A, vec![doc(303, "Renamed", "numbers attached", 3_000)])
        .expect("index");
    index.delete(A, &[ItemId(304)]).expect("delete");
    index.commit().expect("commit");
    assert_eq!(all(A, "report"), search(&index, A, "report"));
    assert!(all(A, "report").contains(&310));
    assert!(!all(A, "photos").contains(&304));
    assert_eq!(all(A, "renamed"), vec![303]);
}

#[test]
fn urls_and_phone_numbers_are_objects_for_has() {
    let index = TantivyIndex::in_memory().expect("index");
    let mb = MailboxId(1);
    let mut url = doc(1, "email30A", "Check this url \"www.yahoo.com\"", 0);
    url.from = "foo@foo.com".into();
    let phone = doc(2, "email30C", "My cell number is 352-219-3437.", 0);
    let in_subject = doc(
        3,
        "email30E 352-219-3437",
        "Subject contains my cell number.",
        0,
    );
    let neither = doc(4, "plain", "nothing to see, 2005-05-27", 0);
    index
        .index(mb, vec![url, phone, in_subject, neither])
        .expect("add");
    index.commit().expect("commit");
    let ids = |text: &str| {
        let q = zcs_index::query::parse(text).expect("parse");
        let mut v: Vec<i32> = index
            .search(mb, &q, 10)
            .expect("search")
            .iter()
            .map(|i| i.0)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids("has:url"), [1]);
    assert_eq!(ids("has:phone"), [2, 3]);
    assert_eq!(ids("has:PHONE -has:url"), [2, 3]);
    assert!(ids("has:date").is_empty());
}

#[test]
fn browse_lists_the_mailboxs_domains_types_and_objects() {
    use zcs_index::{BrowseBy, BrowseTerm};
    let index = TantivyIndex::in_memory().expect("index");
    let (mine, other) = (MailboxId(1), MailboxId(2));
    let bare = |item, content: &str| {
        let mut d = doc(item, "s", content, 0);
        (d.from, d.to, d.cc) = (String::new(), String::new(), String::new());
        d
    };
    let mut a = bare(1, "see www.zimbra.com");
    a.from = "Foo <foo@foo.com>".into();
    a.to = "bar@example.com".into();
    a.attachment_types = vec!["application/octet-stream".into()];
    let mut b = bare(2, "call 352-219-3437");
    b.from = "x@foo.com".into();
    b.cc = "y@rediff.com".into();
    index.index(mine, vec![a, b]).expect("add");
    let mut c = bare(3, "nothing");
    c.from = "secret@hidden.example".into();
    c.attachment_types = vec!["image/png".into()];
    index.index(other, vec![c]).expect("add");
    index.commit().expect("commit");

    let domains = index.browse(mine, BrowseBy::Domains, 100).expect("browse");
    let find = |v: &[BrowseTerm], t: &str| v.iter().find(|b| b.text == t).cloned();
    let foo = find(&domains, "foo.com").expect("foo.com");
    assert_eq!((foo.freq, foo.headers.as_str()), (2, "f"));
    assert_eq!(find(&domains, "example.com").expect("example").headers, "t");
    assert_eq!(find(&domains, "rediff.com").expect("rediff").headers, "c");
    assert!(
        find(&domains, "hidden.example").is_none(),
        "another mailbox's domain"
    );
    assert!(
        find(&domains, "foo").is_none(),
        "domains only, not their labels"
    );
    assert_eq!(domains[0].text, "foo.com", "most frequent first");

    let types = index
        .browse(mine, BrowseBy::Attachments, 100)
        .expect("browse");
    let names: Vec<&str> = types.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(names, ["application", "application/octet-stream"]);
    let objects = index.browse(mine, BrowseBy::Objects, 100).expect("browse");
    let names: Vec<&str> = objects.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(names, ["phone", "url"]);
    assert_eq!(
        index
            .browse(mine, BrowseBy::Domains, 1)
            .expect("browse")
            .len(),
        1
    );
}

/// A docx whose package properties name an author, a title, keywords and a company.
fn docx_with_properties() -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        ("[Content_Types].xml", "<Types/>"),
        (
            "word/document.xml",
            "<w:document><w:body><w:p><w:r><w:t>plain body words</w:t></w:r></w:p>\
             </w:body></w:document>",
        ),
        (
            "docProps/core.xml",
            "<cp:coreProperties><dc:title>Migration Roadmap</dc:title>\
             <dc:creator>Priya Natarajan</dc:creator><cp:keywords>okapi tapir</cp:keywords>\
             </cp:coreProperties>",
        ),
        (
            "docProps/app.xml",
            "<Properties><Company>Globex Holdings</Company></Properties>",
        ),
    ] {
        w.start_file(name, opts).expect("zip entry");
        w.write_all(body.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

#[test]
fn envelope_and_document_metadata_fields_are_searchable() {
    use base64::Engine as _;
    let docx = base64::engine::general_purpose::STANDARD.encode(docx_with_properties());
    let archived = format!(
        "X-Envelope-From: <archie@outside.example>\r\n\
         X-Envelope-To: <b@example.com>\r\nX-Envelope-To: <c@example.com>\r\n\
         From: archie@outside.example\r\nTo: list@example.com\r\nSubject: plans\r\n\
         Content-Type: multipart/mixed; boundary=zz\r\n\r\n\
         --zz\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n\
         --zz\r\nContent-Type: application/vnd.openxmlformats-officedocument.\
         wordprocessingml.document; name=plan.docx\r\n\
         Content-Disposition: attachment; filename=plan.docx\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{docx}\r\n--zz--\r\n"
    );
    let doc = document_from_message(ItemId(1), archived.as_bytes());
    assert_eq!(doc.env_from, "<archie@outside.example>");
    assert_eq!(doc.env_to, "<b@example.com>, <c@example.com>");
    assert_eq!(doc.metadata.author, "Priya Natarajan");
    assert_eq!(doc.metadata.company, "Globex Holdings");
    let plain = document_from_message(
        ItemId(2),
        b"From: b@example.com\r\nTo: c@example.com\r\nSubject: plans\r\n\r\nokapi\r\n",
    );
    let index = TantivyIndex::in_memory().expect("index");
    index.index(A, vec![doc, plain]).expect("add");
    index.commit().expect("commit");

    // spec 05 §6 idea 14: envto: finds the archived copy, not the mail merely sent to b.
    assert_eq!(search(&index, A, "envto:b@example.com"), [1]);
    assert_eq!(search(&index, A, "envto:c@example.com"), [1]);
    assert_eq!(search(&index, A, "envfrom:archie@outside.example"), [1]);
    assert_eq!(search(&index, A, "envfrom:outside.example"), [1]);
    assert!(search(&index, A, "envfrom:b@example.com").is_empty());
    assert_eq!(search(&index, A, "to:c@example.com"), [2]);
    // Document properties.
    assert_eq!(search(&index, A, "author:natarajan"), [1]);
    assert_eq!(search(&index, A, "author:\"priya natarajan\""), [1]);
    assert_eq!(search(&index, A, "title:roadmap"), [1]);
    assert_eq!(search(&index, A, "keywords:tapir"), [1]);
    assert_eq!(search(&index, A, "company:globex"), [1]);
    assert_eq!(search(&index, A, "metadata:globex"), [1]);
    assert_eq!(search(&index, A, "metadata:roadm*"), [1]);
    assert!(search(&index, A, "author:roadmap").is_empty());
    assert!(search(&index, A, "title:okapi").is_empty());
    // The body words stay content, not metadata.
    assert!(search(&index, A, "metadata:plain").is_empty());
    assert_eq!(search(&index, A, "okapi"), [1, 2]);
}

#[test]
fn damaged_files_are_found_and_clearing_rebuilds_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = TantivyIndex::open(dir.path()).expect("index");
    let docs = || {
        (0..50)
            .map(|i| doc(400 + i, "checksum test", &format!("word{i} budget"), 0))
            .collect::<Vec<_>>()
    };
    index.index(A, docs()).expect("add");
    index
        .index(B, vec![doc(9, "other", "budget", 0)])
        .expect("add");
    index.commit().expect("commit");
    assert_eq!(index.verify_files().expect("verify"), Vec::<String>::new());

    // Flip bytes in the middle of the largest segment file, as a bad disk would.
    let largest = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "json" && e != "lock"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a segment file");
    {
        use std::io::{Seek as _, SeekFrom, Write as _};
        let bytes = std::fs::read(&largest).expect("read");
        let mid = bytes.len() / 2;
        let flipped: Vec<u8> = bytes[mid - 8..mid + 8].iter().map(|b| b ^ 0x5a).collect();
        // In place, never truncating: the index has the file mapped.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&largest)
            .expect("open");
        file.seek(SeekFrom::Start((mid - 8) as u64)).expect("seek");
        file.write_all(&flipped).expect("write");
    }
    match index.verify_files() {
        Ok(damaged) => assert_eq!(damaged.len(), 1, "{damaged:?}"),
        Err(e) => eprintln!("damage reported as an error: {e}"),
    }

    // Repair: clear without reading the damaged files, then add again from the store.
    index.clear().expect("clear");
    index.commit().expect("commit");
    assert_eq!(index.verify_files().expect("verify"), Vec::<String>::new());
    assert_eq!(index.doc_count(A).expect("count"), 0);
    assert_eq!(index.doc_count(B).expect("count"), 0);
    index.index(A, docs()).expect("add");
    index.commit().expect("commit");
    assert_eq!(search(&index, A, "word7").len(), 1);
    assert_eq!(search(&index, A, "budget").len(), 50);
    drop(index);
    let reopened = TantivyIndex::open(dir.path()).expect("reopen");
    assert_eq!(reopened.doc_count(A).expect("count"), 50);
    assert_eq!(
        reopened.verify_files().expect("verify"),
        Vec::<String>::new()
    );
}
