//! Authentication mechanisms: the `AuthMechanism` seam, the registry that maps the
//! names found in `zimbraAuthMech` to handlers, and the built-in internal mechanism
//! (`zimbra`) that checks `userPassword`; `ldap`/`ad` live in `external`, `kerberos5` in
//! [`kerberos`].
//!
//! Mechanisms only judge a password for an account already found. Account and domain
//! status, lockout, fallbacks and logging live in [`crate::Provisioning::authenticate`].
//!
//! # Writing a `custom:NAME` mechanism
//!
//! An integrator implements [`AuthMechanism`] and registers it under `NAME`; a domain
//! with `zimbraAuthMech custom:NAME` then uses it. The contract:
//! - return `Ok(())` only when the password is right for that account;
//! - return `account.AUTH_FAILED` ([`ServiceError::auth_failed`]) for a wrong password
//!   or a user the backing service does not know, never a message saying which;
//! - return `service.TEMPORARILY_UNAVAILABLE` when the backing service cannot be reached
//!   (the login path then falls back to the local password when the domain allows it);
//! - never log the password; be cancel-safe and bound every network wait.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use zcs_core::{Entry, ServiceError, ServiceResult};
//! use zcs_directory::{AuthContext, AuthMechanism, AuthRegistry};
//!
//! /// Accepts the password stored in `zimbraNotes` (a toy; use your own service).
//! struct Notes;
//!
//! #[async_trait]
//! impl AuthMechanism for Notes {
//!     fn name(&self) -> &str { "notes" }
//!     async fn authenticate(&self, account: &Entry, password: &str, _: &AuthContext)
//!         -> ServiceResult<()> {
//!         match account.attrs.get("zimbraNotes") {
//!             Some(p) if !password.is_empty() && p == password => Ok(()),
//!             _ => Err(ServiceError::auth_failed()),
//!         }
//!     }
//! }
//!
//! let mut registry = AuthRegistry::new();
//! registry.register("notes", Arc::new(Notes)); // zimbraAuthMech custom:notes
//! assert!(registry.for_auth_mech("custom:notes").is_some());
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Entry, ServiceError, ServiceResult};

use crate::password;

mod external;
pub mod kerberos;
pub mod spnego;

pub use external::{Escape, ExternalLdapAuth, expand_template};
pub use kerberos::Kerberos5Auth;

/// The name of the internal mechanism, and the default `zimbraAuthMech`.
pub const INTERNAL: &str = "zimbra";

/// Where an authentication attempt comes from, for mechanisms and logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthContext {
    /// `imap`, `pop3`, `soap`, `smtp`, `zmprov`, ...
    pub protocol: String,
    /// The client's address, when the protocol has one.
    pub remote_ip: Option<IpAddr>,
}

/// Judges a password for an account.
#[async_trait]
pub trait AuthMechanism: Send + Sync {
    /// The name this mechanism is registered under.
    fn name(&self) -> &str;

    /// `Ok(())` when `password` is right for `account`.
    ///
    /// # Errors
    /// `account.AUTH_FAILED` when it is wrong or cannot be checked; a mechanism must not
    /// say which part was wrong. `service.FAILURE` (or `service.TEMPORARILY_UNAVAILABLE`)
    /// when a backing service is down.
    async fn authenticate(
        &self,
        account: &Entry,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<()>;

    /// [`AuthMechanism::authenticate`] with the account's domain entry at hand, which is
    /// what the login path calls. Mechanisms configured per domain (external LDAP reads
    /// `zimbraAuthLdapURL` there) override this; the default ignores the domain.
    ///
    /// # Errors
    /// As [`AuthMechanism::authenticate`].
    async fn authenticate_in_domain(
        &self,
        account: &Entry,
        domain: Option<&Entry>,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<()> {
        let _ = domain;
        self.authenticate(account, password, ctx).await
    }
}

/// The internal mechanism: the password hash in the account's `userPassword`.
#[derive(Clone, Copy, Debug, Default)]
pub struct InternalAuth;

#[async_trait]
impl AuthMechanism for InternalAuth {
    fn name(&self) -> &str {
        INTERNAL
    }

    /// Fails for an empty password, an account without `userPassword` (provisioned for
    /// external authentication) or a hash that does not match.
    async fn authenticate(
        &self,
        account: &Entry,
        password: &str,
        _ctx: &AuthContext,
    ) -> ServiceResult<()> {
        let stored = account.attrs.get("userPassword").unwrap_or("");
        if password.is_empty() || stored.is_empty() || !password::verify(password, stored) {
            return Err(ServiceError::auth_failed());
        }
        Ok(())
    }
}

/// Mechanisms by name. Names compare case-insensitively. Cloning shares the handlers.
#[derive(Clone)]
pub struct AuthRegistry {
    mechs: HashMap<String, Arc<dyn AuthMechanism>>,
}

impl std::fmt::Debug for AuthRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.mechs.keys().collect();
        names.sort();
        f.debug_struct("AuthRegistry")
            .field("mechanisms", &names)
            .finish()
    }
}

impl Default for AuthRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl AuthRegistry {
    /// A registry holding the built-in mechanisms: `zimbra` (internal), `ldap` and `ad`
    /// (external directory bind, [`ExternalLdapAuth`]), and `kerberos5` (a ticket from the
    /// realm's KDC, [`Kerberos5Auth`], KDCs from `KRB5_CONFIG` or `/etc/krb5.conf`).
    /// SPNEGO single sign-on is not a password mechanism and is not registered here; it
    /// is [`spnego::Spnego`], driven by the HTTP `Negotiate` endpoint.
    // LIMITATION: `kerberos5` does not check the KDC's reply against a service key of ours
    // (Zimbra's JAAS login does not either).
    pub fn new() -> Self {
        let mut r = AuthRegistry {
            mechs: HashMap::new(),
        };
        r.register(INTERNAL, Arc::new(InternalAuth));
        r.register("ldap", Arc::new(ExternalLdapAuth::ldap()));
        r.register("ad", Arc::new(ExternalLdapAuth::active_directory()));
        r.register(kerberos::KERBEROS5, Arc::new(Kerberos5Auth::new()));
        r
    }

