//! Building the MTA from configuration: each listener's [`ListenerConfig`] from the
//! server entry (inheriting the global config) and local config, the queue and its
//! transports, and the content filters.
//!
//! Listener settings come from [`MtaSettings`], a view of the global config, the server
//! entry and the local config as last read; [`super::reload`] reads them again for new
//! sessions after `zmmtactl reload` (or every `zcs_mta_config_reload_seconds`), like
//! Postfix after `postfix reload`: `zimbraMtaMyNetworks` (unset:
//! [`DEFAULT_MY_NETWORKS`], loopback), `zimbraMtaRestriction`,
//! `zimbraMtaTlsAuthOnly`, `zimbraMtaMaxMessageSize`, `zimbraMtaBlockedExtension`,
//! `zimbraSpamTagPercent`, `zimbraSpamKillPercent`, `zimbraAmavisFinalSpamDestiny`,
//! `zimbraAmavisQuarantineAccount`, `zimbraVirusBlockEncryptedArchive`,
//! `zimbraVirusWarnRecipient`, `zimbraMtaBlockedExtensionWarnRecipient`,
//! `zimbraVirusWarnAdmin`, `zimbraMtaBlockedExtensionWarnAdmin` (these five TRUE when
//! unset; the administrator's address: [`admin_notice_address`]), the domain disclaimers
//! ([`super::disclaimers`], `zimbraAmavisOutboundDisclaimersOnly`), the milters
//! (`zimbraMtaSmtpdMilters`, `zimbraMtaMilter*`), the
//! per-client limits ([`limits`]) and the sessions per listener
//! (`zimbraMtaDefaultProcessLimit`, [`process_limit`]). The queue manager's
//! `zimbraMtaRelayHost` is re-read the same way ([`super::reload::ReloadingRelay`]); read
//! at start only: `zimbraMtaDnsLookupsEnabled`, `zimbraMtaTlsSecurityLevel`.
//!
//! Local config keys (unset = that scanner is off): `zcs_clamd_address` and
//! `zcs_spamd_address` (`host:port`). DNS: `zcs_dns_servers` (name servers to ask,
//! `ip[:port]` list; empty = the system's), `zcs_mta_auth_checks` (SPF/DKIM/DMARC of
//! inbound mail, on by default once `zcs_dns_servers` is set), and
//! `zcs_dmarc_reject_failures` (honour `p=reject`/`p=quarantine`, default TRUE). DKIM
//! signing keys are files `$ZCS_HOME/conf/dkim/<domain>/<selector>.private` (PEM, RSA or
//! Ed25519), since the attribute registry has no `zimbraDKIM*` attributes; `zmdkimkeyutil`
//! (`zcs_mta::dkim_keyutil`) makes, rotates and removes them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zcs_core::Entry;
use zcs_mta::milter::{DefaultAction, MilterSettings, parse_duration, parse_milter_list};
use zcs_mta::outbound::{
    LocalTransport, RelayHost, Resolver, SmtpTransport, SmtpTransportConfig, SystemResolver,
    UnavailableResolver,
};
use zcs_mta::queue::{Queue, QueueConfig, Transports};
use zcs_mta::restrictions::parse_networks;
use zcs_mta::scan::clamd::ClamdClient;
use zcs_mta::scan::spamd::SpamdClient;
use zcs_mta::scan::{SpamDestiny, SpamPolicy};
use zcs_mta::{AuthChecker, DkimKeys, Filters, ListenerConfig, LocalDelivery, Protocol};
use zcs_mta::{Limits, PolicyResolver, Restriction};

use super::auth::DirectoryAuthenticator;
use super::policy::DirectoryDomains;
use super::sink::LocalFirstSink;
use crate::frontends::Context;
use crate::localconfig::LocalConfig;

/// `zimbraMtaMyNetworks` when the attribute is unset: the loopback networks, as
/// Zimbra's installer sets them.
pub const DEFAULT_MY_NETWORKS: &str = "127.0.0.0/8 [::1]/128";

