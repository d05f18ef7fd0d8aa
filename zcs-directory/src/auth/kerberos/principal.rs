//! Kerberos principal names as text (`name/instance@REALM`, RFC 1964 §2.1.1 and MIT's
//! escaping with `\`), and the default password salt a principal implies (RFC 4120 §4).

use std::fmt;

/// A client principal: one or more name components and a realm.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The name components (`user`, or `user` and `admin` for `user/admin`).
    pub names: Vec<String>,
    /// The realm (case-sensitive, RFC 4120 §6.1).
    pub realm: String,
}

impl Principal {
    /// Parses `name[/instance...][@REALM]`. `\` escapes the next character (so `\@` and
    /// `\/` are literal); the first unescaped `@` starts the realm. Without a realm,
    /// `default_realm` is used. `None` for an empty component, an empty or missing
    /// realm, a second `@`, a trailing `\`, or a character that a KerberosString
    /// (IA5String, RFC 4120 §5.2.1) cannot carry: non-ASCII or control characters.
    pub fn parse(text: &str, default_realm: Option<&str>) -> Option<Principal> {
        let mut names = Vec::new();
        let mut current = String::new();
        let mut realm: Option<String> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let (c, escaped) = if c == '\\' {
                (chars.next()?, true)
            } else {
                (c, false)
            };
            if !c.is_ascii() || c.is_ascii_control() {
                return None;
            }
            match (c, escaped, realm.as_mut()) {
                ('@', false, Some(_)) => return None,
                ('@', false, None) => {
                    names.push(std::mem::take(&mut current));
                    realm = Some(String::new());
                }
                ('/', false, None) => names.push(std::mem::take(&mut current)),
                (c, _, Some(r)) => r.push(c),
                (c, _, None) => current.push(c),
            }
        }
        let realm = match realm {
            Some(r) => r,
            None => {
                names.push(current);
                default_realm?.to_string()
            }
        };
        if names.iter().any(String::is_empty)
            || realm.is_empty()
            || !realm.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
        {
            return None;
        }
        Some(Principal { names, realm })
    }

    /// The default salt for string-to-key: the realm followed by every name component,
    /// with no separators (RFC 4120 §4).
    pub fn default_salt(&self) -> String {
        let mut s = self.realm.clone();
        for n in &self.names {
            s.push_str(n);
        }
        s
    }
}

impl fmt::Display for Principal {
    /// The text form, escaping `/`, `@` and `\` in components so that it parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let esc = |s: &str| -> String {
            let mut o = String::with_capacity(s.len());
            for c in s.chars() {
                if matches!(c, '/' | '@' | '\\') {
                    o.push('\\');
                }
                o.push(c);
            }
            o
        };
        let names: Vec<String> = self.names.iter().map(|n| esc(n)).collect();
        write!(f, "{}@{}", names.join("/"), esc(&self.realm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(names: &[&str], realm: &str) -> Principal {
        Principal {
            names: names.iter().map(|s| s.to_string()).collect(),
            realm: realm.into(),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            Principal::parse("user1@MYREALM.COM", None),
            Some(p(&["user1"], "MYREALM.COM"))
        );
        assert_eq!(
            Principal::parse("joe/admin@EX.TEST", None),
            Some(p(&["joe", "admin"], "EX.TEST"))
        );
        assert_eq!(
            Principal::parse("joe", Some("DEF.TEST")),
            Some(p(&["joe"], "DEF.TEST"))
        );
        assert_eq!(Principal::parse(r"a\@b@R", None), Some(p(&["a@b"], "R")));
        assert_eq!(Principal::parse("joe", None), None);
        assert_eq!(Principal::parse("@R", None), None);
        assert_eq!(Principal::parse("joe@", None), None);
        assert_eq!(Principal::parse("a//b@R", None), None);
        assert_eq!(Principal::parse("a@R@S", None), None);
        assert_eq!(Principal::parse("a\\", Some("R")), None);
        assert_eq!(Principal::parse("jöe@R", None), None);
        assert_eq!(Principal::parse("jo\ne@R", None), None);
        assert_eq!(Principal::parse("", Some("R")), None);
    }

    #[test]
    fn salt_and_display() {
        let x = p(&["joe", "admin"], "EX.TEST");
        assert_eq!(x.default_salt(), "EX.TESTjoeadmin");
        assert_eq!(x.to_string(), "joe/admin@EX.TEST");
        assert_eq!(p(&["a@b/c"], "R").to_string(), r"a\@b\/c@R");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "(?s).{0,80}", d in proptest::option::of("[A-Z.]{0,8}")) {
            let _ = Principal::parse(&s, d.as_deref());
        }

        #[test]
        fn display_roundtrips(
            names in proptest::collection::vec("[ -~]{1,12}", 1..4),
            realm in "[A-Z][A-Z0-9.]{0,15}",
        ) {
            let x = Principal { names, realm };
            proptest::prop_assert_eq!(Principal::parse(&x.to_string(), None), Some(x));
        }
    }
}
