//! COMPRESS=DEFLATE (RFC 4978): a stream layer that inflates what the client sends and
//! deflates what the server writes, raw DEFLATE (RFC 1951) without zlib framing, with a
//! sync flush at every flush so each response reaches the client whole (RFC 4978 §4).
//!
//! Memory is bounded by the socket chunk size on the read side and by what the session
//! writes between flushes on the write side (the session's own buffer bounds that).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Compressed bytes read from the socket per read.
const CHUNK: usize = 16 * 1024;

/// A stream whose both directions are DEFLATE-compressed.
pub(crate) struct Deflate<S> {
    inner: S,
    inflate: Decompress,
    /// Compressed input not yet inflated: `rbuf[rpos..]`.
    rbuf: Vec<u8>,
    rpos: usize,
    /// The peer's DEFLATE stream ended (or the socket did).
    eof: bool,
    deflate: Compress,
    /// Compressed output not yet written: `wbuf[wpos..]`.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Bytes were deflated since the last sync flush.
    dirty: bool,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<S: AsyncRead + AsyncWrite + Unpin> Deflate<S> {
    /// Wraps `inner`; `pending` is compressed input already read from it (a client that
    /// started compressing right after the tagged OK, before the session re-layered).
    pub(crate) fn new(inner: S, pending: &[u8]) -> Self {
        Deflate {
            inner,
            inflate: Decompress::new(false),
            rbuf: pending.to_vec(),
            rpos: 0,
            eof: false,
            deflate: Compress::new(Compression::default(), false),
            wbuf: Vec::new(),
            wpos: 0,
            dirty: false,
        }
    }

    /// Writes out `wbuf` until it is empty or the socket is not ready.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.wpos < self.wbuf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.wbuf[self.wpos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wpos += n;
        }
        self.wbuf.clear();
        self.wpos = 0;
        Poll::Ready(Ok(()))
    }

    /// Deflates `data` (or, with `FlushCompress::Sync` and no data, ends the block) into
    /// `wbuf`; returns how many input bytes were taken.
    fn deflate_into(&mut self, data: &[u8], flush: FlushCompress) -> io::Result<usize> {
        let before = self.deflate.total_in();
        loop {
            self.wbuf.reserve(data.len() / 2 + 256);
            let spare = self.wbuf.capacity() - self.wbuf.len();
            let taken = usize::try_from(self.deflate.total_in() - before).unwrap_or(usize::MAX);
            self.deflate
                .compress_vec(&data[taken..], &mut self.wbuf, flush)
                .map_err(invalid)?;
            let taken = usize::try_from(self.deflate.total_in() - before).unwrap_or(usize::MAX);
            let room_left = self.wbuf.capacity() - self.wbuf.len();
            // Done when all input is taken and the output did not fill the space given.
            if taken >= data.len() && room_left > 0 && spare > 0 {
                return Ok(taken);
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Deflate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.eof || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.rpos < this.rbuf.len() {
                let (in0, out0) = (this.inflate.total_in(), this.inflate.total_out());
                let status = this
                    .inflate
                    .decompress(
                        &this.rbuf[this.rpos..],
                        buf.initialize_unfilled(),
                        FlushDecompress::None,
                    )
                    .map_err(invalid)?;
                let used = usize::try_from(this.inflate.total_in() - in0).unwrap_or(0);
                let made = usize::try_from(this.inflate.total_out() - out0).unwrap_or(0);
                this.rpos += used;
                buf.advance(made);
                if status == Status::StreamEnd {
                    this.eof = true;
                }
                if made > 0 {
                    return Poll::Ready(Ok(()));
                }
                if used > 0 {
                    continue;
                }
            }
            // Need more compressed input.
            if this.rpos > 0 {
                this.rbuf.drain(..this.rpos);
                this.rpos = 0;
            }
            if this.rbuf.len() > 4 * CHUNK {
                return Poll::Ready(Err(invalid("compressed input does not inflate")));
            }
            let start = this.rbuf.len();
            this.rbuf.resize(start + CHUNK, 0);
            let mut rb = ReadBuf::new(&mut this.rbuf[start..]);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut rb);
            let got = rb.filled().len();
            this.rbuf.truncate(start + got);
            ready!(polled)?;
            if got == 0 {
                this.eof = true;
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Deflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Keep the backlog bounded: write out what is pending first once it is large.
        if this.wbuf.len() - this.wpos > CHUNK {
            ready!(this.poll_drain(cx))?;
        }
        let n = this.deflate_into(data, FlushCompress::None)?;
        this.dirty |= n > 0;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dirty {
            // RFC 4978 §4: a sync flush after each response, so nothing waits in the
            // compressor.
            this.deflate_into(&[], FlushCompress::Sync)?;
            this.dirty = false;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn deflate_raw(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.flush().unwrap();
        e.finish().unwrap()
    }

    #[tokio::test]
    async fn round_trips_both_ways() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut d = Deflate::new(a, &[]);
        let text: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        d.write_all(&text).await.unwrap();
        d.flush().await.unwrap();
        // Read what was sent and inflate it with a reference decoder.
        let mut wire = vec![0u8; 1 << 20];
        let n = b.read(&mut wire).await.unwrap();
        let mut got = Vec::new();
        let mut dec = flate2::read::DeflateDecoder::new(&wire[..n]);
        let _ = dec.read_to_end(&mut got);
        assert_eq!(got, text);
        // The other way, with part of the input handed over as pending.
        let packed = deflate_raw(b"a1 NOOP\r\na2 LOGOUT\r\n");
        let (head, tail) = packed.split_at(3);
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let mut d = Deflate::new(a, head);
        b.write_all(tail).await.unwrap();
        drop(b);
        let mut out = Vec::new();
        d.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"a1 NOOP\r\na2 LOGOUT\r\n");
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let mut d = Deflate::new(a, &[]);
        b.write_all(&[0xff; 64]).await.unwrap();
        drop(b);
        let mut out = Vec::new();
        assert!(d.read_to_end(&mut out).await.is_err());
    }
}
