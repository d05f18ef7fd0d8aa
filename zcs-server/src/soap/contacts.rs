//! Contact requests of the mail service: CreateContact, ModifyContact, GetContacts,
//! ContactAction and (in `transfer`) ImportContacts/ExportContacts as CSV, contact
//! groups included (`a n="type">group` with `m type= value=` members). Plain ids are
//! looked up in the caller's own mailbox; another account's contact (`ownerId:id`) or
//! shared folder is reached through the owner's grants (`remote`).

use zcs_core::{FaultCode, Flags, ItemId, ServiceError, ServiceResult, folder};
use zcs_store::{Contact, ContactMember, Mailbox, MemberKind, StoreError};

use super::context::{Ctx, store_fault};
use super::element::Element;
use super::envelope::NS_MAIL;
use super::folders::{parse_id, parse_ids};
use super::response;

mod action;
mod auto_add;
mod csv;
mod gal_match;
mod ranking;
mod remote;
mod tags;
mod transfer;

// For the mail module: ItemAction on a contact, SendMsg's auto-add.
pub(crate) use action::contact_item_op;
pub(crate) use auto_add::auto_add_recipients;
pub(crate) use tags::TagLabels;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if !matches!(
        name,
        "CreateContactRequest"
            | "ModifyContactRequest"
            | "GetContactsRequest"
            | "ContactActionRequest"
            | "AutoCompleteRequest"
            | "ImportContactsRequest"
            | "ExportContactsRequest"
            | "RankingActionRequest"
            | "DeleteContactRequest"
    ) {
        return None;
    }
    // Another account's contact or shared folder: the request runs in the owner's
    // mailbox once its grants allow it.
    match remote::route(ctx, name, req).await {
        Ok(Some(routed)) => return Some(run_routed(ctx, name, routed).await),
        Ok(None) => {}
        Err(e) => return Some(Err(e)),
    }
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let result = match name {
        "CreateContactRequest" => create_contact(&mb, req).await,
        "ModifyContactRequest" => modify_contact(&mb, req).await,
        "GetContactsRequest" => get_contacts(&mb, req).await,
        "AutoCompleteRequest" => auto_complete(ctx, &mb, req).await,
        "ImportContactsRequest" => transfer::import_contacts(ctx, &mb, req).await,
        "ExportContactsRequest" => transfer::export_contacts(&mb, req).await,
        "RankingActionRequest" => ranking_action(&mb, req).await,
        "DeleteContactRequest" => delete_contacts(&mb, req).await,
        _ => action::contact_action(&mb, req).await,
    };
    if result.is_ok() {
        ctx.svc.indexer.notify(mb.account());
    }
    ctx.note_change(&mb).await;
    Some(result)
}

/// Runs a request [`remote::route`] sent to an owner's mailbox; the answer's ids are
/// written `ownerId:id`.
async fn run_routed(
    ctx: &mut Ctx<'_>,
    name: &str,
    routed: remote::Routed,
) -> ServiceResult<Element> {
    let (mb, req) = (&routed.mb, &routed.req);
    let mut resp = match name {
        "CreateContactRequest" => create_contact(mb, req).await?,
        "ModifyContactRequest" => modify_contact(mb, req).await?,
        "GetContactsRequest" => get_contacts(mb, req).await?,
        _ => action::contact_action(mb, req).await?,
    };
    ctx.svc.indexer.notify(mb.account());
    remote::qualify(&mut resp, &routed.owner);
    Ok(resp)
}

/// DeleteContactRequest `cn id=`*: not a Zimbra 8 request, but what zimbra-client (PyPI)
/// sends; answered as ContactActionRequest `op=delete` on the same ids.
async fn delete_contacts(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let ids: Vec<&str> = req
        .children_named("cn")
        .filter_map(|c| c.attr("id"))
        .collect();
    if ids.is_empty() {
        return Err(ServiceError::invalid_request(
            "missing required element: cn",
        ));
    }
    let mut action_req = Element::new("ContactActionRequest");
    let action = action_req.add_new("action");
    action.set("op", "delete");
    action.set("id", ids.join(","));
    let mut resp = action::contact_action(mb, &action_req).await?;
    resp.name = "DeleteContactResponse".into();
    Ok(resp)
}

