//! Folder names compare without case, as Zimbra's `Folder.findSubfolder` compares them:
//! a name differing from a sibling's only in case is refused on create, rename and
//! move (`mail.ALREADY_EXISTS`), a folder may take another case of its own name, and
//! look-ups by path find a folder whatever the case. Runs on SQLite, MariaDB
//! (`ZCS_TEST_MYSQL_URL`) and PostgreSQL (`ZCS_TEST_POSTGRES_URL`). The version 3 to 4
//! migration (the `lname` column) is checked on an SQLite file rebuilt with the old
//! folder table.

mod common;

use zcs_core::{ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::{Store, StoreConfig, StoreError};

use common::engines::run;

conformance!(
    duplicates_without_case,
    paths_without_case,
    delete_walks_the_subtree,
    version_3_migrates_on_every_engine,
);

fn taken<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::AlreadyExists { .. }) => {}
        other => panic!("want mail.ALREADY_EXISTS, got {other:?}"),
    }
}

async fn duplicates_without_case(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let root = ItemId(folder::USER_ROOT);
    let first = mb.create_folder(inbox, "Foo").await.unwrap();
    // Create: another case of a sibling's name is the same name.
    taken(mb.create_folder(inbox, "foo").await);
    taken(mb.create_folder(inbox, "FOO").await);
    let e = mb.create_folder(inbox, "fOo").await.unwrap_err();
    let e: zcs_core::ServiceError = e.into();
    assert_eq!(e.code.as_str(), "mail.ALREADY_EXISTS");
    // Unicode lower-casing, not ASCII only.
    let uber = mb.create_folder(inbox, "ÜBER").await.unwrap();
    taken(mb.create_folder(inbox, "über").await);
    taken(mb.create_folder(inbox, "Über").await);
    // System folders too, at the top level.
    taken(mb.create_folder(root, "inbox").await);
    taken(mb.create_folder(root, "TRASH").await);
    taken(mb.create_folder(root, "sent").await);
    // Another parent is another namespace.
    let top = mb.create_folder(root, "foo").await.unwrap();
    assert_eq!(top.path, "/foo");

    // Rename in place into a sibling's name in another case: refused.
    let bar = mb.create_folder(inbox, "bar").await.unwrap();
    taken(mb.rename_folder(bar.id, inbox, "FOO").await);
    taken(mb.rename_folder(bar.id, inbox, "über").await);
    // A folder may take another case of its own name.
    let renamed = mb.rename_folder(first.id, inbox, "FOO").await.unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.path.as_str()),
        ("FOO", "/Inbox/FOO")
    );
    let renamed = mb.rename_folder(uber.id, inbox, "über").await.unwrap();
    assert_eq!(renamed.path, "/Inbox/über");
    // Move into a parent holding a differently-cased name: refused; under another
    // name it goes through.
    taken(mb.rename_folder(top.id, inbox, "foo").await);
    taken(mb.rename_folder(top.id, inbox, "Foo").await);
    let moved = mb.rename_folder(top.id, inbox, "Foo2").await.unwrap();
    assert_eq!(moved.path, "/Inbox/Foo2");
    // The name freed by a rename is free in every case.
    mb.rename_folder(bar.id, inbox, "Baz").await.unwrap();
    mb.create_folder(inbox, "BAR").await.unwrap();
    taken(mb.create_folder(inbox, "baz").await);

    // Search folders and mountpoints share the folders' namespace, without case too.
    mb.create_search_folder(root, "Saved", "in:inbox", "message", "dateDesc")
        .await
        .unwrap();
    taken(mb.create_folder(root, "saved").await);
    taken(
        mb.create_search_folder(root, "SAVED", "in:sent", "message", "dateDesc")
            .await,
    );
    taken(
        mb.create_search_folder(inbox, "foo2", "in:sent", "message", "dateDesc")
            .await,
    );
}

