//! Message content readers: the `DATA` reader (end detection and dot-unstuffing, RFC 5321
//! §4.1.1.4 and §4.5.2) and the size-capped buffer that both `DATA` and `BDAT` chunks
//! (RFC 3030 §2) fill.
//!
//! Pure state machines over byte slices, fed whatever the socket delivered: any split of
//! the same input gives the same message. They keep no line buffer, so a long line costs
//! nothing beyond the message itself, and the message is capped by the size limit: past
//! it, bytes are counted and dropped.

/// The bytes of one message, capped at a maximum size.
#[derive(Debug)]
pub(crate) struct MessageBuffer {
    data: Vec<u8>,
    /// Octets kept in front of the content (our trace header); not counted against `max`.
    prefix_len: usize,
    /// Content octets seen so far, kept or not.
    size: u64,
    max: u64,
}

/// Memory reserved up front at most, whatever `SIZE=` the client announced.
const MAX_RESERVE: u64 = 1 << 20;

impl MessageBuffer {
    /// An empty buffer that starts with `prefix` and keeps up to `max` content octets;
    /// `size_hint` (the `SIZE=` parameter) only sizes the first allocation.
    pub(crate) fn new(prefix: Vec<u8>, max: u64, size_hint: Option<u64>) -> Self {
        let mut data = prefix;
        let reserve = size_hint.unwrap_or(0).min(max).min(MAX_RESERVE);
        data.reserve(usize::try_from(reserve).unwrap_or(0));
        MessageBuffer {
            prefix_len: data.len(),
            data,
            size: 0,
            max,
        }
    }

    /// Appends content; once the total passes `max`, frees what was kept and only counts.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.size > self.max {
            if self.data.capacity() > 0 {
                self.data = Vec::new();
            }
        } else {
            self.data.extend_from_slice(bytes);
        }
    }

    /// Whether the content has passed the limit.
    pub(crate) fn is_too_large(&self) -> bool {
        self.size > self.max
    }

    /// Content octets received so far (prefix excluded).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The finished message: prefix plus content, or `TooLarge`.
    pub(crate) fn finish(self) -> Content {
        if self.is_too_large() {
            Content::TooLarge { size: self.size }
        } else {
            Content::Complete {
                data: self.data,
                prefix_len: self.prefix_len,
            }
        }
    }
}

/// A finished message body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Content {
    /// The prefix followed by the content bytes.
    Complete { data: Vec<u8>, prefix_len: usize },
    /// The content passed the limit (`size` octets were received and dropped).
    TooLarge { size: u64 },
}

/// Where the `DATA` reader stands relative to the line structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DotState {
    /// At the first octet of a line.
    LineStart,
    /// Inside a line, last octet not CR.
    Middle,
    /// Inside a line, last octet CR.
    Cr,
    /// A line began with ".", not yet known to be stuffing or the terminator.
    Dot,
    /// A line began with ".\r".
    DotCr,
}

/// Reads `DATA` content up to the terminating `CRLF . CRLF`.
///
/// The content starts right after the `DATA` command's line, so at the start of a line.
/// A line starting with "." loses that dot (RFC 5321 §4.5.2); the line "." alone ends the
/// message and is not part of it; the `CRLF` before it is. Only `CRLF` ends a line here:
/// a bare LF is content.
#[derive(Debug)]
pub(crate) struct DotReader {
    state: DotState,
    buffer: MessageBuffer,
}

impl DotReader {
    /// A reader filling `buffer`.
    pub(crate) fn new(buffer: MessageBuffer) -> Self {
        DotReader {
            state: DotState::LineStart,
            buffer,
        }
    }

