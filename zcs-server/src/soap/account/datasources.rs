//! Data sources (external POP3/IMAP/CalDAV/RSS... mailboxes an account pulls from):
//! Create/Get/Modify/DeleteDataSourceRequest in the user form (urn:zimbraMail, also
//! answered in urn:zimbraAccount) and the admin form (urn:zimbraAdmin, `<id>` naming
//! the account). Stored as Zimbra stores them: a child entry of the account holding the
//! `zimbraDataSource*` attributes (`Provisioning::create_child` with
//! `Child::DataSource`), its type in `zimbraDataSourceType`.
//!
//! User form: one element named by the type (`<imap name= l= host= port=
//! connectionType= isEnabled= ...>`), each wire attribute mapped to its directory
//! attribute by [`WIRE`]; `<a>` children are `zimbraDataSourceAttribute` values. Admin
//! form: `<dataSource type= name= id=><a n="zimbraDataSource...">v</a></dataSource>`.
//! Passwords are taken but never shown.
//!
// LIMITATION: no mail is fetched from a data source (no POP3/IMAP import runs), and
// the password is kept as given rather than encrypted under the data source id as
// Zimbra does; TestDataSourceRequest and ImportDataRequest are not served.

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult};
use zcs_directory::provisioning::children::{Child, short_name};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::{NS_ACCOUNT, NS_ADMIN, NS_MAIL};
use super::super::response;

/// The data source types Zimbra's user API names its elements after.
const TYPES: &[&str] = &[
    "pop3", "imap", "caldav", "yab", "rss", "gal", "cal", "unknown",
];

/// Whether a wire attribute is a boolean (`1`/`0`, `true`/`false`) or text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Bool,
    Text,
}

/// Wire attribute, directory attribute, form. The name is handled apart.
const WIRE: &[(&str, &str, Wire)] = &[
    ("l", "zimbraDataSourceFolderId", Wire::Text),
    ("isEnabled", "zimbraDataSourceEnabled", Wire::Bool),
    ("importOnly", "zimbraDataSourceImportOnly", Wire::Bool),
    ("host", "zimbraDataSourceHost", Wire::Text),
    ("port", "zimbraDataSourcePort", Wire::Text),
    (
        "connectionType",
        "zimbraDataSourceConnectionType",
        Wire::Text,
    ),
    ("username", "zimbraDataSourceUsername", Wire::Text),
    ("password", "zimbraDataSourcePassword", Wire::Text),
    (
        "pollingInterval",
        "zimbraDataSourcePollingInterval",
        Wire::Text,
    ),
    ("emailAddress", "zimbraDataSourceEmailAddress", Wire::Text),
    (
        "useAddressForForwardReply",
        "zimbraDataSourceUseAddressForForwardReply",
        Wire::Bool,
    ),
    (
        "defaultSignature",
        "zimbraPrefDefaultSignatureId",
        Wire::Text,
    ),
    (
        "forwardReplySignature",
        "zimbraPrefForwardReplySignatureId",
        Wire::Text,
    ),
    ("fromDisplay", "zimbraPrefFromDisplay", Wire::Text),
    ("replyToAddress", "zimbraPrefReplyToAddress", Wire::Text),
    ("replyToDisplay", "zimbraPrefReplyToDisplay", Wire::Text),
    ("importClass", "zimbraDataSourceImportClassName", Wire::Text),
    ("failingSince", "zimbraDataSourceFailingSince", Wire::Text),
    ("leaveOnServer", "zimbraDataSourceLeaveOnServer", Wire::Bool),
    ("smtpEnabled", "zimbraDataSourceSmtpEnabled", Wire::Bool),
    ("smtpHost", "zimbraDataSourceSmtpHost", Wire::Text),
    ("smtpPort", "zimbraDataSourceSmtpPort", Wire::Text),
    (
        "smtpConnectionType",
        "zimbraDataSourceSmtpConnectionType",
        Wire::Text,
    ),
    (
        "smtpAuthRequired",
        "zimbraDataSourceSmtpAuthRequired",
        Wire::Bool,
    ),
    (
        "smtpUsername",
        "zimbraDataSourceSmtpAuthUsername",
        Wire::Text,
    ),
    (
        "smtpPassword",
        "zimbraDataSourceSmtpAuthPassword",
        Wire::Text,
    ),
    (
        "refreshToken",
        "zimbraDataSourceOAuthRefreshToken",
        Wire::Text,
    ),
    (
        "refreshTokenUrl",
        "zimbraDataSourceOAuthRefreshTokenUrl",
        Wire::Text,
    ),
];

