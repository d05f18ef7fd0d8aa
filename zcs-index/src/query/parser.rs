//! The query parser: text to [`Query`], with byte positions on errors.
//!
//! Grammar (after Zimbra's `Parser.jjt`, keywords case-insensitive):
//!
//! ```text
//! query   := or EOF
//! or      := and (("or" | "||") and)*
//! and     := unary (["and" | "&&"] unary)*          juxtaposition is AND
//! unary   := ("not" | "-" | "!") unary | "+" unary | primary
//! primary := "(" or ")" | QUOTED | field ":" value | WORD
//! value   := "(" group ")" | QUOTED | "{" BRACED "}" | WORD
//! ```
//!
//! A field group (`in:(trash -junk)`, `date:(-1d or -2d)`) distributes the field over
//! every value and follows the same and/or/not rules; inside a date group a leading `-`
//! or `+` is the sign of a relative date, not a negation. AND binds tighter than OR.
//! After `field:` the next word is always a value, so `from:and` searches for "and".

use crate::wildcard::is_wildcard;
use zcs_core::ItemId;

use super::values::{parse_date, parse_size, split_comparison};
use super::{
    Comparison, DateField, HasKind, IsFlag, ItemSet, Priority, Query, RangeField, TextField,
};

/// Deepest nesting of parentheses and prefixes accepted (keeps recursion bounded).
const MAX_DEPTH: usize = 100;

/// A query that does not follow the grammar: what was wrong and the byte offset in the
/// query text where it was found. Maps to `mail.QUERY_PARSE_ERROR`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct QueryParseError {
    /// Byte offset into the query text.
    pub position: usize,
    /// What was expected or found, fit to show the user.
    pub message: String,
}

/// Parses Zimbra query text. Never panics, whatever the input; costs time linear in the
/// length of the text.
///
/// # Errors
/// A [`QueryParseError`] for empty queries, unbalanced parentheses or quotes, unknown
/// fields, and values a field does not accept (`is:nonsense`, `date:someday`,
/// `size:lots`, `priority:medium`).
pub fn parse(text: &str) -> Result<Query, QueryParseError> {
    let mut p = Parser {
        src: text,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Err(p.error_at(0, "empty query"));
    }
    let q = p.parse_or(Ctx::Top)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(q),
        Some(')') => Err(p.error("unmatched ')'")),
        Some(c) => Err(p.error(format!("unexpected '{c}'"))),
    }
}

/// What a field name selects, before its value is read.
#[derive(Clone, Debug, PartialEq)]
enum FieldKind {
    Text(TextField),
    In,
    Under,
    InId,
    UnderId,
    Is,
    Has,
    Type,
    Attachment,
    Tag,
    Priority,
    Date(DateField),
    After,
    Before,
    Size,
    Larger,
    Smaller,
    Item,
    Message,
    Conv,
    ConvCount,
    ConvMinM,
    ConvMaxM,
    Modseq,
    My,
    Sort,
}

