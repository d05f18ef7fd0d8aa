//! Many folders in one mailbox (the Zimbra QA scale files create 5,000): creating,
//! finding and renaming them stays correct, and each creation reads only the rows it
//! needs (its cost is measured by hand, not asserted: speed targets live in benches/).

mod common;

use std::time::Instant;

use common::temp_store;
use zcs_core::{ItemId, ZimbraId, folder};
use zcs_store::StoreError;

const COUNT: usize = 3_000;

#[tokio::test]
async fn three_thousand_folders_stay_correct() {
    let (store, _dir, _) = temp_store().await;
    let mb = store.mailbox(ZimbraId::new()).await.unwrap();
    let root = ItemId(folder::USER_ROOT);
    let system = mb.folders().await.unwrap().len();
    let started = Instant::now();
    let mut last = started;
    let mut ids = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let f = mb.create_folder(root, &format!("scale{i}")).await.unwrap();
        assert_eq!(f.name, format!("scale{i}"));
        assert_eq!(f.path, format!("/scale{i}"));
        assert_eq!(f.parent, root);
        ids.push(f.id);
        if (i + 1) % 500 == 0 {
            let now = Instant::now();
            eprintln!(
                "folders {}..{}: {:.2} ms per create",
                i + 1 - 500,
                i + 1,
                now.duration_since(last).as_secs_f64() * 1000.0 / 500.0
            );
            last = now;
        }
    }
    eprintln!(
        "{COUNT} folders created in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // Ids are handed out in order and every folder is listed once.
    for w in ids.windows(2) {
        assert!(w[0].0 < w[1].0);
    }
    let all = mb.folders().await.unwrap();
    assert_eq!(
        all.len(),
        COUNT + system,
        "the system folders and every created one"
    );
    // A taken name is refused at any size, a free one still goes through.
    for i in [0, COUNT / 2, COUNT - 1] {
        let e = mb
            .create_folder(root, &format!("scale{i}"))
            .await
            .expect_err("duplicate refused");
        assert!(matches!(e, StoreError::AlreadyExists { .. }), "{e:?}");
    }
    let e = mb.create_folder(root, "INBOX").await.expect_err("inbox");
    assert!(matches!(e, StoreError::AlreadyExists { .. }), "{e:?}");
    let e = mb
        .create_folder(ItemId(999_999), "orphan")
        .await
        .expect_err("missing parent");
    assert!(matches!(e, StoreError::NoSuchFolder(_)), "{e:?}");
    // Nested below a folder from the middle: path and parent follow the chain.
    let mid = ids[COUNT / 2];
    let a = mb.create_folder(mid, "a").await.unwrap();
    let b = mb.create_folder(a.id, "b").await.unwrap();
    assert_eq!(b.path, format!("/scale{}/a/b", COUNT / 2));
    assert_eq!(b.parent, a.id);
    let found = mb
        .folder_by_path(&format!("/scale{}/a/b", COUNT / 2))
        .await
        .unwrap()
        .expect("found by path");
    assert_eq!(found.id, b.id);
    // The same leaf name under another parent is fine.
    let other = mb.create_folder(ids[0], "a").await.unwrap();
    assert_eq!(other.path, "/scale0/a");
    // A rename frees the old name and takes the new one.
    mb.rename_folder(ids[1], root, "renamed").await.unwrap();
    mb.create_folder(root, "scale1").await.unwrap();
    let e = mb.create_folder(root, "renamed").await.expect_err("taken");
    assert!(matches!(e, StoreError::AlreadyExists { .. }), "{e:?}");
    assert_eq!(mb.folder(b.id).await.unwrap().path, b.path);
    // Another case of a taken name is the same name, at any size.
    let e = mb.create_folder(root, "SCALE7").await.expect_err("taken");
    assert!(matches!(e, StoreError::AlreadyExists { .. }), "{e:?}");
    let found = mb
        .folder_by_path("/Scale7")
        .await
        .unwrap()
        .expect("any case");
    assert_eq!(found.id, ids[7]);
    // Deleting a folder walks its own subtree by the parent index: its cost does not
    // follow the mailbox's folder count (measured, not asserted).
    let started = Instant::now();
    mb.delete_folder(mid).await.unwrap();
    eprintln!(
        "delete of a 3-folder subtree among {} folders: {:.2} ms",
        COUNT + system,
        started.elapsed().as_secs_f64() * 1000.0
    );
    for id in [mid, a.id, b.id] {
        let e = mb.folder(id).await.expect_err("deleted");
        assert!(matches!(e, StoreError::NoSuchFolder(_)), "{e:?}");
    }
    assert_eq!(mb.folder(other.id).await.unwrap().path, "/scale0/a");
    let started = Instant::now();
    for id in &ids[100..200] {
        mb.delete_folder(*id).await.unwrap();
    }
    eprintln!(
        "100 leaf deletes: {:.2} ms each",
        started.elapsed().as_secs_f64() * 1000.0 / 100.0
    );
    assert_eq!(
        mb.folders().await.unwrap().len(),
        COUNT + system + 4 - 3 - 100
    );
}
