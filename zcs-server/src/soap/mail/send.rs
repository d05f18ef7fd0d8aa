//! SendMsgRequest, SaveDraftRequest and BounceMsgRequest. SendMsg builds the message (`compose`),
//! delivers it to local recipients, queues it for other servers', saves a copy in Sent
//! (unless `noSave="1"`), marks the original replied or forwarded (`origid=`, `rt=`) and
//! deletes the draft it came from (`did=`). SaveDraft saves the built message in Drafts
//! (or `l=`) flagged as a draft; with `id=` it replaces that draft. With `sfd="1"` SendMsg
//! sends the draft `did=` names as it was saved.

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_mta::{AcceptedRecipient, DeliveryOutcome, InboundMessage, LocalDelivery, RecipientStatus};
use zcs_store::Mailbox;

use super::super::context::{Ctx, store_fault};
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::folders::parse_id;
use super::super::response;
use super::compose::{Composed, compose};

fn spec<'a>(req: &'a Element, tag: &str) -> ServiceResult<&'a Element> {
    req.child(tag)
        .ok_or_else(|| ServiceError::invalid_request(format!("missing required element: {tag}")))
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

/// Forgets the uploads a message used, now that it is sent or saved.
fn release_uploads(ctx: &Ctx<'_>, account: zcs_core::ZimbraId, c: &Composed) {
    for aid in &c.uploads {
        let _ = ctx.svc.uploads.take(account, aid);
    }
}

/// An id of the caller's own item (`n` or `ownAccountId:n`), for `origid`/`did`.
fn own_id(text: &str, me: &zcs_core::Entry, code: FaultCode) -> ServiceResult<ItemId> {
    let t = text.trim();
    match t.split_once(':') {
        Some((acct, id)) if acct.eq_ignore_ascii_case(&me.id.to_string()) => parse_id(id, code),
        _ => parse_id(t, code),
    }
}

/// Sends `mime` from `account` to `rcpts`: local recipients get it at once, those of
/// domains this server does not receive for go out through the MTA queue.
///
/// An unknown address of a local domain is accepted and answered with a
/// non-delivery report to the sender, as Zimbra's MTA does.
///
/// # Errors
/// `mail.SEND_ABORTED_ADDRESS_FAILURE` for an address that is no address at all
/// (nothing is sent then); `mail.SEND_FAILURE` when the queue or a local delivery
/// fails.
pub(crate) async fn deliver(
    ctx: &Ctx<'_>,
    account: &zcs_core::Entry,
    rcpts: &[String],
    mime: &[u8],
) -> ServiceResult<()> {
    let Some(delivery) = ctx.svc.delivery.clone() else {
        return Err(ServiceError::failure("no delivery configured"));
    };
    let mut accepted = Vec::new();
    let mut remote = Vec::new();
    let mut unknown = Vec::new();
    let domains = crate::mta::policy::DirectoryDomains::new(ctx.svc.prov.clone());
    for r in rcpts {
        match delivery.resolve_recipient(r).await {
            RecipientStatus::Local(canonical) => accepted.push(AcceptedRecipient {
                address: r.clone(),
                canonical,
            }),
            // A recipient in a domain this server does not receive for goes out through
            // the MTA queue, as it would from an authenticated submission.
            RecipientStatus::Unknown if is_remote(&domains, r).await => remote.push(r.clone()),
            // An unknown address of a domain this server receives for is accepted and
            // bounced, as Zimbra's MTA does (`smtpd_reject_unlisted_recipient = no`).
            RecipientStatus::Unknown if r.contains('@') => unknown.push(r.clone()),
            _ => {
                return Err(ServiceError::new(
                    FaultCode::SendAbortedAddressFailure,
                    format!("invalid address: {r}"),
                ));
            }
        }
    }
    if !remote.is_empty() {
        let Some(queue) = delivery.queue() else {
            return Err(ServiceError::new(
                FaultCode::SendFailure,
                "no mail queue: cannot send to other servers",
            ));
        };
        // Mail sent without SMTP passes the non-SMTP milters (zimbraMtaNonSmtpdMilters).
        let id = crate::mta::outbound::enqueue_submitted(
            queue,
            &account.name,
            &account.name,
            &remote,
            mime,
        )
        .await
        .map_err(|e| {
            ServiceError::new(FaultCode::SendFailure, format!("message not queued: {e}"))
        })?;
        tracing::info!(account = %account.name, queue_id = %id, rcpts = remote.len(),
            "message queued for other servers");
    }
    let inbound = InboundMessage {
        id: format!("{:X}", rand::random::<u64>()),
        mail_from: account.name.clone(),
        recipients: accepted,
        data: mime.to_vec(),
        trace_len: 0,
        remote_ip: ctx.caller.remote_ip,
        helo: "soap".into(),
        protocol: zcs_mta::Protocol::Lmtp,
        smtputf8: false,
    };
    if !inbound.recipients.is_empty() {
        for outcome in delivery.deliver(&inbound).await {
            if !matches!(outcome, DeliveryOutcome::Delivered) {
                return Err(ServiceError::new(FaultCode::SendFailure, "delivery failed"));
            }
        }
    }
    if !unknown.is_empty() {
        bounce_unknown(ctx, &delivery, account, &unknown, mime).await;
    }
    Ok(())
}

