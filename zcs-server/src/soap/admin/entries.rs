//! Admin requests for domains, COS, servers and the global config, plus the
//! service-level ones (GetVersionInfo, Ping). FlushCache is in `cache`.

use zcs_core::attrs::AttrFlags;
use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};
use zcs_directory::EntryKey;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::{add_attrs, attr_filter, attrs_from, edits_from, entry_element, selector};

/// Routes the entry requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    let known = matches!(
        name,
        "CreateDomainRequest"
            | "GetDomainRequest"
            | "GetAllDomainsRequest"
            | "ModifyDomainRequest"
            | "DeleteDomainRequest"
            | "CreateCosRequest"
            | "GetCosRequest"
            | "GetAllCosRequest"
            | "ModifyCosRequest"
            | "DeleteCosRequest"
            | "RenameCosRequest"
            | "CreateServerRequest"
            | "DeleteServerRequest"
            | "GetServerRequest"
            | "GetAllServersRequest"
            | "ModifyServerRequest"
            | "GetConfigRequest"
            | "GetAllConfigRequest"
            | "ModifyConfigRequest"
            | "GetVersionInfoRequest"
            | "PingRequest"
            | "NoOpRequest"
            | "GetDomainInfoRequest"
    );
    if !known {
        return None;
    }
    // Ping is the harness's "is the admin service up" probe; Zimbra answers it without
    // a token.
    if name == "PingRequest" {
        return Some(Ok(response("PingResponse", NS_ADMIN)));
    }
    // GetDomainInfo serves the login page before anyone is authenticated.
    if name == "GetDomainInfoRequest" {
        return Some(domain_info(ctx, req).await);
    }
    let admin = match ctx.admin().await {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let who = admin.account.name.clone();
    Some(run(ctx, name, req, &who).await)
}

/// The domain attributes GetDomainInfo shows to anyone: what a login page needs.
const DOMAIN_INFO_PREFIXES: &[&str] = &[
    "zimbraSkin",
    "zimbraWebClient",
    "zimbraAdminConsole",
    "zimbraPublicService",
    "zimbraHelp",
    "zimbraDomainStatus",
];

/// GetDomainInfoRequest `domain by="name|id|virtualHostname"`: the domain's name, id
/// and its login-page attributes; an unknown domain gives an empty response, so the
/// request tells nothing more than the login page would.
async fn domain_info(ctx: &Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let mut resp = response("GetDomainInfoResponse", NS_ADMIN);
    let Some(sel) = req.child("domain") else {
        return Ok(resp);
    };
    let value = sel.text().trim().to_string();
    let found = if sel.attr("by") == Some("virtualHostname") {
        ctx.svc.prov.all_domains().await?.into_iter().find(|d| {
            d.attrs
                .get_all("zimbraVirtualHostname")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&value))
        })
    } else {
        match selector(req, "domain") {
            Ok(k) => ctx.svc.prov.get_domain(&k).await.ok(),
            Err(_) => None,
        }
    };
    let Some(d) = found else {
        return Ok(resp);
    };
    let mut attrs = zcs_core::Attrs::new();
    for (n, vals) in d.attrs.iter() {
        if DOMAIN_INFO_PREFIXES.iter().any(|p| n.starts_with(p)) {
            for v in vals {
                attrs.add(n, v.clone());
            }
        }
    }
    resp.add(entry_element("domain", &d, &attrs, None));
    Ok(resp)
}

fn one(resp_name: &str, tag: &str, e: &Entry, only: Option<&[String]>) -> Element {
    let mut resp = response(resp_name, NS_ADMIN);
    resp.add(element_of(tag, e, only));
    resp
}

fn many(resp_name: &str, tag: &str, all: &[Entry]) -> Element {
    let mut resp = response(resp_name, NS_ADMIN);
    for e in all {
        resp.add(element_of(tag, e, None));
    }
    resp
}

