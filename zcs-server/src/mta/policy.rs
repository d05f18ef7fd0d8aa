//! Which domains are local: the listeners' relay control and the queue manager's
//! routing both ask [`DirectoryDomains`], so a domain created with `zmprov cd` is local
//! at once (no restart).

use std::sync::Arc;

use async_trait::async_trait;
use zcs_directory::{EntryKey, Provisioning};
use zcs_mta::RecipientPolicy;

/// Local domains are the domains of the directory (local and alias domains alike).
pub struct DirectoryDomains {
    prov: Arc<Provisioning>,
}

impl DirectoryDomains {
    /// Domains of `prov`.
    pub fn new(prov: Arc<Provisioning>) -> Self {
        DirectoryDomains { prov }
    }
}

#[async_trait]
impl RecipientPolicy for DirectoryDomains {
    /// True for a domain entry of any `zimbraDomainType` but `external`. A directory
    /// failure answers true: the recipient is then resolved locally and gets a
    /// temporary failure rather than being relayed somewhere wrong.
    async fn is_local_domain(&self, domain: &str) -> bool {
        let key = EntryKey::Name(domain.trim().to_ascii_lowercase());
        match self.prov.get_domain(&key).await {
            Ok(d) => !d
                .attrs
                .get("zimbraDomainType")
                .is_some_and(|t| t.eq_ignore_ascii_case("external")),
            Err(e) if e.code == zcs_core::FaultCode::NoSuchDomain => false,
            Err(e) => {
                tracing::warn!(domain, error = %e, "domain lookup failed");
                true
            }
        }
    }
}
