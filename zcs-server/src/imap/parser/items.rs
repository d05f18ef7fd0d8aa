//! The structured arguments of IMAP commands: flags, FETCH attributes with their body
//! sections (RFC 3501 §6.4.5) and SEARCH keys (RFC 3501 §6.4.4).

use chrono::NaiveDate;

use super::{Cursor, MAX_DEPTH, Step, is_atom_char};
use crate::imap::datetime;
use crate::imap::sequence::SequenceSet;

/// One flag as a client names it (RFC 3501 §2.3.2, `flag`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagName {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    Recent,
    /// A keyword (no backslash), e.g. `$Forwarded` or `Work`.
    Keyword(String),
    /// A backslash flag this server does not know, e.g. `\Foo`.
    Extension(String),
}

/// Which part of a body section is wanted (RFC 3501 §6.4.5, `section-text`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// `HEADER.FIELDS` (`not` false) or `HEADER.FIELDS.NOT` (`not` true).
    HeaderFields {
        not: bool,
        fields: Vec<String>,
    },
    Text,
    Mime,
}

/// A body section: a part path (`1.2`, empty for the whole message) and what to take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

impl Section {
    /// The section spec as it goes back to the client between the brackets, e.g.
    /// `1.2.HEADER.FIELDS (From To)`.
    pub fn spec(&self) -> String {
        let mut out: Vec<String> = self.part.iter().map(u32::to_string).collect();
        match &self.text {
            None => {}
            Some(SectionText::Header) => out.push("HEADER".into()),
            Some(SectionText::Text) => out.push("TEXT".into()),
            Some(SectionText::Mime) => out.push("MIME".into()),
            Some(SectionText::HeaderFields { not, fields }) => {
                let name = if *not {
                    "HEADER.FIELDS.NOT"
                } else {
                    "HEADER.FIELDS"
                };
                let list: Vec<String> = fields.iter().map(|f| quote_astring(f)).collect();
                out.push(format!("{name} ({})", list.join(" ")));
            }
        }
        out.join(".")
    }
}

fn quote_astring(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(is_atom_char) {
        text.to_string()
    } else {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// One FETCH data item (RFC 3501 §6.4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAtt {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` without a section: the non-extensible BODYSTRUCTURE.
    Body,
    BodyStructure,
    Uid,
    /// `MODSEQ` (RFC 7162 §3.1.4.1).
    ModSeq,
    /// `BODY[...]` or `BODY.PEEK[...]`, with an optional `<origin.count>`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
    /// `BINARY[part]` or `BINARY.PEEK[part]` (RFC 3516 §4.2), optional partial.
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516 §4.2).
    BinarySize {
        part: Vec<u32>,
    },
}

/// The items of one FETCH command, macros expanded.
pub type FetchItems = Vec<FetchAtt>;

/// A SEARCH key (RFC 3501 §6.4.4). Strings are kept as UTF-8 text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Deleted,
    Draft,
    Flagged,
    New,
    Old,
    Recent,
    Seen,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    Keyword(String),
    Unkeyword(String),
    Bcc(String),
    Cc(String),
    From(String),
    To(String),
    Subject(String),
    Header(String, String),
    Body(String),
    Text(String),
    Before(NaiveDate),
    On(NaiveDate),
    Since(NaiveDate),
    SentBefore(NaiveDate),
    SentOn(NaiveDate),
    SentSince(NaiveDate),
    Larger(u32),
    /// `OLDER n` (RFC 5032 §3): internal date more than `n` seconds ago.
    Older(u32),
    /// `YOUNGER n` (RFC 5032 §3): internal date at most `n` seconds ago.
    Younger(u32),
    Smaller(u32),
    Uid(SequenceSet),
    Seq(SequenceSet),
    /// `MODSEQ [entry-name entry-type] n` (RFC 7162 §3.1.5): MODSEQ at least `n`.
    ModSeq(u64),
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// Every key must match (a parenthesised list, or the top level).
    And(Vec<SearchKey>),
}

