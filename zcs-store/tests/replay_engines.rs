//! Redo replay onto every metadata engine (SQLite always, MariaDB and PostgreSQL when
//! `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set; skipped loudly otherwise):
//! - a lost database: an empty database is rebuilt from the whole log;
//! - a stale database: one left at an earlier checkpoint is brought forward by the
//!   records past it (the database rows of those changes were never written);
//! - a crash between the redo fsync and the database commit: a record in the log that
//!   no database transaction followed is applied at the next open.

mod common;

use std::collections::BTreeMap;

use common::engines::{Scratch, scratch_url};
use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::db::Backend;
use zcs_store::redo::{self, RedoOp, RedoRecord};
use zcs_store::{Mailbox, Store, StoreConfig, StoreOptions};

/// Everything observable about a mailbox, for before/after comparisons.
#[derive(Debug, PartialEq)]
struct Snapshot {
    id: i64,
    change: i64,
    folders: Vec<zcs_store::Folder>,
    messages: BTreeMap<i32, (zcs_store::MessageMeta, Vec<u8>)>,
    tags: Vec<zcs_store::Tag>,
    contacts: Vec<zcs_store::Contact>,
    documents: Vec<zcs_store::Document>,
    dumpster: Vec<zcs_store::DumpsterItem>,
    item_tags: BTreeMap<i32, Vec<String>>,
    colours: BTreeMap<i32, zcs_store::FolderColor>,
    attrs: BTreeMap<i32, zcs_store::FolderAttrs>,
    feed_seen: BTreeMap<i32, Vec<String>>,
}

async fn snapshot(mb: &Mailbox) -> Snapshot {
    let folders = mb.folders().await.unwrap();
    let mut messages = BTreeMap::new();
    for f in &folders {
        for m in mb.messages(f.id).await.unwrap() {
            let raw = mb.read_message(m.id).await.unwrap();
            messages.insert(m.id.0, (m, raw));
        }
    }
    let contacts = mb.contacts(ItemId(folder::CONTACTS)).await.unwrap();
    let ids: Vec<ItemId> = contacts.iter().map(|c| c.id).collect();
    let item_tags = mb
        .items_tags(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.0, v))
        .collect();
    let colours = mb
        .folder_colors()
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.0, v))
        .collect();
    let attrs: BTreeMap<i32, zcs_store::FolderAttrs> = mb
        .all_folder_attrs()
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.0, v))
        .collect();
    let mut feed_seen = BTreeMap::new();
    for f in &folders {
        let seen = mb.feed_seen(f.id).await.unwrap();
        if !seen.is_empty() {
            feed_seen.insert(f.id.0, seen);
        }
    }
    Snapshot {
        attrs,
        feed_seen,
        colours,
        item_tags,
        id: mb.id().0,
        change: mb.change_number().await.unwrap().0,
        folders,
        messages,
        tags: mb.tags().await.unwrap(),
        contacts: mb.contacts(ItemId(folder::CONTACTS)).await.unwrap(),
        documents: mb.documents(ItemId(folder::BRIEFCASE)).await.unwrap(),
        dumpster: mb.dumpster_items().await.unwrap(),
    }
}

/// A mix of changes of every common kind.
async fn work(mb: &Mailbox, seed: usize) {
    let mb = mb.with_settings(zcs_store::MailboxSettings {
        dumpster_enabled: true,
        ..zcs_store::MailboxSettings::default()
    });
    let inbox = ItemId(folder::INBOX);
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), &format!("F{seed}"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = mb
            .append(
                inbox,
                &simple_message(seed * 100 + i),
                Flags(Flags::UNREAD),
                i as i64,
            )
            .await
            .unwrap();
        ids.push(m.id);
    }
    // A batch import: one group of records, applied in one transaction.
    let batch: Vec<zcs_store::ImportMessage> = (5..8)
        .map(|i| zcs_store::ImportMessage {
            raw: simple_message(seed * 100 + i),
            flags: Flags(Flags::UNREAD),
            tags: vec![format!("B{seed}")],
            internal_date_ms: i as i64,
        })
        .collect();
    mb.import_messages(f.id, batch).await.unwrap();
    mb.set_folder_color(f.id, zcs_store::FolderColor::index(seed as u8 % 10))
        .await
        .unwrap();
    // Folder attributes: flags, url, the view, feed items seen.
    mb.set_folder_flags(f.id, Flags(Flags::CHECKED | Flags::EXCLUDE_FREEBUSY))
        .await
        .unwrap();
    mb.set_folder_url(f.id, &format!("http://127.0.0.1/feed{seed}"))
        .await
        .unwrap();
    mb.set_folder_view(f.id, "appointment").await.unwrap();
    mb.mark_feed_seen(f.id, vec![format!("k{seed}"), "k".into()], false)
        .await
        .unwrap();
    mb.set_folder_flags(ItemId(folder::CALENDAR), Flags(Flags::CHECKED))
        .await
        .unwrap();
    mb.set_flags(&ids[..2], Flags::UNREAD, false).await.unwrap();
    let tag = mb.create_tag(&format!("T{seed}"), 2).await.unwrap();
    mb.set_tag(&ids[1..3], tag.id, true).await.unwrap();
    mb.copy(&ids[..1], f.id).await.unwrap();
    mb.move_items(&ids[3..4], f.id).await.unwrap();
    mb.delete_items(&ids[4..5]).await.unwrap();
    let contact = mb
        .create_contact(
            ItemId(folder::CONTACTS),
            vec![("email".into(), format!("c{seed}@example.com"))],
            Vec::new(),
        )
        .await
        .unwrap();
    mb.tag_items_by_name(&[contact.id], &[format!("C{seed}")], true, true)
        .await
        .unwrap();
    mb.save_document(
        ItemId(folder::BRIEFCASE),
        &format!("d{seed}.txt"),
        "text/plain",
        format!("doc {seed}").as_bytes(),
        "me",
    )
    .await
    .unwrap();
}

