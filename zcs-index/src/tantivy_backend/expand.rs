//! Wildcard terms on tantivy: each pattern ([`Wildcard`]) is expanded against the term
//! dictionaries of the fields it searches, in every segment the searcher sees, and the
//! query becomes the union of those exact terms. Expansion stops at a term cap
//! ([`crate::wildcard::MAX_WILDCARD_TERMS`] unless configured otherwise): as in Zimbra,
//! the words past it are not searched (logged, without the query text).
//!
//! No regular expression is built from user text: expansion is the plain glob of
//! [`Wildcard::matches`].

use std::collections::BTreeSet;

use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query as TQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, TERMINATED, Term};

use super::schema::stop_term;
use crate::error::IndexError;
use crate::tokenizer::STOP_WORDS;
use crate::wildcard::{Wildcard, WildcardInfo};

type Boxed = Box<dyn TQuery>;

/// Up to this many expanded terms are scored one by one; more go into a set query.
const SCORED_TERMS: usize = 64;

/// The query for the wildcard `raw` over `fields`; `None` when it constrains nothing
/// (only `*`). `cap` bounds the terms expanded in total. A pattern that matches stop
/// words (`th*`, `a*`) also finds the documents whose field holds one of them, from
/// `stops` (stop words are not in the term dictionaries).
///
/// # Errors
/// [`IndexError::Tantivy`] when a term dictionary cannot be read.
pub(crate) fn wildcard_query(
    searcher: &Searcher,
    fields: &[Field],
    raw: &str,
    cap: usize,
    stops: Field,
) -> Result<Option<Boxed>, IndexError> {
    let Some(pattern) = Wildcard::parse(raw) else {
        return Ok(None);
    };
    let mut budget = cap;
    let mut alternatives: Vec<Boxed> = vec![terms_query(searcher, fields, &pattern, &mut budget)?];
    alternatives.extend(stop_query(searcher, fields, &pattern, stops));
    let pieces = pattern.word_pieces();
    if !pieces.is_empty() {
        // A `*` between pieces may also span words of one field (`try*wildca*` finds
        // "Trying to test wildcards"); the pieces have a cap of their own.
        alternatives.extend(spanning(searcher, fields, &pieces, cap, stops)?);
    }
    if alternatives.len() == 1 {
        return Ok(alternatives.pop());
    }
    Ok(Some(Box::new(BooleanQuery::new(
        alternatives
            .into_iter()
            .map(|q| (Occur::Should, q))
            .collect(),
    ))))
}

/// The documents whose `fields` hold a stop word `pattern` matches; `None` when it
/// matches none.
fn stop_query(
    searcher: &Searcher,
    fields: &[Field],
    pattern: &Wildcard,
    stops: Field,
) -> Option<Boxed> {
    let words: Vec<&str> = STOP_WORDS
        .iter()
        .copied()
        .filter(|w| pattern.matches(w))
        .collect();
    if words.is_empty() {
        return None;
    }
    let schema = searcher.schema();
    let terms: Vec<Term> = fields
        .iter()
        .flat_map(|&field| {
            let name = schema.get_field_name(field);
            words
                .iter()
                .map(move |w| Term::from_field_text(stops, &stop_term(name, w)))
        })
        .collect();
    Some(Box::new(TermSetQuery::new(terms)))
}

/// For each field, "every piece matches some word of this field" (a word of the
/// dictionary or a stop word the field holds), with its own budget of `cap` terms.
///
/// LIMITATION: neither the order nor the distance of the words is checked, so `f*x`
/// also finds a field holding "fog" and "box". (tantivy's `RegexPhraseQuery` would
/// check nearness, but in tantivy 0.27 it measured distance without direction and
/// matched a document whose words were seven positions apart with a slop of four when
/// a piece expanded to several terms; it is not used.)
fn spanning(
    searcher: &Searcher,
    fields: &[Field],
    pieces: &[Wildcard],
    cap: usize,
    stops: Field,
) -> Result<Vec<Boxed>, IndexError> {
    let mut budget = cap;
    let mut out: Vec<Boxed> = Vec::new();
    for &field in fields {
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        for piece in pieces {
            let words = terms_query(searcher, &[field], piece, &mut budget)?;
            let q: Boxed = match stop_query(searcher, &[field], piece, stops) {
                Some(s) => Box::new(BooleanQuery::new(vec![
                    (Occur::Should, words),
                    (Occur::Should, s),
                ])),
                None => words,
            };
            clauses.push((Occur::Must, q));
        }
        if !clauses.is_empty() {
            out.push(Box::new(BooleanQuery::new(clauses)));
        }
    }
    Ok(out)
}

/// The union of the terms of `fields` matching `pattern`, charged to `budget`.
fn terms_query(
    searcher: &Searcher,
    fields: &[Field],
    pattern: &Wildcard,
    budget: &mut usize,
) -> Result<Boxed, IndexError> {
    let mut terms: Vec<Term> = Vec::new();
    for &field in fields {
        for text in expand(searcher, field, pattern, budget)?.0 {
            terms.push(Term::from_field_text(field, &text));
        }
    }
    Ok(match terms.len() {
        0 => Box::new(EmptyQuery),
        1..=SCORED_TERMS => Box::new(BooleanQuery::new(
            terms
                .into_iter()
                .map(|t| {
                    let q: Boxed = Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs));
                    (Occur::Should, q)
                })
                .collect(),
        )),
        _ => Box::new(TermSetQuery::new(terms)),
    })
}