impl FieldKind {
    fn lookup(name: &str) -> Option<FieldKind> {
        use FieldKind as K;
        use TextField as T;
        let lower = name.to_ascii_lowercase();
        if let Some(custom) = lower.strip_prefix('#') {
            return (!custom.is_empty()).then(|| K::Text(T::Field(name[1..].to_string())));
        }
        if let Some(inner) = lower
            .strip_prefix("field[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let inner_raw = &name[6..name.len() - 1];
            return (!inner.is_empty()).then(|| K::Text(T::Field(inner_raw.to_string())));
        }
        Some(match lower.as_str() {
            "content" => K::Text(T::Content),
            "subject" => K::Text(T::Subject),
            "msgid" => K::Text(T::MsgId),
            "envto" => K::Text(T::EnvTo),
            "envfrom" => K::Text(T::EnvFrom),
            "contact" => K::Text(T::Contact),
            "to" => K::Text(T::To),
            "from" => K::Text(T::From),
            "cc" => K::Text(T::Cc),
            "tofrom" => K::Text(T::ToFrom),
            "tocc" => K::Text(T::ToCc),
            "fromcc" => K::Text(T::FromCc),
            "tofromcc" => K::Text(T::ToFromCc),
            "filename" => K::Text(T::Filename),
            "author" => K::Text(T::Author),
            "title" => K::Text(T::Title),
            "keywords" => K::Text(T::Keywords),
            "company" => K::Text(T::Company),
            "metadata" => K::Text(T::Metadata),
            "in" => K::In,
            "under" => K::Under,
            "inid" => K::InId,
            "underid" => K::UnderId,
            "is" => K::Is,
            "has" => K::Has,
            "type" => K::Type,
            "attachment" => K::Attachment,
            "tag" => K::Tag,
            "priority" => K::Priority,
            "date" => K::Date(DateField::Date),
            "mdate" => K::Date(DateField::MDate),
            "day" => K::Date(DateField::Day),
            "week" => K::Date(DateField::Week),
            "month" => K::Date(DateField::Month),
            "year" => K::Date(DateField::Year),
            "appt-start" => K::Date(DateField::ApptStart),
            "appt-end" => K::Date(DateField::ApptEnd),
            "conv-start" => K::Date(DateField::ConvStart),
            "conv-end" => K::Date(DateField::ConvEnd),
            "after" => K::After,
            "before" => K::Before,
            "size" => K::Size,
            "larger" | "bigger" => K::Larger,
            "smaller" => K::Smaller,
            "item" => K::Item,
            "message" => K::Message,
            "conv" => K::Conv,
            "conv-count" => K::ConvCount,
            "conv-minm" => K::ConvMinM,
            "conv-maxm" => K::ConvMaxM,
            "modseq" => K::Modseq,
            "my" => K::My,
            "sort" | "sortby" => K::Sort,
            _ => return None,
        })
    }

    /// In a group of this field, a leading `-`/`+` is part of the value (a relative date).
    fn signed_values(&self) -> bool {
        matches!(
            self,
            FieldKind::Date(_) | FieldKind::After | FieldKind::Before
        )
    }
}

/// Where the parser is: at the top level, or inside `field:( ... )`.
#[derive(Clone, Debug)]
enum Ctx {
    Top,
    Field(FieldKind, String),
}

/// A value after `field:` as written.
struct Value {
    text: String,
    quoted: bool,
    braced: bool,
    pos: usize,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

fn is_bare_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '"' | ':' | '{' | '}')
}

fn negate(q: Query) -> Query {
    match q {
        Query::Not(inner) => *inner,
        other => Query::Not(Box::new(other)),
    }
}

