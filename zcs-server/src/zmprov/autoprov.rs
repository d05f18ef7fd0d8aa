//! The auto-provisioning commands: `autoProvControl` (apc), which starts, stops or
//! reports the EAGER poller of the running server (Zimbra's `AutoProvTaskControlRequest`,
//! so it needs the server: under `-l` it is refused, as Zimbra's LDAP mode refuses it),
//! and `autoProvAccount` (apa), which creates the account of one entry of a domain's
//! external directory (MANUAL mode, Zimbra's `AutoProvAccountRequest`). `apa` reads the
//! external directory itself, so it works with and without the server.

use zcs_core::{FaultCode, ServiceError};
use zcs_directory::provisioning::AutoProvBy;
use zcs_directory::{EntryKey, Provisioning};

use super::commands::CmdError;
use crate::home::Home;

/// A fault the running server answered with (`code: reason`), as a [`ServiceError`]
/// with the same code when this build knows it (`service.FAILURE` otherwise).
pub(super) fn remote_fault(text: &str) -> ServiceError {
    match text.split_once(": ") {
        Some((code, why)) if code.contains('.') && !code.contains(' ') => {
            match FaultCode::from_zimbra(code) {
                Some(c) => ServiceError::new(c, why),
                None => ServiceError::failure(text),
            }
        }
        _ => ServiceError::failure(text),
    }
}

/// The refusal of a command that needs the running server, under `-l` or without one.
pub(super) fn needs_server(command: &str, why: &str) -> CmdError {
    CmdError::Fault(ServiceError::invalid_request(format!(
        "{command} can only be used with SOAP: it needs the running server ({why})"
    )))
}

/// Sends the admin request `name` to the server running on this home.
///
/// # Errors
/// [`needs_server`] when no server runs; the server's fault.
pub(super) async fn call_server(
    p: &Provisioning,
    command: &str,
    name: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, CmdError> {
    let home = Home::from_env().map_err(|e| needs_server(command, &e.to_string()))?;
    match crate::admin_client::call_running_server(&home, p, name, body).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(needs_server(command, "no server runs on this home")),
        Err(e) => Err(CmdError::Fault(remote_fault(&e))),
    }
}

/// `apc {start|status|stop}`: sends `AutoProvTaskControlRequest` to the running server
/// and prints the status it answers (`started`, `running`, `idle`, ...). Zimbra's
/// zmprov prints nothing; the status line is zcs's.
pub(super) async fn control(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let [action] = a else {
        return Err(CmdError::Usage);
    };
    let action = action.trim().to_ascii_lowercase();
    if !matches!(action.as_str(), "start" | "status" | "stop") {
        return Err(CmdError::Usage);
    }
    if super::direct_mode() {
        return Err(needs_server(
            "autoProvControl",
            "-l reaches the directory only",
        ));
    }
    let body = serde_json::json!({ "_jsns": "urn:zimbraAdmin", "action": action });
    let r = call_server(p, "autoProvControl", "AutoProvTaskControlRequest", body).await?;
    Ok(match r.get("status").and_then(|s| s.as_str()) {
        Some(s) => format!("{s}\n"),
        None => String::new(),
    })
}

/// `apa {domain|id} {name|dn} {principal} [password]`: creates the account of the
/// external entry `principal` names (a login name, or the entry's DN with `dn`) in the
/// domain, and prints its `zimbraId` as `createAccount` does. The domain must list
/// `MANUAL` in `zimbraAutoProvMode`.
pub(super) async fn account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (domain, by, principal, password) = match a {
        [d, b, pr] => (d, b, pr, None),
        [d, b, pr, pw] => (d, b, pr, Some(pw.as_str())),
        _ => return Err(CmdError::Usage),
    };
    let by = match by.to_ascii_lowercase().as_str() {
        "name" => AutoProvBy::Name,
        "dn" => AutoProvBy::Dn,
        _ => return Err(CmdError::Usage),
    };
    let created = p
        .auto_prov_account(
            &EntryKey::parse(domain),
            by,
            principal,
            password.filter(|pw| !pw.is_empty()),
        )
        .await?;
    Ok(format!("{}\n", created.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_faults_keep_their_code() {
        let e = remote_fault("service.INVALID_REQUEST: unknown action: x");
        assert_eq!(e.code, FaultCode::InvalidRequest);
        assert_eq!(e.message, "unknown action: x");
        let e = remote_fault("connection refused");
        assert_eq!(e.code, FaultCode::Failure);
        let e = remote_fault("zz.NOT_A_CODE: what");
        assert_eq!(e.code, FaultCode::Failure);
    }

    proptest::proptest! {
        #[test]
        fn remote_fault_never_panics(text in ".{0,80}") {
            let _ = remote_fault(&text);
        }
    }
}