    /// Consumes from `input` up to the end of the message. Returns how many octets were
    /// consumed and whether the terminator was seen; after `true`, octets past the
    /// returned count belong to the next command, and `finish` gives the message.
    pub(crate) fn feed(&mut self, input: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                DotState::Middle => {
                    // Fast path: copy up to the next CR in one go.
                    let run = input[i..].iter().position(|&b| b == b'\r');
                    let end = run.map_or(input.len(), |p| i + p);
                    self.buffer.push(&input[i..end]);
                    i = end;
                    if run.is_some() {
                        self.buffer.push(b"\r");
                        self.state = DotState::Cr;
                        i += 1;
                    }
                }
                DotState::LineStart => {
                    if input[i] == b'.' {
                        self.state = DotState::Dot;
                        i += 1;
                    } else {
                        self.state = DotState::Middle;
                    }
                }
                DotState::Cr => {
                    let b = input[i];
                    self.buffer.push(&[b]);
                    self.state = match b {
                        b'\n' => DotState::LineStart,
                        b'\r' => DotState::Cr,
                        _ => DotState::Middle,
                    };
                    i += 1;
                }
                DotState::Dot => {
                    if input[i] == b'\r' {
                        self.state = DotState::DotCr;
                        i += 1;
                    } else {
                        // RFC 5321 §4.5.2: the leading dot was stuffing; drop it.
                        self.state = DotState::Middle;
                    }
                }
                DotState::DotCr => {
                    if input[i] == b'\n' {
                        return (i + 1, true);
                    }
                    // ".\r" followed by something else: the dot was stuffing, the CR is
                    // content.
                    self.buffer.push(b"\r");
                    self.state = DotState::Cr;
                }
            }
        }
        (i, false)
    }

    /// Content octets received so far.
    pub(crate) fn size(&self) -> u64 {
        self.buffer.size()
    }

    /// The message; call once `feed` returned `true`.
    pub(crate) fn finish(self) -> Content {
        self.buffer.finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `input` split at the given chunk sizes; returns consumed count and content.
    fn run(input: &[u8], max: u64, chunks: &[usize]) -> (usize, Option<Content>) {
        let mut reader = DotReader::new(MessageBuffer::new(b"P:".to_vec(), max, None));
        let mut offset = 0;
        let mut sizes = chunks.iter().cycle();
        while offset < input.len() {
            let n = (*sizes.next().unwrap()).clamp(1, input.len() - offset);
            let (used, done) = reader.feed(&input[offset..offset + n]);
            offset += used;
            if done {
                return (offset, Some(reader.finish()));
            }
            assert_eq!(used, n, "consumes everything until the end");
        }
        (offset, None)
    }

    fn complete(data: &[u8]) -> Option<Content> {
        let mut full = b"P:".to_vec();
        full.extend_from_slice(data);
        Some(Content::Complete {
            data: full,
            prefix_len: 2,
        })
    }

    #[test]
    fn unstuffs_and_finds_the_end() {
        let input = b"Subject: x\r\n\r\n..dot\r\n.\r\n...\r\n.x\r\n.\r\nNOOP\r\n";
        let (used, content) = run(input, 1000, &[1000]);
        assert_eq!(content, complete(b"Subject: x\r\n\r\n.dot\r\n"));
        assert_eq!(&input[used..], b"...\r\n.x\r\n.\r\nNOOP\r\n");
    }

    #[test]
    fn empty_message_and_odd_line_ends() {
        assert_eq!(run(b".\r\n", 10, &[1]).1, complete(b""));
        // A bare LF does not start a line; ".\r" plus other octets is content.
        let (_, content) = run(b"a\n.\r\n.\rb\r\n.\r\n", 100, &[2]);
        assert_eq!(content, complete(b"a\n.\r\n\rb\r\n"));
    }

    #[test]
    fn oversize_is_counted_not_kept() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\r\n.\r\n");
        let (_, content) = run(&input, 100, &[333]);
        assert_eq!(content, Some(Content::TooLarge { size: 5002 }));
        // Exactly at the limit is fine.
        assert_eq!(run(b"abc\r\n.\r\n", 5, &[1]).1, complete(b"abc\r\n"));
        assert_eq!(
            run(b"abcd\r\n.\r\n", 5, &[1]).1,
            Some(Content::TooLarge { size: 6 })
        );
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_the_result(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a'), any::<u8>()],
                0..300),
            max in 0u64..200,
            chunks in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let whole = run(&input, max, &[input.len().max(1)]);
            prop_assert_eq!(run(&input, max, &chunks), whole);
        }

        #[test]
        fn stuffing_round_trips(lines in proptest::collection::vec("[.a-z]{0,6}", 0..10)) {
            // Dot-stuff arbitrary CRLF lines as a client must, then read them back.
            let mut original = Vec::new();
            let mut wire = Vec::new();
            for line in &lines {
                original.extend_from_slice(line.as_bytes());
                original.extend_from_slice(b"\r\n");
                if line.starts_with('.') {
                    wire.push(b'.');
                }
                wire.extend_from_slice(line.as_bytes());
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b".\r\nREST");
            let (used, content) = run(&wire, u64::MAX, &[7]);
            prop_assert_eq!(&wire[used..], b"REST");
            prop_assert_eq!(content, complete(&original));
        }
    }
}
