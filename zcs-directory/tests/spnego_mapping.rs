//! SPNEGO's principal-to-account mapping and login checks over a real (SQLite) directory,
//! with no KDC: `zimbraForeignPrincipal kerberos5:...` first, else the domain whose
//! `zimbraAuthKerberos5Realm` is the principal's realm; the account's status as at any
//! login; the settings read from the global config and this server's entry.

use std::sync::Arc;

use zcs_core::{AttrEdit, Attrs};
use zcs_directory::auth::kerberos::Principal;
use zcs_directory::auth::spnego::{
    SpnegoError, SpnegoSettings, account_for_principal, login_account,
};
use zcs_directory::{AuthRegistry, EntryKey, Provisioning, SqlDirectory};

fn p(text: &str) -> Principal {
    Principal::parse(text, None).expect("principal")
}

async fn setup(tmp: &tempfile::TempDir) -> Provisioning {
    let dir = SqlDirectory::open_sqlite(&tmp.path().join("directory.db"))
        .await
        .expect("open");
    let prov = Provisioning::new(Arc::new(dir), AuthRegistry::new()).with_local_server("mail.test");
    prov.bootstrap().await.expect("bootstrap");
    let mut realm = Attrs::new();
    realm.set_one("zimbraAuthKerberos5Realm", "EX.TEST");
    prov.create_domain("ex.test", realm).await.expect("domain");
    prov.create_domain("other.test", Attrs::new())
        .await
        .expect("domain");
    for a in ["alice@ex.test", "bob@other.test"] {
        prov.create_account(a, Some("pw-123456"), Attrs::new())
            .await
            .expect("account");
    }
    prov.modify_account(
        "bob@other.test",
        &[AttrEdit::Replace(
            "zimbraForeignPrincipal".into(),
            vec!["kerberos5:bob.smith@CORP.TEST".into()],
        )],
    )
    .await
    .expect("foreign principal");
    prov
}

#[tokio::test]
async fn principals_map_to_accounts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let prov = setup(&tmp).await;
    let name = |e: Option<zcs_core::Entry>| e.map(|e| e.name);
    assert_eq!(
        name(
            account_for_principal(&prov, &p("alice@EX.TEST"))
                .await
                .expect("lookup")
        ),
        Some("alice@ex.test".into())
    );
    // Realms compare without case, as the directory's search does.
    assert_eq!(
        name(
            account_for_principal(&prov, &p("alice@ex.test"))
                .await
                .expect("lookup")
        ),
        Some("alice@ex.test".into())
    );
    assert_eq!(
        name(
            account_for_principal(&prov, &p("bob.smith@CORP.TEST"))
                .await
                .expect("lookup")
        ),
        Some("bob@other.test".into())
    );
    for none in [
        "carol@EX.TEST",
        "alice@CORP.TEST",
        "alice/admin@EX.TEST",
        "bob@EX.TEST",
    ] {
        assert_eq!(
            name(
                account_for_principal(&prov, &p(none))
                    .await
                    .expect("lookup")
            ),
            None,
            "{none}"
        );
    }
    assert!(matches!(
        login_account(&prov, &p("carol@EX.TEST")).await,
        Err(SpnegoError::NoAccount(_))
    ));
    login_account(&prov, &p("alice@EX.TEST"))
        .await
        .expect("active account logs in");
    for status in ["locked", "closed", "maintenance"] {
        prov.modify_account(
            "alice@ex.test",
            &[AttrEdit::Replace(
                "zimbraAccountStatus".into(),
                vec![status.into()],
            )],
        )
        .await
        .expect("status");
        assert!(
            matches!(
                login_account(&prov, &p("alice@EX.TEST")).await,
                Err(SpnegoError::Status { .. })
            ),
            "{status}"
        );
    }
}

#[tokio::test]
async fn settings_come_from_config_and_this_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let prov = setup(&tmp).await;
    assert!(!SpnegoSettings::load(&prov).await.expect("settings").enabled);
    prov.modify_global_config(&[
        AttrEdit::Replace("zimbraSpnegoAuthEnabled".into(), vec!["TRUE".into()]),
        AttrEdit::Replace("zimbraSpnegoAuthRealm".into(), vec!["EX.TEST".into()]),
    ])
    .await
    .expect("config");
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraSpnegoAuthTargetName", "HTTP/mail.test");
    prov.create_server("mail.test", attrs)
        .await
        .expect("server");
    let s = SpnegoSettings::load(&prov).await.expect("settings");
    assert!(s.enabled);
    assert_eq!(s.principal, Some(p("HTTP/mail.test@EX.TEST")));
    prov.modify_server(
        &EntryKey::Name("mail.test".into()),
        &[AttrEdit::Replace(
            "zimbraSpnegoAuthPrincipal".into(),
            vec!["HTTP/mail1.test@EX.TEST".into()],
        )],
    )
    .await
    .expect("server principal");
    let s = SpnegoSettings::load(&prov).await.expect("settings");
    assert_eq!(s.principal, Some(p("HTTP/mail1.test@EX.TEST")));
}
