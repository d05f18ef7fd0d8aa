//! urn:zimbraAccount Get/ModifyWhiteBlackListRequest: the account's spam white and black
//! lists of sender addresses, kept as Zimbra keeps them in the amavisd-new attributes
//! `amavisWhitelistSender` and `amavisBlacklistSender` of the account, and bounded by
//! `zimbraMailWhitelistMaxNumEntries` / `zimbraMailBlacklistMaxNumEntries` (its COS's
//! when the account sets none; no limit when neither does).
//!
//! Wire shape: `<whiteList><addr op="+|-">sender</addr>...</whiteList>` and the same for
//! `blackList`. An `addr` without `op` replaces the whole list with the addresses given;
//! a list element with no `addr` clears the list; `+` and `-` add and remove one value.

use zcs_core::{AttrEdit, Attrs, ServiceError, ServiceResult};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;

/// The attribute holding the white list.
pub(crate) const WHITE: &str = "amavisWhitelistSender";
/// The attribute holding the black list.
pub(crate) const BLACK: &str = "amavisBlacklistSender";

/// The two lists: wire element, value attribute, limit attribute.
const LISTS: [(&str, &str, &str); 2] = [
    ("whiteList", WHITE, "zimbraMailWhitelistMaxNumEntries"),
    ("blackList", BLACK, "zimbraMailBlacklistMaxNumEntries"),
];

/// Routes the white/black list requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "GetWhiteBlackListRequest" => get(ctx).await,
        "ModifyWhiteBlackListRequest" => modify(ctx, req).await,
        _ => return None,
    })
}

/// GetWhiteBlackListRequest: both lists, each always present (empty when unset).
async fn get(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let effective = ctx.svc.prov.effective_account_attrs(&account).await?;
    let mut resp = response("GetWhiteBlackListResponse", NS_ACCOUNT);
    for (tag, attr, _) in LISTS {
        let list = resp.add_new(tag);
        for sender in effective.get_all(attr) {
            list.add_text("addr", sender.clone());
        }
    }
    Ok(resp)
}

/// The edits one list element asks for, in request order.
///
/// # Errors
/// `service.INVALID_REQUEST` for an unknown `op`, or for replacing values and adding or
/// removing others in one list (Zimbra refuses the mix).
pub(crate) fn list_edits(list: &Element, attr: &str) -> ServiceResult<Vec<AttrEdit>> {
    let addrs: Vec<&Element> = list.children_named("addr").collect();
    if addrs.is_empty() {
        return Ok(vec![AttrEdit::Replace(attr.to_string(), Vec::new())]);
    }
    let mut replace: Option<Vec<String>> = None;
    let mut edits = Vec::new();
    for a in addrs {
        let value = a.text().trim().to_string();
        match a.attr("op").map(str::trim).unwrap_or("") {
            "" => replace.get_or_insert_with(Vec::new).push(value),
            "+" => edits.push(AttrEdit::Add(attr.to_string(), value)),
            "-" => edits.push(AttrEdit::Remove(attr.to_string(), value)),
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "invalid op for {attr}: {other}"
                )));
            }
        }
    }
    match replace {
        Some(_) if !edits.is_empty() => Err(ServiceError::invalid_request(format!(
            "can't mix +{attr}/-{attr} with {attr}"
        ))),
        Some(values) => Ok(vec![AttrEdit::Replace(attr.to_string(), values)]),
        None => Ok(edits),
    }
}

