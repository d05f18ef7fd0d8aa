//! Opening the directory a URL names: the one place that picks a [`Directory`] backend.
//!
//! `ldap://` and `ldaps://` URLs open an [`LdapDirectory`]; every other URL is handed to
//! [`SqlDirectory::open`] (`sqlite:`, `mysql:`/`mariadb:`, `postgres:`). Not in charge of
//! creating the global config or default COS (`Provisioning::bootstrap` does that).

use std::sync::Arc;

use zcs_core::ServiceResult;

use crate::directory::Directory;
use crate::ldap::LdapDirectory;
use crate::sql::SqlDirectory;

/// Whether `url` names an LDAP directory.
pub fn is_ldap_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("ldap://") || lower.starts_with("ldaps://")
}

/// Opens the directory `url` names.
///
/// An LDAP URL is read by [`crate::ldap::LdapConfig::from_url`]:
/// `ldap://host:port/BASE????bindname=DN,X-BINDPW=PASSWORD` with every part
/// percent-encoded; the base is empty for a Zimbra directory. Any other URL goes to
/// [`SqlDirectory::open`].
///
/// # Errors
/// `service.FAILURE` when the URL cannot be used or the store cannot be reached.
pub async fn open_directory(url: &str) -> ServiceResult<Arc<dyn Directory>> {
    if is_ldap_url(url) {
        Ok(Arc::new(LdapDirectory::open(url.trim()).await?))
    } else {
        Ok(Arc::new(SqlDirectory::open(url).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert!(is_ldap_url("LDAP://h"));
        assert!(is_ldap_url(" ldaps://h:636/"));
        assert!(!is_ldap_url("sqlite::memory:"));
        assert!(!is_ldap_url("postgres://ldap://"));
    }

    #[tokio::test]
    async fn sql_urls_open_sql() {
        let dir = open_directory("sqlite::memory:").await.unwrap();
        assert!(
            dir.list_entries(zcs_core::EntryKind::Cos, None)
                .await
                .unwrap()
                .is_empty()
        );
        // Port 1 on loopback: nothing listens there.
        assert!(open_directory("ldap://127.0.0.1:1").await.is_err());
    }
}
