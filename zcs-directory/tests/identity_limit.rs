//! The identity (persona) limit, spec 02 §6 idea 62: with the default
//! `zimbraIdentityMaxNumEntries` of 20 an account holds its DEFAULT identity and 19
//! more, so the 21st identity is refused with `account.TOO_MANY_IDENTITIES`; at 0 no
//! identity can be created, as in Zimbra (the DEFAULT one counts, and 0 is no limit
//! only for other kinds).

mod common;

use common::fixture;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::provisioning::Child;

fn too_many(r: zcs_core::ServiceResult<zcs_core::Entry>) {
    let e = r.expect_err("over the limit");
    assert!(
        e.message.starts_with("TOO_MANY_IDENTITIES"),
        "Zimbra's fault leads the message: {e:?}"
    );
}

#[tokio::test]
async fn the_twenty_first_identity_is_refused_and_zero_allows_none() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("id.test", Attrs::new()).await.unwrap();
    p.create_account("u@id.test", None, Attrs::new())
        .await
        .unwrap();
    for i in 1..=19 {
        p.create_child(
            Child::Identity,
            "u@id.test",
            &format!("p{i}"),
            None,
            Attrs::new(),
        )
        .await
        .unwrap();
    }
    let all = p.get_children(Child::Identity, "u@id.test").await.unwrap();
    assert_eq!(all.len(), 20, "DEFAULT and 19 personas");
    too_many(
        p.create_child(Child::Identity, "u@id.test", "p20", None, Attrs::new())
            .await,
    );

    let mut attrs = Attrs::new();
    attrs.set_one("zimbraIdentityMaxNumEntries", "0");
    p.create_account("z@id.test", None, attrs).await.unwrap();
    too_many(
        p.create_child(Child::Identity, "z@id.test", "one", None, Attrs::new())
            .await,
    );

    // Raising the limit on the account lets the 21st in.
    let acct = p.get_account("u@id.test").await.unwrap();
    p.modify_account(
        &acct.id.to_string(),
        &[AttrEdit::Replace(
            "zimbraIdentityMaxNumEntries".into(),
            vec!["21".into()],
        )],
    )
    .await
    .unwrap();
    p.create_child(Child::Identity, "u@id.test", "p20", None, Attrs::new())
        .await
        .unwrap();
}
