//! The REST URLs (Zimbra's UserServlet, `store/docs/rest.txt`):
//! `/home/<user>/<folder path>[.<fmt>]` and `/service/home/...`, `~` for the caller;
//! `?fmt=` rss, ics, vcf, json, zip, tgz (the default follows the folder's view);
//! `?id=N` for one item (a message as its raw MIME, a contact as vCard, an appointment
//! as iCalendar, a document as itself). The caller is the auth token cookie's account
//! or HTTP basic auth (RFC 7617); it must own the mailbox or hold read access on the
//! folder through a grant. Anything the caller may not see is answered exactly like
//! something that does not exist (404), so ids cannot be probed.
//!
//! A request with no usable auth token and no basic auth is served as Zimbra's
//! UserServlet serves it: as an anonymous accessor, whose rights are those of the
//! folder's grants to the public (`gt="pub"`; published calendars, public folders).
//! Only reading is ever served here, so a public grant of more than `r` still lets an
//! anonymous caller read and nothing else. Whatever an anonymous caller may not read
//! (another folder, an item outside a public folder, an unknown account or id) is
//! answered 401 with a Basic challenge, as a request without auth always was, so
//! nothing about it can be probed either.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use zcs_core::{Entry, FaultCode, ItemId};
use zcs_store::{Accessor, Folder, Mailbox, Rights};

use super::archive::{self, ArchiveEntry};
use super::rest_import::meta;
use super::{AppState, caller_of, text};

/// Most items one folder export writes.
const MAX_EXPORT_ITEMS: usize = 10_000;

/// Why a REST request failed, as the HTTP answer.
enum RestError {
    Unauthorized,
    NotFound,
    BadRequest(String),
    Failure,
}

impl RestError {
    fn into_response(self) -> Response {
        match self {
            RestError::Unauthorized => {
                let mut r = text(StatusCode::UNAUTHORIZED, "authentication required\n");
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Zimbra\""),
                );
                r
            }
            RestError::NotFound => text(StatusCode::NOT_FOUND, "no such item\n"),
            RestError::BadRequest(m) => text(StatusCode::BAD_REQUEST, format!("{m}\n")),
            RestError::Failure => text(StatusCode::INTERNAL_SERVER_ERROR, "failure\n"),
        }
    }
}

fn store_err(e: zcs_store::StoreError) -> RestError {
    match e.fault_code() {
        FaultCode::Failure => {
            tracing::error!(error = %e, "REST store failure");
            RestError::Failure
        }
        _ => RestError::NotFound,
    }
}