/// The kinds of MTA listener this server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerKind {
    /// Port 25 (`zimbraSmtpPort`): mail from the world, STARTTLS, AUTH after TLS.
    Smtp,
    /// Port 587 (`zcs_smtp_submission_port`): AUTH required before MAIL (RFC 6409).
    Submission,
    /// Port 465 (`zcs_smtps_port`): submission over implicit TLS (RFC 8314 §3.3).
    Smtps,
    /// `zimbraLmtpBindPort`: final delivery from another MTA; no filters, no relay.
    Lmtp,
}

/// What a listener is built from: the process context, and the global config, this
/// server's entry and the local config as last read.
#[derive(Clone, Copy)]
pub struct MtaSettings<'a> {
    /// The process context (home, directory, delivery, TLS).
    pub ctx: &'a Context,
    /// The global config entry.
    pub global: &'a Entry,
    /// This server's entry.
    pub server: &'a Entry,
    /// The local config.
    pub lc: &'a LocalConfig,
}

impl<'a> MtaSettings<'a> {
    /// The settings the server started with.
    pub fn at_start(ctx: &'a Context) -> Self {
        MtaSettings {
            ctx,
            global: &ctx.global,
            server: &ctx.server,
            lc: &ctx.subs.lc,
        }
    }

    /// Every value of a server attribute, inherited from the global config.
    fn values(&self, name: &str) -> Vec<String> {
        zcs_directory::server_attr_values(self.server, self.global, name)
    }

    /// A server attribute, inherited from the global config.
    fn attr(&self, name: &str) -> Option<String> {
        zcs_directory::server_attr(self.server, self.global, name)
    }

    /// A boolean server attribute; `default` when unset or unparsable.
    fn flag(&self, name: &str, default: bool) -> bool {
        parse_bool(self.attr(name).as_deref()).unwrap_or(default)
    }

    /// A local config value that is set and not blank.
    fn lc(&self, key: &str) -> Option<String> {
        self.lc.get(key).filter(|v| !v.trim().is_empty())
    }

    /// `zimbraMtaMaxMessageSize` (default 10240000).
    pub fn max_message_size(&self) -> u64 {
        self.attr("zimbraMtaMaxMessageSize")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(10_240_000)
    }
}

/// `TRUE`/`FALSE` (any case, also `yes`/`no`, `1`/`0`); `None` otherwise.
fn parse_bool(v: Option<&str>) -> Option<bool> {
    match v?.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// The name servers of `zcs_dns_servers` (empty: the system's). A bad list is logged
/// and the system's servers are used.
pub fn dns_servers(lc: &LocalConfig) -> Vec<std::net::SocketAddr> {
    let value = lc.get("zcs_dns_servers").unwrap_or_default();
    zcs_mta::dns::parse_name_servers(&value).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "bad zcs_dns_servers; using the system's name servers");
        Vec::new()
    })
}

/// The checker for SPF, DKIM, DMARC and the DNS restrictions, asking `zcs_dns_servers`.
/// `None` (logged) when no resolver can be built.
pub fn auth_checker(hostname: &str, lc: &LocalConfig) -> Option<Arc<AuthChecker>> {
    match AuthChecker::with_name_servers(hostname, &dns_servers(lc)) {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::warn!(error = %e, "no DNS resolver: SPF/DKIM/DMARC and DNS restrictions off");
            None
        }
    }
}

/// The queue of this home, opened once per process and shared by the listeners' sinks,
/// the queue manager and local delivery (so an enqueue wakes the manager at once).
///
/// # Errors
/// The queue directory cannot be created or read (the text says which).
pub fn shared_queue(ctx: &Context) -> Result<Queue, String> {
    static QUEUES: Mutex<Option<HashMap<PathBuf, Queue>>> = Mutex::new(None);
    let dir = ctx.queue_dir();
    let mut guard = QUEUES.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(q) = map.get(&dir) {
        return Ok(q.clone());
    }
    let queue = Queue::open(&dir, queue_config(ctx)).map_err(|e| format!("open queue: {e}"))?;
    map.insert(dir, queue.clone());
    Ok(queue)
}

