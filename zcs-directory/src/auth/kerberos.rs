//! The `kerberos5` mechanism (`zimbraAuthMech kerberos5`): the password is proven by
//! obtaining a ticket-granting ticket from the realm's KDC, as Zimbra's
//! `Kerberos5AuthMechanism` does through a JAAS Kerberos login.
//!
//! The principal is the account's `zimbraForeignPrincipal` value `kerberos5:PRINCIPAL`
//! when it has one, else `<localpart>@<zimbraAuthKerberos5Realm>` of the account's
//! domain; without either the login fails (`account.AUTH_FAILED`, with the reason
//! logged). The realm's KDCs come from `krb5.conf` ([`krb5conf`]); the exchange is
//! [`as_exchange`]. `zimbraAuthFallbackToLocal` and admin fallback are applied by the login
//! path ([`crate::Provisioning::authenticate`]) as for `ldap` and `ad`.
//!
//! SPNEGO single sign-on (HTTP `Negotiate` with a service keytab) is
//! [`super::spnego`].
//!
//! LIMITATION: the KDC's reply is not checked against a service key (see
//! [`as_exchange`]).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use zcs_core::{Entry, FaultCode, ServiceError, ServiceResult};

use super::{AuthContext, AuthMechanism};

pub mod as_exchange;
pub mod krb5conf;
mod messages;
pub mod principal;

pub use as_exchange::{KerberosError, verify_password};
pub use krb5conf::{KdcAddr, Krb5Conf, Krb5ConfError, parse_kdc};
pub use principal::Principal;

/// The name the mechanism is registered under (`zimbraAuthMech kerberos5`).
pub const KERBEROS5: &str = "kerberos5";

/// The prefix of a Kerberos `zimbraForeignPrincipal` value.
pub const FOREIGN_PRINCIPAL_PREFIX: &str = "kerberos5:";

/// How long one KDC may take for a whole exchange before the next is tried.
pub const DEFAULT_KDC_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the mechanism learns the KDCs of a realm.
#[derive(Clone, Debug)]
pub enum KdcSource {
    /// `KRB5_CONFIG` (else `/etc/krb5.conf`), looked up and read at every login so edits
    /// take effect at once.
    Environment,
    /// These `krb5.conf` files, read at every login.
    Files(Vec<PathBuf>),
    /// A configuration held in memory (an integrator's own lookup, or tests).
    Fixed(Krb5Conf),
}

/// The `kerberos5` mechanism. Cloning is cheap enough (the configuration source and a
/// timeout).
#[derive(Clone, Debug)]
pub struct Kerberos5Auth {
    source: KdcSource,
    timeout: Duration,
}

impl Default for Kerberos5Auth {
    fn default() -> Self {
        Self::new()
    }
}

impl Kerberos5Auth {
    /// KDCs from `KRB5_CONFIG` or `/etc/krb5.conf`, [`DEFAULT_KDC_TIMEOUT`] per KDC.
    pub fn new() -> Self {
        Self::with_source(KdcSource::Environment)
    }

    /// KDCs from `source`, [`DEFAULT_KDC_TIMEOUT`] per KDC.
    pub fn with_source(source: KdcSource) -> Self {
        Kerberos5Auth {
            source,
            timeout: DEFAULT_KDC_TIMEOUT,
        }
    }

    /// The same mechanism with `timeout` for each KDC's whole exchange.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The configuration as it is now.
    ///
    /// # Errors
    /// [`Krb5ConfError`] when no configuration file can be read.
    pub async fn config(&self) -> Result<Krb5Conf, Krb5ConfError> {
        match &self.source {
            KdcSource::Environment => Krb5Conf::load(&Krb5Conf::default_paths()).await,
            KdcSource::Files(paths) => Krb5Conf::load(paths).await,
            KdcSource::Fixed(conf) => Ok(conf.clone()),
        }
    }
}

/// The principal text Zimbra would use for `account`: the first `zimbraForeignPrincipal`
/// value starting with `kerberos5:` (without the prefix), else `<localpart>@<realm>` with
/// the domain's `zimbraAuthKerberos5Realm`. `None` when neither is set.
pub fn principal_text(account: &Entry, domain: Option<&Entry>) -> Option<String> {
    let foreign = account
        .attrs
        .get_all("zimbraForeignPrincipal")
        .iter()
        .find_map(|v| {
            let head = v.get(..FOREIGN_PRINCIPAL_PREFIX.len())?;
            head.eq_ignore_ascii_case(FOREIGN_PRINCIPAL_PREFIX)
                .then(|| v[FOREIGN_PRINCIPAL_PREFIX.len()..].trim().to_string())
        });
    if let Some(p) = foreign {
        return Some(p);
    }
    let realm = domain
        .and_then(|d| d.attrs.get("zimbraAuthKerberos5Realm"))
        .map(str::trim)
        .filter(|r| !r.is_empty())?;
    let local = account
        .name
        .rsplit_once('@')
        .map_or(account.name.as_str(), |(l, _)| l);
    Some(format!("{local}@{realm}"))
}

/// The error a login gets for a [`KerberosError`]: `account.AUTH_FAILED` when the KDC
/// judged the credentials, `service.TEMPORARILY_UNAVAILABLE` when no KDC answered,
/// `service.FAILURE` otherwise.
pub fn service_error(e: &KerberosError) -> ServiceError {
    match e {
        e if e.is_auth_failure() => ServiceError::auth_failed(),
        KerberosError::Unreachable { .. } => {
            ServiceError::new(FaultCode::Temporarily, format!("Kerberos: {e}"))
        }
        _ => ServiceError::new(FaultCode::Failure, format!("Kerberos: {e}")),
    }
}

#[async_trait]
impl AuthMechanism for Kerberos5Auth {
    fn name(&self) -> &str {
        KERBEROS5
    }

