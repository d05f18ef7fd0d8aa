//! EAGER auto-provisioning: one polling cycle over a domain (search the external
//! directory, create at most `zimbraAutoProvBatchSize` missing accounts, record
//! `zimbraAutoProvLastPolledTimestamp`), the cycle over every domain this server
//! schedules (`zimbraAutoProvScheduledDomains`), and the polling interval.

use std::time::Duration;

use zcs_core::{AttrEdit, Entry, FaultCode, ServiceError, ServiceResult};

use super::external::{ExtConfig, Slot, expand};
use super::{
    DEFAULT_BATCH_SIZE, DEFAULT_POLLING_INTERVAL, EagerReport, auto_prov_account_name,
    domain_active, has_value, parse_duration_ms, server_attr_values,
};
use crate::directory::EntryKey;
use crate::provisioning::Provisioning;
use crate::provisioning::login::log_safe;
use crate::validate::generalized_time_now;

impl Provisioning {
    /// One EAGER cycle over `domain`: searches its external directory with
    /// `zimbraAutoProvLdapSearchFilter` (`%n`/`%u` as `*`, `%d`/`%D` as the domain),
    /// skips entries whose account exists, creates accounts for the others until
    /// `zimbraAutoProvBatchSize` (domain, else global config, else
    /// [`DEFAULT_BATCH_SIZE`]) were created, then writes
    /// `zimbraAutoProvLastPolledTimestamp` on the domain. An entry that cannot be made
    /// into an account (no name, bad mapping, bad value) is logged and counted in
    /// `failed`; one a concurrent poller created first (`account.ACCOUNT_EXISTS`) counts
    /// as existing.
    ///
    /// # Errors
    /// `account.NO_SUCH_DOMAIN`; `service.INVALID_REQUEST` when the domain's
    /// `zimbraAutoProvMode` lacks `EAGER`, it is not active, or it has no search filter
    /// or URL; `service.TEMPORARILY_UNAVAILABLE` when the external directory cannot be
    /// reached.
    pub async fn auto_prov_eager(&self, domain: &EntryKey) -> ServiceResult<EagerReport> {
        let domain = self.get_domain(domain).await?;
        if !has_value(&domain, "zimbraAutoProvMode", "EAGER") {
            return Err(ServiceError::invalid_request(format!(
                "EAGER auto-provisioning is not enabled on domain {}",
                domain.name
            )));
        }
        if !domain_active(&domain) {
            return Err(ServiceError::invalid_request(format!(
                "domain {} is not active",
                domain.name
            )));
        }
        let cfg = ExtConfig::from_domain(&domain)?;
        let Some(template) = &cfg.search_filter else {
            return Err(ServiceError::invalid_request(format!(
                "domain {} has no zimbraAutoProvLdapSearchFilter",
                domain.name
            )));
        };
        let batch = self.auto_prov_batch_size(&domain).await?;
        let filter = expand(template, "", &domain.name, Slot::Wildcard);
        // Paged (RFC 2696): a source larger than the server's size limit is read whole.
        let entries = self.external_search(&cfg, &filter).await?;
        let mut report = EagerReport {
            domain: domain.name.clone(),
            ..EagerReport::default()
        };
        for ext in &entries {
            if report.created.len() >= batch {
                break;
            }
            let name = match auto_prov_account_name(&domain, ext, None) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(domain = %domain.name, dn = %log_safe(&ext.dn),
                        error = %e.message, "EAGER: no account name for the entry");
                    report.failed += 1;
                    continue;
                }
            };
            if self.find_account(&name).await?.is_some() {
                report.existing += 1;
                continue;
            }
            match self.create_from_external(&domain, ext, None, None).await {
                Ok(acct) => report.created.push(acct.name),
                Err(e) if e.code == FaultCode::AccountExists => report.existing += 1,
                Err(e) if e.code == FaultCode::Temporarily => return Err(e),
                Err(e) => {
                    tracing::warn!(domain = %domain.name, dn = %log_safe(&ext.dn),
                        code = %e.code, error = %e.message, "EAGER: could not create");
                    report.failed += 1;
                }
            }
        }
        let stamp = [AttrEdit::Replace(
            "zimbraAutoProvLastPolledTimestamp".into(),
            vec![generalized_time_now()],
        )];
        self.modify_domain(&EntryKey::Id(domain.id), &stamp).await?;
        tracing::info!(domain = %domain.name, created = report.created.len(),
            existing = report.existing, failed = report.failed, "EAGER auto-provisioning cycle");
        Ok(report)
    }

    /// `zimbraAutoProvBatchSize` of `domain`, else of the global config, else
    /// [`DEFAULT_BATCH_SIZE`]; never 0.
    async fn auto_prov_batch_size(&self, domain: &Entry) -> ServiceResult<usize> {
        let parse = |e: &Entry| {
            e.attrs
                .get("zimbraAutoProvBatchSize")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        if let Some(n) = parse(domain) {
            return Ok(n);
        }
        Ok(parse(&self.global_config().await?).unwrap_or(DEFAULT_BATCH_SIZE))
    }

    /// The local server's entry (none when this process names no server) and the global
    /// config, for server-inherited attributes.
    async fn auto_prov_server_and_global(&self) -> ServiceResult<(Option<Entry>, Entry)> {
        let global = self.global_config().await?;
        let server = match self.local_server() {
            Some(name) => {
                self.dir
                    .get_entry(
                        zcs_core::EntryKind::Server,
                        &EntryKey::Name(name.to_string()),
                    )
                    .await?
            }
            None => None,
        };
        Ok((server, global))
    }

    /// The domains this server polls (`zimbraAutoProvScheduledDomains` on its server
    /// entry, else the global config's).
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn auto_prov_scheduled_domains(&self) -> ServiceResult<Vec<String>> {
        let (server, global) = self.auto_prov_server_and_global().await?;
        let values = server_attr_values(
            server.as_ref().unwrap_or(&global),
            &global,
            "zimbraAutoProvScheduledDomains",
        );
        Ok(values
            .into_iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect())
    }

    /// The EAGER polling interval: `zimbraAutoProvPollingInterval` of this server, else
    /// of the global config, else [`DEFAULT_POLLING_INTERVAL`]. Zero means "do not poll".
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn auto_prov_polling_interval(&self) -> ServiceResult<Duration> {
        let (server, global) = self.auto_prov_server_and_global().await?;
        let values = server_attr_values(
            server.as_ref().unwrap_or(&global),
            &global,
            "zimbraAutoProvPollingInterval",
        );
        Ok(values
            .first()
            .and_then(|v| parse_duration_ms(v).ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_POLLING_INTERVAL))
    }

    /// One EAGER cycle over every scheduled domain, in order. A domain that fails
    /// (missing, not EAGER, unreachable directory) is logged and reported with its
    /// fault; the others still run.
    pub async fn auto_prov_poll_scheduled(&self) -> Vec<(String, ServiceResult<EagerReport>)> {
        let domains = match self.auto_prov_scheduled_domains().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e.message, "EAGER: cannot read the scheduled domains");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(domains.len());
        for name in domains {
            let r = self.auto_prov_eager(&EntryKey::Name(name.clone())).await;
            if let Err(e) = &r {
                tracing::warn!(domain = %log_safe(&name), code = %e.code, error = %e.message,
                    "EAGER: domain skipped");
            }
            out.push((name, r));
        }
        out
    }
}