/// Queue settings: Postfix's defaults, our host name for DSNs, and the local-config
/// overrides `zcs_mta_minimal_backoff_seconds` / `zcs_mta_queue_run_delay_seconds`.
pub fn queue_config(ctx: &Context) -> QueueConfig {
    let mut config = QueueConfig {
        hostname: ctx.subs.hostname.clone(),
        ..QueueConfig::default()
    };
    let secs = |key: &str| {
        ctx.subs
            .lc
            .get(key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs)
    };
    if let Some(d) = secs("zcs_mta_minimal_backoff_seconds") {
        config.minimal_backoff = d;
    }
    if let Some(d) = secs("zcs_mta_queue_run_delay_seconds") {
        config.queue_run_delay = d;
    }
    config
}

/// The transports of the queue manager: local domains (the directory's) through local
/// delivery, everything else over SMTP to `zimbraMtaRelayHost` or the MX hosts.
pub fn transports(ctx: &Arc<Context>) -> Transports {
    let relay_host = relay_host(&ctx.server, &ctx.global);
    let smtp = SmtpTransportConfig {
        helo_name: ctx.subs.hostname.clone(),
        relay_host,
        starttls: !ctx
            .server_attr("zimbraMtaTlsSecurityLevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("none")),
        dns_lookups: ctx.server_flag("zimbraMtaDnsLookupsEnabled", true),
        ..SmtpTransportConfig::default()
    };
    let resolver: Arc<dyn Resolver> =
        match SystemResolver::with_name_servers(&dns_servers(&ctx.subs.lc)) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::warn!(error = %e,
                    "no system DNS resolver; outbound mail is deferred until there is one");
                Arc::new(UnavailableResolver::new(format!("no DNS resolver: {e}")))
            }
        };
    let delivery: Arc<dyn LocalDelivery> = ctx.delivery.clone();
    let relay_source = Arc::new(super::reload::ReloadingRelay::new(ctx));
    let smtp = SmtpTransport::new(smtp, resolver).with_relay_source(relay_source);
    Transports::new(Arc::new(smtp)).with_local_policy(
        Arc::new(DirectoryDomains::new(ctx.subs.prov.clone())),
        Arc::new(LocalTransport::new(delivery)),
    )
}

/// The listener settings for `kind` as the server started.
pub fn listener_config(ctx: &Context, kind: ListenerKind) -> ListenerConfig {
    listener_config_from(MtaSettings::at_start(ctx), kind)
}

/// The listener settings for `kind` from `s`. Filters, AUTH, relay and the queue apply
/// to the SMTP listeners only; LMTP delivers at once and runs no filter (Zimbra's amavis
/// sits before LMTP, not behind it).
pub fn listener_config_from(s: MtaSettings<'_>, kind: ListenerKind) -> ListenerConfig {
    let ctx = s.ctx;
    let protocol = match kind {
        ListenerKind::Lmtp => Protocol::Lmtp,
        _ => Protocol::Smtp,
    };
    let mut config = ListenerConfig::new(protocol, &ctx.subs.hostname);
    config.max_message_size = s.max_message_size();
    if kind == ListenerKind::Lmtp {
        return config;
    }
    config.limits = limits(s);
    config.max_connections = process_limit(s.attr("zimbraMtaDefaultProcessLimit").as_deref());

    config.tls = ctx.acceptor();
    config.implicit_tls = kind == ListenerKind::Smtps;
    config.submission = matches!(kind, ListenerKind::Submission | ListenerKind::Smtps);
    if s.flag("zimbraMtaAuthEnabled", true) {
        config.authenticator = Some(Arc::new(DirectoryAuthenticator::new(ctx.subs.prov.clone())));
    }
    config.require_tls_for_auth = s.flag("zimbraMtaTlsAuthOnly", true);
    // Unset: loopback only, the value Zimbra's installer writes, so local applications
    // relay through localhost:25 as they did on Zimbra.
    let mut networks = s.values("zimbraMtaMyNetworks");
    if networks.is_empty() {
        networks.push(DEFAULT_MY_NETWORKS.to_string());
    }
    config.my_networks = networks
        .iter()
        .filter_map(|v| match parse_networks(v) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(value = %v, error = %e, "bad zimbraMtaMyNetworks value; ignored");
                None
            }
        })
        .flatten()
        .collect();
    config.recipient_policy = Some(Arc::new(DirectoryDomains::new(ctx.subs.prov.clone())));
    config.restrictions = s
        .values("zimbraMtaRestriction")
        .iter()
        .filter_map(|v| match v.parse::<Restriction>() {
            Ok(r) => Some(r),
            Err(e) => {
                // LIMITATION: Postfix restrictions zcs does not implement are skipped.
                tracing::warn!(value = %v, error = %e, "zimbraMtaRestriction not applied");
                None
            }
        })
        .collect();
    let checker = auth_checker(&ctx.subs.hostname, s.lc);
    config.policy_resolver = checker.clone().map(|c| c as Arc<dyn PolicyResolver>);
    config.filters = filters_from(s, checker);
    if let Some(policy) = &config.filters.disclaimers {
        super::disclaimers::set_submitted_policy(policy.clone());
    }
    config.milters = milter_settings(s, "zimbraMtaSmtpdMilters");
    super::outbound::set_non_smtpd_milters(milter_settings(s, "zimbraMtaNonSmtpdMilters"));
    match shared_queue(ctx) {
        Ok(queue) => config.sink = Some(Arc::new(LocalFirstSink::new(ctx.delivery.clone(), queue))),
        Err(e) => tracing::error!(error = %e, "no queue: SMTP delivers directly, no relay"),
    }
    config
}

