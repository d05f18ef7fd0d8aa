//! Wildcard terms end to end on the tantivy backend: the hits Zimbra's QA harness expects
//! (Search/Basic/Search-Wildcard.xml), case-insensitivity, leading and inner `*`, stop
//! word prefixes, the expansion cap, metacharacters taken literally, and a property:
//! a wildcard built from any indexed word finds that word's document.

use proptest::prelude::*;
use zcs_core::{ItemId, MailboxId};
use zcs_index::query::parse;
use zcs_index::{IndexBackend, IndexDocument, IndexError, IndexOptions, TantivyIndex, Wildcard};

const A: MailboxId = MailboxId(1);
const B: MailboxId = MailboxId(2);

/// The harness's message: FROMUSER sends to TOUSER with CCUSER in Cc.
fn harness_doc() -> IndexDocument {
    let mut d = IndexDocument::new(ItemId(1), "message");
    d.from = "FROMUSER1733420000.1@testdomain.example".into();
    d.to = "TOUSER1733420000.2@testdomain.example".into();
    d.cc = "CCUSER1733420000.3@testdomain.example".into();
    d.subject = "Trying to test wildcards.".into();
    d.content =
        " Mail is sent to user2 and user3 is in cc. This is not that difficult to test".into();
    d
}

fn other_doc() -> IndexDocument {
    let mut d = IndexDocument::new(ItemId(2), "message");
    d.from = "Alice <alice@example.org>".into();
    d.to = "bob@example.org".into();
    d.subject = "Lunch things".into();
    d.content = "Meet at noon near the fox den; a.c wiring (x) is done".into();
    d
}

fn index_with(options: IndexOptions, docs: Vec<IndexDocument>) -> TantivyIndex {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = TantivyIndex::open_with(dir.path(), options).expect("index");
    // The directory may go: the index keeps its files mapped until dropped.
    std::mem::forget(dir);
    index.index(A, docs).expect("add");
    index.commit().expect("commit");
    index
}

fn sample() -> TantivyIndex {
    let index = TantivyIndex::in_memory().expect("index");
    index
        .index(A, vec![harness_doc(), other_doc()])
        .expect("add");
    // Another mailbox holding the same words must never leak into A's results.
    let mut foreign = harness_doc();
    foreign.item = ItemId(9);
    index.index(B, vec![foreign]).expect("add");
    index.commit().expect("commit");
    index
}

fn search(index: &TantivyIndex, text: &str) -> Result<Vec<i32>, IndexError> {
    let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut ids: Vec<i32> = index.search(A, &q, 100)?.into_iter().map(|i| i.0).collect();
    ids.sort();
    Ok(ids)
}

