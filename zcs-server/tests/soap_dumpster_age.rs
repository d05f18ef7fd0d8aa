//! The dumpster's user-visible window over SOAP on 127.0.0.1: a user's
//! `SearchRequest inDumpster="1"` lists only items deleted within the account's
//! `zimbraDumpsterUserVisibleAge` (default 30 days) and cannot recover older ones; an
//! admin acting on the account sees every item.

mod soap_support;

use std::time::Duration;

use soap_support::*;
use zcs_core::{AttrEdit, ItemId};
use zcs_store::MailboxSettings;

const SEARCH: &str = "<SearchRequest xmlns=\"urn:zimbraMail\" inDumpster=\"1\" \
                      types=\"message\"><query>*</query></SearchRequest>";

/// A message appended to alice's inbox and deleted into the dumpster; its id.
async fn deleted(mb: &zcs_store::Mailbox, subject: &str) -> ItemId {
    let raw = format!(
        "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\nhi\r\n"
    );
    let m = mb
        .append(
            ItemId(2),
            raw.as_bytes(),
            zcs_core::Flags::default(),
            1_700_000_000_000,
        )
        .await
        .expect("append");
    mb.delete_items(&[m.id]).await.expect("delete");
    m.id
}

fn ids(body: &str) -> Vec<String> {
    body.match_indices("<m ")
        .filter_map(|(i, _)| {
            let rest = &body[i..];
            let v = rest.find(" id=\"")? + 5;
            let len = rest[v..].find('"')?;
            Some(rest[v..v + len].to_string())
        })
        .collect()
}

#[tokio::test]
async fn users_see_only_recent_deletions_and_admins_see_all() {
    let f = fixture().await;
    let alice_id = f.prov.get_account(ALICE).await.expect("alice").id;
    let mb = f
        .store
        .mailbox(alice_id)
        .await
        .expect("mailbox")
        .with_settings(MailboxSettings {
            dumpster_enabled: true,
            ..MailboxSettings::default()
        });
    let old = deleted(&mb, "old").await;
    let alice = login(&f, ALICE).await;

    // Default window (30 days): the fresh deletion is visible.
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), SEARCH), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), vec![old.0.to_string()], "{}", r.body);

    // A one-second window: once it has passed only the newer deletion shows.
    f.prov
        .modify_account(
            ALICE,
            &[AttrEdit::Replace(
                "zimbraDumpsterUserVisibleAge".into(),
                vec!["1s".into()],
            )],
        )
        .await
        .expect("set age");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let new = deleted(&mb, "new").await;
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), SEARCH), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), vec![new.0.to_string()], "{}", r.body);

    // The old item cannot be recovered by the user either.
    let recover = format!(
        "<ItemActionRequest xmlns=\"urn:zimbraMail\"><action op=\"recover\" id=\"{}\"/>\
         </ItemActionRequest>",
        old.0
    );
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), &recover), "").await;
    assert_eq!(
        r.fault_code().as_deref(),
        Some("mail.NO_SUCH_ITEM"),
        "{}",
        r.body
    );

    // An admin acting on alice's mailbox sees both.
    let admin = admin_login(&f).await;
    let env = format!(
        "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Header>\
         <context xmlns=\"urn:zimbra\"><authToken>{admin}</authToken>\
         <account by=\"name\">{ALICE}</account></context></soap:Header>\
         <soap:Body>{SEARCH}</soap:Body></soap:Envelope>"
    );
    let r = post(f.user, "/service/soap", &env, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut seen = ids(&r.body);
    seen.sort();
    let mut want = vec![old.0.to_string(), new.0.to_string()];
    want.sort();
    assert_eq!(seen, want, "{}", r.body);
}
