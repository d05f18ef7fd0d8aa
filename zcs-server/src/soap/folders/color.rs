//! Folder colours on the wire: `color=` (Zimbra's index 0-9; 0, the default, is not
//! shown) or `rgb="#rrggbb"` on `folder` elements, read from CreateFolder's `folder`
//! and FolderAction's `action` (`op=color`, or `op=update` with `color=`/`rgb=`), kept by
//! the store ([`zcs_store::FolderColor`], [`Mailbox::set_folder_color`]).

use std::collections::HashMap;

use zcs_core::{ItemId, ServiceError, ServiceResult};
use zcs_store::{FolderColor, Mailbox};

use super::super::context::store_fault;
use super::super::element::Element;

/// The colour `el` asks for (`rgb=` before `color=`, as Zimbra reads them); `None`
/// when it names none. A negative index is Zimbra's "default" (0).
///
/// # Errors
/// `service.INVALID_REQUEST` for a malformed `rgb` or an index above 9.
pub(crate) fn requested(el: &Element) -> ServiceResult<Option<FolderColor>> {
    if let Some(rgb) = el.attr("rgb").filter(|r| !r.is_empty()) {
        return FolderColor::from_rgb_hex(rgb.trim())
            .map(Some)
            .ok_or_else(|| ServiceError::invalid_request(format!("invalid rgb: {rgb:?}")));
    }
    match el.attr("color") {
        None => Ok(None),
        Some(c) => c
            .parse::<i32>()
            .ok()
            .filter(|c| *c <= i32::from(FolderColor::MAX_INDEX))
            .map(|c| Some(FolderColor::index(c.max(0) as u8)))
            .ok_or_else(|| ServiceError::invalid_request(format!("invalid color: {c:?}"))),
    }
}

/// Stores the colour `el` asks for on folder `id`, if it asks for one.
pub(crate) async fn apply_requested(mb: &Mailbox, id: ItemId, el: &Element) -> ServiceResult<()> {
    if let Some(c) = requested(el)? {
        mb.set_folder_color(id, c).await.map_err(store_fault)?;
    }
    Ok(())
}

/// Writes `c` onto a folder element as Zimbra does: `rgb` for an RGB colour, otherwise
/// `color` when it is not the default.
pub(crate) fn set_attrs(el: &mut Element, c: &FolderColor) {
    if let Some(v) = c.rgb {
        el.set("rgb", format!("#{v:06x}"));
    } else if c.color != 0 {
        el.set_num("color", c.color);
    }
}

/// Adds the colours of `mb`'s folders to every `folder` element of `tree`.
pub(crate) async fn annotate(mb: &Mailbox, tree: &mut Element) -> ServiceResult<()> {
    let colours = mb.folder_colors().await.map_err(store_fault)?;
    if colours.is_empty() {
        return Ok(());
    }
    fn walk(el: &mut Element, colours: &HashMap<ItemId, FolderColor>) {
        if el.name == "folder"
            && let Some(id) = el.attr("id").and_then(|i| i.parse::<i32>().ok())
            && let Some(c) = colours.get(&ItemId(id))
        {
            set_attrs(el, c);
        }
        for c in el.children.iter_mut() {
            walk(c, colours);
        }
    }
    walk(tree, &colours);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_read_back_as_given() {
        let mut req = Element::new("folder");
        req.set("rgb", "#FF8000");
        let c = requested(&req).expect("ok").expect("some");
        let mut el = Element::new("folder");
        set_attrs(&mut el, &c);
        assert_eq!(el.attr("rgb"), Some("#ff8000"));
        assert_eq!(el.attr("color"), None);

        let mut req = Element::new("action");
        req.set("color", "4");
        assert_eq!(requested(&req).expect("ok"), Some(FolderColor::index(4)));
        req.set("color", "-1");
        assert_eq!(requested(&req).expect("ok"), Some(FolderColor::index(0)));
        for bad in ["10", "x", " 3"] {
            req.set("color", bad);
            assert!(requested(&req).is_err(), "{bad}");
        }
        assert_eq!(requested(&Element::new("action")).expect("ok"), None);
    }
}
