//! The customer's directory over TLS, and the external GAL sync's trickle mode and value
//! maps, against the customer slapd (`.ci/setup.d/21-slapd-customer.sh`): its throwaway
//! CA is trusted here ([`zcs_directory::ldap_client::trust_ca_path`]), so external
//! authentication, the live external GAL and an external GAL sync source work over
//! StartTLS (`zimbra*StartTlsEnabled TRUE`) and over `ldaps://`. The untrusted case is
//! `external_ldap_tls_untrusted.rs` (another process, which trusts nothing extra).
//!
//! Trickle sync: after a full sync, modifying one person makes the next sync return only
//! the entries stamped at or after the token, of which only that person's contact
//! differs; a deleted person is noticed by a full sync only. Value maps
//! (`zimbraGalLdapValueMap`) rewrite the live GAL's and the sync's values.
//!
//! Skipped loudly when the customer slapd (or, for the TLS parts, its TLS side) is not
//! configured.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use customer_env::{
    add_branch, add_person, admin, customer_or_skip, customer_tls_or_skip, remove_branch,
};
use ldap3::Mod;
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::{Child, GalRequest, GalSyncSpec, GalSyncTarget, GalType};
use zcs_directory::{AuthContext, EntryKey, Provisioning, ldap_client};

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

const ACCOUNT: &str = "galsync@corp.test";

/// A fresh directory with domain `corp.test`, its GAL sync account with the external
/// source `ext`, and the local account `joe@corp.test`.
async fn setup(p: &Provisioning) {
    p.bootstrap().await.expect("bootstrap");
    p.create_domain("corp.test", Attrs::new())
        .await
        .expect("domain");
    p.create_account("joe@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .expect("account");
    p.create_gal_sync_account(&GalSyncSpec {
        account: ACCOUNT,
        domain: "corp.test",
        source: "ext",
        gal_type: "ldap",
        folder: None,
        password: None,
    })
    .await
    .expect("external source");
}

async fn target(p: &Provisioning) -> GalSyncTarget {
    p.gal_sync_targets(ACCOUNT)
        .await
        .expect("targets")
        .into_iter()
        .find(|t| t.name == "ext")
        .expect("the source is listed")
}

async fn gal(p: &Provisioning, text: &str) -> Result<Vec<String>, FaultCode> {
    let req = GalRequest {
        text: text.into(),
        gal_type: GalType::All,
        autocomplete: false,
        limit: None,
    };
    p.search_gal("corp.test", &req)
        .await
        .map(|r| {
            let mut names: Vec<String> = r.entries.into_iter().map(|e| e.name).collect();
            names.sort();
            names
        })
        .map_err(|e| e.code)
}

/// Authentication, the live GAL and a GAL sync source over StartTLS and over ldaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_ldaps_with_a_trusted_customer_ca() {
    let test = "starttls_and_ldaps_with_a_trusted_customer_ca";
    let Some(c) = customer_or_skip(test) else {
        return;
    };
    let Some((ca, ldaps)) = customer_tls_or_skip(test) else {
        return;
    };
    ldap_client::trust_ca_path(&ca);
    let branch = add_branch(&c, &format!("tls{}", uuid::Uuid::new_v4().simple())).await;
    {
        let mut ldap = admin(&c).await;
        add_person(
            &mut ldap,
            &branch,
            "joe",
            "joe@corp.test",
            "Cust-Secret1",
            &[],
        )
        .await;
        add_person(&mut ldap, &branch, "tlsann", "tlsann@corp.test", "x", &[]).await;
        let _ = ldap.unbind().await;
    }
    let f = common::fixture().await;
    let p = &f.prov;
    setup(p).await;
    let dom = EntryKey::Name("corp.test".into());
    let template = format!("uid=%u,{branch}");

    // Authentication: StartTLS on the plain port, then ldaps.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthMech", "ldap"),
            ("zimbraAuthLdapURL", &c.url),
            ("zimbraAuthLdapBindDn", &template),
            ("zimbraAuthLdapStartTlsEnabled", "TRUE"),
        ]),
    )
    .await
    .expect("auth settings");
    p.authenticate("joe@corp.test", "Cust-Secret1", &login())
        .await
        .expect("bind over StartTLS");
    let wrong = p.authenticate("joe@corp.test", "Local-Pw1", &login()).await;
    assert_eq!(
        wrong.map(|_| ()).map_err(|e| e.code),
        Err(FaultCode::AuthFailed),
        "a wrong password over TLS is a refused login, not a TLS failure"
    );
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraAuthLdapURL", &ldaps),
            ("zimbraAuthLdapStartTlsEnabled", ""),
        ]),
    )
    .await
    .expect("ldaps");
    p.authenticate("joe@corp.test", "Cust-Secret1", &login())
        .await
        .expect("bind over ldaps");

    // The live GAL over StartTLS, then ldaps.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalMode", "ldap"),
            ("zimbraGalLdapURL", &c.url),
            ("zimbraGalLdapStartTlsEnabled", "TRUE"),
            ("zimbraGalLdapSearchBase", &branch),
            ("zimbraGalLdapBindDn", &c.admin_dn),
            ("zimbraGalLdapBindPassword", &c.admin_pw),
            ("zimbraGalLdapFilter", "(|(cn=*%s*)(mail=*%s*))"),
        ]),
    )
    .await
    .expect("GAL settings");
    assert_eq!(gal(p, "tlsann").await, Ok(vec!["tlsann@corp.test".into()]));
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalLdapURL", &ldaps),
            ("zimbraGalLdapStartTlsEnabled", ""),
        ]),
    )
    .await
    .expect("GAL over ldaps");
    assert_eq!(gal(p, "tlsann").await, Ok(vec!["tlsann@corp.test".into()]));

    // The GAL sync source over StartTLS (its own setting), then ldaps.
    let source = |url: &str, tls: &str| {
        set(&[
            ("zimbraGalSyncLdapURL", url),
            ("zimbraGalSyncLdapStartTlsEnabled", tls),
            ("zimbraGalSyncLdapSearchBase", &branch),
            ("zimbraGalSyncLdapFilter", "(objectClass=inetOrgPerson)"),
        ])
    };
    p.modify_child(Child::DataSource, ACCOUNT, "ext", &source(&c.url, "TRUE"))
        .await
        .expect("source over StartTLS");
    let t = target(p).await;
    assert!(p.gal_sync_ldap_config(&t).await.expect("config").start_tls);
    let src = p
        .read_gal_sync_source(&t)
        .await
        .expect("sync over StartTLS");
    assert_eq!(src.contacts.len(), 2);
    p.modify_child(Child::DataSource, ACCOUNT, "ext", &source(&ldaps, ""))
        .await
        .expect("source over ldaps");
    let src = p
        .read_gal_sync_source(&target(p).await)
        .await
        .expect("sync over ldaps");
    assert_eq!(src.contacts.len(), 2);

    remove_branch(&c, &branch).await;
}

