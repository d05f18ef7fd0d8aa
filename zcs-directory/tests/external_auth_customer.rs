//! External LDAP authentication against a second, independent slapd that plays the
//! customer's own directory (`.ci/setup.d/21-slapd-customer.sh`: standard schemas only,
//! `dc=customer,dc=test`, exported as `ZCS_TEST_EXT_LDAP_*`). zcs keeps its own directory
//! on the first slapd (`ZCS_TEST_LDAP_*`) when that one is configured too, else in
//! SQLite. Skipped loudly when the customer's slapd is not configured.
//!
//! Covers the bind DN template, search-then-bind (with search credentials and
//! anonymously), several URLs with the first one down, the account's own external DN,
//! falling back to the local password, and the status checks that still apply.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;
mod ldap_env;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use customer_env::{Customer, admin, customer, remove_branch};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::{GalRequest, GalType};
use zcs_directory::{AuthContext, EntryKey, Provisioning};

fn login() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
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

/// A people branch of this test run in the customer's directory, removed at the end.
async fn add_people(c: &Customer, ou: &str, users: &[(&str, &str, &str)]) -> String {
    let mut ldap = admin(c).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
    let branch = format!("ou={ou},ou=people,{}", c.base);
    ldap.add(
        &branch,
        vec![
            ("objectClass".to_string(), one("organizationalUnit")),
            ("ou".to_string(), one(ou)),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the branch");
    for (uid, mail, pw) in users {
        ldap.add(
            &format!("uid={uid},{branch}"),
            vec![
                ("objectClass".to_string(), one("inetOrgPerson")),
                ("uid".to_string(), one(uid)),
                ("cn".to_string(), one(uid)),
                ("sn".to_string(), one(uid)),
                ("mail".to_string(), one(mail)),
                ("userPassword".to_string(), one(pw)),
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("add a customer user");
    }
    let _ = ldap.unbind().await;
    branch
}

/// The whole scenario on one zcs directory.
async fn scenario(p: &Provisioning, c: &Customer, label: &str) {
    let ou = format!("run{}", uuid::Uuid::new_v4().simple());
    let branch = add_people(
        c,
        &ou,
        &[
            ("joe", "joe@corp.test", "Cust-Secret1"),
            ("ann", "ann.other@corp.test", "Cust-Secret2"),
        ],
    )
    .await;

    p.bootstrap().await.unwrap();
    p.create_domain("corp.test", Attrs::new()).await.unwrap();
    p.create_account("joe@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .unwrap();
    p.create_account("ann@corp.test", Some("Local-Pw2"), Attrs::new())
        .await
        .unwrap();
    let dom = EntryKey::Name("corp.test".into());
    let ok = async |who: &str, pw: &str| p.authenticate(who, pw, &login()).await.is_ok();
    let refused = async |who: &str, pw: &str| {
        p.authenticate(who, pw, &login())
            .await
            .map(|_| ())
            .map_err(|e| e.code)
    };

    // 1. Bind DN template.
    let template = format!("uid=%u,{branch}");
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthMech", "ldap"),
            ("zimbraAuthLdapURL", &c.url),
            ("zimbraAuthLdapBindDn", &template),
        ]),
    )
    .await
    .unwrap();
    assert!(
        ok("joe@corp.test", "Cust-Secret1").await,
        "template bind on {label}"
    );
    for bad in ["Local-Pw1", "cust-secret1", ""] {
        assert_eq!(
            refused("joe@corp.test", bad).await,
            Err(FaultCode::AuthFailed),
            "{bad:?} on {label}"
        );
    }

    // 2. Search, then bind: the customer's mail attribute differs from ann's zcs name,
    // so only a filter on uid finds her; first with search credentials, then anonymous.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthLdapBindDn", ""),
            ("zimbraAuthLdapSearchBase", &branch),
            (
                "zimbraAuthLdapSearchFilter",
                "(&(objectClass=inetOrgPerson)(uid=%u))",
            ),
            ("zimbraAuthLdapSearchBindDn", &c.admin_dn),
            ("zimbraAuthLdapSearchBindPassword", &c.admin_pw),
        ]),
    )
    .await
    .unwrap();
    assert!(
        ok("ann@corp.test", "Cust-Secret2").await,
        "search bind on {label}"
    );
    assert_eq!(
        refused("ann@corp.test", "Cust-Secret1").await,
        Err(FaultCode::AuthFailed)
    );
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthLdapSearchBindDn", ""),
            ("zimbraAuthLdapSearchBindPassword", ""),
        ]),
    )
    .await
    .unwrap();
    assert!(
        ok("joe@corp.test", "Cust-Secret1").await,
        "anonymous search on {label}"
    );

    // 3. The first URL is down: the next one answers.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("ldap://127.0.0.1:{dead} {}", c.url);
    p.modify_domain(&dom, &set(&[("zimbraAuthLdapURL", &urls)]))
        .await
        .unwrap();
    assert!(
        ok("joe@corp.test", "Cust-Secret1").await,
        "failover on {label}"
    );

    // 4. The account's own external DN beats the domain's settings.
    let ann_dn = format!("uid=ann,{branch}");
    p.modify_account(
        "joe@corp.test",
        &set(&[("zimbraAuthLdapExternalDn", &ann_dn)]),
    )
    .await
    .unwrap();
    assert!(
        ok("joe@corp.test", "Cust-Secret2").await,
        "external DN on {label}"
    );
    assert_eq!(
        refused("joe@corp.test", "Cust-Secret1").await,
        Err(FaultCode::AuthFailed)
    );
    p.modify_account("joe@corp.test", &set(&[("zimbraAuthLdapExternalDn", "")]))
        .await
        .unwrap();

    // 5. Falling back to the local password only when allowed.
    assert_eq!(
        refused("joe@corp.test", "Local-Pw1").await,
        Err(FaultCode::AuthFailed)
    );
    p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "TRUE")]))
        .await
        .unwrap();
    assert!(
        ok("joe@corp.test", "Local-Pw1").await,
        "fallback on {label}"
    );
    assert!(ok("joe@corp.test", "Cust-Secret1").await);

    // 6. zcs's status checks still apply to a good external password.
    p.modify_account("joe@corp.test", &set(&[("zimbraAccountStatus", "locked")]))
        .await
        .unwrap();
    assert!(refused("joe@corp.test", "Cust-Secret1").await.is_err());
    p.modify_account(
        "joe@corp.test",
        &set(&[("zimbraAccountStatus", "maintenance")]),
    )
    .await
    .unwrap();
    assert_eq!(
        refused("joe@corp.test", "Cust-Secret1").await,
        Err(FaultCode::MaintenanceMode)
    );

    remove_branch(c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_directory_on_a_second_slapd() {
    let Some(c) = customer() else {
        eprintln!(
            "SKIPPED customer_directory_on_a_second_slapd: ZCS_TEST_EXT_LDAP_URL / _BASE / \
             _BIND_DN / _BIND_PASSWORD not set (.ci/setup.d/21-slapd-customer.sh sets them)"
        );
        return;
    };
    // zcs's own directory on the first slapd, when there is one.
    if let Some(env) = ldap_env::ldap_provisioning("customer_directory_on_a_second_slapd").await {
        scenario(&env.prov, &c, "ldap").await;
    }
    let f = common::fixture().await;
    scenario(&f.prov, &c, "sqlite").await;
}

/// The live GAL of a domain in `zimbraGalMode` `ldap` and `both` (spec 01 §1.13): search
/// and autocomplete read the customer's directory with `zimbraGalLdapURL`, a named or
/// literal `zimbraGalLdapFilter`, its search base and bind; `both` merges the internal
/// GAL in, and keeps answering from it when the customer's server is down, while `ldap`
/// then fails as unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gal_modes_ldap_and_both_read_the_customer_directory() {
    let Some(c) = customer() else {
        eprintln!(
            "SKIPPED gal_modes_ldap_and_both_read_the_customer_directory: \
             ZCS_TEST_EXT_LDAP_URL / _BASE / _BIND_DN / _BIND_PASSWORD not set"
        );
        return;
    };
    let ou = format!("gal{}", uuid::Uuid::new_v4().simple());
    let branch = add_people(
        &c,
        &ou,
        &[
            ("galjoe", "galjoe@corp.test", "x-Secret1"),
            ("galann", "galann@corp.test", "x-Secret2"),
        ],
    )
    .await;
    let f = common::fixture().await;
    let p = &f.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("corp.test", Attrs::new()).await.unwrap();
    p.create_account("galinside@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .unwrap();
    let dom = EntryKey::Name("corp.test".into());
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalMode", "ldap"),
            ("zimbraGalLdapURL", &c.url),
            ("zimbraGalLdapSearchBase", &branch),
            ("zimbraGalLdapBindDn", &c.admin_dn),
            ("zimbraGalLdapBindPassword", &c.admin_pw),
            ("zimbraGalLdapFilter", "(|(cn=*%s*)(mail=*%s*))"),
        ]),
    )
    .await
    .unwrap();
    let gal = async |text: &str, autocomplete: bool| {
        let req = GalRequest {
            text: text.into(),
            gal_type: GalType::All,
            autocomplete,
            limit: None,
        };
        p.search_gal("corp.test", &req).await.map(|r| {
            let mut names: Vec<String> = r.entries.into_iter().map(|e| e.name).collect();
            names.sort();
            names
        })
    };

    // ldap: only the customer's people, by a substring and by the named autocomplete filter.
    assert_eq!(
        gal("gal", false).await.unwrap(),
        ["galann@corp.test", "galjoe@corp.test"]
    );
    assert_eq!(gal("galj", true).await.unwrap(), ["galjoe@corp.test"]);
    assert_eq!(
        gal("nobody-here", false).await.unwrap(),
        Vec::<String>::new()
    );
    // A filter metacharacter in the text is data, not filter syntax.
    assert_eq!(gal("*)(cn=*", false).await.unwrap(), Vec::<String>::new());

    // both: the internal account joins the external ones.
    p.modify_domain(&dom, &set(&[("zimbraGalMode", "both")]))
        .await
        .unwrap();
    assert_eq!(
        gal("gal", false).await.unwrap(),
        [
            "galann@corp.test",
            "galinside@corp.test",
            "galjoe@corp.test"
        ]
    );

    // The customer's server unreachable: both answers from inside, ldap fails.
    p.modify_domain(&dom, &set(&[("zimbraGalLdapURL", "ldap://127.0.0.1:1")]))
        .await
        .unwrap();
    assert_eq!(gal("gal", false).await.unwrap(), ["galinside@corp.test"]);
    p.modify_domain(&dom, &set(&[("zimbraGalMode", "ldap")]))
        .await
        .unwrap();
    assert_eq!(
        gal("gal", false).await.map_err(|e| e.code),
        Err(FaultCode::ResourceUnreachable)
    );
    remove_branch(&c, &branch).await;
}
