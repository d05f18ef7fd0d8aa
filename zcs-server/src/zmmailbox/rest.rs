//! `zmmailbox`'s REST commands (spec/06 §3.1; topic `misc`): `getRestURL gru
//! {relative-path}` GETs `/home/<mailbox>/<relative-path>` and writes the bytes to
//! standard output (or `-o file`); `postRestURL pru {relative-path} {file}` POSTs a
//! file there (a `tgz` with `?fmt=tgz&resolve=skip` imports an export). Both go over
//! the same login as the SOAP session: a session of the mailbox's own account sends
//! its token; an admin session acting for another mailbox first gets a token for it
//! (`DelegateAuthRequest`, as Zimbra's tool does when it opens a mailbox) and ends that
//! token's session afterwards; any other account sends its own token, and reaches
//! what the mailbox's owner shared with it.
//!
//! The request goes to the running server's HTTP listener as `log/zcs.listeners`
//! reports it (loopback when it binds every address), one HTTP/1.1 request per
//! connection (RFC 9112), the token as the `ZM_AUTH_TOKEN` cookie.
//!
//! LIMITATION: only the plain HTTP listener is used (the token stays on this host);
//! a server with HTTPS alone is not reached. `-u` is accepted and ignored.

use std::io::Write;
use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ACCOUNT, Cx, Outcome};
use crate::search::remote::{Remote, text};

/// Most bytes of a REST answer kept in memory.
const MAX_REPLY: u64 = 2 * 1024 * 1024 * 1024;

/// Runs `gru` or `pru`; `None` for other commands.
pub(super) async fn run(cx: &Cx<'_>) -> Option<Result<Outcome, String>> {
    Some(match cx.cmd.name {
        "getRestURL" => get(cx).await,
        "postRestURL" => post(cx).await,
        _ => return None,
    })
}

/// A relative REST path as the URL path under `/home/<mailbox>`: a `/` before it when
/// it has none, path bytes outside RFC 3986 §3.3 `pchar` percent-encoded, the query
/// (already encoded, as Zimbra's tool expects it) kept but for blanks and controls.
fn url_path(mailbox: &str, relative: &str) -> String {
    fn enc(s: &str, keep: &[u8]) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || keep.contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    const PATH: &[u8] = b"-._~!$&'()*+,;=:@/";
    const QUERY: &[u8] = b"-._~!$&'()*+,;=:@/?%";
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (relative, None),
    };
    let sep = if path.starts_with('/') { "" } else { "/" };
    let mut out = format!("/home/{}{sep}{}", enc(mailbox, PATH), enc(path, PATH));
    if let Some(q) = query {
        out.push('?');
        out.push_str(&enc(q, QUERY));
    }
    out
}

/// `path` with `name=value` added to its query.
fn with_param(path: &str, name: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let v: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{path}{sep}{name}={v}")
}

async fn get(cx: &Cx<'_>) -> Result<Outcome, String> {
    let mut path = url_path(cx.mailbox, cx.arg(0)?);
    if let Some(s) = cx.opt("startTime") {
        path = with_param(&path, "start", s);
    }
    if let Some(e) = cx.opt("endTime") {
        path = with_param(&path, "end", e);
    }
    let (status, body) = as_mailbox(cx, "GET", &path, None).await?;
    if status != 200 {
        return Err(failed("GET", status, &body));
    }
    match cx.opt("output") {
        Some(file) => std::fs::write(file, &body).map_err(|e| format!("{file}: {e}"))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&body)
                .and_then(|()| out.flush())
                .map_err(|e| format!("standard output: {e}"))?;
        }
    }
    Ok(Outcome::Print(String::new()))
}

async fn post(cx: &Cx<'_>) -> Result<Outcome, String> {
    let mut path = url_path(cx.mailbox, cx.arg(0)?);
    let file = cx.arg(1)?;
    let data = std::fs::read(file)
        .map_err(|e| format!("zclient.CLIENT_ERROR: file not found: {file} ({e})"))?;
    if cx.p.flag(&["-i", "--ignore"]) {
        path = with_param(&path, "ignore", "1");
    }
    if cx.p.flag(&["--preserveAlarms"]) {
        path = with_param(&path, "preserveAlarms", "1");
    }
    let ctype = cx.opt("contentType").unwrap_or("application/octet-stream");
    let (status, body) = as_mailbox(cx, "POST", &path, Some((ctype, &data))).await?;
    if status != 200 {
        return Err(failed("POST", status, &body));
    }
    Ok(Outcome::Print(String::new()))
}

/// The error of a refused REST request, with the first line the server answered.
fn failed(method: &str, status: u16, body: &[u8]) -> String {
    let why = String::from_utf8_lossy(body);
    let why = why.lines().next().unwrap_or("").trim();
    format!("service.FAILURE: {method} failed, status={status} {why}")
        .trim_end()
        .to_string()
}

