//! MANUAL auto-provisioning: an admin creates the account of one external entry (Zimbra's
//! `AutoProvAccountRequest`, by name or by DN) and lists the external entries that have
//! no account yet (`SearchAutoProvDirectoryRequest`).

use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};

use super::external::{ExtConfig, Slot, admin_conn, expand, read, search_paged};
use super::{AutoProvBy, AutoProvCandidate, auto_prov_account_name, has_value};
use crate::directory::EntryKey;
use crate::provisioning::Provisioning;
use crate::provisioning::login::log_safe;

impl Provisioning {
    /// Creates the account of one entry of `domain`'s external directory (MANUAL mode,
    /// Zimbra's `AutoProvAccountRequest`). `by` says whether `key` is a login name
    /// (expanded into `zimbraAutoProvLdapSearchFilter`, else into the
    /// `zimbraAutoProvLdapBindDn` template, and searched as the admin DN) or the entry's
    /// DN. `password`, when given, becomes the account's local password (checked against
    /// the COS policy). The name and attributes follow the module's rules; an existing
    /// account is never changed.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` when the domain's
    /// `zimbraAutoProvMode` lacks `MANUAL`, it is not active, the settings are
    /// incomplete, or the name matches several entries; `account.NO_SUCH_ACCOUNT` when no
    /// external entry matches; `account.ACCOUNT_EXISTS`; attribute and password faults
    /// of the create; `service.TEMPORARILY_UNAVAILABLE` when the external directory
    /// cannot be reached.
    pub async fn auto_prov_account(
        &self,
        domain: &EntryKey,
        by: AutoProvBy,
        key: &str,
        password: Option<&str>,
    ) -> ServiceResult<Entry> {
        let domain = self.get_domain(domain).await?;
        if !has_value(&domain, "zimbraAutoProvMode", "MANUAL") {
            return Err(ServiceError::invalid_request(format!(
                "MANUAL auto-provisioning is not enabled on domain {}",
                domain.name
            )));
        }
        let cfg = ExtConfig::from_domain(&domain)?;
        let key = key.trim();
        let (ext, typed_local) = match by {
            AutoProvBy::Name => {
                let ext = self.find_external_by_name(&domain, &cfg, key).await?;
                (ext, key.split('@').next())
            }
            AutoProvBy::Dn => {
                let mut admin = admin_conn(&cfg).await?;
                let found = read(&mut admin, key).await;
                let _ = admin.unbind().await;
                let ext = found?.ok_or_else(|| {
                    ServiceError::new(
                        FaultCode::NoSuchAccount,
                        format!("no external entry {}", log_safe(key)),
                    )
                })?;
                (ext, None)
            }
        };
        self.create_from_external(&domain, &ext, typed_local, password)
            .await
    }

    /// The entries of `domain`'s external directory that have no account yet (Zimbra's
    /// `SearchAutoProvDirectoryRequest`), at most `limit` of them (0 = all the external
    /// server returns). The filter is `query` when given (an LDAP filter, used as it
    /// is), else `zimbraAutoProvLdapSearchFilter` with its placeholders filled from
    /// `name`, or with `*` for `%n`/`%u` when `name` is `None`. Each entry's account name
    /// comes from `zimbraAutoProvAccountNameMap`, else its first RDN value; an entry
    /// without a valid name is left out (logged), as is one whose address an account
    /// already has.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` when there is no filter at
    /// all or the settings are incomplete; `service.TEMPORARILY_UNAVAILABLE` when the
    /// external directory cannot be reached or refuses the search.
    pub async fn search_auto_prov_directory(
        &self,
        domain: &EntryKey,
        query: Option<&str>,
        name: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Vec<AutoProvCandidate>> {
        let domain = self.get_domain(domain).await?;
        let cfg = ExtConfig::from_domain(&domain)?;
        let filter = match (
            query.map(str::trim).filter(|q| !q.is_empty()),
            &cfg.search_filter,
        ) {
            (Some(q), _) => q.to_string(),
            (None, Some(f)) => match name {
                Some(n) => expand(f, n.trim(), &domain.name, Slot::Filter),
                None => expand(f, "", &domain.name, Slot::Wildcard),
            },
            (None, None) => {
                return Err(ServiceError::invalid_request(
                    "no query and no zimbraAutoProvLdapSearchFilter",
                ));
            }
        };
        let entries = self.external_search(&cfg, &filter).await?;
        let mut out = Vec::new();
        for entry in entries {
            if limit > 0 && out.len() >= limit {
                break;
            }
            let account_name = match auto_prov_account_name(&domain, &entry, None) {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(dn = %log_safe(&entry.dn), error = %e.message,
                        "external entry gives no account name");
                    continue;
                }
            };
            if self.find_account(&account_name).await?.is_none() {
                out.push(AutoProvCandidate {
                    account_name,
                    entry,
                });
            }
        }
        Ok(out)
    }

    /// Every entry under the search base matching `filter`, as the admin DN sees them,
    /// read in pages (RFC 2696) so a source larger than the server's size limit is read
    /// whole.
    pub(super) async fn external_search(
        &self,
        cfg: &ExtConfig,
        filter: &str,
    ) -> ServiceResult<Vec<super::ExternalEntry>> {
        let mut admin = admin_conn(cfg).await?;
        let found = search_paged(&mut admin, &cfg.search_base, filter, 0).await;
        let _ = admin.unbind().await;
        found
    }
}
