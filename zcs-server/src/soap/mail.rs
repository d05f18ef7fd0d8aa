//! urn:zimbraMail messages: GetMsg, MsgAction/ItemAction, AddMsg, and SendMsg and
//! SaveDraft (in `send`, their MIME built by `compose`; part numbers in `parts`), and
//! SaveDocument (`documents`), RemoveAttachments (`remove_parts`), SendDeliveryReport
//! (read receipts, `receipt`), Sync (`sync`), the filter rules
//! (`filters`) and account permissions (`permissions`). Ids are looked up in the
//! caller's own mailbox only: another account's message is "no such message", exactly
//! like one that never existed.

use mail_parser::MessageParser;
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::Mailbox;

mod compose;
mod delegated;
mod documents;
mod draft_info;
mod filters;
mod from;
mod mimetypes;
mod parts;
mod permissions;
mod receipt;
mod remove_parts;
pub(crate) mod send;
mod shared;
mod sync;

pub(crate) use parts::{BodyOptions, add_mime_parts, find_part};

use super::context::{Ctx, store_fault};
use super::element::{AttrKind, Element};
use super::envelope::NS_MAIL;
use super::folders::{parse_id, parse_ids};
use super::response;
use super::search::{fragment, message_hit};

/// Routes the message requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if let Some(r) = filters::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = permissions::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = sync::dispatch(ctx, name, req).await {
        return Some(r);
    }
    // Password recovery requests live in urn:zimbraMail, as in Zimbra.
    match name {
        "SetRecoveryAccountRequest" => {
            return Some(super::account::recovery::set_recovery_account(ctx, req).await);
        }
        "RecoverAccountRequest" => {
            return Some(super::account::recovery::recover_account(ctx, req).await);
        }
        _ => {}
    }
    if !matches!(
        name,
        "GetMsgRequest"
            | "MsgActionRequest"
            | "ItemActionRequest"
            | "AddMsgRequest"
            | "SendMsgRequest"
            | "SaveDraftRequest"
            | "SaveDocumentRequest"
            | "BounceMsgRequest"
            | "RemoveAttachmentsRequest"
            | "SendDeliveryReportRequest"
    ) {
        return None;
    }
    if name == "SendMsgRequest"
        && let Some(r) = delegated::send(ctx, req).await
    {
        return Some(r);
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let result = match name {
        "GetMsgRequest" => get_msg(ctx, &mb, req).await,
        "MsgActionRequest" => action(ctx, &mb, req, "MsgActionResponse").await,
        "ItemActionRequest" => action(ctx, &mb, req, "ItemActionResponse").await,
        "AddMsgRequest" => add_msg(ctx, &mb, req).await,
        "SaveDraftRequest" => send::save_draft(ctx, &mb, req).await,
        "SaveDocumentRequest" => documents::save_document(ctx, &mb, req).await,
        "BounceMsgRequest" => send::bounce_msg(ctx, &mb, req).await,
        "RemoveAttachmentsRequest" => remove_parts::remove_attachments(ctx, &mb, req).await,
        "SendDeliveryReportRequest" => receipt::send_delivery_report(ctx, &mb, req).await,
        _ => send::send_msg(ctx, &mb, req).await,
    };
    ctx.note_change(&mb).await;
    Some(result)
}

fn spec<'a>(req: &'a Element, tag: &str) -> ServiceResult<&'a Element> {
    req.child(tag)
        .ok_or_else(|| ServiceError::invalid_request(format!("missing required element: {tag}")))
}

/// A message as GetMsg shows it: the search hit's attributes, `mid`, `sd`, the
/// headers asked for, `e` addresses, and the `mp` tree (or the whole MIME as `content`
/// when `raw_wanted`).
///
/// # Errors
/// `mail.NO_SUCH_MSG` and store faults.
pub(crate) async fn message_element(
    mb: &Mailbox,
    id: ItemId,
    raw_wanted: bool,
    headers: &[String],
) -> ServiceResult<Element> {
    message_element_with(mb, id, raw_wanted, headers, &BodyOptions::default()).await
}