/// Delivers to `account` the non-delivery report (RFC 3464) for `unknown`, local
/// addresses no account has, as the MTA would after accepting them. A failure is
/// logged: the message itself went out.
async fn bounce_unknown(
    ctx: &Ctx<'_>,
    delivery: &crate::delivery::MailDelivery,
    account: &zcs_core::Entry,
    unknown: &[String],
    mime: &[u8],
) {
    let RecipientStatus::Local(canonical) = delivery.resolve_recipient(&account.name).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp_millis();
    let queue_id = format!("{:X}", rand::random::<u64>());
    let host = ctx.svc.hostname.clone();
    let report = zcs_mta::dsn::build(&zcs_mta::dsn::DsnInput {
        kind: zcs_mta::dsn::DsnKind::Failure,
        reporting_mta: &host,
        queue_id: &queue_id,
        sender: &account.name,
        envid: None,
        ret: None,
        arrival_ms: now,
        now_ms: now,
        retry_until_ms: None,
        recipients: unknown
            .iter()
            .map(|r| zcs_mta::dsn::DsnRecipient {
                address: r.clone(),
                orcpt: None,
                action: "failed",
                diagnostic: "550 5.1.1 mailbox unavailable: no such user here".into(),
                smtp: true,
                remote_mta: None,
            })
            .collect(),
        original: mime,
    });
    let inbound = InboundMessage {
        id: queue_id,
        mail_from: String::new(),
        recipients: vec![AcceptedRecipient {
            address: account.name.clone(),
            canonical,
        }],
        data: report,
        trace_len: 0,
        remote_ip: ctx.caller.remote_ip,
        helo: "soap".into(),
        protocol: zcs_mta::Protocol::Lmtp,
        smtputf8: false,
    };
    for outcome in delivery.deliver(&inbound).await {
        if !matches!(outcome, DeliveryOutcome::Delivered) {
            tracing::warn!(account = %account.name, "non-delivery report not delivered");
        }
    }
}

/// Drops the `Bcc` header (and its folded lines) from a message's header block: a
/// draft keeps its blind copies, the message sent never shows them.
fn without_bcc(raw: &[u8]) -> Vec<u8> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 2);
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in raw[..head_end].split_inclusive(|b| *b == b'\n') {
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !folded {
            skipping = line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"bcc:");
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[head_end..]);
    out
}

