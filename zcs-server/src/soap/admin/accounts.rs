//! Admin account requests: Create, Get, Modify, Rename, Delete, GetAll, SetPassword,
//! DelegateAuth (a token for a user, issued to an admin and written to the audit log),
//! GetAccountMembership, GetAllAdminAccounts; SearchDirectory is served by
//! `account_tools` (the same filter search as SearchAccounts).

use zcs_core::{AttrEdit, Attrs, Entry, EntryKind, ServiceError, ServiceResult};
use zcs_directory::EntryKey;

use super::super::account::{IssueOpts, issue_with};
use super::super::context::Ctx;
use super::super::element::{AttrKind, Element};
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{attr_filter, attrs_from, edits_from, entry_element};

/// Routes the account requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateAccountRequest"
            | "GetAccountRequest"
            | "ModifyAccountRequest"
            | "RenameAccountRequest"
            | "DeleteAccountRequest"
            | "GetAllAccountsRequest"
            | "SetPasswordRequest"
            | "SearchDirectoryRequest"
            | "AddAccountAliasRequest"
            | "RemoveAccountAliasRequest"
            | "DelegateAuthRequest"
            | "GetAccountMembershipRequest"
            | "GetAllAdminAccountsRequest"
            | "GetAccountInfoRequest"
    );
    if !known {
        return None;
    }
    let admin = match ctx.admin().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let by = admin.account.name.clone();
    Some(match name {
        "CreateAccountRequest" => create(ctx, req, &by).await,
        "GetAccountRequest" => get(ctx, req).await,
        "ModifyAccountRequest" => modify(ctx, req, &by).await,
        "RenameAccountRequest" => rename(ctx, req, &by).await,
        "DeleteAccountRequest" => delete(ctx, req, &by).await,
        "GetAllAccountsRequest" => get_all(ctx, req).await,
        "SetPasswordRequest" => set_password(ctx, req, &by).await,
        "SearchDirectoryRequest" => {
            super::account_tools::search_entries(ctx, req, "SearchDirectoryResponse").await
        }
        "AddAccountAliasRequest" => alias(ctx, req, true).await,
        "DelegateAuthRequest" => delegate_auth(ctx, req, &admin).await,
        "GetAccountMembershipRequest" => membership(ctx, req).await,
        "GetAllAdminAccountsRequest" => all_admins(ctx).await,
        "GetAccountInfoRequest" => account_info(ctx, req).await,
        _ => alias(ctx, req, false).await,
    })
}

/// The account by a `account by=` selector or `id`; `by="foreignPrincipal"` finds the
/// account whose `zimbraForeignPrincipal` has that value. An id that is not a UUID names
/// no account (`account.NO_SUCH_ACCOUNT`, as Zimbra's lookup answers).
async fn find(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Entry> {
    if let Some(sel) = req.child("account")
        && sel.attr("by") == Some("foreignPrincipal")
    {
        let want = sel.text().trim();
        let prov = &ctx.svc.prov;
        let mut all = prov.all_accounts(None).await?;
        for r in prov.all_calendar_resources(None).await? {
            if !all.iter().any(|a| a.id == r.id) {
                all.push(r);
            }
        }
        let hits: Vec<Entry> = all
            .into_iter()
            .filter(|a| {
                a.attrs
                    .get_all("zimbraForeignPrincipal")
                    .iter()
                    .any(|v| v == want)
            })
            .collect();
        // Zimbra searches rather than trusting its cache so that duplicates are caught
        // (bug 27966): its calendar resource lookup answers MULTIPLE_ACCOUNTS_MATCHED,
        // its account lookup service.FAILURE (as the harness records both).
        if hits.len() > 1 {
            let message = format!("multiple accounts matched foreign principal: {want}");
            if hits.iter().any(|h| h.kind == EntryKind::CalendarResource) {
                return Err(ServiceError::new(
                    zcs_core::FaultCode::MultipleAccountsMatched,
                    message,
                ));
            }
            return Err(ServiceError::failure(message));
        }
        return hits
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::no_such_account(want));
    }
    if let Some(sel) = req.child("account")
        && sel.attr("by") == Some("id")
        && sel.text().trim().parse::<zcs_core::ZimbraId>().is_err()
    {
        return Err(ServiceError::no_such_account(sel.text().trim()));
    }
    let key = match super::selector(req, "account")? {
        EntryKey::Id(id) => id.to_string(),
        EntryKey::Name(n) => n,
    };
    ctx.svc.prov.get_account(&key).await
}

