//! The connection's byte streams: bounded command assembly (literals with `+`
//! continuations, RFC 3501 §7.5) on the read side, buffered writes with a timeout on the
//! write side, and the lingering close after a fatal protocol error.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWriteExt, BufWriter, ReadHalf, WriteHalf};

use crate::imap::ImapConfig;
use crate::imap::reader::{LineReader, ReadError, literal_at_end, peek_tag_and_name};
use crate::imap::response::Reply;
use crate::imap::stream::{BoxStream, placeholder};

/// What the framing layer produced.
pub(crate) enum Incoming {
    /// A complete command buffer for the parser.
    Command(Vec<u8>),
    /// The command was refused before it was complete (a literal over its cap); the
    /// reply goes to `tag`, or untagged when the tag was unreadable. With `close`, the
    /// client is already sending bytes that will not be read (a refused
    /// non-synchronising literal), so the connection ends after the reply.
    Refused {
        tag: Option<String>,
        reply: Reply,
        close: bool,
    },
}

/// Both halves of a connection.
pub(crate) struct Conn {
    reader: LineReader<ReadHalf<BoxStream>>,
    writer: BufWriter<WriteHalf<BoxStream>>,
    write_timeout: Duration,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")
}

impl Conn {
    pub(crate) fn new(stream: BoxStream, write_timeout: Duration) -> Conn {
        let (read, write) = tokio::io::split(stream);
        Conn {
            reader: LineReader::new(read),
            writer: BufWriter::with_capacity(64 * 1024, write),
            write_timeout,
        }
    }

    /// Flushes, then takes the stream out so a layer (TLS, compression) can be pushed
    /// onto it; also returns the input already read but not consumed. The connection
    /// is unusable until [`Conn::put_stream`].
    pub(crate) async fn take_stream(&mut self) -> io::Result<(BoxStream, BytesMut)> {
        self.flush().await?;
        let old = std::mem::replace(self, Conn::new(placeholder(), self.write_timeout));
        let (read, pending) = old.reader.into_parts();
        Ok((read.unsplit(old.writer.into_inner()), pending))
    }

    /// Resumes on a new (layered) stream.
    pub(crate) fn put_stream(&mut self, stream: BoxStream) {
        *self = Conn::new(stream, self.write_timeout);
    }

    /// Queues bytes; they reach the client when the buffer fills or on [`Conn::flush`].
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(self.write_timeout, self.writer.write_all(bytes))
            .await
            .map_err(|_| timed_out())?
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        tokio::time::timeout(self.write_timeout, self.writer.flush())
            .await
            .map_err(|_| timed_out())?
    }

    /// Reads one line (IDLE's `DONE`, AUTHENTICATE responses). Cancel-safe.
    pub(crate) async fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        self.reader.read_line(max).await
    }

    /// Reads one complete command: the first line and, for each literal announced at a
    /// line end, the literal bytes and the next line. Synchronising literals get a `+`
    /// continuation first. APPEND literals of an `authenticated` client may total
    /// `max_literal` bytes, all other literals `max_line` (so a client that has not
    /// logged in can never make the server buffer more than that). A larger literal is
    /// refused as soon as its size is announced, and none of its bytes are read: a
    /// synchronising one gets the refusal instead of `+` (the client never sends it), a
    /// non-synchronising one ends the connection after the refusal.
    pub(crate) async fn read_command(
        &mut self,
        cfg: &ImapConfig,
        authenticated: bool,
    ) -> Result<Incoming, ReadError> {
        let mut line = self.reader.read_line(cfg.max_line).await?;
        let (tag, name) = peek_tag_and_name(&line);
        let cap = if name == "APPEND" && authenticated {
            cfg.max_literal
        } else {
            cfg.max_line as u64
        };
        let mut buf = Vec::new();
        let mut line_total = 0usize;
        let mut literal_total = 0u64;
        loop {
            line_total += line.len();
            if line_total > cfg.max_line {
                return Err(ReadError::LineTooLong);
            }
            let Some(marker) = literal_at_end(&line) else {
                buf.extend_from_slice(&line);
                return Ok(Incoming::Command(buf));
            };
            if literal_total.saturating_add(marker.len) > cap {
                // RFC 7888 §4: a server refusing a non-synchronising literal must
                // either read and drop its bytes or close the connection. Reading
                // an announced size we already know is too big only wastes time and
                // bandwidth, so the connection is closed after the refusal.
                // RFC 7889 §4 / RFC 4469 §6: TOOBIG for an APPEND over the limit.
                let reply = if name == "APPEND" {
                    Reply::no("Message too big").with_code("TOOBIG")
                } else {
                    Reply::bad("Literal too big").with_code("TOOBIG")
                };
                return Ok(Incoming::Refused {
                    tag,
                    reply,
                    close: marker.non_sync,
                });
            }
            literal_total += marker.len;
            buf.extend_from_slice(&line);
            buf.extend_from_slice(b"\r\n");
            if !marker.non_sync {
                // RFC 3501 §7.5: the command continuation request.
                self.write(b"+ Ready for literal data\r\n").await?;
                self.flush().await?;
            }
            let len = usize::try_from(marker.len).map_err(|_| ReadError::LineTooLong)?;
            let data = self.reader.read_exact(len).await?;
            buf.extend_from_slice(&data);
            line = self.reader.read_line(cfg.max_line).await?;
        }
    }

    /// Ends the connection after a fatal error: flushes, shuts the write side, then
    /// reads and drops whatever the client is still sending for up to `linger`, so the
    /// final response is not lost to a TCP reset.
    pub(crate) async fn close_lingering(&mut self, linger: Duration) {
        let _ = self.flush().await;
        let _ = tokio::time::timeout(self.write_timeout, self.writer.shutdown()).await;
        let drain = async { while self.reader.discard(64 * 1024).await.is_ok() {} };
        let _ = tokio::time::timeout(linger, drain).await;
    }

    /// Flushes and shuts the write side (orderly close).
    pub(crate) async fn close(&mut self) {
        let _ = self.flush().await;
        let _ = tokio::time::timeout(self.write_timeout, self.writer.shutdown()).await;
    }
}
