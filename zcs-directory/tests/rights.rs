//! The delegated-administration rights engine end to end through `Provisioning`:
//! grants stored as `zimbraACE`, precedence (deny at one level, most specific target,
//! most specific grantee), inheritance through lists, domains and global grants, admin
//! groups, combos, attribute rights, delegation and effective rights.
//!
//! Every case runs on SQLite (bare and cached), on MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set, and on OpenLDAP when
//! `ZCS_TEST_LDAP_URL`, `ZCS_TEST_LDAP_BIND_DN` and `ZCS_TEST_LDAP_BIND_PASSWORD` are set
//! (each skipped loudly otherwise).

#[allow(dead_code)]
#[path = "conformance/harness.rs"]
mod harness;
mod ldap_env;

use zcs_core::{Attrs, Entry, FaultCode, ServiceResult};
use zcs_directory::Provisioning;
use zcs_directory::rights::{GrantSpec, GranteeType, Modifier, TargetType};

fn one(name: &str, value: &str) -> Attrs {
    let mut a = Attrs::new();
    a.set_one(name, value);
    a
}

fn code<T: std::fmt::Debug>(r: ServiceResult<T>) -> FaultCode {
    r.expect_err("expected a fault").code
}

fn spec(tt: TargetType, target: &str, gt: GranteeType, grantee: &str, right: &str) -> GrantSpec {
    let (modifier, right) = Modifier::split(right);
    GrantSpec {
        target_type: tt,
        target: Some(target.to_string()),
        grantee_type: gt,
        grantee: grantee.to_string(),
        right: right.to_string(),
        modifier,
        secret: None,
    }
}

async fn grr(p: &Provisioning, tt: TargetType, target: &str, gt: GranteeType, who: &str, r: &str) {
    p.rights()
        .grant_right(None, &spec(tt, target, gt, who, r))
        .await
        .unwrap_or_else(|e| panic!("grant {r} on {target} to {who}: {e}"));
}

async fn allowed(p: &Provisioning, who: &str, tt: TargetType, target: &str, right: &str) -> bool {
    let admin = p.get_account(who).await.unwrap();
    let t = p.rights().target(tt, Some(target)).await.unwrap();
    p.rights()
        .check_right(&admin, &t, right)
        .await
        .unwrap()
        .allowed
}

async fn account(p: &Provisioning, name: &str) -> Entry {
    p.get_account(name).await.unwrap()
}

/// Two domains, a delegated admin, a global admin and a few users.
async fn seed(p: &Provisioning) {
    for d in ["ex.test", "other.test", "sub.ex.test"] {
        p.create_domain(d, Attrs::new()).await.unwrap();
    }
    for u in [
        "u1@ex.test",
        "u2@ex.test",
        "o1@other.test",
        "s1@sub.ex.test",
    ] {
        p.create_account(u, Some("Passw0rd!"), Attrs::new())
            .await
            .unwrap();
    }
    let deleg = one("zimbraIsDelegatedAdminAccount", "TRUE");
    p.create_account("da@ex.test", Some("Passw0rd!"), deleg.clone())
        .await
        .unwrap();
    p.create_account("db@ex.test", Some("Passw0rd!"), deleg)
        .await
        .unwrap();
    let global = one("zimbraIsAdminAccount", "TRUE");
    p.create_account("root@ex.test", Some("Passw0rd!"), global)
        .await
        .unwrap();
}

