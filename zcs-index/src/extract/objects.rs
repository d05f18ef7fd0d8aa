//! Objects found in a message's text, which Zimbra indexes so `has:url` and `has:phone`
//! find the mail holding them (its `l.objects` field, filled by the object handlers
//! that have indexing enabled: URLs and phone numbers).
//!
//! URL: `http://`, `https://`, `ftp://`, `file://`, `news:`-less schemes Zimbra's URL
//! handler knows, or `www.` followed by a host character, starting a word.
//! Phone: North-American style numbers, `352-219-3437`, `352.219.3437`,
//! `(352) 219-3437`, `219-3437`, not inside a longer run of digits.
//!
//! Plain byte scans, no regular expressions; linear in the text.

/// Object kinds, as `has:` names them.
pub const URL: &str = "url";
/// See [`URL`].
pub const PHONE: &str = "phone";

/// The kinds of object `text` holds, each once, in the order [`URL`], [`PHONE`].
pub fn objects_in(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if has_url(text) {
        out.push(URL);
    }
    if has_phone(text) {
        out.push(PHONE);
    }
    out
}

fn word_start(b: &[u8], i: usize) -> bool {
    i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

fn has_url(text: &str) -> bool {
    let b = text.as_bytes();
    const SCHEMES: [&[u8]; 5] = [b"http://", b"https://", b"ftp://", b"file://", b"gopher://"];
    for i in 0..b.len() {
        // Every scheme and `www.` starts with one of these letters: skip the rest cheaply.
        if !matches!(b[i] | 0x20, b'h' | b'f' | b'g' | b'w') || !word_start(b, i) {
            continue;
        }
        let rest = &b[i..];
        // The prefix, then a host character.
        let starts = |p: &[u8]| {
            rest.len() > p.len()
                && rest[..p.len()].eq_ignore_ascii_case(p)
                && (rest[p.len()].is_ascii_alphanumeric() || rest[p.len()] == b'-')
        };
        if SCHEMES.iter().any(|s| starts(s)) || starts(b"www.") {
            return true;
        }
    }
    false
}

/// `n` digits at `b[i..]`; the index after them.
fn digits(b: &[u8], i: usize, n: usize) -> Option<usize> {
    (i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit)).then_some(i + n)
}

fn sep(b: &[u8], i: usize) -> Option<usize> {
    matches!(b.get(i), Some(b'-' | b'.')).then_some(i + 1)
}

/// A phone number starting at `i`: `[(ddd) |ddd-]ddd-dddd`; the index after it.
fn phone_at(b: &[u8], i: usize) -> Option<usize> {
    let local = |j: usize| -> Option<usize> { digits(b, sep(b, digits(b, j, 3)?)?, 4) };
    // (ddd) ddd-dddd
    if b.get(i) == Some(&b'(') {
        let j = digits(b, i + 1, 3)?;
        let mut j = if b.get(j) == Some(&b')') {
            j + 1
        } else {
            return None;
        };
        if b.get(j) == Some(&b' ') {
            j += 1;
        }
        return local(j);
    }
    // ddd-ddd-dddd, else ddd-dddd
    if let Some(end) = digits(b, i, 3).and_then(|j| sep(b, j)).and_then(&local) {
        return Some(end);
    }
    local(i)
}

fn has_phone(text: &str) -> bool {
    let b = text.as_bytes();
    for i in 0..b.len() {
        if (b[i] != b'(' && !b[i].is_ascii_digit()) || (i > 0 && b[i - 1].is_ascii_digit()) {
            continue;
        }
        if let Some(end) = phone_at(b, i)
            && !b.get(end).is_some_and(u8::is_ascii_digit)
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_at_word_starts() {
        assert_eq!(objects_in("Check this url \"www.yahoo.com\""), vec![URL]);
        assert_eq!(objects_in("see https://example.com/x"), vec![URL]);
        assert_eq!(objects_in("FTP://host"), vec![URL]);
        assert!(objects_in("awww.x and www. alone").is_empty());
        assert!(objects_in("http:// ").is_empty());
    }

    #[test]
    fn phone_numbers_are_found_alone() {
        assert_eq!(objects_in("My cell number is 352-219-3437."), vec![PHONE]);
        assert_eq!(objects_in("call (352) 219-3437"), vec![PHONE]);
        assert_eq!(objects_in("call 219.3437 now"), vec![PHONE]);
        assert!(objects_in("id 12352-219-34371 and 2005-05-27").is_empty());
        assert!(objects_in("60% complete, 12 3456").is_empty());
    }

    #[test]
    fn both_kinds_once_each() {
        let text = "www.zimbra.com 352-219-3437 http://a 555-1234";
        assert_eq!(objects_in(text), vec![URL, PHONE]);
    }
}
