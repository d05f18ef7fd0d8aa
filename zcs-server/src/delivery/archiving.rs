//! The `archiving` service flag (spec 05 §1.1): archive copies are made only on a
//! server whose `zimbraServiceEnabled` lists `archiving` (`zmprov ms <host>
//! +zimbraServiceEnabled archiving`), whatever the accounts say. Without it an account's
//! `zimbraArchiveEnabled` is read as FALSE; legal intercept does not depend on it.

use std::sync::Arc;

use zcs_core::Attrs;

/// The service name in `zimbraServiceEnabled`.
pub const SERVICE: &str = "archiving";

/// Whether a server with these attributes runs the archiving service; `None` (no
/// server entry for this host) does not.
pub fn service_enabled(server: Option<&Attrs>) -> bool {
    server.is_some_and(|s| {
        s.get_all("zimbraServiceEnabled")
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(SERVICE))
    })
}

/// The attributes the archive hook sees for an account: `effective` itself when the
/// service runs or the account does not archive, else a copy with
/// `zimbraArchiveEnabled` FALSE (copied only in that rare case).
pub fn gate(effective: &Arc<Attrs>, service_on: bool) -> Arc<Attrs> {
    let archives = effective
        .get("zimbraArchiveEnabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
    if service_on || !archives {
        return effective.clone();
    }
    tracing::debug!("archiving service not enabled on this server: no archive copy");
    let mut attrs = (**effective).clone();
    attrs.set_one("zimbraArchiveEnabled", "FALSE");
    Arc::new(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_flag_gates_archiving() {
        let mut server = Attrs::new();
        server.set("zimbraServiceEnabled", vec!["mailbox".into(), "mta".into()]);
        assert!(!service_enabled(Some(&server)));
        assert!(!service_enabled(None));
        server.add("zimbraServiceEnabled", "Archiving");
        assert!(service_enabled(Some(&server)));

        let mut account = Attrs::new();
        account.set_one("zimbraArchiveEnabled", "TRUE");
        account.set_one("zimbraArchiveAccount", "a-20260101@x.test.archive");
        let account = Arc::new(account);
        let off = gate(&account, false);
        assert_eq!(off.get("zimbraArchiveEnabled"), Some("FALSE"));
        assert_eq!(
            off.get("zimbraArchiveAccount"),
            account.get("zimbraArchiveAccount")
        );
        assert!(Arc::ptr_eq(&gate(&account, true), &account));
        let plain = Arc::new(Attrs::new());
        assert!(Arc::ptr_eq(&gate(&plain, false), &plain));
    }
}
