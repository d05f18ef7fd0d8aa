//! A backup taken on an SQLite directory restores into a PostgreSQL one (the directory
//! part is kept backend-neutral). Runs when `ZCS_TEST_POSTGRES_URL` is set; skips loudly
//! otherwise.

mod common;

use std::sync::Arc;

use common::*;

use zcs_backup::{BackupOptions, BackupPaths, RestoreOptions};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, folder};
use zcs_directory::{Directory, EntryKey, SqlDirectory};

#[tokio::test]
async fn sqlite_directory_backup_restores_into_postgres() {
    let Ok(url) = std::env::var("ZCS_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: ZCS_TEST_POSTGRES_URL is not set (cross-backend restore not tested)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = BackupPaths::for_home(&tmp.path().join("src"));
    let store = store_at(&src).await;
    std::fs::create_dir_all(tmp.path().join("src/conf")).unwrap();
    let dir: Arc<dyn Directory> = Arc::new(
        SqlDirectory::open_sqlite(&tmp.path().join("src/conf/directory.db"))
            .await
            .unwrap(),
    );
    // A unique domain: the PostgreSQL database outlives the test.
    let domain = format!("xb{}.test", chrono::Utc::now().timestamp_millis());
    let dom = dir
        .create_entry(EntryKind::Domain, &domain, Attrs::new())
        .await
        .unwrap();
    let name = format!("u@{domain}");
    let mut attrs = Attrs::new();
    attrs.set_one("displayName", "Cross Backend");
    let user = dir
        .create_entry(EntryKind::Account, &name, attrs)
        .await
        .unwrap();
    let mb = store.mailbox(user.id).await.unwrap();
    let raw = b"Subject: x\r\n\r\ncross backend body\r\n";
    mb.append(ItemId(folder::INBOX), raw, Flags(0), 1)
        .await
        .unwrap();
    let opts = BackupOptions {
        quiet: true,
        ..BackupOptions::default()
    };
    zcs_backup::full_backup(&src, &dir, &opts).await.unwrap();

    let pg = zcs_directory::open_directory(&url).await.unwrap();
    zcs_backup::directory::restore_entry(&pg, &dom, false)
        .await
        .unwrap();
    let dst = BackupPaths {
        target: src.target.clone(),
        ..BackupPaths::for_home(&tmp.path().join("dst"))
    };
    let dst_store = store_at(&dst).await;
    let ropts = RestoreOptions {
        accounts: vec![name.clone()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    zcs_backup::restore(&dst, &dst_store, &pg, &ropts)
        .await
        .unwrap();
    let got = pg
        .get_entry(EntryKind::Account, &EntryKey::Id(user.id))
        .await
        .unwrap()
        .expect("account in PostgreSQL with its id");
    assert_eq!(got.name, name);
    assert_eq!(got.attrs.get("displayName"), Some("Cross Backend"));
    let rmb = dst_store.mailbox(user.id).await.unwrap();
    let msgs = rmb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(rmb.read_message(msgs[0].id).await.unwrap(), raw);
}