/// SendMsg `m sfd="1" did=`: the saved draft is sent as it is (Zimbra's "send from
/// draft"); its To, Cc and Bcc are the recipients.
///
/// # Errors
/// `mail.NO_SUCH_MSG` when `id` is not a draft of the mailbox.
async fn from_draft(mb: &Mailbox, id: ItemId) -> ServiceResult<Composed> {
    let meta = mb.message(id).await.map_err(store_fault)?;
    if meta.flags.0 & Flags::DRAFT == 0 {
        return Err(ServiceError::new(
            FaultCode::NoSuchMsg,
            format!("no such draft: {}", id.0),
        ));
    }
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .ok_or_else(|| ServiceError::new(FaultCode::MessageParseError, "unreadable draft"))?;
    let rcpts: Vec<String> = [parsed.to(), parsed.cc(), parsed.bcc()]
        .into_iter()
        .flatten()
        .flat_map(|l| l.iter())
        .filter_map(|a| a.address().map(str::to_string))
        .collect();
    Ok(Composed {
        mime: without_bcc(&super::draft_info::strip(&raw)),
        rcpts,
        attached: meta.flags.0 & Flags::ATTACHED != 0,
        uploads: Vec::new(),
    })
}

/// SendMsgRequest `[noSave="1"] m [origid=] [rt="r|w"] [did=] [sfd=] [irt] e* su mp
/// attach*`.
pub(crate) async fn send_msg(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    send_msg_saving(ctx, mb, req, None).await
}

/// [`send_msg`] keeping the sent copy in `sent_box` (a delegated send's owner) instead
/// of `mb`. The copy's id is qualified (`accountId:id`) when that mailbox is not the
/// authenticated account's, as Zimbra formats ids of delegated requests.
pub(super) async fn send_msg_saving(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    sent_box: Option<&Mailbox>,
) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let account = ctx.target_account().await?;
    refuse_over_domain_quota(ctx, &account).await?;
    let orig = match m.attr("origid").filter(|s| !s.trim().is_empty()) {
        Some(o) => {
            let id = own_id(o, &account, FaultCode::NoSuchMsg)?;
            mb.message(id).await.map_err(store_fault)?;
            Some(id)
        }
        None => None,
    };
    let composed = if m.bool_attr("sfd", false)? {
        let did = m
            .attr("did")
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| ServiceError::invalid_request("sfd needs the draft's id (did)"))?;
        from_draft(mb, own_id(did, &account, FaultCode::NoSuchMsg)?).await?
    } else {
        compose(ctx, mb, &account, m, false).await?
    };
    if composed.rcpts.is_empty() {
        return Err(ServiceError::invalid_request("no recipients"));
    }
    let mime = &composed.mime;
    deliver(ctx, &account, &composed.rcpts, mime).await?;
    release_uploads(ctx, account.id, &composed);
    let mut resp = response("SendMsgResponse", NS_MAIL);
    let now = chrono::Utc::now().timestamp_millis();
    if !req.bool_attr("noSave", false)? {
        let mut flags = Flags::SENT;
        if composed.attached {
            flags |= Flags::ATTACHED;
        }
        let target = sent_box.unwrap_or(mb);
        let sent = target
            .append(ItemId(folder::SENT), mime, Flags(flags), now)
            .await
            .map_err(store_fault)?;
        let authed = match ctx.resolved() {
            Some(Ok(a)) => Some(a.account.id),
            _ => None,
        };
        let id = if authed.is_some_and(|a| a != target.account()) {
            format!("{}:{}", target.account(), sent.id.0)
        } else {
            sent.id.0.to_string()
        };
        resp.add_new("m").set("id", id);
        if sent_box.is_some() {
            ctx.svc.indexer.notify(target.account());
        }
    } else {
        resp.add_new("m");
    }
    if let Some(o) = orig {
        let flag = if m.attr("rt") == Some("w") {
            Flags::FORWARDED
        } else {
            Flags::ANSWERED
        };
        mb.set_flags(&[o], flag, true).await.map_err(store_fault)?;
    }
    if let Some(did) = m.attr("did").filter(|s| !s.trim().is_empty())
        && let Ok(id) = own_id(did, &account, FaultCode::NoSuchMsg)
        && mb
            .message(id)
            .await
            .is_ok_and(|d| d.flags.0 & Flags::DRAFT != 0)
    {
        mb.delete_items(&[id]).await.map_err(store_fault)?;
    }
    auto_add_recipients(ctx, mb, &account, m, &composed).await;
    ctx.svc.indexer.notify(mb.account());
    tracing::info!(account = %account.name, rcpts = composed.rcpts.len(), "message sent");
    Ok(resp)
}

