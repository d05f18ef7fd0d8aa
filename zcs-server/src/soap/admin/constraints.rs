//! Delegated-admin attribute constraints: GetDelegatedAdminConstraints and
//! ModifyDelegatedAdminConstraints on a COS (`type="cos" name|id=`) or the global config
//! (`type="config"`), kept in `zimbraConstraint` as Zimbra writes it:
//! `attr:max=N:min=N:values=v1:values=v2`.

use zcs_core::{AttrEdit, Entry, ServiceError, ServiceResult};
use zcs_directory::EntryKey;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;

const ATTR: &str = "zimbraConstraint";

/// Routes the constraint requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let get = match name {
        "GetDelegatedAdminConstraintsRequest" => true,
        "ModifyDelegatedAdminConstraintsRequest" => false,
        _ => return None,
    };
    if let Err(e) = ctx.admin().await {
        return Some(Err(e));
    }
    Some(if get {
        get_constraints(ctx, req).await
    } else {
        modify_constraints(ctx, req).await
    })
}

/// One attribute's constraint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Constraint {
    attr: String,
    max: Option<String>,
    min: Option<String>,
    values: Vec<String>,
}

impl Constraint {
    /// Reads `attr:max=..:min=..:values=..`; `None` for a value with no attribute name.
    fn parse(text: &str) -> Option<Constraint> {
        let mut parts = text.split(':');
        let attr = parts.next()?.trim();
        if attr.is_empty() {
            return None;
        }
        let mut c = Constraint {
            attr: attr.to_string(),
            ..Constraint::default()
        };
        for p in parts {
            match p.split_once('=') {
                Some(("max", v)) => c.max = Some(v.to_string()),
                Some(("min", v)) => c.min = Some(v.to_string()),
                Some(("values", v)) => c.values.push(v.to_string()),
                _ => {}
            }
        }
        Some(c)
    }

    fn format(&self) -> String {
        let mut s = self.attr.clone();
        if let Some(m) = &self.max {
            s.push_str(&format!(":max={m}"));
        }
        if let Some(m) = &self.min {
            s.push_str(&format!(":min={m}"));
        }
        for v in &self.values {
            s.push_str(&format!(":values={v}"));
        }
        s
    }

    /// `<a name=><constraint><max/><min/><values><v/></values></constraint></a>`.
    fn element(&self) -> Element {
        let mut a = Element::new("a");
        a.set("name", self.attr.clone());
        let c = a.add_new("constraint");
        if let Some(m) = &self.max {
            c.add_text("max", m.clone());
        }
        if let Some(m) = &self.min {
            c.add_text("min", m.clone());
        }
        if !self.values.is_empty() {
            let vs = c.add_new("values");
            for v in &self.values {
                vs.add_text("v", v.clone());
            }
        }
        a
    }

    /// The constraint an `<a name=><constraint>..</constraint></a>` request child sets.
    fn from_request(a: &Element) -> ServiceResult<Constraint> {
        let attr = a
            .attrs
            .iter()
            .find(|x| x.name == "name" || x.name == "n")
            .map(|x| x.value.trim().to_string())
            .filter(|n| !n.is_empty() && !n.contains(':'))
            .ok_or_else(|| ServiceError::invalid_request("a constraint needs an attribute name"))?;
        if zcs_core::attrs::lookup(&attr).is_none() {
            return Err(ServiceError::new(
                zcs_core::FaultCode::InvalidAttrName,
                format!("no such attribute: {attr}"),
            ));
        }
        let mut c = Constraint {
            attr,
            ..Constraint::default()
        };
        if let Some(con) = a.child("constraint") {
            let text = |n: &str| {
                con.child(n)
                    .map(|e| e.text().trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            c.max = text("max");
            c.min = text("min");
            if let Some(vs) = con.child("values") {
                c.values = vs
                    .children_named("v")
                    .map(|v| v.text().trim().to_string())
                    .filter(|v| !v.is_empty() && !v.contains(':'))
                    .collect();
            }
        }
        Ok(c)
    }
}

/// The entry a request's `type= name= id=` names.
async fn target(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Entry> {
    let prov = &ctx.svc.prov;
    match req.req("type")? {
        "config" => prov.global_config().await,
        "cos" => {
            let key = match (req.attr("id"), req.attr("name")) {
                (Some(id), _) if !id.trim().is_empty() => EntryKey::parse(id.trim()),
                (_, Some(n)) => EntryKey::Name(n.trim().to_string()),
                _ => return Err(ServiceError::invalid_request("missing cos name or id")),
            };
            prov.get_cos(&key).await
        }
        other => Err(ServiceError::invalid_request(format!(
            "constraints are not kept on {other}"
        ))),
    }
}

/// GetDelegatedAdminConstraintsRequest `type= [name|id] [<a name=/>...]`: the constraints
/// of the entry, those named only when some are.
async fn get_constraints(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = target(ctx, req).await?;
    let wanted: Vec<String> = req
        .children_named("a")
        .filter_map(|a| a.attr("name").or_else(|| a.attr("n")))
        .map(str::to_string)
        .collect();
    let mut resp = response("GetDelegatedAdminConstraintsResponse", NS_ADMIN);
    for c in e
        .attrs
        .get_all(ATTR)
        .iter()
        .filter_map(|v| Constraint::parse(v))
    {
        if wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(&c.attr)) {
            resp.add(c.element());
        }
    }
    Ok(resp)
}

/// ModifyDelegatedAdminConstraintsRequest `type= [name|id] <a name=><constraint>..`:
/// each named attribute's constraint replaced (an empty `<constraint/>` removes it).
async fn modify_constraints(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = target(ctx, req).await?;
    let mut all: Vec<Constraint> = e
        .attrs
        .get_all(ATTR)
        .iter()
        .filter_map(|v| Constraint::parse(v))
        .collect();
    for a in req.children_named("a") {
        let c = Constraint::from_request(a)?;
        all.retain(|x| !x.attr.eq_ignore_ascii_case(&c.attr));
        if c.max.is_some() || c.min.is_some() || !c.values.is_empty() {
            all.push(c);
        }
    }
    let edits = [AttrEdit::Replace(
        ATTR.into(),
        all.iter().map(Constraint::format).collect(),
    )];
    let prov = &ctx.svc.prov;
    if e.kind == zcs_core::EntryKind::GlobalConfig {
        prov.modify_global_config(&edits).await?;
    } else {
        prov.modify_cos(&EntryKey::Id(e.id), &edits).await?;
    }
    Ok(response(
        "ModifyDelegatedAdminConstraintsResponse",
        NS_ADMIN,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_zimbra_form() {
        let text = "zimbraMailQuota:max=524288000:min=20971520";
        let c = Constraint::parse(text).expect("parses");
        assert_eq!(c.max.as_deref(), Some("524288000"));
        assert_eq!(c.format(), text);
        let v = Constraint::parse("zimbraPrefSkin:values=a:values=b").expect("parses");
        assert_eq!(v.values, vec!["a", "b"]);
        assert!(Constraint::parse(":max=1").is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,60}") {
            if let Some(c) = Constraint::parse(&s) {
                let _ = c.format();
            }
        }
    }
}