/// [`message_element`] with its body chosen and cut as `body` asks (`html=`, `max=`).
///
/// # Errors
/// `mail.NO_SUCH_MSG` and store faults.
pub(crate) async fn message_element_with(
    mb: &Mailbox,
    id: ItemId,
    raw_wanted: bool,
    headers: &[String],
    body: &BodyOptions,
) -> ServiceResult<Element> {
    let meta = mb.message(id).await.map_err(store_fault)?;
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let mut el = message_hit(&meta);
    fragment::add(&mut el, &fragment::of_raw(&meta, &raw));
    if let Some(mid) = &meta.message_id {
        el.set_content("mid", format!("<{mid}>"), AttrKind::Str);
    }
    let parsed = MessageParser::default().parse(&raw);
    if let Some(p) = &parsed {
        if let Some(date) = p.date() {
            el.set_num("sd", date.to_timestamp() * 1000);
        }
        for name in headers {
            if let Some(v) = p.header_raw(name.as_str()) {
                el.add_new("header")
                    .set("n", name)
                    .set_text(v.trim().to_string());
            }
        }
        // To, Cc, Bcc (kept in drafts), Reply-To, Resent-From and Sender, each with Zimbra's
        // display part
        // `d` (the first word of the personal name, else the local part).
        let resent = p.header("Resent-From").and_then(|h| h.as_address());
        let lists = [
            ("t", p.to()),
            ("c", p.cc()),
            ("b", p.bcc()),
            ("r", p.reply_to()),
            ("rf", resent),
            ("s", p.sender()),
        ];
        for (t, list) in lists {
            for a in list.into_iter().flat_map(|l| l.iter()) {
                let e = el.add_new("e");
                e.set("t", t);
                if let Some(addr) = a.address() {
                    e.set("a", addr.to_string());
                }
                let first = a.name().and_then(|n| n.split_whitespace().next());
                let local = a.address().and_then(|x| x.split('@').next());
                if let Some(d) = first.or(local) {
                    e.set("d", d.to_string());
                }
                if let Some(n) = a.name() {
                    e.set("p", n.to_string());
                }
            }
        }
    }
    if meta.flags.0 & Flags::DRAFT != 0 {
        draft_info::DraftInfo::read(&raw).add_attrs(&mut el);
    }
    if raw_wanted {
        el.add_text("content", String::from_utf8_lossy(&raw).to_string());
    } else {
        parts::add_mime_parts_with(&raw, &mut el, body);
    }
    Ok(el)
}

/// The `html=` and `max=` of a GetMsg `m` or GetConv `c` element.
///
/// # Errors
/// `service.INVALID_REQUEST` for a value that is no boolean or number.
pub(crate) fn body_options(el: &Element) -> ServiceResult<BodyOptions> {
    Ok(BodyOptions {
        html: el.bool_attr("html", false)?,
        max: match el.int_attr("max", 0)? {
            n if n > 0 => Some(n as usize),
            _ => None,
        },
    })
}