/// The account as Zimbra's Create/Modify/RenameAccount answer it: its attributes with
/// the COS values it inherits applied (`ToXML.encodeAccount` with `applyCos`).
async fn cos_applied_element(ctx: &Ctx<'_>, e: &Entry) -> ServiceResult<Element> {
    let attrs = ctx.svc.prov.effective_account_attrs(e).await?;
    Ok(entry_element("account", e, &attrs, None))
}

fn account_element(e: &Entry, only: Option<&[String]>) -> Element {
    entry_element("account", e, &e.attrs, only)
}

async fn create(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    // Zimbra reads the request into its JAXB form and lower-cases the name, so a missing
    // name is an internal failure there, not a bad request.
    let name = req
        .attr("name")
        .map(|n| n.trim().to_string())
        .ok_or_else(|| ServiceError::failure("missing required element: name"))?;
    refuse_immutable(&req.a_pairs(), &["zimbraId"])?;
    require_domain(ctx, &name).await?;
    let mut attrs = attrs_from(req)?;
    hash_clear_passwords(&mut attrs);
    check_mail_host(ctx, &req.a_pairs()).await?;
    refuse_alias_domain(ctx, &name).await?;
    // A password element that is present is checked even when blank (Zimbra trims the
    // text, then applies the strength rules).
    let password = req.attr("password").map(|p| p.trim().to_string());
    if password.as_deref() == Some("") {
        let draft = Entry {
            kind: EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: name.clone(),
            attrs: attrs.clone(),
        };
        ctx.svc.prov.check_password_policy(&draft, "").await?;
    }
    let e = ctx
        .svc
        .prov
        .create_account(&name, password.as_deref(), attrs)
        .await?;
    tracing::info!(admin = %by, account = %e.name, "admin: account created");
    let mut resp = response("CreateAccountResponse", NS_ADMIN);
    resp.add(cos_applied_element(ctx, &e).await?);
    Ok(resp)
}

/// Zimbra's attribute check on an account change made over SOAP: attributes the server
/// maintains (`mail`, `zimbraMailDeliveryAddress`, `zimbraMailAlias`, ...) are refused
/// with `service.INVALID_REQUEST` "<name> is immutable", except the `allowed` ones
/// (Zimbra takes `zimbraId` at creation as a special attribute). Blank values set
/// nothing and are not checked.
fn refuse_immutable(pairs: &[(String, String)], allowed: &[&str]) -> ServiceResult<()> {
    for (n, v) in pairs {
        let name = n.trim_start_matches(['+', '-']);
        if v.trim().is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            continue;
        }
        if let Some(def) = zcs_core::attrs::lookup(name)
            && def.meta().is_some_and(|m| m.immutable)
        {
            return Err(ServiceError::invalid_request(format!(
                "{} is immutable",
                def.name
            )));
        }
    }
    Ok(())
}

/// Zimbra's `MailHost` callback: a `zimbraMailHost` being set must name a server
/// (`service.INVALID_REQUEST` otherwise).
async fn check_mail_host(ctx: &Ctx<'_>, pairs: &[(String, String)]) -> ServiceResult<()> {
    for (n, v) in pairs {
        let v = v.trim();
        if !n
            .trim_start_matches('+')
            .eq_ignore_ascii_case("zimbraMailHost")
            || v.is_empty()
        {
            continue;
        }
        if ctx
            .svc
            .prov
            .get_server(&EntryKey::Name(v.to_string()))
            .await
            .is_err()
        {
            return Err(ServiceError::invalid_request(format!(
                "specified zimbraMailHost does not correspond to a valid server service \
                 hostname: {v}"
            )));
        }
    }
    Ok(())
}

