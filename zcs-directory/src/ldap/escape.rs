//! Escaping of values put into LDAP distinguished names (RFC 4514) and search filters
//! (RFC 4515), and parsing of the DNs a server returns back into (type, value) pairs.
//!
//! Every name, address or id the LDAP backend puts on the wire goes through here, so a
//! name such as `a*)(uid=*` can never change the meaning of a DN or filter. Not in charge
//! of which DN an entry gets (that is `dit`).

use std::fmt::Write as _;

/// Escapes `value` for use as an attribute value in a DN string (RFC 4514 §2.4).
///
/// Escapes `"` `+` `,` `;` `<` `>` `\` and `=` with a backslash, a leading `#` or space and
/// a trailing space, and writes NUL and other control characters as `\XX` hex pairs. Every
/// other character, including non-ASCII UTF-8, is kept as it is.
pub fn dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            // RFC 4514 §2.4: the characters that must (or, for '=', may) be escaped.
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes `value` for use as an assertion value in a search filter string
/// (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
pub fn filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// A DN that cannot be read back into (type, value) pairs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DN {dn:?}: {reason}")]
pub struct DnError {
    /// The DN as given.
    pub dn: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Splits a DN string (RFC 4514 §3) into its RDNs, most specific first, each as
/// (attribute type, unescaped value). A multi-valued RDN (`cn=a+sn=b`) keeps only its
/// first pair; the `#hex` BER form of a value is kept verbatim. The empty DN is no RDNs.
///
/// # Errors
/// A component without `=`, a dangling backslash, a bad hex escape, or escapes that do
/// not decode to UTF-8.
pub fn parse_dn(dn: &str) -> Result<Vec<(String, String)>, DnError> {
    let err = |reason| DnError {
        dn: dn.to_string(),
        reason,
    };
    let mut out = Vec::new();
    if dn.trim().is_empty() {
        return Ok(out);
    }
    let bytes = dn.as_bytes();
    let mut i = 0;
    loop {
        // attribute type, up to '='
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' {
            if matches!(bytes[i], b',' | b'+' | b'\\') {
                return Err(err("attribute type without '='"));
            }
            i += 1;
        }
        if i >= bytes.len() {
            return Err(err("attribute type without '='"));
        }
        let attr = dn[start..i].trim().to_string();
        if attr.is_empty() {
            return Err(err("empty attribute type"));
        }
        i += 1;

        // value, up to an unescaped ',' or '+'
        let mut value: Vec<u8> = Vec::new();
        let mut trailing_plain_spaces = 0usize;
        let mut leading = true;
        while i < bytes.len() && !matches!(bytes[i], b',' | b'+') {
            let b = bytes[i];
            if b == b'\\' {
                let next = *bytes.get(i + 1).ok_or_else(|| err("dangling backslash"))?;
                if next.is_ascii_hexdigit() {
                    let hi = hex(next).ok_or_else(|| err("bad hex escape"))?;
                    let lo = bytes
                        .get(i + 2)
                        .copied()
                        .and_then(hex)
                        .ok_or_else(|| err("bad hex escape"))?;
                    value.push(hi * 16 + lo);
                    i += 3;
                } else if b" \"#+,;<=>\\".contains(&next) {
                    // RFC 4514 §3: a backslash escapes only these, or starts a hex pair.
                    value.push(next);
                    i += 2;
                } else {
                    return Err(err("bad escape"));
                }
                trailing_plain_spaces = 0;
                leading = false;
            } else if b == b' ' && leading {
                i += 1; // spaces around the separator are not part of the value
            } else {
                trailing_plain_spaces = if b == b' ' {
                    trailing_plain_spaces + 1
                } else {
                    0
                };
                value.push(b);
                leading = false;
                i += 1;
            }
        }
        value.truncate(value.len() - trailing_plain_spaces);
        let value = String::from_utf8(value).map_err(|_| err("value is not UTF-8"))?;
        out.push((attr, value));

        // skip the rest of a multi-valued RDN
        while i < bytes.len() && bytes[i] == b'+' {
            i += 1;
            while i < bytes.len() && bytes[i] != b',' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
        }
        if i >= bytes.len() {
            break;
        }
        i += 1; // the ','
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Undoes [`filter_value`]: the reading a server applies (RFC 4515 §3).
    fn unescape_filter(s: &str) -> String {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                out.push(hex(b[i + 1]).unwrap() * 16 + hex(b[i + 2]).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dn_values_escape_specials() {
        assert_eq!(dn_value("a,b"), "a\\,b");
        assert_eq!(dn_value(" #x "), "\\ #x\\ ");
        assert_eq!(dn_value("#x"), "\\#x");
        assert_eq!(dn_value("x=y+z\\"), "x\\=y\\+z\\\\");
        assert_eq!(dn_value("nul\0"), "nul\\00");
        assert_eq!(dn_value("josé"), "josé");
        assert_eq!(dn_value(""), "");
    }

    #[test]
    fn filter_values_cannot_inject() {
        assert_eq!(filter_value("a*)(uid=*"), "a\\2a\\29\\28uid=\\2a");
        assert_eq!(filter_value("\\"), "\\5c");
        assert_eq!(filter_value("x\0"), "x\\00");
    }

    #[test]
    fn dns_parse() {
        let rdns = parse_dn("uid=Joe\\2C Jr,ou=people, dc=ex,dc=test").unwrap();
        assert_eq!(
            rdns,
            [
                ("uid".into(), "Joe, Jr".into()),
                ("ou".into(), "people".into()),
                ("dc".into(), "ex".into()),
                ("dc".into(), "test".into())
            ]
        );
        assert_eq!(parse_dn("").unwrap(), []);
        assert_eq!(parse_dn("cn=a+sn=b,o=x").unwrap().len(), 2);
        assert!(parse_dn("noequals").is_err());
        assert!(parse_dn("cn=a\\").is_err());
        assert!(parse_dn("cn=\\zz").is_err());
        assert!(parse_dn("cn=\\ff").is_err());
    }

    proptest! {
        #[test]
        fn dn_value_round_trips(v in "\\PC{0,24}|[ #,+;<>\\\\=\"a\0\t]{0,12}") {
            let dn = format!("uid={},ou=people,dc=x", dn_value(&v));
            let rdns = parse_dn(&dn).unwrap();
            prop_assert_eq!(rdns.len(), 3);
            prop_assert_eq!(&rdns[0].1, &v);
            prop_assert_eq!(&rdns[1].1, "people");
        }

        #[test]
        fn filter_value_round_trips_and_has_no_metacharacters(
            v in "\\PC{0,24}|[()*\\\\\0a]{0,12}"
        ) {
            let e = filter_value(&v);
            prop_assert!(!e.contains(['(', ')', '*', '\0']));
            prop_assert!(e.split('\\').skip(1).all(|p| p.len() >= 2));
            prop_assert_eq!(unescape_filter(&e), v);
        }

        #[test]
        fn parse_dn_never_panics(s in "\\PC{0,40}") {
            let _ = parse_dn(&s);
        }
    }
}
