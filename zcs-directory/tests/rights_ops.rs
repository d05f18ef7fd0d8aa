//! Delegated administration of accounts, lists, domains and classes of service
//! (`RightsEngine::authorize`), and global grants reaching every target: a domain admin
//! manages the lists of its domain and no other, COS rights decide per COS, a grant on
//! the global grant entry applies everywhere, and a more specific level still wins.
//!
//! Every case runs on SQLite (bare and cached), on MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set, and on OpenLDAP when the
//! `ZCS_TEST_LDAP_*` variables are set (each skipped loudly otherwise).

#[allow(dead_code)]
#[path = "conformance/harness.rs"]
mod harness;
mod ldap_env;

use zcs_core::{Attrs, Entry, FaultCode, ServiceResult};
use zcs_directory::Provisioning;
use zcs_directory::rights::{AdminOp, GrantSpec, GranteeType, Modifier, TargetType};

fn one(name: &str, value: &str) -> Attrs {
    let mut a = Attrs::new();
    a.set_one(name, value);
    a
}

fn spec(tt: TargetType, target: Option<&str>, grantee: &str, right: &str) -> GrantSpec {
    let (modifier, right) = Modifier::split(right);
    GrantSpec {
        target_type: tt,
        target: target.map(str::to_string),
        grantee_type: GranteeType::Usr,
        grantee: grantee.to_string(),
        right: right.to_string(),
        modifier,
        secret: None,
    }
}

async fn grant(p: &Provisioning, tt: TargetType, target: Option<&str>, who: &str, r: &str) {
    p.rights()
        .grant_right(None, &spec(tt, target, who, r))
        .await
        .unwrap_or_else(|e| panic!("grant {r} on {target:?} to {who}: {e}"));
}

async fn account(p: &Provisioning, name: &str) -> Entry {
    p.get_account(name).await.unwrap()
}

/// `Ok` or the fault code of `authorize`.
async fn may(p: &Provisioning, who: &str, op: AdminOp<'_>) -> Result<(), FaultCode> {
    let admin = account(p, who).await;
    let r: ServiceResult<()> = p.rights().authorize(&admin, &op).await;
    r.map_err(|e| e.code)
}

const DENIED: Result<(), FaultCode> = Err(FaultCode::PermDenied);

/// Two domains with a list each, two COS, a domain admin of `ex.test`, a second
/// delegated admin, a global admin and a plain user.
async fn seed(p: &Provisioning) {
    for d in ["ex.test", "other.test"] {
        p.create_domain(d, Attrs::new()).await.unwrap();
    }
    for l in ["staff@ex.test", "staff@other.test"] {
        p.create_distribution_list(l, Attrs::new()).await.unwrap();
    }
    for c in ["gold", "silver"] {
        p.create_cos(c, Attrs::new()).await.unwrap();
    }
    let deleg = one("zimbraIsDelegatedAdminAccount", "TRUE");
    for a in ["da@ex.test", "db@ex.test"] {
        p.create_account(a, Some("Passw0rd!"), deleg.clone())
            .await
            .unwrap();
    }
    p.create_account(
        "root@ex.test",
        Some("Passw0rd!"),
        one("zimbraIsAdminAccount", "TRUE"),
    )
    .await
    .unwrap();
    p.create_account("u1@ex.test", Some("Passw0rd!"), Attrs::new())
        .await
        .unwrap();
}