async fn domain_grants_and_refusals(p: &Provisioning) {
    use GranteeType::Usr;
    use TargetType::{Account, Domain};
    seed(p).await;
    grr(p, Domain, "ex.test", Usr, "da@ex.test", "createAccount").await;
    assert!(allowed(p, "da@ex.test", Domain, "ex.test", "createAccount").await);
    assert!(!allowed(p, "da@ex.test", Domain, "other.test", "createAccount").await);
    // Not inherited by sub-domains without ^.
    assert!(!allowed(p, "da@ex.test", Domain, "sub.ex.test", "createAccount").await);
    grr(p, Domain, "ex.test", Usr, "da@ex.test", "^listAccount").await;
    assert!(allowed(p, "da@ex.test", Account, "s1@sub.ex.test", "listAccount").await);
    // The global admin holds everything; a plain user nothing admin.
    assert!(allowed(p, "root@ex.test", Domain, "other.test", "createAccount").await);
    assert!(!allowed(p, "u1@ex.test", Domain, "ex.test", "createAccount").await);
    // The stored form is Zimbra's.
    let dom = p
        .get_domain(&zcs_directory::EntryKey::parse("ex.test"))
        .await
        .unwrap();
    let da = account(p, "da@ex.test").await;
    assert!(
        dom.attrs
            .get_all("zimbraACE")
            .contains(&format!("{} usr createAccount", da.id))
    );
    // Unknown right, misplaced right, admin right to a non-admin.
    let r = p
        .rights()
        .grant_right(
            None,
            &spec(Domain, "ex.test", Usr, "da@ex.test", "SetPasswordRequest"),
        )
        .await;
    assert_eq!(code(r), FaultCode::NoSuchRight);
    let r = p
        .rights()
        .grant_right(
            None,
            &spec(Account, "u1@ex.test", Usr, "da@ex.test", "createAccount"),
        )
        .await;
    assert_eq!(code(r), FaultCode::InvalidRequest);
    let r = p
        .rights()
        .grant_right(
            None,
            &spec(Domain, "ex.test", Usr, "u1@ex.test", "createAccount"),
        )
        .await;
    assert_eq!(code(r), FaultCode::InvalidRequest);
    // Global grants reach every domain; revoke undoes.
    let g = GrantSpec {
        target_type: TargetType::Global,
        target: None,
        ..spec(Domain, "", Usr, "db@ex.test", "createAccount")
    };
    p.rights().grant_right(None, &g).await.unwrap();
    assert!(allowed(p, "db@ex.test", Domain, "other.test", "createAccount").await);
    p.rights().revoke_right(None, &g).await.unwrap();
    assert!(!allowed(p, "db@ex.test", Domain, "other.test", "createAccount").await);
    assert_eq!(
        code(p.rights().revoke_right(None, &g).await),
        FaultCode::InvalidRequest
    );
}

async fn precedence_and_groups(p: &Provisioning) {
    use GranteeType::{Grp, Usr};
    use TargetType::{Account, Dl, Domain};
    seed(p).await;
    // Admin groups G1 (allow) and G2 (deny) on the domain: deny wins at the same level.
    for g in ["g1@ex.test", "g2@ex.test"] {
        p.create_distribution_list(g, one("zimbraIsAdminGroup", "TRUE"))
            .await
            .unwrap();
        p.add_group_members(g, &["da@ex.test".to_string()])
            .await
            .unwrap();
    }
    grr(p, Domain, "ex.test", Grp, "g1@ex.test", "getAccount").await;
    assert!(allowed(p, "da@ex.test", Account, "u1@ex.test", "getAccount").await);
    grr(p, Domain, "ex.test", Grp, "g2@ex.test", "-getAccount").await;
    assert!(!allowed(p, "da@ex.test", Account, "u1@ex.test", "getAccount").await);
    // More specific target wins: an allow on the account itself beats the domain deny.
    grr(p, Account, "u1@ex.test", Usr, "da@ex.test", "getAccount").await;
    assert!(allowed(p, "da@ex.test", Account, "u1@ex.test", "getAccount").await);
    assert!(!allowed(p, "da@ex.test", Account, "u2@ex.test", "getAccount").await);
    // A list target: deny on the list beats the domain allow for its members, nested too.
    p.create_distribution_list("team@ex.test", Attrs::new())
        .await
        .unwrap();
    p.create_distribution_list("inner@ex.test", Attrs::new())
        .await
        .unwrap();
    p.add_group_members("team@ex.test", &["inner@ex.test".to_string()])
        .await
        .unwrap();
    p.add_group_members("inner@ex.test", &["u2@ex.test".to_string()])
        .await
        .unwrap();
    grr(p, Domain, "ex.test", Usr, "db@ex.test", "adminLoginAs").await;
    assert!(allowed(p, "db@ex.test", Account, "u2@ex.test", "adminLoginAs").await);
    grr(p, Dl, "team@ex.test", Usr, "db@ex.test", "-adminLoginAs").await;
    assert!(!allowed(p, "db@ex.test", Account, "u2@ex.test", "adminLoginAs").await);
    assert!(allowed(p, "db@ex.test", Account, "u1@ex.test", "adminLoginAs").await);
    // The decision names its grant.
    let db = account(p, "db@ex.test").await;
    let t = p
        .rights()
        .target(Account, Some("u2@ex.test"))
        .await
        .unwrap();
    let d = p
        .rights()
        .check_right(&db, &t, "adminLoginAs")
        .await
        .unwrap();
    let via = d.via.unwrap();
    assert_eq!(
        (via.target_type, via.target_name.as_str()),
        (Dl, "team@ex.test")
    );
    assert!(via.grant.is_deny());
    // Turning the admin flag off suspends the grants; on again restores them.
    p.modify_account(
        "db@ex.test",
        &[zcs_core::AttrEdit::Replace(
            "zimbraIsDelegatedAdminAccount".into(),
            vec!["FALSE".into()],
        )],
    )
    .await
    .unwrap();
    assert!(!allowed(p, "db@ex.test", Account, "u1@ex.test", "adminLoginAs").await);
}