/// Sends the request with a token of the open mailbox: the session's own when it is
/// that account's, else a delegated one whose session is ended afterwards.
async fn as_mailbox(
    cx: &Cx<'_>,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> Result<(u16, Vec<u8>), String> {
    let session = cx.session;
    let me = session
        .request(
            None,
            "GetInfoRequest",
            ACCOUNT,
            json!({ "sections": "mbox" }),
        )
        .await?;
    if text(&me["name"]).eq_ignore_ascii_case(cx.mailbox) {
        return send(session, session.token(), method, path, body).await;
    }
    let delegate = json!({ "account": { "by": "name", "_content": cx.mailbox },
        "duration": "600" });
    let r = match session
        .request(None, "DelegateAuthRequest", "urn:zimbraAdmin", delegate)
        .await
    {
        Ok(r) => r,
        // Not an admin: the account's own token, which reaches what the mailbox's
        // owner granted it (a shared folder), as Zimbra's REST servlet decides.
        Err(e) if e.starts_with("service.PERM_DENIED") => {
            return send(session, session.token(), method, path, body).await;
        }
        Err(e) => return Err(e),
    };
    let token = text(&r["authToken"]);
    if token.is_empty() {
        return Err("the server answered DelegateAuth without a token".into());
    }
    let delegated = session.with_token(token);
    let result = send(&delegated, delegated.token(), method, path, body).await;
    delegated.close(None).await;
    result
}

/// The server's plain HTTP listener (loopback when it listens on every address).
fn http_addr(session: &Remote) -> Result<SocketAddr, String> {
    let mut addr = crate::control::read_listeners(session.home())
        .into_iter()
        .find(|l| l.protocol == "http" && l.error.is_none())
        .map(|l| l.addr)
        .ok_or("the server reports no HTTP listener for REST")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(addr)
}

/// One HTTP/1.1 request (RFC 9112 §3), the connection closed after the reply; returns
/// the status and the body (dechunked).
async fn send(
    session: &Remote,
    token: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> Result<(u16, Vec<u8>), String> {
    let addr = http_addr(session)?;
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to the HTTP port {addr}: {e}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: zmmailbox\r\n\
         Cookie: ZM_AUTH_TOKEN={token}\r\nConnection: close\r\n"
    );
    if let Some((ctype, data)) = body {
        head.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            data.len()
        ));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes())
        .await
        .map_err(|e| format!("send the request: {e}"))?;
    if let Some((_, data)) = body {
        tcp.write_all(data)
            .await
            .map_err(|e| format!("send the request: {e}"))?;
    }
    tcp.flush()
        .await
        .map_err(|e| format!("send the request: {e}"))?;
    let mut raw = Vec::new();
    tcp.take(MAX_REPLY)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read the reply: {e}"))?;
    parse_reply(&raw)
}

/// The status and body of a whole HTTP/1.1 reply (RFC 9112 §4, §6, §7.1).
fn parse_reply(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the server closed the connection before replying")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let rest = &raw[end + 4..];
    let status: u16 = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("the server's reply has no status")?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return Ok((status, dechunk(rest)));
    }
    let body = match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n <= rest.len() => rest[..n].to_vec(),
        _ => rest.to_vec(),
    };
    Ok((status, body))
}

/// The body of a chunked reply (RFC 9112 §7.1); stops at the last chunk or at damage.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]);
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        let tail = &rest[eol + 2..];
        if n == 0 || tail.len() < n {
            break;
        }
        out.extend_from_slice(&tail[..n]);
        rest = tail[n..].strip_prefix(b"\r\n").unwrap_or(&tail[n..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn relative_paths_land_under_the_mailbox() {
        assert_eq!(
            url_path("alice@x.test", "?fmt=zip&meta=1"),
            "/home/alice@x.test/?fmt=zip&meta=1"
        );
        assert_eq!(
            url_path("alice@x.test", "/Big Deal/Sub?fmt=tgz"),
            "/home/alice@x.test/Big%20Deal/Sub?fmt=tgz"
        );
        assert_eq!(url_path("a@x", "Inbox"), "/home/a@x/Inbox");
        assert_eq!(url_path("a@x", "/x?q=a b"), "/home/a@x/x?q=a%20b");
        assert_eq!(
            with_param("/home/a/Calendar", "start", "2024/01/01"),
            "/home/a/Calendar?start=2024%2F01%2F01"
        );
        assert_eq!(with_param("/h?fmt=ics", "end", "p1d"), "/h?fmt=ics&end=p1d");
    }

    #[test]
    fn replies_are_read_whole_or_dechunked() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(parse_reply(r).unwrap(), (200, b"abc".to_vec()));
        let r = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n\
                  3\r\nno \r\n4\r\nsuch\r\n0\r\n\r\n";
        assert_eq!(parse_reply(r).unwrap(), (404, b"no such".to_vec()));
        assert!(parse_reply(b"HTTP/1.1 200").is_err());
        assert!(parse_reply(b"garbage\r\n\r\n").is_err());
        assert_eq!(
            failed("POST", 403, b"service.PERM_DENIED: no\nmore"),
            "service.FAILURE: POST failed, status=403 service.PERM_DENIED: no"
        );
    }

    proptest! {
        #[test]
        fn any_reply_bytes_parse_without_panic(
            raw in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = parse_reply(&raw);
            let _ = dechunk(&raw);
        }

        #[test]
        fn encoded_paths_hold_no_blanks_or_controls(rel in "\\PC{0,40}") {
            let p = url_path("a@x", &rel);
            prop_assert!(p.starts_with("/home/a@x/"));
            prop_assert!(p.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}
