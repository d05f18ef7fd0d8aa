//! The byte stream under an IMAP or POP3 session and the layers that can be pushed onto
//! it mid-session: TLS (IMAP STARTTLS, RFC 3501 §6.2.1; POP3 STLS, RFC 2595 §4) and,
//! for IMAP, DEFLATE compression (RFC 4978, see `compress`).
//!
//! This module only boxes streams and runs the TLS handshake; framing stays in the
//! protocols' readers and writers.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

/// Anything a session can run over: a TCP socket, a TLS stream, a compressed stream, an
/// in-memory pipe in tests.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

/// A boxed [`Stream`].
pub(crate) type BoxStream = Box<dyn Stream>;

/// A stream that reads nothing and swallows writes' buffer space only; it stands in
/// for the real stream while a layer is being pushed onto it.
pub(crate) fn placeholder() -> BoxStream {
    Box::new(tokio::io::duplex(1).0)
}

/// How long a client has to complete a STARTTLS/STLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the server side of a TLS handshake over `stream` (after the client was told to
/// begin). Fails when the handshake fails or takes longer than [`HANDSHAKE_TIMEOUT`];
/// the session must then end, since the stream is in an unknown state.
pub(crate) async fn start_tls(acceptor: &TlsAcceptor, stream: BoxStream) -> io::Result<BoxStream> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Ok(Box::new(tls)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}
