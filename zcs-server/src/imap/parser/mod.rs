//! The IMAP command parser (RFC 3501 §9 formal syntax), pure and over bytes.
//!
//! Input is one complete command as the framing layer assembled it: the command line
//! without its final CRLF, with every literal inline as `{n}` (or `{n+}`) CRLF and its
//! `n` bytes. Output is a [`Command`]. This module does no I/O and never panics on any
//! input; nesting (parenthesised search keys) is bounded.

mod append;
mod command;
mod ext;
mod items;
mod sort;

pub use append::{AppendData, AppendMessage, CatPart};
pub use command::{AuthKind, Command, CommandKind, StatusItem, StoreMode, parse_command};
pub use ext::{ListCommand, Qresync, SearchReturn, SelectParams};
pub use items::{FetchAtt, FetchItems, FlagName, SearchKey, Section, SectionText};
pub use sort::{SortCriterion, SortKey, ThreadAlgorithm};

/// Why a command could not be parsed. `tag` is set when the tag itself was readable, so
/// the answer can be a tagged BAD.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The command's tag, when it could be read.
    pub tag: Option<String>,
    /// A short human-readable reason (goes into the BAD response).
    pub message: String,
}

/// Result of a low-level parsing step; the message is filled into [`ParseError`].
pub(crate) type Step<T> = Result<T, &'static str>;

/// Maximum nesting of parenthesised lists and NOT/OR in SEARCH.
pub(crate) const MAX_DEPTH: usize = 32;

/// RFC 3501 §9 `ATOM-CHAR`: any CHAR except atom-specials.
pub(crate) fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 3501 §9 `ASTRING-CHAR`: ATOM-CHAR or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// RFC 3501 §9 `list-char`: ATOM-CHAR, list-wildcards or resp-specials.
pub(crate) fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A position in a command buffer, with the lexical rules of RFC 3501 §9.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Consumes `byte` or fails.
    pub(crate) fn expect(&mut self, byte: u8, what: &'static str) -> Step<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(what)
        }
    }

    /// Whether the byte after the next one is an atom character (so the next byte
    /// starts a longer word).
    pub(crate) fn buf_next_is_atom_char(&self) -> bool {
        self.buf
            .get(self.pos + 1)
            .copied()
            .is_some_and(is_atom_char)
    }

    /// Consumes `byte` if it is next.
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// One space (RFC 3501 §9 `SP`).
    pub(crate) fn sp(&mut self) -> Step<()> {
        self.expect(b' ', "expected a space")
    }

    /// Consumes `word` case-insensitively if it is next and is not followed by another
    /// atom character.
    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        if end <= self.buf.len()
            && self.buf[self.pos..end].eq_ignore_ascii_case(word.as_bytes())
            && !self.buf.get(end).copied().is_some_and(is_atom_char)
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// The longest run of bytes satisfying `pred` (possibly empty).
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// RFC 3501 §9 `atom`.
    pub(crate) fn atom(&mut self) -> Step<&'a [u8]> {
        let word = self.take_while(is_atom_char);
        if word.is_empty() {
            Err("expected an atom")
        } else {
            Ok(word)
        }
    }

    /// RFC 3501 §9 `number` (up to 2^32-1).
    pub(crate) fn number(&mut self) -> Step<u32> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() || digits.len() > 10 {
            return Err("expected a number");
        }
        let mut value: u64 = 0;
        for &d in digits {
            value = value * 10 + u64::from(d - b'0');
        }
        u32::try_from(value).map_err(|_| "number too large")
    }

    /// RFC 7162 §7 `mod-sequence-valzer`: 0 to 2^63-1.
    pub(crate) fn modseq(&mut self) -> Step<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() || digits.len() > 19 {
            return Err("expected a mod-sequence");
        }
        let mut value: u64 = 0;
        for &d in digits {
            value = value * 10 + u64::from(d - b'0');
        }
        if value > i64::MAX as u64 {
            return Err("mod-sequence too large");
        }
        Ok(value)
    }

    /// RFC 3501 §9 `nz-number`.
    pub(crate) fn nz_number(&mut self) -> Step<u32> {
        match self.number()? {
            0 => Err("expected a non-zero number"),
            n => Ok(n),
        }
    }

    /// RFC 3501 §9 `quoted`, unescaped. 8-bit bytes are tolerated (clients send UTF-8);
    /// CR, LF and NUL are not.
    pub(crate) fn quoted(&mut self) -> Step<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err("bad escape in quoted string"),
                    }
                }
                Some(b'\r' | b'\n' | 0) => return Err("bad character in quoted string"),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// RFC 3501 §9 `literal` (and RFC 7888 `literal+`): `{n}` CRLF and n bytes.
    pub(crate) fn literal(&mut self) -> Step<&'a [u8]> {
        self.expect(b'{', "expected a literal")?;
        let len = self.number()?;
        self.eat(b'+');
        self.expect(b'}', "bad literal")?;
        self.expect(b'\r', "bad literal")?;
        self.expect(b'\n', "bad literal")?;
        let len = usize::try_from(len).map_err(|_| "literal too large")?;
        if self.buf.len() - self.pos < len {
            return Err("literal shorter than announced");
        }
        let data = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(data)
    }

    /// RFC 3501 §9 `string`: quoted or literal.
    pub(crate) fn string(&mut self) -> Step<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal()?.to_vec()),
            _ => Err("expected a string"),
        }
    }

    /// RFC 3501 §9 `astring`: 1*ASTRING-CHAR or string.
    pub(crate) fn astring(&mut self) -> Step<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let word = self.take_while(is_astring_char);
                if word.is_empty() {
                    Err("expected a string")
                } else {
                    Ok(word.to_vec())
                }
            }
        }
    }

    /// RFC 3501 §9 `nstring`: NIL or string.
    pub(crate) fn nstring(&mut self) -> Step<Option<Vec<u8>>> {
        if self.eat_word("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// RFC 3501 §9 `list-mailbox`: 1*list-char or string.
    pub(crate) fn list_mailbox(&mut self) -> Step<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let word = self.take_while(is_list_char);
                if word.is_empty() {
                    Err("expected a mailbox pattern")
                } else {
                    Ok(word.to_vec())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_strings() {
        let mut c = Cursor::new(b"\"a\\\"b\\\\c\" {3}\r\nx y atom]x NIL");
        assert_eq!(c.astring().unwrap(), b"a\"b\\c");
        c.sp().unwrap();
        assert_eq!(c.astring().unwrap(), b"x y");
        c.sp().unwrap();
        assert_eq!(c.astring().unwrap(), b"atom]x");
        c.sp().unwrap();
        assert_eq!(c.nstring().unwrap(), None);
        assert!(c.at_end());
        assert!(Cursor::new(b"{5}\r\nab").literal().is_err());
        assert!(Cursor::new(b"\"abc").quoted().is_err());
        assert!(Cursor::new(b"\"a\\b\"").quoted().is_err());
        assert_eq!(Cursor::new(b"{2+}\r\nab").literal().unwrap(), b"ab");
        assert_eq!(Cursor::new(b"4294967295").number(), Ok(u32::MAX));
        assert!(Cursor::new(b"4294967296").number().is_err());
    }
}
