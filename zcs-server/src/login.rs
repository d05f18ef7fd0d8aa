//! Protocol logins shared by the IMAP and POP3 backends: the directory's password and
//! status check, then the account's per-protocol switches (a COS feature such as
//! `zimbraImapEnabled` and the user's preference such as `zimbraPrefImapEnabled`).
//! Logins the directory does not see (preauth) record their time with
//! [`record_last_logon`].

use std::net::IpAddr;

use zcs_core::{Attrs, Entry, FaultCode};
use zcs_directory::{AuthContext, Provisioning};

/// Why a protocol login was refused. Front ends show `Failed` exactly like a wrong
/// password, so a client cannot tell which check failed.
#[derive(Debug)]
pub enum LoginRefusal {
    /// Unknown account, wrong password, a status that forbids login, or the protocol
    /// switched off for the account.
    Failed,
    /// The directory cannot be read right now.
    Unavailable,
}

/// Authenticates `user` for `protocol` (`imap`, `pop3`) and checks that none of the
/// `switches` attributes is FALSE in the account's effective attributes. Returns the
/// account and those effective attributes (COS and global config applied).
///
/// # Errors
/// [`LoginRefusal`]; refusals by a switch are logged at INFO without the password.
pub async fn protocol_login(
    prov: &Provisioning,
    protocol: &str,
    user: &str,
    password: &str,
    remote_ip: IpAddr,
    switches: &[&str],
) -> Result<(Entry, Attrs), LoginRefusal> {
    let ctx = AuthContext {
        protocol: protocol.into(),
        remote_ip: Some(remote_ip),
    };
    let account = match prov.authenticate(user, password, &ctx).await {
        Ok(a) => a,
        Err(e) if e.code == FaultCode::Failure => return Err(LoginRefusal::Unavailable),
        Err(e) => {
            crate::metrics::counters().inc(
                "zcs_logins_total",
                &[("protocol", protocol), ("result", "failure")],
            );
            // The audit trail (audit.log); the name is the client's text, escaped there.
            tracing::warn!(target: "zimbra.security", cmd = "Auth", account = user,
                protocol, ip = %remote_ip, error = %e.code, "authentication failed");
            return Err(LoginRefusal::Failed);
        }
    };
    let effective = prov.effective_account_attrs(&account).await.map_err(|e| {
        tracing::error!(account = %account.name, error = %e, "read account failed");
        LoginRefusal::Unavailable
    })?;
    for attr in switches {
        if effective
            .get(attr)
            .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
        {
            tracing::warn!(target: "zimbra.security", cmd = "Auth", account = %account.name,
                protocol, ip = %remote_ip, attr,
                "login refused: protocol disabled for the account");
            return Err(LoginRefusal::Failed);
        }
    }
    crate::metrics::counters().inc(
        "zcs_logins_total",
        &[("protocol", protocol), ("result", "success")],
    );
    // The session's later log lines carry the account (Zimbra's `name=` context).
    tracing::Span::current().record("name", account.name.as_str());
    tracing::info!(target: "zimbra.security", cmd = "Auth", account = %account.name,
        protocol, ip = %remote_ip, "authentication succeeded");
    Ok((account, effective))
}

/// Records a login the directory's password check did not see (preauth, a token bought
/// with a recovery code): writes `zimbraLastLogonTimestamp` when it is unset or older
/// than the global `zimbraLastLogonTimestampFrequency` (7d by default; 0 = every
/// login), as a password login does. A failed write is logged, never fatal.
pub async fn record_last_logon(prov: &Provisioning, account: &Entry) {
    use zcs_core::attrs::value::{format_time, parse_duration_ms, parse_time};
    let freq = match prov.global_config().await {
        Ok(g) => g
            .attrs
            .get("zimbraLastLogonTimestampFrequency")
            .and_then(|v| parse_duration_ms(v).ok())
            .unwrap_or(7 * 86_400_000),
        Err(_) => 7 * 86_400_000,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let last = account
        .attrs
        .get("zimbraLastLogonTimestamp")
        .and_then(|t| parse_time(t).ok());
    if last.is_some_and(|l| freq > 0 && now - l < freq as i64) {
        return;
    }
    let edits = [zcs_core::AttrEdit::Replace(
        "zimbraLastLogonTimestamp".into(),
        vec![format_time(now - now.rem_euclid(1000))],
    )];
    // The attribute is immutable through provisioning (as in Zimbra): written to the
    // directory underneath, as the directory's own password path writes it.
    let dir = prov.directory();
    if let Err(e) = dir.modify_entry(account.kind, account.id, &edits).await {
        tracing::warn!(account = %account.name, error = %e, "could not record the last logon");
        return;
    }
    let _ = dir
        .get_entry(account.kind, &zcs_directory::EntryKey::Id(account.id))
        .await;
}
