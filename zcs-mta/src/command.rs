//! The SMTP/LMTP command parser: one command line in, one [`Command`] or [`ParseError`]
//! out (RFC 5321 §4.1, RFC 2033 §4.1, RFC 3030 §2, RFC 1870, RFC 6152, RFC 6531).
//!
//! A pure function over bytes with no session state: whether a command is allowed now,
//! and what its parameters mean for the transaction, is the session's business.

use std::fmt;

use crate::address::{ForwardPath, ReversePath, parse_forward_path, parse_reverse_path};
pub use crate::envelope::{DsnRet, Notify, RcptParams, rcpt_params, xtext_decode};

/// One parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `HELO domain` (RFC 5321 §4.1.1.1).
    Helo(String),
    /// `EHLO domain` (RFC 5321 §4.1.1.1).
    Ehlo(String),
    /// `LHLO domain` (RFC 2033 §4.1).
    Lhlo(String),
    /// `MAIL FROM:<path> [params]` (RFC 5321 §4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath,
        /// ESMTP parameters in the order given.
        params: Vec<Param>,
    },
    /// `RCPT TO:<path> [params]` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath,
        /// ESMTP parameters in the order given.
        params: Vec<Param>,
    },
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 §2).
    Bdat {
        /// Octets of chunk data that follow the command line.
        size: u64,
        /// Whether this is the last chunk of the message.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP [string]`; the argument is ignored (RFC 5321 §4.1.1.9).
    Noop,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `VRFY string` (RFC 5321 §4.1.1.6).
    Vrfy(String),
    /// `HELP [string]` (RFC 5321 §4.1.1.8).
    Help(Option<String>),
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4); the mechanism in upper case,
    /// the initial response as sent (base64, or `=` for an empty one).
    Auth {
        /// SASL mechanism name, upper-cased.
        mechanism: String,
        /// The optional initial response.
        initial: Option<String>,
    },
    /// A command this server knows but does not offer (EXPN, ETRN, TURN);
    /// carries the verb in upper case. Answered 502 (RFC 5321 §4.2.4).
    NotImplemented(&'static str),
}

/// One ESMTP parameter: `esmtp-keyword ["=" esmtp-value]` (RFC 5321 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The keyword as written (compare case-insensitively).
    pub keyword: String,
    /// The value, if any.
    pub value: Option<String>,
}

/// Why a line is not a well-formed command; each maps to one reply in the session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Empty line, unknown verb or non-UTF-8 bytes: `500 5.5.2`.
    #[error("command not recognized")]
    Unrecognized,
    /// A known verb with malformed arguments: `501 5.5.4`.
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// `MAIL FROM` with a malformed path: `501 5.1.7`.
    #[error("bad sender address syntax: {0}")]
    BadSender(&'static str),
    /// `RCPT TO` with a malformed path: `501 5.1.3`.
    #[error("bad recipient address syntax: {0}")]
    BadRecipient(&'static str),
}

/// Parses one command line. A trailing `CRLF` (or bare `LF`) is removed first; any other
/// control character makes the line malformed. Verbs and the `FROM:`/`TO:` keywords are
/// case-insensitive; spaces after the colon are tolerated as common clients send them.
///
/// Never panics, whatever the input; cost is linear in the line length.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Unrecognized)?;
    let (verb, args) = match line.split_once(' ') {
        Some((verb, args)) => (verb, args),
        None => (line, ""),
    };
    let has_ctl = |s: &str| s.chars().any(|c| c.is_control());
    if verb.is_empty() || has_ctl(verb) {
        return Err(ParseError::Unrecognized);
    }
    if has_ctl(args) {
        return Err(ParseError::Syntax("control character in command"));
    }

    match verb.to_ascii_uppercase().as_str() {
        "HELO" => domain_arg(args).map(Command::Helo),
        "EHLO" => domain_arg(args).map(Command::Ehlo),
        "LHLO" => domain_arg(args).map(Command::Lhlo),
        "MAIL" => parse_mail(args),
        "RCPT" => parse_rcpt(args),
        "DATA" => no_args(args, Command::Data),
        "BDAT" => parse_bdat(args),
        "RSET" => no_args(args, Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(args, Command::Quit),
        "VRFY" => match args.trim() {
            "" => Err(ParseError::Syntax("VRFY needs an argument")),
            arg => Ok(Command::Vrfy(arg.to_string())),
        },
        "HELP" => match args.trim() {
            "" => Ok(Command::Help(None)),
            arg => Ok(Command::Help(Some(arg.to_string()))),
        },
        "EXPN" => Ok(Command::NotImplemented("EXPN")),
        "STARTTLS" => no_args(args, Command::StartTls),
        "AUTH" => parse_auth(args),
        "ETRN" => Ok(Command::NotImplemented("ETRN")),
        "TURN" => Ok(Command::NotImplemented("TURN")),
        _ => Err(ParseError::Unrecognized),
    }
}

/// The single argument of HELO/EHLO/LHLO: one token, a domain or address literal in
/// principle. RFC 5321 §4.1.4 forbids refusing a mail over a bad HELO name, so any
/// visible token is taken.
fn domain_arg(args: &str) -> Result<String, ParseError> {
    let arg = args.trim_matches(' ');
    if arg.is_empty() || arg.contains(' ') {
        return Err(ParseError::Syntax("expected exactly one host name"));
    }
    Ok(arg.to_string())
}

fn no_args(args: &str, command: Command) -> Result<Command, ParseError> {
    if args.trim_matches(' ').is_empty() {
        Ok(command)
    } else {
        Err(ParseError::Syntax("this command takes no arguments"))
    }
}

/// Strips a case-insensitive keyword such as `FROM:` and the spaces after it.
fn strip_keyword<'a>(args: &'a str, keyword: &str) -> Option<&'a str> {
    let head = args.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| args[keyword.len()..].trim_start_matches(' '))
}

