//! Turns the index part of a [`Query`] into a tantivy query. Message dates (`date:`,
//! `after:`, `before:`, `day:` ... `year:`) are ranges over the recorded `Date` header;
//! other structured leaves (folders, flags, item dates, ...) translate to "no
//! constraint" (`None`), so the result selects a superset of what the whole query
//! selects; the caller filters the rest. Wildcard terms are expanded against the term
//! dictionary by [`super::expand`].

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery, RangeQuery,
    RegexQuery, TermQuery, wildcard_query_to_regex_str,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use super::expand::wildcard_query;
use super::schema::Fields;
use crate::error::IndexError;
use crate::query::{HasKind, Query, TextField};
use crate::substring::WordMatch;
use crate::tokenizer::{TokenMode, analyze};

type Boxed = Box<dyn TQuery>;

/// The tantivy query for the index leaves of `q`; `None` when nothing in `q` constrains
/// the text (every document of the mailbox qualifies).
///
/// Wildcard terms are expanded against `searcher`'s term dictionaries, at most `cap`
/// terms each (see [`super::expand`]).
pub(crate) fn translate(
    q: &Query,
    f: &Fields,
    searcher: &Searcher,
    cap: usize,
) -> Result<Option<Boxed>, IndexError> {
    match q {
        Query::And(children) => {
            let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
            for c in children {
                match c {
                    Query::Not(inner) => {
                        if let Some(t) = translate(inner, f, searcher, cap)? {
                            clauses.push((Occur::MustNot, t));
                        }
                    }
                    other => {
                        if let Some(t) = translate(other, f, searcher, cap)? {
                            clauses.push((Occur::Must, t));
                        }
                    }
                }
            }
            if clauses.is_empty() {
                return Ok(None);
            }
            if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Ok(Some(Box::new(BooleanQuery::new(clauses))))
        }
        Query::Or(children) => {
            let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
            for c in children {
                match translate(c, f, searcher, cap)? {
                    Some(t) => clauses.push((Occur::Should, t)),
                    // One unconstrained alternative makes the whole Or unconstrained.
                    None => return Ok(None),
                }
            }
            Ok(Some(Box::new(BooleanQuery::new(clauses))))
        }
        Query::Not(inner) => Ok(translate(inner, f, searcher, cap)?.map(|t| {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Boxed),
                (Occur::MustNot, t),
            ])) as Boxed
        })),
        Query::Term {
            field,
            value,
            phrase,
            wildcard,
        } if *wildcard && !*phrase => {
            let fields = targets(field, f);
            if fields.is_empty() {
                return Ok(Some(Box::new(EmptyQuery)));
            }
            wildcard_query(searcher, &fields, value, cap, f.stops)
        }
        Query::Term { field, value, .. } => text_term(&targets(field, f), value),
        Query::Has(HasKind::Attachment) => Ok(Some(raw_term(f.attachment, "any"))),
        // Objects found at indexing (`url`, `phone`); other kinds match nothing.
        Query::Has(HasKind::Object(o)) => Ok(Some(raw_term(f.objects, &o.to_lowercase()))),
        // LIMITATION: type: looks at attachment types only; Zimbra also indexes the types
        // of body parts.
        Query::Type(v) | Query::Attachment(v) => mime_query(f.attachment, v),
        Query::Date { field, op, value } if field.compares_header() => {
            // Relative and calendar values should arrive resolved in the caller's zone
            // (`query::resolve_dates`); any left are read at the current UTC time.
            Ok(Some(match value.bounds(*op, &chrono::Utc::now()) {
                None => Box::new(EmptyQuery),
                Some(b) => date_range(f.date, b.from_ms, b.until_ms),
            }))
        }
        _ => Ok(None),
    }
}

/// The index fields a text field searches. Bare words search the body and the main
/// headers, as Zimbra's default content field does.
pub(crate) fn targets(field: &TextField, f: &Fields) -> Vec<Field> {
    match field {
        TextField::Default => vec![f.content, f.subject, f.from, f.to, f.cc],
        TextField::Content => vec![f.content],
        TextField::Subject => vec![f.subject],
        TextField::From => vec![f.from],
        TextField::To => vec![f.to],
        TextField::Cc => vec![f.cc],
        TextField::ToFrom => vec![f.to, f.from],
        TextField::ToCc => vec![f.to, f.cc],
        TextField::FromCc => vec![f.from, f.cc],
        TextField::ToFromCc => vec![f.to, f.from, f.cc],
        TextField::MsgId => vec![f.msgid],
        TextField::Filename => vec![f.filename],
        TextField::EnvFrom => vec![f.env_from],
        TextField::EnvTo => vec![f.env_to],
        TextField::Author => vec![f.author],
        TextField::Title => vec![f.title],
        TextField::Keywords => vec![f.keywords],
        TextField::Company => vec![f.company],
        TextField::Metadata => vec![f.author, f.title, f.keywords, f.company],
        // Contact data and custom fields belong to contacts, which the caller searches
        // (`zcs-server`'s item search); messages have none.
        TextField::Contact | TextField::Field(_) => Vec::new(),
    }
}