/// Zimbra looks the new account's domain up before it judges the whole address, so a
/// name whose domain part is not a domain (`x@some text`) is `account.NO_SUCH_DOMAIN`;
/// a name without a domain part is left to the address check.
async fn require_domain(ctx: &Ctx<'_>, name: &str) -> ServiceResult<()> {
    let Some((local, domain)) = name.rsplit_once('@') else {
        return Ok(());
    };
    let domain = domain.trim().to_lowercase();
    if local.is_empty() || domain.is_empty() {
        return Ok(());
    }
    // A domain name that cannot even be looked up names no domain either.
    match ctx
        .svc
        .prov
        .get_domain(&EntryKey::Name(domain.clone()))
        .await
    {
        Err(e) if e.code == zcs_core::FaultCode::Failure => Err(e),
        Err(_) => Err(ServiceError::new(
            zcs_core::FaultCode::NoSuchDomain,
            format!("no such domain: {domain}"),
        )),
        Ok(_) => Ok(()),
    }
}

/// Accounts live only in local domains: an alias domain (`zimbraDomainType alias`) takes
/// none (the harness records Zimbra's answer as `service.FAILURE`).
async fn refuse_alias_domain(ctx: &Ctx<'_>, name: &str) -> ServiceResult<()> {
    let Some((_, domain)) = name.rsplit_once('@') else {
        return Ok(());
    };
    let key = EntryKey::Name(domain.trim().to_lowercase());
    if let Ok(d) = ctx.svc.prov.get_domain(&key).await
        && d.attrs
            .get("zimbraDomainType")
            .is_some_and(|t| t.eq_ignore_ascii_case("alias"))
    {
        return Err(ServiceError::failure("domain type must be local"));
    }
    Ok(())
}

/// An entry's structural object class cannot change (RFC 4512 §2.4.2): replacing
/// `objectClass` with values that leave out `inetOrgPerson`, or removing it, is refused
/// as the directory refuses it.
fn keep_structural_class(current: &Entry, edits: &[AttrEdit]) -> ServiceResult<()> {
    const STRUCTURAL: &str = "inetOrgPerson";
    let has = |vals: &[String]| vals.iter().any(|v| v.eq_ignore_ascii_case(STRUCTURAL));
    if !has(current.attrs.get_all("objectClass")) {
        return Ok(());
    }
    for e in edits {
        let drops = match e {
            AttrEdit::Replace(n, vals) if n.eq_ignore_ascii_case("objectClass") => !has(vals),
            AttrEdit::Remove(n, v) if n.eq_ignore_ascii_case("objectClass") => {
                v.is_empty() || v.eq_ignore_ascii_case(STRUCTURAL)
            }
            _ => false,
        };
        if drops {
            return Err(ServiceError::invalid_request(
                "objectClass: the structural object class inetOrgPerson cannot be removed",
            ));
        }
    }
    Ok(())
}

/// Zimbra's directory hashes a clear-text `userPassword` it is given (slapd's
/// `ppolicy_hash_cleartext`), with no strength check; a value already in a supported
/// hash form is kept.
fn hash_clear_passwords(attrs: &mut Attrs) {
    let values = attrs.get_all("userPassword").to_vec();
    if values.is_empty() {
        return;
    }
    let hashed: Vec<String> = values.iter().map(|v| hash_if_clear(v)).collect();
    attrs.set("userPassword", hashed);
}

fn hash_if_clear(v: &str) -> String {
    if v.is_empty() || zcs_directory::password::is_supported(v) {
        v.to_string()
    } else {
        zcs_directory::password::hash(v)
    }
}

/// [`hash_clear_passwords`] for the edits of a modify request.
fn hash_clear_password_edits(edits: Vec<AttrEdit>) -> Vec<AttrEdit> {
    edits
        .into_iter()
        .map(|e| match e {
            AttrEdit::Replace(n, vals) if n.eq_ignore_ascii_case("userPassword") => {
                let vals = vals.iter().map(|v| hash_if_clear(v)).collect();
                AttrEdit::Replace(n, vals)
            }
            AttrEdit::Add(n, v) if n.eq_ignore_ascii_case("userPassword") => {
                let v = hash_if_clear(&v);
                AttrEdit::Add(n, v)
            }
            other => other,
        })
        .collect()
}