impl Cursor<'_> {
    /// RFC 3501 §9 `flag` (also accepts `\Recent`, which STORE then ignores).
    pub(crate) fn flag(&mut self) -> Step<FlagName> {
        if self.eat(b'\\') {
            let name = self.atom().map_err(|_| "bad flag")?;
            let name = String::from_utf8_lossy(name).into_owned();
            return Ok(match name.to_ascii_lowercase().as_str() {
                "seen" => FlagName::Seen,
                "answered" => FlagName::Answered,
                "flagged" => FlagName::Flagged,
                "deleted" => FlagName::Deleted,
                "draft" => FlagName::Draft,
                "recent" => FlagName::Recent,
                _ => FlagName::Extension(name),
            });
        }
        let name = self.atom().map_err(|_| "bad flag")?;
        Ok(FlagName::Keyword(
            String::from_utf8_lossy(name).into_owned(),
        ))
    }

    /// RFC 3501 §9 `flag-list`: `(` [flag *(SP flag)] `)`.
    pub(crate) fn flag_list(&mut self) -> Step<Vec<FlagName>> {
        self.expect(b'(', "expected a flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// A sequence set token (digits, `*`, `:` and `,`).
    pub(crate) fn sequence_set(&mut self) -> Step<SequenceSet> {
        // RFC 5182 §2.1: "$" names the saved search result.
        if self.peek() == Some(b'$') && !self.buf_next_is_atom_char() {
            self.advance(1);
            return Ok(SequenceSet::saved());
        }
        let text = self.take_while(|b| b.is_ascii_digit() || matches!(b, b'*' | b':' | b','));
        SequenceSet::parse(text).map_err(|_| "invalid sequence set")
    }

    /// The argument of FETCH: a macro, one attribute or a parenthesised list.
    pub(crate) fn fetch_items(&mut self) -> Step<FetchItems> {
        use FetchAtt::*;
        if self.eat_word("ALL") {
            return Ok(vec![Flags, InternalDate, Rfc822Size, Envelope]);
        }
        if self.eat_word("FAST") {
            return Ok(vec![Flags, InternalDate, Rfc822Size]);
        }
        if self.eat_word("FULL") {
            return Ok(vec![Flags, InternalDate, Rfc822Size, Envelope, Body]);
        }
        if !self.eat(b'(') {
            return Ok(vec![self.fetch_att()?]);
        }
        let mut items = vec![self.fetch_att()?];
        while !self.eat(b')') {
            self.sp()?;
            items.push(self.fetch_att()?);
        }
        Ok(items)
    }

    /// RFC 3501 §9 `fetch-att`.
    fn fetch_att(&mut self) -> Step<FetchAtt> {
        let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        let att = match name.as_str() {
            "ENVELOPE" => FetchAtt::Envelope,
            "FLAGS" => FetchAtt::Flags,
            "INTERNALDATE" => FetchAtt::InternalDate,
            "RFC822" => FetchAtt::Rfc822,
            "RFC822.HEADER" => FetchAtt::Rfc822Header,
            "RFC822.SIZE" => FetchAtt::Rfc822Size,
            "RFC822.TEXT" => FetchAtt::Rfc822Text,
            "BODYSTRUCTURE" => FetchAtt::BodyStructure,
            "UID" => FetchAtt::Uid,
            "MODSEQ" => FetchAtt::ModSeq,
            "BODY" if self.peek() != Some(b'[') => FetchAtt::Body,
            // RFC 3516 §4.2: section-binary = "[" [section-part] "]".
            "BINARY" | "BINARY.PEEK" | "BINARY.SIZE" => {
                let section = self.section()?;
                if section.text.is_some() {
                    return Err("BINARY takes a part number only");
                }
                if name == "BINARY.SIZE" {
                    FetchAtt::BinarySize { part: section.part }
                } else {
                    let partial = self.partial()?;
                    FetchAtt::Binary {
                        peek: name == "BINARY.PEEK",
                        part: section.part,
                        partial,
                    }
                }
            }
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchAtt::BodySection {
                    peek: name == "BODY.PEEK",
                    section,
                    partial,
                }
            }
            _ => return Err("unknown fetch attribute"),
        };
        Ok(att)
    }

    /// RFC 3501 §9 `<origin.count>`, when present.
    fn partial(&mut self) -> Step<Option<(u32, u32)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let origin = self.number()?;
        self.expect(b'.', "bad partial")?;
        let count = self.nz_number()?;
        self.expect(b'>', "bad partial")?;
        Ok(Some((origin, count)))
    }

    /// RFC 3501 §9 `section`: `[` [section-spec] `]`.
    fn section(&mut self) -> Step<Section> {
        self.expect(b'[', "expected a section")?;
        let mut section = Section::default();
        if self.eat(b']') {
            return Ok(section);
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            section.part.push(self.nz_number()?);
            if self.eat(b']') {
                return Ok(section);
            }
            self.expect(b'.', "bad section")?;
        }
        let word = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
        let text = match word.to_ascii_uppercase().as_slice() {
            b"HEADER" => SectionText::Header,
            b"TEXT" => SectionText::Text,
            b"MIME" if !section.part.is_empty() => SectionText::Mime,
            b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
                self.sp()?;
                self.expect(b'(', "expected a header list")?;
                let mut fields = Vec::new();
                loop {
                    let name = self.astring()?;
                    fields.push(String::from_utf8_lossy(&name).into_owned());
                    if self.eat(b')') {
                        break;
                    }
                    self.sp()?;
                }
                SectionText::HeaderFields {
                    not: word.len() > "HEADER.FIELDS".len(),
                    fields,
                }
            }
            _ => return Err("bad section"),
        };
        section.text = Some(text);
        self.expect(b']', "bad section")?;
        Ok(section)
    }

    fn search_string(&mut self) -> Step<String> {
        let bytes = self.astring()?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn search_date(&mut self) -> Step<NaiveDate> {
        let text = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.atom()?.to_vec()
        };
        datetime::parse_date(&text).ok_or("bad date")
    }

    /// RFC 3501 §9 `search-key`, nesting at most [`MAX_DEPTH`] deep.
    pub(crate) fn search_key(&mut self, depth: usize) -> Step<SearchKey> {
        use SearchKey as K;
        if depth > MAX_DEPTH {
            return Err("search nested too deeply");
        }
        match self.peek() {
            // RFC 5182 §2.1: "$" as a search key, the saved result.
            Some(b'$') => {
                self.advance(1);
                return Ok(K::Seq(SequenceSet::saved()));
            }
            Some(b'(') => {
                self.advance(1);
                let mut keys = vec![self.search_key(depth + 1)?];
                while !self.eat(b')') {
                    self.sp()?;
                    keys.push(self.search_key(depth + 1)?);
                }
                return Ok(K::And(keys));
            }
            Some(b) if b.is_ascii_digit() || b == b'*' => return Ok(K::Seq(self.sequence_set()?)),
            _ => {}
        }
        let word = self.atom()?.to_ascii_uppercase();
        let key = match word.as_slice() {
            b"ALL" => K::All,
            b"ANSWERED" => K::Answered,
            b"DELETED" => K::Deleted,
            b"DRAFT" => K::Draft,
            b"FLAGGED" => K::Flagged,
            b"NEW" => K::New,
            b"OLD" => K::Old,
            b"RECENT" => K::Recent,
            b"SEEN" => K::Seen,
            b"UNANSWERED" => K::Unanswered,
            b"UNDELETED" => K::Undeleted,
            b"UNDRAFT" => K::Undraft,
            b"UNFLAGGED" => K::Unflagged,
            b"UNSEEN" => K::Unseen,
            b"KEYWORD" | b"UNKEYWORD" => {
                self.sp()?;
                let flag = String::from_utf8_lossy(self.atom()?).into_owned();
                if word.starts_with(b"UN") {
                    K::Unkeyword(flag)
                } else {
                    K::Keyword(flag)
                }
            }
            b"BCC" | b"CC" | b"FROM" | b"TO" | b"SUBJECT" | b"BODY" | b"TEXT" => {
                self.sp()?;
                let value = self.search_string()?;
                match word.as_slice() {
                    b"BCC" => K::Bcc(value),
                    b"CC" => K::Cc(value),
                    b"FROM" => K::From(value),
                    b"TO" => K::To(value),
                    b"SUBJECT" => K::Subject(value),
                    b"BODY" => K::Body(value),
                    _ => K::Text(value),
                }
            }
            b"HEADER" => {
                self.sp()?;
                let name = self.search_string()?;
                self.sp()?;
                K::Header(name, self.search_string()?)
            }
            b"BEFORE" | b"ON" | b"SINCE" | b"SENTBEFORE" | b"SENTON" | b"SENTSINCE" => {
                self.sp()?;
                let date = self.search_date()?;
                match word.as_slice() {
                    b"BEFORE" => K::Before(date),
                    b"ON" => K::On(date),
                    b"SINCE" => K::Since(date),
                    b"SENTBEFORE" => K::SentBefore(date),
                    b"SENTON" => K::SentOn(date),
                    _ => K::SentSince(date),
                }
            }
            b"OLDER" | b"YOUNGER" => {
                self.sp()?;
                let n = self.nz_number()?;
                if word == b"OLDER" {
                    K::Older(n)
                } else {
                    K::Younger(n)
                }
            }
            b"LARGER" | b"SMALLER" => {
                self.sp()?;
                let n = self.number()?;
                if word == b"LARGER" {
                    K::Larger(n)
                } else {
                    K::Smaller(n)
                }
            }
            b"UID" => {
                self.sp()?;
                K::Uid(self.sequence_set()?)
            }
            b"MODSEQ" => {
                self.sp()?;
                // RFC 7162 §3.1.5: the optional entry name and type narrow the test to
                // one flag; this server keeps one MODSEQ per message, which is valid
                // for every entry, so they are read and ignored.
                if self.peek() == Some(b'"') {
                    self.quoted()?;
                    self.sp()?;
                    let kind = self.atom()?.to_ascii_lowercase();
                    if !matches!(kind.as_slice(), b"priv" | b"shared" | b"all") {
                        return Err("bad MODSEQ entry type");
                    }
                    self.sp()?;
                }
                K::ModSeq(self.modseq()?)
            }
            b"NOT" => {
                self.sp()?;
                K::Not(Box::new(self.search_key(depth + 1)?))
            }
            b"OR" => {
                self.sp()?;
                let a = self.search_key(depth + 1)?;
                self.sp()?;
                let b = self.search_key(depth + 1)?;
                K::Or(Box::new(a), Box::new(b))
            }
            _ => return Err("unknown search key"),
        };
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(text: &str) -> Step<FetchItems> {
        Cursor::new(text.as_bytes()).fetch_items()
    }

    #[test]
    fn parses_fetch_items() {
        assert_eq!(fetch("FAST").unwrap().len(), 3);
        let items = fetch("(UID BODY.PEEK[1.2.HEADER.FIELDS (From \"X y\")]<0.100> BODY)").unwrap();
        assert_eq!(items[0], FetchAtt::Uid);
        match &items[1] {
            FetchAtt::BodySection {
                peek: true,
                section,
                partial: Some((0, 100)),
            } => {
                assert_eq!(section.part, vec![1, 2]);
                assert_eq!(section.spec(), "1.2.HEADER.FIELDS (From \"X y\")");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(items[2], FetchAtt::Body);
        assert!(fetch("BODY[MIME]").is_err());
        assert!(fetch("BODY[1.MIME]").is_ok());
        assert!(fetch("BODY[1.]").is_err());
        assert!(fetch("BODY[]<5.0>").is_err());
        assert!(fetch("()").is_err());
        assert_eq!(
            fetch("body[header.fields.not (a)]").unwrap()[0],
            FetchAtt::BodySection {
                peek: false,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields {
                        not: true,
                        fields: vec!["a".into()]
                    })
                },
                partial: None
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn section_spec_round_trips(
            part in proptest::collection::vec(1u32..30, 0..4),
            text in 0usize..6,
            fields in proptest::collection::vec("[A-Za-z][A-Za-z0-9-]{0,12}", 1..4),
            partial in proptest::option::of((0u32..1000, 1u32..1000)),
        ) {
            let text = match text {
                0 => None,
                1 => Some(SectionText::Header),
                2 => Some(SectionText::Text),
                3 if !part.is_empty() => Some(SectionText::Mime),
                4 => Some(SectionText::HeaderFields { not: false, fields }),
                5 => Some(SectionText::HeaderFields { not: true, fields }),
                _ => None,
            };
            let section = Section { part, text };
            let mut wire = format!("BODY.PEEK[{}]", section.spec());
            if let Some((o, n)) = partial {
                wire.push_str(&format!("<{o}.{n}>"));
            }
            let parsed = fetch(&wire).unwrap();
            proptest::prop_assert_eq!(
                parsed,
                vec![FetchAtt::BodySection { peek: true, section, partial }]
            );
        }

        #[test]
        fn search_keys_never_panic(
            bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..120)
        ) {
            let _ = Cursor::new(&bytes).search_key(0);
            let _ = Cursor::new(&bytes).fetch_items();
        }
    }

    #[test]
    fn parses_search_keys() {
        let key = Cursor::new(b"OR (FROM \"a b\" SINCE 1-Feb-1994) NOT 2:*")
            .search_key(0)
            .unwrap();
        match key {
            SearchKey::Or(a, b) => {
                assert!(matches!(*a, SearchKey::And(ref v) if v.len() == 2));
                assert!(matches!(*b, SearchKey::Not(_)));
            }
            other => panic!("{other:?}"),
        }
        let deep = "NOT ".repeat(100) + "ALL";
        assert!(Cursor::new(deep.as_bytes()).search_key(0).is_err());
        let parens = "(".repeat(100) + "ALL" + &")".repeat(100);
        assert!(Cursor::new(parens.as_bytes()).search_key(0).is_err());
    }
}