async fn combos_attrs_and_effective_rights(p: &Provisioning) {
    use GranteeType::Usr;
    use TargetType::{Account, Domain};
    seed(p).await;
    grr(p, Domain, "ex.test", Usr, "da@ex.test", "domainAdminRights").await;
    for r in [
        "createAccount",
        "deleteAccount",
        "renameAccount",
        "setAccountPassword",
        "modifyAccount",
    ] {
        assert!(
            allowed(p, "da@ex.test", Account, "u1@ex.test", r).await || r == "createAccount",
            "{r}"
        );
    }
    assert!(allowed(p, "da@ex.test", Domain, "ex.test", "createAccount").await);
    assert!(allowed(p, "da@ex.test", Domain, "ex.test", "domainAdminRights").await);
    assert!(!allowed(p, "da@ex.test", Account, "o1@other.test", "deleteAccount").await);
    // Carve an attribute out of modifyAccount.
    grr(
        p,
        Domain,
        "ex.test",
        Usr,
        "da@ex.test",
        "-set.account.zimbraCOSId",
    )
    .await;
    let da = account(p, "da@ex.test").await;
    let t = p
        .rights()
        .target(Account, Some("u1@ex.test"))
        .await
        .unwrap();
    let ev = p.rights().evaluate(&da, &t).await.unwrap();
    assert!(ev.attr_allowed(Account, "displayName", true));
    assert!(!ev.attr_allowed(Account, "zimbraCOSId", true));
    assert!(ev.attr_allowed(Account, "zimbraCOSId", false));
    let eff = p.rights().effective_rights(&da, &t).await.unwrap();
    assert!(eff.preset.iter().any(|r| r == "deleteAccount"));
    assert!(eff.get_attrs.all);
    assert!(!eff.set_attrs.all && eff.set_attrs.attrs.iter().any(|a| a == "displayName"));
    // Only an inline attribute right: that attribute and nothing else.
    grr(
        p,
        Domain,
        "other.test",
        Usr,
        "db@ex.test",
        "set.account.displayName",
    )
    .await;
    let db = account(p, "db@ex.test").await;
    let t = p
        .rights()
        .target(Account, Some("o1@other.test"))
        .await
        .unwrap();
    let eff = p.rights().effective_rights(&db, &t).await.unwrap();
    assert_eq!(eff.set_attrs.attrs, vec!["displayName".to_string()]);
    assert!(eff.preset.is_empty());
    let all = p.rights().all_effective_rights(&db).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].target_name, "other.test");
    let grants = p.rights().grants_to(Usr, "db@ex.test", true).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].grantee_name, "db@ex.test");
}

