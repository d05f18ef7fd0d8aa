//! The REST URLs (Zimbra's UserServlet, `store/docs/rest.txt`):
//! `/home/<user>/<folder path>[.<fmt>]` and `/service/home/...`, `~` for the caller;
//! `?fmt=` rss, atom, ics, ifb, vcf, csv, json, zip, tgz, tar (the default follows the
//! folder's view; the folder formats are written by `rest_export`);
//! `?id=N` for one item (a message as its raw MIME, a contact as vCard or CSV, an
//! appointment as iCalendar, a document as itself); a path naming a document
//! (`/home/u/Briefcase/notes.txt`) serves it. The caller is the auth token cookie's account
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
use super::{AppState, caller_of, text};

/// Most items one folder export writes.
pub(super) const MAX_EXPORT_ITEMS: usize = 10_000;

/// Why a REST request failed, as the HTTP answer.
pub(super) enum RestError {
    Unauthorized,
    NotFound,
    BadRequest(String),
    Failure,
}

impl RestError {
    pub(super) fn into_response(self) -> Response {
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

pub(super) fn store_err(e: zcs_store::StoreError) -> RestError {
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
            "rss" | "atom" | "ics" | "ifb" | "vcf" | "csv" | "zip" | "tgz" | "tar" | "json"
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
    let Some(folder) = mb.folder_by_path(&path).await.map_err(store_err)? else {
        // Not a folder: a document by its path (`/home/u/Briefcase/notes.txt`), the
        // name as written, a suffix such as `.csv` included.
        let raw = rest
            .trim_start_matches('/')
            .split_once('/')
            .map_or("", |(_, p)| p);
        return document_at(&mb, &access, raw).await;
    };
    access.check(&mb, folder.id).await?;
    let fmt = fmt.unwrap_or_else(|| default_format(&folder).to_string());
    let account = me.as_ref().map_or("(anonymous)", |e| e.name.as_str());
    tracing::info!(account = %account, owner = %owner.name, folder = %folder.path,
        fmt = %fmt, "REST export");
    let keep = match query
        .get("query")
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
    {
        Some(q) => super::rest_export::Keep::search(svc, &mb, q).await?,
        None => super::rest_export::Keep::default(),
    };
    super::rest_export::export(&mb, &access, &owner, &folder, &fmt, query, &keep).await
}

/// The document at `raw` (`Folder/Sub/name`), served as itself; not found unless the
/// caller may read its folder.
async fn document_at(mb: &Mailbox, access: &Access, raw: &str) -> Result<Response, RestError> {
    let raw = raw.trim_end_matches('/');
    let (dir, name) = raw.rsplit_once('/').ok_or(RestError::NotFound)?;
    if name.is_empty() {
        return Err(RestError::NotFound);
    }
    let folder = mb
        .folder_by_path(&format!("/{dir}"))
        .await
        .map_err(store_err)?
        .ok_or(RestError::NotFound)?;
    access.check(mb, folder.id).await?;
    let doc = mb
        .document_by_name(folder.id, name)
        .await
        .map_err(store_err)?
        .ok_or(RestError::NotFound)?;
    let bytes = mb.read_document(doc.id, None).await.map_err(store_err)?;
    Ok(respond(bytes, &doc.content_type, Some(&doc.name)))
}

/// Who is asking, for grant checks.
pub(super) struct Access {
    pub(super) owner: bool,
    /// The caller as the grants see it; no account for an anonymous caller, who then
    /// matches only grants to the public.
    pub(super) who: Accessor,
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
    pub(super) async fn check(&self, mb: &Mailbox, folder: ItemId) -> Result<(), RestError> {
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

pub(super) fn respond(body: Vec<u8>, content_type: &str, filename: Option<&str>) -> Response {
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
            if fmt == Some("csv") {
                let tags = mb.item_tags(id).await.map_err(store_err)?;
                let card = super::rest_csv::ExportCard {
                    fields: &c.fields,
                    tags: &tags,
                };
                let text = super::rest_csv::export(&[card], &super::csv_formats::ZIMBRA, ',');
                return Ok(respond(text.into_bytes(), "text/csv; charset=utf-8", None));
            }
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

pub(super) fn json(v: serde_json::Value) -> Response {
    respond(
        v.to_string().into_bytes(),
        "application/json; charset=utf-8",
        None,
    )
}

pub(super) fn message_json(m: &zcs_store::MessageMeta) -> serde_json::Value {
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
pub(super) fn safe_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .take(40)
        .collect();
    cleaned.trim().to_string()
}

pub(super) fn eml_entry(m: &zcs_store::MessageMeta, raw: Vec<u8>) -> ArchiveEntry {
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

pub(super) fn zip_of(entries: Vec<ArchiveEntry>) -> Result<Response, RestError> {
    let z = archive::zip(&entries).map_err(|e| RestError::BadRequest(e.to_string()))?;
    Ok(respond(z, "application/zip", Some("export.zip")))
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
}
