//! Commands that push a layer under the session: STARTTLS (RFC 3501 §6.2.1, RFC 9051
//! §6.2.1) and COMPRESS=DEFLATE (RFC 4978).

use super::{Fail, Handled, Session};
use crate::imap::compress::Deflate;
use crate::imap::response::Reply;
use crate::imap::stream::start_tls;

impl Session {
    /// STARTTLS: the tagged OK goes out in the clear, then the handshake runs on the
    /// same socket. Input the client pipelined after the command is dropped, never
    /// interpreted as if it had been encrypted (the STARTTLS command-injection attack).
    pub(super) async fn starttls(&mut self) -> Handled {
        let Some(acceptor) = self.cfg.starttls.clone() else {
            return Ok(Reply::bad("STARTTLS is not available"));
        };
        if self.tls_active {
            return Ok(Reply::bad("TLS is already active"));
        }
        // The caller writes the tagged OK, then calls `finish_starttls`.
        Err(Fail::StartTls(acceptor))
    }

    /// Finishes STARTTLS once the OK was sent: runs the handshake.
    pub(super) async fn finish_starttls(
        &mut self,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> Result<(), Fail> {
        let (stream, pending) = self.conn.take_stream().await?;
        if !pending.is_empty() {
            tracing::info!(proto = "imap", ip = %self.peer,
                "dropped input pipelined after STARTTLS");
        }
        match start_tls(&acceptor, stream).await {
            Ok(tls) => {
                self.conn.put_stream(tls);
                self.tls_active = true;
                tracing::debug!(proto = "imap", ip = %self.peer, "STARTTLS done");
                Ok(())
            }
            Err(e) => {
                tracing::debug!(proto = "imap", ip = %self.peer, error = %e,
                    "STARTTLS handshake failed");
                Err(Fail::Close)
            }
        }
    }

    /// COMPRESS DEFLATE (RFC 4978 §3): only once, and only DEFLATE.
    pub(super) async fn compress(&mut self, mechanism: &str) -> Handled {
        if self.compressed {
            return Ok(Reply::no("Compression is already active").with_code("COMPRESSIONACTIVE"));
        }
        if !mechanism.eq_ignore_ascii_case("DEFLATE") {
            return Ok(Reply::no(format!(
                "Unsupported compression mechanism {}",
                crate::imap::response::sanitize(mechanism)
            )));
        }
        Err(Fail::Compress)
    }

    /// Turns compression on once the OK was sent (RFC 4978 §3: both directions start
    /// right after the OK's CRLF). Input already read is compressed data.
    pub(super) async fn finish_compress(&mut self) -> Result<(), Fail> {
        let (stream, pending) = self.conn.take_stream().await?;
        self.conn
            .put_stream(Box::new(Deflate::new(stream, &pending)));
        self.compressed = true;
        Ok(())
    }
}
