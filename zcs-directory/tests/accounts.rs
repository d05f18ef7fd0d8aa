//! `Provisioning` accounts over a real SQLite directory: creation, lookup, modification
//! with validation faults, rename, delete and aliases.

mod common;

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode};
use zcs_directory::{Directory, EntryKey};

fn one(name: &str, value: &str) -> Attrs {
    let mut a = Attrs::new();
    a.set_one(name, value);
    a
}

fn name(n: &str) -> EntryKey {
    EntryKey::Name(n.into())
}

#[tokio::test]
async fn create_account_sets_zimbra_attributes() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = f
        .prov
        .create_account(
            "Joe.Smith@EX.test",
            Some("test123"),
            one("displayName", "Joe S"),
        )
        .await
        .unwrap();
    let at = |n: &str| a.attrs.get(n).map(str::to_string);
    assert_eq!(a.name, "joe.smith@ex.test");
    assert_eq!(at("zimbraId"), Some(a.id.to_string()));
    assert_eq!(at("mail").as_deref(), Some("joe.smith@ex.test"));
    assert_eq!(
        at("zimbraMailDeliveryAddress").as_deref(),
        Some("joe.smith@ex.test")
    );
    assert_eq!(at("uid").as_deref(), Some("joe.smith"));
    assert_eq!(at("cn").as_deref(), Some("Joe S"));
    assert_eq!(at("sn").as_deref(), Some("joe.smith"));
    assert_eq!(at("zimbraAccountStatus").as_deref(), Some("active"));
    assert_eq!(at("zimbraMailHost").as_deref(), Some("mail.test"));
    assert!(zcs_core::attrs::value::parse_time(&at("zimbraCreateTimestamp").unwrap()).is_ok());
    let pw = at("userPassword").unwrap();
    assert!(pw.starts_with("{SSHA512}"));
    assert!(zcs_directory::password::verify("test123", &pw));

    // No password: no userPassword at all.
    let b = f
        .prov
        .create_account("b@ex.test", Some(""), Attrs::new())
        .await
        .unwrap();
    assert!(!b.attrs.contains("userPassword"));
    assert_eq!(b.attrs.get("cn"), Some("b"));
}

#[tokio::test]
async fn create_account_keeps_a_given_id() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let id = zcs_core::ZimbraId::new();
    let a = f
        .prov
        .create_account("r@ex.test", None, one("zimbraId", &id.to_string()))
        .await
        .unwrap();
    assert_eq!(a.id, id);
    assert_eq!(
        code(
            f.prov
                .create_account("s@ex.test", None, one("zimbraId", &id.to_string()))
                .await
        ),
        FaultCode::AccountExists,
        "ids are unique"
    );
}

#[tokio::test]
async fn create_account_faults() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    f.prov
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.create_account("A@EX.TEST", None, Attrs::new()).await),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(
            f.prov
                .create_account("a@nope.test", None, Attrs::new())
                .await
        ),
        FaultCode::NoSuchDomain
    );
    assert_eq!(
        code(
            f.prov
                .create_account("not-an-address", None, Attrs::new())
                .await
        ),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            f.prov
                .create_account("b@ex.test", None, one("zimbraFooBar", "x"))
                .await
        ),
        FaultCode::InvalidAttrName
    );
    assert_eq!(
        code(
            f.prov
                .create_account("b@ex.test", None, one("zimbraAccountStatus", "asleep"))
                .await
        ),
        FaultCode::InvalidAttrValue
    );
    let bogus_cos = zcs_core::ZimbraId::new().to_string();
    assert_eq!(
        code(
            f.prov
                .create_account("b@ex.test", None, one("zimbraCOSId", &bogus_cos))
                .await
        ),
        FaultCode::NoSuchCos
    );
    assert_eq!(
        code(
            f.prov
                .create_account("b@ex.test", None, one("userPassword", "clear"))
                .await
        ),
        FaultCode::InvalidRequest
    );
    // An alias of another account blocks the address.
    f.prov
        .add_account_alias("a@ex.test", "alias@ex.test")
        .await
        .unwrap();
    assert_eq!(
        code(
            f.prov
                .create_account("ALIAS@ex.test", None, Attrs::new())
                .await
        ),
        FaultCode::AccountExists
    );
}

