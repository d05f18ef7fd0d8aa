//! The server-side fetch behind FolderAction `url`, `sync` and `import`: one HTTP/1.1
//! GET (RFC 9112) of a feed or calendar address the folder's owner chose, with a size
//! limit, an overall timeout and at most a few redirects. Only `http:` and `https:`
//! addresses are taken (never `file:` or others), and only addresses the feed
//! manager's lists permit (`crate::egress`), checked again at every redirect. An
//! `https:` address is fetched over TLS checked against the system's root certificates
//! and local config `zcs_feed_ca_file` ([`crate::egress::connect_tls`]).
//!
//! The client is this small hand-written one rather than hyper's: hyper's client needs
//! three more crates (its client feature, hyper-util, http-body-util) for one GET per
//! sync, and its pooled client would have to be given a connector that goes through
//! the egress check anyway. What it reads is bounded ([`MAX_BODY`], [`TIMEOUT`],
//! [`MAX_REDIRECTS`]) and the response parser is property-tested.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zcs_core::{FaultCode, ServiceError, ServiceResult};

/// The largest body a sync reads; a larger one fails the sync.
pub(crate) const MAX_BODY: usize = 10 * 1024 * 1024;
/// The whole fetch (connect, request, response) must end within this.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 3;
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
        let (status, headers, body) = fetch_once(&target)
            .await
            .map_err(|e| unreachable(&current, e))?;
        // RFC 9110 §15.4: a 3xx with a Location is followed, as a new fetch whose
        // address is checked again (crate::egress).
        if (300..400).contains(&status)
            && let Some(loc) = header(&headers, "location")
        {
            current = resolve(&target, loc);
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(unreachable(&current, format!("HTTP status {status}")));
        }
        return Ok(body);
    }
    Err(unreachable(url, "too many redirects"))
}

/// A redirect's `Location` (RFC 9110 §10.2.2) against the address that answered it:
/// absolute, scheme-relative (`//host/p`), absolute-path or path-relative.
pub(crate) fn resolve(base: &HttpUrl, loc: &str) -> String {
    let loc = loc.trim();
    let scheme = if base.tls { "https" } else { "http" };
    // RFC 3986 §3.1: absolute only when it starts with `scheme:`; a `://` later in a
    // path or query (`/r?to=http://x`) does not make it absolute.
    let has_scheme = loc.split_once(':').is_some_and(|(s, _)| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        return loc.to_string();
    }
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let origin = format!("{scheme}://{}:{}", bracket(&base.host), base.port);
    if loc.starts_with('/') {
        return format!("{origin}{loc}");
    }
    let path = base.path.split('?').next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let (rel, query) = match loc.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (loc, String::new()),
    };
    let merged = format!("{}{rel}", if dir.is_empty() { "/" } else { dir });
    format!("{origin}{}{query}", remove_dots(&merged))
}

/// An absolute path without its `.` and `..` segments (RFC 3986 §5.2.4); `..` never
/// climbs above the root.
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
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

/// One request on a fresh connection (`Connection: close`), over TLS for `https:`:
/// status, headers, body. Only to an address the feed manager's lists permit.
async fn fetch_once(u: &HttpUrl) -> Result<Response, String> {
    if u.tls {
        exchange(crate::egress::connect_tls(&u.host, u.port).await?, u).await
    } else {
        exchange(crate::egress::connect(&u.host, u.port).await?, u).await
    }
}

/// Writes the GET and reads the response to the connection's end.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut sock: S,
    u: &HttpUrl,
) -> Result<Response, String> {
    // RFC 9112 §3: request line; RFC 9110 §7.2: Host (with a port other than the
    // scheme's default).
    let default_port = if u.tls { 443 } else { 80 };
    let host = if u.port == default_port {
        bracket(&u.host)
    } else {
        format!("{}:{}", bracket(&u.host), u.port)
    };
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: zcs-feed\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        u.path
    );
    sock.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    sock.flush().await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(n) => n,
            // RFC 8446 §6.1: a server that closes without close_notify. The body is
            // still checked against its Content-Length or chunk sizes below.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e.to_string()),
        };
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
    fn redirects_resolve_against_the_answering_address() {
        let base = parse_url("https://h.test:8443/a/b/feed.xml?x=1").expect("valid");
        assert_eq!(resolve(&base, "http://o/x"), "http://o/x");
        assert_eq!(resolve(&base, "//o/x"), "https://o/x");
        // Attack review: a `://` inside the path or query is not a scheme.
        assert_eq!(
            resolve(&base, "/r?to=http://x/"),
            "https://h.test:8443/r?to=http://x/"
        );
        assert_eq!(
            resolve(&base, "r?to=http://x/"),
            "https://h.test:8443/a/b/r?to=http://x/"
        );
        assert_eq!(resolve(&base, "HTTPS://o/x"), "HTTPS://o/x");
        assert_eq!(resolve(&base, "/x"), "https://h.test:8443/x");
        assert_eq!(resolve(&base, "c.xml"), "https://h.test:8443/a/b/c.xml");
        assert_eq!(
            resolve(&base, "../c.xml?q=1"),
            "https://h.test:8443/a/c.xml?q=1"
        );
        assert_eq!(resolve(&base, "../../../../x"), "https://h.test:8443/x");
        assert_eq!(resolve(&base, "./"), "https://h.test:8443/a/b/");
        let v6 = parse_url("http://[::1]/f").expect("v6");
        assert_eq!(resolve(&v6, "/x"), "http://[::1]:80/x");
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
            if let Ok(base) = parse_url("http://h/a/b") {
                let _ = resolve(&base, &s);
            }
        }
    }
}
