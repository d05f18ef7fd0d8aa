//! Briefcase documents over urn:zimbraMail: SaveDocumentRequest (a new document, or a
//! new revision of one, from an upload or a message part), and the lookup of a
//! document by id or by path that SendMsg/SaveDraft use for `attach/doc`.

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Document, Mailbox, StoreError};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::parse_id;
use super::super::response;
use super::mimetypes;
use super::parts::find_part;

fn no_such_doc(what: &str) -> ServiceError {
    ServiceError::new(FaultCode::NoSuchDoc, format!("no such document: {what}"))
}

/// SaveDocumentRequest `doc [l=] [name=] [ct=] [id= [ver=]]` with `upload id=` or
/// `m id= part=`: saves the bytes as a document of the Briefcase (or folder `l`), or
/// as the next revision of document `id`. Answers `doc id= ver= name=`.
///
/// # Errors
/// `mail.NO_SUCH_UPLOAD`, `mail.NO_SUCH_MSG`, `mail.NO_SUCH_PART`, `mail.NO_SUCH_DOC`,
/// and the store's folder and name faults.
pub(crate) async fn save_document(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let doc = req
        .child("doc")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: doc"))?;
    let existing = match doc.attr("id").filter(|i| !i.trim().is_empty()) {
        Some(id) => {
            let id = parse_id(id, FaultCode::NoSuchDoc)?;
            Some(
                mb.document(id)
                    .await
                    .map_err(|_| no_such_doc(&id.0.to_string()))?,
            )
        }
        None => None,
    };
    let mut upload_id = None;
    let (data, posted_ct, posted_name) = if let Some(up) = doc.child("upload") {
        let aid = up.req("id")?.trim().to_string();
        let u = ctx.svc.uploads.get(mb.account(), &aid).ok_or_else(|| {
            ServiceError::new(FaultCode::NoSuchUpload, format!("no such upload: {aid}"))
        })?;
        upload_id = Some(aid);
        (u.data.clone(), u.content_type.clone(), u.filename.clone())
    } else if let Some(m) = doc.child("m") {
        let mid = parse_id(m.req("id")?, FaultCode::NoSuchMsg)?;
        let part = m.req("part")?;
        let raw = mb.read_message(mid).await.map_err(store_fault)?;
        let p = find_part(&raw, part).ok_or_else(|| {
            ServiceError::new(FaultCode::NoSuchPart, format!("no such part: {part}"))
        })?;
        (p.data, p.content_type, p.filename)
    } else {
        return Err(ServiceError::invalid_request(
            "missing required element: upload",
        ));
    };
    let name = doc
        .attr("name")
        .map(str::to_string)
        .or_else(|| existing.as_ref().map(|d| d.name.clone()))
        .or(posted_name)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing document name"))?;
    let ct = doc
        .attr("ct")
        .map(str::to_string)
        .unwrap_or_else(|| mimetypes::for_upload(&posted_ct, Some(&name)));
    let folder_id = match (&existing, doc.attr("l").filter(|l| !l.trim().is_empty())) {
        (Some(d), _) => d.folder,
        (None, Some(l)) => parse_id(l, FaultCode::NoSuchFolder)?,
        (None, None) => ItemId(folder::BRIEFCASE),
    };
    if existing.is_none()
        && mb
            .document_by_name(folder_id, &name)
            .await
            .ok()
            .flatten()
            .is_some()
    {
        // Zimbra refuses a second document of a name; a new revision names the id.
        return Err(ServiceError::new(
            FaultCode::AlreadyExists,
            format!("an item named {name:?} already exists"),
        ));
    }
    let author = ctx.target_account().await?.name;
    let saved = mb
        .save_document(folder_id, &name, &ct, &data, &author)
        .await
        .map_err(store_fault)?;
    if let Some(aid) = upload_id {
        let _ = ctx.svc.uploads.take(mb.account(), &aid);
    }
    ctx.svc.indexer.notify(mb.account());
    let mut resp = response("SaveDocumentResponse", NS_MAIL);
    resp.add_new("doc")
        .set("id", saved.id.0.to_string())
        .set_num("ver", saved.version)
        .set("name", saved.name.clone());
    Ok(resp)
}

/// The document an `attach/doc` element names: `id=` (own ids only) or `path=` (from
/// the mailbox root, `Briefcase/notes.txt`). `None` when it names none and is
/// `optional="1"`.
///
/// # Errors
/// `mail.NO_SUCH_DOC` when it names no document and is not optional.
pub(crate) async fn attached_document(
    mb: &Mailbox,
    el: &Element,
) -> ServiceResult<Option<Document>> {
    let optional = el.bool_attr("optional", false)?;
    let found = match (el.attr("id"), el.attr("path")) {
        (Some(id), _) => {
            let id = id.rsplit(':').next().unwrap_or(id);
            match parse_id(id, FaultCode::NoSuchDoc) {
                Ok(id) => mb.document(id).await.ok(),
                Err(_) => None,
            }
        }
        (None, Some(path)) => by_path(mb, path).await?,
        (None, None) => {
            return Err(ServiceError::invalid_request(
                "missing required attribute: id",
            ));
        }
    };
    match found {
        Some(d) => Ok(Some(d)),
        None if optional => Ok(None),
        None => Err(no_such_doc(
            el.attr("id").or(el.attr("path")).unwrap_or_default(),
        )),
    }
}

/// The document at `path` (folders from the mailbox root, the last segment its name).
async fn by_path(mb: &Mailbox, path: &str) -> ServiceResult<Option<Document>> {
    let trimmed = path.trim().trim_start_matches('/');
    let Some((dir, name)) = trimmed.rsplit_once('/') else {
        return Ok(None);
    };
    let f = match mb.folder_by_path(&format!("/{dir}")).await {
        Ok(Some(f)) => f,
        Ok(None) | Err(StoreError::NoSuchFolder(_)) => return Ok(None),
        Err(e) => return Err(store_fault(e)),
    };
    mb.document_by_name(f.id, name).await.map_err(store_fault)
}