/// The content filters from local config and the global config as the server started
/// (no SPF/DKIM/DMARC checks).
pub fn filters(ctx: &Context) -> Filters {
    filters_from(MtaSettings::at_start(ctx), None)
}

/// The content filters from `s`; `checker` verifies SPF/DKIM/DMARC when
/// `zcs_mta_auth_checks` is on (default: on when `zcs_dns_servers` is set).
pub fn filters_from(s: MtaSettings<'_>, checker: Option<Arc<AuthChecker>>) -> Filters {
    let global = |name: &str| s.global.attrs.get(name).map(str::to_string);
    let percent = |name: &str, default: u32| {
        global(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    };
    let spam = SpamPolicy {
        tag_percent: percent("zimbraSpamTagPercent", 33),
        kill_percent: percent("zimbraSpamKillPercent", 75),
        destiny: s
            .attr("zimbraAmavisFinalSpamDestiny")
            .and_then(|v| SpamDestiny::from_zimbra(&v))
            .unwrap_or_default(),
        ..SpamPolicy::default()
    };
    let keys = dkim_keys(&s.ctx.home.root().join("conf").join("dkim"));
    let checks_default = s.lc("zcs_dns_servers").is_some();
    let checks = parse_bool(s.lc("zcs_mta_auth_checks").as_deref()).unwrap_or(checks_default);
    Filters {
        clamd: s.lc("zcs_clamd_address").map(ClamdClient::new),
        virus_quarantine: global("zimbraAmavisQuarantineAccount").filter(|v| !v.is_empty()),
        blocked_extensions: s.global.attrs.get_all("zimbraMtaBlockedExtension").to_vec(),
        block_encrypted_archives: parse_bool(global("zimbraVirusBlockEncryptedArchive").as_deref())
            .unwrap_or(true),
        virus_warn_recipient: parse_bool(global("zimbraVirusWarnRecipient").as_deref())
            .unwrap_or(true),
        blocked_warn_recipient: parse_bool(
            global("zimbraMtaBlockedExtensionWarnRecipient").as_deref(),
        )
        .unwrap_or(true),
        spamd: s.lc("zcs_spamd_address").map(SpamdClient::new),
        spam,
        dkim_keys: (!keys.domains().is_empty()).then(|| Arc::new(keys)),
        auth_check: checker.filter(|_| checks),
        dmarc_enforce: parse_bool(s.lc("zcs_dmarc_reject_failures").as_deref()).unwrap_or(true),
        dmarc_log: super::dmarc::dmarc_log(s.ctx, s.lc),
        disclaimers: Some(super::disclaimers::policy(
            s.ctx.subs.prov.clone(),
            &s.global.attrs,
        )),
        virus_warn_admin: parse_bool(global("zimbraVirusWarnAdmin").as_deref()).unwrap_or(true),
        blocked_warn_admin: parse_bool(global("zimbraMtaBlockedExtensionWarnAdmin").as_deref())
            .unwrap_or(true),
        admin_address: Some(admin_notice_address(s)),
        ..Filters::default()
    }
}

/// Where virus and blocked-attachment notices for the administrator go (amavis's
/// `virus_admin`): the local config key `av_notify_user` (Zimbra's installer writes the
/// "notification address for AV alerts" there), else `admin@` the global
/// `zimbraDefaultDomainName`, else `admin@` this host's name. See
/// docs/decisions/2026-12-06-admin-virus-notices.md.
pub fn admin_notice_address(s: MtaSettings<'_>) -> String {
    if let Some(a) = s.lc("av_notify_user").filter(|a| a.contains('@')) {
        return a.trim().to_string();
    }
    let domain = s
        .global
        .attrs
        .get("zimbraDefaultDomainName")
        .filter(|d| !d.trim().is_empty())
        .map_or_else(|| s.ctx.subs.hostname.clone(), |d| d.trim().to_string());
    format!("admin@{domain}")
}

/// Per-client limits of the SMTP listeners (Postfix's anvil settings), from local
/// config: `zcs_mta_client_connection_count_limit` (default 50),
/// `zcs_mta_client_message_rate_limit` and `zcs_mta_client_recipient_rate_limit` (per
/// minute, default 0 = none); and `zimbraMtaSmtpdHardErrorLimit` (default 20).
pub fn limits(s: MtaSettings<'_>) -> Limits {
    let mut limits = Limits::default();
    let number = |v: Option<String>| v.and_then(|v| v.trim().parse::<u32>().ok());
    if let Some(n) = number(s.lc("zcs_mta_client_connection_count_limit")) {
        limits.max_connections_per_ip = n as usize;
    }
    if let Some(n) = number(s.lc("zcs_mta_client_message_rate_limit")) {
        limits.messages_per_minute_per_ip = n;
    }
    if let Some(n) = number(s.lc("zcs_mta_client_recipient_rate_limit")) {
        limits.recipients_per_minute_per_ip = n;
    }
    if let Some(n) = number(s.attr("zimbraMtaSmtpdHardErrorLimit")) {
        limits.max_errors = n;
    }
    limits
}

/// `zimbraMtaDefaultProcessLimit` when Zimbra's `default_process_limit` is unset.
pub const DEFAULT_PROCESS_LIMIT: usize = 100;

/// Sessions one SMTP listener serves at once, from `zimbraMtaDefaultProcessLimit`
/// (server, else global; default 100): Zimbra writes it to Postfix's
/// `default_process_limit`, which caps the `smtpd` processes of each service, and a
/// Postfix `smtpd` serves one client at a time, so it is the most concurrent SMTP
/// connections per port. Beyond it a client gets `421 4.7.0`. Unset, unreadable or 0
/// (which Postfix refuses) gives the default. Re-read on reload like the other
/// listener settings. The per-client cap is `zcs_mta_client_connection_count_limit`
/// (Postfix `smtpd_client_connection_count_limit`; the registry has no Zimbra
/// attribute for it), see [`limits`].
pub fn process_limit(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_PROCESS_LIMIT)
}