    /// Without the domain only a `zimbraForeignPrincipal` can name the principal.
    async fn authenticate(
        &self,
        account: &Entry,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<()> {
        self.authenticate_in_domain(account, None, password, ctx)
            .await
    }

    async fn authenticate_in_domain(
        &self,
        account: &Entry,
        domain: Option<&Entry>,
        password: &str,
        _ctx: &AuthContext,
    ) -> ServiceResult<()> {
        // An empty password is refused before any traffic, as for `ldap`.
        if password.is_empty() {
            return Err(ServiceError::auth_failed());
        }
        let Some(text) = principal_text(account, domain) else {
            tracing::warn!(account = %account.name,
                "kerberos5: no principal; set zimbraAuthKerberos5Realm on the domain or \
                 zimbraForeignPrincipal kerberos5:NAME@REALM on the account");
            return Err(ServiceError::auth_failed());
        };
        let conf = self.config().await.map_err(|e| {
            tracing::warn!(account = %account.name, error = %e, "kerberos5: no configuration");
            ServiceError::new(FaultCode::Failure, format!("Kerberos: {e}"))
        })?;
        let Some(principal) = Principal::parse(&text, conf.default_realm.as_deref()) else {
            tracing::warn!(account = %account.name, principal = %text.escape_debug(),
                "kerberos5: the principal is not a valid Kerberos name");
            return Err(ServiceError::auth_failed());
        };
        let kdcs = conf.kdcs(&principal.realm);
        if kdcs.is_empty() {
            tracing::warn!(account = %account.name, realm = %principal.realm,
                "kerberos5: no kdc for the realm in krb5.conf");
            return Err(ServiceError::new(
                FaultCode::Failure,
                format!("Kerberos: no KDC configured for realm {}", principal.realm),
            ));
        }
        match verify_password(&principal, password, kdcs, self.timeout).await {
            Ok(()) => {
                tracing::debug!(account = %account.name, principal = %principal,
                    "kerberos5: KDC accepted the password");
                Ok(())
            }
            Err(e) => {
                if e.is_auth_failure() {
                    tracing::info!(account = %account.name, principal = %principal,
                        reason = %e, "kerberos5: credentials refused");
                } else {
                    tracing::warn!(account = %account.name, principal = %principal,
                        error = %e, "kerberos5: KDC failure");
                }
                Err(service_error(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zcs_core::{Attrs, EntryKind, ZimbraId};

    fn entry(kind: EntryKind, name: &str, pairs: &[(&str, &str)]) -> Entry {
        let mut attrs = Attrs::new();
        for (n, v) in pairs {
            attrs.add(n, *v);
        }
        Entry {
            kind,
            id: ZimbraId::new(),
            name: name.into(),
            attrs,
        }
    }

    #[test]
    fn principal_choice() {
        let dom = entry(
            EntryKind::Domain,
            "ex.test",
            &[("zimbraAuthKerberos5Realm", "EX.TEST")],
        );
        let bob = entry(EntryKind::Account, "bob@ex.test", &[]);
        assert_eq!(
            principal_text(&bob, Some(&dom)).as_deref(),
            Some("bob@EX.TEST")
        );
        assert_eq!(principal_text(&bob, None), None);
        let bare = entry(EntryKind::Domain, "ex.test", &[]);
        assert_eq!(principal_text(&bob, Some(&bare)), None);

        let robert = entry(
            EntryKind::Account,
            "bob@ex.test",
            &[
                ("zimbraForeignPrincipal", "ad:bob"),
                ("zimbraForeignPrincipal", "Kerberos5:robert@OTHER.TEST"),
            ],
        );
        assert_eq!(
            principal_text(&robert, Some(&dom)).as_deref(),
            Some("robert@OTHER.TEST"),
            "the foreign principal beats the realm"
        );
        assert_eq!(
            principal_text(&robert, None).as_deref(),
            Some("robert@OTHER.TEST")
        );
        let short = entry(
            EntryKind::Account,
            "x@ex.test",
            &[("zimbraForeignPrincipal", "kerb")],
        );
        assert_eq!(principal_text(&short, None), None);
        let multibyte = entry(
            EntryKind::Account,
            "x@ex.test",
            &[("zimbraForeignPrincipal", "kerberosé:x")],
        );
        assert_eq!(principal_text(&multibyte, None), None);
    }

    #[tokio::test]
    async fn refusals_before_any_traffic() {
        let mech = Kerberos5Auth::with_source(KdcSource::Fixed(Krb5Conf::default()));
        let ctx = AuthContext::default();
        let dom = entry(
            EntryKind::Domain,
            "ex.test",
            &[("zimbraAuthKerberos5Realm", "EX.TEST")],
        );
        let bob = entry(EntryKind::Account, "bob@ex.test", &[]);
        let e = mech
            .authenticate_in_domain(&bob, Some(&dom), "", &ctx)
            .await
            .expect_err("empty password");
        assert_eq!(e.code, FaultCode::AuthFailed);
        let e = mech
            .authenticate(&bob, "pw", &ctx)
            .await
            .expect_err("no principal");
        assert_eq!(e.code, FaultCode::AuthFailed);
        let e = mech
            .authenticate_in_domain(&bob, Some(&dom), "pw", &ctx)
            .await
            .expect_err("no kdc");
        assert_eq!(e.code, FaultCode::Failure);
        assert!(e.message.contains("EX.TEST"), "{}", e.message);
        let e = Kerberos5Auth::with_source(KdcSource::Files(vec!["/nonexistent/krb5".into()]))
            .authenticate_in_domain(&bob, Some(&dom), "pw", &ctx)
            .await
            .expect_err("no config");
        assert_eq!(e.code, FaultCode::Failure);
    }
}
