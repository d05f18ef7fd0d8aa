//! Conversation requests of the mail service: GetConv (the conversation and its
//! messages) and ConvAction (read, flag, tag, move, trash, spam, delete applied to
//! every message of the conversation). Conversation ids are looked up in the caller's
//! own mailbox only; virtual conversations have id `-messageId`.

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Conversation, Mailbox, MessageMeta, StoreError};

use super::context::{Ctx, store_fault};
use super::element::{AttrKind, Element};
use super::envelope::NS_MAIL;
use super::mail::apply_msg_op;
use super::response;
use super::search::{add_senders, fragment, message_hit};

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(name, "GetConvRequest" | "ConvActionRequest") {
        return None;
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let result = match name {
        "GetConvRequest" => get_conv(&mb, req).await,
        _ => conv_action(&mb, req).await,
    };
    if result.is_ok() {
        ctx.svc.indexer.notify(mb.account());
    }
    ctx.note_change(&mb).await;
    Some(result)
}

/// A conversation id as Zimbra reads one: not a number is `service.INVALID_REQUEST`;
/// a number naming no conversation (0), or an id of another mailbox, is
/// `mail.NO_SUCH_CONV`.
fn parse_conv_id(text: &str) -> ServiceResult<ItemId> {
    let t = text.trim();
    let no_such = || ServiceError::new(FaultCode::NoSuchConv, format!("no such conversation: {t}"));
    let n = t
        .rsplit(':')
        .next()
        .unwrap_or("")
        .parse::<i32>()
        .map_err(|_| ServiceError::invalid_request(format!("invalid conversation id: {t}")))?;
    if n == 0 || t.contains(':') {
        return Err(no_such());
    }
    Ok(ItemId(n))
}

fn conv_fault(id: ItemId) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::NoSuchItem(_) | StoreError::NoSuchMessage(_) => ServiceError::new(
            FaultCode::NoSuchConv,
            format!("no such conversation: {}", id.0),
        ),
        other => store_fault(other),
    }
}

/// A `c` element: id, count, unread, flags, tags, date and subject.
pub(crate) fn conv_element(c: &Conversation) -> Element {
    let mut el = Element::new("c");
    el.set("id", c.id.0.to_string());
    el.set_num("n", c.messages);
    if c.unread > 0 {
        el.set_num("u", c.unread);
    }
    let f = c.flags.to_soap();
    if !f.is_empty() {
        el.set("f", f);
    }
    if !c.tags.is_empty() {
        el.set("tn", c.tags.join(","));
    }
    el.set_num("d", c.date_ms);
    el.set_num("ms", c.modseq);
    el
}

