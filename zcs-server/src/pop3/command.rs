//! The POP3 command parser: one command line (without its CRLF) to a [`Command`].
//!
//! Pure and total: any bytes give either a command or a [`ParseError`], never a panic
//! (property-tested below). Keywords are case-insensitive (RFC 1939 §3); arguments are
//! separated by single spaces, but a PASS argument is the whole rest of the line, since
//! passwords may contain spaces.

/// One parsed client command (RFC 1939 §§4-7, RFC 2449 §5, RFC 5034 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `USER name`.
    User(String),
    /// `PASS string` (the rest of the line, spaces included).
    Pass(String),
    /// `AUTH [mechanism [initial-response]]`; no mechanism asks for the list.
    Auth {
        /// The mechanism name, upper-cased.
        mechanism: Option<String>,
        /// The base64 initial response (`=` for an empty one, RFC 5034 §4).
        initial: Option<String>,
    },
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// STLS (RFC 2595 §4).
    Stls,
    /// `QUIT`.
    Quit,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `DELE msg`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `TOP msg n`.
    Top(u32, u32),
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `XOIP address`: a proxy names the client it speaks for (Zimbra's extension).
    Xoip(String),
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but spaces.
    #[error("empty command")]
    Empty,
    /// The keyword is not one this server knows (APOP and STLS included).
    #[error("unknown command")]
    Unknown,
    /// A known keyword with missing, extra or malformed arguments.
    #[error("{0}")]
    Syntax(&'static str),
}

/// Parses one command line (line end already removed).
///
/// # Errors
/// [`ParseError`] for anything that is not a well-formed command.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("invalid UTF-8"))?;
    let line = line.trim_start_matches(' ');
    let (keyword, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    if keyword.is_empty() {
        return Err(ParseError::Empty);
    }
    if keyword.len() > 8 {
        return Err(ParseError::Unknown);
    }
    let keyword = keyword.to_ascii_uppercase();
    // PASS keeps its argument verbatim (RFC 1939 §7 allows spaces in it).
    if keyword == "PASS" {
        return Ok(Command::Pass(rest.to_string()));
    }
    let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
    let cmd = match keyword.as_str() {
        "USER" => {
            let name = rest.trim_matches(' ');
            if name.is_empty() {
                return Err(ParseError::Syntax("USER needs a name"));
            }
            Command::User(name.to_string())
        }
        "AUTH" => match args.as_slice() {
            [] => Command::Auth {
                mechanism: None,
                initial: None,
            },
            [m] => Command::Auth {
                mechanism: Some(m.to_ascii_uppercase()),
                initial: None,
            },
            [m, ir] => Command::Auth {
                mechanism: Some(m.to_ascii_uppercase()),
                initial: Some((*ir).to_string()),
            },
            _ => return Err(ParseError::Syntax("too many arguments")),
        },
        "CAPA" => no_args(&args, Command::Capa)?,
        "STLS" => no_args(&args, Command::Stls)?,
        "QUIT" => no_args(&args, Command::Quit)?,
        "STAT" => no_args(&args, Command::Stat)?,
        "NOOP" => no_args(&args, Command::Noop)?,
        "RSET" => no_args(&args, Command::Rset)?,
        "LIST" => Command::List(optional_number(&args)?),
        "UIDL" => Command::Uidl(optional_number(&args)?),
        "RETR" => Command::Retr(one_number(&args)?),
        "DELE" => Command::Dele(one_number(&args)?),
        "XOIP" => match args.as_slice() {
            [ip] => Command::Xoip((*ip).to_string()),
            _ => return Err(ParseError::Syntax("XOIP needs one address")),
        },
        "TOP" => match args.as_slice() {
            [m, n] => Command::Top(number(m)?, number(n)?),
            _ => return Err(ParseError::Syntax("TOP needs a message number and a count")),
        },
        _ => return Err(ParseError::Unknown),
    };
    Ok(cmd)
}

fn no_args(args: &[&str], cmd: Command) -> Result<Command, ParseError> {
    if args.is_empty() {
        Ok(cmd)
    } else {
        Err(ParseError::Syntax("no arguments expected"))
    }
}

fn optional_number(args: &[&str]) -> Result<Option<u32>, ParseError> {
    match args {
        [] => Ok(None),
        [n] => number(n).map(Some),
        _ => Err(ParseError::Syntax("too many arguments")),
    }
}

fn one_number(args: &[&str]) -> Result<u32, ParseError> {
    match args {
        [n] => number(n),
        _ => Err(ParseError::Syntax("a message number is required")),
    }
}

/// A decimal number; values beyond `u32` saturate (they name no message, and as a TOP
/// line count they mean "all").
fn number(s: &str) -> Result<u32, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("invalid number"));
    }
    let digits = s.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 10 {
        return Ok(u32::MAX);
    }
    Ok(digits
        .parse::<u64>()
        .map_or(u32::MAX, |v| u32::try_from(v).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_command() {
        let ok = |s: &str| parse_command(s.as_bytes()).unwrap();
        assert_eq!(
            ok("user alice@ex.test"),
            Command::User("alice@ex.test".into())
        );
        assert_eq!(ok("PASS  a b "), Command::Pass(" a b ".into()));
        assert_eq!(ok("PASS"), Command::Pass(String::new()));
        assert_eq!(ok("stat"), Command::Stat);
        assert_eq!(ok("LIST"), Command::List(None));
        assert_eq!(ok("LIST 2"), Command::List(Some(2)));
        assert_eq!(ok("uidl 007"), Command::Uidl(Some(7)));
        assert_eq!(ok("RETR 1"), Command::Retr(1));
        assert_eq!(ok("DELE 3"), Command::Dele(3));
        assert_eq!(ok("TOP 1 0"), Command::Top(1, 0));
        assert_eq!(ok("TOP 1 99999999999999"), Command::Top(1, u32::MAX));
        assert_eq!(ok("RETR 4294967296"), Command::Retr(u32::MAX));
        assert_eq!(ok("noop"), Command::Noop);
        assert_eq!(ok("RSET"), Command::Rset);
        assert_eq!(ok("Quit"), Command::Quit);
        assert_eq!(ok("CAPA"), Command::Capa);
        assert_eq!(ok("xoip 192.0.2.1"), Command::Xoip("192.0.2.1".into()));
        assert!(parse_command(b"XOIP").is_err());
        assert!(parse_command(b"XOIP a b").is_err());
        assert_eq!(
            ok("AUTH plain AGEAYg=="),
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some("AGEAYg==".into())
            }
        );
        assert_eq!(
            ok("AUTH"),
            Command::Auth {
                mechanism: None,
                initial: None
            }
        );
    }

    #[test]
    fn refuses_malformed_commands() {
        let err = |s: &[u8]| parse_command(s).unwrap_err();
        assert_eq!(err(b""), ParseError::Empty);
        assert_eq!(err(b"   "), ParseError::Empty);
        assert_eq!(err(b"APOP a b"), ParseError::Unknown);
        assert_eq!(err(b"XYZZYXYZZY"), ParseError::Unknown);
        assert!(matches!(err(b"RETR"), ParseError::Syntax(_)));
        assert!(matches!(err(b"RETR -1"), ParseError::Syntax(_)));
        assert!(matches!(err(b"RETR +1"), ParseError::Syntax(_)));
        assert!(matches!(err(b"LIST 1 2"), ParseError::Syntax(_)));
        assert!(matches!(err(b"STAT x"), ParseError::Syntax(_)));
        assert!(matches!(err(b"TOP 1"), ParseError::Syntax(_)));
        assert!(matches!(err(b"USER "), ParseError::Syntax(_)));
        assert!(matches!(err(b"USER \xff"), ParseError::Syntax(_)));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_command(&bytes);
        }

        #[test]
        fn keyword_case_does_not_matter(n in 0u32..100_000, lower in any::<bool>()) {
            let line = format!("{} {n}", if lower { "retr" } else { "RETR" });
            prop_assert_eq!(parse_command(line.as_bytes()), Ok(Command::Retr(n)));
        }

        #[test]
        fn pass_keeps_the_argument(pw in "[ -~]{0,60}") {
            let line = format!("PASS {pw}");
            prop_assert_eq!(parse_command(line.as_bytes()), Ok(Command::Pass(pw)));
        }
    }
}
