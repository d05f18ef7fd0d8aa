//! Calendar and task requests of the mail service: Create/Modify/Get/Cancel for
//! appointments and tasks, GetApptSummaries and GetFreeBusy. The SOAP invite
//! (`m > inv > comp`) is turned into a VCALENDAR (RFC 5545) that the store keeps
//! whole, and read back from it (`to_ical` and `comp_element`).
//!
//! Ids are the caller's own: another account's appointment is "no such item".
//! An invite id is `calItemId-calItemId` (one invite per item here).

use zcs_core::{FaultCode, ItemId, ItemKind, ServiceError, ServiceResult, folder};
use zcs_store::{CalItem, Mailbox, StoreError};

use super::context::{Ctx, store_fault};
use super::element::{AttrKind, Element};
use super::envelope::NS_MAIL;
use super::folders::parse_id;
use super::response;

mod ical;

use super::context::uploads::Upload;
use ical::{Attached, comp_element, ical_date, param, to_ical};

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let task = name.contains("Task");
    let op = match name {
        "CreateAppointmentRequest" | "CreateTaskRequest" => Op::Create,
        "ModifyAppointmentRequest" | "ModifyTaskRequest" => Op::Modify,
        "GetAppointmentRequest" | "GetTaskRequest" => Op::Get,
        "CancelAppointmentRequest" | "CancelTaskRequest" => Op::Cancel,
        "GetApptSummariesRequest" => Op::Summaries,
        "GetFreeBusyRequest" => Op::FreeBusy,
        _ => return None,
    };
    let mb = match ctx.mailbox().await {
        Ok(mb) => mb,
        Err(e) => return Some(Err(e)),
    };
    let result = match op {
        Op::Create => save(ctx, &mb, req, task, None).await,
        Op::Modify => modify(ctx, &mb, req, task).await,
        Op::Get => get(&mb, req, task).await,
        Op::Cancel => cancel(&mb, req, task).await,
        Op::Summaries => summaries(&mb, req).await,
        Op::FreeBusy => free_busy(ctx, &mb, req).await,
    };
    ctx.note_change(&mb).await;
    Some(result)
}

enum Op {
    Create,
    Modify,
    Get,
    Cancel,
    Summaries,
    FreeBusy,
}

fn kind_names(task: bool) -> (&'static str, &'static str) {
    if task {
        ("task", "Task")
    } else {
        ("appt", "Appointment")
    }
}

fn no_such_item(id: &str) -> ServiceError {
    ServiceError::new(FaultCode::NoSuchItem, format!("no such appointment: {id}"))
}

fn cal_fault(id: ItemId) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::NoSuchItem(_) => no_such_item(&id.0.to_string()),
        other => store_fault(other),
    }
}

/// Reads an item id that may be an invite id (`calItemId-invId`).
pub(crate) fn parse_cal_id(text: &str) -> ServiceResult<ItemId> {
    let t = text.trim();
    let head = t.split_once('-').map(|(a, _)| a).unwrap_or(t);
    parse_id(head, FaultCode::NoSuchItem).map_err(|_| no_such_item(t))
}

/// The `appt`/`task` element of GetAppointment/GetTask: the item with one `inv`.
fn item_element(item: &CalItem) -> Element {
    let tag = if item.kind == ItemKind::Task {
        "task"
    } else {
        "appt"
    };
    let mut el = Element::new(tag);
    el.set("id", item.id.0.to_string());
    el.set("uid", item.uid.clone());
    el.set("l", item.folder.0.to_string());
    let mut f = item.flags.to_soap();
    if crate::search::cal_has_attachment(item) && !f.contains('a') {
        f.insert(usize::from(f.starts_with('s')), 'a');
    }
    if !f.is_empty() {
        el.set("f", f);
    }
    el.set_num("rev", item.modseq);
    el.set_num("ms", item.modseq);
    el.set_num("s", item.ical.len());
    let inv = el.add_new("inv");
    inv.set("id", item.id.0.to_string());
    inv.set_num("compNum", 0);
    inv.set_num("seq", 0);
    inv.set("type", tag);
    inv.add(comp_element(item));
    el
}

