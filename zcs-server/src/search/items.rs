//! Contacts, appointments and tasks (`SearchRequest types=contact|appointment|task`).
//! A mailbox holds few of them next to its mail, so they are matched in memory: each
//! item's text is tokenised by the index's own analyzer (so words, addresses, case and
//! CJK behave as in mail search) and the whole query is evaluated per item, text and
//! state alike. Store changes are seen at once; nothing needs reindexing.
//!
//! A search for contacts alone reads a bare one-word term as a prefix, as Zimbra's
//! contact-data field does ([`contact_prefixes`]); every wildcard term is reported with
//! the number of words it stood for ([`ItemResults::wildcards`]).
//!
//! Text fields per kind: a contact's bare words search every attribute; `contact:` its
//! names, e-mail addresses and company; `company:` the company; `to:`/`from:`/`cc:` its
//! addresses; `field[name]:`/`#name:` one attribute. An appointment's or task's bare
//! words search its summary, description, location, organizer and attendees;
//! `subject:` the summary; `from:` the organizer; `to:` the attendees.

use std::collections::{HashMap, HashSet};

use zcs_core::{Flags, ItemId, folder};
use zcs_index::WildcardInfo;
use zcs_index::query::{
    self, Comparison, DateField, HasKind, IsFlag, ItemSet, Priority, Query, TextField,
};
use zcs_index::tokenizer::{TokenMode, analyze};
use zcs_store::{CalItem, Contact, Folder, Mailbox};

use super::{SearchError, SortBy};

mod contacts;
mod order;

pub use contacts::contact_prefixes;
use contacts::{contact_data, wildcard_counts};

/// The item kinds this module searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// Contacts and contact groups.
    Contact,
    /// Appointments.
    Appointment,
    /// Tasks.
    Task,
}

/// What to search and which page to return.
#[derive(Clone, Debug)]
pub struct ItemParams {
    /// The kinds wanted.
    pub kinds: Vec<ItemKind>,
    /// The request's `sortBy` (a query's `sort:` overrides it): names, dates, ids and
    /// the task orders (`order`); contacts default to name order, calendar items to
    /// start order; a name that is no order is `dateDesc`, as in Zimbra.
    pub sort: Option<String>,
    /// Matches to skip.
    pub offset: usize,
    /// Most hits to return.
    pub limit: usize,
    /// `calExpandInstStart`/`calExpandInstEnd` (ms): only calendar items with an
    /// instance overlapping `[start, end)` match, with those instances reported.
    pub window: Option<(i64, i64)>,
    /// Clock and zone for relative dates.
    pub now: super::zone::Clock,
}

impl Default for ItemParams {
    fn default() -> Self {
        ItemParams {
            kinds: vec![ItemKind::Contact],
            sort: None,
            offset: 0,
            limit: 100,
            window: None,
            now: super::zone::utc_now(),
        }
    }
}

/// One matching item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemHit {
    /// A contact or contact group.
    Contact(Contact),
    /// An appointment or task, with its instances in the window (empty without one).
    Cal(CalItem, Vec<(i64, i64)>),
}

impl ItemHit {
    /// The item id.
    pub fn id(&self) -> ItemId {
        match self {
            ItemHit::Contact(c) => c.id,
            ItemHit::Cal(c, _) => c.id,
        }
    }
}

/// One page of item results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemResults {
    /// The page, in order.
    pub hits: Vec<ItemHit>,
    /// All matches.
    pub total: usize,
    /// Whether matches remain past this page.
    pub more: bool,
    /// The order applied, in Zimbra's spelling.
    pub sort: String,
    /// How each wildcard term of the query expanded over the items searched, for the
    /// response's query info.
    pub wildcards: Vec<WildcardInfo>,
}