/// Attributes never written back to a client.
const SECRET: &[&str] = &[
    "zimbraDataSourcePassword",
    "zimbraDataSourceSmtpAuthPassword",
    "zimbraDataSourceOAuthRefreshToken",
    "zimbraDataSourceOAuthToken",
    "zimbraDataSourceOAuthClientSecret",
];

fn is_secret(attr: &str) -> bool {
    SECRET.iter().any(|s| s.eq_ignore_ascii_case(attr))
}

/// The user-form requests (urn:zimbraMail, and urn:zimbraAccount); `None` for other
/// names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let ns = match req.ns.as_deref() {
        Some(NS_ACCOUNT) => NS_ACCOUNT,
        _ => NS_MAIL,
    };
    Some(match name {
        "CreateDataSourceRequest" => create(ctx, req, ns).await,
        "GetDataSourcesRequest" => get(ctx, ns).await,
        "ModifyDataSourceRequest" => modify(ctx, req, ns).await,
        "DeleteDataSourceRequest" => delete(ctx, req, ns).await,
        _ => return None,
    })
}

/// A wire boolean as the directory spells it.
fn ldap_bool(v: &str) -> ServiceResult<&'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Ok("TRUE"),
        "0" | "false" => Ok("FALSE"),
        other => Err(ServiceError::invalid_request(format!(
            "invalid boolean value: {other}"
        ))),
    }
}

/// The directory attributes of a user-form element, as (attribute, value) pairs; an
/// empty value clears on modify. `<a>` children become `zimbraDataSourceAttribute`.
pub(crate) fn wire_attrs(el: &Element) -> ServiceResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (wire, attr, form) in WIRE {
        let Some(v) = el
            .attrs
            .iter()
            .find(|a| a.name == *wire)
            .map(|a| a.value.as_str())
        else {
            continue;
        };
        let v = match form {
            Wire::Bool if !v.trim().is_empty() => ldap_bool(v)?.to_string(),
            _ => v.trim().to_string(),
        };
        out.push((attr.to_string(), v));
    }
    if let Some(err) = el.child("lastError") {
        out.push(("zimbraDataSourceLastError".into(), err.text().to_string()));
    }
    for a in el.children_named("a") {
        out.push(("zimbraDataSourceAttribute".into(), a.text().to_string()));
    }
    Ok(out)
}

/// The user-form element of a stored data source, named by its type.
pub(crate) fn user_element(e: &Entry) -> Element {
    let ty = e.attrs.get("zimbraDataSourceType").unwrap_or("unknown");
    let mut el = Element::new(ty);
    el.set("id", e.id.to_string());
    let name = e
        .attrs
        .get(Child::DataSource.name_attr())
        .unwrap_or(short_name(e));
    el.set("name", name.to_string());
    for (wire, attr, form) in WIRE {
        if is_secret(attr) {
            continue;
        }
        let Some(v) = e.attrs.get(attr) else {
            continue;
        };
        match form {
            Wire::Bool => {
                el.set_bool(wire, v.eq_ignore_ascii_case("TRUE"));
            }
            Wire::Text => {
                el.set(wire, v.to_string());
            }
        }
    }
    if let Some(err) = e.attrs.get("zimbraDataSourceLastError") {
        el.add_text("lastError", err.to_string());
    }
    for v in e.attrs.get_all("zimbraDataSourceAttribute") {
        el.add_text("a", v.clone());
    }
    el
}

/// The first child naming a data source type, with its type.
fn typed_child(req: &Element) -> ServiceResult<(&str, &Element)> {
    req.children
        .iter()
        .find_map(|c| {
            TYPES
                .iter()
                .find(|t| c.name.eq_ignore_ascii_case(t))
                .map(|t| (*t, c))
        })
        .ok_or_else(|| ServiceError::invalid_request("missing data source element"))
}

/// CreateDataSourceRequest `<imap name= l= host= ...>`: answers `<imap id=/>`.
async fn create(ctx: &mut Ctx<'_>, req: &Element, ns: &str) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let (ty, el) = typed_child(req)?;
    let name = el.req("name")?.trim().to_string();
    let mut attrs = Attrs::new();
    for (n, v) in wire_attrs(el)? {
        if !v.is_empty() {
            attrs.add(&n, v);
        }
    }
    let e = ctx
        .svc
        .prov
        .create_child(Child::DataSource, &account.name, &name, Some(ty), attrs)
        .await?;
    tracing::info!(account = %account.name, kind = ty, "data source created");
    let mut resp = response("CreateDataSourceResponse", ns);
    resp.add_new(ty).set("id", e.id.to_string());
    Ok(resp)
}