/// A missing contact as Zimbra words it (`mail.NO_SUCH_CONTACT`).
fn no_such_contact(id: ItemId) -> ServiceError {
    ServiceError::new(
        FaultCode::NoSuchContact,
        format!("no such contact: {}", id.0),
    )
}

fn contact_fault(id: ItemId) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::NoSuchItem(_) => no_such_contact(id),
        other => store_fault(other),
    }
}

/// Zimbra's default `fileAs` (1, "Last, First"), falling back to the company, then the
/// e-mail address, then the nickname.
fn file_as(c: &Contact) -> String {
    let first = c.field("firstName").unwrap_or("").trim();
    let last = c.field("lastName").unwrap_or("").trim();
    let name = match (last.is_empty(), first.is_empty()) {
        (false, false) => format!("{last}, {first}"),
        (false, true) => last.to_string(),
        (true, false) => first.to_string(),
        (true, true) => String::new(),
    };
    if !name.is_empty() {
        return name;
    }
    for f in [
        "fullName", "nickname", "company", "email", "email2", "email3",
    ] {
        if let Some(v) = c.field(f).filter(|v| !v.trim().is_empty()) {
            return v.trim().to_string();
        }
    }
    if c.is_group {
        return c.field("nickname").unwrap_or("").to_string();
    }
    String::new()
}

fn member_code(kind: MemberKind) -> &'static str {
    match kind {
        MemberKind::ContactRef => "C",
        MemberKind::GalRef => "G",
        MemberKind::Inline => "I",
    }
}

/// A `cn` element: id, folder, flags, `fileAsStr`, the fields as `a n=` (`_attrs` in
/// JSON) and group members as `m type= value=`. `only` keeps the named fields only.
pub(crate) fn contact_element(c: &Contact, only: Option<&[String]>, fields: bool) -> Element {
    let mut el = Element::new("cn");
    el.set("id", c.id.0.to_string());
    el.set("l", c.folder.0.to_string());
    let f = c.flags.to_soap();
    if !f.is_empty() {
        el.set("f", f);
    }
    // Zimbra's ToXML.encodeContact: change date in seconds, item date in ms.
    el.set_num("md", c.changed_ms / 1000);
    el.set_num("ms", c.modseq);
    el.set_num("d", c.date_ms);
    el.set_num("rev", c.revision);
    let fa = file_as(c);
    if !fa.is_empty() {
        el.set("fileAsStr", fa);
    }
    if !fields {
        return el;
    }
    el.kv = c.members.is_empty();
    for (k, v) in &c.fields {
        if only.is_some_and(|o| !o.iter().any(|n| n.eq_ignore_ascii_case(k))) {
            continue;
        }
        el.add_a(k, v.clone());
    }
    for m in &c.members {
        el.add_new("m")
            .set("type", member_code(m.kind))
            .set("value", m.value.clone());
    }
    el
}