/// `auth-command = "AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 §4).
fn parse_auth(args: &str) -> Result<Command, ParseError> {
    let mut words = args.split(' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(ParseError::Syntax("AUTH needs a mechanism"))?;
    // RFC 4422 §3.1: sasl-mech = 1*20mech-char (upper-case letters, digits, "-" and "_").
    let mech_ok = mechanism.len() <= 20
        && mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !mech_ok {
        return Err(ParseError::Syntax("malformed SASL mechanism"));
    }
    let initial = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(ParseError::Syntax("too many AUTH arguments"));
    }
    Ok(Command::Auth {
        mechanism: mechanism.to_ascii_uppercase(),
        initial,
    })
}

fn parse_mail(args: &str) -> Result<Command, ParseError> {
    let path =
        strip_keyword(args, "FROM:").ok_or(ParseError::Syntax("expected MAIL FROM:<address>"))?;
    let (from, rest) = parse_reverse_path(path).map_err(ParseError::BadSender)?;
    let params = parse_params(rest)?;
    Ok(Command::Mail { from, params })
}

fn parse_rcpt(args: &str) -> Result<Command, ParseError> {
    let path =
        strip_keyword(args, "TO:").ok_or(ParseError::Syntax("expected RCPT TO:<address>"))?;
    let (to, rest) = parse_forward_path(path).map_err(ParseError::BadRecipient)?;
    let params = parse_params(rest)?;
    Ok(Command::Rcpt { to, params })
}

/// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF` (RFC 3030 §2).
fn parse_bdat(args: &str) -> Result<Command, ParseError> {
    let mut words = args.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .ok_or(ParseError::Syntax("BDAT needs a chunk size"))?;
    if !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("chunk size must be decimal digits"));
    }
    let size = size
        .parse::<u64>()
        .map_err(|_| ParseError::Syntax("chunk size too large"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::Syntax("expected LAST")),
    };
    if words.next().is_some() {
        return Err(ParseError::Syntax("too many BDAT arguments"));
    }
    Ok(Command::Bdat { size, last })
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)` after the path (RFC 5321 §4.1.2):
/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`,
/// `esmtp-value = 1*(%d33-60 / %d62-126)`, widened to UTF-8 by RFC 6531 §3.3.
fn parse_params(rest: &str) -> Result<Vec<Param>, ParseError> {
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    if !rest.starts_with(' ') {
        return Err(ParseError::Syntax("garbage after address"));
    }
    let mut params = Vec::new();
    for word in rest.split(' ').filter(|w| !w.is_empty()) {
        let (keyword, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        let keyword_ok = keyword
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && keyword
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        let value_ok = value.is_none_or(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| !c.is_ascii() || (c.is_ascii_graphic() && c != '='))
        });
        if !keyword_ok || !value_ok {
            return Err(ParseError::Syntax("malformed parameter"));
        }
        params.push(Param {
            keyword: keyword.to_string(),
            value: value.map(str::to_string),
        });
    }
    Ok(params)
}

/// The `BODY=` value of `MAIL FROM` (RFC 6152 §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Body {
    /// `BODY=7BIT` or no `BODY` parameter.
    #[default]
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// What the `MAIL FROM` parameters this server offers ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n`: the client's estimate of the message size (RFC 1870 §6).
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Body,
    /// `SMTPUTF8` was given (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `RET=FULL|HDRS` (RFC 3461 §4.3).
    pub ret: Option<DsnRet>,
    /// `ENVID=`, xtext-decoded (RFC 3461 §4.4).
    pub envid: Option<String>,
    /// `AUTH=`, xtext-decoded; `<>` when the client vouches for no one (RFC 4954 §5).
    pub auth: Option<String>,
}