/// GetConvRequest `c id= [fetch=] [html=] [max=] (header n=)*`: the conversation with
/// one `m` per message, oldest first, each as a search hit with its fragment and the
/// headers asked for; the messages `fetch` names are expanded as GetMsg shows them.
async fn get_conv(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let c = req
        .child("c")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: c"))?;
    let id = parse_conv_id(c.req("id")?)?;
    let conv = mb.conversation(id).await.map_err(conv_fault(id))?;
    let msgs = mb.conversation_messages(id).await.map_err(conv_fault(id))?;
    let headers: Vec<String> = c
        .children_named("header")
        .filter_map(|h| h.attr("n").map(str::to_string))
        .collect();
    let fetched = fetched(&msgs, c.attr("fetch").unwrap_or(""));
    let body = super::mail::body_options(c)?;
    let mut el = conv_element(&conv);
    let listed = msgs
        .iter()
        .filter(|m| m.folder.0 != folder::TRASH && m.folder.0 != folder::JUNK);
    add_senders(&mut el, listed.map(|m| m.sender.as_str()));
    el.set_content("su", conv.subject.clone(), AttrKind::Str);
    for m in &msgs {
        if fetched.contains(&m.id) {
            el.add(super::mail::message_element_with(mb, m.id, false, &headers, &body).await?);
            continue;
        }
        let mut hit = message_hit(m);
        fragment::add_to_hit(mb, m, &mut hit).await;
        if !headers.is_empty()
            && let Ok(raw) = mb.read_message(m.id).await
        {
            add_headers(&mut hit, &raw, &headers);
        }
        el.add(hit);
    }
    let mut resp = response("GetConvResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// The messages GetConv's `fetch=` expands: `1`/`first` the first (oldest),
/// `u`/`unread` the unread ones, `!` the first unread (else the last), `all` every
/// one, or a comma-separated id list.
fn fetched(msgs: &[MessageMeta], fetch: &str) -> Vec<ItemId> {
    let unread = |m: &&MessageMeta| m.flags.contains(zcs_core::Flags::UNREAD);
    match fetch.trim() {
        "" | "0" | "none" => Vec::new(),
        "1" | "first" => msgs.first().map(|m| m.id).into_iter().collect(),
        "u" | "unread" => msgs.iter().filter(unread).map(|m| m.id).collect(),
        "!" => msgs
            .iter()
            .find(unread)
            .or(msgs.last())
            .map(|m| m.id)
            .into_iter()
            .collect(),
        "all" => msgs.iter().map(|m| m.id).collect(),
        list => list
            .split(',')
            .filter_map(|p| p.trim().rsplit(':').next()?.parse::<i32>().ok())
            .map(ItemId)
            .collect(),
    }
}

/// Adds `header n=` children for the headers of `raw` named in `names`.
fn add_headers(el: &mut Element, raw: &[u8], names: &[String]) {
    let Some(p) = mail_parser::MessageParser::default().parse(raw) else {
        return;
    };
    for name in names {
        if let Some(v) = p.header_raw(name.as_str()) {
            el.add_new("header")
                .set("n", name)
                .set_text(v.trim().to_string());
        }
    }
}

/// The messages an operation touches. A target constraint `tcon` names classes of
/// messages by letter (`t` in Trash, `j` in Junk, `s` sent by the account and filed in
/// Sent, `d` drafts, `o` any other), all excluded when it starts with `-`. A message
/// merely filed in Sent, or a sent one moved elsewhere, is `o` (the harness's bug 3972
/// and Tcon cases). Without one, Zimbra's default leaves Trash and Junk out of
/// everything but delete, move and !spam.
pub(crate) fn targets(msgs: &[MessageMeta], op: &str, tcon: Option<&str>) -> Vec<ItemId> {
    msgs.iter()
        .filter(|m| in_constraint(m.folder, m.flags, op, tcon))
        .map(|m| m.id)
        .collect()
}

/// The constraint classes of a message in folder `f` with `flags` (see [`targets`]).
fn classes(f: ItemId, flags: zcs_core::Flags) -> Vec<char> {
    let mut out = Vec::new();
    if f.0 == folder::TRASH {
        out.push('t');
    }
    if f.0 == folder::JUNK {
        out.push('j');
    }
    if f.0 == folder::SENT && flags.contains(zcs_core::Flags::SENT) {
        out.push('s');
    }
    if flags.contains(zcs_core::Flags::DRAFT) {
        out.push('d');
    }
    if out.is_empty() {
        out.push('o');
    }
    out
}

/// Whether a message in folder `f` with `flags` is within target constraint `tcon`
/// (see [`targets`]).
fn in_constraint(f: ItemId, flags: zcs_core::Flags, op: &str, tcon: Option<&str>) -> bool {
    let classes = classes(f, flags);
    match tcon.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => match t.strip_prefix('-') {
            Some(excluded) => !classes.iter().any(|c| excluded.contains(*c)),
            None => classes.iter().any(|c| t.contains(*c)),
        },
        None => {
            matches!(op, "delete" | "!spam" | "move")
                || !classes.iter().any(|c| matches!(c, 't' | 'j'))
        }
    }
}

/// ConvActionRequest `action id= op= [l=] [tn=] [tcon=]`: the message operation on
/// every message of each conversation.
async fn conv_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let a = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let id_text = a.req("id")?.to_string();
    let op = a.req("op")?.to_string();
    let mut ids = Vec::new();
    for part in id_text.split(',').filter(|p| !p.trim().is_empty()) {
        let id = parse_conv_id(part)?;
        let msgs = mb.conversation_messages(id).await.map_err(conv_fault(id))?;
        ids.extend(targets(&msgs, &op, a.attr("tcon")));
    }
    if !ids.is_empty() {
        apply_msg_op(mb, &ids, &op, a).await?;
    }
    let mut resp = response("ConvActionResponse", NS_MAIL);
    resp.add_new("action").set("id", id_text).set("op", op);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_constraints_pick_message_classes() {
        use zcs_core::Flags;
        let f = |id| ItemId(id);
        let sent = Flags(Flags::SENT);
        let none = Flags(0);
        assert!(in_constraint(f(folder::SENT), sent, "flag", Some("s")));
        // Filed in Sent without being sent by the account: not `s` (Zimbra bug 3972).
        assert!(!in_constraint(f(folder::SENT), none, "flag", Some("s")));
        assert!(in_constraint(f(folder::SENT), none, "move", Some("-tjs")));
        // Sent, then moved out of Sent: no longer `s`.
        assert!(!in_constraint(f(300), sent, "spam", Some("s")));
        assert!(in_constraint(f(300), sent, "spam", Some("-s")));
        assert!(!in_constraint(f(folder::INBOX), none, "flag", Some("s")));
        assert!(in_constraint(f(folder::INBOX), none, "flag", Some("-s")));
        assert!(!in_constraint(f(folder::SENT), sent, "flag", Some("-s")));
        assert!(in_constraint(f(300), none, "read", Some("o")));
        assert!(!in_constraint(f(folder::TRASH), sent, "read", Some("-tj")));
        assert!(!in_constraint(f(folder::TRASH), none, "read", None));
        assert!(in_constraint(f(folder::TRASH), none, "delete", None));
        assert!(in_constraint(f(6), Flags(Flags::DRAFT), "tag", Some("d")));
    }

    #[test]
    fn conversation_ids_may_be_negative_but_not_zero_or_remote() {
        assert_eq!(parse_conv_id("-260").ok(), Some(ItemId(-260)));
        assert_eq!(parse_conv_id(" 300 ").ok(), Some(ItemId(300)));
        assert!(parse_conv_id("0").is_err());
        assert!(parse_conv_id("a9e1:300").is_err());
        let code = |t: &str| parse_conv_id(t).err().map(|e| e.code);
        assert_eq!(code("abcd"), Some(FaultCode::InvalidRequest));
        assert_eq!(code(":<''//\\"), Some(FaultCode::InvalidRequest));
        assert_eq!(code("10.10"), Some(FaultCode::InvalidRequest));
        assert_eq!(code(""), Some(FaultCode::InvalidRequest));
        assert_eq!(code("0099"), None);
        assert_eq!(code("-50"), None);
    }
}
