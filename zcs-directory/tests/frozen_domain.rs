//! A `suspended` or `shutdown` domain freezes more than creation (spec 02 §1.3.2, admin
//! guide "Suspended"): an administrator's SetPassword, a user's ChangePassword, list
//! subscription and grants on the domain's entries are refused as Zimbra refuses them
//! (its `TestProvDomainStatus`: SetPassword answers "permission denied: domain is
//! suspended", ChangePassword `account.MAINTENANCE_MODE`), on SQLite.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::provisioning::subscription::{SubscribeOp, SubscribeStatus};
use zcs_directory::rights::{GrantSpec, GranteeType, Modifier, TargetType};
use zcs_directory::{AuthContext, EntryKey, Provisioning};

const PW: &str = "Start#123";

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "soap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

async fn set_status(p: &Provisioning, domain: &str, status: &str) {
    p.modify_domain(
        &EntryKey::Name(domain.into()),
        &set("zimbraDomainStatus", status),
    )
    .await
    .unwrap();
}

/// Two domains, `ex.test` (to be frozen) and `other.test`, with a user and an open list
/// in each.
async fn seed(p: &Provisioning) {
    for d in ["ex.test", "other.test"] {
        p.create_domain(d, Attrs::new()).await.unwrap();
        p.create_account(&format!("u@{d}"), Some(PW), Attrs::new())
            .await
            .unwrap();
        let mut open = Attrs::new();
        open.set_one("zimbraDistributionListSubscriptionPolicy", "ACCEPT");
        open.set_one("zimbraDistributionListUnsubscriptionPolicy", "ACCEPT");
        p.create_distribution_list(&format!("open@{d}"), open)
            .await
            .unwrap();
    }
    let mut admin = Attrs::new();
    admin.set_one("zimbraIsAdminAccount", "TRUE");
    p.create_account("admin@other.test", Some(PW), admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn set_password_is_refused_in_a_frozen_domain() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    for status in ["suspended", "shutdown"] {
        set_status(p, "ex.test", status).await;
        let e = p.set_password("u@ex.test", "Other#456").await.unwrap_err();
        assert_eq!(e.code, FaultCode::PermDenied, "{status}: {e}");
        assert!(e.message.contains(status), "{e}");
        // Refused before any policy rule: an empty password is not what is reported.
        assert_eq!(
            code(p.set_password("u@ex.test", "").await),
            FaultCode::PermDenied
        );
        // The old password still works once the domain is active again.
        set_status(p, "ex.test", "active").await;
        p.authenticate("u@ex.test", PW, &ctx()).await.unwrap();
    }
    // Other statuses block logins, not an administrator setting a password.
    for status in ["locked", "maintenance", "closed"] {
        set_status(p, "ex.test", status).await;
        p.set_password("u@ex.test", "Other#456").await.unwrap();
    }
    set_status(p, "ex.test", "active").await;
    p.authenticate("u@ex.test", "Other#456", &ctx())
        .await
        .unwrap();
    // Accounts of other domains are untouched.
    set_status(p, "ex.test", "suspended").await;
    p.set_password("u@other.test", "Other#456").await.unwrap();
}

#[tokio::test]
async fn change_password_answers_maintenance_in_a_frozen_domain() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    for status in ["suspended", "shutdown"] {
        set_status(p, "ex.test", status).await;
        assert_eq!(
            code(
                p.change_password("u@ex.test", PW, "Other#456", &ctx())
                    .await
            ),
            FaultCode::MaintenanceMode,
            "{status}"
        );
        // A wrong old password reveals nothing more than at login.
        assert_eq!(
            code(
                p.change_password("u@ex.test", "wrong", "Other#456", &ctx())
                    .await
            ),
            FaultCode::AuthFailed
        );
    }
    // A closed account keeps its own status, as at login.
    set_status(p, "ex.test", "active").await;
    p.modify_account("u@ex.test", &set("zimbraAccountStatus", "closed"))
        .await
        .unwrap();
    set_status(p, "ex.test", "suspended").await;
    assert_eq!(
        code(
            p.change_password("u@ex.test", PW, "Other#456", &ctx())
                .await
        ),
        FaultCode::AuthFailed
    );
    // Nothing was written: the first password is still the one.
    set_status(p, "ex.test", "active").await;
    p.modify_account("u@ex.test", &set("zimbraAccountStatus", "active"))
        .await
        .unwrap();
    p.authenticate("u@ex.test", PW, &ctx()).await.unwrap();
    p.change_password("u@ex.test", PW, "Other#456", &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn lists_of_a_frozen_domain_take_no_subscription() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    let outsider = p.get_account("u@other.test").await.unwrap();
    p.subscribe_to_list("open@ex.test", &outsider, SubscribeOp::Subscribe)
        .await
        .unwrap();
    for status in ["suspended", "shutdown"] {
        set_status(p, "ex.test", status).await;
        for op in [SubscribeOp::Subscribe, SubscribeOp::Unsubscribe] {
            let e = p
                .subscribe_to_list("open@ex.test", &outsider, op)
                .await
                .unwrap_err();
            assert_eq!(e.code, FaultCode::PermDenied, "{status} {op:?}: {e}");
        }
        // A list of an active domain is open to a user whatever the list domain's
        // neighbours do.
        assert_eq!(
            p.subscribe_to_list("open@other.test", &outsider, SubscribeOp::Subscribe)
                .await
                .unwrap(),
            SubscribeStatus::Subscribed
        );
    }
    set_status(p, "ex.test", "active").await;
    let list = p.get_group("open@ex.test").await.unwrap();
    assert_eq!(
        list.attrs.get_all("zimbraMailForwardingAddress"),
        &["u@other.test".to_string()]
    );
    assert_eq!(
        p.subscribe_to_list("open@ex.test", &outsider, SubscribeOp::Unsubscribe)
            .await
            .unwrap(),
        SubscribeStatus::Unsubscribed
    );
}

#[tokio::test]
async fn owner_grants_on_a_frozen_domain_are_refused() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    p.add_list_owner("open@ex.test", "u@other.test")
        .await
        .unwrap();
    for status in ["suspended", "shutdown"] {
        set_status(p, "ex.test", status).await;
        assert_eq!(
            code(p.add_list_owner("open@ex.test", "admin@other.test").await),
            FaultCode::PermDenied,
            "{status}"
        );
        assert_eq!(
            code(p.remove_list_owner("open@ex.test", "u@other.test").await),
            FaultCode::PermDenied,
            "{status}"
        );
        // Reading the owners still works.
        assert_eq!(
            p.list_owners("open@ex.test").await.unwrap(),
            vec!["u@other.test".to_string()]
        );
        // A list of another domain may be given an owner from the frozen one's
        // neighbours; the grantee's domain is not checked.
        p.grant_right(
            "dl",
            "open@other.test",
            "usr",
            "u@ex.test",
            "sendToDistList",
            false,
        )
        .await
        .unwrap();
        p.revoke_right(
            "dl",
            "open@other.test",
            "usr",
            "u@ex.test",
            "sendToDistList",
            false,
        )
        .await
        .unwrap();
    }
    // The domain entry itself: still manageable while suspended, not while shut down.
    set_status(p, "ex.test", "suspended").await;
    p.grant_right(
        "domain",
        "ex.test",
        "usr",
        "u@other.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    set_status(p, "ex.test", "shutdown").await;
    let e = p
        .grant_right(
            "domain",
            "ex.test",
            "usr",
            "admin@other.test",
            "sendToDistList",
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, FaultCode::PermDenied);
    assert!(e.message.contains("shutdown"), "{e}");
    set_status(p, "ex.test", "active").await;
    p.add_list_owner("open@ex.test", "admin@other.test")
        .await
        .unwrap();
}

fn spec(tt: TargetType, target: &str, right: &str) -> GrantSpec {
    GrantSpec {
        target_type: tt,
        target: Some(target.to_string()),
        grantee_type: GranteeType::Usr,
        grantee: "admin@other.test".into(),
        right: right.into(),
        modifier: Modifier::None,
        secret: None,
    }
}

#[tokio::test]
async fn rights_engine_grants_on_a_frozen_domain_are_refused() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    let on_account = spec(TargetType::Account, "u@ex.test", "getAccount");
    let on_list = spec(TargetType::Dl, "open@ex.test", "ownDistList");
    let on_domain = spec(TargetType::Domain, "ex.test", "createAccount");
    p.rights().grant_right(None, &on_account).await.unwrap();
    for status in ["suspended", "shutdown"] {
        set_status(p, "ex.test", status).await;
        for s in [&on_account, &on_list] {
            assert_eq!(
                code(p.rights().grant_right(None, s).await),
                FaultCode::PermDenied,
                "{status} {:?}",
                s.target_type
            );
        }
        assert_eq!(
            code(p.rights().revoke_right(None, &on_account).await),
            FaultCode::PermDenied
        );
    }
    set_status(p, "ex.test", "suspended").await;
    p.rights().grant_right(None, &on_domain).await.unwrap();
    set_status(p, "ex.test", "shutdown").await;
    assert_eq!(
        code(p.rights().revoke_right(None, &on_domain).await),
        FaultCode::PermDenied
    );
    // Entries of other domains, and entries of no domain, are not affected.
    p.rights()
        .grant_right(
            None,
            &spec(TargetType::Dl, "open@other.test", "ownDistList"),
        )
        .await
        .unwrap();
    let mut global = spec(TargetType::Global, "", "createAccount");
    global.target = None;
    p.rights().grant_right(None, &global).await.unwrap();
    set_status(p, "ex.test", "active").await;
    p.rights().revoke_right(None, &on_account).await.unwrap();
    p.rights().revoke_right(None, &on_domain).await.unwrap();
}

