//! Spec 04 §6 test ideas about backup and restore that no other file covers; each test
//! names its idea. The mapping of every idea to its test is in `tests/README.md`.

mod common;

use std::sync::Arc;

use common::*;
use zcs_backup::commands::{self, QueryArgs, RestoreLdapArgs};
use zcs_backup::redo_io::RestoreScope;
use zcs_backup::restore::restore_scoped;
use zcs_backup::{BackupPaths, RestoreOptions, catalog, layout, restore};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, folder};
use zcs_directory::{Directory, EntryKey};

fn msg(n: u32) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

fn prefixed(prefix: &str, account: &str) -> RestoreOptions {
    RestoreOptions {
        accounts: vec![account.into()],
        prefix: Some(prefix.into()),
        quiet: true,
        ..RestoreOptions::default()
    }
}

/// Idea 5: a current redo log damaged in the middle is set aside by the store (which
/// logs the damage and keeps the file) and cut there; a restore then says the log was
/// damaged and brings back the backup and the records before the damage: those after
/// it are the only loss.
#[tokio::test]
async fn a_damaged_redo_log_is_named_and_only_what_follows_the_damage_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let h = home(&root).await;
    let id = h.account("u@c5.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..2, msg, 1).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    fill_inbox(&mb, 10..16, msg, 2).await;
    h.store.close().await;
    let log = h.paths.redolog.join("redo.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"body 13")
        .unwrap_or(bytes.len() * 2 / 3);
    bytes[at] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();

    let store = store_at(&h.paths).await;
    let damaged: Vec<_> = std::fs::read_dir(&h.paths.redolog)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("redo.log.corrupt-")
        })
        .collect();
    assert_eq!(damaged.len(), 1, "the store keeps the damaged log aside");
    let rep = restore(&h.paths, &store, &h.dir, &prefixed("r_", "u@c5.test"))
        .await
        .unwrap();
    assert_eq!(rep.server_redo_damaged.len(), 1, "{rep:?}");
    let got = inbox(&store, h.id_of("r_u@c5.test").await).await;
    assert!(
        got.len() >= 2 + 3 && got.len() < 8,
        "{} messages",
        got.len()
    );
    assert!(got.contains(&msg(10)) && !got.contains(&msg(15)));
    let text = zcs_backup::cli::restore_report(rep).unwrap();
    assert!(text.contains("redo log was damaged"), "{text}");
}

