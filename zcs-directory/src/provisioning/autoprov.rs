//! Auto-provisioning accounts from a customer's external LDAP directory (`zimbraAutoProv*`
//! on the domain): LAZY (an unknown user who authenticates against the external
//! directory gets an account during that login), MANUAL (an admin creates the account of
//! one external entry, by name or by DN, and lists entries not yet provisioned) and EAGER
//! (a poll creates at most `zimbraAutoProvBatchSize` missing accounts per cycle).
//!
//! An account's local part comes from the external attribute named in
//! `zimbraAutoProvAccountNameMap`, else from the login name (LAZY, MANUAL by name), else
//! from the value of the entry's first RDN (EAGER, MANUAL by DN, searches). Its
//! attributes come from `zimbraAutoProvAttrMap` (`externalAttr=zimbraAttr` pairs); a map
//! naming an unknown Zimbra attribute, a protected one, a multi-valued external value for
//! a single-valued attribute, or a value the target syntax refuses fails the creation.
//! The new account also records the external entry's DN in `zimbraAuthLdapExternalDn`,
//! so the domain's `ldap` mechanism binds as that entry at later logins.
//!
//! Existing accounts are never touched. Two processes provisioning the same entry at
//! once are settled by the create itself: the loser gets `account.ACCOUNT_EXISTS` and
//! takes the winner's account (LAZY, when it records the same external DN) or counts it
//! as existing (EAGER).

mod eager;
mod external;
mod listener;
mod manual;

use std::time::Duration;

use zcs_core::attrs::Cardinality;
use zcs_core::attrs::value::parse_duration_ms;
use zcs_core::{Attrs, Entry, EntryKind, FaultCode, ServiceError, ServiceResult};

pub use external::ExternalEntry;
use external::{ExtConfig, Slot, admin_conn, expand, read, search, user_bind};
pub use listener::{AutoProvListener, WELCOME_LISTENER, register_auto_prov_listener};

use super::Provisioning;
use super::inherit::server_attr_values;
use super::login::log_safe;
use super::policy::now_ms;
use super::preauth::{PREAUTH_WINDOW_MS, compute_preauth};
use crate::auth::{AuthContext, account_status, status_fault};
use crate::directory::EntryKey;
use crate::names::{normalize_address, normalize_domain};

/// Accounts created per domain and EAGER cycle when neither the domain nor the global
/// config sets `zimbraAutoProvBatchSize` (the registry default).
pub const DEFAULT_BATCH_SIZE: usize = 20;

/// The poll interval when `zimbraAutoProvPollingInterval` is unset (the registry
/// default).
pub const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Zimbra attributes `zimbraAutoProvAttrMap` may not fill: the account's identity, its
/// addresses and its local password are zcs's own.
const PROTECTED: &[&str] = &[
    "objectClass",
    "zimbraId",
    "userPassword",
    "mail",
    "uid",
    "zimbraMailDeliveryAddress",
    "zimbraMailAlias",
    "zimbraCreateTimestamp",
];

/// How [`Provisioning::auto_prov_account`] finds the external entry (Zimbra's
/// `AutoProvAccountRequest` `<principal by="name|dn">`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoProvBy {
    /// A login name, expanded into `zimbraAutoProvLdapSearchFilter` (or into the
    /// `zimbraAutoProvLdapBindDn` template when no filter is set).
    Name,
    /// The entry's DN in the external directory.
    Dn,
}

/// An external entry no account has been created for yet
/// ([`Provisioning::search_auto_prov_directory`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoProvCandidate {
    /// The address its account would get.
    pub account_name: String,
    /// The entry itself.
    pub entry: ExternalEntry,
}

/// What one EAGER cycle did in one domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EagerReport {
    /// The domain's name.
    pub domain: String,
    /// Addresses of the accounts created, in creation order.
    pub created: Vec<String>,
    /// Entries skipped because their account already exists.
    pub existing: usize,
    /// Entries skipped because no valid account could be made of them (logged).
    pub failed: usize,
}

