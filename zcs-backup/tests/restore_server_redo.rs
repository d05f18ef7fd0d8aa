//! Restores that go past the last backup: after the full session and the incrementals,
//! the server's own archived and current redo logs are replayed (Zimbra's default;
//! `-br` keeps to the backup's records), up to a point in time given by time, redo
//! sequence or incremental label. Also `--skipDeletes` (a message deleted after the
//! backup comes back) and `-skipDeletedAccounts` (implied by `-a all`: an account
//! deleted since the backup is not brought back).
//!
//! The store rolls its redo log over every kilobyte, so the replay reads archived
//! files as well as the current `redo.log`.

mod common;

use std::sync::Arc;

use common::*;
use zcs_backup::redo_io::{self, RestoreScope};
use zcs_backup::restore::restore_scoped;
use zcs_backup::{BackupPaths, RestoreOptions, RestoreReport};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, ZimbraId, folder};
use zcs_directory::{Directory, EntryKey, SqlDirectory};
use zcs_store::{Store, StoreConfig, StoreOptions};

fn msg(n: u32) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

/// A home whose redo log rolls over at 1 KB.
async fn rolling_home(root: &std::path::Path) -> Home {
    let paths = BackupPaths::for_home(root);
    let store = Store::open_with(
        StoreConfig {
            db_path: paths.db.clone(),
            blob_root: paths.store.clone(),
            redo_dir: paths.redolog.clone(),
        },
        StoreOptions::with_rollover_kb(1),
    )
    .await
    .unwrap();
    std::fs::create_dir_all(root.join("conf")).unwrap();
    let dir: Arc<dyn Directory> = Arc::new(
        SqlDirectory::open_sqlite(&root.join("conf/directory.db"))
            .await
            .unwrap(),
    );
    Home { paths, store, dir }
}

async fn put(h: &Home, id: ZimbraId, n: u32) -> ItemId {
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(
        ItemId(folder::INBOX),
        &msg(n),
        Flags(0),
        1_000 + i64::from(n),
    )
    .await
    .unwrap()
    .id
}

async fn run(h: &Home, opts: RestoreOptions, scope: RestoreScope) -> RestoreReport {
    let opts = RestoreOptions {
        quiet: true,
        ..opts
    };
    restore_scoped(&h.paths, &h.store, &h.dir, &opts, &scope, None)
        .await
        .unwrap()
}

/// Restores `u@example.com` into `<prefix>u@example.com` and returns its inbox.
async fn into_new(
    h: &Home,
    prefix: &str,
    opts: RestoreOptions,
    scope: RestoreScope,
) -> Vec<Vec<u8>> {
    let opts = RestoreOptions {
        accounts: vec!["u@example.com".into()],
        prefix: Some(prefix.into()),
        ..opts
    };
    let rep = run(h, opts, scope).await;
    assert_eq!(rep.restored.len(), 1, "{prefix}: {rep:?}");
    let id = h.id_of(&format!("{prefix}u@example.com")).await;
    inbox(&h.store, id).await
}

fn msgs(ns: &[u32]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = ns.iter().map(|n| msg(*n)).collect();
    v.sort();
    v
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
}

