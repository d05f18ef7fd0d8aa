//! An account whose class of service was deleted after the backup is restored with the
//! default COS (spec 04 test idea 23): in place (recreated after deletion) and into a
//! new prefixed account. An account whose COS still exists keeps it.

mod common;

use common::*;

use zcs_backup::{RestoreOptions, restore};
use zcs_core::{Attrs, EntryKind};
use zcs_directory::EntryKey;

fn one(name: &str) -> RestoreOptions {
    RestoreOptions {
        accounts: vec![name.into()],
        quiet: true,
        full_only: true,
        restore_directory: true,
        ..RestoreOptions::default()
    }
}

#[tokio::test]
async fn a_deleted_cos_falls_back_to_the_default() {
    let tmp = tempfile::tempdir().unwrap();
    let h = home(&tmp.path().join("a")).await;
    h.account("seed@cos.test").await;
    let gold = h
        .dir
        .create_entry(EntryKind::Cos, "gold", Attrs::new())
        .await
        .unwrap();
    let silver = h
        .dir
        .create_entry(EntryKind::Cos, "silver", Attrs::new())
        .await
        .unwrap();
    for (name, cos) in [("g@cos.test", gold.id), ("s@cos.test", silver.id)] {
        let mut attrs = Attrs::new();
        attrs.set_one("zimbraCOSId", cos.to_string());
        h.dir
            .create_entry(EntryKind::Account, name, attrs)
            .await
            .unwrap();
    }
    zcs_backup::full_backup(&h.paths, &h.dir, &quiet())
        .await
        .unwrap();

    // After the backup: gold is deleted, and the account with it.
    let g = h.entry("g@cos.test").await;
    h.dir.delete_entry(EntryKind::Account, g.id).await.unwrap();
    h.dir.delete_entry(EntryKind::Cos, gold.id).await.unwrap();

    restore(&h.paths, &h.store, &h.dir, &one("g@cos.test"))
        .await
        .unwrap();
    let back = h.entry("g@cos.test").await;
    assert_eq!(back.attrs.get("zimbraCOSId"), None, "{:?}", back.attrs);

    // Into a new account: the same fallback.
    let mut opts = one("g@cos.test");
    opts.prefix = Some("r_".into());
    restore(&h.paths, &h.store, &h.dir, &opts).await.unwrap();
    let copy = h
        .dir
        .get_entry(EntryKind::Account, &EntryKey::Name("r_g@cos.test".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.attrs.get("zimbraCOSId"), None);

    // A COS that still exists is kept.
    restore(&h.paths, &h.store, &h.dir, &one("s@cos.test"))
        .await
        .unwrap();
    let s = h.entry("s@cos.test").await;
    let want = silver.id.to_string();
    assert_eq!(s.attrs.get("zimbraCOSId"), Some(want.as_str()));
}
