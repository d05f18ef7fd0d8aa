//! The GAL sync account's external (`ldap`) data sources against a real customer slapd
//! (`.ci/setup.d/21-slapd-customer.sh`, exported as `ZCS_TEST_EXT_LDAP_*`): the whole
//! directory is listed in pages (more entries than a page and than
//! `zimbraGalMaxResults`), mapped to contact fields keyed by DN, with the settings taken
//! from the data source, else the domain's `zimbraGalSyncLdap*`, else its
//! `zimbraGalLdap*`; anonymous binds, a server list with the first one down, and clear
//! faults for refused credentials, an unreachable server and a missing search base.
//! Skipped loudly when the customer's slapd is not configured.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::collections::HashSet;

use customer_env::{Customer, admin, customer, remove_branch};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::Provisioning;
use zcs_directory::provisioning::{Child, GalSourceKind, GalSyncSpec, GalSyncTarget};

/// Entries the test adds: more than two pages of [`PAGE`].
const PEOPLE: usize = 250;
/// The page size the sources ask for.
const PAGE: usize = 100;

/// A branch of this run with [`PEOPLE`] people and one group; returns its DN.
async fn add_branch(c: &Customer) -> String {
    let mut ldap = admin(c).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
    let ou = format!("gsync{}", uuid::Uuid::new_v4().simple());
    let branch = format!("ou={ou},ou=people,{}", c.base);
    ldap.add(
        &branch,
        vec![
            ("objectClass".to_string(), one("organizationalUnit")),
            ("ou".to_string(), one(&ou)),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the branch");
    for i in 0..PEOPLE {
        let uid = format!("p{i:03}");
        ldap.add(
            &format!("uid={uid},{branch}"),
            vec![
                ("objectClass".to_string(), one("inetOrgPerson")),
                ("uid".to_string(), one(&uid)),
                ("cn".to_string(), one(&format!("Person {i:03}"))),
                ("sn".to_string(), one(&format!("Last{i:03}"))),
                ("givenName".to_string(), one(&format!("First{i:03}"))),
                ("mail".to_string(), one(&format!("{uid}@corp.test"))),
                (
                    "telephoneNumber".to_string(),
                    one(&format!("+1 555 {i:04}")),
                ),
                ("userPassword".to_string(), one("never-synced")),
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("add a person");
    }
    ldap.add(
        &format!("cn=team,{branch}"),
        vec![
            ("objectClass".to_string(), one("groupOfNames")),
            ("cn".to_string(), one("team")),
            ("member".to_string(), one(&format!("uid=p000,{branch}"))),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add a group");
    let _ = ldap.unbind().await;
    branch
}

fn set(pairs: &[(&str, &str)]) -> Vec<AttrEdit> {
    pairs
        .iter()
        .map(|(n, v)| {
            let values = if v.is_empty() {
                vec![]
            } else {
                vec![v.to_string()]
            };
            AttrEdit::Replace((*n).into(), values)
        })
        .collect()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local address").port()
}

const ACCOUNT: &str = "galsync@corp.test";

async fn target(p: &Provisioning, name: &str) -> GalSyncTarget {
    p.gal_sync_targets(ACCOUNT)
        .await
        .expect("targets")
        .into_iter()
        .find(|t| t.name == name)
        .expect("the source is listed")
}

async fn modify_source(p: &Provisioning, name: &str, pairs: &[(&str, &str)]) {
    p.modify_child(Child::DataSource, ACCOUNT, name, &set(pairs))
        .await
        .expect("modify the data source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_gal_sources_list_the_whole_customer_directory() {
    let Some(c) = customer() else {
        eprintln!(
            "SKIPPED external_gal_sources_list_the_whole_customer_directory: \
             ZCS_TEST_EXT_LDAP_URL / _BASE / _BIND_DN / _BIND_PASSWORD not set \
             (.ci/setup.d/21-slapd-customer.sh sets them)"
        );
        return;
    };
    let branch = add_branch(&c).await;
    let f = common::fixture().await;
    let p = &f.prov;
    p.bootstrap().await.expect("bootstrap");
    // A GAL cap far below the directory's size: a sync is not capped by it.
    p.create_domain("corp.test", {
        let mut a = Attrs::new();
        a.set_one("zimbraGalMaxResults", "10");
        a
    })
    .await
    .expect("domain");
    p.create_account("joe@corp.test", None, Attrs::new())
        .await
        .expect("account");
    let spec = GalSyncSpec {
        account: ACCOUNT,
        domain: "corp.test",
        source: "internal",
        gal_type: "zimbra",
        folder: Some("_InternalGAL"),
        password: None,
    };
    p.create_gal_sync_account(&spec).await.expect("internal");
    for name in ["ext", "fallback"] {
        p.create_gal_sync_account(&GalSyncSpec {
            source: name,
            gal_type: "ldap",
            folder: None,
            ..spec
        })
        .await
        .expect("external source");
    }
    let page = PAGE.to_string();
    modify_source(
        p,
        "ext",
        &[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapSearchBase", &branch),
            ("zimbraGalSyncLdapBindDn", &c.admin_dn),
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            ("zimbraGalSyncLdapPageSize", &page),
            ("zimbraGalSyncLdapFilter", "(objectClass=inetOrgPerson)"),
        ],
    )
    .await;

    // Both kinds are targets; the plan still holds the internal source only.
    let targets = p.gal_sync_targets(ACCOUNT).await.expect("targets");
    let kinds: Vec<(&str, GalSourceKind)> =
        targets.iter().map(|t| (t.name.as_str(), t.kind)).collect();
    assert!(
        kinds.contains(&("internal", GalSourceKind::Internal)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("ext", GalSourceKind::External)),
        "{kinds:?}"
    );
    assert!(
        !format!("{targets:?}").contains(&c.admin_pw),
        "no password in Debug"
    );
    let plan = p.gal_sync_plan(ACCOUNT).await.expect("plan");
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].kind, GalSourceKind::Internal);

    // Every person, in pages of 100, keyed by DN, mapped through the default map.
    let ext = target(p, "ext").await;
    let cfg = p.gal_sync_ldap_config(&ext).await.expect("config");
    assert_eq!(cfg.page_size as usize, PAGE);
    let src = p
        .read_gal_sync_source(&ext)
        .await
        .expect("read the external GAL");
    assert_eq!(src.kind.key_field(), "dn");
    assert_eq!(src.contacts.len(), PEOPLE, "not capped by page or GAL size");
    let keys: HashSet<&str> = src.contacts.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), PEOPLE, "one contact per entry");
    let (dn, c7) = src
        .contacts
        .iter()
        .find(|(_, a)| a.get("email") == Some("p007@corp.test"))
        .expect("p007 listed");
    assert_eq!(
        dn.to_lowercase(),
        format!("uid=p007,{branch}").to_lowercase()
    );
    assert_eq!(c7.get("fullName"), Some("Person 007"));
    assert_eq!(c7.get("firstName"), Some("First007"));
    assert_eq!(c7.get("lastName"), Some("Last007"));
    assert_eq!(c7.get("workPhone"), Some("+1 555 0007"));
    assert_eq!(c7.get("zimbraId"), None);
    assert!(
        c7.iter()
            .all(|(_, v)| !v.iter().any(|x| x == "never-synced"))
    );

    // Without a paging limit (page size 0) the same list comes in one search.
    modify_source(p, "ext", &[("zimbraGalSyncLdapPageSize", "0")]).await;
    let one = p.read_gal_sync_source(&target(p, "ext").await).await;
    assert_eq!(one.expect("unpaged").contacts.len(), PEOPLE);

    // A source with no settings of its own uses the domain's search settings, and a
    // named filter with an empty query (the group is found too); then the domain's
    // sync settings win over the search settings; anonymous reads work.
    let dom = zcs_directory::EntryKey::Name("corp.test".into());
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalLdapURL", &c.url),
            ("zimbraGalLdapSearchBase", &branch),
            ("zimbraGalLdapBindDn", &c.admin_dn),
            ("zimbraGalLdapBindPassword", &c.admin_pw),
            ("zimbraGalLdapFilter", "externalLdapAutoComplete"),
        ]),
    )
    .await
    .expect("domain search settings");
    let fb = p
        .read_gal_sync_source(&target(p, "fallback").await)
        .await
        .expect("fallback read");
    assert_eq!(fb.contacts.len(), PEOPLE + 1, "people and the group");
    let team = fb
        .contacts
        .iter()
        .find(|(_, a)| a.get("fullName") == Some("team"))
        .expect("the group");
    assert_eq!(team.1.get("type"), Some("group"));
    p.modify_domain(
        &dom,
        &set(&[
            (
                "zimbraGalSyncLdapFilter",
                "(&(objectClass=person)(uid=p00*))",
            ),
            ("zimbraGalSyncLdapAuthMech", "none"),
        ]),
    )
    .await
    .expect("domain sync settings");
    let fb = p
        .read_gal_sync_source(&target(p, "fallback").await)
        .await
        .expect("anonymous read");
    assert_eq!(fb.contacts.len(), 10, "the domain's sync filter");

    // A server list whose first server is down: the next one answers.
    let down = format!("ldap://127.0.0.1:{}", closed_port());
    p.modify_child(
        Child::DataSource,
        ACCOUNT,
        "ext",
        &[AttrEdit::Replace(
            "zimbraGalSyncLdapURL".into(),
            vec![down.clone(), c.url.clone()],
        )],
    )
    .await
    .expect("two URLs");
    let two = p.read_gal_sync_source(&target(p, "ext").await).await;
    assert_eq!(two.expect("failover").contacts.len(), PEOPLE);

    // Clear faults: refused credentials (the source's own `simple` wins over the
    // domain's `none`), no server, a missing search base.
    modify_source(
        p,
        "ext",
        &[
            ("zimbraGalSyncLdapAuthMech", "simple"),
            ("zimbraGalSyncLdapBindPassword", "wrong"),
        ],
    )
    .await;
    let e = p
        .read_gal_sync_source(&target(p, "ext").await)
        .await
        .map(|s| s.contacts.len())
        .expect_err("refused bind");
    assert_eq!(e.code, FaultCode::Failure);
    assert!(e.message.contains("invalid credentials"), "{}", e.message);
    assert!(!e.message.contains("wrong"), "no password in the fault");
    modify_source(
        p,
        "ext",
        &[
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            ("zimbraGalSyncLdapURL", &down),
        ],
    )
    .await;
    let e = p
        .read_gal_sync_source(&target(p, "ext").await)
        .await
        .map(|s| s.contacts.len())
        .expect_err("unreachable");
    assert_eq!(e.code, FaultCode::ResourceUnreachable);
    assert!(e.message.contains(&down), "{}", e.message);
    let missing = format!("ou=nosuch,{branch}");
    modify_source(
        p,
        "ext",
        &[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapSearchBase", &missing),
        ],
    )
    .await;
    let e = p
        .read_gal_sync_source(&target(p, "ext").await)
        .await
        .map(|s| s.contacts.len())
        .expect_err("missing base");
    assert_eq!(e.code, FaultCode::Failure);
    assert!(e.message.contains("32"), "noSuchObject: {}", e.message);

    remove_branch(&c, &branch).await;
}
