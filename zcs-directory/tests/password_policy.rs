//! Password policy and lockout through `Provisioning` on SQLite: strength rules from the
//! COS, history, ages, must-change, locked, failed-login lockout and its expiry
//! (spec 02 test ideas 50-54, spec 03 idea 22).
//!
//! Every case runs on SQLite (`sqlite::`) and, when a slapd is configured, on OpenLDAP
//! (`ldap::`; see `ldap_env`).

mod common;
#[macro_use]
mod ldap_env;

use std::net::{IpAddr, Ipv4Addr};

use common::{code, fixture};
use ldap_env::ldap_provisioning;
use zcs_core::attrs::value::format_time;
use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::{AuthContext, EntryKey, Provisioning};

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

fn set(name: &str, value: &str) -> Vec<AttrEdit> {
    vec![AttrEdit::Replace(name.into(), vec![value.into()])]
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn seed(p: &Provisioning) {
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    p.create_account("joe@ex.test", Some("Start#123"), Attrs::new())
        .await
        .unwrap();
}

async fn cos(p: &Provisioning, edits: &[(&str, &str)]) {
    let e: Vec<AttrEdit> = edits
        .iter()
        .map(|(n, v)| AttrEdit::Replace((*n).into(), vec![(*v).into()]))
        .collect();
    p.modify_cos(&EntryKey::Name("default".into()), &e)
        .await
        .unwrap();
}

async fn strength_rules_come_from_the_cos(p: Provisioning) {
    seed(&p).await;
    // Registry defaults: min 6, max 64.
    let e = p.set_password("joe@ex.test", "abcde").await.unwrap_err();
    assert_eq!(e.code, FaultCode::InvalidPassword);
    assert_eq!(e.message, "invalid password: too short");
    let e = p
        .set_password("joe@ex.test", &"a".repeat(65))
        .await
        .unwrap_err();
    assert_eq!(e.message, "invalid password: too long");

    cos(
        &p,
        &[
            ("zimbraPasswordMinUpperCaseChars", "1"),
            ("zimbraPasswordMinLowerCaseChars", "1"),
            ("zimbraPasswordMinNumericChars", "1"),
            ("zimbraPasswordMinPunctuationChars", "1"),
        ],
    )
    .await;
    for bad in ["abcdef1!", "ABCDEF1!", "Abcdefg!", "Abcdefg1"] {
        assert_eq!(
            code(p.set_password("joe@ex.test", bad).await),
            FaultCode::InvalidPassword,
            "{bad}"
        );
    }
    p.set_password("joe@ex.test", "Abcdef1!").await.unwrap();

    // The account's own value beats the COS.
    p.modify_account("joe@ex.test", &set("zimbraPasswordMinLength", "12"))
        .await
        .unwrap();
    assert_eq!(
        code(p.set_password("joe@ex.test", "Abcdef1!x").await),
        FaultCode::InvalidPassword
    );
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert!(p.check_password_policy(&acct, "Abcdef1!xyzw").await.is_ok());
}

async fn history_rejects_recent_passwords(p: Provisioning) {
    seed(&p).await;
    cos(&p, &[("zimbraPasswordEnforceHistory", "3")]).await;
    p.set_password("joe@ex.test", "second2").await.unwrap();
    p.set_password("joe@ex.test", "third33").await.unwrap();
    for reused in ["Start#123", "second2", "third33"] {
        let e = p.set_password("joe@ex.test", reused).await.unwrap_err();
        assert_eq!(e.code, FaultCode::PasswordRecentlyUsed, "{reused}");
        assert!(e.message.starts_with("PASSWORD_RECENTLY_USED"), "{e}");
    }
    p.set_password("joe@ex.test", "fourth4").await.unwrap();
    // Now the first one has dropped out of the last three.
    p.set_password("joe@ex.test", "Start#123").await.unwrap();
    let acct = p.get_account("joe@ex.test").await.unwrap();
    let history = acct.attrs.get_all("zimbraPasswordHistory");
    assert_eq!(history.len(), 3);
    assert!(
        history.iter().all(|h| h.contains(":{SSHA512}")),
        "stored hashed"
    );
}

async fn change_password_checks_old_locked_and_min_age(p: Provisioning) {
    seed(&p).await;
    assert_eq!(
        code(
            p.change_password("joe@ex.test", "wrong", "Next#456", &ctx())
                .await
        ),
        FaultCode::AuthFailed
    );
    p.change_password("joe@ex.test", "Start#123", "Next#456", &ctx())
        .await
        .unwrap();
    p.authenticate("joe@ex.test", "Next#456", &ctx())
        .await
        .unwrap();

    p.modify_account("joe@ex.test", &set("zimbraPasswordLocked", "TRUE"))
        .await
        .unwrap();
    assert_eq!(
        code(
            p.change_password("joe@ex.test", "Next#456", "Other#789", &ctx())
                .await
        ),
        FaultCode::PasswordLocked
    );
    // The administrator still may.
    p.set_password("joe@ex.test", "Admin#000").await.unwrap();
    p.modify_account("joe@ex.test", &set("zimbraPasswordLocked", "FALSE"))
        .await
        .unwrap();

    cos(&p, &[("zimbraPasswordMinAge", "1")]).await;
    let e = p
        .change_password("joe@ex.test", "Admin#000", "Other#789", &ctx())
        .await
        .unwrap_err();
    assert!(e.message.starts_with("PASSWORD_CHANGE_TOO_SOON"), "{e}");
    assert_eq!(e.code, FaultCode::PasswordChangeTooSoon);
    assert_eq!(e.code.as_str(), "account.PASSWORD_CHANGE_TOO_SOON");
}

async fn must_change_and_max_age_force_a_change(p: Provisioning) {
    seed(&p).await;
    p.modify_account("joe@ex.test", &set("zimbraPasswordMustChange", "TRUE"))
        .await
        .unwrap();
    assert_eq!(
        code(p.authenticate("joe@ex.test", "Start#123", &ctx()).await),
        FaultCode::ChangePasswordRequired
    );
    // A wrong password still says only AUTH_FAILED.
    assert_eq!(
        code(p.authenticate("joe@ex.test", "nope", &ctx()).await),
        FaultCode::AuthFailed
    );
    p.change_password("joe@ex.test", "Start#123", "Fresh#111", &ctx())
        .await
        .unwrap();
    p.authenticate("joe@ex.test", "Fresh#111", &ctx())
        .await
        .unwrap();

    cos(&p, &[("zimbraPasswordMaxAge", "1")]).await;
    let acct = p.get_account("joe@ex.test").await.unwrap();
    let two_days_ago = format_time(now_ms() - 2 * 86_400_000);
    p.directory()
        .modify_entry(
            acct.kind,
            acct.id,
            &set("zimbraPasswordModifiedTime", &two_days_ago),
        )
        .await
        .unwrap();
    assert_eq!(
        code(p.authenticate("joe@ex.test", "Fresh#111", &ctx()).await),
        FaultCode::ChangePasswordRequired
    );
}

async fn lockout_after_max_failures_and_expiry(p: Provisioning) {
    seed(&p).await;
    cos(
        &p,
        &[
            ("zimbraPasswordLockoutEnabled", "TRUE"),
            ("zimbraPasswordLockoutMaxFailures", "3"),
            ("zimbraPasswordLockoutDuration", "1h"),
        ],
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            code(p.authenticate("joe@ex.test", "bad", &ctx()).await),
            FaultCode::AuthFailed
        );
    }
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert_eq!(
        acct.attrs.get_all("zimbraPasswordLockoutFailureTime").len(),
        2
    );
    // A success forgets the failures, and records the logon.
    p.authenticate("joe@ex.test", "Start#123", &ctx())
        .await
        .unwrap();
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert!(!acct.attrs.contains("zimbraPasswordLockoutFailureTime"));
    let stamp = acct
        .attrs
        .get("zimbraLastLogonTimestamp")
        .unwrap()
        .to_string();
    assert!(stamp.ends_with('Z') && stamp.len() == 15, "{stamp}");

    for _ in 0..3 {
        let _ = p.authenticate("joe@ex.test", "bad", &ctx()).await;
    }
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert_eq!(acct.attrs.get("zimbraAccountStatus"), Some("lockout"));
    assert!(acct.attrs.contains("zimbraPasswordLockoutLockedTime"));
    // The right password is refused, with the same fault as a wrong one.
    assert_eq!(
        code(p.authenticate("joe@ex.test", "Start#123", &ctx()).await),
        FaultCode::AuthFailed
    );

    // Move the lock two hours into the past: the next login unlocks.
    let past = format_time(now_ms() - 2 * 3_600_000);
    p.directory()
        .modify_entry(
            acct.kind,
            acct.id,
            &set("zimbraPasswordLockoutLockedTime", &past),
        )
        .await
        .unwrap();
    p.authenticate("joe@ex.test", "Start#123", &ctx())
        .await
        .unwrap();
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert_eq!(acct.attrs.get("zimbraAccountStatus"), Some("active"));
    assert!(!acct.attrs.contains("zimbraPasswordLockoutLockedTime"));
}