    /// Same as [`AuthRegistry::new`]: the built-in mechanisms only.
    pub fn with_builtins() -> Self {
        Self::new()
    }

    /// Registers `mech` under `name`, replacing any earlier one. For
    /// `zimbraAuthMech custom:NAME`, register under `NAME`.
    pub fn register(&mut self, name: &str, mech: Arc<dyn AuthMechanism>) {
        self.mechs.insert(name.to_ascii_lowercase(), mech);
    }

    /// The mechanism registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn AuthMechanism>> {
        self.mechs.get(&name.to_ascii_lowercase()).cloned()
    }

    /// The mechanism a `zimbraAuthMech` value names: `custom:NAME` looks up `NAME`, any
    /// other value (`zimbra`, `ldap`, `ad`, `kerberos5`) is looked up as it is; an empty
    /// value means `zimbra`.
    pub fn for_auth_mech(&self, value: &str) -> Option<Arc<dyn AuthMechanism>> {
        let v = value.trim();
        if v.is_empty() {
            return self.get(INTERNAL);
        }
        match v.split_once(':') {
            Some((prefix, name)) if prefix.eq_ignore_ascii_case("custom") => self.get(name.trim()),
            _ => self.get(v),
        }
    }
}

/// The status that applies to `account` in a domain whose `zimbraDomainStatus` is
/// `domain_status`: [`effective_status`], except that a global administrator
/// (`zimbraIsAdminAccount` without `zimbraIsDomainAdminAccount`) keeps its own status
/// whatever its domain's, as in Zimbra, so suspending or locking the domain an
/// administrator lives in never locks out the person who can undo it.
pub fn account_status(account: &Entry, domain_status: Option<&str>) -> String {
    let own = account.attrs.get("zimbraAccountStatus").unwrap_or("active");
    let flag = |name: &str| {
        account
            .attrs
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    };
    if flag("zimbraIsAdminAccount") && !flag("zimbraIsDomainAdminAccount") {
        return effective_status(own, None);
    }
    effective_status(own, domain_status)
}

/// How a login must end given the account's and the domain's status, following the
/// precedence of `zimbraDomainStatus` over `zimbraAccountStatus`: a `closed` domain beats
/// every account status; a `locked` domain yields to an account in `maintenance` or
/// `closed`; a domain in `maintenance`, `suspended` or `shutdown` yields only to a
/// `closed` account. The result is the account status that applies.
pub fn effective_status(account_status: &str, domain_status: Option<&str>) -> String {
    let acct = if account_status.is_empty() {
        "active"
    } else {
        account_status
    };
    let acct = acct.to_ascii_lowercase();
    let dom = domain_status.unwrap_or("active").to_ascii_lowercase();
    match dom.as_str() {
        "" | "active" => acct,
        "closed" => "closed".into(),
        "locked" if acct == "maintenance" || acct == "closed" => acct,
        "locked" => "locked".into(),
        _ if acct == "closed" => acct,
        _ => "maintenance".into(),
    }
}

/// The fault a login gets for an effective status other than `active`: `maintenance`
/// gives `account.MAINTENANCE_MODE`, everything else `account.AUTH_FAILED`.
pub fn status_fault(status: &str) -> Option<ServiceError> {
    match status {
        "active" => None,
        "maintenance" => Some(ServiceError::new(
            zcs_core::FaultCode::MaintenanceMode,
            "account is in maintenance mode",
        )),
        _ => Some(ServiceError::auth_failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_status_precedence() {
        assert_eq!(effective_status("locked", Some("active")), "locked");
        assert_eq!(effective_status("active", Some("closed")), "closed");
        assert_eq!(
            effective_status("maintenance", Some("locked")),
            "maintenance"
        );
        assert_eq!(effective_status("active", Some("locked")), "locked");
        assert_eq!(effective_status("closed", Some("suspended")), "closed");
        assert_eq!(effective_status("active", Some("suspended")), "maintenance");
        assert_eq!(effective_status("", None), "active");

        let mut admin = Entry {
            kind: zcs_core::EntryKind::Account,
            id: zcs_core::ZimbraId::new(),
            name: "admin@x.test".into(),
            attrs: zcs_core::Attrs::new(),
        };
        let set = |e: &mut Entry, k: &str, v: &str| e.attrs.set(k, vec![v.to_string()]);
        set(&mut admin, "zimbraIsAdminAccount", "TRUE");
        assert_eq!(account_status(&admin, Some("suspended")), "active");
        set(&mut admin, "zimbraAccountStatus", "locked");
        assert_eq!(account_status(&admin, Some("active")), "locked");
        set(&mut admin, "zimbraAccountStatus", "active");
        set(&mut admin, "zimbraIsDomainAdminAccount", "TRUE");
        assert_eq!(account_status(&admin, Some("suspended")), "maintenance");
    }

    #[test]
    fn auth_mech_names() {
        let r = AuthRegistry::new();
        assert!(r.for_auth_mech("").is_some());
        assert!(r.for_auth_mech("Zimbra").is_some());
        assert!(r.for_auth_mech("ldap").is_some());
        assert!(r.for_auth_mech("AD").is_some());
        assert!(r.for_auth_mech("kerberos5").is_some());
        assert!(r.for_auth_mech("Kerberos5").is_some());
        assert!(r.for_auth_mech("custom:nope").is_none());
    }
}