/// The entry's element; a COS's attributes that accounts do not inherit are marked
/// `c="1"`, as Zimbra's GetCos marks them.
fn element_of(tag: &str, e: &Entry, only: Option<&[String]>) -> Element {
    let mut el = entry_element(tag, e, &e.attrs, only);
    if tag == "cos" {
        for a in el.children.iter_mut().filter(|c| c.name == "a") {
            let inherited = a
                .attr("n")
                .and_then(zcs_core::attrs::meta)
                .is_some_and(|m| {
                    m.flags.contains(AttrFlags::ACCOUNT_INHERITED)
                        || m.flags.contains(AttrFlags::ACCOUNT_COS_DOMAIN_INHERITED)
                });
            if !inherited {
                a.set("c", "1");
            }
        }
    }
    el
}

async fn run(ctx: &mut Ctx<'_>, name: &str, req: &Element, who: &str) -> ServiceResult<Element> {
    let prov = &ctx.svc.prov;
    let only = attr_filter(req);
    let only = only.as_deref();
    Ok(match name {
        "CreateDomainRequest" => {
            let e = prov
                .create_domain(req.req("name")?.trim(), attrs_from(req)?)
                .await?;
            tracing::info!(admin = %who, domain = %e.name, "admin: domain created");
            one("CreateDomainResponse", "domain", &e, None)
        }
        "GetDomainRequest" => {
            let e = prov.get_domain(&selector(req, "domain")?).await?;
            let effective = if req.bool_attr("applyConfig", true)? {
                prov.effective_domain_attrs(&e).await?
            } else {
                e.attrs.clone()
            };
            let mut resp = response("GetDomainResponse", NS_ADMIN);
            resp.add(entry_element("domain", &e, &effective, only));
            resp
        }
        "GetAllDomainsRequest" => many(
            "GetAllDomainsResponse",
            "domain",
            &prov.all_domains().await?,
        ),
        "ModifyDomainRequest" => {
            let key = EntryKey::parse(req.req("id")?);
            let e = prov.modify_domain(&key, &edits_from(req)?).await?;
            tracing::info!(admin = %who, domain = %e.name, "admin: domain modified");
            one("ModifyDomainResponse", "domain", &e, None)
        }
        "DeleteDomainRequest" => {
            prov.delete_domain(&EntryKey::parse(req.req("id")?)).await?;
            tracing::info!(admin = %who, "admin: domain deleted");
            response("DeleteDomainResponse", NS_ADMIN)
        }
        "CreateCosRequest" => {
            let name = req.req("name")?.trim();
            // Zimbra's LDAP layer is what refuses an empty COS name.
            if name.is_empty() {
                return Err(ServiceError::new(
                    FaultCode::LdapError,
                    "LDAP error: invalid COS name",
                ));
            }
            let e = prov.create_cos(name, attrs_from(req)?).await?;
            tracing::info!(admin = %who, cos = %e.name, "admin: cos created");
            one("CreateCosResponse", "cos", &e, None)
        }
        "GetCosRequest" => one(
            "GetCosResponse",
            "cos",
            &prov.get_cos(&selector(req, "cos")?).await?,
            only,
        ),
        "GetAllCosRequest" => many("GetAllCosResponse", "cos", &prov.all_cos().await?),
        "ModifyCosRequest" => {
            let key = EntryKey::parse(req.req("id")?);
            let e = prov.modify_cos(&key, &edits_from(req)?).await?;
            tracing::info!(admin = %who, cos = %e.name, "admin: cos modified");
            one("ModifyCosResponse", "cos", &e, None)
        }
        "RenameCosRequest" => {
            let key = EntryKey::parse(req.req("id")?);
            let e = prov.rename_cos(&key, req.req("newName")?.trim()).await?;
            one("RenameCosResponse", "cos", &e, None)
        }
        "DeleteCosRequest" => {
            let id = req.req("id")?.trim().to_string();
            prov.delete_cos(&EntryKey::parse(&id)).await?;
            tracing::info!(admin = %who, "admin: cos deleted");
            let mut resp = response("DeleteCosResponse", NS_ADMIN);
            resp.set("id", id);
            resp
        }
        "CreateServerRequest" => {
            let name = req.req("name")?.trim();
            // Zimbra takes spaces inside a server name (Server-Create.xml), not a blank one.
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(ServiceError::invalid_request(format!(
                    "invalid server name: {name}"
                )));
            }
            let e = prov.create_server(name, attrs_from(req)?).await?;
            tracing::info!(admin = %who, server = %e.name, "admin: server created");
            one("CreateServerResponse", "server", &e, None)
        }
        "DeleteServerRequest" => {
            let key = EntryKey::parse(req.req("id")?);
            let server = prov.get_server(&key).await?;
            // The entry this server runs as holds its own settings: never removed.
            if prov.local_server() == Some(server.name.as_str()) {
                return Err(ServiceError::invalid_request(
                    "the server this request runs on cannot be deleted",
                ));
            }
            prov.delete_server(&key).await?;
            tracing::info!(admin = %who, "admin: server deleted");
            response("DeleteServerResponse", NS_ADMIN)
        }
        "GetServerRequest" => {
            let e = prov.get_server(&selector(req, "server")?).await?;
            one("GetServerResponse", "server", &e, only)
        }
        "GetAllServersRequest" => many(
            "GetAllServersResponse",
            "server",
            &prov.all_servers().await?,
        ),
        "ModifyServerRequest" => {
            // Zimbra finds the server by id only: a name there is no such server.
            let id = req.req("id")?.trim();
            let key = match EntryKey::parse(id) {
                k @ EntryKey::Id(_) => k,
                _ => {
                    return Err(ServiceError::new(
                        zcs_core::FaultCode::NoSuchServer,
                        format!("no such server: {id}"),
                    ));
                }
            };
            let e = prov.modify_server(&key, &edits_from(req)?).await?;
            tracing::info!(admin = %who, server = %e.name, "admin: server modified");
            one("ModifyServerResponse", "server", &e, None)
        }
        "GetConfigRequest" => {
            let g = prov.global_config().await?;
            let wanted: Vec<String> = req
                .children_named("a")
                .filter_map(|a| a.attr("n").map(str::to_string))
                .collect();
            if wanted.is_empty() {
                return Err(ServiceError::invalid_request(
                    "GetConfigRequest names no attribute",
                ));
            }
            let mut resp = response("GetConfigResponse", NS_ADMIN);
            add_attrs(&mut resp, &g.attrs, Some(&wanted));
            resp
        }
        "GetAllConfigRequest" => {
            let g = prov.global_config().await?;
            let mut resp = response("GetAllConfigResponse", NS_ADMIN);
            add_attrs(&mut resp, &g.attrs, None);
            resp
        }
        "ModifyConfigRequest" => {
            let edits = edits_from(req)?;
            if edits
                .iter()
                .any(|e| e.name().eq_ignore_ascii_case("zimbraAuthTokenKey"))
            {
                return Err(ServiceError::new(
                    FaultCode::PermDenied,
                    "zimbraAuthTokenKey cannot be changed this way",
                ));
            }
            prov.modify_global_config(&edits).await?;
            tracing::info!(admin = %who, "admin: global config modified");
            response("ModifyConfigResponse", NS_ADMIN)
        }
        "GetVersionInfoRequest" => {
            let mut resp = response("GetVersionInfoResponse", NS_ADMIN);
            let version = env!("CARGO_PKG_VERSION");
            let mut parts = version.split('.');
            let info = resp.add_new("info");
            info.set("version", format!("{version}_GA_zcs"))
                .set("release", "zcs")
                .set("buildDate", "")
                .set("host", ctx.svc.hostname.clone())
                .set("majorversion", parts.next().unwrap_or("0"))
                .set("minorversion", parts.next().unwrap_or("0"))
                .set("microversion", parts.next().unwrap_or("0"))
                .set("platform", std::env::consts::OS);
            resp
        }
        "PingRequest" => response("PingResponse", NS_ADMIN),
        _ => response("NoOpResponse", NS_ADMIN),
    })
}
