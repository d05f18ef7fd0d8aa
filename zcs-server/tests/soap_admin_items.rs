//! Admin ExportAndDeleteItemsRequest over real sockets on 127.0.0.1: items named by id
//! in the mailbox named by its numeric id (`mbxid`) are deleted; an unknown mailbox is
//! `mail.NO_SUCH_MBOX`.

mod soap_support;

use soap_support::*;

const NS: &str = "urn:zimbraAdmin";

#[tokio::test]
async fn export_and_delete_items_deletes_by_mailbox_id() {
    let f = fixture().await;
    let user = login(&f, ALICE).await;
    let r = post(
        f.user,
        "/service/soap",
        &soap12(
            Some(&user),
            r#"<AddMsgRequest xmlns="urn:zimbraMail"><m l="2"><content>Subject: bye

gone soon
</content></m></AddMsgRequest>"#,
        ),
        "",
    )
    .await;
    let msg = r
        .body
        .split("<m id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("message id")
        .to_string();
    let admin = admin_login(&f).await;
    let account = f.prov.find_account(ALICE).await.unwrap().unwrap();
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(
            Some(&admin),
            &format!(
                r#"<GetMailboxRequest xmlns="{NS}"><mbox id="{}"/></GetMailboxRequest>"#,
                account.id
            ),
        ),
        "",
    )
    .await;
    let mbxid = r
        .body
        .split("mbxid=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("mbxid")
        .to_string();
    let call = |mbx: &str, items: &str| {
        format!(
            r#"<ExportAndDeleteItemsRequest xmlns="{NS}"><mbox id="{mbx}">{items}</mbox></ExportAndDeleteItemsRequest>"#
        )
    };
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), &call(&mbxid, "")),
        "",
    )
    .await;
    assert!(
        r.body.contains("ExportAndDeleteItemsResponse"),
        "{}",
        r.body
    );
    let item = format!(r#"<item id="{msg}"/>"#);
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), &call(&mbxid, &item)),
        "",
    )
    .await;
    assert!(
        r.body.contains("ExportAndDeleteItemsResponse"),
        "{}",
        r.body
    );
    let r = post(
        f.user,
        "/service/soap",
        &soap12(
            Some(&user),
            &format!(r#"<GetMsgRequest xmlns="urn:zimbraMail"><m id="{msg}"/></GetMsgRequest>"#),
        ),
        "",
    )
    .await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_MSG"),
        "{}",
        r.body
    );
    let r = post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(&admin), &call("999999", "")),
        "",
    )
    .await;
    assert_eq!(r.fault_code().as_deref(), Some("mail.NO_SUCH_MBOX"));
}
