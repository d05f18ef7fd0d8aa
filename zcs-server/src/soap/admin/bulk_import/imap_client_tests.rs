//! Unit and property tests of the bulk import's IMAP client parsing.

use proptest::prelude::*;

use super::super::imap_parse::parse_internal_date;
use super::*;

fn toks(line: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    tokenize(line, &mut out).expect("tokenize");
    out
}

#[test]
fn tokens_of_a_list_response() {
    assert_eq!(
        toks(br#"* LIST (\HasNoChildren) "/" "Sent \"x\"""#),
        vec![
            Tok::Atom("*".into()),
            Tok::Atom("LIST".into()),
            Tok::Open,
            Tok::Atom("\\HasNoChildren".into()),
            Tok::Close,
            Tok::Str(b"/".to_vec()),
            Tok::Str(b"Sent \"x\"".to_vec()),
        ]
    );
    // A section keeps its spaces inside the atom.
    assert_eq!(
        toks(b"* OK [UIDVALIDITY 3] ok"),
        vec![
            Tok::Atom("*".into()),
            Tok::Atom("OK".into()),
            Tok::Atom("[UIDVALIDITY 3]".into()),
            Tok::Atom("ok".into()),
        ]
    );
    let mut out = Vec::new();
    assert!(tokenize(b"\"open", &mut out).is_err());
}

#[test]
fn literal_announcements() {
    assert_eq!(
        literal_at_end(b"* 1 FETCH (BODY[] {12}"),
        Some((&b"* 1 FETCH (BODY[] "[..], 12))
    );
    assert_eq!(literal_at_end(b"x {3+}"), Some((&b"x "[..], 3)));
    assert_eq!(literal_at_end(b"x {}"), None);
    assert_eq!(literal_at_end(b"x {a}"), None);
    assert_eq!(literal_at_end(b"no literal"), None);
}

#[test]
fn fetch_responses_give_uid_flags_date_and_body() {
    let mut r = toks(
        br#"* 3 FETCH (UID 17 FLAGS (\Seen $Forwarded) INTERNALDATE " 5-Jan-2024 10:11:12 +0100" "#,
    );
    r.extend(toks(b"BODY[] "));
    r.push(Tok::Str(b"Subject: x\r\n\r\nhi\r\n".to_vec()));
    r.push(Tok::Close);
    let m = parse_fetch(&r).expect("parse").expect("a message");
    assert_eq!(m.uid, 17);
    assert_eq!(
        m.flags,
        vec!["\\Seen".to_string(), "$Forwarded".to_string()]
    );
    assert_eq!(m.internal_date_ms, Some(1_704_445_872_000));
    assert_eq!(m.body, b"Subject: x\r\n\r\nhi\r\n");
    // A flag update carries no body.
    let r = toks(br"* 3 FETCH (FLAGS (\Seen) UID 4 MODSEQ (12))");
    assert!(parse_fetch(&r).expect("parse").is_none());
    assert!(parse_fetch(&toks(b"* 3 FETCH UID")).is_err());
}

#[test]
fn quoting_escapes_and_refuses_line_breaks() {
    assert_eq!(
        quoted(b"s3cret \"pw\"").as_deref(),
        Some(&br#""s3cret \"pw\"""#[..])
    );
    assert_eq!(quoted(b"a\\b").as_deref(), Some(&br#""a\\b""#[..]));
    assert_eq!(quoted(b"a\r\nb"), None);
    assert_eq!(quoted("é".as_bytes()), None);
}

#[test]
fn security_names() {
    assert_eq!(Security::parse("SSL"), Some(Security::Ssl));
    assert_eq!(Security::parse(""), Some(Security::Clear));
    assert_eq!(
        Security::parse("tls_is_available"),
        Some(Security::StartTls)
    );
    assert_eq!(Security::parse("carrier pigeon"), None);
    assert_eq!(Security::Ssl.default_port(), 993);
    assert_eq!(Security::StartTls.default_port(), 143);
}

#[test]
fn credentials_are_never_shown() {
    let c = Credentials::Admin {
        admin: "admin".into(),
        password: "hunter2".into(),
        user: "u@x.test".into(),
    };
    assert!(!format!("{c:?}").contains("hunter2"));
    let c = Credentials::User {
        login: "u".into(),
        password: "hunter2".into(),
    };
    assert!(!format!("{c:?}").contains("hunter2"));
}

proptest! {
    #[test]
    fn tokenizing_and_parsing_never_panic(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut out = Vec::new();
        if tokenize(&line, &mut out).is_ok() {
            let _ = parse_fetch(&out);
            let _ = describe(&out);
        }
        let _ = literal_at_end(&line);
        let _ = parse_internal_date(&line);
    }

    #[test]
    fn quoted_strings_round_trip(s in "[ -~]{0,40}") {
        let q = quoted(s.as_bytes()).expect("printable ASCII quotes");
        let mut out = Vec::new();
        tokenize(&q, &mut out).expect("tokenize");
        prop_assert_eq!(out, vec![Tok::Str(s.into_bytes())]);
    }
}
