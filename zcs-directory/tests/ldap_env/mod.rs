//! Provisioning over the OpenLDAP backend in a private subtree, for suites that run
//! their cases on every backend. Needs `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and
//! `ZCS_TEST_LDAP_BIND_PASSWORD` (`.ci/setup.d/20-slapd.sh` exports them); without them
//! [`ldap_provisioning`] says so on stderr and returns `None`.
#![allow(dead_code)]

/// Runs each named case, an `async fn(Provisioning)` of the including file, on SQLite
/// (`sqlite::`, from the file's `fixture()`) and on OpenLDAP (`ldap::`, from
/// [`ldap_provisioning`], skipped loudly when unset). Include with `#[macro_use]`.
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let f = super::fixture().await;
                    super::$case(f.prov.clone()).await;
                }
            )*
        }
        mod ldap {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(env) = super::ldap_provisioning(stringify!($case)).await else {
                        return;
                    };
                    super::$case(env.prov.clone()).await;
                }
            )*
        }
    };
}

use std::collections::HashSet;
use std::sync::Arc;

use ldap3::{LdapConnAsync, Scope, SearchEntry};
use zcs_directory::{AuthRegistry, LdapConfig, LdapDirectory, Provisioning};

/// Provisioning on a fresh `o=zcs-ek-<uuid>` subtree; the subtree is removed on drop.
pub struct LdapEnv {
    pub prov: Provisioning,
    /// The directory under `prov`.
    pub dir: Arc<LdapDirectory>,
    url: String,
    dn: String,
    pw: String,
    base: String,
}

async fn admin(url: &str, dn: &str, pw: &str) -> ldap3::Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.expect("connect to slapd");
    ldap3::drive!(conn);
    ldap.simple_bind(dn, pw)
        .await
        .expect("bind")
        .success()
        .expect("bind accepted");
    ldap
}

/// The environment, or `None` (after an `eprintln!`) when no slapd is configured.
pub async fn ldap_provisioning(case: &str) -> Option<LdapEnv> {
    let (Ok(url), Ok(dn), Ok(pw)) = (
        std::env::var("ZCS_TEST_LDAP_URL"),
        std::env::var("ZCS_TEST_LDAP_BIND_DN"),
        std::env::var("ZCS_TEST_LDAP_BIND_PASSWORD"),
    ) else {
        eprintln!("SKIPPED: {case} on ldap: ZCS_TEST_LDAP_URL / _BIND_DN / _BIND_PASSWORD unset");
        return None;
    };
    let o = format!("zcs-ek-{}", uuid::Uuid::new_v4().simple());
    let base = format!("o={o}");
    let mut ldap = admin(&url, &dn, &pw).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
    ldap.add(
        &base,
        vec![
            ("objectClass".to_string(), one("organization")),
            ("o".to_string(), one(&o)),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the test base");
    ldap.add(
        &format!("cn=zimbra,{base}"),
        vec![
            ("objectClass".to_string(), one("organizationalRole")),
            ("cn".to_string(), one("zimbra")),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add cn=zimbra");
    let _ = ldap.unbind().await;

    let dir = LdapDirectory::connect(LdapConfig::new(&url, &dn, &pw).with_base(&base))
        .await
        .expect("open the LDAP directory");
    let dir = Arc::new(dir);
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new()).with_local_server("mail.test");
    Some(LdapEnv {
        prov,
        dir,
        url,
        dn,
        pw,
        base,
    })
}

impl LdapEnv {
    /// The configuration of the subtree, to open more handles on it.
    pub fn config(&self) -> LdapConfig {
        LdapConfig::new(&self.url, &self.dn, &self.pw).with_base(&self.base)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for LdapEnv {
    fn drop(&mut self) {
        let (url, dn, pw, base) = (
            self.url.clone(),
            self.dn.clone(),
            self.pw.clone(),
            self.base.clone(),
        );
        // Drop cannot await: remove the subtree from a thread with its own runtime.
        let cleaner = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut ldap = admin(&url, &dn, &pw).await;
                let Ok(found) = ldap
                    .search(&base, Scope::Subtree, "(objectClass=*)", vec!["1.1"])
                    .await
                    .and_then(|r| r.success())
                else {
                    return;
                };
                let mut dns: Vec<String> = found
                    .0
                    .into_iter()
                    .map(|e| SearchEntry::construct(e).dn)
                    .collect();
                // Deepest first: an entry with children cannot be deleted.
                dns.sort_by_key(|d| std::cmp::Reverse(d.matches(',').count()));
                for d in dns {
                    let _ = ldap.delete(&d).await;
                }
            });
        });
        let _ = cleaner.join();
    }
}