/// `zimbraMtaRelayHost` (server, else global) as the SMTP transport takes it; `None`
/// when unset or unreadable (logged).
pub fn relay_host(server: &Entry, global: &Entry) -> Option<RelayHost> {
    let values = zcs_directory::server_attr_values(server, global, "zimbraMtaRelayHost");
    let relay = values.iter().find_map(|v| RelayHost::parse(v));
    if relay.is_none() && values.iter().any(|v| !v.trim().is_empty()) {
        tracing::warn!(values = ?values, "zimbraMtaRelayHost unreadable; using MX lookups");
    }
    relay
}

/// The milters named by `attr` (`zimbraMtaSmtpdMilters` for the SMTP listeners,
/// `zimbraMtaNonSmtpdMilters` for submitted mail; Postfix milter lists), with the
/// `zimbraMtaMilter*Timeout` values and `zimbraMtaMilterDefaultAction`.
pub fn milter_settings(s: MtaSettings<'_>, attr: &str) -> MilterSettings {
    let mut out = MilterSettings::default();
    for value in s.values(attr) {
        let (ok, bad) = parse_milter_list(&value);
        for b in bad {
            // LIMITATION: only inet milters are supported.
            tracing::warn!(milter = %b, attr, "milter entry not usable; skipped");
        }
        out.milters.extend(ok);
    }
    let time = |name: &str, into: &mut std::time::Duration| {
        if let Some(d) = s.attr(name).and_then(|v| parse_duration(&v)) {
            *into = d;
        }
    };
    time("zimbraMtaMilterConnectTimeout", &mut out.connect_timeout);
    time("zimbraMtaMilterCommandTimeout", &mut out.command_timeout);
    time("zimbraMtaMilterContentTimeout", &mut out.content_timeout);
    if let Some(a) = s
        .attr("zimbraMtaMilterDefaultAction")
        .and_then(|v| DefaultAction::parse(&v))
    {
        out.default_action = a;
    }
    out
}

