//! The server-side fetch behind FolderAction `url`, `sync` and `import`: one HTTP/1.1
//! GET (RFC 9112) of a feed or calendar address the folder's owner chose, with a size
//! limit, an overall timeout and at most a few redirects. Only `http:` and `https:`
//! addresses are taken (never `file:` or others), and only addresses the feed
//! manager's lists permit (`crate::egress`), checked again at every redirect.
// LIMITATION: `https:` addresses are accepted and stored but fetching them fails: the
// server has no trusted root certificate set to check a remote server against yet.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zcs_core::{FaultCode, ServiceError, ServiceResult};

/// The largest body a sync reads; a larger one fails the sync.
pub(crate) const MAX_BODY: usize = 10 * 1024 * 1024;
/// The whole fetch (connect, request, response) must end within this.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 3;
/// Largest response head read.
const MAX_HEAD: usize = 64 * 1024;

/// A response: status, header fields (name, value) and body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// An `http:` address split for a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Whether the scheme was `https`.
    pub tls: bool,
}

/// Parses an `http(s)://host[:port][/path]` address; any other scheme, userinfo or a
/// missing host is `service.INVALID_REQUEST`.
pub(crate) fn parse_url(url: &str) -> ServiceResult<HttpUrl> {
    let bad = || ServiceError::invalid_request(format!("unsupported url: {url}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => return Err(bad()),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if authority.is_empty() || authority.contains('@') || path.contains([' ', '\r', '\n']) {
        return Err(bad());
    }
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() || host.contains([' ', '\r', '\n', '/']) {
        return Err(bad());
    }
    Ok(HttpUrl {
        host,
        port,
        path,
        tls,
    })
}

fn unreachable(url: &str, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        FaultCode::ResourceUnreachable,
        format!("resource unreachable: {url}: {why}"),
    )
}

/// GETs `url` and returns its body.
///
/// # Errors
/// `service.INVALID_REQUEST` for an address that is not http(s);
/// `service.RESOURCE_UNREACHABLE` when it cannot be fetched, answers other than 2xx,
/// is larger than [`MAX_BODY`] or takes longer than [`TIMEOUT`].
pub(crate) async fn get(url: &str) -> ServiceResult<Vec<u8>> {
    match tokio::time::timeout(TIMEOUT, get_following(url)).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(url, "timed out")),
    }
}

async fn get_following(url: &str) -> ServiceResult<Vec<u8>> {
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let target = parse_url(&current)?;
        if target.tls {
            return Err(unreachable(&current, "https feeds cannot be fetched yet"));
        }
        let (status, headers, body) = fetch_once(&target)
            .await
            .map_err(|e| unreachable(&current, e))?;
        if (300..400).contains(&status)
            && let Some(loc) = header(&headers, "location")
        {
            current = if loc.starts_with('/') {
                format!("http://{}:{}{loc}", bracket(&target.host), target.port)
            } else {
                loc.to_string()
            };
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(unreachable(&current, format!("HTTP status {status}")));
        }
        return Ok(body);
    }
    Err(unreachable(url, "too many redirects"))
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One request on a fresh connection (`Connection: close`): status, headers, body.
async fn fetch_once(u: &HttpUrl) -> Result<Response, String> {
    // Only to an address the feed manager's lists permit (crate::egress).
    let mut sock = crate::egress::connect(&u.host, u.port).await?;
    // RFC 9112 §3: request line; RFC 9110 §7.2: Host.
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: zcs-feed\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        u.path,
        bracket(&u.host)
    );
    sock.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = sock.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_BODY + MAX_HEAD {
            return Err(format!("larger than {MAX_BODY} bytes"));
        }
    }
    parse_response(&buf)
}

/// Splits a whole HTTP/1.1 response (read to the connection's end) into status,
/// headers and body, undoing chunked transfer coding (RFC 9112 §7.1).
pub(crate) fn parse_response(buf: &[u8]) -> Result<Response, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no response head")?;
    if end > MAX_HEAD {
        return Err("response head too large".into());
    }
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = header(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw)?
    } else if let Some(len) = header(&headers, "content-length").and_then(|v| v.parse().ok()) {
        let len: usize = len;
        raw.get(..len)
            .ok_or("body shorter than Content-Length")?
            .to_vec()
    } else {
        raw.to_vec()
    };
    if body.len() > MAX_BODY {
        return Err(format!("larger than {MAX_BODY} bytes"));
    }
    Ok((status, headers, body))
}

/// The body of a chunked message (RFC 9112 §7.1): size lines in hex, extensions and
/// trailers ignored.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let line = String::from_utf8_lossy(&raw[..eol]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size > MAX_BODY || raw.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8080/feed.xml?x=1#frag").expect("valid");
        assert_eq!(
            u,
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/feed.xml?x=1".into(),
                tls: false
            }
        );
        assert_eq!(parse_url("HTTPS://h").expect("valid").port, 443);
        assert_eq!(parse_url("http://[::1]:81/a").expect("v6").host, "::1");
        for bad in [
            "file:///etc/passwd",
            "ftp://h/x",
            "http://",
            "http://u:p@h/",
            "gopher://h",
            "http://h:99999/",
            "/just/a/path",
            "http://h/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses() {
        let (s, h, b) =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").expect("ok");
        assert_eq!((s, b.as_slice()), (200, &b"abc"[..]));
        assert_eq!(header(&h, "CONTENT-LENGTH"), Some("3"));
        let (_, _, b) = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!(b, b"abcde");
        assert!(parse_response(b"garbage").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(
            s in ".{0,200}",
            b in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = parse_url(&s);
            let _ = parse_response(&b);
        }
    }
}
