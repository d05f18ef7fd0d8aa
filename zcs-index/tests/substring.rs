//! `IndexBackend::items_with_words` with `substring_plan`: the index narrows IMAP's
//! substring searches without losing a message whose field contains the needle, keeps
//! mailboxes apart and, for one-word needles, answers exactly.

use zcs_core::{ItemId, MailboxId};
use zcs_index::query::TextField;
use zcs_index::{IndexBackend, IndexDocument, TantivyIndex, WordMatch, substring_plan};

const A: MailboxId = MailboxId(1);
const B: MailboxId = MailboxId(2);

fn doc(item: i32, subject: &str, from: &str, content: &str) -> IndexDocument {
    let mut d = IndexDocument::new(ItemId(item), "message");
    d.subject = subject.into();
    d.from = from.into();
    d.to = "Alice <alice@example.com>".into();
    d.content = content.into();
    d
}

fn sample() -> (TantivyIndex, Vec<IndexDocument>) {
    let index = TantivyIndex::in_memory().expect("index");
    let docs = vec![
        doc(
            1,
            "Report 42 number 4242",
            "\"Sender 17\" <user17@corp3.example>",
            "the quarterly numbers are in",
        ),
        doc(
            2,
            "Report 7 number 42",
            "\"Sender 170\" <user170@corp3.example>",
            "budgetary matters, quarterly\r\nnumbers",
        ),
        doc(
            3,
            "Roadmap review",
            "Jo <jo.brown@mail.example.org>",
            "会议室 booked; the budget",
        ),
        doc(4, "Re: roadmaps", "x@y.example", "see attached"),
    ];
    index.index(A, docs.clone()).expect("index A");
    index
        .index(B, vec![doc(1, "Roadmap", "z@b.example", "budget")])
        .expect("index B");
    index.commit().expect("commit");
    (index, docs)
}

fn narrowed(index: &TantivyIndex, mailbox: MailboxId, field: TextField, needle: &str) -> Vec<i32> {
    let plan = substring_plan(needle).expect("a plan");
    let mut ids: Vec<i32> = index
        .items_with_words(mailbox, &[field], &plan.words)
        .expect("search")
        .into_iter()
        .map(|i| i.0)
        .collect();
    ids.sort_unstable();
    ids
}

/// The items whose text (as the test documents hold it) contains `needle`.
fn truth(docs: &[IndexDocument], field: &TextField, needle: &str) -> Vec<i32> {
    let needle = needle.to_lowercase();
    let mut ids: Vec<i32> = docs
        .iter()
        .filter(|d| {
            let text = match field {
                TextField::Subject => d.subject.clone(),
                TextField::From => d.from.clone(),
                TextField::Content => d.content.clone(),
                _ => format!("{} {} {} {}", d.subject, d.from, d.to, d.content),
            };
            text.to_lowercase().contains(&needle)
        })
        .map(|d| d.item.0)
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn narrowing_never_loses_a_containing_message() {
    let (index, docs) = sample();
    let cases = [
        (TextField::Subject, "number 42"),
        (TextField::Subject, "umber 4"),
        (TextField::Subject, "oadma"),
        (TextField::Subject, "Re: road"),
        (TextField::From, "user17@"),
        (TextField::From, "user17"),
        (TextField::From, "corp3.exam"),
        (TextField::From, "brown@mail"),
        (TextField::Content, "quarterly numbers"),
        (TextField::Content, "budget"),
        (TextField::Content, "议"),
        (TextField::Content, "会议"),
        (TextField::Default, "alice@"),
        (TextField::Default, "roadmap"),
    ];
    for (field, needle) in cases {
        let got = narrowed(&index, A, field.clone(), needle);
        for id in truth(&docs, &field, needle) {
            assert!(
                got.contains(&id),
                "{field:?} {needle:?}: {id} missing from {got:?}"
            );
        }
    }
}

#[test]
fn narrowing_cuts_the_candidates() {
    let (index, _) = sample();
    // `user17@`: only the item whose sender's local part ends with user17.
    assert_eq!(narrowed(&index, A, TextField::From, "user17@"), vec![1]);
    // `number 42`: an inner word must be whole, so 4242 alone does not qualify...
    assert_eq!(narrowed(&index, A, TextField::Subject, " 42 "), vec![1, 2]);
    // ...and a phrase's edge words only need to start or end a token.
    assert_eq!(
        narrowed(&index, A, TextField::Subject, "number 4"),
        vec![1, 2]
    );
    assert_eq!(
        narrowed(&index, A, TextField::Content, "quarterly numbers"),
        vec![1, 2]
    );
}

#[test]
fn one_word_needles_are_answered_exactly() {
    let (index, docs) = sample();
    for (field, needle) in [
        (TextField::Subject, "roadmap"),
        (TextField::Subject, "4242"),
        (TextField::Content, "budget"),
        (TextField::From, "user17"),
        (TextField::From, "brown"),
        (TextField::Default, "example"),
    ] {
        let plan = substring_plan(needle).expect("plan");
        assert!(plan.exact, "{needle}");
        assert_eq!(
            narrowed(&index, A, field.clone(), needle),
            truth(&docs, &field, needle),
            "{field:?} {needle}"
        );
    }
}

#[test]
fn mailboxes_stay_apart_and_empty_plans_match_everything() {
    let (index, _) = sample();
    assert_eq!(narrowed(&index, B, TextField::Subject, "roadmap"), vec![1]);
    assert_eq!(
        narrowed(&index, A, TextField::Subject, "roadmap"),
        vec![3, 4]
    );
    let mut all: Vec<i32> = index
        .items_with_words(A, &[TextField::Subject], &[])
        .expect("search")
        .into_iter()
        .map(|i| i.0)
        .collect();
    all.sort_unstable();
    assert_eq!(all, vec![1, 2, 3, 4]);
    // A field the index does not hold matches nothing.
    let none = index
        .items_with_words(A, &[TextField::EnvFrom], &[WordMatch::Whole("x".into())])
        .expect("search");
    assert!(none.is_empty());
}
