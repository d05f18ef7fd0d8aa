//! The file of a `multipart/form-data` REST upload (RFC 7578), as Zimbra's own
//! `zmmailbox postRestURL` and browsers send it: the import takes the first part that
//! carries a file name (else the first part), so a form post imports the same bytes
//! as a raw body.

/// One uploaded file: its bytes and the part's own `Content-Type`, if any (which then
/// stands for the request's when the URL names no format).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FilePart<'a> {
    /// The file's bytes.
    pub body: &'a [u8],
    /// The part's `Content-Type` value.
    pub content_type: Option<String>,
}

/// The uploaded file when `content_type` is `multipart/form-data`; `Ok(None)` for any
/// other body (imported as it is).
///
/// # Errors
/// A message for a multipart body without a boundary or without a well-formed part.
pub(super) fn file_part<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
) -> Result<Option<FilePart<'a>>, &'static str> {
    let Some(ct) = content_type else {
        return Ok(None);
    };
    let mut params = ct.split(';');
    let kind = params.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Ok(None);
    }
    // RFC 2046 §5.1.1: the boundary parameter, quoted or not, 1 to 70 characters.
    let boundary = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or("multipart body without a boundary")?;
    let parts = split_parts(body, boundary.as_bytes());
    if parts.is_empty() {
        return Err("multipart body without a part");
    }
    let with_name = parts.iter().find(|(head, _)| {
        let h = String::from_utf8_lossy(head).to_ascii_lowercase();
        h.contains("filename=") || h.contains("filename*=")
    });
    let (head, body) = with_name.unwrap_or(&parts[0]);
    let content_type = String::from_utf8_lossy(head).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    });
    Ok(Some(FilePart { body, content_type }))
}

/// `(head, body)` of every part between `--boundary` delimiter lines (RFC 2046 §5.1.1:
/// a delimiter is CRLF `--boundary`; the one with a trailing `--` closes).
fn split_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut out = Vec::new();
    let Some(first) = find(body, &delim, 0) else {
        return out;
    };
    let mut pos = first + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            break;
        }
        // The rest of the delimiter line (transport padding) up to its CRLF.
        let Some(eol) = find(body, b"\r\n", pos) else {
            break;
        };
        let start = eol + 2;
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delim);
        let Some(end) = find(body, &next_delim, start) else {
            break;
        };
        let part = &body[start..end];
        let (head, content) = match find(part, b"\r\n\r\n", 0) {
            Some(i) => (&part[..i], &part[i + 4..]),
            None if part.starts_with(b"\r\n") => (&part[..0], &part[2..]),
            None => (part, &part[part.len()..]),
        };
        out.push((head, content));
        pos = end + next_delim.len();
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CT: &str = "multipart/form-data; boundary=\"XyZ\"";

    #[test]
    fn the_file_part_is_taken() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfield\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.eml\"\r\n\
            Content-Type: message/rfc822\r\n\r\nSubject: hi\r\n\r\nbody\r\n--XyZ--\r\n";
        let got = file_part(Some(CT), body)
            .expect("parsed")
            .expect("multipart");
        assert_eq!(got.body, b"Subject: hi\r\n\r\nbody");
        assert_eq!(got.content_type.as_deref(), Some("message/rfc822"));
        let one = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nonly\r\n--b--";
        let got = file_part(Some("multipart/form-data; boundary=b"), one).expect("ok");
        assert_eq!(got.map(|p| p.body), Some(&b"only"[..]));
    }

    #[test]
    fn other_bodies_pass_through_and_bad_ones_are_refused() {
        assert_eq!(file_part(None, b"raw").expect("ok"), None);
        assert_eq!(file_part(Some("message/rfc822"), b"raw").expect("ok"), None);
        assert!(file_part(Some("multipart/form-data"), b"x").is_err());
        assert!(file_part(Some(CT), b"no parts here").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..300),
                        boundary in "[a-zA-Z0-9]{0,8}") {
            let ct = format!("multipart/form-data; boundary={boundary}");
            let _ = file_part(Some(&ct), &b);
            let mut framed = format!("--{boundary}\r\n").into_bytes();
            framed.extend_from_slice(&b);
            let _ = file_part(Some(&ct), &framed);
        }
    }
}
