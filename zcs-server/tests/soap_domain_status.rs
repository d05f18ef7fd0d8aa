//! A domain's status over real sockets on 127.0.0.1: suspending a domain voids the
//! tokens its accounts already hold (`service.AUTH_EXPIRED`), but a global
//! administrator of that domain goes on working, as in Zimbra.

mod soap_support;

use soap_support::*;
use zcs_core::AttrEdit;
use zcs_directory::EntryKey;

#[tokio::test]
async fn a_suspended_domain_voids_its_users_tokens_but_not_global_admins() {
    let f = fixture().await;
    let user = login(&f, ALICE).await;
    let admin = admin_login(&f).await;
    let info = r#"<GetInfoRequest xmlns="urn:zimbraAccount" sections="mbox"/>"#;
    let r = post(f.user, "/service/soap", &soap12(Some(&user), info), "").await;
    assert_eq!(r.status, 200, "{}", r.body);

    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Replace(
                "zimbraDomainStatus".into(),
                vec!["suspended".into()],
            )],
        )
        .await
        .expect("suspend");
    let r = post(f.user, "/service/soap", &soap12(Some(&user), info), "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("service.AUTH_EXPIRED"),
        "{}",
        r.body
    );
    let ping = r#"<GetDomainRequest xmlns="urn:zimbraAdmin"><domain by="name">example.test</domain></GetDomainRequest>"#;
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), ping),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
