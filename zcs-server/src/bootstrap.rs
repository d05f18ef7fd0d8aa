//! First start: the home's directories, its local config, and the directory entries a
//! server needs before it can run (global config, this server, the default COS, a
//! default domain and an admin account). Every step is idempotent, so a second start
//! changes nothing.

use std::sync::Arc;

use zcs_core::{Attrs, ServiceError, ServiceResult};
use zcs_directory::{AuthMechanism, AuthRegistry, Directory, EntryKey, Provisioning, SqlDirectory};

use crate::home::Home;
use crate::localconfig::LocalConfig;

/// What [`init`] found or created.
#[derive(Debug)]
pub struct InitOutcome {
    /// This server's name (`zimbra_server_hostname`).
    pub hostname: String,
    /// `zimbraDefaultDomainName`.
    pub domain: String,
    /// The admin account created by this call, with its generated password; `None`
    /// when the home was already initialised.
    pub created_admin: Option<(String, String)>,
    /// Set when the default domain is a bare host name ([`bare_domain_warning`]): what
    /// is wrong and how to set the real domain, for the operator's terminal.
    pub domain_warning: Option<String>,
}

/// Whether `domain` cannot be a mail domain other servers reach: a bare host name with
/// no dot (`vm`, `localhost`) or a name under `.localdomain` / `.local`.
pub fn is_bare_domain(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    !d.contains('.') || d.ends_with(".localdomain") || d.ends_with(".local")
}

/// The warning for a default domain taken from a bare host name (`admin@vm`): says
/// why it matters and the commands that set the real domain. `None` for a domain that
/// looks real.
pub fn bare_domain_warning(domain: &str) -> Option<String> {
    if !is_bare_domain(domain) {
        return None;
    }
    Some(format!(
        "warning: the default domain \"{domain}\" is this machine's bare host name, so \
         addresses look like admin@{domain} and mail from other servers cannot reach \
         them.\n  To use your real domain (example.com here), run:\n    \
         zmprov rd {domain} example.com\n    \
         zmprov mcf zimbraDefaultDomainName example.com\n  \
         (rd renames the domain and every account in it; admin@{domain} becomes \
         admin@example.com.) Or, before the first start, name this server with \
         zmlocalconfig -e zimbra_server_hostname=mail.example.com."
    ))
}

fn fail(step: &str) -> impl FnOnce(String) -> ServiceError + '_ {
    move |e| ServiceError::failure(format!("{step}: {e}"))
}

/// The machine's host name, lower-cased; `localhost` when it cannot be read.
pub fn system_hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
        .to_ascii_lowercase()
}

/// Whether [`init`] has run on `home`: its local config names this server and its
/// directory exists (a `zcs_directory_url`, or the SQLite file). A local config edited
/// before the first start (`zmlocalconfig -e zimbra_server_hostname=...`) does not
/// count, so the first `zmcontrol start` still sets the home up in the foreground and
/// shows the admin password.
pub fn is_initialised(home: &Home) -> bool {
    LocalConfig::load(home).is_ok_and(|lc| {
        lc.is_set("zimbra_server_hostname")
            && (lc.get("zcs_directory_url").is_some_and(|u| !u.is_empty())
                || lc
                    .get("zcs_directory_db")
                    .is_some_and(|p| std::path::Path::new(&p).exists()))
    })
}

/// The authentication mechanisms an embedding program added before starting the server
/// ([`register_auth_mechanism`]).
static EXTRA_AUTH: std::sync::Mutex<Vec<(String, Arc<dyn AuthMechanism>)>> =
    std::sync::Mutex::new(Vec::new());

/// Registers `mech` under `name` for every directory this process opens afterwards, so a
/// domain with `zimbraAuthMech custom:NAME` logs its users in through it (and a built-in
/// name such as `kerberos5` is replaced by it). Call it first thing in `main`, before
/// [`crate::server_main::main`] or [`open_provisioning`]; `examples/custom_auth.rs` is a
/// whole program an integrator can copy.
pub fn register_auth_mechanism(name: &str, mech: Arc<dyn AuthMechanism>) {
    let mut extra = EXTRA_AUTH.lock().unwrap_or_else(|p| p.into_inner());
    extra.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    extra.push((name.to_string(), mech));
}

/// The built-in mechanisms plus those of [`register_auth_mechanism`].
pub fn auth_registry() -> AuthRegistry {
    let mut registry = AuthRegistry::with_builtins();
    let extra = EXTRA_AUTH.lock().unwrap_or_else(|p| p.into_inner());
    for (name, mech) in extra.iter() {
        registry.register(name, mech.clone());
    }
    registry
}

/// Opens the directory of an initialised home.
///
/// # Errors
/// `service.FAILURE` when the home has not been initialised or its directory database
/// cannot be opened.
pub async fn open_provisioning(home: &Home) -> ServiceResult<Provisioning> {
    if !is_initialised(home) {
        return Err(ServiceError::failure(format!(
            "{} is not a zcs home yet: run `zcs-server init` (or start the server) first",
            home.root().display()
        )));
    }
    let lc = LocalConfig::load(home).map_err(|e| fail("load local config")(e.to_string()))?;
    open_with(&lc).await
}

