//! Envelope address syntax: the `<...>` paths of `MAIL FROM` and `RCPT TO` as RFC 5321
//! §4.1.2 writes them, widened to UTF-8 as RFC 6531 §3.3 allows.
//!
//! Pure functions over text; no I/O and no directory lookups. The session decides which
//! reply a malformed path earns; recipient resolution happens behind `LocalDelivery`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A mailbox `local-part@domain`, both halves kept as the client wrote them (a quoted
/// local part keeps its quotes and backslashes; case is untouched).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// `Dot-string` or `Quoted-string`, as written.
    pub local: String,
    /// A domain name or an address literal such as `[192.0.2.1]`, as written.
    pub domain: String,
}

impl Mailbox {
    /// True when either half holds a non-ASCII character (RFC 6531 needs `SMTPUTF8` then).
    pub fn is_utf8(&self) -> bool {
        !self.local.is_ascii() || !self.domain.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// The argument of `MAIL FROM:`: a mailbox or the null reverse path `<>` used by
/// bounces (RFC 5321 §4.5.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`.
    Null,
    /// `<local@domain>`.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// The address as text: `""` for the null path, `local@domain` otherwise.
    pub fn address(&self) -> String {
        match self {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.to_string(),
        }
    }
}

/// The argument of `RCPT TO:`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<local@domain>` (this includes `<Postmaster@domain>`).
    Mailbox(Mailbox),
    /// `<Postmaster>` with no domain, which every server must accept (RFC 5321 §4.5.1).
    /// The string is the spelling the client used (any case of "postmaster").
    Postmaster(String),
}

impl ForwardPath {
    /// The address as text: `local@domain`, or the bare postmaster spelling.
    pub fn address(&self) -> String {
        match self {
            ForwardPath::Mailbox(m) => m.to_string(),
            ForwardPath::Postmaster(p) => p.clone(),
        }
    }

    /// True when the address holds a non-ASCII character.
    pub fn is_utf8(&self) -> bool {
        match self {
            ForwardPath::Mailbox(m) => m.is_utf8(),
            ForwardPath::Postmaster(_) => false,
        }
    }
}

/// Parses a reverse path at the start of `s`; returns it and the text after `>`.
pub(crate) fn parse_reverse_path(s: &str) -> Result<(ReversePath, &str), &'static str> {
    if let Some(rest) = s.strip_prefix("<>") {
        return Ok((ReversePath::Null, rest));
    }
    let (mailbox, rest) = parse_path(s)?;
    Ok((ReversePath::Mailbox(mailbox), rest))
}

/// Parses a forward path at the start of `s`; returns it and the text after `>`.
pub(crate) fn parse_forward_path(s: &str) -> Result<(ForwardPath, &str), &'static str> {
    // RFC 5321 §4.1.1.3: "<Postmaster>" names the postmaster of the receiving host.
    if let Some(inner) = s.get(1..11)
        && s.starts_with('<')
        && inner.eq_ignore_ascii_case("postmaster")
        && s[11..].starts_with('>')
    {
        return Ok((ForwardPath::Postmaster(inner.to_string()), &s[12..]));
    }
    let (mailbox, rest) = parse_path(s)?;
    Ok((ForwardPath::Mailbox(mailbox), rest))
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"` (RFC 5321 §4.1.2).
fn parse_path(s: &str) -> Result<(Mailbox, &str), &'static str> {
    let mut rest = s
        .strip_prefix('<')
        .ok_or("address must be enclosed in <>")?;

    // RFC 5321 §3.6.1 / Appendix C: a source route is accepted and ignored.
    if rest.starts_with('@') {
        let colon = rest.find(':').ok_or("malformed source route")?;
        for hop in rest[..colon].split(',') {
            let domain = hop.strip_prefix('@').ok_or("malformed source route")?;
            if !is_domain(domain) {
                return Err("malformed source route");
            }
        }
        rest = &rest[colon + 1..];
    }

    let (local, after_local) = take_local_part(rest)?;
    let after_at = after_local.strip_prefix('@').ok_or("missing @domain")?;
    let (domain, after_domain) = take_domain(after_at)?;
    let tail = after_domain
        .strip_prefix('>')
        .ok_or("address must be enclosed in <>")?;
    let mailbox = Mailbox {
        local: local.to_string(),
        domain: domain.to_string(),
    };
    Ok((mailbox, tail))
}