/// The number of values `attr` would hold after `edits`, from `current`.
pub(crate) fn count_after(current: &[String], edits: &[AttrEdit]) -> usize {
    let mut values: Vec<String> = current.to_vec();
    for e in edits {
        match e {
            AttrEdit::Replace(_, vs) => {
                values = Vec::new();
                for v in vs.iter().filter(|v| !v.is_empty()) {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
            }
            AttrEdit::Add(_, v) if !v.is_empty() && !values.contains(v) => values.push(v.clone()),
            AttrEdit::Remove(_, v) => values.retain(|x| x != v),
            AttrEdit::Add(..) => {}
        }
    }
    values.len()
}

/// Whether `edits` are only removals (always allowed, even past the limit: the limit may
/// have been lowered after the values were added).
fn only_removals(edits: &[AttrEdit]) -> bool {
    edits.iter().all(|e| match e {
        AttrEdit::Remove(..) => true,
        AttrEdit::Replace(_, vs) => vs.iter().all(String::is_empty),
        AttrEdit::Add(..) => false,
    })
}

/// Refuses `edits` of `attr` that would leave more values than `limit_attr` allows.
fn check_limit(
    effective: &Attrs,
    attr: &str,
    limit_attr: &str,
    edits: &[AttrEdit],
) -> ServiceResult<()> {
    let Some(max) = effective
        .get(limit_attr)
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return Ok(());
    };
    if only_removals(edits) {
        return Ok(());
    }
    if count_after(effective.get_all(attr), edits) > max {
        return Err(ServiceError::invalid_request(format!(
            "exceed limit for {attr}, max is {max}"
        )));
    }
    Ok(())
}

/// ModifyWhiteBlackListRequest `[<whiteList>..</whiteList>] [<blackList>..</blackList>]`.
async fn modify(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let prov = &ctx.svc.prov;
    let effective = prov.effective_account_attrs(&account).await?;
    let mut edits = Vec::new();
    for (tag, attr, limit) in LISTS {
        let Some(list) = req.child(tag) else {
            continue;
        };
        let these = list_edits(list, attr)?;
        check_limit(&effective, attr, limit, &these)?;
        edits.extend(these);
    }
    if !edits.is_empty() {
        prov.modify_account(&account.id.to_string(), &edits).await?;
        tracing::info!(account = %account.name, "white/black lists modified");
    }
    Ok(response("ModifyWhiteBlackListResponse", NS_ACCOUNT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, &str)]) -> Element {
        let mut l = Element::new("whiteList");
        for (op, v) in items {
            let a = l.add_text("addr", *v);
            if !op.is_empty() {
                a.set("op", *op);
            }
        }
        l
    }

    #[test]
    fn ops_become_edits() {
        let e = list_edits(&list(&[("+", "a@x.test"), ("-", "b@x.test")]), WHITE);
        assert_eq!(
            e.ok(),
            Some(vec![
                AttrEdit::Add(WHITE.into(), "a@x.test".into()),
                AttrEdit::Remove(WHITE.into(), "b@x.test".into()),
            ])
        );
        let e = list_edits(&list(&[("", "a@x.test"), ("", "c@x.test")]), WHITE);
        assert_eq!(
            e.ok(),
            Some(vec![AttrEdit::Replace(
                WHITE.into(),
                vec!["a@x.test".into(), "c@x.test".into()]
            )])
        );
        assert_eq!(
            list_edits(&list(&[]), BLACK).ok(),
            Some(vec![AttrEdit::Replace(BLACK.into(), vec![])])
        );
        assert!(list_edits(&list(&[("", "a"), ("+", "b")]), WHITE).is_err());
        assert!(list_edits(&list(&[("*", "a")]), WHITE).is_err());
    }

    #[test]
    fn counting_and_limits() {
        let cur = vec!["a".to_string(), "b".to_string()];
        let add = |v: &str| AttrEdit::Add(WHITE.into(), v.into());
        assert_eq!(count_after(&cur, &[add("a"), add("c")]), 3);
        assert_eq!(
            count_after(&cur, &[AttrEdit::Remove(WHITE.into(), "a".into())]),
            1
        );
        let mut eff = Attrs::new();
        eff.set(WHITE, cur.clone());
        eff.set_one("zimbraMailWhitelistMaxNumEntries", "2");
        let lim = "zimbraMailWhitelistMaxNumEntries";
        assert!(check_limit(&eff, WHITE, lim, &[add("b")]).is_ok());
        assert!(check_limit(&eff, WHITE, lim, &[add("c")]).is_err());
        eff.set_one(lim, "1");
        // Over the limit already: removals still go through.
        let rm = [AttrEdit::Remove(WHITE.into(), "a".into())];
        assert!(check_limit(&eff, WHITE, lim, &rm).is_ok());
        eff.set_one(lim, "0");
        assert!(check_limit(&eff, WHITE, lim, &[add("c")]).is_err());
    }
}
