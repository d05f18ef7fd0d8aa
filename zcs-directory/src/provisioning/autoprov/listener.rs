//! Post-create listeners for auto-provisioning (Zimbra's `zimbraAutoProvListenerClass`):
//! code an integrator registers under a name, called after each auto-created account so
//! it can, typically, mark the external entry as provisioned (so the EAGER filter stops
//! returning it). A domain names its listener in `zimbraAutoProvListenerClass`; there is
//! one instance per name for the whole process.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use zcs_core::Entry;

/// The name the server registers its welcome mail under
/// (`zimbraAutoProvNotificationFromAddress`, `...Subject`, `...Body`): called for every
/// auto-provisioned account of a domain that sets a from address, whatever
/// `zimbraAutoProvListenerClass` names.
pub const WELCOME_LISTENER: &str = "zcs.autoprov.welcome";

/// Called after an account was auto-provisioned.
#[async_trait]
pub trait AutoProvListener: Send + Sync {
    /// `account` was just created in `domain` from the external entry `external_dn`.
    /// Runs before the creating call returns; a failure is the listener's to log (the
    /// account stays created).
    async fn post_create(&self, domain: &Entry, account: &Entry, external_dn: &str);
}

type Registry = RwLock<HashMap<String, Arc<dyn AutoProvListener>>>;

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(Registry::default)
}

/// Registers `listener` under `name` (the value domains put in
/// `zimbraAutoProvListenerClass`, compared exactly), replacing any earlier one.
pub fn register_auto_prov_listener(name: &str, listener: Arc<dyn AutoProvListener>) {
    let mut reg = registry().write().unwrap_or_else(|p| p.into_inner());
    reg.insert(name.to_string(), listener);
}

/// The listener registered under `name`.
pub(crate) fn auto_prov_listener(name: &str) -> Option<Arc<dyn AutoProvListener>> {
    let reg = registry().read().unwrap_or_else(|p| p.into_inner());
    reg.get(name).cloned()
}
