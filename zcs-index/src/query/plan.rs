//! The planner: splits a [`Query`] into the parts the full-text index answers and the
//! parts the caller checks against item metadata (folder, flags, tags, dates, sizes).
//!
//! A caller runs each [`Plan::Index`] node through `IndexBackend::search` (one set of
//! item ids per node), then walks the plan per candidate item with [`Plan::matches`].
//!
//! Message dates (`date:`, `after:`, `before:`, `day:` ... `year:`) compare the `Date`
//! header, as Zimbra's item date of delivered mail is the header's date: the index
//! answers them from the date it recorded at extraction. A message without a usable
//! `Date` header (recorded as the epoch, [`no_date_header`]) is compared on its item
//! date instead, so each such leaf plans as
//! `Or(Index(leaf -no_date_header), And(Index(no_date_header), State(leaf)))`.

use super::{Comparison, DateField, DateValue, Query};

/// A query rearranged for execution. Index subtrees are as large as possible, so
/// `foo -bar in:inbox` costs one index search (`foo -bar`) plus a folder check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// No condition: every item matches (a query made only of `sort:`).
    All,
    /// A subtree made only of index leaves (text, `type:`, `attachment:`, `has:`, and
    /// message dates compared on the `Date` header);
    /// negations appear inside only beside a positive term, so the index can answer it
    /// without knowing every item of the mailbox.
    Index(Query),
    /// One structured leaf for the caller: `in:`, `is:`, `tag:`, `date:`, `size:`, ...
    State(Query),
    /// Every child matches.
    And(Vec<Plan>),
    /// Some child matches.
    Or(Vec<Plan>),
    /// Items of the caller's universe that do not match the child.
    Not(Box<Plan>),
}

/// Plans `query`. `sort:` clauses are dropped (read them with [`Query::sort`]).
pub fn plan(query: &Query) -> Plan {
    match query {
        Query::Sort(_) => Plan::All,
        Query::Not(inner) => match plan(inner) {
            // A negated sort clause is still only a sort clause.
            Plan::All => Plan::All,
            Plan::Not(p) => *p,
            p => Plan::Not(Box::new(p)),
        },
        Query::And(children) => plan_and(children.iter().map(plan).collect()),
        Query::Or(children) => plan_or(children.iter().map(plan).collect()),
        leaf @ Query::Date { field, .. } if field.compares_header() => Plan::Or(vec![
            // The recorded epoch stands for "no header", never for a date in 1970: a
            // `before:` (or the upper half of a resolved `date:`) must not take it.
            Plan::Index(Query::And(vec![
                leaf.clone(),
                Query::Not(Box::new(no_date_header())),
            ])),
            Plan::And(vec![
                Plan::Index(no_date_header()),
                Plan::State(leaf.clone()),
            ]),
        ]),
        leaf if leaf.is_index_leaf() => Plan::Index(leaf.clone()),
        leaf => Plan::State(leaf.clone()),
    }
}

/// The index leaf selecting messages whose `Date` header is missing or unreadable: the
/// extractor records those at the epoch (0 ms), so this is the first second of 1970.
pub fn no_date_header() -> Query {
    Query::Date {
        field: DateField::Date,
        op: Comparison::Eq,
        value: DateValue::Millis(0),
    }
}

fn plan_and(parts: Vec<Plan>) -> Plan {
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    let mut rest = Vec::new();
    for p in parts {
        match p {
            Plan::All => {}
            Plan::Index(q) => positive.push(q),
            Plan::Not(inner) => match *inner {
                Plan::Index(q) => negative.push(q),
                other => rest.push(Plan::Not(Box::new(other))),
            },
            Plan::And(v) => rest.extend(v),
            other => rest.push(other),
        }
    }

    let mut out = Vec::new();
    if positive.is_empty() {
        out.extend(
            negative
                .into_iter()
                .map(|q| Plan::Not(Box::new(Plan::Index(q)))),
        );
    } else {
        let mut qs = positive;
        qs.extend(negative.into_iter().map(|q| Query::Not(Box::new(q))));
        out.push(Plan::Index(join(qs, false)));
    }
    out.extend(rest);
    match out.len() {
        0 => Plan::All,
        1 => out.pop().unwrap_or(Plan::All),
        _ => Plan::And(out),
    }
}

fn plan_or(parts: Vec<Plan>) -> Plan {
    if parts.contains(&Plan::All) {
        return Plan::All;
    }
    let mut index = Vec::new();
    let mut out = Vec::new();
    for p in parts {
        match p {
            Plan::Index(q) => index.push(q),
            // A nested alternative's index parts join this one's.
            Plan::Or(v) => {
                for x in v {
                    match x {
                        Plan::Index(q) => index.push(q),
                        other => out.push(other),
                    }
                }
            }
            other => out.push(other),
        }
    }
    if !index.is_empty() {
        out.insert(0, Plan::Index(join(index, true)));
    }
    match out.len() {
        1 => out.pop().unwrap_or(Plan::All),
        _ => Plan::Or(out),
    }
}

/// One query from several, flattening children of the same kind.
fn join(mut qs: Vec<Query>, or: bool) -> Query {
    if qs.len() == 1 {
        return qs.pop().unwrap_or(Query::And(Vec::new()));
    }
    let mut out = Vec::new();
    for q in qs {
        match q {
            Query::Or(v) if or => out.extend(v),
            Query::And(v) if !or => out.extend(v),
            other => out.push(other),
        }
    }
    if or { Query::Or(out) } else { Query::And(out) }
}

impl Plan {
    /// Whether one item matches: `index` says whether the item is among the hits of an
    /// [`Plan::Index`] query, `state` whether it satisfies a [`Plan::State`] leaf.
    pub fn matches(
        &self,
        index: &mut dyn FnMut(&Query) -> bool,
        state: &mut dyn FnMut(&Query) -> bool,
    ) -> bool {
        match self {
            Plan::All => true,
            Plan::Index(q) => index(q),
            Plan::State(q) => state(q),
            Plan::And(v) => v.iter().all(|p| p.matches(index, state)),
            Plan::Or(v) => v.iter().any(|p| p.matches(index, state)),
            Plan::Not(p) => !p.matches(index, state),
        }
    }

    /// The index queries in this plan, in order: what the caller must search.
    pub fn index_queries(&self) -> Vec<&Query> {
        let mut out = Vec::new();
        self.collect_index(&mut out);
        out
    }

    fn collect_index<'a>(&'a self, out: &mut Vec<&'a Query>) {
        match self {
            Plan::Index(q) => out.push(q),
            Plan::And(v) | Plan::Or(v) => v.iter().for_each(|p| p.collect_index(out)),
            Plan::Not(p) => p.collect_index(out),
            Plan::All | Plan::State(_) => {}
        }
    }
}