/// Builds an And/Or from parts, flattening children of the same kind.
fn combine(parts: Vec<Query>, or: bool) -> Query {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Query::Or(v) if or => out.extend(v),
            Query::And(v) if !or => out.extend(v),
            other => out.push(other),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or(Query::And(Vec::new()))
    } else if or {
        Query::Or(out)
    } else {
        Query::And(out)
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn error(&self, message: impl Into<String>) -> QueryParseError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> QueryParseError {
        QueryParseError {
            position,
            message: message.into(),
        }
    }

    /// End (byte offset) of the bare word starting at `start`.
    fn word_end(&self, start: usize) -> usize {
        self.src[start..]
            .char_indices()
            .find(|&(_, c)| !is_bare_char(c))
            .map_or(self.src.len(), |(i, _)| start + i)
    }

    /// The bare word at the cursor, lower-cased, when it is an operator keyword.
    fn keyword(&self) -> Option<&'static str> {
        let end = self.word_end(self.pos);
        if self.src[end..].starts_with(':') {
            return None;
        }
        let word = &self.src[self.pos..end];
        let k = if word.eq_ignore_ascii_case("and") || word == "&&" {
            "and"
        } else if word.eq_ignore_ascii_case("or") || word == "||" {
            "or"
        } else if word.eq_ignore_ascii_case("not") {
            "not"
        } else {
            return None;
        };
        Some(k)
    }

    fn consume_keyword(&mut self) {
        self.pos = self.word_end(self.pos);
    }

    fn enter(&mut self) -> Result<(), QueryParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("query nested too deeply"));
        }
        Ok(())
    }

    fn parse_or(&mut self, ctx: Ctx) -> Result<Query, QueryParseError> {
        let mut parts = vec![self.parse_and(ctx.clone())?];
        loop {
            self.skip_ws();
            if self.keyword() != Some("or") {
                break;
            }
            self.consume_keyword();
            parts.push(self.parse_and(ctx.clone())?);
        }
        Ok(combine(parts, true))
    }

    fn parse_and(&mut self, ctx: Ctx) -> Result<Query, QueryParseError> {
        let mut parts = vec![self.parse_unary(&ctx)?];
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') {
                break;
            }
            match self.keyword() {
                Some("or") => break,
                Some("and") => self.consume_keyword(),
                _ => {}
            }
            parts.push(self.parse_unary(&ctx)?);
        }
        Ok(combine(parts, false))
    }

    fn parse_unary(&mut self, ctx: &Ctx) -> Result<Query, QueryParseError> {
        self.enter()?;
        let result = self.parse_unary_inner(ctx);
        self.depth -= 1;
        result
    }

    fn parse_unary_inner(&mut self, ctx: &Ctx) -> Result<Query, QueryParseError> {
        self.skip_ws();
        let signed = matches!(ctx, Ctx::Field(k, _) if k.signed_values());
        match self.peek() {
            None => return Err(self.error("expected a search term")),
            Some('-' | '!') if !signed => {
                self.pos += 1;
                return Ok(negate(self.parse_unary(ctx)?));
            }
            Some('+') if !signed => {
                self.pos += 1;
                return self.parse_unary(ctx);
            }
            _ => {}
        }
        match self.keyword() {
            Some("not") => {
                self.consume_keyword();
                Ok(negate(self.parse_unary(ctx)?))
            }
            Some(op) => Err(self.error(format!("unexpected '{op}'"))),
            None => self.parse_primary(ctx),
        }
    }

    fn parse_group(&mut self, ctx: Ctx) -> Result<Query, QueryParseError> {
        self.pos += 1; // "("
        let q = self.parse_or(ctx)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error("expected ')'"));
        }
        self.pos += 1;
        Ok(q)
    }

    fn parse_primary(&mut self, ctx: &Ctx) -> Result<Query, QueryParseError> {
        let start = self.pos;
        match (ctx, self.peek()) {
            (_, Some('(')) => self.parse_group(ctx.clone()),
            (_, Some(')')) => Err(self.error("unexpected ')'")),
            (Ctx::Field(kind, name), _) => {
                let value = self.read_value(name)?;
                make_leaf(kind, name, value)
            }
            (Ctx::Top, Some('"')) => {
                let text = self.read_quoted()?;
                Ok(Query::Term {
                    field: TextField::Default,
                    value: text,
                    phrase: true,
                    wildcard: false,
                })
            }
            (Ctx::Top, Some('{' | '}')) => {
                Err(self.error("braced values are only allowed after item:"))
            }
            (Ctx::Top, _) => {
                let end = self.word_end(start);
                if end == start {
                    return Err(self.error(format!("unexpected '{}'", self.peek().unwrap_or(' '))));
                }
                let word = &self.src[start..end];
                self.pos = end;
                if self.peek() == Some(':') {
                    self.pos += 1;
                    return self.parse_field(word, start);
                }
                Ok(Query::Term {
                    field: TextField::Default,
                    value: word.to_string(),
                    phrase: false,
                    wildcard: is_wildcard(word),
                })
            }
        }
    }

    fn parse_field(&mut self, name: &str, name_pos: usize) -> Result<Query, QueryParseError> {
        let kind = FieldKind::lookup(name)
            .ok_or_else(|| self.error_at(name_pos, format!("unknown field '{name}:'")))?;
        let name = name.to_ascii_lowercase();
        self.skip_ws();
        if self.at_end() {
            return Err(self.error(format!("missing value after {name}:")));
        }
        if self.peek() == Some('(') {
            self.enter()?;
            let q = self.parse_group(Ctx::Field(kind, name));
            self.depth -= 1;
            return q;
        }
        let value = self.read_value(&name)?;
        make_leaf(&kind, &name, value)
    }

    fn read_quoted(&mut self) -> Result<String, QueryParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.clone().next() {
                    Some((_, n @ ('"' | '\\'))) => {
                        chars.next();
                        out.push(n);
                    }
                    _ => out.push('\\'),
                },
                other => out.push(other),
            }
        }
        Err(self.error_at(start, "unterminated quoted value"))
    }

    fn read_value(&mut self, field: &str) -> Result<Value, QueryParseError> {
        let pos = self.pos;
        match self.peek() {
            Some('"') => {
                let text = self.read_quoted()?;
                Ok(Value {
                    text,
                    quoted: true,
                    braced: false,
                    pos,
                })
            }
            Some('{') => {
                let rest = &self.src[pos + 1..];
                let close = rest
                    .find('}')
                    .ok_or_else(|| self.error_at(pos, "unterminated '{'"))?;
                self.pos = pos + 1 + close + 1;
                Ok(Value {
                    text: rest[..close].to_string(),
                    quoted: false,
                    braced: true,
                    pos,
                })
            }
            _ => {
                let end = self.word_end(pos);
                if end == pos {
                    return Err(self.error(format!("missing value after {field}:")));
                }
                self.pos = end;
                Ok(Value {
                    text: self.src[pos..end].to_string(),
                    quoted: false,
                    braced: false,
                    pos,
                })
            }
        }
    }
}

