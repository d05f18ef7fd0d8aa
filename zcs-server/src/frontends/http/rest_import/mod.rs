//! REST import (Zimbra's UserServlet POST, ArchiveFormatter import):
//! `POST /home/<user>/<folder>?fmt=tgz|tar|zip|eml|vcf|ics|csv&resolve=skip|modify|replace|reset`
//! with the archive (or the one message, vCard, iCalendar or CSV file) as the request body.
//! `fmt=csv` reads contacts (`csvfmt=` names the layout, else the header row decides;
//! see `rest_csv`); archives also carry appointments, tasks and documents (`items`).
//!
//! Archive paths are read under the target folder, as Zimbra does: a whole-mailbox export
//! posted to `/home/<user>/` lands back in `/Inbox`, `/Sent`, ...; the same archive posted
//! to `/home/<user>/Old` lands in `/Old/Inbox`, ... Each item's `.meta` (see [`meta`])
//! supplies its folder, flags, unread state, tags and received date; folders are created
//! with their view and colour. Items without a `.meta` go into the folder of their path.
//!
//! `resolve` decides what happens to an item that is already there (the same message
//! content in the same folder, a contact with the same fields): `skip` (the default)
//! keeps the existing one, `modify` sets its flags and tags from the archive, `replace`
//! deletes it and imports the archive's copy, `reset` empties every folder the archive
//! writes into before importing. `types=` (`message`, `contact`, `folder`, `tag`, comma
//! separated, Zimbra's names) narrows what is imported.
//!
//! Only a logged-in account may POST (auth token cookie or header, or basic auth): the
//! owner, or a grantee with `i` on every folder written to (and `d` for replace/reset).
//! Anonymous callers get 401 before anything is read from the store, whatever public
//! grants say. Refusals are 403 with `service.PERM_DENIED`. The whole body is read and
//! every entry decoded before the first write, so a malformed archive changes nothing;
//! a store failure part-way leaves the items before it imported (each is durable on its
//! own) and is answered 500 with the counts so far in the log.
// LIMITATION: Zimbra's own `.appt`/`.task` entries (invites in Zimbra's metadata form),
// wiki pages, chats, notes, search folders and mountpoints in an archive are counted as
// skipped; appointments and tasks are read from `.ics` entries (Zimbra's form without
// metadata, and ours). A `.vcf` entry without a `.meta` holding its fields (a contact
// group in our exports, or a plain archive's file) is imported without a duplicate check,
// so posting it twice with `resolve=skip` doubles it; contacts carried in a `.meta` are
// checked.

mod ics;
mod items;
pub mod meta;
pub mod reader;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use zcs_core::{Entry, Flags, ItemId};
use zcs_store::{Accessor, Mailbox, Rights};

use super::{AppState, caller_of, text};
use meta::{ItemMeta, kind};

/// Zimbra's default `zimbraFileUploadMaxSize` (10 MB), the body limit without config.
const DEFAULT_MAX_UPLOAD: u64 = 10 * 1024 * 1024;
/// Most bytes an archive may unpack to (against compression bombs).
const MAX_UNPACKED: usize = 256 * 1024 * 1024;
/// Zimbra's hidden system folder ids (Mailbox.ID_FOLDER_TAGS, _CONVERSATIONS, _COMMENTS).
const HIDDEN: [i64; 3] = [8, 9, 17];

/// What to do with an item that is already in the mailbox (Zimbra's `resolve=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolve {
    Skip,
    Modify,
    Replace,
    Reset,
}

impl Resolve {
    /// Parses a `resolve=` value (`None` and unknown values are `skip`, as Zimbra).
    pub fn parse(v: Option<&str>) -> Resolve {
        match v.map(str::to_ascii_lowercase).as_deref() {
            Some("modify") => Resolve::Modify,
            Some("replace") => Resolve::Replace,
            Some("reset") => Resolve::Reset,
            _ => Resolve::Skip,
        }
    }
}

/// How an import went, answered as text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub folders: usize,
    pub messages: usize,
    pub contacts: usize,
    pub tags: usize,
    /// Appointments and tasks (`fmt=ics`, `.ics` entries).
    pub appointments: usize,
    /// Documents (Briefcase files).
    pub documents: usize,
    /// Items already there and left (skip) or updated (modify).
    pub existing: usize,
    /// Items of a kind this importer does not handle, or filtered by `types=`.
    pub skipped: usize,
    /// Entries the archive reader flagged as damaged (imported as read).
    pub damaged: usize,
}