// ---- handlers -------------------------------------------------------------------------

/// Create (existing `None`) or modify an appointment or task from `m > inv > comp`.
async fn save(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    task: bool,
    existing: Option<CalItem>,
) -> ServiceResult<Element> {
    let m = req
        .child("m")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: m"))?;
    let default_folder = if task {
        folder::TASKS
    } else {
        folder::CALENDAR
    };
    let folder_id = match m.attr("l").filter(|l| !l.is_empty()) {
        Some(l) => parse_id(l, FaultCode::NoSuchFolder)?,
        None => existing
            .as_ref()
            .map(|e| e.folder)
            .unwrap_or(ItemId(default_folder)),
    };
    let comp = m.child("inv").and_then(|i| i.child("comp"));
    let uid = match &existing {
        Some(e) => e.uid.clone(),
        None => comp
            .and_then(|c| c.attr("uid"))
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    if existing.is_none()
        && let Some(other) = mb.cal_item_by_uid(&uid).await.map_err(store_fault)?
    {
        // Zimbra refuses a second item with the same UID.
        return Err(ServiceError::new(
            FaultCode::AlreadyExists,
            format!("an item with UID {uid} already exists (id {})", other.id.0),
        ));
    }
    let me = ctx.target_account().await?;
    let uploads = attached_uploads(ctx, mb, m)?;
    let files: Vec<Attached<'_>> = uploads
        .iter()
        .map(|u| Attached {
            name: u.filename.as_deref(),
            content_type: &u.content_type,
            data: &u.data,
        })
        .collect();
    let ical = to_ical(m, &uid, task, &me.name, &files)?;
    let item = mb
        .save_cal_item(folder_id, &ical)
        .await
        .map_err(store_fault)?;
    for u in &uploads {
        let _ = ctx.svc.uploads.take(mb.account(), &u.id);
    }
    ctx.svc.indexer.notify(mb.account());
    let (_, word) = kind_names(task);
    let verb = if existing.is_some() {
        "Modify"
    } else {
        "Create"
    };
    let mut resp = response(&format!("{verb}{word}Response"), NS_MAIL);
    resp.set("calItemId", item.id.0.to_string());
    if !task {
        resp.set("apptId", item.id.0.to_string());
    }
    resp.set("invId", format!("{}-{}", item.id.0, item.id.0));
    resp.set_num("ms", item.modseq);
    resp.set_num("rev", item.modseq);
    if req.bool_attr("echo", false)? {
        let echo = resp.add_new("echo");
        echo.add(item_element(&item));
    }
    Ok(resp)
}

/// The uploads `m > attach aid="id[,id...]"` names, in order.
///
/// # Errors
/// `mail.NO_SUCH_UPLOAD` for an id that is not the caller's upload (or expired).
fn attached_uploads(
    ctx: &Ctx<'_>,
    mb: &Mailbox,
    m: &Element,
) -> ServiceResult<Vec<std::sync::Arc<Upload>>> {
    let Some(aids) = m.child("attach").and_then(|a| a.attr("aid")) else {
        return Ok(Vec::new());
    };
    aids.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|aid| {
            ctx.svc.uploads.get(mb.account(), aid).ok_or_else(|| {
                ServiceError::new(FaultCode::NoSuchUpload, format!("no such upload: {aid}"))
            })
        })
        .collect()
}

/// ModifyAppointment/ModifyTask `id= [comp=0]` + `m`: the item is rewritten whole
/// from the request, keeping its UID.
async fn modify(
    ctx: &mut Ctx<'_>,
    mb: &Mailbox,
    req: &Element,
    task: bool,
) -> ServiceResult<Element> {
    let id = request_item_id(req)
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: id"))?;
    let id = parse_cal_id(id)?;
    let item = mb.cal_item(id).await.map_err(cal_fault(id))?;
    if (item.kind == ItemKind::Task) != task {
        return Err(no_such_item(&id.0.to_string()));
    }
    save(ctx, mb, req, task, Some(item)).await
}

