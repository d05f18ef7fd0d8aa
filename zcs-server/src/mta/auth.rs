//! SMTP AUTH (submission, SMTPS, STARTTLS on port 25) over the directory: the same
//! login path as IMAP and POP3 ([`crate::login::protocol_login`] with protocol `smtp`:
//! lockout, audit log, metrics), and the addresses the account may send as.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::Attrs;
use zcs_directory::Provisioning;
use zcs_mta::{AuthError, AuthedUser, SmtpAuthenticator};

use crate::login::{LoginRefusal, protocol_login};

/// Checks SMTP AUTH credentials against the directory.
pub struct DirectoryAuthenticator {
    prov: Arc<Provisioning>,
}

impl DirectoryAuthenticator {
    /// An authenticator over `prov`.
    pub fn new(prov: Arc<Provisioning>) -> Self {
        DirectoryAuthenticator { prov }
    }
}

/// The envelope senders an account may use (Postfix's `smtpd_sender_login_maps` as
/// Zimbra fills it): its name, every `zimbraMailAlias`, every `zimbraAllowFromAddress`.
pub fn sender_addresses(name: &str, effective: &Attrs) -> Vec<String> {
    let mut out = vec![name.to_string()];
    for attr in ["zimbraMailAlias", "zimbraAllowFromAddress"] {
        for v in effective.get_all(attr) {
            let v = v.trim();
            if !v.is_empty() && !out.iter().any(|a| a.eq_ignore_ascii_case(v)) {
                out.push(v.to_string());
            }
        }
    }
    out
}

#[async_trait]
impl SmtpAuthenticator for DirectoryAuthenticator {
    /// `Invalid` for a bad password, an unknown account or one that may not log in
    /// (locked, closed, locked out); `TempFail` when the directory cannot be read.
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<AuthedUser, AuthError> {
        match protocol_login(&self.prov, "smtp", user, password, peer, &[]).await {
            Ok((account, effective)) => Ok(AuthedUser {
                addresses: sender_addresses(&account.name, &effective),
                account: account.name,
                any_sender: false,
            }),
            Err(LoginRefusal::Failed) => Err(AuthError::Invalid),
            Err(LoginRefusal::Unavailable) => {
                Err(AuthError::TempFail("directory unavailable".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_are_name_aliases_and_allowed_from() {
        let mut a = Attrs::new();
        a.set(
            "zimbraMailAlias",
            vec!["al@x.test".into(), "USER@x.test".into()],
        );
        a.set_one("zimbraAllowFromAddress", "team@x.test");
        assert_eq!(
            sender_addresses("user@x.test", &a),
            vec!["user@x.test", "al@x.test", "team@x.test"]
        );
    }
}
