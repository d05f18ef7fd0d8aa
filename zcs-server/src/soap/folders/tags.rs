//! urn:zimbraMail tags: CreateTag, GetTag and TagAction (also ItemAction on a tag).
//! A tag's colour is Zimbra's: an index 0-9 (`color=`; 0, the default, is not shown)
//! or a `#RRGGBB` value (`rgb=`). The store keeps one integer per tag; an RGB colour
//! is kept as [`RGB_FLAG`] | 0xRRGGBB, above every index, so both read back as given.

use zcs_core::{FaultCode, ItemId, ServiceError, ServiceResult};
use zcs_store::{Mailbox, Tag};

use super::super::context::store_fault;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;
use super::{action_response, parse_ids};

/// Marks a stored tag colour as an RGB value rather than an index.
pub(crate) const RGB_FLAG: i32 = 0x0100_0000;

/// The highest colour index Zimbra accepts (its Color is a signed byte).
const MAX_INDEX: i32 = 127;

/// Parses `#RRGGBB` (the `#` optional) into the stored form.
fn parse_rgb(text: &str) -> ServiceResult<i32> {
    let t = text.trim();
    let hex = t.strip_prefix('#').unwrap_or(t);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid_request(format!("invalid rgb: {t:?}")));
    }
    let v = i32::from_str_radix(hex, 16)
        .map_err(|_| ServiceError::invalid_request(format!("invalid rgb: {t:?}")))?;
    Ok(RGB_FLAG | v)
}

/// The colour an element asks for (`rgb=` before `color=`), in the stored form;
/// `None` when it names none. Zimbra reads the index strictly: no blanks, no spaces
/// around the number; a negative index is its "default".
///
/// # Errors
/// `service.INVALID_REQUEST` for a malformed value.
pub(crate) fn requested_color(el: &Element) -> ServiceResult<Option<i32>> {
    if let Some(rgb) = el.attr("rgb").filter(|r| !r.is_empty()) {
        return parse_rgb(rgb).map(Some);
    }
    match el.attr("color") {
        None => Ok(None),
        Some(c) => c
            .parse::<i32>()
            .ok()
            .filter(|c| *c <= MAX_INDEX)
            .map(|c| Some(c.max(0)))
            .ok_or_else(|| ServiceError::invalid_request(format!("invalid color: {c:?}"))),
    }
}

/// Writes a stored colour onto `el` as Zimbra does: `rgb="#rrggbb"` for an RGB value,
/// `color=n` for an index other than the default 0.
pub(crate) fn set_color(el: &mut Element, stored: i32) {
    if stored & RGB_FLAG != 0 {
        el.set("rgb", format!("#{:06x}", stored & 0x00ff_ffff));
    } else if stored != 0 {
        el.set_num("color", stored);
    }
}

/// A `tag` element as GetTag and CreateTag show it.
pub(crate) fn tag_element(t: &Tag) -> Element {
    let mut el = Element::new("tag");
    el.set("id", t.id.0.to_string());
    el.set("name", t.name.clone());
    set_color(&mut el, t.color);
    if t.unread > 0 {
        el.set_num("u", t.unread);
    }
    el.set_num("n", t.messages);
    el.set_num("rev", t.modseq);
    el.set_num("ms", t.modseq);
    el
}

/// CreateTagRequest `tag name= [color=] [rgb=]`.
pub(super) async fn create_tag(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let spec = req
        .child("tag")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: tag"))?;
    let name = spec.req("name")?;
    let color = requested_color(spec)?.unwrap_or(0);
    // An empty name is a bad request; any other bad name is mail.INVALID_NAME.
    if name.is_empty() {
        return Err(ServiceError::invalid_request("missing tag name"));
    }
    let t = mb.create_tag(name, color).await.map_err(store_fault)?;
    let mut resp = response("CreateTagResponse", NS_MAIL);
    resp.add(tag_element(&t));
    Ok(resp)
}

/// GetTagRequest: every tag.
pub(super) async fn get_tag(mb: &Mailbox) -> ServiceResult<Element> {
    let tags = mb.tags().await.map_err(store_fault)?;
    let mut resp = response("GetTagResponse", NS_MAIL);
    for t in &tags {
        resp.add(tag_element(t));
    }
    Ok(resp)
}