/// The (user, password) of an `Authorization: Basic` header.
pub(super) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Splits the path after `/home/` into (user, folder path, format suffix).
pub(super) fn split_path(rest: &str) -> (String, String, Option<String>) {
    let rest = rest.trim_start_matches('/');
    let (user, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut path = path.trim_end_matches('/').to_string();
    let mut fmt = None;
    if let Some((base, ext)) = path.rsplit_once('.')
        && !ext.contains('/')
        && matches!(
            ext.to_ascii_lowercase().as_str(),
            "rss" | "ics" | "vcf" | "zip" | "tgz" | "tar" | "json"
        )
    {
        fmt = Some(ext.to_ascii_lowercase());
        path = base.to_string();
    }
    (user.to_string(), format!("/{path}"), fmt)
}

/// `GET /home/...` and `/service/home/...`.
pub async fn rest(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match serve(&state, peer, &rest, &query, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The account a REST request is made as: `Some` when it authenticated, `None` for an
/// anonymous request (no credentials, or only an auth token that is not valid, which
/// Zimbra's UserServlet ignores). Basic auth that fails is refused outright.
async fn requester(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Option<Entry>, RestError> {
    let caller = caller_of(state, peer, headers).await;
    let basic = basic_auth(headers);
    let login = basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    match state.svc.web_account(&caller, login, false).await {
        Ok(me) => Ok(Some(me)),
        Err(e) if basic.is_none() => {
            tracing::debug!(code = ?e.code, "REST request served as anonymous");
            Ok(None)
        }
        Err(_) => Err(RestError::Unauthorized),
    }
}

async fn serve(
    state: &AppState,
    peer: SocketAddr,
    rest: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, RestError> {
    let me = requester(state, peer, headers).await?;
    let anonymous = me.is_none();
    match serve_as(state, me, rest, query).await {
        // An anonymous caller learns nothing from a 404: everything it may not read,
        // existing or not, is the 401 a request without auth gets.
        Err(RestError::NotFound) if anonymous => Err(RestError::Unauthorized),
        other => other,
    }
}

async fn serve_as(
    state: &AppState,
    me: Option<Entry>,
    rest: &str,
    query: &HashMap<String, String>,
) -> Result<Response, RestError> {
    let svc = &state.svc;
    let (user, path, suffix) = split_path(rest);
    let owner = if user == "~" || user.is_empty() {
        me.clone().ok_or(RestError::Unauthorized)?
    } else {
        let mut found = svc
            .prov
            .find_account(&user)
            .await
            .map_err(|_| RestError::Failure)?;
        // A bare local part is also looked up in the caller's own domain.
        if found.is_none()
            && !user.contains('@')
            && let Some(domain) = me.as_ref().and_then(Entry::domain)
        {
            found = svc
                .prov
                .find_account(&format!("{user}@{domain}"))
                .await
                .map_err(|_| RestError::Failure)?;
        }
        found.ok_or(RestError::NotFound)?
    };
    let mb = svc.store.mailbox(owner.id).await.map_err(store_err)?;
    let fmt = query.get("fmt").map(|f| f.to_ascii_lowercase()).or(suffix);
    let access = Access::new(svc, me.as_ref(), &owner).await;
    if let Some(id) = query.get("id") {
        let id: i32 = id
            .trim()
            .parse()
            .map_err(|_| RestError::BadRequest(format!("invalid id: {id}")))?;
        let part = query.get("part").map(String::as_str);
        return item(&mb, &access, ItemId(id), fmt.as_deref(), part).await;
    }
    let folder = mb
        .folder_by_path(&path)
        .await
        .map_err(store_err)?
        .ok_or(RestError::NotFound)?;
    access.check(&mb, folder.id).await?;
    let fmt = fmt.unwrap_or_else(|| default_format(&folder).to_string());
    let account = me.as_ref().map_or("(anonymous)", |e| e.name.as_str());
    tracing::info!(account = %account, owner = %owner.name, folder = %folder.path,
        fmt = %fmt, "REST export");
    export(&mb, &access, &owner, &folder, &fmt).await
}

/// Who is asking, for grant checks.
struct Access {
    owner: bool,
    /// The caller as the grants see it; no account for an anonymous caller, who then
    /// matches only grants to the public.
    who: Accessor,
}

impl Access {
    async fn new(svc: &crate::soap::SoapService, me: Option<&Entry>, owner: &Entry) -> Access {
        let Some(me) = me else {
            return Access {
                owner: false,
                who: Accessor::default(),
            };
        };
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
        Access {
            owner: is_owner,
            who: Accessor {
                account: Some(me.id),
                groups,
                domain: me.domain().map(str::to_string),
                ..Accessor::default()
            },
        }
    }

    /// Ok when the caller may read `folder`; otherwise not found.
    async fn check(&self, mb: &Mailbox, folder: ItemId) -> Result<(), RestError> {
        if self.owner {
            return Ok(());
        }
        let rights = mb
            .effective_rights_for(folder, &self.who)
            .await
            .map_err(store_err)?;
        if rights.contains(Rights::READ) {
            Ok(())
        } else {
            Err(RestError::NotFound)
        }
    }
}

fn default_format(folder: &Folder) -> &'static str {
    match folder.view.as_str() {
        "appointment" | "task" => "ics",
        "contact" => "vcf",
        "document" => "zip",
        _ => "rss",
    }
}

fn respond(body: Vec<u8>, content_type: &str, filename: Option<&str>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(f) = filename {
        let safe: String = f
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}

/// One item by id; for a message, `part` (Zimbra's part number, `2` or `2.1`) narrows it
/// to that MIME part, decoded, with its own content type and file name.
async fn item(
    mb: &Mailbox,
    access: &Access,
    id: ItemId,
    fmt: Option<&str>,
    part: Option<&str>,
) -> Result<Response, RestError> {
    use zcs_core::ItemKind;
    let kind = mb
        .item_kind(id)
        .await
        .map_err(store_err)?
        .ok_or(RestError::NotFound)?;
    match kind {
        ItemKind::Message => {
            let meta = mb.message(id).await.map_err(store_err)?;
            access.check(mb, meta.folder).await?;
            let raw = mb.read_message(id).await.map_err(store_err)?;
            if let Some(number) = part {
                let p = crate::soap::find_part(&raw, number).ok_or(RestError::NotFound)?;
                let filename = p.filename.clone();
                return Ok(respond(p.data, &p.content_type, filename.as_deref()));
            }
            match fmt {
                Some("zip") => zip_of(vec![eml_entry(&meta, raw)]),
                Some("json") => Ok(json(serde_json::json!({"m": [message_json(&meta)]}))),
                _ => Ok(respond(raw, "message/rfc822", None)),
            }
        }
        ItemKind::Contact => {
            let c = mb.contact(id).await.map_err(store_err)?;
            access.check(mb, c.folder).await?;
            let card = mb.export_vcard(id).await.map_err(store_err)?;
            Ok(respond(
                card.into_bytes(),
                "text/x-vcard; charset=utf-8",
                None,
            ))
        }
        ItemKind::Appointment | ItemKind::Task => {
            let c = mb.cal_item(id).await.map_err(store_err)?;
            access.check(mb, c.folder).await?;
            Ok(respond(
                c.ical.into_bytes(),
                "text/calendar; charset=utf-8",
                None,
            ))
        }
        ItemKind::Document => {
            let d = mb.document(id).await.map_err(store_err)?;
            access.check(mb, d.folder).await?;
            let bytes = mb.read_document(id, None).await.map_err(store_err)?;
            Ok(respond(bytes, &d.content_type, Some(&d.name)))
        }
        _ => Err(RestError::NotFound),
    }
}

fn json(v: serde_json::Value) -> Response {
    respond(
        v.to_string().into_bytes(),
        "application/json; charset=utf-8",
        None,
    )
}

fn message_json(m: &zcs_store::MessageMeta) -> serde_json::Value {
    serde_json::json!({
        "id": m.id.0.to_string(),
        "l": m.folder.0.to_string(),
        "cid": m.conv.0.to_string(),
        "f": m.flags.to_soap(),
        "d": m.internal_date_ms,
        "s": m.size,
        "su": m.subject,
        "fr": m.sender,
    })
}

/// A file-name-safe rendering of `s`, at most 40 characters.
fn safe_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .take(40)
        .collect();
    cleaned.trim().to_string()
}

fn eml_entry(m: &zcs_store::MessageMeta, raw: Vec<u8>) -> ArchiveEntry {
    let su = safe_name(&m.subject);
    let name = if su.is_empty() {
        format!("{}.eml", m.id.0)
    } else {
        format!("{}-{su}.eml", m.id.0)
    };
    ArchiveEntry {
        name,
        data: raw,
        mtime: m.internal_date_ms / 1000,
    }
}

fn zip_of(entries: Vec<ArchiveEntry>) -> Result<Response, RestError> {
    let z = archive::zip(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
    Ok(respond(z, "application/zip", Some("export.zip")))
}

/// RSS 2.0 of a folder's messages, newest first.
fn rss(owner: &Entry, folder: &Folder, msgs: &[zcs_store::MessageMeta]) -> String {
    use std::fmt::Write as _;
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n",
    );
    let _ = writeln!(out, "<title>Zimbra: {}</title>", esc(&folder.name));
    let _ = writeln!(
        out,
        "<description>{}: {}</description>",
        esc(&owner.name),
        esc(&folder.path)
    );
    for m in msgs {
        let date = chrono::DateTime::from_timestamp_millis(m.internal_date_ms)
            .map(|d| d.to_rfc2822())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<item><title>{}</title><author>{}</author><pubDate>{}</pubDate>\
             <guid isPermaLink=\"false\">{}</guid></item>",
            esc(&m.subject),
            esc(&m.sender),
            date,
            m.id.0
        );
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

/// The folders an archive export covers: `folder` and everything below it.
async fn subtree(mb: &Mailbox, folder: &Folder) -> Result<Vec<Folder>, RestError> {
    let all = mb.folders().await.map_err(store_err)?;
    let prefix = if folder.path == "/" {
        "/".to_string()
    } else {
        format!("{}/", folder.path)
    };
    Ok(all
        .into_iter()
        .filter(|f| f.id == folder.id || f.path.starts_with(&prefix))
        .collect())
}

async fn export(
    mb: &Mailbox,
    access: &Access,
    owner: &Entry,
    folder: &Folder,
    fmt: &str,
) -> Result<Response, RestError> {
    match fmt {
        "rss" => {
            let mut msgs = mb.messages(folder.id).await.map_err(store_err)?;
            msgs.sort_by_key(|m| std::cmp::Reverse(m.internal_date_ms));
            msgs.truncate(MAX_EXPORT_ITEMS);
            let body = rss(owner, folder, &msgs);
            Ok(respond(
                body.into_bytes(),
                "application/rss+xml; charset=utf-8",
                None,
            ))
        }
        "json" => {
            let msgs = mb.messages(folder.id).await.map_err(store_err)?;
            let m: Vec<serde_json::Value> = msgs
                .iter()
                .take(MAX_EXPORT_ITEMS)
                .map(message_json)
                .collect();
            let cards = mb.contacts(folder.id).await.map_err(store_err)?;
            let cn: Vec<serde_json::Value> = cards
                .iter()
                .take(MAX_EXPORT_ITEMS)
                .map(|c| {
                    let attrs: serde_json::Map<String, serde_json::Value> = c
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    serde_json::json!({"id": c.id.0.to_string(), "l": c.folder.0.to_string(),
                        "_attrs": attrs})
                })
                .collect();
            let mut v = serde_json::Map::new();
            if !m.is_empty() {
                v.insert("m".into(), m.into());
            }
            if !cn.is_empty() {
                v.insert("cn".into(), cn.into());
            }
            Ok(json(serde_json::Value::Object(v)))
        }
        "vcf" => {
            let mut out = String::new();
            for c in mb
                .contacts(folder.id)
                .await
                .map_err(store_err)?
                .iter()
                .take(MAX_EXPORT_ITEMS)
            {
                out.push_str(&mb.export_vcard(c.id).await.map_err(store_err)?);
            }
            Ok(respond(
                out.into_bytes(),
                "text/x-vcard; charset=utf-8",
                None,
            ))
        }
        "ics" => {
            let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:zcs\r\n");
            for c in mb
                .cal_items(folder.id)
                .await
                .map_err(store_err)?
                .iter()
                .take(MAX_EXPORT_ITEMS)
            {
                out.push_str(&ical_components(&c.ical));
            }
            out.push_str("END:VCALENDAR\r\n");
            Ok(respond(
                out.into_bytes(),
                "text/calendar; charset=utf-8",
                None,
            ))
        }
        "zip" | "tgz" | "tar" => {
            let mut entries = Vec::new();
            for f in subtree(mb, folder).await? {
                if access.check(mb, f.id).await.is_err() {
                    continue;
                }
                let dir = f.path.trim_start_matches('/').to_string();
                // Each item is preceded by its `.meta`, as Zimbra's ArchiveFormatter
                // writes them, so an import restores folders, flags, tags and dates.
                if !dir.is_empty() {
                    let parent = dir.rsplit_once('/').map(|(p, _)| format!("{p}/"));
                    entries.push(ArchiveEntry {
                        name: format!(
                            "{}{:010}-{}.meta",
                            parent.unwrap_or_default(),
                            f.id.0,
                            safe_name(&f.name)
                        ),
                        data: meta::folder_meta(f.id.0, &f.path, &f.name, &f.view, 0),
                        mtime: 0,
                    });
                }
                for m in mb.messages(f.id).await.map_err(store_err)? {
                    if entries.len() >= MAX_EXPORT_ITEMS {
                        break;
                    }
                    let raw = mb.read_message(m.id).await.map_err(store_err)?;
                    let mut e = eml_entry(&m, raw);
                    if !dir.is_empty() {
                        e.name = format!("{dir}/{}", e.name);
                    }
                    entries.push(ArchiveEntry {
                        name: format!("{}.meta", e.name),
                        data: meta::message_meta(&m, &f.path, &m.tags),
                        mtime: e.mtime,
                    });
                    entries.push(e);
                }
                for c in mb.contacts(f.id).await.map_err(store_err)? {
                    let card = mb.export_vcard(c.id).await.map_err(store_err)?;
                    entries.push(ArchiveEntry {
                        name: format!("{dir}/{}.vcf", c.id.0)
                            .trim_start_matches('/')
                            .to_string(),
                        data: card.into_bytes(),
                        mtime: 0,
                    });
                }
            }
            let name = if folder.path == "/" {
                "mailbox".to_string()
            } else {
                safe_name(&folder.name)
            };
            match fmt {
                "zip" => zip_of(entries),
                "tar" => {
                    let t =
                        archive::tar(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
                    Ok(respond(
                        t,
                        "application/x-tar",
                        Some(&format!("{name}.tar")),
                    ))
                }
                _ => {
                    let t =
                        archive::tgz(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
                    Ok(respond(
                        t,
                        "application/x-compressed-tar",
                        Some(&format!("{name}.tgz")),
                    ))
                }
            }
        }
        other => Err(RestError::BadRequest(format!("unsupported fmt: {other}"))),
    }
}

/// The components of a VCALENDAR text, without the calendar wrapper.
fn ical_components(ical: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for line in ical.lines() {
        let l = line.trim_end_matches('\r');
        if l.eq_ignore_ascii_case("BEGIN:VCALENDAR") {
            continue;
        }
        if l.eq_ignore_ascii_case("END:VCALENDAR") {
            continue;
        }
        if l.to_ascii_uppercase().starts_with("BEGIN:") {
            depth += 1;
        }
        if depth > 0 {
            out.push_str(l);
            out.push_str("\r\n");
        }
        if l.to_ascii_uppercase().starts_with("END:") {
            depth = depth.saturating_sub(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_suffixes() {
        assert_eq!(
            split_path("bob/inbox.rss"),
            ("bob".into(), "/inbox".into(), Some("rss".into()))
        );
        assert_eq!(
            split_path("~/Inbox/sub/"),
            ("~".into(), "/Inbox/sub".into(), None)
        );
        assert_eq!(
            split_path("u@d.test"),
            ("u@d.test".into(), "/".into(), None)
        );
        assert_eq!(
            split_path("u/My.Folder"),
            ("u".into(), "/My.Folder".into(), None)
        );
    }

    #[test]
    fn basic_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpwOnc="),
        );
        assert_eq!(basic_auth(&h), Some(("u".into(), "p:w".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert_eq!(basic_auth(&h), None);
    }

    #[test]
    fn calendar_components() {
        let c = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            ical_components(c),
            "BEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\n"
        );
        assert_eq!(safe_name("a/b:c"), "a_b_c");
    }
}
