//! Lockout suppression in the login path, list subscription under each policy, owners
//! and the members a user may see, and `flushCache` through `Provisioning`.
//!
//! The suppression and subscription cases run on SQLite (bare and cached), on MariaDB
//! and PostgreSQL when `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set, and on
//! OpenLDAP when `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and
//! `ZCS_TEST_LDAP_BIND_PASSWORD` are set (each skipped loudly otherwise).

mod common;
#[allow(dead_code)]
#[path = "conformance/harness.rs"]
mod harness;
mod ldap_env;

use std::net::{IpAddr, Ipv4Addr};

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::subscription::{SubscribeOp, SubscribeStatus};
use zcs_directory::{AuthContext, CacheKind, CacheSettings, EntryKey, Provisioning};

fn ctx(protocol: &str) -> AuthContext {
    AuthContext {
        protocol: protocol.into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

fn status(acct: &zcs_core::Entry) -> String {
    acct.attrs
        .get("zimbraAccountStatus")
        .unwrap_or("active")
        .to_string()
}

/// Runs `case` on every configured backend.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                harness::run(stringify!($case), async |ctx: &harness::Ctx| {
                    cases::$case(&ctx.prov).await
                })
                .await;
            }
        )*
    };
}

on_every_backend!(
    one_old_password_retried_counts_once_for_listed_protocols,
    subscription_policies,
);

mod cases {
    use super::*;