/// Turns one value of a field into a leaf, checking it is one the field accepts.
fn make_leaf(kind: &FieldKind, name: &str, v: Value) -> Result<Query, QueryParseError> {
    let err = |message: String| QueryParseError {
        position: v.pos,
        message,
    };
    if v.braced && *kind != FieldKind::Item {
        return Err(err("braced values are only allowed after item:".into()));
    }
    if v.text.is_empty() {
        return Err(err(format!("missing value after {name}:")));
    }
    let text = v.text.as_str();
    let number = |s: &str| -> Result<i64, QueryParseError> {
        s.parse::<i64>()
            .map_err(|_| err(format!("invalid number '{s}' after {name}:")))
    };
    let count = |s: &str| -> Result<u32, QueryParseError> {
        s.parse::<u32>()
            .map_err(|_| err(format!("invalid count '{s}' after {name}:")))
    };

    Ok(match kind {
        FieldKind::Text(field) => return text_leaf(field, &v, err),
        FieldKind::In => Query::In(v.text),
        FieldKind::Under => Query::Under(v.text),
        FieldKind::InId => Query::InId(v.text),
        FieldKind::UnderId => Query::UnderId(v.text),
        FieldKind::Tag => Query::Tag(v.text),
        FieldKind::My => Query::My(v.text),
        FieldKind::Sort => Query::Sort(v.text),
        FieldKind::Type => Query::Type(text.to_lowercase()),
        FieldKind::Attachment => Query::Attachment(text.to_lowercase()),
        FieldKind::Is => Query::Is(
            IsFlag::from_name(text)
                .ok_or_else(|| err(format!("unknown value '{text}' after is:")))?,
        ),
        FieldKind::Has if text.eq_ignore_ascii_case("attachment") => {
            Query::Has(HasKind::Attachment)
        }
        FieldKind::Has => Query::Has(HasKind::Object(text.to_lowercase())),
        FieldKind::Priority => match text.to_ascii_lowercase().as_str() {
            "high" => Query::Priority(Priority::High),
            "low" => Query::Priority(Priority::Low),
            "normal" => Query::Priority(Priority::Normal),
            _ => {
                return Err(err(format!(
                    "invalid priority '{text}' (high, low or normal)"
                )));
            }
        },
        FieldKind::Date(field) => {
            let (op, rest) = split_comparison(text);
            let value = parse_date(rest).map_err(err)?;
            Query::Date {
                field: *field,
                op,
                value,
            }
        }
        FieldKind::After | FieldKind::Before => {
            let op = if *kind == FieldKind::After {
                Comparison::Gt
            } else {
                Comparison::Lt
            };
            Query::Date {
                field: DateField::Date,
                op,
                value: parse_date(text).map_err(err)?,
            }
        }
        FieldKind::Size => {
            let (op, rest) = split_comparison(text);
            let bytes = parse_size(rest).map_err(err)?;
            Query::Size { op, bytes }
        }
        FieldKind::Larger | FieldKind::Smaller => Query::Size {
            op: if *kind == FieldKind::Larger {
                Comparison::Gt
            } else {
                Comparison::Lt
            },
            bytes: parse_size(text).map_err(err)?,
        },
        FieldKind::Item => Query::Item(parse_items(text, v.braced).ok_or_else(|| {
            err(format!(
                "invalid item list '{text}' (all, none, N, {{a,b}}, {{a--b}})"
            ))
        })?),
        FieldKind::Message => Query::Message(ItemId(
            i32::try_from(number(text)?).map_err(|_| err(format!("invalid id '{text}'")))?,
        )),
        FieldKind::Conv => Query::Conv(
            i32::try_from(number(text)?).map_err(|_| err(format!("invalid id '{text}'")))?,
        ),
        FieldKind::ConvCount => {
            let (op, rest) = split_comparison(text);
            Query::ConvCount {
                op,
                count: count(rest)?,
            }
        }
        FieldKind::ConvMinM => Query::ConvMinM(count(text)?),
        FieldKind::ConvMaxM => Query::ConvMaxM(count(text)?),
        FieldKind::Modseq => {
            let (op, rest) = split_comparison(text);
            Query::Modseq {
                op,
                value: number(rest)?,
            }
        }
    })
}