/// GetDataSourcesRequest: every data source of the account.
async fn get(ctx: &mut Ctx<'_>, ns: &str) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let all = ctx
        .svc
        .prov
        .get_children(Child::DataSource, &account.name)
        .await?;
    let mut resp = response("GetDataSourcesResponse", ns);
    for e in &all {
        resp.add(user_element(e));
    }
    Ok(resp)
}

/// The `id=` (else `name=`) a Modify/Delete element names its data source by.
fn key_of(el: &Element) -> ServiceResult<String> {
    el.attrs
        .iter()
        .find(|a| a.name == "id")
        .or_else(|| el.attrs.iter().find(|a| a.name == "name"))
        .map(|a| a.value.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ServiceError::invalid_request("missing required attribute: id"))
}

/// The edits of a user-form element: each attribute given replaces (an empty value
/// clears); `<a>` children replace the whole `zimbraDataSourceAttribute` list.
fn user_edits(el: &Element, renamed: Option<&str>) -> ServiceResult<Vec<AttrEdit>> {
    let mut edits: Vec<AttrEdit> = Vec::new();
    for (n, v) in wire_attrs(el)? {
        if let Some(AttrEdit::Replace(_, vals)) =
            edits.iter_mut().find(|e| e.name().eq_ignore_ascii_case(&n))
        {
            vals.push(v);
            continue;
        }
        let vals = if v.is_empty() { vec![] } else { vec![v] };
        edits.push(AttrEdit::Replace(n, vals));
    }
    if let Some(n) = renamed {
        edits.push(AttrEdit::Replace(
            Child::DataSource.name_attr().into(),
            vec![n.to_string()],
        ));
    }
    Ok(edits)
}

/// ModifyDataSourceRequest `<imap id= [name=] [attributes to change]>`.
async fn modify(ctx: &mut Ctx<'_>, req: &Element, ns: &str) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let (_, el) = typed_child(req)?;
    let key = key_of(el)?;
    let prov = &ctx.svc.prov;
    let current = prov
        .get_child(Child::DataSource, &account.name, &key)
        .await?;
    // A name beside the id renames it.
    let renamed = el
        .attrs
        .iter()
        .find(|a| a.name == "name")
        .map(|a| a.value.trim())
        .filter(|n| !n.is_empty() && *n != key && !n.eq_ignore_ascii_case(short_name(&current)));
    let edits = user_edits(el, renamed)?;
    if !edits.is_empty() {
        prov.modify_child(
            Child::DataSource,
            &account.name,
            &current.id.to_string(),
            &edits,
        )
        .await?;
    }
    Ok(response("ModifyDataSourceResponse", ns))
}

/// DeleteDataSourceRequest `<imap id=/>...` (any type element, several allowed).
async fn delete(ctx: &mut Ctx<'_>, req: &Element, ns: &str) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let mut any = false;
    for c in req
        .children
        .iter()
        .filter(|c| TYPES.iter().any(|t| c.name.eq_ignore_ascii_case(t)))
    {
        let key = key_of(c)?;
        ctx.svc
            .prov
            .delete_child(Child::DataSource, &account.name, &key)
            .await?;
        any = true;
    }
    if !any {
        return Err(ServiceError::invalid_request("missing data source element"));
    }
    Ok(response("DeleteDataSourceResponse", ns))
}

// ---- the admin form ----

/// The admin-form requests (urn:zimbraAdmin); `None` for other names.
pub(crate) async fn dispatch_admin(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "CreateDataSourceRequest" => admin_create(ctx, req).await,
        "GetDataSourcesRequest" => admin_get(ctx, req).await,
        "ModifyDataSourceRequest" => admin_modify(ctx, req).await,
        "DeleteDataSourceRequest" => admin_delete(ctx, req).await,
        _ => return None,
    })
}

/// `<dataSource name= id= type=><a n=>v</a>...</dataSource>` of a stored data source.
fn admin_element(e: &Entry) -> Element {
    let mut el = Element::new("dataSource");
    let name = e
        .attrs
        .get(Child::DataSource.name_attr())
        .unwrap_or(short_name(e));
    el.set("name", name.to_string());
    el.set("id", e.id.to_string());
    el.set(
        "type",
        e.attrs.get("zimbraDataSourceType").unwrap_or("unknown"),
    );
    for (n, values) in e.attrs.iter() {
        for v in values {
            if is_secret(n) {
                el.add_a(n, "VALUE-BLOCKED");
            } else {
                el.add_a(n, v.clone());
            }
        }
    }
    el
}