/// Zimbra's "add new recipients to Emailed Contacts": when the account's
/// `zimbraPrefAutoAddAddressEnabled` is TRUE, each recipient of a sent message that no
/// contact holds becomes a contact of Emailed Contacts, named as the request's `e p=`
/// (or the message's To/Cc header) names it. The message is sent already: a failure
/// here is logged, never reported to the client.
async fn auto_add_recipients(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    account: &zcs_core::Entry,
    m: &Element,
    composed: &Composed,
) {
    let enabled = match ctx.svc.prov.effective_account_attrs(account).await {
        Ok(attrs) => attrs
            .get("zimbraPrefAutoAddAddressEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "auto-add: read prefs");
            false
        }
    };
    if !enabled {
        return;
    }
    let recipients = recipient_names(m, composed);
    if let Err(e) = super::super::contacts::auto_add_recipients(mb, &recipients).await {
        tracing::warn!(account = %account.name, error = %e, "auto-add of recipients failed");
    }
}

/// Each recipient address of `composed` with the display name the request's `e`
/// elements (`t`, `c`, `b`) or the message's To/Cc headers give it.
fn recipient_names(m: &Element, composed: &Composed) -> Vec<(String, Option<String>)> {
    let mut names: Vec<(String, Option<String>)> = m
        .children_named("e")
        .filter(|e| matches!(e.attr("t"), Some("t" | "c" | "b")))
        .filter_map(|e| {
            let a = e.attr("a")?.trim().to_string();
            let p = e.attr("p").map(str::trim).filter(|p| !p.is_empty());
            Some((a, p.map(str::to_string)))
        })
        .collect();
    if let Some(parsed) = mail_parser::MessageParser::default().parse(&composed.mime) {
        for a in [parsed.to(), parsed.cc()]
            .into_iter()
            .flatten()
            .flat_map(|l| l.iter())
        {
            if let Some(addr) = a.address() {
                names.push((addr.to_string(), a.name().map(str::to_string)));
            }
        }
    }
    composed
        .rcpts
        .iter()
        .map(|r| {
            let name = names
                .iter()
                .filter(|(a, _)| a.eq_ignore_ascii_case(r.trim()))
                .find_map(|(_, p)| p.clone());
            (r.trim().to_string(), name)
        })
        .collect()
}