/// The `a n=` fields of a request, in order; values are trimmed of nothing (Zimbra
/// keeps them as sent) and empty values dropped.
fn request_fields(cn: &Element) -> ServiceResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in cn.children_named("a") {
        let name = a.req("n")?.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid_request("empty contact field name"));
        }
        // LIMITATION: attachment fields (`aid=`, `id= part=`) are not stored.
        if a.attr("aid").is_some() || a.attr("part").is_some() {
            continue;
        }
        let value = a.text().to_string();
        if value.is_empty() {
            continue;
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

fn request_member(m: &Element) -> ServiceResult<ContactMember> {
    let kind = m
        .req("type")?
        .bytes()
        .next()
        .and_then(MemberKind::from_code)
        .ok_or_else(|| ServiceError::invalid_request("invalid group member type"))?;
    let value = m.req("value")?.trim().to_string();
    if value.is_empty() {
        return Err(ServiceError::invalid_request("empty group member"));
    }
    Ok(ContactMember { kind, value })
}

/// Checks that every `C` member names a contact of this mailbox.
async fn check_members(mb: &Mailbox, members: &[ContactMember]) -> ServiceResult<()> {
    for m in members {
        if m.kind != MemberKind::ContactRef {
            continue;
        }
        let id = parse_id(&m.value, FaultCode::NoSuchItem)?;
        mb.contact(id).await.map_err(contact_fault(id))?;
    }
    Ok(())
}

fn is_group(fields: &[(String, String)]) -> bool {
    fields
        .iter()
        .any(|(k, v)| k == "type" && v.eq_ignore_ascii_case("group"))
}

/// CreateContactRequest `[verbose=1]` `cn [l=7] [f=] [tn=|t=]` with `a n=` fields, `m`
/// members or a `vcard` child. Tags named by `tn=` that do not exist are created.
async fn create_contact(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let cn = req
        .child("cn")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: cn"))?;
    let verbose = req.bool_attr("verbose", true)?;
    let folder_id = match cn.attr("l").filter(|l| !l.is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None => ItemId(folder::CONTACTS),
    };
    let created = if let Some(vcard) = cn.child("vcard") {
        // LIMITATION: a vCard by `mid`+`part` or upload `aid` is not read.
        let (mut list, _bad) = mb
            .import_vcards(folder_id, vcard.text())
            .await
            .map_err(store_fault)?;
        if list.is_empty() {
            return Err(ServiceError::invalid_request("no vCard in the request"));
        }
        list.remove(0)
    } else {
        let fields = request_fields(cn)?;
        let members = cn
            .children_named("m")
            .map(request_member)
            .collect::<ServiceResult<Vec<_>>>()?;
        if !members.is_empty() && !is_group(&fields) {
            return Err(ServiceError::invalid_request(
                "members are only allowed on a contact group",
            ));
        }
        if fields.is_empty() && members.is_empty() {
            return Err(ServiceError::invalid_request("contact has no fields"));
        }
        check_members(mb, &members).await?;
        mb.create_contact(folder_id, fields, members)
            .await
            .map_err(store_fault)?
    };
    let mut created = created;
    if let Some(f) = cn.attr("f").filter(|f| !f.is_empty()) {
        created = mb
            .set_contact_flags(created.id, Flags::from_soap(f))
            .await
            .map_err(store_fault)?;
    }
    if let Some(spec) = tags::TagSpec::from_update(cn)? {
        let names = spec.names(mb).await?;
        tags::replace_tags(mb, created.id, &names).await?;
    }
    let labels = TagLabels::load(mb, &[created.id]).await?;
    let mut el = contact_element(&created, None, verbose);
    labels.label(&mut el, created.id);
    let mut resp = response("CreateContactResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// ModifyContactRequest `[replace=0] [verbose=1]` `cn id= [tn=|t=]` with `a n= [op=+|-]`
/// and `m [op=+|-|reset] type= value=`; `tn=`/`t=` replace the contact's tags. Without `replace`, a
/// field given a value is set,
/// one given an empty value is removed, and the others are kept.
async fn modify_contact(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let cn = req
        .child("cn")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: cn"))?;
    let id = parse_id(cn.req("id")?, FaultCode::NoSuchContact)?;
    let replace = req.bool_attr("replace", false)?;
    let verbose = req.bool_attr("verbose", true)?;
    let old = mb.contact(id).await.map_err(contact_fault(id))?;
    let (mut fields, mut members) = if replace {
        (Vec::new(), Vec::new())
    } else {
        (old.fields.clone(), old.members.clone())
    };
    // Fields named in the request replace the old values of that name (all of
    // them, so a multi-valued field is restated whole), unless op="+" adds one.
    let mut touched: Vec<String> = Vec::new();
    for a in cn.children_named("a") {
        let name = a.req("n")?.trim().to_string();
        if name.is_empty() {
            return Err(ServiceError::invalid_request("empty contact field name"));
        }
        if a.attr("aid").is_some() || a.attr("part").is_some() {
            continue;
        }
        let value = a.text().to_string();
        match a.attr("op").unwrap_or("") {
            "+" => {
                if !value.is_empty() {
                    fields.push((name, value));
                }
            }
            "-" => fields.retain(|(k, v)| !(k == &name && v == &value)),
            "" => {
                if !touched.contains(&name) {
                    fields.retain(|(k, _)| k != &name);
                    touched.push(name.clone());
                }
                if !value.is_empty() {
                    fields.push((name, value));
                }
            }
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "invalid field operation: {other}"
                )));
            }
        }
    }
    for m in cn.children_named("m") {
        match m.attr("op").unwrap_or("+") {
            "reset" => members.clear(),
            "-" => {
                let gone = request_member(m)?;
                members.retain(|x| *x != gone);
            }
            _ => {
                let add = request_member(m)?;
                if !members.contains(&add) {
                    members.push(add);
                }
            }
        }
    }
    if !members.is_empty() && !is_group(&fields) {
        return Err(ServiceError::invalid_request(
            "members are only allowed on a contact group",
        ));
    }
    check_members(mb, &members).await?;
    let updated = mb
        .modify_contact(id, fields, members)
        .await
        .map_err(contact_fault(id))?;
    if let Some(spec) = tags::TagSpec::from_update(cn)? {
        let names = spec.names(mb).await?;
        tags::replace_tags(mb, id, &names).await?;
    }
    let labels = TagLabels::load(mb, &[id]).await?;
    let mut el = contact_element(&updated, None, verbose);
    labels.label(&mut el, id);
    let mut resp = response("ModifyContactResponse", NS_MAIL);
    resp.add(el);
    Ok(resp)
}