/// Idea 6: a full backup taken while mail keeps arriving returns a GMT label of
/// Zimbra's shape, and no message is lost: what the snapshot missed is in the next
/// incremental, so a restore brings every delivered message back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_during_a_full_backup_are_never_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = h.account(&format!("u{i}@d.test")).await;
        let mb = h.store.mailbox(id).await.unwrap();
        fill_inbox(&mb, 0..10, msg, 1).await;
        ids.push(id);
    }
    let store = h.store.clone();
    let targets = ids.clone();
    let deliver = tokio::spawn(async move {
        let mut n = 100;
        for round in 0..15 {
            for id in &targets {
                let mb = store.mailbox(*id).await.unwrap();
                mb.append(ItemId(folder::INBOX), &msg(n), Flags(0), 2)
                    .await
                    .unwrap();
                n += 1;
            }
            if round % 3 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    let before = chrono::Utc::now();
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    deliver.await.unwrap();
    let after = chrono::Utc::now();

    // full-YYYYMMDD.HHMMSS.mmm, in GMT.
    let stamp = full.label.strip_prefix("full-").expect("full- label");
    assert_eq!(stamp.len(), "YYYYMMDD.HHMMSS.mmm".len(), "{}", full.label);
    let at = catalog::label_time(&full.label).expect("label names a time");
    assert!(
        at >= before - chrono::Duration::milliseconds(1) && at <= after,
        "{at} not within {before}..{after}"
    );

    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        let name = format!("u{i}@d.test");
        let live = inbox(&h.store, *id).await;
        assert_eq!(live.len(), 25, "{name}");
        let rep = restore(&h.paths, &h.store, &h.dir, &prefixed("r_", &name))
            .await
            .unwrap();
        assert_eq!(rep.restored.len(), 1, "{rep:?}");
        let back = h.id_of(&format!("r_{name}")).await;
        assert_eq!(inbox(&h.store, back).await, live, "{name}");
    }
}

/// Idea 7: one full and one incremental leave the files Zimbra's layout names:
/// `accounts.xml`, `session.xml`, `sys/db_schema.xml`, the local config, `LDAP/ldap.bak`,
/// per account `meta.xml`, `ldap.xml` and its data; an incremental has no per-account
/// database data; the incremental's redo records are in the session (zcs keeps them
/// there instead of a target-wide `redologs/`: see `zcs_backup::layout`). The index copy
/// (`sys/index/`, present when the server has an index) is checked in `index.rs`.
#[tokio::test]
async fn one_full_and_one_incremental_have_zimbras_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let h = home(&root).await;
    std::fs::write(
        root.join("conf/localconfig.toml"),
        "zimbra_server_hostname = \"m\"\n",
    )
    .unwrap();
    let id = h.account("u@l.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(ItemId(folder::INBOX), &msg(1), Flags(0), 1)
        .await
        .unwrap();
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    mb.append(ItemId(folder::INBOX), &msg(2), Flags(0), 2)
        .await
        .unwrap();
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();

    let target = &h.paths.target;
    let accounts = std::fs::read_to_string(target.join("accounts.xml")).unwrap();
    assert!(
        accounts.contains(&format!("zimbraId=\"{id}\""))
            && accounts.contains(&format!("latestFullBackupLabel=\"{}\"", full.label)),
        "{accounts}"
    );
    let f = &full.dir;
    assert!(f.starts_with(target.join("sessions")));
    let session = std::fs::read_to_string(f.join("session.xml")).unwrap();
    assert!(session.contains("type=\"full\"") && session.contains("u@l.test"));
    for rel in [
        "session.json",
        "sys/db_schema.xml",
        "sys/localconfig.toml",
        "sys/mailbox.db",
        "LDAP/ldap.bak",
        "blobs",
    ] {
        assert!(f.join(rel).exists(), "full session lacks {rel}");
    }
    assert_eq!(
        std::fs::read(f.join("LDAP/ldap.bak")).unwrap(),
        std::fs::read(f.join("sys/directory.json")).unwrap()
    );
    let adir = catalog::account_dir(f, &id.to_string());
    assert!(adir.ends_with(id.to_string()));
    for rel in ["meta.xml", "ldap.xml", "account.json"] {
        assert!(adir.join(rel).is_file(), "account dir lacks {rel}");
    }
    let ldap = std::fs::read_to_string(adir.join("ldap.xml")).unwrap();
    assert!(ldap.contains("name=\"u@l.test\""), "{ldap}");

    let i = &incr.dir;
    assert!(
        i.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("incr-")
    );
    for rel in [
        "session.xml",
        "sys/db_schema.xml",
        "LDAP/ldap.bak",
        "redo/records.log",
    ] {
        assert!(i.join(rel).exists(), "incremental lacks {rel}");
    }
    let iacct = catalog::account_dir(i, &id.to_string());
    assert!(iacct.join("ldap.xml").is_file());
    assert!(!iacct.join("meta.xml").exists() && !i.join("sys/mailbox.db").exists());
    assert!(!iacct.join("db").exists());
}

/// Idea 10: an incremental copies whole an account that has no full backup in the
/// chain (here: left out of the full by `-a`), so its mail from before that full is
/// restorable; the next incremental does not copy it again.
#[tokio::test]
async fn an_incremental_copies_whole_an_account_left_out_of_the_full() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let a = h.account("a@i.test").await;
    let b = h.account("b@i.test").await;
    for id in [a, b] {
        let mb = h.store.mailbox(id).await.unwrap();
        fill_inbox(&mb, 0..3, msg, 1).await;
    }
    let only_a = zcs_backup::BackupOptions {
        accounts: vec!["a@i.test".into()],
        ..quiet()
    };
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &only_a)
        .await
        .unwrap();
    assert_eq!(full.accounts, 1);
    let mbb = h.store.mailbox(b).await.unwrap();
    mbb.append(ItemId(folder::INBOX), &msg(10), Flags(0), 2)
        .await
        .unwrap();
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let bdir = catalog::account_dir(&incr.dir, &b.to_string());
    assert!(incr.dir.join("sys/mailbox.db").is_file());
    assert!(bdir.join("account.json").is_file() && bdir.join("meta.xml").is_file());
    let adir = catalog::account_dir(&incr.dir, &a.to_string());
    assert!(!adir.join("account.json").exists(), "a has its full backup");

    mbb.append(ItemId(folder::INBOX), &msg(11), Flags(0), 3)
        .await
        .unwrap();
    let incr2 = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert!(
        !incr2.dir.join("sys/mailbox.db").exists(),
        "b is covered now"
    );

    for (name, id, n) in [("b@i.test", b, 5), ("a@i.test", a, 3)] {
        restore(&h.paths, &h.store, &h.dir, &prefixed("r_", name))
            .await
            .unwrap();
        let got = inbox(&h.store, h.id_of(&format!("r_{name}")).await).await;
        assert_eq!(got.len(), n, "{name}");
        assert_eq!(got, inbox(&h.store, id).await, "{name}");
    }
    // A point before the copy: b's copy is not used past its time.
    let early = RestoreOptions {
        to_incr_label: Some(incr.label.clone()),
        ..prefixed("e_", "b@i.test")
    };
    restore(&h.paths, &h.store, &h.dir, &early).await.unwrap();
    assert_eq!(inbox(&h.store, h.id_of("e_b@i.test").await).await.len(), 4);
}

