//! The gate in front of every admin request of a delegated admin
//! (`zimbraIsDelegatedAdminAccount=TRUE`): decides before routing whether its grants
//! allow the request, and trims the response of a listing request to the entries it may
//! list.
//!
//! Account, distribution-list, domain and COS requests map to an `AdminOp` decided by
//! `RightsEngine::authorize`, the same decision `zmprov` asks for a delegated admin, so
//! both refuse the same things. Setting `zimbraCOSId` to a new COS also needs
//! `assignCos` on it.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::EntryKey;
use zcs_directory::rights::{AdminOp, Target, TargetType, is_delegated_admin};

use super::super::super::context::Ctx;
use super::super::super::element::Element;
use super::{REQUESTS, caller};

/// What the gate decided for a delegated admin's request.
pub(crate) enum Gate {
    /// Not a delegated admin, or one of this module's requests: route as usual.
    Open,
    /// Allowed; route with delegated admin powers, then filter the response.
    Delegated(Filter),
    /// Refused.
    Denied(ServiceError),
}

/// How a delegated admin's response is trimmed to what it may see.
pub(crate) enum Filter {
    /// Nothing to trim.
    None,
    /// Drop listed entries it may not list (GetAllAccounts, SearchDirectory).
    Listed,
    /// Keep only the attributes it may read on this account (GetAccount).
    Readable(Target),
}

fn deny(what: &str) -> Gate {
    Gate::Denied(ServiceError::perm_denied(format!(
        "permission denied: {what}"
    )))
}

/// Decides what a delegated admin may do with an admin request before it is routed.
/// Global admins, users and anonymous callers get [`Gate::Open`] (the handlers check
/// them as before).
pub(crate) async fn gate(ctx: &mut Ctx<'_>, name: &str, req: &Element) -> Gate {
    if name == "AuthRequest" || REQUESTS.contains(&name) {
        return Gate::Open;
    }
    let me = match ctx.auth().await {
        Ok(a) if a.data.admin && is_delegated_admin(&a.account) => a.account,
        _ => return Gate::Open,
    };
    match delegated(ctx, &me, name, req).await {
        Ok(g) => g,
        Err(e) => Gate::Denied(e),
    }
}

/// A delegated admin's request: the account, list, domain and COS requests are decided
/// by [`zcs_directory::rights::RightsEngine::authorize`]; the listing requests are let
/// through and trimmed to what the admin may list; every other request is refused.
///
/// # Errors
/// `service.PERM_DENIED` naming the missing right; the "no such" fault of a target that
/// does not exist; `service.INVALID_REQUEST` when the request lacks its selector.
async fn delegated(ctx: &Ctx<'_>, me: &Entry, name: &str, req: &Element) -> ServiceResult<Gate> {
    use AdminOp as O;
    let engine = ctx.svc.prov.rights();
    let attrs: Vec<String> = req.a_pairs().into_iter().map(|(n, _)| n).collect();
    let text = |v: &str| v.trim().to_string();
    // `<account by=>` or `id=`.
    let account = || -> ServiceResult<String> {
        match super::super::selector(req, "account") {
            Ok(EntryKey::Id(id)) => Ok(id.to_string()),
            Ok(EntryKey::Name(n)) => Ok(text(&n)),
            Err(_) => Ok(text(req.req("id")?)),
        }
    };
    match name {
        "GetAllAccountsRequest" | "SearchDirectoryRequest" => {
            return Ok(Gate::Delegated(Filter::Listed));
        }
        "CreateAccountRequest" => {
            let n = text(req.req("name")?);
            engine
                .authorize(
                    me,
                    &O::CreateAccount {
                        name: &n,
                        attrs: &attrs,
                    },
                )
                .await?;
            if let Some(cos) = cos_change(req, None) {
                engine.authorize(me, &O::AssignCos { cos: &cos }).await?;
            }
        }
        "DeleteAccountRequest" => {
            engine
                .authorize(
                    me,
                    &O::DeleteAccount {
                        account: &account()?,
                    },
                )
                .await?;
        }
        "DelegateAuthRequest" => {
            engine
                .authorize(
                    me,
                    &O::DelegateAuth {
                        account: &account()?,
                    },
                )
                .await?;
        }
        "AddAccountAliasRequest" | "RemoveAccountAliasRequest" => {
            let (a, alias) = (account()?, text(req.req("alias")?));
            let op = if name.starts_with("Add") {
                O::AddAccountAlias {
                    account: &a,
                    alias: &alias,
                }
            } else {
                O::RemoveAccountAlias {
                    account: &a,
                    alias: &alias,
                }
            };
            engine.authorize(me, &op).await?;
        }
        "SetPasswordRequest" => {
            engine
                .authorize(
                    me,
                    &O::SetPassword {
                        account: &account()?,
                    },
                )
                .await?;
        }
        "RenameAccountRequest" => {
            let (a, n) = (account()?, text(req.req("newName")?));
            engine
                .authorize(
                    me,
                    &O::RenameAccount {
                        account: &a,
                        new_name: &n,
                    },
                )
                .await?;
        }
        "ModifyAccountRequest" => {
            let a = account()?;
            engine
                .authorize(
                    me,
                    &O::ModifyAccount {
                        account: &a,
                        attrs: &attrs,
                    },
                )
                .await?;
            let t = engine.target(TargetType::Account, Some(&a)).await?;
            if let Some(cos) = cos_change(req, Some(&t.entry)) {
                engine.authorize(me, &O::AssignCos { cos: &cos }).await?;
            }
        }
        "GetAccountRequest" => {
            let a = account()?;
            engine.authorize(me, &O::GetAccount { account: &a }).await?;
            let t = engine.target(TargetType::Account, Some(&a)).await?;
            return Ok(Gate::Delegated(Filter::Readable(t)));
        }
        _ => {
            return Ok(entry_op(ctx, me, name, req)
                .await?
                .unwrap_or_else(|| deny(&format!("{name} is not open to delegated admins"))));
        }
    }
    Ok(Gate::Delegated(Filter::None))
}

