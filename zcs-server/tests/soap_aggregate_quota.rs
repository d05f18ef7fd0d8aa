//! The domain aggregate quota over SOAP on 127.0.0.1: ComputeAggregateQuotaUsage sums
//! the domain's mailboxes and records the sum on the domain,
//! GetAggregateQuotaUsageOnServer answers it without recording, users are refused both,
//! and with `zimbraDomainAggregateQuotaPolicy=BLOCKSEND` (or `BLOCKSENDRECEIVE`) a
//! domain over its quota cannot send (`mail.DOMAIN_QUOTA_EXCEEDED`) while
//! `ALLOWSENDRECEIVE` still lets it.

mod soap_support;

use soap_support::*;
use zcs_core::{AttrEdit, ItemId};
use zcs_directory::EntryKey;

async fn admin(f: &Fixture, token: &str, body: &str) -> Reply {
    post(
        f.admin,
        "/service/admin/soap",
        &soap12(Some(token), body),
        "",
    )
    .await
}

/// `used` of the `<domain name="example.test" .../>` in `body`.
fn used(body: &str) -> Option<u64> {
    let at = body.find("<domain name=\"example.test\"")?;
    let rest = &body[at..];
    let v = rest.find(" used=\"")? + 7;
    let len = rest[v..].find('"')?;
    rest[v..v + len].parse().ok()
}

const SEND: &str = "<SendMsgRequest xmlns=\"urn:zimbraMail\"><m><e t=\"t\" \
                    a=\"bob@example.test\"/><su>hi</su><mp ct=\"text/plain\">\
                    <content>hello</content></mp></m></SendMsgRequest>";

async fn set_domain(f: &Fixture, name: &str, value: &str) {
    f.prov
        .modify_domain(
            &EntryKey::Name("example.test".into()),
            &[AttrEdit::Replace(name.into(), vec![value.into()])],
        )
        .await
        .expect("modify domain");
}

#[tokio::test]
async fn usage_is_computed_recorded_and_enforced_on_send() {
    let f = fixture().await;
    let alice_id = f.prov.get_account(ALICE).await.expect("alice").id;
    let mb = f.store.mailbox(alice_id).await.expect("mailbox");
    let raw = b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: s\r\n\r\nbody\r\n";
    mb.append(
        ItemId(2),
        raw,
        zcs_core::Flags::default(),
        1_700_000_000_000,
    )
    .await
    .expect("append");
    let size = mb.quota_usage().await.expect("usage");
    assert!(size > 0);
    let t = admin_login(&f).await;

    // Live usage, not recorded.
    let r = admin(
        &f,
        &t,
        "<GetAggregateQuotaUsageOnServerRequest xmlns=\"urn:zimbraAdmin\"/>",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(used(&r.body), Some(size), "{}", r.body);
    let d = f
        .prov
        .get_domain(&EntryKey::Name("example.test".into()))
        .await
        .expect("domain");
    assert_eq!(d.attrs.get("zimbraAggregateQuotaLastUsage"), None);

    // Computed and recorded.
    let compute = "<ComputeAggregateQuotaUsageRequest xmlns=\"urn:zimbraAdmin\"/>";
    let r = admin(&f, &t, compute).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(used(&r.body), Some(size), "{}", r.body);
    let d = f
        .prov
        .get_domain(&EntryKey::Name("example.test".into()))
        .await
        .expect("domain");
    let recorded = size.to_string();
    assert_eq!(
        d.attrs.get("zimbraAggregateQuotaLastUsage"),
        Some(recorded.as_str())
    );

    // Users may not ask.
    let alice = login(&f, ALICE).await;
    let r = admin(&f, &alice, compute).await;
    assert_eq!(r.fault_code().as_deref(), Some("service.PERM_DENIED"));

    // Over a one-byte quota: BLOCKSEND and BLOCKSENDRECEIVE refuse sending.
    set_domain(&f, "zimbraDomainAggregateQuota", "1").await;
    for policy in ["BLOCKSEND", "BLOCKSENDRECEIVE"] {
        set_domain(&f, "zimbraDomainAggregateQuotaPolicy", policy).await;
        let r = post(f.user, "/service/soap", &soap12(Some(&alice), SEND), "").await;
        assert_eq!(
            r.fault_code().as_deref(),
            Some("mail.DOMAIN_QUOTA_EXCEEDED"),
            "{policy}: {}",
            r.body
        );
    }
    // ALLOWSENDRECEIVE lets the send through to delivery (which this fixture lacks).
    set_domain(&f, "zimbraDomainAggregateQuotaPolicy", "ALLOWSENDRECEIVE").await;
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), SEND), "").await;
    assert_ne!(
        r.fault_code().as_deref(),
        Some("mail.DOMAIN_QUOTA_EXCEEDED"),
        "{}",
        r.body
    );
    // Under the quota, BLOCKSEND does not block.
    set_domain(&f, "zimbraDomainAggregateQuotaPolicy", "BLOCKSEND").await;
    set_domain(&f, "zimbraDomainAggregateQuota", "1GB").await;
    let r = post(f.user, "/service/soap", &soap12(Some(&alice), SEND), "").await;
    assert_ne!(
        r.fault_code().as_deref(),
        Some("mail.DOMAIN_QUOTA_EXCEEDED"),
        "{}",
        r.body
    );
}