#[tokio::test]
async fn get_account_by_name_id_alias_and_bare_name() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = f
        .prov
        .create_account("joe@ex.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_account_alias("joe@ex.test", "Joey@EX.test")
        .await
        .unwrap();
    for key in [
        "JOE@ex.test",
        &a.id.to_string(),
        &a.id.to_string().to_uppercase(),
        "joey@ex.TEST",
    ] {
        assert_eq!(f.prov.get_account(key).await.unwrap().id, a.id, "{key}");
    }
    assert_eq!(
        code(f.prov.get_account("joe").await),
        FaultCode::NoSuchAccount
    );
    f.prov
        .modify_global_config(&[AttrEdit::Replace(
            "zimbraDefaultDomainName".into(),
            vec!["ex.test".into()],
        )])
        .await
        .unwrap();
    assert_eq!(f.prov.get_account("joe").await.unwrap().id, a.id);
    assert_eq!(
        code(f.prov.get_account("nobody@ex.test").await),
        FaultCode::NoSuchAccount
    );
}

#[tokio::test]
async fn modify_account_edits_and_validates() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    f.prov
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();

    let pairs: Vec<String> = [
        "displayName",
        "Alice",
        "+description",
        "one",
        "+description",
        "two",
        "zimbraMailQuota",
        "2M",
        "zimbraPrefMailSignature",
        "x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let edits = AttrEdit::parse_pairs(&pairs).unwrap();
    let a = f.prov.modify_account("A@ex.test", &edits).await.unwrap();
    assert_eq!(a.attrs.get("displayName"), Some("Alice"));
    assert_eq!(a.attrs.get_all("description"), ["one", "two"]);
    assert_eq!(
        a.attrs.get("zimbraMailQuota"),
        Some("2097152"),
        "stored in bytes"
    );

    let edits = [
        AttrEdit::Remove("description".into(), "one".into()),
        AttrEdit::Replace("displayName".into(), vec![String::new()]),
        AttrEdit::Replace("zimbramailquota".into(), vec!["1024".into()]),
    ];
    let a = f.prov.modify_account("a@ex.test", &edits).await.unwrap();
    assert_eq!(a.attrs.get_all("description"), ["two"]);
    assert!(!a.attrs.contains("displayName"));
    assert_eq!(a.attrs.get("zimbraMailQuota"), Some("1024"));
    let stored = f.prov.get_account("a@ex.test").await.unwrap();
    assert_eq!(stored, a, "what modify returns is what is stored");

    let set = |n: &str, v: &[&str]| {
        vec![AttrEdit::Replace(
            n.into(),
            v.iter().map(|s| s.to_string()).collect(),
        )]
    };
    let m = |e: Vec<AttrEdit>| {
        let p = f.prov.clone();
        async move { p.modify_account("a@ex.test", &e).await }
    };
    for (edits, want) in [
        (set("zimbraNoSuchAttr", &["1"]), FaultCode::InvalidAttrName),
        (
            set("zimbraImapBindPort", &["1"]),
            FaultCode::InvalidAttrName,
        ),
        (
            set("zimbraMailQuota", &["lots"]),
            FaultCode::InvalidAttrValue,
        ),
        (
            set("zimbraAccountStatus", &["active", "locked"]),
            FaultCode::InvalidAttrValue,
        ),
        (
            set("zimbraAccountStatus", &["Closed"]),
            FaultCode::InvalidAttrValue,
        ),
        (
            set("zimbraAccountStatus", &[""]),
            FaultCode::InvalidAttrValue,
        ),
        (
            vec![AttrEdit::Add("zimbraAccountStatus".into(), "locked".into())],
            FaultCode::InvalidAttrValue,
        ),
        (
            set("zimbraId", &[&zcs_core::ZimbraId::new().to_string()]),
            FaultCode::InvalidRequest,
        ),
        (
            set("zimbraMailAlias", &["b@ex.test"]),
            FaultCode::InvalidRequest,
        ),
        (set("mail", &["b@ex.test"]), FaultCode::InvalidRequest),
        (set("userPassword", &["clear"]), FaultCode::InvalidRequest),
        (
            set("zimbraCOSId", &[&zcs_core::ZimbraId::new().to_string()]),
            FaultCode::NoSuchCos,
        ),
    ] {
        assert_eq!(code(m(edits.clone()).await), want, "{edits:?}");
    }
    assert_eq!(
        code(f.prov.modify_account("x@ex.test", &[]).await),
        FaultCode::NoSuchAccount
    );
    // Nothing of the refused edits was applied.
    assert_eq!(f.prov.get_account("a@ex.test").await.unwrap(), stored);

    // Status drives zimbraMailStatus.
    let a = f
        .prov
        .modify_account("a@ex.test", &set("zimbraAccountStatus", &["closed"]))
        .await;
    let a = a.unwrap();
    assert_eq!(a.attrs.get("zimbraAccountStatus"), Some("closed"));
    assert_eq!(a.attrs.get("zimbraMailStatus"), Some("disabled"));
    let a = f
        .prov
        .modify_account("a@ex.test", &set("zimbraAccountStatus", &["locked"]))
        .await;
    assert_eq!(a.unwrap().attrs.get("zimbraMailStatus"), Some("enabled"));
}

