//! urn:zimbraAccount requests that tell a client what it may choose from or needs to
//! know before anyone logs in: GetAvailableSkins, GetAvailableLocales,
//! GetAvailableCsvFormats and ClientInfo (a domain's login-page settings).

use zcs_core::ServiceResult;
use zcs_directory::EntryKey;

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ACCOUNT;
use super::super::response;

/// The web client skins Zimbra ships, offered when neither the account
/// (`zimbraAvailableSkin`) nor the server (`zimbraInstalledSkin`) names any.
const SKINS: &[&str] = &[
    "beach",
    "carbon",
    "harmony",
    "lemongrass",
    "serenity",
    "smoke",
];

/// The contact CSV layouts import and export understand, by Zimbra's names.
const CSV_FORMATS: &[&str] = &[
    "outlook-2000-csv",
    "outlook-2003-csv",
    "outlook-unknown-csv",
    "thunderbird-csv",
    "windows-live-mail-csv",
    "yahoo-csv",
    "zimbra-csv",
];

/// The locales offered: (id, English name). The web client is translated into these.
const LOCALES: &[(&str, &str)] = &[
    ("de", "German"),
    ("en_US", "English (United States)"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("nl", "Dutch"),
    ("pt_BR", "Portuguese (Brazil)"),
    ("ru", "Russian"),
    ("zh_CN", "Chinese (China)"),
];

/// Routes the listing requests; `None` for other names.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "GetAvailableSkinsRequest" => skins(ctx).await,
        "GetAvailableCsvFormatsRequest" => csv_formats(ctx).await,
        "GetAvailableLocalesRequest" => locales(ctx).await,
        "ClientInfoRequest" => client_info(ctx, req).await,
        _ => return None,
    })
}

/// GetAvailableSkinsRequest: `<skin name=/>` per skin the account may use.
async fn skins(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    let account = ctx.auth().await?.account;
    let prov = &ctx.svc.prov;
    let effective = prov.effective_account_attrs(&account).await?;
    let mut names: Vec<String> = effective
        .get_all("zimbraAvailableSkin")
        .iter()
        .map(|s| s.to_string())
        .collect();
    if names.is_empty() {
        let global = prov.global_config().await?;
        names = global
            .attrs
            .get_all("zimbraInstalledSkin")
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    if names.is_empty() {
        names = SKINS.iter().map(|s| s.to_string()).collect();
    }
    names.sort();
    names.dedup();
    let mut resp = response("GetAvailableSkinsResponse", NS_ACCOUNT);
    for n in names {
        resp.add_new("skin").set("name", n);
    }
    Ok(resp)
}

/// GetAvailableCsvFormatsRequest: `<csv name=/>` per contact CSV layout.
async fn csv_formats(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    ctx.auth().await?;
    let mut resp = response("GetAvailableCsvFormatsResponse", NS_ACCOUNT);
    for n in CSV_FORMATS {
        resp.add_new("csv").set("name", *n);
    }
    Ok(resp)
}

/// GetAvailableLocalesRequest: `<locale id= name= localName=/>` per locale.
async fn locales(ctx: &mut Ctx<'_>) -> ServiceResult<Element> {
    ctx.auth().await?;
    let mut resp = response("GetAvailableLocalesResponse", NS_ACCOUNT);
    for (id, name) in LOCALES {
        resp.add_new("locale")
            .set("id", *id)
            .set("name", *name)
            .set("localName", *name);
    }
    Ok(resp)
}

/// The domain settings ClientInfo shows, in Zimbra's order; booleans are written
/// `true`/`false`.
const CLIENT_INFO: &[&str] = &[
    "zimbraFeatureResetPasswordStatus",
    "zimbraSkinBackgroundColor",
    "zimbraSkinFavicon",
    "zimbraSkinForegroundColor",
    "zimbraSkinLogoAppBanner",
    "zimbraSkinLogoLoginBanner",
    "zimbraSkinLogoURL",
    "zimbraSkinSecondaryColor",
    "zimbraSkinSelectionColor",
    "zimbraWebClientLoginURL",
    "zimbraWebClientLogoutURL",
    "zimbraWebClientStaySignedInDisabled",
    "zimbraHelpModernURL",
    "zimbraClassicWebClientDisabled",
];

/// ClientInfoRequest `<domain by="name|id|virtualHostname">`: the domain's login-page
/// settings (the global config's where the domain has none) as `<attr name=>`; needs no
/// login. An unknown domain gives an empty answer.
async fn client_info(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let mut resp = response("ClientInfoResponse", NS_ACCOUNT);
    resp.kv = true;
    let Some(sel) = req.child("domain") else {
        return Ok(resp);
    };
    let value = sel.text().trim();
    let prov = &ctx.svc.prov;
    let found = match sel.attr("by").unwrap_or("name") {
        "id" => prov.get_domain(&EntryKey::parse(value)).await.ok(),
        "virtualHostname" => prov.all_domains().await?.into_iter().find(|d| {
            d.attrs
                .get_all("zimbraVirtualHostname")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value))
        }),
        _ => prov
            .get_domain(&EntryKey::Name(value.to_string()))
            .await
            .ok(),
    };
    let Some(domain) = found else {
        return Ok(resp);
    };
    let effective = prov.effective_domain_attrs(&domain).await?;
    for name in CLIENT_INFO {
        let boolean = zcs_core::attrs::lookup(name)
            .is_some_and(|d| d.ty == zcs_core::attrs::AttrType::Boolean);
        let value = match effective.get(name) {
            Some(v) if boolean => v.to_ascii_lowercase(),
            Some(v) => v.to_string(),
            None if boolean => "false".to_string(),
            None => continue,
        };
        resp.add_text("attr", value).set("name", *name);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hold_what_the_harness_names() {
        for n in [
            "outlook-2003-csv",
            "thunderbird-csv",
            "yahoo-csv",
            "zimbra-csv",
        ] {
            assert!(CSV_FORMATS.contains(&n), "{n}");
        }
        assert!(SKINS.contains(&"harmony"));
        assert!(LOCALES.iter().any(|(id, _)| *id == "en_US"));
    }
}
