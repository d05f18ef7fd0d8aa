//! Conformance of the store's tools on every metadata engine (SQLite always, MariaDB and
//! PostgreSQL when `ZCS_TEST_MYSQL_URL` / `ZCS_TEST_POSTGRES_URL` are set): the volume
//! table, HSM, the blob check, mailbox import and restore in place from a database copy.
//! Each body also opens the metadata database the way the tools do
//! ([`Db::open_metadata`]), beside the open store.

mod common;

use std::sync::Arc;

use common::engines::run;
use common::simple_message;
use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::blobchk::{self, Problem};
use zcs_store::db::{Backend, Db};
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};
use zcs_store::{
    BlobStore, Store, StoreConfig, StoreError, VolumeAdmin, VolumeBlobStore, VolumeSpec, VolumeType,
};

conformance!(volumes_hsm_and_blobchk, import_and_replace_mailbox);

fn spec(name: &str, kind: VolumeType, path: std::path::PathBuf) -> VolumeSpec {
    VolumeSpec {
        name: Some(name.into()),
        kind: Some(kind),
        path: Some(path),
        compress: Some(true),
        compression_threshold: Some(10),
    }
}

async fn volumes_hsm_and_blobchk(store: Store, cfg: StoreConfig, url: String) {
    let home = cfg.blob_root.parent().expect("home").to_path_buf();
    // A tool's view: the metadata database opened beside the running store.
    let db = Db::open_metadata(&url, &cfg.db_path).await.unwrap();
    assert_eq!(db.backend(), store.backend());
    let admin = VolumeAdmin::open_on(db.clone(), &cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    let vols = admin.list().await.unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!((vols[0].id, vols[0].name.as_str()), (1, "message1"));
    assert!(vols[0].current);

    // A compressing primary becomes current; the old one stays readable.
    let v2 = admin
        .add(&spec(
            "message2",
            VolumeType::PrimaryMessage,
            home.join("vol2"),
        ))
        .await
        .unwrap();
    assert!(!v2.current, "the second primary is not current until set");
    admin.set_current(v2.id).await.unwrap();
    let cur = admin.current().await.unwrap();
    assert_eq!(cur.iter().map(|v| v.id).collect::<Vec<_>>(), vec![v2.id]);
    let edited = admin
        .edit(
            v2.id,
            &VolumeSpec {
                compression_threshold: Some(20),
                ..VolumeSpec::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.compression_threshold, 20);
    assert!(matches!(
        admin.delete(v2.id).await,
        Err(StoreError::InvalidRequest(_))
    ));

    let acct = ZimbraId::new();
    let mb = store.mailbox(acct).await.unwrap();
    let raw = simple_message(1);
    // Old messages (date 1000, 2000), one new one; the new current volume compresses.
    let old = mb
        .append(ItemId(folder::INBOX), &raw, Flags(0), 1_000)
        .await
        .unwrap();
    let old2 = mb
        .append(
            ItemId(folder::INBOX),
            b"Subject: b\r\n\r\nbb\r\n",
            Flags(0),
            2_000,
        )
        .await
        .unwrap();
    let fresh = mb
        .append(
            ItemId(folder::SENT),
            &simple_message(2),
            Flags(0),
            i64::MAX / 4,
        )
        .await
        .unwrap();
    let blobs = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    let loc = blobs.locate(&old.blob_digest).unwrap().unwrap();
    assert_eq!((loc.volume_id, loc.compressed), (v2.id, true));

    // HSM without a secondary volume refuses; with one it moves the two old blobs.
    let mut policy = HsmPolicy::parse("message:in:Inbox", 0).unwrap();
    policy.before_ms = Some(2_500);
    assert!(
        hsm::run_on(&db, &cfg.db_path, blobs.clone(), &[policy.clone()], 1)
            .await
            .is_err()
    );
    let v3 = admin
        .add(&VolumeSpec {
            compress: Some(false),
            ..spec("hsm1", VolumeType::SecondaryMessage, home.join("hsm"))
        })
        .await
        .unwrap();
    assert!(v3.current, "the first secondary is current");
    let st = hsm::run_on(&db, &cfg.db_path, blobs.clone(), &[policy], 1)
        .await
        .unwrap();
    assert_eq!((st.blobs_selected, st.blobs_moved), (2, 2));
    assert_eq!(st.bytes_moved, old.size + old2.size);
    assert_eq!(HsmStatus::load(&cfg.db_path).unwrap(), st);
    let loc = blobs.locate(&old.blob_digest).unwrap().unwrap();
    assert_eq!((loc.volume_id, loc.compressed), (v3.id, false));
    assert_eq!(
        blobs.locate(&fresh.blob_digest).unwrap().unwrap().volume_id,
        v2.id
    );
    // The open store reads the moved blobs.
    assert_eq!(mb.read_message(old.id).await.unwrap(), raw);

    // Blob check: clean; then a missing blob and an unused one.
    let rep = blobchk::check_on(&db, &blobs, None, true).await.unwrap();
    assert!(rep.is_clean(), "{}", rep.render());
    assert_eq!(rep.checked, 3);
    assert!(rep.mailboxes.contains(&mb.id().0));
    std::fs::remove_file(blobs.locate(&old2.blob_digest).unwrap().unwrap().path).unwrap();
    blobs
        .put(&zcs_store::blob_digest(b"stray"), b"stray")
        .unwrap();
    let rep = blobchk::check_on(&db, &blobs, None, false).await.unwrap();
    assert_eq!(rep.problems.len(), 1, "{}", rep.render());
    assert_eq!(rep.problems[0].problem, Problem::Missing);
    assert_eq!(rep.problems[0].blob.item_id, i64::from(old2.id.0));
    assert_eq!(rep.unused.len(), 1);
    let rep = blobchk::check_on(&db, &blobs, Some(&[mb.id().0]), false)
        .await
        .unwrap();
    assert!(rep.unused.is_empty(), "unused blobs only on a whole check");
    let accounts = blobchk::mailbox_accounts_on(&db).await.unwrap();
    assert!(accounts.contains(&(mb.id().0, acct.to_string())));

    // The store reopened on the same database sees the volumes the tool set.
    db.close().await;
    store.close().await;
    let again = Store::open_url(&url, cfg.clone(), Default::default())
        .await
        .unwrap();
    let db = Db::open_metadata(&url, &cfg.db_path).await.unwrap();
    let admin = VolumeAdmin::open_on(db.clone(), &cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    assert_eq!(admin.list().await.unwrap().len(), 3);
    let mb = again.mailbox(acct).await.unwrap();
    assert_eq!(mb.read_message(old.id).await.unwrap(), raw);
    db.close().await;
    again.close().await;
}

/// A source store on SQLite with a little of everything, and a database copy of it.
async fn source_copy(dir: &std::path::Path, acct: ZimbraId) -> (std::path::PathBuf, i64, Store) {
    let cfg = StoreConfig::under(dir.join("src"));
    let src = Store::open(cfg.clone()).await.unwrap();
    let mb = src.mailbox(acct).await.unwrap();
    let f = mb
        .create_folder(ItemId(folder::USER_ROOT), "Work")
        .await
        .unwrap();
    for i in 0..5 {
        mb.append_tagged(
            if i % 2 == 0 {
                ItemId(folder::INBOX)
            } else {
                f.id
            },
            &simple_message(10 + i),
            Flags(0),
            &["Red".to_string()],
            1_000 + i as i64,
        )
        .await
        .unwrap();
    }
    mb.create_contact(
        ItemId(folder::CONTACTS),
        vec![("email".into(), "a@example.com".into())],
        Vec::new(),
    )
    .await
    .unwrap();
    let copy = dir.join("copy.sqlite");
    let info = zcs_store::transfer::snapshot_database(&cfg.db_path, &copy)
        .await
        .unwrap();
    assert_eq!(info.mailboxes.len(), 1);
    (copy, mb.id().0, src)
}

async fn import_and_replace_mailbox(store: Store, cfg: StoreConfig, _url: String) {
    let tmp = tempfile::tempdir().unwrap();
    let acct = ZimbraId::new();
    let (copy, src_id, src) = source_copy(tmp.path(), acct).await;
    let src_blobs: Arc<dyn BlobStore> = Arc::new(
        VolumeBlobStore::open(&StoreConfig::under(tmp.path().join("src")).db_path).unwrap(),
    );
    // Another mailbox first, so the imported one may not keep its id.
    store.mailbox(ZimbraId::new()).await.unwrap();

    let rep = store
        .import_mailbox(acct, &copy, src_id, src_blobs.clone())
        .await
        .unwrap();
    assert!(rep.rows > 5, "rows copied: {}", rep.rows);
    assert_eq!(rep.blobs_copied, 5);
    let mb = store.find_mailbox(acct).await.unwrap().unwrap();
    let work = mb.folder_by_path("/Work").await.unwrap().unwrap();
    let inbox = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(inbox.len(), 3);
    assert_eq!(mb.messages(work.id).await.unwrap().len(), 2);
    assert_eq!(inbox[0].tags, vec!["Red".to_string()]);
    assert_eq!(
        mb.read_message(inbox[0].id).await.unwrap(),
        simple_message(10)
    );
    assert_eq!(
        mb.contacts(ItemId(folder::CONTACTS)).await.unwrap().len(),
        1
    );
    assert!(
        mb.unindexed(100).await.unwrap().len() >= 5,
        "imports are reindexed"
    );
    // New items get ids above the imported ones.
    let next = mb
        .append(ItemId(folder::INBOX), &simple_message(99), Flags(0), 5)
        .await
        .unwrap();
    assert!(inbox.iter().all(|m| m.id.0 < next.id.0));
    let validity = mb.folder(ItemId(folder::INBOX)).await.unwrap().uid_validity;
    let modseq = mb.change_number().await.unwrap().0;

    // Restore in place: same id, the copy's rows, a new UIDVALIDITY, counters forward.
    let rep = store
        .replace_mailbox(acct, &copy, src_id, src_blobs)
        .await
        .unwrap();
    assert_eq!(rep.mailbox, mb.id().0);
    assert_eq!(rep.blobs_copied, 0);
    let inbox2 = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    assert_eq!(
        inbox2.len(),
        3,
        "the message added after the import is gone"
    );
    let f = mb.folder(ItemId(folder::INBOX)).await.unwrap();
    assert_ne!(f.uid_validity, validity);
    assert_ne!(f.uid_validity, 0);
    assert!(mb.change_number().await.unwrap().0 > modseq);
    let after = mb
        .append(ItemId(folder::INBOX), &simple_message(98), Flags(0), 6)
        .await
        .unwrap();
    assert!(after.id.0 > next.id.0, "item ids never go back");
    assert_eq!(store.backend() == Backend::Sqlite, cfg.db_path.exists());
    src.close().await;
}