/// GetMsgRequest `m id= [raw=1] [read=1] [html=1] [max=]` (+ `header n=`). The id may be an invite
/// id (`calItemId-invId`) or `ownerId:itemId` of a message shared with the caller.
async fn get_msg(ctx: &mut Ctx<'_>, own: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let id_text = m.req("id")?.trim().to_string();
    let me = ctx.target_account().await?;
    let remote = match super::share::split_remote(&id_text) {
        Some((owner, rid)) if !owner.eq_ignore_ascii_case(&me.id.to_string()) => {
            let need = if m.bool_attr("read", false)? {
                zcs_store::Rights::READ | zcs_store::Rights::WRITE
            } else {
                zcs_store::Rights::READ
            };
            Some(super::share::remote_item(ctx, owner, rid, need).await?)
        }
        _ => None,
    };
    let (mb, id_text) = match &remote {
        Some((rmb, rid)) => (rmb, rid.0.to_string()),
        None => (own, id_text.rsplit(':').next().unwrap_or("").to_string()),
    };
    if id_text.contains('-')
        && let Some(inv) = super::calendar::invite_message(mb, &id_text).await
    {
        let mut resp = response("GetMsgResponse", NS_MAIL);
        resp.add(inv);
        return Ok(resp);
    }
    let id = parse_id(&id_text, FaultCode::NoSuchMsg)?;
    if m.bool_attr("read", false)? {
        mb.set_flags(&[id], Flags::UNREAD, false)
            .await
            .map_err(store_fault)?;
    }
    let headers: Vec<String> = m
        .children_named("header")
        .filter_map(|h| h.attr("n").map(str::to_string))
        .collect();
    let body = body_options(m)?;
    let mut el = message_element_with(mb, id, m.bool_attr("raw", false)?, &headers, &body).await?;
    let meta_id = id;
    if remote.is_some() {
        // A shared message is named as the owner names it to others.
        let owner = mb.account();
        let folder_id = el.attr("l").unwrap_or("").to_string();
        el.set("id", format!("{owner}:{}", meta_id.0));
        el.set("l", format!("{owner}:{folder_id}"));
    }
    let mut resp = response("GetMsgResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// Msg/ItemActionRequest `action id= op=` read, !read, flag, !flag, tag, !tag (`tn`
/// or `tag`), move (`l`), trash, delete, spam/!spam.
async fn action(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    resp_name: &str,
) -> ServiceResult<Element> {
    let a = spec(req, "action")?;
    let id_text = a.req("id")?.to_string();
    let op = a.req("op")?.to_string();
    let me = ctx.target_account().await?.id.to_string();
    if shared::names_remote(&id_text, &me) {
        return shared::action(ctx, &id_text, &op, a, resp_name).await;
    }
    let mut ids = parse_ids(&id_text, FaultCode::NoSuchMsg)?;
    // ItemAction also takes folders: those get the folder form of the operation.
    if resp_name == "ItemActionResponse" {
        let mut messages = Vec::new();
        for id in ids {
            match mb.message(id).await {
                Ok(_) => messages.push(id),
                Err(zcs_store::StoreError::NoSuchMessage(_))
                    if mb.item_kind(id).await.map_err(store_fault)?.is_some() =>
                {
                    other_item_op(mb, id, &op, a).await?;
                }
                Err(zcs_store::StoreError::NoSuchMessage(_)) if mb.tag(id).await.is_ok() => {
                    if matches!(op.as_str(), "tag" | "!tag") {
                        return Err(ServiceError::new(
                            FaultCode::CannotTag,
                            "a tag cannot be tagged",
                        ));
                    }
                    // A tag is not in a folder: it cannot be moved or trashed.
                    if matches!(op.as_str(), "move" | "trash") {
                        return Err(ServiceError::new(
                            FaultCode::ImmutableObject,
                            format!("cannot {op} a tag"),
                        ));
                    }
                    super::folders::tag_op(mb, id, &op, a).await?;
                }
                // A conversation: the operation on its messages (ItemAction takes
                // conversation ids as ConvAction does).
                Err(zcs_store::StoreError::NoSuchMessage(_)) if mb.folder(id).await.is_err() => {
                    let msgs = match mb.conversation_messages(id).await {
                        Ok(msgs) => msgs,
                        // Deleting what is already gone succeeds, as in Zimbra (bug 11018).
                        Err(_) if op == "delete" => continue,
                        Err(_) => {
                            return Err(ServiceError::new(
                                FaultCode::NoSuchItem,
                                format!("no such item: {}", id.0),
                            ));
                        }
                    };
                    let targets = super::conv::targets(&msgs, &op, a.attr("tcon"));
                    if !targets.is_empty() {
                        apply_msg_op(mb, &targets, &op, a).await?;
                    }
                }
                Err(zcs_store::StoreError::NoSuchMessage(_)) => {
                    let f = mb.folder(id).await.map_err(|_| {
                        ServiceError::new(FaultCode::NoSuchItem, format!("no such item: {}", id.0))
                    })?;
                    if matches!(op.as_str(), "tag" | "!tag") {
                        return Err(ServiceError::new(
                            FaultCode::CannotTag,
                            "a folder cannot be tagged",
                        ));
                    }
                    super::folders::folder_op(ctx, mb, &f, &op, a).await?;
                }
                Err(e) => return Err(store_fault(e)),
            }
        }
        ids = messages;
        if ids.is_empty() {
            let mut resp = response(resp_name, NS_MAIL);
            resp.add_new("action").set("id", id_text).set("op", op);
            return Ok(resp);
        }
    }
    // Every id must be one of ours before anything changes.
    for id in &ids {
        mb.message(*id).await.map_err(store_fault)?;
    }
    apply_msg_op(mb, &ids, &op, a).await?;
    ctx.svc.indexer.notify(mb.account());
    let mut resp = response(resp_name, NS_MAIL);
    resp.add_new("action").set("id", id_text).set("op", op);
    Ok(resp)
}

/// Applies one message operation (`read`, `flag`, `tag` by `tn` or `tag`, `move` to
/// `l`, `trash`, `spam`, `delete`, each negatable with `!` where it means something)
/// to messages `ids` of `mb`; shared by MsgAction, ItemAction and ConvAction.
///
/// # Errors
/// Store faults; `service.INVALID_REQUEST` for an unknown operation.
pub(crate) async fn apply_msg_op(
    mb: &Mailbox,
    ids: &[ItemId],
    op: &str,
    a: &Element,
) -> ServiceResult<()> {
    let ids = ids.to_vec();
    let (neg, bare) = match op.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, op),
    };
    let e = store_fault;
    match bare {
        "read" => mb
            .set_flags(&ids, Flags::UNREAD, neg)
            .await
            .map(|_| ())
            .map_err(e)?,
        "flag" => mb
            .set_flags(&ids, Flags::FLAGGED, !neg)
            .await
            .map(|_| ())
            .map_err(e)?,
        "tag" => {
            let names: Vec<String> = match a.attr("tn") {
                Some(tn) => tn.split(',').map(str::to_string).collect(),
                None => {
                    let tid = parse_id(a.req("tag")?, FaultCode::NoSuchTag)?;
                    vec![mb.tag(tid).await.map_err(e)?.name]
                }
            };
            // A tag named with `tn=` that does not exist yet is created, as Zimbra 8
            // creates tags by name (zimbra-client tags this way); `tag=` ids must exist.
            let create = a.attr("tn").is_some();
            mb.set_tags_by_name(&ids, &names, !neg, create)
                .await
                .map(|_| ())
                .map_err(e)?
        }
        "move" => {
            let to = parse_id(a.req("l")?, FaultCode::NoSuchFolder)?;
            super::folders::check_container(mb, to).await?;
            mb.move_items(&ids, to).await.map(|_| ()).map_err(e)?
        }
        // `update`: a new folder (`l`) and/or new flags (`f`).
        "update" => {
            if let Some(l) = a.attr("l").filter(|l| !l.is_empty()) {
                let to = parse_id(l, FaultCode::NoSuchFolder)?;
                super::folders::check_container(mb, to).await?;
                mb.move_items(&ids, to).await.map_err(e)?;
            }
            if let Some(f) = a.attr("f") {
                mb.replace_flags(&ids, Flags::from_soap(f))
                    .await
                    .map_err(e)?;
            }
            // LIMITATION: `tn=` (replacing all tags), color and name are not applied.
        }
        "trash" => mb
            .move_items(&ids, ItemId(folder::TRASH))
            .await
            .map(|_| ())
            .map_err(e)?,
        // Into the folder `l` names when there is one (as Zimbra's ItemAction), else
        // Junk (`spam`) or the Inbox (`!spam`).
        "spam" => {
            let to = match a.attr("l").filter(|l| !l.is_empty()) {
                Some(l) => {
                    let to = parse_id(l, FaultCode::NoSuchFolder)?;
                    super::folders::check_container(mb, to).await?;
                    to
                }
                None if neg => ItemId(folder::INBOX),
                None => ItemId(folder::JUNK),
            };
            mb.move_items(&ids, to).await.map(|_| ()).map_err(e)?
        }
        "delete" => mb.delete_items(&ids).await.map_err(e)?,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown operation: {other}"
            )));
        }
    }
    Ok(())
}

