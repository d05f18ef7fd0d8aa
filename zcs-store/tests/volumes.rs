//! Volumes, compression, HSM and the blob check, through the public API as the
//! `zmvolume`, `zmhsm` and `zmblobchk` tools use it.

use std::path::PathBuf;
use std::sync::Arc;

use zcs_core::{Flags, ItemId, ZimbraId, folder};
use zcs_store::blobchk::{self, Problem};
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};
use zcs_store::{
    BlobStore, Store, StoreConfig, StoreError, VolumeAdmin, VolumeBlobStore, VolumeSpec, VolumeType,
};

fn big_message(n: usize) -> Vec<u8> {
    let mut m = b"Subject: big\r\nFrom: a@example.com\r\n\r\n".to_vec();
    m.extend(std::iter::repeat_n(b"hello volume world\r\n".as_slice(), n).flatten());
    m
}

fn spec(name: &str, kind: VolumeType, path: PathBuf, compress: bool, ct: u64) -> VolumeSpec {
    VolumeSpec {
        name: Some(name.into()),
        kind: Some(kind),
        path: Some(path),
        compress: Some(compress),
        compression_threshold: Some(ct),
    }
}

#[tokio::test]
async fn volumes_compression_hsm_and_blobchk() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let old = mb
        .append(
            ItemId(folder::INBOX),
            b"Subject: old\r\n\r\nold\r\n",
            Flags(0),
            1_000,
        )
        .await
        .unwrap();

    // Volume 1 is the blob root, current primary, uncompressed.
    let admin = VolumeAdmin::open(&cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    let vols = admin.list().await.unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0].name, "message1");
    assert!(vols[0].current);
    assert_eq!(vols[0].path, cfg.blob_root);
    let backend = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    let loc = backend.locate(&old.blob_digest).unwrap().unwrap();
    assert_eq!((loc.volume_id, loc.compressed), (1, false));

    // A compressing primary volume made current: new blobs go there, gzip above 100 B.
    let v2 = admin
        .add(&spec(
            "message2",
            VolumeType::PrimaryMessage,
            dir.path().join("v2"),
            true,
            100,
        ))
        .await
        .unwrap();
    assert_eq!(v2.id, 2);
    assert!(!v2.current, "the first volume of its type stays current");
    assert!(
        admin
            .add(&spec(
                "message2",
                VolumeType::Index,
                dir.path().join("x"),
                false,
                0
            ))
            .await
            .is_err()
    );
    admin.set_current(2).await.unwrap();
    let cur = admin.current().await.unwrap();
    assert_eq!(cur.iter().map(|v| v.id).collect::<Vec<_>>(), vec![2]);

    let raw = big_message(500);
    let big = mb
        .append(ItemId(folder::INBOX), &raw, Flags(0), 2_000)
        .await
        .unwrap();
    assert_eq!(big.size, raw.len() as u64, "sizes stay raw");
    let small = mb
        .append(
            ItemId(folder::INBOX),
            b"Subject: s\r\n\r\nx\r\n",
            Flags(0),
            3_000,
        )
        .await
        .unwrap();
    let loc = backend.locate(&big.blob_digest).unwrap().unwrap();
    assert_eq!((loc.volume_id, loc.compressed), (2, true));
    assert!(std::fs::metadata(&loc.path).unwrap().len() < raw.len() as u64 / 10);
    let loc = backend.locate(&small.blob_digest).unwrap().unwrap();
    assert_eq!(
        (loc.volume_id, loc.compressed),
        (2, false),
        "below the threshold"
    );
    assert_eq!(mb.read_message(big.id).await.unwrap(), raw);
    assert_eq!(
        mb.read_message(old.id).await.unwrap(),
        b"Subject: old\r\n\r\nold\r\n"
    );

    // Deleting a volume is refused while it is current or holds blobs.
    assert!(matches!(
        admin.delete(2).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        admin.delete(1).await,
        Err(StoreError::InvalidRequest(_))
    ));

    // HSM: no secondary volume yet, then a pass moving messages older than date 2500.
    let p = vec![HsmPolicy::parse("message:before:1970-01-01", 0).unwrap()];
    assert!(
        hsm::run(&cfg.db_path, backend.clone(), &p, 1)
            .await
            .is_err()
    );
    admin
        .add(&spec(
            "hsm1",
            VolumeType::SecondaryMessage,
            dir.path().join("hsm"),
            false,
            0,
        ))
        .await
        .unwrap();
    let mut policy = HsmPolicy::parse("message:in:Inbox", 0).unwrap();
    policy.before_ms = Some(2_500);
    let st = hsm::run(&cfg.db_path, backend.clone(), &[policy], 1)
        .await
        .unwrap();
    assert_eq!((st.blobs_selected, st.blobs_moved), (2, 2));
    assert_eq!(st.bytes_moved, old.size + big.size);
    assert_eq!(HsmStatus::load(&cfg.db_path).unwrap(), st);
    let loc = backend.locate(&big.blob_digest).unwrap().unwrap();
    assert_eq!(
        (loc.volume_id, loc.compressed),
        (3, false),
        "secondary does not compress"
    );
    assert_eq!(
        backend
            .locate(&small.blob_digest)
            .unwrap()
            .unwrap()
            .volume_id,
        2
    );
    // The open store reads moved blobs (it re-reads the volume list on a miss).
    assert_eq!(mb.read_message(big.id).await.unwrap(), raw);
    assert_eq!(
        mb.read_message(old.id).await.unwrap(),
        b"Subject: old\r\n\r\nold\r\n"
    );
    // Volume 1 is now empty and not current: it may go.
    admin.delete(1).await.unwrap();
    assert_eq!(admin.list().await.unwrap().len(), 2);

    // The blob check: clean, then a missing blob, a resized one and an unused one.
    let rep = blobchk::check(&cfg.db_path, &backend, None, true)
        .await
        .unwrap();
    assert!(rep.is_clean(), "{}", rep.render());
    assert_eq!(rep.checked, 3);
    assert!(rep.render().ends_with("No errors found.\n"));

    let lost = backend.locate(&small.blob_digest).unwrap().unwrap();
    std::fs::remove_file(&lost.path).unwrap();
    let old_loc = backend.locate(&old.blob_digest).unwrap().unwrap();
    std::fs::write(&old_loc.path, b"truncated").unwrap();
    let stray = b"nobody's blob";
    backend.put(&zcs_store::blob_digest(stray), stray).unwrap();

    let rep = blobchk::check(&cfg.db_path, &backend, None, false)
        .await
        .unwrap();
    assert_eq!(rep.problems.len(), 2, "{}", rep.render());
    assert!(
        rep.problems
            .iter()
            .any(|p| p.problem == Problem::Missing && p.blob.item_id == small.id.0 as i64)
    );
    assert!(
        rep.problems
            .iter()
            .any(|p| matches!(p.problem, Problem::WrongSize { actual: 9, .. }))
    );
    assert_eq!(rep.unused.len(), 1);
    let text = rep.render();
    assert!(
        text.contains(&format!(
            "item {}, rev 1, volume ?, : file not found.",
            small.id.0
        )),
        "{text}"
    );
    assert!(text.contains("Unused blob: volume 2"), "{text}");
    let rep = blobchk::check(&cfg.db_path, &backend, Some(&[999]), true)
        .await
        .unwrap();
    assert!(
        rep.is_clean(),
        "an unknown mailbox has no references and unused is skipped"
    );
}