/// GetAccountMembershipRequest `account by=`: the distribution lists the account is in,
/// directly or through another list (`via=` names that list).
async fn membership(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = find(ctx, req).await?;
    let lists = ctx.svc.prov.group_membership(&e.name).await?;
    let mut resp = response("GetAccountMembershipResponse", NS_ADMIN);
    for (dl, via) in &lists {
        let el = resp.add_new("dl");
        el.set("name", dl.name.clone());
        el.set("id", dl.id.to_string());
        el.set_bool(
            "isAdminGroup",
            dl.attrs
                .get("zimbraIsAdminGroup")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        );
        if let Some(v) = via {
            el.set("via", v.clone());
        }
    }
    Ok(resp)
}

/// GetAllAdminAccountsRequest: every global or delegated administrator.
async fn all_admins(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let all = ctx.svc.prov.all_accounts(None).await?;
    let mut resp = response("GetAllAdminAccountsResponse", NS_ADMIN);
    for e in &all {
        let admin = ["zimbraIsAdminAccount", "zimbraIsDelegatedAdminAccount"]
            .iter()
            .any(|a| {
                e.attrs
                    .get(a)
                    .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
            });
        if admin {
            resp.add(account_element(e, None));
        }
    }
    Ok(resp)
}

/// DelegateAuthRequest `duration=` (seconds) `<account by=>`: a user token for the
/// named account, issued to the calling admin (no cookie is set) and carrying the
/// admin's id. Logged in the audit log with the admin, the account and the address.
async fn delegate_auth(
    ctx: &mut Ctx<'_>,
    req: &Element,
    admin: &super::super::context::Auth,
) -> ServiceResult<Element> {
    let target = find(ctx, req).await?;
    let duration_s = req.int_attr("duration", 0)?.max(0);
    let opts = IssueOpts {
        admin: false,
        csrf: false,
        delegator: Some((admin.account.id, duration_s.saturating_mul(1000))),
    };
    let (tok, issued) = issue_with(ctx, &target, opts).await?;
    super::super::search::delayed_index::on_delegate_auth(ctx, &target).await;
    tracing::info!(target: "zimbra.security", cmd = "DelegateAuth", name = %target.name,
        admin = %admin.account.name, ip = %ctx.caller.remote_ip, via = "soap",
        "delegated auth token issued");
    let mut resp = response("DelegateAuthResponse", NS_ADMIN);
    resp.add_text("authToken", tok);
    resp.set_content(
        "lifetime",
        (issued.expires_ms - issued.issued_ms()).to_string(),
        AttrKind::Num,
    );
    Ok(resp)
}

async fn get(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = find(ctx, req).await?;
    let only = attr_filter(req);
    let attrs = if req.bool_attr("applyCos", true)? {
        ctx.svc.prov.effective_account_attrs(&e).await?
    } else {
        e.attrs.clone()
    };
    let mut resp = response("GetAccountResponse", NS_ADMIN);
    resp.add(entry_element("account", &e, &attrs, only.as_deref()));
    Ok(resp)
}

