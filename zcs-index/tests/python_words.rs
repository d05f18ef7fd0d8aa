//! Search finds what a Python reader of the corpus sees: for every message of
//! `zimbra-qa/email*/` and `python-email/`, the longest text/plain word Python's `email`
//! package decodes from it (fixture `tests/data/python_words.tsv`, made by
//! `tests/data-gen/python_words.py`) must find that message with a bare-word search, the
//! way IMAP `SEARCH TEXT` asks the index. Three messages whose text Python reads in places
//! a strict MIME parser does not also get their own named tests.

use std::path::{Path, PathBuf};

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::TextField;
use zcs_index::{IndexBackend, IndexDocument, Query, TantivyIndex, document_from_message};

const FIXTURE: &str = include_str!("data/python_words.tsv");

/// The shared corpus, or `None` (with a note on stderr) when this checkout has none.
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not present at {}; skipping", dir.display());
        None
    }
}

/// `(path relative to the corpus, word)` for every fixture line.
fn fixture() -> Vec<(&'static str, &'static str)> {
    FIXTURE
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').expect("path<TAB>word"))
        .collect()
}

/// IMAP `SEARCH TEXT word` as the server asks the index.
fn text_term(word: &str) -> Query {
    Query::Term {
        field: TextField::Default,
        value: word.to_string(),
        phrase: false,
        wildcard: false,
    }
}

fn extract(corpus: &Path, rel: &str) -> IndexDocument {
    let raw = std::fs::read(corpus.join(rel)).expect("corpus file");
    document_from_message(ItemId(400), &raw)
}

/// Indexes one message alone and searches it for `word`.
fn found_alone(corpus: &Path, rel: &str, word: &str) -> bool {
    let index = TantivyIndex::in_memory().expect("index");
    let mailbox = MailboxId(3);
    index
        .index(mailbox, vec![extract(corpus, rel)])
        .expect("index");
    index.commit().expect("commit");
    index
        .search(mailbox, &text_term(word), 10)
        .expect("search")
        .contains(&ItemId(400))
}

#[test]
fn fixture_names_the_three_regressions() {
    let words = fixture();
    for expected in [
        ("zimbra-qa/email26/mimemsg.txt", "DoNotRelyOnCSS"),
        ("python-email/msg_35.txt", "separating"),
        ("python-email/msg_36.txt", "ENCODING"),
    ] {
        assert!(words.contains(&expected), "{expected:?} not in the fixture");
    }
    assert!(words.len() > 280, "fixture too small: {}", words.len());
}

/// The header block is broken by an unindented continuation line (`by dogfood...` after
/// `Received:`): Python reads everything from there on as the text/plain body, markup
/// such as `<o:DoNotRelyOnCSS/>` included.
#[test]
fn broken_header_block_body_is_text_email26() {
    let Some(corpus) = corpus() else { return };
    let rel = "zimbra-qa/email26/mimemsg.txt";
    let doc = extract(&corpus, rel);
    assert!(doc.content.contains("DoNotRelyOnCSS"), "{}", doc.content);
    // The fields before the break are still read; the rest of the message (whose
    // multipart boundary sits on an unfolded line and is lost) is text as it stands.
    assert_eq!(doc.subject, "RE: 3 PM Prod Mtg Agenda");
    assert!(doc.content.contains("closing on a Daimler release"));
    assert!(found_alone(&corpus, rel, "DoNotRelyOnCSS"));
}

/// A header-block line with no colon and no blank line before it: Python makes it the
/// first line of the body.
#[test]
fn line_without_colon_starts_the_body_msg_35() {
    let Some(corpus) = corpus() else { return };
    let rel = "python-email/msg_35.txt";
    let doc = extract(&corpus, rel);
    assert_eq!(doc.subject, "here's something interesting");
    assert!(
        doc.content.contains("there's no separating newline here"),
        "{}",
        doc.content
    );
    assert!(found_alone(&corpus, rel, "separating"));
}

/// A message/external-body part carries a phantom header block and a text/plain body
/// (RFC 2046 §5.2.3.1); that body is text.
#[test]
fn external_body_phantom_text_msg_36() {
    let Some(corpus) = corpus() else { return };
    let rel = "python-email/msg_36.txt";
    let doc = extract(&corpus, rel);
    assert!(doc.content.contains("ENCODING mime"), "{}", doc.content);
    assert!(doc.content.contains("Blah blah blah"));
    assert!(found_alone(&corpus, rel, "ENCODING"));
}

/// Every fixture word finds its message in one mailbox holding all of them.
#[test]
fn every_python_word_finds_its_message() {
    let Some(corpus) = corpus() else { return };
    let words = fixture();
    let index = TantivyIndex::in_memory().expect("index");
    let mailbox = MailboxId(9);
    let mut items = std::collections::HashMap::new();
    let mut docs = Vec::new();
    for (rel, _) in &words {
        if items.contains_key(rel) {
            continue;
        }
        let item = ItemId(1000 + i32::try_from(items.len()).expect("few files"));
        let raw = std::fs::read(corpus.join(rel)).expect("fixture file in the corpus");
        docs.push(document_from_message(item, &raw));
        items.insert(*rel, item);
    }
    index.index(mailbox, docs).expect("index");
    index.commit().expect("commit");

    let missing: Vec<String> = words
        .iter()
        .filter(|(rel, word)| {
            !index
                .search(mailbox, &text_term(word), 100_000)
                .expect("search")
                .contains(&items[rel])
        })
        .map(|(rel, word)| format!("{rel}: {word}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} words not found: {missing:#?}",
        missing.len(),
        words.len()
    );
}
