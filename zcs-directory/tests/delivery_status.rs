//! Delivery decisions where the account's and the domain's status meet (spec 02 §6
//! idea 11): in a `locked` domain an `active` account still receives mail, while an
//! account in `maintenance` there defers it (the account's status wins).

mod common;

use common::fixture;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::directory::EntryKey;
use zcs_directory::provisioning::resolve::Delivery;

fn set(name: &str, value: &str) -> AttrEdit {
    AttrEdit::Replace(name.into(), vec![value.into()])
}

#[tokio::test]
async fn maintenance_account_in_a_locked_domain_defers_delivery() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("lk.test", Attrs::new()).await.unwrap();
    p.create_account("on@lk.test", None, Attrs::new())
        .await
        .unwrap();
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraAccountStatus", "maintenance");
    p.create_account("mt@lk.test", None, attrs).await.unwrap();
    p.modify_domain(
        &EntryKey::Name("lk.test".into()),
        &[set("zimbraDomainStatus", "locked")],
    )
    .await
    .unwrap();

    let on = p.resolve_recipient("on@lk.test").await.unwrap().unwrap();
    assert_eq!(
        on.delivery,
        Delivery::Deliver,
        "locked domain, active account"
    );
    let mt = p.resolve_recipient("mt@lk.test").await.unwrap().unwrap();
    assert_eq!(
        mt.delivery,
        Delivery::Defer,
        "the account's maintenance wins"
    );
}