/// Whether `entry`'s multi-valued `attr` holds `value` (case-insensitively).
fn has_value(entry: &Entry, attr: &str, value: &str) -> bool {
    entry
        .attrs
        .get_all(attr)
        .iter()
        .any(|v| v.trim().eq_ignore_ascii_case(value))
}

/// Whether the domain's status lets accounts be created in it (unset or `active`).
fn domain_active(domain: &Entry) -> bool {
    domain
        .attrs
        .get("zimbraDomainStatus")
        .is_none_or(|s| s.is_empty() || s.eq_ignore_ascii_case("active"))
}

/// Whether two DNs name the same entry, compared loosely (case, spaces after commas).
fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

/// Compares two hex signatures without an early exit.
fn same_signature(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

/// The address an external entry's account gets in `domain`: the local part from the
/// attribute `zimbraAutoProvAccountNameMap` names (the part before any `@` of its single
/// value), else `typed_local`, else the entry's first RDN value.
///
/// # Errors
/// `service.INVALID_REQUEST` when the mapped attribute is missing or multi-valued, or the
/// address is not valid.
pub fn auto_prov_account_name(
    domain: &Entry,
    ext: &ExternalEntry,
    typed_local: Option<&str>,
) -> ServiceResult<String> {
    let mapped = domain
        .attrs
        .get("zimbraAutoProvAccountNameMap")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let local = match mapped {
        Some(attr) => match ext.get_all(attr) {
            [one] => one.clone(),
            [] => {
                return Err(ServiceError::invalid_request(format!(
                    "external entry has no {attr} (zimbraAutoProvAccountNameMap)"
                )));
            }
            _ => {
                return Err(ServiceError::invalid_request(format!(
                    "external entry has several {attr} values (zimbraAutoProvAccountNameMap)"
                )));
            }
        },
        None => match typed_local.or_else(|| ext.rdn_value()) {
            Some(l) => l.to_string(),
            None => {
                return Err(ServiceError::invalid_request(
                    "no account name for the external entry",
                ));
            }
        },
    };
    let local = local.split('@').next().unwrap_or_default().trim();
    normalize_address(&format!("{local}@{}", domain.name))
}

/// The attributes `zimbraAutoProvAttrMap` gives the account of `ext`. An external
/// attribute the entry does not have is skipped (an LDAP entry omits what it lacks).
///
/// # Errors
/// `account.INVALID_ATTR_VALUE` for a map value without `=` or a multi-valued external
/// value mapped to a single-valued attribute; `account.INVALID_ATTR_NAME` for an unknown
/// Zimbra attribute; `service.INVALID_REQUEST` for a protected one ([`PROTECTED`]).
/// Value syntax is checked when the account is created.
pub fn auto_prov_mapped_attrs(domain: &Entry, ext: &ExternalEntry) -> ServiceResult<Attrs> {
    let mut out = Attrs::new();
    for pair in domain.attrs.get_all("zimbraAutoProvAttrMap") {
        let Some((ext_name, z_name)) = pair.split_once('=') else {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrValue,
                format!("zimbraAutoProvAttrMap value {pair:?} is not externalAttr=zimbraAttr"),
            ));
        };
        let (ext_name, z_name) = (ext_name.trim(), z_name.trim());
        let Some(def) = zcs_core::attrs::lookup(z_name) else {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrName,
                format!("zimbraAutoProvAttrMap names unknown attribute {z_name}"),
            ));
        };
        if PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(def.name)) {
            return Err(ServiceError::invalid_request(format!(
                "zimbraAutoProvAttrMap may not set {}",
                def.name
            )));
        }
        let values = ext.get_all(ext_name);
        if values.is_empty() {
            continue;
        }
        if def.cardinality == Cardinality::Single && values.len() > 1 {
            return Err(ServiceError::new(
                FaultCode::InvalidAttrValue,
                format!(
                    "external {ext_name} has {} values; {} takes one",
                    values.len(),
                    def.name
                ),
            ));
        }
        let mut all = out.get_all(def.name).to_vec();
        all.extend(values.iter().cloned());
        out.set(def.name, all);
    }
    Ok(out)
}

