//! Zimbra's search query language (`store/docs/query.md`, wire reference §1.8): the AST,
//! its canonical printing, the parser ([`parse`]) and the planner ([`plan`]) that splits
//! what the full-text index answers from what the caller checks against item metadata.
//!
//! The AST keeps values as the user wrote them (folder names, tag names, raw text);
//! analysing text into index terms is the backend's job, resolving folders and relative
//! dates is the caller's.

mod display;
mod parser;
mod plan;
mod resolve;
mod values;

#[cfg(test)]
mod tests;

pub use parser::{QueryParseError, parse};
pub use plan::{Plan, no_date_header, plan};
pub use resolve::resolve_dates;
pub use values::{DateBounds, DateUnit, DateValue};

use zcs_core::{ItemId, folder};

/// A parsed query. Boolean nodes never hold fewer than two children and never hold a
/// child of their own kind (the parser flattens `a (b c)` to one `And`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// All children must match (juxtaposition, `and`, `&&`).
    And(Vec<Query>),
    /// Any child may match (`or`, `||`).
    Or(Vec<Query>),
    /// The child must not match (`not`, `-`, `!`).
    Not(Box<Query>),
    /// Full-text search of `value` in `field`. `phrase` when the value was quoted;
    /// `wildcard` when an unquoted value is a wildcard pattern ([`crate::wildcard::is_wildcard`]:
    /// `foo*`, `*ouser`, `to*er*`, `f?x`); [`crate::wildcard`] says what it matches.
    Term {
        field: TextField,
        value: String,
        phrase: bool,
        wildcard: bool,
    },
    /// `in:` a folder by name or path (`inbox`, `"sent"`, `/a/b`); resolved by the caller.
    In(String),
    /// `under:` a folder and all its descendants.
    Under(String),
    /// `inid:` a folder by id (`2`, or `id/sub/path`).
    InId(String),
    /// `underid:` a folder by id and its descendants.
    UnderId(String),
    /// `is:` a built-in state.
    Is(IsFlag),
    /// `has:attachment` or `has:<object type>`.
    Has(HasKind),
    /// `type:` the MIME type (or alias such as `word`, `pdf`, `image`) of a part.
    Type(String),
    /// `attachment:` the MIME type (or alias) of an attachment.
    Attachment(String),
    /// `tag:` a tag name, or a flag spelled `\Flagged`, `\Unread`, ...
    Tag(String),
    /// `priority:high|low|normal` (the `X-Priority`/`Importance` header).
    Priority(Priority),
    /// Date comparisons: `date:`, `after:` (`date:>`), `before:` (`date:<`), `mdate:`,
    /// `day:`... with an optional `<`, `<=`, `>`, `>=` prefix.
    Date {
        field: DateField,
        op: Comparison,
        value: DateValue,
    },
    /// `size:`, `larger:`/`bigger:` (`>`), `smaller:` (`<`), in bytes.
    Size { op: Comparison, bytes: u64 },
    /// `subject:<foo`, `from:>=bar`: an ordering comparison on the whole header value.
    TextRange {
        field: RangeField,
        op: Comparison,
        value: String,
    },
    /// `item:` ids.
    Item(ItemSet),
    /// `message:` a message id.
    Message(ItemId),
    /// `conv:` a conversation id (negative for a single-message virtual conversation).
    Conv(i32),
    /// `conv-count:` number of messages in the conversation.
    ConvCount { op: Comparison, count: u32 },
    /// `conv-minm:` at least this many messages in the conversation.
    ConvMinM(u32),
    /// `conv-maxm:` at most this many messages in the conversation.
    ConvMaxM(u32),
    /// `modseq:` a change number comparison.
    Modseq { op: Comparison, value: i64 },
    /// `my:` a saved search (Zimbra never implemented it; kept for the caller to refuse).
    My(String),
    /// `sort:`/`sortby:`: not a filter; overrides the request's sort order.
    Sort(String),
}

/// The folder id Zimbra's `in:`/`under:` shortcuts name (`inbox`, `trash`, `junk`,
/// `sent`, `drafts`, `contacts`, any case; a leading `/` is allowed). Other values are
/// folder names or paths for the caller to resolve.
pub fn system_folder_id(name: &str) -> Option<i32> {
    let n = name.strip_prefix('/').unwrap_or(name).to_ascii_lowercase();
    Some(match n.as_str() {
        "inbox" => folder::INBOX,
        "trash" => folder::TRASH,
        "junk" => folder::JUNK,
        "sent" => folder::SENT,
        "drafts" => folder::DRAFTS,
        "contacts" => folder::CONTACTS,
        _ => return None,
    })
}

/// The text fields a [`Query::Term`] can search.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TextField {
    /// A bare word: searches the body content plus subject and addresses (see the crate
    /// documentation for the choice).
    Default,
    /// `content:` the body text (all text parts, HTML text, nested messages).
    Content,
    /// `subject:`.
    Subject,
    /// `from:` sender names and addresses.
    From,
    /// `to:` recipient names and addresses.
    To,
    /// `cc:` copied names and addresses.
    Cc,
    /// `tofrom:` To or From.
    ToFrom,
    /// `tocc:` To or Cc.
    ToCc,
    /// `fromcc:` From or Cc.
    FromCc,
    /// `tofromcc:` To, From or Cc.
    ToFromCc,
    /// `msgid:` the Message-ID header.
    MsgId,
    /// `envto:` envelope recipient (X-Envelope-To).
    EnvTo,
    /// `envfrom:` envelope sender (X-Envelope-From).
    EnvFrom,
    /// `contact:` contact data (contact picker).
    Contact,
    /// `filename:` attachment file names.
    Filename,
    /// `author:` document metadata of an attachment.
    Author,
    /// `title:` document metadata of an attachment.
    Title,
    /// `keywords:` document metadata of an attachment.
    Keywords,
    /// `company:` document metadata of an attachment.
    Company,
    /// `metadata:` any document metadata of an attachment.
    Metadata,
    /// `#name:` or `field[name]:` structured contact/document data.
    Field(String),
}

