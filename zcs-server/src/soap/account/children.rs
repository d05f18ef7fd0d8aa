//! urn:zimbraAccount identities and signatures: Create/Get/Modify/DeleteIdentity and
//! Create/Get/Modify/DeleteSignature on the logged-in (or `context/account`) account,
//! over the directory's child entries (`Provisioning::create_child` and friends).
//!
//! Shapes as Zimbra writes them: `<identity name= id=><a name="attr">v</a>...</identity>`
//! and `<signature name= id=><content type="text/plain|text/html">..</content>
//! [<cid>..</cid>]</signature>`. A signature's plain and HTML texts are kept in
//! `zimbraPrefMailSignature` and `zimbraPrefMailSignatureHTML`.

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult};
use zcs_directory::provisioning::children::{Child, DEFAULT_IDENTITY, short_name};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;

const PLAIN: &str = "zimbraPrefMailSignature";
const HTML: &str = "zimbraPrefMailSignatureHTML";
const CONTACT: &str = "zimbraPrefMailSignatureContactId";

/// The directory's bookkeeping on an identity entry: never shown, and ignored when a
/// client echoes it back in a modify (zimsoap sends every attribute it read).
const BOOKKEEPING: &[&str] = &["objectClass", "zimbraCreateTimestamp", "zimbraId"];

fn is_bookkeeping(name: &str) -> bool {
    BOOKKEEPING.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// Routes the identity and signature requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "CreateIdentityRequest" => create_identity(ctx, req).await,
        "GetIdentitiesRequest" => get_identities(ctx, req).await,
        "ModifyIdentityRequest" => modify_identity(ctx, req).await,
        "DeleteIdentityRequest" => delete(ctx, req, Child::Identity).await,
        "CreateSignatureRequest" => create_signature(ctx, req).await,
        "GetSignaturesRequest" => get_signatures(ctx).await,
        "ModifySignatureRequest" => modify_signature(ctx, req).await,
        "DeleteSignatureRequest" => delete(ctx, req, Child::Signature).await,
        _ => return None,
    })
}

/// The account the request acts on, by its name.
async fn owner(ctx: &mut Ctx<'_>) -> ServiceResult<String> {
    Ok(ctx.target_account().await?.name)
}

/// The `<a name= >` (or `n=`) pairs of an identity element.
fn identity_pairs(el: &Element) -> Vec<(String, String)> {
    el.children_named("a")
        .filter_map(|a| {
            let n = a.attrs.iter().find(|x| x.name == "name" || x.name == "n")?;
            Some((n.value.clone(), a.text().to_string()))
        })
        .collect()
}

/// The `identity` or `signature` child, or a fault naming it.
fn item<'a>(req: &'a Element, tag: &str) -> ServiceResult<&'a Element> {
    req.child(tag)
        .ok_or_else(|| ServiceError::invalid_request(format!("missing required element: {tag}")))
}

/// The `id=` (preferred) or `name=` a Modify/Delete request names its item by.
fn key_of(el: &Element) -> ServiceResult<&str> {
    el.attrs
        .iter()
        .find(|a| a.name == "id")
        .or_else(|| el.attrs.iter().find(|a| a.name == "name"))
        .map(|a| a.value.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: id or name"))
}

/// `<identity name= id=>` with its attributes as `<a name=>` children.
fn identity_element(e: &Entry) -> Element {
    let mut el = Element::new("identity");
    el.kv = true;
    let name = e
        .attrs
        .get(Child::Identity.name_attr())
        .unwrap_or(short_name(e));
    el.set("name", name.to_string());
    el.set("id", e.id.to_string());
    for (n, values) in e.attrs.iter() {
        if is_bookkeeping(n) {
            continue;
        }
        for v in values {
            let mut a = Element::new("a");
            a.set("name", n);
            a.set_text(v.clone());
            el.children.push(a);
        }
    }
    el
}

/// CreateIdentityRequest `<identity name=><a name=>v</a>...</identity>`.
async fn create_identity(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let el = item(req, "identity")?;
    let name = el.req("name")?.to_string();
    let mut attrs = Attrs::new();
    for (n, v) in identity_pairs(el) {
        // The name and id are the directory's to set.
        if n.eq_ignore_ascii_case(Child::Identity.name_attr())
            || n.eq_ignore_ascii_case(Child::Identity.id_attr())
            || is_bookkeeping(&n)
            || v.trim().is_empty()
        {
            continue;
        }
        attrs.add(&n, v);
    }
    let e = ctx
        .svc
        .prov
        .create_child(Child::Identity, &account, &name, None, attrs)
        .await?;
    let mut resp = response("CreateIdentityResponse", NS_ACCOUNT);
    resp.add(identity_element(&e));
    Ok(resp)
}

/// GetIdentitiesRequest `[<identity name|id>]`: the DEFAULT identity first, then the
/// others by name.
async fn get_identities(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let all = ctx.svc.prov.get_children(Child::Identity, &account).await?;
    let wanted = req.child("identity").and_then(|i| key_of(i).ok());
    let mut resp = response("GetIdentitiesResponse", NS_ACCOUNT);
    for e in &all {
        let el = identity_element(e);
        if let Some(w) = wanted
            && el.attr("id") != Some(w)
            && !el.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(w))
        {
            continue;
        }
        resp.add(el);
    }
    Ok(resp)
}