enum Refusal {
    Status(StatusCode, String),
}

fn refuse(code: StatusCode, msg: impl Into<String>) -> Refusal {
    Refusal::Status(code, msg.into())
}

fn denied() -> Refusal {
    refuse(
        StatusCode::FORBIDDEN,
        "service.PERM_DENIED: permission denied",
    )
}

fn store_refusal(e: zcs_store::StoreError) -> Refusal {
    use zcs_core::FaultCode;
    match e.fault_code() {
        FaultCode::Failure => {
            tracing::error!(error = %e, "REST import store failure");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "failure")
        }
        _ => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `POST /home/...` and `/service/home/...`: imports the body into the folder of the URL.
pub async fn rest_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match import(&state, peer, &rest, &query, &headers, &body).await {
        Ok(s) => text(
            StatusCode::OK,
            format!(
                "imported folders={} messages={} contacts={} tags={} appointments={} \
                 documents={} existing={} skipped={} damaged={}\n",
                s.folders,
                s.messages,
                s.contacts,
                s.tags,
                s.appointments,
                s.documents,
                s.existing,
                s.skipped,
                s.damaged
            ),
        ),
        Err(Refusal::Status(code, msg)) => {
            let mut r = text(code, format!("{msg}\n"));
            if code == StatusCode::UNAUTHORIZED
                && let Ok(v) = "Basic realm=\"Zimbra\"".parse()
            {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        }
    }
}

async fn import(
    state: &AppState,
    peer: SocketAddr,
    rest: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Summary, Refusal> {
    let svc = &state.svc;
    // Writes need an account: no anonymous (public grant) path reaches anything below.
    let caller = caller_of(state, peer, headers).await;
    let basic = super::rest::basic_auth(headers);
    let login = basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let me = svc
        .web_account(&caller, login, false)
        .await
        .map_err(|_| refuse(StatusCode::UNAUTHORIZED, "authentication required"))?;
    let max = match svc.prov.global_config().await {
        Ok(g) => g
            .attrs
            .get("zimbraFileUploadMaxSize")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_MAX_UPLOAD),
        Err(_) => DEFAULT_MAX_UPLOAD,
    };
    if body.len() as u64 > max {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "request too large"));
    }
    let (user, path, suffix) = super::rest::split_path(rest);
    let owner = if user == "~" || user.is_empty() {
        me.clone()
    } else {
        let mut found = svc.prov.find_account(&user).await.ok().flatten();
        if found.is_none()
            && !user.contains('@')
            && let Some(domain) = me.domain()
        {
            found = svc
                .prov
                .find_account(&format!("{user}@{domain}"))
                .await
                .ok()
                .flatten();
        }
        // An account the caller may not write to and one that does not exist look alike.
        found.ok_or_else(denied)?
    };
    let mb = svc.store.mailbox(owner.id).await.map_err(store_refusal)?;
    let target = mb
        .folder_by_path(&path)
        .await
        .map_err(store_refusal)?
        .ok_or_else(|| {
            if me.id == owner.id {
                refuse(StatusCode::NOT_FOUND, "no such folder")
            } else {
                denied()
            }
        })?;
    let guard = Guard::new(svc, &me, &owner).await;
    let resolve = Resolve::parse(query.get("resolve").map(String::as_str));
    guard.check(&mb, target.id, resolve).await?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let fmt = query
        .get("fmt")
        .map(|f| f.to_ascii_lowercase())
        .or(suffix)
        .unwrap_or_else(|| {
            if ctype.starts_with("message/rfc822") {
                "eml".into()
            } else if ctype.contains("vcard") {
                "vcf".into()
            } else if ctype.starts_with("text/csv") || ctype.contains("comma-separated") {
                "csv".into()
            } else if ctype.starts_with("text/calendar") {
                "ics".into()
            } else {
                "tgz".into()
            }
        });
    let types = Types::parse(query.get("types").map(String::as_str));
    let mut sum = Summary::default();
    match fmt.as_str() {
        "tgz" | "tar" | "zip" => {
            let archive = reader::read_archive(body, MAX_UNPACKED)
                .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.to_string()))?;
            let mut job = Job {
                mb: &mb,
                guard: &guard,
                resolve,
                types,
                base: target.path.clone(),
                folders: HashMap::new(),
                reset_done: HashSet::new(),
                author: me.name.clone(),
                sum: &mut sum,
            };
            job.run(archive).await?;
        }
        "eml" | "rfc822" => {
            if body.is_empty() {
                return Err(refuse(StatusCode::BAD_REQUEST, "empty message"));
            }
            let now = chrono::Utc::now().timestamp_millis();
            let mut job = Job {
                mb: &mb,
                guard: &guard,
                resolve,
                types,
                base: target.path.clone(),
                folders: HashMap::new(),
                reset_done: HashSet::new(),
                author: me.name.clone(),
                sum: &mut sum,
            };
            job.reset(target.id).await?;
            job.message(target.id, body, None, now).await?;
        }
        "vcf" => {
            let text = String::from_utf8_lossy(body);
            if resolve == Resolve::Reset {
                mb.empty_folder(target.id).await.map_err(store_refusal)?;
            }
            let (made, bad) = mb
                .import_vcards(target.id, &text)
                .await
                .map_err(store_refusal)?;
            if made.is_empty() && bad > 0 {
                return Err(refuse(StatusCode::BAD_REQUEST, "no vCard could be read"));
            }
            sum.contacts = made.len();
            sum.skipped = bad;
        }
        "ics" => {
            let cals = ics::split_by_uid(&String::from_utf8_lossy(body));
            if cals.is_empty() {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "no VEVENT or VTODO with a UID",
                ));
            }
            if resolve == Resolve::Reset {
                mb.empty_folder(target.id).await.map_err(store_refusal)?;
            }
            for (uid, cal) in cals {
                // An item with the UID is kept (skip) or saved over (the other modes).
                let there = mb.cal_item_by_uid(&uid).await.map_err(store_refusal)?;
                if there.is_some() && resolve == Resolve::Skip {
                    sum.existing += 1;
                    continue;
                }
                mb.save_cal_item(target.id, &cal)
                    .await
                    .map_err(store_refusal)?;
                sum.appointments += 1;
            }
        }
        "csv" => {
            let doc = super::rest_csv::parse(&items::decode_text(body)).map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    format!("could not parse csv file: {e}"),
                )
            })?;
            let layout = query
                .get("csvfmt")
                .filter(|f| !f.trim().is_empty())
                .map(|f| super::csv_formats::by_name(Some(f)));
            let cards = super::rest_csv::contacts(&doc, layout);
            // Posted to the mailbox itself, contacts go to Contacts (Zimbra's default).
            let folder = if target.id == ItemId(1) {
                ItemId(zcs_core::folder::CONTACTS)
            } else {
                target.id
            };
            let mut job = Job {
                mb: &mb,
                guard: &guard,
                resolve,
                types,
                base: target.path.clone(),
                folders: HashMap::new(),
                reset_done: HashSet::new(),
                author: me.name.clone(),
                sum: &mut sum,
            };
            job.csv_contacts(folder, cards).await?;
        }
        other => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("unsupported import fmt: {other}"),
            ));
        }
    }
    tracing::info!(account = %owner.name, by = %me.name, ?resolve, messages = sum.messages,
        folders = sum.folders, "REST import");
    Ok(sum)
}

