//! Delegated send: SendMsgRequest whose header context names another account
//! (`<account by="id">`) from a caller that is not an administrator. Zimbra lets it
//! through when the caller holds `sendAs` or `sendOnBehalfOf` on that account: the
//! message goes out from the caller with the owner's address in `From` (and the
//! caller in `Sender` for "on behalf of"), and its copy is kept in the owner's Sent
//! folder (Zimbra's default `zimbraPrefDelegatedSendSaveTarget`, "owner").

use zcs_core::{ServiceError, ServiceResult};

use super::super::context::{Ctx, is_admin, store_fault};
use super::super::element::Element;
use super::from::granted;
use super::send::send_msg_saving;

/// Serves SendMsg for a delegated target; `None` when the request is not one (no
/// target, the caller's own account, or an administrator, whose requests take the
/// ordinary path).
pub(super) async fn send(ctx: &mut Ctx<'_>, req: &Element) -> Option<ServiceResult<Element>> {
    let (by, value) = ctx.target.clone()?;
    let auth = match ctx.auth().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let own = match by.as_str() {
        "id" => value.eq_ignore_ascii_case(&auth.account.id.to_string()),
        _ => value.eq_ignore_ascii_case(&auth.account.name),
    };
    if own || (auth.data.admin && is_admin(&auth.account)) {
        return None;
    }
    Some(send_for(ctx, req, &auth.account, &value).await)
}

async fn send_for(
    ctx: &mut Ctx<'_>,
    req: &Element,
    caller: &zcs_core::Entry,
    target: &str,
) -> ServiceResult<Element> {
    let denied = || ServiceError::perm_denied("cannot access another account");
    // An unknown account is refused the same way, so names cannot be probed.
    let owner = ctx
        .svc
        .prov
        .get_account(target)
        .await
        .map_err(|_| denied())?;
    let allowed = granted(ctx, caller, &owner.name, "sendAs", "sendAsDistList").await
        || granted(
            ctx,
            caller,
            &owner.name,
            "sendOnBehalfOf",
            "sendOnBehalfOfDistList",
        )
        .await;
    if !allowed {
        return Err(denied());
    }
    // From here on the caller's own mailbox sends; the owner's address is asked for
    // as From, which the sender rules grant through the same rights.
    ctx.target = None;
    let mb = ctx.mailbox().await?;
    let owner_mb = ctx.svc.store.mailbox(owner.id).await.map_err(store_fault)?;
    let mut req = req.clone();
    if let Some(m) = req.children.iter_mut().find(|c| c.name == "m") {
        let has_from = m
            .children
            .iter()
            .any(|e| e.name == "e" && e.attr("t") == Some("f"));
        if !has_from {
            let mut e = Element::new("e");
            e.set("t", "f").set("a", owner.name.clone());
            if let Some(d) = owner.attrs.get("displayName") {
                e.set("p", d);
            }
            m.children.push(e);
        }
    }
    let result = send_msg_saving(ctx, &mb, &req, Some(&owner_mb)).await;
    ctx.note_change(&mb).await;
    result
}