/// Spec 04 test ideas 18 and 19: full backup; change set A; incremental; set B (rolled
/// into the archive); set C (in the current log). Each way of restoring gets exactly
/// the sets it should.
#[tokio::test]
async fn the_servers_redo_logs_follow_the_backup_up_to_each_point_in_time() {
    let tmp = tempfile::tempdir().unwrap();
    let h = rolling_home(tmp.path()).await;
    let u = h.account("u@example.com").await;
    put(&h, u, 1).await;
    put(&h, u, 2).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    put(&h, u, 3).await; // A
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    pause().await;
    let t_ab = now_ms();
    pause().await;
    put(&h, u, 4).await; // B
    put(&h, u, 5).await;
    let seq_b = redo_io::records_after(&h.paths.redolog, 0)
        .unwrap()
        .last()
        .unwrap()
        .seq;
    pause().await;
    let t_bc = now_ms();
    pause().await;
    put(&h, u, 6).await; // C
    let archived = zcs_store::redo::archive::list(&h.paths.redolog).unwrap();
    assert!(!archived.is_empty(), "B is in archived redo logs");

    let dflt = RestoreScope::default();
    let br = RestoreScope {
        server_redo: false,
        ..RestoreScope::default()
    };
    let o = RestoreOptions::default;
    // Zimbra's default: everything, up to the current redo log.
    assert_eq!(
        into_new(&h, "all_", o(), dflt.clone()).await,
        msgs(&[1, 2, 3, 4, 5, 6])
    );
    // -br: only what the backup holds.
    assert_eq!(into_new(&h, "br_", o(), br).await, msgs(&[1, 2, 3]));
    // -rf: the full backup alone.
    let rf = RestoreOptions {
        full_only: true,
        ..o()
    };
    assert_eq!(into_new(&h, "rf_", rf, dflt.clone()).await, msgs(&[1, 2]));
    // -restoreToIncrLabel: up to that incremental, never the server's logs.
    let to_incr = RestoreOptions {
        to_incr_label: Some(incr.label.clone()),
        ..o()
    };
    assert_eq!(
        into_new(&h, "incr_", to_incr, dflt.clone()).await,
        msgs(&[1, 2, 3])
    );
    // -restoreToTime between B and C: A and B, B from the archive.
    let to_time = RestoreOptions {
        to_time_ms: Some(t_bc),
        ..o()
    };
    let got = into_new(&h, "time_", to_time, dflt.clone()).await;
    assert_eq!(got, msgs(&[1, 2, 3, 4, 5]));
    // -restoreToRedoSeq of B's last record: the same.
    let to_seq = RestoreOptions {
        to_seq: Some(seq_b),
        ..o()
    };
    assert_eq!(
        into_new(&h, "seq_", to_seq, dflt.clone()).await,
        msgs(&[1, 2, 3, 4, 5])
    );
    // Two points: the earlier wins.
    let both = RestoreOptions {
        to_seq: Some(seq_b + 100),
        to_time_ms: Some(t_ab),
        ..o()
    };
    assert_eq!(
        into_new(&h, "both_", both, dflt.clone()).await,
        msgs(&[1, 2, 3])
    );

    // The account itself, wiped: `zmrestore -a u` brings back all of it, including
    // mail that only the server's logs hold.
    h.store.delete_mailbox(u).await.unwrap();
    let rep = run(
        &h,
        RestoreOptions {
            accounts: vec!["u@example.com".into()],
            ..o()
        },
        dflt.clone(),
    )
    .await;
    assert!(rep.server_records > 0, "{rep:?}");
    assert_eq!(inbox(&h.store, u).await, msgs(&[1, 2, 3, 4, 5, 6]));
    // Mail after that restore, and a second restore: nothing lost, nothing twice.
    put(&h, u, 7).await;
    let rep = run(
        &h,
        RestoreOptions {
            accounts: vec!["u@example.com".into()],
            ..o()
        },
        dflt,
    )
    .await;
    assert!(rep.failed.is_empty(), "{rep:?}");
    assert_eq!(inbox(&h.store, u).await, msgs(&[1, 2, 3, 4, 5, 6, 7]));
    // And the store agrees after a restart.
    h.store.close().await;
    let h = rolling_home(tmp.path()).await;
    assert_eq!(inbox(&h.store, u).await, msgs(&[1, 2, 3, 4, 5, 6, 7]));
}

/// Spec 04 test idea 20: a message deleted after the backup comes back with
/// `--skipDeletes` and stays deleted without it; flags set after the backup are kept
/// either way.
#[tokio::test]
async fn skip_deletes_brings_back_mail_deleted_after_the_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let h = rolling_home(tmp.path()).await;
    let u = h.account("u@example.com").await;
    let one = put(&h, u, 1).await;
    let two = put(&h, u, 2).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    put(&h, u, 3).await;
    let mb = h.store.mailbox(u).await.unwrap();
    mb.set_flags(&[one], Flags::FLAGGED, true).await.unwrap();
    mb.delete_items(&[two]).await.unwrap();

    let plain = into_new(
        &h,
        "plain_",
        RestoreOptions::default(),
        RestoreScope::default(),
    )
    .await;
    assert_eq!(plain, msgs(&[1, 3]));
    let skip = RestoreOptions {
        skip_deletes: true,
        ..RestoreOptions::default()
    };
    let kept = into_new(&h, "kept_", skip.clone(), RestoreScope::default()).await;
    assert_eq!(kept, msgs(&[1, 2, 3]));
    let kept_mb = h
        .store
        .mailbox(h.id_of("kept_u@example.com").await)
        .await
        .unwrap();
    let flagged = kept_mb
        .messages(ItemId(folder::INBOX))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.flags.0 & Flags::FLAGGED != 0)
        .count();
    assert_eq!(flagged, 1, "the flag set after the backup is replayed");
    // In place too.
    let in_place = RestoreOptions {
        accounts: vec!["u@example.com".into()],
        ..skip
    };
    run(&h, in_place, RestoreScope::default()).await;
    assert_eq!(inbox(&h.store, u).await, msgs(&[1, 2, 3]));
}