/// Who is importing, and the rights check for a non-owner.
struct Guard {
    owner: bool,
    who: Accessor,
}

impl Guard {
    async fn new(svc: &crate::soap::SoapService, me: &Entry, owner: &Entry) -> Guard {
        let is_owner = me.id == owner.id;
        let groups = if is_owner {
            Vec::new()
        } else {
            svc.prov
                .group_membership(&me.name)
                .await
                .map(|g| g.into_iter().map(|(e, _)| e.id).collect())
                .unwrap_or_default()
        };
        Guard {
            owner: is_owner,
            who: Accessor {
                account: Some(me.id),
                groups,
                domain: me.domain().map(str::to_string),
                ..Accessor::default()
            },
        }
    }

    /// Ok when the caller may add to `folder` (and delete from it for replace/reset).
    async fn check(&self, mb: &Mailbox, folder: ItemId, resolve: Resolve) -> Result<(), Refusal> {
        if self.owner {
            return Ok(());
        }
        let rights = mb
            .effective_rights_for(folder, &self.who)
            .await
            .map_err(|_| denied())?;
        let mut need = Rights::INSERT;
        if matches!(resolve, Resolve::Replace | Resolve::Reset) {
            need |= Rights::DELETE;
        }
        if rights.contains(need) {
            Ok(())
        } else {
            Err(denied())
        }
    }
}

