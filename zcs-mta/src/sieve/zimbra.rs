//! Zimbra's Sieve dialect on top of standard Sieve: the `tag "name"` and
//! `flag "read|flagged|priority"` actions (Zimbra's filter rules use them) are rewritten
//! into `addflag` before sieve-rs compiles the script, an inactive rule's
//! `disabled_if TEST { .. }` into `if allof (false, TEST) { .. }`, and
//! `zimbraPrefOutOfOfficeReply` becomes a `vacation` script.
//!
//! The rewrite is lexical: strings, comments and `text:` blocks are skipped, and only a
//! `tag` or `flag` in command position is touched.

use super::TAG_FLAG_PREFIX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// After `tag`: the next string is a tag name.
    Tag,
    /// After `flag`: the next string is a Zimbra flag name.
    Flag,
}

/// Rewrites Zimbra's `tag "X";` into `addflag "$zcs-tag:X";` and `flag "read";` /
/// `flag "flagged";` into `addflag "\\Seen";` / `addflag "\\Flagged";`, and drops
/// `"tag"` / `"flag"` from `require` lists. Other text is copied as is. Never panics.
pub fn rewrite_zimbra_commands(script: &str) -> String {
    let bytes = script.as_bytes();
    let mut out = String::with_capacity(script.len() + 32);
    let mut i = 0;
    // True when the next identifier starts a command.
    let mut command_start = true;
    let mut pending = Pending::None;
    let mut in_require = false;
    // After `disabled_if`: the next `{` closes the `allof (false, ` opened for it.
    let mut close_disabled = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                let end = script[i..].find('\n').map_or(script.len(), |p| i + p);
                out.push_str(&script[i..end]);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = script[i + 2..]
                    .find("*/")
                    .map_or(script.len(), |p| i + 2 + p + 2);
                out.push_str(&script[i..end]);
                i = end;
            }
            b'"' => {
                // A quoted string with backslash escapes (RFC 5228 §2.4.2).
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(bytes.len());
                let inner = script.get(i + 1..j.min(bytes.len())).unwrap_or("");
                let literal = script.get(i..end).unwrap_or("");
                match pending {
                    Pending::Tag => {
                        out.push('"');
                        out.push_str(TAG_FLAG_PREFIX);
                        out.push_str(&script[i + 1..end]);
                    }
                    Pending::Flag => out.push_str(match inner.to_ascii_lowercase().as_str() {
                        "read" => "\"\\\\Seen\"",
                        "flagged" => "\"\\\\Flagged\"",
                        "priority" => "\"$Priority\"",
                        _ => literal,
                    }),
                    Pending::None if in_require && matches!(inner, "tag" | "flag") => {
                        // Keep the list well formed: "tag" becomes a harmless capability.
                        out.push_str("\"imap4flags\"");
                    }
                    Pending::None => out.push_str(literal),
                }
                pending = Pending::None;
                command_start = false;
                i = end;
            }
            b';' | b'{' | b'}' => {
                if b == b'{' && close_disabled {
                    out.push_str(") ");
                    close_disabled = false;
                }
                out.push(b as char);
                command_start = true;
                pending = Pending::None;
                in_require = false;
                i += 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end = script[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(script.len(), |p| i + p);
                let word = &script[i..end];
                if word.eq_ignore_ascii_case("text") && bytes.get(end) == Some(&b':') {
                    // Multi-line string up to a line holding a single "." (§2.4.2).
                    let stop = script[end..]
                        .find("\n.\r\n")
                        .map(|p| end + p + 4)
                        .or_else(|| script[end..].find("\n.\n").map(|p| end + p + 3))
                        .unwrap_or(script.len());
                    out.push_str(&script[i..stop]);
                    i = stop;
                    continue;
                }
                if command_start && word.eq_ignore_ascii_case("disabled_if") {
                    // Zimbra's inactive rule: kept in the script, never true.
                    out.push_str("if allof (false, ");
                    close_disabled = true;
                } else if command_start && word.eq_ignore_ascii_case("tag") {
                    out.push_str("addflag");
                    pending = Pending::Tag;
                } else if command_start && word.eq_ignore_ascii_case("flag") {
                    out.push_str("addflag");
                    pending = Pending::Flag;
                } else {
                    if command_start && word.eq_ignore_ascii_case("require") {
                        in_require = true;
                    }
                    out.push_str(word);
                }
                command_start = false;
                i = end;
            }
            _ => {
                // Copy one whole character (UTF-8 safe).
                let len = script[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&script[i..i + len]);
                i += len;
            }
        }
    }
    out
}

/// Quotes `text` as a Sieve string (RFC 5228 §2.4.2): backslash and quote escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The script for an out-of-office reply (`zimbraPrefOutOfOfficeReply`), answering each
/// sender at most once per `days` (`zimbraPrefOutOfOfficeCacheDuration`, at least 1),
/// with `subject` when given.
pub fn out_of_office_script(reply: &str, days: u32, subject: Option<&str>) -> String {
    let subject = subject
        .map(|s| format!(":subject {} ", quote(s)))
        .unwrap_or_default();
    format!(
        "require \"vacation\";\r\nvacation :days {} {subject}{};\r\n",
        days.max(1),
        quote(reply)
    )
}
