//! Finishing a restore a crash cut off: the journal records what was asked (here a
//! restore into a new prefixed account, to the full session only), and
//! `resume_interrupted`, as a starting server runs it, completes it with the same
//! options, calling the caller's hook while the account is still in maintenance. A
//! hook that fails keeps the account in maintenance and its journal entry for the next
//! attempt.

mod common;

use std::sync::{Arc, Mutex};

use common::*;

use zcs_backup::journal::Journal;
use zcs_backup::resume::HookFuture;
use zcs_backup::{ReleaseHook, RestoreOptions, restore, resume_interrupted};
use zcs_core::{EntryKind, Flags, ItemId, ZimbraId, folder};
use zcs_directory::{Directory, EntryKey};

fn msg(n: u32) -> Vec<u8> {
    format!("Subject: resume {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

/// Records the accounts it is called for and the status each had then.
struct Recorder {
    dir: Arc<dyn Directory>,
    seen: Mutex<Vec<(ZimbraId, String)>>,
    fail: bool,
}

impl ReleaseHook for Recorder {
    fn before_release(&self, account: ZimbraId) -> HookFuture<'_> {
        Box::pin(async move {
            let e = self
                .dir
                .get_entry(EntryKind::Account, &EntryKey::Id(account))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no such account")?;
            let status = e.attrs.get("zimbraAccountStatus").unwrap_or("active");
            self.seen
                .lock()
                .unwrap()
                .push((account, status.to_string()));
            if self.fail {
                return Err("index volume full".into());
            }
            Ok(())
        })
    }
}

fn status_of(e: &zcs_core::Entry) -> String {
    e.attrs
        .get("zimbraAccountStatus")
        .unwrap_or("active")
        .to_string()
}

/// A home with r@s.test holding 3 messages in a full backup and 2 more in an
/// incremental, and a restore of it into `p_r@s.test` to the full only, killed after
/// the rows are in.
async fn interrupted(root: &std::path::Path) -> Home {
    let h = home(root).await;
    let id = h.account("r@s.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..3, msg, 1).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    fill_inbox(&mb, 3..5, msg, 1).await;
    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let held = RestoreOptions {
        accounts: vec!["r@s.test".into()],
        prefix: Some("p_".into()),
        full_only: true,
        quiet: true,
        drill_pause_ms: Some(30_000),
        ..RestoreOptions::default()
    };
    let (paths, store, dir) = (h.paths.clone(), h.store.clone(), h.dir.clone());
    let task = tokio::spawn(async move { restore(&paths, &store, &dir, &held).await });
    let journal = Journal::open(&h.paths.target);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while journal.pending().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(status_of(&h.entry("p_r@s.test").await), "maintenance");
    h
}

#[tokio::test]
async fn an_interrupted_restore_is_finished_with_its_own_options() {
    let tmp = tempfile::tempdir().unwrap();
    let h = interrupted(tmp.path()).await;
    let hook = Recorder {
        dir: h.dir.clone(),
        seen: Mutex::new(Vec::new()),
        fail: false,
    };
    let rep = resume_interrupted(&h.paths, &h.store, &h.dir, Some(&hook)).await;
    assert!(rep.failed.is_empty(), "{:?}", rep.failed);
    assert_eq!(
        rep.finished,
        vec![("r@s.test".to_string(), "p_r@s.test".to_string())]
    );
    let restored = h.entry("p_r@s.test").await;
    assert_eq!(status_of(&restored), "active");
    // The hook ran while the account was still held.
    assert_eq!(
        *hook.seen.lock().unwrap(),
        vec![(restored.id, "maintenance".to_string())]
    );
    // Full session only, as first asked: 3 messages, not 5.
    let want: Vec<Vec<u8>> = {
        let mut v: Vec<Vec<u8>> = (0..3).map(msg).collect();
        v.sort();
        v
    };
    assert_eq!(inbox(&h.store, restored.id).await, want);
    assert!(Journal::open(&h.paths.target).pending().is_empty());
    // The original account was not touched.
    assert_eq!(inbox(&h.store, h.id_of("r@s.test").await).await.len(), 5);
    // Nothing left to resume.
    let again = resume_interrupted(&h.paths, &h.store, &h.dir, None).await;
    assert!(again.finished.is_empty() && again.failed.is_empty());
}

#[tokio::test]
async fn a_failing_hook_keeps_the_account_held_for_the_next_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let h = interrupted(tmp.path()).await;
    let hook = Recorder {
        dir: h.dir.clone(),
        seen: Mutex::new(Vec::new()),
        fail: true,
    };
    let rep = resume_interrupted(&h.paths, &h.store, &h.dir, Some(&hook)).await;
    assert!(rep.finished.is_empty());
    assert_eq!(rep.failed.len(), 1);
    assert!(
        rep.failed[0].1.contains("index volume full"),
        "{:?}",
        rep.failed
    );
    assert_eq!(status_of(&h.entry("p_r@s.test").await), "maintenance");
    assert_eq!(Journal::open(&h.paths.target).pending().len(), 1);
    // Without the fault the next start finishes it.
    let rep = resume_interrupted(&h.paths, &h.store, &h.dir, None).await;
    assert!(rep.failed.is_empty(), "{:?}", rep.failed);
    assert_eq!(status_of(&h.entry("p_r@s.test").await), "active");
}

/// A finished restore leaves no run file; a run killed between accounts leaves one, and
/// resuming reports the accounts it never reached (untouched, not restored) and clears
/// it.
#[tokio::test]
async fn a_killed_runs_unreached_accounts_are_reported_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    for name in ["a@run.test", "b@run.test", "c@run.test"] {
        let id = h.account(name).await;
        let mb = h.store.mailbox(id).await.unwrap();
        mb.append(ItemId(folder::INBOX), &msg(1), Flags(0), 1)
            .await
            .unwrap();
    }
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let opts = RestoreOptions {
        accounts: vec!["a@run.test".into()],
        quiet: true,
        ..RestoreOptions::default()
    };
    restore(&h.paths, &h.store, &h.dir, &opts).await.unwrap();
    let journal = Journal::open(&h.paths.target);
    assert!(
        journal.run().is_none(),
        "a finished restore leaves no run file"
    );

    // What a restore of all three killed after the first leaves (no account held).
    let run = zcs_backup::journal::Run {
        started_ms: 1,
        label: "full-20070712.155951.123".into(),
        accounts: vec![
            "a@run.test".into(),
            "b@run.test".into(),
            "c@run.test".into(),
        ],
        done: vec!["a@run.test".into()],
        ..Default::default()
    };
    journal.begin_run(&run).unwrap();
    let rep = resume_interrupted(&h.paths, &h.store, &h.dir, None).await;
    assert_eq!(
        rep.not_reached,
        vec!["b@run.test".to_string(), "c@run.test".to_string()]
    );
    assert!(rep.finished.is_empty() && rep.failed.is_empty(), "{rep:?}");
    assert!(journal.run().is_none());
}