async fn paths_without_case(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let work = mb
        .create_folder(ItemId(folder::INBOX), "Work")
        .await
        .unwrap();
    let sub = mb.create_folder(work.id, "Ünïcödé").await.unwrap();
    for path in [
        "/Inbox/Work/Ünïcödé",
        "/inbox/work/ünïcödé",
        "INBOX/WORK/ÜNÏCÖDÉ",
        "/iNbOx/wOrK/üNïCöDé",
    ] {
        let found = mb.folder_by_path(path).await.unwrap();
        assert_eq!(found.map(|f| f.id), Some(sub.id), "{path}");
    }
    let found = mb.folder_by_path("/TRASH").await.unwrap().unwrap();
    assert_eq!(found.id, ItemId(folder::TRASH));
    // The folder keeps the case it was given.
    assert_eq!(found.path, "/Trash");
    assert!(mb.folder_by_path("/Inbox/Worx").await.unwrap().is_none());
    // After a rename, the old name is gone in every case and the new one found in any.
    mb.rename_folder(work.id, ItemId(folder::USER_ROOT), "Projects")
        .await
        .unwrap();
    assert!(mb.folder_by_path("/inbox/work").await.unwrap().is_none());
    let found = mb.folder_by_path("/PROJECTS/ünïcödé").await.unwrap();
    assert_eq!(found.map(|f| f.path), Some("/Projects/Ünïcödé".to_string()));
}

async fn delete_walks_the_subtree(store: Store, _cfg: StoreConfig, _url: String) {
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let keep = mb.create_folder(root, "keep").await.unwrap();
    let a = mb.create_folder(root, "a").await.unwrap();
    let b = mb.create_folder(a.id, "b").await.unwrap();
    let c = mb.create_folder(b.id, "c").await.unwrap();
    let d = mb.create_folder(a.id, "d").await.unwrap();
    let kept_child = mb.create_folder(keep.id, "b").await.unwrap();
    let msg = mb
        .append(c.id, &common::simple_message(1), zcs_core::Flags(0), 1)
        .await
        .unwrap();
    let before = mb.change_number().await.unwrap().0;
    mb.delete_folder(a.id).await.unwrap();
    for id in [a.id, b.id, c.id, d.id] {
        assert!(matches!(
            mb.folder(id).await,
            Err(StoreError::NoSuchFolder(_))
        ));
    }
    assert!(mb.message(msg.id).await.is_err());
    assert_eq!(mb.folder(kept_child.id).await.unwrap().path, "/keep/b");
    // Children before parents, each tombstone naming the parent it had.
    let stones = mb.tombstones_since(before).await.unwrap();
    let folders: Vec<(ItemId, ItemId)> = stones
        .iter()
        .filter(|t| t.is_folder)
        .map(|t| (t.id, t.folder))
        .collect();
    assert_eq!(folders.len(), 4, "{stones:?}");
    for (id, parent) in [(a.id, root), (b.id, a.id), (c.id, b.id), (d.id, a.id)] {
        assert!(
            folders.contains(&(id, parent)),
            "{id} under {parent}: {stones:?}"
        );
    }
    assert!(
        stones
            .iter()
            .any(|t| !t.is_folder && t.id == msg.id && t.folder == c.id)
    );
    // The name is free again in every case.
    mb.create_folder(root, "A").await.unwrap();
}

/// A version 3 database on any engine (the `lname` column and its index dropped) opens
/// as version 4 with the names filled and found in any case.
async fn version_3_migrates_on_every_engine(store: Store, cfg: StoreConfig, url: String) {
    use sqlx::Connection;
    let backend = store.backend();
    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let sub = mb
        .create_folder(ItemId(folder::INBOX), "ÄrChiv")
        .await
        .unwrap();
    store.close().await;
    let url_now = if backend == Backend::Sqlite {
        format!("sqlite://{}", cfg.db_path.display())
    } else {
        url.clone()
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url_now).await.unwrap();
    let drop_index = if backend == Backend::MySql {
        "DROP INDEX folder_lname ON folder"
    } else {
        "DROP INDEX folder_lname"
    };
    for sql in [
        drop_index,
        "ALTER TABLE folder DROP COLUMN lname",
        "UPDATE store_state SET schema_version = 3",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let store = Store::open_url(&url, cfg, zcs_store::StoreOptions::default())
        .await
        .unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let found = mb.folder_by_path("/inbox/ärchiv").await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(sub.id));
    taken(mb.create_folder(ItemId(folder::INBOX), "ärCHIV").await);
    taken(mb.create_folder(ItemId(folder::USER_ROOT), "junk").await);
    store.close().await;
}