/// ModifyIdentityRequest `<identity id|name><a name=>v</a>...</identity>`: each named
/// attribute replaced (an empty value clears it). The DEFAULT identity's attributes
/// live on the account itself.
async fn modify_identity(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let el = item(req, "identity")?;
    let key = key_of(el)?;
    let mut edits = Vec::new();
    for (n, v) in identity_pairs(el) {
        if n.eq_ignore_ascii_case(Child::Identity.id_attr()) || is_bookkeeping(&n) {
            continue;
        }
        let values = if v.is_empty() { vec![] } else { vec![v] };
        edits.push(AttrEdit::Replace(n, values));
    }
    let prov = &ctx.svc.prov;
    let is_default = key.eq_ignore_ascii_case(DEFAULT_IDENTITY) || key == account.id.to_string();
    if is_default {
        edits.retain(|e| !e.name().eq_ignore_ascii_case(Child::Identity.name_attr()));
        if !edits.is_empty() {
            prov.modify_account(&account.id.to_string(), &edits).await?;
        }
    } else if !edits.is_empty() {
        prov.modify_child(Child::Identity, &account.name, key, &edits)
            .await?;
    } else {
        prov.get_child(Child::Identity, &account.name, key).await?;
    }
    Ok(response("ModifyIdentityResponse", NS_ACCOUNT))
}

/// DeleteIdentityRequest / DeleteSignatureRequest `<identity|signature id|name>`.
async fn delete(ctx: &mut Ctx<'_>, req: &Element, child: Child) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let (tag, resp_name) = match child {
        Child::Identity => ("identity", "DeleteIdentityResponse"),
        _ => ("signature", "DeleteSignatureResponse"),
    };
    let key = key_of(item(req, tag)?)?;
    if child == Child::Identity && key.eq_ignore_ascii_case(DEFAULT_IDENTITY) {
        return Err(ServiceError::invalid_request(
            "the DEFAULT identity cannot be deleted",
        ));
    }
    ctx.svc.prov.delete_child(child, &account, key).await?;
    Ok(response(resp_name, NS_ACCOUNT))
}

/// The attribute a signature `content type=` is kept in.
fn content_attr(ct: Option<&str>) -> ServiceResult<&'static str> {
    match ct.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("text/plain") => Ok(PLAIN),
        Some("text/html") => Ok(HTML),
        Some(other) => Err(ServiceError::invalid_request(format!(
            "invalid content type: {other}"
        ))),
    }
}

/// The signature edits of `<content type=>` and `<cid>` children.
fn signature_edits(el: &Element) -> ServiceResult<Vec<AttrEdit>> {
    let mut edits = Vec::new();
    for c in el.children_named("content") {
        let attr = content_attr(
            c.attrs
                .iter()
                .find(|a| a.name == "type")
                .map(|a| a.value.as_str()),
        )?;
        let v = c.text().to_string();
        edits.push(AttrEdit::Replace(
            attr.into(),
            if v.is_empty() { vec![] } else { vec![v] },
        ));
    }
    if let Some(cid) = el.child("cid") {
        let v = cid.text().trim().to_string();
        edits.push(AttrEdit::Replace(
            CONTACT.into(),
            if v.is_empty() { vec![] } else { vec![v] },
        ));
    }
    Ok(edits)
}

