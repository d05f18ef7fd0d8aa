//! The disaster drill on a temporary home: the data directories (`db/`, `store/`,
//! `index/`) are lost while the redo log directory (its own disk, in Zimbra's model)
//! and the backups survive. Recovery by the documented procedure (an offline restore of
//! every account, which replays the archived and current redo logs after the backup,
//! then a fresh full backup) loses no message acknowledged before the loss: the blobs of
//! messages delivered after the last backup come back from the redo log, which carries
//! them (`zcs_store::redo::blob_frame`), including the new blob of a message rewritten
//! in place (a re-saved draft).

mod common;

use common::*;

use zcs_backup::redo_io::RestoreScope;
use zcs_backup::{RestoreOptions, catalog};
use zcs_core::{Flags, ItemId, folder};
use zcs_store::{Store, StoreConfig, StoreOptions};

fn msg(n: u32) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: dr {n}\r\n\r\nbody of message {n}\r\n").into_bytes()
}

#[tokio::test]
async fn losing_the_data_directories_loses_no_acknowledged_message() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("h");
    let h = home(&root).await;
    let user = h.account("dr@example.com").await;
    let other = h.account("dr2@example.com").await;
    let mb = h.store.mailbox(user).await.unwrap();
    let inbox = ItemId(folder::INBOX);
    for n in 0..3 {
        mb.append(inbox, &msg(n), Flags(0), 1_000 + i64::from(n))
            .await
            .unwrap();
    }
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // After the backup: new mail (new blobs) and a change to an old message.
    for n in 3..6 {
        mb.append(inbox, &msg(n), Flags(0), 2_000 + i64::from(n))
            .await
            .unwrap();
    }
    let omb = h.store.mailbox(other).await.unwrap();
    omb.append(inbox, &msg(40), Flags(0), 3_000).await.unwrap();
    let first = mb.messages(inbox).await.unwrap()[0].id;
    mb.set_flags(&[first], Flags::FLAGGED, true).await.unwrap();
    // A draft rewritten in place after the backup: its new blob is only in the redo log.
    let second = mb.messages(inbox).await.unwrap()[1].id;
    mb.replace_message(second, &msg(99), Flags(0), 4_000)
        .await
        .unwrap();
    let want_user = inbox_of(&h.store, user).await;
    let want_other = inbox_of(&h.store, other).await;
    assert_eq!(want_user.len(), 6);

    // The loss: every data directory, the redo log directory and backups survive.
    drop((mb, omb));
    h.store.close().await;
    for d in [&h.paths.db, &h.paths.store, &h.paths.index] {
        let d = if d.extension().is_some() {
            d.parent().unwrap().to_path_buf()
        } else {
            d.clone()
        };
        let _ = std::fs::remove_dir_all(&d);
    }

    // The redo log carries the blobs of the messages the backup does not hold.
    let log = std::fs::read(h.paths.redolog.join("redo.log")).unwrap();
    let frames = zcs_store::redo::decode_log(&log).blobs;
    assert!(frames.len() >= 5, "{} blob frames", frames.len());
    assert!(!h.paths.store.exists());

    // Recovery: the offline restore of every account, replaying the server's redo.
    let store = Store::open_with(
        StoreConfig {
            db_path: h.paths.db.clone(),
            blob_root: h.paths.store.clone(),
            redo_dir: h.paths.redolog.clone(),
        },
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let o = RestoreOptions {
        accounts: vec!["all".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = zcs_backup::restore::restore_scoped(
        &h.paths,
        &store,
        &h.dir,
        &o,
        &RestoreScope::default(),
        None,
    )
    .await
    .unwrap();
    assert!(rep.failed.is_empty(), "{rep:?}");
    assert!(rep.server_records > 0, "{rep:?}");
    assert_eq!(inbox_of(&store, user).await, want_user);
    assert_eq!(inbox_of(&store, other).await, want_other);
    let flagged = store
        .mailbox(user)
        .await
        .unwrap()
        .messages(inbox)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.flags.0 & Flags::FLAGGED != 0)
        .count();
    assert_eq!(flagged, 1);

    // Then a fresh full backup, and the recovered store survives a restart.
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert_eq!(catalog::list_sessions(&h.paths.target).unwrap().len(), 2);
    store.close().await;
    let again = store_at(&h.paths).await;
    assert_eq!(inbox_of(&again, user).await, want_user);
}

/// Every inbox message of `id`: (flags-free) raw bytes, sorted.
async fn inbox_of(store: &Store, id: zcs_core::ZimbraId) -> Vec<Vec<u8>> {
    common::inbox(store, id).await
}