/// A word or a quoted phrase: its query-mode tokens, as one term or a phrase.
fn text_term(fields: &[Field], value: &str) -> Result<Option<Boxed>, IndexError> {
    if fields.is_empty() {
        return Ok(Some(Box::new(EmptyQuery)));
    }

    // LIMITATION: a `*` inside quotes is not a wildcard (Zimbra's "quick" prefix phrase).
    let tokens = analyze(value, TokenMode::Query);
    if tokens.is_empty() {
        // Only punctuation: nothing to look for, so no constraint.
        return Ok(None);
    }
    let per_field = fields
        .iter()
        .map(|&field| {
            if tokens.len() == 1 {
                let term = Term::from_field_text(field, &tokens[0].text);
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Boxed
            } else {
                let terms = tokens
                    .iter()
                    .map(|t| (t.position, Term::from_field_text(field, &t.text)))
                    .collect();
                Box::new(PhraseQuery::new_with_offset(terms)) as Boxed
            }
        })
        .collect();
    Ok(Some(any_of(per_field)))
}

/// The tantivy query for "every word of `words` matches a token of one of `fields`";
/// `None` when `words` is empty (no constraint). Each word runs a regular expression
/// over each field's term dictionary (`WordMatch::regex`), then reads the postings of
/// the terms it accepts.
pub(crate) fn words_query(
    fields: &[TextField],
    words: &[WordMatch],
    f: &Fields,
) -> Result<Option<Boxed>, IndexError> {
    let mut targets_of: Vec<Field> = fields.iter().flat_map(|t| targets(t, f)).collect();
    targets_of.sort_unstable_by_key(|field| field.field_id());
    targets_of.dedup();
    if words.is_empty() {
        return Ok(None);
    }
    if targets_of.is_empty() {
        return Ok(Some(Box::new(EmptyQuery)));
    }
    let mut clauses: Vec<(Occur, Boxed)> = Vec::with_capacity(words.len());
    for w in words {
        let mut per_field = Vec::with_capacity(targets_of.len());
        for &field in &targets_of {
            let q: Boxed = Box::new(
                RegexQuery::from_pattern(&w.regex(), field)
                    .map_err(|e| IndexError::Query(format!("substring '{}': {e}", w.word())))?,
            );
            per_field.push(q);
        }
        clauses.push((Occur::Must, any_of(per_field)));
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

fn any_of(mut queries: Vec<Boxed>) -> Boxed {
    if queries.len() == 1
        && let Some(q) = queries.pop()
    {
        return q;
    }
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// Documents whose `field` (epoch milliseconds) lies in `[from, until)`.
fn date_range(field: Field, from: Option<i64>, until: Option<i64>) -> Boxed {
    if from.is_none() && until.is_none() {
        return Box::new(AllQuery);
    }
    let lower = from.map_or(Bound::Unbounded, |ms| {
        Bound::Included(Term::from_field_i64(field, ms))
    });
    let upper = until.map_or(Bound::Unbounded, |ms| {
        Bound::Excluded(Term::from_field_i64(field, ms))
    });
    Box::new(RangeQuery::new(lower, upper))
}

fn raw_term(field: Field, value: &str) -> Boxed {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// `type:`/`attachment:` values: a raw MIME type, a major type, `any`/`none`, a
/// wildcard (`image/*`), or one of Zimbra's friendly aliases.
fn mime_query(field: Field, value: &str) -> Result<Option<Boxed>, IndexError> {
    let v = value.trim().to_ascii_lowercase();
    if v.contains('*') {
        let regex = wildcard_query_to_regex_str(&v);
        let q = RegexQuery::from_pattern(&regex, field)
            .map_err(|e| IndexError::Query(format!("type '{value}': {e}")))?;
        return Ok(Some(Box::new(q)));
    }
    let types = mime_alias(&v);
    Ok(Some(any_of(
        types.iter().map(|t| raw_term(field, t)).collect(),
    )))
}

/// Zimbra's friendly MIME type names (query.md FRIENDLY_MIME_TYPE).
fn mime_alias(v: &str) -> Vec<String> {
    const WORD: &[&str] = &[
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-word.template.macroenabled.12",
    ];
    const EXCEL: &[&str] = &[
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-excel.template.macroenabled.12",
        "application/vnd.ms-excel.addin.macroenabled.12",
        "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    ];
    const PPT: &[&str] = &[
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.presentationml.template",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        "application/vnd.ms-powerpoint.addin.macroenabled.12",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
        "application/vnd.ms-powerpoint.slideshow.macroenabled.12",
    ];
    let list: &[&str] = match v {
        "word" | "msword" => WORD,
        "excel" | "xls" => EXCEL,
        "ppt" | "powerpoint" => PPT,
        "pdf" => &["application/pdf"],
        "ms-tnef" => &["application/ms-tnef"],
        "jpeg" => &["image/jpeg"],
        "gif" => &["image/gif"],
        "bmp" => &["image/bmp"],
        other => return vec![other.to_string()],
    };
    list.iter().map(|s| (*s).to_string()).collect()
}
