//! Splits the command stream into lines with a hard length cap, without ever holding more
//! than the cap in memory: an over-long line is reported once and then thrown away as it
//! arrives, however long it turns out to be (RFC 5321 §4.5.3.1.4, §4.2.2 code 500).
//!
//! A pure state machine over a `BytesMut` the session fills from the socket; it does not
//! read, write or know what a command is.

use bytes::{Buf, BytesMut};

/// What the next step of line splitting produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineEvent {
    /// A complete line, including its `LF` (and `CR` before it, if sent).
    Line(BytesMut),
    /// A line passed the cap. Reported once per over-long line; the rest of it, up to and
    /// including its `LF`, is dropped as it arrives.
    TooLong,
    /// No complete line is buffered yet; read more.
    NeedMore,
}

/// Line splitter with a maximum line length (counting the terminating `CRLF`).
#[derive(Debug)]
pub(crate) struct LineReader {
    max: usize,
    discarding: bool,
}

impl LineReader {
    /// A reader refusing lines longer than `max` octets (at least 1).
    pub(crate) fn new(max: usize) -> Self {
        LineReader {
            max: max.max(1),
            discarding: false,
        }
    }

    /// Takes the next event out of `buf`, removing the bytes it consumed. After
    /// `NeedMore`, `buf` holds at most `max` octets.
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> LineEvent {
        if self.discarding {
            match memchr_lf(buf) {
                Some(pos) => {
                    buf.advance(pos + 1);
                    self.discarding = false;
                }
                None => {
                    buf.clear();
                    return LineEvent::NeedMore;
                }
            }
        }

        // Only the first max+1 bytes matter: a line longer than that is too long anyway.
        let window = &buf[..buf.len().min(self.max + 1)];
        match memchr_lf(window) {
            Some(pos) if pos < self.max => LineEvent::Line(buf.split_to(pos + 1)),
            Some(pos) => {
                buf.advance(pos + 1);
                LineEvent::TooLong
            }
            None if buf.len() > self.max => {
                match memchr_lf(&buf[self.max..]) {
                    Some(pos) => buf.advance(self.max + pos + 1),
                    None => {
                        buf.clear();
                        self.discarding = true;
                    }
                }
                LineEvent::TooLong
            }
            None => LineEvent::NeedMore,
        }
    }
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `input` in the given chunk sizes and records every event.
    fn run(max: usize, input: &[u8], chunks: &[usize]) -> Vec<Result<Vec<u8>, ()>> {
        let mut reader = LineReader::new(max);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        let mut offset = 0;
        let mut sizes = chunks.iter().cycle();
        while offset < input.len() {
            let n = (*sizes.next().unwrap()).clamp(1, input.len() - offset);
            buf.extend_from_slice(&input[offset..offset + n]);
            offset += n;
            loop {
                match reader.next(&mut buf) {
                    LineEvent::Line(l) => events.push(Ok(l.to_vec())),
                    LineEvent::TooLong => events.push(Err(())),
                    LineEvent::NeedMore => break,
                }
                assert!(buf.len() <= max + n);
            }
            assert!(buf.len() <= max);
        }
        events
    }

    #[test]
    fn splits_and_caps() {
        let ev = run(8, b"NOOP\r\nTOOLONGLINE\r\nQUIT\r\n", &[100]);
        assert_eq!(
            ev,
            vec![Ok(b"NOOP\r\n".to_vec()), Err(()), Ok(b"QUIT\r\n".to_vec())]
        );
        // The cap counts the CRLF: 8 octets fit, 9 do not.
        let ev = run(8, b"123456\r\n1234567\r\n", &[3]);
        assert_eq!(ev, vec![Ok(b"123456\r\n".to_vec()), Err(())]);
    }

    #[test]
    fn huge_line_is_reported_once_and_never_buffered() {
        let mut input = vec![b'x'; 1_000_000];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        let ev = run(512, &input, &[4096]);
        assert_eq!(ev, vec![Err(()), Ok(b"NOOP\r\n".to_vec())]);
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_events(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..400),
            max in 1usize..40,
            chunks in proptest::collection::vec(1usize..50, 1..10),
        ) {
            prop_assert_eq!(run(max, &input, &[input.len().max(1)]), run(max, &input, &chunks));
        }
    }
}
