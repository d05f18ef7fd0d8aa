//! Address lists (RFC 5322 §3.4, with the obsolete forms of §4.4) turned into the
//! address structures of ENVELOPE (RFC 3501 §7.4.2).
//!
//! Lenient by design: whatever a header holds, the result is a well-formed list. Groups
//! become the start/end markers IMAP uses; encoded words stay encoded.

/// One ENVELOPE address: `(name adl mailbox host)`. A group start is
/// `(NIL NIL "group" NIL)` and a group end `(NIL NIL NIL NIL)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub adl: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// An atom (any run of non-special bytes, 8-bit included) or a domain literal.
    Word(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    Special(u8),
}

fn tokenize(input: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut text = Vec::new();
                i += 1;
                while i < input.len() && input[i] != b'"' {
                    if input[i] == b'\\' && i + 1 < input.len() {
                        i += 1;
                    }
                    text.push(input[i]);
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Quoted(text));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while i < input.len() {
                    let c = input[i];
                    if c == b'\\' && i + 1 < input.len() {
                        text.push(input[i + 1]);
                        i += 2;
                        continue;
                    }
                    if c == b'(' {
                        depth += 1;
                        if depth > 1 {
                            text.push(c);
                        }
                    } else if c == b')' {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                        text.push(c);
                    } else {
                        text.push(c);
                    }
                    i += 1;
                }
                tokens.push(Token::Comment(text));
            }
            b'[' => {
                let end = input[i..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(input.len(), |p| i + p + 1);
                tokens.push(Token::Word(input[i..end].to_vec()));
                i = end;
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' | b')' | b']' => {
                tokens.push(Token::Special(b));
                i += 1;
            }
            _ => {
                let start = i;
                while i < input.len()
                    && !matches!(
                        input[i],
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b'"'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b'@'
                            | b','
                            | b';'
                            | b':'
                            | b'.'
                            | b'['
                            | b']'
                    )
                {
                    i += 1;
                }
                tokens.push(Token::Word(input[start..i].to_vec()));
            }
        }
    }
    tokens
}

/// Joins phrase words with single spaces; a `.` sticks to the word before it
/// (obsolete phrases such as `John Q. Public`).
fn phrase(words: &[Token]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in words {
        match t {
            Token::Word(w) | Token::Quoted(w) => {
                if !out.is_empty() {
                    out.push(b' ');
                }
                out.extend_from_slice(w);
            }
            Token::Special(b'.') => out.push(b'.'),
            _ => {}
        }
    }
    let text = super::trim(&out).to_vec();
    (!text.is_empty()).then_some(text)
}

/// Joins local-part or domain pieces without spaces (`a.b`).
fn dotted(tokens: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Word(w) | Token::Quoted(w) => out.extend_from_slice(w),
            Token::Special(b'.') => out.push(b'.'),
            _ => {}
        }
    }
    out
}

fn first_comment(tokens: &[Token]) -> Option<Vec<u8>> {
    tokens.iter().find_map(|t| match t {
        Token::Comment(c) if !super::trim(c).is_empty() => Some(super::trim(c).to_vec()),
        _ => None,
    })
}

/// Builds a mailbox address from an addr-spec's pieces. A missing domain becomes an
/// empty host (never NIL, which would read as a group marker).
fn mailbox(name: Option<Vec<u8>>, adl: Option<Vec<u8>>, spec: &[Token]) -> Address {
    let at = spec.iter().rposition(|t| *t == Token::Special(b'@'));
    let (local, domain) = match at {
        Some(at) => (dotted(&spec[..at]), dotted(&spec[at + 1..])),
        None => (dotted(spec), Vec::new()),
    };
    Address {
        name,
        adl,
        mailbox: Some(local),
        host: Some(domain),
    }
}

