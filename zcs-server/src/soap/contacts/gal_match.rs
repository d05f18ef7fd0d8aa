//! The GAL's part of AutoCompleteRequest: when the account's
//! `zimbraPrefGalAutoCompleteEnabled` is TRUE (and its COS leaves
//! `zimbraFeatureGalAutoCompleteEnabled` on), the directory's GAL entries whose names or
//! addresses start with what the user typed, as `match type="gal"` elements (a list
//! as `isGroup="1"`), the way Zimbra's ContactAutoComplete adds them after the
//! address books.

use zcs_core::{EntryKind, ServiceResult};
use zcs_directory::provisioning::gal::{GalRequest, GalType};

use super::super::context::Ctx;
use super::super::element::Element;
use super::quoted_address;

/// Whether an effective boolean attribute is TRUE.
fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// The GAL matches of `text` for the caller, at most `limit`: each with its address
/// (lower case) and its `match` element (ranking left for the caller to set). Empty
/// when the account does not autocomplete from the GAL.
///
/// # Errors
/// A directory failure reading the account or searching the GAL.
pub(super) async fn matches(
    ctx: &mut Ctx<'_>,
    text: &str,
    limit: usize,
) -> ServiceResult<Vec<(String, Element)>> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let attrs = prov.effective_account_attrs(&account).await?;
    if !is_true(attrs.get("zimbraPrefGalAutoCompleteEnabled"))
        || attrs
            .get("zimbraFeatureGalAutoCompleteEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
    {
        return Ok(Vec::new());
    }
    let Some(domain) = account.domain().map(str::to_string) else {
        return Ok(Vec::new());
    };
    let found = prov
        .search_gal(
            &domain,
            &GalRequest {
                text: text.to_string(),
                gal_type: GalType::Account,
                autocomplete: true,
                limit: Some(limit),
            },
        )
        .await?;
    let mut out = Vec::new();
    for e in &found.entries {
        if e.id == account.id {
            continue;
        }
        let addr = e.attrs.get("mail").unwrap_or(&e.name).trim().to_lowercase();
        if !addr.contains('@') {
            continue;
        }
        let first = e.attrs.get("givenName");
        let last = e.attrs.get("sn");
        let display = e
            .attrs
            .get("displayName")
            .or(e.attrs.get("cn"))
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!("{} {}", first.unwrap_or(""), last.unwrap_or(""))
                    .trim()
                    .to_string()
            });
        let group = matches!(
            e.kind,
            EntryKind::DistributionList | EntryKind::DynamicGroup
        );
        let mut m = Element::new("match");
        m.set("type", "gal");
        m.set("email", quoted_address(&display, &addr));
        if let Some(f) = first {
            m.set("first", f.to_string());
        }
        if let Some(l) = last {
            m.set("last", l.to_string());
        }
        if !display.is_empty() {
            m.set("display", display.clone());
        }
        m.set_bool("isGroup", group);
        if group {
            m.set_bool("exp", true);
        }
        out.push((addr, m));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_true_counts() {
        assert!(is_true(Some("TRUE")));
        assert!(is_true(Some("true")));
        assert!(!is_true(Some("FALSE")));
        assert!(!is_true(None));
    }
}