/// Zimbra's `Account.getAccountStatus`: a global administrator keeps its own status in a
/// frozen or locked domain (so suspending the domain an administrator lives in does not
/// lock out the one who can undo it); a domain administrator does not.
#[tokio::test]
async fn a_global_admin_logs_in_while_its_domain_is_frozen() {
    let f = fixture().await;
    let p = &f.prov;
    seed(p).await;
    let mut dadmin = Attrs::new();
    dadmin.set_one("zimbraIsAdminAccount", "TRUE");
    dadmin.set_one("zimbraIsDomainAdminAccount", "TRUE");
    p.create_account("dadmin@other.test", Some(PW), dadmin)
        .await
        .unwrap();
    for status in ["suspended", "shutdown", "maintenance", "locked"] {
        set_status(p, "other.test", status).await;
        p.authenticate("admin@other.test", PW, &ctx())
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        let user = code(p.authenticate("u@other.test", PW, &ctx()).await);
        let domain_admin = code(p.authenticate("dadmin@other.test", PW, &ctx()).await);
        let want = if status == "locked" {
            FaultCode::AuthFailed
        } else {
            FaultCode::MaintenanceMode
        };
        assert_eq!((user, domain_admin), (want, want), "{status}");
    }
    // The administrator's own status still applies.
    set_status(p, "other.test", "active").await;
    p.modify_account("admin@other.test", &set("zimbraAccountStatus", "locked"))
        .await
        .unwrap();
    assert_eq!(
        code(p.authenticate("admin@other.test", PW, &ctx()).await),
        FaultCode::AuthFailed
    );
}
