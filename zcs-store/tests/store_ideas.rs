//! The spec 02 §6 test ideas on HSM and purge that had no test of their own (35, 36,
//! 37, 41), and emptying a folder: each test names its idea.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};
use zcs_store::retention::{Policy, RetentionPolicy};
use zcs_store::{
    MailboxSettings, PurgePolicy, Store, StoreConfig, VolumeAdmin, VolumeBlobStore, VolumeSpec,
    VolumeType,
};

const DAY: i64 = 86_400_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A store with a current secondary volume under `dir`, and its blob backend.
async fn with_secondary(dir: &Path) -> (Store, StoreConfig, Arc<VolumeBlobStore>) {
    let cfg = StoreConfig::under(dir);
    let store = Store::open(cfg.clone()).await.unwrap();
    let admin = VolumeAdmin::open(&cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    admin
        .add(&VolumeSpec {
            name: Some("hsm1".into()),
            kind: Some(VolumeType::SecondaryMessage),
            path: Some(dir.join("hsm")),
            compress: Some(false),
            compression_threshold: None,
        })
        .await
        .unwrap();
    let blobs = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    (store, cfg, blobs)
}

fn volume_of(blobs: &VolumeBlobStore, digest: &str) -> i64 {
    blobs
        .locate(digest)
        .unwrap()
        .expect("blob present")
        .volume_id
}

fn blob_files(root: &Path) -> usize {
    walk(root)
}

fn walk(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else if path.to_string_lossy().contains(".msg") {
                1
            } else {
                0
            }
        })
        .sum()
}

/// Idea 35: with Zimbra's default policy (`message,document:before:-30days`) a message
/// dated 31 days ago moves to the secondary volume, one dated 29 days ago stays, a
/// contact is untouched; ids and content do not change.
#[tokio::test]
async fn hsm_default_policy_moves_31_days_keeps_29() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cfg, blobs) = with_secondary(dir.path()).await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let now = now_ms();
    let inbox = ItemId(folder::INBOX);
    let old = mb
        .append(inbox, &simple_message(31), Flags(0), now - 31 * DAY)
        .await
        .unwrap();
    let young = mb
        .append(inbox, &simple_message(29), Flags(0), now - 29 * DAY)
        .await
        .unwrap();
    let contact = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), "c@example.com".into())],
            Vec::new(),
        )
        .await
        .unwrap();

    let policy = HsmPolicy::parse("message,document:before:-30days", now).unwrap();
    let st = hsm::run(&cfg.db_path, blobs.clone(), &[policy], 10_000)
        .await
        .unwrap();
    assert_eq!((st.blobs_selected, st.blobs_moved), (1, 1), "{st:?}");
    assert_eq!(volume_of(&blobs, &old.blob_digest), st.dest_volume);
    assert_eq!(volume_of(&blobs, &young.blob_digest), 1);
    // Same ids, same bytes, the contact as it was.
    assert_eq!(mb.message(old.id).await.unwrap().id, old.id);
    assert_eq!(mb.read_message(old.id).await.unwrap(), simple_message(31));
    assert_eq!(mb.read_message(young.id).await.unwrap(), simple_message(29));
    assert_eq!(mb.contact(contact.id).await.unwrap().fields, contact.fields);
    store.close().await;
}

