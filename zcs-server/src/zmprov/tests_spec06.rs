//! The spec/06 §2 commands added last: reverse-proxy listings, the free/busy provider
//! commands and `selectMailbox`'s argument checks, against a SQLite directory.

use super::tests::{env, ok, z};

#[tokio::test]
async fn reverse_proxy_listings_follow_the_directory() {
    let e = env().await;
    // No lookup target: no URL, one placeholder backend, no domain.
    assert_eq!(ok(&e, "garpu").await, "\n");
    assert_eq!(
        ok(&e, "getAllReverseProxyBackends").await,
        "    server localhost:8080;\n"
    );
    assert_eq!(ok(&e, "garpd").await, "");

    ok(
        &e,
        "cs mbs1.ex.test zimbraServiceEnabled mailbox zimbraReverseProxyLookupTarget TRUE \
         zimbraServiceHostname mbs1.ex.test zimbraMailMode https zimbraMailSSLPort 8443 \
         zimbraExtensionBindPort 7073",
    )
    .await;
    ok(
        &e,
        "cs mbs2.ex.test zimbraServiceEnabled mailbox zimbraMailMode http zimbraMailPort 81",
    )
    .await;
    ok(
        &e,
        "cs mta.ex.test zimbraServiceEnabled mta zimbraReverseProxyLookupTarget TRUE \
         zimbraMailMode http zimbraMailPort 82",
    )
    .await;
    assert_eq!(
        ok(&e, "garpu").await,
        "mbs1.ex.test:7073/service/extension/nginx-lookup \n"
    );
    // Backends are every lookup target with a mail mode, mailbox service or not.
    assert_eq!(
        ok(&e, "garpb").await,
        "    server mbs1.ex.test:8443;\n    server mta.ex.test:82;\n"
    );

    ok(&e, "cd ex.test").await;
    ok(&e, "cd other.test").await;
    ok(
        &e,
        "md ex.test zimbraVirtualHostname mail.ex.test +zimbraVirtualHostname webmail.ex.test \
         zimbraSSLCertificate CERT zimbraSSLPrivateKey KEY",
    )
    .await;
    ok(&e, "md other.test zimbraVirtualHostname mail.other.test").await;
    assert_eq!(
        ok(&e, "garpd").await,
        "ex.test mail.ex.test webmail.ex.test \n"
    );
}

#[tokio::test]
async fn free_busy_commands_have_no_provider_to_reach() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    let id = ok(&e, "ca a@ex.test Passw0rd!").await;
    assert_eq!(ok(&e, "gafbp").await, "");
    assert_eq!(ok(&e, "gafbp -v").await, "");
    assert_eq!(ok(&e, "gfbqi").await, "");
    assert_eq!(ok(&e, "pfbg").await, "");
    assert_eq!(
        z(&e, "gfbqi EXCHANGE2007").await,
        Err("ERROR: service.INVALID_REQUEST (no such free/busy provider: EXCHANGE2007)".into())
    );
    assert_eq!(ok(&e, "pfb ex.test").await, "");
    assert_eq!(ok(&e, &format!("pfb {}", id.trim())).await, "");
    assert_eq!(ok(&e, "pushFreebusyDomain ex.test").await, "");
    assert!(
        z(&e, "pfbd nowhere.test")
            .await
            .is_err_and(|f| f.contains("account.NO_SUCH_DOMAIN"))
    );
    assert!(
        z(&e, "pfb nobody@ex.test")
            .await
            .is_err_and(|f| f.contains("account.NO_SUCH_ACCOUNT"))
    );
}

#[tokio::test]
async fn select_mailbox_checks_the_account_first() {
    let e = env().await;
    ok(&e, "cd ex.test").await;
    assert!(
        z(&e, "sm nobody@ex.test gaf")
            .await
            .is_err_and(|f| f.contains("account.NO_SUCH_ACCOUNT"))
    );
    assert_eq!(z(&e, "sm").await, Err("usage: selectMailbox".into()));
    assert_eq!(
        z(&e, "sm --admin-priv").await,
        Err("usage: selectMailbox".into())
    );
}