/// SaveDraftRequest `m [id=|did=] [l=] [f=] [tn=] e* su mp attach*`: the message is
/// saved (rewriting draft `id`, or `did` without `id`, under its own id, as Zimbra
/// does) and answered as GetMsg shows it.
pub(crate) async fn save_draft(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let account = ctx.target_account().await?;
    // `did` names the draft being edited when `id` is absent (zimbra-client sends it so).
    let draft = m
        .attr("id")
        .filter(|s| !s.trim().is_empty())
        .or_else(|| m.attr("did").filter(|s| !s.trim().is_empty()));
    let replaces = match draft {
        Some(id) => {
            let id = own_id(id, &account, FaultCode::NoSuchMsg)?;
            let old = mb.message(id).await.map_err(store_fault)?;
            if old.flags.0 & Flags::DRAFT == 0 {
                return Err(ServiceError::invalid_request(format!(
                    "message {} is not a draft",
                    id.0
                )));
            }
            Some(old)
        }
        None => None,
    };
    let folder_id = match m.attr("l").filter(|s| !s.trim().is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None => replaces
            .as_ref()
            .map(|o| o.folder)
            .unwrap_or(ItemId(folder::DRAFTS)),
    };
    let mut composed = compose(ctx, mb, &account, m, true).await?;
    composed.mime = super::draft_info::DraftInfo::from_request(m).stamp(composed.mime);
    let mut flags = Flags::from_soap(m.attr("f").unwrap_or("")).0 | Flags::DRAFT;
    flags &= !Flags::UNREAD;
    if composed.attached {
        flags |= Flags::ATTACHED;
    }
    let tags: Vec<String> = match m.attr("tn") {
        Some(t) => t
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        None => replaces
            .as_ref()
            .map(|o| o.tags.clone())
            .unwrap_or_default(),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let saved = match &replaces {
        // Zimbra rewrites the draft under its own id (`Mailbox.saveDraft`).
        Some(old) => replace_draft(mb, old, &composed.mime, Flags(flags), &tags, folder_id, now)
            .await
            .map_err(store_fault)?,
        None => mb
            .append_tagged(folder_id, &composed.mime, Flags(flags), &tags, now)
            .await
            .map_err(store_fault)?,
    };
    release_uploads(ctx, account.id, &composed);
    ctx.svc.indexer.notify(mb.account());
    let el = super::message_element(mb, saved.id, false, &[]).await?;
    let mut resp = response("SaveDraftResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// Rewrites draft `old` with `mime` under its own id, then gives it the tags `tags`
/// (by name; missing ones are created) and moves it to `folder` when they differ.
async fn replace_draft(
    mb: &Mailbox,
    old: &zcs_store::MessageMeta,
    mime: &[u8],
    flags: Flags,
    tags: &[String],
    folder: ItemId,
    now: i64,
) -> Result<zcs_store::MessageMeta, zcs_store::StoreError> {
    let id = old.id;
    mb.replace_message(id, mime, flags, now).await?;
    let same = |a: &String, b: &String| a.eq_ignore_ascii_case(b);
    let gone: Vec<String> = old
        .tags
        .iter()
        .filter(|t| !tags.iter().any(|n| same(n, t)))
        .cloned()
        .collect();
    let added: Vec<String> = tags
        .iter()
        .filter(|t| !old.tags.iter().any(|o| same(o, t)))
        .cloned()
        .collect();
    if !gone.is_empty() {
        mb.tag_items_by_name(&[id], &gone, false, false).await?;
    }
    if !added.is_empty() {
        mb.tag_items_by_name(&[id], &added, true, true).await?;
    }
    if folder != old.folder {
        mb.move_items(&[id], folder).await?;
    }
    mb.message(id).await
}

/// The `Resent-*` block (RFC 5322 §3.6.6) put before a bounced message's headers.
fn resent_headers(from: &str, to: &[String], now: chrono::DateTime<chrono::Utc>) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], "");
    format!(
        "Resent-From: {}\r\nResent-To: {}\r\nResent-Date: {}\r\nResent-Message-ID: <{}@{}>\r\n",
        clean(from),
        to.iter().map(|t| clean(t)).collect::<Vec<_>>().join(", "),
        now.to_rfc2822(),
        uuid::Uuid::new_v4(),
        from.rsplit_once('@').map_or("localhost", |(_, d)| d),
    )
}

/// BounceMsgRequest `m id= (e t="t|c|b" a=)+`: redirects the message unchanged but for
/// `Resent-*` headers (RFC 5322 §3.6.6) to the addresses given ("bounce" in Zimbra's
/// client); nothing is saved.
///
/// # Errors
/// `mail.NO_SUCH_MSG`; `service.INVALID_REQUEST` without a recipient; the send faults
/// of [`deliver`].
pub(crate) async fn bounce_msg(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
) -> ServiceResult<Element> {
    let m = spec(req, "m")?;
    let account = ctx.target_account().await?;
    let id = own_id(m.req("id")?, &account, FaultCode::NoSuchMsg)?;
    let raw = mb.read_message(id).await.map_err(store_fault)?;
    let rcpts: Vec<String> = m
        .children_named("e")
        .filter(|e| matches!(e.attr("t").unwrap_or("t"), "t" | "c" | "b"))
        .filter_map(|e| e.attr("a").map(|a| a.trim().to_string()))
        .filter(|a| !a.is_empty())
        .collect();
    if rcpts.is_empty() {
        return Err(ServiceError::invalid_request("no recipients"));
    }
    let mut mime = resent_headers(&account.name, &rcpts, chrono::Utc::now()).into_bytes();
    mime.extend_from_slice(&raw);
    deliver(ctx, &account, &rcpts, &mime).await?;
    tracing::info!(account = %account.name, rcpts = rcpts.len(), "message bounced");
    Ok(response("BounceMsgResponse", NS_MAIL))
}