/// The URL and scratch database for one database of the test (`None` when skipped).
async fn database(backend: Backend, name: &str) -> Option<(Option<Scratch>, String)> {
    scratch_url(backend, name).await
}

/// `cfg` with the SQLite file `file` (used when the engine is SQLite).
fn with_file(cfg: &StoreConfig, file: &str) -> StoreConfig {
    StoreConfig {
        db_path: cfg.db_path.with_file_name(file),
        ..cfg.clone()
    }
}

async fn open(url: &str, cfg: &StoreConfig) -> Store {
    Store::open_url(url, cfg.clone(), StoreOptions::default())
        .await
        .unwrap()
}

async fn replay_onto(backend: Backend) {
    let Some((scratch_a, url_a)) = database(backend, "replay_a").await else {
        return;
    };
    let Some((scratch_b, url_b)) = database(backend, "replay_b").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = StoreConfig::under(dir.path());
    let (cfg_a, cfg_b) = (with_file(&base, "a.sqlite"), with_file(&base, "b.sqlite"));
    let (acct, other) = (ZimbraId::new(), ZimbraId::new());

    // Phase 1 on database A.
    let store = open(&url_a, &cfg_a).await;
    assert_eq!(store.backend(), backend);
    work(&store.mailbox(acct).await.unwrap(), 1).await;
    let phase1 = snapshot(&store.find_mailbox(acct).await.unwrap().unwrap()).await;
    store.close().await;

    // Lost database: B starts empty and is rebuilt from the whole log.
    let store = open(&url_b, &cfg_b).await;
    let report = store.recovery_report().clone();
    assert!(report.replayed > 10, "{report:?}");
    assert_eq!((report.failed, report.missing_blobs), (0, 0), "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, phase1);

    // Phase 2 on B only: A stays at the phase-1 checkpoint.
    work(&mb, 2).await;
    work(&store.mailbox(other).await.unwrap(), 3).await;
    let want = snapshot(&mb).await;
    let want_other = snapshot(&store.find_mailbox(other).await.unwrap().unwrap()).await;
    store.close().await;

    // Stale database: A lacks every row of phase 2; replay brings it forward.
    let store = open(&url_a, &cfg_a).await;
    let report = store.recovery_report().clone();
    assert!(report.replayed > 10, "{report:?}");
    assert_eq!((report.failed, report.missing_blobs), (0, 0), "{report:?}");
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    assert_eq!(snapshot(&mb).await, want);
    let got_other = snapshot(&store.find_mailbox(other).await.unwrap().unwrap()).await;
    assert_eq!(got_other, want_other);
    let next_id = mb.folder(ItemId(folder::INBOX)).await.unwrap().uid_next;
    store.close().await;

    // A crash after the redo fsync and before the database commit: the record is in
    // the log (its blob on the volume), no transaction followed. The next open applies
    // it with its logged id and change number.
    let raw = simple_message(7777);
    let digest = zcs_store::blob_digest(&raw);
    let blobs = zcs_store::VolumeBlobStore::open(&cfg_a.db_path).unwrap();
    zcs_store::BlobStore::put(&blobs, &digest, &raw).unwrap();
    let log = cfg_a.redo_dir.join("redo.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let last = redo::decode_log(&bytes)
        .records
        .last()
        .map(|r| r.seq)
        .unwrap();
    let rec = RedoRecord {
        seq: last + 1,
        timestamp_ms: 0,
        mailbox: mb.id(),
        op: RedoOp::CreateMessage {
            change: want.change + 1,
            id: next_id as i32,
            folder: folder::INBOX,
            flags: Flags::UNREAD,
            date_ms: 42,
            size: raw.len() as u64,
            digest,
            subject: "crash".into(),
            sender: "s@example.com".into(),
            recipients: "r@example.com".into(),
            message_id: None,
            tags: Vec::new(),
            conv: 0,
            conv_promote: Vec::new(),
        },
    };
    redo::encode_record(&rec, &mut bytes);
    std::fs::write(&log, &bytes).unwrap();
    let store = open(&url_a, &cfg_a).await;
    assert_eq!(store.recovery_report().replayed, 1);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let m = mb.message(ItemId(next_id as i32)).await.unwrap();
    assert_eq!(
        (m.modseq, m.folder),
        (want.change + 1, ItemId(folder::INBOX))
    );
    assert_eq!(mb.read_message(m.id).await.unwrap(), raw);
    // Work continues past the replayed record.
    let after = mb
        .append(ItemId(folder::INBOX), &simple_message(8888), Flags(0), 1)
        .await
        .unwrap();
    assert!(after.id.0 > m.id.0 && after.modseq > m.modseq);
    store.close().await;

    // Opening again replays nothing.
    let store = open(&url_a, &cfg_a).await;
    assert_eq!(store.recovery_report().replayed, 0);
    store.close().await;
    for s in [scratch_a, scratch_b].into_iter().flatten() {
        s.drop_db().await;
    }
}

#[tokio::test]
async fn replay_onto_sqlite() {
    replay_onto(Backend::Sqlite).await;
}

#[tokio::test]
async fn replay_onto_mariadb() {
    replay_onto(Backend::MySql).await;
}

#[tokio::test]
async fn replay_onto_postgres() {
    replay_onto(Backend::Postgres).await;
}
