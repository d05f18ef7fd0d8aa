//! Auto-provisioning reads the customer's directory in pages (RFC 2696): a source with
//! more entries than a page, and more than OpenLDAP's default per-search size limit
//! (500), is listed whole by SearchAutoProvDirectory and provisioned whole by an EAGER
//! cycle; against the customer slapd of `.ci/setup.d/21-slapd-customer.sh`, skipped
//! loudly without it.
//!
//! The search administrator here is the slapd's root DN, which no size limit binds. A
//! plain entry binding as search administrator keeps OpenLDAP's limits even when paging
//! (its `size.prtotal` defaults to the hard limit): that case is checked too, and reads
//! what the server allows without failing.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::collections::{HashMap, HashSet};

use customer_env::{Customer, admin, customer_or_skip, remove_branch};
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::EntryKey;
use zcs_directory::provisioning::Provisioning;

/// More than two pages of 200 and more than OpenLDAP's default size limit of 500.
const PEOPLE: usize = 520;

fn set(pairs: &[(&str, &[&str])]) -> Vec<AttrEdit> {
    pairs
        .iter()
        .map(|(n, v)| AttrEdit::Replace((*n).into(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

/// A fresh branch with `n` people `p0..`, and `uid=searcher` (password `Search-Pw1`),
/// a plain entry that can bind.
async fn add_people(c: &Customer, n: usize) -> String {
    let ou = format!("paged{}", uuid::Uuid::new_v4().simple());
    let branch = format!("ou={ou},ou=people,{}", c.base);
    let mut ldap = admin(c).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
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
    let mut uids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    uids.push("searcher".into());
    for uid in &uids {
        let mut attrs: HashMap<String, HashSet<String>> = HashMap::new();
        attrs.insert("objectClass".into(), one("inetOrgPerson"));
        attrs.insert("uid".into(), one(uid));
        attrs.insert("cn".into(), one(uid));
        attrs.insert("sn".into(), one(uid));
        if uid == "searcher" {
            attrs.insert("userPassword".into(), one("Search-Pw1"));
        }
        ldap.add(&format!("uid={uid},{branch}"), attrs.into_iter().collect())
            .await
            .and_then(|r| r.success())
            .expect("add a person");
    }
    let _ = ldap.unbind().await;
    branch
}

/// A domain auto-provisioning people (`uid=p*`) from `branch`, searched as `bind_dn`.
async fn domain(p: &Provisioning, c: &Customer, name: &str, branch: &str, bind: (&str, &str)) {
    p.create_domain(name, Attrs::new()).await.unwrap();
    p.modify_domain(
        &EntryKey::Name(name.into()),
        &set(&[
            ("zimbraAutoProvMode", &["MANUAL", "EAGER"]),
            ("zimbraAutoProvLdapURL", &[&c.url]),
            ("zimbraAutoProvLdapAdminBindDn", &[bind.0]),
            ("zimbraAutoProvLdapAdminBindPassword", &[bind.1]),
            ("zimbraAutoProvLdapSearchBase", &[branch]),
            (
                "zimbraAutoProvLdapSearchFilter",
                &["(&(objectClass=inetOrgPerson)(uid=p%u))"],
            ),
            ("zimbraAutoProvBatchSize", &["1000"]),
        ]),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_larger_than_a_page_and_the_size_limit_are_read_whole() {
    let Some(c) = customer_or_skip("sources_larger_than_a_page_and_the_size_limit_are_read_whole")
    else {
        return;
    };
    let branch = add_people(&c, PEOPLE).await;
    let f = common::fixture().await;
    let p = &f.prov;
    p.bootstrap().await.unwrap();
    let root = (c.admin_dn.as_str(), c.admin_pw.as_str());
    domain(p, &c, "paged.test", &branch, root).await;
    let key = EntryKey::Name("paged.test".into());

    // SearchAutoProvDirectory: every entry, or the first `limit`.
    let all = p
        .search_auto_prov_directory(&key, None, None, 0)
        .await
        .unwrap();
    assert_eq!(all.len(), PEOPLE);
    let names: HashSet<&str> = all.iter().map(|c| c.account_name.as_str()).collect();
    assert_eq!(names.len(), PEOPLE, "no entry twice across pages");
    let some = p
        .search_auto_prov_directory(&key, None, None, 7)
        .await
        .unwrap();
    assert_eq!(some.len(), 7);

    // One EAGER cycle provisions the whole source.
    let report = p.auto_prov_eager(&key).await.unwrap();
    assert_eq!((report.created.len(), report.failed), (PEOPLE, 0));
    assert_eq!(
        p.all_accounts(Some("paged.test")).await.unwrap().len(),
        PEOPLE
    );
    let again = p
        .search_auto_prov_directory(&key, None, None, 0)
        .await
        .unwrap();
    assert!(again.is_empty(), "every entry has its account now");

    // A plain entry as search administrator: the server caps what it may read even
    // in pages; that much is read and nothing fails.
    let searcher = format!("uid=searcher,{branch}");
    domain(p, &c, "capped.test", &branch, (&searcher, "Search-Pw1")).await;
    let capped = p
        .search_auto_prov_directory(&EntryKey::Name("capped.test".into()), None, None, 0)
        .await
        .unwrap();
    assert!(
        (500..=PEOPLE).contains(&capped.len()),
        "{} entries",
        capped.len()
    );
    remove_branch(&c, &branch).await;
}