/// The item id of a calendar request: its `id=`, or else the `id=` of its first `m`,
/// `comp`, `appt` or `task` child (zimbra-client puts it there; Zimbra reads only the
/// request's own attribute).
fn request_item_id(req: &Element) -> Option<&str> {
    req.attr("id").filter(|i| !i.is_empty()).or_else(|| {
        ["m", "comp", "appt", "task"]
            .into_iter()
            .find_map(|n| req.child(n).and_then(|c| c.attr("id")))
            .filter(|i| !i.is_empty())
    })
}

/// GetAppointment/GetTask `id=` or `uid=`.
async fn get(mb: &Mailbox, req: &Element, task: bool) -> ServiceResult<Element> {
    let item = match request_item_id(req) {
        Some(i) => {
            let id = parse_cal_id(i)?;
            mb.cal_item(id).await.map_err(cal_fault(id))?
        }
        None => {
            let uid = req.req("uid")?;
            mb.cal_item_by_uid(uid)
                .await
                .map_err(store_fault)?
                .ok_or_else(|| no_such_item(uid))?
        }
    };
    let (_, word) = kind_names(task);
    let mut resp = response(&format!("Get{word}Response"), NS_MAIL);
    resp.add(item_element(&item));
    Ok(resp)
}

/// CancelAppointment/CancelTask `id= comp=` [`inst d=`]: the whole item is deleted,
/// or with `inst` that one occurrence is excluded (EXDATE).
async fn cancel(mb: &Mailbox, req: &Element, task: bool) -> ServiceResult<Element> {
    let id = request_item_id(req)
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: id"))?;
    let id = parse_cal_id(id)?;
    let item = mb.cal_item(id).await.map_err(cal_fault(id))?;
    if let Some(inst) = req.child("inst") {
        let d = ical_date(inst.req("d")?)?;
        let mut line = "EXDATE".to_string();
        if let Some(tz) = inst.attr("tz").filter(|t| !t.is_empty())
            && !d.ends_with('Z')
        {
            line.push_str(&format!(";TZID={}", param(tz)));
        }
        let end = if item.kind == ItemKind::Task {
            "END:VTODO"
        } else {
            "END:VEVENT"
        };
        let Some(pos) = item.ical.find(end) else {
            return Err(ServiceError::failure(
                "stored calendar item has no component",
            ));
        };
        let mut ical = item.ical.clone();
        ical.insert_str(pos, &format!("{line}:{d}\r\n"));
        mb.save_cal_item(item.folder, &ical)
            .await
            .map_err(store_fault)?;
    } else {
        mb.delete_items(&[id]).await.map_err(store_fault)?;
    }
    let (_, word) = kind_names(task);
    Ok(response(&format!("Cancel{word}Response"), NS_MAIL))
}

/// GetApptSummariesRequest `s= e= [l=]`: each item with instances in the range, its
/// `inst s=` children.
async fn summaries(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let s = req.int_attr("s", 0)?;
    let e = req.int_attr("e", 0)?;
    if e <= s {
        return Err(ServiceError::invalid_request("end must be after start"));
    }
    let folder = match req.attr("l").filter(|l| !l.is_empty()) {
        Some(l) => Some(parse_id(l, FaultCode::NoSuchFolder)?),
        None => None,
    };
    let inst = mb.cal_instances(folder, s, e).await.map_err(store_fault)?;
    let mut order: Vec<ItemId> = Vec::new();
    for i in &inst {
        if !order.contains(&i.item) {
            order.push(i.item);
        }
    }
    let mut resp = response("GetApptSummariesResponse", NS_MAIL);
    for id in order {
        let Ok(item) = mb.cal_item(id).await else {
            continue;
        };
        let tag = if item.kind == ItemKind::Task {
            "task"
        } else {
            "appt"
        };
        let el = resp.add_new(tag);
        el.set("id", item.id.0.to_string());
        el.set("invId", format!("{}-{}", item.id.0, item.id.0));
        el.set("uid", item.uid.clone());
        el.set("name", item.summary.clone());
        el.set("l", item.folder.0.to_string());
        el.set_bool("recur", item.recurring);
        // The summary fields Zimbra puts on each item (location, status, class, ...).
        let comp = comp_element(&item);
        for name in ["loc", "status", "class", "transp", "allDay"] {
            if let Some(v) = comp.attr(name) {
                el.set(name, v.to_string());
            }
        }
        for i in inst.iter().filter(|i| i.item == id) {
            el.set_num("dur", i.end_ms - i.start_ms);
            el.add_new("inst").set_num("s", i.start_ms);
        }
    }
    Ok(resp)
}