/// ItemAction on an item that is neither a message nor a folder: a contact takes every
/// ContactAction operation ([`super::contacts::contact_item_op`]); calendar items,
/// documents, mountpoints and search folders can be deleted (or trashed), calendar
/// items also moved.
async fn other_item_op(mb: &Mailbox, id: ItemId, op: &str, a: &Element) -> ServiceResult<()> {
    if mb.contact(id).await.is_ok() {
        return super::contacts::contact_item_op(mb, id, op, a).await;
    }
    let to = match op {
        "delete" => {
            return mb.delete_items(&[id]).await.map_err(store_fault);
        }
        "trash" => ItemId(folder::TRASH),
        "move" => parse_id(a.req("l")?, FaultCode::NoSuchFolder)?,
        _ => return Err(unsupported_on_item(op)),
    };
    if let Ok(item) = mb.cal_item(id).await {
        mb.save_cal_item(to, &item.ical)
            .await
            .map_err(store_fault)?;
    } else if op == "trash" {
        // LIMITATION: documents, mountpoints and search folders are not moved; trash
        // deletes them.
        mb.delete_items(&[id]).await.map_err(store_fault)?;
    } else {
        return Err(unsupported_on_item(op));
    }
    Ok(())
}

fn unsupported_on_item(op: &str) -> ServiceError {
    ServiceError::invalid_request(format!("operation {op} is not supported on this item"))
}

