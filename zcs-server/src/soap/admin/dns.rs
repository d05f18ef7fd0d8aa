//! Admin `CheckDomainMXRecordRequest`: whether a domain's DNS MX records name the host
//! its mail should reach, as the admin console's domain wizard checks.
//!
//! The expected host is, first found: the domain's `zimbraDNSCheckHostname` (inherited
//! from the global config), its `zimbraSmtpHostname`, this server's, the global
//! config's, else the domain name itself. The answer lists the MX records that do not
//! name it as `<entry>preference host.</entry>` (JNDI's text form, which Zimbra
//! returns), then `<code>Ok</code>` when one does or `<code>Failed</code>` and a
//! `<message>` when none does. A domain without MX records is a `service.FAILURE` fault
//! whose message is `NameNotFoundException`, as Zimbra's is.
//!
//! The DNS lookups go through the service's injectable resolver
//! ([`super::super::SoapService::set_dns_resolver`]); tests give it a static zone.

use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::EntryKey;
use zcs_mta::outbound::{DnsError, MxRecord};

use super::super::context::Ctx;
use super::super::element::Element;
use super::super::envelope::NS_ADMIN;
use super::super::response;
use super::selector;

/// Answers the requests this module serves; `None` for any other name.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    match name {
        "CheckDomainMXRecordRequest" => Some(check_mx(ctx, req).await),
        _ => None,
    }
}

/// The first non-empty value of `attr` among `entries`.
fn first_attr(entries: &[Option<&Entry>], attr: &str) -> Option<String> {
    entries
        .iter()
        .flatten()
        .filter_map(|e| e.attrs.get(attr))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// The host the domain's MX records should name (see the module doc).
async fn expected_host(ctx: &Ctx<'_>, domain: &Entry) -> ServiceResult<String> {
    let prov = &ctx.svc.prov;
    let global = prov.global_config().await?;
    if let Some(h) = first_attr(&[Some(domain), Some(&global)], "zimbraDNSCheckHostname") {
        return Ok(h);
    }
    let server = prov
        .get_server(&EntryKey::Name(ctx.svc.hostname.clone()))
        .await
        .ok();
    let chain = [Some(domain), server.as_ref(), Some(&global)];
    Ok(first_attr(&chain, "zimbraSmtpHostname").unwrap_or_else(|| domain.name.clone()))
}

/// Whether an MX record names `host` (case and a trailing dot aside).
fn names_host(mx: &MxRecord, host: &str) -> bool {
    mx.exchange
        .trim_end_matches('.')
        .eq_ignore_ascii_case(host.trim_end_matches('.'))
}

/// The response for `records` (in the order DNS gave them) and the expected `host`.
pub(crate) fn mx_response(records: &[MxRecord], host: &str) -> Element {
    let mut resp = response("CheckDomainMXRecordResponse", NS_ADMIN);
    let mut found = false;
    for mx in records {
        if names_host(mx, host) {
            found = true;
            break;
        }
        let text = format!("{} {}.", mx.preference, mx.exchange.trim_end_matches('.'));
        resp.add_text("entry", text);
    }
    if found {
        resp.add_text("code", "Ok");
    } else {
        resp.add_text("code", "Failed");
        resp.add_text(
            "message",
            format!(
                "Domain is configured to use SMTP host: {host}. \
                 None of the MX records match this name."
            ),
        );
    }
    resp
}

/// `<CheckDomainMXRecordRequest><domain by="name|id">x</domain></...>`.
async fn check_mx(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.admin().await?;
    let key = selector(req, "domain")?;
    let domain = ctx.svc.prov.get_domain(&key).await?;
    let host = expected_host(ctx, &domain).await?;
    let Some(resolver) = ctx.svc.dns_resolver() else {
        return Err(ServiceError::failure(
            "Failed to verify domain's MX record. no DNS resolver is configured",
        ));
    };
    tracing::info!(domain = %domain.name, "checking domain mx record");
    match resolver.mx(&domain.name).await {
        Ok(records) if !records.is_empty() => Ok(mx_response(&records, &host)),
        Ok(_) | Err(DnsError::NotFound) => Err(ServiceError::failure("NameNotFoundException")),
        Err(DnsError::Temporary(why)) => Err(ServiceError::failure(format!(
            "Failed to verify domain's MX record. {why}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(p: u16, h: &str) -> MxRecord {
        MxRecord {
            preference: p,
            exchange: h.to_string(),
        }
    }

    #[test]
    fn matching_and_failing_records() {
        let ok = mx_response(
            &[mx(5, "other.test"), mx(10, "MAIL.Example.test.")],
            "mail.example.test",
        );
        let texts: Vec<(&str, &str)> = ok
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.text()))
            .collect();
        assert_eq!(texts, vec![("entry", "5 other.test."), ("code", "Ok")]);
        let bad = mx_response(&[mx(10, "mx.far.test")], "mail.example.test");
        assert_eq!(bad.child("code").map(Element::text), Some("Failed"));
        assert!(
            bad.child("message")
                .is_some_and(|m| m.text().contains("mail.example.test"))
        );
        assert_eq!(
            bad.child("entry").map(Element::text),
            Some("10 mx.far.test.")
        );
    }
}