/// GetFreeBusyRequest `s= e= (uid=|name=|usr id=|usr name=)`: busy spans of each
/// account's calendars (times only, as Zimbra shows free/busy to its users).
async fn free_busy(ctx: &mut Ctx<'_>, own: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let s = req.int_attr("s", 0)?;
    let e = req.int_attr("e", 0)?;
    if e <= s {
        return Err(ServiceError::invalid_request("end must be after start"));
    }
    let mut who: Vec<String> = Vec::new();
    for key in ["uid", "id", "name"] {
        if let Some(v) = req.attr(key) {
            who.extend(v.split(',').map(|x| x.trim().to_string()));
        }
    }
    for u in req.children_named("usr") {
        if let Some(v) = u.attr("id").or(u.attr("name")) {
            who.push(v.trim().to_string());
        }
    }
    who.retain(|w| !w.is_empty());
    let me = ctx.target_account().await?;
    let mut resp = response("GetFreeBusyResponse", NS_MAIL);
    for w in who.iter().take(100) {
        let usr = resp.add_new("usr");
        usr.set("id", w.clone());
        let Some(acct) = ctx.svc.prov.find_account(w).await? else {
            // An unknown address: nothing is known of it.
            usr.add_new("n").set_num("s", s).set_num("e", e);
            continue;
        };
        let mb = if acct.id == me.id {
            own.clone()
        } else {
            ctx.svc.store.mailbox(acct.id).await.map_err(store_fault)?
        };
        let mut spans: Vec<(i64, i64)> = Vec::new();
        for i in mb.cal_instances(None, s, e).await.map_err(store_fault)? {
            let Ok(item) = mb.cal_item(i.item).await else {
                continue;
            };
            if item.kind == ItemKind::Task || item.ical.contains("TRANSP:TRANSPARENT") {
                continue;
            }
            spans.push((i.start_ms.max(s), i.end_ms.min(e)));
        }
        spans.sort_unstable();
        let mut cur = s;
        for (bs, be) in merge(spans) {
            if bs > cur {
                usr.add_new("f").set_num("s", cur).set_num("e", bs);
            }
            usr.add_new("b").set_num("s", bs).set_num("e", be);
            cur = be;
        }
        if cur < e {
            usr.add_new("f").set_num("s", cur).set_num("e", e);
        }
    }
    Ok(resp)
}

fn merge(spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The invite of calendar item `id` as a GetMsg `m` (with `inv`), for an invite id
/// `calItemId-invId`; `None` when `text` is not such an id of this mailbox.
pub(crate) async fn invite_message(mb: &Mailbox, text: &str) -> Option<Element> {
    let (head, _) = text.trim().split_once('-')?;
    let id = head.parse::<i32>().ok().map(ItemId)?;
    let item = mb.cal_item(id).await.ok()?;
    let mut m = Element::new("m");
    m.set("id", text.trim());
    m.set("l", item.folder.0.to_string());
    m.set_num("rev", item.modseq);
    m.set_num("ms", item.modseq);
    m.set_content("su", item.summary.clone(), AttrKind::Str);
    let inv = m.add_new("inv");
    inv.set(
        "type",
        if item.kind == ItemKind::Task {
            "task"
        } else {
            "appt"
        },
    );
    inv.add(comp_element(&item));
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_ids_name_their_item() {
        assert_eq!(parse_cal_id("300-300").ok(), Some(ItemId(300)));
        assert_eq!(parse_cal_id("301").ok(), Some(ItemId(301)));
        assert!(parse_cal_id("x-1").is_err());
        assert_eq!(
            merge(vec![(1, 5), (3, 8), (10, 12)]),
            vec![(1, 8), (10, 12)]
        );
    }
}