/// Opens the directory named by the local config: `zcs_directory_url` (OpenLDAP as
/// `ldap://host:port/????bindname=DN,X-BINDPW=PASSWORD`, MariaDB, PostgreSQL or SQLite)
/// when set, else the SQLite file `zcs_directory_db`.
///
/// An entry cache sits in front of the directory with each kind's max age from
/// `ldap_cache_<kind>_maxage` (minutes; 15 by default, the global config never
/// expiring): a change made through this process is seen at once, one made by another
/// process (another server, `zmprov -l`) after the max age or a `flushCache`. zmprov
/// without `-l` asks the running server to flush after its changes.
async fn open_with(lc: &LocalConfig) -> ServiceResult<Provisioning> {
    let url = lc.get("zcs_directory_url").filter(|u| !u.is_empty());
    let dir: Arc<dyn Directory> = match url {
        Some(url) => zcs_directory::open_directory(&url).await?,
        None => {
            let path = lc
                .get("zcs_directory_db")
                .ok_or_else(|| ServiceError::failure("zcs_directory_db is not set"))?;
            Arc::new(SqlDirectory::open_sqlite(std::path::Path::new(&path)).await?)
        }
    };
    let hostname = lc.get("zimbra_server_hostname").unwrap_or_default();
    let cache = zcs_directory::CacheSettings::from_localconfig(|k| lc.get(k));
    Ok(Provisioning::new(dir, auth_registry())
        .with_server(&hostname)
        .with_cache(cache))
}

/// Initialises `home` if needed and returns what it holds.
///
/// # Errors
/// The file system or the directory refused a step; the error names the step.
pub async fn init(home: &Home) -> ServiceResult<InitOutcome> {
    home.create_dirs()
        .map_err(|e| fail("create home")(e.to_string()))?;
    let mut lc = LocalConfig::load(home).map_err(|e| fail("load local config")(e.to_string()))?;
    if !lc.is_set("zimbra_server_hostname") {
        lc.set("zimbra_server_hostname", &system_hostname());
    }
    lc.save()
        .map_err(|e| fail("save local config")(e.to_string()))?;
    let hostname = lc.get("zimbra_server_hostname").unwrap_or_default();
    let prov = open_with(&lc).await?;

    let global = prov.global_config().await?;
    if prov
        .get_server(&EntryKey::Name(hostname.clone()))
        .await
        .is_err()
    {
        let mut attrs = Attrs::new();
        // Archiving is part of every zcs server (Zimbra's installer lists it when its
        // archiving package is installed); `zmprov ms <host> -zimbraServiceEnabled
        // archiving` turns archive copies off.
        let services: Vec<String> = vec!["mailbox".into(), "mta".into(), "archiving".into()];
        attrs.set("zimbraServiceInstalled", services.clone());
        attrs.set("zimbraServiceEnabled", services);
        prov.create_server(&hostname, attrs).await?;
        // A new server gets Zimbra's default backup schedule, as its installer sets:
        // full on Saturday 01:00, incrementals Sunday to Friday 01:00.
        let conf = home.conf();
        if !zcs_backup::schedule::schedule_path(&conf).exists() {
            zcs_backup::schedule::save(&conf, &zcs_backup::schedule::default_schedule())
                .map_err(|e| fail("save the default backup schedule")(e.to_string()))?;
        }
    }
    if prov
        .get_cos(&EntryKey::Name("default".into()))
        .await
        .is_err()
    {
        prov.create_cos("default", Attrs::new()).await?;
    }

    let domain = match global.attrs.get("zimbraDefaultDomainName") {
        Some(d) => d.to_string(),
        None => {
            let domain = hostname.clone();
            if prov
                .get_domain(&EntryKey::Name(domain.clone()))
                .await
                .is_err()
            {
                prov.create_domain(&domain, Attrs::new()).await?;
            }
            prov.modify_global_config(&[zcs_core::AttrEdit::Replace(
                "zimbraDefaultDomainName".into(),
                vec![domain.clone()],
            )])
            .await?;
            domain
        }
    };

    let admin = format!("admin@{domain}");
    let created_admin = if prov.get_account(&admin).await.is_err() {
        let password = crate::random_password(16);
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraIsAdminAccount", "TRUE");
        attrs.set_one("displayName", "Administrator");
        prov.create_account(&admin, Some(&password), attrs).await?;
        Some((admin, password))
    } else {
        None
    };
    let domain_warning = bare_domain_warning(&domain);
    if domain_warning.is_some() {
        tracing::warn!(domain = %domain,
            "the default domain is a bare host name; set the real one with zmprov rd and \
             zmprov mcf zimbraDefaultDomainName");
    }
    Ok(InitOutcome {
        hostname,
        domain,
        created_admin,
        domain_warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_names_are_not_mail_domains() {
        for d in ["vm", "localhost", "VM.", "box.localdomain", "pi.local"] {
            assert!(is_bare_domain(d), "{d}");
        }
        for d in ["example.com", "mail.example.org", "metrics.test"] {
            assert!(!is_bare_domain(d), "{d}");
            assert!(bare_domain_warning(d).is_none());
        }
        let w = bare_domain_warning("vm").expect("warning");
        assert!(w.contains("admin@vm"), "{w}");
        assert!(w.contains("zmprov rd vm example.com"), "{w}");
        assert!(
            w.contains("zmprov mcf zimbraDefaultDomainName example.com"),
            "{w}"
        );
    }

    #[tokio::test]
    async fn first_start_on_a_bare_host_name_warns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        home.create_dirs().expect("dirs");
        let mut lc = LocalConfig::load(&home).expect("lc");
        lc.set("zimbra_server_hostname", "vm");
        lc.save().expect("save");
        assert!(
            !is_initialised(&home),
            "a hostname set before the first start"
        );
        let out = init(&home).await.expect("init");
        assert!(is_initialised(&home));
        assert_eq!(out.domain, "vm");
        assert!(
            out.created_admin
                .is_some_and(|(name, _)| name == "admin@vm")
        );
        assert!(
            out.domain_warning
                .is_some_and(|w| w.contains("zmprov rd vm"))
        );
        // A later start still says so (the log line and the returned warning).
        assert!(init(&home).await.expect("again").domain_warning.is_some());
    }
}