/// The distinct terms of `field` matching `pattern` in any segment, taking each new one
/// from `budget`, and whether every matching term fit in it. Reads the dictionary from
/// the pattern's literal prefix on, so `foo*` reads only the `foo` range while `*foo`
/// reads the whole dictionary.
fn expand(
    searcher: &Searcher,
    field: Field,
    pattern: &Wildcard,
    budget: &mut usize,
) -> Result<(BTreeSet<String>, bool), IndexError> {
    let prefix = pattern.literal_prefix();
    let mut found = BTreeSet::new();
    let mut complete = true;
    walk_terms_with_prefix(searcher, field, &prefix, |text| {
        if !pattern.matches(text) || found.contains(text) {
            return true;
        }
        if *budget == 0 {
            tracing::info!(
                terms = found.len(),
                "wildcard expanded to the term cap; further matching words not searched \
                 (zimbra_index_wildcard_max_terms_expanded)"
            );
            complete = false;
            return false;
        }
        *budget -= 1;
        found.insert(text.to_string());
        true
    })?;
    Ok((found, complete))
}

/// How the wildcard `raw` over `fields` expands in one mailbox, for the query info of a
/// search: the words it stands for that occur in a live document of the mailbox
/// (`mailbox`, the term every document of it carries), and whether the expansion
/// reached every matching word of the index within `cap`. `None` for `*` and for a
/// pattern that can match a stop word (the stop words a mailbox holds are not words of
/// its dictionary, so a count would mislead).
///
/// Words of other mailboxes sharing the index are never counted, so the number says
/// nothing about them.
///
/// # Errors
/// [`IndexError::Tantivy`] when a term dictionary or posting list cannot be read.
pub(crate) fn expansion_info(
    searcher: &Searcher,
    fields: &[Field],
    raw: &str,
    cap: usize,
    mailbox: &Term,
) -> Result<Option<WildcardInfo>, IndexError> {
    let Some(pattern) = Wildcard::parse(raw) else {
        return Ok(None);
    };
    if pattern.matches_stop_word() {
        return Ok(None);
    }
    let mut budget = cap;
    let mut complete = true;
    let mut words: BTreeSet<String> = BTreeSet::new();
    for &field in fields {
        let (found, all) = expand(searcher, field, &pattern, &mut budget)?;
        complete &= all;
        for text in found {
            if words.contains(&text) {
                continue;
            }
            let term = Term::from_field_text(field, &text);
            let found = in_mailbox(searcher, &term, mailbox).map_err(|e| IndexError::Tantivy {
                step: "read postings",
                source: e.into(),
            })?;
            if found {
                words.insert(text);
            }
        }
    }
    Ok(Some(WildcardInfo {
        pattern: raw.to_lowercase(),
        expanded: words.len(),
        all: complete,
    }))
}

/// Whether `term` occurs in a live document that also holds `mailbox`.
fn in_mailbox(searcher: &Searcher, term: &Term, mailbox: &Term) -> std::io::Result<bool> {
    Ok(count_in_mailbox(searcher, term, mailbox, 1)? > 0)
}

/// How many live documents hold both `term` and `mailbox`, counting up to `stop`.
pub(crate) fn count_in_mailbox(
    searcher: &Searcher,
    term: &Term,
    mailbox: &Term,
    stop: u64,
) -> std::io::Result<u64> {
    let mut n = 0;
    for segment in searcher.segment_readers() {
        let Some(mut docs) = segment
            .inverted_index(term.field())
            .map_err(std::io::Error::other)?
            .read_postings(term, IndexRecordOption::Basic)?
        else {
            continue;
        };
        let Some(mut mine) = segment
            .inverted_index(mailbox.field())
            .map_err(std::io::Error::other)?
            .read_postings(mailbox, IndexRecordOption::Basic)?
        else {
            continue;
        };
        let alive = segment.alive_bitset();
        // Both lists are sorted: walk them together.
        while docs.doc() != TERMINATED && mine.doc() != TERMINATED {
            let (d, m) = (docs.doc(), mine.doc());
            if d == m {
                if alive.is_none_or(|a| a.is_alive(d)) {
                    n += 1;
                    if n >= stop {
                        return Ok(n);
                    }
                }
                docs.advance();
            } else if d < m {
                docs.seek(m);
            } else {
                mine.seek(d);
            }
        }
    }
    Ok(n)
}

/// Every term of `field` in any segment starting with `prefix`, in dictionary order.
///
/// # Errors
/// [`IndexError::Tantivy`] when a term dictionary cannot be read.
pub(crate) fn terms_with_prefix(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
) -> Result<BTreeSet<String>, IndexError> {
    let mut found = BTreeSet::new();
    walk_terms_with_prefix(searcher, field, prefix, |text| {
        found.insert(text.to_string());
        true
    })?;
    Ok(found)
}

/// Calls `visit` with every UTF-8 term of `field` starting with `prefix`, segment by
/// segment, each segment's in dictionary order (a term in several segments comes once
/// per segment); stops when `visit` returns false.
///
/// # Errors
/// [`IndexError::Tantivy`] when a term dictionary cannot be read.
fn walk_terms_with_prefix(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
    mut visit: impl FnMut(&str) -> bool,
) -> Result<(), IndexError> {
    for segment in searcher.segment_readers() {
        let inverted = segment
            .inverted_index(field)
            .map_err(IndexError::tantivy("read term dictionary"))?;
        let mut stream = inverted
            .terms()
            .range()
            .ge(prefix.as_bytes())
            .into_stream()
            .map_err(|e| IndexError::Tantivy {
                step: "read term dictionary",
                source: e.into(),
            })?;
        while stream.advance() {
            let key = stream.key();
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            if let Ok(text) = std::str::from_utf8(key)
                && !visit(text)
            {
                return Ok(());
            }
        }
    }
    Ok(())
}
