//! Unit tests of the MIME walk: structure, sections, and a no-panic run over the corpus.

use super::*;
use crate::imap::parser::{Section, SectionText};
use proptest::prelude::*;

const NESTED: &[u8] = b"From: Alice <alice@example.com>\r\n\
To: bob@example.org\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\
Message-ID: <1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
preamble\r\n\
--outer\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
hello\r\n\
world\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: attachment; filename=\"fwd.eml\"\r\n\
\r\n\
From: carol@example.net\r\n\
Subject: inner\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
\r\n\
plain part\r\n\
--inner\r\n\
Content-Type: text/html\r\n\
\r\n\
<p>html</p>\r\n\
--inner--\r\n\
--outer--\r\n\
epilogue\r\n";

fn section(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn get(raw: &[u8], s: Section) -> Option<Vec<u8>> {
    let root = parse_message(raw);
    extract(&root, raw, &s).map(|c| c.into_owned())
}

#[test]
fn walks_nested_structure() {
    let root = parse_message(NESTED);
    assert!(root.is_multipart());
    assert_eq!(root.children.len(), 2);
    assert_eq!(root.children[0].body, b"hello\r\nworld");
    let inner = root.children[1].message.as_ref().unwrap();
    assert_eq!(inner.children.len(), 2);
    assert_eq!(inner.children[0].body, b"plain part");
    assert_eq!(inner.children[1].content_type.sub, "html");
}

#[test]
fn extracts_sections() {
    assert_eq!(get(NESTED, section(&[], None)).unwrap(), NESTED);
    assert_eq!(get(NESTED, section(&[1], None)).unwrap(), b"hello\r\nworld");
    assert_eq!(get(NESTED, section(&[2, 1], None)).unwrap(), b"plain part");
    assert_eq!(get(NESTED, section(&[2, 2], None)).unwrap(), b"<p>html</p>");
    let header = get(NESTED, section(&[], Some(SectionText::Header))).unwrap();
    assert!(header.starts_with(b"From: Alice") && header.ends_with(b"\"outer\"\r\n\r\n"));
    let inner_header = get(NESTED, section(&[2], Some(SectionText::Header))).unwrap();
    assert!(inner_header.starts_with(b"From: carol") && inner_header.ends_with(b"\r\n\r\n"));
    let inner_text = get(NESTED, section(&[2], Some(SectionText::Text))).unwrap();
    assert!(inner_text.starts_with(b"--inner\r\n") && inner_text.ends_with(b"--inner--"));
    let mime = get(NESTED, section(&[2], Some(SectionText::Mime))).unwrap();
    assert_eq!(
        mime,
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment; \
filename=\"fwd.eml\"\r\n\r\n"
    );
    let fields = SectionText::HeaderFields {
        not: false,
        fields: vec!["subject".into(), "TO".into()],
    };
    assert_eq!(
        get(NESTED, section(&[], Some(fields))).unwrap(),
        b"To: bob@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"
    );
    let not = SectionText::HeaderFields {
        not: true,
        fields: vec!["From".into(), "To".into(), "Subject".into(), "Date".into()],
    };
    assert!(
        get(NESTED, section(&[], Some(not)))
            .unwrap()
            .starts_with(b"Message-ID:")
    );
    assert_eq!(get(NESTED, section(&[3], None)), None);
    assert_eq!(
        get(NESTED, section(&[1, 1, 1], None)).unwrap(),
        b"hello\r\nworld"
    );
    assert_eq!(get(NESTED, section(&[1], Some(SectionText::Header))), None);
    // A single-part message: its body is part 1.
    let simple = b"Subject: x\r\n\r\nbody\r\n";
    assert_eq!(get(simple, section(&[1], None)).unwrap(), b"body\r\n");
    assert_eq!(get(simple, section(&[2], None)), None);
}

#[test]
fn renders_bodystructure_and_envelope() {
    let root = parse_message(NESTED);
    let mut out = Vec::new();
    write_body_structure(&mut out, &root, true);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 12 2 NIL NIL NIL NIL)"
    ));
    assert!(text.contains("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" "));
    assert!(text.contains("(\"ATTACHMENT\" (\"FILENAME\" \"fwd.eml\"))"));
    assert!(text.contains(" \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)"));
    assert!(text.ends_with(" \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)"));
    let mut body = Vec::new();
    write_body_structure(&mut body, &root, false);
    let body = String::from_utf8(body).unwrap();
    assert!(body.ends_with(") \"MIXED\")"), "{body}");

    let mut env = Vec::new();
    write_envelope(&mut env, &root);
    assert_eq!(
        String::from_utf8(env).unwrap(),
        "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"=?utf-8?q?Gr=C3=BC=C3=9Fe?=\" \
((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) \
((\"Alice\" NIL \"alice\" \"example.com\")) ((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \
\"<1@example.com>\")"
    );
}

#[test]
fn handles_malformed_messages() {
    // No blank line, bare LF, missing boundary, unterminated multipart.
    for raw in [
        &b"Subject: only headers"[..],
        b"Subject: x\n\nbody\n",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nunterminated",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\nno delimiter at all",
        b"",
        b"\r\n",
        b"Content-Type: text\r\n\r\nx",
    ] {
        let root = parse_message(raw);
        let mut out = Vec::new();
        write_body_structure(&mut out, &root, true);
        write_envelope(&mut out, &root);
        let _ = extract(&root, raw, &section(&[1, 1], None));
    }
    let root = parse_message(b"Content-Type: multipart/mixed; boundary=b\r\n\r\nnothing");
    assert_eq!(root.children.len(), 1);
    assert_eq!(root.children[0].body, b"");
    let lf = parse_message(b"Subject: x\n\nbody\n");
    assert_eq!(lf.body, b"body\n");
}

#[test]
fn bounds_nesting() {
    let mut raw = Vec::new();
    for i in 0..200 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"\r\nleaf\r\n");
    let root = parse_message(&raw);
    let mut out = Vec::new();
    write_body_structure(&mut out, &root, true);
    assert!(out.len() < 100_000);
}

