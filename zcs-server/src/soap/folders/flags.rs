//! FolderAction operations on a folder's store attributes: `check`/`!check` (the `#`
//! flag that makes a calendar show in the mini-calendar view), `fb` (`b`, exclude the
//! folder from free/busy), `syncon`/`!syncon` (`~`), `url` (the feed or remote
//! calendar address, synchronized at once when not empty), and the `f=` and `url=` of
//! `update`. Also EnableSharedReminderRequest on calendar mountpoints.

use zcs_core::{FaultCode, ItemId, ItemKind, ServiceError, ServiceResult};
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;
use super::{attrs, parse_id};

/// Whether `op` is one of the flag operations [`flag_op`] applies.
pub(crate) fn is_flag_op(op: &str) -> bool {
    matches!(op, "check" | "!check" | "fb" | "syncon" | "!syncon")
}

/// Applies flag operation `op` (see [`is_flag_op`]) to folder or mountpoint `id`;
/// `Ok(false)` when `op` is none of them.
///
/// # Errors
/// `service.INVALID_REQUEST` for an `excludeFreeBusy` that is not a boolean; store
/// faults.
pub(crate) async fn flag_op(
    mb: &Mailbox,
    id: ItemId,
    op: &str,
    action: &Element,
) -> ServiceResult<bool> {
    let (flag, on) = match op {
        "check" => ('#', true),
        "!check" => ('#', false),
        "syncon" => ('~', true),
        "!syncon" => ('~', false),
        "fb" => ('b', action.bool_attr("excludeFreeBusy", false)?),
        _ => return Ok(false),
    };
    let bit = attrs::flag_bit(flag).unwrap_or(0);
    mb.update_folder_attrs(id, move |a| a.flags = a.flags.with(bit, on))
        .await
        .map_err(store_fault)?;
    Ok(true)
}

/// `update`'s `f=`: replaces the folder's flags (characters Zimbra does not allow on a
/// folder are ignored); `url=`: sets its URL (without synchronizing). One change.
///
/// # Errors
/// `service.INVALID_REQUEST` for a URL that is not http(s); store faults.
pub(crate) async fn update_attrs(mb: &Mailbox, id: ItemId, action: &Element) -> ServiceResult<()> {
    let url = match action.attr("url") {
        Some(u) => Some(super::sync::check_url(u)?),
        None => None,
    };
    let flags = action.attr("f").map(attrs::parse_flags);
    if flags.is_none() && url.is_none() {
        return Ok(());
    }
    mb.update_folder_attrs(id, move |a| {
        if let Some(f) = flags {
            a.flags = f;
        }
        if let Some(u) = url {
            a.url = u;
        }
    })
    .await
    .map_err(store_fault)?;
    Ok(())
}

/// `url`: sets the folder's URL (`url=""` removes it) and forgets the feed items an
/// earlier URL imported, synchronizes the folder from it when not empty, and applies
/// `excludeFreeBusy=` when given, as Zimbra does.
///
/// # Errors
/// `service.INVALID_REQUEST` for a URL that is not http(s); the sync's faults.
pub(crate) async fn set_url(mb: &Mailbox, id: ItemId, action: &Element) -> ServiceResult<()> {
    let url = super::sync::check_url(action.attr("url").unwrap_or(""))?;
    let before = mb.folder_attrs(id).await.map_err(store_fault)?;
    if before.url != url {
        mb.set_folder_url(id, &url).await.map_err(store_fault)?;
        if !mb.feed_seen(id).await.map_err(store_fault)?.is_empty() {
            mb.mark_feed_seen(id, Vec::new(), true)
                .await
                .map_err(store_fault)?;
        }
    }
    if !url.is_empty() {
        super::sync::import_url(mb, id, &url, true).await?;
    }
    if action.attr("excludeFreeBusy").is_some() {
        flag_op(mb, id, "fb", action).await?;
    }
    Ok(())
}

/// EnableSharedReminderRequest `link id= reminder=0|1`: records whether the calendar
/// mountpoint's appointments raise reminders (shown as `reminder="1"` in GetFolder).
///
/// # Errors
/// `mail.NO_SUCH_MOUNTPOINT` when `id` is not one of the caller's mountpoints.
pub(crate) async fn enable_shared_reminder(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let link = req
        .child("link")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: link"))?;
    let id_text = super::own_ids(ctx, link.req("id")?).await?;
    let id = parse_id(&id_text, FaultCode::NoSuchMountpoint)?;
    let on = link.bool_attr("reminder", false)?;
    let kind = mb.item_kind(id).await.map_err(store_fault)?;
    if kind != Some(ItemKind::Mountpoint) {
        return Err(ServiceError::new(
            FaultCode::NoSuchMountpoint,
            format!("no such mountpoint: {}", id.0),
        ));
    }
    mb.set_mountpoint_reminder(id, on)
        .await
        .map_err(store_fault)?;
    Ok(response("EnableSharedReminderResponse", NS_MAIL))
}
