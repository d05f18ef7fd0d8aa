//! Admin wait sets over real sockets on 127.0.0.1: a set reports the accounts whose
//! mailbox changed since the last wait, once; removed accounts are no longer watched;
//! QueryWaitSet lists the set and AdminDestroyWaitSet ends it.

mod soap_support;

use soap_support::*;

const NS: &str = "urn:zimbraAdmin";

fn attr(body: &str, name: &str) -> String {
    body.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn wait_sets_report_changed_mailboxes_once() {
    let f = fixture().await;
    let admin = admin_login(&f).await;
    let alice = f.prov.find_account(ALICE).await.unwrap().unwrap();
    let bob = f.prov.find_account(BOB).await.unwrap().unwrap();
    let call = |body: String| {
        let admin = admin.clone();
        let addr = f.admin;
        async move {
            post(
                addr,
                "/service/admin/soap",
                &soap12(Some(&admin), &body),
                "",
            )
            .await
        }
    };
    let r = call(format!(
        r#"<AdminCreateWaitSetRequest xmlns="{NS}" defTypes="all"><add><a id="{}"/><a id="{}"/><a id="nobody@example.test"/></add></AdminCreateWaitSetRequest>"#,
        alice.id, bob.id
    ))
    .await;
    let ws = attr(&r.body, "waitSet");
    assert!(!ws.is_empty(), "{}", r.body);
    assert!(r.body.contains(r#"type="NO_SUCH_ACCOUNT""#), "{}", r.body);

    let user = login(&f, ALICE).await;
    let add = r#"<AddMsgRequest xmlns="urn:zimbraMail"><m l="2"><content>Subject: x

y
</content></m></AddMsgRequest>"#;
    let r = post(f.user, "/service/soap", &soap12(Some(&user), add), "").await;
    assert_eq!(r.status, 200, "{}", r.body);

    let wait = |block: &str| {
        format!(
            r#"<AdminWaitSetRequest xmlns="{NS}" waitSet="{ws}" seq="0" block="{block}" timeout="1"/>"#
        )
    };
    let r = call(wait("0")).await;
    assert!(
        r.body.contains(&format!(r#"<a id="{}"/>"#, alice.id)),
        "{}",
        r.body
    );
    assert!(!r.body.contains(&bob.id.to_string()), "{}", r.body);
    assert_eq!(attr(&r.body, "seq"), "1");
    // Reported once: a blocking wait with nothing new returns empty at its timeout.
    let r = call(wait("1")).await;
    assert!(!r.body.contains("<a "), "{}", r.body);

    let r = call(format!(
        r#"<AdminWaitSetRequest xmlns="{NS}" waitSet="{ws}" seq="1"><remove><a id="{}"/></remove></AdminWaitSetRequest>"#,
        alice.id
    ))
    .await;
    assert!(r.body.contains("AdminWaitSetResponse"), "{}", r.body);
    let r = call(format!(
        r#"<QueryWaitSetRequest xmlns="{NS}" waitSet="{ws}"/>"#
    ))
    .await;
    assert!(
        r.body.contains(&format!(r#"account="{}""#, bob.id)),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains(&format!(r#"account="{}""#, alice.id)),
        "{}",
        r.body
    );

    let destroy = format!(r#"<AdminDestroyWaitSetRequest xmlns="{NS}" waitSet="{ws}"/>"#);
    let r = call(destroy.clone()).await;
    assert!(r.body.contains("AdminDestroyWaitSetResponse"), "{}", r.body);
    let r = call(destroy).await;
    assert!(r.fault_code().is_some(), "{}", r.body);
}
