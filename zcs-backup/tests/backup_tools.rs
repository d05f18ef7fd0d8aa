//! The directory and redo tools on the backup side: `zmrestoreldap` (list labels with
//! `-lbs`, restore named accounts with `-lb label -a ...`, everything without `-a`;
//! spec 04 test idea 33) and `zmplayredo` windows (`--fromTime`/`--toTime`,
//! `--fromSeq`/`--toSeq`, `--mailboxId`; test idea 34).

mod common;

use common::*;

use zcs_backup::commands::{self, PlayRedoArgs, RestoreLdapArgs};
use zcs_core::{Attrs, EntryKind};
use zcs_directory::EntryKey;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[tokio::test]
async fn zmrestoreldap_lists_labels_and_restores_named_or_all_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.account("a@l.test").await;
    h.account("b@l.test").await;
    let gold = h
        .dir
        .create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    let list = h
        .dir
        .create_entry(EntryKind::DistributionList, "list@l.test", Attrs::new())
        .await
        .unwrap();
    let gone = h
        .dir
        .create_entry(EntryKind::Domain, "gone.test", Attrs::new())
        .await
        .unwrap();
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    for n in ["a@l.test", "b@l.test"] {
        let id = h.id_of(n).await;
        h.dir.delete_entry(EntryKind::Account, id).await.unwrap();
    }
    h.dir.delete_entry(EntryKind::Cos, gold.id).await.unwrap();
    h.dir
        .delete_entry(EntryKind::DistributionList, list.id)
        .await
        .unwrap();
    h.dir
        .delete_entry(EntryKind::Domain, gone.id)
        .await
        .unwrap();
    let exists = |kind, name: &'static str| {
        let dir = h.dir.clone();
        async move {
            dir.get_entry(kind, &EntryKey::Name(name.into()))
                .await
                .unwrap()
                .is_some()
        }
    };

    let lbs: RestoreLdapArgs = commands::parse("zmrestoreldap", words("-lbs")).unwrap();
    let out = commands::restore_ldap(&h.paths, &h.dir, &lbs)
        .await
        .unwrap();
    assert_eq!(out, format!("{}\n", full.label));

    let all: RestoreLdapArgs =
        commands::parse("zmrestoreldap", words(&format!("-lb {}", full.label))).unwrap();
    let out = commands::restore_ldap(&h.paths, &h.dir, &all)
        .await
        .unwrap();
    // Entries deleted after the backup come back (under new ids when the directory
    // will not hand the old ones out again).
    assert!(exists(EntryKind::Cos, "gold").await, "{out}");
    assert!(exists(EntryKind::Account, "a@l.test").await, "{out}");
    assert!(exists(EntryKind::Account, "b@l.test").await, "{out}");
    assert!(
        exists(EntryKind::DistributionList, "list@l.test").await,
        "{out}"
    );
    assert!(exists(EntryKind::Domain, "gone.test").await, "{out}");
    // A second run finds everything in place and writes nothing new.
    let again = commands::restore_ldap(&h.paths, &h.dir, &all)
        .await
        .unwrap();
    assert!(!again.contains("recreated"), "{again}");

    let bad: RestoreLdapArgs =
        commands::parse("zmrestoreldap", words("-lb full-19990101.000000.000")).unwrap();
    assert!(
        commands::restore_ldap(&h.paths, &h.dir, &bad)
            .await
            .is_err()
    );
}

fn m(n: u32) -> Vec<u8> {
    format!("Subject: r{n}\r\n\r\nbody {n}\r\n").into_bytes()
}

#[tokio::test]
async fn zmplayredo_replays_only_its_window() {
    let tmp = tempfile::tempdir().unwrap();
    let src = home(&tmp.path().join("src")).await;
    let id = src.account("p@r.test").await;
    let mb = src.store.mailbox(id).await.unwrap();
    let mbid = mb.id().0;
    fill_inbox(&mb, 0..3, m, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let cut = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    fill_inbox(&mb, 3..6, m, 1).await;
    let logdir = src.paths.redolog.clone();

    let play = |n: u32, extra: String| {
        let logdir = logdir.clone();
        let root = tmp.path().join(format!("dst{n}"));
        async move {
            let dst = home(&root).await;
            let args: PlayRedoArgs = commands::parse(
                "zmplayredo",
                words(&format!(
                    "--logdir {} -m {mbid}={id} {extra}",
                    logdir.display()
                )),
            )
            .unwrap();
            let out = commands::play_redo(&dst.store, &args).await?;
            Ok::<_, zcs_backup::BackupError>((inbox(&dst.store, id).await, out))
        }
    };
    let stamp = cut.format("%Y%m%d%H%M%S%3f").to_string();
    let (after, out) = play(1, format!("--fromTime {stamp}")).await.unwrap();
    assert_eq!(after, (3..6).map(m).collect::<Vec<_>>(), "{out}");
    let (before, out) = play(2, format!("--toTime {stamp}")).await.unwrap();
    assert_eq!(before, (0..3).map(m).collect::<Vec<_>>(), "{out}");
    let (before, _) = play(4, format!("--fromSeq 0 --toTime {stamp}"))
        .await
        .unwrap();
    assert_eq!(before.len(), 3);
    // Another mailbox id: nothing for this account.
    let (none, out) = play(5, "--mailboxId 999999".into()).await.unwrap();
    assert!(none.is_empty(), "{out}");
    assert!(play(6, "--fromTime yesterday".into()).await.is_err());
}