/// Admin GetAccountInfoRequest `account by=`: the account's name, `zimbraId` and mail
/// host, the COS it takes its defaults from (`cos id= name=`), and its SOAP URLs.
async fn account_info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let e = find(ctx, req).await?;
    let mut resp = response("GetAccountInfoResponse", NS_ADMIN);
    resp.set_content("name", e.name.clone(), AttrKind::Str);
    let mut attr = |n: &str, v: String| {
        resp.add_new("a").set("n", n).set_text(v);
    };
    attr("zimbraId", e.id.to_string());
    if let Some(host) = e.attrs.get("zimbraMailHost") {
        attr("zimbraMailHost", host.to_string());
    }
    if let Some(cos) = ctx.svc.prov.account_cos(&e).await? {
        resp.add_new("cos")
            .set("id", cos.id.to_string())
            .set("name", cos.name.clone());
    }
    let host = ctx.svc.hostname.clone();
    // The admin port this server listens on (its entry's zimbraAdminPort, else Zimbra's).
    let admin_port = ctx
        .svc
        .prov
        .get_server(&EntryKey::Name(host.clone()))
        .await
        .ok()
        .and_then(|s| s.attrs.get("zimbraAdminPort").map(str::to_string))
        .unwrap_or_else(|| "7071".into());
    resp.set_content(
        "soapURL",
        format!("https://{host}/service/soap/"),
        AttrKind::Str,
    );
    resp.set_content(
        "adminSoapURL",
        format!("https://{host}:{admin_port}/service/admin/soap/"),
        AttrKind::Str,
    );
    Ok(resp)
}

async fn modify(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    refuse_immutable(&req.a_pairs(), &[])?;
    let edits = hash_clear_password_edits(edits_from(req)?);
    check_mail_host(ctx, &req.a_pairs()).await?;
    keep_structural_class(&ctx.svc.prov.get_account(&id).await?, &edits)?;
    let e = ctx.svc.prov.modify_account(&id, &edits).await?;
    tracing::info!(admin = %by, account = %e.name, "admin: account modified");
    let mut resp = response("ModifyAccountResponse", NS_ADMIN);
    resp.add(cos_applied_element(ctx, &e).await?);
    Ok(resp)
}

async fn rename(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let new_name = req.req("newName")?.trim().to_string();
    // Nothing moves into a suspended or shut-down domain (Zimbra: PERM_DENIED).
    if let Some((_, domain)) = new_name.rsplit_once('@')
        && let Ok(d) = ctx
            .svc
            .prov
            .get_domain(&EntryKey::Name(domain.to_string()))
            .await
        && matches!(
            d.attrs.get("zimbraDomainStatus"),
            Some("suspended" | "shutdown")
        )
    {
        return Err(ServiceError::perm_denied(format!(
            "domain {} is {}",
            d.name,
            d.attrs.get("zimbraDomainStatus").unwrap_or("")
        )));
    }
    let e = ctx.svc.prov.rename_account(&id, &new_name).await?;
    tracing::info!(admin = %by, account = %e.name, "admin: account renamed");
    let mut resp = response("RenameAccountResponse", NS_ADMIN);
    // The entry's id on the response itself, as Zimbra's harness reads it.
    resp.set("id", e.id.to_string());
    resp.add(cos_applied_element(ctx, &e).await?);
    Ok(resp)
}

async fn delete(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let e = ctx.svc.prov.delete_account(&id).await?;
    if let Err(err) = ctx.svc.store.delete_mailbox(e.id).await {
        tracing::warn!(account = %e.name, error = %err, "delete mailbox failed");
    }
    tracing::info!(admin = %by, account = %e.name, "admin: account deleted");
    let mut resp = response("DeleteAccountResponse", NS_ADMIN);
    resp.set("id", e.id.to_string());
    Ok(resp)
}

async fn get_all(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let domain = req.child("domain").map(|d| d.text().trim().to_string());
    let all = ctx.svc.prov.all_accounts(domain.as_deref()).await?;
    let mut resp = response("GetAllAccountsResponse", NS_ADMIN);
    for e in &all {
        resp.add(account_element(e, None));
    }
    Ok(resp)
}

async fn set_password(ctx: &mut Ctx<'_>, req: &Element, by: &str) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let pw = req.req("newPassword")?;
    ctx.svc.prov.set_password(&id, pw).await?;
    tracing::info!(admin = %by, account = %id, "admin: password set");
    Ok(response("SetPasswordResponse", NS_ADMIN))
}