/// `data` with every line ending made CRLF (bare LF and CRLF alike), as stored messages
/// have them.
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// AddMsgRequest `m l=(id|path) [f=] [tn=] [d=]` with the raw MIME in `content`, or in the upload
/// `aid=` names (posted to /service/upload by the mailbox's account; used up here).
async fn add_msg(ctx: &Ctx<'_>, mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    // `l` is a folder id or, as Zimbra also takes it, a folder path (`/Inbox`).
    let l = m.req("l")?;
    let folder_id = if l.trim_start().starts_with('/') {
        mb.folder_by_path(l.trim())
            .await
            .map_err(store_fault)?
            .map(|f| f.id)
            .ok_or_else(|| {
                ServiceError::new(FaultCode::NoSuchFolder, format!("no such folder path: {l}"))
            })?
    } else {
        parse_id(l, FaultCode::NoSuchFolder)?
    };
    let raw = match m.attr("aid").map(str::trim).filter(|a| !a.is_empty()) {
        Some(aid) => {
            let u = ctx.svc.uploads.get(mb.account(), aid).ok_or_else(|| {
                ServiceError::new(FaultCode::NoSuchUpload, format!("no such upload: {aid}"))
            })?;
            crlf(&u.data)
        }
        None => crlf(
            m.attr("content")
                .ok_or_else(|| ServiceError::invalid_request("missing required element: content"))?
                .as_bytes(),
        ),
    };
    let flags = Flags::from_soap(m.attr("f").unwrap_or(""));
    let tags: Vec<String> = m
        .attr("tn")
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let date = m.int_attr("d", chrono::Utc::now().timestamp_millis())?;
    let meta = mb
        .append_tagged(folder_id, &raw, flags, &tags, date)
        .await
        .map_err(store_fault)?;
    if let Some(aid) = m.attr("aid") {
        let _ = ctx.svc.uploads.take(mb.account(), aid);
    }
    ctx.svc.indexer.notify(mb.account());
    let mut resp = response("AddMsgResponse", NS_MAIL);
    resp.add(message_hit(&meta));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::crlf;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn line_endings_become_crlf() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(crlf(b"\n"), b"\r\n");
        assert_eq!(crlf(b""), b"");
    }

    proptest! {
        #[test]
        fn crlf_is_idempotent_and_leaves_no_bare_lf(data in vec(any::<u8>(), 0..200)) {
            let once = crlf(&data);
            prop_assert_eq!(crlf(&once), once.clone());
            for (i, b) in once.iter().enumerate() {
                if *b == b'\n' {
                    prop_assert!(i > 0 && once[i - 1] == b'\r');
                }
            }
        }
    }
}
