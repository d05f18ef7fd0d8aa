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

/// A directory file as version 1 of the schema left it (no `value_key`), holding one
/// account, is upgraded when opened: its values get their keys, prefix searches use
/// them, and the stored version becomes the current one.
#[tokio::test]
async fn a_version_1_file_is_upgraded_on_open() {
    use sqlx::{Connection, SqliteConnection};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("directory.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let id = zcs_core::ZimbraId::new().to_string();
    for stmt in [
        "CREATE TABLE directory_meta (meta_key VARCHAR(64) NOT NULL PRIMARY KEY,
            meta_value VARCHAR(255) NOT NULL)",
        "CREATE TABLE directory_entries (id VARCHAR(36) NOT NULL PRIMARY KEY,
            kind VARCHAR(32) NOT NULL, name VARCHAR(320) NOT NULL,
            lower_name VARCHAR(320) NOT NULL, domain VARCHAR(255), UNIQUE (kind, lower_name))",
        "CREATE TABLE directory_attrs (entry_id VARCHAR(36) NOT NULL
            REFERENCES directory_entries (id) ON DELETE CASCADE,
            name_lower VARCHAR(128) NOT NULL, name VARCHAR(128) NOT NULL,
            position INTEGER NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (entry_id, name_lower, position))",
        "CREATE TABLE directory_addresses (address VARCHAR(320) NOT NULL PRIMARY KEY,
            domain VARCHAR(255) NOT NULL, entry_id VARCHAR(36) NOT NULL)",
        "CREATE TABLE directory_retired_ids (id VARCHAR(36) NOT NULL PRIMARY KEY,
            kind VARCHAR(32) NOT NULL)",
        "INSERT INTO directory_meta VALUES ('schema_version', '1')",
    ] {
        sqlx::query(stmt).execute(&mut conn).await.unwrap();
    }
    sqlx::query("INSERT INTO directory_entries VALUES (?, 'account', 'Old@V1.test', 'old@v1.test', 'v1.test')")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    for (pos, (n, v)) in [("givenName", "Ödön"), ("sn", "Veteran"), ("zimbraId", &id)]
        .iter()
        .enumerate()
    {
        sqlx::query("INSERT INTO directory_attrs VALUES (?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(n.to_ascii_lowercase())
            .bind(*n)
            .bind(i64::try_from(pos).unwrap())
            .bind(*v)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO directory_addresses VALUES ('old@v1.test', 'v1.test', ?)")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let dir = SqlDirectory::open_sqlite(&path).await.unwrap();
    let q = |f: &str| {
        zcs_directory::SearchQuery::new(&[EntryKind::Account])
            .in_domain("v1.test")
            .with_filter(zcs_directory::Provisioning::parse_search_filter(f).unwrap())
            .with_limit(10)
    };
    for f in ["(sn=vet*)", "(sn=VETERAN)", "(givenName=Ödön)", "(gn=öD*)"] {
        let r = dir.search_entries(&q(f)).await.unwrap();
        assert_eq!(r.entries.len(), 1, "{f}");
        assert_eq!(r.entries[0].name, "Old@V1.test");
    }
    assert!(
        dir.search_entries(&q("(sn=x*)"))
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    dir.close().await;

    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let version: String = sqlx::query_scalar(
        "SELECT meta_value FROM directory_meta WHERE meta_key = 'schema_version'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        version,
        zcs_directory::sql::schema::SCHEMA_VERSION.to_string()
    );
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT value_key FROM directory_attrs WHERE name_lower = 'givenname'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(keys, ["ödön"]);
    // Opening again is a no-op.
    conn.close().await.unwrap();
    let dir = SqlDirectory::open_sqlite(&path).await.unwrap();
    assert_eq!(
        dir.search_entries(&q("(sn=v*)"))
            .await
            .unwrap()
            .entries
            .len(),
        1
    );
}
