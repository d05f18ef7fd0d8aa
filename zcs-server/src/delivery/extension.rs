//! Address extensions (`user+tag@domain`): Postfix's `recipient_delimiter`, which Zimbra
//! sets from `zimbraMtaRecipientDelimiter` (server, else global config). Mail to an
//! address with an extension that is not itself known goes to the address without it,
//! before any catch-all is tried, as Postfix's lookup order (`user+tag@domain`, then
//! `user@domain`, then `@domain`) does.

/// The delimiter characters of `zimbraMtaRecipientDelimiter`'s values: every character
/// of every value counts (Postfix 2.11 and later take the setting as a set of
/// characters). Whitespace is ignored; duplicates are kept once.
pub fn delimiters(values: &[String]) -> String {
    let mut out = String::new();
    for c in values.iter().flat_map(|v| v.chars()) {
        if !c.is_whitespace() && c != '@' && !out.contains(c) {
            out.push(c);
        }
    }
    out
}

/// `address` without its extension: the local part cut at the first delimiter
/// character, when one occurs after at least one other character. `None` when there is
/// no delimiter, no `@`, or nothing would be left of the local part.
pub fn strip_extension(address: &str, delimiters: &str) -> Option<String> {
    if delimiters.is_empty() {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    let cut = local.find(|c| delimiters.contains(c))?;
    if cut == 0 {
        return None;
    }
    Some(format!("{}@{domain}", &local[..cut]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_cut_at_the_first_delimiter() {
        assert_eq!(delimiters(&["+".into()]), "+");
        assert_eq!(delimiters(&["+-".into(), " + ".into()]), "+-");
        assert_eq!(
            strip_extension("bob+lists@x.test", "+").as_deref(),
            Some("bob@x.test")
        );
        assert_eq!(
            strip_extension("bob-a+b@x.test", "+-").as_deref(),
            Some("bob@x.test")
        );
        assert_eq!(strip_extension("bob@x.test", "+"), None);
        assert_eq!(strip_extension("+bob@x.test", "+"), None);
        assert_eq!(strip_extension("bob+x@x.test", ""), None);
        assert_eq!(strip_extension("bob+x", "+"), None);
    }

    proptest::proptest! {
        #[test]
        fn stripping_never_panics_and_keeps_the_domain(
            a in "\\PC{0,30}",
            d in "[-+_.]{0,3}",
        ) {
            if let Some(s) = strip_extension(&a, &d) {
                let domain = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
                let tail = format!("@{domain}");
                proptest::prop_assert!(s.ends_with(&tail));
                proptest::prop_assert!(s.len() < a.len());
            }
        }
    }
}