/// Idea 36: batches of 2 over many qualifying blobs; an abort during the pass stops it
/// between batches, and the next pass moves what is left: every blob ends on the
/// secondary volume exactly once and reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsm_abort_mid_run_then_restart_moves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cfg, blobs) = with_secondary(dir.path()).await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let n = 300usize;
    let msgs: Vec<_> = (0..n).map(simple_message).collect();
    let mut ids = Vec::new();
    for m in &msgs {
        ids.push(
            mb.append(ItemId(folder::INBOX), m, Flags(0), 1_000)
                .await
                .unwrap(),
        );
    }
    let policy = [HsmPolicy::parse("message:before:-1days", now_ms()).unwrap()];

    let db = cfg.db_path.clone();
    let (b, p) = (blobs.clone(), policy.clone());
    let pass = tokio::spawn(async move { hsm::run(&db, b, &p, 2).await });
    // Abort as soon as the first batch is recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let st = HsmStatus::load(&cfg.db_path);
        if st.as_ref().is_some_and(|s| s.running && s.blobs_moved >= 2) {
            assert!(hsm::request_abort(&cfg.db_path).unwrap());
            break;
        }
        if st.is_some_and(|s| !s.running && s.finished_ms > 0) || pass.is_finished() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no batch recorded");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let first = pass.await.unwrap().unwrap();
    assert!(first.aborted, "the pass stopped at the abort: {first:?}");
    assert!(
        first.blobs_moved >= 2 && first.blobs_moved < n as u64,
        "{first:?}"
    );
    assert_eq!(first.blobs_moved % 2, 0, "whole batches only: {first:?}");
    assert!(!HsmStatus::load(&cfg.db_path).unwrap().running);

    // A restart re-selects what is still on the primary volume and moves only that.
    let second = hsm::run(&cfg.db_path, blobs.clone(), &policy, 2)
        .await
        .unwrap();
    assert!(!second.aborted);
    assert_eq!(second.blobs_selected, n as u64);
    assert_eq!(
        first.blobs_moved + second.blobs_moved,
        n as u64,
        "{second:?}"
    );
    assert_eq!(blob_files(&cfg.blob_root), 0, "nothing left on the primary");
    assert_eq!(blob_files(&dir.path().join("hsm")), n, "each blob once");
    for (m, raw) in ids.iter().zip(&msgs) {
        assert_eq!(&mb.read_message(m.id).await.unwrap(), raw);
    }
    store.close().await;
}

/// Idea 37: `message:in:junk before:-1days` moves junk older than a day, not younger
/// junk nor old mail elsewhere.
#[tokio::test]
async fn hsm_junk_policy_moves_only_old_junk() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cfg, blobs) = with_secondary(dir.path()).await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let now = now_ms();
    let old_junk = mb
        .append(
            ItemId(folder::JUNK),
            &simple_message(1),
            Flags(0),
            now - 2 * DAY,
        )
        .await
        .unwrap();
    let new_junk = mb
        .append(ItemId(folder::JUNK), &simple_message(2), Flags(0), now)
        .await
        .unwrap();
    let old_inbox = mb
        .append(
            ItemId(folder::INBOX),
            &simple_message(3),
            Flags(0),
            now - 2 * DAY,
        )
        .await
        .unwrap();
    let policy = HsmPolicy::parse("message:in:junk before:-1days", now).unwrap();
    let st = hsm::run(&cfg.db_path, blobs.clone(), &[policy], 10)
        .await
        .unwrap();
    assert_eq!(st.blobs_moved, 1, "{st:?}");
    assert_eq!(volume_of(&blobs, &old_junk.blob_digest), st.dest_volume);
    assert_eq!(volume_of(&blobs, &new_junk.blob_digest), 1);
    assert_eq!(volume_of(&blobs, &old_inbox.blob_digest), 1);
    assert_eq!(
        mb.read_message(old_junk.id).await.unwrap(),
        simple_message(1)
    );
    store.close().await;
}