/// Parses an unfolded address-list header value into ENVELOPE addresses.
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut out = Vec::new();
    let mut in_group = false;
    let mut i = 0;
    while i < tokens.len() {
        // Collect one element: everything up to a top-level `,` `;` or `:`.
        let start = i;
        let mut angle: Option<(usize, usize)> = None;
        while i < tokens.len() {
            match tokens[i] {
                Token::Special(b'<') if angle.is_none() => {
                    let close = tokens[i..]
                        .iter()
                        .position(|t| *t == Token::Special(b'>'))
                        .map_or(tokens.len(), |p| i + p);
                    angle = Some((i + 1, close));
                    i = close;
                }
                Token::Special(b',' | b';') => break,
                Token::Special(b':') if angle.is_none() && !in_group => break,
                _ => {}
            }
            i += 1;
        }
        let element = &tokens[start..i.min(tokens.len())];
        let stop = tokens.get(i).cloned();
        i += 1;

        if stop == Some(Token::Special(b':')) {
            // RFC 5322 §3.4: group = display-name ":" [group-list] ";".
            let name = phrase(element).unwrap_or_default();
            out.push(Address {
                mailbox: Some(name),
                ..Address::default()
            });
            in_group = true;
            continue;
        }
        if let Some((open, close)) = angle {
            let before: Vec<Token> = tokens[start..open - 1].to_vec();
            let inner = &tokens[open..close.min(tokens.len())];
            // Obsolete route: `<@a,@b:user@host>`.
            let (adl, spec) = match inner.iter().position(|t| *t == Token::Special(b':')) {
                Some(colon) if inner.first() == Some(&Token::Special(b'@')) => {
                    let mut route = Vec::new();
                    for t in &inner[..colon] {
                        match t {
                            Token::Word(w) => route.extend_from_slice(w),
                            Token::Special(c) => route.push(*c),
                            _ => {}
                        }
                    }
                    (Some(route), &inner[colon + 1..])
                }
                _ => (None, inner),
            };
            let name = phrase(&before).or_else(|| first_comment(element));
            out.push(mailbox(name, adl, spec));
        } else if element
            .iter()
            .any(|t| matches!(t, Token::Word(_) | Token::Quoted(_)))
        {
            out.push(mailbox(first_comment(element), None, element));
        }
        if stop == Some(Token::Special(b';')) && in_group {
            out.push(Address::default());
            in_group = false;
        }
    }
    if in_group {
        out.push(Address::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: Some(host.as_bytes().to_vec()),
        }
    }

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse_address_list(b"\"Doe, John\" <john@example.com>, jane@example.org (Jane)"),
            vec![
                addr(Some("Doe, John"), "john", "example.com"),
                addr(Some("Jane"), "jane", "example.org"),
            ]
        );
        assert_eq!(
            parse_address_list(b"John Q. Public <JQP@x.y.com>"),
            vec![addr(Some("John Q. Public"), "JQP", "x.y.com")]
        );
        assert_eq!(
            parse_address_list(b"=?utf-8?q?J=C3=B6rg?= <j@h>"),
            vec![addr(Some("=?utf-8?q?J=C3=B6rg?="), "j", "h")]
        );
        assert_eq!(parse_address_list(b""), vec![]);
        assert_eq!(parse_address_list(b"<>"), vec![addr(None, "", "")]);
    }

    #[test]
    fn parses_groups_and_routes() {
        let list = parse_address_list(b"A Group: a@b, c@d; e@f, undisclosed-recipients:;");
        assert_eq!(list.len(), 7);
        assert_eq!(list[0].mailbox.as_deref(), Some(&b"A Group"[..]));
        assert_eq!(list[0].host, None);
        assert_eq!(list[3], Address::default());
        assert_eq!(list[4], addr(None, "e", "f"));
        assert_eq!(list[6], Address::default());
        let routed = parse_address_list(b"<@r1,@r2:u@h>");
        assert_eq!(routed[0].adl.as_deref(), Some(&b"@r1,@r2"[..]));
        assert_eq!(routed[0].mailbox.as_deref(), Some(&b"u"[..]));
    }

    #[test]
    fn survives_garbage() {
        for junk in [
            &b"<<<>>>,,;;::"[..],
            b"\"unterminated",
            b"(((",
            b"a@",
            b"@",
            b"<a@b",
            b")]",
        ] {
            let _ = parse_address_list(junk);
        }
    }
}
