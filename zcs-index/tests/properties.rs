//! Property tests: the parser, tokeniser, HTML stripper and extractor never panic on any
//! input; printing a parsed query and parsing it again gives the same AST; any parsed
//! query can be run against an index.

use std::sync::OnceLock;

use proptest::prelude::*;
use zcs_core::{ItemId, MailboxId};
use zcs_index::extract::{html_to_text, objects_in};
use zcs_index::query::{parse, plan};
use zcs_index::tokenizer::{TokenMode, analyze};
use zcs_index::{IndexBackend, IndexDocument, IndexError, TantivyIndex, document_from_message};

/// Pieces of query text, glued together at random to reach deep into the grammar.
const PIECES: &[&str] = &[
    "a",
    "foo*",
    "*bar",
    "\"x y\"",
    "\"q\\\"t\"",
    "(",
    ")",
    "or",
    "OR",
    "and",
    "&&",
    "||",
    "not",
    "-",
    "+",
    "!",
    "in:inbox",
    "in:(a -b)",
    "under:/x/y",
    "date:-4d",
    "after:1/2/2003",
    "before:2020-01-31",
    "date:(-1d or +2w)",
    "size:>1k",
    "larger:10mb",
    "smaller:(1 2)",
    "from:",
    "from:x@y.com",
    "from:<a@b>",
    "to:@example.com",
    "subject:<m",
    "subject:\"a b\"",
    "is:unread",
    "is:(read flagged)",
    "has:attachment",
    "has:url",
    "type:pdf",
    "tag:\\Seen",
    "item:{1,2}",
    "item:{3--9}",
    "item:all",
    "conv:-5",
    "conv-count:>2",
    "modseq:>=7",
    "priority:low",
    "sort:dateAsc",
    "#f:v",
    "field[n]:v",
    "msgid:<m@x>",
    "filename:a.pdf",
    "tofromcc:z",
    "content:é",
    "東京都",
    "{",
    "}",
    ":",
    "\"",
    "\\",
    " ",
    "  ",
    "\t",
];

fn query_text() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(PIECES), prop::bool::ANY), 0..12).prop_map(
        |parts| {
            let mut s = String::new();
            for (piece, space) in parts {
                s.push_str(piece);
                if space {
                    s.push(' ');
                }
            }
            s
        },
    )
}

fn shared_index() -> &'static TantivyIndex {
    static INDEX: OnceLock<TantivyIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = TantivyIndex::in_memory().expect("index");
        let mut d = IndexDocument::new(ItemId(257), "message");
        d.subject = "a b foo bar".into();
        d.content = "x y 東京都 é".into();
        d.from = "x@y.com".into();
        d.filenames = vec!["a.pdf".into()];
        d.attachment_types = vec!["application/pdf".into()];
        index.index(MailboxId(1), vec![d]).expect("index");
        index.commit().expect("commit");
        index
    })
}

fn check_round_trip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(q) = parse(text) {
        let printed = q.to_string();
        let again = parse(&printed);
        prop_assert_eq!(
            again.as_ref(),
            Ok(&q),
            "{:?} printed as {:?}",
            text,
            printed
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_on_any_string(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn errors_point_inside_the_text(s in any::<String>()) {
        if let Err(e) = parse(&s) {
            prop_assert!(e.position <= s.len());
        }
    }

    #[test]
    fn printing_round_trips_for_any_string(s in any::<String>()) {
        check_round_trip(&s)?;
    }

}

proptest! {
    // About one generated text in six parses, so run many.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn printing_round_trips_for_query_like_text(s in query_text()) {
        check_round_trip(&s)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_parsed_query_runs_against_an_index(s in query_text()) {
        if let Ok(q) = parse(&s) {
            let index = shared_index();
            match index.search(MailboxId(1), &q, 10) {
                Ok(ids) => prop_assert!(ids.len() <= 1),
                Err(IndexError::Query(_)) => {}
                Err(e) => prop_assert!(false, "{s:?}: {e}"),
            }
            for sub in plan(&q).index_queries() {
                prop_assert!(index.search(MailboxId(1), sub, 10).is_ok());
            }
        }
    }

    #[test]
    fn tokens_are_well_formed(s in any::<String>(), index_mode in prop::bool::ANY) {
        let mode = if index_mode { TokenMode::Index } else { TokenMode::Query };
        let mut last = 0;
        for t in analyze(&s, mode) {
            prop_assert!(t.position >= last);
            last = t.position;
            prop_assert!(!t.text.is_empty());
            prop_assert!(t.offset_from <= t.offset_to && t.offset_to <= s.len());
            prop_assert!(s.is_char_boundary(t.offset_from) && s.is_char_boundary(t.offset_to));
        }
    }

    #[test]
    fn html_stripping_never_panics(s in any::<String>()) {
        let _ = html_to_text(&s);
    }

    #[test]
    fn object_scanning_never_panics_and_is_stable(
        s in any::<String>(),
        digits in "[0-9 ().+-]{0,40}",
    ) {
        for text in [s.as_str(), digits.as_str()] {
            let found = objects_in(text);
            prop_assert!(found.len() <= 2);
            // Text around an object does not hide it.
            let wrapped = format!("x {text} y");
            for kind in &found {
                prop_assert!(objects_in(&wrapped).contains(kind), "{kind} in {wrapped:?}");
            }
        }
    }

    #[test]
    fn extraction_never_panics_on_bytes(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        let doc = document_from_message(ItemId(1), &raw);
        prop_assert_eq!(doc.size, raw.len() as u64);
    }

    #[test]
    fn extraction_never_panics_on_mangled_mime(
        cut in 0usize..600,
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let base = b"From: a@b.c\r\nSubject: =?utf-8?B?w6k=?=\r\nContent-Type: multipart/mixed; \
boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/html; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=E9</p>\r\n--zz\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--zz--\r\n";
        let mut raw = base[..cut.min(base.len())].to_vec();
        raw.extend_from_slice(&junk);
        raw.extend_from_slice(&base[cut.min(base.len())..]);
        let _ = document_from_message(ItemId(1), &raw);
    }
}

/// The seed proptest found: a negated phrase matching nothing made tantivy assert.
#[test]
fn a_negated_phrase_that_matches_nothing_is_an_answer_not_a_panic() {
    let q = parse("-content:é東京都").expect("parses");
    match shared_index().search(MailboxId(1), &q, 10) {
        Ok(ids) => assert!(ids.len() <= 1),
        Err(IndexError::Query(_)) => {}
        Err(e) => panic!("{e}"),
    }
}