/// Idea 41: with a message lifetime of 120 days a message goes at the earlier of the
/// lifetime and its folder's disposal threshold: disposal 90 days purges at 90, disposal
/// 360 days at 120, and a retention (keep) range of 150 days does not extend the 120.
#[tokio::test]
async fn message_lifetime_and_folder_policies_take_the_earlier() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let short = mb.create_folder(root, "dispose90").await.unwrap();
    let long = mb.create_folder(root, "dispose360").await.unwrap();
    let kept = mb.create_folder(root, "keep150").await.unwrap();
    for (f, purge, keep) in [
        (short.id, vec![Policy::user("90d")], Vec::new()),
        (long.id, vec![Policy::user("360d")], Vec::new()),
        (kept.id, Vec::new(), vec![Policy::user("150d")]),
    ] {
        mb.set_retention_policy(f, &RetentionPolicy { keep, purge })
            .await
            .unwrap();
    }
    let t = 10_000 * DAY;
    let at = |days: i64| t - days * DAY;
    let mut items = Vec::new();
    for (n, (f, days)) in [
        (short.id, 100),
        (short.id, 80),
        (long.id, 130),
        (long.id, 100),
        (kept.id, 130),
        (kept.id, 100),
    ]
    .into_iter()
    .enumerate()
    {
        let m = mb
            .append(f, &simple_message(n), Flags(0), at(days))
            .await
            .unwrap();
        items.push(m.id);
    }
    let policy = PurgePolicy {
        message_lifetime_ms: 120 * DAY,
        ..PurgePolicy::default()
    };
    let r = mb.purge(t, policy).await.unwrap();
    let mut want = vec![items[0], items[2], items[4]];
    want.sort();
    assert_eq!(
        r.messages, want,
        "90 < 120; 120 < 360; keep 150 extends nothing"
    );
    for kept in [items[1], items[3], items[5]] {
        assert!(mb.message(kept).await.is_ok());
    }
    store.close().await;
}

/// Emptying a folder (FolderAction empty) deletes every item in it, whatever its kind,
/// into the dumpster when it is on, and leaves subfolders and their items alone.
#[tokio::test]
async fn empty_folder_takes_every_kind_and_leaves_subfolders() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::under(dir.path())).await.unwrap();
    let mb = store
        .mailbox(ZimbraId::new())
        .await
        .unwrap()
        .with_settings(MailboxSettings {
            dumpster_enabled: true,
            ..MailboxSettings::default()
        });
    // Trash holds every kind; emptying it is what clients do most.
    let f = mb.folder(ItemId(folder::TRASH)).await.unwrap();
    let sub = mb.create_folder(f.id, "sub").await.unwrap();
    let m1 = mb
        .append(f.id, &simple_message(1), Flags(0), 1)
        .await
        .unwrap();
    let m2 = mb
        .append(f.id, &simple_message(2), Flags(0), 2)
        .await
        .unwrap();
    let c = mb
        .create_contact(f.id, vec![("email".into(), "x@y.z".into())], Vec::new())
        .await
        .unwrap();
    let d = mb
        .save_document(f.id, "a.txt", "text/plain", b"doc", "me")
        .await
        .unwrap();
    let under = mb
        .append(sub.id, &simple_message(3), Flags(0), 3)
        .await
        .unwrap();
    let before = mb.change_number().await.unwrap();

    let mut gone = mb.empty_folder(f.id).await.unwrap();
    gone.sort();
    let mut want = vec![m1.id, m2.id, c.id, d.id];
    want.sort();
    assert_eq!(gone, want);
    assert!(mb.messages(f.id).await.unwrap().is_empty());
    assert!(mb.contacts(f.id).await.unwrap().is_empty());
    assert!(mb.documents(f.id).await.unwrap().is_empty());
    assert_eq!(mb.messages(sub.id).await.unwrap()[0].id, under.id);
    assert!(mb.change_number().await.unwrap() > before);
    let tomb: Vec<ItemId> = mb
        .tombstones_since(before.0)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert!(tomb.contains(&m1.id) && tomb.contains(&m2.id), "{tomb:?}");
    let dumpster: Vec<ItemId> = mb
        .dumpster_items()
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert!(dumpster.contains(&m1.id) && dumpster.contains(&m2.id));
    // An empty folder empties to nothing.
    assert!(mb.empty_folder(f.id).await.unwrap().is_empty());
    store.close().await;
}
