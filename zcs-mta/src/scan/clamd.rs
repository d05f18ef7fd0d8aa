//! A client for ClamAV's clamd: the `INSTREAM` command over TCP (clamd(8), "INSTREAM"),
//! and the parser of its one-line answer.
//!
//! Only the wire protocol lives here; what a verdict means for the message is decided in
//! `scan`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ScanError;

/// Octets per `INSTREAM` chunk.
const CHUNK: usize = 64 * 1024;
/// Longest answer read from clamd.
const MAX_REPLY: usize = 4096;

/// Where clamd listens and how long to wait for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClamdClient {
    /// `host:port` of clamd's `TCPSocket` (loopback in tests, `127.0.0.1:3310`).
    pub addr: String,
    /// Bound on the whole exchange (connect, send, scan, answer).
    pub timeout: Duration,
}

/// What clamd said about a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdVerdict {
    /// `stream: OK`.
    Clean,
    /// `stream: <signature> FOUND`; carries the signature name.
    Infected(String),
}

impl ClamdClient {
    /// A client for clamd at `addr` with a 60-second timeout.
    pub fn new(addr: impl Into<String>) -> Self {
        ClamdClient {
            addr: addr.into(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Sends `data` with `zINSTREAM` (4-byte big-endian length chunks ended by a zero
    /// length) and returns the verdict. One connection per call; cost is one pass over
    /// `data` plus clamd's scan.
    ///
    /// # Errors
    ///
    /// `ScanError::Unreachable` when clamd cannot be reached or times out,
    /// `ScanError::Protocol` when it answers with an error (size limit, ...).
    pub async fn scan(&self, data: &[u8]) -> Result<ClamdVerdict, ScanError> {
        let exchange = async {
            let mut stream = TcpStream::connect(&self.addr).await?;
            stream.write_all(b"zINSTREAM\0").await?;
            for chunk in data.chunks(CHUNK) {
                let len = u32::try_from(chunk.len()).expect("chunks are 64 KiB");
                stream.write_all(&len.to_be_bytes()).await?;
                stream.write_all(chunk).await?;
            }
            stream.write_all(&0u32.to_be_bytes()).await?;
            stream.flush().await?;
            read_reply(&mut stream).await
        };
        let reply = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(ScanError::Unreachable(e.to_string())),
            Err(_) => return Err(ScanError::Unreachable("clamd timed out".into())),
        };
        parse_reply(&reply)
    }

    /// `zPING`: `Ok` when clamd answers `PONG`.
    pub async fn ping(&self) -> Result<(), ScanError> {
        let exchange = async {
            let mut stream = TcpStream::connect(&self.addr).await?;
            stream.write_all(b"zPING\0").await?;
            read_reply(&mut stream).await
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(r)) if r.strip_suffix(b"\0").unwrap_or(&r) == b"PONG" => Ok(()),
            Ok(Ok(r)) => Err(ScanError::Protocol(String::from_utf8_lossy(&r).into())),
            Ok(Err(e)) => Err(ScanError::Unreachable(e.to_string())),
            Err(_) => Err(ScanError::Unreachable("clamd timed out".into())),
        }
    }
}

/// Reads up to the NUL that ends a `z` answer (or end of stream), at most `MAX_REPLY`.
async fn read_reply(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    while !reply.ends_with(b"\0") && reply.len() < MAX_REPLY {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    Ok(reply)
}

/// Parses clamd's answer to `INSTREAM`: `stream: OK`, `stream: <name> FOUND`, or
/// `<text> ERROR`. A trailing NUL or newline is ignored.
pub fn parse_reply(reply: &[u8]) -> Result<ClamdVerdict, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = text.strip_prefix("stream:").map(str::trim).unwrap_or(text);
    if body == "OK" {
        return Ok(ClamdVerdict::Clean);
    }
    if let Some(name) = body.strip_suffix(" FOUND") {
        let name = name.trim();
        let name = if name.is_empty() { "unknown" } else { name };
        return Ok(ClamdVerdict::Infected(name.to_string()));
    }
    Err(ScanError::Protocol(text.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0"), Ok(ClamdVerdict::Clean));
        assert_eq!(
            parse_reply(b"stream: Test.EICAR.NDB.UNOFFICIAL FOUND\0"),
            Ok(ClamdVerdict::Infected("Test.EICAR.NDB.UNOFFICIAL".into()))
        );
        assert!(matches!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0"),
            Err(ScanError::Protocol(_))
        ));
        assert!(parse_reply(b"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(reply in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = parse_reply(&reply);
        }
    }
}