/// A version 3 database (its folder table without `lname`) opens as version 4 with
/// every folder's lower-cased name filled; two siblings differing only in case, which
/// version 3 allowed, stay readable and the exact name wins a look-up.
#[tokio::test]
async fn a_version_3_database_gains_lower_cased_folder_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let acct = ZimbraId::new();
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(acct).await.unwrap();
    let proj = mb
        .create_folder(ItemId(folder::USER_ROOT), "Projekte")
        .await
        .unwrap();
    let archiv = mb.create_folder(proj.id, "ÄrChiv").await.unwrap();
    let mb_id = mb.id().0;
    store.close().await;

    // Rebuild the folder table with the version 3 DDL and add a sibling that differs
    // only in case, as version 3 allowed.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&cfg.db_path);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    for sql in [
        "DROP INDEX folder_lname",
        "DROP INDEX folder_name",
        "ALTER TABLE folder RENAME TO folder_v4",
        "CREATE TABLE folder (
            mailbox_id INTEGER NOT NULL,
            id INTEGER NOT NULL,
            parent_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            view TEXT NOT NULL,
            uid_validity INTEGER NOT NULL,
            created_change INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            item_count INTEGER NOT NULL DEFAULT 0,
            unread_count INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,
            color INTEGER NOT NULL DEFAULT 0,
            rgb INTEGER NOT NULL DEFAULT -1,
            PRIMARY KEY (mailbox_id, id)
        )",
        "CREATE UNIQUE INDEX folder_name ON folder (mailbox_id, parent_id, name)",
        "INSERT INTO folder SELECT mailbox_id, id, parent_id, name, view, uid_validity,
            created_change, modseq, item_count, unread_count, size, color, rgb
            FROM folder_v4",
        "DROP TABLE folder_v4",
        "UPDATE store_state SET schema_version = 3",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let (next,): (i64,) = sqlx::query_as("SELECT item_id_checkpoint + 1 FROM mailbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO folder (mailbox_id, id, parent_id, name, view, uid_validity,
            created_change, modseq) VALUES (?, ?, ?, 'projekte', 'message', 7, 1, 1)",
    )
    .bind(mb_id)
    .bind(next)
    .bind(folder::USER_ROOT)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE mailbox SET item_id_checkpoint = ?")
        .bind(next)
        .execute(&pool)
        .await
        .unwrap();
    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('folder')")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!cols.iter().any(|c| c == "lname"), "{cols:?}");
    pool.close().await;

    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    // Every row's lname is its name lower-cased (Unicode, not ASCII only).
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&cfg.db_path);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, lname FROM folder")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(rows.len() > 10, "{rows:?}");
    for (name, lname) in &rows {
        assert_eq!(&name.to_lowercase(), lname);
    }
    assert!(rows.iter().any(|(_, l)| l == "ärchiv"), "{rows:?}");
    let version: i64 = sqlx::query_scalar("SELECT schema_version FROM store_state")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(version >= 4, "migrated to version {version}");
    pool.close().await;

    let found = mb.folder_by_path("/PROJEKTE/ärchiv").await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(archiv.id));
    // The two old siblings: the exact name wins, else the older one.
    let exact = mb.folder_by_path("/projekte").await.unwrap().unwrap();
    assert_eq!(exact.id, ItemId(next as i32));
    let exact = mb.folder_by_path("/Projekte").await.unwrap().unwrap();
    assert_eq!(exact.id, proj.id);
    let oldest = mb.folder_by_path("/PROJEKTE").await.unwrap().unwrap();
    assert_eq!(oldest.id, proj.id);
    // New clashes are refused from now on; the old pair can still be renamed apart.
    taken(mb.create_folder(proj.id, "ärchiv").await);
    taken(
        mb.create_folder(ItemId(folder::USER_ROOT), "PROJEKTE")
            .await,
    );
    mb.rename_folder(
        ItemId(next as i32),
        ItemId(folder::USER_ROOT),
        "Projekte alt",
    )
    .await
    .unwrap();
    store.close().await;
}
