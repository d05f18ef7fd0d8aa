//! Extraction over the shared corpus: every file (messages or not) is extracted without a
//! panic, known words of known messages come out decoded, and the whole corpus indexed
//! into one mailbox answers searches for them.
//!
//! The tests here that read attachments take [`READERS`] first: attachment readers are
//! bounded process-wide (`MAX_RUNNING` threads, each cut off at `EXTRACT_TIMEOUT`), so a
//! test sweeping the whole corpus beside one expecting a PDF's words could take its
//! reader slots or, on a loaded machine, its time, and the PDF would give no text.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::parse;
use zcs_index::{IndexBackend, IndexDocument, TantivyIndex, document_from_message};

const CORPUS: &str = "/work/shared/corpus";

static READERS: Mutex<()> = Mutex::new(());

/// The attachment readers to this test alone (a failed test's poison is ignored).
fn readers() -> MutexGuard<'static, ()> {
    READERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["python-email", "zimbra-qa"] {
        files_under(&Path::new(CORPUS).join(sub), &mut files);
    }
    files
}

fn extract(rel: &str) -> IndexDocument {
    let raw = std::fs::read(Path::new(CORPUS).join(rel)).expect("corpus file");
    document_from_message(ItemId(1), &raw)
}

#[test]
fn every_corpus_file_extracts_without_panic() {
    let _readers = readers();
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("corpus not present at {CORPUS}; skipping");
        return;
    }
    assert!(
        files.len() > 1000,
        "expected the whole corpus, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut with_text = 0;
    for path in &files {
        let raw = std::fs::read(path).expect("readable corpus file");
        match catch_unwind(AssertUnwindSafe(|| {
            document_from_message(ItemId(257), &raw)
        })) {
            Ok(doc) => {
                assert_eq!(doc.size, raw.len() as u64);
                if !doc.content.is_empty() || !doc.subject.is_empty() {
                    with_text += 1;
                }
            }
            Err(_) => failures.push(path.display().to_string()),
        }
    }
    assert!(failures.is_empty(), "extraction panicked on {failures:?}");
    assert!(
        with_text * 10 > files.len() * 8,
        "{with_text} of {} had text",
        files.len()
    );
}

#[test]
fn known_messages_extract_known_words() {
    let _readers = readers();
    if !Path::new(CORPUS).exists() {
        return;
    }
    let d = extract("zimbra-qa/email01/msg01.txt");
    assert_eq!(d.subject, "email01A");
    assert!(d.content.contains("simple text string in the body"));

    // Old Mac line ends (CR only), text attachment with a file name.
    let d = extract("zimbra-qa/email01/msg02.txt");
    assert_eq!(d.subject, "email01B");
    assert!(
        d.content.contains("simple text string in the attachment"),
        "{d:?}"
    );
    assert_eq!(d.filenames, ["attachment.txt"]);

    // Quoted-printable text, HTML alternative, PDF attachment.
    let d = extract("zimbra-qa/email04/email04b.txt");
    assert!(d.content.contains("installation guide"));
    assert!(d.content.contains("Migration Wizard"));
    assert!(!d.content.contains("<meta"));
    assert_eq!(d.filenames, ["Installation_Draft3_5_23.pdf"]);
    assert!(d.attachment_types.contains(&"application/pdf".to_string()));

    // RFC 2047 base64 UTF-8 subject, base64 body.
    let d = extract("zimbra-qa/charsets/utf-8-base64-a.txt");
    assert_eq!(d.subject, "アテナイの人々からは");
    assert!(d.content.contains("Public Holiday arrangement"));
    assert!(d.from.contains("foo@example.com"));

    // ISO-8859-7 quoted-printable body decoded to Greek.
    let d = extract("zimbra-qa/charsets/iso-8859-7/iso-8859-7a.txt");
    assert!(d.content.contains("abcαβγδdef"), "{}", d.content);

    // A mailing list digest with nested parts.
    let d = extract("python-email/msg_02.txt");
    assert_eq!(d.subject, "Ppp digest, Vol 1 #2 - 5 msgs");
    assert!(d.content.contains("Send Ppp mailing list submissions"));
    assert!(d.from.contains("ppp-request@zzz.org"));
}