/// The account an admin request names by `<id>` (an id or a name).
async fn admin_account(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Entry> {
    ctx.admin().await?;
    let key = req.req("id")?.trim().to_string();
    ctx.svc.prov.get_account(&key).await
}

/// The `dataSource` child, or a fault naming it.
fn data_source_el(req: &Element) -> ServiceResult<&Element> {
    req.child("dataSource")
        .ok_or_else(|| ServiceError::invalid_request("missing required element: dataSource"))
}

/// Admin CreateDataSourceRequest `<id>acct</id><dataSource type= name=><a n=>..`.
async fn admin_create(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = admin_account(ctx, req).await?;
    let ds = data_source_el(req)?;
    let ty = ds.req("type")?.trim().to_ascii_lowercase();
    let name = ds.req("name")?.trim().to_string();
    let attrs = super::super::admin::attrs_from(ds)?;
    let e = ctx
        .svc
        .prov
        .create_child(Child::DataSource, &account.name, &name, Some(&ty), attrs)
        .await?;
    let mut resp = response("CreateDataSourceResponse", NS_ADMIN);
    resp.add(admin_element(&e));
    Ok(resp)
}

/// Admin GetDataSourcesRequest `<id>acct</id>`.
async fn admin_get(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = admin_account(ctx, req).await?;
    let all = ctx
        .svc
        .prov
        .get_children(Child::DataSource, &account.name)
        .await?;
    let mut resp = response("GetDataSourcesResponse", NS_ADMIN);
    for e in &all {
        resp.add(admin_element(e));
    }
    Ok(resp)
}

/// Admin ModifyDataSourceRequest `<id>acct</id><dataSource id=><a n=>..`.
async fn admin_modify(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = admin_account(ctx, req).await?;
    let ds = data_source_el(req)?;
    let key = key_of(ds)?;
    let edits = super::super::admin::edits_from(ds)?;
    let prov = &ctx.svc.prov;
    if edits.is_empty() {
        prov.get_child(Child::DataSource, &account.name, &key)
            .await?;
    } else {
        prov.modify_child(Child::DataSource, &account.name, &key, &edits)
            .await?;
    }
    Ok(response("ModifyDataSourceResponse", NS_ADMIN))
}

/// Admin DeleteDataSourceRequest `<id>acct</id><dataSource id=/>`.
async fn admin_delete(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let account = admin_account(ctx, req).await?;
    let key = key_of(data_source_el(req)?)?;
    ctx.svc
        .prov
        .delete_child(Child::DataSource, &account.name, &key)
        .await?;
    Ok(response("DeleteDataSourceResponse", NS_ADMIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::element::AttrKind;

    #[test]
    fn wire_attributes_map_to_the_directory() {
        let mut el = Element::new("imap");
        el.set("name", "x");
        el.set("isEnabled", "0");
        el.set("port", "993");
        el.set("connectionType", "tls");
        el.add_text("a", "k=v");
        let got = wire_attrs(&el).expect("valid");
        assert_eq!(
            got,
            vec![
                ("zimbraDataSourceEnabled".to_string(), "FALSE".to_string()),
                ("zimbraDataSourcePort".into(), "993".into()),
                ("zimbraDataSourceConnectionType".into(), "tls".into()),
                ("zimbraDataSourceAttribute".into(), "k=v".into()),
            ]
        );
        el.set("leaveOnServer", "maybe");
        assert!(wire_attrs(&el).is_err());
    }

    #[test]
    fn stored_entry_renders_without_secrets() {
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraDataSourceType", "pop3");
        attrs.set_one("zimbraDataSourceName", "Far");
        attrs.set_one("zimbraDataSourceEnabled", "TRUE");
        attrs.set_one("zimbraDataSourcePassword", "secret");
        let e = Entry {
            kind: zcs_core::EntryKind::DataSource,
            id: zcs_core::ZimbraId::new(),
            name: "a@x.test/Far".into(),
            attrs,
        };
        let el = user_element(&e);
        assert_eq!(el.name, "pop3");
        assert_eq!(el.attr("isEnabled"), Some("1"));
        assert_eq!(el.attr("name"), Some("Far"));
        assert!(el.attr("password").is_none());
        let admin = admin_element(&e);
        assert!(admin.a_pairs().contains(&(
            "zimbraDataSourcePassword".to_string(),
            "VALUE-BLOCKED".to_string()
        )));
        let kinds: Vec<AttrKind> = el.attrs.iter().map(|a| a.kind).collect();
        assert!(kinds.contains(&AttrKind::Bool));
    }
}