/// The distribution-list, domain and COS requests, decided by
/// [`zcs_directory::rights::RightsEngine::authorize`]: `None` for other requests. The
/// listing requests are let through and trimmed to what the admin may list.
///
/// # Errors
/// As [`delegated`].
async fn entry_op(
    ctx: &Ctx<'_>,
    me: &Entry,
    name: &str,
    req: &Element,
) -> ServiceResult<Option<Gate>> {
    use AdminOp as O;
    let engine = ctx.svc.prov.rights();
    let attrs: Vec<String> = req.a_pairs().into_iter().map(|(n, _)| n).collect();
    let text = |v: &str| v.trim().to_string();
    // `<dl by=>` or `id=`, as the list requests name their list.
    let list = || -> ServiceResult<String> {
        match req.child("dl") {
            Some(dl) => Ok(text(dl.text())),
            None => Ok(text(req.req("id")?)),
        }
    };
    // `<domain by=>` / `<cos by=>` or `id=`.
    let key = |tag: &str| -> ServiceResult<String> {
        Ok(match super::super::selector(req, tag)? {
            EntryKey::Id(id) => id.to_string(),
            EntryKey::Name(n) => text(&n),
        })
    };
    let decided = match name {
        "GetAllDistributionListsRequest" | "GetAllDomainsRequest" | "GetAllCosRequest" => {
            return Ok(Some(Gate::Delegated(Filter::Listed)));
        }
        "CreateDistributionListRequest" => {
            let n = text(req.req("name")?);
            engine
                .authorize(
                    me,
                    &O::CreateList {
                        name: &n,
                        attrs: &attrs,
                    },
                )
                .await
        }
        "GetDistributionListRequest" => engine.authorize(me, &O::GetList { list: &list()? }).await,
        "ModifyDistributionListRequest" => {
            let l = list()?;
            engine
                .authorize(
                    me,
                    &O::ModifyList {
                        list: &l,
                        attrs: &attrs,
                    },
                )
                .await
        }
        "DeleteDistributionListRequest" => {
            engine
                .authorize(me, &O::DeleteList { list: &list()? })
                .await
        }
        "RenameDistributionListRequest" => {
            let (l, n) = (list()?, text(req.req("newName")?));
            engine
                .authorize(
                    me,
                    &O::RenameList {
                        list: &l,
                        new_name: &n,
                    },
                )
                .await
        }
        "AddDistributionListMemberRequest" => {
            engine
                .authorize(me, &O::AddListMembers { list: &list()? })
                .await
        }
        "RemoveDistributionListMemberRequest" => {
            engine
                .authorize(me, &O::RemoveListMembers { list: &list()? })
                .await
        }
        "AddDistributionListAliasRequest" | "RemoveDistributionListAliasRequest" => {
            let (l, alias) = (list()?, text(req.req("alias")?));
            let op = if name.starts_with("Add") {
                O::AddListAlias {
                    list: &l,
                    alias: &alias,
                }
            } else {
                O::RemoveListAlias {
                    list: &l,
                    alias: &alias,
                }
            };
            engine.authorize(me, &op).await
        }
        "CreateDomainRequest" => engine.authorize(me, &O::CreateDomain).await,
        "GetDomainRequest" => {
            engine
                .authorize(
                    me,
                    &O::GetDomain {
                        domain: &key("domain")?,
                    },
                )
                .await
        }
        "ModifyDomainRequest" => {
            let d = text(req.req("id")?);
            engine
                .authorize(
                    me,
                    &O::ModifyDomain {
                        domain: &d,
                        attrs: &attrs,
                    },
                )
                .await
        }
        "DeleteDomainRequest" => {
            engine
                .authorize(
                    me,
                    &O::DeleteDomain {
                        domain: &text(req.req("id")?),
                    },
                )
                .await
        }
        "CreateCosRequest" | "CopyCosRequest" => engine.authorize(me, &O::CreateCos).await,
        "GetCosRequest" => engine.authorize(me, &O::GetCos { cos: &key("cos")? }).await,
        "ModifyCosRequest" => {
            let c = text(req.req("id")?);
            engine
                .authorize(
                    me,
                    &O::ModifyCos {
                        cos: &c,
                        attrs: &attrs,
                    },
                )
                .await
        }
        "DeleteCosRequest" => {
            engine
                .authorize(
                    me,
                    &O::DeleteCos {
                        cos: &text(req.req("id")?),
                    },
                )
                .await
        }
        "RenameCosRequest" => {
            engine
                .authorize(
                    me,
                    &O::RenameCos {
                        cos: &text(req.req("id")?),
                    },
                )
                .await
        }
        _ => return Ok(None),
    };
    decided.map(|()| Some(Gate::Delegated(Filter::None)))
}

