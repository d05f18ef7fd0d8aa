//! Zimbra's Sieve dialect on top of standard Sieve: the `tag "name"` and
//! `flag "read|flagged|priority"` actions (Zimbra's filter rules use them) are rewritten
//! into `addflag` before sieve-rs compiles the script, an inactive rule's
//! `disabled_if TEST { .. }` into `if allof (false, TEST) { .. }`, each `notify`
//! into the form [`super::notify`] sends (Zimbra's older positional `notify` as well as
//! RFC 5435's), and `zimbraPrefOutOfOfficeReply` becomes a `vacation` script.
//!
//! The rewrite is lexical: strings, comments and `text:` blocks are skipped, and only a
//! `tag` or `flag` in command position is touched.

use super::TAG_FLAG_PREFIX;
use super::notify::{MAILTO_PREFIX, ZIMBRA_METHOD, hex};

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
                if command_start
                    && word.eq_ignore_ascii_case("notify")
                    && let Some((args, next)) = rewrite_notify(script, end)
                {
                    out.push_str(word);
                    out.push_str(&args);
                    command_start = false;
                    i = next;
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

/// One token of a `notify` command's arguments.
#[derive(Debug)]
enum Tok {
    /// `:name`.
    Tag,
    /// A quoted string: its span in the script (quotes included) and its value.
    Str(usize, usize, String),
    /// A `text:` string's value.
    Text(String),
    /// A number with its `K`/`M`/`G` multiplier applied (RFC 5228 §2.4.1).
    Num(u64),
    /// `[`, `]` or `,`.
    List(u8),
}

/// The value of the quoted string whose inner text is `inner` (RFC 5228 §2.4.2: a
/// backslash takes the next character literally).
fn unquote(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Tokens of the arguments from `start` to the closing `;` (not included), and the
/// position of that `;`; `None` when something else (a block, the end) comes first.
fn notify_tokens(script: &str, start: usize) -> Option<(Vec<Tok>, usize)> {
    let bytes = script.as_bytes();
    let mut toks = Vec::new();
    let mut i = start;
    loop {
        let b = *bytes.get(i)?;
        match b {
            b';' => return Some((toks, i)),
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = script[i..].find('\n').map_or(script.len(), |p| i + p),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = i + 2 + script[i + 2..].find("*/")? + 2;
            }
            b'"' => {
                let mut j = i + 1;
                while *bytes.get(j)? != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                toks.push(Tok::Str(i, j + 1, unquote(script.get(i + 1..j)?)));
                i = j + 1;
            }
            b':' => {
                let len = script[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(script.len() - i - 1);
                toks.push(Tok::Tag);
                i += 1 + len;
            }
            b'[' | b']' | b',' => {
                toks.push(Tok::List(b));
                i += 1;
            }
            b'0'..=b'9' => {
                let len = script[i..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(script.len() - i);
                let mut n: u64 = script[i..i + len].parse().ok()?;
                i += len;
                let shift = match bytes.get(i).map(u8::to_ascii_uppercase) {
                    Some(b'K') => 10,
                    Some(b'M') => 20,
                    Some(b'G') => 30,
                    _ => 0,
                };
                if shift > 0 {
                    n = n.checked_shl(shift)?;
                    i += 1;
                }
                toks.push(Tok::Num(n));
            }
            b't' | b'T' if script.get(i..i + 5)?.eq_ignore_ascii_case("text:") => {
                // RFC 5228 §2.4.2: up to a line holding a lone ".", dot-stuffed.
                let body_start = i + script[i..].find('\n')? + 1;
                let (stop, next) = match script[body_start..].find("\n.\r\n") {
                    Some(p) => (body_start + p + 1, body_start + p + 4),
                    None => {
                        let p = script[body_start..].find("\n.\n")?;
                        (body_start + p + 1, body_start + p + 3)
                    }
                };
                let text = script[body_start..stop]
                    .split('\n')
                    .map(|l| {
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(l)
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                toks.push(Tok::Text(text));
                i = next;
            }
            _ => return None,
        }
    }
}

/// The rewritten arguments of the `notify` command whose arguments start at `start`,
/// and where the main loop goes on (its `;`); `None` leaves the command as written.
///
/// - RFC 5435 form (tags, or one string): [`MAILTO_PREFIX`] goes in front of the method
///   when it is a `mailto:` URI or built from variables; other methods are left for
///   the run to refuse.
/// - Zimbra's form (no tags, two strings or more): `:options` with the address,
///   subject and body in hex, the body size (or -1) and the header names in hex, and
///   the method [`ZIMBRA_METHOD`].
fn rewrite_notify(script: &str, start: usize) -> Option<(String, usize)> {
    let (toks, semi) = notify_tokens(script, start)?;
    let mut depth = 0usize;
    let mut top_strings = Vec::new();
    let mut listed = Vec::new();
    let mut number = None;
    let mut tagged = false;
    for t in &toks {
        match t {
            Tok::Tag => tagged = true,
            Tok::List(b'[') => depth += 1,
            Tok::List(b']') => depth = depth.saturating_sub(1),
            Tok::List(_) => {}
            Tok::Num(n) => number = Some(*n),
            Tok::Str(_, _, v) | Tok::Text(v) if depth > 0 => listed.push(v.clone()),
            Tok::Str(..) | Tok::Text(_) => top_strings.push(t),
        }
    }
    if tagged || top_strings.len() < 2 {
        let Some(Tok::Str(s, e, value)) = toks
            .iter()
            .rev()
            .find(|t| matches!(t, Tok::Str(..) | Tok::Text(_)))
        else {
            return None;
        };
        let lower = value.to_ascii_lowercase();
        if !(lower.starts_with("mailto:") || value.contains("${")) {
            return None;
        }
        let mut args = String::from(&script[start..*s]);
        args.push('"');
        args.push_str(MAILTO_PREFIX);
        args.push_str(&script[s + 1..*e]);
        args.push_str(&script[*e..semi]);
        return Some((args, semi));
    }
    let value = |t: &Tok| match t {
        Tok::Str(_, _, v) | Tok::Text(v) => v.clone(),
        _ => String::new(),
    };
    let mut options: Vec<String> = top_strings.iter().take(3).map(|t| hex(&value(t))).collect();
    options.resize(3, String::new());
    options.push(number.map_or("-1".to_string(), |n| n.to_string()));
    // The headers: a list, or a fourth string.
    options.extend(top_strings.iter().skip(3).map(|t| hex(&value(t))));
    options.extend(listed.iter().map(|h| hex(h)));
    let list = options
        .iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Some((format!(" :options [{list}] \"{ZIMBRA_METHOD}\""), semi))
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