async fn domain_admins_manage_their_lists_only(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "domainAdminRights",
    )
    .await;
    let attrs = vec!["displayName".to_string(), "+zimbraMailAlias".to_string()];
    let own = "staff@ex.test";
    let foreign = "staff@other.test";
    for (op, ok) in [
        (
            O::CreateList {
                name: "new@ex.test",
                attrs: &attrs,
            },
            true,
        ),
        (
            O::CreateList {
                name: "new@other.test",
                attrs: &attrs,
            },
            false,
        ),
        (O::GetList { list: own }, true),
        (O::GetList { list: foreign }, false),
        (
            O::ModifyList {
                list: own,
                attrs: &attrs,
            },
            true,
        ),
        (
            O::ModifyList {
                list: foreign,
                attrs: &attrs,
            },
            false,
        ),
        (O::AddListMembers { list: own }, true),
        (O::AddListMembers { list: foreign }, false),
        (O::RemoveListMembers { list: own }, true),
        (O::DeleteList { list: own }, true),
        (O::DeleteList { list: foreign }, false),
        (
            O::RenameList {
                list: own,
                new_name: "crew@ex.test",
            },
            true,
        ),
        // Moving a list into a domain it does not administer.
        (
            O::RenameList {
                list: own,
                new_name: "crew@other.test",
            },
            false,
        ),
        (
            O::AddListAlias {
                list: own,
                alias: "team@ex.test",
            },
            true,
        ),
        (
            O::AddListAlias {
                list: own,
                alias: "team@other.test",
            },
            false,
        ),
        (
            O::RemoveListAlias {
                list: own,
                alias: "team@ex.test",
            },
            true,
        ),
    ] {
        let want = if ok { Ok(()) } else { DENIED };
        assert_eq!(may(p, "da@ex.test", op).await, want, "{op:?}");
        // The global admin may do all of it; the other delegated admin none; a user
        // none either.
        assert_eq!(may(p, "root@ex.test", op).await, Ok(()), "{op:?}");
        assert_eq!(may(p, "db@ex.test", op).await, DENIED, "{op:?}");
        assert_eq!(may(p, "u1@ex.test", op).await, DENIED, "{op:?}");
    }
    // A denial on one list beats the domain's allow (the list is the nearer level).
    p.rights()
        .grant_right(
            None,
            &spec(
                TargetType::Dl,
                Some(own),
                "da@ex.test",
                "-deleteDistributionList",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        may(p, "da@ex.test", O::DeleteList { list: own }).await,
        DENIED
    );
    assert_eq!(
        may(p, "da@ex.test", O::AddListMembers { list: own }).await,
        Ok(())
    );
    // One attribute right on a list: that attribute only.
    grant(
        p,
        TargetType::Dl,
        Some(foreign),
        "db@ex.test",
        "set.dl.description",
    )
    .await;
    let desc = vec!["description".to_string()];
    assert_eq!(
        may(
            p,
            "db@ex.test",
            O::ModifyList {
                list: foreign,
                attrs: &desc
            }
        )
        .await,
        Ok(())
    );
    assert_eq!(
        may(
            p,
            "db@ex.test",
            O::ModifyList {
                list: foreign,
                attrs: &attrs
            }
        )
        .await,
        DENIED
    );
    // An unknown list is its own fault, not a denial.
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::DeleteList {
                list: "nope@ex.test"
            }
        )
        .await,
        Err(FaultCode::NoSuchDistributionList)
    );
}

async fn domain_and_cos_rights(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "getDomain",
    )
    .await;
    let mods = vec!["zimbraGalMaxResults".to_string()];
    assert_eq!(
        may(p, "da@ex.test", O::GetDomain { domain: "ex.test" }).await,
        Ok(())
    );
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::GetDomain {
                domain: "other.test"
            }
        )
        .await,
        DENIED
    );
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::ModifyDomain {
                domain: "ex.test",
                attrs: &mods
            }
        )
        .await,
        DENIED
    );
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "set.domain.zimbraGalMaxResults",
    )
    .await;
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::ModifyDomain {
                domain: "ex.test",
                attrs: &mods
            }
        )
        .await,
        Ok(())
    );
    assert_eq!(
        may(p, "da@ex.test", O::DeleteDomain { domain: "ex.test" }).await,
        DENIED
    );
    assert_eq!(may(p, "da@ex.test", O::CreateDomain).await, DENIED);

    // COS rights are per COS.
    for r in ["listCos", "getCos", "assignCos"] {
        grant(p, TargetType::Cos, Some("gold"), "da@ex.test", r).await;
    }
    assert_eq!(
        may(p, "da@ex.test", O::AssignCos { cos: "gold" }).await,
        Ok(())
    );
    assert_eq!(
        may(p, "da@ex.test", O::AssignCos { cos: "silver" }).await,
        DENIED
    );
    assert_eq!(
        may(p, "da@ex.test", O::GetCos { cos: "gold" }).await,
        Ok(())
    );
    assert_eq!(
        may(p, "da@ex.test", O::GetCos { cos: "silver" }).await,
        DENIED
    );
    let quota = vec!["zimbraMailQuota".to_string()];
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::ModifyCos {
                cos: "gold",
                attrs: &quota
            }
        )
        .await,
        DENIED
    );
    grant(p, TargetType::Cos, Some("gold"), "da@ex.test", "modifyCos").await;
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::ModifyCos {
                cos: "gold",
                attrs: &quota
            }
        )
        .await,
        Ok(())
    );
    assert_eq!(
        may(p, "da@ex.test", O::DeleteCos { cos: "gold" }).await,
        DENIED
    );
    assert_eq!(
        may(p, "da@ex.test", O::RenameCos { cos: "gold" }).await,
        DENIED
    );
    assert_eq!(may(p, "da@ex.test", O::CreateCos).await, DENIED);
    assert_eq!(
        may(p, "da@ex.test", O::GetCos { cos: "nope" }).await,
        Err(FaultCode::NoSuchCos)
    );
}

