//! Spec 03 §6 idea 37: a dynamic group whose `memberURL` selects every account reaches
//! a new account with no membership edit, and a deleted account is no longer one of
//! its recipients (nothing to clean up: membership is the URL's answer now).

mod common;

use common::fixture;
use zcs_core::Attrs;

#[tokio::test]
async fn a_deleted_account_drops_out_of_a_dynamic_group() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("dg.test", Attrs::new()).await.unwrap();
    for u in ["a", "b"] {
        p.create_account(&format!("{u}@dg.test"), None, Attrs::new())
            .await
            .unwrap();
    }
    let mut attrs = Attrs::new();
    attrs.set_one("memberURL", "ldap:///??sub?(objectClass=zimbraAccount)");
    attrs.set_one("zimbraIsACLGroup", "FALSE");
    p.create_dynamic_group("all@dg.test", attrs).await.unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(p.expand_list("all@dg.test").await.unwrap()),
        ["a@dg.test", "b@dg.test"]
    );

    p.create_account("new@dg.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        sorted(p.expand_list("all@dg.test").await.unwrap()),
        ["a@dg.test", "b@dg.test", "new@dg.test"]
    );

    p.delete_account("new@dg.test").await.unwrap();
    assert_eq!(
        sorted(p.expand_list("all@dg.test").await.unwrap()),
        ["a@dg.test", "b@dg.test"]
    );
    let group = p.get_group("all@dg.test").await.unwrap();
    assert!(
        !p.group_members(&group)
            .await
            .unwrap()
            .iter()
            .any(|m| m == "new@dg.test")
    );
}