/// `<signature name= id=><content type=>..</content>[<cid>]</signature>`.
fn signature_element(e: &Entry) -> Element {
    let mut el = Element::new("signature");
    let name = e
        .attrs
        .get(Child::Signature.name_attr())
        .unwrap_or(short_name(e));
    el.set("name", name.to_string());
    el.set("id", e.id.to_string());
    for (attr, ct) in [(PLAIN, "text/plain"), (HTML, "text/html")] {
        if let Some(v) = e.attrs.get(attr) {
            el.add_text("content", v.to_string()).set("type", ct);
        }
    }
    if let Some(cid) = e.attrs.get(CONTACT) {
        el.add_text("cid", cid.to_string());
    }
    el
}

/// CreateSignatureRequest `<signature name=><content type=>..</content></signature>`:
/// answers `<signature name= id=/>`.
async fn create_signature(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let el = item(req, "signature")?;
    let name = el.req("name")?.to_string();
    let mut attrs = Attrs::new();
    for e in signature_edits(el)? {
        if let AttrEdit::Replace(n, vals) = e {
            for v in vals {
                attrs.add(&n, v);
            }
        }
    }
    let e = ctx
        .svc
        .prov
        .create_child(Child::Signature, &account, &name, None, attrs)
        .await?;
    let mut resp = response("CreateSignatureResponse", NS_ACCOUNT);
    resp.add_new("signature")
        .set("name", name)
        .set("id", e.id.to_string());
    Ok(resp)
}

/// GetSignaturesRequest: every signature of the account, by name.
async fn get_signatures(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let all = ctx
        .svc
        .prov
        .get_children(Child::Signature, &account)
        .await?;
    let mut resp = response("GetSignaturesResponse", NS_ACCOUNT);
    for e in &all {
        resp.add(signature_element(e));
    }
    Ok(resp)
}

/// ModifySignatureRequest `<signature id [name=]><content type=>..</content>
/// [<cid>]</signature>`: a new name renames it; contents given replace the old ones.
async fn modify_signature(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = owner(ctx).await?;
    let el = item(req, "signature")?;
    let id = el
        .attrs
        .iter()
        .find(|a| a.name == "id")
        .map(|a| a.value.trim());
    let name = el
        .attrs
        .iter()
        .find(|a| a.name == "name")
        .map(|a| a.value.trim());
    let key = id
        .or(name)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: id"))?;
    let mut edits = signature_edits(el)?;
    if let (Some(_), Some(n)) = (id, name)
        && !n.is_empty()
    {
        edits.push(AttrEdit::Replace(
            Child::Signature.name_attr().into(),
            vec![n.to_string()],
        ));
    }
    let prov = &ctx.svc.prov;
    if edits.is_empty() {
        prov.get_child(Child::Signature, &account, key).await?;
    } else {
        prov.modify_child(Child::Signature, &account, key, &edits)
            .await?;
    }
    Ok(response("ModifySignatureResponse", NS_ACCOUNT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_pick_the_attribute() {
        assert_eq!(content_attr(None).ok(), Some(PLAIN));
        assert_eq!(content_attr(Some("TEXT/HTML")).ok(), Some(HTML));
        assert!(content_attr(Some("image/png")).is_err());
    }

    #[test]
    fn identity_pairs_read_name_or_n() {
        let mut el = Element::new("identity");
        el.add_text("a", "x").set("name", "zimbraPrefFromDisplay");
        el.add_text("a", "y").set("n", "zimbraPrefReplyToEnabled");
        assert_eq!(
            identity_pairs(&el),
            vec![
                ("zimbraPrefFromDisplay".to_string(), "x".to_string()),
                ("zimbraPrefReplyToEnabled".to_string(), "y".to_string())
            ]
        );
    }

    #[test]
    fn signature_edits_clear_on_empty() {
        let mut el = Element::new("signature");
        el.add_text("content", "").set("type", "text/html");
        el.add_text("cid", "257");
        let edits = signature_edits(&el).expect("valid");
        assert_eq!(edits[0], AttrEdit::Replace(HTML.into(), vec![]));
        assert_eq!(
            edits[1],
            AttrEdit::Replace(CONTACT.into(), vec!["257".into()])
        );
    }
}
