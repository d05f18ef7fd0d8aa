//! GetShareInfoRequest (urn:zimbraAccount): the folders other accounts share with the
//! caller, one `share` each with the owner (`ownerId`, `ownerEmail`, `ownerName`), the
//! folder (`folderId`, `folderUuid`, `folderPath`, `view`), the rights granted
//! (`rights`, Zimbra's letters) and to whom (`granteeType`, `granteeId`,
//! `granteeName`, `granteeDispName`), and `mid` when the caller has mounted it.
//! `owner by="name|id"` limits the answer to one owner; `grantee type= id= name=` to
//! one grantee. Only grants that reach the caller are shown: to the account itself,
//! to a group it belongs to, to its domain, or to all authenticated users.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_store::{Accessor, Grant, GranteeType};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;
use super::{ALL_ID, accessor, grant_has_fb, owner_account, perm_string};

/// The grantee filter of the request.
#[derive(Default)]
struct GranteeFilter {
    kind: Option<String>,
    id: Option<String>,
    name: Option<String>,
}

/// Whether grant `g` reaches the caller described by `who`.
fn reaches(g: &Grant, who: &Accessor) -> bool {
    match g.grantee_type {
        GranteeType::User => who
            .account
            .is_some_and(|a| g.grantee.eq_ignore_ascii_case(&a.to_string())),
        GranteeType::Group => who
            .groups
            .iter()
            .any(|id| g.grantee.eq_ignore_ascii_case(&id.to_string())),
        GranteeType::Domain => who
            .domain
            .as_deref()
            .is_some_and(|d| g.grantee.eq_ignore_ascii_case(d)),
        GranteeType::All => true,
        // Public, guest and key grants are not shares with an account.
        _ => false,
    }
}

/// The grantee's id, name and display name as GetShareInfo shows them.
async fn grantee_names(ctx: &Ctx<'_>, g: &Grant) -> (String, String, Option<String>) {
    let display = |e: &Entry| e.attrs.get("displayName").map(str::to_string);
    match g.grantee_type {
        GranteeType::User => match ctx.svc.prov.find_account(&g.grantee).await {
            Ok(Some(a)) => (g.grantee.clone(), a.name.clone(), display(&a)),
            _ => (g.grantee.clone(), String::new(), None),
        },
        GranteeType::Group => match ctx.svc.prov.find_group(&g.grantee).await {
            Ok(Some(l)) => (g.grantee.clone(), l.name.clone(), display(&l)),
            _ => (g.grantee.clone(), String::new(), None),
        },
        GranteeType::All => (ALL_ID.to_string(), String::new(), None),
        _ => (g.grantee.clone(), g.grantee.clone(), None),
    }
}

/// Serves GetShareInfoRequest.
///
/// # Errors
/// `account.NO_SUCH_ACCOUNT` for an `owner` that does not exist; store faults.
pub(crate) async fn get_share_info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let me = ctx.target_account().await?;
    let who = accessor(ctx, &me).await;
    let mut filter = GranteeFilter::default();
    if let Some(g) = req.child("grantee") {
        filter.kind = g.attr("type").map(str::to_ascii_lowercase);
        filter.id = g.attr("id").map(str::to_string);
        filter.name = g.attr("name").map(str::to_string);
    }
    let owners: Vec<Entry> = match req.child("owner") {
        Some(o) => {
            let key = o.text().trim();
            if key.is_empty() {
                return Err(ServiceError::invalid_request("empty owner"));
            }
            vec![owner_account(ctx, key).await?]
        }
        None => {
            // LIMITATION: without `owner`, shares to the caller's groups are found
            // only in mailboxes that also share with the caller or its domain (the
            // store lists folders by user, domain and all grants).
            let shared = ctx
                .svc
                .store
                .folders_shared_with(me.id, who.domain.as_deref())
                .await
                .map_err(store_fault)?;
            let mut ids: Vec<_> = shared.into_iter().map(|(o, _)| o).collect();
            ids.dedup();
            let mut out = Vec::new();
            for id in ids {
                if let Ok(Some(e)) = ctx.svc.prov.find_account(&id.to_string()).await {
                    out.push(e);
                }
            }
            out
        }
    };
    let own_mb = ctx.mailbox().await?;
    let mounts = own_mb.mountpoints().await.map_err(store_fault)?;
    let mut resp = response("GetShareInfoResponse", NS_ACCOUNT);
    for owner in owners {
        // The caller's own folders are not shared with the caller.
        if owner.id == me.id {
            continue;
        }
        let Some(mb) = ctx
            .svc
            .store
            .find_mailbox(owner.id)
            .await
            .map_err(store_fault)?
        else {
            continue;
        };
        for f in mb.folders().await.map_err(store_fault)? {
            for g in mb.grants(f.id).await.map_err(store_fault)? {
                if !reaches(&g, &who) {
                    continue;
                }
                if filter
                    .kind
                    .as_deref()
                    .is_some_and(|k| k != g.grantee_type.as_str())
                {
                    continue;
                }
                let (gid, gname, gdisp) = grantee_names(ctx, &g).await;
                if filter
                    .id
                    .as_deref()
                    .is_some_and(|i| !i.eq_ignore_ascii_case(&gid))
                    || filter
                        .name
                        .as_deref()
                        .is_some_and(|n| !n.eq_ignore_ascii_case(&gname))
                {
                    continue;
                }
                let el = resp.add_new("share");
                el.set("ownerId", owner.id.to_string());
                el.set("ownerEmail", owner.name.clone());
                el.set(
                    "ownerName",
                    owner.attrs.get("displayName").unwrap_or(&owner.name),
                );
                el.set("folderId", f.id.0.to_string());
                el.set("folderUuid", f.id.0.to_string());
                el.set("folderPath", f.path.clone());
                el.set("view", f.view.clone());
                el.set("rights", perm_string(g.rights, grant_has_fb(&g)));
                el.set("granteeType", g.grantee_type.as_str());
                el.set("granteeId", gid);
                el.set("granteeName", gname.clone());
                el.set("granteeDispName", gdisp.unwrap_or(gname));
                if let Some(m) = mounts
                    .iter()
                    .find(|m| m.owner == owner.id && m.remote_id == f.id)
                {
                    el.set("mid", m.id.0.to_string());
                }
            }
        }
    }
    Ok(resp)
}