/// Runs `query` over the contacts, appointments and tasks of `mailbox` (as
/// `params.kinds` asks). Costs one read of the folders, one of each folder of a wanted
/// view, one window query when `params.window` is set, and tokenising each item's
/// text once.
///
/// Folders in Trash are searched only when the query names a folder, as for mail.
///
/// # Errors
/// [`SearchError::Store`] when reading fails; [`SearchError::BadSort`] for a `sort:`
/// clause that names no order; [`SearchError::TaskSortOfOther`] when a task order
/// meets a contact or appointment.
pub async fn search_items(
    mailbox: &Mailbox,
    query: &Query,
    params: &ItemParams,
) -> Result<ItemResults, SearchError> {
    let folders = mailbox.folders().await?;
    let wants = |k: ItemKind| params.kinds.contains(&k);
    let mut items: Vec<ItemHit> = Vec::new();
    for f in &folders {
        if f.id.0 == folder::ROOT || f.id.0 == folder::USER_ROOT {
            continue;
        }
        let view = f.view.as_str();
        if wants(ItemKind::Contact) && (view == "contact" || f.id.0 == folder::TRASH) {
            items.extend(
                mailbox
                    .contacts(f.id)
                    .await?
                    .into_iter()
                    .map(ItemHit::Contact),
            );
        }
        if (wants(ItemKind::Appointment) || wants(ItemKind::Task))
            && matches!(view, "appointment" | "task" | "")
            || f.id.0 == folder::TRASH
        {
            for c in mailbox.cal_items(f.id).await? {
                let kind = match c.kind {
                    zcs_core::ItemKind::Task => ItemKind::Task,
                    _ => ItemKind::Appointment,
                };
                if wants(kind) {
                    items.push(ItemHit::Cal(c, Vec::new()));
                }
            }
        }
    }

    if let Some((start, end)) = params.window {
        let inst = mailbox.cal_instances(None, start, end).await?;
        items.retain_mut(|h| match h {
            ItemHit::Contact(_) => true,
            ItemHit::Cal(c, out) => {
                out.extend(
                    inst.iter()
                        .filter(|i| i.item == c.id)
                        .map(|i| (i.start_ms, i.end_ms)),
                );
                // Tasks without dates stay; appointments need an instance in the window.
                !out.is_empty() || (c.start_ms.is_none() && c.kind == zcs_core::ItemKind::Task)
            }
        });
    }

    // User tags are read only when the query names one.
    let tags = if names_user_tag(query) {
        let ids: Vec<ItemId> = items.iter().map(ItemHit::id).collect();
        mailbox.items_tags(&ids).await?
    } else {
        HashMap::new()
    };
    let ctx = ItemCtx {
        folders: &folders,
        now: params.now,
        tags,
    };
    let any_folder = names_any_folder(query);
    let prefixed;
    let query = if params.kinds == [ItemKind::Contact] {
        prefixed = contact_prefixes(query);
        &prefixed
    } else {
        query
    };
    let (candidates, docs): (Vec<ItemHit>, Vec<ItemDoc>) = items
        .into_iter()
        .filter(|h| any_folder || folder_of(h).0 != folder::TRASH)
        .map(|h| {
            let doc = ItemDoc::of(&h);
            (h, doc)
        })
        .unzip();
    let mut wildcards = Vec::new();
    wildcard_counts(query, &docs, &mut wildcards);
    let mut matched: Vec<ItemHit> = candidates
        .into_iter()
        .zip(docs.iter())
        .filter(|(h, doc)| matches(query, h, doc, &ctx))
        .map(|(h, _)| h)
        .collect();

    let default_sort = if params.kinds.contains(&ItemKind::Contact) {
        SortBy::NameAsc
    } else {
        SortBy::DateAsc
    };
    let sort = super::effective_sort(query, params.sort.as_deref(), default_sort)
        .map_err(SearchError::BadSort)?;
    order::sort_items(&mut matched, sort)?;
    let sort = sort.as_str().to_string();

    let total = matched.len();
    let offset = params.offset.min(total);
    let hits: Vec<ItemHit> = matched
        .into_iter()
        .skip(offset)
        .take(params.limit)
        .collect();
    Ok(ItemResults {
        more: offset + hits.len() < total,
        hits,
        total,
        sort,
        wildcards,
    })
}

