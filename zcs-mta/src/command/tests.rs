//! Unit and property tests of the command parser.

use proptest::prelude::*;

use super::*;
use crate::address::Mailbox;

fn mailbox(local: &str, domain: &str) -> Mailbox {
    Mailbox {
        local: local.into(),
        domain: domain.into(),
    }
}

#[test]
fn greetings() {
    assert_eq!(
        parse_command(b"EHLO client.example\r\n"),
        Ok(Command::Ehlo("client.example".into()))
    );
    assert_eq!(
        parse_command(b"helo [127.0.0.1]\r\n"),
        Ok(Command::Helo("[127.0.0.1]".into()))
    );
    assert_eq!(parse_command(b"LHLO x\n"), Ok(Command::Lhlo("x".into())));
    assert!(matches!(
        parse_command(b"EHLO\r\n"),
        Err(ParseError::Syntax(_))
    ));
    assert!(matches!(
        parse_command(b"EHLO a b\r\n"),
        Err(ParseError::Syntax(_))
    ));
}

#[test]
fn mail_and_rcpt() {
    let cmd = parse_command(b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME\r\n").unwrap();
    let Command::Mail { from, params } = cmd else {
        panic!("not MAIL")
    };
    assert_eq!(from, ReversePath::Mailbox(mailbox("a", "b.example")));
    let p = mail_params(&params).unwrap();
    assert_eq!(p.size, Some(1000));
    assert_eq!(p.body, Body::EightBitMime);
    assert!(!p.smtputf8);

    assert_eq!(
        parse_command(b"mail from: <>\r\n"),
        Ok(Command::Mail {
            from: ReversePath::Null,
            params: vec![]
        })
    );
    assert_eq!(
        parse_command(b"RCPT TO:<Postmaster>\r\n"),
        Ok(Command::Rcpt {
            to: ForwardPath::Postmaster("Postmaster".into()),
            params: vec![]
        })
    );
    assert!(matches!(
        parse_command(b"MAIL FROM:a@b\r\n"),
        Err(ParseError::BadSender(_))
    ));
    assert!(matches!(
        parse_command(b"RCPT TO:<a@>\r\n"),
        Err(ParseError::BadRecipient(_))
    ));
    assert!(matches!(
        parse_command(b"MAIL TO:<a@b>\r\n"),
        Err(ParseError::Syntax(_))
    ));
    assert!(matches!(
        parse_command(b"RCPT TO:<a@b>x\r\n"),
        Err(ParseError::Syntax(_))
    ));
    assert!(matches!(
        parse_command(b"RCPT TO:<a@b> =x\r\n"),
        Err(ParseError::Syntax(_))
    ));
}

#[test]
fn mail_parameter_meaning() {
    let params = |s: &str| match parse_command(format!("MAIL FROM:<> {s}").as_bytes()) {
        Ok(Command::Mail { params, .. }) => mail_params(&params),
        other => panic!("{other:?}"),
    };
    assert!(params("SMTPUTF8").unwrap().smtputf8);
    assert_eq!(
        params("size=99999999999999999999999").unwrap().size,
        Some(u64::MAX)
    );
    assert!(matches!(params("SIZE=x"), Err(ParamError::Malformed(_))));
    assert!(matches!(
        params("SIZE=1 SIZE=2"),
        Err(ParamError::Malformed(_))
    ));
    assert!(matches!(
        params("BODY=BINARYMIME"),
        Err(ParamError::Unsupported(_))
    ));
    assert!(matches!(params("FOO=1"), Err(ParamError::Unsupported(_))));
    // RFC 3461 §4.3-4.4 and RFC 4954 §5.
    let dsn = params("RET=hdrs ENVID=QQ+2B1 AUTH=<>").unwrap();
    assert_eq!(dsn.ret, Some(DsnRet::Headers));
    assert_eq!(dsn.envid.as_deref(), Some("QQ+1"));
    assert_eq!(dsn.auth.as_deref(), Some("<>"));
    assert!(matches!(params("RET=ALL"), Err(ParamError::Malformed(_))));
    assert!(matches!(params("ENVID=+ZZ"), Err(ParamError::Malformed(_))));
}

#[test]
fn bdat_and_simple_verbs() {
    assert_eq!(
        parse_command(b"BDAT 10 LAST\r\n"),
        Ok(Command::Bdat {
            size: 10,
            last: true
        })
    );
    assert_eq!(
        parse_command(b"bdat 0\r\n"),
        Ok(Command::Bdat {
            size: 0,
            last: false
        })
    );
    assert!(parse_command(b"BDAT -1\r\n").is_err());
    assert!(parse_command(b"BDAT 99999999999999999999999\r\n").is_err());
    assert!(parse_command(b"BDAT 1 FIRST\r\n").is_err());
    assert_eq!(parse_command(b"DATA\r\n"), Ok(Command::Data));
    assert!(parse_command(b"DATA now\r\n").is_err());
    assert_eq!(parse_command(b"NOOP whatever\r\n"), Ok(Command::Noop));
    assert_eq!(
        parse_command(b"VRFY joe\r\n"),
        Ok(Command::Vrfy("joe".into()))
    );
    assert_eq!(parse_command(b"STARTTLS\r\n"), Ok(Command::StartTls));
    assert!(parse_command(b"STARTTLS now\r\n").is_err());
    assert_eq!(
        parse_command(b"auth plain AGEAYg==\r\n"),
        Ok(Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some("AGEAYg==".into())
        })
    );
    assert!(parse_command(b"AUTH\r\n").is_err());
    assert!(parse_command(b"AUTH PL@IN\r\n").is_err());
    assert_eq!(parse_command(b"FOO\r\n"), Err(ParseError::Unrecognized));
    assert_eq!(parse_command(b"\r\n"), Err(ParseError::Unrecognized));
    assert_eq!(
        parse_command(b"\xff\xfe\r\n"),
        Err(ParseError::Unrecognized)
    );
    assert!(parse_command(b"NOOP a\rb\r\n").is_err());
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?){0,3}",
        any::<[u8; 4]>().prop_map(|o| format!("[{}.{}.{}.{}]", o[0], o[1], o[2], o[3])),
        "[a-zé]{1,5}\\.bücher",
    ]
}

