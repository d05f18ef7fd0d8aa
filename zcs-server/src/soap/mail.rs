//! urn:zimbraMail messages: GetMsg, MsgAction/ItemAction, AddMsg and SendMsg (local
//! recipients through the server's delivery, a copy in Sent). Ids are looked up in the
//! caller's own mailbox only: another account's message is "no such message", exactly
//! like one that never existed.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_mta::{AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus};
use zcs_store::Mailbox;

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::folders::{parse_id, parse_ids};
use super::response;
use super::search::message_hit;

/// Routes the message requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "GetMsgRequest"
            | "MsgActionRequest"
            | "ItemActionRequest"
            | "AddMsgRequest"
            | "SendMsgRequest"
    ) {
        return None;
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
        _ => send_msg(ctx, &mb, req).await,
    };
    ctx.note_change(&mb).await;
    Some(result)
}

fn spec<'a>(req: &'a Element, tag: &str) -> ServiceResult<&'a Element> {
    req.child(tag)
        .ok_or_else(|| ServiceError::invalid_request(format!("missing required element: {tag}")))
}

/// The `mp` tree of a parsed message: part numbers, content types, sizes, and the
/// text of the first body part.
fn mime_parts(raw: &[u8], out: &mut Element) {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return;
    };
    let body_part = msg
        .text_body
        .first()
        .copied()
        .or_else(|| msg.html_body.first().copied());
    let mut top = Element::new("mp");
    top.set("part", "TEXT");
    let ct = |p: &mail_parser::MessagePart<'_>| {
        p.content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "text/plain".into())
            .to_lowercase()
    };
    if let Some(root) = msg.parts.first() {
        top.set("ct", ct(root));
    }
    for (i, part) in msg.parts.iter().enumerate() {
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let mut mp = Element::new("mp");
        mp.set("part", (i.max(1)).to_string());
        mp.set("ct", ct(part));
        mp.set_num("s", part.len());
        if let Some(name) = part.attachment_name() {
            mp.set("filename", name);
            mp.set("cd", "attachment");
        }
        if body_part == Some(i as u32) {
            mp.set("body", "1");
            let text = match &part.body {
                PartType::Text(t) | PartType::Html(t) => t.to_string(),
                _ => String::new(),
            };
            mp.add_text("content", text);
        }
        top.add(mp);
    }
    out.add(top);
}

