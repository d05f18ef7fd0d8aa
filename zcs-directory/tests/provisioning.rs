//! `Provisioning` over a real SQLite directory: global config, domains, COS, servers and
//! inheritance.

mod common;

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode};
use zcs_directory::{EntryKey, server_attr};

fn one(name: &str, value: &str) -> Attrs {
    let mut a = Attrs::new();
    a.set_one(name, value);
    a
}

fn name(n: &str) -> EntryKey {
    EntryKey::Name(n.into())
}

#[tokio::test]
async fn global_config_is_a_singleton_with_default_cos() {
    let f = fixture().await;
    let g1 = f.prov.global_config().await.unwrap();
    let g2 = f.prov.global_config().await.unwrap();
    assert_eq!(g1.id, g2.id);
    assert_eq!(g1.kind, EntryKind::GlobalConfig);
    f.prov.get_cos(&name("DEFAULT")).await.unwrap();
    assert_eq!(f.prov.all_cos().await.unwrap().len(), 1);

    let edits = [
        AttrEdit::Replace("zimbraFileUploadMaxSize".into(), vec!["1K".into()]),
        AttrEdit::Replace("ZIMBRAMTAAUTHENABLED".into(), vec!["false".into()]),
    ];
    let g = f.prov.modify_global_config(&edits).await.unwrap();
    assert_eq!(
        g.attrs.get("zimbraFileUploadMaxSize"),
        Some("1024"),
        "sizes in bytes"
    );
    assert_eq!(
        g.attrs.get("zimbraMtaAuthEnabled"),
        Some("FALSE"),
        "booleans upper-case"
    );
    assert_eq!(
        g.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("zimbraMtaAuthEnabled"))
            .unwrap()
            .0,
        "zimbraMtaAuthEnabled",
        "canonical spelling"
    );
    let quota = AttrEdit::Replace("zimbraMailQuota".into(), vec!["1".into()]);
    assert_eq!(
        code(f.prov.modify_global_config(&[quota]).await),
        FaultCode::InvalidAttrName,
        "an account/COS attribute the registry does not list on global config"
    );
    assert_eq!(
        code(
            f.prov
                .modify_global_config(&[AttrEdit::Add("zimbraBogus".into(), "1".into())])
                .await
        ),
        FaultCode::InvalidAttrName
    );
}

#[tokio::test]
async fn domains_are_lower_cased_unique_and_active() {
    let f = fixture().await;
    let d = f
        .prov
        .create_domain("Example.TEST", Attrs::new())
        .await
        .unwrap();
    assert_eq!(d.name, "example.test");
    assert_eq!(d.attrs.get("zimbraDomainStatus"), Some("active"));
    assert_eq!(d.attrs.get("zimbraDomainName"), Some("example.test"));
    assert_eq!(
        code(f.prov.create_domain("EXAMPLE.test", Attrs::new()).await),
        FaultCode::DomainExists
    );
    assert_eq!(
        code(f.prov.create_domain("bad domain", Attrs::new()).await),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        f.prov.get_domain(&name("EXAMPLE.test")).await.unwrap().id,
        d.id
    );
    assert_eq!(
        f.prov.get_domain(&EntryKey::Id(d.id)).await.unwrap().id,
        d.id
    );
    assert_eq!(
        code(f.prov.get_domain(&name("nope.test")).await),
        FaultCode::NoSuchDomain
    );
    assert_eq!(f.prov.all_domains().await.unwrap().len(), 1);
}

#[tokio::test]
async fn cos_inheritance_through_effective_attrs() {
    let f = fixture().await;
    let default = f.prov.get_cos(&name("default")).await.unwrap();
    f.prov
        .modify_cos(
            &EntryKey::Id(default.id),
            &[AttrEdit::Replace(
                "zimbraMailQuota".into(),
                vec!["100".into()],
            )],
        )
        .await
        .unwrap();
    let gold = f
        .prov
        .create_cos("Gold", one("zimbraMailQuota", "200"))
        .await
        .unwrap();
    let silver = f
        .prov
        .create_cos("silver", one("zimbraMailQuota", "300"))
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.create_cos("GOLD", Attrs::new()).await),
        FaultCode::CosExists
    );
    f.prov
        .create_domain("plain.test", Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_domain(
            "fancy.test",
            one("zimbraDomainDefaultCOSId", &silver.id.to_string()),
        )
        .await
        .unwrap();

    let quota = |key: &'static str| {
        let p = f.prov.clone();
        async move {
            let a = p.get_account(key).await.unwrap();
            let eff = p.effective_account_attrs(&a).await.unwrap();
            eff.get("zimbraMailQuota").map(str::to_string)
        }
    };
    f.prov
        .create_account("a@plain.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_account(
            "b@plain.test",
            None,
            one("zimbraCOSId", &gold.id.to_string()),
        )
        .await
        .unwrap();
    f.prov
        .create_account("c@fancy.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_account("d@fancy.test", None, one("zimbraMailQuota", "5"))
        .await
        .unwrap();
    assert_eq!(quota("a@plain.test").await.as_deref(), Some("100"));
    assert_eq!(quota("b@plain.test").await.as_deref(), Some("200"));
    assert_eq!(quota("c@fancy.test").await.as_deref(), Some("300"));
    assert_eq!(quota("d@fancy.test").await.as_deref(), Some("5"));

    // The account's own value removed: the COS value applies again.
    f.prov
        .modify_account(
            "d@fancy.test",
            &[AttrEdit::Replace("zimbraMailQuota".into(), vec![])],
        )
        .await
        .unwrap();
    assert_eq!(quota("d@fancy.test").await.as_deref(), Some("300"));

    // A deleted COS falls back to the domain default, then to `default`.
    f.prov.delete_cos(&EntryKey::Id(gold.id)).await.unwrap();
    assert_eq!(quota("b@plain.test").await.as_deref(), Some("100"));
    assert_eq!(
        code(f.prov.delete_cos(&name("default")).await),
        FaultCode::InvalidRequest
    );
    let cos = f
        .prov
        .account_cos(&f.prov.get_account("c@fancy.test").await.unwrap())
        .await;
    assert_eq!(cos.unwrap().unwrap().id, silver.id);

    // Registry default when nothing sets it: status defaults to active.
    let a = f.prov.get_account("a@plain.test").await.unwrap();
    let eff = f.prov.effective_account_attrs(&a).await.unwrap();
    assert_eq!(eff.get("zimbraAccountStatus"), Some("active"));

    // The domain is part of the scope: its quota caps the account's.
    let cap = [AttrEdit::Replace(
        "zimbraMailDomainQuota".into(),
        vec!["50".into()],
    )];
    f.prov
        .modify_domain(&name("plain.test"), &cap)
        .await
        .unwrap();
    assert_eq!(quota("a@plain.test").await.as_deref(), Some("50"));
    let ctx = f.prov.account_context(&a).await.unwrap();
    assert_eq!(ctx.scope().get_size("zimbraMailQuota"), Some(50));
    assert_eq!(
        ctx.domain.as_ref().map(|d| d.name.as_str()),
        Some("plain.test")
    );
}

