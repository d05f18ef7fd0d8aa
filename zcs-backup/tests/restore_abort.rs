//! `zmbackupabort -r`: a running restore stops between accounts, finishes the accounts
//! it already took (none is left in maintenance), names the ones it did not restore,
//! and lowers the flag; a flag left from before a restore does not stop it.

mod common;

use common::*;

use zcs_backup::{RestoreOptions, commands, journal, restore};
use zcs_core::{Flags, ItemId, folder};

const USERS: [&str; 3] = ["a0@abort.test", "a1@abort.test", "a2@abort.test"];

#[tokio::test]
async fn zmbackupabort_r_stops_a_restore_between_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("h")).await;
    for u in USERS {
        let id = h.account(u).await;
        let mb = h.store.mailbox(id).await.unwrap();
        mb.append(
            ItemId(folder::INBOX),
            b"Subject: x\r\n\r\nx\r\n",
            Flags(0),
            1,
        )
        .await
        .unwrap();
    }
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();

    // A stale flag is cleared, not obeyed.
    journal::request_restore_abort(&h.paths.target).unwrap();
    let all = RestoreOptions {
        accounts: USERS.iter().map(|u| u.to_string()).collect(),
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore(&h.paths, &h.store, &h.dir, &all).await.unwrap();
    assert_eq!(rep.restored.len(), 3, "{rep:?}");
    assert!(rep.aborted.is_empty());
    assert!(!journal::restore_abort_requested(&h.paths.target));

    // The flag raised while the first account is being restored.
    let journal_dir = h.paths.target.join("restore-journal");
    let target = h.paths.target.clone();
    let raiser = tokio::spawn(async move {
        for _ in 0..2_000 {
            let busy = std::fs::read_dir(&journal_dir)
                .map(|d| d.filter_map(|e| e.ok()).count() > 0)
                .unwrap_or(false);
            if busy {
                commands::abort_restore(&zcs_backup::BackupPaths {
                    target: target.clone(),
                    ..zcs_backup::BackupPaths::for_home(&target)
                })
                .unwrap();
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        false
    });
    let held = RestoreOptions {
        drill_pause_ms: Some(400),
        ..all.clone()
    };
    let rep = restore(&h.paths, &h.store, &h.dir, &held).await.unwrap();
    assert!(raiser.await.unwrap(), "the restore never took an account");
    assert_eq!(rep.restored.len(), 1, "{rep:?}");
    assert_eq!(rep.aborted.len(), 2, "{rep:?}");
    assert!(!journal::restore_abort_requested(&h.paths.target));
    for u in USERS {
        let e = h.entry(u).await;
        assert_ne!(
            e.attrs.get("zimbraAccountStatus"),
            Some(journal::MAINTENANCE),
            "{u} left in maintenance"
        );
    }
    let text = zcs_backup::cli::restore_report(rep)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("restore aborted by zmbackupabort -r"),
        "{text}"
    );
}