/// GetMsgRequest `m id= [raw=1] [read=1]` (+ `header n=`). The id may be an invite
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
    let meta = mb.message(id).await.map_err(store_fault)?;
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let mut el = message_hit(&meta);
    el.children.retain(|c| c.name != "fr");
    if let Some(mid) = &meta.message_id {
        el.add_text("mid", format!("<{mid}>"));
    }
    let parsed = MessageParser::default().parse(&raw);
    if let Some(p) = &parsed {
        if let Some(date) = p.date() {
            el.set_num("sd", date.to_timestamp() * 1000);
        }
        for h in req
            .child("m")
            .into_iter()
            .flat_map(|m| m.children_named("header"))
        {
            if let Some(name) = h.attr("n")
                && let Some(v) = p.header_raw(name)
            {
                el.add_new("header")
                    .set("n", name)
                    .set_text(v.trim().to_string());
            }
        }
        for (t, list) in [("t", p.to()), ("c", p.cc())] {
            for a in list.into_iter().flat_map(|l| l.iter()) {
                let e = el.add_new("e");
                e.set("t", t);
                if let Some(addr) = a.address() {
                    e.set("a", addr.to_string());
                }
                if let Some(n) = a.name() {
                    e.set("p", n.to_string());
                }
            }
        }
    }
    if m.bool_attr("raw", false)? {
        el.add_text("content", String::from_utf8_lossy(&raw).to_string());
    } else {
        mime_parts(&raw, &mut el);
    }
    if remote.is_some() {
        // A shared message is named as the owner names it to others.
        let owner = mb.account();
        el.set("id", format!("{owner}:{}", meta.id.0));
        el.set("l", format!("{owner}:{}", meta.folder.0));
    }
    let mut resp = response("GetMsgResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// Msg/ItemActionRequest `action id= op=` read, !read, flag, !flag, tag, !tag (`tn`
/// or `tag`), move (`l`), trash, delete, spam/!spam.
async fn action(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    resp_name: &str,
) -> ServiceResult<Element> {
    let a = spec(req, "action")?;
    let id_text = a.req("id")?.to_string();
    let op = a.req("op")?.to_string();
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
                        // LIMITATION: Zimbra answers mail.CANNOT_TAG, which zcs-core has
                        // no code for.
                        return Err(ServiceError::invalid_request("a tag cannot be tagged"));
                    }
                    super::folders::tag_op(mb, id, &op, a).await?;
                }
                Err(zcs_store::StoreError::NoSuchMessage(_)) => {
                    let f = mb.folder(id).await.map_err(|_| {
                        ServiceError::new(FaultCode::NoSuchItem, format!("no such item: {}", id.0))
                    })?;
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
            mb.set_tags_by_name(&ids, &names, !neg, false)
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
        "spam" => {
            let to = if neg { folder::INBOX } else { folder::JUNK };
            mb.move_items(&ids, ItemId(to))
                .await
                .map(|_| ())
                .map_err(e)?
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

/// ItemAction on an item that is neither a message nor a folder: contacts, calendar
/// items, documents, mountpoints and search folders can be deleted (or trashed);
/// contacts and calendar items can also be moved, and contacts flagged.
async fn other_item_op(mb: &Mailbox, id: ItemId, op: &str, a: &Element) -> ServiceResult<()> {
    let to = match op {
        "delete" => {
            return mb.delete_items(&[id]).await.map_err(store_fault);
        }
        "trash" => ItemId(folder::TRASH),
        "move" => parse_id(a.req("l")?, FaultCode::NoSuchFolder)?,
        "flag" | "!flag" => {
            let c = mb.contact(id).await.map_err(|_| unsupported_on_item(op))?;
            let f = c.flags.with(Flags::FLAGGED, op == "flag");
            mb.set_contact_flags(id, f).await.map_err(store_fault)?;
            return Ok(());
        }
        _ => return Err(unsupported_on_item(op)),
    };
    if mb.contact(id).await.is_ok() {
        mb.move_contact(id, to).await.map_err(store_fault)?;
    } else if let Ok(item) = mb.cal_item(id).await {
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

/// AddMsgRequest `m l= [f=] [tn=] [d=]` with the raw MIME in `content`.
async fn add_msg(ctx: &Ctx<'_>, mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let folder_id = parse_id(m.req("l")?, FaultCode::NoSuchFolder)?;
    let content = m
        .attr("content")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: content"))?;
    // LIMITATION: `aid=` (uploads) is not supported; /service/upload is not served yet.
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
    let raw = content.replace("\r\n", "\n").replace('\n', "\r\n");
    let meta = mb
        .append_tagged(folder_id, raw.as_bytes(), flags, &tags, date)
        .await
        .map_err(store_fault)?;
    ctx.svc.indexer.notify(mb.account());
    let mut resp = response("AddMsgResponse", NS_MAIL);
    resp.add(message_hit(&meta));
    Ok(resp)
}

fn header_escape(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Whether `address` is in a domain this server does not receive mail for.
async fn is_remote(domains: &crate::mta::policy::DirectoryDomains, address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((_, d)) if !d.is_empty() => {
            !zcs_mta::RecipientPolicy::is_local_domain(domains, d).await
        }
        _ => false,
    }
}

/// SendMsgRequest `m` with `e t="t|c|b|f" a= [p=]`, `su`, `mp ct=` + `content`: the
/// message is built, delivered to local recipients, queued for other servers' and saved
/// in Sent.
async fn send_msg(ctx: &mut Ctx<'_>, mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let account = ctx.target_account().await?;
    let mut to = Vec::new();
    let mut cc = Vec::new();
    let mut rcpts = Vec::new();
    for e in m.children_named("e") {
        let Some(addr) = e.attr("a").map(str::trim).filter(|a| !a.is_empty()) else {
            continue;
        };
        let shown = match e.attr("p") {
            Some(p) => format!("\"{}\" <{addr}>", header_escape(p).replace('"', "")),
            None => addr.to_string(),
        };
        match e.attr("t").unwrap_or("t") {
            "t" => to.push(shown),
            "c" => cc.push(shown),
            "b" => {}
            _ => continue,
        }
        rcpts.push(header_escape(addr));
    }
    if rcpts.is_empty() {
        return Err(ServiceError::invalid_request("no recipients"));
    }
    let subject = m.attr("su").unwrap_or("");
    let (ct, body) = match m.child("mp") {
        Some(mp) => {
            let leaf = mp.child("mp").unwrap_or(mp);
            (
                leaf.attr("ct").unwrap_or("text/plain").to_string(),
                leaf.attr("content").unwrap_or("").to_string(),
            )
        }
        None => ("text/plain".to_string(), String::new()),
    };
    // LIMITATION: attachments (`attach aid=`), forwarded parts and multipart/alternative
    // bodies are not built; the first `mp` becomes the single body part.
    let now = chrono::Utc::now();
    let mut mime = format!(
        "From: {}\r\nTo: {}\r\n",
        account.name,
        if to.is_empty() {
            "undisclosed-recipients:;".into()
        } else {
            to.join(", ")
        }
    );
    if !cc.is_empty() {
        mime.push_str(&format!("Cc: {}\r\n", cc.join(", ")));
    }
    mime.push_str(&format!(
        "Subject: {}\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: {}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        header_escape(subject),
        now.to_rfc2822(),
        uuid::Uuid::new_v4(),
        ctx.svc.hostname,
        header_escape(&ct),
        body.replace("\r\n", "\n").replace('\n', "\r\n"),
    ));

    let Some(delivery) = ctx.svc.delivery.clone() else {
        return Err(ServiceError::failure("no delivery configured"));
    };
    let mut accepted = Vec::new();
    let mut remote = Vec::new();
    let domains = crate::mta::policy::DirectoryDomains::new(ctx.svc.prov.clone());
    for r in &rcpts {
        match delivery.resolve_recipient(r).await {
            RecipientStatus::Local(canonical) => accepted.push(AcceptedRecipient {
                address: r.clone(),
                canonical,
            }),
            // A recipient in a domain this server does not receive for goes out through
            // the MTA queue, as it would from an authenticated submission.
            RecipientStatus::Unknown if is_remote(&domains, r).await => remote.push(r.clone()),
            _ => {
                return Err(ServiceError::new(
                    FaultCode::InvalidRequest,
                    format!("SEND_ABORTED_ADDRESS_FAILURE: cannot send to {r}"),
                ));
            }
        }
    }
    if !remote.is_empty() {
        let Some(queue) = delivery.queue() else {
            return Err(ServiceError::failure(
                "no mail queue: cannot send to other servers",
            ));
        };
        let id = crate::mta::outbound::enqueue(queue, &account.name, &remote, mime.as_bytes())
            .await
            .map_err(|e| ServiceError::failure(format!("message not queued: {e}")))?;
        tracing::info!(account = %account.name, queue_id = %id, rcpts = remote.len(),
            "message queued for other servers");
    }
    let inbound = InboundMessage {
        id: format!("{:X}", rand::random::<u64>()),
        mail_from: account.name.clone(),
        recipients: accepted,
        data: mime.clone().into_bytes(),
        trace_len: 0,
        remote_ip: ctx.caller.remote_ip,
        helo: "soap".into(),
        protocol: zcs_mta::Protocol::Lmtp,
        smtputf8: false,
    };
    if !inbound.recipients.is_empty() {
        for outcome in delivery.deliver(&inbound).await {
            if !matches!(outcome, DeliveryOutcome::Delivered) {
                return Err(ServiceError::failure("delivery failed"));
            }
        }
    }
    let sent = mb
        .append(
            ItemId(folder::SENT),
            mime.as_bytes(),
            Flags(Flags::SENT),
            now.timestamp_millis(),
        )
        .await
        .map_err(store_fault)?;
    ctx.svc.indexer.notify(mb.account());
    tracing::info!(account = %account.name, rcpts = rcpts.len(), "message sent");
    let mut resp = response("SendMsgResponse", NS_MAIL);
    resp.add_new("m").set("id", sent.id.0.to_string());
    Ok(resp)
}
