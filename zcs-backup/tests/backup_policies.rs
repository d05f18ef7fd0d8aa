//! The rules around a backup session: `zimbraBackupMinFreeSpace` (no session when the
//! target is too full, spec 04 test idea 11), the report mail after each run, success
//! or failure (test idea 14), archived redo logs removed once backed up (the archive
//! does not grow forever; test idea 9), and auto-grouped runs (new and overdue
//! mailboxes first, about 1/N per run, the throttle; test idea 15).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

use zcs_backup::backup::grouped::AutoGrouped;
use zcs_backup::backup::report::{self, MailFuture, Mailer};
use zcs_backup::commands::{self, BackupArgs, BackupEnv};
use zcs_backup::{BackupOptions, RestoreOptions, catalog, restore};
use zcs_core::{AttrEdit, Attrs, EntryKind};
use zcs_store::{Store, StoreConfig, StoreOptions};

/// Keeps what it is asked to send.
#[derive(Default)]
struct Outbox(Mutex<Vec<(Vec<String>, String)>>);

impl Mailer for Outbox {
    fn send<'a>(&'a self, to: &'a [String], message: &'a [u8]) -> MailFuture<'a> {
        let text = String::from_utf8_lossy(message).to_string();
        self.0.lock().unwrap().push((to.to_vec(), text));
        Box::pin(async { Ok(()) })
    }
}

fn args(words: &str) -> BackupArgs {
    commands::parse(
        "zmbackup",
        words.split_whitespace().map(String::from).collect(),
    )
    .unwrap()
}