fn folder_of(h: &ItemHit) -> ItemId {
    match h {
        ItemHit::Contact(c) => c.folder,
        ItemHit::Cal(c, _) => c.folder,
    }
}

fn flags_of(h: &ItemHit) -> Flags {
    match h {
        ItemHit::Contact(c) => c.flags,
        ItemHit::Cal(c, _) => c.flags,
    }
}

/// A contact's display name: `fileAs`, else first and last name, else company/email.
fn contact_name(c: &Contact) -> String {
    if let Some(f) = c.field("fileAs").filter(|f| !f.contains(':')) {
        return f.to_string();
    }
    let name = [c.field("lastName"), c.field("firstName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    if !name.is_empty() {
        return name;
    }
    c.field("fullName")
        .or(c.field("company"))
        .or(c.field("email"))
        .unwrap_or_default()
        .to_string()
}

/// An item's text, tokenised per field.
struct ItemDoc {
    /// (field, tokens as (position, text)).
    fields: Vec<(Field, Vec<(usize, String)>)>,
}

/// The fields an item's text is filed under.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    /// Every word of the item.
    All,
    Subject,
    From,
    To,
    Contact,
    Company,
    /// One contact attribute, lower-case name.
    Attr(String),
}

/// The value of an iCalendar property in the first VEVENT/VTODO (unfolded, unescaped
/// enough for words).
fn ical_prop(ical: &str, name: &str) -> String {
    let unfolded = ical
        .replace("\r\n ", "")
        .replace("\n ", "")
        .replace("\r\n\t", "");
    unfolded
        .lines()
        .find_map(|l| {
            let (head, value) = l.split_once(':')?;
            let prop = head.split(';').next()?;
            prop.eq_ignore_ascii_case(name).then(|| {
                value
                    .replace("\\n", " ")
                    .replace("\\N", " ")
                    .replace("\\,", ",")
                    .replace("\\;", ";")
            })
        })
        .unwrap_or_default()
}

impl ItemDoc {
    fn of(h: &ItemHit) -> ItemDoc {
        let tok = |t: &str| -> Vec<(usize, String)> {
            analyze(t, TokenMode::Index)
                .into_iter()
                .map(|a| (a.position, a.text))
                .collect()
        };
        let mut fields = Vec::new();
        match h {
            ItemHit::Contact(c) => {
                let all: Vec<&str> = c.fields.iter().map(|(_, v)| v.as_str()).collect();
                fields.push((Field::All, tok(&all.join("\n"))));
                let emails: Vec<&str> = c
                    .fields
                    .iter()
                    .filter(|(k, _)| k.to_ascii_lowercase().starts_with("email"))
                    .map(|(_, v)| v.as_str())
                    .collect();
                let emails = emails.join("\n");
                fields.push((Field::From, tok(&emails)));
                fields.push((Field::To, tok(&emails)));
                let company = c.field("company").unwrap_or_default();
                fields.push((Field::Company, tok(company)));
                fields.push((Field::Contact, contact_data(c)));
                for (k, v) in &c.fields {
                    fields.push((Field::Attr(k.to_ascii_lowercase()), tok(v)));
                }
            }
            ItemHit::Cal(c, _) => {
                let desc = ical_prop(&c.ical, "DESCRIPTION");
                let loc = ical_prop(&c.ical, "LOCATION");
                let attendees = c.attendees.join("\n");
                let all = [c.summary.as_str(), &desc, &loc, &c.organizer, &attendees].join("\n");
                fields.push((Field::All, tok(&all)));
                fields.push((Field::Subject, tok(&c.summary)));
                fields.push((Field::From, tok(&c.organizer)));
                fields.push((Field::To, tok(&attendees)));
            }
        }
        ItemDoc { fields }
    }

