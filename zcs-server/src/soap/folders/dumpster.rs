//! EmptyDumpsterRequest (urn:zimbraMail): removes everything in the requested
//! mailbox's dumpster for good. As in Zimbra, only an admin acting with an admin
//! token may do it (a user emptying their own dumpster is refused): the dumpster is
//! the admin's safety net against a user's deletions.

use zcs_core::{ServiceError, ServiceResult};

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;

/// EmptyDumpsterRequest: purges every message and other item in the dumpster of the
/// target mailbox (the caller's, or the one named in the context by an admin).
///
/// # Errors
/// `service.AUTH_REQUIRED`/`service.AUTH_EXPIRED` as any request; `service.PERM_DENIED`
/// for a user token naming another account, and "only admins can delete from dumpster"
/// for any non-admin token; store faults.
pub(crate) async fn empty_dumpster(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    // The requested mailbox first (a user naming another account is refused for that),
    // then the admin check, in Zimbra's order.
    let mb = ctx.mailbox().await?;
    let auth = ctx.auth().await?;
    if !auth.data.admin || ctx.admin().await.is_err() {
        return Err(ServiceError::perm_denied(
            "permission denied: only admins can delete from dumpster",
        ));
    }
    let mut ids: Vec<zcs_core::ItemId> = mb
        .dumpster_items()
        .await
        .map_err(store_fault)?
        .into_iter()
        .map(|d| d.id)
        .collect();
    ids.extend(
        mb.dumpster_entries()
            .await
            .map_err(store_fault)?
            .into_iter()
            .map(|e| e.id),
    );
    if !ids.is_empty() {
        mb.purge_dumpster(&ids).await.map_err(store_fault)?;
    }
    tracing::info!(mailbox = mb.id().0, items = ids.len(), "dumpster emptied");
    ctx.note_change(&mb).await;
    Ok(response("EmptyDumpsterResponse", NS_MAIL))
}
