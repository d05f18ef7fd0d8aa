//! urn:zimbraAccount requests that list what a client may choose from:
//! GetAvailableSkins, GetAvailableLocales and GetAvailableCsvFormats.

use zcs_core::ServiceResult;

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
    _req: &Element,
) -> Option<ServiceResult<Element>> {
    Some(match name {
        "GetAvailableSkinsRequest" => skins(ctx).await,
        "GetAvailableCsvFormatsRequest" => csv_formats(ctx).await,
        "GetAvailableLocalesRequest" => locales(ctx).await,
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