#[tokio::test]
async fn hsm_abort_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    assert!(HsmStatus::load(&cfg.db_path).is_none());
    assert!(
        !hsm::request_abort(&cfg.db_path).unwrap(),
        "nothing running"
    );
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    for i in 0..5 {
        let raw = format!("Subject: {i}\r\n\r\nbody {i}\r\n");
        mb.append(ItemId(folder::INBOX), raw.as_bytes(), Flags(0), 1_000)
            .await
            .unwrap();
    }
    let admin = VolumeAdmin::open(&cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    admin
        .add(&spec(
            "hsm1",
            VolumeType::SecondaryMessage,
            dir.path().join("hsm"),
            true,
            0,
        ))
        .await
        .unwrap();
    let backend = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    // An abort file present at start of a batch stops the pass before it.
    std::fs::write(hsm::abort_path(&cfg.db_path), b"x").unwrap();
    let p = [HsmPolicy::parse("message:before:+1day", chrono_now()).unwrap()];
    let st = hsm::run(&cfg.db_path, backend.clone(), &p, 2)
        .await
        .unwrap();
    // run() clears a stale abort file at start, so the pass completes.
    assert!(!st.aborted);
    assert_eq!(st.blobs_moved, 5);
    assert!(!st.running);
    let v = backend.volumes();
    assert!(
        v.iter()
            .any(|v| v.kind == VolumeType::SecondaryMessage && v.compress)
    );
    // Compressed on the secondary (threshold 0), read back raw.
    let msgs = mb.messages(ItemId(folder::INBOX)).await.unwrap();
    for m in msgs {
        assert!(backend.locate(&m.blob_digest).unwrap().unwrap().compressed);
        assert!(
            mb.read_message(m.id)
                .await
                .unwrap()
                .starts_with(b"Subject: ")
        );
    }
    // A second pass finds nothing left on primary volumes.
    let st = hsm::run(&cfg.db_path, backend, &p, 2).await.unwrap();
    assert_eq!((st.blobs_selected, st.blobs_moved), (5, 0));
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn edit_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db").join("m.sqlite");
    let admin = VolumeAdmin::open(&db, &dir.path().join("store"))
        .await
        .unwrap();
    let edited = admin
        .edit(
            1,
            &VolumeSpec {
                compress: Some(true),
                compression_threshold: Some(10),
                ..VolumeSpec::default()
            },
        )
        .await
        .unwrap();
    assert!(edited.compress);
    assert_eq!(edited.compression_threshold, 10);
    let refused = VolumeSpec {
        kind: Some(VolumeType::SecondaryMessage),
        ..VolumeSpec::default()
    };
    assert!(
        admin.edit(1, &refused).await.is_err(),
        "current volume keeps its type"
    );
    assert!(matches!(admin.get(9).await, Err(StoreError::NoSuchItem(_))));
    let rel = spec("r", VolumeType::Index, PathBuf::from("relative"), false, 0);
    assert!(admin.add(&rel).await.is_err());
    // Reopening keeps the table (no second default volume); the default volume follows
    // the configured blob root (a restored database in another home) until edited.
    drop(admin);
    let elsewhere = dir.path().join("elsewhere");
    let admin = VolumeAdmin::open(&db, &elsewhere).await.unwrap();
    assert_eq!(admin.list().await.unwrap().len(), 1);
    assert!(admin.list().await.unwrap()[0].compress);
    assert_eq!(admin.list().await.unwrap()[0].path, elsewhere);
    let fixed = VolumeSpec {
        path: Some(dir.path().join("fixed")),
        ..VolumeSpec::default()
    };
    admin.edit(1, &fixed).await.unwrap();
    drop(admin);
    let admin = VolumeAdmin::open(&db, &elsewhere).await.unwrap();
    assert_eq!(
        admin.list().await.unwrap()[0].path,
        dir.path().join("fixed")
    );
}