/// Idea 27: without `accounts.xml` a restore that names no full backup stops with a
/// clear message; with `-lb` it works; the next backup writes the catalog again.
#[tokio::test]
async fn a_missing_accounts_xml_needs_a_label() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("u@m.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    mb.append(ItemId(folder::INBOX), &msg(1), Flags(0), 1)
        .await
        .unwrap();
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    std::fs::remove_file(h.paths.target.join("accounts.xml")).unwrap();

    let e = restore(&h.paths, &h.store, &h.dir, &prefixed("r1_", "u@m.test"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("accounts.xml") && e.contains("-lb"), "{e}");
    let with_label = RestoreOptions {
        label: Some(full.label.clone()),
        ..prefixed("r1_", "u@m.test")
    };
    restore(&h.paths, &h.store, &h.dir, &with_label)
        .await
        .unwrap();
    assert_eq!(inbox(&h.store, h.id_of("r1_u@m.test").await).await.len(), 1);

    zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let listed = layout::read_accounts_xml(&h.paths.target).unwrap();
    assert!(
        listed
            .iter()
            .any(|a| a.name == "u@m.test" && a.latest_full == full.label)
    );
    restore(&h.paths, &h.store, &h.dir, &prefixed("r2_", "u@m.test"))
        .await
        .unwrap();
}

/// Idea 28: every session holds the local config; a `-sys` restore writes it as
/// `conf/localconfig.toml.restore` and leaves the live file alone.
#[tokio::test]
async fn a_system_restore_writes_the_local_config_beside_the_live_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let h = home(&root).await;
    let live = root.join("conf/localconfig.toml");
    std::fs::write(&live, "k = \"at backup\"\n").unwrap();
    h.account("u@c.test").await;
    let full = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    assert!(full.dir.join("sys/localconfig.toml").is_file());
    std::fs::write(&live, "k = \"changed since\"\n").unwrap();

    let scope = RestoreScope {
        system: true,
        ..RestoreScope::default()
    };
    let opts = RestoreOptions {
        accounts: vec!["u@c.test".into()],
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore_scoped(&h.paths, &h.store, &h.dir, &opts, &scope, None)
        .await
        .unwrap();
    let copy = root.join("conf/localconfig.toml.restore");
    assert_eq!(rep.localconfig_restored.as_deref(), Some(copy.as_path()));
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        "k = \"at backup\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "k = \"changed since\"\n"
    );
    let text = zcs_backup::cli::restore_report(rep).unwrap();
    assert!(text.contains("localconfig.toml.restore"), "{text}");

    // Without -sys nothing is written.
    std::fs::remove_file(&copy).unwrap();
    let rep = restore_scoped(
        &h.paths,
        &h.store,
        &h.dir,
        &opts,
        &RestoreScope::default(),
        None,
    )
    .await
    .unwrap();
    assert!(rep.localconfig_restored.is_none() && !copy.exists());
}

/// Idea 24: quota never applies to a restore: an account twice over its quota comes
/// back whole, and the next append past the quota is refused.
#[tokio::test]
async fn an_account_over_quota_restores_fully_and_then_enforces_its_quota() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.dir
        .create_entry(EntryKind::Domain, "q.test", Attrs::new())
        .await
        .unwrap();
    let mut attrs = Attrs::new();
    let body = vec![b'x'; 4000];
    let big = |n: u32| {
        let mut m = format!("From: a@q.test\r\nSubject: big {n}\r\n\r\n").into_bytes();
        m.extend_from_slice(&body);
        m
    };
    let quota = 2 * 4100u64; // two messages' worth; the mailbox holds four
    attrs.set_one("zimbraMailQuota", quota.to_string());
    let id = h
        .dir
        .create_entry(EntryKind::Account, "u@q.test", attrs)
        .await
        .unwrap()
        .id;
    let mb = h.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..4, big, 1).await;
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();

    let rep = restore(&h.paths, &h.store, &h.dir, &prefixed("r_", "u@q.test"))
        .await
        .unwrap();
    assert_eq!(rep.restored.len(), 1);
    let back = h.entry("r_u@q.test").await;
    assert_eq!(inbox(&h.store, back.id).await.len(), 4);
    let q: u64 = back
        .attrs
        .get("zimbraMailQuota")
        .expect("quota restored with the account")
        .parse()
        .unwrap();
    assert_eq!(q, quota);
    let err = h
        .store
        .mailbox(back.id)
        .await
        .unwrap()
        .with_quota(q)
        .append(ItemId(folder::INBOX), &big(9), Flags(0), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(err, zcs_store::StoreError::QuotaExceeded { .. }),
        "{err:?}"
    );
}

