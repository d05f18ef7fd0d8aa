//! User tags on contacts and groups: reading `tag=`/`tn=`/`t=` from requests, setting
//! and replacing a contact's tags in the store, and labelling `cn` elements with `t`
//! (tag ids) and `tn` (tag names) as Zimbra shows them.

use std::collections::HashMap;

use zcs_core::{FaultCode, ItemId, ServiceResult};
use zcs_store::Mailbox;

use super::super::context::store_fault;
use super::super::element::Element;
use super::super::folders::parse_ids;

/// Tags a request names: by id (`tag=`, `t=`, comma lists) or by name (`tn=`, comma
/// list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TagSpec {
    Ids(Vec<ItemId>),
    Names(Vec<String>),
}

fn names_of(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

fn ids_of(list: &str) -> ServiceResult<Vec<ItemId>> {
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    parse_ids(list, FaultCode::NoSuchTag)
}

impl TagSpec {
    /// The tags of a `tag`/`!tag` action: `tag=` ids, else `tn=` names; `None` when the
    /// action names neither.
    pub(super) fn from_action(a: &Element) -> ServiceResult<Option<TagSpec>> {
        if let Some(ids) = a.attr("tag").filter(|v| !v.trim().is_empty()) {
            return Ok(Some(TagSpec::Ids(ids_of(ids)?)));
        }
        Ok(a.attr("tn")
            .filter(|v| !v.trim().is_empty())
            .map(|n| TagSpec::Names(names_of(n))))
    }

    /// The whole tag set an `update` action or a `cn` element states: `tn=` names, else
    /// `t=` ids (an empty value clears the tags); `None` when it states neither.
    pub(super) fn from_update(a: &Element) -> ServiceResult<Option<TagSpec>> {
        if let Some(n) = a.attr("tn") {
            return Ok(Some(TagSpec::Names(names_of(n))));
        }
        match a.attr("t") {
            Some(ids) => Ok(Some(TagSpec::Ids(ids_of(ids)?))),
            None => Ok(None),
        }
    }

    /// The tag names, ids looked up in `mb`.
    ///
    /// # Errors
    /// `mail.NO_SUCH_TAG` for an id of no tag.
    pub(super) async fn names(&self, mb: &Mailbox) -> ServiceResult<Vec<String>> {
        match self {
            TagSpec::Names(n) => Ok(n.clone()),
            TagSpec::Ids(ids) => {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.push(mb.tag(*id).await.map_err(store_fault)?.name);
                }
                Ok(out)
            }
        }
    }

    /// Adds (`on`) or removes these tags on `items`. Adding by name creates missing
    /// tags, as Zimbra's `tn=` does.
    pub(super) async fn apply(
        &self,
        mb: &Mailbox,
        items: &[ItemId],
        on: bool,
    ) -> ServiceResult<()> {
        match self {
            TagSpec::Ids(ids) => {
                for tag in ids {
                    mb.tag_items(items, *tag, on).await.map_err(store_fault)?;
                }
                Ok(())
            }
            TagSpec::Names(names) => mb
                .tag_items_by_name(items, names, on, on)
                .await
                .map_err(store_fault),
        }
    }
}

/// Makes `names` (any case; missing tags are created) the whole tag set of item `id`.
pub(super) async fn replace_tags(mb: &Mailbox, id: ItemId, names: &[String]) -> ServiceResult<()> {
    let current = mb.item_tags(id).await.map_err(store_fault)?;
    let has = |list: &[String], n: &str| list.iter().any(|x| x.eq_ignore_ascii_case(n));
    let gone: Vec<String> = current.iter().filter(|c| !has(names, c)).cloned().collect();
    let new: Vec<String> = names
        .iter()
        .filter(|n| !has(&current, n))
        .cloned()
        .collect();
    if !gone.is_empty() {
        mb.tag_items_by_name(&[id], &gone, false, false)
            .await
            .map_err(store_fault)?;
    }
    if !new.is_empty() {
        mb.tag_items_by_name(&[id], &new, true, true)
            .await
            .map_err(store_fault)?;
    }
    Ok(())
}

/// The tags of some items with their ids, read once for a whole response.
#[derive(Debug, Default)]
pub(crate) struct TagLabels {
    by_item: HashMap<ItemId, Vec<String>>,
    ids: HashMap<String, ItemId>,
}

impl TagLabels {
    /// Reads the tags of `items` (two store queries; none when `items` is empty).
    ///
    /// # Errors
    /// A store failure.
    pub(crate) async fn load(mb: &Mailbox, items: &[ItemId]) -> ServiceResult<TagLabels> {
        if items.is_empty() {
            return Ok(TagLabels::default());
        }
        let by_item = mb.items_tags(items).await.map_err(store_fault)?;
        if by_item.is_empty() {
            return Ok(TagLabels::default());
        }
        let ids = mb
            .tags()
            .await
            .map_err(store_fault)?
            .into_iter()
            .map(|t| (t.name.to_lowercase(), t.id))
            .collect();
        Ok(TagLabels { by_item, ids })
    }

    /// Sets `t` (tag ids) and `tn` (tag names), comma-separated, on `el` when item `id`
    /// carries tags.
    pub(crate) fn label(&self, el: &mut Element, id: ItemId) {
        let Some(names) = self.by_item.get(&id).filter(|n| !n.is_empty()) else {
            return;
        };
        let ids: Vec<String> = names
            .iter()
            .filter_map(|n| self.ids.get(&n.to_lowercase()))
            .map(|i| i.0.to_string())
            .collect();
        if !ids.is_empty() {
            el.set("t", ids.join(","));
        }
        el.set("tn", names.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_specs_are_read_from_action_and_update_attributes() {
        let mut a = Element::new("action");
        a.set("tag", "64,65");
        assert_eq!(
            TagSpec::from_action(&a).unwrap(),
            Some(TagSpec::Ids(vec![ItemId(64), ItemId(65)]))
        );
        let mut a = Element::new("action");
        a.set("tn", "red, blue,");
        assert_eq!(
            TagSpec::from_action(&a).unwrap(),
            Some(TagSpec::Names(vec!["red".into(), "blue".into()]))
        );
        assert_eq!(TagSpec::from_action(&Element::new("action")).unwrap(), None);
        let mut cn = Element::new("cn");
        cn.set("t", "");
        assert_eq!(
            TagSpec::from_update(&cn).unwrap(),
            Some(TagSpec::Ids(Vec::new()))
        );
        assert_eq!(TagSpec::from_update(&Element::new("cn")).unwrap(), None);
        let mut a = Element::new("action");
        a.set("tag", "x");
        assert!(TagSpec::from_action(&a).is_err());
    }

    #[test]
    fn labels_name_tags_with_their_ids() {
        let mut labels = TagLabels::default();
        labels
            .by_item
            .insert(ItemId(300), vec!["Red".into(), "blue".into()]);
        labels.ids.insert("red".into(), ItemId(64));
        labels.ids.insert("blue".into(), ItemId(65));
        let mut el = Element::new("cn");
        labels.label(&mut el, ItemId(300));
        assert_eq!(el.attr("t"), Some("64,65"));
        assert_eq!(el.attr("tn"), Some("Red,blue"));
        let mut el = Element::new("cn");
        labels.label(&mut el, ItemId(301));
        assert_eq!(el.attr("tn"), None);
    }
}
