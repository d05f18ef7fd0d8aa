//! urn:zimbraMail BrowseRequest `browseBy="domains|attachments|objects" [regex=]
//! [maxToReturn=]`: the values the caller's mail holds, each as
//! `<bd freq="N" [h="ftc"]>value</bd>` (`h`, for domains, the headers it appears in),
//! most frequent first. The index answers ([`zcs_index::IndexBackend::browse`]).

use std::sync::Arc;

use zcs_core::{ServiceError, ServiceResult};
use zcs_index::{BrowseBy, BrowseTerm, IndexBackend, Wildcard};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_MAIL;
use super::super::response;

/// Values listed when the request names no `maxToReturn`.
const DEFAULT_MAX: usize = 100;

fn browse_by(v: &str) -> ServiceResult<BrowseBy> {
    match v.trim().to_ascii_lowercase().as_str() {
        "domains" => Ok(BrowseBy::Domains),
        "attachments" => Ok(BrowseBy::Attachments),
        "objects" => Ok(BrowseBy::Objects),
        other => Err(ServiceError::invalid_request(format!(
            "unknown browseBy: {other}"
        ))),
    }
}

/// Whether `text` matches the request's `regex`, whole and ignoring case.
///
/// LIMITATION: only `.*` (any run of characters) is read as a regular expression, and
/// `?` stands for one character; the rest of the pattern is literal text.
fn wanted(text: &str, regex: Option<&str>) -> bool {
    let Some(r) = regex.map(str::trim).filter(|r| !r.is_empty()) else {
        return true;
    };
    let glob = r.replace(".*", "*");
    match Wildcard::parse(&glob) {
        Some(w) => w.matches(&text.to_lowercase()),
        None => true,
    }
}

/// The response for `terms`.
fn browse_response(terms: &[BrowseTerm]) -> Element {
    let mut resp = response("BrowseResponse", NS_MAIL);
    for t in terms {
        let bd = resp.add_new("bd");
        if !t.headers.is_empty() {
            bd.set("h", t.headers.clone());
        }
        bd.set_num("freq", t.freq);
        bd.set_text(t.text.clone());
    }
    resp
}

/// BrowseRequest.
pub(super) async fn browse(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let by = browse_by(req.req("browseBy")?)?;
    let max = match req.int_attr("maxToReturn", DEFAULT_MAX as i64)? {
        n if n <= 0 => DEFAULT_MAX,
        n => usize::try_from(n).unwrap_or(DEFAULT_MAX),
    };
    let regex = req.attr("regex").map(str::to_string);
    let mb = ctx.mailbox().await?;
    // Mail delivered just before is listed, as Zimbra indexes pending items first.
    super::wait_for_index(ctx, &mb).await;
    let index: Arc<dyn IndexBackend> = ctx.svc.index.clone();
    let id = mb.id();
    let terms = tokio::task::spawn_blocking(move || index.browse(id, by, usize::MAX))
        .await
        .map_err(|e| ServiceError::failure(e.to_string()))?
        .map_err(ServiceError::from)?;
    let terms: Vec<BrowseTerm> = terms
        .into_iter()
        .filter(|t| wanted(&t.text, regex.as_deref()))
        .take(max)
        .collect();
    Ok(browse_response(&terms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browse_by_is_checked() {
        assert_eq!(browse_by("Domains").unwrap(), BrowseBy::Domains);
        assert_eq!(browse_by("attachments").unwrap(), BrowseBy::Attachments);
        assert_eq!(browse_by("objects").unwrap(), BrowseBy::Objects);
        assert!(browse_by("flowers").is_err());
    }

    #[test]
    fn regex_filters_values() {
        assert!(wanted("application/pdf", None));
        assert!(wanted("application/pdf", Some("application.*")));
        assert!(wanted("application/pdf", Some(".*pdf")));
        assert!(!wanted("image/png", Some("application.*")));
        assert!(wanted("foo.com", Some("foo.com")));
        assert!(!wanted("foo.com.au", Some("foo.com")));
    }

    #[test]
    fn values_are_bd_elements() {
        let resp = browse_response(&[
            BrowseTerm {
                text: "foo.com".into(),
                freq: 3,
                headers: "ft".into(),
            },
            BrowseTerm {
                text: "application".into(),
                freq: 1,
                headers: String::new(),
            },
        ]);
        let bd: Vec<&Element> = resp.children_named("bd").collect();
        assert_eq!(bd.len(), 2);
        assert_eq!(bd[0].text(), "foo.com");
        assert_eq!(bd[0].attr("h"), Some("ft"));
        assert_eq!(bd[0].attr("freq"), Some("3"));
        assert_eq!(bd[1].attr("h"), None);
    }
}
