//! Conformance of `Provisioning` on each backend: the flows `zmprov` and the servers
//! run (global config, domains, COS inheritance, accounts and aliases, login).

use std::net::{IpAddr, Ipv4Addr};

use zcs_core::{AttrEdit, Attrs, FaultCode};
use zcs_directory::{AuthContext, EntryKey};

use crate::harness::Ctx;
use crate::{attrs, code};

fn name(n: &str) -> EntryKey {
    EntryKey::Name(n.into())
}

fn login() -> AuthContext {
    AuthContext {
        protocol: "imap".into(),
        remote_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

pub async fn domains_and_global_config(ctx: &Ctx) {
    let p = &ctx.prov;
    let global = p.bootstrap().await.unwrap();
    assert_eq!(
        p.bootstrap().await.unwrap().id,
        global.id,
        "bootstrap is idempotent"
    );
    assert!(p.get_cos(&name("default")).await.is_ok());

    let d = p.create_domain("Ex.Test", Attrs::new()).await.unwrap();
    assert_eq!(d.name, "ex.test");
    assert_eq!(
        code(p.create_domain("EX.test", Attrs::new()).await),
        FaultCode::DomainExists
    );
    assert_eq!(p.get_domain(&name("EX.TEST")).await.unwrap().id, d.id);
    p.create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(p.delete_domain(&name("ex.test")).await),
        FaultCode::DomainNotEmpty
    );
    p.delete_account("a@ex.test").await.unwrap();
    p.delete_domain(&name("ex.test")).await.unwrap();
    assert_eq!(
        code(p.get_domain(&name("ex.test")).await),
        FaultCode::NoSuchDomain
    );

    let edit = [AttrEdit::Replace(
        "zimbraMtaMaxMessageSize".into(),
        vec!["1000".into()],
    )];
    let g = p.modify_global_config(&edit).await.unwrap();
    assert_eq!(g.attrs.get("zimbraMtaMaxMessageSize"), Some("1000"));
    assert_eq!(
        p.global_config()
            .await
            .unwrap()
            .attrs
            .get("zimbraMtaMaxMessageSize"),
        Some("1000")
    );
}

pub async fn cos_inheritance(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    let default = p.get_cos(&name("default")).await.unwrap();
    let quota = |v: &str| [AttrEdit::Replace("zimbraMailQuota".into(), vec![v.into()])];
    p.modify_cos(&EntryKey::Id(default.id), &quota("100"))
        .await
        .unwrap();
    let gold = p
        .create_cos("Gold", attrs(&[("zimbraMailQuota", "200")]))
        .await
        .unwrap();
    let silver = p
        .create_cos("silver", attrs(&[("zimbraMailQuota", "300")]))
        .await
        .unwrap();
    assert_eq!(
        code(p.create_cos("GOLD", Attrs::new()).await),
        FaultCode::CosExists
    );
    p.create_domain("plain.test", Attrs::new()).await.unwrap();
    let fancy = attrs(&[("zimbraDomainDefaultCOSId", &silver.id.to_string())]);
    p.create_domain("fancy.test", fancy).await.unwrap();

    p.create_account("a@plain.test", None, Attrs::new())
        .await
        .unwrap();
    let with_gold = attrs(&[("zimbraCOSId", &gold.id.to_string())]);
    p.create_account("b@plain.test", None, with_gold)
        .await
        .unwrap();
    p.create_account("c@fancy.test", None, Attrs::new())
        .await
        .unwrap();
    let own = attrs(&[("zimbraMailQuota", "5")]);
    p.create_account("d@fancy.test", None, own).await.unwrap();

    let effective = async |acct: &str| {
        let a = p.get_account(acct).await.unwrap();
        let eff = p.effective_account_attrs(&a).await.unwrap();
        eff.get("zimbraMailQuota").map(str::to_string)
    };
    assert_eq!(effective("a@plain.test").await.as_deref(), Some("100"));
    assert_eq!(effective("b@plain.test").await.as_deref(), Some("200"));
    assert_eq!(effective("c@fancy.test").await.as_deref(), Some("300"));
    assert_eq!(effective("d@fancy.test").await.as_deref(), Some("5"));

    // A renamed COS keeps its id, so its accounts keep it.
    p.rename_cos(&EntryKey::Id(gold.id), "platinum")
        .await
        .unwrap();
    assert_eq!(effective("b@plain.test").await.as_deref(), Some("200"));
    // A deleted COS falls back to the domain default, then to `default`.
    p.delete_cos(&name("platinum")).await.unwrap();
    assert_eq!(effective("b@plain.test").await.as_deref(), Some("100"));
    assert_eq!(p.all_cos().await.unwrap().len(), 2);
}

pub async fn accounts_aliases_and_rename(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    p.create_domain("other.test", Attrs::new()).await.unwrap();
    let a = p
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    p.create_account("b@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(p.create_account("A@EX.TEST", None, Attrs::new()).await),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(p.create_account("z@missing.test", None, Attrs::new()).await),
        FaultCode::NoSuchDomain
    );
    p.add_account_alias("a@ex.test", "Sales@Ex.Test")
        .await
        .unwrap();
    assert_eq!(
        p.resolve_address("SALES@ex.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(
        code(p.add_account_alias("b@ex.test", "sales@ex.test").await),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(p.create_account("sales@ex.test", None, Attrs::new()).await),
        FaultCode::AccountExists
    );

    let r = p
        .rename_account("a@ex.test", "alice@other.test")
        .await
        .unwrap();
    assert_eq!(r.id, a.id);
    assert_eq!(p.get_account("alice@other.test").await.unwrap().id, a.id);
    assert!(p.resolve_address("a@ex.test").await.unwrap().is_none());
    let names = |v: Vec<zcs_core::Entry>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    assert_eq!(
        names(p.all_accounts(Some("ex.test")).await.unwrap()),
        ["b@ex.test"]
    );
    assert_eq!(
        names(p.all_accounts(Some("other.test")).await.unwrap()),
        ["alice@other.test"]
    );

    p.delete_account("alice@other.test").await.unwrap();
    assert_eq!(
        code(p.get_account("alice@other.test").await),
        FaultCode::NoSuchAccount
    );
    let again = p
        .create_account("alice@other.test", None, Attrs::new())
        .await
        .unwrap();
    assert_ne!(again.id, a.id, "a name is reusable, an id never is");
}

pub async fn authenticate(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = p
        .create_account("joe@ex.test", Some("s3cret!"), Attrs::new())
        .await
        .unwrap();
    p.add_account_alias("joe@ex.test", "js@ex.test")
        .await
        .unwrap();
    for who in ["joe@ex.test", "JOE@EX.TEST", "js@ex.test"] {
        assert_eq!(
            p.authenticate(who, "s3cret!", &login()).await.unwrap().id,
            a.id
        );
    }
    for (who, pw) in [
        ("joe@ex.test", "s3cret"),
        ("joe@ex.test", ""),
        ("no@ex.test", "x"),
    ] {
        assert_eq!(
            code(p.authenticate(who, pw, &login()).await),
            FaultCode::AuthFailed,
            "{who} on {}",
            ctx.label
        );
    }
    p.set_password("joe@ex.test", "n3w-pass").await.unwrap();
    assert!(
        p.authenticate("joe@ex.test", "n3w-pass", &login())
            .await
            .is_ok()
    );
    let lock = [AttrEdit::Replace(
        "zimbraAccountStatus".into(),
        vec!["locked".into()],
    )];
    p.modify_account("joe@ex.test", &lock).await.unwrap();
    assert_eq!(
        code(p.authenticate("joe@ex.test", "n3w-pass", &login()).await),
        FaultCode::AuthFailed
    );
}

pub async fn cos_copy_rename_delete(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    let src = p
        .create_cos(
            "Executive",
            attrs(&[("zimbraMailQuota", "100"), ("description", "top")]),
        )
        .await
        .unwrap();
    let copy = p.copy_cos(&name("executive"), "Exec2").await.unwrap();
    assert_ne!(copy.id, src.id);
    assert_eq!(copy.name, "Exec2");
    assert_eq!(copy.attrs.get("cn"), Some("Exec2"));
    assert_eq!(copy.attrs.get("zimbraMailQuota"), Some("100"));
    assert_eq!(copy.attrs.get("description"), Some("top"));
    assert_eq!(
        copy.attrs.get("zimbraId"),
        Some(copy.id.to_string().as_str())
    );
    assert_eq!(
        code(p.copy_cos(&name("Executive"), "EXEC2").await),
        FaultCode::CosExists
    );
    assert_eq!(
        code(p.copy_cos(&name("nosuch"), "Exec3").await),
        FaultCode::NoSuchCos
    );

    let renamed = p.rename_cos(&name("Executive"), "Business").await.unwrap();
    assert_eq!(renamed.id, src.id);
    assert_eq!(
        code(p.get_cos(&name("Executive")).await),
        FaultCode::NoSuchCos
    );
    assert_eq!(p.get_cos(&name("business")).await.unwrap().id, src.id);
    assert_eq!(
        code(p.rename_cos(&name("Business"), "exec2").await),
        FaultCode::CosExists
    );
    assert_eq!(
        code(p.rename_cos(&name("default"), "x").await),
        FaultCode::InvalidRequest
    );

    // Deleting a COS in use is allowed; the account falls back to `default`.
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    let cos_id = src.id.to_string();
    p.create_account("u@ex.test", None, attrs(&[("zimbraCOSId", &cos_id)]))
        .await
        .unwrap();
    p.delete_cos(&EntryKey::Id(src.id)).await.unwrap();
    let u = p.get_account("u@ex.test").await.unwrap();
    assert_eq!(
        p.account_cos(&u).await.unwrap().map(|c| c.name).as_deref(),
        Some("default"),
        "on {}",
        ctx.label
    );
    assert_eq!(
        code(p.delete_cos(&name("default")).await),
        FaultCode::InvalidRequest
    );
}

/// amavisd-new's per-recipient attributes (on accounts and domains, as Zimbra's
/// amavisAccount class), which zimsoap's provisioning and the white/black list
/// requests use.
pub async fn amavis_attributes(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = p
        .create_account(
            "q@ex.test",
            None,
            attrs(&[
                ("amavisBypassSpamChecks", "true"),
                ("amavisSpamTagLevel", "-999"),
                ("amavisSpamKillLevel", "6.31"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(a.attrs.get("amavisBypassSpamChecks"), Some("TRUE"));
    assert_eq!(a.attrs.get("amavisSpamKillLevel"), Some("6.31"));
    let edits = [
        AttrEdit::Add("amavisWhitelistSender".into(), "friend@a.test".into()),
        AttrEdit::Add("AMAVISWHITELISTSENDER".into(), "@b.test".into()),
        AttrEdit::Add("amavisBlacklistSender".into(), "spam@c.test".into()),
    ];
    p.modify_account("q@ex.test", &edits).await.unwrap();
    let got = p.get_account("q@ex.test").await.unwrap();
    let mut white = got.attrs.get_all("amavisWhitelistSender").to_vec();
    white.sort();
    assert_eq!(white, ["@b.test", "friend@a.test"], "on {}", ctx.label);
    assert_eq!(got.attrs.get_all("amavisBlacklistSender"), ["spam@c.test"]);
    let remove = [AttrEdit::Remove(
        "amavisWhitelistSender".into(),
        "@b.test".into(),
    )];
    p.modify_account("q@ex.test", &remove).await.unwrap();
    let got = p.get_account("q@ex.test").await.unwrap();
    assert_eq!(
        got.attrs.get_all("amavisWhitelistSender"),
        ["friend@a.test"]
    );

    let two_levels = [AttrEdit::Replace(
        "amavisSpamTag2Level".into(),
        vec!["1".into(), "2".into()],
    )];
    assert_eq!(
        code(p.modify_account("q@ex.test", &two_levels).await),
        FaultCode::InvalidAttrValue,
        "single-valued"
    );
    let not_bool = [AttrEdit::Replace(
        "amavisBypassVirusChecks".into(),
        vec!["maybe".into()],
    )];
    assert_eq!(
        code(p.modify_account("q@ex.test", &not_bool).await),
        FaultCode::InvalidAttrValue
    );
    let domain = [AttrEdit::Add(
        "amavisBlacklistSender".into(),
        "@spam.test".into(),
    )];
    let d = p.modify_domain(&name("ex.test"), &domain).await.unwrap();
    assert_eq!(d.attrs.get_all("amavisBlacklistSender"), ["@spam.test"]);
}

/// Domain rules on every backend: a suspended domain refuses provisioning, the account
/// limits leave calendar resources out, and a domain rename keeps ids and gives the
/// domain back its status with no rename record left.
pub async fn domain_status_limits_and_rename(ctx: &Ctx) {
    let p = &ctx.prov;
    p.bootstrap().await.unwrap();
    p.create_domain("old.test", attrs(&[("zimbraDomainMaxAccounts", "1")]))
        .await
        .unwrap();
    let a = p
        .create_account("a@old.test", None, Attrs::new())
        .await
        .unwrap();
    let full = p
        .create_account("b@old.test", None, Attrs::new())
        .await
        .unwrap_err();
    assert!(full.message.contains("TOO_MANY_ACCOUNTS"), "{full}");
    let room = attrs(&[("displayName", "Room"), ("zimbraCalResType", "Location")]);
    p.create_calendar_resource("room@old.test", None, room)
        .await
        .unwrap();
    let suspend = [AttrEdit::Replace(
        "zimbraDomainStatus".into(),
        vec!["suspended".into()],
    )];
    p.modify_domain(&name("old.test"), &suspend).await.unwrap();
    assert_eq!(
        code(p.delete_account("a@old.test").await),
        FaultCode::PermDenied
    );
    let relock = [AttrEdit::Replace(
        "zimbraDomainStatus".into(),
        vec!["locked".into()],
    )];
    p.modify_domain(&name("old.test"), &relock).await.unwrap();

    let d = p
        .rename_domain(&name("old.test"), "new.test")
        .await
        .unwrap();
    assert_eq!(d.name, "new.test");
    assert_eq!(d.attrs.get("zimbraDomainStatus"), Some("locked"));
    assert_eq!(d.attrs.get("zimbraDomainRenameInfo"), None);
    assert_eq!(p.get_account("a@new.test").await.unwrap().id, a.id);
    p.get_calendar_resource("room@new.test").await.unwrap();
}
