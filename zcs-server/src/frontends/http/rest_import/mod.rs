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
//! Appointments and tasks come from Zimbra's `.appt`/`.task` entries (with or without
//! their `.meta`, see `calendar`) and from `.ics` entries.
// LIMITATION: wiki pages, chats, notes, search folders and mountpoints in an archive are
// counted as skipped. A `.vcf` entry without a `.meta` holding its fields (a contact
// group in our exports, or a plain archive's file) is imported without a duplicate check,
// so posting it twice with `resolve=skip` doubles it; contacts carried in a `.meta` are
// checked.

pub mod calendar;
mod ics;
mod items;
mod job;
pub mod meta;
mod multipart;
pub mod reader;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use zcs_core::{Entry, ItemId};
use zcs_store::{Accessor, Mailbox, Rights};

use super::{AppState, caller_of, text};
use job::{Job, dirname, folder_of};

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
    body: axum::body::Body,
) -> Response {
    // Who is asking is settled from the headers before a byte of the body is read, so an
    // anonymous or cross-site client cannot make the server hold a large body first.
    let me = match authenticate(&state, peer, &headers).await {
        Ok(me) => me,
        Err(refusal) => return refusal_response(refusal),
    };
    let max = upload_max(&state).await;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let body = match read_body(body, limit, declared.is_some_and(|n| n > max)).await {
        Ok(Some(b)) => b,
        Ok(None) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"),
        Err(()) => return text(StatusCode::BAD_REQUEST, "request body not read\n"),
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // A form upload (Zimbra's zmmailbox postRestURL) carries the file in a part, whose
    // own Content-Type then stands for the request's.
    let parsed = multipart::file_part(ct, &body);
    let mut headers = headers.clone();
    let body: Bytes = match parsed {
        Ok(Some(file)) => {
            if let Some(v) = file.content_type.and_then(|c| c.parse().ok()) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            body.slice_ref(file.body)
        }
        Ok(None) => body.clone(),
        Err(msg) => return text(StatusCode::BAD_REQUEST, format!("{msg}\n")),
    };
    match import(&state, &me, &rest, &query, &headers, &body).await {
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
        Err(refusal) => refusal_response(refusal),
    }
}

/// The response for a refusal; a 401 names Zimbra's basic-auth realm.
fn refusal_response(refusal: Refusal) -> Response {
    let Refusal::Status(code, msg) = refusal;
    let mut r = text(code, format!("{msg}\n"));
    if code == StatusCode::UNAUTHORIZED
        && let Ok(v) = "Basic realm=\"Zimbra\"".parse()
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The account a POST acts as, from its headers alone: cross-site requests are refused,
/// and writes need an account (no anonymous, public-grant path reaches an import).
async fn authenticate(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Entry, Refusal> {
    if cross_site(headers) {
        return Err(refuse(StatusCode::FORBIDDEN, "cross-site request refused"));
    }
    let caller = caller_of(state, peer, headers).await;
    let basic = super::rest::basic_auth(headers);
    let login = basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    state
        .svc
        .web_account(&caller, login, false)
        .await
        .map_err(|_| refuse(StatusCode::UNAUTHORIZED, "authentication required"))
}

/// Reads an authenticated caller's body, keeping at most `limit` bytes: `None` when it
/// is larger (`over` says so from its declared length), after reading the rest without
/// keeping it, so the client, still sending, reads the answer instead of a reset.
async fn read_body(
    mut body: axum::body::Body,
    limit: usize,
    mut over: bool,
) -> Result<Option<Bytes>, ()> {
    use axum::body::HttpBody;
    let mut kept = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let Some(frame) = frame else { break };
        let Ok(data) = frame.map_err(|_| ())?.into_data() else {
            continue;
        };
        if over {
            continue;
        }
        if kept.len() + data.len() > limit {
            over = true;
            kept = Vec::new();
            continue;
        }
        kept.extend_from_slice(&data);
    }
    Ok((!over).then(|| Bytes::from(kept)))
}

/// The largest body an import takes: `zimbraFileUploadMaxSize`, 10 MiB when unset.
async fn upload_max(state: &AppState) -> u64 {
    match state.svc.prov.global_config().await {
        Ok(g) => g
            .attrs
            .get("zimbraFileUploadMaxSize")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_MAX_UPLOAD),
        Err(_) => DEFAULT_MAX_UPLOAD,
    }
}

async fn import(
    state: &AppState,
    me: &Entry,
    rest: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Summary, Refusal> {
    let svc = &state.svc;
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
    let guard = Guard::new(svc, me, &owner).await;
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
                if let Some(old) = &there
                    && !guard.sees(&mb, old.folder).await
                {
                    sum.skipped += 1;
                    continue;
                }
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
                .map(|f| {
                    let locale = query.get("csvlocale").map(String::as_str);
                    super::csv_formats::by_name_locale(Some(f), locale)
                });
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

impl Guard {
    /// Whether an existing item in `folder` (found by UID anywhere in the mailbox) may
    /// be considered at all: always for the owner; for a grantee only when it may read,
    /// change and delete in that folder, since keeping or saving over the item by UID
    /// would otherwise reveal, replace or move the owner's item out of a folder it was
    /// never granted. An entry whose UID is taken by such a hidden item is skipped
    /// without saying why: a UID is unique per mailbox, so saving it as a new item
    /// would take the hidden one over.
    async fn sees(&self, mb: &Mailbox, folder: ItemId) -> bool {
        if self.owner {
            return true;
        }
        let need = Rights::READ | Rights::WRITE | Rights::DELETE;
        mb.effective_rights_for(folder, &self.who)
            .await
            .is_ok_and(|r| r.contains(need))
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

/// Whether a browser sent this POST from another site: its `Origin` (RFC 6454 §7), or
/// without one its `Referer`, names a host and port other than the request's `Host`.
/// A web page on another site could otherwise make a logged-in user's browser import
/// into (or, with `resolve=reset`, empty) their folders with the session cookie.
/// Clients that send neither header (zmmailbox, curl) are not affected.
/// LIMITATION: the X-Zimbra-Csrf-Token header is not required of cookie-only POSTs.
fn cross_site(headers: &HeaderMap) -> bool {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let Some(from) = get(header::ORIGIN).or_else(|| get(header::REFERER)) else {
        return false;
    };
    let from = from.trim();
    if from == "null" {
        return true;
    }
    let Some((_, rest)) = from.split_once("://") else {
        return true;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    match get(header::HOST) {
        Some(host) => !authority.eq_ignore_ascii_case(host.trim()),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_posts_are_recognised() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    v.parse().expect("value"),
                );
            }
            m
        };
        assert!(!cross_site(&h(&[("host", "mail.test:8080")])));
        assert!(!cross_site(&h(&[
            ("host", "mail.test:8080"),
            ("origin", "http://mail.test:8080")
        ])));
        assert!(!cross_site(&h(&[
            ("host", "mail.test"),
            ("referer", "https://mail.test/zimbra/")
        ])));
        // Attack review: a cookie POST from http://evil.example emptied a folder.
        assert!(cross_site(&h(&[
            ("host", "mail.test:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&h(&[
            ("host", "mail.test"),
            ("referer", "http://mail.test.evil.example/x")
        ])));
        assert!(cross_site(&h(&[("host", "mail.test"), ("origin", "null")])));
    }

    #[test]
    fn resolve_and_paths() {
        assert_eq!(Resolve::parse(None), Resolve::Skip);
        assert_eq!(Resolve::parse(Some("RESET")), Resolve::Reset);
        assert_eq!(Resolve::parse(Some("bogus")), Resolve::Skip);
        assert_eq!(job::join("/", "Inbox/Sub"), "/Inbox/Sub");
        assert_eq!(job::join("/Old", "/Inbox/"), "/Old/Inbox");
        assert_eq!(job::join("/", ""), "/");
        assert!(Types::parse(None).wants("message"));
        assert!(!Types::parse(Some("contact")).wants("message"));
    }
}
