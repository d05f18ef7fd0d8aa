//! Backup and restore end to end on temporary homes: full, incrementals, restores to
//! each point into new accounts, a disaster recovery into an empty home, and a failed
//! session that never looks complete.

mod common;

use common::*;

use zcs_backup::{BackupPaths, RestoreOptions, catalog, restore};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, folder};
use zcs_directory::EntryKey;

fn msg(n: u32) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

#[tokio::test]
async fn full_incremental_point_in_time_and_disaster_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let a = home(&tmp.path().join("a")).await;
    a.dir
        .create_entry(EntryKind::Domain, "example.com", Attrs::new())
        .await
        .unwrap();
    let user = a
        .dir
        .create_entry(EntryKind::Account, "u@example.com", Attrs::new())
        .await
        .unwrap();
    let mb = a.store.mailbox(user.id).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    let mut first = Vec::new();
    for n in 0..3 {
        first.push(
            mb.append(inbox, &msg(n), Flags(0), 1_000 + n as i64)
                .await
                .unwrap(),
        );
    }
    mb.set_flags(&[first[0].id], Flags::FLAGGED, true)
        .await
        .unwrap();
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    mb.append(work.id, &msg(99), Flags(0), 5).await.unwrap();

    let full = zcs_backup::full_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();
    assert_eq!(full.accounts, 1);

    mb.append(inbox, &msg(3), Flags(0), 2_000).await.unwrap();
    mb.append(inbox, &msg(4), Flags(0), 2_001).await.unwrap();
    mb.delete_items(&[first[1].id]).await.unwrap();
    let incr1 = zcs_backup::incremental_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();
    assert!(incr1.redo_records >= 3, "{incr1:?}");

    // An account created after the full backup comes back from the redo records alone.
    let late = a
        .dir
        .create_entry(EntryKind::Account, "late@example.com", Attrs::new())
        .await
        .unwrap();
    let late_mb = a.store.mailbox(late.id).await.unwrap();
    late_mb
        .append(inbox, &msg(50), Flags(0), 3_000)
        .await
        .unwrap();
    mb.append(inbox, &msg(5), Flags(0), 3_001).await.unwrap();
    let incr2 = zcs_backup::incremental_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();

    let live = common::inbox(&a.store, user.id).await;
    assert_eq!(live.len(), 5);

    // Restores into new prefixed accounts, one per point in time.
    let points: [(&str, RestoreOptions, usize); 3] = [
        (
            "r1_",
            RestoreOptions {
                full_only: true,
                ..RestoreOptions::default()
            },
            3,
        ),
        (
            "r2_",
            RestoreOptions {
                to_incr_label: Some(incr1.label.clone()),
                ..RestoreOptions::default()
            },
            4,
        ),
        ("r3_", RestoreOptions::default(), 5),
    ];
    for (prefix, mut o, want) in points {
        o.accounts = vec!["u@example.com".into()];
        o.prefix = Some(prefix.into());
        o.quiet = true;
        let rep = restore(&a.paths, &a.store, &a.dir, &o).await.unwrap();
        assert_eq!(rep.restored.len(), 1, "{rep:?}");
        let new = a
            .dir
            .get_entry(
                EntryKind::Account,
                &EntryKey::Name(format!("{prefix}u@example.com")),
            )
            .await
            .unwrap()
            .expect("restored account");
        let got = common::inbox(&a.store, new.id).await;
        assert_eq!(got.len(), want, "{prefix}");
        let nmb = a.store.mailbox(new.id).await.unwrap();
        let flagged = nmb
            .messages(inbox)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.flags.0 & Flags::FLAGGED != 0)
            .count();
        assert_eq!(flagged, 1, "{prefix}: flags survive");
        assert!(
            nmb.folder_by_path("Work").await.unwrap().is_some(),
            "{prefix}"
        );
    }
    // The third point is the live state, byte for byte.
    let r3 = a
        .dir
        .get_entry(
            EntryKind::Account,
            &EntryKey::Name("r3_u@example.com".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(common::inbox(&a.store, r3.id).await, live);

    // Restore into itself after damage, with -br (the server's redo logs, which hold
    // the damage, are not replayed): the account is wiped, then rebuilt as of the last
    // incremental.
    mb.delete_items(&[first[0].id, first[2].id]).await.unwrap();
    let o = RestoreOptions {
        accounts: vec!["u@example.com".into()],
        quiet: true,
        ..RestoreOptions::default()
    };
    let br = zcs_backup::redo_io::RestoreScope {
        server_redo: false,
        ..Default::default()
    };
    zcs_backup::restore::restore_scoped(&a.paths, &a.store, &a.dir, &o, &br, None)
        .await
        .unwrap();
    assert_eq!(common::inbox(&a.store, user.id).await, live);
    let _ = incr2;

    // Disaster recovery: a new, empty home restores everything from the backup.
    let b = home(&tmp.path().join("b")).await;
    std::fs::create_dir_all(&b.paths.target).unwrap();
    let b_paths = BackupPaths {
        target: a.paths.target.clone(),
        ..b.paths.clone()
    };
    let o = RestoreOptions {
        accounts: vec!["all".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore(&b_paths, &b.store, &b.dir, &o).await.unwrap();
    assert!(rep.failed.is_empty(), "{rep:?}");
    let got_user = b
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Id(user.id))
        .await
        .unwrap()
        .expect("account restored with its id");
    assert_eq!(got_user.name, "u@example.com");
    assert_eq!(common::inbox(&b.store, user.id).await, live);
    assert_eq!(common::inbox(&b.store, late.id).await, vec![msg(50)]);

    // A fresh full backup of the recovered home succeeds; an incremental over the old
    // chain is refused with a clear message.
    let full_b = zcs_backup::full_backup(&b.paths, &b.dir, &quiet())
        .await
        .unwrap();
    assert_eq!(full_b.accounts, 2);
    let listed = catalog::list_sessions(&b.paths.target).unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn aborted_backup_leaves_no_session() {
    let tmp = tempfile::tempdir().unwrap();
    let a = home(tmp.path()).await;
    a.dir
        .create_entry(EntryKind::Domain, "example.com", Attrs::new())
        .await
        .unwrap();
    for i in 0..3 {
        a.dir
            .create_entry(
                EntryKind::Account,
                &format!("u{i}@example.com"),
                Attrs::new(),
            )
            .await
            .unwrap();
    }
    // No full backup yet: an incremental is refused.
    let err = zcs_backup::incremental_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no full backup"), "{err}");

    // An abort flag raised during the session (simulated by a flag file the session
    // finds between accounts) removes the partial session.
    std::fs::create_dir_all(&a.paths.target).unwrap();
    let flag = zcs_backup::backup::abort_flag(&a.paths.target);
    let target = a.paths.target.clone();
    let raiser = tokio::spawn(async move {
        for _ in 0..200 {
            if !catalog::incomplete_sessions(&target).is_empty() {
                std::fs::write(&flag, b"all").unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    let res = zcs_backup::full_backup(&a.paths, &a.dir, &quiet()).await;
    raiser.await.unwrap();
    if res.is_err() {
        assert!(catalog::list_sessions(&a.paths.target).unwrap().is_empty());
    }
    assert!(catalog::incomplete_sessions(&a.paths.target).is_empty());
}

#[tokio::test]
async fn a_restore_is_in_the_redo_log_so_later_restores_neither_lose_nor_resurrect() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.dir
        .create_entry(EntryKind::Domain, "r.test", Attrs::new())
        .await
        .unwrap();
    let u = h
        .dir
        .create_entry(EntryKind::Account, "u@r.test", Attrs::new())
        .await
        .unwrap()
        .id;
    let mb = h.store.mailbox(u).await.unwrap();
    fill_inbox(&mb, [1, 2], msg, 1).await;
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // B: after the full, in the first incremental.
    mb.append(ItemId(folder::INBOX), &msg(3), Flags(0), 1)
        .await
        .unwrap();
    let incr1 = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // The admin restores the account to the full backup: message 3 is gone.
    let rf = RestoreOptions {
        accounts: vec!["u@r.test".into()],
        full_only: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    restore(&h.paths, &h.store, &h.dir, &rf).await.unwrap();
    assert_eq!(inbox(&h.store, u).await, vec![msg(1), msg(2)]);
    // C: after the restore. The next incremental carries the restore and C.
    let mb = h.store.mailbox(u).await.unwrap();
    mb.append(ItemId(folder::INBOX), &msg(4), Flags(0), 1)
        .await
        .unwrap();
    let incr2 = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let recs = zcs_backup::redo_io::read_records(&incr2.dir.join("redo/records.log")).unwrap();
    assert!(
        recs.iter().any(|r| matches!(
            &r.op,
            zcs_store::redo::RedoOp::RestoreMailbox { label, .. } if *label == full.label
        )),
        "the restore is a redo record"
    );

    let pit = |prefix: &str, to_incr: Option<&str>| RestoreOptions {
        accounts: vec!["u@r.test".into()],
        prefix: Some(prefix.into()),
        label: Some(full.label.clone()),
        to_incr_label: to_incr.map(str::to_string),
        quiet: true,
        ..RestoreOptions::default()
    };
    // To the latest point: the restored state plus C; message 3 stays gone.
    restore(&h.paths, &h.store, &h.dir, &pit("latest_", None))
        .await
        .unwrap();
    let latest = h.id_of("latest_u@r.test").await;
    assert_eq!(inbox(&h.store, latest).await, vec![msg(1), msg(2), msg(4)]);
    // To the first incremental (before the restore): message 3 is there.
    restore(
        &h.paths,
        &h.store,
        &h.dir,
        &pit("before_", Some(&incr1.label)),
    )
    .await
    .unwrap();
    let before = h.id_of("before_u@r.test").await;
    assert_eq!(inbox(&h.store, before).await, vec![msg(1), msg(2), msg(3)]);
    // And the account itself survives a restart (the store replays its redo log).
    drop(mb);
    h.store.close().await;
    let h = home(&tmp.path().join("a")).await;
    assert_eq!(inbox(&h.store, u).await, vec![msg(1), msg(2), msg(4)]);
}