impl Provisioning {
    /// The domain a login name belongs to: the part after `@`, else the global config's
    /// `zimbraDefaultDomainName`. `None` when there is no such domain.
    async fn auto_prov_login_domain(&self, typed: &str) -> ServiceResult<Option<Entry>> {
        let name = match typed.rsplit_once('@') {
            Some((_, d)) => d.to_string(),
            None => match self
                .global_config()
                .await?
                .attrs
                .get("zimbraDefaultDomainName")
            {
                Some(d) => d.to_string(),
                None => return Ok(None),
            },
        };
        let Ok(name) = normalize_domain(&name) else {
            return Ok(None);
        };
        self.dir
            .get_entry(EntryKind::Domain, &EntryKey::Name(name))
            .await
    }

    /// LAZY auto-provisioning at a password login for `name`, which names no account.
    /// Applies only when the name's domain has `LAZY` in `zimbraAutoProvMode` and `LDAP`
    /// in `zimbraAutoProvAuthMech`, and is active. The password is checked against the
    /// external directory: with `zimbraAutoProvLdapSearchFilter` (it wins when both are
    /// set), a search as the admin DN for exactly one entry and a bind as it; else a bind
    /// as the `zimbraAutoProvLdapBindDn` template. On success the account is created and
    /// returned: the login is done (no other password check applies).
    ///
    /// `Ok(None)` when the domain does not auto-provision, the external directory refuses
    /// the password, finds no single entry or cannot be reached, or the account cannot be
    /// created (all logged): the login fails as for any unknown account.
    ///
    /// # Errors
    /// A status fault when a concurrent login created the same account and its status
    /// forbids login.
    pub(super) async fn auto_prov_lazy(
        &self,
        name: &str,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<Option<Entry>> {
        let typed = name.trim();
        if typed.is_empty() || password.is_empty() {
            return Ok(None);
        }
        let Some(domain) = self.auto_prov_login_domain(typed).await? else {
            return Ok(None);
        };
        if !has_value(&domain, "zimbraAutoProvMode", "LAZY")
            || !has_value(&domain, "zimbraAutoProvAuthMech", "LDAP")
        {
            return Ok(None);
        }
        match self.lazy_ldap(&domain, typed, password).await {
            Ok(r) => Ok(r),
            Err(e) if matches!(e.code, FaultCode::AuthFailed | FaultCode::MaintenanceMode) => {
                Err(e)
            }
            Err(e) => {
                tracing::warn!(account = %log_safe(typed), domain = %domain.name,
                    proto = %ctx.protocol, code = %e.code, error = %e.message,
                    "LAZY auto-provisioning failed");
                Ok(None)
            }
        }
    }

    /// The external check and the create of [`Provisioning::auto_prov_lazy`].
    async fn lazy_ldap(
        &self,
        domain: &Entry,
        typed: &str,
        password: &str,
    ) -> ServiceResult<Option<Entry>> {
        let cfg = ExtConfig::from_domain(domain)?;
        let ext = if let Some(f) = &cfg.search_filter {
            let filter = expand(f, typed, &domain.name, Slot::Filter);
            let mut admin = admin_conn(&cfg).await?;
            let found = search(&mut admin, &cfg.search_base, &filter, 2).await;
            let _ = admin.unbind().await;
            let found = found?;
            let [entry] = found.as_slice() else {
                tracing::info!(account = %log_safe(typed), matches = found.len(),
                    "LAZY auto-provisioning: the search does not find exactly one entry");
                return Ok(None);
            };
            let Some(mut conn) = user_bind(&cfg, &entry.dn, password).await? else {
                tracing::info!(account = %log_safe(typed),
                    "LAZY auto-provisioning: external password refused");
                return Ok(None);
            };
            let _ = conn.unbind().await;
            entry.clone()
        } else if let Some(t) = &cfg.bind_dn {
            let dn = expand(t, typed, &domain.name, Slot::Dn);
            let Some(mut conn) = user_bind(&cfg, &dn, password).await? else {
                tracing::info!(account = %log_safe(typed),
                    "LAZY auto-provisioning: external password refused");
                return Ok(None);
            };
            let own = read(&mut conn, &dn).await;
            let _ = conn.unbind().await;
            self.read_bound_entry(&cfg, &dn, own.ok().flatten()).await?
        } else {
            tracing::warn!(domain = %domain.name,
                "LAZY auto-provisioning needs zimbraAutoProvLdapSearchFilter or \
                 zimbraAutoProvLdapBindDn");
            return Ok(None);
        };
        let typed_local = typed.split('@').next();
        self.lazy_create(domain, &ext, typed_local).await.map(Some)
    }

    /// The entry of `dn` as the user read it, else as the admin reads it, else with no
    /// attributes (the bind proved it exists).
    async fn read_bound_entry(
        &self,
        cfg: &ExtConfig,
        dn: &str,
        own: Option<ExternalEntry>,
    ) -> ServiceResult<ExternalEntry> {
        if let Some(e) = own {
            return Ok(e);
        }
        if cfg.admin.is_some() {
            let mut admin = admin_conn(cfg).await?;
            let e = read(&mut admin, dn).await;
            let _ = admin.unbind().await;
            if let Some(e) = e? {
                return Ok(e);
            }
        }
        Ok(ExternalEntry {
            dn: dn.to_string(),
            attrs: Default::default(),
        })
    }

    /// Creates the account of an entry whose user just proved its password; when a
    /// concurrent login created it first (`account.ACCOUNT_EXISTS` and the existing
    /// account records the same external DN), that account is the result, subject to the
    /// status checks of a login.
    async fn lazy_create(
        &self,
        domain: &Entry,
        ext: &ExternalEntry,
        typed_local: Option<&str>,
    ) -> ServiceResult<Entry> {
        match self
            .create_from_external(domain, ext, typed_local, None)
            .await
        {
            Err(e) if e.code == FaultCode::AccountExists => {
                let name = auto_prov_account_name(domain, ext, typed_local)?;
                let Some(acct) = self.find_account(&name).await? else {
                    return Err(e);
                };
                let same = acct
                    .attrs
                    .get("zimbraAuthLdapExternalDn")
                    .is_some_and(|d| same_dn(d, &ext.dn));
                if !same {
                    tracing::info!(account = %acct.name,
                        "LAZY auto-provisioning: the address belongs to another account");
                    return Err(ServiceError::auth_failed());
                }
                let status = account_status(&acct, domain.attrs.get("zimbraDomainStatus"));
                if let Some(fault) = status_fault(&status) {
                    return Err(fault);
                }
                Ok(acct)
            }
            other => other,
        }
    }

    /// Creates the account of external entry `ext` in `domain` (see the module doc),
    /// with `password` as its local password when given.
    async fn create_from_external(
        &self,
        domain: &Entry,
        ext: &ExternalEntry,
        typed_local: Option<&str>,
        password: Option<&str>,
    ) -> ServiceResult<Entry> {
        if !domain_active(domain) {
            return Err(ServiceError::invalid_request(format!(
                "domain {} is not active",
                domain.name
            )));
        }
        let name = auto_prov_account_name(domain, ext, typed_local)?;
        let mut attrs = auto_prov_mapped_attrs(domain, ext)?;
        if !attrs.contains("zimbraAuthLdapExternalDn") {
            attrs.set_one("zimbraAuthLdapExternalDn", ext.dn.clone());
        }
        let acct = self.create_account(&name, password, attrs).await?;
        tracing::info!(account = %acct.name, id = %acct.id, external_dn = %log_safe(&ext.dn),
            "account auto-provisioned");
        let named = domain
            .attrs
            .get("zimbraAutoProvListenerClass")
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(name) = named {
            match listener::auto_prov_listener(name) {
                Some(l) => l.post_create(domain, &acct, &ext.dn).await,
                None => tracing::warn!(domain = %domain.name, listener = %log_safe(name),
                    "zimbraAutoProvListenerClass names no registered listener"),
            }
        }
        // The welcome mail (Zimbra sends it whenever the domain names a from address):
        // the server registers it; a program without one (zmprov) sends none.
        let welcome = domain
            .attrs
            .get("zimbraAutoProvNotificationFromAddress")
            .is_some_and(|v| !v.trim().is_empty());
        if welcome && named != Some(listener::WELCOME_LISTENER) {
            match listener::auto_prov_listener(listener::WELCOME_LISTENER) {
                Some(l) => l.post_create(domain, &acct, &ext.dn).await,
                None => tracing::info!(account = %acct.name,
                    "auto-provisioning welcome mail not sent: no mail delivery in this program"),
            }
        }
        Ok(acct)
    }

    /// LAZY auto-provisioning at a preauth login (`zimbraAutoProvAuthMech PREAUTH`) for
    /// `account` (by `name` only), which names no account. The signature is checked as
    /// [`Provisioning::preauth_login`] does (the domain's `zimbraPreAuthKey`, the
    /// timestamp within [`PREAUTH_WINDOW_MS`]); then the external entry is found as the
    /// admin DN (the search filter, else the bind DN template read directly) and its
    /// account created. Meant for the "no such account" point of `preauth_login`.
    ///
    /// `Ok(None)` when the domain does not auto-provision by preauth, the signature or
    /// timestamp is wrong, or no single entry is found or the create fails (logged).
    ///
    /// # Errors
    /// A status fault when the account was just created by a concurrent login and its
    /// status forbids login.
    pub async fn auto_prov_lazy_preauth(
        &self,
        account: &str,
        by: &str,
        timestamp: i64,
        expires: i64,
        preauth: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<Option<Entry>> {
        let typed = account.trim();
        if !by.eq_ignore_ascii_case("name") || typed.is_empty() {
            return Ok(None);
        }
        let Some(domain) = self.auto_prov_login_domain(typed).await? else {
            return Ok(None);
        };
        if !has_value(&domain, "zimbraAutoProvMode", "LAZY")
            || !has_value(&domain, "zimbraAutoProvAuthMech", "PREAUTH")
        {
            return Ok(None);
        }
        let Some(key) = domain
            .attrs
            .get("zimbraPreAuthKey")
            .filter(|k| !k.is_empty())
        else {
            return Ok(None);
        };
        let expected = compute_preauth(key, account, by, expires, timestamp);
        if !same_signature(&expected, preauth.trim())
            || (now_ms() - timestamp).abs() > PREAUTH_WINDOW_MS
        {
            tracing::info!(account = %log_safe(typed), proto = %ctx.protocol,
                "LAZY auto-provisioning by preauth: signature or timestamp refused");
            return Ok(None);
        }
        let result = async {
            let cfg = ExtConfig::from_domain(&domain)?;
            let ext = self.find_external_by_name(&domain, &cfg, typed).await?;
            self.lazy_create(&domain, &ext, typed.split('@').next())
                .await
        }
        .await;
        match result {
            Ok(a) => Ok(Some(a)),
            Err(e) if matches!(e.code, FaultCode::AuthFailed | FaultCode::MaintenanceMode) => {
                Err(e)
            }
            Err(e) => {
                tracing::warn!(account = %log_safe(typed), domain = %domain.name,
                    code = %e.code, error = %e.message,
                    "LAZY auto-provisioning by preauth failed");
                Ok(None)
            }
        }
    }

    /// The one external entry for login name `typed`, found as the admin DN: the search
    /// filter when set, else the bind DN template read directly.
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT` when there is none; `service.INVALID_REQUEST` when the
    /// filter matches several or neither setting is configured.
    async fn find_external_by_name(
        &self,
        domain: &Entry,
        cfg: &ExtConfig,
        typed: &str,
    ) -> ServiceResult<ExternalEntry> {
        let no_such = || {
            ServiceError::new(
                FaultCode::NoSuchAccount,
                format!("no external entry for {}", log_safe(typed)),
            )
        };
        let mut admin = admin_conn(cfg).await?;
        let found = if let Some(f) = &cfg.search_filter {
            let filter = expand(f, typed, &domain.name, Slot::Filter);
            search(&mut admin, &cfg.search_base, &filter, 2).await
        } else if let Some(t) = &cfg.bind_dn {
            let dn = expand(t, typed, &domain.name, Slot::Dn);
            read(&mut admin, &dn).await.map(|e| e.into_iter().collect())
        } else {
            Err(ServiceError::invalid_request(
                "neither zimbraAutoProvLdapSearchFilter nor zimbraAutoProvLdapBindDn is set",
            ))
        };
        let _ = admin.unbind().await;
        let mut found = found?;
        match found.len() {
            0 => Err(no_such()),
            1 => Ok(found.remove(0)),
            n => Err(ServiceError::invalid_request(format!(
                "{n} external entries match {}",
                log_safe(typed)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::ZimbraId;

    fn domain(pairs: &[(&str, &[&str])]) -> Entry {
        let mut attrs = Attrs::new();
        for (n, v) in pairs {
            attrs.set(n, v.iter().map(|s| s.to_string()).collect());
        }
        Entry {
            kind: EntryKind::Domain,
            id: ZimbraId::new(),
            name: "d.test".into(),
            attrs,
        }
    }

    fn ext(pairs: &[(&str, &[&str])]) -> ExternalEntry {
        ExternalEntry {
            dn: "uid=jdoe,ou=people,dc=x".into(),
            attrs: pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn names() {
        let e = ext(&[("mailNickname", &["JD"]), ("two", &["a", "b"])]);
        let plain = domain(&[]);
        assert_eq!(
            auto_prov_account_name(&plain, &e, Some("x")).unwrap(),
            "x@d.test"
        );
        assert_eq!(
            auto_prov_account_name(&plain, &e, None).unwrap(),
            "jdoe@d.test"
        );
        let mapped = domain(&[("zimbraAutoProvAccountNameMap", &["mailnickname"])]);
        assert_eq!(
            auto_prov_account_name(&mapped, &e, Some("x")).unwrap(),
            "jd@d.test"
        );
        let two = domain(&[("zimbraAutoProvAccountNameMap", &["two"])]);
        assert!(auto_prov_account_name(&two, &e, None).is_err());
        let bad = ext(&[("mailNickname", &["no spaces allowed"])]);
        assert!(auto_prov_account_name(&mapped, &bad, None).is_err());
    }

    #[test]
    fn maps() {
        let e = ext(&[("sn", &["Doe"]), ("description", &["a", "b"])]);
        let ok = domain(&[(
            "zimbraAutoProvAttrMap",
            &[
                "sn=displayName",
                "description=description",
                "absent=givenName",
            ],
        )]);
        let attrs = auto_prov_mapped_attrs(&ok, &e).unwrap();
        assert_eq!(attrs.get("displayName"), Some("Doe"));
        assert_eq!(attrs.get_all("description").len(), 2);
        assert!(!attrs.contains("givenName"));
        for (map, code) in [
            ("sn=bogusAttr", FaultCode::InvalidAttrName),
            ("description=displayName", FaultCode::InvalidAttrValue),
            ("no-equals", FaultCode::InvalidAttrValue),
            ("sn=zimbraId", FaultCode::InvalidRequest),
        ] {
            let d = domain(&[("zimbraAutoProvAttrMap", &[map])]);
            assert_eq!(
                auto_prov_mapped_attrs(&d, &e).unwrap_err().code,
                code,
                "{map}"
            );
        }
    }

    #[test]
    fn helpers() {
        assert!(same_dn("uid=a, ou=P,dc=x", "UID=a,ou=p,dc=X"));
        assert!(!same_dn("uid=a,dc=x", "uid=b,dc=x"));
        assert!(same_signature("abCD", "ABcd"));
        assert!(!same_signature("abcd", "abce"));
        assert!(!same_signature("abc", "abcd"));
        assert!(domain_active(&domain(&[])));
        assert!(!domain_active(&domain(&[(
            "zimbraDomainStatus",
            &["locked"]
        )])));
        assert!(has_value(
            &domain(&[("zimbraAutoProvMode", &["eager", "LAZY"])]),
            "zimbraAutoProvMode",
            "EAGER"
        ));
    }
}
