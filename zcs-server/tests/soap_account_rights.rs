//! urn:zimbraAccount Get/Grant/RevokeRights over real sockets on 127.0.0.1: an
//! account's own ACL of user rights, Zimbra's `ace` form, the `ace right=` filter of
//! GetRights, and the same grants seen through urn:zimbraMail GetPermission.

mod soap_support;

use soap_support::*;

async fn account_req(f: &Fixture, tok: &str, body: &str) -> Reply {
    post(f.user, "/service/soap", &soap12(Some(tok), body), "").await
}

#[tokio::test]
async fn grant_get_and_revoke_rights() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let bob = f.prov.get_account(BOB).await.expect("bob");
    let bob_id = bob.id.to_string();

    let r = account_req(
        &f,
        &tok,
        &format!(
            "<GrantRightsRequest xmlns=\"urn:zimbraAccount\">\
             <ace d=\"{BOB}\" right=\"sendOnBehalfOf\" gt=\"usr\"/>\
             <ace right=\"viewFreeBusy\" gt=\"pub\"/>\
             <ace right=\"invite\" gt=\"all\" deny=\"1\"/>\
             </GrantRightsRequest>"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<GrantRightsResponse xmlns=\"urn:zimbraAccount\">"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(
            "<ace zid=\"{bob_id}\" gt=\"usr\" right=\"sendOnBehalfOf\" d=\"{BOB}\"/>"
        )),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "<ace zid=\"99999999-9999-9999-9999-999999999999\" gt=\"pub\" right=\"viewFreeBusy\"/>"
        ),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("right=\"invite\" deny=\"1\"/>"),
        "{}",
        r.body
    );

    // All grants, then only those of one right.
    let r = account_req(&f, &tok, "<GetRightsRequest xmlns=\"urn:zimbraAccount\"/>").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.matches("<ace ").count(), 3, "{}", r.body);
    let r = account_req(
        &f,
        &tok,
        "<GetRightsRequest xmlns=\"urn:zimbraAccount\"><ace right=\"sendOnBehalfOf\"/>\
         </GetRightsRequest>",
    )
    .await;
    assert_eq!(r.body.matches("<ace ").count(), 1, "{}", r.body);
    assert!(r.body.contains("right=\"sendOnBehalfOf\""), "{}", r.body);

    // The mail service's GetPermission reads the same grants.
    let r = account_req(&f, &tok, "<GetPermissionRequest xmlns=\"urn:zimbraMail\"/>").await;
    assert!(r.body.contains("<GetPermissionResponse"), "{}", r.body);
    assert_eq!(r.body.matches("<ace ").count(), 3, "{}", r.body);

    // Revoke by name: the answer names the grant as it was stored.
    let r = account_req(
        &f,
        &tok,
        &format!(
            "<RevokeRightsRequest xmlns=\"urn:zimbraAccount\">\
             <ace d=\"{BOB}\" right=\"sendOnBehalfOf\" gt=\"usr\"/></RevokeRightsRequest>"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!(
            "<ace zid=\"{bob_id}\" gt=\"usr\" right=\"sendOnBehalfOf\""
        )),
        "{}",
        r.body
    );
    // Revoking it again changes nothing and lists nothing.
    let r = account_req(
        &f,
        &tok,
        &format!(
            "<RevokeRightsRequest xmlns=\"urn:zimbraAccount\">\
             <ace d=\"{BOB}\" right=\"sendOnBehalfOf\" gt=\"usr\"/></RevokeRightsRequest>"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("<ace "), "{}", r.body);
    let r = account_req(&f, &tok, "<GetRightsRequest xmlns=\"urn:zimbraAccount\"/>").await;
    assert_eq!(r.body.matches("<ace ").count(), 2, "{}", r.body);
}

#[tokio::test]
async fn admin_and_unknown_rights_are_refused() {
    let f = fixture().await;
    let tok = login(&f, ALICE).await;
    let r = account_req(
        &f,
        &tok,
        "<GrantRightsRequest xmlns=\"urn:zimbraAccount\">\
         <ace right=\"createAccount\" gt=\"all\"/></GrantRightsRequest>",
    )
    .await;
    assert_eq!(r.status, 500, "{}", r.body);
    let r = account_req(
        &f,
        &tok,
        "<GetRightsRequest xmlns=\"urn:zimbraAccount\"><ace right=\"noSuchRight\"/>\
         </GetRightsRequest>",
    )
    .await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.fault_code().as_deref(),
        Some("account.NO_SUCH_RIGHT"),
        "{}",
        r.body
    );
}