fn text_leaf(
    field: &TextField,
    v: &Value,
    err: impl Fn(String) -> QueryParseError,
) -> Result<Query, QueryParseError> {
    let text = v.text.as_str();
    // As in Zimbra's grammar, `+` and `-` are operators, never the start of a word:
    // `from:-x` and `from:+-x` are errors (quote the value to search for it).
    if !v.quoted && (text.starts_with('-') || text.starts_with('+')) {
        return Err(err(format!(
            "unexpected '{}' at the start of a value",
            &text[..1]
        )));
    }
    let range_field = match field {
        TextField::Subject => Some(RangeField::Subject),
        TextField::From => Some(RangeField::From),
        _ => None,
    };
    if let Some(range_field) = range_field {
        // from:<user@example.com> is an address in brackets, not a comparison. A quoted
        // value is a comparison too (`from:">gfoo"`), as Zimbra strips the quotes first.
        let bracketed = !v.quoted
            && range_field == RangeField::From
            && text.len() > 2
            && text.starts_with('<')
            && text.ends_with('>');
        if bracketed {
            let inner = &text[1..text.len() - 1];
            return Ok(Query::Term {
                field: field.clone(),
                value: inner.to_string(),
                phrase: false,
                wildcard: is_wildcard(inner),
            });
        }
        if text.starts_with('<') || text.starts_with('>') {
            let (op, rest) = split_comparison(text);
            if rest.is_empty() {
                return Err(err(format!("missing value after '{text}'")));
            }
            return Ok(Query::TextRange {
                field: range_field,
                op,
                value: rest.to_string(),
            });
        }
    }
    Ok(Query::Term {
        field: field.clone(),
        value: v.text.clone(),
        phrase: v.quoted,
        wildcard: !v.quoted && is_wildcard(text),
    })
}

/// `all`, `none`, `N`, or (braced) `a,b,c` / `a--b`; ids are non-negative.
fn parse_items(text: &str, braced: bool) -> Option<ItemSet> {
    let id = |s: &str| -> Option<ItemId> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<i32>().ok().map(ItemId)
    };
    if !braced {
        if text.eq_ignore_ascii_case("all") {
            return Some(ItemSet::All);
        }
        if text.eq_ignore_ascii_case("none") {
            return Some(ItemSet::None);
        }
    }
    if let Some((a, b)) = text.split_once("--") {
        return Some(ItemSet::Range {
            from: id(a)?,
            to: id(b)?,
        });
    }
    let ids: Option<Vec<ItemId>> = text.split(',').map(id).collect();
    ids.filter(|v| !v.is_empty()).map(ItemSet::Ids)
}