    /// Whether any of `wanted` holds the query value.
    fn has(&self, wanted: &[Field], value: &str, wildcard: bool) -> bool {
        let lists = self
            .fields
            .iter()
            .filter(|(f, _)| wanted.contains(f))
            .map(|(_, t)| t);
        if wildcard {
            let pattern = zcs_index::fold::fold(value);
            if pattern.chars().all(|c| c == '*') {
                return true;
            }
            return lists.flatten().any(|(_, t)| glob(&pattern, t));
        }
        let q = analyze(value, TokenMode::Query);
        if q.is_empty() {
            return true;
        }
        let base = q[0].position;
        lists.into_iter().any(|tokens| {
            let at: HashSet<(usize, &str)> = tokens.iter().map(|(p, t)| (*p, t.as_str())).collect();
            tokens.iter().any(|(p, t)| {
                *t == q[0].text
                    && q.iter()
                        .all(|w| at.contains(&(p + w.position - base, w.text.as_str())))
            })
        })
    }
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

struct ItemCtx<'a> {
    folders: &'a [Folder],
    now: super::zone::Clock,
    /// Tag names per item, when the query names a user tag.
    tags: HashMap<ItemId, Vec<String>>,
}

fn names_user_tag(q: &Query) -> bool {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().any(names_user_tag),
        Query::Not(inner) => names_user_tag(inner),
        Query::Tag(name) => !name.starts_with('\\'),
        _ => false,
    }
}

fn names_any_folder(q: &Query) -> bool {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().any(names_any_folder),
        Query::In(_) | Query::Under(_) | Query::InId(_) | Query::UnderId(_) => true,
        Query::Is(IsFlag::Anywhere) => true,
        _ => false,
    }
}

/// Folder ids a folder term names (with descendants when `under`).
fn folder_ids(ctx: &ItemCtx<'_>, name: &str, under: bool, by_id: bool) -> HashSet<ItemId> {
    let mut ids = HashSet::new();
    if by_id {
        if let Some(id) = name.split('/').next().and_then(|s| s.trim().parse().ok()) {
            ids.insert(ItemId(id));
        }
    } else if let Some(id) = query::system_folder_id(name) {
        ids.insert(ItemId(id));
    } else {
        let path = format!("/{}", name.trim_start_matches('/').trim_end_matches('/'));
        ids.extend(
            ctx.folders
                .iter()
                .filter(|f| crate::search::eval::same_path(&f.path, &path))
                .map(|f| f.id),
        );
    }
    // Contacts, Calendar and Tasks have names Zimbra's query knows too.
    if !by_id {
        for (n, id) in [
            ("contacts", folder::CONTACTS),
            ("calendar", folder::CALENDAR),
            ("tasks", folder::TASKS),
        ] {
            if name.trim_start_matches('/').eq_ignore_ascii_case(n) {
                ids.insert(ItemId(id));
            }
        }
    }
    if under {
        let mut grew = true;
        while grew {
            grew = false;
            for f in ctx.folders {
                if ids.contains(&f.parent) && ids.insert(f.id) {
                    grew = true;
                }
            }
        }
    }
    ids
}

fn cmp<T: PartialOrd>(op: Comparison, a: T, b: T) -> bool {
    match op {
        Comparison::Eq => a == b,
        Comparison::Lt => a < b,
        Comparison::Le => a <= b,
        Comparison::Gt => a > b,
        Comparison::Ge => a >= b,
    }
}

/// The fields of an item a text field searches; `None` for fields items do not have.
fn term_fields(field: &TextField) -> Option<Vec<Field>> {
    Some(match field {
        TextField::Default | TextField::Content => vec![Field::All],
        TextField::Subject | TextField::Title => vec![Field::Subject],
        TextField::From => vec![Field::From],
        TextField::To | TextField::Cc | TextField::ToCc => vec![Field::To],
        TextField::ToFrom | TextField::FromCc | TextField::ToFromCc => {
            vec![Field::From, Field::To]
        }
        TextField::Contact => vec![Field::Contact],
        TextField::Company => vec![Field::Company],
        TextField::Field(name) => vec![Field::Attr(name.to_ascii_lowercase())],
        _ => return None,
    })
}

