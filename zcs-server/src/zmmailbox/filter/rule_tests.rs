//! Tests of the filter rule text: Zimbra's examples, every keyword, the errors, and
//! proptest round trips (printed rules parse back; any words parse without panic).

use super::*;
use crate::zmmailbox::split_words;
use proptest::prelude::*;

fn words(line: &str) -> Vec<String> {
    split_words(line).expect("words")
}

#[test]
fn zimbras_example_rule_parses_and_prints_back() {
    let line = r#"rule1 active any address "from" all is "bob@x.test" fileinto "/Inbox""#;
    let r = parse(&words(line)).expect("rule");
    assert_eq!(r.name, "rule1");
    assert!(r.active && !r.all);
    assert_eq!(
        r.conditions,
        vec![Cond::Address {
            header: "from".into(),
            part: "all".into(),
            cmp: Cmp::Is,
            neg: false,
            case: false,
            value: "bob@x.test".into()
        }]
    );
    assert_eq!(r.actions, vec![Action::FileInto("/Inbox".into())]);
    assert_eq!(
        r.text(),
        r#""rule1" active any address "from" all is "bob@x.test" fileinto "/Inbox""#
    );
}

#[test]
fn every_condition_word_reads() {
    let line = r#"all-of inactive header "subject" not_contains case_sensitive "x y"
        header "X-Spam" exists body contains "z" size not_over 1M date after 20240131
        current_time before 0900 current_day_of_week not_is 0,6 addressbook in "from"
        me not_in "to" contact_ranking in "from" attachment not_exists
        invite exists method request,reply conversation where started
        importance is HIGH flagged not read bulk not list twitter true
        mime_header "Content-Type" matches "text/*"
        keep discard tag "t" mark flagged flag read redirect "r@x.test"
        reply "thanks" notify "n@x.test" "subj" "body" 1024
        notify rfc "f@x.test" "msg" "mailto:x@y.test" stop"#
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let r = parse(&words(&line)).expect("rule");
    assert!(!r.active && r.all);
    assert_eq!(r.conditions.len(), 20, "{:?}", r.conditions);
    assert_eq!(r.actions.len(), 10, "{:?}", r.actions);
    assert!(r.conditions.contains(&Cond::Importance {
        neg: false,
        level: "high".into()
    }));
    assert!(r.conditions.contains(&Cond::Simple {
        word: "bulk",
        neg: true
    }));
    assert!(r.conditions.contains(&Cond::Invite {
        neg: false,
        methods: vec!["request".into(), "reply".into()]
    }));
    assert!(r.actions.contains(&Action::Notify {
        address: "n@x.test".into(),
        subject: "subj".into(),
        body: "body".into(),
        max: Some(1024)
    }));
    assert!(r.actions.contains(&Action::RfcNotify {
        from: "f@x.test".into(),
        importance: String::new(),
        options: String::new(),
        message: "msg".into(),
        method: "mailto:x@y.test".into()
    }));
    assert_eq!(parse(&words(&r.text())).expect("again"), r);
}

#[test]
fn bad_rules_say_what_is_wrong() {
    for (line, why) in [
        ("", "missing filter name"),
        ("r keep", "at least one condition"),
        ("r body contains x", "at least one action"),
        ("r body has x keep", "invalid op"),
        ("r header", "missing header names"),
        ("r date before 2024-01-01 keep", "invalid date"),
        ("r flagged keep", "invalid flag"),
        ("r frobnicate keep", "unknown keyword"),
        ("r mark purple", "invalid op"),
    ] {
        let err = parse(&words(line)).expect_err(line);
        assert!(err.contains(why), "{line}: {err}");
    }
}

fn text_value() -> impl Strategy<Value = String> {
    "[ -~\t\u{e9}\u{4e2d}]{0,12}".prop_filter("keywords read as keywords", |s| {
        !is_keyword(s) && s != "case_sensitive" && s != "rfc" && s != "not" && s != "method"
    })
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![Just(Cmp::Is), Just(Cmp::Contains), Just(Cmp::Matches)]
}