async fn global_grants_apply_everywhere(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    // Granted on the global grant entry (target type `global`, no name).
    for r in ["adminConsoleDLRights", "adminConsoleCOSRights", "createCos"] {
        grant(p, TargetType::Global, None, "db@ex.test", r).await;
    }
    for list in ["staff@ex.test", "staff@other.test"] {
        assert_eq!(
            may(p, "db@ex.test", O::DeleteList { list }).await,
            Ok(()),
            "{list}"
        );
        assert_eq!(
            may(p, "db@ex.test", O::AddListMembers { list }).await,
            Ok(())
        );
    }
    assert_eq!(
        may(
            p,
            "db@ex.test",
            O::CreateList {
                name: "x@other.test",
                attrs: &[]
            }
        )
        .await,
        Ok(())
    );
    for cos in ["gold", "silver"] {
        assert_eq!(
            may(p, "db@ex.test", O::GetCos { cos }).await,
            Ok(()),
            "{cos}"
        );
        assert_eq!(
            may(p, "db@ex.test", O::AssignCos { cos }).await,
            Ok(()),
            "{cos}"
        );
    }
    assert_eq!(may(p, "db@ex.test", O::CreateCos).await, Ok(()));
    // Not a domain right: the global grant gave list and COS rights only.
    assert_eq!(
        may(p, "db@ex.test", O::DeleteDomain { domain: "ex.test" }).await,
        DENIED
    );
    // A more specific level decides before the global one: a deny on one domain.
    p.rights()
        .grant_right(
            None,
            &spec(
                TargetType::Domain,
                Some("other.test"),
                "db@ex.test",
                "-deleteDistributionList",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        may(
            p,
            "db@ex.test",
            O::DeleteList {
                list: "staff@other.test"
            }
        )
        .await,
        DENIED
    );
    assert_eq!(
        may(
            p,
            "db@ex.test",
            O::DeleteList {
                list: "staff@ex.test"
            }
        )
        .await,
        Ok(())
    );
    // Checks through check_right see the same global grant on a COS target.
    let admin = account(p, "db@ex.test").await;
    let t = p
        .rights()
        .target(TargetType::Cos, Some("silver"))
        .await
        .unwrap();
    let d = p.rights().check_right(&admin, &t, "listCos").await.unwrap();
    assert!(d.allowed);
    let via = d.via.expect("decided by a grant");
    assert_eq!(via.target_type, TargetType::Global);
    assert_eq!(via.target_name, "globalacltarget");
    // Revoking the global grant takes it away everywhere.
    p.rights()
        .revoke_right(
            None,
            &spec(
                TargetType::Global,
                None,
                "db@ex.test",
                "adminConsoleCOSRights",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        may(p, "db@ex.test", O::GetCos { cos: "gold" }).await,
        DENIED
    );
}

async fn domain_admins_manage_their_accounts_only(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    p.create_account("o1@other.test", Some("Passw0rd!"), Attrs::new())
        .await
        .unwrap();
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "domainAdminRights",
    )
    .await;
    let attrs = vec!["displayName".to_string()];
    let (own, foreign) = ("u1@ex.test", "o1@other.test");
    for (op, ok) in [
        (
            O::CreateAccount {
                name: "n@ex.test",
                attrs: &attrs,
            },
            true,
        ),
        (
            O::CreateAccount {
                name: "n@other.test",
                attrs: &attrs,
            },
            false,
        ),
        (O::GetAccount { account: own }, true),
        (O::GetAccount { account: foreign }, false),
        (
            O::ModifyAccount {
                account: own,
                attrs: &attrs,
            },
            true,
        ),
        (
            O::ModifyAccount {
                account: foreign,
                attrs: &attrs,
            },
            false,
        ),
        (O::SetPassword { account: own }, true),
        (O::SetPassword { account: foreign }, false),
        (O::DeleteAccount { account: own }, true),
        (O::DeleteAccount { account: foreign }, false),
        (
            O::RenameAccount {
                account: own,
                new_name: "v@ex.test",
            },
            true,
        ),
        (
            O::RenameAccount {
                account: own,
                new_name: "v@other.test",
            },
            false,
        ),
        (
            O::RenameAccount {
                account: foreign,
                new_name: "v@ex.test",
            },
            false,
        ),
    ] {
        let want = if ok { Ok(()) } else { DENIED };
        assert_eq!(may(p, "da@ex.test", op).await, want, "{op:?}");
        assert_eq!(may(p, "root@ex.test", op).await, Ok(()), "{op:?}");
        assert_eq!(may(p, "db@ex.test", op).await, DENIED, "{op:?}");
    }
    // Not a COS right: assigning one needs its own grant.
    assert_eq!(
        may(p, "da@ex.test", O::AssignCos { cos: "gold" }).await,
        DENIED
    );
    assert_eq!(
        may(
            p,
            "da@ex.test",
            O::GetAccount {
                account: "nope@ex.test"
            }
        )
        .await,
        Err(FaultCode::NoSuchAccount)
    );
}

/// Spec 03 §6 idea 51: adding an alias takes `addAccountAlias` on the account AND
/// `createAlias` on the alias's domain; either alone is denied (removing likewise with
/// `removeAccountAlias` and `deleteAlias`).
async fn account_aliases_need_both_rights(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    let add = |alias| O::AddAccountAlias {
        account: "u1@ex.test",
        alias,
    };
    let remove = |alias| O::RemoveAccountAlias {
        account: "u1@ex.test",
        alias,
    };
    assert_eq!(may(p, "da@ex.test", add("x@ex.test")).await, DENIED);
    grant(
        p,
        TargetType::Account,
        Some("u1@ex.test"),
        "da@ex.test",
        "addAccountAlias",
    )
    .await;
    assert_eq!(
        may(p, "da@ex.test", add("x@ex.test")).await,
        DENIED,
        "no createAlias on the domain"
    );
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "createAlias",
    )
    .await;
    assert_eq!(may(p, "da@ex.test", add("x@ex.test")).await, Ok(()));
    assert_eq!(
        may(p, "da@ex.test", add("x@other.test")).await,
        DENIED,
        "createAlias is per domain"
    );
    // The domain right alone is not enough for another account.
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "db@ex.test",
        "createAlias",
    )
    .await;
    assert_eq!(may(p, "db@ex.test", add("y@ex.test")).await, DENIED);

    assert_eq!(may(p, "da@ex.test", remove("x@ex.test")).await, DENIED);
    grant(
        p,
        TargetType::Account,
        Some("u1@ex.test"),
        "da@ex.test",
        "removeAccountAlias",
    )
    .await;
    assert_eq!(may(p, "da@ex.test", remove("x@ex.test")).await, DENIED);
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "deleteAlias",
    )
    .await;
    assert_eq!(may(p, "da@ex.test", remove("x@ex.test")).await, Ok(()));
    assert_eq!(may(p, "root@ex.test", add("z@other.test")).await, Ok(()));
}