async fn admin_unlock_and_no_lock_when_max_is_zero(p: Provisioning) {
    seed(&p).await;
    cos(
        &p,
        &[
            ("zimbraPasswordLockoutEnabled", "TRUE"),
            ("zimbraPasswordLockoutMaxFailures", "2"),
            ("zimbraPasswordLockoutDuration", "0"),
        ],
    )
    .await;
    for _ in 0..2 {
        let _ = p.authenticate("joe@ex.test", "bad", &ctx()).await;
    }
    assert_eq!(
        p.get_account("joe@ex.test")
            .await
            .unwrap()
            .attrs
            .get("zimbraAccountStatus"),
        Some("lockout")
    );
    // Duration 0: stays locked until an administrator sets it active.
    assert_eq!(
        code(p.authenticate("joe@ex.test", "Start#123", &ctx()).await),
        FaultCode::AuthFailed
    );
    p.modify_account("joe@ex.test", &set("zimbraAccountStatus", "active"))
        .await
        .unwrap();
    let acct = p
        .authenticate("joe@ex.test", "Start#123", &ctx())
        .await
        .unwrap();
    assert!(!acct.attrs.contains("zimbraPasswordLockoutFailureTime"));

    cos(&p, &[("zimbraPasswordLockoutMaxFailures", "0")]).await;
    for _ in 0..5 {
        let _ = p.authenticate("joe@ex.test", "bad", &ctx()).await;
    }
    assert_eq!(
        p.get_account("joe@ex.test")
            .await
            .unwrap()
            .attrs
            .get("zimbraAccountStatus"),
        Some("active")
    );
}