/// GetContactsRequest `[l=] [sortBy=]` with optional `cn id=` children (each a comma
/// list) and `a n=` to return only some fields. Groups' `C` members are expanded as
/// `m` children holding the member's `cn` when `derefGroupMember=1`.
async fn get_contacts(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let only: Vec<String> = req
        .children_named("a")
        .filter_map(|a| a.attr("n").map(str::to_string))
        .collect();
    let only = (!only.is_empty()).then_some(only);
    let deref = req.bool_attr("derefGroupMember", false)?;
    let mut wanted = Vec::new();
    for cn in req.children_named("cn") {
        wanted.extend(parse_ids(cn.req("id")?, FaultCode::NoSuchContact)?);
    }
    let mut list = Vec::new();
    if !wanted.is_empty() {
        for id in wanted {
            list.push(mb.contact(id).await.map_err(contact_fault(id))?);
        }
    } else if let Some(l) = req.attr("l").filter(|l| !l.is_empty()) {
        let f = parse_id(l, FaultCode::NoSuchFolder)?;
        mb.folder(f).await.map_err(store_fault)?;
        list = mb.contacts(f).await.map_err(store_fault)?;
    } else {
        for f in mb.folders().await.map_err(store_fault)? {
            if f.view == "contact" || f.id.0 == folder::TRASH {
                list.extend(mb.contacts(f.id).await.map_err(store_fault)?);
            }
        }
    }
    let sort = req.attr("sortBy").unwrap_or("").to_ascii_lowercase();
    if sort.starts_with("name") {
        list.sort_by_key(|c| file_as(c).to_lowercase());
        if sort.ends_with("desc") {
            list.reverse();
        }
    }
    let ids: Vec<ItemId> = list.iter().map(|c| c.id).collect();
    let labels = TagLabels::load(mb, &ids).await?;
    let mut resp = response("GetContactsResponse", NS_MAIL);
    for c in &list {
        let mut el = contact_element(c, only.as_deref(), true);
        labels.label(&mut el, c.id);
        if deref && !c.members.is_empty() {
            for m in el.children.iter_mut().filter(|m| m.name == "m") {
                if m.attr("type") != Some("C") {
                    continue;
                }
                let Some(Ok(id)) = m.attr("value").map(|v| parse_id(v, FaultCode::NoSuchItem))
                else {
                    continue;
                };
                if let Ok(member) = mb.contact(id).await {
                    m.children.push(contact_element(&member, None, true));
                }
            }
        }
        resp.add(el);
    }
    Ok(resp)
}