/// The DKIM signing keys under `dir`: `<domain>/<selector>.private` PEM files. A file
/// that cannot be read or parsed is logged and skipped.
pub fn dkim_keys(dir: &Path) -> DkimKeys {
    let mut keys = DkimKeys::new();
    let Ok(domains) = std::fs::read_dir(dir) else {
        return keys;
    };
    for domain in domains.flatten() {
        let Some(name) = domain.file_name().to_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(domain.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().and_then(|e| e.to_str()) != Some("private") {
                continue;
            }
            let Some(selector) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let added = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|pem| {
                    keys.add_pem(&name, selector, &pem)
                        .map_err(|e| e.to_string())
                });
            match added {
                Ok(()) => tracing::info!(domain = %name, selector, "DKIM signing key loaded"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "DKIM key skipped")
                }
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_limit_reads_zimbra_default_process_limit() {
        assert_eq!(process_limit(None), DEFAULT_PROCESS_LIMIT);
        assert_eq!(process_limit(Some("7")), 7);
        assert_eq!(process_limit(Some(" 250 ")), 250);
        // Postfix refuses 0 and words; the default stands.
        assert_eq!(process_limit(Some("0")), DEFAULT_PROCESS_LIMIT);
        assert_eq!(process_limit(Some("lots")), DEFAULT_PROCESS_LIMIT);
        assert_eq!(process_limit(Some("-3")), DEFAULT_PROCESS_LIMIT);
    }

    /// Spec 01 §6 idea 5: trusted networks set globally to A and on server S to B: S
    /// uses B, other servers use A (the lookup `MtaSettings::values` makes).
    #[test]
    fn trusted_networks_come_from_the_server_then_the_global_config() {
        use zcs_core::{Attrs, EntryKind, ZimbraId};
        let entry = |kind, name: &str, nets: &[&str]| {
            let mut attrs = Attrs::new();
            if !nets.is_empty() {
                attrs.set(
                    "zimbraMtaMyNetworks",
                    nets.iter().map(|n| n.to_string()).collect(),
                );
            }
            Entry {
                kind,
                id: ZimbraId::new(),
                name: name.into(),
                attrs,
            }
        };
        let global = entry(EntryKind::GlobalConfig, "globalconfig", &["10.0.0.0/8"]);
        let s = entry(
            EntryKind::Server,
            "s.test",
            &["192.168.7.0/24", "127.0.0.0/8"],
        );
        let other = entry(EntryKind::Server, "other.test", &[]);
        let nets =
            |server| zcs_directory::server_attr_values(server, &global, "zimbraMtaMyNetworks");
        assert_eq!(nets(&s), ["192.168.7.0/24", "127.0.0.0/8"]);
        assert_eq!(nets(&other), ["10.0.0.0/8"]);
        for v in nets(&s) {
            assert!(parse_networks(&v).is_ok(), "{v}");
        }
    }
}
