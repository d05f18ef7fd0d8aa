//! The tantivy schema of the shared index: one document per (mailbox, item), a mailbox
//! field every search is filtered on, tokenised text fields, and fast fields for
//! ordering and id retrieval.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use zcs_core::{ItemId, MailboxId};

use crate::backend::IndexDocument;
use crate::error::IndexError;
use crate::extract::objects_in;
use crate::tokenizer::{INDEX_TOKENIZER, stop_words_in, stop_words_of};

pub(crate) const KEY: &str = "key";
pub(crate) const MAILBOX: &str = "mailbox";
pub(crate) const ITEM: &str = "item";
pub(crate) const KIND: &str = "kind";
pub(crate) const DATE: &str = "date_ms";
pub(crate) const SIZE: &str = "size";
pub(crate) const ATTACHMENT: &str = "attachment";
pub(crate) const OBJECTS: &str = "objects";
pub(crate) const STOPS: &str = "stops";

/// Text fields, tokenised by [`INDEX_TOKENIZER`] with positions (for phrases).
const TEXT_FIELDS: [&str; 13] = [
    "content", "subject", "from", "to", "cc", "filename", "msgid", "env_from", "env_to", "author",
    "title", "keywords", "company",
];

/// Handles on the schema's fields.
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    /// `"<mailbox>:<item>"`, the unique key used to replace and delete documents.
    pub key: Field,
    pub mailbox: Field,
    pub item: Field,
    pub kind: Field,
    pub date: Field,
    pub size: Field,
    pub content: Field,
    pub subject: Field,
    pub from: Field,
    pub to: Field,
    pub cc: Field,
    pub filename: Field,
    pub msgid: Field,
    /// Attachment MIME types, their major types, and `any`/`none` (Zimbra's
    /// `l.attachments` convention, so `has:attachment` is `attachment:any`).
    pub attachment: Field,
    /// Kinds of object found in the subject and text (`url`, `phone`), for `has:`.
    pub objects: Field,
    /// `X-Envelope-From` (`envfrom:`).
    pub env_from: Field,
    /// `X-Envelope-To` (`envto:`).
    pub env_to: Field,
    /// Attachment authors (`author:`).
    pub author: Field,
    /// Attachment titles (`title:`).
    pub title: Field,
    /// Attachment keywords (`keywords:`).
    pub keywords: Field,
    /// Attachment companies (`company:`).
    pub company: Field,
    /// The stop words each text field holds, as `<field name>:<word>` (see
    /// [`stop_term`]): stop words are not indexed as words, so a wildcard that matches
    /// one (`th*`) looks here for the documents holding it.
    pub stops: Field,
}

/// The schema every zcs index uses. Changing it requires a reindex.
pub(crate) fn build_schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field(KEY, STRING);
    b.add_i64_field(MAILBOX, INDEXED | FAST);
    b.add_i64_field(ITEM, FAST);
    b.add_text_field(KIND, STRING);
    b.add_i64_field(DATE, FAST);
    b.add_u64_field(SIZE, FAST);
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(INDEX_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    for name in TEXT_FIELDS {
        b.add_text_field(name, text.clone());
    }
    b.add_text_field(ATTACHMENT, STRING);
    b.add_text_field(OBJECTS, STRING);
    b.add_text_field(STOPS, STRING);
    b.build()
}

impl Fields {
    /// Looks the fields up in `schema` (which must come from [`build_schema`]).
    pub fn resolve(schema: &Schema) -> Result<Fields, IndexError> {
        let get = |name: &str| {
            schema
                .get_field(name)
                .map_err(IndexError::tantivy("resolve schema"))
        };
        Ok(Fields {
            key: get(KEY)?,
            mailbox: get(MAILBOX)?,
            item: get(ITEM)?,
            kind: get(KIND)?,
            date: get(DATE)?,
            size: get(SIZE)?,
            content: get("content")?,
            subject: get("subject")?,
            from: get("from")?,
            to: get("to")?,
            cc: get("cc")?,
            filename: get("filename")?,
            msgid: get("msgid")?,
            attachment: get(ATTACHMENT)?,
            objects: get(OBJECTS)?,
            env_from: get("env_from")?,
            env_to: get("env_to")?,
            author: get("author")?,
            title: get("title")?,
            keywords: get("keywords")?,
            company: get("company")?,
            stops: get(STOPS)?,
        })
    }

    /// The tantivy document for `doc` in `mailbox`.
    pub fn document(&self, mailbox: MailboxId, doc: &IndexDocument) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(self.key, key(mailbox, doc.item));
        d.add_i64(self.mailbox, mailbox.0);
        d.add_i64(self.item, i64::from(doc.item.0));
        d.add_text(self.kind, &doc.kind);
        d.add_i64(self.date, doc.date_ms);
        d.add_u64(self.size, doc.size);

        let meta = &doc.metadata;
        for (field, name, text) in [
            (self.content, "content", &doc.content),
            (self.subject, "subject", &doc.subject),
            (self.from, "from", &doc.from),
            (self.to, "to", &doc.to),
            (self.cc, "cc", &doc.cc),
            (self.env_from, "env_from", &doc.env_from),
            (self.env_to, "env_to", &doc.env_to),
            (self.author, "author", &meta.author),
            (self.title, "title", &meta.title),
            (self.keywords, "keywords", &meta.keywords),
            (self.company, "company", &meta.company),
        ] {
            if !text.is_empty() {
                d.add_text(field, text);
                self.add_stops(&mut d, name, stop_words_in(text));
            }
        }
        let mut stops = 0;
        for name in &doc.filenames {
            d.add_text(self.filename, name);
            stops |= stop_words_in(name);
        }
        self.add_stops(&mut d, "filename", stops);
        if let Some(id) = &doc.message_id {
            d.add_text(self.msgid, id);
        }

        let mut types = Vec::new();
        for t in &doc.attachment_types {
            let t = t
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if t.is_empty() {
                continue;
            }
            if let Some((major, _)) = t.split_once('/') {
                types.push(major.to_string());
            }
            types.push(t);
        }
        types.push(if types.is_empty() { "none" } else { "any" }.to_string());
        types.sort();
        types.dedup();
        for t in types {
            d.add_text(self.attachment, t);
        }
        let mut objects = objects_in(&doc.subject);
        for o in objects_in(&doc.content) {
            if !objects.contains(&o) {
                objects.push(o);
            }
        }
        for o in objects {
            d.add_text(self.objects, o);
        }
        d
    }
}

impl Fields {
    fn add_stops(&self, d: &mut TantivyDocument, field: &str, mask: u64) {
        for word in stop_words_of(mask) {
            d.add_text(self.stops, stop_term(field, word));
        }
    }
}

/// The term of [`Fields::stops`] saying that the text field named `field` holds the
/// stop word `word`.
pub(crate) fn stop_term(field: &str, word: &str) -> String {
    format!("{field}:{word}")
}

/// The unique key of an item's document.
pub(crate) fn key(mailbox: MailboxId, item: ItemId) -> String {
    format!("{}:{}", mailbox.0, item.0)
}
