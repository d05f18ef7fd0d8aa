//! The customer's own directory for the external-LDAP suites: the second slapd
//! `.ci/setup.d/21-slapd-customer.sh` starts (standard schemas, `ou=people` under
//! `ZCS_TEST_EXT_LDAP_BASE`), read from the environment, with the admin connection and
//! the clean-up every suite needs. Included by each suite with `#[path]`.

#![allow(dead_code)]

use ldap3::{LdapConnAsync, Scope, SearchEntry};

/// Where the customer's directory is and how its admin binds.
pub struct Customer {
    pub url: String,
    pub base: String,
    pub admin_dn: String,
    pub admin_pw: String,
}

/// The customer's directory from `ZCS_TEST_EXT_LDAP_*`, or `None` when unset.
pub fn customer() -> Option<Customer> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some(Customer {
        url: var("ZCS_TEST_EXT_LDAP_URL")?,
        base: var("ZCS_TEST_EXT_LDAP_BASE")?,
        admin_dn: var("ZCS_TEST_EXT_LDAP_BIND_DN")?,
        admin_pw: var("ZCS_TEST_EXT_LDAP_BIND_PASSWORD")?,
    })
}

/// [`customer`], saying loudly that `test` is skipped when it is unset.
pub fn customer_or_skip(test: &str) -> Option<Customer> {
    let c = customer();
    if c.is_none() {
        eprintln!(
            "SKIPPED {test}: ZCS_TEST_EXT_LDAP_URL / _BASE / _BIND_DN / _BIND_PASSWORD not \
             set (.ci/setup.d/21-slapd-customer.sh sets them)"
        );
    }
    c
}

/// A connection bound as the customer's admin.
pub async fn admin(c: &Customer) -> ldap3::Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&c.url)
        .await
        .expect("connect to the customer's slapd");
    ldap3::drive!(conn);
    ldap.simple_bind(&c.admin_dn, &c.admin_pw)
        .await
        .and_then(|r| r.success())
        .expect("admin bind on the customer's slapd");
    ldap
}

/// Deletes `branch` and everything under it, deepest first; errors are ignored (the
/// directory is the test run's own).
pub async fn remove_branch(c: &Customer, branch: &str) {
    let mut ldap = admin(c).await;
    if let Ok((entries, _)) = ldap
        .search(branch, Scope::Subtree, "(objectClass=*)", vec!["1.1"])
        .await
        .and_then(|r| r.success())
    {
        let mut dns: Vec<String> = entries
            .into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .collect();
        dns.sort_by_key(|d| std::cmp::Reverse(d.len()));
        for dn in dns {
            let _ = ldap.delete(&dn).await;
        }
    }
    let _ = ldap.unbind().await;
}

/// The customer slapd's TLS side: the CA file that signed its certificate
/// (`ZCS_TEST_EXT_LDAP_CA`) and its `ldaps://` URL (`ZCS_TEST_EXT_LDAPS_URL`), or `None`
/// (said loudly for `test`) when the setup script could not offer TLS.
pub fn customer_tls_or_skip(test: &str) -> Option<(String, String)> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let tls = var("ZCS_TEST_EXT_LDAP_CA").zip(var("ZCS_TEST_EXT_LDAPS_URL"));
    if tls.is_none() {
        eprintln!(
            "SKIPPED {test} (TLS part): ZCS_TEST_EXT_LDAP_CA / ZCS_TEST_EXT_LDAPS_URL not set \
             (.ci/setup.d/21-slapd-customer.sh sets them when openssl works)"
        );
    }
    tls
}

/// Adds an `inetOrgPerson` `uid=<uid>,<branch>` with `mail`, `cn`, `sn`, the password
/// `pw` and the `extra` attributes.
pub async fn add_person(
    ldap: &mut ldap3::Ldap,
    branch: &str,
    uid: &str,
    mail: &str,
    pw: &str,
    extra: &[(&str, &str)],
) {
    let one = |v: &str| std::collections::HashSet::from([v.to_string()]);
    let mut attrs = vec![
        ("objectClass".to_string(), one("inetOrgPerson")),
        ("uid".to_string(), one(uid)),
        ("cn".to_string(), one(uid)),
        ("sn".to_string(), one(uid)),
        ("mail".to_string(), one(mail)),
        ("userPassword".to_string(), one(pw)),
    ];
    for (k, v) in extra {
        attrs.push((k.to_string(), one(v)));
    }
    ldap.add(&format!("uid={uid},{branch}"), attrs)
        .await
        .and_then(|r| r.success())
        .expect("add a customer person");
}

/// Adds the branch `ou=<ou>,ou=people,<base>` and returns its DN.
pub async fn add_branch(c: &Customer, ou: &str) -> String {
    let mut ldap = admin(c).await;
    let one = |v: &str| std::collections::HashSet::from([v.to_string()]);
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
    let _ = ldap.unbind().await;
    branch
}
