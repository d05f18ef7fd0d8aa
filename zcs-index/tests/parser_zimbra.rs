//! The inputs of Zimbra's own parser tests (`QueryParserTest`, wire reference §1.8),
//! each with the tree we expect, written in our canonical printing: where Zimbra's
//! tree string nests an AND inside an AND we flatten it (the same meaning), field
//! groups distribute their field over every value, and `sort:` is kept as a clause.
//! Date terms are also checked for the exact range Zimbra's `dateRange` test gives.

use zcs_index::query::{Comparison, Query, parse};

/// Query text and the canonical tree it must parse to.
const TREES: &[(&str, &str)] = &[
    // defaultClause, modifier
    ("zimbra", "zimbra"),
    ("+content:zimbra", "content:zimbra"),
    ("-content:zimbra", "-content:zimbra"),
    ("not content:zimbra", "-content:zimbra"),
    ("from:(+@zimbra.com)", "from:@zimbra.com"),
    ("from:(-@zimbra.com)", "-from:@zimbra.com"),
    // sortBy: the clause leaves the other terms joined by AND.
    ("foo sort:dateAsc and bar", "foo sort:dateAsc bar"),
    // text
    ("x or y", "x OR y"),
    ("(x or y)", "x OR y"),
    ("(x or y) and in:inbox", "(x OR y) in:inbox"),
    (
        "\"This is a \\\"phrase\\\" query\"",
        "\"This is a \\\"phrase\\\" query\"",
    ),
    // folder
    ("in:inbox", "in:inbox"),
    ("in:(trash -junk)", "in:trash -in:junk"),
    // date
    ("date:-4d", "date:-4d"),
    ("date:\"-4d\"", "date:-4d"),
    (
        "(a or b) and before:1/1/2009 and -subject:\"quoted string\"",
        "(a OR b) date:<01/01/2009 -subject:\"quoted string\"",
    ),
    (
        "date:(01/01/2001 02/02/2002)",
        "date:01/01/2001 date:02/02/2002",
    ),
    (
        "date:-1d date:(01/01/2001 02/02/2002)",
        "date:-1d date:01/01/2001 date:02/02/2002",
    ),
    ("date:(-1d or -2d)", "date:-1d OR date:-2d"),
    ("date:\"+1d\"", "date:+1d"),
    ("date:+2w", "date:+2w"),
    (
        "not date:(1/1/2004 or 2/1/2004)",
        "-(date:01/01/2004 OR date:02/01/2004)",
    ),
    // braced
    ("item:{1,2,3}", "item:{1,2,3}"),
    ("item:({1,2,3} or {4,5,6})", "item:{1,2,3} OR item:{4,5,6}"),
    // builtIn
    ("is:unread is:remote", "is:unread is:remote"),
    // address
    ("from:foo@bar.com", "from:foo@bar.com"),
    ("from:\"foo bar\"", "from:\"foo bar\""),
    ("to:foo@bar.com", "to:foo@bar.com"),
    ("to:\"foo bar\"", "to:\"foo bar\""),
    ("cc:foo@bar.com", "cc:foo@bar.com"),
    ("cc:\"foo bar\"", "cc:\"foo bar\""),
    // subject
    ("subject:\"foo\"", "subject:\"foo\""),
    (
        "subject:\"foo bar\" and content:\"baz gub\"",
        "subject:\"foo bar\" content:\"baz gub\"",
    ),
    (
        "subject:this_is_my_subject subject:\"this is_my_subject\"",
        "subject:this_is_my_subject subject:\"this is_my_subject\"",
    ),
    // has, filename, metadata
    (
        "has:attachment has:phone has:url",
        "has:attachment has:phone has:url",
    ),
    (
        "filename:foo filename:(\"foo\" \"foo bar\" gub)",
        "filename:foo filename:\"foo\" filename:\"foo bar\" filename:gub",
    ),
    (
        "author:foo author:(\"foo\" \"foo bar\" gub)",
        "author:foo author:\"foo\" author:\"foo bar\" author:gub",
    ),
    (
        "title:foo title:(\"foo\" \"foo bar\" gub)",
        "title:foo title:\"foo\" title:\"foo bar\" title:gub",
    ),
    (
        "keywords:foo keywords:(\"foo\" \"foo bar\" gub)",
        "keywords:foo keywords:\"foo\" keywords:\"foo bar\" keywords:gub",
    ),
    (
        "company:foo company:(\"foo\" \"foo bar\" gub)",
        "company:foo company:\"foo\" company:\"foo bar\" company:gub",
    ),
    // type: values are kept as written; aliases are expanded when searching.
    ("type:attachment", "type:attachment"),
    ("type:text", "type:text"),
    ("type:application", "type:application"),
    ("type:word", "type:word"),
    ("type:msword", "type:msword"),
    ("type:xls type:excel", "type:xls type:excel"),
    ("type:ppt type:powerpoint", "type:ppt type:powerpoint"),
    ("type:pdf type:ms-tnef", "type:pdf type:ms-tnef"),
    (
        "type:image type:jpeg type:gif type:bmp",
        "type:image type:jpeg type:gif type:bmp",
    ),
    ("type:none type:any", "type:none type:any"),
    // tag (is: groups)
    ("is:(read unread)", "is:read is:unread"),
    ("is:(flagged unflagged)", "is:flagged is:unflagged"),
    ("is:(\"sent\" received)", "is:sent is:received"),
    ("is:(replied unreplied)", "is:replied is:unreplied"),
    ("is:(forwarded unforwarded)", "is:forwarded is:unforwarded"),
    // priority
    ("priority:high", "priority:high"),
    ("priority:low", "priority:low"),
    // size: a bare k is kilobytes too
    (
        "size:(1 20 300 1k 10k 100kb 34mb)",
        "size:1 size:20 size:300 size:1024 size:10240 size:102400 size:35651584",
    ),
    ("size:(<1k >10k)", "size:<1024 size:>10240"),
    (
        "larger:(1 20 300 100kb 34mb)",
        "size:>1 size:>20 size:>300 size:>102400 size:>35651584",
    ),
    (
        "smaller:(1 20 300 100kb 34mb)",
        "size:<1 size:<20 size:<300 size:<102400 size:<35651584",
    ),
    // field
    ("#company:\"zimbra:vmware\"", "#company:\"zimbra:vmware\""),
    // textLexicalState: after a field, and/or/not are values
    (
        "from:and or from:or or not from:not",
        "from:and OR from:or OR -from:not",
    ),
    // contact (the analysis of the words is the search's business)
    ("contact:\"Conf -\"", "contact:\"Conf -\""),
    ("contact:\"Conf - Prom\"", "contact:\"Conf - Prom\""),
    ("contact:\"Conf - Prom* E*\"", "contact:\"Conf - Prom* E*\""),
    // contactContent: a bare stop word is a term like any other
    ("in", "in"),
    // quoted
    (
        "\"Zimbra \\\"quoted\\\" test\"",
        "\"Zimbra \\\"quoted\\\" test\"",
    ),
    // quick: the last word may be a prefix
    ("all hands meeting*", "all hands meeting*"),
];