/// Spec 03 §6 idea 55: `adminLoginAs` granted on the domain, denied on one account: the
/// delegated admin may View Mail (DelegateAuth) of everyone in the domain but that one.
async fn view_mail_follows_admin_login_as(p: &Provisioning) {
    use AdminOp as O;
    seed(p).await;
    p.create_account("ceo@ex.test", Some("Passw0rd!"), Attrs::new())
        .await
        .unwrap();
    let view = |account| O::DelegateAuth { account };
    assert_eq!(may(p, "da@ex.test", view("u1@ex.test")).await, DENIED);
    grant(
        p,
        TargetType::Domain,
        Some("ex.test"),
        "da@ex.test",
        "adminLoginAs",
    )
    .await;
    grant(
        p,
        TargetType::Account,
        Some("ceo@ex.test"),
        "da@ex.test",
        "-adminLoginAs",
    )
    .await;
    assert_eq!(may(p, "da@ex.test", view("u1@ex.test")).await, Ok(()));
    assert_eq!(may(p, "da@ex.test", view("ceo@ex.test")).await, DENIED);
    assert_eq!(may(p, "db@ex.test", view("u1@ex.test")).await, DENIED);
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
        domain_admins_manage_their_lists_only,
        domain_and_cos_rights,
        global_grants_apply_everywhere,
        domain_admins_manage_their_accounts_only,
        account_aliases_need_both_rights,
        view_mail_follows_admin_login_as,
    );
}