#[tokio::test]
async fn bootstrap_writes_initial_values_once() {
    let f = fixture().await;
    let g = f.prov.global_config().await.unwrap();
    let cos = f.prov.get_cos(&name("default")).await.unwrap();
    let initial = |pick: fn(&zcs_core::attrs::AttrMeta) -> &'static [&'static str]| {
        zcs_core::attrs::ATTRS
            .iter()
            .find_map(|d| {
                d.meta()
                    .map(pick)
                    .filter(|v| !v.is_empty())
                    .map(|v| (d.name, v))
            })
            .expect("the registry lists initial values")
    };
    let (gname, gvalues) = initial(|m| m.global_config_value);
    assert_eq!(g.attrs.get_all(gname), gvalues);
    let (cname, cvalues) = initial(|m| m.default_cos_value);
    assert_eq!(cos.attrs.get_all(cname), cvalues);

    // A second handle on the same file finds them rather than creating new ones.
    let other = zcs_directory::SqlDirectory::open_sqlite(&f.path)
        .await
        .unwrap();
    let p2 = zcs_directory::Provisioning::new(
        std::sync::Arc::new(other),
        zcs_directory::AuthRegistry::new(),
    );
    assert_eq!(p2.bootstrap().await.unwrap().id, g.id);
    assert_eq!(p2.get_cos(&name("default")).await.unwrap().id, cos.id);
}

#[tokio::test]
async fn servers_fall_back_to_global_config() {
    let f = fixture().await;
    let s = f
        .prov
        .create_server("Mail.Test", Attrs::new())
        .await
        .unwrap();
    assert_eq!(s.name, "mail.test");
    assert_eq!(s.attrs.get("zimbraServiceHostname"), Some("mail.test"));
    assert_eq!(
        code(f.prov.create_server("mail.test", Attrs::new()).await),
        FaultCode::ServerExists
    );
    assert_eq!(
        code(f.prov.get_server(&name("other.test")).await),
        FaultCode::NoSuchServer
    );
    // Zimbra takes any cn for a server, spaces included, but not a blank one.
    let spaced = f
        .prov
        .create_server("TestServer    12", Attrs::new())
        .await
        .unwrap();
    assert_eq!(spaced.name, "testserver    12");
    assert_eq!(
        code(f.prov.create_server("     ", Attrs::new()).await),
        FaultCode::InvalidRequest
    );

    let g = f.prov.global_config().await.unwrap();
    assert_eq!(
        server_attr(&s, &g, "zimbraImapBindPort").as_deref(),
        Some("7143")
    );
    let g = f
        .prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraImapBindPort".into(),
            vec!["143".into()],
        )])
        .await
        .unwrap();
    assert_eq!(
        server_attr(&s, &g, "zimbraImapBindPort").as_deref(),
        Some("143")
    );
    let s = f
        .prov
        .modify_server(
            &name("MAIL.test"),
            &[AttrEdit::Replace(
                "zimbraImapBindPort".into(),
                vec!["1143".into()],
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        server_attr(&s, &g, "zimbraImapBindPort").as_deref(),
        Some("1143")
    );
    assert_eq!(server_attr(&s, &g, "zimbraNothing"), None);
    assert_eq!(
        zcs_directory::Provisioning::server_attr(&s, &g, "zimbraImapBindPort").as_deref(),
        Some("1143")
    );
    assert_eq!(
        code(
            f.prov
                .modify_server(
                    &name("mail.test"),
                    &[AttrEdit::Replace(
                        "zimbraImapBindPort".into(),
                        vec!["99999".into()],
                    )]
                )
                .await
        ),
        FaultCode::InvalidAttrValue
    );
    let eff = f.prov.effective_server_attrs(&s).await.unwrap();
    assert_eq!(eff.get("zimbraLmtpBindPort"), Some("7025"));

    // The account's mail host must name a server when given.
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    assert_eq!(
        code(
            f.prov
                .create_account("a@ex.test", None, one("zimbraMailHost", "nope.test"))
                .await
        ),
        FaultCode::NoSuchServer
    );
    let a = f
        .prov
        .create_account("a@ex.test", None, one("zimbraMailHost", "mail.test"))
        .await
        .unwrap();
    assert_eq!(a.attrs.get("zimbraMailHost"), Some("mail.test"));
}