async fn failures_outside_the_window_do_not_count(p: Provisioning) {
    seed(&p).await;
    cos(
        &p,
        &[
            ("zimbraPasswordLockoutEnabled", "TRUE"),
            ("zimbraPasswordLockoutMaxFailures", "2"),
            ("zimbraPasswordLockoutFailureLifetime", "1h"),
        ],
    )
    .await;
    let acct = p.get_account("joe@ex.test").await.unwrap();
    let old = format_time(now_ms() - 3 * 3_600_000);
    p.directory()
        .modify_entry(
            acct.kind,
            acct.id,
            &set("zimbraPasswordLockoutFailureTime", &old),
        )
        .await
        .unwrap();
    let _ = p.authenticate("joe@ex.test", "bad", &ctx()).await;
    let acct = p.get_account("joe@ex.test").await.unwrap();
    assert_eq!(acct.attrs.get("zimbraAccountStatus"), Some("active"));
    assert_eq!(
        acct.attrs.get_all("zimbraPasswordLockoutFailureTime").len(),
        1,
        "the stale failure is dropped"
    );
}

async fn unknown_and_locked_accounts_fail_alike(p: Provisioning) {
    seed(&p).await;
    p.create_account("locked@ex.test", Some("Start#123"), Attrs::new())
        .await
        .unwrap();
    p.modify_account("locked@ex.test", &set("zimbraAccountStatus", "locked"))
        .await
        .unwrap();
    let a = p
        .authenticate("nobody@ex.test", "Start#123", &ctx())
        .await
        .unwrap_err();
    let b = p
        .authenticate("locked@ex.test", "Start#123", &ctx())
        .await
        .unwrap_err();
    let c = p
        .authenticate("joe@ex.test\r\nforged", "x", &ctx())
        .await
        .unwrap_err();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

on_every_backend!(
    strength_rules_come_from_the_cos,
    history_rejects_recent_passwords,
    change_password_checks_old_locked_and_min_age,
    must_change_and_max_age_force_a_change,
    lockout_after_max_failures_and_expiry,
    admin_unlock_and_no_lock_when_max_is_zero,
    failures_outside_the_window_do_not_count,
    unknown_and_locked_accounts_fail_alike,
);