/// Spec 04 test idea 22: an account deleted after the backup is brought back by name,
/// left alone by `-a all` and by `-skipDeletedAccounts`.
#[tokio::test]
async fn deleted_accounts_are_skipped_by_all_and_by_skip_deleted_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let h = rolling_home(tmp.path()).await;
    let u = h.account("u@example.com").await;
    let gone = h.account("gone@example.com").await;
    put(&h, u, 1).await;
    put(&h, gone, 2).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    put(&h, u, 3).await;
    h.store.delete_mailbox(gone).await.unwrap();
    h.dir.delete_entry(EntryKind::Account, gone).await.unwrap();
    let lookup = |h: &Home| {
        let dir = h.dir.clone();
        async move {
            dir.get_entry(
                EntryKind::Account,
                &EntryKey::Name("gone@example.com".into()),
            )
            .await
            .unwrap()
        }
    };

    let all = RestoreOptions {
        accounts: vec!["all".into()],
        restore_directory: true,
        ..RestoreOptions::default()
    };
    let rep = run(&h, all, RestoreScope::default()).await;
    assert_eq!(rep.skipped_deleted, vec!["gone@example.com".to_string()]);
    assert_eq!(rep.restored.len(), 1, "{rep:?}");
    assert!(lookup(&h).await.is_none(), "-a all does not bring it back");
    assert_eq!(inbox(&h.store, u).await, msgs(&[1, 3]));

    let named = RestoreOptions {
        accounts: vec!["gone@example.com".into()],
        ..RestoreOptions::default()
    };
    let skip = RestoreScope {
        skip_deleted_accounts: true,
        ..RestoreScope::default()
    };
    let rep = run(&h, named.clone(), skip).await;
    assert_eq!(rep.skipped_deleted.len(), 1, "{rep:?}");
    assert!(lookup(&h).await.is_none());

    // Asked for by name: it comes back with its mail (under a new id: the directory
    // never hands out a deleted entry's id again).
    let rep = run(&h, named, RestoreScope::default()).await;
    assert_eq!(rep.restored.len(), 1, "{rep:?}");
    let back = lookup(&h).await.expect("account restored");
    assert_eq!(inbox(&h.store, back.id).await, msgs(&[2]));
}

/// A new server after a disaster has its own redo history, whose sequence restarted:
/// it is not replayed over the restored mailboxes (the report says why), and the
/// restore holds exactly the backup.
#[tokio::test]
async fn another_servers_redo_log_is_not_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let a = rolling_home(&tmp.path().join("a")).await;
    let u = a.account("u@example.com").await;
    for n in 1..=3 {
        put(&a, u, n).await;
    }
    zcs_backup::full_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();
    // The new server: busy enough for its log to pass the backup's last sequence.
    let b = rolling_home(&tmp.path().join("b")).await;
    let local = b.account("local@example.com").await;
    for n in 100..110 {
        put(&b, local, n).await;
    }
    let paths = BackupPaths {
        target: a.paths.target.clone(),
        ..b.paths.clone()
    };
    let o = RestoreOptions {
        accounts: vec!["u@example.com".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore_scoped(&paths, &b.store, &b.dir, &o, &RestoreScope::default(), None)
        .await
        .unwrap();
    assert!(rep.server_redo_skipped.is_some(), "{rep:?}");
    assert_eq!(rep.server_records, 0);
    assert_eq!(inbox(&b.store, u).await, msgs(&[1, 2, 3]));
    assert_eq!(inbox(&b.store, local).await.len(), 10);
    let _ = Attrs::new();
}