#[tokio::test]
async fn rename_keeps_id_and_moves_addresses() {
    let f = fixture().await;
    f.prov
        .create_domain("old.test", Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_domain("new.test", Attrs::new())
        .await
        .unwrap();
    let a = f
        .prov
        .create_account("joe@old.test", Some("pw123456"), Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_account_alias("joe@old.test", "js@old.test")
        .await
        .unwrap();
    f.prov
        .create_account("taken@new.test", None, Attrs::new())
        .await
        .unwrap();

    assert_eq!(
        code(
            f.prov
                .rename_account("joe@old.test", "Taken@new.test")
                .await
        ),
        FaultCode::AccountExists
    );
    assert_eq!(
        code(
            f.prov
                .rename_account("joe@old.test", "joe@missing.test")
                .await
        ),
        FaultCode::NoSuchDomain
    );

    let r = f
        .prov
        .rename_account("joe@old.test", "Joseph@NEW.test")
        .await
        .unwrap();
    assert_eq!(r.id, a.id);
    assert_eq!(r.name, "joseph@new.test");
    assert_eq!(r.attrs.get("mail"), Some("joseph@new.test"));
    assert_eq!(r.attrs.get("uid"), Some("joseph"));
    assert_eq!(
        r.attrs.get("zimbraMailDeliveryAddress"),
        Some("joseph@new.test")
    );
    assert_eq!(r.attrs.get_all("zimbraMailAlias"), ["js@new.test"]);
    assert_eq!(
        code(f.prov.get_account("joe@old.test").await),
        FaultCode::NoSuchAccount
    );
    assert_eq!(f.prov.get_account("js@new.test").await.unwrap().id, a.id);
    assert!(
        f.prov
            .resolve_address("js@old.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn delete_then_recreate_gives_new_id() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = f
        .prov
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_account_alias("a@ex.test", "al@ex.test")
        .await
        .unwrap();
    assert_eq!(
        code(f.prov.delete_domain(&name("ex.test")).await),
        FaultCode::DomainNotEmpty
    );

    let gone = f.prov.delete_account("A@ex.test").await.unwrap();
    assert_eq!(gone.id, a.id);
    assert_eq!(
        code(f.prov.delete_account("a@ex.test").await),
        FaultCode::NoSuchAccount
    );
    assert!(
        f.prov
            .resolve_address("al@ex.test")
            .await
            .unwrap()
            .is_none()
    );
    let b = f
        .prov
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    assert_ne!(b.id, a.id);
    f.prov
        .create_account("al@ex.test", None, Attrs::new())
        .await
        .unwrap();

    for n in ["a@ex.test", "al@ex.test"] {
        f.prov.delete_account(n).await.unwrap();
    }
    f.prov.delete_domain(&name("EX.test")).await.unwrap();
    assert_eq!(
        code(f.prov.get_domain(&name("ex.test")).await),
        FaultCode::NoSuchDomain
    );
}

#[tokio::test]
async fn aliases_resolve_and_are_unique() {
    let f = fixture().await;
    f.prov.create_domain("ex.test", Attrs::new()).await.unwrap();
    let a = f
        .prov
        .create_account("a@ex.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_account("b@ex.test", None, Attrs::new())
        .await
        .unwrap();
    f.prov
        .add_account_alias("a@ex.test", "Sales@Ex.Test")
        .await
        .unwrap();

    let r = f
        .prov
        .resolve_address("SALES@ex.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.id, a.id);
    assert_eq!(
        f.prov
            .resolve_address("a@EX.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert!(
        f.prov
            .resolve_address("nobody@ex.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.prov.resolve_address("garbage").await.unwrap().is_none());

    for (acct, alias, want) in [
        ("b@ex.test", "sales@ex.test", FaultCode::AccountExists),
        ("b@ex.test", "a@ex.test", FaultCode::AccountExists),
        ("a@ex.test", "sales@ex.test", FaultCode::AccountExists),
        ("b@ex.test", "x@missing.test", FaultCode::NoSuchDomain),
        ("nobody@ex.test", "y@ex.test", FaultCode::NoSuchAccount),
    ] {
        assert_eq!(
            code(f.prov.add_account_alias(acct, alias).await),
            want,
            "{acct} {alias}"
        );
    }

    assert_eq!(
        code(
            f.prov
                .remove_account_alias("b@ex.test", "sales@ex.test")
                .await
        ),
        FaultCode::NoSuchAlias
    );
    f.prov
        .remove_account_alias("a@ex.test", "SALES@EX.TEST")
        .await
        .unwrap();
    assert!(
        f.prov
            .resolve_address("sales@ex.test")
            .await
            .unwrap()
            .is_none()
    );
    f.prov
        .add_account_alias("b@ex.test", "sales@ex.test")
        .await
        .unwrap();
}

#[tokio::test]
async fn alias_domains_resolve_to_the_target() {
    let f = fixture().await;
    let d = f
        .prov
        .create_domain("real.test", Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_alias_domain("alias.test", &EntryKey::Id(d.id), Attrs::new())
        .await
        .unwrap();
    let a = f
        .prov
        .create_account("u@real.test", None, Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        f.prov
            .resolve_address("U@alias.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert!(
        f.prov
            .resolve_address("v@alias.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn all_accounts_by_domain() {
    let f = fixture().await;
    f.prov
        .create_domain("one.test", Attrs::new())
        .await
        .unwrap();
    f.prov
        .create_domain("two.test", Attrs::new())
        .await
        .unwrap();
    for n in ["b@one.test", "a@one.test", "c@two.test"] {
        f.prov.create_account(n, None, Attrs::new()).await.unwrap();
    }
    let names = |v: Vec<zcs_core::Entry>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    assert_eq!(names(f.prov.all_accounts(None).await.unwrap()).len(), 3);
    assert_eq!(
        names(f.prov.all_accounts(Some("ONE.test")).await.unwrap()),
        ["a@one.test", "b@one.test"]
    );
    assert_eq!(
        code(f.prov.all_accounts(Some("x.test")).await),
        FaultCode::NoSuchDomain
    );
    // The raw directory agrees.
    assert_eq!(
        f.dir
            .list_entries(EntryKind::Account, Some("two.test"))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Spec 02 §1.13: a new account without `zimbraMailHost` gets one of its COS's
/// `zimbraMailHostPool` servers; a given host is kept; an empty pool leaves the local
/// server; a pool entry naming no server is skipped.
#[tokio::test]
async fn new_accounts_take_a_mail_host_from_the_cos_pool() {
    let f = fixture().await;
    let p = &f.prov;
    p.create_domain("pool.test", Attrs::new()).await.unwrap();
    let s1 = p
        .create_server("mbs1.pool.test", Attrs::new())
        .await
        .unwrap();
    let s2 = p
        .create_server("mbs2.pool.test", Attrs::new())
        .await
        .unwrap();
    let mut pool = Attrs::new();
    pool.set(
        "zimbraMailHostPool",
        vec![
            s1.id.to_string(),
            s2.id.to_string(),
            zcs_core::ZimbraId::new().to_string(),
        ],
    );
    let cos = p.create_cos("pooled", pool).await.unwrap();
    let with_cos = || {
        let mut a = Attrs::new();
        a.set_one("zimbraCOSId", cos.id.to_string());
        a
    };
    let mut seen = std::collections::HashSet::new();
    for i in 0..12 {
        let a = p
            .create_account(&format!("u{i}@pool.test"), Some("pw-123456"), with_cos())
            .await
            .unwrap();
        let host = a.attrs.get("zimbraMailHost").unwrap().to_string();
        assert!(host == s1.name || host == s2.name, "{host}");
        seen.insert(host);
    }
    assert_eq!(seen.len(), 2, "12 accounts spread over both pool servers");

    let mut given = with_cos();
    given.set_one("zimbraMailHost", "mbs1.pool.test");
    let a = p
        .create_account("given@pool.test", Some("pw-123456"), given)
        .await
        .unwrap();
    assert_eq!(a.attrs.get("zimbraMailHost"), Some("mbs1.pool.test"));

    let plain = p
        .create_account("plain@pool.test", Some("pw-123456"), Attrs::new())
        .await
        .unwrap();
    assert_eq!(plain.attrs.get("zimbraMailHost"), Some("mail.test"));
}
