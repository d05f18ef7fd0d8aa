//! zcs index: the [`IndexBackend`] seam and its tantivy implementation, Zimbra's search
//! query language ([`query`]), text extraction from MIME messages ([`extract`]) and the
//! tokeniser they share ([`tokenizer`], after the character folding of [`fold`]).
//!
//! The crate takes documents, never mailboxes: it does not read the store. A typical
//! flow is: `document_from_message` at delivery, `IndexBackend::index` then `commit`;
//! at search time `query::parse`, `query::plan`, one `IndexBackend::search` per
//! `Plan::Index` node, and the caller's own checks for `Plan::State` leaves.
//!
//! Bare words (no field) search the body content, the subject and the From/To/Cc
//! headers: Zimbra's default `content` field holds the body together with those
//! headers, so a bare name or address finds the mail it appears on.

pub mod backend;
pub mod error;
pub mod extract;
pub mod fold;
pub mod query;
pub mod substring;
pub mod tantivy_backend;
pub mod tokenizer;
pub mod wildcard;

pub use backend::{BrowseBy, BrowseTerm, DocMetadata, IndexBackend, IndexDocument, SearchOrder};
pub use error::IndexError;
pub use extract::document_from_message;
pub use query::{Query, QueryParseError};
pub use substring::{SubstringPlan, WordMatch, substring_plan};
pub use tantivy_backend::{IndexOptions, TantivyIndex};
pub use wildcard::{MAX_WILDCARD_TERMS, Wildcard, WildcardInfo};
