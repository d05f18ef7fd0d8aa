//! The address attributes Zimbra keeps beside the aliases: an alias of an account or
//! list is in both `zimbraMailAlias` and `mail`; a static list holds its own address in
//! `zimbraMailAlias`; renaming an account, a list or a domain keeps them together.
//!
//! Every case runs on SQLite (`sqlite::`) and on OpenLDAP (`ldap::`) when
//! `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and `ZCS_TEST_LDAP_BIND_PASSWORD` are
//! set (skipped loudly otherwise).

mod common;
#[macro_use]
mod ldap_env;

use common::{code, fixture};
use ldap_env::ldap_provisioning;
use zcs_core::{Attrs, Entry, FaultCode};
use zcs_directory::Provisioning;
use zcs_directory::directory::EntryKey;
use zcs_directory::provisioning::aliases_of;

fn sorted(e: &Entry, attr: &str) -> Vec<String> {
    let mut v = e.attrs.get_all(attr).to_vec();
    v.sort();
    v
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn account_alias_is_in_mail_too(p: Provisioning) {
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    p.create_domain("new.test", Attrs::new()).await.unwrap();
    p.create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();

    p.add_account_alias("a@ex.test", "Al@Ex.Test")
        .await
        .unwrap();
    let a = p.get_account("a@ex.test").await.unwrap();
    assert_eq!(a.attrs.get("mail"), Some("a@ex.test"), "name stays first");
    assert_eq!(sorted(&a, "mail"), v(&["a@ex.test", "al@ex.test"]));
    assert_eq!(sorted(&a, "zimbraMailAlias"), v(&["al@ex.test"]));
    assert_eq!(aliases_of(&a), ["al@ex.test"]);

    // The account's own address is not an alias to remove.
    assert_eq!(
        code(p.remove_account_alias("a@ex.test", "a@ex.test").await),
        FaultCode::NoSuchAlias
    );

    // Rename into another domain: the alias moves in both attributes.
    p.add_account_alias("a@ex.test", "keep@new.test")
        .await
        .unwrap();
    let r = p.rename_account("a@ex.test", "b@new.test").await.unwrap();
    assert_eq!(r.attrs.get("mail"), Some("b@new.test"));
    assert_eq!(
        sorted(&r, "mail"),
        v(&["al@new.test", "b@new.test", "keep@new.test"])
    );
    assert_eq!(
        sorted(&r, "zimbraMailAlias"),
        v(&["al@new.test", "keep@new.test"])
    );

    p.remove_account_alias("b@new.test", "AL@new.test")
        .await
        .unwrap();
    let r = p.get_account("b@new.test").await.unwrap();
    assert_eq!(sorted(&r, "mail"), v(&["b@new.test", "keep@new.test"]));
    assert_eq!(r.attrs.get_all("zimbraMailAlias"), ["keep@new.test"]);
    assert!(p.resolve_address("al@new.test").await.unwrap().is_none());

    // Renaming onto one of its aliases: that address is the name now, once.
    let r = p
        .rename_account("b@new.test", "keep@new.test")
        .await
        .unwrap();
    assert_eq!(r.attrs.get_all("mail"), ["keep@new.test"]);
    assert!(r.attrs.get_all("zimbraMailAlias").is_empty());
}

async fn domain_rename_moves_alias_in_mail(p: Provisioning) {
    p.create_domain("old.test", Attrs::new()).await.unwrap();
    p.create_account("a@old.test", None, Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("a@old.test", "al@old.test")
        .await
        .unwrap();
    p.create_distribution_list("l@old.test", Attrs::new())
        .await
        .unwrap();
    p.rename_domain(&EntryKey::Name("old.test".into()), "new.test")
        .await
        .unwrap();
    let a = p.get_account("a@new.test").await.unwrap();
    assert_eq!(sorted(&a, "mail"), v(&["a@new.test", "al@new.test"]));
    assert_eq!(a.attrs.get_all("zimbraMailAlias"), ["al@new.test"]);
    let l = p.get_group("l@new.test").await.unwrap();
    assert_eq!(l.attrs.get_all("zimbraMailAlias"), ["l@new.test"]);
    assert_eq!(l.attrs.get_all("mail"), ["l@new.test"]);
}

async fn list_holds_its_own_address(p: Provisioning) {
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    let l = p
        .create_distribution_list("L@ex.test", Attrs::new())
        .await
        .unwrap();
    assert_eq!(l.attrs.get_all("zimbraMailAlias"), ["l@ex.test"]);
    assert_eq!(l.attrs.get_all("mail"), ["l@ex.test"]);
    assert!(aliases_of(&l).is_empty());
    assert_eq!(
        code(p.remove_group_alias("l@ex.test", "l@ex.test").await),
        FaultCode::NoSuchAlias
    );

    // Rename: the own address follows, and the old one is free again.
    let r = p.rename_group("l@ex.test", "team@ex.test").await.unwrap();
    assert_eq!(r.id, l.id);
    assert_eq!(r.attrs.get_all("zimbraMailAlias"), ["team@ex.test"]);
    assert_eq!(r.attrs.get_all("mail"), ["team@ex.test"]);
    assert_eq!(p.get_group("team@ex.test").await.unwrap().id, l.id);
    assert_eq!(
        code(p.get_group("l@ex.test").await),
        FaultCode::NoSuchDistributionList
    );

    // An alias joins both attributes, and leaves both.
    p.add_group_alias("team@ex.test", "crew@ex.test")
        .await
        .unwrap();
    let g = p.get_group("crew@ex.test").await.unwrap();
    assert_eq!(
        sorted(&g, "zimbraMailAlias"),
        v(&["crew@ex.test", "team@ex.test"])
    );
    assert_eq!(sorted(&g, "mail"), v(&["crew@ex.test", "team@ex.test"]));
    assert_eq!(aliases_of(&g), ["crew@ex.test"]);
    p.remove_group_alias("team@ex.test", "crew@ex.test")
        .await
        .unwrap();
    let g = p.get_group("team@ex.test").await.unwrap();
    assert_eq!(g.attrs.get_all("zimbraMailAlias"), ["team@ex.test"]);
    assert_eq!(g.attrs.get_all("mail"), ["team@ex.test"]);

    // The address is reusable once the list is gone.
    p.delete_group("team@ex.test").await.unwrap();
    p.create_account("team@ex.test", None, Attrs::new())
        .await
        .unwrap();
}

async fn aliases_given_at_creation_are_in_mail(p: Provisioning) {
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraMailAlias", "Al@ex.test");
    let a = p
        .create_account("a@ex.test", None, attrs.clone())
        .await
        .unwrap();
    assert_eq!(a.attrs.get_all("mail"), ["a@ex.test", "al@ex.test"]);
    assert_eq!(a.attrs.get_all("zimbraMailAlias"), ["al@ex.test"]);

    attrs.set_one("zimbraMailAlias", "crew@ex.test");
    let l = p
        .create_distribution_list("l@ex.test", attrs)
        .await
        .unwrap();
    assert_eq!(l.attrs.get_all("mail"), ["l@ex.test", "crew@ex.test"]);
    assert_eq!(
        l.attrs.get_all("zimbraMailAlias"),
        ["l@ex.test", "crew@ex.test"]
    );
    assert_eq!(p.get_group("crew@ex.test").await.unwrap().id, l.id);
}

on_every_backend!(
    account_alias_is_in_mail_too,
    domain_rename_moves_alias_in_mail,
    list_holds_its_own_address,
    aliases_given_at_creation_are_in_mail,
);
