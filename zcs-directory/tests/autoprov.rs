//! Auto-provisioning from the customer's directory (`.ci/setup.d/21-slapd-customer.sh`,
//! a real slapd with standard schemas, exported as `ZCS_TEST_EXT_LDAP_*`); zcs keeps its
//! own directory in SQLite. Skipped loudly when the customer's slapd is not configured.
//!
//! Covers spec 03 §6 ideas 9-14 and 17/20: LAZY logins (search filter and bind DN
//! template, mapped attributes, the name map, wrong passwords, bad maps, existing
//! accounts, concurrent logins, the domain status), MANUAL creation by name and by DN,
//! the search for unprovisioned entries, and EAGER batches.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use customer_env::{Customer, admin, customer_or_skip, remove_branch};
use zcs_core::{AttrEdit, Attrs, Entry, FaultCode};
use zcs_directory::provisioning::autoprov::{AutoProvListener, register_auto_prov_listener};
use zcs_directory::provisioning::preauth::compute_preauth;
use zcs_directory::provisioning::{AutoProvBy, Provisioning};
use zcs_directory::{AuthContext, EntryKey};

fn login() -> AuthContext {
    AuthContext {
        protocol: "soap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

/// Replaces each named attribute with the given values (none clears it).
fn set(pairs: &[(&str, &[&str])]) -> Vec<AttrEdit> {
    pairs
        .iter()
        .map(|(n, v)| AttrEdit::Replace((*n).into(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn customer(test: &str) -> Option<Customer> {
    customer_or_skip(test)
}

/// A user of the customer's directory: uid, password, extra attributes (a name may
/// repeat for several values; `sn` defaults to the uid).
type User<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A fresh people branch holding `users`; removed by [`remove_branch`].
async fn add_people(c: &Customer, users: &[User<'_>]) -> String {
    let ou = format!("run{}", uuid::Uuid::new_v4().simple());
    let mut ldap = admin(c).await;
    let one = |v: &str| HashSet::from([v.to_string()]);
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
    for (uid, pw, extra) in users {
        let mut attrs: HashMap<String, HashSet<String>> = HashMap::new();
        attrs.insert("objectClass".into(), one("inetOrgPerson"));
        attrs.insert("uid".into(), one(uid));
        attrs.insert("cn".into(), one(uid));
        attrs.insert("userPassword".into(), one(pw));
        for (n, v) in *extra {
            attrs
                .entry((*n).to_string())
                .or_default()
                .insert((*v).to_string());
        }
        attrs.entry("sn".into()).or_insert_with(|| one(uid));
        ldap.add(&format!("uid={uid},{branch}"), attrs.into_iter().collect())
            .await
            .and_then(|r| r.success())
            .expect("add a customer user");
    }
    let _ = ldap.unbind().await;
    branch
}

/// Creates `name` with auto-provisioning from `branch` in `modes`, searching with
/// `(uid=%u)` as the customer's admin; later logins check the same directory
/// (`zimbraAuthMech ldap`).
async fn auto_domain(p: &Provisioning, c: &Customer, name: &str, branch: &str, modes: &[&str]) {
    p.bootstrap().await.unwrap();
    p.create_domain(name, Attrs::new()).await.unwrap();
    p.modify_domain(
        &EntryKey::Name(name.into()),
        &set(&[
            ("zimbraAutoProvMode", modes),
            ("zimbraAutoProvAuthMech", &["LDAP"]),
            ("zimbraAutoProvLdapURL", &[&c.url]),
            ("zimbraAutoProvLdapAdminBindDn", &[&c.admin_dn]),
            ("zimbraAutoProvLdapAdminBindPassword", &[&c.admin_pw]),
            ("zimbraAutoProvLdapSearchBase", &[branch]),
            (
                "zimbraAutoProvLdapSearchFilter",
                &["(&(objectClass=inetOrgPerson)(uid=%u))"],
            ),
            ("zimbraAuthMech", &["ldap"]),
            ("zimbraAuthLdapURL", &[&c.url]),
        ]),
    )
    .await
    .unwrap();
}

async fn count(p: &Provisioning, domain: &str) -> usize {
    p.all_accounts(Some(domain)).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_login_creates_the_account_once() {
    let Some(c) = customer("lazy_login_creates_the_account_once") else {
        return;
    };
    let branch = add_people(
        &c,
        &[
            (
                "jdoe",
                "Ext-Pw1",
                &[("sn", "Doe"), ("description", "from corp")],
            ),
            ("ann", "Ext-Pw2", &[]),
        ],
    )
    .await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("lazy.test".into());
    auto_domain(p, &c, "lazy.test", &branch, &["LAZY"]).await;
    p.modify_domain(
        &dom,
        &set(&[(
            "zimbraAutoProvAttrMap",
            &["sn=displayName", "description=description"],
        )]),
    )
    .await
    .unwrap();

    // Spec 03 §6 idea 9: the right external password creates the account and logs in.
    let acct = p
        .authenticate("jdoe@lazy.test", "Ext-Pw1", &login())
        .await
        .unwrap();
    assert_eq!(acct.name, "jdoe@lazy.test");
    assert_eq!(acct.attrs.get("displayName"), Some("Doe"));
    assert_eq!(acct.attrs.get("description"), Some("from corp"));
    assert_eq!(
        acct.attrs.get("zimbraAuthLdapExternalDn"),
        Some(format!("uid=jdoe,{branch}").as_str())
    );
    assert!(
        acct.attrs.get("userPassword").is_none(),
        "no local password"
    );
    // The second login finds it (through zimbraAuthMech ldap) and creates nothing.
    let again = p
        .authenticate("jdoe@lazy.test", "Ext-Pw1", &login())
        .await
        .unwrap();
    assert_eq!(again.id, acct.id);
    assert_eq!(count(p, "lazy.test").await, 1);

    // A wrong external password, or an unknown user, creates nothing.
    let wrong = p.authenticate("ann@lazy.test", "Ext-Pw1", &login()).await;
    assert_eq!(common::code(wrong), FaultCode::AuthFailed);
    let nobody = p
        .authenticate("nobody@lazy.test", "Ext-Pw1", &login())
        .await;
    assert_eq!(common::code(nobody), FaultCode::AuthFailed);
    let empty = p.authenticate("ann@lazy.test", "", &login()).await;
    assert_eq!(common::code(empty), FaultCode::AuthFailed);
    assert_eq!(count(p, "lazy.test").await, 1);

    // Idea 10: AuthMech PREAUTH only: a password login does not provision.
    p.modify_domain(&dom, &set(&[("zimbraAutoProvAuthMech", &["PREAUTH"])]))
        .await
        .unwrap();
    let r = p.authenticate("ann@lazy.test", "Ext-Pw2", &login()).await;
    assert_eq!(common::code(r), FaultCode::AuthFailed);
    assert_eq!(count(p, "lazy.test").await, 1);

    // Idea 11: neither filter nor bind DN: the attempt fails cleanly.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAutoProvAuthMech", &["LDAP"]),
            ("zimbraAutoProvLdapSearchFilter", &[]),
        ]),
    )
    .await
    .unwrap();
    let r = p.authenticate("ann@lazy.test", "Ext-Pw2", &login()).await;
    assert_eq!(common::code(r), FaultCode::AuthFailed);
    assert_eq!(count(p, "lazy.test").await, 1);

    // The bind DN template alone works (the user reads its own entry).
    let template = format!("uid=%u,{branch}");
    p.modify_domain(&dom, &set(&[("zimbraAutoProvLdapBindDn", &[&template])]))
        .await
        .unwrap();
    let wrong = p.authenticate("ann@lazy.test", "Ext-Pw1", &login()).await;
    assert_eq!(common::code(wrong), FaultCode::AuthFailed);
    let ann = p
        .authenticate("ann@lazy.test", "Ext-Pw2", &login())
        .await
        .unwrap();
    assert_eq!(ann.name, "ann@lazy.test");
    assert_eq!(ann.attrs.get("displayName"), Some("ann"));
    assert_eq!(count(p, "lazy.test").await, 2);

    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_maps_names_and_refuses_bad_maps() {
    let Some(c) = customer("lazy_maps_names_and_refuses_bad_maps") else {
        return;
    };
    let branch = add_people(
        &c,
        &[
            (
                "jdoe",
                "Ext-Pw1",
                &[("employeeNumber", "jd"), ("sn", "Doe")],
            ),
            (
                "multi",
                "Ext-Pw2",
                &[("description", "one"), ("description", "two")],
            ),
            ("bob", "Ext-Pw3", &[("sn", "External Bob")]),
            ("eve", "Ext-Pw4", &[]),
        ],
    )
    .await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("map.test".into());
    auto_domain(p, &c, "map.test", &branch, &["LAZY"]).await;

    // Idea 13: the name map gives the local part.
    p.modify_domain(
        &dom,
        &set(&[("zimbraAutoProvAccountNameMap", &["employeeNumber"])]),
    )
    .await
    .unwrap();
    let a = p
        .authenticate("jdoe@map.test", "Ext-Pw1", &login())
        .await
        .unwrap();
    assert_eq!(a.name, "jd@map.test");
    // Logging in again under the external name reaches the same account.
    let b = p
        .authenticate("jdoe@map.test", "Ext-Pw1", &login())
        .await
        .unwrap();
    assert_eq!(b.id, a.id);
    p.modify_domain(&dom, &set(&[("zimbraAutoProvAccountNameMap", &[])]))
        .await
        .unwrap();

    // Idea 14: a bad map makes the creation fail.
    for map in [
        "foo=bogusAttr",
        "description=displayName",
        "sn=zimbraMailQuota",
    ] {
        p.modify_domain(&dom, &set(&[("zimbraAutoProvAttrMap", &[map])]))
            .await
            .unwrap();
        let who = if map.starts_with("description") {
            "multi"
        } else {
            "eve"
        };
        let pw = if who == "multi" { "Ext-Pw2" } else { "Ext-Pw4" };
        let r = p
            .authenticate(&format!("{who}@map.test"), pw, &login())
            .await;
        assert_eq!(common::code(r), FaultCode::AuthFailed, "{map}");
        assert!(
            p.find_account(&format!("{who}@map.test"))
                .await
                .unwrap()
                .is_none(),
            "{map}"
        );
    }

    // An existing account is never overwritten.
    p.modify_domain(
        &dom,
        &set(&[("zimbraAutoProvAttrMap", &["sn=displayName"])]),
    )
    .await
    .unwrap();
    let mut local = Attrs::new();
    local.set_one("displayName", "Local Bob");
    let bob = p.create_account("bob@map.test", None, local).await.unwrap();
    let _ = p.authenticate("bob@map.test", "Ext-Pw3", &login()).await;
    let bob2 = p.get_account("bob@map.test").await.unwrap();
    assert_eq!(bob2.id, bob.id);
    assert_eq!(bob2.attrs.get("displayName"), Some("Local Bob"));

    // A domain that is not active provisions nothing.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAutoProvAttrMap", &[]),
            ("zimbraDomainStatus", &["suspended"]),
        ]),
    )
    .await
    .unwrap();
    let r = p.authenticate("eve@map.test", "Ext-Pw4", &login()).await;
    assert!(r.is_err());
    assert!(p.find_account("eve@map.test").await.unwrap().is_none());

    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lazy_logins_create_one_account() {
    let Some(c) = customer("concurrent_lazy_logins_create_one_account") else {
        return;
    };
    let branch = add_people(&c, &[("race", "Ext-Pw1", &[])]).await;
    let f = common::fixture().await;
    auto_domain(&f.prov, &c, "race.test", &branch, &["LAZY"]).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let p = f.prov.clone();
        tasks.push(tokio::spawn(async move {
            p.authenticate("race@race.test", "Ext-Pw1", &login()).await
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        let acct = t.await.unwrap().expect("every concurrent login succeeds");
        ids.insert(acct.id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(count(&f.prov, "race.test").await, 1);
    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_by_name_and_by_dn_and_search() {
    let Some(c) = customer("manual_by_name_and_by_dn_and_search") else {
        return;
    };
    let branch = add_people(
        &c,
        &[
            ("carol", "Ext-Pw1", &[("sn", "Carol C")]),
            ("dave", "Ext-Pw2", &[]),
            ("erin", "Ext-Pw3", &[]),
        ],
    )
    .await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("man.test".into());
    auto_domain(p, &c, "man.test", &branch, &["LAZY"]).await;
    p.modify_domain(
        &dom,
        &set(&[("zimbraAutoProvAttrMap", &["sn=displayName"])]),
    )
    .await
    .unwrap();

    // MANUAL must be on.
    let r = p
        .auto_prov_account(&dom, AutoProvBy::Name, "carol", None)
        .await;
    assert_eq!(common::code(r), FaultCode::InvalidRequest);
    p.modify_domain(&dom, &set(&[("zimbraAutoProvMode", &["LAZY", "MANUAL"])]))
        .await
        .unwrap();

    // The search lists all three, none provisioned yet.
    let all = p
        .search_auto_prov_directory(&dom, None, None, 0)
        .await
        .unwrap();
    let mut names: Vec<_> = all.iter().map(|c| c.account_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["carol@man.test", "dave@man.test", "erin@man.test"]);

    let carol = p
        .auto_prov_account(&dom, AutoProvBy::Name, "carol", Some("Local-Pw1!"))
        .await
        .unwrap();
    assert_eq!(carol.name, "carol@man.test");
    assert_eq!(carol.attrs.get("displayName"), Some("Carol C"));
    let dave_dn = format!("uid=dave,{branch}");
    let dave = p
        .auto_prov_account(&dom, AutoProvBy::Dn, &dave_dn, None)
        .await
        .unwrap();
    assert_eq!(dave.name, "dave@man.test");
    assert_eq!(
        dave.attrs.get("zimbraAuthLdapExternalDn"),
        Some(dave_dn.as_str())
    );

    // Again: the account exists, and is left as it is.
    let r = p
        .auto_prov_account(&dom, AutoProvBy::Dn, &dave_dn, None)
        .await;
    assert_eq!(common::code(r), FaultCode::AccountExists);
    let r = p
        .auto_prov_account(&dom, AutoProvBy::Name, "nobody", None)
        .await;
    assert_eq!(common::code(r), FaultCode::NoSuchAccount);
    let r = p
        .auto_prov_account(&dom, AutoProvBy::Dn, &format!("uid=nobody,{branch}"), None)
        .await;
    assert_eq!(common::code(r), FaultCode::NoSuchAccount);
    // A filter metacharacter in the name matches nothing rather than everything.
    let r = p.auto_prov_account(&dom, AutoProvBy::Name, "*", None).await;
    assert_eq!(common::code(r), FaultCode::NoSuchAccount);

    // Only erin is left to provision; a name narrows, a limit cuts.
    let left = p
        .search_auto_prov_directory(&dom, None, None, 0)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].account_name, "erin@man.test");
    assert_eq!(left[0].entry.dn, format!("uid=erin,{branch}"));
    let named = p
        .search_auto_prov_directory(&dom, None, Some("carol"), 0)
        .await
        .unwrap();
    assert!(named.is_empty());
    p.create_account("erin@man.test", None, Attrs::new())
        .await
        .unwrap();
    let q = p
        .search_auto_prov_directory(&dom, Some("(objectClass=inetOrgPerson)"), None, 1)
        .await
        .unwrap();
    assert!(q.is_empty());
    assert_eq!(count(p, "man.test").await, 3);

    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_batches_create_missing_accounts() {
    let Some(c) = customer("eager_batches_create_missing_accounts") else {
        return;
    };
    let users: Vec<String> = (1..=5).map(|i| format!("user{i}")).collect();
    let list: Vec<User<'_>> = users
        .iter()
        .map(|u| (u.as_str(), "Ext-Pw1", &[][..]))
        .collect();
    let branch = add_people(&c, &list).await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("eager.test".into());
    auto_domain(p, &c, "eager.test", &branch, &["EAGER"]).await;
    p.modify_domain(&dom, &set(&[("zimbraAutoProvBatchSize", &["2"])]))
        .await
        .unwrap();
    // One account exists before the first poll and is skipped.
    p.create_account("user3@eager.test", None, Attrs::new())
        .await
        .unwrap();
    p.create_domain("lazyonly.test", Attrs::new())
        .await
        .unwrap();
    // The fixture's process runs as server mail.test, which schedules both domains.
    let mut server = Attrs::new();
    server.set(
        "zimbraAutoProvScheduledDomains",
        vec!["eager.test".into(), "lazyonly.test".into()],
    );
    p.create_server("mail.test", server).await.unwrap();

    // Idea 17: batch 2 over 4 missing entries: 2, then 2, then none.
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let results = p.auto_prov_poll_scheduled().await;
        assert_eq!(results.len(), 2);
        // Idea 20: a scheduled domain without EAGER is skipped with a fault.
        assert_eq!(results[1].0, "lazyonly.test");
        assert_eq!(
            results[1].1.as_ref().unwrap_err().code,
            FaultCode::InvalidRequest
        );
        let report = results[0].1.as_ref().expect("eager.test polls");
        assert_eq!(report.failed, 0);
        sizes.push(report.created.len());
    }
    assert_eq!(sizes, [2, 2, 0]);
    assert_eq!(count(p, "eager.test").await, 5);
    let d = p.get_domain(&dom).await.unwrap();
    assert!(d.attrs.get("zimbraAutoProvLastPolledTimestamp").is_some());

    // The direct call refuses a domain without EAGER.
    let r = p
        .auto_prov_eager(&EntryKey::Name("lazyonly.test".into()))
        .await;
    assert_eq!(common::code(r), FaultCode::InvalidRequest);
    assert_eq!(
        p.auto_prov_polling_interval().await.unwrap(),
        std::time::Duration::from_secs(15 * 60)
    );
    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_preauth_creates_the_account() {
    let Some(c) = customer("lazy_preauth_creates_the_account") else {
        return;
    };
    let branch = add_people(&c, &[("pre", "Ext-Pw1", &[("sn", "Pre Auth")])]).await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("pre.test".into());
    auto_domain(p, &c, "pre.test", &branch, &["LAZY"]).await;
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAutoProvAuthMech", &["PREAUTH"]),
            ("zimbraAutoProvAttrMap", &["sn=displayName"]),
        ]),
    )
    .await
    .unwrap();
    let key = p.generate_domain_preauth_key(&dom).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let who = "pre@pre.test";
    let sig = compute_preauth(&key, who, "name", 0, now);
    // A wrong signature or a stale timestamp creates nothing.
    let bad = p
        .auto_prov_lazy_preauth(who, "name", now, 0, &"0".repeat(40), &login())
        .await
        .unwrap();
    assert!(bad.is_none());
    let stale = compute_preauth(&key, who, "name", 0, now - 3_600_000);
    let r = p
        .auto_prov_lazy_preauth(who, "name", now - 3_600_000, 0, &stale, &login())
        .await
        .unwrap();
    assert!(r.is_none());
    // Through the preauth login itself: refused the same way, nothing created.
    let refused = p
        .preauth_login(who, "name", now, 0, &"0".repeat(40), &login())
        .await
        .expect_err("bad signature");
    assert_eq!(refused.code, zcs_core::FaultCode::AuthFailed);
    assert!(p.find_account(who).await.unwrap().is_none());
    // The right one creates the account at the preauth login; a password login still
    // does not (LDAP is off).
    let acct = p
        .preauth_login(who, "name", now, 0, &sig, &login())
        .await
        .expect("created by the preauth login");
    assert_eq!(acct.name, who);
    assert_eq!(acct.attrs.get("displayName"), Some("Pre Auth"));
    let again = p
        .auto_prov_lazy_preauth(who, "name", now, 0, &sig, &login())
        .await
        .unwrap()
        .expect("the same account");
    assert_eq!(again.id, acct.id);
    assert_eq!(count(p, "pre.test").await, 1);
    remove_branch(&c, &branch).await;
}

/// Tags each provisioned entry `description: provisioned` in the customer's directory.
struct Tagger {
    url: String,
    admin_dn: String,
    admin_pw: String,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl AutoProvListener for Tagger {
    async fn post_create(&self, _domain: &Entry, _account: &Entry, external_dn: &str) {
        let c = Customer {
            url: self.url.clone(),
            base: String::new(),
            admin_dn: self.admin_dn.clone(),
            admin_pw: self.admin_pw.clone(),
        };
        let mut ldap = admin(&c).await;
        let tag = HashSet::from(["provisioned".to_string()]);
        ldap.modify(
            external_dn,
            vec![ldap3::Mod::Add("description".to_string(), tag)],
        )
        .await
        .and_then(|r| r.success())
        .expect("tag the entry");
        let _ = ldap.unbind().await;
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_listener_tags_entries_so_later_cycles_find_nothing() {
    let Some(c) = customer("eager_listener_tags_entries_so_later_cycles_find_nothing") else {
        return;
    };
    let branch = add_people(
        &c,
        &[
            ("t1", "Ext-Pw1", &[]),
            ("t2", "Ext-Pw1", &[]),
            ("t3", "Ext-Pw1", &[]),
        ],
    )
    .await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("tag.test".into());
    auto_domain(p, &c, "tag.test", &branch, &["EAGER"]).await;
    let name = format!("tagger-{}", uuid::Uuid::new_v4().simple());
    let tagger = std::sync::Arc::new(Tagger {
        url: c.url.clone(),
        admin_dn: c.admin_dn.clone(),
        admin_pw: c.admin_pw.clone(),
        calls: Default::default(),
    });
    register_auto_prov_listener(&name, tagger.clone());
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAutoProvBatchSize", &["2"]),
            ("zimbraAutoProvListenerClass", &[&name]),
            (
                "zimbraAutoProvLdapSearchFilter",
                &["(&(objectClass=inetOrgPerson)(uid=%u)(!(description=provisioned)))"],
            ),
        ]),
    )
    .await
    .unwrap();
    let first = p.auto_prov_eager(&dom).await.unwrap();
    assert_eq!(first.created.len(), 2);
    let second = p.auto_prov_eager(&dom).await.unwrap();
    assert_eq!((second.created.len(), second.existing), (1, 0));
    // Tagged entries no longer come back at all: nothing is even skipped as existing.
    let third = p.auto_prov_eager(&dom).await.unwrap();
    assert_eq!(
        (third.created.len(), third.existing, third.failed),
        (0, 0, 0)
    );
    assert_eq!(tagger.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(count(p, "tag.test").await, 3);
    remove_branch(&c, &branch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pollers_at_once_make_one_account_per_entry_in_the_default_cos() {
    let Some(c) = customer("two_pollers_at_once_make_one_account_per_entry_in_the_default_cos")
    else {
        return;
    };
    let users: Vec<String> = (1..=6).map(|i| format!("p{i}")).collect();
    let list: Vec<User<'_>> = users
        .iter()
        .map(|u| (u.as_str(), "Ext-Pw1", &[][..]))
        .collect();
    let branch = add_people(&c, &list).await;
    let f = common::fixture().await;
    let p = &f.prov;
    let dom = EntryKey::Name("both.test".into());
    auto_domain(p, &c, "both.test", &branch, &["EAGER"]).await;
    // Spec 03 §6 idea 16: the domain's default COS applies to auto-created accounts.
    let gold = p.create_cos("gold", Attrs::new()).await.unwrap();
    p.modify_domain(
        &dom,
        &set(&[("zimbraDomainDefaultCOSId", &[&gold.id.to_string()])]),
    )
    .await
    .unwrap();
    // Idea 19: two servers polling the same domain at the same moment.
    let poll = |p: Provisioning| {
        let dom = dom.clone();
        tokio::spawn(async move { p.auto_prov_eager(&dom).await })
    };
    let (a, b) = (poll(f.prov.clone()), poll(f.prov.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.failed + b.failed, 0);
    assert_eq!(a.created.len() + b.created.len(), 6, "{a:?} {b:?}");
    assert_eq!(count(p, "both.test").await, 6);
    let acct = p.get_account("p1@both.test").await.unwrap();
    let cos = p.account_cos(&acct).await.unwrap().expect("a COS");
    assert_eq!(cos.name, "gold");
    remove_branch(&c, &branch).await;
}