/// Fields that allow ordering comparisons on the whole header value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeField {
    /// `subject:<x`, `subject:>=x`.
    Subject,
    /// `from:<x`, `from:>=x`.
    From,
}

/// Comparison operator of date, size and count terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// No prefix: equal to / within the period.
    Eq,
    /// `<`: before / smaller.
    Lt,
    /// `<=`: up to and including.
    Le,
    /// `>`: after / larger.
    Gt,
    /// `>=`: from and including.
    Ge,
}

/// Which date a [`Query::Date`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateField {
    /// The item date (`date:`, `after:`, `before:`).
    Date,
    /// The modification date (`mdate:`).
    MDate,
    /// `day:`.
    Day,
    /// `week:`.
    Week,
    /// `month:`.
    Month,
    /// `year:`.
    Year,
    /// `appt-start:` start of an appointment.
    ApptStart,
    /// `appt-end:` end of an appointment.
    ApptEnd,
    /// `conv-start:` date of a conversation's first message.
    ConvStart,
    /// `conv-end:` date of a conversation's last message.
    ConvEnd,
}

impl DateField {
    /// Whether this field compares a message's sent date (its `Date` header), which the
    /// index records: `date:`, `after:`, `before:`, `day:`, `week:`, `month:`, `year:`.
    /// The others (`mdate:`, appointment and conversation dates) are item metadata.
    pub fn compares_header(self) -> bool {
        matches!(
            self,
            DateField::Date | DateField::Day | DateField::Week | DateField::Month | DateField::Year
        )
    }
}

/// `is:` values (Zimbra's built-in queries); [`IsFlag::ALL`] lists their spellings.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IsFlag {
    Anywhere,
    Unread,
    Read,
    Flagged,
    Unflagged,
    Draft,
    Sent,
    Received,
    Replied,
    Unreplied,
    Forwarded,
    Unforwarded,
    Invite,
    Solo,
    ToMe,
    FromMe,
    CcMe,
    ToFromMe,
    ToCcMe,
    FromCcMe,
    ToFromCcMe,
    Local,
    Remote,
}

impl IsFlag {
    /// Every flag with its query spelling.
    pub const ALL: [(IsFlag, &'static str); 23] = [
        (IsFlag::Anywhere, "anywhere"),
        (IsFlag::Unread, "unread"),
        (IsFlag::Read, "read"),
        (IsFlag::Flagged, "flagged"),
        (IsFlag::Unflagged, "unflagged"),
        (IsFlag::Draft, "draft"),
        (IsFlag::Sent, "sent"),
        (IsFlag::Received, "received"),
        (IsFlag::Replied, "replied"),
        (IsFlag::Unreplied, "unreplied"),
        (IsFlag::Forwarded, "forwarded"),
        (IsFlag::Unforwarded, "unforwarded"),
        (IsFlag::Invite, "invite"),
        (IsFlag::Solo, "solo"),
        (IsFlag::ToMe, "tome"),
        (IsFlag::FromMe, "fromme"),
        (IsFlag::CcMe, "ccme"),
        (IsFlag::ToFromMe, "tofromme"),
        (IsFlag::ToCcMe, "toccme"),
        (IsFlag::FromCcMe, "fromccme"),
        (IsFlag::ToFromCcMe, "tofromccme"),
        (IsFlag::Local, "local"),
        (IsFlag::Remote, "remote"),
    ];

    /// The spelling after `is:`.
    pub fn as_str(self) -> &'static str {
        IsFlag::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, s)| s)
    }

    /// Parses a value after `is:`, case-insensitively.
    pub fn from_name(name: &str) -> Option<IsFlag> {
        IsFlag::ALL
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }
}

/// `has:` values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HasKind {
    /// `has:attachment`.
    Attachment,
    /// `has:phone`, `has:url`, ...: objects found in the text (lower-cased).
    Object(String),
}

/// `priority:` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Priority {
    /// `priority:high`.
    High,
    /// `priority:low`.
    Low,
    /// `priority:normal`: neither high nor low.
    Normal,
}

/// `item:` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemSet {
    /// `item:all`.
    All,
    /// `item:none`.
    None,
    /// `item:5` or `item:{1,2,3}`.
    Ids(Vec<ItemId>),
    /// `item:{1--5}`, both ends included.
    Range { from: ItemId, to: ItemId },
}

impl Query {
    /// True for a leaf the full-text index answers: text terms, `type:`, `attachment:`
    /// and `has:` (Zimbra keeps attachment types and objects in the index too).
    pub fn is_index_leaf(&self) -> bool {
        matches!(
            self,
            Query::Term { .. } | Query::Type(_) | Query::Attachment(_) | Query::Has(_)
        )
    }

    /// True for a leaf the caller checks against item metadata (folders, flags, tags,
    /// dates, sizes, ids, conversations, change numbers).
    pub fn is_state_leaf(&self) -> bool {
        !self.is_index_leaf()
            && !matches!(
                self,
                Query::And(_) | Query::Or(_) | Query::Not(_) | Query::Sort(_)
            )
    }

    /// The sort order a `sort:`/`sortby:` clause asks for (the last one wins).
    pub fn sort(&self) -> Option<&str> {
        match self {
            Query::Sort(s) => Some(s),
            Query::And(v) | Query::Or(v) => v.iter().rev().find_map(Query::sort),
            Query::Not(q) => q.sort(),
            _ => None,
        }
    }
}
