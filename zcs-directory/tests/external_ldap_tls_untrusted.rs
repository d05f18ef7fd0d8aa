//! The customer's directory over TLS when its CA is *not* trusted (this test process
//! registers no CA, and the throwaway CA of `.ci/setup.d/21-slapd-customer.sh` is in no
//! system bundle): StartTLS and `ldaps://` fail with a clear TLS error and nothing falls
//! back to plain text. External authentication answers `service.TEMPORARILY_UNAVAILABLE`
//! (so `zimbraAuthFallbackToLocal` still applies), the live external GAL and a GAL sync
//! source `service.RESOURCE_UNREACHABLE`, as for a server that is down. The trusted case
//! is `external_ldap_tls.rs`. Skipped loudly when the customer slapd's TLS side is not
//! configured.

mod common;
#[path = "customer_env/mod.rs"]
mod customer_env;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use customer_env::{
    add_branch, add_person, admin, customer_or_skip, customer_tls_or_skip, remove_branch,
};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::{Child, GalRequest, GalSyncSpec, GalType};
use zcs_directory::{AuthContext, EntryKey, ldap_client};

fn login() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

fn set(pairs: &[(&str, &str)]) -> Vec<AttrEdit> {
    pairs
        .iter()
        .map(|(n, v)| {
            let values = if v.is_empty() {
                vec![]
            } else {
                vec![v.to_string()]
            };
            AttrEdit::Replace((*n).into(), values)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_customer_ca_fails_clearly() {
    let test = "an_untrusted_customer_ca_fails_clearly";
    let Some(c) = customer_or_skip(test) else {
        return;
    };
    let Some((_ca, ldaps)) = customer_tls_or_skip(test) else {
        return;
    };
    // The premise: nothing here trusts the customer's CA ($ZCS_HOME/conf/ca might).
    if std::env::var_os("ZCS_HOME").is_some() {
        eprintln!("SKIPPED {test}: ZCS_HOME is set (its conf/ca could trust the CA)");
        return;
    }

    // The connection itself: a handshake failure naming the certificate problem.
    for (url, start_tls) in [(c.url.as_str(), true), (ldaps.as_str(), false)] {
        let err = ldap_client::connect(url, start_tls, Duration::from_secs(10))
            .await
            .expect_err("the CA is not trusted");
        assert!(
            matches!(err, ldap_client::ConnectError::Handshake { .. }),
            "{url}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("TLS handshake") && text.contains("certificate"),
            "{text}"
        );
    }
    // Plain LDAP on the same server still works (the failure above is TLS's).
    ldap_client::connect(&c.url, false, Duration::from_secs(10))
        .await
        .expect("plain connection");

    let branch = add_branch(&c, &format!("untrusted{}", uuid::Uuid::new_v4().simple())).await;
    {
        let mut ldap = admin(&c).await;
        add_person(
            &mut ldap,
            &branch,
            "joe",
            "joe@corp.test",
            "Cust-Secret1",
            &[],
        )
        .await;
        let _ = ldap.unbind().await;
    }
    let f = common::fixture().await;
    let p = &f.prov;
    p.bootstrap().await.expect("bootstrap");
    p.create_domain("corp.test", Attrs::new())
        .await
        .expect("domain");
    p.create_account("joe@corp.test", Some("Local-Pw1"), Attrs::new())
        .await
        .expect("account");
    let dom = EntryKey::Name("corp.test".into());
    let template = format!("uid=%u,{branch}");

    // Authentication: TEMPORARILY_UNAVAILABLE, whatever the password; never a plain bind.
    for (url, tls) in [(c.url.as_str(), "TRUE"), (ldaps.as_str(), "")] {
        p.modify_domain(
            &dom,
            &set(&[
                ("zimbraAuthMech", "ldap"),
                ("zimbraAuthLdapURL", url),
                ("zimbraAuthLdapBindDn", &template),
                ("zimbraAuthLdapStartTlsEnabled", tls),
                ("zimbraAuthFallbackToLocal", ""),
            ]),
        )
        .await
        .expect("auth settings");
        let e = p
            .authenticate("joe@corp.test", "Cust-Secret1", &login())
            .await
            .map(|_| ())
            .expect_err("untrusted CA");
        assert_eq!(e.code, FaultCode::Temporarily, "{url}: {}", e.message);
        assert!(e.message.contains("TLS"), "{}", e.message);
        // zimbraAuthFallbackToLocal still applies.
        p.modify_domain(&dom, &set(&[("zimbraAuthFallbackToLocal", "TRUE")]))
            .await
            .expect("fallback");
        p.authenticate("joe@corp.test", "Local-Pw1", &login())
            .await
            .expect("the local password after the TLS failure");
    }

    // The live GAL in mode ldap: unreachable; in mode both: the internal GAL answers.
    p.modify_domain(
        &dom,
        &set(&[
            ("zimbraGalMode", "ldap"),
            ("zimbraGalLdapURL", &c.url),
            ("zimbraGalLdapStartTlsEnabled", "TRUE"),
            ("zimbraGalLdapSearchBase", &branch),
            ("zimbraGalLdapFilter", "(|(cn=*%s*)(mail=*%s*))"),
        ]),
    )
    .await
    .expect("GAL settings");
    let req = GalRequest {
        text: "joe".into(),
        gal_type: GalType::All,
        autocomplete: false,
        limit: None,
    };
    let e = p
        .search_gal("corp.test", &req)
        .await
        .expect_err("untrusted CA");
    assert_eq!(e.code, FaultCode::ResourceUnreachable, "{}", e.message);
    assert!(e.message.contains("TLS handshake"), "{}", e.message);
    p.modify_domain(&dom, &set(&[("zimbraGalMode", "both")]))
        .await
        .expect("mode both");
    let r = p.search_gal("corp.test", &req).await.expect("internal GAL");
    assert_eq!(r.entries.len(), 1, "only the internal joe");
    assert!(!r.entries[0].attrs.contains("zimbraGalExternalDn"));

    // A GAL sync source: unreachable, naming TLS.
    p.create_gal_sync_account(&GalSyncSpec {
        account: "galsync@corp.test",
        domain: "corp.test",
        source: "ext",
        gal_type: "ldap",
        folder: None,
        password: None,
    })
    .await
    .expect("source");
    p.modify_child(
        Child::DataSource,
        "galsync@corp.test",
        "ext",
        &set(&[
            ("zimbraGalSyncLdapURL", &c.url),
            ("zimbraGalSyncLdapStartTlsEnabled", "TRUE"),
            ("zimbraGalSyncLdapSearchBase", &branch),
        ]),
    )
    .await
    .expect("source settings");
    let t = p
        .gal_sync_targets("galsync@corp.test")
        .await
        .expect("targets")
        .into_iter()
        .find(|t| t.name == "ext")
        .expect("listed");
    let e = p.read_gal_sync_source(&t).await.expect_err("untrusted CA");
    assert_eq!(e.code, FaultCode::ResourceUnreachable, "{}", e.message);
    assert!(e.message.contains("TLS"), "{}", e.message);

    remove_branch(&c, &branch).await;
}
