//! The spec 02 §0 exceptions to "the lower level wins", read through the directory's
//! effective attributes (SQLite, no server needed): the domain Zimlet list overriding
//! the COS and account lists, SMS reminders with the COS above the domain, and S/MIME
//! LDAP configurations taken from one level only (the domain's when it has any).

mod common;

use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_directory::{Directory, EntryKey};

#[tokio::test]
async fn effective_attributes_apply_the_precedence_exceptions() {
    let f = common::fixture().await;
    let p = &f.prov;
    p.bootstrap().await.unwrap();
    let mut cos_attrs = Attrs::new();
    cos_attrs.add("zimbraZimletAvailableZimlets", "+com_zimbra_date");
    cos_attrs.add("zimbraZimletAvailableZimlets", "+com_zimbra_phone");
    cos_attrs.set_one("zimbraFeatureCalendarReminderDeviceEmailEnabled", "FALSE");
    let cos = p.create_cos("sms-off", cos_attrs).await.unwrap();
    let mut dom_attrs = Attrs::new();
    dom_attrs.set_one("zimbraDomainDefaultCOSId", cos.id.to_string());
    dom_attrs.add("zimbraZimletDomainAvailableZimlets", "-com_zimbra_phone");
    dom_attrs.add("zimbraZimletDomainAvailableZimlets", "!com_zimbra_url");
    dom_attrs.set_one("zimbraFeatureCalendarReminderDeviceEmailEnabled", "TRUE");
    p.create_domain("prec.test", dom_attrs).await.unwrap();
    p.create_domain("plain.test", Attrs::new()).await.unwrap();
    p.create_account("joe@prec.test", None, Attrs::new())
        .await
        .unwrap();

    let joe = p.get_account("joe@prec.test").await.unwrap();
    let eff = p.effective_account_attrs(&joe).await.unwrap();
    // Zimlets: the domain's entries replace the COS's for the same Zimlet.
    assert_eq!(
        eff.get_all("zimbraZimletAvailableZimlets"),
        ["+com_zimbra_date", "-com_zimbra_phone", "!com_zimbra_url"]
    );
    // SMS: the COS's FALSE beats the domain's TRUE.
    assert_eq!(
        eff.get("zimbraFeatureCalendarReminderDeviceEmailEnabled"),
        Some("FALSE")
    );

    // S/MIME: global configurations until the domain has its own. The attributes are
    // immutable to modify commands (Zimbra edits them with its own S/MIME commands), so
    // they are written to the directory directly.
    let global = p.global_config().await.unwrap();
    f.dir
        .modify_entry(
            EntryKind::GlobalConfig,
            global.id,
            &[
                AttrEdit::Replace(
                    "zimbraSMIMELdapURL".into(),
                    vec!["corp:ldap://global.test:3268".into()],
                ),
                AttrEdit::Replace("zimbraSMIMELdapFilter".into(), vec!["corp:mail=%n".into()]),
            ],
        )
        .await
        .unwrap();
    let plain = p
        .get_domain(&EntryKey::Name("plain.test".into()))
        .await
        .unwrap();
    let eff = p.effective_domain_attrs(&plain).await.unwrap();
    assert_eq!(
        eff.get("zimbraSMIMELdapURL"),
        Some("corp:ldap://global.test:3268")
    );
    assert_eq!(eff.get("zimbraSMIMELdapFilter"), Some("corp:mail=%n"));
    let dom = EntryKey::Name("prec.test".into());
    let prec = p.get_domain(&dom).await.unwrap();
    f.dir
        .modify_entry(
            EntryKind::Domain,
            prec.id,
            &[AttrEdit::Replace(
                "zimbraSMIMELdapURL".into(),
                vec!["dom:ldap://dom.test".into()],
            )],
        )
        .await
        .unwrap();
    let prec = p.get_domain(&dom).await.unwrap();
    let eff = p.effective_domain_attrs(&prec).await.unwrap();
    assert_eq!(eff.get("zimbraSMIMELdapURL"), Some("dom:ldap://dom.test"));
    assert_eq!(
        eff.get("zimbraSMIMELdapFilter"),
        None,
        "never mixed with global"
    );
}