fn matches(q: &Query, h: &ItemHit, doc: &ItemDoc, ctx: &ItemCtx<'_>) -> bool {
    let flags = flags_of(h);
    match q {
        Query::And(v) => v.iter().all(|c| matches(c, h, doc, ctx)),
        Query::Or(v) => v.iter().any(|c| matches(c, h, doc, ctx)),
        Query::Not(c) => !matches(c, h, doc, ctx),
        Query::Term {
            field,
            value,
            wildcard,
            ..
        } => match term_fields(field) {
            Some(wanted) => doc.has(&wanted, value, *wildcard),
            None => false,
        },
        Query::In(n) => folder_ids(ctx, n, false, false).contains(&folder_of(h)),
        Query::Under(n) => folder_ids(ctx, n, true, false).contains(&folder_of(h)),
        Query::InId(n) => folder_ids(ctx, n, false, true).contains(&folder_of(h)),
        Query::UnderId(n) => folder_ids(ctx, n, true, true).contains(&folder_of(h)),
        Query::Is(flag) => match flag {
            IsFlag::Anywhere | IsFlag::Local => true,
            IsFlag::Flagged => flags.contains(Flags::FLAGGED),
            IsFlag::Unflagged => !flags.contains(Flags::FLAGGED),
            IsFlag::Unread => flags.contains(Flags::UNREAD),
            IsFlag::Read => !flags.contains(Flags::UNREAD),
            IsFlag::Draft => flags.contains(Flags::DRAFT),
            IsFlag::Invite => flags.contains(Flags::INVITE),
            _ => false,
        },
        // Zimbra's flags are also tags (`tag:\Flagged`), on every kind of item.
        Query::Tag(name) => match name.strip_prefix('\\') {
            Some(flag) => super::eval::flag_bit(flag).is_some_and(|bit| flags.contains(bit)),
            None => ctx
                .tags
                .get(&h.id())
                .is_some_and(|t| t.iter().any(|n| n.eq_ignore_ascii_case(name))),
        },
        Query::Has(HasKind::Attachment) => match h {
            ItemHit::Cal(c, _) => cal_has_attachment(c),
            ItemHit::Contact(_) => false,
        },
        Query::Has(_) | Query::Type(_) | Query::Attachment(_) => false,
        Query::Date { field, op, value } => {
            let when = match (h, field) {
                (ItemHit::Cal(c, _), DateField::ApptEnd) => c.end_ms.or(c.start_ms),
                (ItemHit::Cal(c, _), _) => c.start_ms,
                (ItemHit::Contact(_), _) => None,
            };
            match (when, value.bounds(*op, &ctx.now)) {
                (Some(t), Some(b)) => b.contains(t),
                _ => false,
            }
        }
        Query::Item(set) => match set {
            ItemSet::All => true,
            ItemSet::None => false,
            ItemSet::Ids(ids) => ids.contains(&h.id()),
            ItemSet::Range { from, to } => h.id() >= *from && h.id() <= *to,
        },
        Query::Modseq { op, value } => {
            let m = match h {
                ItemHit::Contact(c) => c.modseq,
                ItemHit::Cal(c, _) => c.modseq,
            };
            cmp(*op, m, *value)
        }
        Query::Priority(p) => match h {
            ItemHit::Cal(c, _) => cal_priority(c) == *p,
            ItemHit::Contact(_) => false,
        },
        Query::Sort(_) => true,
        _ => false,
    }
}

/// The priority of an appointment or task from its iCalendar PRIORITY (RFC 5545
/// §3.8.1.9): 1-4 high, 6-9 low, 5, 0 or none normal, as Zimbra maps it to the item's
/// high- and low-priority flags.
/// Whether an appointment or task carries a file (an ATTACH property, RFC 5545
/// §3.8.1.1): `has:attachment` finds it and its hits are flagged `a`.
pub fn cal_has_attachment(c: &CalItem) -> bool {
    // A property starts a line; folded continuations start with white space.
    c.ical.lines().any(|l| {
        let b = l.as_bytes();
        b.len() > 6 && b[..6].eq_ignore_ascii_case(b"ATTACH") && matches!(b[6], b';' | b':')
    })
}