#[test]
fn indexed_corpus_answers_searches() {
    let _readers = readers();
    let files = corpus_files();
    if files.is_empty() {
        return;
    }
    let index = TantivyIndex::in_memory().expect("index");
    let mailbox = MailboxId(7);
    let mut by_name = std::collections::HashMap::new();
    let mut docs = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let item = ItemId(300 + i32::try_from(i).expect("few files"));
        let raw = std::fs::read(path).expect("readable");
        docs.push(document_from_message(item, &raw));
        let rel = path.strip_prefix(CORPUS).expect("under corpus");
        by_name.insert(rel.display().to_string(), item);
        if docs.len() == 200 {
            index
                .index(mailbox, std::mem::take(&mut docs))
                .expect("index");
        }
    }
    index.index(mailbox, docs).expect("index");
    index.commit().expect("commit");
    assert_eq!(index.doc_count(mailbox).expect("count"), files.len());

    let hits = |q: &str| -> Vec<ItemId> {
        index
            .search(mailbox, &parse(q).expect("query"), 10_000)
            .expect("search")
    };
    let item = |name: &str| by_name[name];

    assert!(hits("subject:email01A").contains(&item("zimbra-qa/email01/msg01.txt")));
    assert!(hits("\"simple text string\"").contains(&item("zimbra-qa/email01/msg01.txt")));
    assert!(hits("holiday").contains(&item("zimbra-qa/charsets/utf-8-base64-a.txt")));
    assert!(hits("アテナイ").contains(&item("zimbra-qa/charsets/utf-8-base64-a.txt")));
    assert!(hits("abcαβγδdef").contains(&item("zimbra-qa/charsets/iso-8859-7/iso-8859-7a.txt")));
    let pdf = item("zimbra-qa/email04/email04b.txt");
    assert!(hits("filename:Installation_Draft3_5_23.pdf").contains(&pdf));
    assert!(hits("filename:installation_draft3_5_23").contains(&pdf));
    assert!(hits("type:pdf wizard").contains(&pdf));
    assert!(hits("from:zzz.org").contains(&item("python-email/msg_02.txt")));
    assert!(hits("from:ppp-request").contains(&item("python-email/msg_02.txt")));
}

/// Wraps `data` as a base64 attachment of a small message.
fn with_attachment(name: &str, mime: &str, data: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "From: qa@example.com\r\nSubject: see attached\r\n\
         Content-Type: multipart/mixed; boundary=zz\r\n\r\n\
         --zz\r\nContent-Type: text/plain\r\n\r\nthe file\r\n\
         --zz\r\nContent-Type: {mime}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--zz--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

#[test]
fn words_inside_corpus_pdfs_are_found() {
    let _readers = readers();
    let files = [
        ("zimbra-qa/attachments1/pdfaccess.pdf", "application/pdf"),
        (
            "zimbra-qa/attachments/admin.pdf",
            "application/octet-stream",
        ),
    ];
    let index = TantivyIndex::in_memory().expect("index");
    let mailbox = MailboxId(9);
    let mut docs = Vec::new();
    for (i, (rel, mime)) in files.iter().enumerate() {
        let Ok(data) = std::fs::read(Path::new(CORPUS).join(rel)) else {
            eprintln!("{rel} not present; skipping");
            return;
        };
        let name = rel.rsplit('/').next().expect("file name");
        let item = ItemId(400 + i32::try_from(i).expect("two files"));
        let doc = document_from_message(item, &with_attachment(name, mime, &data));
        docs.push(doc);
    }
    index.index(mailbox, docs).expect("index");
    index.commit().expect("commit");
    let hits = |q: &str| -> Vec<ItemId> {
        index
            .search(mailbox, &parse(q).expect("query"), 100)
            .expect("search")
    };
    let (access, admin) = (ItemId(400), ItemId(401));
    assert_eq!(hits("\"screen readers\""), [access]);
    assert_eq!(hits("Wietse"), [admin]);
    assert_eq!(hits("type:pdf wietse"), [admin], "type from the .pdf name");
    assert_eq!(hits("attachment:pdf \"screen model\""), [access]);
    assert_eq!(hits("has:attachment venema"), [admin]);
    assert!(hits("wietse -type:pdf").is_empty());
    assert!(hits("type:word wietse").is_empty());
}