/// The `types=` filter (Zimbra's type names); empty means everything.
#[derive(Clone, Debug, Default)]
struct Types(HashSet<String>);

impl Types {
    fn parse(v: Option<&str>) -> Types {
        Types(
            v.unwrap_or("")
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    fn wants(&self, t: &str) -> bool {
        self.0.is_empty()
            || self.0.contains(t)
            || (t == "message" && self.0.contains("conversation"))
    }
}

/// One archive import in progress.
struct Job<'a> {
    mb: &'a Mailbox,
    guard: &'a Guard,
    resolve: Resolve,
    types: Types,
    /// The target folder's path, which archive paths are read under.
    base: String,
    /// Folders by full path (lower case), created or found.
    folders: HashMap<String, ItemId>,
    /// Folders already emptied by `resolve=reset`.
    reset_done: HashSet<ItemId>,
    /// Who saves the documents (the caller's name).
    author: String,
    sum: &'a mut Summary,
}

/// The full path of archive path `rel` under `base`.
fn join(base: &str, rel: &str) -> String {
    let rel = rel.trim_matches('/');
    let base = base.trim_end_matches('/');
    if rel.is_empty() {
        if base.is_empty() {
            "/".into()
        } else {
            base.into()
        }
    } else {
        format!("{base}/{rel}")
    }
}

fn dirname(name: &str) -> &str {
    name.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

impl Job<'_> {
    async fn run(&mut self, archive: reader::ReadArchive) -> Result<(), Refusal> {
        let metas: HashMap<&str, ItemMeta> = archive
            .entries
            .iter()
            .filter_map(|e| {
                let m = meta::parse_meta(&e.data)?;
                Some((e.name.strip_suffix(".meta")?, m))
            })
            .collect();
        self.sum.damaged = archive.entries.iter().filter(|e| e.damaged).count();
        // Tags first (their colours), then folders in path order, then items.
        let mut ordered: Vec<&ItemMeta> = metas.values().collect();
        ordered.sort_by(|a, b| a.path.len().cmp(&b.path.len()).then(a.path.cmp(&b.path)));
        for m in &ordered {
            if m.kind == kind::TAG && self.types.wants("tag") {
                self.tag(m).await?;
            }
        }
        for m in &ordered {
            if m.kind == kind::FOLDER && self.types.wants("folder") {
                let view = meta::view_name(m.view);
                // The roots and Zimbra's hidden system folders (Tags, Conversations,
                // Comments) are not folders a user imports into.
                if m.path.trim_matches('/').is_empty() || (m.id < 256 && HIDDEN.contains(&m.id)) {
                    self.sum.skipped += 1;
                    continue;
                }
                let id = self.folder(&m.path, view).await?;
                if let Some(c) = m.color.and_then(|c| u8::try_from(c).ok())
                    && c > 0
                    && c <= zcs_store::FolderColor::MAX_INDEX
                    && self.guard.owner
                {
                    let color = zcs_store::FolderColor {
                        color: c,
                        rgb: None,
                    };
                    let _ = self.mb.set_folder_color(id, color).await;
                }
            }
        }
        for e in &archive.entries {
            if e.name.ends_with(".meta") {
                let Some(m) = e.name.strip_suffix(".meta").and_then(|n| metas.get(n)) else {
                    continue;
                };
                // A contact's meta carries its fields when no .vcf follows it.
                if m.kind == kind::CONTACT
                    && !metas.contains_key(format!("{}.vcf", e.name).as_str())
                {
                    let stem = e.name.strip_suffix(".meta").unwrap_or("");
                    let has_data = archive.entries.iter().any(|x| x.name == stem);
                    if !has_data && self.types.wants("contact") && !m.fields.is_empty() {
                        let folder = self.folder(&folder_of(m, stem), Some("contact")).await?;
                        self.contact(folder, m.fields.clone()).await?;
                    }
                }
                continue;
            }
            let m = metas.get(e.name.as_str());
            let lower = e.name.to_ascii_lowercase();
            let is_msg = m
                .map(|m| m.kind == kind::MESSAGE)
                .unwrap_or(lower.ends_with(".eml"));
            if is_msg {
                if !self.types.wants("message") {
                    self.sum.skipped += 1;
                    continue;
                }
                let path = m
                    .map(|m| folder_of(m, &e.name))
                    .unwrap_or_else(|| dirname(&e.name).into());
                let folder = self.folder(&path, None).await?;
                let date = m
                    .map(|m| m.date)
                    .filter(|d| *d > 0)
                    .unwrap_or(e.mtime)
                    .saturating_mul(1000);
                let date = if date > 0 {
                    date
                } else {
                    chrono::Utc::now().timestamp_millis()
                };
                self.message(folder, &e.data, m, date).await?;
            } else if m
                .map(|m| m.kind == kind::CONTACT)
                .unwrap_or(lower.ends_with(".vcf"))
            {
                if !self.types.wants("contact") {
                    self.sum.skipped += 1;
                    continue;
                }
                let path = m
                    .map(|m| folder_of(m, &e.name))
                    .unwrap_or_else(|| dirname(&e.name).into());
                let folder = self.folder(&path, Some("contact")).await?;
                self.reset(folder).await?;
                // Our exports put the exact fields in the `.meta`: read those (with the
                // duplicate check); a bare vCard is imported as it is.
                if let Some(m) = m.filter(|m| !m.fields.is_empty()) {
                    self.contact(folder, m.fields.clone()).await?;
                    continue;
                }
                let text = String::from_utf8_lossy(&e.data);
                let (made, _) = self
                    .mb
                    .import_vcards(folder, &text)
                    .await
                    .map_err(store_refusal)?;
                self.sum.contacts += made.len();
            } else if let Some(m) = m {
                if m.kind == kind::DOCUMENT {
                    self.document_entry(e, Some(m)).await?;
                } else {
                    self.sum.skipped += 1;
                }
            } else if lower.ends_with(".ics") {
                self.calendar_entry(e).await?;
            } else if lower.ends_with(".csv") {
                self.csv_entry(e).await?;
            } else {
                self.document_entry(e, None).await?;
            }
        }
        Ok(())
    }

    async fn tag(&mut self, m: &ItemMeta) -> Result<(), Refusal> {
        let name = if m.name.is_empty() {
            m.path.rsplit('/').next().unwrap_or("").to_string()
        } else {
            m.name.clone()
        };
        if name.is_empty() || !self.guard.owner {
            return Ok(());
        }
        if self
            .mb
            .tag_by_name(&name)
            .await
            .map_err(store_refusal)?
            .is_some()
        {
            self.sum.existing += 1;
            return Ok(());
        }
        let color = m.color.and_then(|c| i32::try_from(c).ok()).unwrap_or(0);
        self.mb
            .create_tag(&name, color)
            .await
            .map_err(store_refusal)?;
        self.sum.tags += 1;
        Ok(())
    }

    /// The folder at archive path `rel` (under the target), created with `view` (for the
    /// last step) when missing.
    async fn folder(&mut self, rel: &str, view: Option<&str>) -> Result<ItemId, Refusal> {
        let full = join(&self.base, rel);
        if let Some(id) = self.folders.get(&full.to_lowercase()) {
            return Ok(*id);
        }
        let mut at = String::new();
        let mut parent = ItemId(1);
        let steps: Vec<&str> = full.split('/').filter(|s| !s.is_empty()).collect();
        for (i, step) in steps.iter().enumerate() {
            at = format!("{at}/{step}");
            let found = self.mb.folder_by_path(&at).await.map_err(store_refusal)?;
            parent = match found {
                Some(f) => f.id,
                None => {
                    self.guard.check(self.mb, parent, Resolve::Skip).await?;
                    let v = if i + 1 == steps.len() { view } else { None };
                    let made = self
                        .mb
                        .create_folder_with_view(parent, step, v)
                        .await
                        .map_err(store_refusal)?;
                    self.sum.folders += 1;
                    made.id
                }
            };
        }
        self.folders.insert(full.to_lowercase(), parent);
        Ok(parent)
    }

    /// Empties `folder` once for `resolve=reset`; a no-op otherwise.
    async fn reset(&mut self, folder: ItemId) -> Result<(), Refusal> {
        if self.resolve != Resolve::Reset || !self.reset_done.insert(folder) {
            return Ok(());
        }
        self.guard.check(self.mb, folder, Resolve::Reset).await?;
        self.mb.empty_folder(folder).await.map_err(store_refusal)?;
        Ok(())
    }

    async fn message(
        &mut self,
        folder: ItemId,
        raw: &[u8],
        m: Option<&ItemMeta>,
        date_ms: i64,
    ) -> Result<(), Refusal> {
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let mut flags = m.map(|m| Flags(m.flags)).unwrap_or_default();
        if let Some(m) = m {
            flags = flags.with(Flags::from_soap(&m.flag_str).0, true);
            flags = flags.with(Flags::UNREAD, m.unread);
        }
        let tags: Vec<String> = m.map(|m| m.tags.clone()).unwrap_or_default();
        let digest = zcs_store::blob_digest(raw);
        let existing: Vec<ItemId> = self
            .mb
            .messages(folder)
            .await
            .map_err(store_refusal)?
            .into_iter()
            .filter(|x| x.blob_digest == digest)
            .map(|x| x.id)
            .collect();
        if !existing.is_empty() {
            match self.resolve {
                Resolve::Skip | Resolve::Reset => {
                    self.sum.existing += 1;
                    return Ok(());
                }
                Resolve::Modify => {
                    self.sum.existing += 1;
                    if m.is_none() {
                        return Ok(());
                    }
                    for id in &existing {
                        let cur = self.mb.message(*id).await.map_err(store_refusal)?;
                        let on = flags.0 & !cur.flags.0;
                        let off = cur.flags.0 & !flags.0;
                        for (mask, set) in [(on, true), (off, false)] {
                            if mask != 0 {
                                self.mb
                                    .set_flags(&[*id], mask, set)
                                    .await
                                    .map_err(store_refusal)?;
                            }
                        }
                    }
                    if !tags.is_empty() {
                        self.mb
                            .tag_items_by_name(&existing, &tags, true, true)
                            .await
                            .map_err(store_refusal)?;
                    }
                    return Ok(());
                }
                Resolve::Replace => {
                    self.mb
                        .delete_items(&existing)
                        .await
                        .map_err(store_refusal)?;
                }
            }
        }
        self.mb
            .append_tagged(folder, raw, flags, &tags, date_ms)
            .await
            .map_err(store_refusal)?;
        self.sum.messages += 1;
        Ok(())
    }

    async fn contact(
        &mut self,
        folder: ItemId,
        fields: Vec<(String, String)>,
    ) -> Result<(), Refusal> {
        self.guard.check(self.mb, folder, self.resolve).await?;
        self.reset(folder).await?;
        let mut want = fields.clone();
        want.sort();
        let same: Vec<ItemId> = self
            .mb
            .contacts(folder)
            .await
            .map_err(store_refusal)?
            .into_iter()
            .filter(|c| {
                want.iter()
                    .all(|(k, v)| c.fields.iter().any(|(ck, cv)| ck == k && cv == v))
            })
            .map(|c| c.id)
            .collect();
        if !same.is_empty() {
            match self.resolve {
                Resolve::Replace => {
                    self.mb.delete_items(&same).await.map_err(store_refusal)?;
                }
                _ => {
                    self.sum.existing += 1;
                    return Ok(());
                }
            }
        }
        self.mb
            .create_contact(folder, fields, Vec::new())
            .await
            .map_err(store_refusal)?;
        self.sum.contacts += 1;
        Ok(())
    }
}

/// The archive path of the folder an item is in: its meta's `Path`, else its directory.
fn folder_of(m: &ItemMeta, entry: &str) -> String {
    let p = m.path.trim_matches('/');
    if p.is_empty() && !entry.contains('/') {
        return String::new();
    }
    if m.path.is_empty() {
        dirname(entry).to_string()
    } else {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_and_paths() {
        assert_eq!(Resolve::parse(None), Resolve::Skip);
        assert_eq!(Resolve::parse(Some("RESET")), Resolve::Reset);
        assert_eq!(Resolve::parse(Some("bogus")), Resolve::Skip);
        assert_eq!(join("/", "Inbox/Sub"), "/Inbox/Sub");
        assert_eq!(join("/Old", "/Inbox/"), "/Old/Inbox");
        assert_eq!(join("/", ""), "/");
        assert!(Types::parse(None).wants("message"));
        assert!(!Types::parse(Some("contact")).wants("message"));
    }
}
