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