#[test]
fn zimbra_parser_test_inputs_give_the_expected_trees() {
    let mut wrong = Vec::new();
    for &(input, tree) in TREES {
        match parse(input) {
            Ok(q) if q.to_string() == tree => {
                // And the printed tree is itself a query with the same tree.
                let again = parse(tree).unwrap_or_else(|e| panic!("{tree:?}: {e}"));
                assert_eq!(again, q, "{input:?} reprinted as {tree:?}");
            }
            Ok(q) => wrong.push(format!("{input:?}: got {q}, want {tree}")),
            Err(e) => wrong.push(format!("{input:?}: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn priority_medium_is_a_parse_error() {
    let e = parse("priority:medium").expect_err("not a priority");
    assert_eq!(e.position, 9, "{e}");
}

#[test]
fn date_ranges_are_zimbras() {
    const JAN1: i64 = 1_167_609_600_000;
    const JAN2: i64 = 1_167_696_000_000;
    let now = chrono::Utc::now();
    let cases: &[(&str, Option<i64>, Option<i64>)] = &[
        ("date:01/01/2007", Some(JAN1), Some(JAN2)),
        ("date:<01/01/2007", None, Some(JAN1)),
        ("before:01/01/2007", None, Some(JAN1)),
        ("date:<=01/01/2007", None, Some(JAN2)),
        ("date:>01/01/2007", Some(JAN2), None),
        ("after:01/01/2007", Some(JAN2), None),
        ("date:>=01/01/2007", Some(JAN1), None),
        // Epoch milliseconds name one second.
        ("date:1167609600000", Some(JAN1), Some(JAN1 + 1000)),
        ("date:<1167609600000", None, Some(JAN1)),
        ("before:1167609600000", None, Some(JAN1)),
        ("date:<=1167609600000", None, Some(JAN1 + 1000)),
        ("date:>1167609600000", Some(JAN1 + 1000), None),
        ("after:1167609600000", Some(JAN1 + 1000), None),
        ("date:>=1167609600000", Some(JAN1), None),
    ];
    for &(text, from, until) in cases {
        let Ok(Query::Date { op, value, .. }) = parse(text) else {
            panic!("{text}: not a date term");
        };
        let b = value.bounds(op, &now).expect("bounds");
        assert_eq!((b.from_ms, b.until_ms), (from, until), "{text}");
        if text.starts_with("after") {
            assert_eq!(op, Comparison::Gt);
        }
    }
}