/// RankingActionRequest `action op=reset|delete [email=]`: clears the contact ranking
/// (of every address, or of `email`): AutoComplete ranks those addresses 0 until the
/// account writes to them again (`ranking`).
async fn ranking_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let a = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    match a.req("op")? {
        "reset" => ranking::reset(mb, None).await?,
        "delete" => ranking::reset(mb, Some(a.req("email")?)).await?,
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown ranking operation: {other}"
            )));
        }
    }
    Ok(response("RankingActionResponse", NS_MAIL))
}

/// Contact fields whose words AutoComplete matches.
const MATCH_FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "middleName",
    "fullName",
    "nickname",
    "company",
    "email",
    "email2",
    "email3",
];
const EMAIL_FIELDS: &[&str] = &["email", "email2", "email3", "workEmail1"];

/// Whether every word of `query` starts a word of one of `c`'s name or address
/// fields (case-insensitive), as Zimbra's contact autocomplete matches.
fn auto_complete_hit(c: &Contact, query: &[String]) -> bool {
    let mut words: Vec<String> = Vec::new();
    for f in MATCH_FIELDS {
        for (k, v) in &c.fields {
            if k == f {
                let v = v.to_lowercase();
                words.push(v.clone());
                words.extend(
                    v.split(|ch: char| ch.is_whitespace() || "@.,-_<>\"'".contains(ch))
                        .filter(|w| !w.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    query
        .iter()
        .all(|q| words.iter().any(|w| w.starts_with(q.as_str())))
}

fn quoted_address(display: &str, addr: &str) -> String {
    if display.is_empty() {
        format!("<{addr}>")
    } else {
        format!("\"{}\" <{addr}>", display.replace('"', ""))
    }
}

/// AutoCompleteRequest `name` [`limit`]: the caller's contacts (address books other
/// than Trash) whose names or addresses start with the words of `name`, one `match`
/// per address, groups as one `match isGroup="1"`.
/// With `zimbraPrefGalAutoCompleteEnabled`, the GAL's matches follow (`gal_match`,
/// addresses the address books already gave left out).
/// Matches are ordered by ranking (how often the account wrote to the address,
/// `ranking`), most first, then address books before the GAL.
/// LIMITATION: shared address books are not searched.
async fn auto_complete(ctx: &mut Ctx<'_>, mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let name = req.req("name")?.trim().to_lowercase();
    let limit = req.int_attr("limit", 20)?.clamp(1, 1000) as usize;
    let query: Vec<String> = name.split_whitespace().map(str::to_string).collect();
    let mut resp = response("AutoCompleteResponse", NS_MAIL);
    resp.set_bool("canBeCached", true);
    if query.is_empty() {
        return Ok(resp);
    }
    let ranks = ranking::sent_counts(mb).await?;
    let rank_of = |addr: &str| ranks.get(&addr.trim().to_lowercase()).copied().unwrap_or(0);
    let mut matches: Vec<(u32, Element)> = Vec::new();
    for f in mb.folders().await.map_err(store_fault)? {
        if f.view != "contact" || f.id.0 == folder::TRASH {
            continue;
        }
        for c in mb.contacts(f.id).await.map_err(store_fault)? {
            if !auto_complete_hit(&c, &query) {
                continue;
            }
            let first = c.field("firstName").unwrap_or("");
            let last = c.field("lastName").unwrap_or("");
            let display = match c.field("fullName") {
                Some(full) => full.to_string(),
                None => format!("{first} {last}").trim().to_string(),
            };
            let mut base = Element::new("match");
            base.set("ranking", "0");
            base.set("type", "contact");
            base.set("id", c.id.0.to_string());
            base.set("l", c.folder.0.to_string());
            for (attr, field) in [
                ("first", "firstName"),
                ("middle", "middleName"),
                ("last", "lastName"),
                ("full", "fullName"),
                ("nick", "nickname"),
                ("company", "company"),
            ] {
                if let Some(v) = c.field(field) {
                    base.set(attr, v.to_string());
                }
            }
            base.set("fileas", file_as(&c));
            if c.is_group {
                let nick = c.field("nickname").or(c.field("fullName")).unwrap_or("");
                let mut m = base.clone();
                m.set_bool("isGroup", true);
                m.set("display", nick.to_string());
                m.set("email", nick.to_string());
                m.set_bool("exp", true);
                matches.push((0, m));
            } else {
                for ef in EMAIL_FIELDS {
                    let Some(addr) = c.field(ef).filter(|a| !a.trim().is_empty()) else {
                        continue;
                    };
                    let mut m = base.clone();
                    m.set_bool("isGroup", false);
                    m.set("email", quoted_address(&display, addr.trim()));
                    if !display.is_empty() {
                        m.set("display", display.clone());
                    }
                    let rank = rank_of(addr);
                    m.set("ranking", rank.to_string());
                    matches.push((rank, m));
                }
            }
        }
    }
    for (addr, mut m) in gal_match::matches(ctx, &name, limit).await? {
        let bracketed = format!("<{addr}>");
        if matches.iter().any(|(_, c)| {
            c.attr("email").is_some_and(|e| {
                let e = e.to_lowercase();
                e == addr || e.ends_with(&bracketed)
            })
        }) {
            continue;
        }
        let rank = rank_of(&addr);
        m.set("ranking", rank.to_string());
        matches.push((rank, m));
    }
    // Stable: equal rankings keep the address books' order.
    matches.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
    for (_, m) in matches.into_iter().take(limit) {
        resp.add(m);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(fields: &[(&str, &str)]) -> Contact {
        Contact {
            id: ItemId(300),
            folder: ItemId(7),
            flags: Flags(0),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            members: Vec::new(),
            is_group: false,
            modseq: 4,
            revision: 4,
            date_ms: 1_700_000_000_123,
            changed_ms: 1_700_000_100_999,
        }
    }

    #[test]
    fn file_as_is_last_comma_first_then_fallbacks() {
        assert_eq!(
            file_as(&contact(&[("firstName", "Ann"), ("lastName", "Lee")])),
            "Lee, Ann"
        );
        assert_eq!(file_as(&contact(&[("firstName", "Ann")])), "Ann");
        assert_eq!(file_as(&contact(&[("email", "a@b.test")])), "a@b.test");
        assert_eq!(file_as(&contact(&[])), "");
    }

    #[test]
    fn auto_complete_matches_word_prefixes() {
        let c = contact(&[
            ("firstName", "Ann"),
            ("lastName", "Lee-Smith"),
            ("email", "ann.lee@example.org"),
        ]);
        let q = |s: &str| {
            s.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        };
        assert!(auto_complete_hit(&c, &q("an")));
        assert!(auto_complete_hit(&c, &q("ann smi")));
        assert!(auto_complete_hit(&c, &q("example")));
        assert!(!auto_complete_hit(&c, &q("bob")));
        assert!(!auto_complete_hit(&c, &q("ann bob")));
        assert_eq!(quoted_address("Ann Lee", "a@b"), "\"Ann Lee\" <a@b>");
    }

    #[test]
    fn element_carries_fields_and_filters() {
        let c = contact(&[("firstName", "Ann"), ("email", "a@b.test")]);
        let el = contact_element(&c, None, true);
        assert_eq!(el.attr("id"), Some("300"));
        assert_eq!(el.attr("l"), Some("7"));
        // Dates as Zimbra writes them: `md` in seconds, `d` in ms.
        assert_eq!(el.attr("md"), Some("1700000100"));
        assert_eq!(el.attr("d"), Some("1700000000123"));
        assert_eq!((el.attr("ms"), el.attr("rev")), (Some("4"), Some("4")));
        assert_eq!(el.children_named("a").count(), 2);
        let only = vec!["email".to_string()];
        let el = contact_element(&c, Some(&only), true);
        assert_eq!(el.a_pairs(), vec![("email".into(), "a@b.test".into())]);
        assert!(contact_element(&c, None, false).children.is_empty());
    }
}