/// RFC 5321 §4.1.2 `atext` (from RFC 5322 §3.2.3), plus any non-ASCII character
/// (RFC 6531 §3.3 `UTF8-non-ascii`).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// `Local-part = Dot-string / Quoted-string`; returns it and the remaining text.
fn take_local_part(s: &str) -> Result<(&str, &str), &'static str> {
    if let Some(body) = s.strip_prefix('"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((&s[..i + 2], &body[i + 1..])),
                // quoted-pairSMTP = %d92 %d32-126
                '\\' => match chars.next() {
                    Some((_, q)) if (' '..='~').contains(&q) => {}
                    _ => return Err("bad quoted pair in local part"),
                },
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF8-non-ascii
                c if (' '..='~').contains(&c) || !c.is_ascii() => {}
                _ => return Err("bad character in quoted local part"),
            }
        }
        return Err("unterminated quoted local part");
    }

    // Dot-string = Atom *("."  Atom)
    let end = s
        .find(|c: char| !(is_atext(c) || c == '.'))
        .unwrap_or(s.len());
    let local = &s[..end];
    if local.is_empty() || local.split('.').any(str::is_empty) {
        return Err("malformed local part");
    }
    Ok((local, &s[end..]))
}

/// `Domain / address-literal`; returns it and the remaining text.
fn take_domain(s: &str) -> Result<(&str, &str), &'static str> {
    if s.starts_with('[') {
        let close = s.find(']').ok_or("unterminated address literal")?;
        let literal = &s[..=close];
        if !is_address_literal(literal) {
            return Err("malformed address literal");
        }
        return Ok((literal, &s[close + 1..]));
    }
    let end = s.find(['>', ' ']).unwrap_or(s.len());
    let domain = &s[..end];
    if !is_domain(domain) {
        return Err("malformed domain");
    }
    Ok((domain, &s[end..]))
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`
/// (RFC 5321 §4.1.2), with U-labels allowed (RFC 6531 §3.3).
pub(crate) fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            let let_dig = |c: char| c.is_ascii_alphanumeric() || !c.is_ascii();
            !label.is_empty()
                && label.chars().all(|c| let_dig(c) || c == '-')
                && label.chars().next().is_some_and(let_dig)
                && label.chars().next_back().is_some_and(let_dig)
        })
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 §4.1.3).
pub(crate) fn is_address_literal(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    if inner.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    if let Some(v6) = inner.get(..5).filter(|p| p.eq_ignore_ascii_case("IPv6:")) {
        return inner[v6.len()..].parse::<Ipv6Addr>().is_ok();
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent
    match inner.split_once(':') {
        Some((tag, content)) => {
            is_domain(tag)
                && !tag.ends_with('-')
                && !content.is_empty()
                && content
                    .bytes()
                    .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(s: &str) -> Result<(ReversePath, &str), &'static str> {
        parse_reverse_path(s)
    }

    #[test]
    fn plain_and_null_paths() {
        let (p, rest) = rev("<a.b@example.com> SIZE=5").unwrap();
        assert_eq!(p.address(), "a.b@example.com");
        assert_eq!(rest, " SIZE=5");
        assert_eq!(rev("<>").unwrap().0, ReversePath::Null);
    }

    #[test]
    fn quoted_local_parts_are_kept_as_written() {
        let (p, _) = rev(r#"<"john \"q\" doe"@example.com>"#).unwrap();
        assert_eq!(p.address(), r#""john \"q\" doe"@example.com"#);
        assert!(rev("<\"unterminated@example.com>").is_err());
    }

    #[test]
    fn source_routes_are_ignored() {
        let (p, _) = rev("<@relay.example,@b.example:joe@example.com>").unwrap();
        assert_eq!(p.address(), "joe@example.com");
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "a@b.c",
            "<a@b.c",
            "<a..b@c.d>",
            "<.a@c.d>",
            "<a@>",
            "<@c.d>",
            "<a@-c.d>",
            "<a@c..d>",
            "<a b@c.d>",
            "<a@[1.2.3]>",
            "<a@[IPv6:zz]>",
            "<a>",
        ] {
            assert!(rev(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn literals_and_utf8() {
        assert!(rev("<a@[192.0.2.1]>").is_ok());
        assert!(rev("<a@[IPv6:2001:db8::1]>").is_ok());
        let (p, _) = parse_forward_path("<Ünïcödé@bücher.example>").unwrap();
        assert!(p.is_utf8());
    }

    #[test]
    fn bare_postmaster() {
        let (p, rest) = parse_forward_path("<PostMaster> X").unwrap();
        assert_eq!(p, ForwardPath::Postmaster("PostMaster".into()));
        assert_eq!(rest, " X");
        let (p, _) = parse_forward_path("<postmaster@example.com>").unwrap();
        assert_eq!(p.address(), "postmaster@example.com");
        assert!(parse_reverse_path("<postmaster>").is_err());
    }
}
