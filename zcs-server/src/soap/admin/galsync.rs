//! Admin requests on GAL sync accounts (spec 02 §1.3.4): CreateGalSyncAccount,
//! AddGalSyncDataSource, DeleteGalSyncAccount and SyncGalAccount (GetDataSources is in
//! `account::datasources`), over the directory's
//! GAL sync accounts (`Provisioning::create_gal_sync_account`).
//!
//! SyncGalAccount fills each internal GAL data source's folder of the account's mailbox
//! with one contact per GAL entry (`Provisioning::gal_sync_plan`), keyed by the entry's
//! `zimbraId` field: new entries are added, changed ones replaced, vanished ones deleted;
//! then the source's last sync time is recorded.
//!
//! LIMITATION: only internal (`zimbraGalType=zimbra`) sources are filled, and only when
//! asked (no periodic sync from `zimbraDataSourcePollingInterval`); GAL searches read the
//! directory directly, so nothing else depends on the folder.

use std::collections::HashMap;

use zcs_core::{Entry, ItemId, ServiceError, ServiceResult, folder};
use zcs_directory::provisioning::{Child, GalSyncSource, GalSyncSpec};
use zcs_store::{Contact, Mailbox};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateGalSyncAccountRequest"
            | "AddGalSyncDataSourceRequest"
            | "DeleteGalSyncAccountRequest"
            | "SyncGalAccountRequest"
    );
    if !known {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(run(ctx, name, req).await)
}

/// The `<account by="name|id">` selector's text.
fn account_key(req: &Element) -> ServiceResult<String> {
    let a = req
        .child("account")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: account"))?;
    let key = a.attr("id").unwrap_or_else(|| a.text()).trim().to_string();
    if key.is_empty() {
        return Err(ServiceError::invalid_request("empty account selector"));
    }
    Ok(key)
}

async fn run(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    match name {
        "CreateGalSyncAccountRequest" | "AddGalSyncDataSourceRequest" => {
            let account = account_key(req)?;
            if name == "AddGalSyncDataSourceRequest" {
                // Adding a source needs the account to exist already.
                prov.get_account(&account).await?;
            }
            let spec = GalSyncSpec {
                account: &account,
                domain: req.req("domain")?.trim(),
                source: req.req("name")?.trim(),
                gal_type: req.attr("type").unwrap_or("zimbra"),
                folder: req.attr("folder"),
                password: req.attr("password"),
            };
            let acct = prov.create_gal_sync_account(&spec).await?;
            let resp_name = name.replace("Request", "Response");
            let mut resp = response(&resp_name, NS_ADMIN);
            resp.add_new("account")
                .set("name", acct.name.clone())
                .set("id", acct.id.to_string());
            Ok(resp)
        }
        "DeleteGalSyncAccountRequest" => {
            prov.delete_gal_sync_account(&account_key(req)?).await?;
            Ok(response("DeleteGalSyncAccountResponse", NS_ADMIN))
        }
        _ => {
            // <account id=><datasource by="name|id">..</datasource></account>
            for a in req.children_named("account") {
                let id = a.req("id")?.trim().to_string();
                let acct = prov.get_account(&id).await?;
                let mut asked = Vec::new();
                for ds in a.children_named("datasource") {
                    let e = prov
                        .get_child(Child::DataSource, &acct.id.to_string(), ds.text().trim())
                        .await?;
                    // The source's own name, as the plan names it (`e.name` is the
                    // child's full name).
                    let own = e.attrs.get("zimbraDataSourceName").unwrap_or(&e.name);
                    asked.push(own.to_string());
                }
                sync_account(ctx, &acct, &asked).await?;
            }
            Ok(response("SyncGalAccountResponse", NS_ADMIN))
        }
    }
}