/// Idea 29: a restore invalidates what IMAP clients cached: every folder of the
/// restored mailbox has a new UIDVALIDITY.
#[tokio::test]
async fn a_restore_changes_every_folders_uidvalidity() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    let id = h.account("u@v.test").await;
    let mb = h.store.mailbox(id).await.unwrap();
    let work = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    mb.append(work.id, &msg(1), Flags(0), 1).await.unwrap();
    mb.append(ItemId(folder::INBOX), &msg(2), Flags(0), 1)
        .await
        .unwrap();
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let before: Vec<(ItemId, u32)> = mb
        .folders()
        .await
        .unwrap()
        .iter()
        .map(|f| (f.id, f.uid_validity))
        .collect();

    let opts = RestoreOptions {
        accounts: vec!["u@v.test".into()],
        quiet: true,
        ..RestoreOptions::default()
    };
    restore(&h.paths, &h.store, &h.dir, &opts).await.unwrap();
    let mb = h.store.mailbox(id).await.unwrap();
    let after = mb.folders().await.unwrap();
    for (fid, uv) in &before {
        let now = after
            .iter()
            .find(|f| f.id == *fid)
            .expect("folder restored");
        assert_ne!(now.uid_validity, *uv, "folder {fid:?} kept its UIDVALIDITY");
    }
    assert_eq!(inbox(&h.store, id).await.len(), 1);
}

/// Idea 17: `zmbackupquery --type full --from <local time>` lists only the full
/// sessions started at or after that time (the nine time formats are checked in
/// `cli::tests::times_parse_in_each_of_the_nine_formats_as_local_time`).
#[tokio::test]
async fn query_by_type_and_local_from_time() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.account("u@t.test").await;
    let old = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    // The next whole second, local time, as the guide writes it.
    let cut = chrono::Local::now() + chrono::Duration::milliseconds(1100);
    let cut_text = cut.format("%Y/%m/%d %H:%M:%S").to_string();
    let wait = cut.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64)).await;
    let new = zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let incr = zcs_backup::incremental_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();
    let args: QueryArgs = commands::parse(
        "zmbackupquery",
        vec![
            "--type".into(),
            "full".into(),
            "--from".into(),
            cut_text.clone(),
        ],
    )
    .unwrap();
    let out = commands::query(&h.paths, &args).unwrap();
    assert!(out.contains(&new.label), "{cut_text}: {out}");
    assert!(!out.contains(&old.label), "{cut_text}: {out}");
    assert!(!out.contains(&incr.label), "{out}");
    let args: QueryArgs =
        commands::parse("zmbackupquery", vec!["--to".into(), cut_text.clone()]).unwrap();
    let out = commands::query(&h.paths, &args).unwrap();
    assert!(
        out.contains(&old.label) && !out.contains(&new.label),
        "{out}"
    );
}

