//! The Zimbra QA corpus folders issue 5 names (`reindex/`, `charsets/`,
//! `attachments/`, `email*/`) indexed into one mailbox and searched the way a person
//! would: each query names the file it must find, and where it matters the files it
//! must not. Covers words inside PDF and Office attachments (in `reindex/`) and their
//! document properties, non-Latin text (Hebrew, Greek, Japanese, Polish, Hungarian,
//! Spanish), encoded headers and attachment names and types. Skips (loudly) without
//! the corpus.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::parse;
use zcs_index::{IndexBackend, TantivyIndex, document_from_message};

const ROOT: &str = "/work/shared/corpus/zimbra-qa";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The folders' files, by path relative to the corpus root, indexed in one mailbox.
struct Corpus {
    index: TantivyIndex,
    names: HashMap<ItemId, String>,
}

impl Corpus {
    fn load() -> Option<Corpus> {
        let root = Path::new(ROOT);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(root).ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if ["reindex", "charsets", "attachments"].contains(&name.as_str())
                || name.starts_with("email")
            {
                files_under(&entry.path(), &mut files);
            }
        }
        files.sort();
        let index = TantivyIndex::in_memory().expect("index");
        let mut names = HashMap::new();
        let mut docs = Vec::new();
        for (i, path) in files.iter().enumerate() {
            let item = ItemId(1000 + i32::try_from(i).expect("few files"));
            let raw = std::fs::read(path).expect("readable");
            docs.push(document_from_message(item, &raw));
            let rel = path.strip_prefix(root).expect("under root");
            names.insert(item, rel.display().to_string());
        }
        index.index(MailboxId(3), docs).expect("index");
        index.commit().expect("commit");
        Some(Corpus { index, names })
    }

    /// The files `query` finds, sorted.
    fn hits(&self, query: &str) -> Vec<&str> {
        let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        let mut found: Vec<&str> = self
            .index
            .search(MailboxId(3), &q, 100_000)
            .expect("search")
            .iter()
            .map(|id| self.names[id].as_str())
            .collect();
        found.sort_unstable();
        found
    }
}

#[test]
fn corpus_messages_are_found_by_what_a_person_would_type() {
    let Some(c) = Corpus::load() else {
        eprintln!("corpus not present at {ROOT}; skipping");
        return;
    };
    assert!(c.names.len() > 500, "{} files", c.names.len());
    let mut wrong = Vec::new();
    let mut exactly = |query: &str, want: &[&str]| {
        let got = c.hits(query);
        if got != want {
            wrong.push(format!("{query}: got {got:?}, want {want:?}"));
        }
    };

    // reindex/: a mailing-list archive with encoded headers.
    exactly("subject:\"summary of current activities\"", &["reindex/1"]);
    exactly("from:kąkol", &["reindex/1"]);
    exactly("from:KĄKOL", &["reindex/1"]);
    exactly("to:hibát", &["reindex/1"]);
    exactly(
        "subject:\"bts notes\"",
        &["reindex/110", "reindex/40", "reindex/50"],
    );
    // reindex/: the attachments Zimbra's reindex tests use.
    let text_files = "reindex/0000000270-text files.eml";
    let java_pdf = "reindex/0000000285-java n pdf.eml";
    exactly("Inside_docx", &[text_files]);
    exactly("content:inside_docx", &[text_files]);
    exactly("filename:docx.docx", &[text_files]);
    exactly("filename:rtfFile.rtf", &[text_files]);
    exactly("author:\"Swapnil pingle\"", &[text_files, java_pdf]);
    exactly("author:pingle type:pdf", &[java_pdf]);
    exactly("author:pingle -type:pdf", &[text_files]);
    exactly("Inside_Java", &[java_pdf]);
    // Word wrote the PDF's one word in three text objects.
    exactly("Inside_pdf", &[java_pdf]);
    exactly("inside_pdf type:pdf", &[java_pdf]);
    exactly("filename:Test.java", &[java_pdf]);
    exactly("DEPLOYMENT_ID", &["reindex/0000000291-csv.eml"]);
    exactly("filename:Revenue.xls", &["reindex/14"]);
    exactly("filename:\"Zimbra Desktop.ppt\"", &["reindex/14"]);
    exactly(
        "type:excel",
        &["email04/email04l.txt", "reindex/14", "reindex/19"],
    );

    // charsets/: Hebrew (iso-8859-8, visual and logical), Greek, UTF-8, Spanish.
    exactly(
        "abcמתלףקצdef",
        &[
            "charsets/iso-8859-8/iso-8859-8a.txt",
            "charsets/iso-8859-8/iso-8859-8b.txt",
            "charsets/iso-8859-8/iso-8859-8d.txt",
        ],
    );
    exactly(
        "subject:נסיון",
        &["charsets/iso-8859-8-i/iso-8859-8-i-msg.txt"],
    );
    exactly("קיבינימט", &["charsets/iso-8859-8-i/iso-8859-8-i-msg.txt"]);
    exactly(
        "abcαβγδdef",
        &[
            "charsets/iso-8859-7/iso-8859-7a.txt",
            "charsets/iso-8859-7/iso-8859-7b.txt",
        ],
    );
    exactly("subject:\"abc‡ĜƏ©€ŋdef\"", &["charsets/utf-8/email02.txt"]);
    exactly(
        "to:utf812457065437334@example.com",
        &["charsets/utf-8/email03.txt"],
    );
    exactly("advocación", &["charsets/utf-8-1.txt"]);
    exactly("ADVOCACIÓN", &["charsets/utf-8-1.txt"]);
    exactly("from:sáenz", &["charsets/utf-8-1.txt"]);
    exactly("アテナイ", &["charsets/utf-8-base64-a.txt"]);
    exactly("人々", &["charsets/utf-8-base64-a.txt"]);
    // The same notice also travels in two other messages.
    exactly(
        "holiday arrangement",
        &[
            "charsets/utf-8-base64-a.txt",
            "email04/email04h.txt",
            "reindex/74",
        ],
    );

    // attachments/ and email*/: the QA messages.
    exactly(
        "\"Liquid Migration Wizard\"",
        &["attachments/bugattachment15318.txt"],
    );
    exactly(
        "filename:bigattachment.doc",
        &["attachments/bugattachment10797.txt", "email12/email12f.txt"],
    );
    exactly("subject:email02A", &["email02/msg01.txt"]);
    // QA copied email01A into later folders.
    exactly(
        "subject:email01A",
        &[
            "email01/msg01.txt",
            "email23/email01.txt",
            "email40/msg01.txt",
            "email40/msg02.txt",
            "email46/msg01.txt",
            "email47/msg01.txt",
        ],
    );

    // Misses: the body of email01/msg01 is "simple text string in the body", so the
    // attachment's sentence does not find it, while both find msg02.
    let attachment = c.hits("\"simple text string in the attachment\"");
    assert!(attachment.contains(&"email01/msg02.txt"), "{attachment:?}");
    assert!(!attachment.contains(&"email01/msg01.txt"), "{attachment:?}");
    let simple = c.hits("\"simple text string\"");
    assert!(simple.contains(&"email01/msg01.txt") && simple.contains(&"email01/msg02.txt"));
    // A phrase in another order is another phrase.
    assert!(c.hits("\"string text simple\"").is_empty());
    // Words of one message do not meet in another.
    assert!(c.hits("Inside_docx holiday").is_empty());
    assert!(c.hits("from:kąkol subject:csv").is_empty());
    // The legacy binary Office files give their names and types, not their text.
    assert!(c.hits("type:word").contains(&"reindex/14"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
