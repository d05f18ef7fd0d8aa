//! The welcome mail of auto-provisioned accounts (spec 03 §6 idea 15): nothing without
//! `zimbraAutoProvNotificationFromAddress`; with it, one message from that address in
//! the new account's Inbox, the subject and body templates filled in, delivered through
//! the server's local delivery. Run as the auto-provisioning listener would run it, and
//! through MANUAL auto-provisioning from the customer slapd of
//! `.ci/setup.d/21-slapd-customer.sh` when `ZCS_TEST_EXT_LDAP_URL` is set.

mod soap_support;

use std::sync::Arc;

use soap_support::*;
use zcs_core::{AttrEdit, Attrs};
use zcs_directory::EntryKey;
use zcs_directory::provisioning::AutoProvBy;
use zcs_directory::provisioning::autoprov::AutoProvListener;
use zcs_index::TantivyIndex;
use zcs_server::autoprov_welcome;
use zcs_server::delivery::MailDelivery;
use zcs_server::indexer::Indexer;

/// The raw messages in `account`'s Inbox.
async fn inbox(f: &Fixture, account: &str) -> Vec<String> {
    let a = f.prov.get_account(account).await.expect("account");
    let mb = f.store.mailbox(a.id).await.expect("mailbox");
    let folder = mb
        .folder_by_path("/Inbox")
        .await
        .expect("lookup")
        .expect("inbox");
    let mut out = Vec::new();
    for m in mb.messages(folder.id).await.expect("messages") {
        let raw = mb.read_message(m.id).await.expect("read");
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

fn edit(name: &str, value: &str) -> AttrEdit {
    AttrEdit::Replace(name.to_string(), vec![value.to_string()])
}

#[tokio::test]
async fn welcome_mail_follows_the_domain_templates() {
    let f = fixture().await;
    let index =
        Arc::new(TantivyIndex::open(&f._tmp.path().join("welcome-index")).expect("open index"));
    let (indexer, _task) = Indexer::start(f.store.clone(), index);
    let delivery = Arc::new(MailDelivery::new(f.prov.clone(), f.store.clone(), indexer));
    // Not registered: the listener registry is one per process, and the other test of
    // this binary registers its own server's listener under the same name.
    let welcome = autoprov_welcome::WelcomeMail::new(f.prov.clone(), delivery.clone());
    let domain_key = EntryKey::Name("example.test".into());

    // No from address: no mail.
    let mut attrs = Attrs::new();
    attrs.set_one("displayName", "Wendy Één");
    let w1 = f
        .prov
        .create_account("w1@example.test", Some(PASSWORD), attrs)
        .await
        .expect("w1");
    let domain = f.prov.get_domain(&domain_key).await.expect("domain");
    assert!(!welcome.send(&domain, &w1).await.expect("send"));
    welcome.post_create(&domain, &w1, "uid=w1,dc=ext").await;
    assert!(inbox(&f, "w1@example.test").await.is_empty());

    // From address and templates on the domain.
    let domain = f
        .prov
        .modify_domain(
            &domain_key,
            &[
                edit(
                    "zimbraAutoProvNotificationFromAddress",
                    "welcome@example.test",
                ),
                edit(
                    "zimbraAutoProvNotificationSubject",
                    "Hi ${ACCOUNT_DISPLAY_NAME}",
                ),
                edit(
                    "zimbraAutoProvNotificationBody",
                    "Your address is ${ACCOUNT_ADDRESS}.\nWelcome!",
                ),
            ],
        )
        .await
        .expect("modify domain");
    welcome.post_create(&domain, &w1, "uid=w1,dc=ext").await;
    let got = inbox(&f, "w1@example.test").await;
    assert_eq!(got.len(), 1, "one welcome mail");
    let m = &got[0];
    assert!(m.contains("\r\nFrom: welcome@example.test\r\n"), "{m}");
    // The display name is not ASCII: the subject is an encoded word.
    assert!(m.contains("Subject: =?utf-8?B?"), "{m}");
    let subject_b64 = m
        .split("Subject: =?utf-8?B?")
        .nth(1)
        .and_then(|s| s.split("?=").next())
        .expect("encoded subject");
    use base64::Engine;
    let subject = base64::engine::general_purpose::STANDARD
        .decode(subject_b64)
        .expect("base64");
    assert_eq!(String::from_utf8(subject).expect("utf8"), "Hi Wendy Één");
    assert!(
        m.contains("\r\n\r\nYour address is w1@example.test.\r\nWelcome!\r\n"),
        "{m}"
    );

    // Templates unset on the domain: the global config's defaults apply.
    let domain = f
        .prov
        .modify_domain(
            &domain_key,
            &[
                AttrEdit::Replace("zimbraAutoProvNotificationSubject".into(), vec![]),
                AttrEdit::Replace("zimbraAutoProvNotificationBody".into(), vec![]),
            ],
        )
        .await
        .expect("modify domain");
    let w2 = f
        .prov
        .create_account("w2@example.test", Some(PASSWORD), Attrs::new())
        .await
        .expect("w2");
    assert!(welcome.send(&domain, &w2).await.expect("send"));
    let got = inbox(&f, "w2@example.test").await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("\r\nSubject: New account auto provisioned\r\n"),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("Your email address is w2@example.test."),
        "{}",
        got[0]
    );
    assert!(got[0].contains("\r\nTo: w2@example.test\r\n"), "{}", got[0]);

    // A malformed from address is refused, nothing delivered.
    let domain = f
        .prov
        .modify_domain(
            &domain_key,
            &[edit(
                "zimbraAutoProvNotificationFromAddress",
                "not an address",
            )],
        )
        .await
        .expect("modify domain");
    assert!(welcome.send(&domain, &w2).await.is_err());
    assert_eq!(inbox(&f, "w2@example.test").await.len(), 1);
}

/// A MANUAL auto-provisioning from the customer directory calls the welcome listener
/// the domain names (`zimbraAutoProvListenerClass`), and the new mailbox gets the mail.
#[tokio::test]
async fn manual_auto_provisioning_delivers_the_welcome_mail() {
    let (Ok(url), Ok(base), Ok(dn), Ok(pw)) = (
        std::env::var("ZCS_TEST_EXT_LDAP_URL"),
        std::env::var("ZCS_TEST_EXT_LDAP_BASE"),
        std::env::var("ZCS_TEST_EXT_LDAP_BIND_DN"),
        std::env::var("ZCS_TEST_EXT_LDAP_BIND_PASSWORD"),
    ) else {
        eprintln!("ZCS_TEST_EXT_LDAP_URL not set: skipping the customer slapd test");
        return;
    };
    let uid = format!("wel{}", uuid::Uuid::new_v4().simple());
    let people = format!("ou=people,{base}");
    let entry_dn = format!("uid={uid},{people}");
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&dn, &pw)
        .await
        .and_then(|r| r.success())
        .expect("bind");
    let one = |v: &'static str| std::collections::HashSet::from([v]);
    ldap.add(
        &entry_dn,
        vec![
            ("objectClass", one("inetOrgPerson")),
            ("uid", std::collections::HashSet::from([uid.as_str()])),
            ("cn", one("Welcome Person")),
            ("sn", one("Person")),
            ("userPassword", one("Ext-Pw1")),
        ],
    )
    .await
    .and_then(|r| r.success())
    .expect("add the customer's user");

    let f = fixture().await;
    let index =
        Arc::new(TantivyIndex::open(&f._tmp.path().join("welcome-index")).expect("open index"));
    let (indexer, _task) = Indexer::start(f.store.clone(), index);
    let delivery = Arc::new(MailDelivery::new(f.prov.clone(), f.store.clone(), indexer));
    autoprov_welcome::register(f.prov.clone(), delivery);
    let dom = EntryKey::Name("welcome.test".into());
    f.prov
        .create_domain("welcome.test", Attrs::new())
        .await
        .expect("domain");
    f.prov
        .modify_domain(
            &dom,
            &[
                edit("zimbraAutoProvMode", "MANUAL"),
                edit("zimbraAutoProvLdapURL", &url),
                edit("zimbraAutoProvLdapAdminBindDn", &dn),
                edit("zimbraAutoProvLdapAdminBindPassword", &pw),
                edit("zimbraAutoProvLdapSearchBase", &people),
                edit(
                    "zimbraAutoProvLdapSearchFilter",
                    "(&(objectClass=inetOrgPerson)(uid=%u))",
                ),
                edit("zimbraAutoProvAttrMap", "cn=displayName"),
                edit(
                    "zimbraAutoProvListenerClass",
                    autoprov_welcome::WELCOME_LISTENER,
                ),
                edit(
                    "zimbraAutoProvNotificationFromAddress",
                    "postmaster@welcome.test",
                ),
                edit(
                    "zimbraAutoProvNotificationSubject",
                    "Welcome ${ACCOUNT_DISPLAY_NAME}",
                ),
            ],
        )
        .await
        .expect("auto-provisioning settings");
    let made = f
        .prov
        .auto_prov_account(&dom, AutoProvBy::Name, &uid, None)
        .await;
    let _ = ldap.delete(&entry_dn).await;
    let _ = ldap.unbind().await;
    let acct = made.expect("auto-provisioned");
    assert_eq!(acct.name, format!("{uid}@welcome.test"));
    let got = inbox(&f, &acct.name).await;
    assert_eq!(got.len(), 1, "one welcome mail");
    assert!(
        got[0].contains("\r\nSubject: Welcome Welcome Person\r\n"),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("\r\nFrom: postmaster@welcome.test\r\n"),
        "{}",
        got[0]
    );
}