/// Idea 31 (the parts a library test can hold): after the data and the directory are
/// lost, the directory restored by label and the mailboxes by an offline-style
/// restore (`-sys -a all -c -br`) bring back every account with its alias, its COS and
/// its list membership, as well as its mail.
#[tokio::test]
async fn disaster_recovery_brings_back_aliases_lists_and_classes_of_service() {
    let tmp = tempfile::tempdir().unwrap();
    let a = home(&tmp.path().join("a")).await;
    let mut cos_attrs = Attrs::new();
    cos_attrs.set_one("zimbraMailQuota", "1000000");
    let gold = a
        .dir
        .create_entry(EntryKind::Cos, "gold", cos_attrs)
        .await
        .unwrap();
    a.dir
        .create_entry(EntryKind::Domain, "dr.test", Attrs::new())
        .await
        .unwrap();
    let mut attrs = Attrs::new();
    attrs.set_one("zimbraCOSId", gold.id.to_string());
    attrs.set_one("zimbraMailAlias", "alias@dr.test");
    let u = a
        .dir
        .create_entry(EntryKind::Account, "u@dr.test", attrs)
        .await
        .unwrap();
    let mut alias = Attrs::new();
    alias.set_one("zimbraAliasTargetId", u.id.to_string());
    a.dir
        .create_entry(EntryKind::Alias, "alias@dr.test", alias)
        .await
        .unwrap();
    let mut list = Attrs::new();
    list.set_one("zimbraMailForwardingAddress", "u@dr.test");
    a.dir
        .create_entry(EntryKind::DistributionList, "team@dr.test", list)
        .await
        .unwrap();
    let mb = a.store.mailbox(u.id).await.unwrap();
    fill_inbox(&mb, 0..3, msg, 1).await;
    let full = zcs_backup::full_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();
    let want = inbox(&a.store, u.id).await;
    a.store.close().await;

    // The new server: an empty home and directory, the old backups copied in.
    let root = tmp.path().join("b");
    let b = home(&root).await;
    let paths = BackupPaths {
        target: a.paths.target.clone(),
        ..b.paths.clone()
    };
    let ldap = RestoreLdapArgs {
        label: Some(full.label.clone()),
        list: false,
        accounts: Vec::new(),
    };
    commands::restore_ldap(&paths, &b.dir, &ldap).await.unwrap();
    let opts = RestoreOptions {
        accounts: vec!["all".into()],
        continue_on_error: true,
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let scope = RestoreScope {
        server_redo: false,
        skip_deleted_accounts: false,
        system: true,
    };
    let rep = restore_scoped(&paths, &b.store, &b.dir, &opts, &scope, None)
        .await
        .unwrap();
    assert!(rep.failed.is_empty(), "{rep:?}");

    let get = |kind, name: &'static str| {
        let dir: Arc<dyn Directory> = b.dir.clone();
        async move {
            dir.get_entry(kind, &EntryKey::Name(name.into()))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{name} not restored"))
        }
    };
    let u2 = get(EntryKind::Account, "u@dr.test").await;
    let gold2 = get(EntryKind::Cos, "gold").await;
    assert_eq!(gold2.attrs.get("zimbraMailQuota"), Some("1000000"));
    assert_eq!(
        u2.attrs.get("zimbraCOSId"),
        Some(gold2.id.to_string().as_str())
    );
    assert_eq!(u2.attrs.get("zimbraMailAlias"), Some("alias@dr.test"));
    let alias2 = get(EntryKind::Alias, "alias@dr.test").await;
    assert_eq!(
        alias2.attrs.get("zimbraAliasTargetId"),
        Some(u2.id.to_string().as_str())
    );
    let team = get(EntryKind::DistributionList, "team@dr.test").await;
    assert_eq!(
        team.attrs.get_all("zimbraMailForwardingAddress"),
        ["u@dr.test".to_string()]
    );
    assert_eq!(inbox(&b.store, u2.id).await, want);
}

/// Idea 32: a new server started before its offline restore writes its own redo log
/// from sequence 1; the restore sees that this log is not the backup's history and
/// says so instead of replaying it (or silently ignoring it).
#[tokio::test]
async fn a_server_started_before_its_restore_has_its_redo_log_refused_loudly() {
    let tmp = tempfile::tempdir().unwrap();
    let a = home(&tmp.path().join("a")).await;
    let id = a.account("u@s.test").await;
    let mb = a.store.mailbox(id).await.unwrap();
    fill_inbox(&mb, 0..12, msg, 1).await;
    zcs_backup::full_backup(&a.paths, &a.dir, &quiet())
        .await
        .unwrap();
    let want = inbox(&a.store, id).await;
    a.store.close().await;

    // The new server ran first: one account, one delivery, in its own redo log.
    let b = home(&tmp.path().join("b")).await;
    let other = b.account("first@s.test").await;
    b.store
        .mailbox(other)
        .await
        .unwrap()
        .append(ItemId(folder::INBOX), &msg(99), Flags(0), 5)
        .await
        .unwrap();
    let paths = BackupPaths {
        target: a.paths.target.clone(),
        ..b.paths.clone()
    };
    let opts = RestoreOptions {
        accounts: vec!["u@s.test".into()],
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let rep = restore_scoped(
        &paths,
        &b.store,
        &b.dir,
        &opts,
        &RestoreScope::default(),
        None,
    )
    .await
    .unwrap();
    let why = rep
        .server_redo_skipped
        .clone()
        .expect("the new server's redo log is named as not the backup's");
    assert!(
        why.contains("restarted") || why.contains("after the backup"),
        "{why}"
    );
    assert_eq!(rep.server_records, 0);
    assert_eq!(inbox(&b.store, b.id_of("u@s.test").await).await, want);
    let text = zcs_backup::cli::restore_report(rep).unwrap();
    assert!(text.contains("were not replayed"), "{text}");
}