/// Whether the domain aggregate quota stops mail: `domain`'s (else the global config's)
/// `zimbraDomainAggregateQuota` is set and the usage last computed
/// (`zimbraAggregateQuotaLastUsage`, written by ComputeAggregateQuotaUsageRequest) has
/// reached it, and `zimbraDomainAggregateQuotaPolicy` is `BLOCKSEND` (sending only:
/// `receiving` false) or `BLOCKSENDRECEIVE` (both). `ALLOWSENDRECEIVE`, the default,
/// never blocks.
pub(crate) fn domain_quota_blocks(
    domain: &zcs_core::Entry,
    global: &zcs_core::Entry,
    receiving: bool,
) -> bool {
    let attr = |n: &str| domain.attrs.get(n).or_else(|| global.attrs.get(n));
    let quota = attr("zimbraDomainAggregateQuota")
        .and_then(|v| zcs_core::attrs::value::parse_size(v).ok())
        .unwrap_or(0);
    let used = domain
        .attrs
        .get("zimbraAggregateQuotaLastUsage")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if quota == 0 || used < quota {
        return false;
    }
    match attr("zimbraDomainAggregateQuotaPolicy").map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("BLOCKSENDRECEIVE") => true,
        Some(p) if p.eq_ignore_ascii_case("BLOCKSEND") => !receiving,
        _ => false,
    }
}

/// Refuses a send from `account` when its domain's aggregate quota blocks sending
/// ([`domain_quota_blocks`]).
///
/// # Errors
/// `mail.DOMAIN_QUOTA_EXCEEDED` when blocked; directory errors reading the global config.
async fn refuse_over_domain_quota(ctx: &Ctx<'_>, account: &zcs_core::Entry) -> ServiceResult<()> {
    let Some((_, domain)) = account.name.rsplit_once('@') else {
        return Ok(());
    };
    let prov = &ctx.svc.prov;
    let Ok(domain) = prov
        .get_domain(&zcs_directory::EntryKey::Name(domain.to_string()))
        .await
    else {
        return Ok(());
    };
    let global = prov.global_config().await?;
    if domain_quota_blocks(&domain, &global, false) {
        return Err(ServiceError::new(
            FaultCode::DomainQuotaExceeded,
            format!("domain aggregate quota exceeded: {}", domain.name),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resent_block_names_sender_and_recipients() {
        let now = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
        let h = resent_headers("a@x.test", &["b@y.test".into(), "c\r\n@y".into()], now);
        assert!(h.starts_with("Resent-From: a@x.test\r\nResent-To: b@y.test, c@y\r\n"));
        assert!(h.contains("Resent-Message-ID: <") && h.ends_with("@x.test>\r\n"));
    }

    #[test]
    fn bcc_is_dropped_from_the_header_only() {
        let raw =
            b"From: a@x.test\r\nBcc: b@x.test,\r\n c@x.test\r\nTo: d@x.test\r\n\r\nBcc: body\r\n";
        let out = without_bcc(raw);
        assert_eq!(
            out,
            b"From: a@x.test\r\nTo: d@x.test\r\n\r\nBcc: body\r\n".to_vec()
        );
        assert_eq!(without_bcc(b"Subject: x"), b"Subject: x".to_vec());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_the_body(
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let out = without_bcc(&raw);
            proptest::prop_assert!(out.len() <= raw.len());
        }
    }
}