/// Fills the folders of `acct`'s internal GAL sources (all of them, or those named in
/// `only`) from the GAL, recording each source's outcome.
async fn sync_account(ctx: &Ctx<'_>, acct: &Entry, only: &[String]) -> ServiceResult<()> {
    let prov = &ctx.svc.prov;
    let plan = prov.gal_sync_plan(&acct.id.to_string()).await?;
    let mb = ctx.svc.store.mailbox(acct.id).await.map_err(store_fault)?;
    for source in plan {
        if !only.is_empty() && !only.iter().any(|n| n.eq_ignore_ascii_case(&source.name)) {
            continue;
        }
        let outcome = fill_folder(&mb, &source).await;
        prov.record_gal_sync(&acct.id.to_string(), &source.name, outcome.is_ok())
            .await?;
        let (added, replaced, removed) = outcome?;
        tracing::info!(
            account = %acct.name,
            source = %source.name,
            added,
            replaced,
            removed,
            "GAL sync done"
        );
    }
    Ok(())
}

/// The folder a GAL source fills: its `zimbraDataSourceFolderId` as an id or a path,
/// created as an address book under the root when missing (`_<source name>` when the
/// source names none).
async fn source_folder(mb: &Mailbox, source: &GalSyncSource) -> ServiceResult<ItemId> {
    let name = source
        .folder
        .clone()
        .unwrap_or_else(|| format!("_{}", source.name));
    if let Ok(n) = name.trim().parse::<i32>() {
        return Ok(mb.folder(ItemId(n)).await.map_err(store_fault)?.id);
    }
    if let Some(f) = mb.folder_by_path(&name).await.map_err(store_fault)? {
        return Ok(f.id);
    }
    let f = mb
        .create_folder_with_view(
            ItemId(folder::USER_ROOT),
            name.trim_matches('/'),
            Some("contact"),
        )
        .await
        .map_err(store_fault)?;
    Ok(f.id)
}

/// Brings `source`'s folder to the GAL: (added, replaced, removed).
async fn fill_folder(mb: &Mailbox, source: &GalSyncSource) -> ServiceResult<(usize, usize, usize)> {
    let folder = source_folder(mb, source).await?;
    let mut have: HashMap<String, Contact> = HashMap::new();
    let mut strays = Vec::new();
    for c in mb.contacts(folder).await.map_err(store_fault)? {
        if let Some(k) = c.field(GAL_KEY).map(str::to_string)
            && let Some(dup) = have.insert(k, c)
        {
            strays.push(dup.id);
        }
    }
    let mut new_cards = Vec::new();
    let mut replaced = 0;
    for (key, attrs) in &source.contacts {
        let mut fields: Vec<(String, String)> = vec![(GAL_KEY.to_string(), key.clone())];
        for (name, values) in attrs.iter() {
            if let Some(v) = values.first().filter(|v| !v.is_empty()) {
                fields.push((name.to_string(), v.clone()));
            }
        }
        match have.remove(key) {
            Some(old) if old.fields == fields => {}
            Some(old) => {
                mb.modify_contact(old.id, fields, Vec::new())
                    .await
                    .map_err(store_fault)?;
                replaced += 1;
            }
            None => new_cards.push((fields, Vec::new())),
        }
    }
    let added = new_cards.len();
    mb.create_contacts(folder, new_cards)
        .await
        .map_err(store_fault)?;
    strays.extend(have.into_values().map(|c| c.id));
    let removed = strays.len();
    if !strays.is_empty() {
        mb.delete_items(&strays).await.map_err(store_fault)?;
    }
    Ok((added, replaced, removed))
}

/// The contact field that ties a GAL contact to its directory entry.
const GAL_KEY: &str = "zimbraId";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_selectors() {
        let mut r = Element::new("DeleteGalSyncAccountRequest");
        assert!(account_key(&r).is_err());
        r.add_text("account", " gal@x.test ").set("by", "name");
        assert_eq!(account_key(&r).ok().as_deref(), Some("gal@x.test"));
    }
}
