//! Conformance of `SqlDirectory` to the `Directory` contract, on real SQLite files.

mod common;

use std::sync::Arc;

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode, ZimbraId};
use zcs_directory::{Directory, EntryKey, SqlDirectory};

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.add(n, *v);
    }
    a
}

#[tokio::test]
async fn create_then_get_by_name_any_case_and_by_id() {
    let f = fixture().await;
    let e = f
        .dir
        .create_entry(EntryKind::Account, "Joe@Ex.test", attrs(&[("cn", "Joe")]))
        .await
        .unwrap();
    assert_eq!(e.attrs.get("zimbraId"), Some(e.id.to_string().as_str()));

    let by_name = f
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Name("JOE@EX.TEST".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name, e);
    assert_eq!(by_name.name, "Joe@Ex.test", "spelling kept");
    let by_id = f
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Id(e.id))
        .await
        .unwrap();
    assert_eq!(by_id, Some(e.clone()));

    // An id of another kind is not found.
    assert!(
        f.dir
            .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.dir
            .get_entry(EntryKind::Account, &EntryKey::Id(ZimbraId::new()))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn names_are_unique_per_kind_and_addresses_across_kinds() {
    let f = fixture().await;
    f.dir
        .create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    assert_eq!(
        code(
            f.dir
                .create_entry(EntryKind::Cos, "GOLD", Attrs::new())
                .await
        ),
        FaultCode::CosExists
    );
    // Same name, another kind that has no address: fine.
    f.dir
        .create_entry(EntryKind::Server, "gold", Attrs::new())
        .await
        .unwrap();

    f.dir
        .create_entry(
            EntryKind::Account,
            "a@x.test",
            attrs(&[("zimbraMailAlias", "b@x.test")]),
        )
        .await
        .unwrap();
    assert_eq!(
        code(
            f.dir
                .create_entry(EntryKind::DistributionList, "A@x.test", Attrs::new())
                .await
        ),
        FaultCode::DistributionListExists
    );
    assert_eq!(
        code(
            f.dir
                .create_entry(EntryKind::Account, "b@x.test", Attrs::new())
                .await
        ),
        FaultCode::AccountExists
    );
    let c = f
        .dir
        .create_entry(EntryKind::Account, "c@x.test", Attrs::new())
        .await
        .unwrap();
    let add = [AttrEdit::Add("zimbraMailAlias".into(), "B@X.TEST".into())];
    assert_eq!(
        code(f.dir.modify_entry(EntryKind::Account, c.id, &add).await),
        FaultCode::AccountExists
    );
    // The failed modify left nothing behind.
    let c2 = f
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Id(c.id))
        .await
        .unwrap()
        .unwrap();
    assert!(!c2.attrs.contains("zimbraMailAlias"));
}

#[tokio::test]
async fn modify_applies_add_remove_replace_in_order() {
    let f = fixture().await;
    let e = f
        .dir
        .create_entry(EntryKind::Cos, "c", attrs(&[("description", "one")]))
        .await
        .unwrap();
    let edits = [
        AttrEdit::Add("zimbraZimletAvailableZimlets".into(), "a".into()),
        AttrEdit::Add("zimbraZimletAvailableZimlets".into(), "b".into()),
        AttrEdit::Remove("zimbraZimletAvailableZimlets".into(), "a".into()),
        AttrEdit::Replace("DESCRIPTION".into(), vec!["two".into(), "three".into()]),
    ];
    let out = f
        .dir
        .modify_entry(EntryKind::Cos, e.id, &edits)
        .await
        .unwrap();
    assert_eq!(out.attrs.get_all("zimbraZimletAvailableZimlets"), ["b"]);
    assert_eq!(out.attrs.get_all("description"), ["two", "three"]);
    let again = f
        .dir
        .get_entry(EntryKind::Cos, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, out);

    let clear = [AttrEdit::Replace("description".into(), vec![])];
    let out = f
        .dir
        .modify_entry(EntryKind::Cos, e.id, &clear)
        .await
        .unwrap();
    assert!(!out.attrs.contains("description"));

    let bad = [AttrEdit::Replace(
        "zimbraId".into(),
        vec![ZimbraId::new().to_string()],
    )];
    assert_eq!(
        code(f.dir.modify_entry(EntryKind::Cos, e.id, &bad).await),
        FaultCode::InvalidRequest
    );
    assert_eq!(
        code(
            f.dir
                .modify_entry(EntryKind::Cos, ZimbraId::new(), &clear)
                .await
        ),
        FaultCode::NoSuchCos
    );
}