async fn delegation_needs_can_delegate(p: &Provisioning) {
    use GranteeType::Usr;
    use TargetType::Domain;
    seed(p).await;
    let da = account(p, "da@ex.test").await;
    let s = spec(Domain, "ex.test", Usr, "db@ex.test", "createAccount");
    grr(p, Domain, "ex.test", Usr, "da@ex.test", "createAccount").await;
    assert_eq!(
        code(p.rights().grant_right(Some(&da), &s).await),
        FaultCode::PermDenied
    );
    // Re-granting with + replaces the plain grant.
    grr(p, Domain, "ex.test", Usr, "da@ex.test", "+createAccount").await;
    let on = p.rights().target(Domain, Some("ex.test")).await.unwrap();
    assert_eq!(p.rights().grants_on(&on).await.unwrap().len(), 1);
    p.rights().grant_right(Some(&da), &s).await.unwrap();
    assert!(allowed(p, "db@ex.test", Domain, "ex.test", "createAccount").await);
    // User rights: sendAs to anyone, default-allowed viewFreeBusy.
    grr(
        p,
        TargetType::Account,
        "u1@ex.test",
        Usr,
        "u2@ex.test",
        "sendAs",
    )
    .await;
    assert!(allowed(p, "u2@ex.test", TargetType::Account, "u1@ex.test", "sendAs").await);
    assert!(
        !allowed(
            p,
            "o1@other.test",
            TargetType::Account,
            "u1@ex.test",
            "sendAs"
        )
        .await
    );
    assert!(
        allowed(
            p,
            "o1@other.test",
            TargetType::Account,
            "u1@ex.test",
            "viewFreeBusy"
        )
        .await
    );
    grr(
        p,
        TargetType::Account,
        "u1@ex.test",
        GranteeType::Dom,
        "ex.test",
        "viewFreeBusy",
    )
    .await;
    assert!(
        !allowed(
            p,
            "o1@other.test",
            TargetType::Account,
            "u1@ex.test",
            "viewFreeBusy"
        )
        .await
    );
    assert!(
        allowed(
            p,
            "u2@ex.test",
            TargetType::Account,
            "u1@ex.test",
            "viewFreeBusy"
        )
        .await
    );
}

async fn list_rights_written_by_acl_are_read(p: &Provisioning) {
    seed(p).await;
    p.create_distribution_list("l@ex.test", Attrs::new())
        .await
        .unwrap();
    p.grant_right(
        "dl",
        "l@ex.test",
        "usr",
        "u1@ex.test",
        "sendToDistList",
        false,
    )
    .await
    .unwrap();
    assert!(
        allowed(
            p,
            "u1@ex.test",
            TargetType::Dl,
            "l@ex.test",
            "sendToDistList"
        )
        .await
    );
    assert!(
        !allowed(
            p,
            "u2@ex.test",
            TargetType::Dl,
            "l@ex.test",
            "sendToDistList"
        )
        .await
    );
    let t = p
        .rights()
        .target(TargetType::Dl, Some("l@ex.test"))
        .await
        .unwrap();
    let g = p.rights().grants_on(&t).await.unwrap();
    assert_eq!(g[0].grantee_name, "u1@ex.test");
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                harness::run(stringify!($case), async |ctx: &harness::Ctx| {
                    super::$case(&ctx.prov).await
                })
                .await;
            }
        )*
    };
}

mod cases {
    use super::*;
    on_every_backend!(
        domain_grants_and_refusals,
        precedence_and_groups,
        combos_attrs_and_effective_rights,
        delegation_needs_can_delegate,
        list_rights_written_by_acl_are_read,
    );
}
