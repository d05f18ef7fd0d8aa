//! Calendar resources, identities / signatures / data sources, statuses at login and
//! delivery, renameDomain, alias domains and catch-all resolution through `Provisioning`
//! (spec 03 test ideas 31-40). Lists and groups are in `entry_kinds.rs`.
//!
//! Every case runs twice: on SQLite (`sqlite::`), and on OpenLDAP (`ldap::`) in a private
//! `o=` subtree when `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and
//! `ZCS_TEST_LDAP_BIND_PASSWORD` are set (skipped loudly otherwise), so the provisioning
//! rules are checked to be backend-neutral.

mod common;
#[macro_use]
mod ldap_env;

use std::net::{IpAddr, Ipv4Addr};

use common::{code, fixture};
use ldap_env::ldap_provisioning;
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::{Child, Delivery};
use zcs_directory::{AuthContext, EntryKey, Provisioning};

fn one(name: &str, value: &str) -> Attrs {
    let mut a = Attrs::new();
    a.set_one(name, value);
    a
}

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

async fn seed(p: &Provisioning) {
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    for u in ["a", "b", "c"] {
        p.create_account(&format!("{u}@ex.test"), Some("Passw0rd!"), Attrs::new())
            .await
            .unwrap();
    }
}

async fn calendar_resources(p: Provisioning) {
    seed(&p).await;
    assert_eq!(
        code(
            p.create_calendar_resource("room@ex.test", None, one("displayName", "Room"))
                .await
        ),
        FaultCode::InvalidRequest
    );
    let mut attrs = one("displayName", "Room 1");
    attrs.set_one("zimbraCalResType", "Kitchen");
    assert_eq!(
        code(
            p.create_calendar_resource("room@ex.test", None, attrs.clone())
                .await
        ),
        FaultCode::InvalidAttrValue
    );
    attrs.set_one("zimbraCalResType", "Location");
    attrs.set_one("zimbraCalResCapacity", "12");
    let r = p
        .create_calendar_resource("room@ex.test", None, attrs)
        .await
        .unwrap();
    assert!(
        r.attrs
            .get_all("objectClass")
            .contains(&"zimbraCalendarResource".into())
    );
    assert_eq!(
        p.get_calendar_resource("room@ex.test").await.unwrap().id,
        r.id
    );
    assert_eq!(
        code(p.get_calendar_resource("a@ex.test").await),
        FaultCode::NoSuchCalendarResource
    );
    p.modify_calendar_resource(
        "room@ex.test",
        &set("zimbraCalResAutoAcceptDecline", "FALSE"),
    )
    .await
    .unwrap();
    let eff = p
        .effective_account_attrs(&p.get_calendar_resource("room@ex.test").await.unwrap())
        .await
        .unwrap();
    assert_eq!(eff.get("zimbraCalResAutoAcceptDecline"), Some("FALSE"));
    let r2 = p
        .rename_calendar_resource("room@ex.test", "hall@ex.test")
        .await
        .unwrap();
    assert_eq!(r2.id, r.id);
    assert_eq!(
        p.all_calendar_resources(Some("ex.test"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(p.all_accounts(Some("ex.test")).await.unwrap().len(), 3);
    p.delete_calendar_resource("hall@ex.test").await.unwrap();
    assert!(p.all_calendar_resources(None).await.unwrap().is_empty());
}

async fn identities_signatures_data_sources(p: Provisioning) {
    seed(&p).await;
    let i = p
        .create_child(
            Child::Identity,
            "a@ex.test",
            "work",
            None,
            one("zimbraPrefFromAddress", "a@ex.test"),
        )
        .await
        .unwrap();
    assert_eq!(i.attrs.get("zimbraPrefIdentityName"), Some("work"));
    let e = p
        .create_child(Child::Identity, "a@ex.test", "Work", None, Attrs::new())
        .await
        .unwrap_err();
    assert!(e.message.starts_with("IDENTITY_EXISTS"), "{e}");
    assert!(
        p.create_child(Child::Identity, "a@ex.test", "default", None, Attrs::new())
            .await
            .is_err()
    );
    // The same name under another account is fine.
    p.create_child(Child::Identity, "b@ex.test", "work", None, Attrs::new())
        .await
        .unwrap();
    let ids = p.get_children(Child::Identity, "a@ex.test").await.unwrap();
    let names: Vec<&str> = ids
        .iter()
        .map(|e| e.attrs.get("zimbraPrefIdentityName").unwrap())
        .collect();
    assert_eq!(names, vec!["DEFAULT", "work"]);
    p.modify_child(
        Child::Identity,
        "a@ex.test",
        "work",
        &set("zimbraPrefIdentityName", "office"),
    )
    .await
    .unwrap();
    assert_eq!(
        p.get_child(Child::Identity, "a@ex.test", "office")
            .await
            .unwrap()
            .id,
        i.id
    );
    p.delete_child(Child::Identity, "a@ex.test", &i.id.to_string())
        .await
        .unwrap();
    assert_eq!(
        p.get_children(Child::Identity, "a@ex.test")
            .await
            .unwrap()
            .len(),
        1
    );

    let s = p
        .create_child(
            Child::Signature,
            "a@ex.test",
            "sig1",
            None,
            one("zimbraPrefMailSignature", "-- a"),
        )
        .await
        .unwrap();
    p.modify_child(
        Child::Signature,
        "a@ex.test",
        &s.id.to_string(),
        &set("zimbraPrefMailSignature", "-- A"),
    )
    .await
    .unwrap();
    let got = p.get_children(Child::Signature, "a@ex.test").await.unwrap();
    assert_eq!(got[0].attrs.get("zimbraPrefMailSignature"), Some("-- A"));

    assert_eq!(
        code(
            p.create_child(Child::DataSource, "a@ex.test", "pop", None, Attrs::new())
                .await
        ),
        FaultCode::InvalidRequest
    );
    let mut attrs = one("zimbraDataSourceEnabled", "TRUE");
    attrs.set_one("zimbraDataSourceFolderId", "2");
    attrs.set_one("zimbraDataSourceHost", "pop.far.test");
    let ds = p
        .create_child(Child::DataSource, "a@ex.test", "pop", Some("pop3"), attrs)
        .await
        .unwrap();
    assert!(
        ds.attrs
            .get_all("objectClass")
            .contains(&"zimbraPop3DataSource".into())
    );
    assert_eq!(ds.attrs.get("zimbraDataSourceType"), Some("pop3"));

    // Limits from the COS.
    p.modify_account("c@ex.test", &set("zimbraSignatureMaxNumEntries", "1"))
        .await
        .unwrap();
    p.create_child(Child::Signature, "c@ex.test", "one", None, Attrs::new())
        .await
        .unwrap();
    let e = p
        .create_child(Child::Signature, "c@ex.test", "two", None, Attrs::new())
        .await
        .unwrap_err();
    assert!(e.message.starts_with("TOO_MANY_SIGNATURES"), "{e}");

    // Children follow their account through renames, of it and of its domain.
    p.create_child(Child::Identity, "b@ex.test", "me@home", None, Attrs::new())
        .await
        .unwrap();
    p.rename_account("b@ex.test", "bee@ex.test").await.unwrap();
    assert_eq!(
        p.get_children(Child::Identity, "bee@ex.test")
            .await
            .unwrap()
            .len(),
        3
    );
    p.rename_domain(&EntryKey::Name("ex.test".into()), "ex2.test")
        .await
        .unwrap();
    let ids = p
        .get_children(Child::Identity, "bee@ex2.test")
        .await
        .unwrap();
    let names: Vec<&str> = ids
        .iter()
        .map(|e| e.attrs.get("zimbraPrefIdentityName").unwrap())
        .collect();
    assert_eq!(names, vec!["DEFAULT", "me@home", "work"]);
    p.rename_domain(&EntryKey::Name("ex2.test".into()), "ex.test")
        .await
        .unwrap();

    // Children leave with their account.
    p.delete_account("a@ex.test").await.unwrap();
    p.create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert!(
        p.get_children(Child::Signature, "a@ex.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        p.get_children(Child::DataSource, "a@ex.test")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn statuses_at_login_and_delivery(p: Provisioning) {
    seed(&p).await;
    for (status, login, delivery) in [
        ("active", None, Delivery::Deliver),
        (
            "maintenance",
            Some(FaultCode::MaintenanceMode),
            Delivery::Defer,
        ),
        ("pending", Some(FaultCode::AuthFailed), Delivery::Reject),
        ("locked", Some(FaultCode::AuthFailed), Delivery::Deliver),
        ("closed", Some(FaultCode::AuthFailed), Delivery::Reject),
        ("lockout", Some(FaultCode::AuthFailed), Delivery::Deliver),
    ] {
        p.modify_account("a@ex.test", &set("zimbraAccountStatus", status))
            .await
            .unwrap();
        let r = p.authenticate("a@ex.test", "Passw0rd!", &ctx()).await;
        assert_eq!(r.err().map(|e| e.code), login, "{status}");
        let d = p.resolve_recipient("a@ex.test").await.unwrap().unwrap();
        assert_eq!(d.delivery, delivery, "{status}");
    }
    p.modify_account("a@ex.test", &set("zimbraAccountStatus", "active"))
        .await
        .unwrap();
    let dom = EntryKey::Name("ex.test".into());
    for (status, login, delivery) in [
        (
            "maintenance",
            Some(FaultCode::MaintenanceMode),
            Delivery::Defer,
        ),
        (
            "suspended",
            Some(FaultCode::MaintenanceMode),
            Delivery::Defer,
        ),
        (
            "shutdown",
            Some(FaultCode::MaintenanceMode),
            Delivery::Defer,
        ),
        ("locked", Some(FaultCode::AuthFailed), Delivery::Deliver),
        ("closed", Some(FaultCode::AuthFailed), Delivery::Reject),
        ("active", None, Delivery::Deliver),
    ] {
        p.modify_domain(&dom, &set("zimbraDomainStatus", status))
            .await
            .unwrap();
        let r = p.authenticate("a@ex.test", "Passw0rd!", &ctx()).await;
        assert_eq!(r.err().map(|e| e.code), login, "domain {status}");
        let d = p.resolve_recipient("a@ex.test").await.unwrap().unwrap();
        assert_eq!(d.delivery, delivery, "domain {status}");
    }
}

async fn rename_domain_moves_every_address_and_keeps_ids(p: Provisioning) {
    seed(&p).await;
    let d = p
        .get_domain(&EntryKey::Name("ex.test".into()))
        .await
        .unwrap();
    let a = p.get_account("a@ex.test").await.unwrap();
    p.add_account_alias("a@ex.test", "alice@ex.test")
        .await
        .unwrap();
    p.create_domain("keep.test", Attrs::new()).await.unwrap();
    p.add_account_alias("a@ex.test", "al@keep.test")
        .await
        .unwrap();
    let l = p
        .create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("l@ex.test", &v(&["b@ex.test", "x@far.test"]))
        .await
        .unwrap();
    p.create_alias_domain(
        "alias.test",
        &EntryKey::Name("ex.test".into()),
        Attrs::new(),
    )
    .await
    .unwrap();

    assert_eq!(
        code(
            p.rename_domain(&EntryKey::Name("ex.test".into()), "keep.test")
                .await
        ),
        FaultCode::DomainExists
    );
    let nd = p
        .rename_domain(&EntryKey::Name("ex.test".into()), "new.test")
        .await
        .unwrap();
    assert_eq!(nd.id, d.id);
    assert_eq!(nd.attrs.get("zimbraDomainName"), Some("new.test"));
    let a2 = p.get_account("a@new.test").await.unwrap();
    assert_eq!(a2.id, a.id);
    assert_eq!(a2.attrs.get("mail"), Some("a@new.test"));
    assert_eq!(p.get_account("alice@new.test").await.unwrap().id, a.id);
    assert_eq!(p.get_account("al@keep.test").await.unwrap().id, a.id);
    assert!(p.find_account("a@ex.test").await.unwrap().is_none());
    let l2 = p.get_group("l@new.test").await.unwrap();
    assert_eq!(l2.id, l.id);
    let mut m = p.expand_list("l@new.test").await.unwrap();
    m.sort();
    assert_eq!(m, v(&["b@new.test", "x@far.test"]));
    // The alias domain follows by id.
    let r = p.resolve_recipient("a@alias.test").await.unwrap().unwrap();
    assert_eq!(r.entry.id, a.id);
    p.authenticate("a@new.test", "Passw0rd!", &ctx())
        .await
        .unwrap();
}

async fn resolution_alias_domains_and_catch_all(p: Provisioning) {
    seed(&p).await;
    p.create_alias_domain(
        "alias.test",
        &EntryKey::Name("ex.test".into()),
        Attrs::new(),
    )
    .await
    .unwrap();
    p.create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("b@ex.test", "bob@ex.test")
        .await
        .unwrap();
    let a = p.get_account("a@ex.test").await.unwrap();
    let b = p.get_account("b@ex.test").await.unwrap();

    let r = p.resolve_recipient("A@Alias.Test").await.unwrap().unwrap();
    assert_eq!(
        (r.entry.id, r.address.as_str(), r.catch_all),
        (a.id, "a@ex.test", false)
    );
    assert_eq!(
        p.resolve_recipient("bob@alias.test")
            .await
            .unwrap()
            .unwrap()
            .entry
            .id,
        b.id
    );
    assert!(
        p.resolve_recipient("l@alias.test")
            .await
            .unwrap()
            .unwrap()
            .is_list()
    );
    assert!(
        p.resolve_recipient("nobody@ex.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.resolve_recipient("not an address")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.resolve_recipient("x@unknown.test")
            .await
            .unwrap()
            .is_none()
    );

    p.modify_account("c@ex.test", &set("zimbraMailCatchAllAddress", "@ex.test"))
        .await
        .unwrap();
    let c = p.get_account("c@ex.test").await.unwrap();
    let r = p
        .resolve_recipient("nobody@ex.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.entry.id, r.catch_all), (c.id, true));
    let r = p
        .resolve_recipient("nobody@alias.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.entry.id, c.id);
    // Exact addresses still win over the catch-all.
    assert_eq!(
        p.resolve_recipient("a@ex.test")
            .await
            .unwrap()
            .unwrap()
            .entry
            .id,
        a.id
    );
    assert!(p.expand_list("a@ex.test").await.unwrap().is_empty());
}

on_every_backend!(
    calendar_resources,
    identities_signatures_data_sources,
    statuses_at_login_and_delivery,
    rename_domain_moves_every_address_and_keeps_ids,
    resolution_alias_domains_and_catch_all,
);
