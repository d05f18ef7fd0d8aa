//! One damaged or half-written session on the backup target (a torn `session.json`, a
//! session directory without one) must not stop queries, restores from the other
//! sessions, or the next backup: the bad session is skipped with a warning and
//! `zmbackupquery` lists it as invalid.

mod common;

use common::*;

use zcs_backup::commands::{self, QueryArgs};
use zcs_backup::{RestoreOptions, catalog, restore};
use zcs_core::{Flags, ItemId, folder};

fn query_all() -> QueryArgs {
    commands::parse("zmbackupquery", Vec::new()).unwrap()
}

#[tokio::test]
async fn a_torn_catalog_is_skipped_by_restore_query_and_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("u@c.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(
        ItemId(folder::INBOX),
        b"Subject: one\r\n\r\n1\r\n",
        Flags(0),
        1,
    )
    .await
    .unwrap();
    let good = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    mb.append(
        ItemId(folder::INBOX),
        b"Subject: two\r\n\r\n2\r\n",
        Flags(0),
        1,
    )
    .await
    .unwrap();
    let torn = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // A write cut short: half the catalog.
    let cat = torn.dir.join(catalog::CATALOG_FILE);
    let bytes = std::fs::read(&cat).unwrap();
    std::fs::write(&cat, &bytes[..bytes.len() / 2]).unwrap();
    // A session directory copied without its catalog.
    let bare = catalog::sessions_dir(&h.paths.target).join("full-20200101.000000.000");
    std::fs::create_dir_all(bare.join("sys")).unwrap();

    let sessions = catalog::list_sessions(&h.paths.target).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].catalog.label, good.label);

    let out = commands::query(&h.paths, &query_all()).unwrap();
    assert!(out.contains(&format!("Label:   {}", good.label)), "{out}");
    assert!(out.contains("Status:  completed"), "{out}");
    let torn_block = format!("Label:   {}\nType:    full\nStatus:  invalid (", torn.label);
    assert!(out.contains(&torn_block), "{out}");
    assert!(
        out.contains("Label:   full-20200101.000000.000\nType:    full\nStatus:  invalid ("),
        "{out}"
    );
    // Filters apply to invalid sessions too.
    let only: QueryArgs =
        commands::parse("zmbackupquery", vec!["-lb".into(), good.label.clone()]).unwrap();
    let out = commands::query(&h.paths, &only).unwrap();
    assert!(!out.contains("invalid"), "{out}");

    // A restore still works, from the readable session.
    let rep = restore(
        &h.paths,
        &h.store,
        &h.dir,
        &RestoreOptions {
            accounts: vec!["u@c.test".into()],
            quiet: true,
            full_only: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.full_label, good.label);
    let msgs = inbox(&h.store, id).await;
    assert!(
        msgs.contains(&b"Subject: one\r\n\r\n1\r\n".to_vec()),
        "{msgs:?}"
    );

    // The next incremental and full backups run.
    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert_eq!(catalog::list_sessions(&h.paths.target).unwrap().len(), 3);

    // Deleting old sessions removes the unreadable ones whose label is old enough.
    let gone =
        zcs_backup::retention::delete_older(&h.paths.target, "2021/01/01", chrono::Utc::now())
            .unwrap();
    assert_eq!(gone, vec!["full-20200101.000000.000".to_string()]);
    assert!(!bare.exists());
}