/// Every message of the shared corpus, when it is present, parses and renders.
#[test]
fn corpus_never_panics() {
    let roots = [
        "/work/shared/corpus/python-email",
        "/work/shared/corpus/zimbra-qa",
    ];
    let mut seen = 0;
    let mut stack: Vec<std::path::PathBuf> = roots.iter().map(Into::into).collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
            continue;
        }
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let root = parse_message(&raw);
        let mut out = Vec::new();
        write_body_structure(&mut out, &root, true);
        write_body_structure(&mut out, &root, false);
        write_envelope(&mut out, &root);
        for part in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 3]] {
            for text in [None, Some(SectionText::Header), Some(SectionText::Text)] {
                let _ = extract(&root, &raw, &section(part, text));
            }
        }
        seen += 1;
    }
    eprintln!("walked {seen} corpus files");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let root = parse_message(&raw);
        let mut out = Vec::new();
        write_body_structure(&mut out, &root, true);
        write_envelope(&mut out, &root);
        let whole = extract(&root, &raw, &section(&[], None)).unwrap().into_owned();
        prop_assert_eq!(whole, raw.clone());
    }

    #[test]
    fn mime_like_input_never_panics(
        pieces in proptest::collection::vec(prop::sample::select(vec![
            "Content-Type: multipart/mixed; boundary=x\r\n", "--x\r\n", "--x--\r\n", "\r\n",
            "Content-Type: message/rfc822\r\n", "From: a <b@c>\r\n", "text\r\n", "\n",
            "To: g: a@b, c;\r\n", " folded\r\n", "Content-Type: multipart/digest; boundary=x\r\n",
        ]), 0..40)
    ) {
        let raw = pieces.concat().into_bytes();
        let root = parse_message(&raw);
        let mut out = Vec::new();
        write_body_structure(&mut out, &root, true);
        write_envelope(&mut out, &root);
        for p in [&[1u32][..], &[1, 1], &[2, 1, 1]] {
            let _ = extract(&root, &raw, &section(p, Some(SectionText::Header)));
            let _ = extract(&root, &raw, &section(p, None));
        }
    }
}
