//! ImportContactsRequest and ExportContactsRequest: contacts in and out of an address
//! book as CSV (`ct="csv"`, the only type Zimbra's SOAP form takes). The CSV reading
//! and writing itself is in `csv`.

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Contact, Mailbox};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::parse_id;
use super::super::response;
use super::csv;

/// Columns whose values are the contact's categories: Yahoo's `Category`, Outlook's
/// `Categories`, Zimbra's own `tags`. Zimbra's import makes each one a tag.
const CATEGORY_COLUMNS: &[&str] = &["category", "categories", "tags"];

/// A CSV contact's fields without its category columns, and the tag names those
/// held (split at commas and semicolons, blanks and repeats left out).
fn split_categories(fields: Vec<(String, String)>) -> (Vec<(String, String)>, Vec<String>) {
    let mut tags: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for (k, v) in fields {
        if !CATEGORY_COLUMNS.contains(&k.to_ascii_lowercase().as_str()) {
            kept.push((k, v));
            continue;
        }
        for name in v.split([',', ';', '\n']).map(str::trim) {
            if !name.is_empty() && !tags.iter().any(|t| t.eq_ignore_ascii_case(name)) {
                tags.push(name.to_string());
            }
        }
    }
    (kept, tags)
}

/// Refuses any content type but CSV, as Zimbra's ImportContacts/ExportContacts do.
fn check_type(req: &Element) -> ServiceResult<()> {
    match req.attr("ct").map(str::trim) {
        Some(ct) if ct.eq_ignore_ascii_case("csv") => Ok(()),
        Some(ct) => Err(ServiceError::invalid_request(format!(
            "unsupported content type: {ct}"
        ))),
        None => Err(ServiceError::invalid_request(
            "missing required attribute: ct",
        )),
    }
}

/// ImportContactsRequest `ct="csv" [l=] [csvfmt=] [csvlocale=]` with `content` holding
/// the CSV text or naming an upload (`aid=`). Answers `cn ids="..." n="N"`.
///
/// # Errors
/// `service.INVALID_REQUEST` for another type or no content; `mail.NO_SUCH_UPLOAD`;
/// `mail.UNABLE_TO_IMPORT_CONTACTS` for a document that is not CSV; store faults
/// (`mail.TOO_MANY_CONTACTS` past `zimbraContactMaxNumEntries`, nothing imported then).
pub(crate) async fn import_contacts(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    check_type(req)?;
    let content = req
        .child("content")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: content"))?;
    let folder_id = match req.attr("l").filter(|l| !l.trim().is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None => ItemId(folder::CONTACTS),
    };
    // LIMITATION: `csvfmt` and `csvlocale` are not read; the header row decides.
    let aid = content.attr("aid").map(str::trim).filter(|a| !a.is_empty());
    let text = match aid {
        Some(aid) => {
            let u = ctx.svc.uploads.get(mb.account(), aid).ok_or_else(|| {
                ServiceError::new(FaultCode::NoSuchUpload, format!("no such upload: {aid}"))
            })?;
            String::from_utf8_lossy(&u.data).into_owned()
        }
        None => content.text().to_string(),
    };
    let cards = csv::contacts(&text).map_err(|e| {
        ServiceError::new(
            FaultCode::UnableToImportContacts,
            format!("unable to import contacts: {e}"),
        )
    })?;
    let (cards, tags): (Vec<_>, Vec<_>) = cards.into_iter().map(split_categories).unzip();
    let cards = cards.into_iter().map(|f| (f, Vec::new())).collect();
    let created = mb
        .create_contacts(folder_id, cards)
        .await
        .map_err(store_fault)?;
    for (c, names) in created.iter().zip(&tags) {
        if !names.is_empty() {
            super::tags::replace_tags(mb, c.id, names).await?;
        }
    }
    if let Some(aid) = aid {
        let _ = ctx.svc.uploads.take(mb.account(), aid);
    }
    let ids: Vec<String> = created.iter().map(|c| c.id.0.to_string()).collect();
    let mut resp = response("ImportContactsResponse", NS_MAIL);
    resp.add_new("cn")
        .set("ids", ids.join(","))
        .set_num("n", created.len());
    Ok(resp)
}

/// Every contact of the mailbox's address books (and Trash), or of folder `l`.
async fn contacts_of(mb: &Mailbox, l: Option<&str>) -> ServiceResult<Vec<Contact>> {
    if let Some(l) = l.filter(|l| !l.trim().is_empty()) {
        let f = parse_id(l, FaultCode::NoSuchFolder)?;
        mb.folder(f).await.map_err(store_fault)?;
        return mb.contacts(f).await.map_err(store_fault);
    }
    let mut list = Vec::new();
    for f in mb.folders().await.map_err(store_fault)? {
        if f.view == "contact" {
            list.extend(mb.contacts(f.id).await.map_err(store_fault)?);
        }
    }
    Ok(list)
}

/// ExportContactsRequest `ct="csv" [l=] [csvfmt=] [csvlocale=] [csvsep=]`: the contacts
/// (groups left out) in Zimbra's `zimbra-csv` layout, in `content`.
///
/// # Errors
/// `service.INVALID_REQUEST` for another type; `mail.NO_SUCH_FOLDER`.
pub(crate) async fn export_contacts(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    check_type(req)?;
    // LIMITATION: only Zimbra's own layout is written; `csvfmt`, `csvlocale` and
    // `csvsep` are not read.
    let list = contacts_of(mb, req.attr("l")).await?;
    let cards: Vec<&[(String, String)]> = list
        .iter()
        .filter(|c| !c.is_group)
        .map(|c| c.fields.as_slice())
        .collect();
    let mut resp = response("ExportContactsResponse", NS_MAIL);
    resp.add_text("content", csv::export(cards.iter().copied()))
        .unique = true;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_columns_become_tag_names() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let (kept, tags) = split_categories(vec![
            f("firstName", "Ann"),
            f("Category", "my-dl, Office-ppl;MY-DL"),
            f("email", "a@x.test"),
        ]);
        assert_eq!(kept, vec![f("firstName", "Ann"), f("email", "a@x.test")]);
        assert_eq!(tags, ["my-dl", "Office-ppl"]);
        let (_, none) = split_categories(vec![f("Category", " ")]);
        assert!(none.is_empty());
    }
}
