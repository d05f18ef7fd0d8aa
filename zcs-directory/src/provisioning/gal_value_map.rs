//! `zimbraGalLdapValueMap`: rewriting the values a GAL contact field gets, as Zimbra's
//! value maps do (for example `zimbraCalResType: Room Location` makes an Active
//! Directory room a Zimbra location).
//!
//! A value map line is `<contact field>: <regex> <replacement>`: the field name and a
//! colon, one space, a regular expression without spaces, one space, and the rest of the
//! line as the replacement. A value of that field that the expression matches *in full*
//! is replaced by every match of the expression in it replaced with the replacement
//! (`$1`, `${name}` for groups; `\$` a literal dollar, `\x` a literal `x`); other values
//! are kept. When several lines name one field the last one counts. Lines that do not
//! parse, or whose expression does not compile, are skipped with a warning.
//!
//! The expression syntax is the `regex` crate's, which covers what value maps use in
//! practice (classes, alternation, groups, quantifiers); LIMITATION: Java-only syntax
//! (backreferences, lookaround, possessive quantifiers) does not compile and the line is
//! skipped.

use regex::Regex;

/// One value map line, parsed.
#[derive(Clone, Debug)]
pub struct ValueMap {
    /// The contact field whose values it rewrites.
    pub field: String,
    /// The expression, anchored at both ends (the "matches in full" test).
    whole: Regex,
    /// The expression as written (the replacing).
    each: Regex,
    /// The replacement in the `regex` crate's syntax.
    replacement: String,
}

impl ValueMap {
    /// Parses one `zimbraGalLdapValueMap` line; `None` when it is not of the form
    /// `field: regex replacement` or the expression does not compile.
    pub fn parse(line: &str) -> Option<ValueMap> {
        let (field, rest) = line.split_once(": ")?;
        if field.is_empty() || field.chars().any(char::is_whitespace) {
            return None;
        }
        let (expr, replacement) = rest.split_once(' ')?;
        if expr.is_empty() {
            return None;
        }
        let each = Regex::new(expr).ok()?;
        let whole = Regex::new(&format!("^(?:{expr})$")).ok()?;
        let replacement = java_replacement(replacement, each.captures_len());
        Some(ValueMap {
            field: field.to_string(),
            whole,
            each,
            replacement,
        })
    }

    /// `value` rewritten: replaced when the expression matches all of it, else as is.
    pub fn apply(&self, value: &str) -> String {
        if self.whole.is_match(value) {
            self.each
                .replace_all(value, self.replacement.as_str())
                .into_owned()
        } else {
            value.to_string()
        }
    }
}

/// The value maps of `lines`, the last line per field (any case) kept; lines that do
/// not parse are logged and skipped.
pub fn parse_value_maps(lines: &[String]) -> Vec<ValueMap> {
    let mut out: Vec<ValueMap> = Vec::new();
    for line in lines {
        match ValueMap::parse(line) {
            Some(m) => {
                out.retain(|o| !o.field.eq_ignore_ascii_case(&m.field));
                out.push(m);
            }
            None => {
                tracing::warn!(line = %line, "zimbraGalLdapValueMap line not understood; skipped")
            }
        }
    }
    out
}

/// The value map for contact field `field` among `maps`, if any.
pub fn map_for<'a>(maps: &'a [ValueMap], field: &str) -> Option<&'a ValueMap> {
    maps.iter().find(|m| m.field.eq_ignore_ascii_case(field))
}

/// A Java `Matcher.replaceAll` replacement in the `regex` crate's syntax: `$n` (the
/// longest group number that exists, at least one digit) becomes `${n}`, `${name}` stays,
/// `\c` is a literal `c` (a literal `$` becomes `$$`).
fn java_replacement(java: &str, groups: usize) -> String {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::with_capacity(java.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] == '$' {
                    out.push_str("$$");
                } else {
                    out.push(chars[i + 1]);
                }
                i += 2;
            }
            '$' if i + 1 < chars.len() && chars[i + 1].is_ascii_digit() => {
                let mut n = chars[i + 1].to_digit(10).unwrap_or(0) as usize;
                let mut j = i + 2;
                while j < chars.len() {
                    let Some(d) = chars[j].to_digit(10) else {
                        break;
                    };
                    let next = n * 10 + d as usize;
                    if next >= groups {
                        break;
                    }
                    n = next;
                    j += 1;
                }
                out.push_str(&format!("${{{n}}}"));
                i = j;
            }
            '$' if chars.get(i + 1) == Some(&'{') => {
                let end = chars[i..].iter().position(|c| *c == '}').map(|p| p + i);
                match end {
                    Some(end) => {
                        out.extend(&chars[i..=end]);
                        i = end + 1;
                    }
                    None => {
                        out.push_str("$$");
                        i += 1;
                    }
                }
            }
            '$' => {
                out.push_str("$$");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_defaults() {
        let m = ValueMap::parse("zimbraCalResType: Room Location").unwrap();
        assert_eq!(m.field, "zimbraCalResType");
        assert_eq!(m.apply("Room"), "Location");
        assert_eq!(m.apply("room"), "room", "case matters");
        assert_eq!(m.apply("Roomy"), "Roomy", "only a whole match is replaced");
        let m = ValueMap::parse("zimbraAccountCalendarUserType: Room|Equipment RESOURCE").unwrap();
        assert_eq!(m.apply("Equipment"), "RESOURCE");
        assert_eq!(m.apply("Room"), "RESOURCE");
        assert_eq!(m.apply("USER"), "USER");
        let m = ValueMap::parse("zimbraCalResType: [R|r]oom Location").unwrap();
        assert_eq!(m.apply("room"), "Location");
    }

    #[test]
    fn groups_and_escapes() {
        let m = ValueMap::parse(r"workPhone: \+1 (\d+) \(\+1\) $1").unwrap();
        assert_eq!(
            m.apply("+1 5551234"),
            "+1 5551234",
            "the regex has no space"
        );
        let m = ValueMap::parse(r"workPhone: \+1-(\d+)-(\d+) ($1) $2").unwrap();
        assert_eq!(m.apply("+1-555-1234"), "(555) 1234");
        let m = ValueMap::parse(r"company: (?<n>.+)Inc ${n}Ltd \$x").unwrap();
        assert_eq!(m.apply("AcmeInc"), "AcmeLtd $x");
        assert_eq!(java_replacement("$12", 2), "${1}2");
        assert_eq!(java_replacement("$12", 13), "${12}");
        assert_eq!(java_replacement("a$", 1), "a$$");
        assert_eq!(java_replacement(r"\\", 1), r"\");
    }

    #[test]
    fn bad_lines_are_skipped_and_the_last_line_wins() {
        assert!(ValueMap::parse("no colon here").is_none());
        assert!(ValueMap::parse("field: onlyregex").is_none());
        assert!(ValueMap::parse("field: ( x").is_none(), "does not compile");
        assert!(ValueMap::parse(": a b").is_none());
        let maps = parse_value_maps(&[
            "title: A B".to_string(),
            "garbage".to_string(),
            "TITLE: A C".to_string(),
        ]);
        assert_eq!(maps.len(), 1);
        assert_eq!(map_for(&maps, "title").unwrap().apply("A"), "C");
        assert!(map_for(&maps, "email").is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_line_and_value_are_safe(line in ".{0,40}", value in ".{0,40}") {
            if let Some(m) = ValueMap::parse(&line) {
                let _ = m.apply(&value);
            }
            let _ = java_replacement(&line, 3);
        }
    }
}