async fn alias(ctx: &mut Ctx<'_>, req: &Element, add: bool) -> ServiceResult<Element> {
    let id = req.req("id")?.trim().to_string();
    let alias = req.req("alias")?.trim().to_string();
    if add {
        ctx.svc.prov.add_account_alias(&id, &alias).await?;
        let mut resp = response("AddAccountAliasResponse", NS_ADMIN);
        resp.set("id", id);
        Ok(resp)
    } else {
        // As Zimbra's removeAlias: the alias must be an address (service.INVALID_REQUEST)
        // in a domain that exists (account.NO_SUCH_DOMAIN) before it is looked for.
        let addr = zcs_directory::names::normalize_address(&alias).map_err(|_| {
            ServiceError::invalid_request(format!("must be valid email address: {alias}"))
        })?;
        if let Some((_, domain)) = zcs_directory::names::split_address(&addr) {
            ctx.svc
                .prov
                .get_domain(&EntryKey::Name(domain.to_string()))
                .await?;
        }
        ctx.svc.prov.remove_account_alias(&id, &alias).await?;
        drop_from_lists(ctx, &addr).await?;
        let mut resp = response("RemoveAccountAliasResponse", NS_ADMIN);
        resp.set("id", id);
        Ok(resp)
    }
}

/// A removed alias stops being a member of the static lists that named it, as Zimbra's
/// `removeAlias` does (bug 4091).
async fn drop_from_lists(ctx: &Ctx<'_>, addr: &str) -> ServiceResult<()> {
    let prov = &ctx.svc.prov;
    for g in prov.all_groups(None).await? {
        if g.kind != EntryKind::DistributionList {
            continue;
        }
        let members = prov.group_members(&g).await?;
        if members.iter().any(|m| m.eq_ignore_ascii_case(addr)) {
            prov.remove_group_members(&g.id.to_string(), &[addr.to_string()])
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(classes: &[&str]) -> Entry {
        let mut attrs = Attrs::new();
        for c in classes {
            attrs.add("objectClass", *c);
        }
        Entry {
            kind: EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: "a@x.test".into(),
            attrs,
        }
    }

    #[test]
    fn structural_class_stays() {
        let a = account(&["inetOrgPerson", "zimbraAccount"]);
        let replace = |v: &[&str]| {
            vec![AttrEdit::Replace(
                "objectClass".into(),
                v.iter().map(|s| s.to_string()).collect(),
            )]
        };
        assert!(keep_structural_class(&a, &replace(&["organizationalPerson"])).is_err());
        assert!(keep_structural_class(&a, &replace(&["zimbraAccount"])).is_err());
        assert!(keep_structural_class(&a, &replace(&["inetOrgPerson", "zimbraAccount"])).is_ok());
        let remove = vec![AttrEdit::Remove(
            "objectClass".into(),
            "inetOrgPerson".into(),
        )];
        assert!(keep_structural_class(&a, &remove).is_err());
        let add = vec![AttrEdit::Add("objectClass".into(), "amavisAccount".into())];
        assert!(keep_structural_class(&a, &add).is_ok());
    }

    #[test]
    fn immutable_attributes_are_refused_by_name() {
        let pairs = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        let e = refuse_immutable(&pairs("zimbraMailDeliveryAddress", "a@b.c"), &[]).unwrap_err();
        assert_eq!(e.code, zcs_core::FaultCode::InvalidRequest);
        assert_eq!(e.message, "zimbraMailDeliveryAddress is immutable");
        // Blank values set nothing; allowed names pass; mutable ones pass.
        assert!(refuse_immutable(&pairs("mail", "   "), &[]).is_ok());
        assert!(refuse_immutable(&pairs("zimbraId", "x"), &["zimbraId"]).is_ok());
        assert!(refuse_immutable(&pairs("displayName", "x"), &[]).is_ok());
    }

    #[test]
    fn clear_passwords_are_hashed_once() {
        let mut attrs = Attrs::new();
        attrs.add("userPassword", "test1234");
        hash_clear_passwords(&mut attrs);
        let stored = attrs.get("userPassword").unwrap().to_string();
        assert!(zcs_directory::password::verify("test1234", &stored));
        assert_eq!(hash_if_clear(&stored), stored);
    }
}
