//! The auto-provisioning admin requests over SOAP against the customer's slapd
//! (`.ci/setup.d/21-slapd-customer.sh`): SearchAutoProvDirectoryRequest lists the
//! external entries without an account, AutoProvAccountRequest creates one (by name and
//! by DN), AutoProvTaskControlRequest reports the poller. Skipped loudly without the
//! customer's directory.

mod soap_support;

use std::collections::HashSet;

use soap_support::*;
use zcs_core::AttrEdit;
use zcs_directory::EntryKey;

struct Customer {
    url: String,
    base: String,
    admin_dn: String,
    admin_pw: String,
}

fn customer() -> Option<Customer> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some(Customer {
        url: var("ZCS_TEST_EXT_LDAP_URL")?,
        base: var("ZCS_TEST_EXT_LDAP_BASE")?,
        admin_dn: var("ZCS_TEST_EXT_LDAP_BIND_DN")?,
        admin_pw: var("ZCS_TEST_EXT_LDAP_BIND_PASSWORD")?,
    })
}

/// Adds `uids` under a branch of their own; returns the branch DN.
async fn add_people(c: &Customer, uids: &[&str]) -> String {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&c.url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&c.admin_dn, &c.admin_pw)
        .await
        .and_then(|r| r.success())
        .expect("bind");
    let one = |v: &str| HashSet::from([v.to_string()]);
    let ou = format!("ap{}", uuid::Uuid::new_v4().simple());
    let branch = format!("ou={ou},ou=people,{}", c.base);
    let class = ("objectClass".to_string(), one("organizationalUnit"));
    ldap.add(&branch, vec![class, ("ou".to_string(), one(&ou))])
        .await
        .and_then(|r| r.success())
        .expect("branch");
    for uid in uids {
        let attrs = vec![
            ("objectClass".to_string(), one("inetOrgPerson")),
            ("uid".to_string(), one(uid)),
            ("cn".to_string(), one(uid)),
            ("sn".to_string(), one(&format!("{uid} family"))),
        ];
        ldap.add(&format!("uid={uid},{branch}"), attrs)
            .await
            .and_then(|r| r.success())
            .expect("person");
    }
    let _ = ldap.unbind().await;
    branch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_create_and_task_status_over_soap() {
    let Some(c) = customer() else {
        eprintln!(
            "SKIPPED search_create_and_task_status_over_soap: ZCS_TEST_EXT_LDAP_URL / _BASE / \
             _BIND_DN / _BIND_PASSWORD not set (.ci/setup.d/21-slapd-customer.sh sets them)"
        );
        return;
    };
    let branch = add_people(&c, &["apone", "aptwo"]).await;
    let f = fixture().await;
    let set = |n: &str, v: &str| AttrEdit::Replace(n.into(), vec![v.into()]);
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[
                set("zimbraAutoProvMode", "MANUAL"),
                set("zimbraAutoProvLdapURL", &c.url),
                set("zimbraAutoProvLdapAdminBindDn", &c.admin_dn),
                set("zimbraAutoProvLdapAdminBindPassword", &c.admin_pw),
                set("zimbraAutoProvLdapSearchBase", &branch),
                set(
                    "zimbraAutoProvLdapSearchFilter",
                    "(&(objectClass=inetOrgPerson)(uid=%u))",
                ),
                set("zimbraAutoProvAttrMap", "sn=displayName"),
            ],
        )
        .await
        .expect("domain settings");
    let tok = admin_login(&f).await;
    let admin = async |body: &str| {
        post(
            f.admin,
            "/service/admin/soap",
            &soap12(Some(&tok), body),
            "",
        )
        .await
    };
    let search = "<SearchAutoProvDirectoryRequest xmlns=\"urn:zimbraAdmin\" keyAttr=\"uid\">\
                  <domain by=\"name\">example.test</domain></SearchAutoProvDirectoryRequest>";

    let r = admin(search).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("searchTotal=\"2\""), "{}", r.body);
    assert!(r.body.contains("<key>apone</key>"), "{}", r.body);
    assert!(
        r.body.contains(&format!("dn=\"uid=aptwo,{branch}\"")),
        "{}",
        r.body
    );

    // By name, then by DN.
    let create = |by: &str, key: &str| {
        format!(
            "<AutoProvAccountRequest xmlns=\"urn:zimbraAdmin\"><domain by=\"name\">\
             example.test</domain><principal by=\"{by}\">{key}</principal>\
             </AutoProvAccountRequest>"
        )
    };
    let r = admin(&create("name", "apone")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("name=\"apone@example.test\""), "{}", r.body);
    assert!(
        r.body.contains(">apone family<"),
        "mapped displayName: {}",
        r.body
    );
    let r = admin(search).await;
    assert!(r.body.contains("searchTotal=\"1\""), "{}", r.body);
    let r = admin(&create("dn", &format!("uid=aptwo,{branch}"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        f.prov
            .find_account("aptwo@example.test")
            .await
            .unwrap()
            .is_some()
    );
    // Again: the account exists.
    let r = admin(&create("name", "apone")).await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.ACCOUNT_EXISTS"),
        "{}",
        r.body
    );

    let status = "<AutoProvTaskControlRequest xmlns=\"urn:zimbraAdmin\" action=\"status\"/>";
    let r = admin(status).await;
    assert!(r.body.contains("status=\"idle\""), "{}", r.body);

    // Not an admin: refused.
    let user = login(&f, ALICE).await;
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&user), search),
        "",
    )
    .await;
    assert!(r.fault_code().is_some(), "{}", r.body);
}