fn cond() -> impl Strategy<Value = Cond> {
    let b = any::<bool>;
    prop_oneof![
        (
            text_value(),
            prop_oneof![Just("all"), Just("localpart"), Just("domain")],
            cmp(),
            b(),
            b(),
            text_value()
        )
            .prop_map(|(header, part, cmp, neg, case, value)| Cond::Address {
                header,
                part: part.into(),
                cmp,
                neg,
                case,
                value
            }),
        (text_value(), cmp(), b(), b(), text_value()).prop_map(
            |(header, cmp, neg, case, value)| {
                Cond::Header {
                    header,
                    cmp,
                    neg,
                    case,
                    value,
                }
            }
        ),
        (text_value(), cmp(), b(), b(), text_value()).prop_map(
            |(header, cmp, neg, case, value)| {
                Cond::MimeHeader {
                    header,
                    cmp,
                    neg,
                    case,
                    value,
                }
            }
        ),
        (text_value(), b()).prop_map(|(header, neg)| Cond::HeaderExists { header, neg }),
        (b(), b(), text_value()).prop_map(|(neg, case, value)| Cond::Body { neg, case, value }),
        (
            prop_oneof![
                Just(InKind::AddressBook),
                Just(InKind::ContactRanking),
                Just(InKind::Me)
            ],
            b(),
            text_value()
        )
            .prop_map(|(kind, neg, header)| Cond::In { kind, neg, header }),
        b().prop_map(|neg| Cond::Attachment { neg }),
        (b(), proptest::collection::vec("[a-z]{1,8}", 0..3))
            .prop_map(|(neg, methods)| Cond::Invite { neg, methods }),
        (b(), b(), text_value()).prop_map(|(over, neg, size)| Cond::Size { over, neg, size }),
        (b(), b(), (1970i32..2100, 1u32..13, 1u32..29)).prop_map(|(after, neg, (y, m, d))| {
            Cond::Date {
                after,
                neg,
                date: format!("{y:04}{m:02}{d:02}"),
            }
        }),
        (b(), b(), text_value()).prop_map(|(after, neg, time)| Cond::CurrentTime {
            after,
            neg,
            time
        }),
        (b(), text_value()).prop_map(|(neg, days)| Cond::DayOfWeek { neg, days }),
        (b(), text_value()).prop_map(|(neg, what)| Cond::Conversation { neg, what }),
        (b(), prop_oneof![Just("high"), Just("normal"), Just("low")]).prop_map(|(neg, l)| {
            Cond::Importance {
                neg,
                level: l.into(),
            }
        }),
        (
            b(),
            prop_oneof![Just("read"), Just("flagged"), Just("priority")]
        )
            .prop_map(|(neg, f)| Cond::Flagged {
                neg,
                flag: f.into()
            }),
        (proptest::sample::select(SIMPLE), b()).prop_map(|(word, neg)| Cond::Simple { word, neg }),
        Just(Cond::True),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Keep),
        Just(Action::Discard),
        Just(Action::Stop),
        text_value().prop_map(Action::FileInto),
        text_value().prop_map(Action::Tag),
        prop_oneof![Just("read"), Just("flagged"), Just("priority")]
            .prop_map(|f| Action::Mark(f.into())),
        text_value().prop_map(Action::Redirect),
        text_value().prop_map(Action::Reply),
        (
            text_value(),
            text_value(),
            text_value(),
            proptest::option::of(0i64..100_000)
        )
            .prop_map(|(address, subject, body, max)| Action::Notify {
                address,
                subject,
                body,
                max
            }),
        (
            text_value(),
            (text_value(), text_value())
                .prop_filter("both or neither", |(a, b)| !a.is_empty() || !b.is_empty()),
            text_value(),
            text_value()
        )
            .prop_map(|(from, (importance, options), message, method)| {
                Action::RfcNotify {
                    from,
                    importance,
                    options,
                    message,
                    method,
                }
            }),
    ]
}

proptest! {
    #[test]
    fn printed_rules_parse_back(
        name in "[ -~\u{e9}]{1,12}",
        active in any::<bool>(),
        all in any::<bool>(),
        conditions in proptest::collection::vec(cond(), 1..4),
        actions in proptest::collection::vec(action(), 1..4),
    ) {
        let rule = Rule { name, active, all, conditions, actions };
        let line = rule.text();
        let back = parse(&split_words(&line).expect("printed rules split")).expect("parses");
        prop_assert_eq!(back, rule, "{}", line);
    }

    #[test]
    fn parsing_never_panics(ws in proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(KEYWORDS).prop_map(str::to_string),
            proptest::sample::select(SIMPLE).prop_map(str::to_string),
            "[ -~]{0,6}",
            Just("case_sensitive".to_string()),
            Just("not".to_string()),
            Just("rfc".to_string()),
            Just("method".to_string()),
        ],
        0..14,
    )) {
        let _ = parse(&ws);
    }
}