/// The COS a create or modify request assigns with `zimbraCOSId`, when it is a new one
/// for the account (`current`, `None` on create): Zimbra then needs `assignCos` on it.
fn cos_change(req: &Element, current: Option<&Entry>) -> Option<String> {
    let now = current.and_then(|e| e.attrs.get("zimbraCOSId"));
    req.a_pairs().into_iter().find_map(|(n, v)| {
        let v = v.trim();
        let named = n
            .trim_start_matches('+')
            .eq_ignore_ascii_case("zimbraCOSId");
        (named && !v.is_empty() && now.is_none_or(|c| !c.eq_ignore_ascii_case(v)))
            .then(|| v.to_string())
    })
}

/// Trims a routed response to what the delegated admin may see.
pub(crate) async fn filter(
    ctx: &mut Ctx<'_>,
    f: Filter,
    mut resp: Element,
) -> ServiceResult<Element> {
    let me = caller(ctx).await?;
    let prov = &ctx.svc.prov;
    let engine = prov.rights();
    match f {
        Filter::None => {}
        Filter::Readable(t) => {
            let ev = engine.evaluate(&me, &t).await?;
            for acct in resp.children.iter_mut().filter(|c| c.name == "account") {
                acct.children.retain(|a| {
                    a.name != "a"
                        || a.attr("n")
                            .is_some_and(|n| ev.attr_allowed(TargetType::Account, n, false))
                });
            }
        }
        Filter::Listed => {
            let mut kept = Vec::new();
            let mut dropped = 0usize;
            for child in std::mem::take(&mut resp.children) {
                let right = match child.name.as_str() {
                    "account" => Some((TargetType::Account, "listAccount")),
                    "calresource" => Some((TargetType::CalResource, "listCalendarResource")),
                    "dl" => Some((TargetType::Dl, "listDistributionList")),
                    "domain" => Some((TargetType::Domain, "listDomain")),
                    "cos" => Some((TargetType::Cos, "listCos")),
                    _ => None,
                };
                let visible = match (right, child.attr("id")) {
                    (Some((tt, r)), Some(id)) => match engine.target(tt, Some(id)).await {
                        Ok(t) => engine.check_right(&me, &t, r).await?.allowed,
                        Err(_) => false,
                    },
                    (Some(_), None) => false,
                    // LIMITATION: aliases in search results are not filtered.
                    (None, _) => true,
                };
                if visible {
                    kept.push(child);
                } else {
                    dropped += 1;
                }
            }
            resp.children = kept;
            if let Some(total) = resp
                .attr("searchTotal")
                .and_then(|v| v.parse::<usize>().ok())
            {
                resp.set_num("searchTotal", total.saturating_sub(dropped));
            }
        }
    }
    Ok(resp)
}
