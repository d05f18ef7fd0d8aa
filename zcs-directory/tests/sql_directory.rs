//! What is particular to `SqlDirectory` on SQLite files: sharing one file between handles,
//! reopening, and opening by URL. The `Directory` contract itself is checked on every
//! backend by the conformance suite (`tests/conformance`).

mod common;

use std::sync::Arc;

use common::{code, fixture};
use zcs_core::{AttrEdit, Attrs, EntryKind, FaultCode};
use zcs_directory::{Directory, EntryKey, SqlBackend, SqlDirectory};

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (n, v) in pairs {
        a.add(n, *v);
    }
    a
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
    // WAL journaling: readers in other processes are not blocked by a writer.
    assert!(f.path.with_extension("db-wal").exists(), "WAL mode");

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

#[tokio::test]
async fn open_by_url_picks_the_backend() {
    let f = fixture().await;
    let url = format!("sqlite://{}", f.path.display());
    let by_url = SqlDirectory::open(&url).await.unwrap();
    assert_eq!(by_url.backend(), SqlBackend::Sqlite);
    let e = f
        .dir
        .create_entry(EntryKind::Cos, "shared", Attrs::new())
        .await
        .unwrap();
    let seen = by_url
        .get_entry(EntryKind::Cos, &EntryKey::Name("SHARED".into()))
        .await
        .unwrap();
    assert_eq!(seen, Some(e));

    let mem = SqlDirectory::open("sqlite::memory:").await.unwrap();
    assert!(
        mem.list_entries(EntryKind::Cos, None)
            .await
            .unwrap()
            .is_empty()
    );

    for bad in ["ldap://127.0.0.1/", "nonsense", ""] {
        assert_eq!(
            code(SqlDirectory::open(bad).await),
            FaultCode::Failure,
            "{bad}"
        );
    }
    // The password never shows in the error.
    let err = SqlDirectory::open("oracle://scott:tiger@127.0.0.1/db")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("tiger"), "{err}");
}