fn hits(index: &TantivyIndex, text: &str) -> Vec<i32> {
    search(index, text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn harness_search_wildcard_cases() {
    let index = sample();
    // search_wildcard_02 .. 04: To, Cc, From and Subject.
    for text in [
        "to:TOUSER*",
        "to:*OUSER",
        "to:TO*ER*",
        "cc:CCUSER*",
        "cc:*CUSER",
        "cc:CC*ER*",
        "from:FROM*",
        "from:*MUSER",
        "from:FR*ER*",
        "subject:Try*",
        "subject:*wildcard",
        "subject:Try*wildca*",
        // search_wildcard_05: content.
        "difficult",
        "*difficul",
    ] {
        assert_eq!(hits(&index, text), [1], "{text}");
    }
    // `Thi*` matches the stop word `this`, which is no word of the index: the index
    // records which stop words each field holds, so the harness's message ("This is not
    // that difficult") is found, beside the other's "things".
    assert_eq!(hits(&index, "Thi*"), [1, 2]);
    // LIMITATION: the harness also expects `subject:dif*l*` to find the message, whose
    // subject has no word starting with "dif"; we follow the field and find nothing.
    assert!(hits(&index, "subject:dif*l*").is_empty());
    assert_eq!(hits(&index, "dif*l*"), [1]);
}

#[test]
fn wildcards_are_case_insensitive() {
    let index = sample();
    assert_eq!(hits(&index, "subject:tRyInG*"), [1]);
    assert_eq!(hits(&index, "SUBJECT:TRY*"), [1]);
    assert_eq!(hits(&index, "from:*muser"), [1]);
    assert_eq!(hits(&index, "DIFFI*"), [1]);
}

#[test]
fn leading_and_inner_stars() {
    let index = sample();
    assert_eq!(hits(&index, "*unch"), [2]);
    assert_eq!(hits(&index, "*oo*"), [2]);
    assert_eq!(hits(&index, "to:*example.org"), [2]);
    assert_eq!(hits(&index, "f*x"), [2]);
    assert_eq!(hits(&index, "f?x"), [2]);
    assert!(hits(&index, "f??x").is_empty());
    // Spanning words: each piece matches a word of one field, in any order.
    assert_eq!(hits(&index, "noon*fox"), [2]);
    assert_eq!(hits(&index, "fox*noon"), [2]);
    assert_eq!(hits(&index, "subject:lun*th*"), [2]);
    assert!(hits(&index, "noon*wildcard").is_empty());
    assert!(hits(&index, "subject:noon*fox").is_empty());
    assert!(hits(&index, "to:*zzz").is_empty());
    assert!(hits(&index, "subject:*ouser").is_empty());
    // Field-qualified and combined with other terms.
    assert_eq!(hits(&index, "from:*muser -cc:*zzz"), [1]);
    assert_eq!(hits(&index, "to:*ouser or subject:lun*"), [1, 2]);
    assert_eq!(hits(&index, "tofromcc:*cuser*"), [1]);
    assert!(hits(&index, "-to:*OUSER").contains(&2));
    assert!(!hits(&index, "-to:*OUSER").contains(&1));
}

#[test]
fn stop_word_prefixes() {
    let index = sample();
    // `thin*` cannot be `this`: only real words count.
    assert_eq!(hits(&index, "thin*"), [2]);
    assert_eq!(hits(&index, "th*"), [1, 2]);
    assert_eq!(hits(&index, "Thi* difficult"), [1]);
    // A pattern matching a stop word constrains like any other: it finds the fields
    // holding a matching word or a matching stop word, and nothing else. Subject 1
    // ("Trying to test wildcards.") has neither a th- word nor a th- stop word.
    assert_eq!(hits(&index, "subject:th*"), [2]);
    assert_eq!(hits(&index, "subject:thi*"), [2]);
    assert_eq!(hits(&index, "content:thi*"), [1]);
    assert_eq!(hits(&index, "content:tha*"), [1]);
    assert!(hits(&index, "from:th*").is_empty());
    assert!(hits(&index, "subject:wh*").is_empty());
    assert_eq!(hits(&index, "subject:?o"), [1]);
    assert_eq!(hits(&index, "content:a*"), [1, 2]);
    assert_eq!(hits(&index, "-content:thi*"), [2]);
    // Stop words of another mailbox never count.
    assert!(hits(&index, "content:th?s").contains(&1));
    // Spanning pieces: a stop word piece must match too.
    assert_eq!(hits(&index, "subject:lunch*thi*"), [2]);
    assert_eq!(hits(&index, "content:mail*thi*"), [1]);
    assert!(hits(&index, "subject:try*th*").is_empty());
    // `*` alone still constrains nothing.
    assert_eq!(hits(&index, "*"), [1, 2]);
}

#[test]
fn metacharacters_are_literal() {
    let index = sample();
    assert_eq!(hits(&index, "a.c*"), [2]);
    for text in [
        ".*", "a.c?*", "x+*", "a|b*", "\\w*", "^lun*", "lun$*", "[a-z]*", "lu.ch*",
    ] {
        let found = search(&index, text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(found.is_empty(), "{text}: {found:?}");
    }
}

#[test]
fn expansion_stops_at_the_cap_as_zimbra_does() {
    // Document 5 holds alphaa..alphaj, document 6 only alphaz: with a cap of five terms,
    // `alpha*` is searched with the first five words in dictionary order (all in 5).
    let mut five = IndexDocument::new(ItemId(5), "message");
    five.content = (b'a'..=b'j')
        .map(|c| format!("alpha{}", char::from(c)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut six = IndexDocument::new(ItemId(6), "message");
    six.content = "alphaz".into();
    let options = IndexOptions {
        wildcard_max_terms: 5,
        ..IndexOptions::default()
    };
    let index = index_with(options, vec![five, six]);
    assert_eq!(
        hits(&index, "alpha*"),
        [5],
        "words past the cap are not searched"
    );
    // Within the cap every matching word counts.
    assert_eq!(hits(&index, "alphaz*"), [6]);
    assert_eq!(hits(&index, "content:alpha*j"), [5]);
}

#[test]
fn wildcard_info_counts_the_mailboxs_words_and_reports_the_cap() {
    let index = sample();
    let info = |mb, text: &str| {
        let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        index.wildcard_info(mb, &q).expect("info")
    };
    // `touser…@testdomain.example` and its local part, in A's To field.
    let to = info(A, "to:TOUSER*");
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].pattern, "touser*");
    assert!(to[0].all);
    assert!(to[0].expanded >= 1);
    // Words only another mailbox holds are never counted.
    let mut lone = IndexDocument::new(ItemId(20), "message");
    lone.content = "zebraword".into();
    index.index(B, vec![lone]).expect("add");
    index.commit().expect("commit");
    assert_eq!(info(A, "zebra*")[0].expanded, 0);
    assert_eq!(info(B, "zebra*")[0].expanded, 1);
    // Plain words and phrases report nothing; each wildcard once, in order.
    assert!(info(A, "lunch \"wild*\"").is_empty());
    let two = info(A, "lunch* or -noo*");
    assert_eq!(
        two.iter().map(|w| w.pattern.as_str()).collect::<Vec<_>>(),
        ["lunch*", "noo*"]
    );
    // A wildcard stopped at the cap says so.
    let mut many = IndexDocument::new(ItemId(5), "message");
    many.content = (b'a'..=b'j')
        .map(|c| format!("alpha{}", char::from(c)))
        .collect::<Vec<_>>()
        .join(" ");
    let options = IndexOptions {
        wildcard_max_terms: 5,
        ..IndexOptions::default()
    };
    let capped = index_with(options, vec![many]);
    let q = parse("alpha*").expect("parse");
    let w = capped.wildcard_info(A, &q).expect("info");
    assert_eq!((w[0].expanded, w[0].all), (5, false));
    let q = parse("alphaj*").expect("parse");
    let w = capped.wildcard_info(A, &q).expect("info");
    assert_eq!((w[0].expanded, w[0].all), (1, true));
}

/// Words the property test indexes: lower-case letters, never a stop word.
fn word() -> impl Strategy<Value = String> {
    "[a-z]{3,12}".prop_filter("not a stop word", |w| {
        !zcs_index::tokenizer::is_stop_word(w)
    })
}

/// A wildcard `word` must satisfy, chosen by `kind` and `cut`.
fn pattern_for(word: &str, kind: u8, cut: usize, upper: bool) -> String {
    let chars: Vec<char> = word.chars().collect();
    let cut = cut % chars.len();
    let head: String = chars[..cut].iter().collect();
    let tail: String = chars[cut..].iter().collect();
    let p = match kind % 6 {
        0 => format!("{head}*"),
        1 => format!("*{tail}"),
        2 => format!("{head}*{tail}"),
        3 => format!("*{}*", &tail[..tail.len().min(2)]),
        4 => {
            // Not the last character: a trailing `?` is punctuation, not a wildcard.
            let mut c = chars.clone();
            c[cut % (chars.len() - 1)] = '?';
            c.into_iter().collect()
        }
        _ => format!("{head}*{}*", &tail[..1]),
    };
    if upper { p.to_uppercase() } else { p }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_wildcard_from_an_indexed_word_finds_its_document(
        words in prop::collection::vec(word(), 2..8),
        pick in any::<prop::sample::Index>(),
        kind in any::<u8>(),
        cut in any::<usize>(),
        upper in any::<bool>(),
        capitalised in any::<bool>(),
    ) {
        let index = TantivyIndex::in_memory().expect("index");
        let docs: Vec<IndexDocument> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut d = IndexDocument::new(ItemId(i as i32 + 1), "message");
                let mut text = w.clone();
                if capitalised {
                    text[..1].make_ascii_uppercase();
                }
                d.content = format!("{text} filler");
                d
            })
            .collect();
        index.index(A, docs).expect("add");
        index.commit().expect("commit");

        let i = pick.index(words.len());
        let pattern = pattern_for(&words[i], kind, cut, upper);
        let found = search(&index, &pattern).expect("search");
        prop_assert!(found.contains(&(i as i32 + 1)), "{pattern} on {words:?}: {found:?}");
        let fielded = search(&index, &format!("content:{pattern}")).expect("search");
        prop_assert!(fielded.contains(&(i as i32 + 1)), "content:{pattern}: {fielded:?}");
    }
}

/// A slow, obviously right glob matcher to check [`Wildcard::matches`] against.
fn reference(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some((&c, rest)) => {
            t.first().is_some_and(|&f| c == '?' || c == f) && reference(rest, &t[1..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn wildcard_matching_never_panics(p in any::<String>(), t in any::<String>()) {
        if let Some(w) = Wildcard::parse(&p) {
            let _ = w.matches(&t);
            let _ = w.matches_stop_word();
            let _ = w.literal_prefix();
            for piece in w.word_pieces() {
                let _ = piece.matches(&t);
            }
        }
    }

    #[test]
    fn glob_agrees_with_the_reference(p in "[ab*?]{1,8}", t in "[ab]{0,8}") {
        if let Some(w) = Wildcard::parse(&p) {
            let norm: Vec<char> = w.as_string().chars().collect();
            let text: Vec<char> = t.chars().collect();
            prop_assert_eq!(w.matches(&t), reference(&norm, &text), "{} on {}", p, t);
            // Every match starts with the literal prefix.
            if w.matches(&t) {
                prop_assert!(t.starts_with(&w.literal_prefix()));
            }
        }
    }
}