pub fn cal_priority(c: &CalItem) -> Priority {
    let p = ical_prop(&c.ical, "PRIORITY")
        .trim()
        .parse::<u8>()
        .unwrap_or(0);
    match p {
        1..=4 => Priority::High,
        6..=9 => Priority::Low,
        _ => Priority::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("smi*", "smith"));
        assert!(glob("*ith", "smith"));
        assert!(glob("s?ith", "smith"));
        assert!(!glob("smy*", "smith"));
    }

    #[test]
    fn calendar_priority_follows_ical_priority() {
        let item = |ical: &str| CalItem {
            id: ItemId(300),
            kind: zcs_core::ItemKind::Task,
            folder: ItemId(folder::TASKS),
            flags: Flags::default(),
            uid: "u".into(),
            summary: "s".into(),
            start_ms: None,
            end_ms: None,
            recurring: false,
            organizer: String::new(),
            attendees: Vec::new(),
            ical: ical.into(),
            modseq: 1,
        };
        let vtodo = |p: &str| format!("BEGIN:VTODO\r\nPRIORITY:{p}\r\nEND:VTODO\r\n");
        assert_eq!(cal_priority(&item(&vtodo("1"))), Priority::High);
        assert_eq!(cal_priority(&item(&vtodo("9"))), Priority::Low);
        assert_eq!(cal_priority(&item(&vtodo("5"))), Priority::Normal);
        assert_eq!(
            cal_priority(&item("BEGIN:VTODO\r\nEND:VTODO\r\n")),
            Priority::Normal
        );
        let hit = ItemHit::Cal(item(&vtodo("1")), Vec::new());
        let doc = ItemDoc::of(&hit);
        let ctx = ItemCtx {
            folders: &[],
            now: super::super::zone::utc_now(),
            tags: HashMap::new(),
        };
        let high = query::parse("priority:high").unwrap();
        let low = query::parse("priority:low").unwrap();
        assert!(matches(&high, &hit, &doc, &ctx));
        assert!(!matches(&low, &hit, &doc, &ctx));
    }

    #[test]
    fn an_attach_property_is_an_attachment() {
        let item = |ical: &str| CalItem {
            id: ItemId(300),
            kind: zcs_core::ItemKind::Task,
            folder: ItemId(folder::TASKS),
            flags: Flags::default(),
            uid: "u".into(),
            summary: String::new(),
            start_ms: None,
            end_ms: None,
            recurring: false,
            organizer: String::new(),
            attendees: vec![],
            ical: ical.into(),
            modseq: 1,
        };
        let with = "BEGIN:VTODO\r\nATTACH;VALUE=BINARY;ENCODING=BASE64:eA==\r\nEND:VTODO\r\n";
        assert!(cal_has_attachment(&item(with)));
        assert!(cal_has_attachment(&item(
            "BEGIN:VTODO\r\nattach:http://x/\r\n"
        )));
        // Folded text that happens to say ATTACH, or a longer name, is not one.
        let without = "BEGIN:VTODO\r\nDESCRIPTION:see\r\n ATTACH:x\r\nATTACHED:x\r\n";
        assert!(!cal_has_attachment(&item(without)));
        assert!(!cal_has_attachment(&item("ATTACH")));
    }

    #[test]
    fn ical_properties_are_read() {
        let ical = "BEGIN:VEVENT\r\nSUMMARY:Board\r\nDESCRIPTION:budget\\nreview of\r\n q3\r\n\
                    LOCATION;LANGUAGE=en:Room 5\r\nEND:VEVENT\r\n";
        assert_eq!(ical_prop(ical, "description"), "budget review ofq3");
        assert_eq!(ical_prop(ical, "LOCATION"), "Room 5");
        assert_eq!(ical_prop(ical, "ATTENDEE"), "");
    }
}
