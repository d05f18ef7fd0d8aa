//! Admin requests on GAL sync accounts (spec 02 §1.3.4): CreateGalSyncAccount,
//! AddGalSyncDataSource, DeleteGalSyncAccount and SyncGalAccount (GetDataSources is in
//! `account::datasources`), over the directory's
//! GAL sync accounts (`Provisioning::create_gal_sync_account`).
//!
//! LIMITATION: SyncGalAccount checks the account and its data sources and answers; the
//! account's address book is not filled from the GAL (GAL searches read the directory
//! directly, so nothing depends on it yet).

use zcs_core::{ServiceError, ServiceResult};
use zcs_directory::provisioning::{Child, GalSyncSpec};

use super::super::context::Ctx;
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
                for ds in a.children_named("datasource") {
                    prov.get_child(Child::DataSource, &acct.id.to_string(), ds.text().trim())
                        .await?;
                }
            }
            Ok(response("SyncGalAccountResponse", NS_ADMIN))
        }
    }
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
