//! Admin requests on GAL sync accounts (spec 02 §1.3.4): CreateGalSyncAccount,
//! AddGalSyncDataSource, DeleteGalSyncAccount and SyncGalAccount (GetDataSources is in
//! `account::datasources`), over the directory's
//! GAL sync accounts (`Provisioning::create_gal_sync_account`). The `<a n=>` children of
//! CreateGalSyncAccount and AddGalSyncDataSource are set on the new data source, as
//! Zimbra does (`zimbraDataSourcePollingInterval` turns on its periodic sync).
//!
//! SyncGalAccount fills each GAL data source's folder of the account's mailbox with one
//! contact per GAL entry, internal (`zimbraGalType=zimbra`: this directory's GAL) and
//! external (`ldap`: the whole external directory, read in pages), through the code the
//! periodic sync runs too (`crate::galsync_poller`, on each source's polling interval).
//! A source whose GAL cannot be read (server unreachable, invalid credentials) keeps its
//! contacts, gets `zimbraGalLastFailedSyncTimestamp`, and its fault is the answer once
//! the other sources were synced.
//!
//! LIMITATION: GAL searches read the directory (or the external one) directly, so
//! nothing else depends on the folder; see `crate::galsync_poller` for what a sync of an
//! external source leaves out.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::provisioning::{Child, GalSyncSpec};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use crate::galsync_poller::{self, GalSyncError};

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
            // `<a n=>` children go on the data source (zmgsautil's `-p` sends
            // zimbraDataSourcePollingInterval so).
            let edits = super::edits_from(req)?;
            let acct = prov.create_gal_sync_account(&spec).await?;
            if !edits.is_empty() {
                prov.modify_child(Child::DataSource, &acct.id.to_string(), spec.source, &edits)
                    .await?;
            }
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
                let mut full = false;
                for ds in a.children_named("datasource") {
                    // fullSync="1" re-reads everything (and notices deletions); reset
                    // as well, since the folder is brought to the full listing.
                    full |= ["fullSync", "reset"]
                        .iter()
                        .any(|k| ds.attr(k).is_some_and(|v| v == "1" || v == "true"));
                    let e = prov
                        .get_child(Child::DataSource, &acct.id.to_string(), ds.text().trim())
                        .await?;
                    // The source's own name, as the plan names it (`e.name` is the
                    // child's full name).
                    let own = e.attrs.get("zimbraDataSourceName").unwrap_or(&e.name);
                    asked.push(own.to_string());
                }
                sync_account(ctx, &acct, &asked, full).await?;
            }
            Ok(response("SyncGalAccountResponse", NS_ADMIN))
        }
    }
}

/// Runs the sync of `acct`'s GAL sources, internal and external (all, or those named in
/// `only`): the same code the periodic sync runs (`crate::galsync_poller::sync_account`).
async fn sync_account(
    ctx: &Ctx<'_>,
    acct: &Entry,
    only: &[String],
    full: bool,
) -> ServiceResult<()> {
    galsync_poller::sync_account(&ctx.svc.prov, &ctx.svc.store, acct, only, full)
        .await
        .map_err(|e| match e {
            GalSyncError::Directory(e) => e,
            GalSyncError::Store(e) => store_fault(e),
        })?;
    Ok(())
}

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
