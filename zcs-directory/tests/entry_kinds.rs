//! The remaining entry kinds through `Provisioning` on SQLite: distribution lists
//! (nesting, expansion, membership, rights), dynamic groups, calendar resources,
//! identities / signatures / data sources, statuses, renameDomain, alias domains and
//! catch-all resolution (spec 03 test ideas 21-40).
//!
//! Every case runs twice: on SQLite (`sqlite::`), and on OpenLDAP (`ldap::`) in a private
//! `o=` subtree when `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and
//! `ZCS_TEST_LDAP_BIND_PASSWORD` are set (skipped loudly otherwise), so the provisioning
//! rules are checked to be backend-neutral.

mod common;
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

async fn static_lists_nest_and_expand_once(p: Provisioning) {
    seed(&p).await;
    let l = p
        .create_distribution_list("L@ex.test", Attrs::new())
        .await
        .unwrap();
    assert_eq!(l.name, "l@ex.test");
    assert_eq!(l.attrs.get("zimbraMailStatus"), Some("enabled"));
    assert_eq!(
        code(
            p.create_distribution_list("my list@ex.test", Attrs::new())
                .await
        ),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(p.create_distribution_list("a@ex.test", Attrs::new()).await),
        FaultCode::DistributionListExists
    );
    p.create_distribution_list("p@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("l@ex.test", &v(&["A@ex.test", "b@ex.test", "ext@far.test"]))
        .await
        .unwrap();
    // Nested both ways: a cycle.
    p.add_group_members("p@ex.test", &v(&["l@ex.test", "c@ex.test", "a@ex.test"]))
        .await
        .unwrap();
    p.add_group_members("l@ex.test", &v(&["p@ex.test"]))
        .await
        .unwrap();
    assert_eq!(
        code(p.add_group_members("l@ex.test", &v(&["l@ex.test"])).await),
        FaultCode::InvalidRequest
    );
    let mut got = p.expand_list("p@ex.test").await.unwrap();
    got.sort();
    assert_eq!(
        got,
        v(&["a@ex.test", "b@ex.test", "c@ex.test", "ext@far.test"])
    );

    // An alias as member is expanded to the account's name once.
    p.add_account_alias("a@ex.test", "alice@ex.test")
        .await
        .unwrap();
    p.add_group_members("p@ex.test", &v(&["alice@ex.test"]))
        .await
        .unwrap();
    assert_eq!(p.expand_list("p@ex.test").await.unwrap().len(), 4);

    // Membership: direct then through nesting.
    let m = p.group_membership("b@ex.test").await.unwrap();
    let names: Vec<(String, Option<String>)> = m
        .iter()
        .map(|(e, via)| (e.name.clone(), via.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("l@ex.test".to_string(), None),
            ("p@ex.test".to_string(), Some("l@ex.test".to_string()))
        ]
    );

    // Removing a non-member changes nothing.
    let e = p
        .remove_group_members("l@ex.test", &v(&["b@ex.test", "zz@ex.test"]))
        .await
        .unwrap_err();
    assert!(e.message.starts_with("NO_SUCH_MEMBER"), "{e}");
    p.remove_group_members("l@ex.test", &v(&["B@ex.test"]))
        .await
        .unwrap();
    assert!(
        !p.expand_list("l@ex.test")
            .await
            .unwrap()
            .contains(&"b@ex.test".into())
    );

    // Deleting L takes it out of P.
    p.delete_group("l@ex.test").await.unwrap();
    let p_entry = p.get_group("p@ex.test").await.unwrap();
    assert!(
        !p_entry
            .attrs
            .get_all("zimbraMailForwardingAddress")
            .contains(&"l@ex.test".into())
    );
    assert!(p.group_membership("b@ex.test").await.unwrap().is_empty());
}

async fn list_rename_alias_and_status(p: Provisioning) {
    seed(&p).await;
    let l = p
        .create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.create_distribution_list("parent@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("parent@ex.test", &v(&["l@ex.test"]))
        .await
        .unwrap();
    let r = p.rename_group("l@ex.test", "team@ex.test").await.unwrap();
    assert_eq!(r.id, l.id);
    assert_eq!(r.attrs.get("mail"), Some("team@ex.test"));
    let parent = p.get_group("parent@ex.test").await.unwrap();
    assert_eq!(
        parent.attrs.get_all("zimbraMailForwardingAddress"),
        &["team@ex.test".to_string()]
    );
    p.add_group_alias("team@ex.test", "crew@ex.test")
        .await
        .unwrap();
    assert_eq!(p.get_group("crew@ex.test").await.unwrap().id, l.id);
    assert_eq!(p.get_group(&l.id.to_string()).await.unwrap().id, l.id);
    p.remove_group_alias("team@ex.test", "crew@ex.test")
        .await
        .unwrap();
    assert_eq!(
        code(p.get_group("crew@ex.test").await),
        FaultCode::NoSuchDistributionList
    );

    p.modify_group("team@ex.test", &set("zimbraHideInGal", "TRUE"))
        .await
        .unwrap();
    let r = p.resolve_recipient("team@ex.test").await.unwrap().unwrap();
    assert!(r.is_list());
    assert_eq!(
        r.delivery,
        Delivery::Deliver,
        "hidden lists still receive mail"
    );
    p.modify_group("team@ex.test", &set("zimbraMailStatus", "disabled"))
        .await
        .unwrap();
    let r = p.resolve_recipient("team@ex.test").await.unwrap().unwrap();
    assert_eq!(r.delivery, Delivery::Reject);
    p.modify_group(
        "team@ex.test",
        &set("zimbraDistributionListSubscriptionPolicy", "APPROVAL"),
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            p.modify_group(
                "team@ex.test",
                &set("zimbraDistributionListSubscriptionPolicy", "MAYBE")
            )
            .await
        ),
        FaultCode::InvalidAttrValue
    );
    assert_eq!(p.all_groups(Some("ex.test")).await.unwrap().len(), 2);
}

async fn closing_an_account_takes_it_out_of_lists(p: Provisioning) {
    seed(&p).await;
    p.create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("l@ex.test", &v(&["a@ex.test", "b@ex.test"]))
        .await
        .unwrap();
    p.modify_account("b@ex.test", &set("zimbraAccountStatus", "pending"))
        .await
        .unwrap();
    assert_eq!(p.expand_list("l@ex.test").await.unwrap().len(), 2);
    p.modify_account("a@ex.test", &set("zimbraAccountStatus", "closed"))
        .await
        .unwrap();
    assert_eq!(p.expand_list("l@ex.test").await.unwrap(), v(&["b@ex.test"]));
    p.delete_account("b@ex.test").await.unwrap();
    assert!(p.expand_list("l@ex.test").await.unwrap().is_empty());
}

async fn dynamic_groups_follow_their_url(p: Provisioning) {
    seed(&p).await;
    let url = "ldap:///??sub?(&(objectClass=zimbraAccount)(zimbraAccountStatus=active))";
    let mut attrs = one("memberURL", url);
    attrs.set_one("zimbraIsACLGroup", "FALSE");
    let g = p.create_dynamic_group("all@ex.test", attrs).await.unwrap();
    assert_eq!(g.attrs.get("zimbraIsACLGroup"), Some("FALSE"));
    let mut m = p.expand_list("all@ex.test").await.unwrap();
    m.sort();
    assert_eq!(m, v(&["a@ex.test", "b@ex.test", "c@ex.test"]));

    p.create_account("d@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(p.expand_list("all@ex.test").await.unwrap().len(), 4);
    p.modify_account("d@ex.test", &set("zimbraAccountStatus", "locked"))
        .await
        .unwrap();
    assert_eq!(p.expand_list("all@ex.test").await.unwrap().len(), 3);

    p.modify_account("c@ex.test", &set("title", "Manager"))
        .await
        .unwrap();
    p.modify_group(
        "all@ex.test",
        &set(
            "memberURL",
            "ldap:///??sub?(&(objectClass=zimbraAccount)(title=Manager))",
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        p.expand_list("all@ex.test").await.unwrap(),
        v(&["c@ex.test"])
    );
    let ms = p.group_membership("c@ex.test").await.unwrap();
    assert_eq!(ms[0].0.id, g.id);

    // Rules on zimbraIsACLGroup and memberURL.
    assert_eq!(
        code(
            p.modify_group("all@ex.test", &set("zimbraIsACLGroup", "TRUE"))
                .await
        ),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            p.create_dynamic_group("x@ex.test", one("zimbraIsACLGroup", "FALSE"))
                .await
        ),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            p.create_dynamic_group("y@ex.test", one("memberURL", "ldap:///??sub?(oops"))
                .await
        ),
        FaultCode::InvalidAttrValue
    );
    let acl = p
        .create_dynamic_group("acl@ex.test", Attrs::new())
        .await
        .unwrap();
    assert_eq!(acl.attrs.get("zimbraIsACLGroup"), Some("TRUE"));
    assert_eq!(
        code(p.modify_group("acl@ex.test", &set("memberURL", url)).await),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(p.add_group_members("all@ex.test", &v(&["a@ex.test"])).await),
        FaultCode::InvalidRequest
    );
    // An ACL group takes members through zimbraMemberOf.
    p.add_group_members("acl@ex.test", &v(&["a@ex.test", "b@ex.test"]))
        .await
        .unwrap();
    let mut m = p.expand_list("acl@ex.test").await.unwrap();
    m.sort();
    assert_eq!(m, v(&["a@ex.test", "b@ex.test"]));
    p.remove_group_members("acl@ex.test", &v(&["a@ex.test"]))
        .await
        .unwrap();
    assert_eq!(
        p.expand_list("acl@ex.test").await.unwrap(),
        v(&["b@ex.test"])
    );
    p.delete_group("acl@ex.test").await.unwrap();
    let b = p.get_account("b@ex.test").await.unwrap();
    assert!(!b.attrs.contains("zimbraMemberOf"));

    // A static list holding a dynamic group expands it.
    p.create_distribution_list("outer@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("outer@ex.test", &v(&["all@ex.test", "a@ex.test"]))
        .await
        .unwrap();
    let mut m = p.expand_list("outer@ex.test").await.unwrap();
    m.sort();
    assert_eq!(m, v(&["a@ex.test", "c@ex.test"]));
}

async fn send_rights_on_lists_and_domains(p: Provisioning) {
    seed(&p).await;
    p.create_domain("other.test", Attrs::new()).await.unwrap();
    p.create_account("o@other.test", Some("Passw0rd!"), Attrs::new())
        .await
        .unwrap();
    p.create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    // No grants: anyone may send.
    assert!(
        p.can_send_to_list("l@ex.test", "stranger@far.test", false)
            .await
            .unwrap()
    );

    p.grant_right(
        "dl",
        "l@ex.test",
        "usr",
        "a@ex.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "a@ex.test", true)
            .await
            .unwrap()
    );
    assert!(
        !p.can_send_to_list("l@ex.test", "b@ex.test", true)
            .await
            .unwrap()
    );
    p.revoke_right(
        "dl",
        "l@ex.test",
        "usr",
        "a@ex.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "b@ex.test", true)
            .await
            .unwrap()
    );

    // A domain grant covers every list in the domain.
    p.grant_right(
        "domain",
        "ex.test",
        "dom",
        "ex.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "b@ex.test", true)
            .await
            .unwrap()
    );
    assert!(
        !p.can_send_to_list("l@ex.test", "o@other.test", true)
            .await
            .unwrap()
    );

    // Grants on the list win over the domain's.
    p.create_distribution_list("l2@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("l2@ex.test", &v(&["c@ex.test"]))
        .await
        .unwrap();
    p.grant_right(
        "dl",
        "l@ex.test",
        "grp",
        "l2@ex.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "c@ex.test", true)
            .await
            .unwrap()
    );
    assert!(
        !p.can_send_to_list("l@ex.test", "b@ex.test", true)
            .await
            .unwrap()
    );
    p.grant_right(
        "dl",
        "l@ex.test",
        "edom",
        "far.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "x@far.test", false)
            .await
            .unwrap()
    );
    p.grant_right(
        "dl",
        "l@ex.test",
        "gst",
        "one@else.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "one@else.test", false)
            .await
            .unwrap()
    );
    assert!(
        !p.can_send_to_list("l@ex.test", "two@else.test", false)
            .await
            .unwrap()
    );
    p.grant_right("dl", "l@ex.test", "all", "", "sendToDistList", false)
        .await
        .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "o@other.test", true)
            .await
            .unwrap()
    );
    assert!(
        !p.can_send_to_list("l@ex.test", "o@other.test", false)
            .await
            .unwrap()
    );
    p.grant_right("dl", "l@ex.test", "pub", "", "sendToDistList", false)
        .await
        .unwrap();
    assert!(
        p.can_send_to_list("l@ex.test", "anyone@any.test", false)
            .await
            .unwrap()
    );

    // Owners.
    p.add_list_owner("l@ex.test", "b@ex.test").await.unwrap();
    assert_eq!(p.list_owners("l@ex.test").await.unwrap(), v(&["b@ex.test"]));
    p.remove_list_owner("l@ex.test", "b@ex.test").await.unwrap();
    assert!(p.list_owners("l@ex.test").await.unwrap().is_empty());
    assert_eq!(
        code(
            p.grant_right("dl", "l@ex.test", "usr", "a@ex.test", "adminLoginAs", false)
                .await
        ),
        FaultCode::InvalidRequest
    );
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
        FaultCode::NoSuchAccount
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

/// Runs each case on both backends.
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

on_every_backend!(
    static_lists_nest_and_expand_once,
    list_rename_alias_and_status,
    closing_an_account_takes_it_out_of_lists,
    dynamic_groups_follow_their_url,
    send_rights_on_lists_and_domains,
    calendar_resources,
    identities_signatures_data_sources,
    statuses_at_login_and_delivery,
    rename_domain_moves_every_address_and_keeps_ids,
    resolution_alias_domains_and_catch_all,
);