async fn global(h: &Home, attrs: &[(&str, &str)]) {
    let edits: Vec<AttrEdit> = attrs
        .iter()
        .map(|(k, v)| AttrEdit::Replace(k.to_string(), vec![v.to_string()]))
        .collect();
    match h
        .dir
        .list_entries(EntryKind::GlobalConfig, None)
        .await
        .unwrap()
        .first()
    {
        Some(g) => {
            h.dir
                .modify_entry(EntryKind::GlobalConfig, g.id, &edits)
                .await
                .unwrap();
        }
        None => {
            let mut a = Attrs::new();
            for (k, v) in attrs {
                a.set_one(k, v.to_string());
            }
            h.dir
                .create_entry(EntryKind::GlobalConfig, "", a)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn min_free_space_refuses_the_session_and_every_run_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.account("u@p.test").await;
    let outbox = Arc::new(Outbox::default());
    report::set_mailer(outbox.clone());

    // No recipients: nothing is mailed.
    commands::backup(&h.paths, &h.dir, &args("-f -a all"))
        .await
        .unwrap();
    assert!(outbox.0.lock().unwrap().is_empty());

    global(
        &h,
        &[
            ("zimbraBackupReportEmailRecipients", "ops@p.test"),
            ("zimbraBackupReportEmailSender", "backup@p.test"),
            ("zimbraBackupReportEmailSubjectPrefix", "Nightly"),
        ],
    )
    .await;
    let out = commands::backup(&h.paths, &h.dir, &args("-i -a all"))
        .await
        .unwrap();
    let label = out.trim().to_string();
    {
        let sent = outbox.0.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let (to, m) = &sent[0];
        assert_eq!(to, &vec!["ops@p.test".to_string()]);
        assert!(m.contains("From: <backup@p.test>\r\n"), "{m}");
        assert!(m.contains("Subject: Nightly:SUCCESS\r\n"), "{m}");
        assert!(m.contains(&format!("Label:   {label}\r\n")), "{m}");
        assert!(
            m.contains("Type:    incremental\r\nStatus:  completed\r\n"),
            "{m}"
        );
        assert!(m.contains("Redo log sequence range: "), "{m}");
        assert!(m.contains("Number of accounts: 1\r\n"), "{m}");
    }

    // Too little free space: no session, an error saying why, a FAILURE report.
    global(&h, &[("zimbraBackupMinFreeSpace", "100%")]).await;
    let before = catalog::list_sessions(&h.paths.target).unwrap().len();
    let err = commands::backup(&h.paths, &h.dir, &args("-f -a all"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("backup not started"), "{err}");
    assert!(err.contains("zimbraBackupMinFreeSpace 100%"), "{err}");
    assert_eq!(
        catalog::list_sessions(&h.paths.target).unwrap().len(),
        before
    );
    assert!(catalog::incomplete_sessions(&h.paths.target).is_empty());
    {
        let sent = outbox.0.lock().unwrap();
        assert_eq!(sent.len(), 2);
        let m = &sent[1].1;
        assert!(m.contains("Subject: Nightly:FAILURE\r\n"), "{m}");
        assert!(m.contains("Status:  not started\r\n"), "{m}");
        assert!(m.contains("Error: backup not started"), "{m}");
    }
    // A size far above the disk refuses too; a small one lets the backup run.
    global(&h, &[("zimbraBackupMinFreeSpace", "1000TB")]).await;
    assert!(
        commands::backup(&h.paths, &h.dir, &args("-i -a all"))
            .await
            .is_err()
    );
    global(&h, &[("zimbraBackupMinFreeSpace", "1MB")]).await;
    commands::backup(&h.paths, &h.dir, &args("-f -a all"))
        .await
        .unwrap();
    assert_eq!(outbox.0.lock().unwrap().len(), 4);
    // The library option alone refuses as well.
    let opts = BackupOptions {
        min_free_space: Some("100%".into()),
        ..quiet()
    };
    assert!(
        zcs_backup::full_backup(&h.paths, &h.dir, &opts)
            .await
            .is_err()
    );
}

fn msg(n: usize) -> Vec<u8> {
    let mut m = format!("Subject: m{n}\r\n\r\n").into_bytes();
    m.extend(std::iter::repeat_n(b'x', 600));
    m.extend_from_slice(b"\r\n");
    m
}

fn archive(paths: &zcs_backup::BackupPaths) -> Vec<(u64, u64)> {
    zcs_store::redo::archive::list(&paths.redolog)
        .unwrap()
        .into_iter()
        .map(|l| (l.first_seq, l.last_seq))
        .collect()
}

#[tokio::test]
async fn archived_redo_logs_go_once_backed_up() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let h0 = home(&root).await;
    h0.store.close().await;
    // The same home with a redo log that rolls over every few records.
    let store = Store::open_with(
        StoreConfig {
            db_path: h0.paths.db.clone(),
            blob_root: h0.paths.store.clone(),
            redo_dir: h0.paths.redolog.clone(),
        },
        StoreOptions {
            redo_rollover_bytes: 1024,
        },
    )
    .await
    .unwrap();
    let h = Home {
        paths: h0.paths.clone(),
        store,
        dir: h0.dir.clone(),
    };
    let id = h.account("r@p.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..40, msg, 1).await;
    assert!(archive(&h.paths).len() >= 2, "{:?}", archive(&h.paths));

    // Archived too recently (the default keep time, 3600 s): kept.
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert!(full.pruned_redo_logs.is_empty());
    let n_before = archive(&h.paths).len();
    assert!(n_before >= 2);

    // With no keep time, everything the full backup covers goes.
    let now = BackupOptions {
        archive_keep: Some(Duration::ZERO),
        ..quiet()
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &now)
        .await
        .unwrap();
    assert!(!full.pruned_redo_logs.is_empty());
    assert!(
        archive(&h.paths)
            .iter()
            .all(|(_, last)| *last > full.redo_range.1),
        "{:?} vs {}",
        archive(&h.paths),
        full.redo_range.1
    );

    // More mail; an incremental holds it and the archive it came from goes.
    fill_inbox(&mb, 40..80, msg, 1).await;
    assert!(!archive(&h.paths).is_empty());
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &now)
        .await
        .unwrap();
    assert!(incr.redo_records > 0);
    assert!(!incr.pruned_redo_logs.is_empty());
    assert!(
        archive(&h.paths)
            .iter()
            .all(|(_, last)| *last > incr.redo_range.1),
        "{:?}",
        archive(&h.paths)
    );

    // A full backup of one account does not prune what the others need.
    fill_inbox(&mb, 80..120, msg, 1).await;
    let left = archive(&h.paths);
    let some = BackupOptions {
        accounts: vec!["r@p.test".into()],
        ..now.clone()
    };
    let part = zcs_backup::full_backup(&h.paths, &h.dir, &some)
        .await
        .unwrap();
    assert!(part.pruned_redo_logs.is_empty());
    assert_eq!(archive(&h.paths), left);

    // The server still opens (its recovery needs none of what went), and every
    // message comes back from the backups.
    h.store.close().await;
    let store = store_at(&h.paths).await;
    let rep = restore(
        &h.paths,
        &store,
        &h.dir,
        &RestoreOptions {
            accounts: vec!["r@p.test".into()],
            label: Some(full.label.clone()),
            quiet: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.full_label, full.label);
    let got = inbox(&store, id).await;
    for n in 0..80 {
        assert!(got.contains(&msg(n)), "message {n} lost");
    }
}

#[tokio::test]
async fn auto_grouped_runs_take_new_and_overdue_mailboxes_first() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    for i in 0..14 {
        h.account(&format!("u{i:02}@g.test")).await;
    }
    let grouped = |throttled| BackupOptions {
        auto_grouped: Some(AutoGrouped {
            groups: 7,
            interval_ms: 86_400_000,
            throttled,
        }),
        ..quiet()
    };
    let run = |opts: BackupOptions| {
        let h = &h;
        async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            let rep = zcs_backup::full_backup(&h.paths, &h.dir, &opts)
                .await
                .unwrap();
            catalog::read_catalog(&rep.dir)
                .unwrap()
                .accounts
                .into_iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
        }
    };
    // First run: everyone (never backed up).
    assert_eq!(run(grouped(false)).await.len(), 14);
    // Next: about 1/7.
    let second = run(grouped(false)).await;
    assert_eq!(second.len(), 2);
    // New accounts are taken first, all of them.
    for i in 0..3 {
        h.account(&format!("new{i}@g.test")).await;
    }
    let third = run(grouped(false)).await;
    assert_eq!(third.len(), 3);
    assert!(third.iter().all(|n| n.starts_with("new")), "{third:?}");
    // Throttled: no more than 1/7 even with many new ones (new first).
    for i in 0..10 {
        h.account(&format!("late{i}@g.test")).await;
    }
    let fourth = run(grouped(true)).await;
    assert_eq!(fourth.len(), 27_usize.div_ceil(7));
    assert!(fourth.iter().all(|n| n.starts_with("late")), "{fourth:?}");
    // Unthrottled, the remaining six new ones all go at once.
    let fifth = run(grouped(false)).await;
    assert_eq!(fifth.len(), 6);
    assert!(fifth.iter().all(|n| n.starts_with("late")), "{fifth:?}");

    // No incrementals in auto-grouped mode, from the library or the command.
    let err = zcs_backup::incremental_backup(&h.paths, &h.dir, &grouped(false))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("auto-grouped"), "{err}");
    global(
        &h,
        &[
            ("zimbraBackupMode", "Auto-Grouped"),
            ("zimbraBackupAutoGroupedNumGroups", "9"),
        ],
    )
    .await;
    let env = BackupEnv::default();
    assert!(
        commands::backup_with(&h.paths, &h.dir, &args("-i"), &env)
            .await
            .is_err()
    );
    let out = commands::backup_with(&h.paths, &h.dir, &args("-f"), &env)
        .await
        .unwrap();
    let sessions = catalog::list_sessions(&h.paths.target).unwrap();
    let last = sessions.last().unwrap();
    assert_eq!(last.catalog.label, out.trim());
    assert_eq!(last.catalog.accounts.len(), 27_usize.div_ceil(9));
    assert!(!last.catalog.all_accounts);
}
