//! A client for SpamAssassin's spamd: the SPAMC/1.5 `SYMBOLS` request over TCP and the
//! parser of spamd's answer (the `Spam:` header and the rule names in the body).
//!
//! Only the wire protocol lives here; tag and kill levels are applied in `scan`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ScanError;

/// Longest answer read from spamd (the symbol list is short).
const MAX_REPLY: usize = 64 * 1024;

/// Where spamd listens and how long to wait for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpamdClient {
    /// `host:port` spamd listens on (`127.0.0.1:783`, or 7830 in CI).
    pub addr: String,
    /// Bound on the whole exchange.
    pub timeout: Duration,
    /// The `User:` header sent, if any (spamd's per-user settings).
    pub user: Option<String>,
}

/// What spamd said about a message.
#[derive(Clone, Debug, PartialEq)]
pub struct SpamResult {
    /// spamd's own verdict (score over its `required_score`).
    pub is_spam: bool,
    /// The score.
    pub score: f64,
    /// spamd's `required_score`.
    pub threshold: f64,
    /// Names of the rules that hit.
    pub symbols: Vec<String>,
}

impl SpamdClient {
    /// A client for spamd at `addr` with a 60-second timeout and no user.
    pub fn new(addr: impl Into<String>) -> Self {
        SpamdClient {
            addr: addr.into(),
            timeout: Duration::from_secs(60),
            user: None,
        }
    }

    /// Sends `message` with `SYMBOLS SPAMC/1.5` and returns spamd's result. One
    /// connection per call; spamd closes it after answering.
    ///
    /// # Errors
    ///
    /// `ScanError::Unreachable` when spamd cannot be reached or times out,
    /// `ScanError::Protocol` when its answer is not a successful SPAMD reply.
    pub async fn check(&self, message: &[u8]) -> Result<SpamResult, ScanError> {
        let mut request = format!("SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\n", message.len());
        if let Some(user) = &self.user {
            let user: String = user.chars().filter(|c| !c.is_control()).collect();
            request.push_str(&format!("User: {user}\r\n"));
        }
        request.push_str("\r\n");
        let exchange = async {
            let mut stream = TcpStream::connect(&self.addr).await?;
            stream.write_all(request.as_bytes()).await?;
            stream.write_all(message).await?;
            stream.flush().await?;
            // Tell spamd the request is complete (it reads Content-length octets anyway).
            let _ = stream.shutdown().await;
            let mut reply = Vec::new();
            (&mut stream)
                .take(MAX_REPLY as u64)
                .read_to_end(&mut reply)
                .await?;
            Ok::<_, std::io::Error>(reply)
        };
        let reply = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(ScanError::Unreachable(e.to_string())),
            Err(_) => return Err(ScanError::Unreachable("spamd timed out".into())),
        };
        parse_reply(&reply)
    }
}

/// Parses a spamd answer:
///
/// ```text
/// SPAMD/1.1 0 EX_OK\r\n
/// Content-length: 20\r\n
/// Spam: True ; 1000.0 / 5.0\r\n
/// \r\n
/// GTUBE,MISSING_DATE
/// ```
pub fn parse_reply(reply: &[u8]) -> Result<SpamResult, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let bad = |why: &str| ScanError::Protocol(format!("spamd: {why}"));
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().ok_or_else(|| bad("empty answer"))?;
    let mut words = status.split_whitespace();
    let proto = words.next().unwrap_or("");
    let code = words.next().unwrap_or("");
    if !proto.starts_with("SPAMD/") || code != "0" {
        return Err(bad(&status.chars().take(100).collect::<String>()));
    }
    let spam_header = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("Spam"))
        .map(|(_, value)| value.trim())
        .ok_or_else(|| bad("no Spam header"))?;
    // "True ; 15.2 / 5.0"
    let (flag, scores) = spam_header
        .split_once(';')
        .ok_or_else(|| bad("malformed Spam header"))?;
    let (score, threshold) = scores
        .split_once('/')
        .ok_or_else(|| bad("malformed Spam header"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| bad("malformed score"))
    };
    let is_spam = match flag.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => true,
        "false" | "no" => false,
        _ => return Err(bad("malformed Spam flag")),
    };
    let symbols = body
        .split([',', '\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(SpamResult {
        is_spam,
        score: number(score)?,
        threshold: number(threshold)?,
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn replies() {
        let r = parse_reply(
            b"SPAMD/1.1 0 EX_OK\r\nContent-length: 19\r\nSpam: True ; 1000.3 / 5.0\r\n\r\n\
              GTUBE,MISSING_DATE\r\n",
        )
        .unwrap();
        assert!(r.is_spam);
        assert_eq!(r.score, 1000.3);
        assert_eq!(r.threshold, 5.0);
        assert_eq!(r.symbols, vec!["GTUBE", "MISSING_DATE"]);
        let ham = parse_reply(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n").unwrap();
        assert!(!ham.is_spam && ham.symbols.is_empty());
        assert!(parse_reply(b"SPAMD/1.0 76 Bad header line\r\n").is_err());
        assert!(parse_reply(b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; NaN / 5\r\n\r\n").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(reply in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_reply(&reply);
        }

        #[test]
        fn parse_never_panics_on_spamdish(
            s in concat!(
                "(SPAMD/1.1 0 EX_OK\r\n)?",
                "(Spam: [TrueFals]{0,5} ?;? ?[0-9.-]{0,6} ?/? ?[0-9.]{0,4}\r\n)?",
                "(\r\n)?[A-Z_,]{0,20}"
            )
        ) {
            let _ = parse_reply(s.as_bytes());
        }
    }
}