/// `zmvolume -ts`: with no current secondary volume HSM refuses to run; blobs already
/// moved stay readable; making the volume current again lets HSM run.
#[tokio::test]
async fn turning_off_the_secondary_stops_hsm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::under(dir.path());
    let store = Store::open(cfg.clone()).await.unwrap();
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let first = mb
        .append(ItemId(folder::INBOX), &big_message(10), Flags(0), 1_000)
        .await
        .unwrap();
    let admin = VolumeAdmin::open(&cfg.db_path, &cfg.blob_root)
        .await
        .unwrap();
    assert!(admin.turn_off_secondary().await.unwrap().is_none());
    let hsm_vol = admin
        .add(&spec(
            "hsm1",
            VolumeType::SecondaryMessage,
            dir.path().join("hsm"),
            false,
            0,
        ))
        .await
        .unwrap();
    let backend = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    let p = [HsmPolicy::parse("message:before:+1day", chrono_now()).unwrap()];
    let st = hsm::run(&cfg.db_path, backend.clone(), &p, 10)
        .await
        .unwrap();
    assert_eq!(st.blobs_moved, 1);

    let off = admin.turn_off_secondary().await.unwrap();
    assert_eq!(off.map(|v| v.id), Some(hsm_vol.id));
    assert!(
        admin
            .current()
            .await
            .unwrap()
            .iter()
            .all(|v| v.kind != VolumeType::SecondaryMessage)
    );
    let second = mb
        .append(ItemId(folder::INBOX), &big_message(20), Flags(0), 1_000)
        .await
        .unwrap();
    let backend = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    assert!(matches!(
        hsm::run(&cfg.db_path, backend.clone(), &p, 10).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(mb.read_message(first.id).await.unwrap(), big_message(10));
    assert_eq!(
        backend
            .locate(&second.blob_digest)
            .unwrap()
            .unwrap()
            .volume_id,
        1
    );

    admin.set_current(hsm_vol.id).await.unwrap();
    let backend = Arc::new(VolumeBlobStore::open(&cfg.db_path).unwrap());
    let st = hsm::run(&cfg.db_path, backend.clone(), &p, 10)
        .await
        .unwrap();
    assert_eq!(st.blobs_moved, 1);
    assert_eq!(
        backend
            .locate(&second.blob_digest)
            .unwrap()
            .unwrap()
            .volume_id,
        hsm_vol.id
    );
    store.close().await;
}