fn local() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}){0,2}",
        r#""([ !#-\[\]-~]|\\[ -~]){0,10}""#,
        "[a-zñ]{1,6}",
    ]
}

fn mailbox_strategy() -> impl Strategy<Value = Mailbox> {
    (local(), domain()).prop_map(|(l, d)| mailbox(&l, &d))
}

fn params() -> impl Strategy<Value = Vec<Param>> {
    let param = (
        "[A-Za-z0-9][A-Za-z0-9-]{0,8}",
        proptest::option::of("[!-<>-~]{1,10}"),
    )
        .prop_map(|(keyword, value)| Param { keyword, value });
    proptest::collection::vec(param, 0..4)
}

fn free_text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?"
}

fn command() -> impl Strategy<Value = Command> {
    let token = "[!-~]{1,20}";
    prop_oneof![
        token.prop_map(Command::Helo),
        token.prop_map(Command::Ehlo),
        token.prop_map(Command::Lhlo),
        (proptest::option::of(mailbox_strategy()), params()).prop_map(|(m, params)| {
            let from = m.map_or(ReversePath::Null, ReversePath::Mailbox);
            Command::Mail { from, params }
        }),
        (mailbox_strategy(), params()).prop_map(|(m, params)| Command::Rcpt {
            to: ForwardPath::Mailbox(m),
            params
        }),
        "[pP][oO][sS][tT][mM][aA][sS][tT][eE][rR]".prop_map(|p| Command::Rcpt {
            to: ForwardPath::Postmaster(p),
            params: vec![]
        }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        Just(Command::StartTls),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of("[A-Za-z0-9+/=]{1,30}")
        )
            .prop_map(|(mechanism, initial)| Command::Auth { mechanism, initial }),
        Just(Command::Noop),
        Just(Command::Quit),
        free_text().prop_map(Command::Vrfy),
        proptest::option::of(free_text()).prop_map(Command::Help),
        prop_oneof![Just("EXPN"), Just("ETRN"), Just("TURN")].prop_map(Command::NotImplemented),
    ]
}

/// Fragments that steer random lines into the deeper branches of the parser.
fn smtpish_line() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("MAIL FROM:".to_string()),
        Just("RCPT TO:".to_string()),
        Just("BDAT ".to_string()),
        Just("EHLO ".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("@".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("IPv6:".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just(" ".to_string()),
        Just("=".to_string()),
        Just(".".to_string()),
        Just("é".to_string()),
        Just("postmaster".to_string()),
        "[a-z0-9]{1,4}",
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #[test]
    fn never_panics_on_bytes(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_command(&line);
    }

    #[test]
    fn never_panics_on_smtpish_lines(line in smtpish_line()) {
        if let Ok(Command::Mail { params, .. }) = parse_command(&line) {
            let _ = mail_params(&params);
        }
    }

    #[test]
    fn well_formed_commands_round_trip(cmd in command()) {
        let line = format!("{cmd}\r\n");
        prop_assert_eq!(parse_command(line.as_bytes()), Ok(cmd));
    }
}