#[tokio::test]
async fn rename_keeps_id_and_frees_old_name() {
    let f = fixture().await;
    let e = f
        .dir
        .create_entry(EntryKind::Account, "old@x.test", Attrs::new())
        .await
        .unwrap();
    let other = f
        .dir
        .create_entry(EntryKind::Account, "other@x.test", Attrs::new())
        .await
        .unwrap();
    let r = f
        .dir
        .rename_entry(EntryKind::Account, e.id, "new@x.test")
        .await
        .unwrap();
    assert_eq!(r.id, e.id);
    assert_eq!(r.name, "new@x.test");
    assert!(f.dir.find_by_address("old@x.test").await.unwrap().is_none());
    assert_eq!(
        f.dir
            .find_by_address("NEW@x.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        e.id
    );
    assert_eq!(
        code(
            f.dir
                .rename_entry(EntryKind::Account, other.id, "New@X.test")
                .await
        ),
        FaultCode::AccountExists
    );
}

#[tokio::test]
async fn delete_then_recreate_gets_a_new_id() {
    let f = fixture().await;
    let e = f
        .dir
        .create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    f.dir.delete_entry(EntryKind::Account, e.id).await.unwrap();
    assert!(f.dir.find_by_address("a@x.test").await.unwrap().is_none());
    assert_eq!(
        code(f.dir.delete_entry(EntryKind::Account, e.id).await),
        FaultCode::NoSuchAccount
    );
    let again = f
        .dir
        .create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    assert_ne!(again.id, e.id);
}

#[tokio::test]
async fn list_by_kind_and_domain_in_name_order() {
    let f = fixture().await;
    for n in ["b@one.test", "a@one.test", "c@two.test"] {
        f.dir
            .create_entry(EntryKind::Account, n, attrs(&[("cn", n)]))
            .await
            .unwrap();
    }
    f.dir
        .create_entry(EntryKind::Cos, "z", Attrs::new())
        .await
        .unwrap();
    let all = f.dir.list_entries(EntryKind::Account, None).await.unwrap();
    let names: Vec<_> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a@one.test", "b@one.test", "c@two.test"]);
    assert!(
        all.iter()
            .all(|e| e.attrs.get("cn") == Some(e.name.as_str()))
    );
    let one = f
        .dir
        .list_entries(EntryKind::Account, Some("ONE.test"))
        .await
        .unwrap();
    assert_eq!(one.len(), 2);
    assert_eq!(
        f.dir.count_addresses_in_domain("one.test").await.unwrap(),
        2
    );
    assert_eq!(
        f.dir
            .list_entries(EntryKind::Domain, None)
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other() {
    let f = fixture().await;
    let other = Arc::new(SqlDirectory::open_sqlite(&f.path).await.unwrap());

    let e = f
        .dir
        .create_entry(EntryKind::Account, "a@x.test", Attrs::new())
        .await
        .unwrap();
    let seen = other.find_by_address("A@X.TEST").await.unwrap().unwrap();
    assert_eq!(seen.id, e.id);

    let edit = [AttrEdit::Replace(
        "displayName".into(),
        vec!["From zmprov".into()],
    )];
    other
        .modify_entry(EntryKind::Account, e.id, &edit)
        .await
        .unwrap();
    let back = f
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Id(e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.attrs.get("displayName"), Some("From zmprov"));

    // Racing creates of one name from both handles: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let d: Arc<dyn Directory> = if i % 2 == 0 {
            f.dir.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            d.create_entry(EntryKind::Account, "race@x.test", Attrs::new())
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code, FaultCode::AccountExists),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn data_survives_reopen() {
    let f = fixture().await;
    let e = f
        .dir
        .create_entry(EntryKind::Domain, "x.test", attrs(&[("o", "X")]))
        .await
        .unwrap();
    f.dir.close().await;
    let reopened = SqlDirectory::open_sqlite(&f.path).await.unwrap();
    let back = reopened
        .get_entry(EntryKind::Domain, &EntryKey::Id(e.id))
        .await
        .unwrap();
    assert_eq!(back, Some(e));
}
