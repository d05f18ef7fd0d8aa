//! Distribution lists and dynamic groups through `Provisioning`: nesting, expansion,
//! membership, rename, status and the list rights (spec 03 test ideas 21-30). Calendar
//! resources, identities, signatures, data sources, statuses, renameDomain, alias
//! domains and catch-all are in `entry_kinds_accounts.rs`.
//!
//! Every case runs twice: on SQLite (`sqlite::`), and on OpenLDAP (`ldap::`) in a private
//! `o=` subtree when `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and
//! `ZCS_TEST_LDAP_BIND_PASSWORD` are set (skipped loudly otherwise), so the provisioning
//! rules are checked to be backend-neutral.

mod common;
#[macro_use]
mod ldap_env;

use common::{code, fixture};
use ldap_env::ldap_provisioning;
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::Provisioning;
use zcs_directory::provisioning::Delivery;

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

on_every_backend!(
    static_lists_nest_and_expand_once,
    list_rename_alias_and_status,
    closing_an_account_takes_it_out_of_lists,
    dynamic_groups_follow_their_url,
    send_rights_on_lists_and_domains,
);
