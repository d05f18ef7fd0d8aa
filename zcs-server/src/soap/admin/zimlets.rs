//! Admin requests on zimlet entries: CreateZimlet, GetZimlet, GetAllZimlets,
//! GetZimletStatus, ModifyZimlet (status, COS grant or denial, priority), DeleteZimlet
//! and UndeployZimlet, over the directory's zimlet entries
//! (`zcs_directory::provisioning::zimlets`).
//!
//! LIMITATION: DeployZimlet (installing a zimlet package) is not served: zcs serves no
//! web client for zimlets to run in.

use zcs_core::{AttrEdit, Entry, ServiceError, ServiceResult};
use zcs_directory::provisioning::zimlets::{AVAILABLE_ZIMLETS, cos_offers};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{attrs_from, entry_element};

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateZimletRequest"
            | "GetZimletRequest"
            | "GetAllZimletsRequest"
            | "GetZimletStatusRequest"
            | "ModifyZimletRequest"
            | "DeleteZimletRequest"
            | "UndeployZimletRequest"
    );
    if !known {
        return None;
    }
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(run(ctx, name, req).await)
}

/// The zimlet a request names: `<zimlet name=>` or the request's `name`.
fn zimlet_name(req: &Element) -> ServiceResult<String> {
    let name = match req.child("zimlet") {
        Some(z) => z.req("name")?,
        None => req.req("name")?,
    };
    Ok(name.trim().to_string())
}

fn enabled(z: &Entry) -> bool {
    z.attrs
        .get("zimbraZimletEnabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

fn status(on: bool) -> &'static str {
    if on { "enabled" } else { "disabled" }
}

/// `<zimlet name= status= extension= priority=/>` of GetZimletStatus.
fn status_element(z: &Entry, on: bool) -> Element {
    let mut el = Element::new("zimlet");
    el.set("name", z.name.clone());
    el.set("status", status(on));
    el.set_bool(
        "extension",
        z.attrs
            .get("zimbraZimletIsExtension")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
    );
    if let Some(p) = z.attrs.get("zimbraZimletPriority") {
        el.set("priority", p);
    }
    el
}

async fn run(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let one = |resp: &str, z: &Entry| {
        let mut r = response(resp, NS_ADMIN);
        r.add(entry_element("zimlet", z, &z.attrs, None));
        r
    };
    match name {
        "CreateZimletRequest" => {
            let mut attrs = attrs_from(req)?;
            // objectClass and cn are the directory's to set.
            attrs.set("objectClass", Vec::new());
            attrs.set("cn", Vec::new());
            let z = prov.create_zimlet(req.req("name")?, attrs).await?;
            Ok(one("CreateZimletResponse", &z))
        }
        "GetZimletRequest" => Ok(one(
            "GetZimletResponse",
            &prov.get_zimlet(&zimlet_name(req)?).await?,
        )),
        "GetAllZimletsRequest" => {
            let mut resp = response("GetAllZimletsResponse", NS_ADMIN);
            for z in prov.all_zimlets().await? {
                resp.add(entry_element("zimlet", &z, &z.attrs, None));
            }
            Ok(resp)
        }
        "GetZimletStatusRequest" => {
            let all = prov.all_zimlets().await?;
            let mut resp = response("GetZimletStatusResponse", NS_ADMIN);
            let list = resp.add_new("zimlets");
            for z in &all {
                list.add(status_element(z, enabled(z)));
            }
            for c in prov.all_cos().await? {
                let offered = c.attrs.get_all(AVAILABLE_ZIMLETS);
                let el = resp.add_new("cos");
                el.set("name", c.name.clone());
                for z in &all {
                    el.add(status_element(z, cos_offers(offered, &z.name)));
                }
            }
            Ok(resp)
        }
        "ModifyZimletRequest" => {
            let z = req
                .child("zimlet")
                .ok_or_else(|| ServiceError::invalid_request("missing required element: zimlet"))?;
            let zname = z.req("name")?.trim().to_string();
            prov.get_zimlet(&zname).await?;
            let mut edits = Vec::new();
            if let Some(s) = z.child("status") {
                let on = s.req("value")?.trim().eq_ignore_ascii_case("enabled");
                let v = if on { "TRUE" } else { "FALSE" };
                edits.push(AttrEdit::Replace(
                    "zimbraZimletEnabled".into(),
                    vec![v.into()],
                ));
            }
            if let Some(p) = z.child("priority") {
                edits.push(AttrEdit::Replace(
                    "zimbraZimletPriority".into(),
                    vec![p.req("value")?.trim().to_string()],
                ));
            }
            if !edits.is_empty() {
                prov.modify_zimlet(&zname, &edits).await?;
            }
            if let Some(acl) = z.child("acl") {
                let allow = match acl.req("acl")?.trim() {
                    "grant" => true,
                    "deny" => false,
                    other => {
                        return Err(ServiceError::invalid_request(format!(
                            "invalid acl: {other} (grant or deny)"
                        )));
                    }
                };
                prov.set_cos_zimlet(acl.req("cos")?.trim(), &zname, allow)
                    .await?;
            }
            Ok(response("ModifyZimletResponse", NS_ADMIN))
        }
        "DeleteZimletRequest" => {
            prov.delete_zimlet(&zimlet_name(req)?).await?;
            Ok(response("DeleteZimletResponse", NS_ADMIN))
        }
        _ => {
            prov.delete_zimlet(&zimlet_name(req)?).await?;
            Ok(response("UndeployZimletResponse", NS_ADMIN))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_zimlet_child_or_the_request() {
        let mut r = Element::new("DeleteZimletRequest");
        assert!(zimlet_name(&r).is_err());
        r.add_new("zimlet").set("name", " com_x ");
        assert_eq!(zimlet_name(&r).ok().as_deref(), Some("com_x"));
        let mut u = Element::new("UndeployZimletRequest");
        u.set("name", "com_y");
        assert_eq!(zimlet_name(&u).ok().as_deref(), Some("com_y"));
    }
}