/// Trickle sync and value maps, over StartTLS when the TLS side is configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickle_sync_and_value_maps() {
    let test = "trickle_sync_and_value_maps";
    let Some(c) = customer_or_skip(test) else {
        return;
    };
    let tls = customer_tls_or_skip(test);
    if let Some((ca, _)) = &tls {
        ldap_client::trust_ca_path(ca);
    }
    let branch = add_branch(&c, &format!("trickle{}", uuid::Uuid::new_v4().simple())).await;
    {
        let mut ldap = admin(&c).await;
        for i in 0..20 {
            let uid = format!("t{i:02}");
            let mail = format!("{uid}@corp.test");
            add_person(&mut ldap, &branch, &uid, &mail, "x", &[("title", "Staff")]).await;
        }
        add_person(
            &mut ldap,
            &branch,
            "room1",
            "room1@corp.test",
            "x",
            &[("title", "Room")],
        )
        .await;
        // A second later one person is touched, so the full sync's token (the highest
        // stamp) is that person's alone: stamps have a resolution of one second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        ldap.modify(
            &format!("uid=t19,{branch}"),
            vec![Mod::Replace(
                "description".to_string(),
                HashSet::from(["touched".to_string()]),
            )],
        )
        .await
        .and_then(|r| r.success())
        .expect("touch one person");
        let _ = ldap.unbind().await;
    }
    let f = common::fixture().await;
    let p = &f.prov;
    setup(p).await;
    let start_tls = if tls.is_some() { "TRUE" } else { "" };
    p.modify_child(
        Child::DataSource,
        ACCOUNT,
        "ext",
        &set(&[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapStartTlsEnabled", start_tls),
            ("zimbraGalSyncLdapSearchBase", &branch),
            ("zimbraGalSyncLdapBindDn", &c.admin_dn),
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            ("zimbraGalSyncLdapPageSize", "7"),
            ("zimbraGalSyncLdapFilter", "(objectClass=inetOrgPerson)"),
            // Value map: a job title "Room" becomes "Meeting room" (the field is jobTitle).
            ("zimbraGalLdapValueMap", "jobTitle: R(oo)m Meeting r$1m"),
        ]),
    )
    .await
    .expect("source settings");

    // First sync: no token yet, so a full one; its token is the highest stamp seen.
    let t = target(p).await;
    assert_eq!(t.sync_token(), None);
    let first = p.read_gal_sync_changes(&t, false).await.expect("full sync");
    assert!(first.complete);
    assert_eq!(first.contacts.len(), 21);
    let token = first.token.clone().expect("the directory gives stamps");
    let by_dn: HashMap<String, Attrs> = first.contacts.iter().cloned().collect();
    let room = &by_dn[&format!("uid=room1,{branch}")];
    assert_eq!(
        room.get("jobTitle"),
        Some("Meeting room"),
        "value map applied"
    );
    assert_eq!(
        by_dn[&format!("uid=t00,{branch}")].get("jobTitle"),
        Some("Staff"),
        "a value the expression does not match in full is kept"
    );
    p.record_gal_sync_token(ACCOUNT, "ext", &token)
        .await
        .expect("record the token");
    let t = target(p).await;
    assert_eq!(t.sync_token(), Some(token.as_str()));

    // One person changes (a second later, so its stamp is past the token).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let changed = format!("uid=t07,{branch}");
    {
        let mut ldap = admin(&c).await;
        ldap.modify(
            &changed,
            vec![Mod::Replace(
                "title".to_string(),
                HashSet::from(["Manager".to_string()]),
            )],
        )
        .await
        .and_then(|r| r.success())
        .expect("modify one person");
        let _ = ldap.unbind().await;
    }
    let second = p.read_gal_sync_changes(&t, false).await.expect("trickle");
    assert!(!second.complete, "a trickle sync");
    assert!(
        second.contacts.len() <= 2,
        "only the entries stamped at or after the token (t19, t07): {}",
        second.contacts.len()
    );
    let differing: Vec<&String> = second
        .contacts
        .iter()
        .filter(|pair| by_dn.get(&pair.0) != Some(&pair.1))
        .map(|(dn, _)| dn)
        .collect();
    assert_eq!(differing, [&changed], "only the modified contact changes");
    let new_token = second.token.clone().expect("token");
    assert!(new_token > token, "{new_token} after {token}");
    p.record_gal_sync_token(ACCOUNT, "ext", &new_token)
        .await
        .expect("record");

    // A deletion: a trickle sync does not see it, a full one does.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let gone = format!("uid=t03,{branch}");
    {
        let mut ldap = admin(&c).await;
        ldap.delete(&gone)
            .await
            .and_then(|r| r.success())
            .expect("delete one person");
        let _ = ldap.unbind().await;
    }
    let t = target(p).await;
    let third = p.read_gal_sync_changes(&t, false).await.expect("trickle");
    assert!(!third.complete);
    assert!(third.contacts.iter().all(|(dn, _)| dn != &gone));
    assert!(third.contacts.len() <= 1, "only the entry at the token");
    let full = p.read_gal_sync_changes(&t, true).await.expect("full sync");
    assert!(full.complete);
    assert_eq!(full.contacts.len(), 20, "the deleted person is gone");
    assert!(full.contacts.iter().all(|(dn, _)| dn != &gone));

    // A bad token is refused when recorded.
    assert_eq!(
        p.record_gal_sync_token(ACCOUNT, "ext", "yesterday")
            .await
            .map_err(|e| e.code),
        Err(FaultCode::InvalidRequest)
    );

    // The live GAL applies the domain's value map too.
    let dom = EntryKey::Name("corp.test".into());
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalMode", "ldap"),
            ("zimbraGalLdapURL", &c.url),
            ("zimbraGalLdapStartTlsEnabled", start_tls),
            ("zimbraGalLdapSearchBase", &branch),
            ("zimbraGalLdapBindDn", &c.admin_dn),
            ("zimbraGalLdapBindPassword", &c.admin_pw),
            ("zimbraGalLdapFilter", "(|(cn=*%s*)(mail=*%s*))"),
            ("zimbraGalLdapValueMap", "jobTitle: Room Conference room"),
        ]),
    )
    .await
    .expect("GAL settings");
    let req = GalRequest {
        text: "room1".into(),
        gal_type: GalType::All,
        autocomplete: false,
        limit: None,
    };
    let found = p.search_gal("corp.test", &req).await.expect("live GAL");
    assert_eq!(found.entries.len(), 1);
    let eff = p
        .effective_domain_attrs(&p.get_domain(&dom).await.expect("domain"))
        .await
        .expect("effective");
    let map = zcs_directory::provisioning::gal::attr_map(&eff);
    let fields = zcs_directory::provisioning::gal::contact_attrs(&found.entries[0], &map);
    assert_eq!(fields.get("jobTitle"), Some("Conference room"));

    remove_branch(&c, &branch).await;
}