    /// A stand-in for the old fixture: the cases only use its `prov`.
    struct On<'a> {
        prov: &'a Provisioning,
    }

    pub async fn one_old_password_retried_counts_once_for_listed_protocols(p: &Provisioning) {
        let f = On { prov: p };
        f.prov.bootstrap().await.unwrap();
        f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraPasswordLockoutEnabled", "TRUE");
        attrs.set_one("zimbraPasswordLockoutMaxFailures", "3");
        attrs.set(
            "zimbraPasswordLockoutSuppressionProtocols",
            vec!["imap".into(), "zsync".into()],
        );
        f.prov
            .create_account("u@ex.test", Some("pw123456"), attrs)
            .await
            .unwrap();

        // A phone retrying one old password over IMAPS: ten tries, one failure counted.
        for _ in 0..10 {
            let r = f
                .prov
                .authenticate("u@ex.test", "old-pw", &ctx("imaps"))
                .await;
            assert_eq!(code(r), FaultCode::AuthFailed);
        }
        let a = f.prov.get_account("u@ex.test").await.unwrap();
        assert_eq!(status(&a), "active");
        assert_eq!(a.attrs.get_all("zimbraPasswordLockoutFailureTime").len(), 1);
        // The right password still works, and forgets the failures.
        f.prov
            .authenticate("u@ex.test", "pw123456", &ctx("imap"))
            .await
            .unwrap();

        // Over POP3 (not listed) every retry counts: locked after three.
        for _ in 0..3 {
            let _ = f
                .prov
                .authenticate("u@ex.test", "old-pw", &ctx("pop3"))
                .await;
        }
        let a = f.prov.get_account("u@ex.test").await.unwrap();
        assert_eq!(status(&a), "lockout");
        f.prov
            .modify_account("u@ex.test", &set("zimbraAccountStatus", "active"))
            .await
            .unwrap();

        // Different wrong passwords over IMAP each count.
        for pw in ["a-1", "b-2", "c-3"] {
            let _ = f.prov.authenticate("u@ex.test", pw, &ctx("imap")).await;
        }
        let a = f.prov.get_account("u@ex.test").await.unwrap();
        assert_eq!(status(&a), "lockout");

        // Suppression off: the same wrong password counts every time.
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraPasswordLockoutEnabled", "TRUE");
        attrs.set_one("zimbraPasswordLockoutMaxFailures", "3");
        attrs.set_one("zimbraPasswordLockoutSuppressionEnabled", "FALSE");
        attrs.set_one("zimbraPasswordLockoutSuppressionProtocols", "imap");
        f.prov
            .create_account("v@ex.test", Some("pw123456"), attrs)
            .await
            .unwrap();
        for _ in 0..3 {
            let _ = f
                .prov
                .authenticate("v@ex.test", "old-pw", &ctx("imap"))
                .await;
        }
        let v = f.prov.get_account("v@ex.test").await.unwrap();
        assert_eq!(status(&v), "lockout");
    }

    pub async fn subscription_policies(p: &Provisioning) {
        let f = On { prov: p };
        f.prov.bootstrap().await.unwrap();
        f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
        let owner = f
            .prov
            .create_account("owner@ex.test", Some("pw123456"), Attrs::new())
            .await
            .unwrap();
        let user = f
            .prov
            .create_account("user@ex.test", Some("pw123456"), Attrs::new())
            .await
            .unwrap();
        let mk = |name: &'static str, sub: &'static str, unsub: &'static str| {
            let mut a = Attrs::new();
            a.set_one("zimbraDistributionListSubscriptionPolicy", sub);
            a.set_one("zimbraDistributionListUnsubscriptionPolicy", unsub);
            (name, a)
        };
        for (name, attrs) in [
            mk("open@ex.test", "ACCEPT", "ACCEPT"),
            mk("closed@ex.test", "REJECT", "REJECT"),
            mk("asked@ex.test", "APPROVAL", "APPROVAL"),
        ] {
            f.prov.create_distribution_list(name, attrs).await.unwrap();
            f.prov.add_list_owner(name, "owner@ex.test").await.unwrap();
        }

        let sub = |l: &'static str, op| {
            let prov = f.prov.clone();
            let user = user.clone();
            async move { prov.subscribe_to_list(l, &user, op).await }
        };
        assert_eq!(
            sub("open@ex.test", SubscribeOp::Subscribe).await.unwrap(),
            SubscribeStatus::Subscribed
        );
        let open = f.prov.get_group("open@ex.test").await.unwrap();
        assert_eq!(
            f.prov.group_members(&open).await.unwrap(),
            vec!["user@ex.test".to_string()]
        );
        // Again: already in, no change.
        assert_eq!(
            sub("open@ex.test", SubscribeOp::Subscribe).await.unwrap(),
            SubscribeStatus::Subscribed
        );
        assert_eq!(
            sub("open@ex.test", SubscribeOp::Unsubscribe).await.unwrap(),
            SubscribeStatus::Unsubscribed
        );
        assert_eq!(
            code(sub("closed@ex.test", SubscribeOp::Subscribe).await),
            FaultCode::PermDenied
        );
        match sub("asked@ex.test", SubscribeOp::Subscribe).await.unwrap() {
            SubscribeStatus::AwaitingApproval(owners) => {
                assert_eq!(owners, vec!["owner@ex.test".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        let asked = f.prov.get_group("asked@ex.test").await.unwrap();
        assert!(f.prov.group_members(&asked).await.unwrap().is_empty());

        // Owners.
        assert!(f.prov.is_list_owner(&asked, &owner).await.unwrap());
        assert!(!f.prov.is_list_owner(&asked, &user).await.unwrap());
        let owned = f.prov.lists_owned_by(&owner).await.unwrap();
        assert_eq!(owned.len(), 3);

        // Hidden members are left out for a plain user, shown to the owner; a list hidden
        // from the GAL shows its members to owners only.
        f.prov
            .add_group_members(
                "open@ex.test",
                &[
                    "user@ex.test".into(),
                    "owner@ex.test".into(),
                    "x@remote.test".into(),
                ],
            )
            .await
            .unwrap();
        f.prov
            .modify_account("owner@ex.test", &set("zimbraHideInGal", "TRUE"))
            .await
            .unwrap();
        let open = f.prov.get_group("open@ex.test").await.unwrap();
        let mut seen = f.prov.visible_list_members(&open, &user).await.unwrap();
        seen.sort();
        assert_eq!(seen, vec!["user@ex.test", "x@remote.test"]);
        let owner = f.prov.get_account("owner@ex.test").await.unwrap();
        assert_eq!(
            f.prov
                .visible_list_members(&open, &owner)
                .await
                .unwrap()
                .len(),
            3
        );
        f.prov
            .modify_group("open@ex.test", &set("zimbraHideInGal", "TRUE"))
            .await
            .unwrap();
        let open = f.prov.get_group("open@ex.test").await.unwrap();
        assert_eq!(
            code(f.prov.visible_list_members(&open, &user).await),
            FaultCode::PermDenied
        );

        // Creating lists: admins of the domain, or a createDistList grant on it.
        assert!(!f.prov.may_create_list(&user, "ex.test").await.unwrap());
        let dom = f
            .prov
            .get_domain(&EntryKey::Name("ex.test".into()))
            .await
            .unwrap();
        f.prov
            .modify_domain(
                &EntryKey::Id(dom.id),
                &[AttrEdit::Add(
                    "zimbraACE".into(),
                    format!("{} usr createDistList", user.id),
                )],
            )
            .await
            .unwrap();
        assert!(f.prov.may_create_list(&user, "ex.test").await.unwrap());
    }
}

#[tokio::test]
async fn flush_cache_shows_an_out_of_band_change() {
    let f = fixture().await;
    f.prov.bootstrap().await.unwrap();
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    f.prov
        .create_account("u@ex.test", Some("pw123456"), Attrs::new())
        .await
        .unwrap();
    // The "server": a cached handle. "zmprov -l": a second, uncached handle on the file.
    let server = zcs_directory::Provisioning::new(
        std::sync::Arc::new(
            zcs_directory::SqlDirectory::open_sqlite(&f.path)
                .await
                .unwrap(),
        ),
        zcs_directory::AuthRegistry::with_builtins(),
    )
    .with_cache(CacheSettings::new());
    let name = |e: &zcs_core::Entry| e.attrs.get("displayName").map(str::to_string);
    let a = server.get_account("u@ex.test").await.unwrap();
    assert_eq!(name(&a), None);
    f.prov
        .modify_account("u@ex.test", &set("displayName", "Out Of Band"))
        .await
        .unwrap();
    // Still the cached copy.
    let a = server.get_account("u@ex.test").await.unwrap();
    assert_eq!(name(&a), None);
    assert!(server.cache().unwrap().stats().hits >= 1);
    // Flushing by name shows the change.
    let dropped = server
        .flush_cache_types(&["account"], &["u@ex.test".into()])
        .unwrap();
    assert_eq!(dropped, 1);
    let a = server.get_account("u@ex.test").await.unwrap();
    assert_eq!(name(&a).as_deref(), Some("Out Of Band"));
    // A change through the cached handle is seen at once.
    server
        .modify_account("u@ex.test", &set("displayName", "Mine"))
        .await
        .unwrap();
    let a = server.get_account("u@ex.test").await.unwrap();
    assert_eq!(name(&a).as_deref(), Some("Mine"));
    // Unknown types are refused; skin and all are accepted.
    assert_eq!(
        code(server.flush_cache_types(&["bogus"], &[])),
        FaultCode::InvalidRequest
    );
    server.flush_cache_types(&["skin,all"], &[]).unwrap();
    assert_eq!(server.flush_cache(CacheKind::Config, None), 0);
}