/// TagActionRequest `action id= op=read|delete|rename|color|update [name=] [color=]
/// [rgb=]`; `tn=` names tags by name (and the response then names them too).
pub(super) async fn tag_action(mb: &Mailbox, req: &Element) -> ServiceResult<Element> {
    let action = req
        .child("action")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: action"))?;
    let op = action.req("op")?.to_string();
    let mut ids = Vec::new();
    let mut names = Vec::new();
    if let Some(tn) = action.attr("tn") {
        for n in tn.split(',') {
            if n.trim().is_empty() {
                return Err(ServiceError::invalid_request("blank tag name"));
            }
            // A name no tag can have names no tag.
            let t = mb.tag_by_name(n).await.ok().flatten();
            let t = t.ok_or_else(|| {
                ServiceError::new(FaultCode::NoSuchTag, format!("no such tag: {n}"))
            })?;
            names.push(t.name.clone());
            ids.push(t.id);
        }
    } else {
        ids = parse_ids(action.req("id")?, FaultCode::NoSuchTag)?;
    }
    for id in &ids {
        tag_op(mb, *id, &op, action).await?;
    }
    let id_text: Vec<String> = ids.iter().map(|i| i.0.to_string()).collect();
    let mut resp = action_response("TagActionResponse", &id_text.join(","), &op);
    if !names.is_empty()
        && let Some(a) = resp.children.first_mut()
    {
        a.set("tn", names.join(","));
    }
    Ok(resp)
}

/// Applies one tag operation (`delete`, `rename`, `read`, `color`, `update`) to tag
/// `id`; shared by TagAction and ItemAction.
///
/// # Errors
/// `mail.NO_SUCH_TAG`; store faults; `service.INVALID_REQUEST` for other operations.
pub(crate) async fn tag_op(
    mb: &Mailbox,
    id: ItemId,
    op: &str,
    action: &Element,
) -> ServiceResult<()> {
    // Deleting a tag that is already gone succeeds, as in Zimbra.
    if op == "delete" && mb.tag(id).await.is_err() {
        return Ok(());
    }
    let tag = mb.tag(id).await.map_err(store_fault)?;
    let recolor = |color: i32| async move {
        mb.set_tag_color(id, color)
            .await
            .map(drop)
            .map_err(store_fault)
    };
    match op {
        "delete" => mb.delete_tag(id).await.map_err(store_fault).map(|_| ())?,
        // Zimbra answers a bad new name with INVALID_REQUEST here (INVALID_NAME on
        // create).
        "rename" => rename(mb, id, action.req("name")?).await?,
        "color" => {
            let color = requested_color(action)?
                .ok_or_else(|| ServiceError::invalid_request("missing color or rgb"))?;
            recolor(color).await?;
        }
        "update" => {
            if let Some(color) = requested_color(action)? {
                recolor(color).await?;
            }
            if let Some(name) = action.attr("name") {
                rename(mb, id, name).await?;
            }
        }
        "read" => {
            let mut tagged = Vec::new();
            for f in mb.folders().await.map_err(store_fault)? {
                for m in mb.messages(f.id).await.map_err(store_fault)? {
                    if m.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag.name)) {
                        tagged.push(m.id);
                    }
                }
            }
            mb.set_flags(&tagged, zcs_core::Flags::UNREAD, false)
                .await
                .map_err(store_fault)?;
        }
        // LIMITATION: retention policies are not supported yet.
        other => {
            return Err(ServiceError::invalid_request(format!(
                "invalid request: invalid operation on tag: {other}"
            )));
        }
    }
    Ok(())
}

/// Renames a tag. Zimbra answers an empty new name with `service.INVALID_REQUEST` and
/// any other bad one (blanks only, reserved characters) with `mail.INVALID_NAME`.
async fn rename(mb: &Mailbox, id: ItemId, name: &str) -> ServiceResult<()> {
    if name.is_empty() {
        return Err(ServiceError::invalid_request("missing tag name"));
    }
    mb.rename_tag(id, name).await.map(drop).map_err(store_fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_read_back_as_given() {
        let mut req = Element::new("tag");
        req.set("rgb", "#FF8000");
        let stored = requested_color(&req).expect("ok").expect("some");
        let mut el = Element::new("tag");
        set_color(&mut el, stored);
        assert_eq!(el.attr("rgb"), Some("#ff8000"));
        assert_eq!(el.attr("color"), None);

        let mut req = Element::new("tag");
        req.set("color", "4");
        let mut el = Element::new("tag");
        set_color(&mut el, requested_color(&req).expect("ok").expect("some"));
        assert_eq!(el.attr("color"), Some("4"));

        for bad in ["#12345", "#GGGGGG", "123"] {
            let mut req = Element::new("tag");
            req.set("rgb", bad);
            assert!(requested_color(&req).is_err(), "{bad}");
        }
        let mut req = Element::new("tag");
        req.set("color", " 3");
        assert!(requested_color(&req).is_err());
    }
}