/// Why `MAIL FROM` parameters are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A parameter this server does not offer, or a value it does not support:
    /// `555 5.5.4` (RFC 5321 §4.1.1.11).
    #[error("unsupported parameter {0}")]
    Unsupported(String),
    /// A known parameter with a malformed or repeated value: `501 5.5.4`.
    #[error("malformed parameter {0}")]
    Malformed(String),
}

/// Interprets `MAIL FROM` parameters: `SIZE` (RFC 1870), `BODY=7BIT|8BITMIME`
/// (RFC 6152), `SMTPUTF8` (RFC 6531), `RET` and `ENVID` (RFC 3461 §4.3-4.4) and `AUTH`
/// (RFC 4954 §5). `BODY=BINARYMIME` is refused because BINARYMIME is not advertised
/// (RFC 3030 §3).
pub fn mail_params(params: &[Param]) -> Result<MailParams, ParamError> {
    let mut out = MailParams::default();
    let mut seen: Vec<String> = Vec::new();
    for p in params {
        let keyword = p.keyword.to_ascii_uppercase();
        if seen.contains(&keyword) {
            return Err(ParamError::Malformed(keyword));
        }
        let value = p.value.as_deref();
        match (keyword.as_str(), value) {
            ("SIZE", Some(v)) if v.bytes().all(|b| b.is_ascii_digit()) => {
                // RFC 1870 §6: a size beyond u64 is certainly over any limit.
                out.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            ("SIZE", _) => return Err(ParamError::Malformed(keyword)),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => out.body = Body::SevenBit,
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {
                out.body = Body::EightBitMime
            }
            ("BODY", Some(_)) => return Err(ParamError::Unsupported(p.to_string())),
            ("BODY", None) => return Err(ParamError::Malformed(keyword)),
            ("SMTPUTF8", None) => out.smtputf8 = true,
            ("SMTPUTF8", Some(_)) => return Err(ParamError::Malformed(keyword)),
            ("RET", Some(v)) if v.eq_ignore_ascii_case("FULL") => out.ret = Some(DsnRet::Full),
            ("RET", Some(v)) if v.eq_ignore_ascii_case("HDRS") => out.ret = Some(DsnRet::Headers),
            ("RET", _) => return Err(ParamError::Malformed(keyword)),
            // RFC 3461 §4.4: at most 100 characters of xtext.
            ("ENVID", Some(v)) if v.len() <= 100 => match xtext_decode(v) {
                Some(id) => out.envid = Some(id),
                None => return Err(ParamError::Malformed(keyword)),
            },
            ("ENVID", _) => return Err(ParamError::Malformed(keyword)),
            ("AUTH", Some(v)) => match xtext_decode(v) {
                Some(a) => out.auth = Some(a),
                None => return Err(ParamError::Malformed(keyword)),
            },
            ("AUTH", None) => return Err(ParamError::Malformed(keyword)),
            _ => return Err(ParamError::Unsupported(p.keyword.clone())),
        }
        seen.push(keyword);
    }
    Ok(out)
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.keyword, v),
            None => f.write_str(&self.keyword),
        }
    }
}

impl fmt::Display for Command {
    /// The canonical spelling of the command line, without the trailing CRLF.
    /// `parse_command` of this text gives back an equal command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = |f: &mut fmt::Formatter<'_>, params: &[Param]| {
            params.iter().try_for_each(|p| write!(f, " {p}"))
        };
        match self {
            Command::Helo(d) => write!(f, "HELO {d}"),
            Command::Ehlo(d) => write!(f, "EHLO {d}"),
            Command::Lhlo(d) => write!(f, "LHLO {d}"),
            Command::Mail { from, params: p } => {
                write!(f, "MAIL FROM:<{}>", from.address())?;
                params(f, p)
            }
            Command::Rcpt { to, params: p } => {
                write!(f, "RCPT TO:<{}>", to.address())?;
                params(f, p)
            }
            Command::Data => f.write_str("DATA"),
            Command::Bdat { size, last: true } => write!(f, "BDAT {size} LAST"),
            Command::Bdat { size, last: false } => write!(f, "BDAT {size}"),
            Command::Rset => f.write_str("RSET"),
            Command::Noop => f.write_str("NOOP"),
            Command::Quit => f.write_str("QUIT"),
            Command::Vrfy(s) => write!(f, "VRFY {s}"),
            Command::Help(None) => f.write_str("HELP"),
            Command::Help(Some(s)) => write!(f, "HELP {s}"),
            Command::StartTls => f.write_str("STARTTLS"),
            Command::Auth {
                mechanism,
                initial: None,
            } => write!(f, "AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial: Some(i),
            } => write!(f, "AUTH {mechanism} {i}"),
            Command::NotImplemented(verb) => f.write_str(verb),
        }
    }
}

#[cfg(test)]
mod tests;