/// Group members: with `zimbraGalLdapGroupHandlerClass` set, a group's contact lists its
/// members' addresses (members inside and outside the listing; a dangling member left
/// out); without it the group is only marked as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_with_a_group_handler() {
    let test = "group_members_with_a_group_handler";
    let Some(c) = customer_or_skip(test) else {
        return;
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let branch = add_branch(&c, &format!("groups{run}")).await;
    let outside = add_branch(&c, &format!("outside{run}")).await;
    let group_dn = format!("cn=team,{branch}");
    {
        let mut ldap = admin(&c).await;
        add_person(&mut ldap, &branch, "g1", "g1@corp.test", "x", &[]).await;
        add_person(&mut ldap, &branch, "g2", "g2@corp.test", "x", &[]).await;
        add_person(&mut ldap, &outside, "far", "far@corp.test", "x", &[]).await;
        let members: HashSet<String> = [
            format!("uid=g1,{branch}"),
            format!("UID=g2, {branch}"),
            format!("uid=far,{outside}"),
            format!("uid=nobody,{branch}"),
        ]
        .into();
        ldap.add(
            &group_dn,
            vec![
                (
                    "objectClass".to_string(),
                    HashSet::from(["groupOfNames".to_string()]),
                ),
                ("cn".to_string(), HashSet::from(["team".to_string()])),
                ("member".to_string(), members),
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("add the group");
        let _ = ldap.unbind().await;
    }
    let f = common::fixture().await;
    let p = &f.prov;
    setup(p).await;
    p.modify_child(
        Child::DataSource,
        ACCOUNT,
        "ext",
        &set(&[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapSearchBase", &branch),
            ("zimbraGalSyncLdapBindDn", &c.admin_dn),
            ("zimbraGalSyncLdapBindPassword", &c.admin_pw),
            (
                "zimbraGalSyncLdapFilter",
                "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))",
            ),
        ]),
    )
    .await
    .expect("source settings");
    let group = async || {
        let src = p
            .read_gal_sync_source(&target(p).await)
            .await
            .expect("sync");
        assert_eq!(src.contacts.len(), 3, "two people and the group");
        src.contacts
            .into_iter()
            .find(|(dn, _)| dn.eq_ignore_ascii_case(&group_dn))
            .expect("the group's contact")
            .1
    };
    let plain = group().await;
    assert_eq!(plain.get("type"), Some("group"));
    assert!(plain.get("member").is_none(), "no handler, no members");

    p.modify_child(
        Child::DataSource,
        ACCOUNT,
        "ext",
        &set(&[(
            "zimbraGalLdapGroupHandlerClass",
            "com.zimbra.cs.account.grouphandler.ADGroupHandler",
        )]),
    )
    .await
    .expect("group handler");
    let g = group().await;
    assert_eq!(g.get("type"), Some("group"));
    let mut members = g.get_all("member").to_vec();
    members.sort();
    assert_eq!(members, ["far@corp.test", "g1@corp.test", "g2@corp.test"]);

    remove_branch(&c, &branch).await;
    remove_branch(&c, &outside).await;
}
