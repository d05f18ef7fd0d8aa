//! Domain disclaimers from the directory: which text and HTML a sender's domain adds to
//! the mail it sends (`zcs_mta::disclaimer` does the MIME rewrite).
//!
//! The switch is `zimbraDomainMandatoryMailSignatureEnabled` on the domain, else on the
//! global config (default FALSE). The texts are the domain's
//! `zimbraAmavisDomainDisclaimerText` / `zimbraAmavisDomainDisclaimerHTML`, falling back
//! to the older `zimbraDomainMandatoryMailSignatureText` / `...HTML` of the domain and
//! then of the global config (Zimbra 8.5 moved the texts to the amavis attributes; an
//! upgrade copies a global text into every domain, which the fallback stands for).
//! `zimbraAmavisOutboundDisclaimersOnly` (global) spares mail within one domain.
//!
//! Mail from SMTP clients gets the disclaimer in the listener's filters (after the
//! scanners, before DKIM signing); mail the web client sends to other servers gets it in
//! [`super::outbound::enqueue_submitted`] through [`set_submitted_policy`].

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use zcs_core::{Attrs, FaultCode};
use zcs_directory::{EntryKey, Provisioning};
use zcs_mta::disclaimer::{Disclaimer, DisclaimerPolicy, DisclaimerSource};

/// Whether a boolean attribute value is TRUE (`None` when unset or unreadable).
fn bool_attr(attrs: &Attrs, name: &str) -> Option<bool> {
    match attrs.get(name)?.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The disclaimer of a domain with attributes `domain` under the global config
/// `global`, or `None` when disclaimers are off for it or it has no text.
pub fn disclaimer_for(domain: &Attrs, global: &Attrs) -> Option<Disclaimer> {
    let switch = "zimbraDomainMandatoryMailSignatureEnabled";
    let on = bool_attr(domain, switch)
        .or_else(|| bool_attr(global, switch))
        .unwrap_or(false);
    if !on {
        return None;
    }
    let text = |amavis: &str, old: &str| {
        [domain.get(amavis), domain.get(old), global.get(old)]
            .into_iter()
            .flatten()
            .find(|v| !v.trim().is_empty())
            .map(str::to_string)
    };
    Disclaimer::new(
        text(
            "zimbraAmavisDomainDisclaimerText",
            "zimbraDomainMandatoryMailSignatureText",
        ),
        text(
            "zimbraAmavisDomainDisclaimerHTML",
            "zimbraDomainMandatoryMailSignatureHTML",
        ),
    )
}

/// Disclaimers read from the directory's domain entries at each message (so a
/// `zmprov md` applies at once) under the global config as last read.
pub struct DirectoryDisclaimers {
    prov: Arc<Provisioning>,
    global: Attrs,
}

impl DirectoryDisclaimers {
    /// Disclaimers of `prov`'s domains under the global config attributes `global`.
    pub fn new(prov: Arc<Provisioning>, global: Attrs) -> Self {
        DirectoryDisclaimers { prov, global }
    }
}

#[async_trait]
impl DisclaimerSource for DirectoryDisclaimers {
    /// A domain that is not in the directory (mail relayed for a trusted host of
    /// another domain) gets none; a directory failure is logged and gets none.
    // LIMITATION: an alias domain's own attributes are read, not its target domain's.
    async fn disclaimer(&self, domain: &str) -> Option<Disclaimer> {
        let key = EntryKey::Name(domain.to_ascii_lowercase());
        match self.prov.get_domain(&key).await {
            Ok(d) => disclaimer_for(&d.attrs, &self.global),
            Err(e) if e.code == FaultCode::NoSuchDomain => None,
            Err(e) => {
                tracing::warn!(domain, error = %e, "domain lookup failed; no disclaimer");
                None
            }
        }
    }
}

/// The disclaimer policy of the listeners: the directory's domains under `global`.
pub fn policy(prov: Arc<Provisioning>, global: &Attrs) -> DisclaimerPolicy {
    DisclaimerPolicy {
        source: Arc::new(DirectoryDisclaimers::new(prov, global.clone())),
        outbound_only: bool_attr(global, "zimbraAmavisOutboundDisclaimersOnly").unwrap_or(false),
    }
}

/// The policy for mail submitted without SMTP, as the MTA settings were last built.
static SUBMITTED: RwLock<Option<DisclaimerPolicy>> = RwLock::new(None);

/// Remembers the disclaimer policy for [`submitted_policy`] (set at start and on each
/// reload, with the listeners' settings).
pub fn set_submitted_policy(policy: DisclaimerPolicy) {
    *SUBMITTED.write().unwrap_or_else(|p| p.into_inner()) = Some(policy);
}

/// The policy last set by [`set_submitted_policy`]; `None` before the MTA is set up.
pub fn submitted_policy() -> Option<DisclaimerPolicy> {
    SUBMITTED.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `data` from `sender` to `recipients` with the sender domain's disclaimer, when
/// [`submitted_policy`] gives one; `None` when unchanged. For mail the server sends on a
/// user's behalf without SMTP (SOAP `SendMsg`).
pub async fn with_disclaimer(sender: &str, recipients: &[String], data: &[u8]) -> Option<Vec<u8>> {
    let policy = submitted_policy()?;
    let rcpts: Vec<&str> = recipients.iter().map(String::as_str).collect();
    policy.apply(data, sender, &rcpts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_and_texts_follow_domain_then_global() {
        let mut global = Attrs::new();
        let mut domain = Attrs::new();
        domain.set_one("zimbraAmavisDomainDisclaimerText", "Legal (x.test)");
        assert_eq!(disclaimer_for(&domain, &global), None, "off by default");
        global.set_one("zimbraDomainMandatoryMailSignatureEnabled", "TRUE");
        let d = disclaimer_for(&domain, &global).expect("on");
        assert_eq!(d.text.as_deref(), Some("Legal (x.test)"));
        assert_eq!(d.html, None);
        domain.set_one("zimbraDomainMandatoryMailSignatureEnabled", "FALSE");
        assert_eq!(
            disclaimer_for(&domain, &global),
            None,
            "domain turns it off"
        );
        domain.set_one("zimbraDomainMandatoryMailSignatureEnabled", "TRUE");
        global.set_one("zimbraDomainMandatoryMailSignatureEnabled", "FALSE");
        assert!(
            disclaimer_for(&domain, &global).is_some(),
            "domain turns it on"
        );
        // The older attributes stand in for unset amavis ones.
        global.set_one("zimbraDomainMandatoryMailSignatureHTML", "<b>global</b>");
        let d = disclaimer_for(&domain, &global).expect("on");
        assert_eq!(d.html.as_deref(), Some("<b>global</b>"));
        domain.set_one("zimbraAmavisDomainDisclaimerHTML", "<b>x</b>");
        let d = disclaimer_for(&domain, &global).expect("on");
        assert_eq!(d.html.as_deref(), Some("<b>x</b>"));
        // On but without any text: nothing to add.
        assert_eq!(disclaimer_for(&domain_only_switch(), &Attrs::new()), None);
    }

    fn domain_only_switch() -> Attrs {
        let mut a = Attrs::new();
        a.set_one("zimbraDomainMandatoryMailSignatureEnabled", "TRUE");
        a
    }
}
